/* ivr_scan.c — call events from the audio; see ivr_scan.h. */
#include "dsp/ivr_scan.h"

#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/vad.h"

#define LIVE_MIN 1.0        /* s: a VAD region this long outside events is live talk */
#define PROMPT_SPEECH 0.5   /* share of an occurrence that VAD calls speech */
#define DIGITS_MAX 64       /* digits kept in a detail */
#define PROMPT_STABILITY 0.65 /* a spoken prompt's median stability at most (music ~0.8) */
#define ECHO_DB 10.0        /* an event this much quieter than its twin on another channel is leak */

struct ivr_scan_params ivr_scan_default_params(void)
{
	return (struct ivr_scan_params){
		.tones = tone_default_params(),
		.dtmf = dtmf_default_params(),
		.music = music_default_params(),
		.prompt = prompt_default_params(),
		.find_music = true,
		.digits = false,
		.prompt_seconds = 300.0,
	};
}

struct evl {
	struct ivr_event *v;
	size_t n, cap;
};

static int ev_add(struct evl *l, const char *kind, double start, double end, int channel,
		  const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int ev_add(struct evl *l, const char *kind, double start, double end, int channel,
		  const char *fmt, ...)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? 2 * l->cap : 16;
		struct ivr_event *t = realloc(l->v, nc * sizeof(*t));
		if (!t)
			return -1;
		l->v = t;
		l->cap = nc;
	}
	struct ivr_event *e = &l->v[l->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->kind, sizeof(e->kind), "%s", kind);
	e->start = start;
	e->end = end;
	e->channel = channel;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	return 0;
}

static double overlap(double a0, double a1, double b0, double b1)
{
	double d = fmin(a1, b1) - fmax(a0, b0);
	return d > 0 ? d : 0;
}

/* Does [a, b) overlap an event l->v[from..] (kind NULL = any kind)? */
static bool hits(const struct evl *l, size_t from, double a, double b, const char *kind)
{
	for (size_t i = from; i < l->n; i++)
		if ((!kind || strcmp(l->v[i].kind, kind) == 0) &&
		    overlap(a, b, l->v[i].start, l->v[i].end) > 0)
			return true;
	return false;
}

static double speech_share(const struct vad_region *r, size_t nr, double a, double b)
{
	double s = 0;
	for (size_t i = 0; i < nr; i++)
		s += overlap(a, b, r[i].start, r[i].end);
	return b > a ? s / (b - a) : 0;
}

/* Adds an ivr_prompt occurrence unless one is there already (a prompt heard
 * three times matches in three pairs). */
static int add_prompt(struct evl *l, size_t from, double a, double b, int ch, const char *detail)
{
	for (size_t i = from; i < l->n; i++)
		if (strcmp(l->v[i].kind, "ivr_prompt") == 0 &&
		    overlap(a, b, l->v[i].start, l->v[i].end) > 0.5 * (b - a))
			return 0;
	return ev_add(l, "ivr_prompt", a, b, ch, "%s", detail);
}

static int cmp_event(const void *x, const void *y)
{
	const struct ivr_event *a = x, *b = y;
	if (a->start != b->start)
		return (a->start > b->start) - (a->start < b->start);
	return a->channel - b->channel;
}

static enum parley_err scan_one(const struct pcm *pcm, int ch, const struct ivr_scan_params *p,
				struct evl *l, double *first_live, struct parley_error *err)
{
	enum parley_err rc = PARLEY_OK;
	struct music_span *ms = NULL;
	struct tone_event *te = NULL;
	struct dtmf_press *dp = NULL;
	struct dtmf_seq *ds = NULL;
	struct prompt_match *pm = NULL;
	struct vad_region *vr = NULL;
	struct prompt_fp fp = {0};
	size_t nms = 0, nte = 0, ndp = 0, nds = 0, npm = 0, nvr = 0;
	size_t base = l->n;

