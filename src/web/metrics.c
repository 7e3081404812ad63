#include "web/metrics.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>


/* The statuses counted one by one; anything else is "other" (the last slot). */
static const int counted_statuses[WEB_METRICS_STATUSES - 1] = {
	200, 201, 202, 204, 206, 304, 400, 401, 404, 405,
	408, 409, 413, 415, 416, 422, 500, 503, 0,
};

static int status_slot(int status)
{
	for (int i = 0; i < WEB_METRICS_STATUSES - 1 && counted_statuses[i]; i++)
		if (counted_statuses[i] == status)
			return i;
	return WEB_METRICS_STATUSES - 1;
}

void web_metrics_init(struct web_metrics *m)
{
	for (size_t r = 0; r <= WEB_METRICS_ROUTES_MAX; r++)
		for (size_t s = 0; s < WEB_METRICS_STATUSES; s++)
			atomic_init(&m->requests[r][s], 0);
}

void web_metrics_count(struct web_metrics *m, int route_index, int status)
{
	if (route_index < 0 || route_index >= WEB_METRICS_ROUTES_MAX)
		route_index = WEB_METRICS_ROUTES_MAX;
	atomic_fetch_add_explicit(&m->requests[route_index][status_slot(status)], 1,
				  memory_order_relaxed);
}

void web_metrics_totals(struct web_metrics *m, unsigned long *requests, unsigned long *errors)
{
	*requests = *errors = 0;
	for (size_t r = 0; r <= WEB_METRICS_ROUTES_MAX; r++)
		for (int s = 0; s < WEB_METRICS_STATUSES; s++) {
			unsigned long v = atomic_load_explicit(&m->requests[r][s], memory_order_relaxed);
			*requests += v;
			if (s < WEB_METRICS_STATUSES - 1 && counted_statuses[s] >= 500)
				*errors += v;
		}
}

static enum parley_err render_requests(struct web_metrics *m, const struct web_route *routes,
				       size_t nroutes, struct strbuf *sb)
{
	enum parley_err rc = strbuf_adds(sb,
		"# HELP parley_http_requests_total HTTP requests answered, by route pattern and status.\n"
		"# TYPE parley_http_requests_total counter\n");
	for (size_t r = 0; r <= WEB_METRICS_ROUTES_MAX && !rc; r++) {
		bool known = r < nroutes && r < WEB_METRICS_ROUTES_MAX;
		if (!known && r != WEB_METRICS_ROUTES_MAX)
			continue;
		for (int s = 0; s < WEB_METRICS_STATUSES && !rc; s++) {
			unsigned long v = atomic_load_explicit(&m->requests[r][s], memory_order_relaxed);
			if (!v)
				continue;
			char status[8];
			if (s < WEB_METRICS_STATUSES - 1 && counted_statuses[s])
				snprintf(status, sizeof(status), "%d", counted_statuses[s]);
			else
				snprintf(status, sizeof(status), "other");
			if (known)
				rc = strbuf_addf(sb,
					"parley_http_requests_total{route=\"%s %s\",status=\"%s\"} %lu\n",
					routes[r].method, routes[r].pattern, status, v);
			else
				rc = strbuf_addf(sb,
					"parley_http_requests_total{route=\"unmatched\",status=\"%s\"} %lu\n",
					status, v);
		}
	}
	return rc;
}

/* Sum and count of the wall seconds of done stage runs, per stage. */
static enum parley_err render_stage_seconds(struct store *st, struct strbuf *sb,
					    struct parley_error *err)
{
	struct store_stage_seconds rows[64];
	size_t n = 0;
	enum parley_err rc = store_stage_seconds(st, rows, sizeof(rows) / sizeof(rows[0]), &n, err);
	for (size_t i = 0; !rc && i < n; i++)
		rc = strbuf_addf(sb, "parley_stage_seconds_sum{stage=\"%s\"} %.3f\n"
				 "parley_stage_seconds_count{stage=\"%s\"} %lld\n", rows[i].stage,
				 rows[i].sum, rows[i].stage, (long long)rows[i].count);
	return rc;
}

enum parley_err web_metrics_render(struct web_metrics *m, const struct web_route *routes,
				   size_t nroutes, struct store *st, struct queue *q,
				   struct strbuf *sb, struct parley_error *err)
{
	struct queue_stats qs = {0};
	struct store_progress p;
	enum parley_err rc;
	if ((rc = queue_stats_get(q, st, &qs, err)) || (rc = store_progress_get(st, 0, &p, err)))
		return rc;
	rc = strbuf_addf(sb,
		"# HELP parley_queue_depth Recordings waiting in the queue (ready and delayed).\n"
		"# TYPE parley_queue_depth gauge\n"
		"parley_queue_depth %ld\n"
		"# HELP parley_queue_processing Recordings held by workers.\n"
		"# TYPE parley_queue_processing gauge\n"
		"parley_queue_processing %ld\n"
		"# HELP parley_queue_workers Live workers.\n"
		"# TYPE parley_queue_workers gauge\n"
		"parley_queue_workers %d\n"
		"# HELP parley_recordings Recordings in the store by status.\n"
		"# TYPE parley_recordings gauge\n"
		"parley_recordings{status=\"pending\"} %d\n"
		"parley_recordings{status=\"running\"} %d\n"
		"parley_recordings{status=\"done\"} %d\n"
		"parley_recordings{status=\"failed\"} %d\n"
		"# HELP parley_stage_seconds Wall seconds of finished stage runs, by stage.\n"
		"# TYPE parley_stage_seconds summary\n",
		qs.ready + qs.delayed, qs.processing, qs.workers, p.pending, p.running, p.done,
		p.failed);
	if (!rc)
		rc = render_stage_seconds(st, sb, err);
	if (!rc)
		rc = render_requests(m, routes, nroutes, sb);
	if (rc == PARLEY_ERR_TOO_LARGE)
		return parley_error_set(err, rc, "the metrics text is over its size limit");
	return rc;
}
