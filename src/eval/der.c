/*
 * der.c — diarization error rate: a sweep over sorted boundary events, an
 * overlap matrix of reference x hypothesis speakers, and the Hungarian
 * algorithm for the optimal one-to-one mapping. See der.h.
 */
#include "eval/der.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum ev_side { EV_REF = 0, EV_HYP = 1, EV_NOSCORE = 2, EV_REGION = 3 };

struct event {
	double t;
	int side;
	int speaker;
	int delta; /* +1 start, -1 end */
};

/* Speakers active on one side: counts (a speaker's own segments may
 * overlap) and a dense list of the speakers with a count above zero. */
struct active {
	int *count;
	int *pos;  /* index in list, -1 when inactive */
	int *list;
	size_t n;
};

struct der_params der_default_params(void)
{
	struct der_params p = {.collar = 0.25};
	return p;
}

void der_result_release(struct der_result *r)
{
	if (!r)
		return;
	free(r->hyp_to_ref);
	r->hyp_to_ref = NULL;
}

static int event_cmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	if (x->t < y->t)
		return -1;
	if (x->t > y->t)
		return 1;
	return 0;
}

static enum parley_err active_init(struct active *a, size_t n)
{
	size_t k = n ? n : 1;
	a->count = calloc(k, sizeof(int));
	a->pos = malloc(k * sizeof(int));
	a->list = malloc(k * sizeof(int));
	a->n = 0;
	if (!a->count || !a->pos || !a->list)
		return PARLEY_ERR_NOMEM;
	for (size_t i = 0; i < k; i++)
		a->pos[i] = -1;
	return PARLEY_OK;
}

static void active_release(struct active *a)
{
	free(a->count);
	free(a->pos);
	free(a->list);
}

static void active_apply(struct active *a, int speaker, int delta)
{
	int before = a->count[speaker];
	a->count[speaker] += delta;
	if (before == 0 && a->count[speaker] > 0) {
		a->pos[speaker] = (int)a->n;
		a->list[a->n++] = speaker;
	} else if (before > 0 && a->count[speaker] == 0) {
		int p = a->pos[speaker];
		int last = a->list[--a->n];
		a->list[p] = last;
		a->pos[last] = p;
		a->pos[speaker] = -1;
	}
}

static enum parley_err check_segments(const struct der_segment *s, size_t n, size_t nspk,
				      const char *side, struct parley_error *err)
{
	if (n > DER_MAX_SEGMENTS)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"%s: %zu segments, more than the limit of %u", side, n,
					DER_MAX_SEGMENTS);
	if (nspk > DER_MAX_SPEAKERS)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"%s: %zu speakers, more than the limit of %d", side, nspk,
					DER_MAX_SPEAKERS);
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(s[i].start) || !isfinite(s[i].end) || s[i].end < s[i].start)
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"%s segment %zu: bad times %g..%g", side, i + 1,
						s[i].start, s[i].end);
		if (s[i].speaker < 0 || (size_t)s[i].speaker >= nspk)
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"%s segment %zu: speaker %d out of range (0..%zu)",
						side, i + 1, s[i].speaker, nspk);
	}
	return PARLEY_OK;
}

