/* diarize.c — see diarize.h for the method and the contract. */
#include "dsp/diarize.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/mfcc.h"
#include "dsp/pitch.h"
#include "dsp/spectral.h"
#include "util/log.h"

#define DIM 19             /* cepstra c1 .. c19 (c0 is loudness, not voice) */
#define EMB_F0 (2 * DIM)   /* embedding column of the window's mean log F0 */
#define EMB_F0_SPREAD (2 * DIM + 1) /* ... and of its standard deviation */
#define EDIM (2 * DIM + 2) /* window embedding: cepstral mean, deviation, pitch */
#define PITCH_STEP 2       /* F0 every PITCH_STEP frames (20 ms) */
#define MIN_WIN_VOICED 5   /* F0 estimates a window needs for its own pitch */
#define MIN_MERGE_VOICED 25 /* F0 estimates (0.5 s voiced) a cluster needs to be merged by pitch */
#define SEG_FRAMES 10      /* frames per segment: 0.1 s at the 10 ms hop */
#define CHUNK_FRAMES 1024  /* MFCC frames computed at a time */
#define MIN_WIN_FRAMES 30  /* un-gated frames a window needs (0.3 s) */
#define VAR_FLOOR 0.02     /* speaker model variance floor (global variance = 1) */
#define MEDIAN_TO_VAR (1.0 / (2.0 * 0.4549)) /* median of (a-b)^2 → variance, Gaussian */
#define GATE_LO (-24.0)    /* energy histogram: ln(1e-10) rounded down */
#define GATE_STEP 0.05
#define GATE_BINS 1400

struct seg {
	double start, end;
	size_t region;
	int nfr; /* frames that passed the energy gate */
};

struct win {
	size_t first, last; /* segments [first, last) */
	double center;      /* seconds */
};

/* Consecutive windows of one region, clustered as one point. */
struct unit {
	size_t first, n; /* windows [first, first + n) */
};

/* A speaker model: diagonal Gaussian over the normalised cepstra. */
struct model {
	double mean[DIM];
	double var[DIM];
	double logdet; /* sum of log var */
};

struct diar {
	const struct diar_params *p;
	struct parley_error *err;
	const struct pcm *pcm;

	struct vad_region *reg; /* sorted, merged, clamped */
	size_t nreg;
	size_t *reg_seg; /* nreg + 1: first segment of each region */

	struct seg *seg;
	size_t nseg;
	float *sum, *sq; /* nseg * DIM: normalised to global zero mean, unit variance */
	float *f0; /* nseg * 3: voiced F0 estimates, sum of log F0, sum of squares */
	double total_frames;

	struct win *win;
	size_t nwin;
	float *emb; /* nwin * EDIM: window mean and deviation, scaled to unit within-speaker spread */
	size_t lag; /* index distance of non-overlapping neighbour windows */

	struct unit *unit;
	size_t nunit;
};

struct diar_params diar_default_params(void)
{
	return (struct diar_params){
		.num_speakers = 0,
		.min_speakers = 1,
		.max_speakers = 8,
		.window = 1.5,
		.hop = 0.75,
		.unit_seconds = 6.0,
		.change_unit_seconds = 1.5,
		.split_threshold = 17.0,
		.split_noise = 125.0,
		.min_cluster = 0.06,
		.gate_db = 30.0,
		.min_turn = 0.5,
		.change_penalty = 50.0,
		.resegment_iters = 2,
		.max_units = 2000,
		.method = DIAR_WARD,
		.affinity_scale = 1.0,
		.affinity_neighbours = 4,
		.std_weight = 0.0,
		.spectral_max_points = 400,
		.pitch_weight = 2.0,
		.pitch_spread_weight = 0.0,
		.merge_f0_glr = 0.05,
		.merge_cep_glr = 1.5,
		.overlap = false,
		.overlap_ratio = 0.7,
		.overlap_max = 0.8,
		.bridge = 1.0,
	};
}

static enum parley_err nomem(const struct diar *d)
{
	return parley_error_set(d->err, PARLEY_ERR_NOMEM, "diarize: out of memory");
}

static bool aborted(const struct diar *d)
{
	return d->p->abort && d->p->abort(d->p->user_data);
}

static enum parley_err abort_error(const struct diar *d)
{
	return parley_error_set(d->err, PARLEY_ERR_ABORTED, "diarize: stopped on request");
}

