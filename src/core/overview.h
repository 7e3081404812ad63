/*
 * overview.h — the dashboard's figures (GET /v1/overview and the events of
 * GET /v1/events, src/web/route_events.c), as JSON the caller owns:
 *
 *   overview_queue(st, q, now, &v, &err);
 *     {"ready","retrying","processing","workers",
 *      "recordings":{"total","pending","running","done","failed","held"},
 *      "dead_letters",                          // failed recordings (retry them)
 *      "audio_seconds_done",
 *      "throughput":{"window":300,"recordings","audio_seconds","per_minute",
 *                    "remaining","eta_seconds"|null}}
 *   overview_workers(st, now, &v, &err);
 *     {"workers":[{"worker","recording","name","batch","batch_name","kind",
 *                  "session"|null,"stage","attempts","since"}]}
 *   overview_stages(st, &v, &err);
 *     {"stages":[{"stage","runs","seconds","mean_seconds"}]}
 *
 * "ready" counts what waits to be taken (not held back by a retry backoff,
 * which "retrying" counts); "processing" what workers hold; "workers" the
 * live workers the queue knows (the store queue knows only busy ones).
 * Throughput is what finished done in the last `window` seconds; the ETA is
 * what remains (pending and running) at that pace, null when nothing
 * finished in the window. No HTTP here.
 */
#ifndef PARLEY_CORE_OVERVIEW_H
#define PARLEY_CORE_OVERVIEW_H

#include <jansson.h>

#include "queue/queue.h"
#include "store/store.h"
#include "util/error.h"

#define OVERVIEW_WINDOW 300.0   /* seconds of throughput */
#define OVERVIEW_WORKERS_MAX 256 /* leases listed */

enum parley_err overview_queue(struct store *st, struct queue *q, double now, json_t **out,
			       struct parley_error *err);
enum parley_err overview_workers(struct store *st, double now, json_t **out,
				 struct parley_error *err);
enum parley_err overview_stages(struct store *st, json_t **out, struct parley_error *err);

/* "session:<id>" (the batch a session's end made) → id; NULL for other names. */
const char *overview_session_of(const char *kind, const char *batch_name);

#endif
