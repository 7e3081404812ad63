/* test_rules.c — the rule language (audit/rules.h): every operator and its
 * precedence, three-valued logic with N/A, references to answers, metrics
 * and metadata, phrase tests through a fake matcher, judge(), the form
 * score with weights, N/A and auto-fail, thresholds, reasons, errors with
 * line:col, and bounds on hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/call_text.h"
#include "audit/rules.h"

/* A fake call: the agent said "thank you for calling" at 2 s and "sorry"
 * three times; the customer said "cancel" at 50 s. Windows: first N s
 * covers what starts before N, last N s what starts after 60 - N. */
struct fake_said {
	const char *role, *phrase;
	double at;
};
static const struct fake_said said_table[] = {
	{"agent", "thank you for calling", 2},
	{"agent", "sorry", 10},
	{"agent", "sorry", 20},
	{"agent", "sorry", 30},
	{"customer", "cancel", 50},
};
static int phrase_calls;

static enum parley_err fake_phrase(void *ud, const struct rules_phrase_test *t,
				   struct rules_phrase_hit *hit, struct parley_error *err)
{
	(void)ud;
	(void)err;
	phrase_calls++;
	int found = 0, total = 0;
	for (size_t i = 0; i < t->nphrases; i++) {
		int n = 0;
		for (size_t k = 0; k < sizeof(said_table) / sizeof(said_table[0]); k++) {
			const struct fake_said *s = &said_table[k];
			double at = t->window.percent ? s->at / 60 * 100 : s->at;
			double lim = t->window.amount;
			bool in = t->window.kind == RULES_WINDOW_CALL ||
				  (t->window.kind == RULES_WINDOW_FIRST && at < lim) ||
				  (t->window.kind == RULES_WINDOW_LAST &&
				   at > (t->window.percent ? 100 : 60) - lim);
			bool role = strcmp(t->role, "any") == 0 || strcmp(t->role, s->role) == 0;
			if (in && role && strcmp(t->phrases[i], s->phrase) == 0) {
				if (n++ == 0 && total == 0) {
					hit->start = s->at;
					hit->end = s->at + 1;
					snprintf(hit->text, sizeof(hit->text), "%s", s->phrase);
				}
			}
		}
		found += n > 0;
		total += n;
	}
	hit->count = t->all ? (found == (int)t->nphrases ? total : 0) : total;
	return PARLEY_OK;
}

static enum parley_err fake_judge(void *ud, const char *criterion, int *verdict, char *why,
				  size_t size, struct parley_error *err)
{
	(void)ud;
	(void)err;
	*verdict = strstr(criterion, "polite") ? 1 : strstr(criterion, "unsure") ? -1 : 0;
	snprintf(why, size, "judged '%s'", criterion);
	return PARLEY_OK;
}

static enum parley_err failing_phrase(void *ud, const struct rules_phrase_test *t,
				      struct rules_phrase_hit *hit, struct parley_error *err)
{
	(void)ud;
	(void)t;
	(void)hit;
	return parley_error_set(err, PARLEY_ERR_STORE, "words unavailable");
}

static struct store_answer answers[4];
static const struct store_call_metric metrics[] = {
	{"call", "silence_max", 42.5},
	{"agent", "talk_share", 0.75},
	{"speaker:2", "words", 12},
};
static const char *metadata = "{\"segment\":\"VIP\",\"amount\":\"1500\",\"desk\":\"fx rates\",\"empty\":\"\"}";

static void answers_init(void)
{
	memset(answers, 0, sizeof(answers));
	const struct {
		const char *q, *a;
		double score, max, weight;
		bool na, auto_fail;
	} rows[] = {
		{"greeted", "\"yes\"", 1, 1, 2, false, false},
		{"issues", "[\"billing\",\"card\"]", 2, 4, 4, false, false},
		{"hold_ok", "null", 0, 1, 3, true, false},
		{"amount", "12.5", 0, 0, 0, false, false},
	};
	for (size_t i = 0; i < 4; i++) {
		snprintf(answers[i].question, sizeof(answers[i].question), "%s", rows[i].q);
		snprintf(answers[i].answer, sizeof(answers[i].answer), "%s", rows[i].a);
		snprintf(answers[i].source, sizeof(answers[i].source), "phrase");
		answers[i].score = rows[i].score;
		answers[i].max_score = rows[i].max;
		answers[i].weight = rows[i].weight;
		answers[i].na = rows[i].na;
		answers[i].auto_fail = rows[i].auto_fail;
		answers[i].valid = true;
	}
}

static struct rules_input input(void)
{
	answers_init();
	return (struct rules_input){.answers = answers, .nanswers = 4, .metrics = metrics,
				    .nmetrics = 3, .metadata = metadata, .phrase = fake_phrase,
				    .judge = fake_judge};
}

