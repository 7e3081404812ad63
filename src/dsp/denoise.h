/*
 * denoise.h — noise suppression of a recording (speexdsp's preprocessor:
 * a spectral-subtraction/MMSE noise suppressor with its own noise-floor
 * tracker).
 *
 *   struct denoise_params p = denoise_default_params();
 *   p.suppress_db = 25;
 *   if (denoise_pcm(&pcm, &p, &err) == PARLEY_OK) ... // pcm changed in place
 *
 * How: 20 ms frames (frame_ms) go through speex_preprocess_run with only
 * the denoiser on (no AGC, no VAD, no dereverberation), so loudness and
 * timing are kept: the output has exactly the input's samples count and
 * frame boundaries, and a frame's sound comes out in the same frame. The
 * noise estimate needs a second or so to settle: the first warmup_s seconds
 * are run through once beforehand (output discarded) and then the state
 * continues from the start, so the opening of a call is suppressed like
 * the rest. The tail shorter than a frame is processed zero-padded.
 * Digital silence stays silence (the suppressor only attenuates).
 *
 * Errors: PARLEY_ERR_INVALID (rate not 8000..48000, params out of range),
 * PARLEY_ERR_NOMEM.
 * Thread safety: each call owns its speex state; calls may run in parallel.
 */
#ifndef PARLEY_DSP_DENOISE_H
#define PARLEY_DSP_DENOISE_H

#include "audio/pcm.h"
#include "util/error.h"

struct denoise_params {
	double suppress_db; /* most noise attenuation, dB (speex: 15 by default); 1..60 */
	int frame_ms;       /* frame length, 10 or 20 ms */
	double warmup_s;    /* seconds pre-run to settle the noise estimate (0 = none) */
};
struct denoise_params denoise_default_params(void);

/* Suppress the noise of pcm in place. */
enum parley_err denoise_pcm(struct pcm *pcm, const struct denoise_params *p,
			    struct parley_error *err);

#endif
