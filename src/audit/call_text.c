/* call_text.c — see call_text.h. */
#include "audit/call_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/phrase.h"
#include "core/call_metrics.h"
#include "stages/call_spans.h"

void call_window_bounds(const struct call_text *t, const struct call_window *w, double *from,
			double *to)
{
	double a = t->talk_start, b = t->talk_end > t->talk_start ? t->talk_end : t->talk_start;
	double len = w->percent ? (b - a) * w->amount / 100.0 : w->amount;
	if (len < 0)
		len = 0;
	*from = a;
	*to = b;
	if (w->kind == CALL_WINDOW_FIRST && a + len < b)
		*to = a + len;
	else if (w->kind == CALL_WINDOW_LAST && b - len > a)
		*from = b - len;
}

bool call_word_in(const struct call_word *w, double from, double to)
{
	double mid = (w->start + w->end) / 2;
	return mid >= from && mid <= to;
}

void call_window_describe(const struct call_window *w, char *out, size_t size)
{
	if (w->kind == CALL_WINDOW_CALL)
		snprintf(out, size, "whole call");
	else
		snprintf(out, size, "%s %g%s", w->kind == CALL_WINDOW_FIRST ? "first" : "last",
			 w->amount, w->percent ? "%" : " s");
}

bool call_role_matches(const char *want, const char *role)
{
	return !want || !want[0] || strcmp(want, "any") == 0 || strcmp(want, role) == 0;
}

static int cmp_word(const void *a, const void *b)
{
	const struct call_word *x = a, *y = b;
	if (x->start != y->start)
		return (x->start > y->start) - (x->start < y->start);
	return (x->end > y->end) - (x->end < y->end);
}

/* The speaker's role row, or NULL. */
static const struct store_speaker_role *role_of(const struct store_speaker_role *r, size_t n,
						int speaker)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].speaker == speaker)
			return &r[i];
	return NULL;
}

enum parley_err call_text_build(const struct store_word *words, size_t nwords,
				const struct store_speaker_role *roles, size_t nroles,
				const struct call_span *nontalk, size_t nnontalk, double ivr_end,
				double duration, struct call_text *out, struct parley_error *err)
{
	memset(out, 0, sizeof(*out));
	if (nwords > CALL_TEXT_WORDS_MAX)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"call text: %zu words, more than %d", nwords,
					CALL_TEXT_WORDS_MAX);
	out->words = calloc(nwords ? nwords : 1, sizeof(*out->words));
	if (!out->words)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory building a call's text");
	double last_end = 0;
	for (size_t i = 0; i < nwords; i++) {
		const struct store_word *w = &words[i];
		const struct store_speaker_role *r = roles ? role_of(roles, nroles, w->speaker) : NULL;
		int channel = r ? r->channel : -1;
		double mid = (w->start + w->end) / 2;
		bool hidden = false;
		for (size_t k = 0; k < nnontalk && !hidden; k++) {
			const struct call_span *s = &nontalk[k];
			if (s->channel >= 0 && channel >= 0 && s->channel != channel)
				continue; /* the other leg's hold or prompt */
			hidden = mid >= s->start && mid < s->end;
		}
		if (hidden || !w->text[0])
			continue;
		struct call_word *o = &out->words[out->n++];
		o->start = w->start;
		o->end = w->end;
		o->confidence = w->confidence;
		o->speaker = w->speaker;
		memcpy(o->text, w->text, sizeof(o->text));
		o->text[sizeof(o->text) - 1] = '\0';
		phrase_norm(o->text, false, o->norm, sizeof(o->norm));
		phrase_norm(o->text, true, o->stem, sizeof(o->stem));
		if (r && r->role[0])
			snprintf(o->role, sizeof(o->role), "%s", r->role);
		else if (w->speaker >= 0)
			snprintf(o->role, sizeof(o->role), "speaker:%d", w->speaker + 1);
		else
			snprintf(o->role, sizeof(o->role), "unknown");
		if (w->end > last_end)
			last_end = w->end;
	}
	qsort(out->words, out->n, sizeof(*out->words), cmp_word);
	out->talk_start = ivr_end > 0 ? ivr_end : 0;
	out->talk_end = duration > 0 ? duration : last_end;
	if (out->talk_end < out->talk_start)
		out->talk_end = out->talk_start;
	return PARLEY_OK;
}

/* The recording's duration in seconds. The decode stage stores it after the
 * worker leased the recording, so when the stages run in one go the lease's
 * copy (rec) still says 0 and the conversation would end at the last word:
 * read the stored value then (as stages/words.c does). */
