/* channel_diarize.c — see channel_diarize.h. */
#include "dsp/channel_diarize.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LEVEL_FLOOR_DB (-120.0)
#define SPEECH_PERCENTILE 0.9

struct chdiar_params chdiar_default_params(void)
{
	struct chdiar_params p = {
		.margin_db = 10.0,
		.frame_s = 0.02,
		.smooth_s = 0.1,
		.fill_gap = 0.3,
		.bridge = 0.06,
		.min_run = 0.15,
		.gain_max_db = 3.0,
		.floor_db = 40.0,
		.vad = vad_default_params(),
	};
	p.vad.pad = 0.0;
	/* Word edges fade below the VAD's usual -55 dBFS floor, most of all at
	 * 8 kHz (mu-law, no energy under 300 Hz): generated calls, talk time per
	 * channel against the truth, 6 stereo calls (16 and 8 kHz): -55 dBFS
	 * -0.6..-3.7%, -60 -0.2..-1.8%, -65 -1.1..+0.9%. Quiet hiss above the
	 * floor is still refused by the VAD's pitch check and floor_db. */
	p.vad.energy_floor_db = -65.0;
	return p;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Mark frames [start, end) seconds in flags (nf frames of hop seconds). */
static void mark(unsigned char *flags, size_t nf, double hop, double start, double end,
		 unsigned char v)
{
	double a = start / hop, b = end / hop;
	size_t i0 = a <= 0 ? 0 : (size_t)floor(a + 0.5);
	size_t i1 = b <= 0 ? 0 : (size_t)floor(b + 0.5);
	if (i1 > nf)
		i1 = nf;
	for (size_t i = i0; i < i1; i++)
		flags[i] = v;
}

/* Fill runs of 0 shorter than gap frames between 1s. */
static void fill_gaps(unsigned char *a, size_t nf, size_t gap)
{
	for (size_t i = 0; i < nf;) {
		if (a[i]) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < nf && !a[j])
			j++;
		if (i > 0 && j < nf && j - i < gap)
			memset(a + i, 1, j - i);
		i = j;
	}
}

/* Drop runs of 1 shorter than run frames. */
static void drop_runs(unsigned char *a, size_t nf, size_t run)
{
	for (size_t i = 0; i < nf;) {
		if (!a[i]) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < nf && a[j])
			j++;
		if (j - i < run)
			memset(a + i, 0, j - i);
		i = j;
	}
}

/* Gaps of up to bridge frames are closed (a plosive's burst and its vowel
 * are one run), runs shorter than run dropped (stray frames: a dip of the
 * loud side that brings its leak within the margin), then gaps shorter than
 * gap frames filled. */
static void smooth_runs(unsigned char *a, size_t nf, size_t bridge, size_t gap, size_t run)
{
	fill_gaps(a, nf, bridge + 1);
	drop_runs(a, nf, run);
	fill_gaps(a, nf, gap);
}

/* Level (dBFS, power averaged over win frames) per frame, and *ref the
 * channel's speech level (SPEECH_PERCENTILE of its speech frames; NAN when
 * it has none). */
static enum parley_err channel_levels(const struct pcm *pc, size_t nf, size_t hop, size_t win,
				      const unsigned char *speech, double *lev, double *ref)
{
	/* power per hop frame, then averaged over win frames around it */
	double *pw = malloc(nf * sizeof(double));
	double *sorted = malloc(nf * sizeof(double));
	if (!pw || !sorted) {
		free(pw);
		free(sorted);
		return PARLEY_ERR_NOMEM;
	}
	for (size_t f = 0; f < nf; f++) {
		double s = 0;
		const int16_t *x = pc->samples + f * hop;
		for (size_t i = 0; i < hop; i++)
			s += (double)x[i] * x[i];
		pw[f] = s / (double)hop / (32768.0 * 32768.0);
	}
	size_t half = win / 2, ns = 0;
	double acc = 0;
	size_t lo = 0, hi = 0; /* window [lo, hi) */
	for (size_t f = 0; f < nf; f++) {
		size_t want_lo = f > half ? f - half : 0;
		size_t want_hi = f + half + 1 < nf ? f + half + 1 : nf;
		while (hi < want_hi)
			acc += pw[hi++];
		while (lo < want_lo)
			acc -= pw[lo++];
		double mean = acc / (double)(hi - lo);
		lev[f] = mean > 1e-12 ? 10.0 * log10(mean) : LEVEL_FLOOR_DB;
		if (speech[f])
			sorted[ns++] = lev[f];
	}
	*ref = NAN;
	if (ns > 0) {
		qsort(sorted, ns, sizeof(double), cmp_double);
		*ref = sorted[(size_t)((double)(ns - 1) * SPEECH_PERCENTILE)];
	}
	free(pw);
	free(sorted);
	return PARLEY_OK;
}

