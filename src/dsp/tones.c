/* tones.c — call-progress tones, SIT and beeps; see tones.h. */
#include "dsp/tones.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/fft.h"

/* ITU-T E.180 Suppl. 2 and national specifications (see tones.h). Rows of
 * one country together; the order is the "auto" preference order. */
const struct tone_spec tone_table[] = {
	{"us", "ringback", {440, 480}, 0, {2.0, 4.0}, 2},
	{"us", "busy", {480, 620}, 0, {0.5, 0.5}, 2},
	{"us", "congestion", {480, 620}, 0, {0.25, 0.25}, 2},
	{"uk", "ringback", {400, 450}, 0, {0.4, 0.2, 0.4, 2.0}, 4},
	{"uk", "busy", {400, 0}, 0, {0.375, 0.375}, 2},
	{"uk", "congestion", {400, 0}, 0, {0.4, 0.35, 0.225, 0.525}, 4},
	{"eu", "ringback", {425, 0}, 0, {1.0, 4.0}, 2},
	{"eu", "busy", {425, 0}, 0, {0.5, 0.5}, 2},
	{"eu", "congestion", {425, 0}, 0, {0.25, 0.25}, 2},
	{"sg", "ringback", {425, 0}, 24, {0.4, 0.2, 0.4, 2.0}, 4},
	{"sg", "busy", {425, 0}, 0, {0.75, 0.75}, 2},
	{"sg", "congestion", {425, 0}, 0, {0.25, 0.25}, 2},
	{"my", "ringback", {425, 0}, 0, {0.4, 0.2, 0.4, 2.0}, 4},
	{"my", "busy", {425, 0}, 0, {0.5, 0.5}, 2},
	{"my", "congestion", {425, 0}, 0, {0.25, 0.25}, 2},
	{"in", "ringback", {400, 0}, 25, {0.4, 0.2, 0.4, 2.0}, 4},
	{"in", "busy", {400, 0}, 0, {0.75, 0.75}, 2},
	{"in", "congestion", {400, 0}, 0, {0.25, 0.25}, 2},
};
const size_t tone_table_count = sizeof(tone_table) / sizeof(tone_table[0]);

/* SIT bands: ITU 950/1400/1800 +-50 Hz and ANSI 913.8|985.2, 1370.6|1428.5, 1776.7 */
static const double sit_band[3][2] = {{890, 1010}, {1340, 1460}, {1730, 1860}};

#define FRAME_SEC 0.064
#define HOP_SEC 0.010
#define BAND_LO 150.0
#define BAND_HI 3600.0
#define PEAKS 3
#define PEAK_BINS 3
#define SIG_PEAK 0.1 /* peaks this far below the strongest do not name a frame */
#define EDGE_DB 3.5
#define MIN_SEG 0.08
#define FINE_MAX 0.5 /* s of a segment measured by Goertzel */
#define MAX_SETS 32
#define MERGE_GAP 0.15 /* s: shorter than any cadence's off-part */
#define BEEP_QUIET_DB 6.0 /* 0.3 s either side of a beep this much quieter */

struct tone_params tone_default_params(void)
{
	return (struct tone_params){
		.countries = NULL,
		.min_level_dbfs = -45.0,
		.min_purity = 0.75,
		.set_purity = 0.75,
		.tol_abs = 0.08,
		.tol_rel = 0.15,
		.train_gap = 5.0,
		.beep_min = 0.15,
		.beep_max = 2.5,
		.beep_purity = 0.85,
	};
}

int tone_country_known(const char *country)
{
	for (size_t i = 0; i < tone_table_count; i++)
		if (strcmp(tone_table[i].country, country) == 0)
			return 1;
	return 0;
}

/* Is country in the comma list (NULL, "" or "auto" = every country)?
 * Returns its rank in the list (0 first), or -1. */
static int country_rank(const char *list, const char *country)
{
	if (!list || !*list || strcmp(list, "auto") == 0)
		return 0;
	size_t n = strlen(country);
	int rank = 0;
	for (const char *p = list; *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t len = strcspn(p, ", ");
		if (len == n && strncmp(p, country, n) == 0)
			return rank;
		if (len)
			rank++;
		p += len;
	}
	return -1;
}

struct frame {
	bool tonal;
	double hz[PEAKS]; /* strongest first; 0 = none */
	double level;     /* dBFS */
};

