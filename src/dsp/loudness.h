/*
 * loudness.h — EBU R128 / ITU-R BS.1770 integrated loudness (libebur128).
 *
 *   double lufs;
 *   if (loudness_integrated(&pcm, spans, nspans, &lufs, &err) == PARLEY_OK && !isnan(lufs))
 *       printf("%.1f LUFS\n", lufs);
 *
 * The loudness of pcm over the given spans (seconds, fed one after the
 * other; NULL/0 = the whole buffer), with the standard's gating: blocks
 * below -70 LUFS and 10 LU under the ungated level do not count, so pauses
 * and silence do not lower it. *lufs is NAN when nothing is loud enough or
 * there is less than one 400 ms block. Mono input (a call channel or the
 * mix). Errors: PARLEY_ERR_INVALID (arguments), PARLEY_ERR_NOMEM,
 * PARLEY_ERR_INTERNAL (libebur128 failed). Thread safety: no shared state.
 */
#ifndef PARLEY_DSP_LOUDNESS_H
#define PARLEY_DSP_LOUDNESS_H

#include <stddef.h>

#include "audio/pcm.h"
#include "dsp/vad.h"
#include "util/error.h"

enum parley_err loudness_integrated(const struct pcm *pcm, const struct vad_region *spans,
				    size_t nspans, double *lufs, struct parley_error *err);

#endif
