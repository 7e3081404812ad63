/* fft.c — see fft.h.
 *
 * The n real samples are read as h = n/2 complex values z[m] = x[2m] +
 * i x[2m+1]; an iterative radix-2 decimation-in-time FFT gives Z, and the
 * split step recovers X[k] = E[k] + W^k O[k] with E/O the spectra of the
 * even/odd samples and W = e^{-2 pi i / n}. */
#include "dsp/fft.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

struct fft_plan {
	size_t n;         /* real transform size */
	size_t h;         /* complex transform size, n / 2 */
	uint32_t *bitrev; /* h entries: bit-reversed index of i */
	double *tw;       /* h/2 complex twiddles e^{-2 pi i j / h}, interleaved */
	double *split;    /* h/2 + 1 complex twiddles e^{-2 pi i k / n}, interleaved */
};

static bool is_pow2(size_t n)
{
	return n >= 2 && (n & (n - 1)) == 0;
}

struct fft_plan *fft_plan_new(size_t n, struct parley_error *err)
{
	if (!is_pow2(n) || n > FFT_MAX_SIZE) {
		parley_error_set(err, PARLEY_ERR_INVALID,
				 "FFT size %zu is not a power of two in [2, %zu]", n, FFT_MAX_SIZE);
		return NULL;
	}
	struct fft_plan *plan = calloc(1, sizeof(*plan));
	if (!plan)
		goto nomem;
	plan->n = n;
	plan->h = n / 2;
	size_t h = plan->h;
	plan->bitrev = malloc(h * sizeof(*plan->bitrev));
	plan->tw = malloc((h / 2 + 1) * 2 * sizeof(*plan->tw));
	plan->split = malloc((h / 2 + 1) * 2 * sizeof(*plan->split));
	if (!plan->bitrev || !plan->tw || !plan->split)
		goto nomem;

	unsigned bits = 0;
	while (((size_t)1 << bits) < h)
		bits++;
	for (size_t i = 0; i < h; i++) {
		uint32_t r = 0;
		for (unsigned b = 0; b < bits; b++)
			if (i & ((size_t)1 << b))
				r |= (uint32_t)1 << (bits - 1 - b);
		plan->bitrev[i] = r;
	}
	for (size_t j = 0; j <= h / 2; j++) {
		double a = -2.0 * M_PI * (double)j / (double)h;
		plan->tw[2 * j] = cos(a);
		plan->tw[2 * j + 1] = sin(a);
		double b = -2.0 * M_PI * (double)j / (double)n;
		plan->split[2 * j] = cos(b);
		plan->split[2 * j + 1] = sin(b);
	}
	return plan;

nomem:
	fft_plan_free(plan);
	parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory planning a %zu-point FFT", n);
	return NULL;
}

void fft_plan_free(struct fft_plan *plan)
{
	if (!plan)
		return;
	free(plan->bitrev);
	free(plan->tw);
	free(plan->split);
	free(plan);
}

double fft_hann(double *win, size_t n)
{
	double w2 = 0;
	for (size_t i = 0; i < n; i++) {
		win[i] = 0.5 - 0.5 * cos(2 * M_PI * (i + 0.5) / n);
		w2 += win[i] * win[i];
	}
	return w2;
}

size_t fft_size_for(size_t n)
{
	size_t size = 2;
	while (size < n && size < FFT_MAX_SIZE)
		size <<= 1;
	return size;
}

size_t fft_plan_size(const struct fft_plan *plan)
{
	return plan->n;
}

/* In-place complex FFT of h interleaved values (z[2m], z[2m+1]). */
static void fft_complex(const struct fft_plan *plan, double *z)
{
	size_t h = plan->h;
	for (size_t i = 0; i < h; i++) {
		size_t r = plan->bitrev[i];
		if (r > i) {
			double tr = z[2 * i], ti = z[2 * i + 1];
			z[2 * i] = z[2 * r];
			z[2 * i + 1] = z[2 * r + 1];
			z[2 * r] = tr;
			z[2 * r + 1] = ti;
		}
	}
	for (size_t len = 2; len <= h; len *= 2) {
		size_t half = len / 2;
		size_t step = h / len; /* twiddle index stride */
		for (size_t start = 0; start < h; start += len) {
			for (size_t j = 0; j < half; j++) {
				double wr = plan->tw[2 * j * step], wi = plan->tw[2 * j * step + 1];
				double *a = z + 2 * (start + j);
				double *b = z + 2 * (start + j + half);
				double br = b[0] * wr - b[1] * wi;
				double bi = b[0] * wi + b[1] * wr;
				b[0] = a[0] - br;
				b[1] = a[1] - bi;
				a[0] += br;
				a[1] += bi;
			}
		}
	}
}

void fft_real(const struct fft_plan *plan, double *data)
{
	size_t h = plan->h;
	fft_complex(plan, data);

	/* k = 0 and k = h are both real. */
	double z0r = data[0], z0i = data[1];
	data[0] = z0r + z0i;
	data[1] = z0r - z0i;

	/* Pairs (k, h - k): X[h-k] = conj(E[k] - W^k O[k]). */
	for (size_t k = 1; k <= h / 2; k++) {
		size_t m = h - k;
		double zkr = data[2 * k], zki = data[2 * k + 1];
		double zmr = data[2 * m], zmi = data[2 * m + 1];
		/* E = (Z[k] + conj Z[m]) / 2; O = (Z[k] - conj Z[m]) / 2i */
		double er = 0.5 * (zkr + zmr), ei = 0.5 * (zki - zmi);
		double or_ = 0.5 * (zki + zmi), oi = -0.5 * (zkr - zmr);
		double wr = plan->split[2 * k], wi = plan->split[2 * k + 1];
		double tr = wr * or_ - wi * oi;
		double ti = wr * oi + wi * or_;
		data[2 * k] = er + tr;
		data[2 * k + 1] = ei + ti;
		if (m != k) {
			data[2 * m] = er - tr;
			data[2 * m + 1] = -(ei - ti);
		}
	}
}

void fft_power(const struct fft_plan *plan, double *data, double *pow)
{
	size_t h = plan->h;
	fft_real(plan, data);
	pow[0] = data[0] * data[0];
	pow[h] = data[1] * data[1];
	for (size_t k = 1; k < h; k++)
		pow[k] = data[2 * k] * data[2 * k] + data[2 * k + 1] * data[2 * k + 1];
}
