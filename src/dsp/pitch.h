/*
 * pitch.h — fundamental frequency (F0) of one short frame of 16-bit PCM.
 *
 *   struct pitch *pt = pitch_new(pcm.rate, &err);
 *   double f0 = pitch_at(pt, pcm.samples, pcm.n, centre_sample); // Hz, 0 = unvoiced
 *   pitch_free(pt);
 *
 * Method: YIN (de Cheveigné & Kawahara 2002) on a 40 ms frame centred on
 * the given sample. The signal is first decimated to about 8 kHz (mean of
 * each run of q = rate / 8000 samples; pitch lives far below 4 kHz), the
 * frame's DC offset removed, then the cumulative-mean-normalised difference
 * d'(tau) is computed for periods of PITCH_MIN_HZ .. PITCH_MAX_HZ. The
 * period is the first dip of d' below 0.2 (followed down to its minimum),
 * else the global minimum if that is below 0.35, else the frame is
 * unvoiced; parabolic interpolation refines it. Silent frames (energy under
 * a tiny floor) are unvoiced.
 *
 * Cost: ~45k multiply-adds per frame at any input rate (8 kHz frame of 320
 * samples x 135 lags).
 *
 * Thread safety: a struct pitch holds scratch buffers; use one per thread.
 */
#ifndef PARLEY_DSP_PITCH_H
#define PARLEY_DSP_PITCH_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define PITCH_MIN_HZ 60.0
#define PITCH_MAX_HZ 400.0

struct pitch;

/*
 * A tracker for signals at rate Hz (4000 .. 192000). NULL with *err filled
 * (PARLEY_ERR_INVALID for a rate out of range, PARLEY_ERR_NOMEM) on failure.
 * Free with pitch_free().
 */
struct pitch *pitch_new(int rate, struct parley_error *err);

/* Free a tracker. Accepts NULL. */
void pitch_free(struct pitch *pt);

/*
 * F0 in Hz of the frame centred on sample `centre` of x[0 .. n), or 0 when
 * the frame is unvoiced, silent or does not fit inside the signal.
 */
double pitch_at(struct pitch *pt, const int16_t *x, size_t n, size_t centre);

#endif
