/*
 * pipeline.h — advance one recording through its stages, skipping the ones
 * already done.
 *
 * For each stage in order: a stage_run marked done is skipped; otherwise it
 * is marked running (one more attempt), the stage runs, and the stage itself
 * commits its results together with its done mark (stage_commit). The first
 * failure stops the recording there and is recorded on its stage_run; the
 * stages after it stay pending, so the next attempt resumes at that stage.
 */
#ifndef PARLEY_CORE_PIPELINE_H
#define PARLEY_CORE_PIPELINE_H

#include <signal.h>
#include <stddef.h>

#include "stages/stage.h"
#include "store/store.h"
#include "util/error.h"

struct pipeline {
	const struct stage *const *stages; /* in order */
	size_t count;
};

/* The full default pipeline: every row of the stage registry. */
struct pipeline pipeline_default(void);

/*
 * Parse "decode,vad,diarize" into a pipeline of registry stages (order of the
 * registry is kept; unknown names fail with PARLEY_ERR_INVALID naming the
 * stage and listing the known ones). `out_stages` must hold stage_count rows.
 */
enum parley_err pipeline_parse(const char *list, const struct stage **out_stages,
			       struct pipeline *out, struct parley_error *err);

struct pipeline_run {
	struct store *store;
	struct stage_env *env;
	const struct stage_config *cfg;
	const char *data_dir;         /* recordings live in data_dir/recordings/<id>/ */
	volatile sig_atomic_t *stop;  /* checked between stages */
	const char *failed_stage;     /* out: the stage that failed, or NULL */
};

/* Run every not-done stage of rec. PARLEY_ERR_ABORTED when *stop was set
 * between stages (finished stages stay done). */
enum parley_err pipeline_advance(struct pipeline_run *run, const struct pipeline *pl,
				 const struct store_recording *rec, struct parley_error *err);

/* The data directory of a recording: data_dir/recordings/<id> (created). */
enum parley_err pipeline_recording_dir(const char *data_dir, int64_t rec_id, char *out,
				       size_t size, struct parley_error *err);

#endif