static void progress(const struct diar *d, double f)
{
	if (d->p->progress)
		d->p->progress(f, d->p->user_data);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* ---- regions ---------------------------------------------------------- */

static int cmp_region(const void *a, const void *b)
{
	const struct vad_region *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Copy, clamp to the signal, drop empty, sort, merge overlapping. */
static enum parley_err normalise_regions(struct diar *d, const struct vad_region *in, size_t n)
{
	double dur = pcm_seconds(d->pcm);
	d->reg = malloc((n ? n : 1) * sizeof(*d->reg));
	if (!d->reg)
		return nomem(d);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		double s = in[i].start, e = in[i].end;
		if (!isfinite(s) || !isfinite(e))
			return parley_error_set(d->err, PARLEY_ERR_INVALID,
						"diarize: speech region %zu has a non-finite time", i);
		s = s < 0.0 ? 0.0 : s;
		e = e > dur ? dur : e;
		if (e > s)
			d->reg[m++] = (struct vad_region){s, e};
	}
	qsort(d->reg, m, sizeof(*d->reg), cmp_region);
	size_t k = 0;
	for (size_t i = 0; i < m; i++) {
		if (k > 0 && d->reg[i].start <= d->reg[k - 1].end) {
			if (d->reg[i].end > d->reg[k - 1].end)
				d->reg[k - 1].end = d->reg[i].end;
			continue;
		}
		d->reg[k++] = d->reg[i];
	}
	double total = 0.0;
	for (size_t i = 0; i < k; i++)
		total += d->reg[i].end - d->reg[i].start;
	if (total > DIAR_MAX_SPEECH_SECONDS)
		return parley_error_set(d->err, PARLEY_ERR_TOO_LARGE,
					"diarize: %.0f s of speech exceeds the limit of %.0f s", total,
					DIAR_MAX_SPEECH_SECONDS);
	d->nreg = k;
	return PARLEY_OK;
}

/* ---- features --------------------------------------------------------- */

/* Frames of region r: those whose centre lies in [start, end). */
static void region_frames(const struct diar *d, const struct mfcc *m, size_t r, size_t *t0,
			  size_t *t1)
{
	double rate = d->pcm->rate;
	double hop = (double)mfcc_hop_samples(m), half = (double)mfcc_win_samples(m) / 2.0;
	double total = (double)mfcc_frame_count(m, d->pcm->n);
	double a = ceil((d->reg[r].start * rate - half) / hop);
	double b = ceil((d->reg[r].end * rate - half) / hop);
	a = a < 0 ? 0 : a > total ? total : a;
	b = b < a ? a : b > total ? total : b;
	*t0 = (size_t)a;
	*t1 = (size_t)b;
}

/* Natural log of a frame's energy, as mfcc.c computes it (DC removed). */
static double frame_log_energy(const int16_t *x, size_t n)
{
	double mean = 0.0, e = 0.0;
	for (size_t i = 0; i < n; i++)
		mean += x[i];
	mean /= (double)n;
	for (size_t i = 0; i < n; i++)
		e += (x[i] - mean) * (x[i] - mean);
	return log(e > 1e-10 ? e : 1e-10);
}

/* The energy below which a speech frame is ignored: gate_db under the 95th
 * percentile of all speech frames (from a histogram: bounded memory). */
static double energy_gate(const struct diar *d, const struct mfcc *m)
{
	size_t hist[GATE_BINS] = {0}, total = 0;
	size_t hop = mfcc_hop_samples(m), win = mfcc_win_samples(m);
	for (size_t r = 0; r < d->nreg; r++) {
		size_t t0, t1;
		region_frames(d, m, r, &t0, &t1);
		for (size_t t = t0; t < t1; t++) {
			double e = frame_log_energy(d->pcm->samples + t * hop, win);
			long b = lround((e - GATE_LO) / GATE_STEP);
			hist[b < 0 ? 0 : b >= GATE_BINS ? GATE_BINS - 1 : b]++;
			total++;
		}
	}
	size_t top = total / 20, seen = 0;
	long b = GATE_BINS - 1;
	while (b > 0 && seen + hist[b] <= top)
		seen += hist[b--];
	return GATE_LO + (double)b * GATE_STEP - d->p->gate_db * log(10.0) / 10.0;
}

/*
 * MFCCs of the speech, summarised per 0.1 s segment (frame count, sum, sum
 * of squares of c1..c19), then normalised to zero mean and unit variance
 * over all speech.
 */
static enum parley_err extract(struct diar *d)
{
	struct mfcc_params mp = mfcc_default_params();
	mp.num_ceps = DIM + 1;
	mp.log_energy = true;
	const int cols = DIM + 2; /* c0, c1..c19, log energy */
	struct mfcc *m = mfcc_new(&mp, d->pcm->rate, d->err);
	if (!m) {
		parley_error_prefix(d->err, "diarize");
		return d->err->code;
	}
	enum parley_err rc = PARLEY_OK;
	float *buf = malloc((size_t)CHUNK_FRAMES * (size_t)cols * sizeof(float));
	struct pitch *pt = NULL;
	if (d->p->pitch_weight > 0.0 || d->p->pitch_spread_weight > 0.0) {
		pt = pitch_new(d->pcm->rate, d->err);
		if (!pt) {
			parley_error_prefix(d->err, "diarize");
			rc = d->err->code;
			goto out;
		}
	}
	size_t cap = 0;
	for (size_t r = 0; r < d->nreg; r++) {
		size_t t0, t1;
		region_frames(d, m, r, &t0, &t1);
		cap += (t1 - t0 + SEG_FRAMES - 1) / SEG_FRAMES;
	}
	d->reg_seg = calloc(d->nreg + 1, sizeof(size_t));
	d->seg = calloc(cap ? cap : 1, sizeof(*d->seg));
	d->sum = calloc((cap ? cap : 1) * DIM, sizeof(float));
	d->sq = calloc((cap ? cap : 1) * DIM, sizeof(float));
	d->f0 = calloc((cap ? cap : 1) * 3, sizeof(float));
	if (!buf || !d->reg_seg || !d->seg || !d->sum || !d->sq || !d->f0) {
		rc = nomem(d);
		goto out;
	}
	double gate = energy_gate(d, m);
	double rate = d->pcm->rate, hop = (double)mfcc_hop_samples(m);
	double half = (double)mfcc_win_samples(m) / 2.0;
	double gsum[DIM] = {0}, gsq[DIM] = {0};
	size_t ns = 0;
	for (size_t r = 0; r < d->nreg; r++) {
		if (aborted(d)) {
			rc = abort_error(d);
			goto out;
		}
		d->reg_seg[r] = ns;
		size_t t0, t1;
		region_frames(d, m, r, &t0, &t1);
		for (size_t c = t0; c < t1; c += CHUNK_FRAMES) {
			size_t cnt = t1 - c < CHUNK_FRAMES ? t1 - c : CHUNK_FRAMES;
			mfcc_frames(m, d->pcm->samples, d->pcm->n, c, cnt, buf);
			for (size_t i = 0; i < cnt; i++) {
				size_t t = c + i;
				size_t s = d->reg_seg[r] + (t - t0) / SEG_FRAMES;
				if ((t - t0) % SEG_FRAMES == 0) {
					d->seg[s].start = ((double)t * hop + half - hop / 2) / rate;
					d->seg[s].region = r;
					ns = s + 1;
				}
				const float *x = buf + i * (size_t)cols + 1;
				if (x[DIM] < gate)
					continue;
				float *su = d->sum + s * DIM, *sq = d->sq + s * DIM;
				for (int k = 0; k < DIM; k++) {
					su[k] += x[k];
					sq[k] += x[k] * x[k];
					gsum[k] += x[k];
					gsq[k] += (double)x[k] * x[k];
				}
				d->seg[s].nfr++;
				d->total_frames += 1.0;
				if (pt && t % PITCH_STEP == 0) {
					size_t centre = t * mfcc_hop_samples(m) + mfcc_win_samples(m) / 2;
					double f = pitch_at(pt, d->pcm->samples, d->pcm->n, centre);
					if (f > 0.0) {
						double lf = log(f);
						d->f0[s * 3] += 1.0f;
						d->f0[s * 3 + 1] += (float)lf;
						d->f0[s * 3 + 2] += (float)(lf * lf);
					}
				}
			}
		}
		for (size_t s = d->reg_seg[r]; s < ns; s++)
			d->seg[s].end = s + 1 < ns ? d->seg[s + 1].start : d->reg[r].end;
		if (ns > d->reg_seg[r])
			d->seg[d->reg_seg[r]].start = d->reg[r].start;
		progress(d, 0.6 * (double)(r + 1) / (double)d->nreg);
	}
	d->reg_seg[d->nreg] = ns;
	d->nseg = ns;

	if (d->total_frames > 0) {
		double mu[DIM], sd[DIM];
		for (int k = 0; k < DIM; k++) {
			mu[k] = gsum[k] / d->total_frames;
			double v = gsq[k] / d->total_frames - mu[k] * mu[k];
			sd[k] = sqrt(v > 1e-6 ? v : 1e-6);
		}
		for (size_t s = 0; s < ns; s++) {
			double n = d->seg[s].nfr;
			float *su = d->sum + s * DIM, *sq = d->sq + s * DIM;
			for (int k = 0; k < DIM; k++) {
				double a = su[k], b = sq[k];
				su[k] = (float)((a - n * mu[k]) / sd[k]);
				sq[k] = (float)((b - 2 * mu[k] * a + n * mu[k] * mu[k]) /
						(sd[k] * sd[k]));
			}
		}
	}
out:
	free(buf);
	pitch_free(pt);
	mfcc_free(m);
	return rc;
}

/* ---- windows and units ------------------------------------------------ */

/*
 * Scale every dimension to unit within-speaker variance, estimated from the
 * differences of neighbour windows of the same region (a speaker rarely
 * changes there; the median ignores the times it does): window w against
 * the window lag places on, or the region's last one. When the two overlap
 * (short regions) their difference is scaled up by the share they do not
 * have in common, as for frames that are independent.
 */
static enum parley_err whiten(struct diar *d)
{
	double *dif = malloc((d->nwin ? d->nwin : 1) * sizeof(double));
	size_t *pair = malloc((d->nwin ? d->nwin : 1) * sizeof(size_t));
	double *gain = malloc((d->nwin ? d->nwin : 1) * sizeof(double));
	if (!dif || !pair || !gain) {
		free(dif);
		free(pair);
		free(gain);
		return nomem(d);
	}
	for (size_t w = 0; w < d->nwin; w++) {
		size_t r = d->seg[d->win[w].first].region, v = w;
		while (v + 1 < d->nwin && v < w + d->lag &&
		       d->seg[d->win[v + 1].first].region == r)
			v++;
		pair[w] = v;
		double len = (double)(d->win[w].last - d->win[w].first);
		double shared = d->win[v].first < d->win[w].last
					? (double)(d->win[w].last - d->win[v].first)
					: 0.0;
		double apart = 1.0 - shared / len;
		gain[w] = v > w && apart >= 0.2 ? 1.0 / apart : 0.0;
	}
	for (int k = 0; k < EDIM; k++) {
		size_t m = 0;
		for (size_t w = 0; w < d->nwin; w++) {
			if (gain[w] == 0.0)
				continue;
			double t = d->emb[w * EDIM + k] - d->emb[pair[w] * EDIM + k];
			dif[m++] = t * t * gain[w];
		}
		double var = 1.0;
		if (m >= 5) {
			qsort(dif, m, sizeof(double), cmp_double);
			var = dif[m / 2] * MEDIAN_TO_VAR;
		}
		double sc = 1.0 / sqrt(var > 1e-4 ? var : 1e-4);
		if (k == EMB_F0)
			sc *= d->p->pitch_weight;
		else if (k == EMB_F0_SPREAD)
			sc *= d->p->pitch_spread_weight;
		else if (k >= DIM) /* deviations: weighted; Ward's thresholds know only means */
			sc *= d->p->method == DIAR_WARD ? 0.0 : d->p->std_weight;
		for (size_t w = 0; w < d->nwin; w++)
			d->emb[w * EDIM + k] = (float)(d->emb[w * EDIM + k] * sc);
	}
	free(dif);
	free(pair);
	free(gain);
	return PARLEY_OK;
}

/* Windows with too few F0 estimates take the mean pitch of their region's
 * other windows, or of all windows (0 if nothing is voiced). */
static void fill_pitch(struct diar *d)
{
	double all[2] = {0}, nall = 0;
	for (size_t w = 0; w < d->nwin; w++)
		if (!isnan(d->emb[w * EDIM + EMB_F0])) {
			all[0] += d->emb[w * EDIM + EMB_F0];
			all[1] += d->emb[w * EDIM + EMB_F0_SPREAD];
			nall++;
		}
	for (size_t i = 0; i < d->nwin;) {
		size_t r = d->seg[d->win[i].first].region, j = i;
		double reg[2] = {0}, nreg = 0;
		while (j < d->nwin && d->seg[d->win[j].first].region == r) {
			if (!isnan(d->emb[j * EDIM + EMB_F0])) {
				reg[0] += d->emb[j * EDIM + EMB_F0];
				reg[1] += d->emb[j * EDIM + EMB_F0_SPREAD];
				nreg++;
			}
			j++;
		}
		const double *src = nreg > 0 ? reg : all;
		double cnt = nreg > 0 ? nreg : nall > 0 ? nall : 1;
		for (size_t w = i; w < j; w++)
			if (isnan(d->emb[w * EDIM + EMB_F0])) {
				d->emb[w * EDIM + EMB_F0] = (float)(src[0] / cnt);
				d->emb[w * EDIM + EMB_F0_SPREAD] = (float)(src[1] / cnt);
			}
		i = j;
	}
}

/* Windows of `window` seconds every `hop` inside each region (a shorter
 * region is one window), described by their mean normalised cepstrum. */
static enum parley_err make_windows(struct diar *d)
{
	size_t W = (size_t)lround(d->p->window / (SEG_FRAMES * 0.01));
	size_t H = (size_t)lround(d->p->hop / (SEG_FRAMES * 0.01));
	W = W < 1 ? 1 : W;
	H = H < 1 ? 1 : H > W ? W : H;
	d->lag = (W + H - 1) / H;
	size_t cap = 0;
	for (size_t r = 0; r < d->nreg; r++)
		cap += (d->reg_seg[r + 1] - d->reg_seg[r]) / H + 2;
	d->win = malloc((cap ? cap : 1) * sizeof(*d->win));
	d->emb = malloc((cap ? cap : 1) * EDIM * sizeof(float));
	if (!d->win || !d->emb)
		return nomem(d);
	size_t nw = 0;
	for (size_t r = 0; r < d->nreg; r++) {
		size_t a = d->reg_seg[r], b = d->reg_seg[r + 1];
		for (size_t s = a; s < b; s += H) {
			size_t first = b - s <= W ? (s == a ? a : b - W) : s;
			size_t last = first + W < b ? first + W : b;
			double n = 0, sum[DIM] = {0}, sq[DIM] = {0}, f0[3] = {0};
			for (size_t g = first; g < last; g++) {
				n += d->seg[g].nfr;
				for (int k = 0; k < 3; k++)
					f0[k] += d->f0[g * 3 + k];
				for (int k = 0; k < DIM; k++) {
					sum[k] += d->sum[g * DIM + k];
					sq[k] += d->sq[g * DIM + k];
				}
			}
			if (n >= MIN_WIN_FRAMES) {
				float *e = d->emb + nw * EDIM;
				for (int k = 0; k < DIM; k++) {
					double mu = sum[k] / n, v = sq[k] / n - mu * mu;
					e[k] = (float)mu;
					e[DIM + k] = (float)sqrt(v > 1e-6 ? v : 1e-6);
				}
				/* pitch; NAN until filled in below when too little is voiced */
				e[EMB_F0] = e[EMB_F0_SPREAD] = NAN;
				if (f0[0] >= MIN_WIN_VOICED) {
					double mu = f0[1] / f0[0], v = f0[2] / f0[0] - mu * mu;
					e[EMB_F0] = (float)mu;
					e[EMB_F0_SPREAD] = (float)sqrt(v > 1e-6 ? v : 1e-6);
				}
				d->win[nw++] = (struct win){
					first, last,
					0.5 * (d->seg[first].start + d->seg[last - 1].end)};
			}
			if (last == b)
				break;
		}
	}
	d->nwin = nw;
	fill_pitch(d);
	return whiten(d);
}

/* Cut the windows into units: runs of consecutive windows of one region
 * with the same label (wl NULL: no labels), at most max_run seconds long. */
static void make_units(struct diar *d, const int *wl, double max_run)
{
	size_t nu = 0, start = 0;
	for (size_t w = 1; w <= d->nwin; w++) {
		bool cut = w == d->nwin ||
			   d->seg[d->win[w].first].region != d->seg[d->win[start].first].region ||
			   (wl && wl[w] != wl[start]) ||
			   d->win[w].center - d->win[start].center > max_run;
		if (cut) {
			d->unit[nu++] = (struct unit){start, w - start};
			start = w;
		}
	}
	d->nunit = nu;
}

/* Window labels from segment labels: the label at the window's centre. */
static void window_labels(const struct diar *d, const int *lab, int *wl)
{
	for (size_t w = 0; w < d->nwin; w++) {
		size_t s = d->win[w].first;
		while (s + 1 < d->win[w].last && d->seg[s].end <= d->win[w].center)
			s++;
		wl[w] = lab[s];
	}
}

/* ---- Ward clustering --------------------------------------------------- */

struct merge {
	int a, b;   /* slots: a survives and holds the union */
	double h;   /* Ward cost n_a n_b / (n_a + n_b) |c_a - c_b|^2 */
	size_t seq; /* order found; breaks ties so a replay respects dependencies */
};

static int cmp_merge(const void *x, const void *y)
{
	const struct merge *a = x, *b = y;
	return a->h < b->h ? -1 : a->h > b->h ? 1 : (a->seq < b->seq ? -1 : a->seq > b->seq);
}

static double ward_cost(const double *ca, double na, const double *cb, double nb)
{
	double s = 0.0;
	for (int k = 0; k < EDIM; k++) {
		double t = ca[k] - cb[k];
		s += t * t;
	}
	return na * nb / (na + nb) * s;
}

/*
 * Ward's linkage of n weighted points (centroids cen, weights cnt; both are
 * overwritten) by the nearest-neighbour chain: O(n^2) cost evaluations, O(n)
 * memory. The n - 1 merges go to out[], sorted by cost.
 */
static enum parley_err ward(const struct diar *d, double *cen, double *cnt, size_t n,
			    struct merge *out)
{
	int *chain = malloc((n ? n : 1) * sizeof(int));
	unsigned char *alive = malloc(n ? n : 1);
	if (!chain || !alive) {
		free(chain);
		free(alive);
		return nomem(d);
	}
	memset(alive, 1, n);
	size_t nm = 0, len = 0;
	while (nm + 1 < n) {
		if (len == 0) {
			size_t i = 0;
			while (!alive[i])
				i++;
			chain[len++] = (int)i;
		}
		int a = chain[len - 1];
		int prev = len >= 2 ? chain[len - 2] : -1;
		int best = prev;
		double bd = prev >= 0 ? ward_cost(cen + (size_t)a * EDIM, cnt[a],
						  cen + (size_t)prev * EDIM, cnt[prev])
				      : DBL_MAX;
		for (size_t j = 0; j < n; j++) {
			if (!alive[j] || (int)j == a)
				continue;
			double c = ward_cost(cen + (size_t)a * EDIM, cnt[a], cen + j * EDIM, cnt[j]);
			if (c < bd) {
				bd = c;
				best = (int)j;
			}
		}
		if (best != prev) {
			chain[len++] = best;
			continue;
		}
		/* reciprocal nearest neighbours: merge */
		len -= 2;
		int lo = a < prev ? a : prev, hi = a < prev ? prev : a;
		double na = cnt[lo], nb = cnt[hi];
		for (int k = 0; k < EDIM; k++)
			cen[(size_t)lo * EDIM + k] =
				(na * cen[(size_t)lo * EDIM + k] + nb * cen[(size_t)hi * EDIM + k]) /
				(na + nb);
		cnt[lo] = na + nb;
		alive[hi] = 0;
		out[nm] = (struct merge){lo, hi, bd, nm};
		nm++;
	}
	qsort(out, nm, sizeof(*out), cmp_merge);
	free(chain);
	free(alive);
	return PARLEY_OK;
}

/* The dendrogram: leaves 0 .. n-1 are units, node n + i is sorted merge i. */
struct node {
	int left, right; /* -1 for leaves */
	double size;     /* windows below */
	double dist;     /* squared distance of the children's centroids */
};

static void build_tree(const struct merge *mg, size_t n, const double *weight,
		       struct node *nodes, int *slot)
{
	for (size_t i = 0; i < n; i++) {
		nodes[i] = (struct node){-1, -1, weight[i], 0.0};
		slot[i] = (int)i;
	}
	for (size_t i = 0; i + 1 < n; i++) {
		int l = slot[mg[i].a], r = slot[mg[i].b];
		double nl = nodes[l].size, nr = nodes[r].size;
		nodes[n + i] = (struct node){l, r, nl + nr, mg[i].h * (nl + nr) / (nl * nr)};
		slot[mg[i].a] = (int)(n + i);
	}
}

/* How far apart a node's children are, beyond what two centroids of this
 * few windows show by chance. */
static double split_score(const struct diar *d, const struct node *nodes, int x)
{
	double nl = nodes[nodes[x].left].size, nr = nodes[nodes[x].right].size;
	return nodes[x].dist - d->p->split_noise * (1.0 / nl + 1.0 / nr);
}

/* The split a cluster offers: descend past children lighter than min_size
 * (outliers, which join the nearest cluster later) to the first node whose
 * two children are both heavy enough. -1 if none. */
static int offered_split(const struct node *nodes, int x, double min_size)
{
	while (nodes[x].left >= 0) {
		const struct node *l = &nodes[nodes[x].left], *r = &nodes[nodes[x].right];
		if (l->size >= min_size && r->size >= min_size)
			return x;
		x = l->size >= r->size ? nodes[x].left : nodes[x].right;
	}
	return -1;
}

/* Label the leaves below x with c (explicit stack of 2n slots). */
static void label_subtree(const struct node *nodes, int x, int c, int *label, int *stack)
{
	size_t top = 0;
	stack[top++] = x;
	while (top > 0) {
		int y = stack[--top];
		if (nodes[y].left < 0) {
			label[y] = c;
			continue;
		}
		stack[top++] = nodes[y].left;
		stack[top++] = nodes[y].right;
	}
}

/*
 * Choose the clusters: from the whole tree, split the open cluster offering
 * the best score while that score exceeds split_threshold and fewer than
 * kmax clusters are open, and regardless of it while fewer than kmin are.
 * Units not below an open cluster (peeled outliers) get -1. Returns the
 * number of clusters.
 */
static int select_clusters(const struct diar *d, const struct node *nodes, size_t n, int kmin,
			   int kmax, int *label, int *stack)
{
	int open[DIAR_MAX_SPEAKERS];
	int nopen = 1;
	open[0] = (int)(2 * n - 2);
	double min_size = d->p->min_cluster * nodes[open[0]].size;
	min_size = min_size < 2 ? 2 : min_size;
	while (nopen < kmax) {
		int best = -1, at = -1;
		for (double ms = min_size;; ms = 1) {
			for (int i = 0; i < nopen; i++) {
				int y = offered_split(nodes, open[i], ms);
				if (y >= 0 && (best < 0 || split_score(d, nodes, y) >
								   split_score(d, nodes, best))) {
					best = y;
					at = i;
				}
			}
			/* below kmin, accept outlier-sized clusters rather than none */
			if (best >= 0 || ms == 1 || nopen >= kmin)
				break;
		}
		if (best < 0)
			break;
		double score = split_score(d, nodes, best);
		log_debug("diarize: split %d: distance %.1f, windows %.0f/%.0f, score %.1f", nopen,
			  nodes[best].dist, nodes[nodes[best].left].size,
			  nodes[nodes[best].right].size, score);
		if (nopen >= kmin && score <= d->p->split_threshold)
			break;
		open[at] = nodes[best].left;
		open[nopen++] = nodes[best].right;
	}
	for (size_t i = 0; i < n; i++)
		label[i] = -1;
	for (int c = 0; c < nopen; c++)
		label_subtree(nodes, open[c], c, label, stack);
	return nopen;
}

static double cen_dist2(const double *x, const double *y)
{
	double q = 0.0;
	for (int k = 0; k < EDIM; k++)
		q += (x[k] - y[k]) * (x[k] - y[k]);
	return q;
}

/*
 * Self-tuning affinity (Zelnik-Manor & Perona) of unit centroids:
 * exp(-|a - b|^2 / (s_a s_b)), s_x the distance from x to its
 * affinity_neighbours-th nearest unit, times affinity_scale. a gets the
 * squared distances first (n x n), then the affinities; tmp holds n.
 */
static void affinity(const struct diar *d, const double *cen, const size_t *idx, size_t n,
		     double *a, double *tmp, double *sig)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			a[i * n + j] = cen_dist2(cen + idx[i] * EDIM, cen + idx[j] * EDIM);
	size_t kn = (size_t)d->p->affinity_neighbours;
	kn = kn >= n ? n - 1 : kn;
	for (size_t i = 0; i < n; i++) {
		memcpy(tmp, a + i * n, n * sizeof(double));
		qsort(tmp, n, sizeof(double), cmp_double);
		sig[i] = sqrt(tmp[kn] > 1e-9 ? tmp[kn] : 1e-9) * d->p->affinity_scale;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			a[i * n + j] = exp(-a[i * n + j] / (sig[i] * sig[j]));
}

/* Clusters holding less than min_cluster of the windows, while more than
 * kmin remain, become outliers (-1); labels renumbered 0 .. k-1. */
static int drop_small(const struct diar *d, const double *weight, size_t n, int k, int kmin,
		      int *ul)
{
	double size[DIAR_MAX_SPEAKERS] = {0}, total = 0;
	for (size_t i = 0; i < n; i++)
		if (ul[i] >= 0) {
			size[ul[i]] += weight[i];
			total += weight[i];
		}
	int map[DIAR_MAX_SPEAKERS], nk = 0;
	int keep = k;
	for (int c = 0; c < k; c++) {
		bool small = size[c] < d->p->min_cluster * total && keep > kmin;
		keep -= small;
		map[c] = small ? -1 : nk++;
	}
	for (size_t i = 0; i < n; i++)
		ul[i] = ul[i] >= 0 ? map[ul[i]] : -1;
	return nk;
}

/* Spectral clustering of the units (an evenly spaced subset of at most
 * spectral_max_points; the rest get -1). Returns the count, -1 on NOMEM. */
static int select_spectral(const struct diar *d, const double *cen, const double *weight,
			   size_t nc, int kmin, int kmax, int *ul)
{
	size_t n = nc < d->p->spectral_max_points ? nc : d->p->spectral_max_points;
	size_t *idx = malloc(n * sizeof(size_t));
	double *a = malloc(n * n * sizeof(double));
	int *lab = malloc(n * sizeof(int));
	double *tmp = malloc(2 * n * sizeof(double));
	int k = -1;
	if (!idx || !a || !lab || !tmp)
		goto out;
	for (size_t i = 0; i < n; i++)
		idx[i] = (size_t)((double)i * (double)nc / (double)n);
	affinity(d, cen, idx, n, a, tmp, tmp + n);
	double gap = 0;
	k = spectral_cluster(a, n, kmin, kmax, lab, &gap);
	if (k < 0)
		goto out;
	for (size_t i = 0; i < nc; i++)
		ul[i] = -1;
	for (size_t i = 0; i < n; i++)
		ul[idx[i]] = lab[i];
	log_debug("diarize: spectral over %zu units: %d clusters, eigengap %.3f", n, k, gap);
	k = drop_small(d, weight, nc, k, kmin, ul);
out:
	free(idx);
	free(a);
	free(lab);
	free(tmp);
	return k;
}

/*
 * Cluster the units (an evenly spaced subset of at most max_units) and
 * label every window 0 .. *k_out - 1; outliers and units outside the
 * subset join the cluster with the nearest centroid.
 */
static enum parley_err cluster(const struct diar *d, int kmin, int kmax, int *wl, int *k_out)
{
	size_t nu = d->nunit;
	size_t nc = nu < d->p->max_units ? nu : d->p->max_units;
	*k_out = 1;
	for (size_t w = 0; w < d->nwin; w++)
		wl[w] = 0;
	kmax = (size_t)kmax > nc ? (int)nc : kmax;
	kmin = kmin > kmax ? kmax : kmin;
	if (kmax <= 1)
		return PARLEY_OK;

	enum parley_err rc = PARLEY_OK;
	size_t *pick = malloc(nc * sizeof(*pick));
	double *cen = malloc(nc * EDIM * sizeof(double));
	double *cnt = malloc(nc * sizeof(double));
	double *weight = malloc(nc * sizeof(double));
	struct merge *mg = malloc(nc * sizeof(*mg));
	struct node *nodes = malloc(2 * nc * sizeof(*nodes));
	int *slot = malloc(2 * nc * sizeof(int));
	int *ul = malloc(nc * sizeof(int));
	if (!pick || !cen || !cnt || !weight || !mg || !nodes || !slot || !ul) {
		rc = nomem(d);
		goto out;
	}
	for (size_t i = 0; i < nc; i++) {
		pick[i] = nc == nu ? i : (size_t)((double)i * (double)nu / (double)nc);
		const struct unit *u = &d->unit[pick[i]];
		for (int j = 0; j < EDIM; j++) {
			double s = 0;
			for (size_t w = u->first; w < u->first + u->n; w++)
				s += d->emb[w * EDIM + j];
			cen[i * EDIM + j] = s / (double)u->n;
		}
		cnt[i] = weight[i] = (double)u->n;
	}
	int k;
	if (d->p->method == DIAR_SPECTRAL) {
		k = select_spectral(d, cen, weight, nc, kmin, kmax, ul);
		if (k < 0) {
			rc = nomem(d);
			goto out;
		}
	} else {
		rc = ward(d, cen, cnt, nc, mg);
		if (rc != PARLEY_OK)
			goto out;
		build_tree(mg, nc, weight, nodes, slot);
		k = select_clusters(d, nodes, nc, kmin, kmax, ul, slot);
	}

	double c[DIAR_MAX_SPEAKERS][EDIM], n[DIAR_MAX_SPEAKERS];
	memset(c, 0, sizeof(c));
	memset(n, 0, sizeof(n));
	for (size_t w = 0; w < d->nwin; w++)
		wl[w] = -1;
	for (size_t i = 0; i < nc; i++) {
		if (ul[i] < 0)
			continue;
		const struct unit *u = &d->unit[pick[i]];
		for (size_t w = u->first; w < u->first + u->n; w++) {
			wl[w] = ul[i];
			n[ul[i]] += 1;
			for (int j = 0; j < EDIM; j++)
				c[ul[i]][j] += d->emb[w * EDIM + j];
		}
	}
	for (int a = 0; a < k; a++)
		for (int j = 0; j < EDIM; j++)
			c[a][j] /= n[a] > 0 ? n[a] : 1;
	for (size_t i = 0; i < nu; i++) {
		const struct unit *u = &d->unit[i];
		if (wl[u->first] >= 0)
			continue;
		double best = DBL_MAX;
		int bc = 0;
		for (int a = 0; a < k; a++) {
			double s = 0;
			for (size_t w = u->first; w < u->first + u->n; w++)
				for (int j = 0; j < EDIM; j++) {
					double t = d->emb[w * EDIM + j] - c[a][j];
					s += t * t;
				}
			if (s < best) {
				best = s;
				bc = a;
			}
		}
		for (size_t w = u->first; w < u->first + u->n; w++)
			wl[w] = bc;
	}
	*k_out = k;
out:
	free(pick);
	free(cen);
	free(cnt);
	free(weight);
	free(mg);
	free(nodes);
	free(slot);
	free(ul);
	return rc;
}

/* ---- speaker models and resegmentation --------------------------------- */

static void fit_models(const struct diar *d, const int *lab, int k, struct model *mod)
{
	double n[DIAR_MAX_SPEAKERS] = {0};
	double s1[DIAR_MAX_SPEAKERS][DIM], s2[DIAR_MAX_SPEAKERS][DIM];
	memset(s1, 0, sizeof(s1));
	memset(s2, 0, sizeof(s2));
	for (size_t s = 0; s < d->nseg; s++) {
		int c = lab[s];
		if (c < 0)
			continue;
		n[c] += d->seg[s].nfr;
		for (int j = 0; j < DIM; j++) {
			s1[c][j] += d->sum[s * DIM + j];
			s2[c][j] += d->sq[s * DIM + j];
		}
	}
	for (int c = 0; c < k; c++) {
		double cnt = n[c] > 0 ? n[c] : 1;
		mod[c].logdet = 0;
		for (int j = 0; j < DIM; j++) {
			double mu = s1[c][j] / cnt;
			double v = s2[c][j] / cnt - mu * mu;
			v = v < VAR_FLOOR ? VAR_FLOOR : v;
			mod[c].mean[j] = mu;
			mod[c].var[j] = v;
			mod[c].logdet += log(v);
		}
	}
}

/* Log-likelihood of a segment's frames under a model, from the segment's
 * sums (the constant terms dropped). */
static double seg_loglik(const struct diar *d, size_t s, const struct model *m)
{
	double n = d->seg[s].nfr, q = 0.0;
	const float *su = d->sum + s * DIM, *sq = d->sq + s * DIM;
	for (int j = 0; j < DIM; j++)
		q += (sq[j] - 2.0 * m->mean[j] * su[j] + n * m->mean[j] * m->mean[j]) / m->var[j];
	return -0.5 * (n * m->logdet + q);
}

/* Viterbi over each region's segments: k states, change_penalty per change.
 * bp holds maxlen * k back-pointers. */
static void viterbi(const struct diar *d, const struct model *mod, int k, int *lab,
		    unsigned char *bp)
{
	double pen = d->p->change_penalty;
	for (size_t r = 0; r < d->nreg; r++) {
		size_t a = d->reg_seg[r], b = d->reg_seg[r + 1];
		if (a == b)
			continue;
		double score[DIAR_MAX_SPEAKERS], next[DIAR_MAX_SPEAKERS];
		for (int c = 0; c < k; c++)
			score[c] = seg_loglik(d, a, &mod[c]);
		for (size_t s = a + 1; s < b; s++) {
			int bc = 0;
			for (int c = 1; c < k; c++)
				if (score[c] > score[bc])
					bc = c;
			for (int c = 0; c < k; c++) {
				int from = c;
				double v = score[c];
				if (score[bc] - pen > v) {
					v = score[bc] - pen;
					from = bc;
				}
				next[c] = v + seg_loglik(d, s, &mod[c]);
				bp[(s - a) * (size_t)k + (size_t)c] = (unsigned char)from;
			}
			memcpy(score, next, (size_t)k * sizeof(double));
		}
		int c = 0;
		for (int j = 1; j < k; j++)
			if (score[j] > score[c])
				c = j;
		for (size_t s = b; s-- > a;) {
			lab[s] = c;
			if (s > a)
				c = bp[(s - a) * (size_t)k + (size_t)c];
		}
	}
}

/* Runs shorter than min_turn inside a region join the neighbour whose model
 * explains them better. */
static void enforce_min_turn(const struct diar *d, const struct model *mod, int *lab)
{
	for (size_t r = 0; r < d->nreg; r++) {
		size_t a = d->reg_seg[r], b = d->reg_seg[r + 1];
		for (int pass = 0; pass < 8; pass++) {
			bool changed = false;
			size_t s = a;
			while (s < b) {
				size_t e = s;
				while (e < b && lab[e] == lab[s])
					e++;
				double dur = d->seg[e - 1].end - d->seg[s].start;
				if (dur < d->p->min_turn && !(s == a && e == b)) {
					int left = s > a ? lab[s - 1] : -1;
					int right = e < b ? lab[e] : -1;
					int to = left >= 0 ? left : right;
					if (left >= 0 && right >= 0 && left != right) {
						double ll = 0, lr = 0;
						for (size_t t = s; t < e; t++) {
							ll += seg_loglik(d, t, &mod[left]);
							lr += seg_loglik(d, t, &mod[right]);
						}
						to = lr > ll ? right : left;
					}
					for (size_t t = s; t < e; t++)
						lab[t] = to;
					changed = true;
				}
				s = e;
			}
			if (!changed)
				break;
		}
	}
}

static int count_used(const int *lab, size_t n)
{
	bool used[DIAR_MAX_SPEAKERS] = {false};
	int c = 0;
	for (size_t i = 0; i < n; i++)
		if (lab[i] >= 0 && !used[lab[i]]) {
			used[lab[i]] = true;
			c++;
		}
	return c;
}

/* Segment labels from window labels: each segment takes the label of the
 * nearest window of its region (-1 in regions without windows). */
static void project(const struct diar *d, const int *wl, int *lab)
{
	for (size_t s = 0; s < d->nseg; s++)
		lab[s] = -1;
	size_t i = 0;
	while (i < d->nwin) {
		size_t r = d->seg[d->win[i].first].region;
		size_t j = i;
		while (j < d->nwin && d->seg[d->win[j].first].region == r)
			j++;
		size_t w = i;
		for (size_t s = d->reg_seg[r]; s < d->reg_seg[r + 1]; s++) {
			double c = 0.5 * (d->seg[s].start + d->seg[s].end);
			while (w + 1 < j && fabs(d->win[w + 1].center - c) <= fabs(d->win[w].center - c))
				w++;
			lab[s] = wl[w];
		}
		i = j;
	}
}

/* Window clusters → segment labels, refined by Viterbi resegmentation;
 * a refit that would make a speaker vanish is not taken. */
static enum parley_err resegment(const struct diar *d, const int *wl, int k, int *lab, int *tmp)
{
	struct model mod[DIAR_MAX_SPEAKERS];
	size_t maxlen = 1;
	for (size_t r = 0; r < d->nreg; r++)
		if (d->reg_seg[r + 1] - d->reg_seg[r] > maxlen)
			maxlen = d->reg_seg[r + 1] - d->reg_seg[r];
	unsigned char *bp = malloc(maxlen * (size_t)k);
	if (!bp)
		return nomem(d);
	project(d, wl, lab);
	for (int it = 0; it < d->p->resegment_iters; it++) {
		fit_models(d, lab, k, mod);
		viterbi(d, mod, k, tmp, bp);
		enforce_min_turn(d, mod, tmp);
		if (count_used(tmp, d->nseg) < k)
			break;
		memcpy(lab, tmp, d->nseg * sizeof(int));
	}
	bool unlabelled = false;
	for (size_t s = 0; s < d->nseg; s++)
		unlabelled |= lab[s] < 0;
	if (unlabelled) {
		/* regions with no window, when resegmentation was skipped or refused */
		fit_models(d, lab, k, mod);
		viterbi(d, mod, k, tmp, bp);
		for (size_t s = 0; s < d->nseg; s++)
			lab[s] = lab[s] < 0 ? tmp[s] : lab[s];
	}
	free(bp);
	return PARLEY_OK;
}

/* ---- merging clusters that are one voice ------------------------------ */

/* Frame statistics of one cluster: cepstral sums and voiced log F0 sums. */
struct cl_stats {
	double n, s1[DIM], s2[DIM];
	double f0[3]; /* voiced estimates, sum of log F0, sum of squares */
};

static void stats_add(struct cl_stats *to, const struct cl_stats *x)
{
	to->n += x->n;
	for (int j = 0; j < DIM; j++) {
		to->s1[j] += x->s1[j];
		to->s2[j] += x->s2[j];
	}
	for (int j = 0; j < 3; j++)
		to->f0[j] += x->f0[j];
}

/* n/2 log det of the diagonal Gaussian fitted to the cepstra, and nv/2 log
 * of the variance of log F0 (the likelihood terms a merge changes). */
static void stats_logdet(const struct cl_stats *x, double *cep, double *f0)
{
	double n = x->n > 0 ? x->n : 1, ld = 0.0;
	for (int j = 0; j < DIM; j++) {
		double mu = x->s1[j] / n, v = x->s2[j] / n - mu * mu;
		ld += log(v > VAR_FLOOR ? v : VAR_FLOOR);
	}
	*cep = 0.5 * x->n * ld;
	double nv = x->f0[0] > 0 ? x->f0[0] : 1;
	double mu = x->f0[1] / nv, v = x->f0[2] / nv - mu * mu;
	*f0 = 0.5 * x->f0[0] * log(v > 1e-4 ? v : 1e-4);
}

/*
 * Generalised likelihood ratio of two clusters per frame: how much worse one
 * Gaussian explains both than one each, for the cepstra (*cep, per frame)
 * and for log F0 (*f0, per voiced estimate).
 */
static void pair_glr(const struct cl_stats *a, const struct cl_stats *b, double *cep, double *f0)
{
	struct cl_stats u = *a;
	stats_add(&u, b);
	double ca, fa, cb, fb, cu, fu;
	stats_logdet(a, &ca, &fa);
	stats_logdet(b, &cb, &fb);
	stats_logdet(&u, &cu, &fu);
	*cep = (cu - ca - cb) / (u.n > 0 ? u.n : 1);
	*f0 = u.f0[0] > 0 ? (fu - fa - fb) / u.f0[0] : 0.0;
}

/*
 * Two clusters with the same pitch (log F0 GLR per estimate under
 * merge_f0_glr, each with MIN_MERGE_VOICED estimates or more) and similar
 * cepstra (GLR per frame under merge_cep_glr) are
 * one voice that the tree split (a voice whose spectrum varies between
 * utterances): merge the closest such pair while more than kmin remain.
 * Returns the new count; labels renumbered 0 .. k-1.
 */
static int merge_same_voice(const struct diar *d, int *lab, int k, int kmin)
{
	if (d->p->merge_f0_glr <= 0.0 || d->p->pitch_weight <= 0.0)
		return k;
	struct cl_stats st[DIAR_MAX_SPEAKERS];
	memset(st, 0, sizeof(st));
	for (size_t s = 0; s < d->nseg; s++) {
		int c = lab[s];
		if (c < 0)
			continue;
		st[c].n += d->seg[s].nfr;
		for (int j = 0; j < DIM; j++) {
			st[c].s1[j] += d->sum[s * DIM + j];
			st[c].s2[j] += d->sq[s * DIM + j];
		}
		for (int j = 0; j < 3; j++)
			st[c].f0[j] += d->f0[s * 3 + j];
	}
	while (k > kmin && k > 1) {
		int ba = -1, bb = -1;
		double best = DBL_MAX;
		for (int a = 0; a < k; a++)
			for (int b = a + 1; b < k; b++) {
				double cep, f0;
				pair_glr(&st[a], &st[b], &cep, &f0);
				log_debug("diarize: clusters %d, %d: cepstral GLR %.3f, pitch GLR %.3f "
					  "(%.0f, %.0f F0 estimates)",
					  a, b, cep, f0, st[a].f0[0], st[b].f0[0]);
				if (st[a].f0[0] < MIN_MERGE_VOICED || st[b].f0[0] < MIN_MERGE_VOICED)
					continue; /* too little pitch to call it the same */
				if (f0 < d->p->merge_f0_glr && cep < d->p->merge_cep_glr && cep < best) {
					best = cep;
					ba = a;
					bb = b;
				}
			}
		if (ba < 0)
			break;
		log_debug("diarize: merge %d into %d (one voice)", bb, ba);
		stats_add(&st[ba], &st[bb]);
		st[bb] = st[k - 1];
		for (size_t s = 0; s < d->nseg; s++)
			lab[s] = lab[s] == bb ? ba : lab[s] == k - 1 ? bb : lab[s];
		k--;
	}
	return k;
}

/* ---- driver ------------------------------------------------------------ */

static enum parley_err check_params(const struct diar_params *p, struct parley_error *err)
{
	if (p->min_speakers < 1 || p->max_speakers > DIAR_MAX_SPEAKERS)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"diarize: speaker range %d .. %d must lie within 1 .. %d",
					p->min_speakers, p->max_speakers, DIAR_MAX_SPEAKERS);
	if (p->min_speakers > p->max_speakers)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"diarize: min speakers (%d) is greater than max speakers (%d)",
					p->min_speakers, p->max_speakers);
	if (p->num_speakers != 0 &&
	    (p->num_speakers < p->min_speakers || p->num_speakers > p->max_speakers))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"diarize: %d speakers requested, outside min .. max = %d .. %d",
					p->num_speakers, p->min_speakers, p->max_speakers);
	if (!(p->window >= 0.2 && p->window <= 30.0) || !(p->hop >= 0.1 && p->hop <= p->window))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"diarize: window %g s, hop %g s: need 0.2 <= window <= 30 "
					"and 0.1 <= hop <= window",
					p->window, p->hop);
	static const struct {
		const char *name;
		size_t off;
		double lo, hi;
	} ranges[] = {
		{"unit_seconds", offsetof(struct diar_params, unit_seconds), 0.0, 3600.0},
		{"change_unit_seconds", offsetof(struct diar_params, change_unit_seconds), 0.0,
		 3600.0},
		{"split_threshold", offsetof(struct diar_params, split_threshold), 0.0, 1e6},
		{"split_noise", offsetof(struct diar_params, split_noise), 0.0, 1e6},
		{"min_cluster", offsetof(struct diar_params, min_cluster), 0.0, 0.49},
		{"gate_db", offsetof(struct diar_params, gate_db), 0.0, 200.0},
		{"min_turn", offsetof(struct diar_params, min_turn), 0.0, 60.0},
		{"change_penalty", offsetof(struct diar_params, change_penalty), 0.0, 1e9},
		{"pitch_weight", offsetof(struct diar_params, pitch_weight), 0.0, 1000.0},
		{"pitch_spread_weight", offsetof(struct diar_params, pitch_spread_weight), 0.0,
		 1000.0},
		{"merge_f0_glr", offsetof(struct diar_params, merge_f0_glr), 0.0, 100.0},
		{"merge_cep_glr", offsetof(struct diar_params, merge_cep_glr), 0.0, 100.0},
		{"overlap_ratio", offsetof(struct diar_params, overlap_ratio), 0.0, 10.0},
		{"overlap_max", offsetof(struct diar_params, overlap_max), 0.1, 10.0},
		{"bridge", offsetof(struct diar_params, bridge), 0.0, 60.0},
	};
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		double v;
		memcpy(&v, (const char *)p + ranges[i].off, sizeof(v));
		if (!(v >= ranges[i].lo && v <= ranges[i].hi))
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"diarize: %s = %g is outside [%g, %g]", ranges[i].name,
						v, ranges[i].lo, ranges[i].hi);
	}
	if (p->resegment_iters < 0 || p->resegment_iters > 20)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"diarize: resegment_iters = %d is outside [0, 20]",
					p->resegment_iters);
	if (p->method != DIAR_WARD && p->method != DIAR_SPECTRAL)
		return parley_error_set(err, PARLEY_ERR_INVALID, "diarize: unknown method %d",
					(int)p->method);
	if (!(p->affinity_scale > 0.0 && p->affinity_scale <= 1e3) || !(p->std_weight >= 0.0 && p->std_weight <= 1e3))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"diarize: affinity_scale = %g (need 0 < x <= 1000), std_weight = %g "
					"(need 0 .. 1000)",
					p->affinity_scale, p->std_weight);
	if (p->affinity_neighbours < 1 || p->spectral_max_points < 2 ||
	    p->spectral_max_points > 2000)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"diarize: affinity_neighbours = %d (need >= 1), spectral_max_points "
					"= %zu (need 2 .. 2000)",
					p->affinity_neighbours, p->spectral_max_points);
	if (p->max_units < 2)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"diarize: max_units = %zu must be at least 2", p->max_units);
	return PARLEY_OK;
}

