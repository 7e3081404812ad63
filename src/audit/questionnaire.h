/*
 * questionnaire.h — a batch's audit questionnaire ("llm1", issue 14): the
 * versioned JSON document, parsed and checked before any audio is
 * processed. README "Questionnaires" has the user's guide; this is the
 * contract.
 *
 *   struct questionnaire *q;
 *   if (questionnaire_parse(text, len, "form.json", &q, &err))
 *       fail(err.msg);   // "form.json:12:19: questions[1].weight: wants a number >= 0"
 *   for (size_t i = 0; i < q->n; i++) … q->q[i].id, .type, .how …
 *   questionnaire_free(q);
 *
 * The document (field names after Google's Quality AI scorecards and
 * Amazon Connect's evaluation forms; snake_case; unknown keys are refused):
 *
 *   {"version": 3 or "retail-2026-12",   required: the author's label of
 *                                        this revision (an integer >= 1 or
 *                                        a string of 1..63 characters)
 *    "name": "Retail QA", "description": "…",            optional
 *    "questions": [                       1..QN_QUESTIONS_MAX, in order
 *      {"id": "greeting",                 required: [A-Za-z0-9_.-]{1,63}, unique
 *       "text": "Did the agent greet …?", required: the question (<= 2000 bytes)
 *       "abbreviation": "Greeting",       optional short label (<= 63)
 *       "instructions": "Yes when …",     optional, for the LLM and people (<= 4000)
 *       "type": "yes_no",                 required: yes_no, single_choice,
 *                                         multiple_choice, number, text
 *       "choices": [{"id": "yes", "text": "Yes", "score": 1,
 *                    "phrases": {…}}],    choice questions: 2..QN_CHOICES_MAX
 *                                         (multiple_choice: 1..); yes_no may
 *                                         restate its two choices yes (score 1)
 *                                         and no (score 0) to change text or
 *                                         scores; number/text: none
 *       "na_allowed": false,              may the answer be N/A (not applicable)
 *       "weight": 1,                      >= 0 (<= 1000): the question's weight
 *       "auto_fail": ["no"],              choice ids that fail the whole call
 *       "ranges": [{"min": 0, "max": 60, "score": 2, "auto_fail": false}],
 *                                         number questions: the first range
 *                                         holding the number scores it
 *       "condition": {"question": "q1", "equals": "yes"},
 *                                         or "not_equals": id, or "in": [ids];
 *                                         q1 an EARLIER choice question; when
 *                                         false the question is skipped (N/A)
 *       "role": "agent",                  whose words count ("any" by default)
 *       "window": "call",                 or {"first": 30} / {"last": 60}
 *                                         seconds, or {"first": "10%"}: of the
 *                                         conversation (audit/call_text.h)
 *       "phrases": {"all": […], "any": […], "not": […], "stem": true},
 *       "metric": {"metric": "silence_max", "scope": "call", "op": ">", "value": 30}
 *      }]}
 *
 * How a question is answered (q->how):
 *   metric   it has "metric": yes_no with "op" and "value" (yes when the
 *            measured value compares true), number without them (the value
 *            itself). Names: core/call_metrics.h (plus the alias
 *            "longest_silence" = silence_max); scope "call", a role or
 *            "speaker:N" (default: the question's role, else "call").
 *   phrases  it has "phrases" (yes_no: yes when the test passes) or its
 *            choices have (single_choice: the first choice whose test
 *            passes, else the one choice without phrases, which it must
 *            have; multiple_choice: every choice whose test passes).
 *            Semantics of a test: audit/phrase.h, over the question's role
 *            and window.
 *   llm      otherwise (the only way for text questions): the LLM engine
 *            with a JSON schema built from the question (audit/answer.h).
 *
 * Scores: a choice's score; a question's max is its best choice's (yes_no,
 * single_choice), the sum of its positive choices' (multiple_choice), the
 * best range's (number; 0 without ranges); text questions score 0 of 0.
 * An N/A or skipped answer scores 0 of 0 (it does not count).
 *
 * Errors: PARLEY_ERR_INVALID "NAME:LINE:COL: PATH: what is wrong" (lines
 * and columns from 1, pointing at the key or value at fault, or at the
 * object missing a key), PARLEY_ERR_TOO_LARGE for a document above
 * QN_DOC_MAX bytes or lists above their bounds, PARLEY_ERR_NOMEM.
 */