enum parley_err der_assign_max(const double *w, size_t rows, size_t cols, int *row_to_col,
			       struct parley_error *err)
{
	for (size_t r = 0; r < rows; r++)
		row_to_col[r] = -1;
	if (rows == 0 || cols == 0)
		return PARLEY_OK;
	/* Square cost matrix (padding costs 0), minimised with potentials:
	 * the O(n^3) shortest augmenting path form, 1-based as usual. */
	size_t n = rows > cols ? rows : cols;
	double *u = calloc(n + 1, sizeof(double)), *v = calloc(n + 1, sizeof(double));
	double *minv = malloc((n + 1) * sizeof(double));
	size_t *p = calloc(n + 1, sizeof(size_t)), *way = calloc(n + 1, sizeof(size_t));
	char *used = malloc(n + 1);
	enum parley_err rc = PARLEY_OK;
	if (!u || !v || !minv || !p || !way || !used) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "speaker mapping: out of memory");
		goto out;
	}
	for (size_t i = 1; i <= n; i++) {
		p[0] = i;
		size_t j0 = 0;
		for (size_t j = 0; j <= n; j++) {
			minv[j] = INFINITY;
			used[j] = 0;
		}
		do {
			used[j0] = 1;
			size_t i0 = p[j0], j1 = 0;
			double delta = INFINITY;
			for (size_t j = 1; j <= n; j++) {
				if (used[j])
					continue;
				double cost = (i0 - 1 < rows && j - 1 < cols)
						      ? -w[(i0 - 1) * cols + (j - 1)]
						      : 0.0;
				double cur = cost - u[i0] - v[j];
				if (cur < minv[j]) {
					minv[j] = cur;
					way[j] = j0;
				}
				if (minv[j] < delta) {
					delta = minv[j];
					j1 = j;
				}
			}
			for (size_t j = 0; j <= n; j++) {
				if (used[j]) {
					u[p[j]] += delta;
					v[j] -= delta;
				} else {
					minv[j] -= delta;
				}
			}
			j0 = j1;
		} while (p[j0] != 0);
		do {
			size_t j1 = way[j0];
			p[j0] = p[j1];
			j0 = j1;
		} while (j0);
	}
	for (size_t j = 1; j <= n; j++) {
		size_t i = p[j];
		/* Only real pairs that share time count as mapped. */
		if (i >= 1 && i - 1 < rows && j - 1 < cols && w[(i - 1) * cols + (j - 1)] > 0)
			row_to_col[i - 1] = (int)(j - 1);
	}
out:
	free(u);
	free(v);
	free(minv);
	free(p);
	free(way);
	free(used);
	return rc;
}

enum parley_err der_compute(const struct der_segment *ref, size_t nref_segs, size_t nref,
			    const struct der_segment *hyp, size_t nhyp_segs, size_t nhyp,
			    const struct der_params *params, struct der_result *out,
			    struct parley_error *err)
{
	memset(out, 0, sizeof(*out));
	enum parley_err rc;
	if ((rc = check_segments(ref, nref_segs, nref, "reference", err)) ||
	    (rc = check_segments(hyp, nhyp_segs, nhyp, "hypothesis", err)))
		return rc;
	double collar = params ? params->collar : der_default_params().collar;
	if (!isfinite(collar) || collar < 0)
		return parley_error_set(err, PARLEY_ERR_INVALID, "collar %g: must be >= 0", collar);

