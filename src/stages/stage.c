/* stage.c — helpers shared by all stages; see stage.h. */
#include "stages/stage.h"

#include <stdio.h>
#include <string.h>

#include "audio/pcm.h"
#include "audio/wav.h"
#include "util/fs.h"
#include "util/timeutil.h"

enum parley_err stage_commit(struct stage_ctx *ctx, stage_save_fn save, void *data,
			     struct parley_error *err)
{
	enum parley_err rc = store_begin_durable(ctx->store, err);
	if (rc)
		return rc;
	/* first: checks and renews the lease, and moves the next stage on */
	if (ctx->owner && (rc = store_lease_advance(ctx->store, ctx->rec->id, ctx->owner,
						    ctx->lease_seconds, ctx->next_stage, err)))
		goto fail;
	if (!ctx->owner && ctx->next_stage &&
	    (rc = store_recording_set_next_stage(ctx->store, ctx->rec->id, ctx->next_stage, err)))
		goto fail;
	if (save && (rc = save(ctx->store, ctx->rec->id, data, err)))
		goto fail;
	if ((rc = store_stage_done(ctx->store, ctx->rec->id, ctx->stage_name,
				   time_thread_cpu() - ctx->cpu_start, time_mono() - ctx->wall_start, err)))
		goto fail;
	if ((rc = store_commit(ctx->store, err)))
		return rc;
	ctx->committed = true;
	return PARLEY_OK;
fail:
	store_rollback(ctx->store);
	return rc;
}

enum parley_err stage_path(const struct stage_ctx *ctx, const char *file, char *out,
			   struct parley_error *err)
{
	return fs_path_join(out, STAGE_PATH_MAX, ctx->rec_dir, file, err);
}

enum parley_err stage_load_audio(const struct stage_ctx *ctx, struct pcm *pcm,
				 struct parley_error *err)
{
	char path[STAGE_PATH_MAX];
	enum parley_err rc = stage_path(ctx, STAGE_AUDIO_FILE, path, err);
	if (rc)
		return rc;
	return wav_read(path, pcm, err);
}

const struct stage *stage_find(const char *name)
{
	for (size_t i = 0; i < stage_count_all; i++)
		if (strcmp(stage_table[i]->name, name) == 0)
			return stage_table[i];
	return NULL;
}
