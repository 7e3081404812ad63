/*
 * store_dash.h — the dashboard's reads (src/web/route_events.c, the results
 * table of core/batches.h): who works on what, what moved lately, which
 * batches are active, and a page of a batch's results filtered and sorted
 * in SQL. Only rows; the views are built in core/ and web/.
 *
 * Cost: every query here reads an index or the rows of one batch, except
 * sdash_throughput (the recordings finished in a time window: one pass over
 * the recordings table); the events hub runs them at most once a second for
 * every open stream together.
 */
#ifndef PARLEY_STORE_STORE_DASH_H
#define PARLEY_STORE_STORE_DASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_batch.h"
#include "util/error.h"

struct sdash_batch {
	int64_t id;
	char kind[32]; /* "batch", "session", "submit" … */
	char name[STORE_NAME_MAX];
};
/* The newest batches of any kind, newest first, at most limit (*out: caller frees). */
enum parley_err sdash_recent_batches(struct store *st, int limit, struct sdash_batch **out,
				     size_t *n, struct parley_error *err);
/* One batch's id, kind and name; *found false when there is none. */
enum parley_err sdash_batch_get(struct store *st, int64_t id, struct sdash_batch *out,
				bool *found, struct parley_error *err);
/* The batches with a recording pending or running, ascending (*ids: caller frees). */
enum parley_err sdash_active_batches(struct store *st, int64_t **ids, size_t *n,
				     struct parley_error *err);

/* A recording leased by a live worker: who, what, since when. */
struct sdash_lease {
	char owner[128];
	int64_t recording, batch;
	char name[STORE_NAME_MAX];
	char batch_name[STORE_NAME_MAX];
	char kind[32];
	char stage[32]; /* the stage it is at */
	int attempts;
	double since;   /* when it was leased */
	double expires;
};
/* Live leases at `now` (expired ones are not), by owner then recording, at most max. */
enum parley_err sdash_leases(struct store *st, double now, size_t max, struct sdash_lease **out,
			     size_t *n, struct parley_error *err);
/* Recordings waiting out a retry backoff at `now`. */
enum parley_err sdash_retrying(struct store *st, double now, int64_t *n, struct parley_error *err);
/* Recordings finished done since `since`: how many, their seconds of audio. */
enum parley_err sdash_throughput(struct store *st, double since, int64_t *n, double *audio,
				 struct parley_error *err);
/* The batches with an execution-log event after event id `after`, ascending
 * (a range of the events' primary key; *ids: caller frees). */
enum parley_err sdash_event_batches(struct store *st, int64_t after, int64_t **ids, size_t *n,
				    struct parley_error *err);
/* The highest execution-log event id (0: none). */
enum parley_err sdash_last_event(struct store *st, int64_t *id, struct parley_error *err);

/* A page of a batch's results: filters ("" = any), a sort column of
 * sdash_sort_valid, offset and limit. */
struct sdash_query {
	int version;        /* the audit version of the verdicts (> 0) */
	const char *status; /* recordings.status */
	const char *verdict; /* "pass", "fail", "flag", or "none" (no verdict) */
	const char *name;   /* a substring of the name, any case */
	const char *sort;   /* "recording" (default), "name", "status", "verdict", "score" */
	bool desc;
	int64_t offset;
	int limit;
};
bool sdash_sort_valid(const char *sort);
struct sdash_result {
	struct sbatch_result row; /* as sbatch_results gives it */
	int attempts;
};
/* fn per row in order (non-zero stops); *total: the rows matching the filters. */
enum parley_err sdash_results(struct store *st, int64_t batch, const struct sdash_query *q,
			      int (*fn)(const struct sdash_result *, void *), void *ud,
			      int64_t *total, struct parley_error *err);

#endif