/* ---- overlapped speech (step 8) ---------------------------------------- */

#define OVL_MIN_SEGS 3 /* shortest overlap, both sides of the change: 0.3 s */

/* Per-frame log-likelihood of segment s under model m; 0 for a gated one. */
static double frame_loglik(const struct diar *d, size_t s, const struct model *m)
{
	return d->seg[s].nfr > 0 ? seg_loglik(d, s, m) / d->seg[s].nfr : 0.0;
}

/*
 * From the change at segment s of region [a, b), walk dir (-1: back into the
 * old speaker's turn, +1: on into the new one's), inside that turn, while the
 * other speaker `other` explains the segments within margin (per frame) of
 * `own`. Returns how many segments were taken (gated segments pass, but are
 * never the last one taken).
 */
static size_t overlap_walk(const struct diar *d, const int *lab, const struct model *mod, size_t s,
			   size_t a, size_t b, int dir, int own, int other, double margin)
{
	size_t maxn = (size_t)(d->p->overlap_max * 10.0 + 0.5), taken = 0, n = 0;
	for (size_t t = dir < 0 ? s - 1 : s; n < maxn && t >= a && t < b && lab[t] == own; n++) {
		if (d->seg[t].nfr > 0) {
			double lo = frame_loglik(d, t, &mod[own]), lx = frame_loglik(d, t, &mod[other]);
			if (lx < lo - margin)
				break;
			taken = n + 1;
		}
		if (dir < 0 && t == 0)
			break;
		t = dir < 0 ? t - 1 : t + 1;
	}
	return taken;
}

