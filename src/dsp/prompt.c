/* prompt.c — repeated and known recorded prompts by fingerprint; see prompt.h. */
#include "dsp/prompt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/fft.h"

#define FRAME_SEC 0.064
#define NBANDS 17
#define BAND_LO 300.0
#define BAND_HI 3400.0
#define SMOOTH 15      /* frames either side for the bit error rate (0.5 s) */
#define FRAME_BITS 4   /* an edge frame differs in at most this many bits */
#define GAP_MAX 62     /* frames (1 s) of silence bridged inside a match */
#define CANDIDATES 8
#define FLOOR_DB 10.0  /* active frames stand this far over the noise floor */
#define MISS_MAX 31    /* frames (0.5 s) of mismatch bridged inside a match */
#define CHAIN_MAX 64   /* earlier frames with the same bits looked at */

struct prompt_params prompt_default_params(void)
{
	return (struct prompt_params){
		.min_level_dbfs = -45.0,
		.min_len = 2.0,
		.min_lag = 3.0,
		.max_ber = 0.35,
		.min_votes = 8,
		.min_cover = 0.6,
	};
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void prompt_fp_release(struct prompt_fp *fp)
{
	if (!fp)
		return;
	free(fp->bits);
	free(fp->active);
	memset(fp, 0, sizeof(*fp));
}

static double frame_time(size_t i)
{
	return (double)i * PROMPT_HOP_SEC + 0.5 * FRAME_SEC;
}

void prompt_fp_exclude(struct prompt_fp *fp, double start, double end)
{
	for (size_t i = 0; fp && i < fp->n; i++) {
		double t = frame_time(i);
		if (t + 0.5 * FRAME_SEC > start && t - 0.5 * FRAME_SEC < end)
			fp->active[i] = false;
	}
}

enum parley_err prompt_fingerprint(const struct pcm *pcm, double max_seconds,
				   struct prompt_fp *out, struct parley_error *err)
{
	enum parley_err rc = PARLEY_OK;
	struct fft_plan *plan = NULL;
	double *win = NULL, *buf = NULL, *pw = NULL, *lev = NULL, *tmp = NULL;
	if (out)
		memset(out, 0, sizeof(*out));
	if (!pcm || !out || (pcm->n && !pcm->samples))
		return parley_error_set(err, PARLEY_ERR_INVALID, "prompt_fingerprint: NULL argument");
	if (pcm->rate < 8000)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"prompt_fingerprint: sample rate %d Hz is below 8000", pcm->rate);
	size_t nfft = fft_size_for((size_t)(FRAME_SEC * pcm->rate));
	double hop = PROMPT_HOP_SEC * pcm->rate;
	size_t len = pcm->n;
	if (max_seconds > 0 && (double)len > max_seconds * pcm->rate)
		len = (size_t)(max_seconds * pcm->rate);
	if (len < nfft)
		return PARLEY_OK;
	size_t nf = (size_t)((double)(len - nfft) / hop) + 1;
	double min_level = prompt_default_params().min_level_dbfs;
	plan = fft_plan_new(nfft, err);
	if (!plan)
		return err ? err->code : PARLEY_ERR_NOMEM;
	win = malloc(nfft * sizeof(double));
	buf = malloc(nfft * sizeof(double));
	pw = malloc((nfft / 2 + 1) * sizeof(double));
	lev = malloc(nf * sizeof(double));
	tmp = malloc(nf * sizeof(double));
	out->bits = calloc(nf, sizeof(uint16_t));
	out->active = calloc(nf, sizeof(bool));
	if (!win || !buf || !pw || !lev || !tmp || !out->bits || !out->active) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in prompt_fingerprint");
		goto out;
	}
	out->n = nf;
	double w2 = fft_hann(win, nfft);
	size_t edge[NBANDS + 1];
	double bin = (double)pcm->rate / nfft;
	for (int b = 0; b <= NBANDS; b++)
		edge[b] = (size_t)lround(BAND_LO * pow(BAND_HI / BAND_LO, (double)b / NBANDS) / bin);
	double prev[NBANDS] = {0};
	for (size_t f = 0; f < nf; f++) {
		const int16_t *s = pcm->samples + (size_t)((double)f * hop);
		double e = 0;
		for (size_t i = 0; i < nfft; i++) {
			buf[i] = win[i] * s[i] / 32768.0;
			e += buf[i] * buf[i];
		}
		fft_power(plan, buf, pw);
		double be[NBANDS];
		for (int b = 0; b < NBANDS; b++) {
			be[b] = 1e-12;
			for (size_t k = edge[b]; k < edge[b + 1]; k++)
				be[b] += pw[k];
		}
		uint16_t v = 0;
		for (int b = 0; b < NBANDS - 1; b++) {
			double d = (be[b] - be[b + 1]) - (prev[b] - prev[b + 1]);
			if (d > 0)
				v |= (uint16_t)(1u << b);
		}
		memcpy(prev, be, sizeof(prev));
		out->bits[f] = v;
		lev[f] = 10 * log10(e / w2 + 1e-12);
	}
	/* active: above min_level and 10 dB over the noise floor (10th percentile
	 * of the frames that are not digital silence): noise-only frames have
	 * random bits */
	size_t m = 0;
	for (size_t f = 0; f < nf; f++)
		if (lev[f] > -90)
			tmp[m++] = lev[f];
	double floor_db = -120;
	if (m) {
		qsort(tmp, m, sizeof(double), cmp_double);
		floor_db = tmp[m / 10];
	}
	for (size_t f = 0; f < nf; f++)
		out->active[f] = f > 0 && lev[f] >= fmax(min_level, floor_db + FLOOR_DB);
