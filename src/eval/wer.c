/*
 * wer.c — normalise, split into words, align with a two-row Levenshtein
 * table that carries the edit counts (memory linear in the hypothesis).
 */
#include "eval/wer.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct cell {
	size_t cost, sub, ins, del;
};

struct words {
	const char **w;
	uint64_t *hash;
	size_t n;
};

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

enum parley_err wer_normalise(const char *text, struct strbuf *out, struct parley_error *err)
{
	bool pending_space = false, any = false;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		unsigned char c = *p;
		if (is_space(c) || c == '-' || c == '_') {
			pending_space = any;
			continue;
		}
		if (c < 0x80 && (c < 0x20 || c == 0x7f || (c >= '!' && c <= '/') ||
				 (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
				 (c >= '{' && c <= '~')))
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		enum parley_err rc = PARLEY_OK;
		if (pending_space)
			rc = strbuf_add(out, " ", 1);
		if (!rc)
			rc = strbuf_add(out, &c, 1);
		if (rc)
			return parley_error_set(err, rc, "text too long to normalise");
		pending_space = false;
		any = true;
	}
	return PARLEY_OK;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Split a normalised buffer in place into words. */
static enum parley_err split_words(char *buf, struct words *w, const char *side,
				   struct parley_error *err)
{
	/* Normalised text: words separated by exactly one space. */
	size_t n = buf[0] ? 1 : 0;
	for (const char *p = buf; *p; p++)
		n += (*p == ' ');
	if (n > WER_MAX_WORDS)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"%s transcript: %zu words, more than the limit of %u", side,
					n, WER_MAX_WORDS);
	w->w = malloc((n ? n : 1) * sizeof(*w->w));
	w->hash = malloc((n ? n : 1) * sizeof(*w->hash));
	if (!w->w || !w->hash)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "word error rate: out of memory");
	w->n = 0;
	char *p = buf;
	while (*p) {
		char *start = p;
		while (*p && *p != ' ')
			p++;
		if (*p)
			*p++ = '\0';
		w->w[w->n] = start;
		w->hash[w->n] = fnv1a(start);
		w->n++;
	}
	return PARLEY_OK;
}

static bool better(const struct cell *a, const struct cell *b)
{
	if (a->cost != b->cost)
		return a->cost < b->cost;
	if (a->sub != b->sub)
		return a->sub > b->sub;
	return a->del > b->del;
}

enum parley_err wer_compute(const char *ref, const char *hyp, struct wer_result *out,
			    struct parley_error *err)
{
	memset(out, 0, sizeof(*out));
	struct strbuf rb, hb;
	strbuf_init(&rb, 64u << 20);
	strbuf_init(&hb, 64u << 20);
	struct words rw = {0}, hw = {0};
	struct cell *prev = NULL, *cur = NULL;
	enum parley_err rc;
	if ((rc = wer_normalise(ref, &rb, err)) || (rc = wer_normalise(hyp, &hb, err)) ||
	    (rc = split_words(rb.buf, &rw, "reference", err)) ||
	    (rc = split_words(hb.buf, &hw, "hypothesis", err)))
		goto out;
	if ((unsigned long long)rw.n * hw.n > WER_MAX_CELLS) {
		rc = parley_error_set(err, PARLEY_ERR_TOO_LARGE,
				      "%zu x %zu words: too many to align", rw.n, hw.n);
		goto out;
	}
	prev = malloc((hw.n + 1) * sizeof(*prev));
	cur = malloc((hw.n + 1) * sizeof(*cur));
	if (!prev || !cur) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "word error rate: out of memory");
		goto out;
	}
	/* prev[j]: best edits turning ref[0..i) into hyp[0..j). */
	for (size_t j = 0; j <= hw.n; j++)
		prev[j] = (struct cell){.cost = j, .ins = j};
	for (size_t i = 1; i <= rw.n; i++) {
		cur[0] = (struct cell){.cost = i, .del = i};
		for (size_t j = 1; j <= hw.n; j++) {
			bool same = rw.hash[i - 1] == hw.hash[j - 1] &&
				    strcmp(rw.w[i - 1], hw.w[j - 1]) == 0;
			struct cell diag = prev[j - 1];
			if (!same) {
				diag.cost++;
				diag.sub++;
			}
			struct cell del = prev[j];
			del.cost++;
			del.del++;
			struct cell ins = cur[j - 1];
			ins.cost++;
			ins.ins++;
			struct cell best = diag;
			if (better(&del, &best))
				best = del;
			if (better(&ins, &best))
				best = ins;
			cur[j] = best;
		}
		struct cell *t = prev;
		prev = cur;
		cur = t;
	}
	const struct cell *last = &prev[hw.n];
	out->ref_words = rw.n;
	out->hyp_words = hw.n;
	out->sub = last->sub;
	out->ins = last->ins;
	out->del = last->del;
	out->correct = rw.n - last->sub - last->del;
	out->wer = rw.n ? (double)last->cost / (double)rw.n : NAN;
out:
	free(prev);
	free(cur);
	free(rw.w);
	free(rw.hash);
	free(hw.w);
	free(hw.hash);
	strbuf_release(&rb);
	strbuf_release(&hb);
	return rc;
}

static bool is_number(const char *s, size_t n)
{
	if (n == 0)
		return false;
	bool digit = false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digit = true;
		else if (s[i] != '.' && !(i == 0 && (s[i] == '-' || s[i] == '+')))
			return false;
	}
	return digit;
}

/* Start of field k (0-based) of a line of length n, or NULL; *flen its length. */
static const char *field_at(const char *line, size_t n, int k, size_t *flen)
{
	size_t i = 0;
	for (int f = 0;; f++) {
		while (i < n && is_space((unsigned char)line[i]))
			i++;
		if (i >= n)
			return NULL;
		size_t s = i;
		while (i < n && !is_space((unsigned char)line[i]))
			i++;
		if (f == k) {
			*flen = i - s;
			return line + s;
		}
	}
}

enum parley_err wer_reference_text(const char *data, struct strbuf *out,
				   struct parley_error *err)
{
	const char *p = data;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		const char *text = p;
		size_t tlen = n, l3, l4, l5;
		const char *f3 = field_at(p, n, 3, &l3), *f4 = field_at(p, n, 4, &l4);
		if (n >= 2 && p[0] == ';' && p[1] == ';') {
			tlen = 0;
		} else if (f3 && f4 && is_number(f3, l3) && is_number(f4, l4)) {
			const char *f5 = field_at(p, n, 5, &l5);
			if (f5 && l5 >= 2 && f5[0] == '<' && f5[l5 - 1] == '>')
				f5 = field_at(p, n, 6, &l5);
			text = f5;
			tlen = f5 ? n - (size_t)(f5 - p) : 0;
		}
		enum parley_err rc = PARLEY_OK;
		if (tlen)
			rc = strbuf_add(out, text, tlen);
		if (!rc)
			rc = strbuf_add(out, "\n", 1);
		if (rc)
			return parley_error_set(err, rc, "reference transcript too long");
		p += n + (nl ? 1 : 0);
	}
	return PARLEY_OK;
}
