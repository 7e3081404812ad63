/* phrase.c — see phrase.h. */
#include "audit/phrase.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct phrase_query phrase_default_query(void)
{
	return (struct phrase_query){.window = {CALL_WINDOW_CALL, 0, false}, .stem = true};
}

static bool ends(const char *w, size_t n, const char *suf)
{
	size_t k = strlen(suf);
	return n >= k && memcmp(w + n - k, suf, k) == 0;
}

static bool vowel(char c)
{
	return strchr("aeiou", c) != NULL;
}

void phrase_stem(char *w)
{
	size_t n = strlen(w);
	if (n > 4 && ends(w, n, "sses"))
		n -= 2;
	else if (n > 4 && ends(w, n, "ies"))
		w[n -= 2] = '\0', w[n - 1] = 'i';
	else if (n > 3 && w[n - 1] == 's' && !ends(w, n, "ss") && !ends(w, n, "us") &&
		 !ends(w, n, "is"))
		n--;
	w[n] = '\0';
	if (n >= 6 && ends(w, n, "ing"))
		n -= 3;
	else if (n >= 5 && ends(w, n, "ed"))
		n -= 2;
	else if (n >= 5 && ends(w, n, "ly"))
		n -= 2;
	w[n] = '\0';
	if (n > 2 && w[n - 1] == 'y')
		w[n - 1] = 'i';
	if (n > 3 && w[n - 1] == 'e')
		w[--n] = '\0';
	if (n > 3 && w[n - 1] == w[n - 2] && !vowel(w[n - 1]) && isalpha((unsigned char)w[n - 1]))
		w[--n] = '\0';
}

void phrase_norm(const char *word, bool stem, char *out, size_t size)
{
	size_t o = 0;
	if (!size)
		return;
	for (const unsigned char *p = (const unsigned char *)word; *p && o + 1 < size; p++) {
		unsigned char c = *p;
		if (c >= 0x80 || isalnum(c) || c == '\'' || c == '*')
			out[o++] = c < 0x80 ? (char)tolower(c) : (char)c;
	}
	out[o] = '\0';
	if (o >= 2 && out[o - 2] == '\'' && out[o - 1] == 's')
		out[o -= 2] = '\0';
	size_t k = 0; /* other apostrophes: "don't" → "dont" */
	for (size_t i = 0; i < o; i++)
		if (out[i] != '\'')
			out[k++] = out[i];
	out[k] = '\0';
	bool wild = k && out[k - 1] == '*';
	if (stem && !wild && k)
		phrase_stem(out);
}

/* A phrase split into normalised words. */
struct pwords {
	char w[PHRASE_WORDS_MAX][STORE_WORD_MAX];
	bool wild[PHRASE_WORDS_MAX]; /* prefix match (the '*' removed) */
	size_t n;
};

static bool phrase_split(const char *phrase, bool stem, struct pwords *pw, char *why, size_t size)
{
	pw->n = 0;
	size_t len = strlen(phrase);
	if (len >= PHRASE_TEXT_MAX) {
		snprintf(why, size, "the phrase \"%.40s…\" is longer than %d bytes", phrase,
			 PHRASE_TEXT_MAX - 1);
		return false;
	}
	const char *p = phrase;
	while (*p) {
		while (*p && isspace((unsigned char)*p))
			p++;
		const char *s = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (p == s)
			break;
		char raw[PHRASE_TEXT_MAX];
		snprintf(raw, sizeof(raw), "%.*s", (int)(p - s), s);
		char nw[STORE_WORD_MAX];
		phrase_norm(raw, stem, nw, sizeof(nw));
		size_t k = strlen(nw);
		if (k && nw[k - 1] == '*') {
			nw[--k] = '\0';
			if (strchr(nw, '*') || !k) {
				snprintf(why, size, "the phrase \"%.60s\": '*' ends a word of at least one letter", phrase);
				return false;
			}
		} else if (strchr(nw, '*')) {
			snprintf(why, size, "the phrase \"%.60s\": '*' ends a word of at least one letter", phrase);
			return false;
		}
		if (!k)
			continue; /* punctuation alone */
		if (pw->n == PHRASE_WORDS_MAX) {
			snprintf(why, size, "the phrase \"%.60s\" has more than %d words", phrase,
				 PHRASE_WORDS_MAX);
			return false;
		}
		bool wild = raw[strlen(raw) - 1] == '*';
		memcpy(pw->w[pw->n], nw, sizeof(nw));
		pw->wild[pw->n] = wild;
		pw->n++;
	}
	if (!pw->n) {
		snprintf(why, size, "the phrase \"%.60s\" has no words", phrase);
		return false;
	}
	return true;
}

