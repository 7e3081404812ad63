/*
 * keywords.c — keyword counts and their scores. See keywords.h.
 */
#include "eval/keywords.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void kw_counts_release(struct kw_counts *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].speaker);
		free(c->v[i].word);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

enum parley_err kw_counts_add(struct kw_counts *c, const char *speaker, const char *word,
			      long count, struct parley_error *err)
{
	if (count < 0)
		return parley_error_set(err, PARLEY_ERR_INVALID, "count %ld is negative", count);
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].speaker, speaker) == 0 && strcmp(c->v[i].word, word) == 0) {
			if (c->v[i].count > (1L << 40) || count > (1L << 40))
				return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
							"count of '%s' too large", word);
			c->v[i].count += count;
			return PARLEY_OK;
		}
	if (c->n >= KW_MAX_ENTRIES)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"more than %u speaker/word counts", KW_MAX_ENTRIES);
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct kw_count *v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return parley_error_set(err, PARLEY_ERR_NOMEM, "keyword counts: out of memory");
		c->v = v;
		c->cap = cap;
	}
	char *s = strdup(speaker), *w = strdup(word);
	if (!s || !w) {
		free(s);
		free(w);
		return parley_error_set(err, PARLEY_ERR_NOMEM, "keyword counts: out of memory");
	}
	c->v[c->n++] = (struct kw_count){s, w, count};
	return PARLEY_OK;
}

enum parley_err kw_counts_parse_csv(const char *data, const char *name, struct kw_counts *c,
				    struct parley_error *err)
{
	char line[3 * KW_MAX_NAME + 64];
	size_t lineno = 0;
	const char *p = data;
	bool header = false;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		lineno++;
		if (n >= sizeof(line))
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"%s:%zu: line longer than %zu bytes", name, lineno,
						sizeof(line) - 1);
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (nl ? 1 : 0);
		if (n && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n == 0)
			continue;
		if (!header) {
			if (strcmp(line, "speaker,word,count") != 0)
				return parley_error_set(err, PARLEY_ERR_INVALID,
							"%s:%zu: expected the header "
							"'speaker,word,count'",
							name, lineno);
			header = true;
			continue;
		}
		char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
		if (!c1 || !c2 || strchr(c2 + 1, ','))
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"%s:%zu: expected 3 fields 'speaker,word,count'", name,
						lineno);
		*c1 = *c2 = '\0';
		const char *cnt = c2 + 1;
		char *end = NULL;
		errno = 0;
		long v = strtol(cnt, &end, 10);
		if (line[0] == '\0' || c1[1] == '\0')
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"%s:%zu: empty speaker or word", name, lineno);
		if (!*cnt || *end || errno || v < 0 || v > (1L << 30))
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"%s:%zu: count '%.32s' is not a non-negative integer",
						name, lineno, cnt);
		enum parley_err rc = kw_counts_add(c, line, c1 + 1, v, err);
		if (rc) {
			parley_error_prefix(err, "%s:%zu", name, lineno);
			return rc;
		}
	}
	if (!header)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"%s: empty (expected the header 'speaker,word,count')", name);
	return PARLEY_OK;
}

void kw_word_score_finish(struct kw_word_score *s)
{
	s->precision = s->hyp ? (double)s->tp / (double)s->hyp : NAN;
	s->recall = s->ref ? (double)s->tp / (double)s->ref : NAN;
	s->f1 = (s->ref + s->hyp) ? 2.0 * (double)s->tp / (double)(s->ref + s->hyp) : NAN;
}

void kw_score_release(struct kw_score *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->words[i].word);
	free(s->words);
	free(s->agnostic);
	memset(s, 0, sizeof(*s));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static long count_of(const struct kw_counts *c, const char *speaker, const char *word)
{
	long n = 0;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].word, word) == 0 && (!speaker || strcmp(c->v[i].speaker, speaker) == 0))
			n += c->v[i].count;
	return n;
}

static const char *mapped_ref(const char *hyp_speaker, const char *const *hyp_names,
			      const char *const *map, size_t nmap)
{
	for (size_t i = 0; i < nmap; i++)
		if (strcmp(hyp_names[i], hyp_speaker) == 0)
			return map[i];
	return NULL;
}

enum parley_err kw_score(const struct kw_counts *ref, const struct kw_counts *hyp,
			 const char *const *hyp_names, const char *const *map, size_t nmap,
			 struct kw_score *out, struct parley_error *err)
{
	memset(out, 0, sizeof(*out));
	size_t nall = ref->n + hyp->n;
	const char **words = malloc((nall ? nall : 1) * sizeof(*words));
	if (!words)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "keyword scores: out of memory");
	size_t nw = 0;
	for (size_t i = 0; i < ref->n; i++)
		words[nw++] = ref->v[i].word;
	for (size_t i = 0; i < hyp->n; i++)
		words[nw++] = hyp->v[i].word;
	qsort(words, nw, sizeof(*words), cmp_str);
	size_t nu = 0;
	for (size_t i = 0; i < nw; i++)
		if (nu == 0 || strcmp(words[nu - 1], words[i]) != 0)
			words[nu++] = words[i];
	out->words = calloc(nu ? nu : 1, sizeof(*out->words));
	out->agnostic = calloc(nu ? nu : 1, sizeof(*out->agnostic));
	if (!out->words || !out->agnostic) {
		free(words);
		kw_score_release(out);
		return parley_error_set(err, PARLEY_ERR_NOMEM, "keyword scores: out of memory");
	}
	for (size_t k = 0; k < nu; k++) {
		const char *w = words[k];
		long r = count_of(ref, NULL, w), h = count_of(hyp, NULL, w);
		if (r == 0 && h == 0)
			continue;
		/* Speaker-aware TP: each hypothesis entry meets the reference count
		 * of the speaker it maps to; one-to-one mapping, so no double use. */
		long tp = 0;
		for (size_t i = 0; i < hyp->n; i++) {
			if (strcmp(hyp->v[i].word, w) != 0)
				continue;
			const char *rs = mapped_ref(hyp->v[i].speaker, hyp_names, map, nmap);
			if (!rs)
				continue;
			long rc = count_of(ref, rs, w);
			long hc = count_of(hyp, hyp->v[i].speaker, w);
			/* Entries are unique per (speaker, word): count each once. */
			tp += rc < hc ? rc : hc;
		}
		char *copy = strdup(w);
		if (!copy) {
			free(words);
			kw_score_release(out);
			return parley_error_set(err, PARLEY_ERR_NOMEM, "keyword scores: out of memory");
		}
		struct kw_word_score *s = &out->words[out->n], *a = &out->agnostic[out->n];
		*s = (struct kw_word_score){.word = copy, .ref = r, .hyp = h, .tp = tp,
					    .fp = h - tp, .fn = r - tp};
		long atp = r < h ? r : h;
		*a = (struct kw_word_score){.word = NULL, .ref = r, .hyp = h, .tp = atp,
					    .fp = h - atp, .fn = r - atp};
		kw_word_score_finish(s);
		kw_word_score_finish(a);
		struct kw_word_score *t = &out->total, *at = &out->agnostic_total;
		t->ref += r, t->hyp += h, t->tp += tp, t->fp += s->fp, t->fn += s->fn;
		at->ref += r, at->hyp += h, at->tp += atp, at->fp += a->fp, at->fn += a->fn;
		out->n++;
	}
	kw_word_score_finish(&out->total);
	kw_word_score_finish(&out->agnostic_total);
	free(words);
	return PARLEY_OK;
}