out:
	if (rc)
		prompt_fp_release(out);
	fft_plan_free(plan);
	free(win);
	free(buf);
	free(pw);
	free(lev);
	free(tmp);
	return rc;
}

struct mlist {
	struct prompt_match *v;
	size_t n, cap;
};

static int ml_add(struct mlist *l, struct prompt_match m)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? 2 * l->cap : 8;
		struct prompt_match *t = realloc(l->v, nc * sizeof(*t));
		if (!t)
			return -1;
		l->v = t;
		l->cap = nc;
	}
	l->v[l->n++] = m;
	return 0;
}

static double overlap(double a0, double a1, double b0, double b1)
{
	double d = fmin(a1, b1) - fmax(a0, b0);
	return d > 0 ? d : 0;
}

/* Check offset o (frame t of a against frame t - o of b); add matches. */
static int check_offset(const struct prompt_fp *a, const struct prompt_fp *b, long o, bool self,
			const struct prompt_params *p, int8_t *errs, struct mlist *ml)
{
	size_t lo = o > 0 ? (size_t)o : 0;
	size_t hi = a->n;
	if ((long)b->n + o < (long)hi)
		hi = (size_t)((long)b->n + o);
	if (lo >= hi)
		return 0;
	for (size_t t = lo; t < hi; t++) {
		size_t u = (size_t)((long)t - o);
		errs[t] = a->active[t] && b->active[u] ? (int8_t)__builtin_popcount(a->bits[t] ^ b->bits[u])
						       : -1;
	}
	/* state per frame: 1 match, 0 miss, -1 undefined */
	size_t t = lo;
	long min_frames = lround(p->min_len / PROMPT_HOP_SEC);
	while (t < hi) {
		/* find the next run */
		size_t r0 = 0, r1 = 0, last_match = 0;
		bool in = false;
		double bsum = 0;
		size_t bcnt = 0;
		for (; t < hi; t++) {
			int sum = 0, cnt = 0;
			for (size_t k = t > lo + SMOOTH ? t - SMOOTH : lo; k < hi && k <= t + SMOOTH; k++)
				if (errs[k] >= 0) {
					sum += errs[k];
					cnt++;
				}
			int st = cnt < SMOOTH * 2 / 3 ? -1 : (double)sum / (16.0 * cnt) <= p->max_ber ? 1 : 0;
			if (st == 1) {
				if (!in) {
					in = true;
					r0 = t;
				}
				r1 = last_match = t;
				if (errs[t] >= 0) {
					bsum += errs[t] / 16.0;
					bcnt++;
				}
			} else if (in && t - last_match > (st == 0 ? MISS_MAX : GAP_MAX)) {
				break;
			}
		}
		if (!in)
			break;
		/* edges: frames that match on their own */
		while (r0 < r1 && !(errs[r0] >= 0 && errs[r0] <= FRAME_BITS))
			r0++;
		while (r1 > r0 && !(errs[r1] >= 0 && errs[r1] <= FRAME_BITS))
			r1--;
		if ((long)(r1 - r0) < min_frames)
			continue;
		if (self && (long)(r1 - r0) > o)
			continue; /* a periodic sound matching itself */
		struct prompt_match m = {frame_time(r0) - 0.5 * PROMPT_HOP_SEC,
					 frame_time(r1) + 0.5 * PROMPT_HOP_SEC, 0, 0,
					 bcnt ? bsum / bcnt : 0};
		if (self) {
			m.first_start = m.start - o * PROMPT_HOP_SEC;
			m.first_end = m.end - o * PROMPT_HOP_SEC;
		} else {
			size_t act = 0, hit = 0;
			for (size_t u = 0; u < b->n; u++)
				act += b->active[u];
			for (size_t k = r0; k <= r1; k++)
				hit += errs[k] >= 0 && errs[k] <= FRAME_BITS + 2;
			if (act == 0 || (double)hit < p->min_cover * (double)act)
				continue;
		}
		/* the same match from a neighbouring offset: keep the better one */
		bool dup = false;
		for (size_t i = 0; i < ml->n; i++) {
			struct prompt_match *q = &ml->v[i];
			if (overlap(q->start, q->end, m.start, m.end) > 0.5 * (m.end - m.start)) {
				if (m.ber < q->ber)
					*q = m;
				dup = true;
				break;
			}
		}
		if (!dup && ml_add(ml, m))
			return -1;
	}
	return 0;
}

