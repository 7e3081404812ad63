/*
 * supervisor.h — run N worker processes over the store and wait for them.
 *
 *   struct supervisor_params sp = supervisor_default_params();
 *   sp.worker = &wp; sp.jobs = 4; sp.store = st; sp.batch_id = batch;
 *   bool interrupted = supervisor_run(&sp);
 *
 * Each worker is a forked child running worker_run() with its own store
 * connection (owner "host:pid"); it dies with the parent (PR_SET_PDEATHSIG).
 * SIGINT/SIGTERM are caught and forwarded to the workers as SIGTERM: each
 * finishes its stage, gives its recording back and exits. A worker that
 * crashes has its lease reclaimed at once and is restarted (at most 4 x jobs
 * restarts in all). Returns when every worker has exited — with
 * worker->exit_when_idle when no work is left, otherwise on a signal.
 * Not thread-safe: call from the main thread of a process.
 */
#ifndef PARLEY_CORE_SUPERVISOR_H
#define PARLEY_CORE_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/worker.h"
#include "store/store.h"

struct supervisor_params {
	const struct worker_params *worker; /* copied into every child */
	int jobs;                           /* worker processes, >= 1 */
	struct store *store;                /* the parent's connection: reclaim, progress */
	int64_t batch_id;                   /* batch whose progress is reported (0 = none) */
	/* Called about every 0.2 s and once at the end with the batch's progress. */
	void (*on_progress)(const struct store_progress *p, void *user_data);
	void *user_data;
};
struct supervisor_params supervisor_default_params(void);

/* Run the workers to the end. Returns true when stopped by SIGINT/SIGTERM. */
bool supervisor_run(const struct supervisor_params *p);

#endif