struct seg {
	double start, end;
	double hz;      /* measured frequency of the strongest component */
	double spread;  /* largest deviation of the frames' peak from the median, Hz */
	double single;  /* energy share of one frequency */
	int set;        /* index into sets[], -1 = none */
	bool used;
};

struct freq_set {
	double f[2];
	double mod;
};

static bool near_hz(double a, double b)
{
	return fabs(a - b) <= fmax(40.0, 0.03 * a);
}

/* Sine power (a^2 / 2, full scale 1) at hz over s[0..n), Hann window. */
static double sine_power(const int16_t *s, size_t n, int rate, double hz, const double *win,
			 double wsum)
{
	double coef = 2 * cos(2 * M_PI * hz / rate), s1 = 0, s2 = 0;
	for (size_t i = 0; i < n; i++) {
		double v = win[i] * s[i] / 32768.0 + coef * s1 - s2;
		s2 = s1;
		s1 = v;
	}
	double pw = s1 * s1 + s2 * s2 - coef * s1 * s2;
	double a = 2 * sqrt(fmax(pw, 0)) / wsum;
	return a * a / 2;
}

/* The strongest sine power within +-tol Hz of hz (1 Hz steps); *at = where. */
static double search_power(const int16_t *s, size_t n, int rate, double hz, double tol,
			   const double *win, double wsum, double *at)
{
	double best = 0;
	*at = hz;
	for (double d = -tol; d <= tol + 1e-9; d += 1.0) {
		double p = sine_power(s, n, rate, hz + d, win, wsum);
		if (p > best) {
			best = p;
			*at = hz + d;
		}
	}
	return best;
}

struct fine {
	const int16_t *s;
	size_t n;
	int rate;
	const double *win;
	double wsum, ms;
};

/* Share of the segment's energy in set's components (0 when one of them is
 * missing). */
static double set_score(const struct fine *f, const struct freq_set *set)
{
	double at[2] = {0, 0}, p[2] = {0, 0}, side = 0;
	for (int k = 0; k < 2 && set->f[k] > 0; k++)
		p[k] = search_power(f->s, f->n, f->rate, set->f[k], fmax(8.0, 0.02 * set->f[k]),
				    f->win, f->wsum, &at[k]);
	if (set->mod > 0)
		side = sine_power(f->s, f->n, f->rate, at[0] - set->mod, f->win, f->wsum) +
		       sine_power(f->s, f->n, f->rate, at[0] + set->mod, f->win, f->wsum);
	double tot = p[0] + p[1] + side;
	if (tot <= 0 || f->ms <= 0)
		return 0;
	if (set->f[1] > 0 && fmin(p[0], p[1]) < 0.15 * tot)
		return 0;
	if (set->mod > 0 && (side < 0.12 * tot || p[0] < 0.3 * tot))
		return 0;
	return tot / f->ms;
}

static size_t collect_sets(struct freq_set *sets)
{
	size_t n = 0;
	for (size_t i = 0; i < tone_table_count; i++) {
		const struct tone_spec *t = &tone_table[i];
		size_t k;
		for (k = 0; k < n; k++)
			if (sets[k].f[0] == t->freq[0] && sets[k].f[1] == t->freq[1] &&
			    sets[k].mod == t->mod)
				break;
		if (k == n && n < MAX_SETS)
			sets[n++] = (struct freq_set){{t->freq[0], t->freq[1]}, t->mod};
	}
	return n;
}

static int set_of(const struct freq_set *sets, size_t n, const struct tone_spec *t)
{
	for (size_t k = 0; k < n; k++)
		if (sets[k].f[0] == t->freq[0] && sets[k].f[1] == t->freq[1] && sets[k].mod == t->mod)
			return (int)k;
	return -1;
}

static bool within(double got, double want, const struct tone_params *p)
{
	return fabs(got - want) <= fmax(p->tol_abs, p->tol_rel * want);
}