static struct rules *parse_ok(const char *text)
{
	struct rules *r = NULL;
	struct parley_error err = {0};
	enum parley_err rc = rules_parse(text, strlen(text), "r.rules", NULL, &r, &err);
	if (rc)
		fprintf(stderr, "unexpected failure: %s\n", err.msg);
	assert_int_equal(rc, PARLEY_OK);
	assert_non_null(r);
	return r;
}

static void parse_fails(const char *text, enum parley_err code, const char *msg)
{
	struct rules *r = NULL;
	struct parley_error err = {0};
	enum parley_err rc = rules_parse(text, strlen(text), "r.rules", NULL, &r, &err);
	if (rc != code || strcmp(err.msg, msg) != 0)
		fprintf(stderr, "for %s\n got %d %s\nwant %d %s\n", text, rc, err.msg, code, msg);
	assert_int_equal(rc, code);
	assert_null(r);
	assert_string_equal(err.msg, msg);
}

/* The verdict of one rule "rule x fail when COND" over the fake call:
 * 'T' fired, 'F' did not, 'N' N/A (left out of max: weight 1 makes it
 * visible). */
static char cond(const char *c)
{
	char text[2048];
	snprintf(text, sizeof(text), "rule x pass when %s", c);
	struct rules *r = parse_ok(text);
	struct rules_input in = input();
	struct store_verdict v;
	struct parley_error err = {0};
	assert_int_equal(rules_evaluate(r, &in, &v, &err), PARLEY_OK);
	/* form: greeted 2/2 + issues 2 of 4 → 4 of 6; the rule adds 0..1 of 1 */
	char res = v.max_score == 6 ? 'N' : v.score == 5 ? 'T' : 'F';
	if (res != 'N')
		assert_true(v.max_score == 7);
	store_verdict_release(&v);
	rules_free(r);
	return res;
}

static void test_comparisons(void **state)
{
	(void)state;
	assert_int_equal(cond("metric.call.silence_max > 30"), 'T');
	assert_int_equal(cond("metric.call.silence_max > 30s"), 'T');
	assert_int_equal(cond("metric.call.silence_max >= 42.5"), 'T');
	assert_int_equal(cond("metric.call.silence_max < 42.5"), 'F');
	assert_int_equal(cond("metric.call.silence_max <= 42.5"), 'T');
	assert_int_equal(cond("metric.call.silence_max = 42.5"), 'T');
	assert_int_equal(cond("metric.call.silence_max == 42.5"), 'T');
	assert_int_equal(cond("metric.call.silence_max != 42.5"), 'F');
	assert_int_equal(cond("metric.call.silence_max > 1min"), 'F');
	assert_int_equal(cond("metric.agent.talk_share > 70%"), 'T');
	assert_int_equal(cond("metric.agent.talk_share > 80%"), 'F');
	assert_int_equal(cond("metric.speaker:2.words = 12"), 'T');
	assert_int_equal(cond("-1 < 0"), 'T');
	/* strings: case-insensitive; metadata read as numbers against numbers */
	assert_int_equal(cond("meta.segment = \"vip\""), 'T');
	assert_int_equal(cond("meta.segment != \"vip\""), 'F');
	assert_int_equal(cond("meta.amount > 1000"), 'T');
	assert_int_equal(cond("meta.amount = 1500"), 'T');
	assert_int_equal(cond("meta.segment > 3"), 'N'); /* not a number */
	assert_int_equal(cond("meta.segment in [\"gold\", \"vip\"]"), 'T');
	assert_int_equal(cond("meta.segment in [\"gold\", 3]"), 'F');
	assert_int_equal(cond("meta.desk contains \"RATES\""), 'T');
	assert_int_equal(cond("meta.desk contains \"bonds\""), 'F');
	/* answers */
	assert_int_equal(cond("answer.greeted = \"yes\""), 'T');
	assert_int_equal(cond("answer.greeted"), 'T');
	assert_int_equal(cond("answer.greeted = true"), 'T');
	assert_int_equal(cond("answer.issues contains \"card\""), 'T');
	assert_int_equal(cond("answer.issues contains \"fraud\""), 'F');
	assert_int_equal(cond("answer.issues = \"card\""), 'F'); /* a list of two */
	assert_int_equal(cond("answer.issues.score >= 2"), 'T');
	assert_int_equal(cond("answer.amount > 12"), 'T');
	assert_int_equal(cond("answer.hold_ok.na"), 'T');
	assert_int_equal(cond("answer.greeted.na"), 'F');
	assert_int_equal(cond("true"), 'T');
	assert_int_equal(cond("false"), 'F');
	assert_int_equal(cond("3"), 'T');
	assert_int_equal(cond("0"), 'F');
}