static int cmp_match(const void *x, const void *y)
{
	const struct prompt_match *a = x, *b = y;
	return (a->start > b->start) - (a->start < b->start);
}

/* Vote offsets, check the best candidates. */
static enum parley_err find(const struct prompt_fp *a, const struct prompt_fp *b, bool self,
			    const struct prompt_params *p, struct prompt_match **out, size_t *n,
			    struct parley_error *err)
{
	enum parley_err rc = PARLEY_OK;
	int32_t *head = NULL, *next = NULL, *votes = NULL;
	int8_t *errs = NULL;
	struct mlist ml = {0};
	*out = NULL;
	*n = 0;
	if (!a->n || !b->n)
		return PARLEY_OK;
	size_t nv = a->n + b->n; /* offset o = t - u in (-b->n, a->n): index o + b->n */
	head = malloc(65536 * sizeof(int32_t));
	next = malloc(b->n * sizeof(int32_t));
	votes = calloc(nv, sizeof(int32_t));
	errs = malloc(a->n * sizeof(int8_t));
	if (!head || !next || !votes || !errs) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in prompt matching");
		goto out;
	}
	long min_lag = lround(p->min_lag / PROMPT_HOP_SEC);
	for (size_t i = 0; i < 65536; i++)
		head[i] = -1;
	if (!self)
		for (size_t u = 0; u < b->n; u++)
			if (b->active[u]) {
				next[u] = head[b->bits[u]];
				head[b->bits[u]] = (int32_t)u;
			}
	for (size_t t = 0; t < a->n; t++) {
		if (!a->active[t])
			continue;
		int walked = 0;
		for (int32_t u = head[a->bits[t]]; u >= 0 && walked < CHAIN_MAX; u = next[u], walked++) {
			long o = (long)t - u;
			if (self && o < min_lag)
				continue;
			votes[o + (long)b->n]++;
		}
		if (self) { /* frames join the table as they are passed */
			next[t] = head[a->bits[t]];
			head[a->bits[t]] = (int32_t)t;
		}
	}
	for (int c = 0; c < CANDIDATES; c++) {
		size_t best = 0;
		int32_t bv = 0;
		for (size_t i = 0; i < nv; i++)
			if (votes[i] > bv) {
				bv = votes[i];
				best = i;
			}
		if (bv < p->min_votes)
			break;
		for (size_t i = best > 2 ? best - 2 : 0; i < nv && i <= best + 2; i++)
			votes[i] = 0;
		if (check_offset(a, b, (long)best - (long)b->n, self, p, errs, &ml)) {
			rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in prompt matching");
			goto out;
		}
	}
	if (ml.n)
		qsort(ml.v, ml.n, sizeof(*ml.v), cmp_match);
	*out = ml.v;
	*n = ml.n;
	ml.v = NULL;
out:
	free(ml.v);
	free(head);
	free(next);
	free(votes);
	free(errs);
	return rc;
}

enum parley_err prompt_find_repeats(const struct prompt_fp *fp, const struct prompt_params *p,
				    struct prompt_match **out, size_t *n, struct parley_error *err)
{
	struct prompt_params defs = prompt_default_params();
	if (out)
		*out = NULL;
	if (n)
		*n = 0;
	if (!fp || !out || !n)
		return parley_error_set(err, PARLEY_ERR_INVALID, "prompt_find_repeats: NULL argument");
	return find(fp, fp, true, p ? p : &defs, out, n, err);
}

enum parley_err prompt_find_known(const struct prompt_fp *call, const struct prompt_fp *known,
				  const struct prompt_params *p, struct prompt_match **out,
				  size_t *n, struct parley_error *err)
{
	struct prompt_params defs = prompt_default_params();
	if (out)
		*out = NULL;
	if (n)
		*n = 0;
	if (!call || !known || !out || !n)
		return parley_error_set(err, PARLEY_ERR_INVALID, "prompt_find_known: NULL argument");
	return find(call, known, false, p ? p : &defs, out, n, err);
}
