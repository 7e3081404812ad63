/*
 * decode.c — stage "decode": any container/codec → 16 kHz mono, written as
 * the recording's audio.wav (atomically). Bad input fails the recording with
 * the decoder's sentence (file name, what was wrong, FFmpeg's reason).
 * A source with two or more channels (a stereo call: agent and customer
 * apart) also gets each channel alone as audio.ch0.wav, audio.ch1.wav, …
 * (at most STAGE_CHANNELS_MAX); channel files of an earlier decode beyond
 * the new count are removed, so stage_channel_count() is always the current
 * source's.
 * A source ending in ".chunks" is a chunk manifest (audio/manifest.h, a live
 * session's uploads): every chunk is decoded and the audio concatenated (the
 * mix only); a chunk that fails fails the recording with a message naming it.
 * A file that decodes but holds less than its header promises (a WAV cut in
 * half) is processed as usual; the decoder's sentence is kept as a warning
 * of the recording (store_warnings_set, in the stage's commit), which
 * transcript.json, warnings.csv and `parley run`'s summary repeat.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/decode.h"
#include "audio/manifest.h"
#include "audio/wav.h"
#include "stages/stage.h"
#include "util/scrub.h"

static bool decode_abort(void *ud)
{
	const struct stage_ctx *ctx = ud;
	return ctx->stop && *ctx->stop;
}

/* What the decoder said about a file that holds less than its header
 * promises: the first DECODE_WARNINGS_MAX sentences, and how many in all (a
 * session's chunks may each say one). */
#define DECODE_WARNINGS_MAX 8

struct decode_result {
	const struct pcm *pcm;
	int64_t batch_id;
	char warnings[DECODE_WARNINGS_MAX][AUDIO_DECODE_WARN_MAX];
	size_t nwarnings, total;
};

static void decode_warn(const char *message, void *ud)
{
	struct decode_result *r = ud;
	if (r->nwarnings < DECODE_WARNINGS_MAX)
		snprintf(r->warnings[r->nwarnings++], AUDIO_DECODE_WARN_MAX, "%s", message);
	r->total++;
}

static enum parley_err decode_save(struct store *st, int64_t rec_id, void *data,
				   struct parley_error *err)
{
	struct decode_result *r = data;
	const char *msgs[DECODE_WARNINGS_MAX + 1];
	char more[64];
	size_t n = 0;
	for (; n < r->nwarnings; n++)
		msgs[n] = r->warnings[n];
	if (r->total > r->nwarnings) {
		snprintf(more, sizeof(more), "... and %zu more such warnings", r->total - r->nwarnings);
		msgs[n++] = more;
	}
	enum parley_err rc = store_recording_set_duration(st, rec_id, pcm_seconds(r->pcm), err);
	if (!rc)
		rc = store_warnings_set(st, r->batch_id, rec_id, "decode", msgs, n, err);
	return rc;
}

/* Write channels 0..n-1 and remove stale files n..STAGE_CHANNELS_MAX-1. */
static enum parley_err write_channels(struct stage_ctx *ctx, const struct audio_channels *ch,
				      struct parley_error *err)
{
	for (int c = 0; c < STAGE_CHANNELS_MAX; c++) {
		char file[32], path[STAGE_PATH_MAX];
		snprintf(file, sizeof(file), STAGE_CHANNEL_FILE_FMT, c);
		enum parley_err rc = stage_path(ctx, file, path, err);
		if (rc)
			return rc;
		if (c < ch->n) {
			if ((rc = wav_write(path, &ch->ch[c], err)))
				return rc;
		} else if (unlink(path) != 0 && errno != ENOENT) {
			return parley_error_set(err, PARLEY_ERR_IO, "%s: cannot remove (%s)", path,
						strerror(errno));
		}
	}
	return PARLEY_OK;
}

/* The decoder's callbacks share one user_data: the stage and its result. */
struct decode_call {
	struct stage_ctx *ctx;
	struct decode_result *result;
};

static bool decode_abort_call(void *ud)
{
	const struct decode_call *c = ud;
	return decode_abort(c->ctx);
}

/* A warning is stored and answered: without the server's paths (the data
 * directory is the recording directory's grandparent; util/scrub.h). */
static void decode_warn_call(const char *message, void *ud)
{
	const struct decode_call *c = ud;
	char data_dir[STAGE_PATH_MAX], real[PATH_MAX], pub[AUDIO_DECODE_WARN_MAX];
	snprintf(data_dir, sizeof(data_dir), "%s", c->ctx->rec_dir);
	for (int up = 0; up < 2; up++) {
		char *slash = strrchr(data_dir, '/');
		if (slash)
			*slash = '\0';
		else
			data_dir[0] = '\0';
	}
	struct scrub_names n;
	scrub_names_recording(&n, c->ctx->rec->source, c->ctx->rec->name, data_dir, real);
	scrub_text(message, &n, pub, sizeof(pub));
	decode_warn(pub, c->result);
}

static enum parley_err decode_run(struct stage_ctx *ctx, struct parley_error *err)
{
	struct pcm pcm = {0};
	struct audio_channels ch = {0};
	struct decode_result *res = calloc(1, sizeof(*res));
	if (!res)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "decode: out of memory");
	res->pcm = &pcm;
	res->batch_id = ctx->rec->batch_id;
	struct decode_call call = {ctx, res};
	struct audio_decode_params p = audio_decode_default_params();
	p.rate = PCM_RATE;
	p.abort = decode_abort_call;
	p.warn = decode_warn_call;
	p.user_data = &call;
	p.max_channels = STAGE_CHANNELS_MAX;
	char path[STAGE_PATH_MAX];
	enum parley_err rc = chunk_manifest_is(ctx->rec->source)
				     ? audio_decode_manifest(ctx->rec->source, &p, &pcm, err)
				     : audio_decode_file_channels(ctx->rec->source, &p, &pcm, &ch, err);
	if (!rc && !(rc = stage_path(ctx, STAGE_AUDIO_FILE, path, err)) &&
	    !(rc = wav_write(path, &pcm, err)) && !(rc = write_channels(ctx, &ch, err)))
		rc = stage_commit(ctx, decode_save, res, err);
	audio_channels_release(&ch);
	pcm_release(&pcm);
	free(res);
	return rc;
}

const struct stage stage_decode = {
	.name = "decode", .description = "any audio file to 16 kHz mono (and each channel of a stereo call)",
	.run = decode_run,
};
