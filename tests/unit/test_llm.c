/* test_llm.c — the JSON Schema subset (util/jschema.h) and llm_ask_many's
 * contract with an exec: engine: validate every reply, retry once with the
 * validation error, then record the answer as invalid; hashes and model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/llm.h"
#include "util/jschema.h"
#include "util/json_nomem.h"

static const char schema_text[] =
	"{\"type\":\"object\",\"properties\":{"
	"\"label\":{\"type\":\"string\",\"enum\":[\"yes\",\"no\"]},"
	"\"score\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":5},"
	"\"why\":{\"type\":\"string\",\"minLength\":2,\"maxLength\":5},"
	"\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"maxItems\":2},"
	"\"note\":{\"type\":[\"string\",\"null\"]}},"
	"\"required\":[\"label\",\"score\"],\"additionalProperties\":false}";

static json_t *load(const char *t)
{
	json_error_t je;
	json_t *j = json_loads(t, JSON_DECODE_ANY, &je);
	assert_non_null(j);
	return j;
}

static enum parley_err validate(const char *value, char *msg, size_t size)
{
	json_t *s = load(schema_text), *v = load(value);
	struct parley_error err = {0};
	enum parley_err rc = jschema_validate(s, v, &err);
	snprintf(msg, size, "%s", err.msg);
	json_decref(s);
	json_decref(v);
	return rc;
}

static void test_schema_subset(void **state)
{
	(void)state;
	char m[PARLEY_ERROR_MSG_MAX];
	assert_int_equal(validate("{\"label\":\"yes\",\"score\":3}", m, sizeof(m)), PARLEY_OK);
	assert_int_equal(validate("{\"label\":\"yes\",\"score\":3.0,\"why\":\"é!\",\"tags\":[\"a\"],"
				  "\"note\":null}", m, sizeof(m)), PARLEY_OK);
	assert_int_equal(validate("{\"label\":\"maybe\",\"score\":3}", m, sizeof(m)), PARLEY_ERR_INVALID);
	assert_string_equal(m, "$.label: not one of the allowed values");
	assert_int_equal(validate("{\"label\":\"no\",\"score\":7}", m, sizeof(m)), PARLEY_ERR_INVALID);
	assert_string_equal(m, "$.score: above the maximum 5");
	assert_int_equal(validate("{\"label\":\"no\",\"score\":2.5}", m, sizeof(m)), PARLEY_ERR_INVALID);
	assert_string_equal(m, "$.score: want integer, got a number");
	assert_int_equal(validate("{\"label\":\"no\"}", m, sizeof(m)), PARLEY_ERR_INVALID);
	assert_string_equal(m, "$: \"score\" is missing");
	assert_int_equal(validate("{\"label\":\"no\",\"score\":1,\"x\":1}", m, sizeof(m)), PARLEY_ERR_INVALID);
	assert_string_equal(m, "$: \"x\" is not allowed here");
	assert_int_equal(validate("{\"label\":\"no\",\"score\":1,\"why\":\"toolong\"}", m, sizeof(m)),
			 PARLEY_ERR_INVALID);
	assert_string_equal(m, "$.why: longer than 5 characters");
	assert_int_equal(validate("{\"label\":\"no\",\"score\":1,\"tags\":[\"a\",2]}", m, sizeof(m)),
			 PARLEY_ERR_INVALID);
	assert_string_equal(m, "$.tags[1]: want string, got an integer");
	assert_int_equal(validate("{\"label\":\"no\",\"score\":1,\"note\":3}", m, sizeof(m)),
			 PARLEY_ERR_INVALID);
	assert_int_equal(validate("[1]", m, sizeof(m)), PARLEY_ERR_INVALID);
	/* a schema parley cannot enforce is refused */
	struct parley_error err = {0};
	json_t *s = load("{\"type\":\"object\",\"patternProperties\":{}}");
	assert_int_equal(jschema_check(s, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "patternProperties"));
	json_decref(s);
	s = load(schema_text);
	assert_int_equal(jschema_check(s, &err), PARLEY_OK);
	json_decref(s);
	s = load("{\"type\":\"strnig\"}");
	assert_int_equal(jschema_check(s, &err), PARLEY_ERR_INVALID);
	json_decref(s);
}

static void test_reply_json(void **state)
{
	(void)state;
	json_t *j = llm_reply_json("```json\n{\"a\": 1}\n```", NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);
	json_decref(j);
	assert_null(llm_reply_json("Sure! Here it is: {\"a\": 1}", NULL));
	bool nomem = true;
	assert_null(llm_reply_json("Sure! Here it is: {\"a\": 1}", &nomem));
	assert_false(nomem); /* not JSON: the reply's fault */
}

static void *no_memory(size_t n)
{
	(void)n;
	return NULL; /* even the lexer cannot start */
}

static int allow; /* allocations that succeed before the rest fail */

static void *some_memory(size_t n)
{
	return allow-- > 0 ? malloc(n) : NULL;
}

/* Out of memory while reading a reply is said as such, not "not JSON":
 * with none at all (the lexer cannot start) and failing at each later
 * allocation of a valid reply in turn. */
