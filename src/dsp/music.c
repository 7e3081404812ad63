/* music.c — music spans by spectral stability and continuity; see music.h. */
#include "dsp/music.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/fft.h"

#define FRAME_SEC 0.064
#define HOP_SEC 0.020
#define LAG 5          /* frames: 100 ms */
#define BAND_LO 100.0
#define BAND_HI 4000.0
#define DIP_DB 15.0
#define FLAT_LO 300.0  /* flatness band: the telephone band */
#define FLAT_HI 3400.0
#define STEP_SEC 0.5
#define EDGE_MAX 1.5   /* s an edge may move outwards */
#define EDGE_GAP 5     /* frames (100 ms) of rest stepped over at an edge */
#define CORE_RUN 25    /* frames (0.5 s) judged together at an edge */
#define SMOOTH 5       /* frames either side for the edges' stability */
#define FRAME_FLAT 0.3 /* an edge frame's flatness at most (noise is ~0.5) */

struct music_params music_default_params(void)
{
	return (struct music_params){
		.window = 3.0,
		.min_stability = 0.7,
		.max_dips = 0.05,
		.min_level_dbfs = -50.0,
		.min_span = 4.0,
		.max_flatness = 0.1,
	};
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Cosine similarity of two magnitude spectra of n bins (0..1); -1 when
 * either is all zero. */
static double cosine(const double *a, const double *b, size_t n)
{
	double dot = 0, a2 = 0, b2 = 0;
	for (size_t k = 0; k < n; k++) {
		dot += a[k] * b[k];
		a2 += a[k] * a[k];
		b2 += b[k] * b[k];
	}
	return a2 > 0 && b2 > 0 ? dot / sqrt(a2 * b2) : -1.0;
}

static double quantile(double *v, size_t n, double q)
{
	qsort(v, n, sizeof(double), cmp_double);
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

double music_stability(const struct pcm *pcm, double start, double end)
{
	size_t nfft = fft_size_for((size_t)(FRAME_SEC * pcm->rate));
	size_t hop = (size_t)lround(HOP_SEC * pcm->rate);
	size_t s0 = (size_t)(fmax(start, 0) * pcm->rate), s1 = (size_t)(end * pcm->rate);
	if (s1 > pcm->n)
		s1 = pcm->n;
	if (s1 < s0 + nfft + (LAG + 2) * hop || end - start < 0.2)
		return 0;
	size_t nf = (s1 - s0 - nfft) / hop + 1;
	double bin = (double)pcm->rate / nfft;
	size_t klo = (size_t)ceil(BAND_LO / bin);
	size_t khi = (size_t)floor(fmin(BAND_HI, 0.45 * pcm->rate) / bin);
	size_t nb = khi - klo + 1;
	double res = -1;
	struct fft_plan *plan = fft_plan_new(nfft, NULL);
	double *win = malloc(nfft * sizeof(double)), *buf = malloc(nfft * sizeof(double));
	double *pw = malloc((nfft / 2 + 1) * sizeof(double));
	double *mag = malloc((LAG + 1) * nb * sizeof(double)), *st = malloc(nf * sizeof(double));
	if (!plan || !win || !buf || !pw || !mag || !st)
		goto out;
	fft_hann(win, nfft);
	size_t m = 0;
	for (size_t f = 0; f < nf; f++) {
		const int16_t *s = pcm->samples + s0 + f * hop;
		for (size_t i = 0; i < nfft; i++)
			buf[i] = win[i] * s[i] / 32768.0;
		fft_power(plan, buf, pw);
		double *cur = mag + (f % (LAG + 1)) * nb;
		for (size_t k = 0; k < nb; k++)
			cur[k] = sqrt(pw[klo + k]);
		if (f < LAG)
			continue;
		const double *o = mag + ((f - LAG) % (LAG + 1)) * nb;
		double c = cosine(cur, o, nb);
		if (c >= 0)
			st[m++] = c;
	}
	res = m ? quantile(st, m, 0.5) : 0;
out:
	fft_plan_free(plan);
	free(win);
	free(buf);
	free(pw);
	free(mag);
	free(st);
	return res;
}

enum parley_err music_detect(const struct pcm *pcm, const struct music_params *p,
			     struct music_span **out, size_t *n, struct parley_error *err)
{
	struct music_params defs = music_default_params();
	enum parley_err rc = PARLEY_OK;
	struct fft_plan *plan = NULL;
	double *win = NULL, *buf = NULL, *pw = NULL, *mag = NULL, *stab = NULL, *flat = NULL;
	double *sstab = NULL, *lev = NULL, *tmp = NULL;
	bool *mus = NULL;
	struct music_span *res = NULL;
	size_t nres = 0;
	if (out)
		*out = NULL;
	if (n)
		*n = 0;
	if (!pcm || !out || !n || (pcm->n && !pcm->samples))
		return parley_error_set(err, PARLEY_ERR_INVALID, "music_detect: NULL argument");
	if (!p)
		p = &defs;
	if (pcm->rate < 8000 || p->window < 1.0)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"music_detect: rate %d Hz (>= 8000) or window %g s (>= 1)",
					pcm->rate, p->window);
	size_t nfft = fft_size_for((size_t)(FRAME_SEC * pcm->rate));
	size_t hop = (size_t)lround(HOP_SEC * pcm->rate);
	if (pcm->n < nfft)
		return PARLEY_OK;
	size_t nf = (pcm->n - nfft) / hop + 1;
	double bin = (double)pcm->rate / nfft;
	size_t klo = (size_t)ceil(BAND_LO / bin);
	size_t khi = (size_t)floor(fmin(BAND_HI, 0.45 * pcm->rate) / bin);
	size_t nb = khi - klo + 1;
	size_t flo = (size_t)ceil(FLAT_LO / bin), fhi = (size_t)floor(FLAT_HI / bin);
	plan = fft_plan_new(nfft, err);
	if (!plan)
		return err ? err->code : PARLEY_ERR_NOMEM;
	win = malloc(nfft * sizeof(double));
	buf = malloc(nfft * sizeof(double));
	pw = malloc((nfft / 2 + 1) * sizeof(double));
	mag = malloc((LAG + 1) * nb * sizeof(double));
	stab = calloc(nf, sizeof(double));
	flat = calloc(nf, sizeof(double));
	sstab = calloc(nf, sizeof(double));
	lev = calloc(nf, sizeof(double));
	tmp = malloc(nf * sizeof(double));
	mus = calloc(nf, sizeof(bool));
	if (!win || !buf || !pw || !mag || !stab || !flat || !sstab || !lev || !tmp || !mus) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in music_detect");
		goto out;
	}
	double w2 = fft_hann(win, nfft);
	for (size_t f = 0; f < nf; f++) {
		const int16_t *s = pcm->samples + f * hop;
		double e = 0;
		for (size_t i = 0; i < nfft; i++) {
			buf[i] = win[i] * s[i] / 32768.0;
			e += buf[i] * buf[i];
		}
		lev[f] = 10 * log10(e / w2 + 1e-12);
		fft_power(plan, buf, pw);
		double *m = mag + (f % (LAG + 1)) * nb;
		double lsum = 0, asum = 0;
		for (size_t k = 0; k < nb; k++)
			m[k] = sqrt(pw[klo + k]);
		/* flatness over the telephone band only: 8 kHz audio has nothing
		 * outside it, and noise band-limited there would look less flat */
		for (size_t k = flo; k <= fhi; k++) {
			lsum += log(pw[k] + 1e-20);
			asum += pw[k];
		}
		flat[f] = asum > 0 ? exp(lsum / (fhi - flo + 1)) / (asum / (fhi - flo + 1)) : 1.0;
		if (f < LAG)
			continue;
		const double *o = mag + ((f - LAG) % (LAG + 1)) * nb;
		double c = cosine(m, o, nb);
		stab[f] = c >= 0 ? c : 0;
	}
	/* windows */
	size_t wf = (size_t)(p->window / HOP_SEC), step = (size_t)(STEP_SEC / HOP_SEC);
	bool dbg = getenv("PARLEY_MUSIC_DEBUG") != NULL;
	for (size_t a = LAG; a + wf <= nf; a += step) {
		memcpy(tmp, lev + a, wf * sizeof(double));
		double top = quantile(tmp, wf, 0.9);
		size_t dips = 0;
		for (size_t k = a; k < a + wf; k++)
			dips += lev[k] < top - DIP_DB;
		memcpy(tmp, stab + a, wf * sizeof(double));
		double med = quantile(tmp, wf, 0.5);
		double dipf = (double)dips / wf;
		memcpy(tmp, flat + a, wf * sizeof(double));
		double fl = quantile(tmp, wf, 0.5);
		bool yes = med >= p->min_stability && dipf <= p->max_dips && top >= p->min_level_dbfs &&
			   fl <= p->max_flatness;
		if (dbg)
			fprintf(stderr, "win %.2f stab %.3f dips %.3f top %.1f flat %.4f %s\n",
				(double)(a * hop) / pcm->rate, med, dipf, top, fl, yes ? "MUSIC" : "-");
		if (yes)
			for (size_t k = a; k < a + wf; k++)
				mus[k] = true;
	}
	/* stability smoothed over +-SMOOTH frames, for the edges */
	for (size_t f = 0; f < nf; f++) {
		double sum = 0;
		size_t c = 0;
		for (size_t k = f > SMOOTH ? f - SMOOTH : 0; k < nf && k <= f + SMOOTH; k++, c++)
			sum += stab[k];
		sstab[f] = sum / c;
	}
	/* spans, edges moved outwards over frames near the span's level */
	size_t cap = 0;
	double half = 0.5 * (double)nfft / pcm->rate;
	size_t edge = (size_t)(EDGE_MAX / HOP_SEC);
	for (size_t f = 0; f < nf;) {
		if (!mus[f]) {
			f++;
			continue;
		}
		size_t a = f, b = f;
		while (b + 1 < nf && mus[b + 1])
			b++;
		f = b + 1;
		size_t m = 0;
		for (size_t k = a; k <= b; k++)
			tmp[m++] = lev[k];
		double medlev = quantile(tmp, m, 0.5);
		m = 0;
		for (size_t k = a; k <= b; k++)
			tmp[m++] = stab[k];
		double medstab = quantile(tmp, m, 0.5);
		/* the windows' own edges: move in over frames that are not music-like,
		 * then out over frames that are */
#define MUSICAL(k) (lev[k] >= medlev - DIP_DB && flat[k] <= FRAME_FLAT && \
		    sstab[k] >= p->min_stability - 0.1)
		/* at the start the frame 100 ms later tells (the one before is silence) */
#define MUSICAL_START(k) (lev[k] >= medlev - DIP_DB && flat[k] <= FRAME_FLAT && \
			  sstab[(k) + LAG < nf ? (k) + LAG : nf - 1] >= p->min_stability - 0.1)
