/*
 * store_batch.h — the SQL of batches managed over HTTP and `parley batch`
 * (core/batches.h, core/reaudit.h), over the store's connection. Only rows:
 * the rules (who may, when, what a view looks like) are in core/.
 *
 * A batch made by sbatch_create has status 'created': the recordings added
 * to it are 'held' (sbatch_hold) and never leased, until sbatch_start makes
 * them 'pending' and the batch 'started'. Batches made by `parley submit`
 * (status 'pending') count as started.
 */
#ifndef PARLEY_STORE_STORE_BATCH_H
#define PARLEY_STORE_STORE_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/error.h"

struct sbatch_row {
	int64_t id;
	char name[STORE_NAME_MAX];
	char kind[32];
	bool started;
	double created_at;
	int audit_version;
	int priority; /* store.h: higher is served first */
};

/* A new batch of kind 'batch', status 'created'; CONFLICT when the name is taken. */
enum parley_err sbatch_create(struct store *st, const char *name, int64_t *id,
			      struct parley_error *err);
enum parley_err sbatch_get(struct store *st, int64_t id, struct sbatch_row *out, bool *found,
			   struct parley_error *err);
/* Batches of kind 'batch' with id > after, in id order, at most limit. */
enum parley_err sbatch_list(struct store *st, int64_t after, int limit,
			    int (*fn)(const struct sbatch_row *, void *), void *ud,
			    struct parley_error *err);
/* A pending recording of a batch not started yet goes back to 'held'. */
enum parley_err sbatch_hold(struct store *st, int64_t rec_id, struct parley_error *err);
/* Release the held recordings (*n of them) and mark the batch started. */
enum parley_err sbatch_start(struct store *st, int64_t id, int64_t *n, struct parley_error *err);
/* Recordings of the batch still pending, held or running. */
enum parley_err sbatch_unfinished(struct store *st, int64_t id, int64_t *n,
				  struct parley_error *err);

/* One recording in the results: its row, its metadata and its verdict of a version. */
struct sbatch_result {
	int64_t id;
	const char *name, *status, *error, *metadata; /* valid during the call */
	bool has_verdict;
	const char *verdict, *reasons;
	double score, max_score;
	bool auto_fail;
};
/* Recordings with id > after in id order (limit <= 0: all), each with its
 * verdict of `version` (0: the batch's current one). */
enum parley_err sbatch_results(struct store *st, int64_t batch, int version, int64_t after,
			       int limit, int (*fn)(const struct sbatch_result *, void *), void *ud,
			       struct parley_error *err);

/*
 * Reaudit: every recording of the batch that is done or failed and has
 * every stage of `before` (a comma list of stage names, "" = none) done or
 * skipped loses its stage runs of `rerun` (a comma list) and goes back to
 * pending at stage `first`, attempts and error cleared; the batch's marks
 * of the `rerun` stages are dropped (stage_start/stage_complete log again)
 * and its finished counter recounted. *n: the recordings reset. Stage names
 * must be [a-z0-9_]. Runs in the caller's transaction.
 */
enum parley_err sbatch_reset_from(struct store *st, int64_t batch, const char *before,
				  const char *rerun, const char *first, int64_t *n,
				  struct parley_error *err);

#endif
