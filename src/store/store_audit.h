/*
 * store_audit.h — a batch's call audit in the store (issue 14; tables of
 * migration 7 in schema.c).
 *
 *   audit_versions  the questionnaire (JSON text) and rules (rule language
 *                   text) a batch is audited with, versioned: version 1 is
 *                   what the batch was created with, every reaudit adds one.
 *                   batches.audit_version names the current one (0 = the
 *                   batch has no audit). from_stage: the stage the version's
 *                   rerun starts at ("" = version 1, every stage).
 *   answers         one row per (recording, version, question): the answer
 *                   as JSON text ("yes", "no", "choice id", ["a","b"], 12.5,
 *                   "free text"; null when N/A or unanswered), how it was
 *                   answered ("phrase", "metric", "llm", "skipped"), its
 *                   score out of max_score, weight, auto_fail (the answer is
 *                   one of the question's auto-fail answers), valid + error
 *                   (an LLM reply that did not validate), evidence as a JSON
 *                   array's text: [{"text","start","end","role"}] for quoted
 *                   words, [{"metric","scope","value"}] for a metric.
 *   verdicts        one row per (recording, version): "pass", "fail" or
 *                   "flag", the call's score out of max_score, auto_fail,
 *                   and the reasons as a JSON array's text
 *                   ([{"rule","verdict","weight","why"}…], the rules that fired).
 *
 * Answers and verdicts of a version are written by their stage's commit
 * (stages/answers.c, stages/verdicts.c): *_put replaces the rows of that
 * recording AND version only, so an older version stays queryable after a
 * reaudit. *_get with version 0 reads the batch's current version.
 *
 * The webhook tables (webhooks, webhook_deliveries, webhook_attempts) are
 * the outbox of core/webhook.h and have their API there.
 */
#ifndef PARLEY_STORE_STORE_AUDIT_H
#define PARLEY_STORE_STORE_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define STORE_AUDIT_DOC_MAX ((size_t)1 << 20) /* a questionnaire or rules text */
#define STORE_AUDIT_ID_MAX 64                 /* question ids, sources, verdicts */
#define STORE_ANSWER_MAX 4096                 /* an answer's JSON text */

/* One version of a batch's audit. Texts are malloc'd ("" when none). */
struct store_audit {
	int version;
	char *questionnaire;
	char *rules;
	char from_stage[STORE_AUDIT_ID_MAX];
	double created_at;
};
void store_audit_release(struct store_audit *a); /* frees the texts; accepts zeroed */

/* Add the next version of batch_id's audit and make it current (in one
 * transaction of the caller's, or its own when none is open). A text
 * larger than STORE_AUDIT_DOC_MAX is TOO_LARGE. NULL texts = "". */
enum parley_err store_audit_add(struct store *st, int64_t batch_id, const char *questionnaire,
				const char *rules, const char *from_stage, int *version,
				struct parley_error *err);
/* The batch's current audit version (0 = none). */
enum parley_err store_audit_current(struct store *st, int64_t batch_id, int *version,
				    struct parley_error *err);
/* Read a version (0 = the current one); NOT_FOUND when the batch has none. */
enum parley_err store_audit_get(struct store *st, int64_t batch_id, int version,
				struct store_audit *out, struct parley_error *err);
/* Every version of the batch, oldest first (fn returns non-zero to stop);
 * the texts are valid during the call only. */
enum parley_err store_audit_each(struct store *st, int64_t batch_id,
				 int (*fn)(const struct store_audit *, void *), void *ud,
				 struct parley_error *err);

struct store_answer {
	char question[STORE_AUDIT_ID_MAX];
	char answer[STORE_ANSWER_MAX]; /* JSON text; "null" = none */
	char source[STORE_AUDIT_ID_MAX];
	bool na;
	double score, max_score, weight;
	bool auto_fail;
	bool valid;
	char error[512];
	char *evidence; /* JSON array text, malloc'd on get ("[]" when none) */
};
/* Replace the answers of (rec_id, version); evidence NULL = "[]". */
enum parley_err store_answers_put(struct store *st, int64_t rec_id, int version,
				  const struct store_answer *a, size_t n, struct parley_error *err);
/* In questionnaire order; version 0 = the batch's current one. Free with
 * store_answers_free. */
enum parley_err store_answers_get(struct store *st, int64_t rec_id, int version,
				  struct store_answer **a, size_t *n, struct parley_error *err);
void store_answers_free(struct store_answer *a, size_t n);

struct store_verdict {
	char verdict[STORE_AUDIT_ID_MAX]; /* pass, fail, flag */
	double score, max_score;
	bool auto_fail;
	char *reasons; /* JSON array text, malloc'd on get ("[]" when none) */
};
/* Replace the verdict of (rec_id, version); reasons NULL = "[]". */
enum parley_err store_verdict_put(struct store *st, int64_t rec_id, int version,
				  const struct store_verdict *v, struct parley_error *err);
/* version 0 = the current one; *found false when there is none. Free with
 * store_verdict_release. */
enum parley_err store_verdict_get(struct store *st, int64_t rec_id, int version,
				  struct store_verdict *out, bool *found, struct parley_error *err);
void store_verdict_release(struct store_verdict *v);

#endif
