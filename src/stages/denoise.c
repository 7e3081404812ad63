/*
 * denoise.c — stage "denoise" (optional: --denoise, or named in a stage
 * list): noise-suppressed copies of the decoded audio, audio.denoised.wav,
 * and audio.chN.denoised.wav for every channel file audio.chN.wav the decode
 * stage wrote. Later stages read them through stage_load_audio() (the ivr
 * stage reads the original: suppressors eat tones).
 *
 * The engine is cfg->denoise.engine: "speex" (dsp/denoise.h, in process,
 * denoise.suppress dB) or a server "http(s)://HOST[:PORT][/PATH]"
 * (engines/denoise_http.h: POST the WAV, get a WAV back; denoise.timeout).
 * A server that fails after its retries fails the recording with the
 * server's sentence; the other recordings go on.
 */
#include <stdio.h>
#include <string.h>

#include "audio/pcm.h"
#include "audio/wav.h"
#include "dsp/denoise.h"
#include "engines/denoise_http.h"
#include "stages/stage.h"

static bool denoise_abort(void *ud)
{
	const struct stage_ctx *ctx = ud;
	return ctx->stop && *ctx->stop;
}

/* in (a file of the data directory) → denoised → out. */
static enum parley_err denoise_file(struct stage_ctx *ctx, const char *in, const char *out,
				    struct parley_error *err)
{
	const struct pc_denoise *c = &ctx->cfg->denoise;
	char path[STAGE_PATH_MAX];
	struct pcm pcm = {0};
	enum parley_err rc = stage_path(ctx, in, path, err);
	if (rc || (rc = wav_read(path, &pcm, err)))
		goto out;
	if (strcmp(c->engine, "speex") == 0) {
		struct denoise_params p = denoise_default_params();
		p.suppress_db = c->suppress;
		rc = denoise_pcm(&pcm, &p, err);
	} else {
		struct denoise_http_params p = denoise_http_default_params();
		p.url = c->engine;
		p.timeout = c->timeout;
		p.abort = denoise_abort;
		p.user_data = ctx;
		rc = denoise_http_pcm(&p, &pcm, err);
	}
	if (rc) {
		parley_error_prefix(err, "%s: %s", ctx->rec->name, in);
		goto out;
	}
	if (!(rc = stage_path(ctx, out, path, err)))
		rc = wav_write(path, &pcm, err);
out:
	pcm_release(&pcm);
	return rc;
}

static enum parley_err denoise_run(struct stage_ctx *ctx, struct parley_error *err)
{
	enum parley_err rc = denoise_file(ctx, STAGE_AUDIO_FILE, STAGE_DENOISED_FILE, err);
	int nch = stage_channel_count(ctx);
	for (int ch = 0; !rc && ch < nch; ch++) {
		char in[32], out[48];
		snprintf(in, sizeof(in), STAGE_CHANNEL_FILE_FMT, ch);
		snprintf(out, sizeof(out), STAGE_CHANNEL_DENOISED_FMT, ch);
		rc = denoise_file(ctx, in, out, err);
	}
	if (!rc)
		rc = stage_commit(ctx, NULL, NULL, err);
	return rc;
}

const struct stage stage_denoise = {
	.name = "denoise",
	.description = "noise suppression (speex, or a server), before vad",
	.run = denoise_run,
	.options = "denoise",
	.optional = true,
};
