/*
 * mfcc.h — mel-frequency cepstral coefficients (and log mel filterbank
 * energies) from 16-bit PCM.
 *
 *   struct mfcc_params p = mfcc_default_params();
 *   float *feats; size_t nframes; int dim;
 *   if (mfcc_compute(&pcm, &p, &feats, &nframes, &dim, &err) != PARLEY_OK) ...
 *   // frame t, column j: feats[t * dim + j]; t covers samples [t*hop, t*hop + win)
 *   free(feats);
 *
 * Per frame: remove the frame's DC offset, pre-emphasise (using the real
 * previous sample, the first sample of the signal uses itself), Hamming
 * window, zero-pad to the FFT size, power spectrum, triangular mel filters
 * (HTK mel scale 2595 log10(1 + f/700)), natural log with a floor, then an
 * orthonormal DCT-II keeping num_ceps coefficients c0 .. c{num_ceps-1}.
 * No liftering.
 *
 * Columns of one frame, in order:
 *   num_ceps cepstra c0.. (or, with num_ceps == 0, the num_filters log mel
 *     energies, lowest band first: "fbank" features);
 *   then, when log_energy is set, the natural log of the frame's energy
 *     (sum of squared DC-removed samples before pre-emphasis, floored);
 *   then, with deltas >= 1, the deltas of all the columns above;
 *   then, with deltas == 2, the delta-deltas.
 *
 * Frame count (no padding at the edges, "snip edges"):
 *   win = round(rate * win_ms / 1000), hop = round(rate * hop_ms / 1000),
 *   nframes = n < win ? 0 : 1 + (n - win) / hop.
 *
 * Any sample rate in [MFCC_MIN_RATE, MFCC_MAX_RATE] works; the mel filter
 * range is clamped to rate / 2 (so 8 kHz input uses 64 .. 4000 Hz) and the
 * FFT grows to the next power of two if the window is longer than fft_size.
 *
 * Thread safety: struct mfcc is read-only after mfcc_new() except for the
 * scratch buffers, so use one struct mfcc per thread.
 */
#ifndef PARLEY_DSP_MFCC_H
#define PARLEY_DSP_MFCC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audio/pcm.h"
#include "util/error.h"

#define MFCC_MIN_RATE 4000
#define MFCC_MAX_RATE 192000
#define MFCC_MAX_FILTERS 256
#define MFCC_MAX_FRAMES ((size_t)100 * 1000 * 1000) /* ~11.5 days at 10 ms */

struct mfcc_params {
	double win_ms;       /* analysis window, default 25 */
	double hop_ms;       /* frame shift, default 10 */
	double preemph;      /* pre-emphasis coefficient, default 0.97 (0 = off) */
	int fft_size;        /* default 512; raised to fit the window */
	int num_filters;     /* mel filters, default 40, at most MFCC_MAX_FILTERS */
	double low_hz;       /* lowest filter edge, default 64 */
	double high_hz;      /* highest filter edge, default 7600; clamped to rate/2 */
	int num_ceps;        /* cepstra kept including c0, default 20; 0 = log mel
			      * energies instead; at most num_filters */
	bool log_energy;     /* append log frame energy, default true */
	int deltas;          /* 0 (default), 1 = add deltas, 2 = add deltas and
			      * delta-deltas; only mfcc_compute() adds them */
	int delta_window;    /* regression half-width N for deltas, default 2 */
	double log_floor;    /* floor applied before every log, default 1e-10 */
};

struct mfcc_params mfcc_default_params(void);

/*
 * One-shot: features of the whole signal into a new array *feats (caller
 * frees with free(); NULL when there are no frames), *nframes rows of *dim
 * floats. A signal shorter than one window gives 0 frames and PARLEY_OK.
 * Errors: PARLEY_ERR_INVALID (bad params or rate, message says which),
 * PARLEY_ERR_TOO_LARGE (more than MFCC_MAX_FRAMES frames), PARLEY_ERR_NOMEM.
 */
enum parley_err mfcc_compute(const struct pcm *pcm, const struct mfcc_params *p, float **feats,
			     size_t *nframes, int *dim, struct parley_error *err);

/*
 * Reusable extractor, for computing frames piecewise (bounded memory on long
 * inputs). Deltas are not applied here (see mfcc_deltas()).
 */
struct mfcc;

/* Precompute the FFT plan, filterbank and DCT for one rate. NULL + *err on failure. */
struct mfcc *mfcc_new(const struct mfcc_params *p, int rate, struct parley_error *err);

/* Free an extractor. Accepts NULL. */
void mfcc_free(struct mfcc *m);

/* Columns per frame from mfcc_frames(): num_ceps (or num_filters) + log_energy. */
int mfcc_dim(const struct mfcc *m);

/* Window and hop in samples. */
size_t mfcc_win_samples(const struct mfcc *m);
size_t mfcc_hop_samples(const struct mfcc *m);

/* Frames a signal of n samples yields (formula above). */
size_t mfcc_frame_count(const struct mfcc *m, size_t n);

/* Centre frequency in Hz of mel filter band (0-based), or -1 if out of range. */
double mfcc_band_center_hz(const struct mfcc *m, int band);

/*
 * Compute frames first .. first + count - 1 of the signal samples[0 .. n)
 * into out (count * mfcc_dim() floats). Frame t reads samples
 * [t*hop, t*hop + win) plus sample t*hop - 1 for pre-emphasis; the caller
 * guarantees first + count <= mfcc_frame_count(m, n).
 */
void mfcc_frames(struct mfcc *m, const int16_t *samples, size_t n, size_t first, size_t count,
		 float *out);

/*
 * Regression deltas over time, d[t] = sum_{k=1..N} k (x[t+k] - x[t-k]) /
 * (2 sum k^2), with frames past either end replaced by the edge frame.
 * in: nframes rows with stride in_stride, dim columns used; out: rows with
 * stride out_stride. in and out may not overlap.
 */
void mfcc_deltas(const float *in, size_t in_stride, size_t nframes, int dim, int N, float *out,
		 size_t out_stride);

#endif