struct turn_buf {
	struct chdiar_turn *t;
	size_t n, cap;
};

static bool turn_add(struct turn_buf *b, double start, double end, int ch, bool overlap)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct chdiar_turn *nt = realloc(b->t, cap * sizeof(*nt));
		if (!nt)
			return false;
		b->t = nt;
		b->cap = cap;
	}
	b->t[b->n++] = (struct chdiar_turn){start, end, ch, overlap};
	return true;
}

static int cmp_turn(const void *a, const void *b)
{
	const struct chdiar_turn *x = a, *y = b;
	if (x->start != y->start)
		return (x->start > y->start) - (x->start < y->start);
	return x->channel - y->channel;
}

enum parley_err chdiar_run(const struct pcm *ch, int nch, const struct vad_region *regions,
			   size_t nregions, const struct chdiar_params *p, struct chdiar_turn **turns,
			   size_t *n, struct parley_error *err)
{
	struct chdiar_params defaults = chdiar_default_params();
	unsigned char *active[CHDIAR_CHANNELS_MAX] = {0};
	double *lev[CHDIAR_CHANNELS_MAX] = {0};
	double ref[CHDIAR_CHANNELS_MAX];
	unsigned char *allowed = NULL;
	int *floor_of = NULL;
	struct turn_buf out = {0};
	enum parley_err rc = PARLEY_OK;
	if (turns)
		*turns = NULL;
	if (n)
		*n = 0;
	if (!p)
		p = &defaults;
	if (!ch || !turns || !n || nch < 2 || nch > CHDIAR_CHANNELS_MAX || (nregions && !regions))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"channel diarization: wants 2..%d channels and an output",
					CHDIAR_CHANNELS_MAX);
	if (!(p->frame_s >= 0.005 && p->frame_s <= 0.1) || !(p->margin_db >= 0) || !(p->gain_max_db >= 0) || !(p->floor_db > 0) ||
	    !(p->smooth_s >= 0) || !(p->fill_gap >= 0) || !(p->bridge >= 0) || !(p->min_run >= 0))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"channel diarization: parameter out of range");
	size_t len = SIZE_MAX;
	for (int c = 0; c < nch; c++) {
		if (!ch[c].samples && ch[c].n)
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"channel diarization: channel %d has no samples", c);
		if (ch[c].rate != ch[0].rate)
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"channel diarization: channel %d is at %d Hz, channel 0 "
						"at %d Hz", c, ch[c].rate, ch[0].rate);
		if (ch[c].n < len)
			len = ch[c].n;
	}
	size_t hop = (size_t)(p->frame_s * ch[0].rate + 0.5);
	size_t nf = hop ? len / hop : 0;
	if (nf == 0)
		return PARLEY_OK;
	double fs = (double)hop / ch[0].rate; /* the hop in seconds, exactly */
	size_t win = (size_t)(p->smooth_s / fs + 0.5);
	if (win < 1)
		win = 1;

	allowed = malloc(nf);
	floor_of = malloc(nf * sizeof(int));
	if (!allowed || !floor_of)
		goto nomem;
	memset(allowed, nregions ? 0 : 1, nf);
	for (size_t r = 0; r < nregions; r++)
		mark(allowed, nf, fs, regions[r].start, regions[r].end, 1);

	/* 1. each channel's own speech, 2. its level */
	for (int c = 0; c < nch; c++) {
		struct vad_region *vr = NULL;
		size_t nvr = 0;
		struct pcm cut = ch[c];
		cut.n = len;
		active[c] = calloc(nf, 1);
		lev[c] = malloc(nf * sizeof(double));
		if (!active[c] || !lev[c])
			goto nomem;
		if ((rc = vad_detect(&cut, &p->vad, &vr, &nvr, err)))
			goto out;
		for (size_t r = 0; r < nvr; r++)
			mark(active[c], nf, fs, vr[r].start, vr[r].end, 1);
		free(vr);
		for (size_t f = 0; f < nf; f++)
			active[c][f] &= allowed[f];
		if (channel_levels(&ch[c], nf, hop, win, active[c], lev[c], &ref[c]))
			goto nomem;
	}
	/* gain: each channel's levels move towards the others' by at most
	 * gain_max_db (a channel that only ever hears the other side's leak
	 * must not be lifted to speech level) */
	double mean_ref = 0;
	int nref = 0;
	for (int c = 0; c < nch; c++)
		if (!isnan(ref[c])) {
			mean_ref += ref[c];
			nref++;
		}
	mean_ref = nref ? mean_ref / nref : 0;
	for (int c = 0; c < nch; c++) {
		double off = isnan(ref[c]) ? 0 : ref[c] - mean_ref;
		off = off > p->gain_max_db ? p->gain_max_db : off < -p->gain_max_db ? -p->gain_max_db : off;
		/* far below the channel's own speech level is a pause, not speech */
		double floor_db = isnan(ref[c]) ? LEVEL_FLOOR_DB : ref[c] - p->floor_db;
		for (size_t f = 0; f < nf; f++) {
			if (lev[c][f] < floor_db)
				active[c][f] = 0;
			lev[c][f] -= off;
		}
	}
	/* crosstalk: not active when clearly quieter than another speaking channel */
	for (size_t f = 0; f < nf; f++) {
		double loudest = LEVEL_FLOOR_DB - 1;
		for (int c = 0; c < nch; c++)
			if (active[c][f] && lev[c][f] > loudest)
				loudest = lev[c][f];
		for (int c = 0; c < nch; c++)
			if (active[c][f] && lev[c][f] < loudest - p->margin_db)
				active[c][f] = 2; /* crosstalk: decided below, after all channels */
	}
	size_t gap = (size_t)(p->fill_gap / fs + 0.5), run = (size_t)(p->min_run / fs + 0.5);
	size_t bridge = (size_t)(p->bridge / fs + 0.5);
	for (int c = 0; c < nch; c++) {
		for (size_t f = 0; f < nf; f++)
			active[c][f] = active[c][f] == 1;
		smooth_runs(active[c], nf, bridge, gap, run);
	}

	/* 4. the floor: kept by its holder while active */
	int holder = -1;
	for (size_t f = 0; f < nf; f++) {
		if (holder < 0 || !active[holder][f]) {
			holder = -1;
			double best = 0;
			for (int c = 0; c < nch; c++)
				if (active[c][f] && (holder < 0 || lev[c][f] > best)) {
					holder = c;
					best = lev[c][f];
				}
		}
		floor_of[f] = holder;
	}
	for (size_t f = 0; f < nf;) {
		size_t g = f + 1;
		while (g < nf && floor_of[g] == floor_of[f])
			g++;
		if (floor_of[f] >= 0 && !turn_add(&out, (double)f * fs, (double)g * fs, floor_of[f], false))
			goto nomem;
		f = g;
	}
	for (int c = 0; c < nch; c++) {
		for (size_t f = 0; f < nf;) {
			bool side = active[c][f] && floor_of[f] != c;
			size_t g = f + 1;
			while (g < nf && (active[c][g] && floor_of[g] != c) == side)
				g++;
			if (side && !turn_add(&out, (double)f * fs, (double)g * fs, c, true))
				goto nomem;
			f = g;
		}
	}
	if (out.n)
		qsort(out.t, out.n, sizeof(*out.t), cmp_turn);
	*turns = out.t;
	*n = out.n;
	out.t = NULL;
	goto out;
nomem:
	rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in channel diarization");
out:
	for (int c = 0; c < CHDIAR_CHANNELS_MAX; c++) {
		free(active[c]);
		free(lev[c]);
	}
	free(allowed);
	free(floor_of);
	free(out.t);
	return rc;
}
