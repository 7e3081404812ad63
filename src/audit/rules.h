/*
 * rules.h — the audit's rule language ("llm2", issue 14): a small, safe
 * language that scores a call from its questionnaire answers, its metrics,
 * its metadata and phrase tests on its words, and gives a verdict (pass,
 * fail, flag), a score out of a maximum and the reasons that fired.
 *
 *   struct rules *r = NULL;
 *   if (rules_parse(text, len, "rules.txt", &known, &r, &err)) fail(err.msg);
 *                                    // "rules.txt:4:17: unknown question 'greting'"
 *   struct rules_input in = {.answers = a, .nanswers = na, .metrics = m, …,
 *                            .phrase = rules_phrase_call_text, .phrase_ud = &call_text};
 *   struct store_verdict v;
 *   if (rules_evaluate(r, &in, &v, &err)) fail(err.msg);
 *   … store_verdict_put(st, rec_id, version, &v, &err); store_verdict_release(&v);
 *   rules_free(r);
 *
 * THE LANGUAGE (a document is UTF-8 text; '#' starts a comment to the end
 * of the line; spaces and newlines are free; keywords are lower case):
 *
 *   fail below 60%          # the call fails when its score is under 60% of its maximum
 *   flag below 80%          # ... is flagged under 80%
 *
 *   rule greeting pass weight 2
 *       when said(agent, any("good morning", "thank you for calling"), first 30s)
 *       because "the agent greeted the customer";
 *   rule recorded_line fail
 *       when not said(agent, "call is recorded", first 60s)
 *       because "the agent did not say that the call is recorded";
 *   rule long_silence flag when metric.call.silence_max > 30s
 *       because "a silence longer than 30 seconds";
 *   rule cancel_risk flag when said(customer, "cancel") and answer.offer = "no";
 *   rule vip flag when meta.segment in ["vip", "private"] and metric.agent.talk_share > 70%;
 *   rule polite pass weight 3 when judge("the agent stayed polite and calm");
 *
 * A rule: `rule ID VERDICT [weight N] when CONDITION [because "SENTENCE"] [;]`
 *   ID        letters, digits, '_' (and '-' or ':' inside), at most 63
 *             characters, unique in the document; not a keyword, not
 *             "score" (a threshold's reason is named so).
 *   VERDICT   pass  a check the call should meet: it earns its weight (default
 *                   1) when the condition holds; when it does not, the
 *                   points are lost and the reason says "missed".
 *             fail  the call fails when the condition holds (weight default
 *                   0: a fail rule with a weight also loses those points).
 *             flag  the call is flagged for review when the condition holds
 *                   (weight as fail).
 *   SENTENCE  the reason's human sentence (default: the condition's text).
 * Thresholds (at most one of each): `fail below N%`, `flag below N%`.
 *
 * CONDITION:
 *   or, and, not (lowest to highest precedence), parentheses, then
 *   comparisons  = (or ==) != < <= > >=;  X in [A, B, …];  X contains "s"
 *                (a multiple-choice answer holds the choice, or a string
 *                holds the text, case-insensitive);  X is na;  X is not na.
 *   values       numbers (12, 2.5, -3), with a unit: 30s, 2min (seconds),
 *                70% (= 0.7); strings "…" (\" \\ \n \t escapes); true,
 *                false; and references:
 *     answer.Q         question Q's answer: "yes"/"no", a choice id, a list
 *                      of choice ids, a number or text; N/A when the answer
 *                      is N/A, skipped or did not validate.
 *     answer.Q.score   its score (number); N/A as above.
 *     answer.Q.na      true when the answer is N/A, skipped or invalid.
 *     metric.S.N       metric N of scope S (core/call_metrics.h: scope call,
 *                      agent, customer, speaker:2…; N talk_time, talk_share,
 *                      silence_max, … — unknown names are refused); N/A when
 *                      the call has no such figure.
 *     meta.C           column C of the recording's metadata row (a string;
 *                      compared with a number, it is read as one); N/A when
 *                      missing or empty.
 *   phrase tests (the words of the call without IVR and hold, audit/call_text.h):
 *     said(ROLE, PHRASES [, WINDOW])   true when ROLE said them in WINDOW
 *     count(ROLE, PHRASES [, WINDOW])  how many times (a number)
 *       ROLE     agent, customer, anyone, or another role name.
 *       PHRASES  "a phrase" | any("a", "b", …) | all("a", "b", …)
 *                (matching is tolerant: case, punctuation, stemming, and a
 *                word ending in '*' is a prefix — audit/phrase.h; a phrase
 *                is checked with phrase_check() when parsed).
 *       WINDOW   first 30s | last 2min | first 10% | last 25% of the
 *                conversation (after the IVR); none = the whole call.
 *   judge("CRITERION")  an LLM's yes/no judgement of the call against a
 *                natural-language criterion (only when the caller gives a
 *                judge callback; N/A otherwise).
 *   A bare value as a condition: true/false; a number is true when not 0;
 *   "yes"/"true" strings are true, other strings false.
 *
 * Three-valued logic (as SQL): a comparison with an N/A side is N/A; not
 * N/A is N/A; `a and b` is false when either is false, else N/A when either
 * is, else true; `or` likewise with true. A rule whose condition is N/A
 * does not fire and a pass rule's weight is left out of the maximum (as an
 * N/A question is left out of a form's). `X is na` is never N/A.
 *
 * SCORE AND VERDICT (rules_evaluate; the questionnaire's form and the rules):
 *   form   every answered question (not N/A, not skipped, valid, max_score
 *          > 0) counts weight × score / max_score out of its weight (Amazon
 *          Contact Lens evaluation forms); N/A questions are left out.
 *   rules  a pass rule that holds earns its weight, one that does not earns
 *          0, out of its weight; a fail or flag rule with a weight earns it
 *          when it does NOT fire; an N/A condition is left out.
 *   score = form points + rule points, max_score = form max + rules max.
 *   verdict  fail when an answer is one of its question's auto-fail answers,
 *          a fail rule fired, or score < the `fail below` share of max_score;
 *          else flag when a flag rule fired, an LLM answer did not validate,
 *          or score < the `flag below` share; else pass. auto_fail is set
 *          when an auto-fail answer or a fail rule made the call fail. The
 *          score is NOT zeroed on an auto-fail (Contact Lens zeroes it):
 *          the verdict says fail and the score still says how far off the
 *          call was, for a reaudit's diff and a trade's average.
 *   reasons  a JSON array, in document order: one object per rule that
 *          fired and per pass rule missed, and one per auto-fail or invalid
 *          answer: {"rule", "verdict" (pass, fail, flag, missed), "weight",
 *          "points", "why", "evidence": [...]}; answers are named
 *          "answer.Q". Evidence holds the values the condition read
 *          ({"ref","value"}) and the phrase matches ({"test","text","start",
 *          "end","count"}), at most RULES_EVIDENCE_MAX per rule.
 *
 * Reaudit. Rules are stored with the batch's audit version (store_audit.h),
 * not compiled into the calls: a reaudit with new rules reruns only the
 * verdicts stage over the stored answers, metrics and words, so new rules
 * apply to old calls — which Amazon Transcribe call-analytics categories
 * cannot do (a category applies only to calls analysed after it exists).
 *
 * SAFETY (documents come from outside): no loops, no recursion in the
 * language, no I/O but the callbacks; the text is at most RULES_TEXT_MAX
 * bytes of valid UTF-8 without NUL; at most RULES_MAX rules, RULES_NODES_MAX
 * expression nodes in all, nesting RULES_DEPTH_MAX deep, strings of at most
 * RULES_STRING_MAX bytes, RULES_PHRASES_MAX phrases per test, RULES_LIST_MAX
 * items per list. Evaluation visits every node at most once per call.
 * Errors: "NAME:LINE:COL: what is wrong" (lines and columns from 1, columns
 * in characters), PARLEY_ERR_INVALID or PARLEY_ERR_TOO_LARGE.
 *
 * THREADS: a parsed struct rules is read-only in rules_evaluate and may be
 * shared by threads; no global state.
 */
