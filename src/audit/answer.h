/*
 * answer.h — answering a questionnaire (audit/questionnaire.h) for one
 * call: the embedded answerer (phrases, audit/phrase.h), metric questions
 * (the metrics stage's call_metrics rows) and the LLM (engines/llm.h), in
 * question order, with conditions on earlier answers. The answers stage
 * (stages/answers.c) writes the result with store_answers_put.
 *
 *   struct answer_input in = {.q = q, .text = &t, .metrics = m, .nmetrics = nm, .llm = eng};
 *   struct store_answer *a;     // q->n of them, in question order
 *   if (answers_compute(&in, &a, &err)) fail(err.msg);   // transport errors only
 *   … store_answers_put(st, rec_id, version, a, q->n, &err);
 *   answers_free(a, q->n);
 *
 * Every answer (store_audit.h struct store_answer):
 *   answer     JSON text: "yes"/"no" and choice ids as strings, a list of
 *              ids (multiple_choice), a number, a text; null when N/A,
 *              skipped or invalid
 *   source     "phrase", "metric", "llm", or "skipped" (its condition was
 *              false, or the answer it tests was N/A, skipped or invalid)
 *   na         N/A or skipped: score 0 of 0 (it does not count)
 *   score      the chosen choice's (the sum of the chosen ones for
 *              multiple_choice; the first range holding a number; text 0),
 *              out of max_score (the question's max); an invalid answer
 *              scores 0 of the question's max
 *   auto_fail  a chosen choice is in the question's auto_fail, or the
 *              number's range says auto_fail
 *   valid      false with error when the answer could not be had: an LLM
 *              reply that is not an answer after normalising, no LLM engine
 *              configured, a metric that was not measured (N/A instead when
 *              na_allowed)
 *   evidence   [{"text","start","end","role"}] the quoted words (phrase
 *              hits; the LLM's quote located in the transcript, times null
 *              when it is not found there) or [{"metric","scope","value"}]
 *
 * The LLM is asked one request per question (questions whose conditions
 * are known go out together through llm_ask_many), with the question, its
 * instructions, the allowed answers and the transcript of its role and
 * window (call_text_format: "[start-end] role: words", IVR and hold left
 * out), and a JSON schema {"answer": …, "quote": string} built from the
 * question (answer_schema). The reply is normalised by answer_normalise
 * whether or not it matched the schema (servers may ignore it).
 */
#ifndef PARLEY_AUDIT_ANSWER_H
#define PARLEY_AUDIT_ANSWER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "audit/call_text.h"
#include "audit/questionnaire.h"
#include "engines/llm.h"
#include "store/store_audit.h"
#include "store/store_call.h"
#include "util/error.h"

#define ANSWER_TRANSCRIPT_MAX ((size_t)64 << 10) /* bytes of transcript in one prompt */
#define ANSWER_SCHEMA_NAME "audit_question"
#define ANSWER_TEXT_MAX 2000                      /* a text answer is cut to this */

struct answer_input {
	const struct questionnaire *q;
	const struct call_text *text;
	const struct store_call_metric *metrics;
	size_t nmetrics;
	struct llm_engine *llm;          /* NULL: llm questions are invalid answers */
	const struct llm_params *llm_params; /* NULL = llm_default_params() */
};

/* Answer every question. *out: q->n answers (free with answers_free).
 * Errors: the LLM engine's transport errors (ENGINE, REJECTED,
 * UNAUTHORIZED, ABORTED: the stage fails and is retried), NOMEM. */
enum parley_err answers_compute(const struct answer_input *in, struct store_answer **out,
				struct parley_error *err);
void answers_free(struct store_answer *a, size_t n);

/* The JSON schema of the LLM's reply for q (new reference). */
json_t *answer_schema(const struct qn_question *q);
/* The user prompt for q over the call (malloc'd). NOMEM. */
enum parley_err answer_prompt(const struct qn_question *q, const struct call_text *t,
			      char **out, struct parley_error *err);
extern const char answer_system_prompt[];

/* Normalise a reply's answer for q: value is the "answer" member of the
 * reply object, or the reply itself when it is a bare JSON value or text.
 * yes_no: "Yes.", "YES", "y", "true", true, "yes, because…" → "yes" (and
 * the same for no); "n/a", "N/A", "not applicable" → N/A when na_allowed;
 * choices matched by id or text (case and punctuation ignored, then a
 * reply starting with exactly one choice's id or text); multiple_choice a
 * list or a comma-separated text; numbers a JSON number or the first
 * number in a text; text a non-empty string (cut to ANSWER_TEXT_MAX).
 * Returns true with *answer (new reference; NULL with *na true for N/A),
 * or false with why. */
bool answer_normalise(const struct qn_question *q, const json_t *value, json_t **answer,
		      bool *na, char *why, size_t size);

/* The reply text of an LLM as (value, quote): the "answer" and "quote"
 * members of a JSON object (a fenced one too), else the bare JSON value,
 * else the text itself as a string. *value and *quote new references
 * (quote NULL when none). */
void answer_reply_parse(const char *text, json_t **value, json_t **quote);

/* score, max and auto_fail of a normalised answer. */
void answer_score(const struct qn_question *q, const json_t *answer, double *score,
		  bool *auto_fail);

#endif
