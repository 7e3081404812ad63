/*
 * fft.h — forward real FFT, radix-2, twiddles precomputed in a plan.
 *
 *   struct fft_plan *plan = fft_plan_new(512, &err);
 *   double frame[512], pow[512 / 2 + 1];
 *   ... fill frame ...
 *   fft_power(plan, frame, pow);         // |X[k]|^2, k = 0 .. 256; frame is clobbered
 *   fft_plan_free(plan);
 *
 * A size-n real transform runs as one n/2-point complex FFT plus a split
 * step, in place in the caller's n-sample buffer.
 *
 * Thread safety: a plan is read-only after fft_plan_new(); any number of
 * threads may transform with one plan at the same time.
 */
#ifndef PARLEY_DSP_FFT_H
#define PARLEY_DSP_FFT_H

#include <stddef.h>

#include "util/error.h"

#define FFT_MAX_SIZE ((size_t)1 << 24)

struct fft_plan;

/*
 * Plan a real FFT of n points; n must be a power of two in [2, FFT_MAX_SIZE].
 * Returns NULL and fills *err (PARLEY_ERR_INVALID or PARLEY_ERR_NOMEM) on
 * failure. Free with fft_plan_free().
 */
struct fft_plan *fft_plan_new(size_t n, struct parley_error *err);

/* The smallest power of two >= n (>= 2, at most FFT_MAX_SIZE): the FFT size
 * that holds a frame of n samples. */
size_t fft_size_for(size_t n);

/* Free a plan. Accepts NULL. */
void fft_plan_free(struct fft_plan *plan);

/* The transform size n the plan was made for. */
size_t fft_plan_size(const struct fft_plan *plan);

/*
 * In-place forward transform of n real samples,
 * X[k] = sum_t data[t] e^{-2 pi i k t / n} (unscaled). On return data holds
 * the packed half spectrum:
 *   data[0] = X[0]            (real)
 *   data[1] = X[n/2]          (real)
 *   data[2k], data[2k+1] = Re X[k], Im X[k]   for k = 1 .. n/2 - 1.
 * The rest of the spectrum is the conjugate mirror, X[n-k] = conj X[k].
 */
void fft_real(const struct fft_plan *plan, double *data);

/*
 * Power spectrum: runs fft_real() on data (clobbering it) and writes
 * |X[k]|^2 for k = 0 .. n/2 into pow[] (n/2 + 1 values). pow may not alias
 * data.
 */
void fft_power(const struct fft_plan *plan, double *data, double *pow);

/* Fill win[0..n) with a Hann window sampled at the centres,
 * win[i] = 0.5 - 0.5 cos(2 pi (i + 0.5) / n); returns the sum of win[i]^2. */
double fft_hann(double *win, size_t n);

#endif
