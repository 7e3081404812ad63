/*
 * decode.c — stage "decode": any container/codec → 16 kHz mono, written as
 * the recording's audio.wav (atomically). Bad input fails the recording with
 * the decoder's sentence (file name, what was wrong, FFmpeg's reason).
 * A source ending in ".chunks" is a chunk manifest (audio/manifest.h, a live
 * session's uploads): every chunk is decoded and the audio concatenated; a
 * chunk that fails fails the recording with a message naming it.
 */
#include <stdio.h>

#include "audio/decode.h"
#include "audio/manifest.h"
#include "audio/wav.h"
#include "stages/stage.h"

static bool decode_abort(void *ud)
{
	const struct stage_ctx *ctx = ud;
	return ctx->stop && *ctx->stop;
}

static enum parley_err decode_save(struct store *st, int64_t rec_id, void *data,
				   struct parley_error *err)
{
	const struct pcm *pcm = data;
	return store_recording_set_duration(st, rec_id, pcm_seconds(pcm), err);
}

static enum parley_err decode_run(struct stage_ctx *ctx, struct parley_error *err)
{
	struct audio_decode_params p = audio_decode_default_params();
	p.rate = PCM_RATE;
	p.abort = decode_abort;
	p.user_data = ctx;
	struct pcm pcm = {0};
	char path[STAGE_PATH_MAX];
	enum parley_err rc = chunk_manifest_is(ctx->rec->source)
				     ? audio_decode_manifest(ctx->rec->source, &p, &pcm, err)
				     : audio_decode_file(ctx->rec->source, &p, &pcm, err);
	if (!rc && !(rc = stage_path(ctx, STAGE_AUDIO_FILE, path, err)) &&
	    !(rc = wav_write(path, &pcm, err)))
		rc = stage_commit(ctx, decode_save, &pcm, err);
	pcm_release(&pcm);
	return rc;
}

const struct stage stage_decode = {
	.name = "decode", .description = "any audio file to 16 kHz mono", .run = decode_run,
};
