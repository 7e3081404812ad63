/*
 * queue.h — which recording a worker takes next, and how a worker gives it
 * back. Two drivers behind one table:
 *
 *   store  (src/queue/queue_store.c)  the store itself: lease the first
 *          pending recording in hand-out order whose next stage the worker
 *          runs (SQLite; on PostgreSQL with FOR UPDATE SKIP LOCKED).
 *   redis  (src/queue/queue_redis.c)  Redis through hiredis: a sorted set of
 *          ready entries per stage, moved atomically into a per-worker
 *          processing list, a delayed sorted set for backoff, worker
 *          liveness keys; many machines.
 *
 * Order: both hand out work in the store's order (store.h "Priorities and
 * fair share"): higher priority first (sessions before bulk batches by
 * default), then round-robin between batches of one priority.
 *
 *   struct queue *q;
 *   queue_open("redis://127.0.0.1:6379", "parley:", &q, &err);
 *   queue_take(q, st, &take, &rec, &found, &err);    // rec is leased in the store
 *   ... advance rec ...
 *   queue_settle(q, st, take.owner, &rec, QUEUE_DONE, NULL, 0, &err);
 *
 * The store stays the source of truth in every case: a recording is leased
 * in the store (owner, expiry) whatever the queue, and a worker only works on
 * what it leased there. A Redis entry is a hint that names a recording; an
 * entry for a recording that is done, or leased by a live worker, is dropped.
 * A task is never only in a worker's memory: it sits in the worker's
 * processing list until settled, and queue_recover() moves the lists of dead
 * workers back, promotes due retries, and re-pushes every recording the store
 * says is leasable but the queue has lost (a Redis restart without
 * persistence, a crash between the store commit and the push).
 *
 * Entries are "<recording id>:<next stage>:<order>". Keys (prefix "parley:";
 * queue_redis.c has the whole list and how older layouts are moved):
 *   parley:ready:<stage>       zset   recordings whose next stage is <stage>,
 *                                     score = their place in the hand-out order
 *   parley:processing:<owner>  list   what that worker holds
 *   parley:delayed             zset   retries, score = due time (unix s)
 *   parley:worker:<owner>      string liveness, expires after the lease time
 * On Redis a settle is sent with the worker's next take (one round trip per
 * stage advance: ack, take next, liveness); stats, heartbeat and close send
 * it first when no take came. A lost connection to Redis returns
 * PARLEY_ERR_UNAVAILABLE; the next call reconnects.
 */
#ifndef PARLEY_QUEUE_QUEUE_H
#define PARLEY_QUEUE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/error.h"

#define QUEUE_PREFIX_MAX 64
#define QUEUE_STAGES_MAX 32
/* The most recordings one take leases (take-ahead; see queue_take_many). */
#define QUEUE_TAKE_MAX STORE_LEASE_MANY_MAX

struct queue;

/* What a worker asks for. */
struct queue_take_params {
	const char *owner;       /* "host:pid" */
	double lease_seconds;    /* lease taken in the store */
	int64_t batch_id;        /* 0 = any batch (the redis queue requires 0) */
	const char *const *stages; /* stages this worker runs, NULL = every stage */
	size_t nstages;
	double wait;             /* seconds to block when nothing is ready (0 = poll) */
	size_t max;              /* queue_take_many: lease up to this many (0 = 1; at most
				  * QUEUE_TAKE_MAX) */
};

enum queue_outcome {
	QUEUE_DONE,     /* finished or failed for good: forget it */
	QUEUE_RETRY,    /* transient failure: ready again after `delay` seconds */
	QUEUE_RELEASE,  /* given back untouched (graceful stop): ready at once */
	QUEUE_HANDOFF,  /* its next stage is not ours: ready for a worker that runs `stage` */
};

struct queue_stats {
	long ready;      /* entries waiting (all stages) */
	long delayed;    /* retries waiting for their time */
	long processing; /* entries held by workers */
	int workers;     /* live workers (redis: liveness keys; store: distinct lease owners) */
};

