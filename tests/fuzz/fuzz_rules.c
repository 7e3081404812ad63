/*
 * fuzz_rules.c — libFuzzer target for rules_parse() and rules_evaluate()
 * (the rule language of audit/rules.h, from outside: batch creation and
 * reaudit). Checks the contract: failure gives INVALID, TOO_LARGE or NOMEM
 * with a message "fuzz:LINE:COL: …" and no rules; success gives rules whose
 * ids are unique and non-empty, and an evaluation over a fixed call (answers,
 * metrics, metadata, a phrase matcher and a judge that answer from the
 * test's text) that returns pass, fail or flag, 0 <= score <= max_score,
 * auto_fail only with fail, and reasons that are a JSON array of objects
 * naming a rule. The first byte chooses whether question ids are checked.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum parley_err phrase(void *ud, const struct rules_phrase_test *t,
			      struct rules_phrase_hit *hit, struct parley_error *err)
{
	(void)ud;
	(void)err;
	if (!t->role[0] || t->nphrases == 0 || t->nphrases > RULES_PHRASES_MAX)
		__builtin_trap();
	for (size_t i = 0; i < t->nphrases; i++)
		hit->count += (int)(strlen(t->phrases[i]) % 3);
	hit->start = 1;
	hit->end = 2;
	memset(hit->text, 'w', sizeof(hit->text)); /* not terminated: the evaluator must cut */
	return PARLEY_OK;
}

static enum parley_err judge(void *ud, const char *criterion, int *verdict, char *why,
			     size_t size, struct parley_error *err)
{
	(void)ud;
	(void)err;
	*verdict = (int)(strlen(criterion) % 3) - 1;
	memset(why, 'y', size); /* not terminated either */
	return PARLEY_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ids[] = {"greeted", "q1", "issues"};
	struct rules_known known = {.question_ids = ids, .nquestions = 3,
				    .check_questions = size > 0 && (data[0] & 1)};
	struct rules *r = NULL;
	struct parley_error err = {0};
	enum parley_err rc = rules_parse((const char *)data, size, "fuzz", &known, &r, &err);
	if (rc != PARLEY_OK) {
		if (rc != PARLEY_ERR_INVALID && rc != PARLEY_ERR_TOO_LARGE && rc != PARLEY_ERR_NOMEM)
			__builtin_trap();
		if (err.code != rc || strncmp(err.msg, "fuzz:", 5) != 0 || r)
			__builtin_trap();
		return 0;
	}
	for (size_t i = 0; i < rules_count(r); i++) {
		if (!rules_id(r, i)[0] || strlen(rules_id(r, i)) >= RULES_ID_MAX)
			__builtin_trap();
		for (size_t k = 0; k < i; k++)
			if (strcmp(rules_id(r, i), rules_id(r, k)) == 0)
				__builtin_trap();
		if (!(rules_weight(r, i) >= 0))
			__builtin_trap();
	}
	struct store_answer a[3];
	memset(a, 0, sizeof(a));
	const char *vals[] = {"\"yes\"", "12", "[\"billing\",\"card\"]"};
	for (int i = 0; i < 3; i++) {
		snprintf(a[i].question, sizeof(a[i].question), "%s", ids[i]);
		snprintf(a[i].answer, sizeof(a[i].answer), "%s", vals[i]);
		snprintf(a[i].source, sizeof(a[i].source), "%s", i == 1 ? "skipped" : "llm");
		a[i].score = i;
		a[i].max_score = 2;
		a[i].weight = 1 + i;
		a[i].valid = i != 2;
		a[i].auto_fail = i == 0 && size % 2;
	}
	struct store_call_metric m[] = {{"call", "silence_max", 12}, {"agent", "talk_share", 0.5}};
	struct rules_input in = {.answers = a, .nanswers = 3, .metrics = m, .nmetrics = 2,
				 .metadata = "{\"segment\":\"vip\",\"amount\":\"10\"}",
				 .phrase = phrase, .judge = judge};
	struct store_verdict v;
	rc = rules_evaluate(r, &in, &v, &err);
	if (rc == PARLEY_OK) {
		if (strcmp(v.verdict, "pass") && strcmp(v.verdict, "fail") && strcmp(v.verdict, "flag"))
			__builtin_trap();
		if (!(v.score >= 0 && v.score <= v.max_score + 1e-6) || !isfinite(v.max_score))
			__builtin_trap();
		if (v.auto_fail && strcmp(v.verdict, "fail"))
			__builtin_trap();
		json_t *j = json_loads(v.reasons, 0, NULL);
		if (!json_is_array(j))
			__builtin_trap();
		size_t i;
		json_t *o;
		json_array_foreach(j, i, o) {
			if (!json_is_string(json_object_get(o, "rule")) ||
			    !json_is_string(json_object_get(o, "why")))
				__builtin_trap();
		}
		json_decref(j);
		store_verdict_release(&v);
	} else if (rc != PARLEY_ERR_TOO_LARGE && rc != PARLEY_ERR_NOMEM) {
		__builtin_trap();
	}
	rules_free(r);
	return 0;
}
