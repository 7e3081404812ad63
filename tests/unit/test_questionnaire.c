/* test_questionnaire.c — the audit questionnaire (audit/questionnaire.h):
 * every type, defaults, scores, conditions, windows, metrics; errors with
 * NAME:LINE:COL and the path; and the answerers (audit/answer.h): phrases,
 * metrics, conditions, N/A, no LLM configured, the LLM's schema and prompt,
 * the normaliser ("Yes.", "YES", "y" → yes; choices; numbers) and replies
 * from servers that ignore the schema. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/answer.h"
#include "audit/call_text.h"
#include "audit/questionnaire.h"
#include "util/jschema.h"

static struct questionnaire *parse_ok(const char *text)
{
	struct questionnaire *q = NULL;
	struct parley_error err = {0};
	enum parley_err rc = questionnaire_parse(text, strlen(text), "q.json", &q, &err);
	if (rc)
		fprintf(stderr, "unexpected failure: %s\n", err.msg);
	assert_int_equal(rc, PARLEY_OK);
	assert_non_null(q);
	return q;
}

/* Parsing fails with code and exactly the message msg. */
static void parse_fails(const char *text, enum parley_err code, const char *msg)
{
	struct questionnaire *q = NULL;
	struct parley_error err = {0};
	assert_int_equal(questionnaire_parse(text, strlen(text), "q.json", &q, &err), code);
	assert_null(q);
	if (strcmp(err.msg, msg) != 0)
		fprintf(stderr, "got:  %s\nwant: %s\n", err.msg, msg);
	assert_string_equal(err.msg, msg);
}

static const char form[] =
	"{\"version\": 3, \"name\": \"QA\",\n"
	" \"questions\": [\n"
	"  {\"id\": \"greet\", \"type\": \"yes_no\", \"text\": \"Greeted?\", \"role\": \"agent\",\n"
	"   \"window\": {\"first\": 30}, \"weight\": 2,\n"
	"   \"phrases\": {\"any\": [\"thank you for calling\", \"hello\"], \"not\": [\"goodbye\"]}},\n"
	"  {\"id\": \"rude\", \"type\": \"yes_no\", \"text\": \"Rude?\",\n"
	"   \"choices\": [{\"id\": \"yes\", \"score\": 0}, {\"id\": \"no\", \"score\": 1}],\n"
	"   \"auto_fail\": [\"yes\"], \"phrases\": {\"all\": [\"stupid\"]}},\n"
	"  {\"id\": \"topic\", \"type\": \"single_choice\", \"text\": \"Topic?\", \"na_allowed\": true,\n"
	"   \"choices\": [{\"id\": \"refund\", \"text\": \"A refund\", \"score\": 2,\n"
	"                  \"phrases\": {\"any\": [\"refund*\"]}},\n"
	"                 {\"id\": \"other\", \"text\": \"Something else\", \"score\": 1}]},\n"
	"  {\"id\": \"asks\", \"type\": \"multiple_choice\", \"text\": \"Asked for?\",\n"
	"   \"choices\": [{\"id\": \"name\", \"score\": 1, \"phrases\": {\"any\": [\"your name\"]}},\n"
	"                 {\"id\": \"account\", \"score\": 1, \"phrases\": {\"any\": [\"account number\"]}}]},\n"
	"  {\"id\": \"silent\", \"type\": \"yes_no\", \"text\": \"Silence over 30 s?\",\n"
	"   \"metric\": {\"metric\": \"longest_silence\", \"op\": \">\", \"value\": 30},\n"
	"   \"choices\": [{\"id\": \"yes\", \"score\": 0}, {\"id\": \"no\", \"score\": 1}]},\n"
	"  {\"id\": \"share\", \"type\": \"number\", \"text\": \"Agent share?\", \"role\": \"agent\",\n"
	"   \"metric\": {\"metric\": \"talk_share\"},\n"
	"   \"ranges\": [{\"min\": 0, \"max\": 0.7, \"score\": 1}, {\"min\": 0.9, \"auto_fail\": true}]},\n"
	"  {\"id\": \"fixed\", \"type\": \"yes_no\", \"text\": \"Refund done?\",\n"
	"   \"condition\": {\"question\": \"topic\", \"equals\": \"refund\"}},\n"
	"  {\"id\": \"sum\", \"type\": \"text\", \"text\": \"Summary\", \"window\": {\"last\": \"50%\"},\n"
	"   \"instructions\": \"One sentence.\"}\n"
	" ]}\n";

