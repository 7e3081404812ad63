/*
 * linger.h — what `parley serve` does with the unread body of a request it
 * refuses at its headers (401, 403, 404, 405, 413, 415, 429, 503 …), and the
 * lingering close that keeps such an answer from being lost.
 *
 * Closing a TCP socket while bytes the peer sent are still unread makes the
 * kernel send a reset (RST); a client still writing its body then fails its
 * write ("connection reset", curl's status 000) and never reads the answer
 * already sitting in its socket. So a refused request's body is dealt with
 * as nginx and Apache do (web_linger_plan):
 *
 *   WEB_LINGER_NONE   no body declared: answered at once, kept alive as usual.
 *   WEB_LINGER_DRAIN  a Content-Length of at most drain_bytes, no Expect: the
 *                 body is read and dropped, then answered; the connection
 *                 stays open for the client's next request.
 *   WEB_LINGER_CLOSE  a larger body, a chunked one, a framing the server cannot
 *                 trust, or Expect: 100-continue (answered at once, with no
 *                 100 Continue): the answer says Connection: close, and once
 *                 it is written the socket is handed to web_linger_add — its
 *                 writing side is shut (the client reads the answer, then
 *                 EOF) and one thread reads and drops what still comes until
 *                 the client closes, max_bytes were dropped or `seconds`
 *                 passed; only then is it closed.
 *
 *   struct web_linger_params p = web_linger_default_params();  // 2 s, 16 MiB, 256 sockets
 *   struct web_linger *l;
 *   if (web_linger_new(&p, &l, &err)) fail(err.msg);
 *   web_linger_add(l, fd);        // fd is the linger's now: it closes it
 *   ...
 *   web_linger_free(l);           // closes every socket still lingering
 *
 * Bounds: no socket lingers past `seconds` or `max_bytes` (a client that
 * keeps writing then is cut, as before); at most max_sockets linger at once,
 * past that a new one is closed at once. The draining runs on the linger's
 * own thread (epoll), never on an HTTP or decode thread. Thread-safe.
 */
#ifndef PARLEY_WEB_LINGER_H
#define PARLEY_WEB_LINGER_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define WEB_LINGER_DRAIN_BYTES_DEFAULT ((size_t)64 * 1024)
#define WEB_LINGER_SOCKETS_MAX 65536

/* What the headers say of a request's body (zero it, then note every
 * header with web_linger_request_header). */
struct web_linger_request {
	int lengths;              /* Content-Length headers */
	bool lengths_differ;      /* two of them with different text */
	const char *length_text;  /* the first one's value (not copied) */
	bool has_length;          /* it is 1 to 20 decimal digits that fit */
	unsigned long long length;
	bool chunked;             /* a Transfer-Encoding naming chunked */
	bool coded;               /* a Transfer-Encoding of any value: length unknown */
	bool expect_continue;     /* Expect: 100-continue */
	bool bad_framing;         /* two lengths that differ, a length that is not
				     a number, or a length with a Transfer-Encoding */
};

/* Note one request header into rq (Content-Length, Transfer-Encoding and
 * Expect count; any other name, or NULLs, changes nothing). value must
 * outlive rq. Pure. */
void web_linger_request_header(struct web_linger_request *rq, const char *name,
			       const char *value);

enum web_linger_plan { WEB_LINGER_NONE, WEB_LINGER_DRAIN, WEB_LINGER_CLOSE };

/* The plan for a request refused before its body was read (pure). */
enum web_linger_plan web_linger_plan(const struct web_linger_request *rq, size_t drain_bytes);

struct web_linger_params {
	double seconds;   /* longest linger of one socket (2) */
	size_t max_bytes; /* bytes dropped from one socket at most (16 MiB) */
	int max_sockets;  /* sockets lingering at once (256), 1..WEB_LINGER_SOCKETS_MAX */
};
struct web_linger_params web_linger_default_params(void);

struct web_linger;

/* Start the linger thread. INVALID for a bound out of range, NOMEM/IO when
 * its thread or epoll cannot be made. */
enum parley_err web_linger_new(const struct web_linger_params *p, struct web_linger **out,
			   struct parley_error *err);
/* Take fd (a connected socket whose answer is written): shut its writing
 * side and drop what comes until EOF, max_bytes or seconds, then close it.
 * The fd is the linger's from here in every case: false when it was closed
 * at once (max_sockets lingering, or the linger is stopping). */
bool web_linger_add(struct web_linger *l, int fd);

struct web_linger_stats {
	unsigned long long added;   /* sockets that lingered */
	unsigned long long refused; /* closed at once: max_sockets were lingering */
	unsigned long long eof;     /* ended by the client's close (or an error) */
	unsigned long long cut;     /* closed at seconds or max_bytes */
	unsigned long long bytes;   /* bytes read and dropped */
	int lingering;              /* sockets lingering now */
};
void web_linger_get_stats(struct web_linger *l, struct web_linger_stats *out);

/* Stop the thread and close every socket still lingering. Accepts NULL. */
void web_linger_free(struct web_linger *l);

#endif