static void test_na_logic(void **state)
{
	(void)state;
	assert_int_equal(cond("answer.hold_ok = \"yes\""), 'N');
	assert_int_equal(cond("answer.hold_ok != \"yes\""), 'N');
	assert_int_equal(cond("answer.hold_ok is na"), 'T');
	assert_int_equal(cond("answer.hold_ok is not na"), 'F');
	assert_int_equal(cond("answer.greeted is na"), 'F');
	assert_int_equal(cond("answer.nope is na"), 'T');
	assert_int_equal(cond("metric.customer.wpm > 1"), 'N'); /* no such figure */
	assert_int_equal(cond("meta.missing = \"x\""), 'N');
	assert_int_equal(cond("meta.empty = \"\""), 'N');       /* empty = not given */
	assert_int_equal(cond("not answer.hold_ok"), 'N');
	assert_int_equal(cond("answer.hold_ok and false"), 'F');
	assert_int_equal(cond("answer.hold_ok and true"), 'N');
	assert_int_equal(cond("answer.hold_ok or true"), 'T');
	assert_int_equal(cond("answer.hold_ok or false"), 'N');
	assert_int_equal(cond("false and answer.hold_ok"), 'F');
	assert_int_equal(cond("true or answer.hold_ok"), 'T');
	assert_int_equal(cond("answer.hold_ok in [\"yes\"]"), 'N');
	assert_int_equal(cond("answer.hold_ok contains \"y\""), 'N');
	assert_int_equal(cond("judge(\"unsure what\")"), 'N');
}

static void test_precedence(void **state)
{
	(void)state;
	/* and binds tighter than or; not tighter than and; comparisons tighter than not */
	assert_int_equal(cond("true or true and false"), 'T');
	assert_int_equal(cond("(true or true) and false"), 'F');
	assert_int_equal(cond("false and false or true"), 'T');
	assert_int_equal(cond("not false and false"), 'F');
	assert_int_equal(cond("not (false and false)"), 'T');
	assert_int_equal(cond("not metric.call.silence_max > 50"), 'T');
	assert_int_equal(cond("not not true"), 'T');
	assert_int_equal(cond("((((true))))"), 'T');
	assert_int_equal(cond("false or false or false or true"), 'T');
	assert_int_equal(cond("true and true and true and false"), 'F');
}

static void test_phrases(void **state)
{
	(void)state;
	assert_int_equal(cond("said(agent, \"thank you for calling\")"), 'T');
	assert_int_equal(cond("said(agent, \"thank you for calling\", first 30s)"), 'T');
	assert_int_equal(cond("said(agent, \"thank you for calling\", last 30s)"), 'F');
	assert_int_equal(cond("said(customer, \"cancel\", last 20%)"), 'T');
	assert_int_equal(cond("said(customer, \"cancel\", first 50%)"), 'F');
	assert_int_equal(cond("said(customer, \"thank you for calling\")"), 'F');
	assert_int_equal(cond("said(anyone, \"cancel\")"), 'T');
	assert_int_equal(cond("not said(customer, \"cancel\")"), 'F');
	assert_int_equal(cond("said(agent, any(\"hello\", \"sorry\"))"), 'T');
	assert_int_equal(cond("said(agent, all(\"hello\", \"sorry\"))"), 'F');
	assert_int_equal(cond("said(agent, all(\"thank you for calling\", \"sorry\"), first 2min)"), 'T');
	assert_int_equal(cond("count(agent, \"sorry\") = 3"), 'T');
	assert_int_equal(cond("count(agent, \"sorry\", first 25s) >= 2"), 'T');
	assert_int_equal(cond("count(agent, \"sorry\", first 15s) >= 2"), 'F');
	assert_int_equal(cond("judge(\"the agent was polite\")"), 'T');
	assert_int_equal(cond("judge(\"the agent was rude\")"), 'F');

	/* without callbacks phrase tests and judgements are N/A */
	struct rules *r = parse_ok("rule a pass when said(agent, \"sorry\") rule b pass when judge(\"x\")");
	struct rules_input in = {0};
	struct store_verdict v;
	struct parley_error err = {0};
	assert_int_equal(rules_evaluate(r, &in, &v, &err), PARLEY_OK);
	assert_string_equal(v.verdict, "pass");
	assert_true(v.max_score == 0);
	assert_string_equal(v.reasons, "[]");
	store_verdict_release(&v);
	/* a failing matcher stops the evaluation with its error, named by rule */
	in.phrase = failing_phrase;
	assert_int_equal(rules_evaluate(r, &in, &v, &err), PARLEY_ERR_STORE);
	assert_string_equal(err.msg, "rule a: words unavailable");
	assert_null(v.reasons);
	rules_free(r);
	/* short-circuit: the phrase test right of a decided and is not run */
	r = parse_ok("rule a pass when false and said(agent, \"sorry\")");
	in = input();
	phrase_calls = 0;
	assert_int_equal(rules_evaluate(r, &in, &v, &err), PARLEY_OK);
	assert_int_equal(phrase_calls, 0);
	store_verdict_release(&v);
	rules_free(r);
}

