/*
 * metrics.h — the server's request counters and the Prometheus text of
 * GET /metrics.
 *
 *   web_metrics_count(m, route_index, 200);       // any thread, lock-free
 *   web_metrics_render(m, routes, n, st, q, &sb, &err);
 *
 * Counters are per route row (index into the route table; n for requests
 * that matched none, reported as route="unmatched") and per status (a fixed
 * list of the statuses the server answers, "other" for the rest); atomic.
 * Rendering adds, from this thread's store and queue: parley_queue_depth
 * (ready + delayed entries), parley_queue_processing, parley_recordings
 * {status}, and parley_stage_seconds_sum/count{stage} (wall seconds of done
 * stage runs, read through store_int.h until the store has a function for
 * it). Text format 0.0.4. Rendering runs on the calling thread's store.
 */
#ifndef PARLEY_WEB_METRICS_H
#define PARLEY_WEB_METRICS_H

#include <stdatomic.h>
#include <stddef.h>

#include "queue/queue.h"
#include "store/store.h"
#include "util/strbuf.h"
#include "web/router.h"

#define WEB_METRICS_ROUTES_MAX 64
#define WEB_METRICS_STATUSES 20

struct web_metrics {
	atomic_ulong requests[WEB_METRICS_ROUTES_MAX + 1][WEB_METRICS_STATUSES];
};

void web_metrics_init(struct web_metrics *m);
/* Count one answered request; route_index < 0 or past the table: unmatched. */
void web_metrics_count(struct web_metrics *m, int route_index, int status);
/* Every answered request, and those answered 5xx (the dashboard's figures). */
void web_metrics_totals(struct web_metrics *m, unsigned long *requests, unsigned long *errors);
/* Append the whole exposition to sb. Store or queue failures: their error. */
enum parley_err web_metrics_render(struct web_metrics *m, const struct web_route *routes,
				   size_t nroutes, struct store *st, struct queue *q,
				   struct strbuf *sb, struct parley_error *err);

#endif
