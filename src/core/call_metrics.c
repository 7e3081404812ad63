/* call_metrics.c — see call_metrics.h. */
#include "core/call_metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOUCH 1e-6 /* intervals closer than this are one */

struct call_metrics_params call_metrics_default_params(void)
{
	return (struct call_metrics_params){.silence_min = 2.0, .interrupt_yield = 2.0};
}

static const char *const ivr_kinds[] = {"ringback", "busy",       "congestion", "sit",
					"dtmf",     "ivr_prompt", "beep",       "music"};

#define FIRST_TURN_MIN 1.0 /* call_first_speaker_after: a turn at least this long */

double call_ivr_end(const struct store_call_event *ev, size_t n)
{
	double end = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < sizeof(ivr_kinds) / sizeof(ivr_kinds[0]); k++)
			if (strcmp(ev[i].kind, ivr_kinds[k]) == 0 && ev[i].end > end)
				end = ev[i].end;
	return end;
}

int call_first_speaker_after(const struct store_segment *turns, size_t n, double t)
{
	int best = -1, any = -1, first = -1;
	double best_start = INFINITY, any_start = INFINITY, first_start = INFINITY;
	for (size_t i = 0; i < n; i++) {
		if (turns[i].speaker < 0)
			continue;
		if (turns[i].start < first_start) {
			first_start = turns[i].start;
			first = turns[i].speaker;
		}
		if (turns[i].start < t - 0.5)
			continue;
		if (turns[i].start < any_start) {
			any_start = turns[i].start;
			any = turns[i].speaker;
		}
		if (turns[i].end - turns[i].start >= FIRST_TURN_MIN && turns[i].start < best_start) {
			best_start = turns[i].start;
			best = turns[i].speaker;
		}
	}
	return best >= 0 ? best : any >= 0 ? any : first;
}

/* The IVR's own span: first ivr_prompt/dtmf start to the last one's end. */
static double ivr_span(const struct store_call_event *ev, size_t n)
{
	double a = INFINITY, b = -INFINITY;
	for (size_t i = 0; i < n; i++)
		if (strcmp(ev[i].kind, "ivr_prompt") == 0 || strcmp(ev[i].kind, "dtmf") == 0) {
			a = ev[i].start < a ? ev[i].start : a;
			b = ev[i].end > b ? ev[i].end : b;
		}
	return b > a ? b - a : 0;
}

/* ---- intervals ---- */

struct ival {
	double start, end;
	int party;
};

struct ivals {
	struct ival *v;
	size_t n, cap;
};

static bool ivals_add(struct ivals *a, double start, double end, int party)
{
	if (!(end > start))
		return true;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		struct ival *nv = realloc(a->v, cap * sizeof(*nv));
		if (!nv)
			return false;
		a->v = nv;
		a->cap = cap;
	}
	a->v[a->n++] = (struct ival){start, end, party};
	return true;
}

static int cmp_ival(const void *x, const void *y)
{
	const struct ival *a = x, *b = y;
	if (a->party != b->party)
		return a->party - b->party;
	return (a->start > b->start) - (a->start < b->start);
}

/* Sort by party then start and merge each party's touching intervals. */
static void ivals_merge(struct ivals *a)
{
	if (a->n == 0)
		return;
	qsort(a->v, a->n, sizeof(*a->v), cmp_ival);
	size_t w = 0;
	for (size_t i = 1; i < a->n; i++) {
		if (a->v[i].party == a->v[w].party && a->v[i].start <= a->v[w].end + TOUCH) {
			if (a->v[i].end > a->v[w].end)
				a->v[w].end = a->v[i].end;
		} else {
			a->v[++w] = a->v[i];
		}
	}
	a->n = w + 1;
}

/* ---- output builders ---- */

struct out {
	struct store_call_metric *m;
	size_t nm, capm;
	struct store_call_span *s;
	size_t ns, caps;
	bool nomem;
};

static void put_metric(struct out *o, const char *scope, const char *name, double v)
{
	if (o->nomem || !isfinite(v))
		return;
	if (o->nm == o->capm) {
		size_t cap = o->capm ? o->capm * 2 : 64;
		struct store_call_metric *nm = realloc(o->m, cap * sizeof(*nm));
		if (!nm) {
			o->nomem = true;
			return;
		}
		o->m = nm;
		o->capm = cap;
	}
	struct store_call_metric *m = &o->m[o->nm++];
	memset(m, 0, sizeof(*m));
	snprintf(m->scope, sizeof(m->scope), "%s", scope);
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->value = round(v * 1000.0) / 1000.0;
}

