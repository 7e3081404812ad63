/*
 * worker.h — a worker: take a recording from the queue (leased in the
 * store), advance it through its batch's pipeline, settle it, repeat.
 *
 *   struct worker_params p = worker_default_params();
 *   p.config = cfg;   // store, queue, lease, attempts, backoff, logging (core/config.h)
 *   snprintf(p.data_dir, ...); p.batch_id = id;
 *   worker_run(&p, &stats, &err);   // returns when no work is left (exit_when_idle)
 *
 * Durability: the lease on the recording is renewed by a heartbeat thread
 * (its own store and queue connections) every lease_seconds/3 while stages
 * run, and every stage commit checks it (stage_commit). A worker that dies
 * leaves a lease that expires (or, on the same host, is reclaimed as soon as
 * its pid is gone); the next worker resumes at the first stage not done.
 * The worker's liveness in the queue (Redis: what hands a silent worker's
 * recordings to the others) lasts two leases, renewed with the lease: so a
 * worker cut off from the network has its store leases expired before its
 * queue entries come back, and the worker taking one can lease it (taken
 * before, the entry would be dropped as "leased by a live worker", and the
 * recording found again only when the queue runs dry).
 *
 * Commits (config commit_window, core/pipeline.h): a recording's quick
 * stages share one durable transaction, committed when their stage work
 * passes the window, before a slow stage, a hand-off, a stop or a failure;
 * the recording's finish and its webhook events go into the transaction of
 * its last stages. A worker that dies loses the stages held in it (they are
 * redone, their effects committed once); on PostgreSQL the held transaction
 * ends with the lease at the latest (store_hold_limit).
 *
 * Failures: a permanent error (bad audio, invalid input) fails the recording
 * at once; a transient one (engine, I/O, crash) is retried after
 * backoff_base * 2^(attempt-1) seconds (±20% jitter) until max_attempts, then
 * the recording fails (the dead-letter list: `parley failed`). A store or
 * queue that cannot be reached (PARLEY_ERR_UNAVAILABLE) is not the
 * recording's fault: the worker gives the recording back, costs it no
 * attempt, and waits with backoff (0.5 s doubling to 10 s) until the server
 * answers again; it never exits for it. One recording's failure never stops
 * the worker.
 *
 * Configuration: each recording runs with its batch's pipeline
 * configuration (batches.config, core/batch_config.h), read once per batch
 * and cached; the engines (stages/env.h) are rebuilt when the worker moves
 * to a batch whose configuration differs.
 *
 * Take-ahead (issue 17, queue speed): one take leases as many recordings as
 * fit in 50 ms of the recent time per recording (moving average; at most
 * QUEUE_TAKE_MAX = 16, and 1 until a recording was timed or when a
 * recording takes over 25 ms: a take's round trip is then a small share), in one round trip (store: one statement; Redis: one script
 * call and one store statement), with their done stages, so per recording
 * there is neither a take nor a stage_runs read of its own. They run in
 * hand-out order. Every recording taken counts its attempt in the take's
 * own statement (store_lease_many / _ids), so one taken ahead that kills its
 * worker is counted like any other and ends in the dead letters after
 * max_attempts instead of looping; one not started is given back with its
 * attempt returned (store_lease_unhold, and ready again in the queue) when
 * the worker stops or leaves, or when it has waited a third of the lease
 * (its lease is not renewed until it starts). A worker killed while holding
 * some leaves leases that expire like any other, and those it held one
 * attempt more; so a recording tried before (attempts > 1 when taken: a
 * retry, or held by a worker that died) runs alone — a take keeps what
 * comes before it, or only it, and gives the rest back — and a crash costs
 * the recordings held beside the culprit one attempt once, not every time. What a worker holds may run
 * before a session that ended meanwhile: a session waits at most one
 * take-ahead (50 ms of work) per worker.
 *
 * Commits across the recordings of one take (PostgreSQL, commit_window >
 * 0): a recording's finish, written into the transaction of its last
 * stages, is not committed at once while another recording of the same
 * take comes next and the work held stays within the window: that next
 * recording's quick stages (core/pipeline.h, run->carry) and finish go into
 * the same transaction, so one fsync covers several recordings. It commits
 * before any stage that would not fit the window, on a hand-off, a stop, a
 * failed stage (the work before it stays done), before the next take,
 * before giving up or giving back a recording, and when the take is used
 * up. Only then are those recordings settled in the queue, counted and
 * logged. A worker killed (or a server restarted) with such a transaction
 * open loses the held recordings' uncommitted stages and finishes, which are
 * redone (after their leases expire); a commit that fails gives them back at
 * once. Every effect still commits exactly once, with its done mark; each
 * stage's lease check is the same statement as before, and the open
 * transaction keeps the rows it wrote locked. SQLite commits each
 * recording as before (its commit costs no fsync: nothing to share).
 * Per take, too: the finished recordings are added to their batch's count
 * in one statement per batch (before the next take; progress and
 * stage_complete events follow from it), and a batch found without
 * webhooks is not asked again until the next take (a webhook added to a
 * running batch sees the finishes from the next take on).
 *
 * Execution log (events): stage_start / stage_complete once per batch and
 * stage, file_error for every failure, progress every progress_every
 * finished recordings, file_start and file_complete only when asked.
 */
#ifndef PARLEY_CORE_WORKER_H
#define PARLEY_CORE_WORKER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/pipeline.h"
#include "stages/stage.h"
#include "util/error.h"

struct worker_params {
	/* The process settings (file < env < flags): store, queue, queue_prefix,
	 * lease_seconds (60), max_attempts (3), backoff_base (5 s: retries after
	 * 5, 10, 20 s), progress_every (100), log_file_start/complete. */
	struct parley_config config;
	char data_dir[STAGE_PATH_MAX]; /* config.data, or the one next to a SQLite store */
	int64_t batch_id;       /* 0 = any batch */
	char owner[128];        /* "host:pid"; filled by worker_default_params() */
	bool exit_when_idle;    /* true: return when nothing is left to do */
	double idle_poll;       /* seconds between polls when idle (0.2) */
	/* The pipeline used for a batch that names none (parley run's --stages). */
	struct pipeline pipeline;
	/* The stages this worker runs (--stages); count 0 = every stage. */
	struct pipeline allowed;
	volatile sig_atomic_t *stop; /* set by a signal handler: finish the stage, release, return */
};
struct worker_params worker_default_params(void);

struct worker_stats {
	int done, failed, retried, handed_off;
};

/* Fill out with "host" (the node name) into out[size]. */
void worker_host(char *out, size_t size);

/* Test hook (tests/support/parley_test.c, PARLEY_TEST_TAKE): every take
 * leases n recordings at most (1..QUEUE_TAKE_MAX), whatever the time per
 * recording; 0 = measured (the default). Set before any worker starts. */
void worker_test_take_size(size_t n);

enum parley_err worker_run(const struct worker_params *p, struct worker_stats *stats,
			   struct parley_error *err);

#endif
