/*
 * ps_verify.h — acoustic verification of target-word hits: is the word the
 * recogniser wrote down better explained by the target's phones than by
 * any phones at all?
 *
 *   struct ps_verify_cand c[PS_VERIFY_CANDS_MAX];
 *   size_t nc = ps_verify_candidates(lex, toks, n, c, PS_VERIFY_CANDS_MAX);
 *   // ... decode the segment again with a free phone loop ...
 *   double llr = ps_verify_llr(word_frames, nwords, phones, nphones);
 *   if (!(llr >= min_llr)) ... reject: the hit is not counted
 *
 * THE TEST. The language-model decode aligns a word to frames sf..ef with an
 * acoustic score (log likelihood, PocketSphinx ps_seg_prob's ascr). A free
 * phone loop (PocketSphinx allphone search, every triphone may follow every
 * other, no phone LM, no insertion penalty) over the same segment gives the
 * best acoustic score any phone sequence reaches on those frames. Their
 * difference per frame,
 *
 *     llr = (sum of word ascr - phone-loop ascr over the same frames) / frames,
 *
 * is <= 0 up to search effects: near 0 when the target's phones are what
 * the audio holds, strongly negative when the language model pushed a target
 * onto audio whose phones are something else ("law" heard as "lah"). The
 * phone loop's score over a span is the sum of its phones, each phone that
 * only partly overlaps the span counted in proportion to the overlap. Both
 * scores come from the same decoder on the same features (the whole
 * segment's cepstral mean), so the ratio needs no calibration per
 * recording. Units: nats per 10 ms frame (see pocketsphinx.c).
 *
 * CANDIDATES are the words that would be counted as targets after the
 * spelling corrections: a target the recogniser wrote ("lah"), a word one
 * correction turns into a target ("la" -> lah) and the words of a phrase
 * correction ("wah lau" -> walao, verified as one span). lexicon_apply()
 * decides, so a candidate is exactly what the words stage will count.
 *
 * Pure functions over plain arrays, no PocketSphinx types: unit-tested in
 * tests/unit/test_ps_verify.c.
 */
#ifndef PARLEY_ENGINES_PS_VERIFY_H
#define PARLEY_ENGINES_PS_VERIFY_H

#include <stddef.h>

#include "text/lexicon.h"

#define PS_VERIFY_CANDS_MAX 256 /* candidates verified per segment; more stay unverified
				   (and are rejected, see pocketsphinx.c) */

/* A stretch of frames first..last (inclusive) with its acoustic score. */
struct ps_verify_span {
	int first, last;
	double score; /* log likelihood of these frames, any consistent unit */
};

/* Words first..last (inclusive, indices into the token array) that become
 * one counted target after the corrections. */
struct ps_verify_cand {
	size_t first, last;
	char target[LEX_WORD_MAX];
};

/*
 * The candidates among toks[0..n) (not modified; they are copied for
 * lexicon_apply). At most `cap` are written to out; returns how many were
 * found (may exceed cap: the caller treats the rest as unverified).
 * NULL lex or n == 0: 0.
 */
size_t ps_verify_candidates(const struct lexicon *lex, const struct lex_token *toks, size_t n,
			    struct ps_verify_cand *out, size_t cap);

/*
 * Phone-loop score over frames first..last: the sum over phones[0..n) of
 * score * overlap / length. *covered receives the number of frames of the
 * span that some phone covers (phones may leave gaps, e.g. the loop's
 * unscored first phone).
 */
double ps_verify_loop_score(int first, int last, const struct ps_verify_span *phones, size_t n,
			    int *covered);

/*
 * Per-frame log likelihood ratio of words[0..nw) (the aligned words of one
 * candidate) against the phone loop phones[0..np). Each word's loop score
 * is scaled from its covered frames to all its frames. Returns -INFINITY
 * when no frame of the words is covered by the loop or nw == 0 (nothing to
 * compare: not verified).
 */
double ps_verify_llr(const struct ps_verify_span *words, size_t nw,
		     const struct ps_verify_span *phones, size_t np);

/*
 * The same ratio over the words of the segment that are not candidates
 * (cands[0..nc)), each scored against the loop on the frames the loop
 * covers (uncovered words are left out): how well the recogniser's words
 * fit this audio at all. Meant as a normaliser (context-dependent words
 * against a context-independent loop score higher on some voices and
 * channels than on others); measured, a candidate's llr minus this lost
 * recall on clean speech for no fewer false alarms (README, Accuracy), so
 * pocketsphinx.c only logs it. NAN when no such word has a covered frame.
 */
double ps_verify_baseline(const struct ps_verify_span *words, size_t nw,
			  const struct ps_verify_cand *cands, size_t nc,
			  const struct ps_verify_span *phones, size_t np);

#endif