/* typ[a][b]: mean per-frame log-likelihood margin of model a over model b
 * on the frames labelled a — how far apart the two voices usually are. */
static void pair_margins(const struct diar *d, const int *lab, int k, const struct model *mod,
			 double typ[DIAR_MAX_SPEAKERS][DIAR_MAX_SPEAKERS])
{
	double n[DIAR_MAX_SPEAKERS] = {0};
	for (int a = 0; a < k; a++)
		for (int b = 0; b < k; b++)
			typ[a][b] = 0.0;
	for (size_t s = 0; s < d->nseg; s++) {
		int a = lab[s];
		if (a < 0 || d->seg[s].nfr == 0)
			continue;
		double own = seg_loglik(d, s, &mod[a]);
		for (int b = 0; b < k; b++)
			typ[a][b] += own - seg_loglik(d, s, &mod[b]);
		n[a] += d->seg[s].nfr;
	}
	for (int a = 0; a < k; a++)
		for (int b = 0; b < k; b++)
			typ[a][b] = n[a] > 0 ? typ[a][b] / n[a] : 0.0;
}

/* Overlap turns (cluster labels, not yet renumbered) into *ov; *nov of them. */
static enum parley_err find_overlaps(const struct diar *d, const int *lab, int k,
				     struct diar_turn **ov, size_t *nov)
{
	*ov = NULL;
	*nov = 0;
	if (!d->p->overlap || k < 2)
		return PARLEY_OK;
	struct model mod[DIAR_MAX_SPEAKERS];
	double typ[DIAR_MAX_SPEAKERS][DIAR_MAX_SPEAKERS];
	fit_models(d, lab, k, mod);
	pair_margins(d, lab, k, mod, typ);
	double ratio = d->p->overlap_ratio;
	size_t cap = 0;
	for (size_t s = 1; s < d->nseg; s++)
		cap += lab[s] != lab[s - 1] ? 2 : 0;
	struct diar_turn *t = malloc((cap ? cap : 1) * sizeof(*t));
	if (!t)
		return nomem(d);
	size_t n = 0;
	for (size_t r = 0; r < d->nreg; r++) {
		size_t a = d->reg_seg[r], b = d->reg_seg[r + 1];
		for (size_t s = a + 1; s < b; s++) {
			int old = lab[s - 1], neu = lab[s];
			if (old == neu)
				continue;
			size_t back = overlap_walk(d, lab, mod, s, a, b, -1, old, neu, ratio * typ[old][neu]);
			size_t fwd = overlap_walk(d, lab, mod, s, a, b, +1, neu, old, ratio * typ[neu][old]);
			if (back + fwd < OVL_MIN_SEGS)
				continue;
			if (back > 0)
				t[n++] = (struct diar_turn){d->seg[s - back].start, d->seg[s].start, neu, true};
			if (fwd > 0)
				t[n++] = (struct diar_turn){d->seg[s].start, d->seg[s + fwd - 1].end, old, true};
		}
	}
	log_debug("diarize: %zu overlap turns at %zu changes", n, cap / 2);
	*ov = t;
	*nov = n;
	return PARLEY_OK;
}

