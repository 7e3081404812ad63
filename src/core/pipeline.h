/*
 * pipeline.h — advance one recording through its stages, skipping the ones
 * already done.
 *
 * For each stage in order: a stage_run marked done is skipped; otherwise it
 * is marked running (one more attempt), the stage runs, and the stage itself
 * commits its results together with its done mark (stage_commit). The first
 * failure stops the recording there and is recorded on its stage_run; the
 * stages after it stay pending, so the next attempt resumes at that stage.
 *
 * Commit coalescing (run->commit_window > 0): a quick stage's durable
 * transaction is not committed at once but left open for the next stages
 * of the same recording, so one commit (one fsync on PostgreSQL) covers
 * several stages. Before a stage runs with a transaction open, the runner
 * commits it unless the stage is known quick (its last wall time in this
 * worker, run->clock) and the held stages plus it fit in the window; after
 * a stage, it commits once the held stages' wall time passed the window.
 * It also commits before anything leaves the runner: a hand-off, a stop,
 * a failed stage (the held stages before it stay done), and at the end —
 * unless run->finish_open asks to keep the last transaction for the
 * recording's finish (run->open says it is). A commit that fails loses the
 * held stages (rolled back whole, results with their done marks), so the
 * next attempt redoes them: each stage's effect still commits once. The
 * lease is checked in each stage's own statement as before; the held
 * transaction keeps the recording's row locked (PostgreSQL) or the store's
 * write lock (SQLite), so no one can take the lease over while it is open.
 *
 * Across recordings (run->carry): the worker may hand in a transaction that
 * already holds earlier recordings' quick stages and finishes (run->held
 * seconds of them; core/worker.c keeps them open across the recordings of
 * one take). The runner treats it as held work like its own: it commits it
 * before a stage that would not fit the window, on a hand-off, a stop or a
 * failed stage, and says what became of it (run->carry_done: committed;
 * run->carry_lost: rolled back — the worker redoes or gives back those
 * recordings) — or, still open, leaves it to the caller's finish.
 */
#ifndef PARLEY_CORE_PIPELINE_H
#define PARLEY_CORE_PIPELINE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "stages/stage.h"
#include "store/store.h"
#include "util/error.h"

struct pipeline {
	const struct stage *const *stages; /* in order */
	size_t count;
};

/* The default pipeline: every row of the stage registry but the optional
 * ones (stage.h). */
struct pipeline pipeline_default(void);

/*
 * Parse "decode,vad,diarize" (names may be named pipelines: "noop", a preset
 * "call", "call,denoise") into a pipeline of
 * registry stages (order of the registry is kept; unknown names fail with
 * PARLEY_ERR_INVALID naming the stage and listing the known ones).
 * `out_stages` must hold stage_count_all rows.
 */
enum parley_err pipeline_parse(const char *list, const struct stage **out_stages,
			       struct pipeline *out, struct parley_error *err);

/* The stage list a configuration selects ("" = the default pipeline):
 * cfg->preset's stages (stage_preset_find), or the default pipeline, plus
 * denoise when cfg->denoise.enabled (--denoise), in registry order. A given stage list
 * (--stages, --pipeline) takes precedence over it. */
enum parley_err pipeline_from_config(const struct pipeline_config *cfg, char *out, size_t size,
				     struct parley_error *err);

/* Does pl hold the stage called name? */
bool pipeline_has(const struct pipeline *pl, const char *name);

/* What a worker learned of its stages' wall times (the last run of each),
 * for the coalescing decision; zeroed = nothing known. */
#define PIPELINE_CLOCK_MAX 64
struct pipeline_clock {
	const struct stage *stage[PIPELINE_CLOCK_MAX];
	double wall[PIPELINE_CLOCK_MAX];
	size_t n;
};

struct pipeline_run {
	struct store *store;
	struct stage_env *env;
	const struct pipeline_config *cfg; /* the recording's batch configuration */
	const char *data_dir;         /* recordings live in data_dir/recordings/<id>/ */
	volatile sig_atomic_t *stop;  /* checked between stages */
	const char *owner;            /* lease holder, checked at every commit (NULL: none) */
	double lease_seconds;
	const struct pipeline *allowed; /* stages this worker runs (NULL = all) */
	/* called before a stage starts (events); may be NULL */
	void (*on_stage_start)(void *ud, const struct store_recording *rec, const char *stage);
	void *ud;
	double commit_window;         /* seconds of quick stages per commit (0: each alone) */
	struct pipeline_clock *clock; /* the worker's stage times; NULL: no coalescing */
	/* Keep the transaction of the recording's last stage open (also with
	 * commit_window 0): the caller writes the finish into it and commits. */
	bool finish_open;
	bool open;                    /* out: that transaction is open (PARLEY_OK only) */
	bool carry;                   /* in: a transaction holding earlier recordings' work is open */
	double held;                  /* in (carry): its seconds of stage work; out (open): the same
				       * with this recording's held stages */
	bool carry_done, carry_lost;  /* out: the carried transaction was committed / rolled back */
	const char *failed_stage;     /* out: the stage that failed, or NULL */
	const char *handoff_stage;    /* out: the next stage, which this worker does not run */
};

/* Run every not-done stage of rec that `allowed` holds, in pl's order. Stops
 * with PARLEY_OK and handoff_stage set at the first not-done stage the worker
 * does not run. PARLEY_ERR_ABORTED when *stop was set between stages
 * (finished stages stay done). */
enum parley_err pipeline_advance(struct pipeline_run *run, const struct pipeline *pl,
				 const struct store_recording *rec, struct parley_error *err);

/* A failure sentence of rec as it is stored and answered (recordings.error,
 * stage errors, events, webhooks, the API and the dashboard): the server's
 * paths taken out (util/scrub.h: the data directory, the upload's own path
 * becomes rec->name, a chunk "chunk N"; for a recording under data_dir
 * every absolute path becomes its last part) and a failure of the server
 * itself (store, memory, a bug) one sentence naming the stage. The full
 * message belongs in the worker's log. `parley run`'s files, outside
 * data_dir, keep the paths their user gave. */
void pipeline_public_error(const char *data_dir, const struct store_recording *rec,
			   const char *stage, enum parley_err code, const char *msg, char *out,
			   size_t size);

/* The data directory of a recording: data_dir/recordings/<id> (created). */
enum parley_err pipeline_recording_dir(const char *data_dir, int64_t rec_id, char *out,
				       size_t size, struct parley_error *err);

#endif
