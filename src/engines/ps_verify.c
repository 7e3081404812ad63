/* ps_verify.c — see ps_verify.h. */
#include "engines/ps_verify.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t ps_verify_candidates(const struct lexicon *lex, const struct lex_token *toks, size_t n,
			    struct ps_verify_cand *out, size_t cap)
{
	if (!lex || n == 0 || !toks || lexicon_target_count(lex) == 0)
		return 0;
	struct lex_token *copy = malloc(n * sizeof(*copy));
	size_t *origin = malloc(n * sizeof(*origin));
	size_t found = 0;
	if (!copy || !origin) {
		/* Without memory nothing can be verified; report every word as
		 * one unverifiable candidate so the caller rejects, never
		 * silently accepts. */
		for (size_t i = 0; i < n; i++) {
			if (!lexicon_is_target(lex, toks[i].text) &&
			    !lexicon_correct_word(lex, toks[i].text))
				continue;
			if (found < cap) {
				out[found].first = out[found].last = i;
				snprintf(out[found].target, sizeof(out[found].target), "%s",
					 toks[i].text);
			}
			found++;
		}
		goto out;
	}
	memcpy(copy, toks, n * sizeof(*copy));
	size_t m = lexicon_apply(lex, copy, n, origin);
	for (size_t k = 0; k < m; k++) {
		if (!lexicon_is_target(lex, copy[k].text))
			continue;
		if (found < cap) {
			out[found].first = origin[k];
			out[found].last = k + 1 < m ? origin[k + 1] - 1 : n - 1;
			snprintf(out[found].target, sizeof(out[found].target), "%s", copy[k].text);
		}
		found++;
	}
out:
	free(copy);
	free(origin);
	return found;
}

double ps_verify_loop_score(int first, int last, const struct ps_verify_span *phones, size_t n,
			    int *covered)
{
	double sum = 0.0;
	int cov = 0;
	for (size_t i = 0; i < n; i++) {
		int lo = phones[i].first > first ? phones[i].first : first;
		int hi = phones[i].last < last ? phones[i].last : last;
		if (hi < lo || phones[i].last < phones[i].first)
			continue;
		int len = phones[i].last - phones[i].first + 1;
		sum += phones[i].score * (double)(hi - lo + 1) / len;
		cov += hi - lo + 1;
	}
	if (covered)
		*covered = cov;
	return sum;
}

double ps_verify_llr(const struct ps_verify_span *words, size_t nw,
		     const struct ps_verify_span *phones, size_t np)
{
	double word = 0.0, loop = 0.0;
	long frames = 0, covered_total = 0;
	for (size_t i = 0; i < nw; i++) {
		if (words[i].last < words[i].first)
			continue;
		int nf = words[i].last - words[i].first + 1;
		int cov = 0;
		double s = ps_verify_loop_score(words[i].first, words[i].last, phones, np, &cov);
		if (cov > nf)
			cov = nf; /* overlapping phones: cannot happen in a loop path */
		word += words[i].score;
		frames += nf;
		covered_total += cov;
		if (cov > 0)
			loop += s * (double)nf / cov;
		else
			return -INFINITY;
	}
	if (frames == 0 || covered_total == 0)
		return -INFINITY;
	return (word - loop) / (double)frames;
}

double ps_verify_baseline(const struct ps_verify_span *words, size_t nw,
			  const struct ps_verify_cand *cands, size_t nc,
			  const struct ps_verify_span *phones, size_t np)
{
	double word = 0.0, loop = 0.0;
	long frames = 0;
	size_t c = 0;
	for (size_t i = 0; i < nw; i++) {
		while (c < nc && cands[c].last < i)
			c++;
		if (c < nc && cands[c].first <= i)
			continue; /* part of a candidate */
		if (words[i].last < words[i].first)
			continue;
		int cov = 0;
		double s = ps_verify_loop_score(words[i].first, words[i].last, phones, np, &cov);
		if (cov <= 0)
			continue;
		int nf = words[i].last - words[i].first + 1;
		word += words[i].score;
		loop += s * (double)nf / (cov > nf ? nf : cov);
		frames += nf;
	}
	return frames ? (word - loop) / (double)frames : NAN;
}
