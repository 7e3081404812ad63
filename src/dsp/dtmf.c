/* dtmf.c — DTMF key presses by Goertzel filters; see dtmf.h. */
#include "dsp/dtmf.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DTMF_WIN 0.025 /* s */
#define DTMF_HOP 0.005 /* s */
#define DTMF_EDGE_FILL 0.2 /* of a window: where the tone edge lies in an edge frame */
#define DTMF_EDGE_DB 6.0 /* run edges: frames this far below the run's loudest go */

static const double row_hz[4] = {697, 770, 852, 941};
static const double col_hz[4] = {1209, 1336, 1477, 1633};
static const char keys[4][5] = {"123A", "456B", "789C", "*0#D"};

struct dtmf_params dtmf_default_params(void)
{
	return (struct dtmf_params){
		.min_level_dbfs = -40.0,
		.max_twist_db = 8.0,
		.max_rev_twist_db = 4.0,
		.min_purity = 0.85,
		.peak_db = 8.0,
		.harmonic_db = 15.0,
		.min_tone = 0.030,
		.min_gap = 0.02,
		.seq_gap = 2.0,
	};
}

/* |X(f)|^2 of x[0..n) by the Goertzel recursion. */
static double goertzel(const double *x, size_t n, double coef)
{
	double s1 = 0, s2 = 0;
	for (size_t i = 0; i < n; i++) {
		double s = x[i] + coef * s1 - s2;
		s2 = s1;
		s1 = s;
	}
	return s1 * s1 + s2 * s2 - coef * s1 * s2;
}

struct frame_hit {
	char digit;   /* 0 = none */
	double level; /* dB of the weaker tone */
};

/* The digit of one windowed frame (0 = none) and its level. */
static struct frame_hit frame_digit(const double *x, size_t w, double s1, double s2,
				    const double *coef, const double *coef2,
				    const struct dtmf_params *p)
{
	struct frame_hit h = {0, -200};
	double e = 0;
	for (size_t i = 0; i < w; i++)
		e += x[i] * x[i];
	double ms = e / s2; /* mean square of the frame (window-corrected) */
	if (ms <= 1e-12)
		return h;
	double pw[8]; /* sine power (a^2 / 2) at each frequency */
	for (int k = 0; k < 8; k++) {
		double a = 2.0 * sqrt(goertzel(x, w, coef[k])) / s1;
		pw[k] = a * a / 2.0;
	}
	int r = 0, c = 4;
	for (int k = 1; k < 4; k++) {
		if (pw[k] > pw[r])
			r = k;
		if (pw[4 + k] > pw[c])
			c = 4 + k;
	}
	double margin = pow(10.0, p->peak_db / 10.0);
	for (int k = 0; k < 4; k++) {
		if (k != r && pw[k] * margin > pw[r])
			return h;
		if (4 + k != c && pw[4 + k] * margin > pw[c])
			return h;
	}
	double lr = 10.0 * log10(pw[r] + 1e-20), lc = 10.0 * log10(pw[c] + 1e-20);
	if (lr < p->min_level_dbfs || lc < p->min_level_dbfs)
		return h;
	double twist = lc - lr;
	if (twist < -p->max_twist_db || twist > p->max_rev_twist_db)
		return h;
	if ((pw[r] + pw[c]) < p->min_purity * ms)
		return h;
	double hdb = pow(10.0, -p->harmonic_db / 10.0);
	for (int k = 0; k < 2; k++) {
		int idx = k ? c : r;
		if (!coef2[idx])
			continue; /* second harmonic above Nyquist */
		double f2 = 2 * (idx < 4 ? row_hz[idx] : col_hz[idx - 4]);
		double other = k ? row_hz[r] : col_hz[c - 4];
		if (fabs(f2 - other) < 110)
			continue; /* the other tone leaks into this filter (697 x 2 near 1336) */
		double a = 2.0 * sqrt(goertzel(x, w, coef2[idx])) / s1;
		if (a * a / 2.0 > hdb * pw[idx])
			return h;
	}
	h.digit = keys[r][c - 4];
	h.level = lr < lc ? lr : lc;
	return h;
}

