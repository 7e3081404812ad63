/*
 * phrase.h — phrase tests over a call's words (audit/call_text.h): the
 * embedded answerer of the questionnaire and the rules' phrase tests.
 *
 *   const char *all[] = {"thank you"}, *any[] = {"help", "assist"}, *none[] = {"stupid"};
 *   struct phrase_query q = phrase_default_query();
 *   q.all = all; q.nall = 1; q.any = any; q.nany = 2; q.none = none; q.nnone = 1;
 *   q.role = "agent"; q.window = (struct call_window){CALL_WINDOW_FIRST, 30, false};
 *   struct phrase_result r;
 *   if (phrase_eval(&t, &q, &r, &err)) fail(err.msg);
 *   r.matched … r.hits[k].phrase, .text, .start, .end, .role
 *   phrase_result_release(&r);
 *
 * Semantics. The words looked at are the call's words of the role (NULL,
 * "" or "any" = every role) whose middle lies inside the window. A phrase
 * is one or more words; it occurs where its words are consecutive words of
 * one speaker in that sequence, compared after phrase_norm() (lower case,
 * punctuation and a trailing "'s" dropped, then phrase_stem() when q.stem).
 * A phrase word ending in '*' matches any word starting with the rest
 * ("refund*" matches "refunds", "refunded"). The test passes when every ALL
 * phrase occurs, at least one ANY phrase occurs (when there are any), and
 * no NOT phrase occurs. An empty query (no phrase at all) does not pass.
 *
 * Evidence (r.hits): the first occurrence of every ALL and ANY phrase that
 * occurs (the quoted words, their times and role; negated = false) and of
 * every NOT phrase that occurs (negated = true: the words that made the test
 * fail). At most PHRASE_HITS_MAX.
 *
 * Stemming is deliberately small (a suffix stripper, English): the words
 * are a recogniser's, so "thanks"/"thanked"/"thanking" → "thank",
 * "apologies"/"apology" → "apolog", "cancelled"/"canceling" → "cancel".
 * It is applied to both sides, so consistency matters more than grammar.
 */
#ifndef PARLEY_AUDIT_PHRASE_H
#define PARLEY_AUDIT_PHRASE_H

#include <stdbool.h>
#include <stddef.h>

#include "audit/call_text.h"
#include "util/error.h"

#define PHRASE_WORDS_MAX 16     /* words in one phrase */
#define PHRASE_TEXT_MAX 256     /* bytes of one phrase */
#define PHRASE_HITS_MAX 64      /* evidence entries of one result */
#define PHRASE_QUOTE_MAX 512    /* the quoted words of one hit */

struct phrase_query {
	const char *const *all; /* every one must occur */
	size_t nall;
	const char *const *any; /* at least one must occur (when nany > 0) */
	size_t nany;
	const char *const *none; /* none may occur */
	size_t nnone;
	const char *role;          /* NULL, "", "any" = every role */
	struct call_window window; /* default: the whole call */
	bool stem;                 /* default true */
};
struct phrase_query phrase_default_query(void);

struct phrase_hit {
	char phrase[PHRASE_TEXT_MAX]; /* as the query wrote it */
	char text[PHRASE_QUOTE_MAX];  /* the words as recognised */
	double start, end;
	char role[STORE_CALL_NAME_MAX];
	bool negated; /* a NOT phrase that occurred */
};

struct phrase_result {
	bool matched;
	struct phrase_hit *hits; /* malloc'd (NULL when none) */
	size_t nhits;
};

/* Evaluate q over t. INVALID for a phrase that is empty after
 * normalisation, longer than PHRASE_TEXT_MAX bytes or with more than
 * PHRASE_WORDS_MAX words (the message names it); NOMEM. */
enum parley_err phrase_eval(const struct call_text *t, const struct phrase_query *q,
			    struct phrase_result *out, struct parley_error *err);
void phrase_result_release(struct phrase_result *r); /* accepts zeroed */

/* Is the phrase usable (what phrase_eval would accept)? For parsers that
 * check phrases before any call is seen; the message says what is wrong. */
bool phrase_check(const char *phrase, char *why, size_t size);

/* One word normalised into out[STORE_WORD_MAX]: lower case (ASCII), the
 * characters that are not letters, digits, '\'' or '*' dropped, a trailing
 * "'s" and other apostrophes dropped, then stemmed when stem. */
void phrase_norm(const char *word, bool stem, char *out, size_t size);
/* The suffix stripper, in place, on a lower-case word. */
void phrase_stem(char *word);

#endif
