/*
 * stage.h — the contract of a pipeline stage.
 *
 * A stage is one step of a recording's pipeline (decode, vad, diarize, stt,
 * words, samples). It reads the artifacts of earlier stages (the decoded
 * audio in the recording's data directory, rows in the store), computes its
 * results, and then calls stage_commit(): one transaction that replaces the
 * stage's old results and marks the stage done. A stage knows nothing of
 * queues, leases or HTTP.
 *
 * Adding a stage: write src/stages/<name>.c defining
 *     const struct stage stage_<name> = {"<name>", "what it does", <name>_run};
 * and add one row to the table in src/stages/registry.c.
 */
#ifndef PARLEY_STAGES_STAGE_H
#define PARLEY_STAGES_STAGE_H

#include <signal.h>
#include <stdbool.h>

#include "stages/pipeline_config.h"
#include "store/store.h"
#include "util/error.h"

#define STAGE_PATH_MAX 4096

struct stage_env; /* per-worker engines, built lazily: see stages/env.h */

struct stage_ctx {
	struct store *store;
	const struct store_recording *rec;
	char rec_dir[STAGE_PATH_MAX]; /* the recording's data directory (exists) */
	const struct pipeline_config *cfg; /* the batch's configuration (stages/pipeline_config.h) */
	struct stage_env *env;
	volatile sig_atomic_t *stop; /* non-zero: stop as soon as possible */
	const char *stage_name;      /* set by the pipeline */
	const char *next_stage;      /* the stage after this one in the batch's pipeline ("" = last) */
	const char *owner;           /* the lease holder ("host:pid"); NULL = no lease check */
	double lease_seconds;        /* the commit renews the lease for this long */
	double cpu_start, wall_start; /* set by the pipeline, for stage_runs */
	bool committed;               /* set by stage_commit when it committed */
};

struct stage {
	const char *name;
	const char *description;
	enum parley_err (*run)(struct stage_ctx *ctx, struct parley_error *err);
};

/* Save results and mark the stage done in one transaction. save() writes the
 * results with store_*_put (which replace old rows). The same transaction
 * first checks that ctx->owner still holds the recording's lease (renewing
 * it) — a worker whose lease was taken over commits nothing (PARLEY_ERR_BUSY),
 * so a stage's effect is recorded once even when two workers ran it — and
 * last moves the recording's next stage on. */
typedef enum parley_err (*stage_save_fn)(struct store *st, int64_t rec_id, void *data,
					 struct parley_error *err);
enum parley_err stage_commit(struct stage_ctx *ctx, stage_save_fn save, void *data,
			     struct parley_error *err);

/* Path of a file in the recording's data directory, into out[STAGE_PATH_MAX]. */
enum parley_err stage_path(const struct stage_ctx *ctx, const char *file, char *out,
			   struct parley_error *err);

/* Load the decoded 16 kHz mono audio written by the decode stage. */
struct pcm;
enum parley_err stage_load_audio(const struct stage_ctx *ctx, struct pcm *pcm,
				 struct parley_error *err);

#define STAGE_AUDIO_FILE "audio.wav"

/* The registry (src/stages/registry.c): every stage in pipeline order, then
 * the test stages (tick1..tick6, src/stages/tick.c), which are never part of
 * the default pipeline. */
extern const struct stage *const stage_table[];
extern const size_t stage_count;      /* the real stages: the default pipeline */
extern const size_t stage_count_all;  /* real + test stages */
/* Any stage by name, test stages included; NULL when unknown. */
const struct stage *stage_find(const char *name);
/* Named pipelines: "noop" = the six test stages. NULL when unknown. */
const char *stage_pipeline_alias(const char *name);

#endif