/* The reasons array of an evaluation, parsed. */
static json_t *evaluate(const char *text, struct store_verdict *v)
{
	struct rules *r = parse_ok(text);
	struct rules_input in = input();
	struct parley_error err = {0};
	assert_int_equal(rules_evaluate(r, &in, v, &err), PARLEY_OK);
	rules_free(r);
	json_t *j = json_loads(v->reasons, 0, NULL);
	assert_non_null(j);
	return j;
}

static void test_verdicts_and_reasons(void **state)
{
	(void)state;
	struct store_verdict v;
	json_t *j = evaluate(
		"# a comment\n"
		"rule greet pass weight 2 when said(agent, \"thank you for calling\", first 30s)\n"
		"    because \"the agent greeted\";\n"
		"rule recorded pass weight 3 when said(agent, \"recorded line\") # not said\n"
		"rule silence flag when metric.call.silence_max > 30s because \"a long silence\"\n"
		"rule vip flag weight 1 when meta.segment = \"gold\"\n"
		"rule skipped pass weight 5 when answer.hold_ok = \"yes\"\n",
		&v);
	/* form 4 of 6; greet 2 of 2; recorded 0 of 3; silence flag 0 of 0; vip 1 of 1;
	 * skipped N/A */
	assert_string_equal(v.verdict, "flag");
	assert_false(v.auto_fail);
	assert_true(v.score == 7 && v.max_score == 12);
	assert_int_equal(json_array_size(j), 3);
	json_t *o = json_array_get(j, 0);
	assert_string_equal(json_string_value(json_object_get(o, "rule")), "greet");
	assert_string_equal(json_string_value(json_object_get(o, "verdict")), "pass");
	assert_string_equal(json_string_value(json_object_get(o, "why")), "the agent greeted");
	assert_true(json_number_value(json_object_get(o, "points")) == 2);
	json_t *ev = json_array_get(json_object_get(o, "evidence"), 0);
	assert_string_equal(json_string_value(json_object_get(ev, "test")),
			    "said(agent, \"thank you for calling\", first 30s)");
	assert_string_equal(json_string_value(json_object_get(ev, "text")), "thank you for calling");
	assert_true(json_number_value(json_object_get(ev, "start")) == 2);
	o = json_array_get(j, 1);
	assert_string_equal(json_string_value(json_object_get(o, "rule")), "recorded");
	assert_string_equal(json_string_value(json_object_get(o, "verdict")), "missed");
	assert_string_equal(json_string_value(json_object_get(o, "why")),
			    "missed: said(agent, \"recorded line\")"); /* comment dropped */
	o = json_array_get(j, 2);
	assert_string_equal(json_string_value(json_object_get(o, "rule")), "silence");
	assert_string_equal(json_string_value(json_object_get(o, "verdict")), "flag");
	ev = json_array_get(json_object_get(o, "evidence"), 0);
	assert_string_equal(json_string_value(json_object_get(ev, "ref")), "metric.call.silence_max");
	assert_true(json_number_value(json_object_get(ev, "value")) == 42.5);
	json_decref(j);
	store_verdict_release(&v);

	/* a fail rule: fail, auto_fail, the score kept */
	j = evaluate("rule cancel fail when said(customer, \"cancel\") and answer.greeted\n"
		     "rule silence flag when metric.call.silence_max > 30s",
		     &v);
	assert_string_equal(v.verdict, "fail");
	assert_true(v.auto_fail);
	assert_true(v.score == 4 && v.max_score == 6);
	assert_int_equal(json_array_size(j), 2);
	o = json_array_get(j, 0);
	assert_string_equal(json_string_value(json_object_get(o, "why")),
			    "said(customer, \"cancel\") and answer.greeted");
	json_decref(j);
	store_verdict_release(&v);

	/* thresholds: 4 of 6 = 66.7% */
	j = evaluate("fail below 70%", &v);
	assert_string_equal(v.verdict, "fail");
	assert_false(v.auto_fail);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "rule")), "score");
	json_decref(j);
	store_verdict_release(&v);
	j = evaluate("fail below 50%; flag below 70%", &v);
	assert_string_equal(v.verdict, "flag");
	json_decref(j);
	store_verdict_release(&v);
	j = evaluate("fail below 50% flag below 60%", &v);
	assert_string_equal(v.verdict, "pass");
	assert_int_equal(json_array_size(j), 0);
	json_decref(j);
	store_verdict_release(&v);
}