static void put_span(struct out *o, const char *kind, double start, double end, const char *who,
		     const char *other)
{
	if (o->nomem)
		return;
	if (o->ns == o->caps) {
		size_t cap = o->caps ? o->caps * 2 : 64;
		struct store_call_span *ns = realloc(o->s, cap * sizeof(*ns));
		if (!ns) {
			o->nomem = true;
			return;
		}
		o->s = ns;
		o->caps = cap;
	}
	struct store_call_span *s = &o->s[o->ns++];
	memset(s, 0, sizeof(*s));
	snprintf(s->kind, sizeof(s->kind), "%s", kind);
	s->start = round(start * 1000.0) / 1000.0;
	s->end = round(end * 1000.0) / 1000.0;
	snprintf(s->who, sizeof(s->who), "%s", who ? who : "");
	snprintf(s->other, sizeof(s->other), "%s", other ? other : "");
}

/* ---- the computation ---- */

struct party {
	char name[STORE_CALL_NAME_MAX];
	double talk, overlap, lsum_w, lsum;
	int turns, made, received;
	long words;
	double first_word, first_talk;
};

struct calc {
	const struct call_metrics_input *in;
	const struct call_metrics_params *p;
	int nspk, nparty;
	int spk_party[CALL_METRICS_SPEAKERS_MAX];
	struct party party[CALL_METRICS_SPEAKERS_MAX];
	struct ivals runs;  /* per party, merged; sorted by party then start */
	struct ivals talk;  /* anyone talking (party -1), merged, by start */
	struct ivals evs;   /* call events (party -1), merged, by start */
	size_t first_run[CALL_METRICS_SPEAKERS_MAX + 1]; /* runs of party k: [first_run[k], first_run[k+1]) */
};

static const char *party_name(const struct calc *c, int k)
{
	return k >= 0 && k < c->nparty ? c->party[k].name : "";
}

/* Does any party other than k talk in (a, b)? */
static bool other_talks(const struct calc *c, int k, double a, double b)
{
	for (size_t i = 0; i < c->runs.n; i++)
		if (c->runs.v[i].party != k && c->runs.v[i].start < b - TOUCH &&
		    c->runs.v[i].end > a + TOUCH)
			return true;
	return false;
}

static enum parley_err setup_parties(struct calc *c, struct parley_error *err)
{
	const struct call_metrics_input *in = c->in;
	int nspk = 0;
	for (size_t i = 0; i < in->nturns; i++)
		nspk = in->turns[i].speaker + 1 > nspk ? in->turns[i].speaker + 1 : nspk;
	for (size_t i = 0; i < in->noverlaps; i++)
		nspk = in->overlaps[i].speaker + 1 > nspk ? in->overlaps[i].speaker + 1 : nspk;
	for (size_t i = 0; i < in->nroles; i++)
		nspk = in->roles[i].speaker + 1 > nspk ? in->roles[i].speaker + 1 : nspk;
	if (nspk > CALL_METRICS_SPEAKERS_MAX)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"call metrics: %d speakers (at most %d)", nspk,
					CALL_METRICS_SPEAKERS_MAX);
	c->nspk = nspk;
	for (int s = 0; s < nspk; s++) {
		char name[STORE_CALL_NAME_MAX];
		snprintf(name, sizeof(name), "speaker:%d", s + 1);
		for (size_t i = 0; i < in->nroles; i++)
			if (in->roles[i].speaker == s && in->roles[i].role[0])
				snprintf(name, sizeof(name), "%s", in->roles[i].role);
		int k = 0;
		while (k < c->nparty && strcmp(c->party[k].name, name) != 0)
			k++;
		if (k == c->nparty) {
			memset(&c->party[k], 0, sizeof(c->party[k]));
			snprintf(c->party[k].name, sizeof(c->party[k].name), "%s", name);
			c->party[k].first_word = INFINITY;
			c->party[k].first_talk = INFINITY;
			c->nparty++;
		}
		c->spk_party[s] = k;
	}
	return PARLEY_OK;
}