#ifndef PARLEY_AUDIT_QUESTIONNAIRE_H
#define PARLEY_AUDIT_QUESTIONNAIRE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "audit/call_text.h"
#include "store/store_audit.h"
#include "store/store_call.h"
#include "util/error.h"

#define QN_DOC_MAX ((size_t)256 << 10) /* bytes of a questionnaire */
#define QN_QUESTIONS_MAX 200
#define QN_CHOICES_MAX 32
#define QN_PHRASES_MAX 64   /* phrases in one all/any/not list */
#define QN_RANGES_MAX 16
#define QN_ID_MAX STORE_AUDIT_ID_MAX
#define QN_TEXT_MAX 2000
#define QN_INSTRUCTIONS_MAX 4000

enum qn_type { QN_YES_NO = 0, QN_SINGLE_CHOICE, QN_MULTIPLE_CHOICE, QN_NUMBER, QN_TEXT };
enum qn_how { QN_BY_LLM = 0, QN_BY_PHRASES, QN_BY_METRIC };
enum qn_op { QN_OP_NONE = 0, QN_OP_GT, QN_OP_GE, QN_OP_LT, QN_OP_LE, QN_OP_EQ, QN_OP_NE };
enum qn_cond { QN_COND_NONE = 0, QN_COND_EQUALS, QN_COND_NOT_EQUALS, QN_COND_IN };

/* Strings point into the parsed document (valid until questionnaire_free). */
struct qn_phrases {
	const char **all, **any, **none; /* "all", "any", "not" */
	size_t nall, nany, nnone;
	bool stem;                       /* default true */
};

struct qn_choice {
	char id[QN_ID_MAX];
	const char *text;  /* the id when not given */
	double score;
	bool auto_fail;    /* named in the question's auto_fail */
	bool has_phrases;
	struct qn_phrases phrases;
};

struct qn_range {
	double min, max; /* inclusive */
	double score;
	bool auto_fail;
};

struct qn_metric {
	char name[STORE_CALL_NAME_MAX];  /* as call_metrics names it (alias resolved) */
	char scope[STORE_CALL_NAME_MAX];
	enum qn_op op;                   /* QN_OP_NONE: the value itself (number) */
	double value;
};

struct qn_condition {
	enum qn_cond kind;    /* QN_COND_NONE: always asked */
	size_t question;      /* index of an earlier question */
	const char **values;  /* choice ids of that question */
	size_t nvalues;
};

struct qn_question {
	char id[QN_ID_MAX];
	const char *text, *abbreviation, *instructions; /* "" when not given */
	enum qn_type type;
	enum qn_how how;
	struct qn_choice *choices; /* yes_no: yes, no */
	size_t nchoices;
	bool na_allowed;
	double weight;
	double max_score;
	struct qn_range *ranges;
	size_t nranges;
	struct qn_condition condition;
	char role[STORE_CALL_NAME_MAX]; /* "" = any */
	struct call_window window;
	struct qn_phrases phrases;      /* yes_no answered by phrases */
	struct qn_metric metric;
	int line;                       /* where the question starts in the text */
};

struct questionnaire {
	char version[QN_ID_MAX]; /* the author's label, as text ("3") */
	const char *name, *description;
	struct qn_question *q;
	size_t n;
	json_t *doc; /* owns the strings */
};

/* Parse and check text[0..len) (a UTF-8 BOM is skipped); name prefixes
 * every error. *out NULL on failure. */
enum parley_err questionnaire_parse(const char *text, size_t len, const char *name,
				    struct questionnaire **out, struct parley_error *err);
/* Read a file and parse it (errors name the path; IO when unreadable). */
enum parley_err questionnaire_load(const char *path, struct questionnaire **out,
				   struct parley_error *err);
void questionnaire_free(struct questionnaire *q); /* accepts NULL */

/* The question with this id, or NULL. */
const struct qn_question *questionnaire_find(const struct questionnaire *q, const char *id);
/* The choice with this id, or NULL. */
const struct qn_choice *qn_choice_find(const struct qn_question *q, const char *id);

const char *qn_type_name(enum qn_type t); /* "yes_no", … */
const char *qn_how_name(enum qn_how h);   /* "llm", "phrases", "metric" */
const char *qn_op_name(enum qn_op op);    /* ">", … ("" for none) */
/* Does value op threshold hold? */
bool qn_op_holds(enum qn_op op, double value, double threshold);

#endif
