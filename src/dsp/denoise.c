/* denoise.c — see denoise.h. */
#include "dsp/denoise.h"

#include <speex/speex_preprocess.h>
#include <stdbool.h>
#include <string.h>

struct denoise_params denoise_default_params(void)
{
	struct denoise_params p = {.suppress_db = 25, .frame_ms = 20, .warmup_s = 2.0};
	return p;
}

static SpeexPreprocessState *denoise_state(int frame, int rate, int suppress)
{
	SpeexPreprocessState *st = speex_preprocess_state_init(frame, rate);
	if (!st)
		return NULL;
	int on = 1, off = 0, level = -suppress;
	speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_DENOISE, &on);
	speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, &level);
	speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_AGC, &off);
	speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_DEREVERB, &off);
	return st;
}

/* Run frames [0, n) of samples through st; write back when out. */
static void denoise_run(SpeexPreprocessState *st, int16_t *samples, size_t n, size_t frame,
			bool write)
{
	spx_int16_t buf[960]; /* 20 ms at 48 kHz */
	for (size_t at = 0; at < n; at += frame) {
		size_t len = n - at < frame ? n - at : frame;
		memset(buf, 0, sizeof(buf));
		memcpy(buf, samples + at, len * sizeof(*buf));
		speex_preprocess_run(st, buf);
		if (write)
			memcpy(samples + at, buf, len * sizeof(*buf));
	}
}

enum parley_err denoise_pcm(struct pcm *pcm, const struct denoise_params *p,
			    struct parley_error *err)
{
	if (pcm->rate < 8000 || pcm->rate > 48000)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"denoise: sample rate %d Hz is outside 8000..48000", pcm->rate);
	if (!(p->suppress_db >= 1 && p->suppress_db <= 60) || (p->frame_ms != 10 && p->frame_ms != 20) ||
	    !(p->warmup_s >= 0 && p->warmup_s <= 60))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"denoise: suppress_db wants 1..60, frame_ms 10 or 20, "
					"warmup_s 0..60");
	if (pcm->n == 0)
		return PARLEY_OK;
	size_t frame = (size_t)pcm->rate * (size_t)p->frame_ms / 1000;
	SpeexPreprocessState *st = denoise_state((int)frame, pcm->rate, (int)(p->suppress_db + 0.5));
	if (!st)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in denoise");
	size_t warm = (size_t)(p->warmup_s * pcm->rate);
	if (warm > pcm->n)
		warm = pcm->n;
	warm -= warm % frame;
	denoise_run(st, pcm->samples, warm, frame, false);
	denoise_run(st, pcm->samples, pcm->n, frame, true);
	speex_preprocess_state_destroy(st);
	return PARLEY_OK;
}