static bool build_intervals(struct calc *c)
{
	const struct call_metrics_input *in = c->in;
	for (size_t i = 0; i < in->nturns; i++)
		if (in->turns[i].speaker >= 0 &&
		    !ivals_add(&c->runs, in->turns[i].start, in->turns[i].end,
			       c->spk_party[in->turns[i].speaker]))
			return false;
	for (size_t i = 0; i < in->noverlaps; i++)
		if (in->overlaps[i].speaker >= 0 &&
		    !ivals_add(&c->runs, in->overlaps[i].start, in->overlaps[i].end,
			       c->spk_party[in->overlaps[i].speaker]))
			return false;
	ivals_merge(&c->runs);
	size_t i = 0;
	for (int k = 0; k <= c->nparty; k++) {
		while (i < c->runs.n && c->runs.v[i].party < k)
			i++;
		c->first_run[k] = i;
	}
	for (i = 0; i < c->runs.n; i++)
		if (!ivals_add(&c->talk, c->runs.v[i].start, c->runs.v[i].end, -1))
			return false;
	ivals_merge(&c->talk);
	for (i = 0; i < in->nevents; i++)
		if (!ivals_add(&c->evs, in->events[i].start, in->events[i].end, -1))
			return false;
	ivals_merge(&c->evs);
	return true;
}

/* Silences: gaps between the first and last talk, minus event spans. */
static void find_silences(struct calc *c, struct out *o, double *time, int *count, double *max)
{
	for (size_t g = 0; g + 1 < c->talk.n; g++) {
		double a = c->talk.v[g].end, b = c->talk.v[g + 1].start;
		double cur = a;
		for (size_t e = 0; e <= c->evs.n && cur < b; e++) {
			double stop = e < c->evs.n ? c->evs.v[e].start : b;
			double next = e < c->evs.n ? c->evs.v[e].end : b;
			if (e < c->evs.n && c->evs.v[e].end <= cur)
				continue;
			if (stop > b)
				stop = b;
			if (stop - cur >= c->p->silence_min) {
				int before = -1, after = -1;
				double be = -INFINITY, as = INFINITY;
				for (size_t i = 0; i < c->runs.n; i++) {
					const struct ival *r = &c->runs.v[i];
					if (r->end <= a + TOUCH && r->end > be) {
						be = r->end;
						before = r->party;
					}
					if (r->start >= b - TOUCH && r->start < as) {
						as = r->start;
						after = r->party;
					}
				}
				put_span(o, "silence", cur, stop, party_name(c, before),
					 party_name(c, after));
				*time += stop - cur;
				(*count)++;
				if (stop - cur > *max)
					*max = stop - cur;
			}
			if (next > cur)
				cur = next;
		}
	}
}

struct edge {
	double t;
	int party, delta;
};

static int cmp_edge(const void *x, const void *y)
{
	const struct edge *a = x, *b = y;
	if (a->t != b->t)
		return (a->t > b->t) - (a->t < b->t);
	return a->delta - b->delta; /* ends first: touching runs do not overlap */
}

/* Overlap: a sweep over the runs' edges. */
static bool find_overlaps(struct calc *c, struct out *o, double *time, int *count)
{
	size_t ne = c->runs.n * 2;
	struct edge *e = malloc((ne ? ne : 1) * sizeof(*e));
	if (!e)
		return false;
	for (size_t i = 0; i < c->runs.n; i++) {
		e[2 * i] = (struct edge){c->runs.v[i].start, c->runs.v[i].party, +1};
		e[2 * i + 1] = (struct edge){c->runs.v[i].end, c->runs.v[i].party, -1};
	}
	qsort(e, ne, sizeof(*e), cmp_edge);
	int active[CALL_METRICS_SPEAKERS_MAX] = {0};
	double since[CALL_METRICS_SPEAKERS_MAX] = {0}; /* when each active party started */
	int nactive = 0;
	double ov_start = 0;
	int ov_a = -1, ov_b = -1;
	for (size_t i = 0; i < ne; i++) {
		if (i > 0 && nactive >= 2) {
			double dt = e[i].t - e[i - 1].t;
			for (int k = 0; k < c->nparty; k++)
				if (active[k])
					c->party[k].overlap += dt;
			*time += dt;
		}
		int k = e[i].party;
		int was = nactive;
		if (e[i].delta > 0) {
			if (active[k]++ == 0) {
				nactive++;
				since[k] = e[i].t;
			}
		} else if (--active[k] == 0) {
			nactive--;
		}
		if (was < 2 && nactive >= 2) {
			ov_start = e[i].t;
			/* the two parties talking, the earlier starter first */
			ov_a = ov_b = -1;
			for (int q = 0; q < c->nparty; q++) {
				if (!active[q])
					continue;
				if (ov_a < 0 || since[q] < since[ov_a]) {
					ov_b = ov_a;
					ov_a = q;
				} else if (ov_b < 0 || since[q] < since[ov_b]) {
					ov_b = q;
				}
			}
		} else if (was >= 2 && nactive < 2 && e[i].t > ov_start) {
			put_span(o, "overlap", ov_start, e[i].t, party_name(c, ov_a), party_name(c, ov_b));
			(*count)++;
		}
	}
	free(e);
	return true;
}