static void test_form(void **state)
{
	(void)state;
	struct rules_input in = input();
	struct store_verdict v;
	struct parley_error err = {0};
	/* no rules: the form alone (weights, N/A and score 0 weights left out) */
	assert_int_equal(rules_evaluate(NULL, &in, &v, &err), PARLEY_OK);
	assert_string_equal(v.verdict, "pass");
	assert_true(v.score == 4 && v.max_score == 6);
	assert_string_equal(v.reasons, "[]");
	store_verdict_release(&v);
	/* an auto-fail answer fails the call; the score stays */
	answers[1].auto_fail = true;
	assert_int_equal(rules_evaluate(NULL, &in, &v, &err), PARLEY_OK);
	assert_string_equal(v.verdict, "fail");
	assert_true(v.auto_fail);
	assert_true(v.score == 4);
	json_t *j = json_loads(v.reasons, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "rule")),
			    "answer.issues");
	json_decref(j);
	store_verdict_release(&v);
	/* an auto-fail on an N/A answer does nothing; an invalid LLM answer flags */
	answers_init();
	answers[2].auto_fail = true;
	answers[0].valid = false;
	snprintf(answers[0].error, sizeof(answers[0].error), "not one of yes, no");
	assert_int_equal(rules_evaluate(NULL, &in, &v, &err), PARLEY_OK);
	assert_string_equal(v.verdict, "flag");
	assert_false(v.auto_fail);
	assert_true(v.score == 2 && v.max_score == 4); /* the invalid answer is left out */
	assert_non_null(strstr(v.reasons, "did not validate: not one of yes, no"));
	store_verdict_release(&v);
	/* skipped answers are N/A; scores are clamped to their maximum */
	answers_init();
	snprintf(answers[0].source, sizeof(answers[0].source), "skipped");
	answers[1].score = 9;
	assert_int_equal(rules_evaluate(NULL, &in, &v, &err), PARLEY_OK);
	assert_true(v.score == 4 && v.max_score == 4);
	store_verdict_release(&v);
	/* nothing at all: pass, 0 of 0 */
	assert_int_equal(rules_evaluate(NULL, NULL, &v, &err), PARLEY_OK);
	assert_string_equal(v.verdict, "pass");
	assert_true(v.max_score == 0);
	store_verdict_release(&v);
}

static void test_accessors_and_questions(void **state)
{
	(void)state;
	struct rules *r = parse_ok("rule a pass when judge(\"polite\") or judge(\"calm\")\n"
				   "rule b-2 fail weight 4 when judge(\"polite\")\n"
				   "rule c:x flag when answer.q1.score > 1");
	assert_int_equal(rules_count(r), 3);
	assert_string_equal(rules_id(r, 1), "b-2");
	assert_string_equal(rules_verdict_of(r, 1), "fail");
	assert_true(rules_weight(r, 1) == 4);
	assert_true(rules_weight(r, 0) == 1); /* pass default */
	assert_true(rules_weight(r, 2) == 0); /* flag default */
	assert_int_equal(rules_judge_count(r), 2);
	assert_string_equal(rules_judge_criterion(r, 1), "calm");
	rules_free(r);
	assert_int_equal(rules_count(NULL), 0);
	rules_free(NULL);

	const char *ids[] = {"greeted", "q1"};
	struct rules_known k = {.question_ids = ids, .nquestions = 2, .check_questions = true};
	struct parley_error err = {0};
	const char *good = "rule a pass when answer.greeted and answer.q1.na";
	assert_int_equal(rules_parse(good, strlen(good), "r", &k, &r, &err), PARLEY_OK);
	rules_free(r);
	const char *bad = "rule a pass when answer.greeted and\n  answer.greting = \"yes\"";
	assert_int_equal(rules_parse(bad, strlen(bad), "r", &k, &r, &err), PARLEY_ERR_INVALID);
	assert_string_equal(err.msg, "r:2:10: unknown question 'greting' (not in the questionnaire)");
	assert_null(r);
}

