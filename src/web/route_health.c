/* route_health.c — GET /health (the store answers, the data directory takes
 * files) and GET /metrics (behind a bearer token when the server has one). */
#include "web/routes.h"

#include <string.h>
#include <strings.h>

#include "util/log.h"
#include "web/data_check.h"
#include "web/linger.h"

#include "core/engines_info.h"
#include "util/strbuf.h"
#include "web/metrics.h"
#include "web/server.h"

#define METRICS_TEXT_MAX (1024 * 1024)

void route_health(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	int64_t id;
	const struct web_server_params *p = web_server_params(q->srv);
	/* A lookup by name on an index: cheap, and it needs a live connection. */
	enum parley_err rc = store_batch_find(q->ctx.store, "health:check", &id, &err);
	bool store_ok = rc == PARLEY_OK || rc == PARLEY_ERR_NOT_FOUND;
	unsigned long long avail = 0;
	enum web_data_state data = web_data_check(p->data_dir, p->min_free_bytes, true, &avail);
	if (!store_ok)
		log_error("health: the store: %s", err.msg);
	if (data != WEB_DATA_OK)
		log_error("health: the data directory %s is %s (%llu bytes free, floor %llu)",
			  p->data_dir, web_data_state_name(data), avail, p->min_free_bytes);
	/* the answer names what is wrong, never a path or the store's message */
	json_t *v = json_pack("{s:s,s:s,s:s,s:s}", "status", store_ok && !data ? "ok" : "unavailable",
			      "store", store_ok ? "ok" : parley_err_name(rc), "data",
			      web_data_state_name(data), "version", PARLEY_VERSION);
	if (store_ok && data == WEB_DATA_OK) {
		web_resp_json(r, 200, v);
		return;
	}
	web_resp_json(r, 503, v);
	snprintf(r->error_code, sizeof(r->error_code), "%s",
		 store_ok ? web_data_state_name(data) : parley_err_name(rc));
}

/* Constant-time comparison of the bearer token with the metrics token. */
static bool metrics_authorized(const struct web_req *q, const char *want)
{
	const char *h = web_req_header(q, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	const char *got = h + 7;
	while (*got == ' ')
		got++;
	size_t lg = strlen(got), lw = strlen(want);
	unsigned char diff = lg != lw;
	for (size_t i = 0; i < lw; i++)
		diff |= (unsigned char)(want[i] ^ (i < lg ? got[i] : 0));
	return diff == 0;
}

void route_metrics(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	const char *want = web_server_params(q->srv)->metrics_token;
	if (want && *want && !metrics_authorized(q, want)) {
		web_resp_fail(r, 401, "unauthorized",
			      "/metrics needs Authorization: Bearer with the server's metrics token");
		return;
	}
	struct queue *queue = web_server_thread_queue(q->srv, &err);
	if (!queue) {
		web_resp_error(r, &err);
		return;
	}
	struct strbuf sb;
	strbuf_init(&sb, METRICS_TEXT_MAX);
	if (web_metrics_render(web_server_metrics(q->srv), web_routes, web_routes_count,
			       q->ctx.store, queue, &sb, &err) != PARLEY_OK) {
		strbuf_release(&sb);
		web_resp_error(r, &err);
		return;
	}
	struct web_linger_stats ls;
	web_server_linger_stats(q->srv, &ls);
	if (strbuf_addf(&sb,
			"# HELP parley_http_lingering_closes_total Sockets of requests refused before "
			"their body was read, kept open to drop what still came, by how they ended "
			"(eof: the client closed; cut: at the time or byte bound; full: closed at once, "
			"too many lingering).\n"
			"# TYPE parley_http_lingering_closes_total counter\n"
			"parley_http_lingering_closes_total{end=\"eof\"} %llu\n"
			"parley_http_lingering_closes_total{end=\"cut\"} %llu\n"
			"parley_http_lingering_closes_total{end=\"full\"} %llu\n"
			"# HELP parley_http_lingering_bytes_total Bytes read and dropped from lingering sockets.\n"
			"# TYPE parley_http_lingering_bytes_total counter\n"
			"parley_http_lingering_bytes_total %llu\n",
			ls.eof, ls.cut, ls.refused, ls.bytes) != PARLEY_OK) {
		strbuf_release(&sb);
		web_resp_fail(r, 500, "internal", "the metrics text is over its limit");
		return;
	}
	r->status = 200;
	r->content_type = "text/plain; version=0.0.4; charset=utf-8";
	r->body = strbuf_detach(&sb, &r->len);
}