/* Do segments sg[0..k) follow t's cadence at some phase? */
static bool cadence_match(const struct tone_spec *t, const struct seg *sg, size_t k,
			  const struct tone_params *p)
{
	int parts = t->ncad / 2;
	if (k == 1) {
		double on = sg[0].end - sg[0].start;
		return parts == 1 && t->cadence[0] >= 0.8 && within(on, t->cadence[0], p);
	}
	for (int ph = 0; ph < parts; ph++) {
		bool ok = true;
		for (size_t i = 0; i < k && ok; i++) {
			int c = (int)((ph + (int)i) % parts);
			double on = sg[i].end - sg[i].start, want = t->cadence[2 * c];
			bool cut = (i == k - 1) || (i == 0 && sg[0].start < 0.2);
			if (cut)
				ok = on <= want + fmax(p->tol_abs, p->tol_rel * want);
			else
				ok = within(on, want, p);
			if (ok && i + 1 < k)
				ok = within(sg[i + 1].start - sg[i].end, t->cadence[2 * c + 1], p);
		}
		if (ok)
			return true;
	}
	return false;
}

/* The best table row for the train sg[0..k) of frequency set `set`. */
static const struct tone_spec *train_spec(const struct freq_set *sets, size_t nsets, int set,
					  const struct seg *sg, size_t k,
					  const struct tone_params *p)
{
	const struct tone_spec *best = NULL;
	int best_rank = 1 << 30;
	for (size_t i = 0; i < tone_table_count; i++) {
		const struct tone_spec *t = &tone_table[i];
		int rank = country_rank(p->countries, t->country);
		if (rank < 0 || set_of(sets, nsets, t) != set || rank >= best_rank)
			continue;
		if (cadence_match(t, sg, k, p)) {
			best = t;
			best_rank = rank;
		}
	}
	return best;
}

struct ev_list {
	struct tone_event *v;
	size_t n, cap;
};

static int ev_add(struct ev_list *l, const char *kind, const char *country, double start,
		  double end, double hz, int parts)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? 2 * l->cap : 16;
		struct tone_event *t = realloc(l->v, nc * sizeof(*t));
		if (!t)
			return -1;
		l->v = t;
		l->cap = nc;
	}
	struct tone_event *e = &l->v[l->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->kind, sizeof(e->kind), "%s", kind);
	snprintf(e->country, sizeof(e->country), "%s", country);
	e->start = start;
	e->end = end;
	e->freq = hz;
	e->parts = parts;
	return 0;
}

static int cmp_ev(const void *a, const void *b)
{
	const struct tone_event *x = a, *y = b;
	return (x->start > y->start) - (x->start < y->start);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Frame analysis: fr[0..nf). */
static enum parley_err analyse_frames(const struct pcm *pcm, const struct tone_params *p,
				      struct frame *fr, size_t nf, size_t nfft, size_t hop,
				      struct parley_error *err)
{
	enum parley_err rc = PARLEY_OK;
	struct fft_plan *plan = fft_plan_new(nfft, err);
	double *win = malloc(nfft * sizeof(double)), *buf = malloc(nfft * sizeof(double));
	double *pw = malloc((nfft / 2 + 1) * sizeof(double));
	if (!plan) {
		rc = err ? err->code : PARLEY_ERR_NOMEM;
		goto out;
	}
	if (!win || !buf || !pw) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in tones_detect");
		goto out;
	}
	double w2 = fft_hann(win, nfft);
	double bin = (double)pcm->rate / nfft;
	size_t klo = (size_t)ceil(BAND_LO / bin);
	size_t khi = (size_t)floor(fmin(BAND_HI, 0.45 * pcm->rate) / bin);
	for (size_t f = 0; f < nf; f++) {
		const int16_t *s = pcm->samples + f * hop;
		double e = 0;
		for (size_t i = 0; i < nfft; i++) {
			buf[i] = win[i] * s[i] / 32768.0;
			e += buf[i] * buf[i];
		}
		struct frame *o = &fr[f];
		memset(o, 0, sizeof(*o));
		o->level = 10 * log10(e / w2 + 1e-12);
		if (o->level < p->min_level_dbfs)
			continue;
		fft_power(plan, buf, pw);
		double band = 0;
		size_t pk[PEAKS] = {0};
		for (size_t k = klo; k <= khi; k++) {
			band += pw[k];
			if (k == klo || k == khi || pw[k] <= pw[k - 1] || pw[k] < pw[k + 1])
				continue;
			for (int j = 0; j < PEAKS; j++)
				if (!pk[j] || pw[k] > pw[pk[j]]) {
					for (int m = PEAKS - 1; m > j; m--)
						pk[m] = pk[m - 1];
					pk[j] = k;
					break;
				}
		}
		if (!pk[0] || band <= 0)
			continue;
		double near = 0;
		for (size_t k = klo; k <= khi; k++)
			for (int j = 0; j < PEAKS; j++)
				if (pk[j] && (k + PEAK_BINS >= pk[j]) && k <= pk[j] + PEAK_BINS) {
					near += pw[k];
					break;
				}
		o->tonal = near >= p->min_purity * band;
		for (int j = 0; j < PEAKS && pk[j]; j++) {
			size_t k = pk[j];
			if (pw[k] < SIG_PEAK * pw[pk[0]])
				break;
			double a = log(pw[k - 1] + 1e-30), b = log(pw[k] + 1e-30), c = log(pw[k + 1] + 1e-30);
			double den = a - 2 * b + c, d = den < 0 ? 0.5 * (a - c) / den : 0;
			o->hz[j] = (k + d) * bin;
		}
	}
out:
	fft_plan_free(plan);
	free(win);
	free(buf);
	free(pw);
	return rc;
}