static void test_errors(void **state)
{
	(void)state;
	parse_fails("rule", PARLEY_ERR_INVALID, "r.rules:1:5: expected the rule's id after 'rule'");
	parse_fails("rule a", PARLEY_ERR_INVALID,
		    "r.rules:1:7: expected the rule's verdict (pass, fail or flag), found the end of "
		    "the document");
	parse_fails("rule a maybe when true", PARLEY_ERR_INVALID,
		    "r.rules:1:8: expected the rule's verdict (pass, fail or flag), found 'maybe'");
	parse_fails("rule a pass true", PARLEY_ERR_INVALID,
		    "r.rules:1:13: expected 'when' before the rule's condition, found 'true'");
	parse_fails("rule a pass when\n\tmetric.call.silense_max > 3", PARLEY_ERR_INVALID,
		    "r.rules:2:14: unknown metric 'silense_max' (talk_time, talk_share, silence_max, "
		    "… as in README Call analysis)");
	parse_fails("rule a pass when true\nrule a fail when false", PARLEY_ERR_INVALID,
		    "r.rules:2:6: a second rule 'a' (rule ids are unique)");
	parse_fails("rule a pass when (true", PARLEY_ERR_INVALID,
		    "r.rules:1:23: expected ')', found the end of the document");
	parse_fails("rule a pass when said(agent, \"x\") > 2", PARLEY_ERR_INVALID,
		    "r.rules:1:35: '>' compares numbers, not true or false");
	parse_fails("rule a pass when meta.x < \"b\"", PARLEY_ERR_INVALID,
		    "r.rules:1:25: '<' compares numbers, not a string");
	parse_fails("rule a pass when count(agent, \"x\") = \"many\"", PARLEY_ERR_INVALID,
		    "r.rules:1:36: '=' between a number and a string is never true");
	parse_fails("rule a pass when said(agent, \"x\") = 1", PARLEY_ERR_INVALID,
		    "r.rules:1:35: '=' between true or false and a number is never true");
	parse_fails("rule a pass when said(agent, \"x\", first 0s)", PARLEY_ERR_INVALID,
		    "r.rules:1:41: a window's length is more than 0 s and at most 10^7 s");
	parse_fails("rule a pass when said(agent, \"x\", last 120%)", PARLEY_ERR_INVALID,
		    "r.rules:1:40: a window's share is more than 0% and at most 100%");
	parse_fails("rule a pass when said(agent, \"x\", middle 3s)", PARLEY_ERR_INVALID,
		    "r.rules:1:35: expected a window: first 30s, last 2min, first 10%, last 25%");
	parse_fails("rule a pass when said(agent, \"x\", first 30)", PARLEY_ERR_INVALID,
		    "r.rules:1:41: expected a length with its unit (30s, 2min, 10%)");
	parse_fails("rule a pass when said(agent, \"  \")", PARLEY_ERR_INVALID,
		    "r.rules:1:30: an empty phrase");
	parse_fails("rule a pass when said(agent, \"!!!\")", PARLEY_ERR_INVALID,
		    "r.rules:1:30: the phrase \"!!!\" has no words"); /* phrase_check's */
	parse_fails("rule a pass when metric.call.talk_time > 3h", PARLEY_ERR_INVALID,
		    "r.rules:1:42: unknown unit 'h' after a number (s, min or %)");
	parse_fails("rule a pass when \"abc", PARLEY_ERR_INVALID,
		    "r.rules:1:18: a string is not closed before the end of its line");
	parse_fails("rule a pass when \"a\\qb\" = meta.x", PARLEY_ERR_INVALID,
		    "r.rules:1:20: unknown escape in a string (\\\" \\\\ \\n \\t)");
	parse_fails("rule a pass when answer.q.points > 1", PARLEY_ERR_INVALID,
		    "r.rules:1:27: answer.q has no 'points' (score or na)");
	parse_fails("rule a pass when bogus", PARLEY_ERR_INVALID,
		    "r.rules:1:18: unknown name 'bogus' (values are answer.Q, metric.SCOPE.NAME, "
		    "meta.COLUMN, said(…), count(…), judge(…), numbers, strings, true, false)");
	parse_fails("rule a pass when x = na", PARLEY_ERR_INVALID,
		    "r.rules:1:18: unknown name 'x' (values are answer.Q, metric.SCOPE.NAME, "
		    "meta.COLUMN, said(…), count(…), judge(…), numbers, strings, true, false)");
	parse_fails("rule a pass when meta.x = na", PARLEY_ERR_INVALID,
		    "r.rules:1:27: na is tested with 'X is na' or 'X is not na'");
	parse_fails("rule a pass when meta.x is nothing", PARLEY_ERR_INVALID,
		    "r.rules:1:28: expected 'na' after 'is' (X is na, X is not na), found 'nothing'");
	parse_fails("rule a pass when true because", PARLEY_ERR_INVALID,
		    "r.rules:1:30: expected the reason, a non-empty string, after 'because'");
	parse_fails("rule a pass when true true", PARLEY_ERR_INVALID,
		    "r.rules:1:23: expected 'because', ';' or the next rule after the condition, "
		    "found 'true'");
	parse_fails("fail below 60%\nfail below 50%", PARLEY_ERR_INVALID,
		    "r.rules:2:1: a second 'fail below' (one of each)");
	parse_fails("flag below 0.8", PARLEY_ERR_INVALID,
		    "r.rules:1:12: expected a share of the maximum score, 0% to 100%");
	parse_fails("rule a pass weight -1 when true", PARLEY_ERR_INVALID,
		    "r.rules:1:20: a weight is a number from 0 to 1000000");
	parse_fails("when", PARLEY_ERR_INVALID,
		    "r.rules:1:1: expected 'rule', 'fail below' or 'flag below', found 'when'");
	parse_fails("rule a pass when meta.x @ 1", PARLEY_ERR_INVALID,
		    "r.rules:1:25: unexpected character '@'");
	parse_fails("rule a pass when meta.x in [meta.y]", PARLEY_ERR_INVALID,
		    "r.rules:1:29: a list holds numbers and strings");
	parse_fails("rule a pass when meta.x contains 3", PARLEY_ERR_INVALID,
		    "r.rules:1:34: contains takes a string");
	parse_fails("rule and pass when true", PARLEY_ERR_INVALID,
		    "r.rules:1:6: a rule's id cannot be the keyword 'and'");
	parse_fails("rule score pass when true", PARLEY_ERR_INVALID,
		    "r.rules:1:6: a rule's id cannot be 'score' (the name of a threshold's reason)");
	/* columns count characters, not bytes */
	parse_fails("# é\nrule a pass when \"é\" = \"é\" é", PARLEY_ERR_INVALID,
		    "r.rules:2:28: unexpected character (byte 0xc3)");
	parse_fails("rule a pass when \"\xff\"", PARLEY_ERR_INVALID, "r.rules:1:19: not UTF-8 text");
	struct rules *r = NULL;
	struct parley_error err = {0};
	assert_int_equal(rules_parse("rule a pass\0", 12, "n", NULL, &r, &err), PARLEY_ERR_INVALID);
	assert_string_equal(err.msg, "n:1:12: a NUL byte in the text");
	/* empty documents and ones of comments parse to no rules */
	r = parse_ok("  # nothing\n");
	assert_int_equal(rules_count(r), 0);
	rules_free(r);
	assert_int_equal(rules_parse(NULL, 0, NULL, NULL, &r, &err), PARLEY_OK);
	rules_free(r);
}

