/* pitch.c — see pitch.h for the method and the contract. */
#include "dsp/pitch.h"

#include <math.h>
#include <stdlib.h>

#define TARGET_RATE 8000
#define FRAME_SECONDS 0.040
#define DIP 0.2        /* first dip of d' below this is the period */
#define VOICED 0.35    /* else the global minimum must be below this */
#define SILENT 1e-3    /* mean square (decimated, in sample units^2) of a silent frame */

struct pitch {
	size_t q;          /* decimation factor */
	double rate;       /* decimated rate */
	size_t len;        /* frame length, decimated samples */
	size_t tmin, tmax; /* period range, decimated samples */
	double *y;         /* len + tmax + 1 decimated samples */
	double *d;         /* tmax + 1 difference values */
};

struct pitch *pitch_new(int rate, struct parley_error *err)
{
	if (rate < 4000 || rate > 192000) {
		parley_error_set(err, PARLEY_ERR_INVALID,
				 "pitch: sample rate %d Hz is outside 4000 .. 192000", rate);
		return NULL;
	}
	struct pitch *pt = calloc(1, sizeof(*pt));
	if (!pt)
		goto nomem;
	pt->q = (size_t)(rate / TARGET_RATE);
	pt->q = pt->q < 1 ? 1 : pt->q;
	pt->rate = (double)rate / (double)pt->q;
	pt->len = (size_t)lround(FRAME_SECONDS * pt->rate);
	pt->tmin = (size_t)floor(pt->rate / PITCH_MAX_HZ);
	pt->tmax = (size_t)ceil(pt->rate / PITCH_MIN_HZ);
	pt->tmin = pt->tmin < 2 ? 2 : pt->tmin;
	pt->y = malloc((pt->len + pt->tmax + 1) * sizeof(double));
	pt->d = malloc((pt->tmax + 2) * sizeof(double));
	if (!pt->y || !pt->d)
		goto nomem;
	return pt;
nomem:
	pitch_free(pt);
	parley_error_set(err, PARLEY_ERR_NOMEM, "pitch: out of memory");
	return NULL;
}

void pitch_free(struct pitch *pt)
{
	if (!pt)
		return;
	free(pt->y);
	free(pt->d);
	free(pt);
}

double pitch_at(struct pitch *pt, const int16_t *x, size_t n, size_t centre)
{
	size_t span = pt->len + pt->tmax + 1; /* decimated samples needed */
	size_t raw = span * pt->q, half = raw / 2;
	if (centre < half || centre - half + raw > n)
		return 0.0;
	const int16_t *src = x + (centre - half);
	double mean = 0.0;
	for (size_t i = 0; i < span; i++) {
		double s = 0.0;
		for (size_t j = 0; j < pt->q; j++)
			s += src[i * pt->q + j];
		pt->y[i] = s / (double)pt->q;
		mean += pt->y[i];
	}
	mean /= (double)span;
	double energy = 0.0;
	for (size_t i = 0; i < span; i++) {
		pt->y[i] -= mean;
		energy += pt->y[i] * pt->y[i];
	}
	if (energy / (double)span < SILENT)
		return 0.0;

	/* d'(tau): cumulative-mean-normalised difference */
	double run = 0.0;
	pt->d[0] = 1.0;
	for (size_t tau = 1; tau <= pt->tmax; tau++) {
		double s = 0.0;
		const double *a = pt->y, *b = pt->y + tau;
		for (size_t j = 0; j < pt->len; j++) {
			double t = a[j] - b[j];
			s += t * t;
		}
		run += s;
		pt->d[tau] = run > 0.0 ? s * (double)tau / run : 1.0;
	}
	size_t best = 0;
	for (size_t tau = pt->tmin; tau < pt->tmax; tau++)
		if (pt->d[tau] < DIP) {
			while (tau + 1 < pt->tmax && pt->d[tau + 1] < pt->d[tau])
				tau++;
			best = tau;
			break;
		}
	if (!best) {
		best = pt->tmin;
		for (size_t tau = pt->tmin; tau < pt->tmax; tau++)
			if (pt->d[tau] < pt->d[best])
				best = tau;
		if (pt->d[best] >= VOICED)
			return 0.0;
	}
	/* parabolic interpolation around the minimum */
	double t = (double)best;
	double a = pt->d[best - 1], b = pt->d[best], c = pt->d[best + 1];
	double den = a - 2.0 * b + c;
	if (den > 0.0) {
		double off = 0.5 * (a - c) / den;
		t += off > 1.0 ? 1.0 : off < -1.0 ? -1.0 : off;
	}
	return pt->rate / t;
}