struct queue_driver {
	const char *name;
	enum parley_err (*open)(const char *target, const char *prefix, struct queue **out,
				struct parley_error *err);
	void (*close)(struct queue *q);
	/* New or requeued recordings, each with its next stage and its place in
	 * the hand-out order (store_order_key; orders NULL = all 0). */
	enum parley_err (*push)(struct queue *q, const int64_t *ids, const char *const *stages,
				const int64_t *orders, size_t n, struct parley_error *err);
	/* Lease the next recordings in the store, up to p->max (0 = 1), in
	 * hand-out order: recs[0..*n), *n = 0 when none is ready. Only recs[0]
	 * counts an attempt (store.h, store_lease_many). */
	enum parley_err (*take)(struct queue *q, struct store *st, const struct queue_take_params *p,
				struct store_recording *recs, size_t *n, struct parley_error *err);
	/* After the store was updated (finished, retry_later, released, handed off). */
	enum parley_err (*settle)(struct queue *q, const char *owner, const struct store_recording *rec,
				  enum queue_outcome outcome, const char *stage, double delay,
				  struct parley_error *err);
	/* "I am alive" for ttl seconds (store: nothing; leases carry it). */
	enum parley_err (*heartbeat)(struct queue *q, const char *owner, double ttl,
				     struct parley_error *err);
	/* Repair: dead workers' entries back, due retries ready, lost tasks re-pushed
	 * from the store. Cheap to call every few seconds from any worker. */
	enum parley_err (*recover)(struct queue *q, struct store *st, struct parley_error *err);
	enum parley_err (*stats)(struct queue *q, struct store *st, struct queue_stats *out,
				 struct parley_error *err);
};

struct queue {
	const struct queue_driver *drv;
	char target[256];              /* for messages (password removed) */
	char prefix[QUEUE_PREFIX_MAX]; /* key prefix, "parley:" */
	unsigned long round_trips;     /* redis: each wait for the server's answer (one
					* command, script call or pipeline); store: 0 */
};

extern const struct queue_driver queue_driver_store;
extern const struct queue_driver queue_driver_redis;

/* "store" (or "" / NULL) → the store queue; "redis://HOST[:PORT][/DB]" → Redis. */
enum parley_err queue_open(const char *target, const char *prefix, struct queue **out,
			   struct parley_error *err);
void queue_close(struct queue *q); /* accepts NULL */

/* Push every recording the store says is leasable now (after submit, retry
 * or a lost queue); a no-op for the store queue. Duplicates are harmless. */
enum parley_err queue_push_leasable(struct queue *q, struct store *st, struct parley_error *err);
/* Push one recording (a session just ended) if it is leasable; a no-op for
 * the store queue. */
enum parley_err queue_push_recording(struct queue *q, struct store *st, int64_t rec_id,
				     struct parley_error *err);

static inline enum parley_err queue_push(struct queue *q, const int64_t *ids,
					 const char *const *stages, const int64_t *orders, size_t n,
					 struct parley_error *err)
{ return q->drv->push(q, ids, stages, orders, n, err); }
/* One recording (p->max ignored); *found false when none is ready. */
static inline enum parley_err queue_take(struct queue *q, struct store *st,
					 const struct queue_take_params *p, struct store_recording *rec,
					 bool *found, struct parley_error *err)
{
	struct queue_take_params one = *p;
	size_t n = 0;
	one.max = 1;
	enum parley_err rc = q->drv->take(q, st, &one, rec, &n, err);
	*found = rc == PARLEY_OK && n > 0;
	return rc;
}
/* Take-ahead (issue 17, queue speed): lease up to p->max recordings in one
 * round trip (Redis: one script call and one store statement), recs[0..*n)
 * in hand-out order. The caller runs them in that order, soon (their
 * leases are not renewed until it starts them); each counted an attempt when
 * leased, and the caller gives back what it will not start
 * (store_lease_unhold, which returns the attempt, then queue_settle
 * QUEUE_RELEASE). */
static inline enum parley_err queue_take_many(struct queue *q, struct store *st,
					      const struct queue_take_params *p,
					      struct store_recording *recs, size_t *n,
					      struct parley_error *err)
{ return q->drv->take(q, st, p, recs, n, err); }
static inline enum parley_err queue_settle(struct queue *q, const char *owner,
					   const struct store_recording *rec, enum queue_outcome o,
					   const char *stage, double delay, struct parley_error *err)
{ return q->drv->settle(q, owner, rec, o, stage, delay, err); }
static inline enum parley_err queue_heartbeat(struct queue *q, const char *owner, double ttl,
					      struct parley_error *err)
{ return q->drv->heartbeat(q, owner, ttl, err); }
static inline enum parley_err queue_recover(struct queue *q, struct store *st, struct parley_error *err)
{ return q->drv->recover(q, st, err); }
static inline enum parley_err queue_stats_get(struct queue *q, struct store *st,
					      struct queue_stats *out, struct parley_error *err)
{ return q->drv->stats(q, st, out, err); }

#endif