static int cmp_turn_start(const void *x, const void *y)
{
	const struct diar_turn *a = x, *b = y;
	return (a->start > b->start) - (a->start < b->start);
}

/* Turns from segment labels plus the overlap turns ov (cluster labels);
 * speakers renumbered by first appearance in the main turns. */
static enum parley_err make_turns(const struct diar *d, const int *lab, struct diar_turn *ov,
				  size_t nov, struct diar_turn **turns, size_t *nturns, int *nspk)
{
	size_t cap = d->nseg + d->nreg + nov;
	struct diar_turn *t = malloc((cap ? cap : 1) * sizeof(*t));
	if (!t)
		return nomem(d);
	size_t n = 0;
	int map[DIAR_MAX_SPEAKERS];
	for (int c = 0; c < DIAR_MAX_SPEAKERS; c++)
		map[c] = -1;
	int next = 0;
	for (size_t r = 0; r < d->nreg; r++) {
		size_t a = d->reg_seg[r], b = d->reg_seg[r + 1];
		if (a == b) {
			/* no whole frame inside: the label of the nearest segment */
			int c = 0;
			double best = DBL_MAX;
			for (size_t s = 0; s < d->nseg; s++) {
				double dd = fabs(d->seg[s].start - d->reg[r].start);
				if (dd < best) {
					best = dd;
					c = lab[s];
				}
			}
			map[c] = map[c] < 0 ? next++ : map[c];
			t[n++] = (struct diar_turn){d->reg[r].start, d->reg[r].end, map[c], false};
			continue;
		}
		for (size_t s = a; s < b;) {
			size_t e = s;
			while (e < b && lab[e] == lab[s])
				e++;
			int c = lab[s];
			map[c] = map[c] < 0 ? next++ : map[c];
			t[n++] = (struct diar_turn){d->seg[s].start, d->seg[e - 1].end, map[c], false};
			s = e;
		}
	}
	if (nov > 0) {
		/* merge the (sorted) overlap turns in after the main ones, from the end */
		for (size_t i = 0; i < nov; i++)
			ov[i].speaker = map[ov[i].speaker] < 0 ? 0 : map[ov[i].speaker];
		qsort(ov, nov, sizeof(*ov), cmp_turn_start);
		size_t i = n, j = nov, w = n + nov;
		while (j > 0) {
			if (i > 0 && t[i - 1].start > ov[j - 1].start)
				t[--w] = t[--i];
			else
				t[--w] = ov[--j];
		}
		n += nov;
	}
	*turns = t;
	*nturns = n;
	*nspk = next;
	return PARLEY_OK;
}

