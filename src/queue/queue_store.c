/*
 * queue_store.c — the store as its own queue: a worker leases the first
 * leasable recording in hand-out order (priority, then fair share between
 * batches; store.h) whose next stage it runs (store_lease_many: up to p->max of them in one
 * statement). Nothing to
 * run beside the store; on PostgreSQL many machines share it, with
 * FOR UPDATE SKIP LOCKED keeping workers off each other's rows. Settling is
 * already done in the store (finish, retry_later, release), so settle,
 * heartbeat and recover have nothing to add.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue.h"
#include "util/timeutil.h"

struct store_queue {
	struct queue base;
};

static enum parley_err sq_open(const char *target, const char *prefix, struct queue **out,
			       struct parley_error *err)
{
	struct store_queue *q = calloc(1, sizeof(*q));
	if (!q)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory opening the queue");
	q->base.drv = &queue_driver_store;
	snprintf(q->base.target, sizeof(q->base.target), "store");
	snprintf(q->base.prefix, sizeof(q->base.prefix), "%s", prefix);
	*out = &q->base;
	return PARLEY_OK;
}

static void sq_close(struct queue *q)
{
	free(q);
}

static enum parley_err sq_push(struct queue *q, const int64_t *ids, const char *const *stages,
			       const int64_t *orders, size_t n, struct parley_error *err)
{
	return PARLEY_OK; /* a pending recording in the store is queued by being there */
}

static enum parley_err sq_take(struct queue *q, struct store *st, const struct queue_take_params *p,
			       struct store_recording *recs, size_t *nrecs, struct parley_error *err)
{
	char stages[STORE_PIPELINE_MAX] = "";
	size_t used = 0;
	for (size_t i = 0; p->stages && i < p->nstages; i++) {
		int n = snprintf(stages + used, sizeof(stages) - used, "%s%s", i ? "," : "", p->stages[i]);
		if (n < 0 || (size_t)n >= sizeof(stages) - used)
			return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "stage list too long");
		used += (size_t)n;
	}
	enum parley_err rc = store_lease_many(st, p->batch_id, p->owner, p->lease_seconds, stages,
					      p->max, recs, nrecs, err);
	/* Polling: the caller sleeps between empty polls; a short nap here keeps
	 * `wait` meaningful without hammering the store. */
	if (rc == PARLEY_OK && *nrecs == 0 && p->wait > 0)
		time_sleep(p->wait < 0.2 ? p->wait : 0.2);
	return rc;
}

static enum parley_err sq_settle(struct queue *q, const char *owner, const struct store_recording *rec,
				 enum queue_outcome outcome, const char *stage, double delay,
				 struct parley_error *err)
{
	return PARLEY_OK;
}

static enum parley_err sq_heartbeat(struct queue *q, const char *owner, double ttl,
				    struct parley_error *err)
{
	return PARLEY_OK;
}

static enum parley_err sq_recover(struct queue *q, struct store *st, struct parley_error *err)
{
	return PARLEY_OK;
}

static enum parley_err sq_stats(struct queue *q, struct store *st, struct queue_stats *out,
				struct parley_error *err)
{
	memset(out, 0, sizeof(*out));
	struct store_progress pr;
	enum parley_err rc = store_progress_get(st, 0, &pr, err);
	if (rc)
		return rc;
	out->ready = pr.pending;
	out->processing = pr.running;
	return store_lease_owners(st, &out->workers, err);
}

const struct queue_driver queue_driver_store = {
	.name = "store",
	.open = sq_open,
	.close = sq_close,
	.push = sq_push,
	.take = sq_take,
	.settle = sq_settle,
	.heartbeat = sq_heartbeat,
	.recover = sq_recover,
	.stats = sq_stats,
};