static void test_parse(void **state)
{
	(void)state;
	struct questionnaire *q = parse_ok(form);
	assert_string_equal(q->version, "3");
	assert_string_equal(q->name, "QA");
	assert_int_equal(q->n, 8);
	const struct qn_question *g = &q->q[0];
	assert_string_equal(g->id, "greet");
	assert_int_equal(g->type, QN_YES_NO);
	assert_int_equal(g->how, QN_BY_PHRASES);
	assert_int_equal(g->nchoices, 2); /* default yes (1) / no (0) */
	assert_true(g->choices[0].score == 1 && g->choices[1].score == 0);
	assert_true(g->max_score == 1 && g->weight == 2);
	assert_string_equal(g->role, "agent");
	assert_int_equal(g->window.kind, CALL_WINDOW_FIRST);
	assert_true(g->window.amount == 30 && !g->window.percent);
	assert_int_equal(g->phrases.nany, 2);
	assert_int_equal(g->phrases.nnone, 1);
	assert_true(g->phrases.stem);
	assert_int_equal(g->line, 3);
	const struct qn_question *r = questionnaire_find(q, "rude");
	assert_true(qn_choice_find(r, "yes")->auto_fail);
	assert_false(qn_choice_find(r, "no")->auto_fail);
	assert_string_equal(qn_choice_find(r, "no")->text, "No");
	const struct qn_question *t = questionnaire_find(q, "topic");
	assert_int_equal(t->how, QN_BY_PHRASES);
	assert_true(t->max_score == 2 && t->na_allowed);
	assert_string_equal(t->choices[0].text, "A refund");
	assert_true(questionnaire_find(q, "asks")->max_score == 2);
	const struct qn_question *s = questionnaire_find(q, "silent");
	assert_int_equal(s->how, QN_BY_METRIC);
	assert_string_equal(s->metric.name, "silence_max"); /* the alias resolved */
	assert_string_equal(s->metric.scope, "call");
	assert_int_equal(s->metric.op, QN_OP_GT);
	const struct qn_question *sh = questionnaire_find(q, "share");
	assert_string_equal(sh->metric.scope, "agent"); /* the question's role */
	assert_int_equal(sh->metric.op, QN_OP_NONE);
	assert_int_equal(sh->nranges, 2);
	assert_true(sh->ranges[1].max >= 1e12 && sh->ranges[1].auto_fail);
	const struct qn_question *f = questionnaire_find(q, "fixed");
	assert_int_equal(f->how, QN_BY_LLM);
	assert_int_equal(f->condition.kind, QN_COND_EQUALS);
	assert_int_equal(f->condition.question, 2);
	const struct qn_question *x = questionnaire_find(q, "sum");
	assert_int_equal(x->type, QN_TEXT);
	assert_true(x->window.kind == CALL_WINDOW_LAST && x->window.percent && x->window.amount == 50);
	assert_string_equal(x->instructions, "One sentence.");
	assert_true(x->max_score == 0);
	assert_null(questionnaire_find(q, "nope"));
	questionnaire_free(q);

	q = parse_ok("\xEF\xBB\xBF{\"version\": \"v2.1\", \"questions\": [{\"id\": \"a\", \"text\": \"t\", "
		     "\"type\": \"number\", \"na_allowed\": true}]}");
	assert_string_equal(q->version, "v2.1");
	assert_int_equal(q->q[0].how, QN_BY_LLM);
	questionnaire_free(q);
	assert_true(qn_op_holds(QN_OP_GE, 3, 3) && !qn_op_holds(QN_OP_GT, 3, 3) &&
		    qn_op_holds(QN_OP_NE, 1, 2) && !qn_op_holds(QN_OP_NONE, 1, 1));
}