/* Is every significant peak of a near one of b? */
static bool peaks_in(const struct frame *a, const struct frame *b)
{
	for (int j = 0; j < PEAKS && a->hz[j] > 0; j++) {
		bool found = false;
		for (int k = 0; k < PEAKS && b->hz[k] > 0 && !found; k++)
			found = near_hz(a->hz[j], b->hz[k]);
		if (!found)
			return false;
	}
	return true;
}

/* Same tone: the significant peaks of each frame are near those of the other. */
/* Median level (dB) of the frames centred in [a, b] seconds; frames outside
 * the buffer count as silence (-120). tmp holds nf values. */
static double range_level(const struct frame *fr, size_t nf, size_t hop, double half, int rate,
			  double a, double b, double *tmp)
{
	size_t m = 0;
	for (double t = a; t <= b + 1e-9; t += (double)hop / rate) {
		double fi = (t - half) * rate / hop;
		tmp[m++] = fi < 0 || fi >= (double)nf ? -120.0 : fr[(size_t)fi].level;
		if (m == nf)
			break;
	}
	if (!m)
		return -120.0;
	qsort(tmp, m, sizeof(double), cmp_double);
	return tmp[m / 2];
}

static bool frames_same(const struct frame *a, const struct frame *b)
{
	return peaks_in(a, b) && peaks_in(b, a);
}