	if (p->find_music) {
		if ((rc = music_detect(pcm, &p->music, &ms, &nms, err)))
			goto out;
		for (size_t i = 0; i < nms; i++)
			if (ev_add(l, "music", ms[i].start, ms[i].end, ch, "{\"stability\":%.3f}",
				   ms[i].stability))
				goto nomem;
	}
	if ((rc = tones_detect(pcm, &p->tones, &te, &nte, err)))
		goto out;
	for (size_t i = 0; i < nte; i++) {
		const struct tone_event *t = &te[i];
		if (hits(l, base, t->start, t->end, "music"))
			continue;
		int bad;
		if (strcmp(t->kind, "beep") == 0)
			bad = ev_add(l, t->kind, t->start, t->end, ch, "{\"freq\":%.0f}", t->freq);
		else if (strcmp(t->kind, "sit") == 0)
			bad = ev_add(l, t->kind, t->start, t->end, ch, "{\"tones\":%d}", t->parts);
		else
			bad = ev_add(l, t->kind, t->start, t->end, ch, "{\"country\":\"%s\",\"tones\":%d}",
				     t->country, t->parts);
		if (bad)
			goto nomem;
	}
	if ((rc = dtmf_detect(pcm, &p->dtmf, &dp, &ndp, err)))
		goto out;
	size_t m = 0;
	for (size_t i = 0; i < ndp; i++)
		if (!hits(l, base, dp[i].start, dp[i].end, NULL))
			dp[m++] = dp[i];
	ndp = m;
	if ((rc = dtmf_group(dp, ndp, p->dtmf.seq_gap, &ds, &nds, err)))
		goto out;
	for (size_t i = 0; i < nds; i++) {
		int bad;
		if (p->digits) {
			char digits[DIGITS_MAX + 1];
			size_t k;
			for (k = 0; k < ds[i].count && k < DIGITS_MAX; k++)
				digits[k] = dp[ds[i].first + k].digit;
			digits[k] = '\0';
			bad = ev_add(l, "dtmf", ds[i].start, ds[i].end, ch,
				     "{\"count\":%zu,\"digits\":\"%s\"}", ds[i].count, digits);
		} else {
			bad = ev_add(l, "dtmf", ds[i].start, ds[i].end, ch, "{\"count\":%zu}",
				     ds[i].count);
		}
		if (bad)
			goto nomem;
	}
	/* speech regions: prompts must be speech; the first live talk */
	struct vad_params vp = vad_default_params();
	if ((rc = vad_detect(pcm, &vp, &vr, &nvr, err)))
		goto out;
	if ((rc = prompt_fingerprint(pcm, p->prompt_seconds, &fp, err)))
		goto out;
	for (size_t i = base; i < l->n; i++)
		prompt_fp_exclude(&fp, l->v[i].start, l->v[i].end);
	size_t prompts_from = l->n;
	if ((rc = prompt_find_repeats(&fp, &p->prompt, &pm, &npm, err)))
		goto out;
	for (size_t i = 0; i < npm; i++) {
		const struct prompt_match *q = &pm[i];
		if (speech_share(vr, nvr, q->first_start, q->first_end) < PROMPT_SPEECH ||
		    speech_share(vr, nvr, q->start, q->end) < PROMPT_SPEECH)
			continue;
		double s1 = music_stability(pcm, q->first_start, q->first_end);
		double s2 = music_stability(pcm, q->start, q->end);
		if (s1 < 0 || s2 < 0)
			goto nomem;
		if (s1 > PROMPT_STABILITY || s2 > PROMPT_STABILITY)
			continue; /* looping music the music step missed */
		char d1[IVR_DETAIL_MAX], d2[IVR_DETAIL_MAX];
		snprintf(d1, sizeof(d1), "{\"source\":\"repeat\",\"play\":1,\"ber\":%.3f}", q->ber);
		snprintf(d2, sizeof(d2), "{\"source\":\"repeat\",\"play\":2,\"ber\":%.3f}", q->ber);
		if (add_prompt(l, prompts_from, q->first_start, q->first_end, ch, d1) ||
		    add_prompt(l, prompts_from, q->start, q->end, ch, d2))
			goto nomem;
	}
	for (size_t k = 0; k < p->nknown; k++) {
		free(pm);
		pm = NULL;
		if ((rc = prompt_find_known(&fp, &p->known[k].fp, &p->prompt, &pm, &npm, err)))
			goto out;
		for (size_t i = 0; i < npm; i++) {
			char d[IVR_DETAIL_MAX];
			snprintf(d, sizeof(d), "{\"source\":\"known\",\"prompt\":\"%s\",\"ber\":%.3f}",
				 p->known[k].name, pm[i].ber);
			if (add_prompt(l, prompts_from, pm[i].start, pm[i].end, ch, d))
				goto nomem;
		}
	}
	for (size_t i = 0; i < nvr; i++)
		if (vr[i].end - vr[i].start >= LIVE_MIN && !hits(l, base, vr[i].start, vr[i].end, NULL)) {
			if (vr[i].start < *first_live)
				*first_live = vr[i].start;
			break;
		}
	goto out;
nomem:
	rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in ivr_scan");
out:
	free(ms);
	free(te);
	free(dp);
	free(ds);
	free(pm);
	free(vr);
	prompt_fp_release(&fp);
	return rc;
}