#ifndef PARLEY_AUDIT_RULES_H
#define PARLEY_AUDIT_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "store/store_audit.h"
#include "store/store_call.h"
#include "util/error.h"

#define RULES_TEXT_MAX ((size_t)256 << 10)
#define RULES_MAX 1000
#define RULES_NODES_MAX 50000
#define RULES_DEPTH_MAX 32
#define RULES_STRING_MAX 1024
#define RULES_PHRASES_MAX 32
#define RULES_LIST_MAX 64
#define RULES_ID_MAX 64 /* an id with its NUL (= STORE_AUDIT_ID_MAX) */
#define RULES_EVIDENCE_MAX 16
#define RULES_REASONS_MAX ((size_t)1 << 20) /* the reasons JSON text */

struct rules;

/* What parse checks references against. NULL (or n == 0 with
 * check_questions false) = answer ids are not checked. */
struct rules_known {
	const char *const *question_ids;
	size_t nquestions;
	bool check_questions; /* refuse answer.Q for a Q not in question_ids */
};

/* Parse len bytes of text (need not be NUL-terminated); name is the
 * document's name in errors. *out is the rules (free with rules_free) or
 * NULL on error. */
enum parley_err rules_parse(const char *text, size_t len, const char *name,
			    const struct rules_known *known, struct rules **out,
			    struct parley_error *err);
