/*
 * work_pool.h — a fixed set of worker threads taking jobs from a bounded
 * queue. For work that must not run on a caller's thread (the decode checks
 * of `parley serve` uploads: a decode bomb holds one worker, never the HTTP
 * threads), with a bound on how much of it may wait.
 *
 *   struct work_pool_params p = work_pool_default_params();  // 2 workers, 8 waiting
 *   struct work_pool *wp;
 *   if (work_pool_new(&p, &wp, &err)) fail(err.msg);
 *   if (!work_pool_submit(wp, run, ud)) answer_busy();   // queue full (or stopping)
 *   ...
 *   work_pool_free(wp);   // runs what is queued, then joins the workers
 *
 * run(ud, waited) is called once on a worker thread for every accepted job;
 * waited is the seconds the job spent in the queue (a caller may give up on
 * a job that waited too long). Jobs start in submission order. Thread-safe.
 */
#ifndef PARLEY_UTIL_WORK_POOL_H
#define PARLEY_UTIL_WORK_POOL_H

#include <stdbool.h>

#include "util/error.h"

#define WORK_POOL_WORKERS_MAX 64
#define WORK_POOL_QUEUE_MAX 4096

struct work_pool_params {
	int workers; /* threads (2), 1..WORK_POOL_WORKERS_MAX */
	int queue;   /* jobs waiting for a worker at most (8), 0..WORK_POOL_QUEUE_MAX */
};
struct work_pool_params work_pool_default_params(void);

struct work_pool;

/* INVALID for counts out of range, NOMEM when a thread cannot start. */
enum parley_err work_pool_new(const struct work_pool_params *p, struct work_pool **out,
			      struct parley_error *err);
/* Queue a job: false (nothing queued) when every worker is busy and the
 * queue holds p->queue jobs already, or the pool is being freed. */
bool work_pool_submit(struct work_pool *wp, void (*run)(void *ud, double waited), void *ud);
/* Jobs running or waiting now. */
int work_pool_pending(struct work_pool *wp);
/* Stop taking jobs, run the ones queued, join the workers. Accepts NULL. */
void work_pool_free(struct work_pool *wp);

#endif