static void test_bounds(void **state)
{
	(void)state;
	struct rules *r = NULL;
	struct parley_error err = {0};
	size_t big = RULES_TEXT_MAX + 1;
	char *s = malloc(big + 64);
	assert_non_null(s);
	memset(s, ' ', big);
	assert_int_equal(rules_parse(s, big, "r", NULL, &r, &err), PARLEY_ERR_TOO_LARGE);
	/* nesting: 32 parentheses deep is fine, 33 is not; likewise not */
	for (int depth = RULES_DEPTH_MAX; depth <= RULES_DEPTH_MAX + 1; depth++) {
		size_t k = (size_t)snprintf(s, 64, "rule a pass when ");
		for (int i = 0; i < depth; i++)
			s[k++] = '(';
		s[k++] = '1';
		for (int i = 0; i < depth; i++)
			s[k++] = ')';
		enum parley_err rc = rules_parse(s, k, "r", NULL, &r, &err);
		assert_int_equal(rc, depth == RULES_DEPTH_MAX ? PARLEY_OK : PARLEY_ERR_TOO_LARGE);
		if (rc)
			assert_string_equal(err.msg, "r:1:50: conditions nested more than 32 deep");
		rules_free(r);
		k = (size_t)snprintf(s, 64, "rule a pass when ");
		for (int i = 0; i < depth; i++)
			k += (size_t)snprintf(s + k, 8, "not ");
		k += (size_t)snprintf(s + k, 8, "true");
		rc = rules_parse(s, k, "r", NULL, &r, &err);
		assert_int_equal(rc, depth == RULES_DEPTH_MAX ? PARLEY_OK : PARLEY_ERR_TOO_LARGE);
		rules_free(r);
	}
	/* a 52 000-term or chain costs no depth but hits the node bound */
	size_t k = (size_t)snprintf(s, 64, "rule a pass when 1");
	while (k + 10 < big)
		k += (size_t)snprintf(s + k, 16, " or 1");
	assert_int_equal(rules_parse(s, k, "r", NULL, &r, &err), PARLEY_ERR_TOO_LARGE);
	assert_non_null(strstr(err.msg, "more than 50000 terms"));
	/* a chain under the bound evaluates (a loop: no depth) */
	k = (size_t)snprintf(s, 64, "rule a pass when 0");
	for (int i = 0; i < 40000; i++)
		k += (size_t)snprintf(s + k, 16, " or 0");
	k += (size_t)snprintf(s + k, 16, " or 1");
	r = parse_ok(s);
	struct store_verdict v;
	assert_int_equal(rules_evaluate(r, NULL, &v, &err), PARLEY_OK);
	assert_true(v.score == 1);
	store_verdict_release(&v);
	rules_free(r);
	/* too many rules, long names, long strings, many phrases, long lists */
	k = 0;
	for (int i = 0; i <= RULES_MAX; i++)
		k += (size_t)snprintf(s + k, 64, "rule r%d pass when true\n", i);
	assert_int_equal(rules_parse(s, k, "r", NULL, &r, &err), PARLEY_ERR_TOO_LARGE);
	assert_non_null(strstr(err.msg, ":1001:6: more than 1000 rules"));
	k = (size_t)snprintf(s, 64, "rule ");
	memset(s + k, 'a', 64);
	k += 64;
	assert_int_equal(rules_parse(s, k, "r", NULL, &r, &err), PARLEY_ERR_TOO_LARGE);
	assert_string_equal(err.msg, "r:1:6: a name longer than 63 characters");
	k = (size_t)snprintf(s, 64, "rule a pass when meta.x = \"");
	memset(s + k, 'b', RULES_STRING_MAX + 1);
	k += RULES_STRING_MAX + 1;
	s[k++] = '"';
	assert_int_equal(rules_parse(s, k, "r", NULL, &r, &err), PARLEY_ERR_TOO_LARGE);
	k = (size_t)snprintf(s, 64, "rule a pass when said(agent, any(");
	for (int i = 0; i <= RULES_PHRASES_MAX; i++)
		k += (size_t)snprintf(s + k, 16, "%s\"w%d\"", i ? "," : "", i);
	k += (size_t)snprintf(s + k, 16, "))");
	assert_int_equal(rules_parse(s, k, "r", NULL, &r, &err), PARLEY_ERR_TOO_LARGE);
	assert_non_null(strstr(err.msg, "more than 32 phrases in one test"));
	k = (size_t)snprintf(s, 64, "rule a pass when meta.x in [");
	for (int i = 0; i <= RULES_LIST_MAX; i++)
		k += (size_t)snprintf(s + k, 16, "%s%d", i ? "," : "", i);
	s[k++] = ']';
	assert_int_equal(rules_parse(s, k, "r", NULL, &r, &err), PARLEY_ERR_TOO_LARGE);
	assert_non_null(strstr(err.msg, "more than 64 items in a list"));
	free(s);
}