static void test_errors(void **state)
{
	(void)state;
	parse_fails("{\"version\": 1, \"questions\": [}", PARLEY_ERR_INVALID,
		    "q.json:1:30: unexpected token near '}'");
	parse_fails("[]", PARLEY_ERR_INVALID,
		    "q.json:1:1: wants a JSON object {\"version\": …, \"questions\": […]}");
	parse_fails("{\"questions\": []}", PARLEY_ERR_INVALID,
		    "q.json:1:1: \"version\" is missing (the questionnaire's revision: an integer or a label)");
	parse_fails("{\"version\": 0, \"questions\": []}", PARLEY_ERR_INVALID,
		    "q.json:1:13: version: wants an integer >= 1 or a label of 1-63 of A-Z a-z 0-9 _ . -");
	parse_fails("{\"version\": 1,\n \"questions\": []}", PARLEY_ERR_INVALID,
		    "q.json:2:15: questions: wants at least one question");
	parse_fails("{\"version\": 1, \"title\": \"x\", \"questions\": []}", PARLEY_ERR_INVALID,
		    "q.json:1:16: title: unknown key \"title\" (known: version, name, description, "
		    "questions)");
	/* a question's key, value and missing key, with line and column */
	parse_fails("{\"version\": 1, \"questions\": [\n"
		    "  {\"id\": \"a\", \"text\": \"t\", \"type\": \"yes_no\",\n"
		    "   \"wieght\": 2}]}",
		    PARLEY_ERR_INVALID,
		    "q.json:3:4: questions[0].wieght: unknown key \"wieght\" (known: id, text, "
		    "abbreviation, instructions, type, choices, na_allowed, weight, auto_fail, ranges, "
		    "condition, role, window, phrases, metric)");
	parse_fails("{\"version\": 1, \"questions\": [\n"
		    "  {\"id\": \"a\", \"text\": \"t\", \"type\": \"yes_no\", \"weight\": -1}]}",
		    PARLEY_ERR_INVALID, "q.json:2:56: questions[0].weight: -1 is outside 0..1000");
	parse_fails("{\"version\": 1, \"questions\": [\n"
		    "  {\"id\": \"a\", \"type\": \"yes_no\"}]}",
		    PARLEY_ERR_INVALID, "q.json:2:3: questions[0]: \"text\" is missing");
	parse_fails("{\"version\": 1, \"questions\": [{\"id\": \"a b\", \"text\": \"t\", \"type\": \"x\"}]}",
		    PARLEY_ERR_INVALID,
		    "q.json:1:37: questions[0].id: \"a b\" is not an id (1-63 of A-Z a-z 0-9 _ . -)");
	parse_fails("{\"version\": 1, \"questions\": [{\"id\": \"a\", \"text\": \"t\", \"type\": \"x\"}]}",
		    PARLEY_ERR_INVALID,
		    "q.json:1:63: questions[0].type: \"x\" is not one of yes_no, single_choice, "
		    "multiple_choice, number, text");
	parse_fails("{\"version\": 1, \"questions\": [{\"id\": \"a\", \"text\": \"t\", \"type\": \"text\"},\n"
		    "{\"id\": \"a\", \"text\": \"t\", \"type\": \"text\"}]}",
		    PARLEY_ERR_INVALID,
		    "q.json:2:8: questions[1].id: question \"a\" is there twice (also questions[0])");
	/* choices */
	parse_fails("{\"version\": 1, \"questions\": [{\"id\": \"a\", \"text\": \"t\", \"type\": "
		    "\"single_choice\", \"choices\": [{\"id\": \"x\"}]}]}",
		    PARLEY_ERR_INVALID, "q.json:1:91: questions[0].choices: wants at least 2 choices");
	parse_fails("{\"version\": 1, \"questions\": [{\"id\": \"a\", \"text\": \"t\", \"type\": "
		    "\"single_choice\", \"choices\": [{\"id\": \"x\"}, {\"id\": \"x\"}]}]}",
		    PARLEY_ERR_INVALID,
		    "q.json:1:112: questions[0].choices[1].id: choice \"x\" is there twice");
	parse_fails("{\"version\": 1, \"questions\": [{\"id\": \"a\", \"text\": \"t\", \"type\": "
		    "\"yes_no\", \"choices\": [{\"id\": \"no\"}, {\"id\": \"yes\"}]}]}",
		    PARLEY_ERR_INVALID,
		    "q.json:1:92: questions[0].choices[0].id: yes comes first, then no");
	parse_fails("{\"version\": 1, \"questions\": [{\"id\": \"a\", \"text\": \"t\", \"type\": "
		    "\"number\", \"choices\": []}]}",
		    PARLEY_ERR_INVALID,
		    "q.json:1:73: questions[0].choices: a number question has no choices");
	parse_fails("{\"version\": 1, \"questions\": [{\"id\": \"a\", \"text\": \"t\", \"type\": "
		    "\"yes_no\", \"auto_fail\": [\"maybe\"]}]}",
		    PARLEY_ERR_INVALID,
		    "q.json:1:87: questions[0].auto_fail[0]: is not a choice of question \"a\"");
	/* conditions: an earlier choice question, its choices */
	parse_fails("{\"version\": 1, \"questions\": [{\"id\": \"a\", \"text\": \"t\", \"type\": "
		    "\"yes_no\", \"condition\": {\"question\": \"a\", \"equals\": \"yes\"}}]}",
		    PARLEY_ERR_INVALID,
		    "q.json:1:99: questions[0].condition.question: \"a\" is not an earlier question");
	parse_fails("{\"version\": 1, \"questions\": [{\"id\": \"a\", \"text\": \"t\", \"type\": \"yes_no\"},"
		    "{\"id\": \"b\", \"text\": \"t\", \"type\": \"text\", \"condition\": "
		    "{\"question\": \"a\", \"equals\": \"maybe\"}}]}",
		    PARLEY_ERR_INVALID,
		    "q.json:1:155: questions[1].condition.equals: \"maybe\" is not a choice of question \"a\"");
	/* windows, metrics, phrases */
	parse_fails("{\"version\": 1, \"questions\": [{\"id\": \"a\", \"text\": \"t\", \"type\": "
		    "\"text\", \"window\": {\"first\": \"120%\"}}]}",
		    PARLEY_ERR_INVALID,
		    "q.json:1:91: questions[0].window.first: \"120%\" is not a percentage in (0%, 100%]");
	parse_fails("{\"version\": 1, \"questions\": [{\"id\": \"a\", \"text\": \"t\", \"type\": "
		    "\"yes_no\", \"metric\": {\"metric\": \"talk_share\"}}]}",
		    PARLEY_ERR_INVALID,
		    "q.json:1:83: questions[0].metric: a yes_no question's metric wants \"op\" and \"value\"");
	parse_fails("{\"version\": 1, \"questions\": [{\"id\": \"a\", \"text\": \"t\", \"type\": "
		    "\"number\", \"metric\": {\"metric\": \"loudness\"}}]}",
		    PARLEY_ERR_INVALID,
		    "q.json:1:94: questions[0].metric.metric: unknown metric \"loudness\" (known: "
		    "talk_time, talk_share, silence_max (longest_silence), silence_count, "
		    "overlap_time, interruption_count, hold_time, … README \"Call metrics\")");
	parse_fails("{\"version\": 1, \"questions\": [{\"id\": \"a\", \"text\": \"t\", \"type\": "
		    "\"yes_no\", \"phrases\": {\"any\": [\"!!\"]}}]}",
		    PARLEY_ERR_INVALID,
		    "q.json:1:93: questions[0].phrases.any[0]: the phrase \"!!\" has no words");
	parse_fails("{\"version\": 1, \"questions\": [{\"id\": \"a\", \"text\": \"t\", \"type\": "
		    "\"text\", \"phrases\": {\"any\": [\"x\"]}}]}",
		    PARLEY_ERR_INVALID,
		    "q.json:1:71: questions[0].phrases: phrases answer yes_no and choice questions only");
	parse_fails("{\"version\": 1, \"questions\": [{\"id\": \"a\", \"text\": \"t\", \"type\": "
		    "\"single_choice\", \"choices\": [{\"id\": \"x\", \"phrases\": {\"any\": [\"a\"]}}, "
		    "{\"id\": \"y\", \"phrases\": {\"any\": [\"b\"]}}]}]}",
		    PARLEY_ERR_INVALID,
		    "q.json:1:91: questions[0].choices: a single_choice question answered by phrases "
		    "wants exactly one choice without phrases (the answer when no other matches); it has 0");
	/* bounds */
	char *big = malloc(QN_DOC_MAX + 2);
	memset(big, ' ', QN_DOC_MAX + 1);
	big[QN_DOC_MAX + 1] = '\0';
	parse_fails(big, PARLEY_ERR_TOO_LARGE, "q.json: larger than 262144 bytes");
	free(big);
}

