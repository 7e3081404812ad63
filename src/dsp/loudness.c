/* loudness.c — see loudness.h. */
#include "dsp/loudness.h"

#include <ebur128.h>
#include <math.h>

static enum parley_err add_span(ebur128_state *st, const struct pcm *pcm, double start, double end,
				struct parley_error *err)
{
	if (!(end > start))
		return PARLEY_OK;
	double a = start * pcm->rate, b = end * pcm->rate;
	size_t i0 = a <= 0 ? 0 : (size_t)a, i1 = b <= 0 ? 0 : (size_t)b;
	if (i1 > pcm->n)
		i1 = pcm->n;
	if (i0 >= i1)
		return PARLEY_OK;
	if (ebur128_add_frames_short(st, pcm->samples + i0, i1 - i0) != EBUR128_SUCCESS)
		return parley_error_set(err, PARLEY_ERR_INTERNAL, "loudness: libebur128 failed");
	return PARLEY_OK;
}

enum parley_err loudness_integrated(const struct pcm *pcm, const struct vad_region *spans,
				    size_t nspans, double *lufs, struct parley_error *err)
{
	if (!pcm || !lufs || (pcm->n && !pcm->samples) || (nspans && !spans) || pcm->rate < 8000)
		return parley_error_set(err, PARLEY_ERR_INVALID, "loudness: bad arguments");
	*lufs = NAN;
	ebur128_state *st = ebur128_init(1, (unsigned long)pcm->rate, EBUR128_MODE_I);
	if (!st)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory measuring loudness");
	enum parley_err rc = PARLEY_OK;
	if (nspans == 0)
		rc = add_span(st, pcm, 0, (double)pcm->n / pcm->rate, err);
	for (size_t i = 0; i < nspans && !rc; i++)
		rc = add_span(st, pcm, spans[i].start, spans[i].end, err);
	double v;
	if (!rc && ebur128_loudness_global(st, &v) == EBUR128_SUCCESS && isfinite(v))
		*lufs = v;
	ebur128_destroy(&st);
	return rc;
}