static void test_reply_json_nomem(void **state)
{
	(void)state;
	bool nomem = false;
	json_nomem_install(no_memory, free);
	json_t *j = llm_reply_json("{\"a\": [1, 2, 3]}", &nomem);
	json_nomem_install(NULL, NULL);
	assert_null(j);
	assert_true(nomem);
	int failed = 0;
	for (int k = 1; k < 40; k++) {
		allow = k;
		nomem = false;
		json_nomem_install(some_memory, free);
		j = llm_reply_json("{\"a\": [1, 2, {\"b\": \"long enough to grow a buffer\"}]}", &nomem);
		json_nomem_install(NULL, NULL);
		assert_true(j != NULL || nomem);
		failed += j == NULL;
		json_decref(j);
	}
	assert_true(failed > 0);
}

/* An exec: LLM that answers badly first and well when told what was wrong
 * (the conversation on stdin then holds "did not match"). */
static const char fixing[] =
	"exec:if grep -q 'did not match' >/dev/null; then echo '{\"label\":\"yes\",\"score\":2}'; "
	"else echo '{\"label\":\"perhaps\",\"score\":2}'; fi";

static void test_ask_retry_then_valid(void **state)
{
	(void)state;
	struct llm_open_params op = llm_open_default_params();
	op.engine = fixing;
	struct llm_engine eng;
	struct parley_error err = {0};
	assert_int_equal(llm_open(&op, &eng, &err), PARLEY_OK);
	json_t *s = load(schema_text);
	struct llm_request q[2] = {{.system = "sys", .user = "one", .schema = s},
				   {.user = "free text", .schema = NULL}};
	struct llm_answer a[2];
	assert_int_equal(llm_ask_many(&eng, NULL, q, 2, a, &err), PARLEY_OK);
	assert_true(a[0].valid);
	assert_int_equal(a[0].attempts, 2);
	assert_int_equal(json_integer_value(json_object_get(a[0].json, "score")), 2);
	assert_int_equal(strlen(a[0].prompt_hash), 64);
	assert_int_equal(strlen(a[0].schema_hash), 64);
	assert_true(a[1].valid);
	assert_int_equal(a[1].attempts, 1);
	assert_string_equal(a[1].schema_hash, "");
	assert_string_not_equal(a[0].prompt_hash, a[1].prompt_hash);
	char first[LLM_HASH_HEX];
	memcpy(first, a[0].schema_hash, sizeof(first));
	llm_answer_release(&a[0]);
	llm_answer_release(&a[1]);
	/* the same schema hashes the same whatever its key order */
	json_t *s2 = load("{\"additionalProperties\":false,\"required\":[\"label\",\"score\"],"
			  "\"properties\":{\"note\":{\"type\":[\"string\",\"null\"]},"
			  "\"tags\":{\"maxItems\":2,\"items\":{\"type\":\"string\"},\"type\":\"array\"},"
			  "\"why\":{\"maxLength\":5,\"minLength\":2,\"type\":\"string\"},"
			  "\"score\":{\"maximum\":5,\"minimum\":1,\"type\":\"integer\"},"
			  "\"label\":{\"enum\":[\"yes\",\"no\"],\"type\":\"string\"}},\"type\":\"object\"}");
	struct llm_request q2 = {.user = "x", .schema = s2};
	assert_int_equal(llm_ask_many(&eng, NULL, &q2, 1, a, &err), PARLEY_OK);
	assert_string_equal(a[0].schema_hash, first);
	llm_answer_release(&a[0]);
	json_decref(s2);
	json_decref(s);
	llm_engine_close(&eng);
}

static void test_ask_invalid_recorded(void **state)
{
	(void)state;
	struct llm_open_params op = llm_open_default_params();
	op.engine = "exec:cat >/dev/null; echo 'I would rather not say.'";
	struct llm_engine eng;
	struct parley_error err = {0};
	assert_int_equal(llm_open(&op, &eng, &err), PARLEY_OK);
	json_t *s = load(schema_text);
	struct llm_request q = {.user = "one", .schema = s};
	struct llm_answer a;
	assert_int_equal(llm_ask_many(&eng, NULL, &q, 1, &a, &err), PARLEY_OK);
	assert_false(a.valid);
	assert_int_equal(a.attempts, 2);
	assert_null(a.json);
	assert_string_equal(a.error, "the reply is not JSON");
	assert_string_equal(a.text, "I would rather not say.\n");
	llm_answer_release(&a);
	/* an unsupported schema fails before anything is asked */
	json_t *bad = load("{\"oneOf\":[]}");
	q.schema = bad;
	assert_int_equal(llm_ask_many(&eng, NULL, &q, 1, &a, &err), PARLEY_ERR_INVALID);
	json_decref(bad);
	json_decref(s);
	llm_engine_close(&eng);
	assert_int_equal(llm_engine_check("openai+ftp://x", &err), PARLEY_ERR_INVALID);
	assert_int_equal(llm_engine_check("openai+https://api.openai.com/v1", &err), PARLEY_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_subset),
		cmocka_unit_test(test_reply_json),
		cmocka_unit_test(test_reply_json_nomem),
		cmocka_unit_test(test_ask_retry_then_valid),
		cmocka_unit_test(test_ask_invalid_recorded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
