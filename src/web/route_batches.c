/* route_batches.c — /v1/batches…: create, list, get, files (upload or
 * server-side paths), metadata, start, events (server-sent events), failures,
 * retry, results (JSON or CSV pages, or the dashboard's filtered and sorted
 * table) and trades, reaudit and its changes, webhook deliveries and
 * redelivery. The
 * domain is core/batches.h and core/reaudit.h; only operators and admins see
 * any of it (everyone else: 404, as for a batch that does not exist). */
#include "web/routes.h"
#include "web/sse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/batches.h"
#include "core/reaudit.h"
#include "store/store_batch.h"
#include "util/strbuf.h"
#include "util/timeutil.h"
#include "web/data_check.h"
#include "web/server.h"

static enum parley_err push(void *ud, struct parley_error *err)
{
	return web_server_push_leasable(ud, err);
}

static struct batches_ctx ctx_of(struct web_req *q)
{
	return (struct batches_ctx){
		.store = q->ctx.store,
		.data_dir = q->ctx.data_dir,
		.files_root = web_server_params(q->srv)->files_root,
		.on_queued = push,
		.ud = q->srv,
	};
}

/* Operators and admins only; anyone else gets the answer of a missing batch. */
static bool allowed(struct web_req *q, struct web_resp *r)
{
	if (batches_user_may(&q->user))
		return true;
	if (q->params.batch)
		web_resp_fail(r, 404, "not_found", "no batch %lld", q->params.batch);
	else
		web_resp_fail(r, 404, "not_found", "no route %s %.200s", q->method, q->path);
	return false;
}

/* ?format=json (default) or csv. */
static bool query_csv(struct web_req *q, struct web_resp *r, bool *csv)
{
	const char *f = web_req_query(q, "format");
	*csv = f && strcmp(f, "csv") == 0;
	if (f && !*csv && strcmp(f, "json") != 0) {
		web_resp_fail(r, 400, "invalid", "format=%.40s: want json or csv", f);
		return false;
	}
	return true;
}

static void csv_answer(struct web_resp *r, enum parley_err rc, char *csv,
		       const struct parley_error *err)
{
	if (rc) {
		free(csv);
		web_resp_error(r, err);
		return;
	}
	free(r->body);
	r->body = csv;
	r->len = strlen(csv);
	r->status = 200;
	r->content_type = "text/csv; charset=utf-8";
}

void route_batch_create(struct web_req *q, struct web_resp *r)
{
	if (!allowed(q, r))
		return;
	struct batches_ctx c = ctx_of(q);
	struct parley_error err = {0};
	json_t *view = NULL;
	enum parley_err rc = batches_create(&c, q->json, &view, &err);
	web_resp_answer(r, rc, 201, view, &err);
}

void route_batch_list(struct web_req *q, struct web_resp *r)
{
	long long after = 0, limit = 100;
	if (!allowed(q, r) || !web_req_query_int(q, r, "after", 0, ROUTER_BATCH_MAX, &after) ||
	    !web_req_query_int(q, r, "limit", 1, BATCHES_PAGE_MAX, &limit))
		return;
	struct batches_ctx c = ctx_of(q);
	struct parley_error err = {0};
	json_t *view = NULL;
	enum parley_err rc = batches_list(&c, after, (int)limit, &view, &err);
	web_resp_answer(r, rc, 200, view, &err);
}

void route_batch_get(struct web_req *q, struct web_resp *r)
{
	if (!allowed(q, r))
		return;
	struct batches_ctx c = ctx_of(q);
	struct parley_error err = {0};
	json_t *view = NULL;
	enum parley_err rc = batches_get(&c, q->params.batch, &view, &err);
	web_resp_answer(r, rc, 200, view, &err);
}

/* An upload's answer before its body: the role, the batch and name, the
 * batch's upload limits, the disk (507 when the file would leave less than
 * --min-free-bytes). true when it may come. */