/*
 * Step 9: consecutive main turns of one speaker less than gap apart (a
 * pause between two speech regions, no other main turn between them)
 * become one turn spanning the pause. Overlap turns lie inside covered
 * time, never in a pause, so the array stays sorted by start. In place.
 */
static void bridge_turns(struct diar_turn *t, size_t *n, double gap)
{
	if (gap <= 0.0)
		return;
	size_t w = 0;
	size_t last = SIZE_MAX; /* index (in the output) of the last main turn */
	for (size_t i = 0; i < *n; i++) {
		if (!t[i].overlap && last != SIZE_MAX && t[last].speaker == t[i].speaker &&
		    t[i].start - t[last].end < gap) {
			t[last].end = t[i].end;
			continue;
		}
		t[w] = t[i];
		if (!t[w].overlap)
			last = w;
		w++;
	}
	*n = w;
}

/* One pass: units → clusters → segment labels. */
static enum parley_err run_pass(struct diar *d, int kmin, int kmax, int *wl, int *lab, int *tmp,
				int *k)
{
	enum parley_err rc = cluster(d, kmin, kmax, wl, k);
	if (rc != PARLEY_OK)
		return rc;
	if (aborted(d))
		return abort_error(d);
	if (*k > 1)
		return resegment(d, wl, *k, lab, tmp);
	memset(lab, 0, (d->nseg ? d->nseg : 1) * sizeof(int));
	return PARLEY_OK;
}