/* ------------------------------------------------------------- answers */

static const struct store_word words[] = {
	{1.0, 1.4, 0.9f, 0, "Thank", false},    {1.4, 1.7, 0.9f, 0, "you", false},
	{1.7, 2.0, 0.9f, 0, "for", false},      {2.0, 2.5, 0.9f, 0, "calling", false},
	{3.0, 3.5, 0.9f, 1, "I", false},        {3.5, 4.0, 0.9f, 1, "want", false},
	{4.0, 4.5, 0.9f, 1, "a", false},        {4.5, 5.0, 0.9f, 1, "refund", false},
	{6.0, 6.5, 0.9f, 0, "your", false},     {6.5, 7.0, 0.9f, 0, "name", false},
	{50.0, 50.5, 0.9f, 0, "goodbye", false},
};
static const struct store_speaker_role roles[] = {{0, "agent", 0, "channel"},
						  {1, "customer", 1, "channel"}};
static const struct store_call_metric metrics[] = {
	{"call", "silence_max", 42.5},
	{"agent", "talk_share", 0.95},
};

static void test_answers(void **state)
{
	(void)state;
	struct questionnaire *q = parse_ok(form);
	struct call_text t;
	struct parley_error err = {0};
	assert_int_equal(call_text_build(words, sizeof(words) / sizeof(words[0]), roles, 2, NULL, 0, 0,
					 60, &t, &err),
			 PARLEY_OK);
	struct answer_input in = {.q = q, .text = &t, .metrics = metrics, .nmetrics = 2};
	struct store_answer *a = NULL;
	assert_int_equal(answers_compute(&in, &a, &err), PARLEY_OK);
	/* greet: "thank you for calling" by the agent in the first 30 s; "goodbye" at 50 s is outside */
	assert_string_equal(a[0].question, "greet");
	assert_string_equal(a[0].answer, "\"yes\"");
	assert_string_equal(a[0].source, "phrase");
	assert_true(a[0].score == 1 && a[0].max_score == 1 && a[0].weight == 2);
	assert_true(a[0].valid && !a[0].na && !a[0].auto_fail);
	assert_string_equal(a[0].evidence, "[{\"text\":\"Thank you for calling\",\"start\":1.0,"
					   "\"end\":2.5,\"role\":\"agent\",\"phrase\":\"thank you for "
					   "calling\",\"negated\":false}]");
	/* rude: no; the no choice scores 1 */
	assert_string_equal(a[1].answer, "\"no\"");
	assert_true(a[1].score == 1 && !a[1].auto_fail);
	/* topic: refund by its phrase "refund*" */
	assert_string_equal(a[2].answer, "\"refund\"");
	assert_true(a[2].score == 2 && a[2].max_score == 2);
	assert_non_null(strstr(a[2].evidence, "\"text\":\"refund\",\"start\":4.5"));
	/* asks: name only */
	assert_string_equal(a[3].answer, "[\"name\"]");
	assert_true(a[3].score == 1 && a[3].max_score == 2);
	/* silent: 42.5 > 30 → yes, scoring 0; evidence the metric */
	assert_string_equal(a[4].answer, "\"yes\"");
	assert_string_equal(a[4].source, "metric");
	assert_true(a[4].score == 0 && a[4].max_score == 1);
	assert_string_equal(a[4].evidence, "[{\"metric\":\"silence_max\",\"scope\":\"call\",\"value\":42.5}]");
	/* share: 0.95 → the auto_fail range */
	assert_string_equal(a[5].answer, "0.94999999999999996");
	assert_true(a[5].auto_fail && a[5].score == 0 && a[5].max_score == 1);
	/* fixed: its condition holds (topic = refund), the LLM is not configured → invalid */
	assert_string_equal(a[6].source, "llm");
	assert_false(a[6].valid);
	assert_string_equal(a[6].error, "no LLM engine is configured (llm.engine)");
	assert_string_equal(a[6].answer, "null");
	assert_true(a[6].score == 0 && a[6].max_score == 1);
	assert_string_equal(a[7].source, "llm");
	assert_false(a[7].valid);
	answers_free(a, q->n);

	/* the condition false → skipped (N/A, 0 of 0); a metric not measured → invalid */
	const struct store_word calm[] = {{1.0, 1.5, 0.9f, 1, "hello", false}};
	call_text_release(&t);
	assert_int_equal(call_text_build(calm, 1, roles, 2, NULL, 0, 0, 60, &t, &err), PARLEY_OK);
	in.nmetrics = 0;
	assert_int_equal(answers_compute(&in, &a, &err), PARLEY_OK);
	assert_string_equal(a[0].answer, "\"no\""); /* the customer's hello is not the agent's */
	assert_string_equal(a[0].evidence, "[]");
	assert_string_equal(a[2].answer, "\"other\""); /* the choice without phrases */
	assert_string_equal(a[3].answer, "[]");
	assert_false(a[4].valid);
	assert_string_equal(a[4].error, "metric silence_max of call was not measured (is the metrics "
					"stage in the pipeline?)");
	assert_string_equal(a[6].source, "skipped");
	assert_true(a[6].na && a[6].valid && a[6].score == 0 && a[6].max_score == 0);
	answers_free(a, q->n);
	/* N/A allowed and no words of the question's role → N/A */
	call_text_release(&t);
	assert_int_equal(call_text_build(NULL, 0, roles, 2, NULL, 0, 0, 60, &t, &err), PARLEY_OK);
	assert_int_equal(answers_compute(&in, &a, &err), PARLEY_OK);
	assert_true(a[2].na && a[2].max_score == 0);
	assert_string_equal(a[2].answer, "null");
	answers_free(a, q->n);
	call_text_release(&t);
	questionnaire_free(q);
}