static bool upload_may(struct web_req *q, struct web_resp *r)
{
	if (!allowed(q, r))
		return false;
	const struct web_server_params *p = web_server_params(q->srv);
	struct batches_upload_limits lim = {
		.max_files = p->batch_max_files > 0 ? p->batch_max_files : 0,
		.max_bytes = p->batch_max_bytes,
	};
	struct batches_ctx c = ctx_of(q);
	struct parley_error err = {0};
	if (batches_upload_check(&c, q->params.batch, q->params.file, q->body_len, &lim, &err)) {
		web_resp_error(r, &err);
		return false;
	}
	unsigned long long floor = p->min_free_bytes + q->body_len;
	if (floor < p->min_free_bytes) /* saturate */
		floor = ~0ull;
	if (web_data_check(p->data_dir, floor, false, NULL) == WEB_DATA_FULL) {
		web_resp_fail(r, 507, "insufficient_storage",
			      "file %s of batch %lld was not stored: the server is low on disk space "
			      "(try again later)", q->params.file, q->params.batch);
		return false;
	}
	return true;
}

void route_batch_file_check(struct web_req *q, struct web_resp *r)
{
	upload_may(q, r);
}

void route_batch_file_put(struct web_req *q, struct web_resp *r)
{
	if (!upload_may(q, r)) /* again: other uploads may have come since the headers */
		return;
	struct batches_ctx c = ctx_of(q);
	struct parley_error err = {0};
	json_t *view = NULL;
	bool created = true;
	enum parley_err rc = batches_add_upload(&c, q->params.batch, q->params.file, q->body,
						q->body_len, &view, &created, &err);
	if (!rc)
		json_object_set_new(view, "created", json_boolean(created));
	web_resp_answer(r, rc, created ? 201 : 200, view, &err);
}

#define PATHS_PER_REQUEST 1000

void route_batch_paths(struct web_req *q, struct web_resp *r)
{
	if (!allowed(q, r))
		return;
	json_t *arr = json_object_get(q->json, "paths");
	const char *paths[PATHS_PER_REQUEST];
	size_t n = 0, i;
	json_t *v;
	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > PATHS_PER_REQUEST) {
		web_resp_fail(r, 400, "invalid", "field \"paths\" must be an array of 1 to %d strings",
			      PATHS_PER_REQUEST);
		return;
	}
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
			web_resp_fail(r, 400, "invalid", "paths[%zu] is not a string", i);
			return;
		}
		paths[n++] = json_string_value(v);
	}
	struct batches_ctx c = ctx_of(q);
	struct parley_error err = {0};
	json_t *view = NULL;
	enum parley_err rc = batches_add_paths(&c, q->params.batch, paths, n, &view, &err);
	web_resp_answer(r, rc, 201, view, &err);
}

void route_batch_metadata(struct web_req *q, struct web_resp *r)
{
	if (!allowed(q, r))
		return;
	struct batches_ctx c = ctx_of(q);
	struct parley_error err = {0};
	json_t *view = NULL;
	enum parley_err rc = batches_metadata(&c, q->params.batch, q->body, q->body_len, &view, &err);
	web_resp_answer(r, rc, 200, view, &err);
}

void route_batch_start(struct web_req *q, struct web_resp *r)
{
	if (!allowed(q, r))
		return;
	struct batches_ctx c = ctx_of(q);
	struct parley_error err = {0};
	json_t *view = NULL;
	enum parley_err rc = batches_start(&c, q->params.batch, &view, &err);
	web_resp_answer(r, rc, 202, view, &err);
}

void route_batch_failed(struct web_req *q, struct web_resp *r)
{
	if (!allowed(q, r))
		return;
	struct batches_ctx c = ctx_of(q);
	struct parley_error err = {0};
	json_t *view = NULL;
	enum parley_err rc = batches_failed(&c, q->params.batch, &view, &err);
	web_resp_answer(r, rc, 200, view, &err);
}

void route_batch_retry(struct web_req *q, struct web_resp *r)
{
	if (!allowed(q, r))
		return;
	json_t *rec = json_object_get(q->json, "recording");
	if (rec && !json_is_null(rec) && (!json_is_integer(rec) || json_integer_value(rec) < 1)) {
		web_resp_fail(r, 400, "invalid", "field \"recording\" must be a recording id");
		return;
	}
	struct batches_ctx c = ctx_of(q);
	struct parley_error err = {0};
	json_t *view = NULL;
	enum parley_err rc = batches_retry(&c, q->params.batch,
					   json_is_integer(rec) ? json_integer_value(rec) : 0, &view,
					   &err);
	web_resp_answer(r, rc, 200, view, &err);
}

