/*
 * wer.h — word error rate: text normalisation and Levenshtein alignment.
 *
 *   struct wer_result r;
 *   if (wer_compute("Hello, world!", "hello word", &r, &err) == PARLEY_OK)
 *       printf("%zu sub %zu ins %zu del, WER %.3f\n", r.sub, r.ins, r.del, r.wer);
 *
 * Normalisation: ASCII letters lowercased, ASCII punctuation removed except
 * that '-' and '_' separate words, runs of white space collapsed to one
 * space, no leading or trailing space. Bytes >= 0x80 (UTF-8) are kept as is.
 * Thread-safe; no global state.
 */
#ifndef PARLEY_EVAL_WER_H
#define PARLEY_EVAL_WER_H

#include <stddef.h>

#include "util/error.h"
#include "util/strbuf.h"

#define WER_MAX_WORDS 200000u     /* per side */
#define WER_MAX_CELLS 4000000000ull /* ref words x hyp words aligned */

struct wer_result {
	size_t ref_words, hyp_words;
	size_t sub, ins, del, correct;
	double wer; /* (sub + ins + del) / ref_words; NaN when ref_words == 0 */
};

/* Append the normalised form of text to out (TOO_LARGE past out's cap). */
enum parley_err wer_normalise(const char *text, struct strbuf *out, struct parley_error *err);

/* Normalise both texts and align them with minimal edits (ties: the
 * alignment with more substitutions, then more deletions). */
enum parley_err wer_compute(const char *ref, const char *hyp, struct wer_result *out,
			    struct parley_error *err);

/*
 * Reference transcript text from a file's contents: plain text (one
 * utterance a line) or STM lines "file channel speaker start end [<tags>] text"
 * (a line is STM when its 4th and 5th fields are numbers; ";;" lines are
 * comments). Appends the words, one line each, to out.
 */
enum parley_err wer_reference_text(const char *data, struct strbuf *out,
				   struct parley_error *err);

#endif
