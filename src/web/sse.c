/* sse.c — the pump of a server-sent-event stream (contract in sse.h). */
#include "web/sse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store/store.h"
#include "util/timeutil.h"
#include "web/server.h"

struct sse_stream {
	struct web_server *srv;
	struct sse_params p;
	sse_poll_fn *poll;
	void (*src_free)(void *src);
	void *src;
	char *pending; /* formatted events not sent yet */
	size_t len, off;
	bool end;      /* nothing more after pending */
};

struct sse_params sse_default_params(void)
{
	return (struct sse_params){.poll = 0.025, .idle = SSE_IDLE_MAX, .max_text = (size_t)1 << 20,
				   .busy_hint = "retry later"};
}

static void stream_free(void *ud)
{
	struct sse_stream *s = ud;
	web_server_stream_release(s->srv);
	if (s->src_free)
		s->src_free(s->src);
	free(s->pending);
	free(s);
}

/* One poll of the source into s->pending. */
static void stream_fill(struct sse_stream *s, struct store *st)
{
	struct strbuf sb;
	strbuf_init(&sb, s->p.max_text);
	bool end = false;
	s->poll(s->src, st, &sb, &end);
	if (end)
		s->end = true;
	free(s->pending);
	s->pending = strbuf_detach(&sb, &s->len);
	s->off = 0;
}

static long stream_read(void *ud, struct store *st, char *buf, size_t max)
{
	struct sse_stream *s = ud;
	double start = time_mono();
	while (s->off >= s->len) {
		if (s->end)
			return -1;
		stream_fill(s, st);
		if (s->off < s->len || s->end)
			continue;
		if (web_server_stopping(s->srv))
			return -1;
		double waited = time_mono() - start;
		if (waited >= s->p.idle) { /* a keep-alive comment */
			memcpy(buf, ":\n", 2);
			return 2;
		}
		double nap = s->p.idle - waited;
		time_sleep(nap < s->p.poll ? nap : s->p.poll);
	}
	size_t n = s->len - s->off < max ? s->len - s->off : max;
	memcpy(buf, s->pending + s->off, n);
	s->off += n;
	return (long)n;
}

bool sse_start(struct web_req *q, struct web_resp *r, const struct sse_params *p,
	       sse_poll_fn *poll, void (*src_free)(void *src), void *src)
{
	if (!web_server_stream_acquire(q->srv)) {
		web_resp_fail(r, 503, "unavailable", "too many event streams are open; %s",
			      p->busy_hint ? p->busy_hint : "retry later");
		web_resp_header(r, "Retry-After", "5");
		if (src_free)
			src_free(src);
		return false;
	}
	struct sse_stream *s = calloc(1, sizeof(*s));
	if (!s) {
		web_server_stream_release(q->srv);
		web_resp_fail(r, 503, "nomem", "out of memory");
		if (src_free)
			src_free(src);
		return false;
	}
	*s = (struct sse_stream){.srv = q->srv, .p = *p, .poll = poll, .src_free = src_free,
				 .src = src};
	if (!(s->p.idle > 0) || s->p.idle > SSE_IDLE_MAX)
		s->p.idle = SSE_IDLE_MAX;
	if (!(s->p.poll > 0))
		s->p.poll = s->p.idle;
	if (!s->p.max_text)
		s->p.max_text = sse_default_params().max_text;
	r->status = 200;
	r->content_type = "text/event-stream";
	web_resp_header(r, "Cache-Control", "no-cache");
	web_resp_header(r, "X-Accel-Buffering", "no");
	r->stream = stream_read;
	r->stream_free = stream_free;
	r->stream_ud = s;
	return true;
}

bool sse_last_event_id(struct web_req *q, struct web_resp *r, int64_t *after)
{
	const char *last = web_req_header(q, "Last-Event-ID");
	if (!last || !*last)
		return true;
	char *end;
	errno = 0;
	long long x = strtoll(last, &end, 10);
	if (errno || *end || x < 0) {
		web_resp_fail(r, 400, "invalid", "Last-Event-ID: %.40s is not an event id", last);
		return false;
	}
	*after = x;
	return true;
}

enum parley_err sse_add(struct strbuf *out, int64_t id, const char *type, const char *data)
{
	if (id > 0)
		return strbuf_addf(out, "id: %lld\nevent: %s\ndata: %s\n\n", (long long)id, type,
				   data);
	return strbuf_addf(out, "event: %s\ndata: %s\n\n", type, data);
}

int sse_log_one(const struct store_event *ev, void *page)
{
	struct sse_log_page *pg = page;
	json_t *o = json_pack("{s:I,s:o*,s:f,s:s,s:s,s:s}", "id", (json_int_t)ev->id, "batch",
			      pg->batch > 0 ? json_integer(pg->batch) : NULL, "time", ev->time,
			      "type", ev->type, "stage", ev->stage, "message", ev->message);
	if (o)
		json_object_set_new(o, "recording", ev->recording_id ? json_integer(ev->recording_id)
								     : json_null());
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return 1;
	enum parley_err rc = sse_add(pg->out, ev->id, pg->type ? pg->type : ev->type, text);
	free(text);
	if (rc)
		return 1;
	pg->last = ev->id;
	return 0;
}