void rules_free(struct rules *r); /* accepts NULL */

size_t rules_count(const struct rules *r);                 /* 0 for NULL */
const char *rules_id(const struct rules *r, size_t i);     /* rule i's id */
const char *rules_verdict_of(const struct rules *r, size_t i); /* "pass", "fail", "flag" */
double rules_weight(const struct rules *r, size_t i);
/* The judge("…") criteria of the document, each once, in order (for a
 * caller that asks them all at once before evaluating). */
size_t rules_judge_count(const struct rules *r);
const char *rules_judge_criterion(const struct rules *r, size_t i);

/* A time window of a phrase test (the values of audit/call_text.h's
 * enum call_window_kind). */
enum rules_window_kind { RULES_WINDOW_CALL = 0, RULES_WINDOW_FIRST = 1, RULES_WINDOW_LAST = 2 };
struct rules_window {
	enum rules_window_kind kind;
	double amount; /* seconds, or percent (0..100] */
	bool percent;
};

struct rules_phrase_test {
	const char *role;              /* "agent", "customer", "any" (= anyone), … */
	const char *const *phrases;    /* 1..RULES_PHRASES_MAX */
	size_t nphrases;
	bool all;                      /* all(...) rather than any(...) */
	struct rules_window window;
};
struct rules_phrase_hit {
	int count;          /* matches (0 = not said) */
	double start, end;  /* the first match's time (seconds) */
	char text[256];     /* its words, as recognised */
};
/* Match a phrase test in the call: fill *hit (zeroed by the caller). An
 * error stops the evaluation and is returned by rules_evaluate. */
typedef enum parley_err (*rules_phrase_fn)(void *ud, const struct rules_phrase_test *t,
					   struct rules_phrase_hit *hit, struct parley_error *err);
/* Judge the call against a criterion: *verdict 1 = yes, 0 = no, -1 = no
 * answer (N/A); why (may be "") explains. */
typedef enum parley_err (*rules_judge_fn)(void *ud, const char *criterion, int *verdict,
					  char *why, size_t why_size, struct parley_error *err);

struct rules_input {
	const struct store_answer *answers; /* the recording's answers of the version */
	size_t nanswers;
	const struct store_call_metric *metrics;
	size_t nmetrics;
	const char *metadata;  /* the recording's metadata object's JSON text; NULL = none */
	rules_phrase_fn phrase; /* NULL: phrase tests are N/A */
	void *phrase_ud;
	rules_judge_fn judge;   /* NULL: judge() is N/A */
	void *judge_ud;
};

/* The phrase matcher of a call's words: a rules_phrase_fn whose ud is a
 * const struct call_text * (audit/call_text.h), through audit/phrase.h
 * (normalised, stemmed words; ROLE "any" = every role). said(…, any(…)) is
 * phrase_eval with the phrases as ANY, all(…) as ALL; count = the
 * occurrences (one after the other, not overlapping) of each phrase, summed
 * (for all(…): 0 unless every phrase occurs). The hit is the earliest
 * match. */
enum parley_err rules_phrase_call_text(void *ud, const struct rules_phrase_test *t,
				       struct rules_phrase_hit *hit, struct parley_error *err);

/* The call's verdict (see SCORE AND VERDICT) into *out (out->reasons
 * malloc'd: free with store_verdict_release). r NULL = no rules: the form
 * alone. With no rules and no scored answers the call passes with 0 of 0.
 * Errors: the callbacks', NOMEM, TOO_LARGE (reasons). */
enum parley_err rules_evaluate(const struct rules *r, const struct rules_input *in,
			       struct store_verdict *out, struct parley_error *err);

#endif