/* Interruptions: see the header. */
static void find_interruptions(struct calc *c, struct out *o, double *time, int *count)
{
	struct ivals *r = &c->runs;
	for (size_t b = 0; b < r->n; b++) {
		for (size_t a = 0; a < r->n; a++) {
			if (r->v[a].party == r->v[b].party)
				continue;
			double t = r->v[b].start, stop = r->v[a].end;
			if (r->v[a].start < t - TOUCH && stop > t + TOUCH &&
			    stop <= t + c->p->interrupt_yield + TOUCH && r->v[b].end > stop + TOUCH) {
				put_span(o, "interruption", t, stop, party_name(c, r->v[b].party),
					 party_name(c, r->v[a].party));
				c->party[r->v[b].party].made++;
				c->party[r->v[a].party].received++;
				*time += stop - t;
				(*count)++;
			}
		}
	}
}

/* Turns: consecutive runs of a party are one turn unless another party
 * talked between them or the pause is a silence. */
static void count_turns(struct calc *c)
{
	for (int k = 0; k < c->nparty; k++) {
		size_t from = c->first_run[k], to = c->first_run[k + 1];
		struct party *pt = &c->party[k];
		for (size_t i = from; i < to; i++) {
			pt->talk += c->runs.v[i].end - c->runs.v[i].start;
			if (c->runs.v[i].start < pt->first_talk)
				pt->first_talk = c->runs.v[i].start;
			if (i == from) {
				pt->turns++;
				continue;
			}
			double a = c->runs.v[i - 1].end, b = c->runs.v[i].start;
			if (b - a >= c->p->silence_min || other_talks(c, k, a, b))
				pt->turns++;
		}
	}
}

static void emit(struct calc *c, struct out *o, double sil_time, int sil_count, double sil_max,
		 double ov_time, int ov_count, double int_time, int int_count)
{
	const struct call_metrics_input *in = c->in;
	double talk = 0, sum_party = 0, hold = 0;
	int holds = 0;
	for (size_t i = 0; i < c->talk.n; i++)
		talk += c->talk.v[i].end - c->talk.v[i].start;
	for (int k = 0; k < c->nparty; k++)
		sum_party += c->party[k].talk;
	/* holds: the union of the hold events (a stereo call may report one on
	 * each channel) */
	struct ivals hv = {0};
	for (size_t i = 0; i < in->nevents; i++)
		if (strcmp(in->events[i].kind, "hold") == 0 &&
		    !ivals_add(&hv, in->events[i].start, in->events[i].end, -1))
			o->nomem = true;
	ivals_merge(&hv);
	for (size_t i = 0; i < hv.n; i++) {
		hold += hv.v[i].end - hv.v[i].start;
		holds++;
		put_span(o, "hold", hv.v[i].start, hv.v[i].end, "", "");
	}
	free(hv.v);
	put_metric(o, "call", "duration", in->duration);
	put_metric(o, "call", "talk_time", talk);
	put_metric(o, "call", "non_talk_time", in->duration > talk ? in->duration - talk : 0);
	put_metric(o, "call", "silence_count", sil_count);
	put_metric(o, "call", "silence_time", sil_time);
	put_metric(o, "call", "silence_max", sil_max);
	put_metric(o, "call", "overlap_count", ov_count);
	put_metric(o, "call", "overlap_time", ov_time);
	put_metric(o, "call", "interruption_count", int_count);
	put_metric(o, "call", "interruption_time", int_time);
	put_metric(o, "call", "hold_count", holds);
	put_metric(o, "call", "hold_time", hold);
	put_metric(o, "call", "ivr_time", ivr_span(in->events, in->nevents));
	put_metric(o, "call", "loudness_lufs", in->call_loudness);
	for (int k = 0; k < c->nparty; k++) {
		struct party *pt = &c->party[k];
		const char *n = pt->name;
		put_metric(o, n, "talk_time", pt->talk);
		put_metric(o, n, "talk_share", sum_party > 0 ? pt->talk / sum_party : 0);
		put_metric(o, n, "overlap_time", pt->overlap);
		put_metric(o, n, "turns", pt->turns);
		put_metric(o, n, "mean_turn", pt->turns ? pt->talk / pt->turns : 0);
		put_metric(o, n, "interruptions_made", pt->made);
		put_metric(o, n, "interruptions_received", pt->received);
		if (in->nwords > 0) {
			put_metric(o, n, "words", (double)pt->words);
			put_metric(o, n, "wpm", pt->talk > 0 ? pt->words / (pt->talk / 60.0) : 0);
		}
		if (pt->lsum_w > 0)
			put_metric(o, n, "loudness_lufs", 10.0 * log10(pt->lsum / pt->lsum_w));
		if (strcmp(n, "agent") == 0) {
			double first = isfinite(pt->first_word) ? pt->first_word : pt->first_talk;
			put_metric(o, "call", "agent_first_word", first);
		}
	}
}

