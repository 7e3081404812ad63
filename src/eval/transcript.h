/*
 * transcript.h — the words and target-word counts of a `parley run`
 * transcript.json, as `parley eval` scores them.
 *
 *   struct eval_transcript t = {0};
 *   if (eval_transcript_parse(json, len, "OUT/c1/transcript.json", &t, &err) == PARLEY_OK) {
 *       ... t.text (NULL: nothing to score WER on), t.have_counts, t.counts ...
 *       eval_transcript_release(&t);
 *   }
 *
 * text is the "words" array's "word" strings joined by single spaces (an
 * empty array gives ""), or NULL when there is no "words" key. counts come
 * from the "counts" object {speaker: {word: n}}. A file with
 * "transcribed": false comes from a run without speech recognition (e.g.
 * --stages decode,vad,diarize): its empty words and counts are not a
 * transcript, so text stays NULL and have_counts false. Files without the
 * key (older runs) are read as before. A word's optional "approximate"
 * (times spread over its segment) does not change how it is scored.
 *
 * Errors (t left empty): PARLEY_ERR_INVALID naming path (and the line for
 * JSON syntax) — not a JSON object, "words" not an array or an entry
 * without a "word" string or with a non-boolean "approximate", "counts" not an object of objects of
 * non-negative integers, "transcribed" not a boolean; PARLEY_ERR_TOO_LARGE
 * past max_text bytes of words; PARLEY_ERR_NOMEM. Thread-safe.
 */
#ifndef PARLEY_EVAL_TRANSCRIPT_H
#define PARLEY_EVAL_TRANSCRIPT_H

#include <stdbool.h>
#include <stddef.h>

#include "eval/keywords.h"
#include "util/error.h"

struct eval_transcript {
	char *text; /* owned, or NULL */
	struct kw_counts counts;
	bool have_counts;
};

enum parley_err eval_transcript_parse(const char *data, size_t len, const char *path,
				      size_t max_text, struct eval_transcript *t,
				      struct parley_error *err);

/* Free the contents and zero the struct. Accepts NULL. */
void eval_transcript_release(struct eval_transcript *t);

#endif
