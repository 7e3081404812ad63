/* call_spans.c — non-talk spans from the call events; see call_spans.h. */
#include "stages/call_spans.h"

#include <stdlib.h>
#include <string.h>

static int cmp_span(const void *a, const void *b)
{
	const struct call_span *x = a, *y = b;
	return (x->start > y->start) - (x->start < y->start);
}

enum parley_err call_nontalk_spans(struct store *st, int64_t rec_id, int channel,
				   struct call_span **out, size_t *n, struct parley_error *err)
{
	*out = NULL;
	*n = 0;
	enum store_status status;
	enum parley_err rc = store_stage_status(st, rec_id, "ivr", &status, err);
	if (rc || status != STORE_DONE)
		return rc;
	struct store_call_event *ev = NULL;
	size_t nev = 0;
	if ((rc = store_call_events_get(st, rec_id, &ev, &nev, err)) || nev == 0)
		return rc;
	struct call_span *s = calloc(nev, sizeof(*s));
	if (!s) {
		free(ev);
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory reading call events");
	}
	size_t m = 0;
	for (size_t i = 0; i < nev; i++) {
		if (channel >= 0 && ev[i].channel >= 0 && ev[i].channel != channel)
			continue;
		if (ev[i].end <= ev[i].start)
			continue;
		s[m].start = ev[i].start;
		s[m].end = ev[i].end;
		s[m].channel = ev[i].channel;
		memcpy(s[m].kind, ev[i].kind, sizeof(s[m].kind));
		m++;
	}
	free(ev);
	if (!m) {
		free(s);
		return PARLEY_OK;
	}
	qsort(s, m, sizeof(*s), cmp_span);
	*out = s;
	*n = m;
	return PARLEY_OK;
}

enum parley_err call_spans_subtract(struct vad_region **regions, size_t *n,
				    const struct call_span *spans, size_t nspans, double min_keep,
				    struct parley_error *err)
{
	if (!*n || !nspans)
		return PARLEY_OK;
	/* each span splits at most one region in two: n + nspans pieces at most */
	struct vad_region *r = calloc(*n + nspans, sizeof(*r));
	if (!r)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory removing call spans");
	size_t m = 0;
	for (size_t i = 0; i < *n; i++) {
		double a = (*regions)[i].start, b = (*regions)[i].end;
		for (size_t k = 0; k < nspans && a < b; k++) {
			const struct call_span *s = &spans[k];
			if (s->end <= a || s->start >= b)
				continue;
			if (s->start > a && s->start - a >= min_keep && m < *n + nspans)
				r[m++] = (struct vad_region){a, s->start};
			a = s->end > a ? s->end : a;
		}
		if (b - a >= min_keep && m < *n + nspans)
			r[m++] = (struct vad_region){a, b};
	}
	free(*regions);
	*regions = r;
	*n = m;
	return PARLEY_OK;
}