enum parley_err call_metrics_compute(const struct call_metrics_input *in,
				     const struct call_metrics_params *p,
				     struct store_call_metric **metrics, size_t *nmetrics,
				     struct store_call_span **spans, size_t *nspans,
				     struct parley_error *err)
{
	struct call_metrics_params defaults = call_metrics_default_params();
	struct out o = {0};
	struct calc *c = NULL;
	enum parley_err rc = PARLEY_OK;
	if (metrics)
		*metrics = NULL;
	if (spans)
		*spans = NULL;
	if (nmetrics)
		*nmetrics = 0;
	if (nspans)
		*nspans = 0;
	if (!in || !metrics || !nmetrics || !spans || !nspans ||
	    (in->nturns && !in->turns) || (in->noverlaps && !in->overlaps) ||
	    (in->nwords && !in->words) || (in->nroles && !in->roles) ||
	    (in->nevents && !in->events) || (in->nloudness && !in->loudness))
		return parley_error_set(err, PARLEY_ERR_INVALID, "call metrics: missing arguments");
	if (!p)
		p = &defaults;
	c = calloc(1, sizeof(*c));
	if (!c)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in call metrics");
	c->in = in;
	c->p = p;
	if ((rc = setup_parties(c, err)))
		goto out;
	if (!build_intervals(c))
		goto nomem;
	for (size_t i = 0; i < in->nwords; i++) {
		int s = in->words[i].speaker;
		if (s < 0 || s >= c->nspk)
			continue;
		struct party *pt = &c->party[c->spk_party[s]];
		pt->words++;
		if (in->words[i].start < pt->first_word)
			pt->first_word = in->words[i].start;
	}
	count_turns(c);
	/* loudness: speakers of a party combined by talk time, power domain */
	for (size_t s = 0; s < in->nloudness && (int)s < c->nspk; s++) {
		if (!isfinite(in->loudness[s]))
			continue;
		double w = 0;
		for (size_t i = 0; i < in->nturns; i++)
			if (in->turns[i].speaker == (int)s)
				w += in->turns[i].end - in->turns[i].start;
		struct party *pt = &c->party[c->spk_party[s]];
		w = w > 0 ? w : 1e-3;
		pt->lsum_w += w;
		pt->lsum += w * pow(10.0, in->loudness[s] / 10.0);
	}
	double sil_time = 0, sil_max = 0, ov_time = 0, int_time = 0;
	int sil_count = 0, ov_count = 0, int_count = 0;
	find_silences(c, &o, &sil_time, &sil_count, &sil_max);
	if (!find_overlaps(c, &o, &ov_time, &ov_count))
		goto nomem;
	find_interruptions(c, &o, &int_time, &int_count);
	emit(c, &o, sil_time, sil_count, sil_max, ov_time, ov_count, int_time, int_count);
	if (o.nomem)
		goto nomem;
	*metrics = o.m;
	*nmetrics = o.nm;
	*spans = o.s;
	*nspans = o.ns;
	o.m = NULL;
	o.s = NULL;
	goto out;
nomem:
	rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in call metrics");
out:
	free(o.m);
	free(o.s);
	if (c) {
		free(c->runs.v);
		free(c->talk.v);
		free(c->evs.v);
	}
	free(c);
	return rc;
}
