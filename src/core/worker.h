/*
 * worker.h — a worker: lease a recording, advance it through the pipeline,
 * finish or reschedule it, repeat.
 *
 *   struct worker_params p = worker_default_params();
 *   snprintf(p.store_path, ...); snprintf(p.data_dir, ...); p.batch_id = id;
 *   worker_run(&p, &stats, &err);   // returns when no work is left (exit_when_idle)
 *
 * Durability: the lease on the recording is renewed by a heartbeat thread
 * (its own store connection) every lease_seconds/3 while stages run. A worker
 * that dies leaves a lease that expires (or, on the same host, is reclaimed
 * as soon as its pid is gone); the next worker resumes at the first stage not
 * done. Failures: a permanent error (bad audio, invalid input) fails the
 * recording at once; a transient one (store, engine, I/O) is retried after
 * backoff_base * 2^(attempt-1) seconds (±20% jitter) until max_attempts, then
 * the recording fails. One recording's failure never stops the worker.
 */
#ifndef PARLEY_CORE_WORKER_H
#define PARLEY_CORE_WORKER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/pipeline.h"
#include "stages/stage.h"
#include "util/error.h"

struct worker_params {
	char store_path[STAGE_PATH_MAX];
	char data_dir[STAGE_PATH_MAX];
	int64_t batch_id;       /* 0 = any batch */
	char owner[128];        /* "host:pid"; filled by worker_default_params() */
	double lease_seconds;   /* 60 */
	int max_attempts;       /* 3 */
	double backoff_base;    /* 5 s: retries after 5, 10, 20 s */
	bool exit_when_idle;    /* true: return when nothing is leasable */
	double idle_poll;       /* seconds between polls when idle (0.2) */
	struct pipeline pipeline;
	struct stage_config cfg;
	volatile sig_atomic_t *stop; /* set by a signal handler: finish the stage, release, return */
};
struct worker_params worker_default_params(void);

struct worker_stats {
	int done, failed, retried;
};

/* Fill out with "host" (the node name) into out[size]. */
void worker_host(char *out, size_t size);

enum parley_err worker_run(const struct worker_params *p, struct worker_stats *stats,
			   struct parley_error *err);

#endif