static enum parley_err call_text_duration(struct store *st, const struct store_recording *rec,
					  double *seconds, struct parley_error *err)
{
	*seconds = rec->duration;
	if (*seconds > 0.0)
		return PARLEY_OK;
	struct store_recording *stored = malloc(sizeof(*stored));
	if (!stored)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory reading a call's duration");
	enum parley_err rc = store_recording_get(st, rec->id, stored, err);
	if (!rc)
		*seconds = stored->duration;
	free(stored);
	return rc;
}

enum parley_err call_text_load(struct store *st, const struct store_recording *rec,
			       struct call_text *out, struct parley_error *err)
{
	struct store_word *w = NULL;
	size_t nw = 0;
	struct store_speaker_role *r = NULL;
	size_t nr = 0;
	struct call_span *s = NULL;
	size_t ns = 0;
	struct store_call_event *ev = NULL;
	size_t nev = 0;
	memset(out, 0, sizeof(*out));
	enum parley_err rc = store_words_get(st, rec->id, "words", &w, &nw, err);
	if (!rc && nw == 0) {
		free(w);
		w = NULL;
		rc = store_words_get(st, rec->id, "stt_words", &w, &nw, err);
	}
	if (rc || (rc = store_speaker_roles_get(st, rec->id, &r, &nr, err)) ||
	    (rc = call_nontalk_spans(st, rec->id, -1, &s, &ns, err)))
		goto out;
	double ivr_end = 0;
	if (ns) { /* the ivr stage is done: its events say where the IVR ends */
		if ((rc = store_call_events_get(st, rec->id, &ev, &nev, err)))
			goto out;
		ivr_end = call_ivr_end(ev, nev);
	}
	double duration = 0;
	if ((rc = call_text_duration(st, rec, &duration, err)))
		goto out;
	rc = call_text_build(w, nw, r, nr, s, ns, ivr_end, duration, out, err);
out:
	free(w);
	free(r);
	free(s);
	free(ev);
	return rc;
}

void call_text_release(struct call_text *t)
{
	if (!t)
		return;
	free(t->words);
	memset(t, 0, sizeof(*t));
}

/* Append to a growing buffer; false when it would pass max (nothing added). */
struct tbuf {
	char *s;
	size_t len, cap, max;
};

static int tbuf_add(struct tbuf *b, const char *text, size_t n)
{
	if (b->len + n + 1 > b->max)
		return 1;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *ns = realloc(b->s, cap);
		if (!ns)
			return -1;
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, text, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

enum parley_err call_text_format(const struct call_text *t, double from, double to,
				 const char *role, size_t max_bytes, char **out,
				 struct parley_error *err)
{
	static const char cut[] = "[… transcript cut]\n";
	struct tbuf b = {NULL, 0, 0, max_bytes > sizeof(cut) ? max_bytes - sizeof(cut) : 0};
	char line[8192], text[8000];
	int full = 0;
	*out = NULL;
	for (size_t i = 0; i < t->n && !full;) {
		const struct call_word *w = &t->words[i];
		if (!call_word_in(w, from, to) || !call_role_matches(role, w->role)) {
			i++;
			continue;
		}
		size_t j = i, tl = 0;
		double end = w->end;
		text[0] = '\0';
		while (j < t->n && t->words[j].speaker == w->speaker &&
		       strcmp(t->words[j].role, w->role) == 0 && call_word_in(&t->words[j], from, to) &&
		       (j == i || t->words[j].start - t->words[j - 1].end < CALL_TEXT_LINE_PAUSE) &&
		       tl + strlen(t->words[j].text) + 2 < sizeof(text)) {
			tl += (size_t)snprintf(text + tl, sizeof(text) - tl, "%s%s", tl ? " " : "",
					       t->words[j].text);
			end = t->words[j].end;
			j++;
		}
		if (j == i)
			j = i + 1;
		size_t used = (size_t)snprintf(line, sizeof(line), "[%.1f-%.1f] %s: %s\n", w->start,
					       end, w->role, text);
		if (used >= sizeof(line))
			used = sizeof(line) - 1;
		full = tbuf_add(&b, line, used);
		i = j;
	}
	if (full > 0) {
		b.max = max_bytes;
		full = tbuf_add(&b, cut, sizeof(cut) - 1);
	}
	if (full >= 0 && !b.s) {
		b.s = strdup("");
		full = b.s ? 0 : -1;
	}
	if (full < 0) {
		free(b.s);
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory formatting a transcript");
	}
	*out = b.s;
	return PARLEY_OK;
}
