/*
 * snr.c — blind SNR estimate from frame-energy percentiles (see snr.h).
 */
#include "dsp/snr.h"

#include <math.h>
#include <stdlib.h>

struct snr_params snr_default_params(void)
{
	return (struct snr_params){.frame_ms = 20, .noise_pct = 0.15, .speech_pct = 0.95,
				   .floor_db = -90.0};
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The q-quantile (0..1) of sorted v[0..n), linear between neighbours. */
static double quantile(const double *v, size_t n, double q)
{
	double at = q * (double)(n - 1);
	size_t lo = (size_t)at;
	if (lo + 1 >= n)
		return v[n - 1];
	return v[lo] + (at - (double)lo) * (v[lo + 1] - v[lo]);
}

enum parley_err snr_estimate(const struct pcm *pcm, const struct snr_params *p, double *snr_db,
			     struct parley_error *err)
{
	if (!pcm || !p || !snr_db || (pcm->n && !pcm->samples))
		return parley_error_set(err, PARLEY_ERR_INVALID, "snr_estimate: missing argument");
	if (pcm->rate < 8000 || pcm->rate > 48000 || p->frame_ms < 5 || p->frame_ms > 100 ||
	    !(p->noise_pct >= 0 && p->noise_pct <= 1) ||
	    !(p->speech_pct >= p->noise_pct && p->speech_pct <= 1) ||
	    !(p->floor_db >= -200 && p->floor_db <= 0))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"snr_estimate: rate %d or parameters out of range",
					pcm->rate);
	*snr_db = SNR_MAX_DB;
	size_t flen = (size_t)pcm->rate * (size_t)p->frame_ms / 1000;
	size_t nf = pcm->n / flen;
	if (nf == 0)
		return PARLEY_OK;
	if (nf > SNR_FRAMES_MAX)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"snr_estimate: %zu frames, at most %u", nf, SNR_FRAMES_MAX);
	double *lv = malloc(nf * sizeof(*lv));
	if (!lv)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory estimating the SNR");
	for (size_t f = 0; f < nf; f++) {
		const int16_t *s = pcm->samples + f * flen;
		double e = 0;
		for (size_t i = 0; i < flen; i++)
			e += (double)s[i] * s[i];
		e /= (double)flen * 32768.0 * 32768.0;
		double db = e > 0 ? 10.0 * log10(e) : p->floor_db;
		lv[f] = db < p->floor_db ? p->floor_db : db;
	}
	qsort(lv, nf, sizeof(*lv), cmp_double);
	double noise = quantile(lv, nf, p->noise_pct);
	double speech = quantile(lv, nf, p->speech_pct);
	free(lv);
	double ps = pow(10.0, speech / 10.0), pn = pow(10.0, noise / 10.0);
	double snr = ps > pn ? 10.0 * log10((ps - pn) / pn) : 0.0;
	if (snr < 0)
		snr = 0;
	*snr_db = snr > SNR_MAX_DB ? SNR_MAX_DB : snr;
	return PARLEY_OK;
}