enum parley_err diar_run(const struct pcm *pcm, const struct vad_region *regions, size_t nregions,
			 const struct diar_params *p, struct diar_turn **turns, size_t *nturns,
			 int *nspeakers, struct parley_error *err)
{
	if (!turns || !nturns || !nspeakers)
		return parley_error_set(err, PARLEY_ERR_INVALID, "diarize: NULL output argument");
	*turns = NULL;
	*nturns = 0;
	*nspeakers = 0;
	struct diar_params defaults = diar_default_params();
	if (!p)
		p = &defaults;
	if (!pcm || (!pcm->samples && pcm->n > 0) || (!regions && nregions > 0))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"diarize: no audio or no regions given");
	enum parley_err rc = check_params(p, err);
	if (rc != PARLEY_OK)
		return rc;

	struct parley_error local = {0};
	struct diar d = {.p = p, .err = err ? err : &local, .pcm = pcm};
	int *wl = NULL, *lab = NULL, *tmp = NULL;
	struct diar_turn *ov = NULL;
	size_t nov = 0;

	rc = normalise_regions(&d, regions, nregions);
	if (rc != PARLEY_OK || d.nreg == 0)
		goto out;
	rc = extract(&d);
	if (rc == PARLEY_OK)
		rc = make_windows(&d);
	if (rc != PARLEY_OK)
		goto out;
	d.unit = malloc((d.nwin ? d.nwin : 1) * sizeof(*d.unit));
	wl = malloc((d.nwin ? d.nwin : 1) * sizeof(int));
	lab = calloc(d.nseg ? d.nseg : 1, sizeof(int));
	tmp = malloc((d.nseg ? d.nseg : 1) * sizeof(int));
	if (!d.unit || !wl || !lab || !tmp) {
		rc = nomem(&d);
		goto out;
	}
	int kmin = p->num_speakers ? p->num_speakers : p->min_speakers;
	int kmax = p->num_speakers ? p->num_speakers : p->max_speakers;
	int k = 1;
	bool two_pass = p->change_unit_seconds > 0.0;
	make_units(&d, NULL, two_pass ? p->change_unit_seconds : p->unit_seconds);
	log_debug("diarize: %zu regions, %.1f s of voiced frames, %zu windows, %zu units", d.nreg,
		  d.total_frames * 0.01, d.nwin, d.nunit);
	rc = run_pass(&d, kmin, kmax, wl, lab, tmp, &k);
	if (rc != PARLEY_OK)
		goto out;
	progress(&d, 0.8);
	if (two_pass) {
		/* second pass: long units, cut where the first pass found changes */
		if (k > 1)
			window_labels(&d, lab, wl);
		make_units(&d, k > 1 ? wl : NULL, p->unit_seconds);
		rc = run_pass(&d, kmin, kmax, wl, lab, tmp, &k);
		if (rc != PARLEY_OK)
			goto out;
	}
	if (k > 1)
		k = merge_same_voice(&d, lab, k, kmin);
	rc = find_overlaps(&d, lab, k, &ov, &nov);
	if (rc == PARLEY_OK)
		rc = make_turns(&d, lab, ov, nov, turns, nturns, nspeakers);
	if (rc == PARLEY_OK)
		bridge_turns(*turns, nturns, p->bridge);
	progress(&d, 1.0);
out:
	free(ov);
	free(wl);
	free(lab);
	free(tmp);
	free(d.reg);
	free(d.reg_seg);
	free(d.seg);
	free(d.sum);
	free(d.sq);
	free(d.f0);
	free(d.win);
	free(d.emb);
	free(d.unit);
	return rc;
}
