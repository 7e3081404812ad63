/*
 * http.h — what a handler sees: the request (route parameters, body, the
 * signed-in user, a session_ctx on this thread's store) and the response it
 * fills. No HTTP library here; src/web/server.c turns a web_resp into bytes.
 *
 *   static void get_session(struct web_req *q, struct web_resp *r)
 *   {
 *       json_t *s = NULL; struct parley_error err = {0};
 *       if (session_get(&q->ctx, &q->user, q->params.id, &s, &err))
 *           return web_resp_error(r, &err);          // status from the one table
 *       web_resp_json(r, 200, s);                    // takes the reference
 *   }
 *
 * Errors are always {"error":{"code","message"}} (docs/api.md). The status of
 * a parley error comes from one table (web_err_status); the HTTP layer's own
 * codes (method_not_allowed, timeout, unsupported_media_type) go through
 * web_resp_fail. A response owns its body (web_resp_release frees it and
 * closes its file). Not thread-safe: one request, one thread.
 */
#ifndef PARLEY_WEB_HTTP_H
#define PARLEY_WEB_HTTP_H

#include <jansson.h>
#include <stdint.h>

#include "session/session.h"
#include "util/error.h"
#include "web/router.h"

struct web_server;
struct store;

struct web_req {
	const char *method, *path;
	const struct web_route *route;
	struct web_params params;
	const char *body; /* the raw body (NUL-terminated copy), "" when none */
	size_t body_len;
	json_t *json;     /* WEB_BODY_JSON routes: the parsed object (never NULL there) */
	bool authed;      /* user is filled (WEB_ROUTE_AUTH routes always) */
	const char *addr; /* the client's address ("127.0.0.1"), for rate limits */
	struct session_user user;
	struct session_ctx ctx;   /* this thread's store, the data dir, the queue hook */
	struct web_server *srv;   /* metrics, settings */
	/* Headers and query arguments, through the server. NULL when absent. */
	const char *(*lookup)(void *conn, bool header, const char *name);
	void *conn;
};

static inline const char *web_req_header(const struct web_req *q, const char *name)
{ return q->lookup(q->conn, true, name); }
static inline const char *web_req_query(const struct web_req *q, const char *name)
{ return q->lookup(q->conn, false, name); }

#define WEB_RESP_HEADERS_MAX 8
#define WEB_HIDE_MAX 2

struct web_resp {
	int status;               /* 0 until set */
	const char *content_type; /* a static string */
	char *body;               /* malloc'd, or NULL */
	size_t len;
	const unsigned char *static_body; /* not owned (compiled-in assets) */
	int fd;                   /* a file body (owned, closed on release), -1 none */
	uint64_t offset, file_len;
	struct {
		char name[40];
		char value[256];
	} headers[WEB_RESP_HEADERS_MAX];
	int nheaders;
	char error_code[32];      /* the error's code, for the access log; "" on success */
	/* Set by the server before the handler runs (web_resp_init clears
	 * them): what the request is about as its user knows it ("chunk 15 of
	 * session k2x…"), named in answers to server failures, and server paths
	 * (the data directory) that never appear in an answer. */
	char about[96];
	const char *hide[WEB_HIDE_MAX];
	/* A streamed body of unknown length (server-sent events): the server
	 * calls stream(stream_ud, this thread's store, buf, max) on its pool
	 * thread for the next bytes (> 0), or -1 to end; stream_free(stream_ud)
	 * when the response is gone. The callback may wait a little (it holds
	 * its thread), never long: callers bound how many streams are open. */
	long (*stream)(void *ud, struct store *st, char *buf, size_t max);
	void (*stream_free)(void *ud);
	void *stream_ud;
};

void web_resp_init(struct web_resp *r);
void web_resp_release(struct web_resp *r);
/* Add a header (silently dropped past WEB_RESP_HEADERS_MAX; values truncated). */
void web_resp_header(struct web_resp *r, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A JSON body; takes the reference to v (NULL or a dump failure: 500). */
void web_resp_json(struct web_resp *r, int status, json_t *v);
/* The error response for a parley error: status from web_err_status. A
 * server failure (status 500 and above) answers only what failed, as the
 * user knows it (r->about), and the kind of failure; its full message
 * (paths, pids, SQL) goes to the server's log. Other messages are answered
 * with r->hide removed (web_error_public). */
void web_resp_error(struct web_resp *r, const struct parley_error *err);
/* A layer's result: web_resp_json(r, status, view) when rc is PARLEY_OK,
 * else web_resp_error(r, err) with view released (it may be NULL). */
void web_resp_answer(struct web_resp *r, enum parley_err rc, int status, json_t *view,
		     const struct parley_error *err);
/* The message a client sees for an error (pure; used by web_resp_error):
 * status >= 500: "ABOUT failed on the server: KIND (…details in its log)";
 * else msg with every occurrence of a non-empty hide[i] (absolute server
 * paths) replaced by "…". Always NUL-terminated in out[size]. */
void web_error_public(int status, enum parley_err code, const char *msg, const char *about,
		      const char *const hide[], size_t nhide, char *out, size_t size);
/* An error response with an explicit status and code (the HTTP layer's). */
void web_resp_fail(struct web_resp *r, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* An optional integer query argument `name` in [min, max]: true with *out
 * set, or true with *out unchanged when absent; false with a 400 "invalid"
 * in r when it is not such an integer. */
bool web_req_query_int(struct web_req *q, struct web_resp *r, const char *name, long long min,
		       long long max, long long *out);

/* The HTTP status of a parley error code (docs/api.md); 500 for unknown. */
int web_err_status(enum parley_err code);

#endif