/* The results table: ?sort=&order=&offset=&status=&verdict=&q= (any of them). */
static void results_table(struct web_req *q, struct web_resp *r, long long version,
			  long long limit)
{
	long long offset = 0;
	const char *order = web_req_query(q, "order");
	if (!web_req_query_int(q, r, "offset", 0, INT32_MAX, &offset))
		return;
	if (order && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0) {
		web_resp_fail(r, 400, "invalid", "order=%.40s: want asc or desc", order);
		return;
	}
	const char *name = web_req_query(q, "q");
	if (name && strlen(name) > 200) {
		web_resp_fail(r, 400, "invalid", "q: at most 200 characters");
		return;
	}
	struct batches_query bq = {.version = (int)version, .sort = web_req_query(q, "sort"),
				   .status = web_req_query(q, "status"),
				   .verdict = web_req_query(q, "verdict"), .name = name,
				   .desc = order && strcmp(order, "desc") == 0, .offset = offset,
				   .limit = (int)limit};
	struct batches_ctx c = ctx_of(q);
	struct parley_error err = {0};
	json_t *view = NULL;
	enum parley_err rc = batches_results_query(&c, q->params.batch, &bq, &view, &err);
	web_resp_answer(r, rc, 200, view, &err);
}

void route_batch_results(struct web_req *q, struct web_resp *r)
{
	long long version = 0, after = 0, limit = 100;
	bool csv;
	if (!allowed(q, r) || !web_req_query_int(q, r, "version", 0, 1000000, &version) ||
	    !web_req_query_int(q, r, "after", 0, INT64_MAX, &after) ||
	    !web_req_query_int(q, r, "limit", 1, BATCHES_PAGE_MAX, &limit) || !query_csv(q, r, &csv))
		return;
	static const char *const table_args[] = {"sort", "order", "offset", "status", "verdict", "q"};
	for (size_t i = 0; i < sizeof(table_args) / sizeof(table_args[0]); i++) {
		if (!web_req_query(q, table_args[i]))
			continue;
		if (csv || web_req_query(q, "after")) {
			web_resp_fail(r, 400, "invalid", "%s= pages the results table: not with "
				      "after= or format=csv", table_args[i]);
			return;
		}
		results_table(q, r, version, limit);
		return;
	}
	struct batches_ctx c = ctx_of(q);
	struct parley_error err = {0};
	if (csv) {
		char *text = NULL;
		enum parley_err rc = batches_results_csv(&c, q->params.batch, (int)version, after,
							 (int)limit, &text, &err);
		csv_answer(r, rc, text, &err);
		return;
	}
	json_t *view = NULL;
	enum parley_err rc = batches_results(&c, q->params.batch, (int)version, after, (int)limit,
					     &view, &err);
	web_resp_answer(r, rc, 200, view, &err);
}

void route_batch_webhooks(struct web_req *q, struct web_resp *r)
{
	long long limit = 100;
	if (!allowed(q, r) || !web_req_query_int(q, r, "limit", 1, BATCHES_PAGE_MAX, &limit))
		return;
	struct batches_ctx c = ctx_of(q);
	struct parley_error err = {0};
	json_t *view = NULL;
	enum parley_err rc = batches_webhooks(&c, q->params.batch, (int)limit, &view, &err);
	web_resp_answer(r, rc, 200, view, &err);
}

void route_batch_redeliver(struct web_req *q, struct web_resp *r)
{
	if (!allowed(q, r))
		return;
	json_t *d = json_object_get(q->json, "delivery");
	if (!json_is_integer(d) || json_integer_value(d) < 1) {
		web_resp_fail(r, 400, "invalid", "field \"delivery\" must be a delivery id");
		return;
	}
	struct batches_ctx c = ctx_of(q);
	struct parley_error err = {0};
	json_t *view = NULL;
	enum parley_err rc = batches_redeliver(&c, q->params.batch, json_integer_value(d), &view,
					       &err);
	web_resp_answer(r, rc, 200, view, &err);
}