/* The real matcher over hand-made words (audit/call_text.h, phrase.h). */
static void test_call_text_matcher(void **state)
{
	(void)state;
	static const struct {
		double at;
		int spk;
		const char *w;
	} said[] = {
		{1, 0, "Thank"}, {1.3, 0, "you"}, {1.6, 0, "for"}, {1.9, 0, "calling"},
		{5, 1, "I"}, {5.3, 1, "want"}, {5.6, 1, "to"}, {5.9, 1, "cancel"},
		{10, 0, "sorry"}, {20, 0, "sorry"}, {30, 0, "apologies"}, {40, 0, "sorry,"},
		{55, 1, "cancelled"},
	};
	size_t n = sizeof(said) / sizeof(said[0]);
	struct store_word w[16];
	memset(w, 0, sizeof(w));
	for (size_t i = 0; i < n; i++) {
		w[i].start = said[i].at;
		w[i].end = said[i].at + 0.25;
		w[i].speaker = said[i].spk;
		w[i].confidence = 1;
		snprintf(w[i].text, sizeof(w[i].text), "%s", said[i].w);
	}
	struct store_speaker_role roles[2] = {{0, "agent", 0, "channel"}, {1, "customer", 1, "channel"}};
	struct call_text ct;
	struct parley_error err = {0};
	assert_int_equal(call_text_build(w, n, roles, 2, NULL, 0, 0, 60, &ct, &err), PARLEY_OK);
	struct rules *r = parse_ok(
		"rule greet pass when said(agent, \"thank you for calling\", first 10s)\n"
		"rule late pass when said(agent, \"thank you for calling\", last 10s)\n"
		"rule sorry3 pass when count(agent, \"sorry\") = 3\n"
		"rule sorry_early pass when count(agent, \"sorry\", first 25s) = 2\n"
		"rule cancels pass when count(customer, \"cancel\") = 2\n"
		"rule agent_cancel pass when said(agent, \"cancel\")\n"
		"rule both pass when said(anyone, all(\"sorry\", \"cancel\"))\n"
		"rule both_agent pass when count(agent, all(\"sorry\", \"cancel\")) = 0\n"
		"rule apolog pass when said(agent, any(\"apology\", \"pardon\"), last 50%)\n");
	struct rules_input in = {.phrase = rules_phrase_call_text, .phrase_ud = &ct};
	struct store_verdict v;
	assert_int_equal(rules_evaluate(r, &in, &v, &err), PARLEY_OK);
	json_t *j = json_loads(v.reasons, 0, NULL);
	const char *want[] = {"pass", "missed", "pass", "pass", "pass", "missed", "pass", "pass", "pass"};
	assert_int_equal(json_array_size(j), 9);
	for (size_t i = 0; i < 9; i++) {
		json_t *o = json_array_get(j, i);
		if (strcmp(json_string_value(json_object_get(o, "verdict")), want[i]))
			fprintf(stderr, "rule %s: %s\n", rules_id(r, i), json_dumps(o, 0));
		assert_string_equal(json_string_value(json_object_get(o, "verdict")), want[i]);
	}
	json_t *ev = json_array_get(json_object_get(json_array_get(j, 0), "evidence"), 0);
	assert_string_equal(json_string_value(json_object_get(ev, "text")), "Thank you for calling");
	assert_true(json_number_value(json_object_get(ev, "start")) == 1);
	assert_true(json_number_value(json_object_get(ev, "count")) == 1);
	json_decref(j);
	store_verdict_release(&v);
	rules_free(r);
	call_text_release(&ct);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comparisons),
		cmocka_unit_test(test_na_logic),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_phrases),
		cmocka_unit_test(test_verdicts_and_reasons),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_accessors_and_questions),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_call_text_matcher),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