/* Normalise value (JSON text) for question i of the form: want the answer's
 * JSON text, "N/A", or NULL for a refusal. */
static void norm(const struct questionnaire *q, size_t i, const char *value, const char *want)
{
	json_error_t je;
	json_t *v = json_loads(value, JSON_DECODE_ANY, &je);
	assert_non_null(v);
	json_t *ans = NULL;
	bool na = false;
	char why[256] = "";
	bool ok = answer_normalise(&q->q[i], v, &ans, &na, why, sizeof(why));
	char *got = ans ? json_dumps(ans, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	const char *g = !ok ? NULL : na ? "N/A" : got;
	if (!want || !g || strcmp(want, g) != 0)
		if ((want != NULL) != (g != NULL) || (want && strcmp(want, g) != 0))
			fprintf(stderr, "%s: %s → %s (%s), want %s\n", q->q[i].id, value, g ? g : "refused",
				why, want ? want : "refused");
	if (want) {
		assert_non_null(g);
		assert_string_equal(g, want);
	} else {
		assert_null(g);
		assert_true(why[0] != '\0');
	}
	free(got);
	json_decref(ans);
	json_decref(v);
}

static void test_normalise(void **state)
{
	(void)state;
	struct questionnaire *q = parse_ok(form);
	/* yes_no (greet: no N/A) */
	norm(q, 0, "\"Yes.\"", "\"yes\"");
	norm(q, 0, "\"YES\"", "\"yes\"");
	norm(q, 0, "\"y\"", "\"yes\"");
	norm(q, 0, "true", "\"yes\"");
	norm(q, 0, "\"Yes, the agent greeted the customer.\"", "\"yes\"");
	norm(q, 0, "\" no \"", "\"no\"");
	norm(q, 0, "\"No!\"", "\"no\"");
	norm(q, 0, "false", "\"no\"");
	norm(q, 0, "\"maybe\"", NULL);
	norm(q, 0, "\"n/a\"", NULL); /* N/A is not allowed */
	norm(q, 0, "null", NULL);
	norm(q, 0, "12", NULL);
	/* single_choice (topic: N/A allowed): id, text, a reply starting with one */
	norm(q, 2, "\"refund\"", "\"refund\"");
	norm(q, 2, "\"REFUND\"", "\"refund\"");
	norm(q, 2, "\"A refund.\"", "\"refund\"");
	norm(q, 2, "\"something else\"", "\"other\"");
	norm(q, 2, "\"Other: the customer asks about a card\"", "\"other\"");
	norm(q, 2, "\"N/A\"", "N/A");
	norm(q, 2, "\"Not applicable\"", "N/A");
	norm(q, 2, "null", "N/A");
	norm(q, 2, "\"billing\"", NULL);
	/* multiple_choice */
	norm(q, 3, "[\"name\", \"ACCOUNT\"]", "[\"name\",\"account\"]");
	norm(q, 3, "\"name, account\"", "[\"name\",\"account\"]");
	norm(q, 3, "[\"name\", \"name\"]", "[\"name\"]");
	norm(q, 3, "[]", "[]");
	norm(q, 3, "\"none\"", "[]");
	norm(q, 3, "[\"email\"]", NULL);
	/* number */
	norm(q, 5, "0.5", "0.5");
	norm(q, 5, "\"about 12 seconds\"", "12.0");
	norm(q, 5, "\"-3.5\"", "-3.5");
	norm(q, 5, "\"many\"", NULL);
	/* text */
	norm(q, 7, "\"  The customer wanted a refund. \"", "\"The customer wanted a refund.\"");
	norm(q, 7, "\"   \"", NULL);
	norm(q, 7, "7", NULL);
	questionnaire_free(q);
}

static void test_llm_parts(void **state)
{
	(void)state;
	struct questionnaire *q = parse_ok(form);
	struct parley_error err = {0};
	/* every schema is in the validator's subset, and the answer it asks for validates */
	for (size_t i = 0; i < q->n; i++) {
		json_t *s = answer_schema(&q->q[i]);
		assert_non_null(s);
		assert_int_equal(jschema_check(s, &err), PARLEY_OK);
		json_decref(s);
	}
	json_t *s = answer_schema(&q->q[2]); /* single_choice with N/A */
	json_t *good = json_pack("{s:s, s:s}", "answer", "n/a", "quote", "");
	json_t *bad = json_pack("{s:s, s:s}", "answer", "billing", "quote", "");
	assert_int_equal(jschema_validate(s, good, &err), PARLEY_OK);
	assert_int_equal(jschema_validate(s, bad, &err), PARLEY_ERR_INVALID);
	json_decref(good);
	json_decref(bad);
	json_decref(s);

	/* the prompt: question, instructions, choices, the role's and window's transcript */
	struct call_text t;
	assert_int_equal(call_text_build(words, sizeof(words) / sizeof(words[0]), roles, 2, NULL, 0, 0,
					 60, &t, &err),
			 PARLEY_OK);
	char *p = NULL;
	assert_int_equal(answer_prompt(&q->q[2], &t, &p, &err), PARLEY_OK);
	assert_string_equal(p, "Question: Topic?\n"
			       "Answer type: single_choice\n"
			       "Answer with one choice id:\n"
			       "- refund: A refund\n"
			       "- other: Something else\n"
			       "- n/a: the question does not apply to this call\n"
			       "Transcript (whole call):\n"
			       "[1.0-2.5] agent: Thank you for calling\n"
			       "[3.0-5.0] customer: I want a refund\n"
			       "[6.0-7.0] agent: your name\n"
			       "[50.0-50.5] agent: goodbye\n");
	free(p);
	assert_int_equal(answer_prompt(&q->q[7], &t, &p, &err), PARLEY_OK); /* last 50%: 30..60 s */
	assert_non_null(strstr(p, "Instructions: One sentence.\n"));
	assert_non_null(strstr(p, "Transcript (last 50%):\n[50.0-50.5] agent: goodbye\n"));
	free(p);
	assert_int_equal(answer_prompt(&q->q[0], &t, &p, &err), PARLEY_OK); /* agent, first 30 s */
	assert_non_null(strstr(p, "Transcript (first 30 s, words of the agent):\n"
				  "[1.0-2.5] agent: Thank you for calling\n[6.0-7.0] agent: your name\n"));
	free(p);
	call_text_release(&t);

	/* replies: a JSON object, a fenced one, a bare value, plain text */
	json_t *v, *quote;
	answer_reply_parse("{\"Answer\": \"Yes\", \"quote\": \"thank you\"}", &v, &quote);
	assert_string_equal(json_string_value(v), "Yes");
	assert_string_equal(json_string_value(quote), "thank you");
	json_decref(v);
	json_decref(quote);
	answer_reply_parse("```json\n{\"answer\": 3}\n```", &v, &quote);
	assert_true(json_is_integer(v) && json_integer_value(v) == 3);
	assert_null(quote);
	json_decref(v);
	answer_reply_parse("Yes.", &v, &quote);
	assert_string_equal(json_string_value(v), "Yes.");
	json_decref(v);
	answer_reply_parse("{\"note\": \"I ignored your schema\"}", &v, &quote);
	assert_null(v);
	assert_null(quote);
	questionnaire_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_llm_parts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