enum parley_err dtmf_detect(const struct pcm *pcm, const struct dtmf_params *p,
			    struct dtmf_press **out, size_t *n, struct parley_error *err)
{
	struct dtmf_params defs = dtmf_default_params();
	enum parley_err rc = PARLEY_OK;
	double *win = NULL, *x = NULL;
	struct frame_hit *hits = NULL;
	struct dtmf_press *res = NULL;
	size_t nres = 0;
	if (out)
		*out = NULL;
	if (n)
		*n = 0;
	if (!pcm || !out || !n || (pcm->n && !pcm->samples))
		return parley_error_set(err, PARLEY_ERR_INVALID, "dtmf_detect: NULL argument");
	if (pcm->rate < 8000)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"dtmf_detect: sample rate %d Hz is below 8000", pcm->rate);
	if (!p)
		p = &defs;
	size_t w = (size_t)lround(DTMF_WIN * pcm->rate);
	size_t hop = (size_t)lround(DTMF_HOP * pcm->rate);
	if (pcm->n < w)
		return PARLEY_OK;
	size_t nf = (pcm->n - w) / hop + 1;
	win = malloc(w * sizeof(*win));
	x = malloc(w * sizeof(*x));
	hits = calloc(nf, sizeof(*hits));
	if (!win || !x || !hits) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in dtmf_detect");
		goto out;
	}
	double s1 = 0, s2 = 0;
	for (size_t i = 0; i < w; i++) {
		win[i] = 0.5 - 0.5 * cos(2 * M_PI * (i + 0.5) / w);
		s1 += win[i];
		s2 += win[i] * win[i];
	}
	double coef[8], coef2[8];
	for (int k = 0; k < 8; k++) {
		double f = k < 4 ? row_hz[k] : col_hz[k - 4];
		coef[k] = 2 * cos(2 * M_PI * f / pcm->rate);
		coef2[k] = 2 * f < 0.45 * pcm->rate ? 2 * cos(2 * M_PI * 2 * f / pcm->rate) : 0;
	}
	for (size_t f = 0; f < nf; f++) {
		const int16_t *s = pcm->samples + f * hop;
		for (size_t i = 0; i < w; i++)
			x[i] = win[i] * s[i] / 32768.0;
		hits[f] = frame_digit(x, w, s1, s2, coef, coef2, p);
	}
	/* runs of one digit, dropouts < min_gap bridged */
	size_t gap_frames = (size_t)floor(p->min_gap / DTMF_HOP);
	size_t cap = 0;
	for (size_t f = 0; f < nf;) {
		if (!hits[f].digit) {
			f++;
			continue;
		}
		char d = hits[f].digit;
		size_t a = f, b = f; /* last frame with d */
		size_t g = f + 1;
		while (g < nf) {
			if (hits[g].digit == d) {
				b = g++;
				continue;
			}
			if (hits[g].digit || g - b > gap_frames)
				break;
			g++;
		}
		f = b + 1;
		double top = -200;
		for (size_t k = a; k <= b; k++)
			if (hits[k].digit == d && hits[k].level > top)
				top = hits[k].level;
		while (a < b && hits[a].level < top - DTMF_EDGE_DB)
			a++;
		while (b > a && hits[b].level < top - DTMF_EDGE_DB)
			b--;
		/* frames pass when the tone fills ~80% of them (purity): the tone
		 * starts ~0.2 window into the first and ends ~0.2 before the last's end */
		double fw = (double)w / pcm->rate;
		double st = (double)(a * hop) / pcm->rate + DTMF_EDGE_FILL * fw;
		double en = (double)(b * hop) / pcm->rate + (1.0 - DTMF_EDGE_FILL) * fw;
		if (en - st < p->min_tone)
			continue;
		if (nres == cap) {
			size_t nc = cap ? 2 * cap : 16;
			struct dtmf_press *t = realloc(res, nc * sizeof(*res));
			if (!t) {
				rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in dtmf_detect");
				goto out;
			}
			res = t;
			cap = nc;
		}
		res[nres++] = (struct dtmf_press){st, en, d};
	}
	*out = res;
	*n = nres;
	res = NULL;
out:
	free(res);
	free(win);
	free(x);
	free(hits);
	return rc;
}

enum parley_err dtmf_group(const struct dtmf_press *k, size_t n, double seq_gap,
			   struct dtmf_seq **out, size_t *nout, struct parley_error *err)
{
	*out = NULL;
	*nout = 0;
	if (n == 0)
		return PARLEY_OK;
	struct dtmf_seq *s = calloc(n, sizeof(*s));
	if (!s)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in dtmf_group");
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && k[i].start - s[m - 1].end < seq_gap) {
			s[m - 1].end = k[i].end;
			s[m - 1].count++;
			continue;
		}
		s[m++] = (struct dtmf_seq){k[i].start, k[i].end, i, 1};
	}
	*out = s;
	*nout = m;
	return PARLEY_OK;
}