/* Mean power of src over [start, end) in dB (-200 when empty or silent). */
static double span_db(const struct pcm *src, double start, double end)
{
	size_t a = start > 0 ? (size_t)(start * src->rate) : 0;
	size_t b = end > 0 ? (size_t)(end * src->rate) : 0;
	if (b > src->n)
		b = src->n;
	double sum = 0;
	for (size_t i = a; i < b; i++)
		sum += (double)src->samples[i] * src->samples[i];
	return b > a && sum > 0 ? 10.0 * log10(sum / (double)(b - a)) : -200.0;
}

/* Each leg of a stereo call also hears the other some tens of dB down
 * (crosstalk, echo): a tone or music found on one channel is often found on
 * the other too. Of two events of the same kind on different channels that
 * overlap by at least half the shorter, the one ECHO_DB or more quieter
 * (on its own channel) is that leak and is dropped; within ECHO_DB both
 * stay (played to both legs). */
static void drop_echoes(const struct pcm *src, const int *channel, size_t nsrc, struct evl *l)
{
	if (nsrc < 2 || l->n < 2)
		return;
	double *db = malloc(l->n * sizeof(*db));
	bool *drop = calloc(l->n, sizeof(*drop));
	if (!db || !drop)
		goto out; /* keeping an echo is the safe side of running short of memory */
	for (size_t i = 0; i < l->n; i++) {
		db[i] = -200.0;
		for (size_t s = 0; s < nsrc; s++)
			if (channel[s] == l->v[i].channel)
				db[i] = span_db(&src[s], l->v[i].start, l->v[i].end);
	}
	for (size_t i = 0; i < l->n; i++)
		for (size_t j = 0; j < l->n; j++) {
			const struct ivr_event *a = &l->v[i], *b = &l->v[j];
			if (i == j || a->channel == b->channel || strcmp(a->kind, b->kind) != 0)
				continue;
			double ov = fmin(a->end, b->end) - fmax(a->start, b->start);
			double shorter = fmin(a->end - a->start, b->end - b->start);
			if (ov > 0 && ov >= 0.5 * shorter && db[i] <= db[j] - ECHO_DB)
				drop[i] = true;
		}
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++)
		if (!drop[i])
			l->v[k++] = l->v[i];
	l->n = k;
out:
	free(db);
	free(drop);
}

enum parley_err ivr_scan(const struct pcm *src, const int *channel, size_t nsrc,
			 const struct ivr_scan_params *p, struct ivr_event **out, size_t *n,
			 struct parley_error *err)
{
	struct ivr_scan_params defs = ivr_scan_default_params();
	struct evl l = {0};
	enum parley_err rc = PARLEY_OK;
	if (out)
		*out = NULL;
	if (n)
		*n = 0;
	if (!src || !channel || !out || !n)
		return parley_error_set(err, PARLEY_ERR_INVALID, "ivr_scan: NULL argument");
	if (!p)
		p = &defs;
	double first_live = HUGE_VAL;
	for (size_t s = 0; s < nsrc; s++)
		if ((rc = scan_one(&src[s], channel[s], p, &l, &first_live, err)))
			goto out;
	drop_echoes(src, channel, nsrc, &l);
	for (size_t i = 0; i < l.n; i++)
		if (strcmp(l.v[i].kind, "music") == 0 && l.v[i].start >= first_live)
			snprintf(l.v[i].kind, sizeof(l.v[i].kind), "hold");
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), cmp_event);
	*out = l.v;
	*n = l.n;
	l.v = NULL;
out:
	free(l.v);
	return rc;
}