enum parley_err tones_detect(const struct pcm *pcm, const struct tone_params *p,
			     struct tone_event **out, size_t *n, struct parley_error *err)
{
	struct tone_params defs = tone_default_params();
	enum parley_err rc = PARLEY_OK;
	struct frame *fr = NULL;
	struct seg *sg = NULL;
	double *lv = NULL, *fwin = NULL;
	struct ev_list ev = {0};
	size_t nseg = 0;
	if (out)
		*out = NULL;
	if (n)
		*n = 0;
	if (!pcm || !out || !n || (pcm->n && !pcm->samples))
		return parley_error_set(err, PARLEY_ERR_INVALID, "tones_detect: NULL argument");
	if (pcm->rate < 8000)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"tones_detect: sample rate %d Hz is below 8000", pcm->rate);
	if (!p)
		p = &defs;
	if (p->countries && *p->countries && strcmp(p->countries, "auto") != 0) {
		for (const char *c = p->countries; *c;) {
			while (*c == ' ' || *c == ',')
				c++;
			size_t len = strcspn(c, ", ");
			char name[TONE_COUNTRY_MAX] = "";
			if (len && len < sizeof(name)) {
				memcpy(name, c, len);
				name[len] = '\0';
			}
			if (len && !tone_country_known(name))
				return parley_error_set(err, PARLEY_ERR_INVALID,
							"tones_detect: unknown country \"%.*s\" (known: "
							"us, uk, eu, sg, my, in, or auto)",
							(int)(len > 16 ? 16 : len), c);
			c += len;
		}
	}
	size_t nfft = fft_size_for((size_t)(FRAME_SEC * pcm->rate));
	size_t hop = (size_t)lround(HOP_SEC * pcm->rate);
	if (pcm->n < nfft)
		return PARLEY_OK;
	size_t nf = (pcm->n - nfft) / hop + 1;
	fr = calloc(nf, sizeof(*fr));
	sg = calloc(nf / 2 + 1, sizeof(*sg));
	lv = malloc(nf * sizeof(*lv));
	size_t fine_max = (size_t)(FINE_MAX * pcm->rate);
	fwin = malloc(fine_max * sizeof(*fwin));
	if (!fr || !sg || !lv || !fwin) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in tones_detect");
		goto out;
	}
	if ((rc = analyse_frames(pcm, p, fr, nf, nfft, hop, err)))
		goto out;
	struct freq_set sets[MAX_SETS];
	size_t nsets = collect_sets(sets);
	double half = 0.5 * (double)nfft / pcm->rate;

	/* segments */
	for (size_t f = 0; f < nf;) {
		if (!fr[f].tonal) {
			f++;
			continue;
		}
		size_t a = f, b = f;
		while (b + 1 < nf && fr[b + 1].tonal && frames_same(&fr[b], &fr[b + 1]))
			b++;
		f = b + 1;
		size_t m = 0;
		for (size_t k = a; k <= b; k++)
			lv[m++] = fr[k].level;
		qsort(lv, m, sizeof(double), cmp_double);
		double med = lv[m / 2];
		while (a < b && fr[a].level < med - EDGE_DB)
			a++;
		while (b > a && fr[b].level < med - EDGE_DB)
			b--;
		struct seg *s = &sg[nseg];
		s->start = (double)(a * hop) / pcm->rate + half;
		s->end = (double)(b * hop) / pcm->rate + half;
		if (s->end - s->start < MIN_SEG)
			continue;
		m = 0;
		for (size_t k = a; k <= b; k++)
			lv[m++] = fr[k].hz[0];
		qsort(lv, m, sizeof(double), cmp_double);
		double hmed = lv[m / 2];
		s->spread = 0;
		for (size_t k = a; k <= b; k++)
			s->spread = fmax(s->spread, fabs(fr[k].hz[0] - hmed));
		s->hz = hmed;
		/* fine measurement over (the middle of) the segment */
		size_t sa = (size_t)(s->start * pcm->rate), sb = (size_t)(s->end * pcm->rate);
		if (sb > pcm->n)
			sb = pcm->n;
		size_t len = sb - sa;
		if (len > fine_max) {
			sa += (len - fine_max) / 2;
			len = fine_max;
		}
		double wsum = 0, w2 = 0, e = 0;
		for (size_t i = 0; i < len; i++) {
			fwin[i] = 0.5 - 0.5 * cos(2 * M_PI * (i + 0.5) / len);
			wsum += fwin[i];
			w2 += fwin[i] * fwin[i];
			double v = fwin[i] * pcm->samples[sa + i] / 32768.0;
			e += v * v;
		}
		struct fine fi = {pcm->samples + sa, len, pcm->rate, fwin, wsum, e / w2};
		double at;
		s->single = search_power(fi.s, fi.n, fi.rate, hmed, fmax(10.0, 0.02 * hmed), fwin, wsum,
					 &at) / fi.ms;
		s->hz = at;
		s->set = -1;
		double best = p->set_purity;
		for (size_t k = 0; k < nsets; k++) {
			bool close = false;
			for (int j = 0; j < 2; j++)
				for (int q = 0; q < PEAKS; q++)
					if (sets[k].f[j] > 0 && fr[(a + b) / 2].hz[q] > 0 &&
					    fabs(fr[(a + b) / 2].hz[q] - sets[k].f[j]) <
						    fmax(8.0, 0.02 * sets[k].f[j]) + 40.0)
						close = true;
			if (!close)
				continue;
			double sc = set_score(&fi, &sets[k]);
			/* a richer set wins a near tie (425x24 over 425) */
			if (sc > best + 0.02 || (sc >= best - 0.02 && s->set >= 0 && sc >= p->set_purity &&
						   (sets[k].mod > 0) > (sets[s->set].mod > 0))) {
				best = fmax(best, sc);
				s->set = (int)k;
			}
		}
		if (getenv("PARLEY_TONES_DEBUG"))
			fprintf(stderr, "seg %.3f-%.3f hz %.1f spread %.1f single %.2f set %d\n", s->start,
				s->end, s->hz, s->spread, s->single, s->set);
		nseg++;
	}

	/* a modulated tone (425x24 Hz) dips to nothing 24 times a second and may
	 * break into pieces: rejoin pieces of one set closer than MERGE_GAP */
	size_t m2 = 0;
	for (size_t i = 0; i < nseg; i++) {
		if (m2 && sg[i].set >= 0 && sg[i].set == sg[m2 - 1].set &&
		    sg[i].start - sg[m2 - 1].end < MERGE_GAP) {
			sg[m2 - 1].end = sg[i].end;
			continue;
		}
		sg[m2++] = sg[i];
	}
	nseg = m2;

	/* SIT: three rising tones back to back */
	for (size_t i = 0; i + 2 < nseg; i++) {
		bool ok = true;
		for (int k = 0; k < 3 && ok; k++) {
			const struct seg *s = &sg[i + k];
			double d = s->end - s->start;
			ok = !s->used && s->hz >= sit_band[k][0] && s->hz <= sit_band[k][1] && d >= 0.2 &&
			     d <= 0.45 && (k == 0 || s->start - sg[i + k - 1].end < 0.1);
		}
		if (!ok)
			continue;
		for (int k = 0; k < 3; k++)
			sg[i + k].used = true;
		if (ev.n && strcmp(ev.v[ev.n - 1].kind, "sit") == 0 &&
		    sg[i].start - ev.v[ev.n - 1].end < 2.0) {
			ev.v[ev.n - 1].end = sg[i + 2].end;
			ev.v[ev.n - 1].parts += 3;
		} else if (ev_add(&ev, "sit", "", sg[i].start, sg[i + 2].end, sg[i].hz, 3)) {
			goto nomem;
		}
		i += 2;
	}

	/* trains of one frequency set, matched against the cadences */
	for (size_t i = 0; i < nseg;) {
		if (sg[i].used || sg[i].set < 0) {
			i++;
			continue;
		}
		size_t j = i + 1;
		struct seg train[64];
		size_t k = 0;
		train[k++] = sg[i];
		size_t idx[64];
		idx[0] = i;
		for (; j < nseg && k < 64; j++) {
			if (sg[j].used)
				continue;
			if (sg[j].start - train[k - 1].end > p->train_gap)
				break;
			if (sg[j].set != sg[i].set)
				continue;
			idx[k] = j;
			train[k++] = sg[j];
		}
		/* longest matching prefix, then the rest */
		size_t len = k;
		const struct tone_spec *t = NULL;
		for (; len >= 1; len--)
			if ((t = train_spec(sets, nsets, sg[i].set, train, len, p)))
				break;
		if (!t) {
			i++;
			continue;
		}
		for (size_t q = 0; q < len; q++)
			sg[idx[q]].used = true;
		if (ev_add(&ev, t->kind, t->country, train[0].start, train[len - 1].end, train[0].hz,
			   (int)len))
			goto nomem;
		i++;
	}

	/* beeps: isolated single stable tones */
	for (size_t i = 0; i < nseg; i++) {
		struct seg *s = &sg[i];
		double d = s->end - s->start;
		if (s->used || d < p->beep_min || d > p->beep_max || s->hz < 300 || s->hz > 3000 ||
		    s->single < p->beep_purity || s->spread > fmax(10.0, 0.01 * s->hz))
			continue;
		bool alone = true;
		for (size_t j = 0; j < nseg && alone; j++)
			if (j != i && fabs(sg[j].hz - s->hz) < fmax(10.0, 0.02 * s->hz) &&
			    sg[j].start < s->end + 3.0 && sg[j].end > s->start - 3.0)
				alone = false;
		if (!alone)
			continue;
		/* a beep stands out of quiet: not a held note amid music */
		double on = range_level(fr, nf, hop, half, pcm->rate, s->start + 0.05, s->end - 0.05, lv);
		double before = range_level(fr, nf, hop, half, pcm->rate, s->start - 0.3, s->start - 0.06, lv);
		double after = range_level(fr, nf, hop, half, pcm->rate, s->end + 0.06, s->end + 0.3, lv);
		if (before > on - BEEP_QUIET_DB || after > on - BEEP_QUIET_DB)
			continue;
		s->used = true;
		if (ev_add(&ev, "beep", "", s->start, s->end, s->hz, 1))
			goto nomem;
	}
	if (ev.n)
		qsort(ev.v, ev.n, sizeof(*ev.v), cmp_ev);
	*out = ev.v;
	*n = ev.n;
	ev.v = NULL;
	goto out;
nomem:
	rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in tones_detect");
out:
	free(ev.v);
	free(fr);
	free(sg);
	free(lv);
	free(fwin);
	return rc;
}
