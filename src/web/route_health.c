/* route_health.c — GET /health (the store answers) and GET /metrics. */
#include "web/routes.h"

#include "core/engines_info.h"
#include "util/strbuf.h"
#include "web/metrics.h"
#include "web/server.h"

#define METRICS_TEXT_MAX (1024 * 1024)

void route_health(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	int64_t id;
	/* A lookup by name on an index: cheap, and it needs a live connection. */
	enum parley_err rc = store_batch_find(q->ctx.store, "health:check", &id, &err);
	if (rc != PARLEY_OK && rc != PARLEY_ERR_NOT_FOUND) {
		json_t *v = json_pack("{s:s,s:s,s:s,s:s}", "status", "unavailable", "store",
				      parley_err_name(rc), "message", err.msg, "version",
				      PARLEY_VERSION);
		web_resp_json(r, 503, v);
		snprintf(r->error_code, sizeof(r->error_code), "%s", parley_err_name(rc));
		return;
	}
	web_resp_json(r, 200, json_pack("{s:s,s:s,s:s}", "status", "ok", "store", "ok", "version",
					PARLEY_VERSION));
}

void route_metrics(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
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
	r->status = 200;
	r->content_type = "text/plain; version=0.0.4; charset=utf-8";
	r->body = strbuf_detach(&sb, &r->len);
}