bool phrase_check(const char *phrase, char *why, size_t size)
{
	struct pwords pw;
	return phrase_split(phrase, true, &pw, why, size);
}

/* The words in scope (indices into t->words; their norm and stem were
 * computed once by call_text_build). */
struct scope {
	size_t *idx;
	size_t n;
};

/* First occurrence of pw in the scope: its first and last position; false
 * when none. */
static bool find(const struct call_text *t, const struct scope *sc, const struct pwords *pw,
		 bool stem, size_t *first, size_t *last)
{
	for (size_t i = 0; i + pw->n <= sc->n; i++) {
		size_t k;
		for (k = 0; k < pw->n; k++) {
			const struct call_word *w = &t->words[sc->idx[i + k]];
			if (k && w->speaker != t->words[sc->idx[i]].speaker)
				break;
			if (pw->wild[k]) {
				if (strncmp(w->norm, pw->w[k], strlen(pw->w[k])) != 0)
					break;
			} else if (strcmp(stem ? w->stem : w->norm, pw->w[k]) != 0) {
				break;
			}
		}
		if (k == pw->n) {
			*first = i;
			*last = i + pw->n - 1;
			return true;
		}
	}
	return false;
}

static void hit_fill(const struct call_text *t, const struct scope *sc, const char *phrase,
		     size_t first, size_t last, bool negated, struct phrase_hit *h)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->phrase, sizeof(h->phrase), "%s", phrase);
	size_t o = 0;
	for (size_t k = first; k <= last && o + 1 < sizeof(h->text); k++)
		o += (size_t)snprintf(h->text + o, sizeof(h->text) - o, "%s%s", k > first ? " " : "",
				      t->words[sc->idx[k]].text);
	if (o >= sizeof(h->text))
		h->text[sizeof(h->text) - 1] = '\0';
	const struct call_word *a = &t->words[sc->idx[first]], *b = &t->words[sc->idx[last]];
	h->start = a->start;
	h->end = b->end;
	snprintf(h->role, sizeof(h->role), "%s", a->role);
	h->negated = negated;
}

enum parley_err phrase_eval(const struct call_text *t, const struct phrase_query *q,
			    struct phrase_result *out, struct parley_error *err)
{
	memset(out, 0, sizeof(*out));
	struct scope sc = {0};
	enum parley_err rc = PARLEY_OK;
	size_t cap = t->n ? t->n : 1;
	sc.idx = calloc(cap, sizeof(*sc.idx));
	out->hits = calloc(PHRASE_HITS_MAX, sizeof(*out->hits));
	if (!sc.idx || !out->hits) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory matching phrases");
		goto out;
	}
	double from, to;
	call_window_bounds(t, &q->window, &from, &to);
	for (size_t i = 0; i < t->n; i++) {
		const struct call_word *w = &t->words[i];
		if (!call_word_in(w, from, to) || !call_role_matches(q->role, w->role))
			continue;
		sc.idx[sc.n++] = i;
	}
	const struct {
		const char *const *list;
		size_t n;
		int kind; /* 0 all, 1 any, 2 none */
	} lists[] = {{q->all, q->nall, 0}, {q->any, q->nany, 1}, {q->none, q->nnone, 2}};
	bool all_ok = true, any_ok = q->nany == 0, none_ok = true;
	for (size_t l = 0; l < 3; l++) {
		for (size_t i = 0; i < lists[l].n; i++) {
			struct pwords pw;
			char why[PARLEY_ERROR_MSG_MAX - 32];
			if (!phrase_split(lists[l].list[i], q->stem, &pw, why, sizeof(why))) {
				rc = parley_error_set(err, PARLEY_ERR_INVALID, "%s", why);
				goto out;
			}
			size_t first, last;
			bool found = find(t, &sc, &pw, q->stem, &first, &last);
			if (lists[l].kind == 0 && !found)
				all_ok = false;
			if (lists[l].kind == 1 && found)
				any_ok = true;
			if (lists[l].kind == 2 && found)
				none_ok = false;
			if (found && out->nhits < PHRASE_HITS_MAX)
				hit_fill(t, &sc, lists[l].list[i], first, last, lists[l].kind == 2,
					 &out->hits[out->nhits++]);
		}
	}
	out->matched = all_ok && any_ok && none_ok && q->nall + q->nany + q->nnone > 0;
	if (!out->nhits) {
		free(out->hits);
		out->hits = NULL;
	}
out:
	if (rc) {
		free(out->hits);
		memset(out, 0, sizeof(*out));
	}
	free(sc.idx);
	return rc;
}

void phrase_result_release(struct phrase_result *r)
{
	if (!r)
		return;
	free(r->hits);
	memset(r, 0, sizeof(*r));
}