	const struct der_region *reg = params ? params->regions : NULL;
	size_t nreg = reg ? params->nregions : 0;
	for (size_t i = 0; i < nreg; i++)
		if (!isfinite(reg[i].start) || !isfinite(reg[i].end) || reg[i].end < reg[i].start)
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"scoring region %zu (%g .. %g): need finite start <= end",
						i, reg[i].start, reg[i].end);
	if (nreg > DER_MAX_SEGMENTS)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"%zu scoring regions exceed the limit of %u", nreg,
					DER_MAX_SEGMENTS);
	size_t nev_max = 2 * nhyp_segs + (collar > 0 ? 6 : 2) * nref_segs + 2 * nreg;
	struct event *ev = malloc((nev_max ? nev_max : 1) * sizeof(*ev));
	double *overlap = calloc(nref > 0 && nhyp > 0 ? nref * nhyp : 1, sizeof(double));
	int *hyp_to_ref = malloc((nhyp ? nhyp : 1) * sizeof(int));
	int *ref_to_hyp = malloc((nref ? nref : 1) * sizeof(int));
	struct active ar = {0}, ah = {0};
	if (!ev || !overlap || !hyp_to_ref || !ref_to_hyp || active_init(&ar, nref) ||
	    active_init(&ah, nhyp)) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "diarization error rate: out of memory");
		goto out;
	}

	size_t nev = 0;
	for (size_t i = 0; i < nref_segs; i++) {
		const struct der_segment *s = &ref[i];
		if (s->end <= s->start)
			continue;
		ev[nev++] = (struct event){s->start, EV_REF, s->speaker, +1};
		ev[nev++] = (struct event){s->end, EV_REF, s->speaker, -1};
		if (collar > 0) {
			ev[nev++] = (struct event){s->start - collar, EV_NOSCORE, 0, +1};
			ev[nev++] = (struct event){s->start + collar, EV_NOSCORE, 0, -1};
			ev[nev++] = (struct event){s->end - collar, EV_NOSCORE, 0, +1};
			ev[nev++] = (struct event){s->end + collar, EV_NOSCORE, 0, -1};
		}
	}
	for (size_t i = 0; i < nhyp_segs; i++) {
		const struct der_segment *s = &hyp[i];
		if (s->end <= s->start)
			continue;
		ev[nev++] = (struct event){s->start, EV_HYP, s->speaker, +1};
		ev[nev++] = (struct event){s->end, EV_HYP, s->speaker, -1};
	}
	for (size_t i = 0; i < nreg; i++) {
		if (reg[i].end <= reg[i].start)
			continue;
		ev[nev++] = (struct event){reg[i].start, EV_REGION, 0, +1};
		ev[nev++] = (struct event){reg[i].end, EV_REGION, 0, -1};
	}
	qsort(ev, nev, sizeof(*ev), event_cmp);

	/* Sweep: apply every event at one time, then score the piece up to the
	 * next event time with the state that holds throughout it. */
	int noscore = 0, inside = 0;
	double scored = 0, missed = 0, fa = 0, paired = 0;
	for (size_t i = 0; i < nev;) {
		double t = ev[i].t;
		for (; i < nev && ev[i].t == t; i++) {
			if (ev[i].side == EV_REF)
				active_apply(&ar, ev[i].speaker, ev[i].delta);
			else if (ev[i].side == EV_HYP)
				active_apply(&ah, ev[i].speaker, ev[i].delta);
			else if (ev[i].side == EV_REGION)
				inside += ev[i].delta;
			else
				noscore += ev[i].delta;
		}
		if (i == nev || noscore > 0 || (reg && inside <= 0))
			continue;
		double d = ev[i].t - t;
		double r = (double)ar.n, h = (double)ah.n;
		scored += d * r;
		if (r > h)
			missed += d * (r - h);
		else
			fa += d * (h - r);
		paired += d * (r < h ? r : h);
		for (size_t a = 0; a < ar.n; a++)
			for (size_t b = 0; b < ah.n; b++)
				overlap[(size_t)ar.list[a] * nhyp + (size_t)ah.list[b]] += d;
	}

	if ((rc = der_assign_max(overlap, nref, nhyp, ref_to_hyp, err)))
		goto out;
	double correct = 0;
	for (size_t h = 0; h < nhyp; h++)
		hyp_to_ref[h] = -1;
	for (size_t r = 0; r < nref; r++)
		if (ref_to_hyp[r] >= 0) {
			hyp_to_ref[ref_to_hyp[r]] = (int)r;
			correct += overlap[r * nhyp + (size_t)ref_to_hyp[r]];
		}
	out->scored = scored;
	out->missed = missed;
	out->false_alarm = fa;
	out->confusion = paired - correct;
	/* paired and correct are sums of the same pieces in another order: a
	 * difference below a nanosecond per scored second is rounding */
	if (out->confusion < 1e-9 * (scored > 1 ? scored : 1))
		out->confusion = 0;
	out->der = scored > 0 ? (missed + fa + out->confusion) / scored : NAN;
	out->nref = nref;
	out->nhyp = nhyp;
	out->hyp_to_ref = hyp_to_ref;
	hyp_to_ref = NULL;
out:
	free(ev);
	free(overlap);
	free(hyp_to_ref);
	free(ref_to_hyp);
	active_release(&ar);
	active_release(&ah);
	return rc;
}
