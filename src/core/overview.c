/* overview.c — see overview.h. */
#include "core/overview.h"

#include <stdlib.h>
#include <string.h>

#include "store/store_dash.h"

#define NOMEM(err) parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory building the overview")

const char *overview_session_of(const char *kind, const char *batch_name)
{
	if (strcmp(kind, "session") != 0 || strncmp(batch_name, "session:", 8) != 0)
		return NULL;
	return batch_name + 8;
}

enum parley_err overview_queue(struct store *st, struct queue *q, double now, json_t **out,
			       struct parley_error *err)
{
	*out = NULL;
	struct queue_stats qs = {0};
	struct store_progress p;
	int64_t retrying = 0, finished = 0;
	double audio = 0;
	enum parley_err rc;
	if ((rc = queue_stats_get(q, st, &qs, err)) || (rc = store_progress_get(st, 0, &p, err)) ||
	    (rc = sdash_retrying(st, now, &retrying, err)) ||
	    (rc = sdash_throughput(st, now - OVERVIEW_WINDOW, &finished, &audio, err)))
		return rc;
	long ready = qs.ready, delayed = qs.delayed;
	if (q->drv == &queue_driver_store) { /* its "ready" is every pending recording */
		delayed = retrying;
		ready = qs.ready - retrying > 0 ? qs.ready - retrying : 0;
	}
	long remaining = p.pending + p.running;
	json_t *eta = finished > 0 ? json_real((double)remaining * OVERVIEW_WINDOW / (double)finished)
				   : json_null();
	*out = json_pack("{s:I,s:I,s:I,s:i,s:{s:i,s:i,s:i,s:i,s:i,s:i},s:i,s:f,"
			 "s:{s:f,s:I,s:f,s:f,s:I,s:o}}",
			 "ready", (json_int_t)ready, "retrying", (json_int_t)delayed, "processing",
			 (json_int_t)qs.processing, "workers", qs.workers, "recordings", "total",
			 p.total, "pending", p.pending, "running", p.running, "done", p.done,
			 "failed", p.failed, "held", p.held, "dead_letters", p.failed,
			 "audio_seconds_done", p.audio_done, "throughput", "window", OVERVIEW_WINDOW,
			 "recordings", (json_int_t)finished, "audio_seconds", audio, "per_minute",
			 (double)finished * 60.0 / OVERVIEW_WINDOW, "remaining", (json_int_t)remaining,
			 "eta_seconds", eta);
	return *out ? PARLEY_OK : NOMEM(err);
}

enum parley_err overview_workers(struct store *st, double now, json_t **out,
				 struct parley_error *err)
{
	*out = NULL;
	struct sdash_lease *l = NULL;
	size_t n = 0;
	enum parley_err rc = sdash_leases(st, now, OVERVIEW_WORKERS_MAX, &l, &n, err);
	if (rc)
		return rc;
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		const char *sid = overview_session_of(l[i].kind, l[i].batch_name);
		json_t *o = json_pack("{s:s,s:I,s:s,s:I,s:s,s:s,s:s,s:i,s:f}", "worker", l[i].owner,
				      "recording", (json_int_t)l[i].recording, "name", l[i].name,
				      "batch", (json_int_t)l[i].batch, "batch_name", l[i].batch_name,
				      "kind", l[i].kind, "stage", l[i].stage, "attempts", l[i].attempts,
				      "since", l[i].since);
		if (o)
			json_object_set_new(o, "session", sid ? json_string(sid) : json_null());
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			arr = NULL;
		}
	}
	free(l);
	*out = arr ? json_pack("{s:o}", "workers", arr) : NULL;
	return *out ? PARLEY_OK : NOMEM(err);
}

#define STAGES_MAX 64

enum parley_err overview_stages(struct store *st, json_t **out, struct parley_error *err)
{
	*out = NULL;
	struct store_stage_seconds rows[STAGES_MAX];
	size_t n = 0;
	enum parley_err rc = store_stage_seconds(st, rows, STAGES_MAX, &n, err);
	if (rc)
		return rc;
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		double mean = rows[i].count ? rows[i].sum / (double)rows[i].count : 0;
		if (json_array_append_new(arr, json_pack("{s:s,s:I,s:f,s:f}", "stage", rows[i].stage,
							 "runs", (json_int_t)rows[i].count,
							 "seconds", rows[i].sum, "mean_seconds",
							 mean))) {
			json_decref(arr);
			arr = NULL;
		}
	}
	*out = arr ? json_pack("{s:o}", "stages", arr) : NULL;
	return *out ? PARLEY_OK : NOMEM(err);
}