#define CORE(k) (lev[k] >= medlev - DIP_DB && flat[k] <= p->max_flatness && \
		 sstab[k] >= p->min_stability)
		/* in: to where most of the next CORE_RUN frames pass on their own */
		for (; a + CORE_RUN < b; a++) {
			size_t c = 0;
			for (size_t k = a; k < a + CORE_RUN; k++)
				c += CORE(k);
			if (CORE(a) && c >= CORE_RUN * 4 / 5)
				break;
		}
		for (; b > a + CORE_RUN; b--) {
			size_t c = 0;
			for (size_t k = b + 1 - CORE_RUN; k <= b; k++)
				c += CORE(k);
			if (CORE(b) && c >= CORE_RUN * 4 / 5)
				break;
		}
#undef CORE
		/* out, stepping over rests between notes (up to EDGE_GAP frames) */
		for (size_t moved = 0; moved < edge;) {
			size_t k = 1;
			while (k <= EDGE_GAP && k <= a && !MUSICAL_START(a - k))
				k++;
			if (k > EDGE_GAP || k > a)
				break;
			a -= k;
			moved += k;
		}
		for (size_t moved = 0; moved < edge;) {
			size_t k = 1;
			while (k <= EDGE_GAP && b + k < nf && !MUSICAL(b + k))
				k++;
			if (k > EDGE_GAP || b + k >= nf)
				break;
			b += k;
			moved += k;
		}
#undef MUSICAL
#undef MUSICAL_START
		double st = (double)(a * hop) / pcm->rate + half, en = (double)(b * hop) / pcm->rate + half;
		if (en - st < p->min_span)
			continue;
		if (nres && st <= res[nres - 1].end) {
			res[nres - 1].end = fmax(res[nres - 1].end, en);
			continue;
		}
		if (nres == cap) {
			size_t nc = cap ? 2 * cap : 8;
			struct music_span *t = realloc(res, nc * sizeof(*res));
			if (!t) {
				rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in music_detect");
				goto out;
			}
			res = t;
			cap = nc;
		}
		res[nres++] = (struct music_span){st, en, medstab};
	}
	*out = res;
	*n = nres;
	res = NULL;
out:
	fft_plan_free(plan);
	free(win);
	free(buf);
	free(pw);
	free(mag);
	free(stab);
	free(flat);
	free(sstab);
	free(lev);
	free(tmp);
	free(mus);
	free(res);
	return rc;
}