void route_batch_trades(struct web_req *q, struct web_resp *r)
{
	long long version = 0, offset = 0, limit = 100;
	bool csv;
	if (!allowed(q, r) || !web_req_query_int(q, r, "version", 0, 1000000, &version) ||
	    !web_req_query_int(q, r, "offset", 0, INT32_MAX, &offset) ||
	    !web_req_query_int(q, r, "limit", 1, BATCHES_PAGE_MAX, &limit) || !query_csv(q, r, &csv))
		return;
	struct batches_ctx c = ctx_of(q);
	struct parley_error err = {0};
	if (csv) {
		char *text = NULL;
		enum parley_err rc = batches_trades_csv(&c, q->params.batch, (int)version, (int)offset,
							(int)limit, &text, &err);
		csv_answer(r, rc, text, &err);
		return;
	}
	json_t *view = NULL;
	enum parley_err rc = batches_trades(&c, q->params.batch, (int)version, (int)offset,
					    (int)limit, &view, &err);
	web_resp_answer(r, rc, 200, view, &err);
}

void route_batch_reaudit(struct web_req *q, struct web_resp *r)
{
	if (!allowed(q, r))
		return;
	struct batches_ctx c = ctx_of(q);
	struct parley_error err = {0};
	json_t *view = NULL;
	enum parley_err rc = reaudit_request(&c, q->params.batch, q->json, &view, &err);
	web_resp_answer(r, rc, 202, view, &err);
}

void route_batch_changes(struct web_req *q, struct web_resp *r)
{
	long long from = 0, to = 0, after = 0, limit = 100;
	if (!allowed(q, r) || !web_req_query_int(q, r, "from", 0, 1000000, &from) ||
	    !web_req_query_int(q, r, "to", 0, 1000000, &to) ||
	    !web_req_query_int(q, r, "after", 0, INT64_MAX, &after) ||
	    !web_req_query_int(q, r, "limit", 1, BATCHES_PAGE_MAX, &limit))
		return;
	struct batches_ctx c = ctx_of(q);
	struct parley_error err = {0};
	json_t *view = NULL;
	enum parley_err rc = reaudit_changes(&c, q->params.batch, (int)from, (int)to, after,
					     (int)limit, &view, &err);
	web_resp_answer(r, rc, 200, view, &err);
}

/* ------------------------------------------------------ server-sent events */

/* The pump (keep-alive, the longest wait of one read) is web/sse.c. */
#define BEV_POLL 0.05 /* seconds between looks at the events table */
#define BEV_PAGE 200  /* events read in one look */

struct bev_stream {
	int64_t batch, last;
	double until; /* time_mono() when the stream ends anyway */
};

/* The events after e->last (sse_poll_fn); the end when the batch is
 * finished and every event was read (or the stream's time is up). */
static void bev_poll(void *src, struct store *st, struct strbuf *sb, bool *end)
{
	struct bev_stream *e = src;
	struct sse_log_page pg = {.out = sb, .last = e->last}; /* each event as its own type */
	struct parley_error err = {0};
	bool finished = false;
	struct batches_ctx c = {.store = st};
	/* finished first: an event written after this look is still read below */
	if (batches_finished(&c, e->batch, &finished, &err) ||
	    store_event_page(st, e->batch, e->last, BEV_PAGE, sse_log_one, &pg, &err)) {
		sse_add(sb, 0, "error", "the store failed; reconnect");
		*end = true;
	}
	if (pg.last == e->last && (finished || time_mono() > e->until))
		*end = true;
	e->last = pg.last;
}

void route_batch_events(struct web_req *q, struct web_resp *r)
{
	long long after = 0, timeout = web_server_params(q->srv)->stream_seconds;
	if (!allowed(q, r) || !web_req_query_int(q, r, "after", 0, INT64_MAX, &after) ||
	    !web_req_query_int(q, r, "timeout", 1, web_server_params(q->srv)->stream_seconds, &timeout))
		return;
	int64_t last = after;
	if (!sse_last_event_id(q, r, &last))
		return;
	struct batches_ctx c = ctx_of(q);
	struct parley_error err = {0};
	if (batches_check(&c, q->params.batch, &err)) {
		web_resp_error(r, &err);
		return;
	}
	struct bev_stream *e = calloc(1, sizeof(*e));
	if (!e) {
		web_resp_fail(r, 503, "nomem", "out of memory");
		return;
	}
	*e = (struct bev_stream){.batch = q->params.batch, .last = last,
				 .until = time_mono() + (double)timeout};
	char hint[96];
	snprintf(hint, sizeof(hint), "retry later (or read /v1/batches/%lld/events?after=N again)",
		 (long long)q->params.batch);
	struct sse_params p = sse_default_params();
	p.poll = BEV_POLL;
	p.busy_hint = hint;
	sse_start(q, r, &p, bev_poll, free, e);
}
