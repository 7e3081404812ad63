/* sse.h — the one pump of a server-sent-event stream (text/event-stream):
 * GET /v1/events (route_events.c) and GET /v1/batches/{id}/events
 * (route_batches.c) each say only what their next events are; this module
 * holds the stream slot, the pending text, the keep-alive and the end.
 *
 *     struct my_src *s = calloc(1, sizeof(*s));  // what to poll
 *     struct sse_params p = sse_default_params();
 *     p.busy_hint = "retry later";
 *     sse_start(q, r, &p, my_poll, my_free, s);   // r now streams
 *
 * A read blocks its HTTP thread (libmicrohttpd's internal polling cannot
 * park a response), so one read waits at most params.idle (never more than
 * SSE_IDLE_MAX) before it sends a keep-alive comment ":\n": a request served
 * by the same pool thread waits at most that long.
 */
#ifndef PARLEY_WEB_SSE_H
#define PARLEY_WEB_SSE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/strbuf.h"
#include "web/http.h"

#define SSE_IDLE_MAX 0.1 /* seconds: the longest wait of one read, whatever the params */

/* Append the next events to out (formatted with sse_add, or any complete
 * "field: value\n…\n\n" blocks); set *end when nothing follows what was
 * appended (the stream then ends once it is sent). Called on the stream's
 * HTTP thread with that thread's store; never concurrently for one stream.
 * Nothing appended and *end false: the pump waits params.poll and asks again. */
typedef void sse_poll_fn(void *src, struct store *st, struct strbuf *out, bool *end);

struct sse_params {
	double poll;           /* seconds between two polls that found nothing (0.025) */
	double idle;           /* longest one read waits before a keep-alive (0.1, at most SSE_IDLE_MAX) */
	size_t max_text;       /* bound of one poll's text (1 MiB; past it the poll's strbuf fails) */
	const char *busy_hint; /* what the 503 answer says to do when every stream slot is taken */
};

struct sse_params sse_default_params(void);

/* Make r a stream of src's events. Takes one of the server's stream slots
 * (--max-streams) and sets status 200, the event-stream type and the
 * no-cache headers. Returns true when r streams: src is then owned by the
 * stream and src_free(src) is called when it ends (src_free may be NULL).
 * Returns false after answering r itself (503: every slot taken, with
 * Retry-After: 5, or out of memory); src_free(src) has then been called. */
bool sse_start(struct web_req *q, struct web_resp *r, const struct sse_params *p,
	       sse_poll_fn *poll, void (*src_free)(void *src), void *src);

/* Read a Last-Event-ID request header into *after (left alone when the
 * header is absent or empty). False after answering r 400 when it is not a
 * non-negative integer. */
bool sse_last_event_id(struct web_req *q, struct web_resp *r, int64_t *after);

/* Append one event: "id: ID\n" when id > 0, "event: TYPE\n", "data: DATA\n\n".
 * data must be one line (compact JSON). PARLEY_ERR_TOO_LARGE past out's bound. */
enum parley_err sse_add(struct strbuf *out, int64_t id, const char *type, const char *data);

/* Execution-log events as a stream's events:
 *
 *     struct sse_log_page pg = {.out = out, .type = "log", .batch = b, .last = after};
 *     store_event_page(st, b, after, limit, sse_log_one, &pg, &err);
 *
 * appends each event with its id as an event of pg.type (NULL: the event's
 * own type) whose data is {id, batch (when pg.batch > 0), time, type,
 * stage, message, recording}; pg.last is then the id of the last one
 * appended. Stops (returns non-zero) at the first that does not fit. */
struct sse_log_page {
	struct strbuf *out;
	const char *type;
	int64_t batch;
	int64_t last;
};
struct store_event;
int sse_log_one(const struct store_event *ev, void *page);

#endif
