/* stage.c — helpers shared by all stages; see stage.h. */
#include "stages/stage.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "audio/pcm.h"
#include "audio/wav.h"
#include "stages/stage_commit.h"
#include "util/fs.h"
#include "util/timeutil.h"

enum parley_err stage_commit(struct stage_ctx *ctx, stage_save_fn save, void *data,
			     struct parley_error *err)
{
	struct stage_commit none = {.owner = NULL};
	struct stage_commit *c = ctx->commit ? ctx->commit : &none;
	/* a transaction left open by earlier quick stages (c->hold) takes this
	 * stage's writes too; it was begun durable */
	enum parley_err rc = c->open ? PARLEY_OK : store_begin_durable(ctx->store, err);
	if (rc)
		return rc;
	c->open = false;
	double cpu = ctx->commit ? time_thread_cpu() - c->cpu_start : 0;
	double wall = ctx->commit ? time_mono() - c->wall_start : 0;
	/* first: checks and renews the lease, moves the next stage on and marks
	 * the stage done (store_stage_advance: one statement on PostgreSQL); a
	 * lease lost to another worker writes nothing and refuses the commit */
	if (c->owner && (rc = store_stage_advance(ctx->store, ctx->rec->id, ctx->stage_name, c->owner,
						  c->lease_seconds, c->next_stage, cpu, wall, err)))
		goto fail;
	if (!c->owner && c->next_stage &&
	    (rc = store_recording_set_next_stage(ctx->store, ctx->rec->id, c->next_stage, err)))
		goto fail;
	if (save && (rc = save(ctx->store, ctx->rec->id, data, err)))
		goto fail;
	if (!c->owner && (rc = store_stage_done(ctx->store, ctx->rec->id, ctx->stage_name, cpu, wall, err)))
		goto fail;
	if (c->hold) { /* the runner commits it (core/pipeline.c) */
		c->open = c->committed = true;
		return PARLEY_OK;
	}
	if ((rc = store_commit(ctx->store, err)))
		return rc;
	c->committed = true;
	return PARLEY_OK;
fail:
	/* held stages of the same transaction are lost too: redone later */
	store_rollback(ctx->store);
	return rc;
}

enum parley_err stage_path(const struct stage_ctx *ctx, const char *file, char *out,
			   struct parley_error *err)
{
	return fs_path_join(out, STAGE_PATH_MAX, ctx->rec_dir, file, err);
}

bool stage_in_pipeline(const struct stage_ctx *ctx, const char *name)
{
	for (size_t i = 0; ctx->pipeline && i < ctx->pipeline_count; i++)
		if (strcmp(ctx->pipeline[i]->name, name) == 0)
			return true;
	return false;
}

static enum parley_err load_wav(const struct stage_ctx *ctx, const char *file, struct pcm *pcm,
				struct parley_error *err)
{
	char path[STAGE_PATH_MAX];
	enum parley_err rc = stage_path(ctx, file, path, err);
	if (rc)
		return rc;
	return wav_read(path, pcm, err);
}

enum parley_err stage_load_audio(const struct stage_ctx *ctx, struct pcm *pcm,
				 struct parley_error *err)
{
	bool denoised = stage_in_pipeline(ctx, "denoise");
	return load_wav(ctx, denoised ? STAGE_DENOISED_FILE : STAGE_AUDIO_FILE, pcm, err);
}

enum parley_err stage_load_audio_original(const struct stage_ctx *ctx, struct pcm *pcm,
					  struct parley_error *err)
{
	return load_wav(ctx, STAGE_AUDIO_FILE, pcm, err);
}

int stage_channel_count(const struct stage_ctx *ctx)
{
	int n = 0;
	for (; n < STAGE_CHANNELS_MAX; n++) {
		char file[32], path[STAGE_PATH_MAX];
		struct stat st;
		snprintf(file, sizeof(file), STAGE_CHANNEL_FILE_FMT, n);
		if (stage_path(ctx, file, path, NULL) || stat(path, &st) != 0)
			break;
	}
	return n >= 2 ? n : 0;
}

static enum parley_err load_channel(const struct stage_ctx *ctx, int ch, bool denoised,
				    struct pcm *pcm, struct parley_error *err)
{
	char file[48];
	if (ch < 0 || ch >= STAGE_CHANNELS_MAX)
		return parley_error_set(err, PARLEY_ERR_INVALID, "channel %d is outside 0..%d", ch,
					STAGE_CHANNELS_MAX - 1);
	snprintf(file, sizeof(file), denoised ? STAGE_CHANNEL_DENOISED_FMT : STAGE_CHANNEL_FILE_FMT,
		 ch);
	return load_wav(ctx, file, pcm, err);
}

enum parley_err stage_load_channel(const struct stage_ctx *ctx, int ch, struct pcm *pcm,
				   struct parley_error *err)
{
	return load_channel(ctx, ch, stage_in_pipeline(ctx, "denoise"), pcm, err);
}

enum parley_err stage_load_channel_original(const struct stage_ctx *ctx, int ch, struct pcm *pcm,
					    struct parley_error *err)
{
	return load_channel(ctx, ch, false, pcm, err);
}

const struct stage *stage_find(const char *name)
{
	for (size_t i = 0; i < stage_count_all; i++)
		if (strcmp(stage_at(i)->name, name) == 0)
			return stage_at(i);
	return NULL;
}

bool stage_reads(const struct stage *s, const char *section)
{
	size_t n = strlen(section);
	for (const char *p = s->options; p && *p;) {
		size_t len = strcspn(p, " ");
		if (len == n && strncmp(p, section, n) == 0)
			return true;
		p += len;
		while (*p == ' ')
			p++;
	}
	return false;
}

size_t stage_result_tables(const char **out, size_t max)
{
	size_t n = 0;
	if (max == 0)
		return 0;
	for (size_t i = 0; i < stage_count_all; i++) {
		const char *const *t = stage_at(i)->result_tables;
		for (size_t k = 0; t && t[k]; k++) {
			size_t j = 0;
			while (j < n && strcmp(out[j], t[k]) != 0)
				j++;
			if (j == n && n + 1 < max)
				out[n++] = t[k];
		}
	}
	out[n] = NULL;
	return n;
}
