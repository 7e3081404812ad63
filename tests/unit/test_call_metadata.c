/* test_call_metadata.c — the per-file metadata CSV (core/call_metadata.h):
 * good files, RFC 4180 quoting, matching inputs to rows, every error with its
 * line, the role/language helpers, and the store's metadata column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/call_metadata.h"
#include "store/store.h"
#include "store/store_call.h"

static struct call_metadata *parse_ok(const char *text)
{
	struct call_metadata *md = NULL;
	struct parley_error err = {0};
	enum parley_err rc = call_metadata_parse("m.csv", text, strlen(text), &md, &err);
	if (rc)
		fprintf(stderr, "unexpected failure: %s\n", err.msg);
	assert_int_equal(rc, PARLEY_OK);
	assert_non_null(md);
	return md;
}

/* Parsing fails with code and exactly the message msg. */
static void parse_fails(const char *text, size_t len, enum parley_err code, const char *msg)
{
	struct call_metadata *md = NULL;
	struct parley_error err = {0};
	assert_int_equal(call_metadata_parse("m.csv", text, len, &md, &err), code);
	assert_null(md);
	assert_string_equal(err.msg, msg);
}

static void test_good(void **state)
{
	(void)state;
	struct call_metadata *md = parse_ok(
		"\xEF\xBB\xBF" "file,trade_id,agent,customer,agent_channel,language,desk\r\n"
		"calls/a.wav,T1,Ann,Bob,1,ms,fx\r\n"
		"\r\n"
		"b.wav,T2,Cat,Dan,,,\r\n");
	assert_int_equal(call_metadata_row_count(md), 2);
	assert_string_equal(call_metadata_row_file(md, 0), "calls/a.wav");
	assert_int_equal(call_metadata_row_line(md, 0), 2);
	assert_int_equal(call_metadata_row_line(md, 1), 4);
	assert_string_equal(call_metadata_value(md, 1, "trade_id"), "T2");
	assert_null(call_metadata_value(md, 1, "nope"));
	/* matching: path as given, then base name */
	assert_int_equal(call_metadata_find(md, "calls/a.wav"), 0);
	assert_int_equal(call_metadata_find(md, "/elsewhere/a.wav"), 0);
	assert_int_equal(call_metadata_find(md, "x/y/b.wav"), 1);
	assert_int_equal(call_metadata_find(md, "c.wav"), -1);
	json_t *o = call_metadata_row_json(md, 0);
	assert_non_null(o);
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(s, "{\"file\":\"calls/a.wav\",\"trade_id\":\"T1\",\"agent\":\"Ann\","
			       "\"customer\":\"Bob\",\"agent_channel\":\"1\",\"language\":\"ms\","
			       "\"desk\":\"fx\"}");
	free(s);
	char role[CALL_METADATA_ROLE_MAX];
	call_metadata_role(o, 0, role, sizeof(role));
	assert_string_equal(role, "customer");
	call_metadata_role(o, 1, role, sizeof(role));
	assert_string_equal(role, "agent");
	assert_string_equal(call_metadata_language(o), "ms");
	json_decref(o);
	o = call_metadata_row_json(md, 1); /* empty = not given */
	call_metadata_role(o, 0, role, sizeof(role));
	assert_string_equal(role, "");
	assert_null(call_metadata_language(o));
	json_decref(o);
	call_metadata_role(NULL, 0, role, sizeof(role));
	assert_string_equal(role, "");
	assert_null(call_metadata_language(NULL));
	call_metadata_free(md);
}

static void test_quoting_and_roles(void **state)
{
	(void)state;
	struct call_metadata *md = parse_ok("file,roles,note\n"
					    "\"a,1.wav\",\"customer,agent\",\"said \"\"hi\"\"\n"
					    "twice\"\n"
					    "b.wav,agent,\"\"\n"
					    "c.wav,,x");
	assert_int_equal(call_metadata_row_count(md), 3);
	assert_string_equal(call_metadata_row_file(md, 0), "a,1.wav");
	assert_string_equal(call_metadata_value(md, 0, "note"), "said \"hi\"\ntwice");
	assert_int_equal(call_metadata_row_line(md, 1), 4); /* after a two-line field */
	assert_int_equal(call_metadata_row_line(md, 2), 5); /* no final newline */
	json_t *o = call_metadata_row_json(md, 0);
	char role[CALL_METADATA_ROLE_MAX];
	call_metadata_role(o, 0, role, sizeof(role));
	assert_string_equal(role, "customer");
	call_metadata_role(o, 1, role, sizeof(role));
	assert_string_equal(role, "agent");
	call_metadata_role(o, 2, role, sizeof(role)); /* more channels than roles */
	assert_string_equal(role, "");
	json_decref(o);
	call_metadata_free(md);
	/* header only: no rows, nothing found */
	md = parse_ok("file\n");
	assert_int_equal(call_metadata_row_count(md), 0);
	assert_int_equal(call_metadata_find(md, "a.wav"), -1);
	call_metadata_free(md);
}

static void test_errors(void **state)
{
	(void)state;
#define FAILS(text, code, msg) parse_fails(text, sizeof(text) - 1, code, msg)
	FAILS("", PARLEY_ERR_INVALID, "m.csv:1: no header row (file,…)");
	FAILS("\n\n", PARLEY_ERR_INVALID, "m.csv:3: no header row (file,…)");
	FAILS("name,trade_id\na,b\n", PARLEY_ERR_INVALID, "m.csv:1: the header has no file column");
	FAILS("file,,x\n", PARLEY_ERR_INVALID, "m.csv:1: column 2 has no name");
	FAILS("file,x,x\n", PARLEY_ERR_INVALID, "m.csv:1: column \"x\" twice");
	FAILS("file,trade_id\na.wav,1\nb.wav\n", PARLEY_ERR_INVALID,
	      "m.csv:3: 1 fields, the header has 2");
	FAILS("file,trade_id\na.wav,1\nb.wav,2,3\n", PARLEY_ERR_INVALID,
	      "m.csv:3: 3 fields, the header has 2");
	FAILS("file,trade_id\na.wav,1\n\nb.wav,2\na.wav,3\n", PARLEY_ERR_INVALID,
	      "m.csv:5: file \"a.wav\" again (first on line 2)");
	FAILS("file,trade_id\n,1\n", PARLEY_ERR_INVALID, "m.csv:2: the file column is empty");
	FAILS("file,agent_channel\na.wav,0\nb.wav,x\n", PARLEY_ERR_INVALID,
	      "m.csv:3: agent_channel \"x\" is not a channel number 0..7");
	FAILS("file,agent_channel\na.wav,-1\n", PARLEY_ERR_INVALID,
	      "m.csv:2: agent_channel \"-1\" is not a channel number 0..7");
	FAILS("file,agent_channel\na.wav,8\n", PARLEY_ERR_INVALID,
	      "m.csv:2: agent_channel \"8\" is not a channel number 0..7");
	FAILS("file,roles\na.wav,\"agent,,customer\"\n", PARLEY_ERR_INVALID,
	      "m.csv:2: roles \"agent,,customer\" is not a list of at most 8 role names"
	      " (a-z 0-9 _ -) separated by commas");
	FAILS("file,roles,agent_channel\na.wav,\"agent,customer\",1\n", PARLEY_ERR_INVALID,
	      "m.csv:2: agent_channel 1 and roles \"agent,customer\" disagree");
	FAILS("file,language\na.wav,english\n", PARLEY_ERR_INVALID,
	      "m.csv:2: language \"english\" is not a language code (\"en\", \"ms\", \"zh-Hant\")");
	FAILS("file\n\"a.wav\n", PARLEY_ERR_INVALID, "m.csv:2: a quoted field is not closed");
	FAILS("file\n\"a\"b\n", PARLEY_ERR_INVALID, "m.csv:2: text after a closing quote");
	FAILS("file\na\"b\n", PARLEY_ERR_INVALID, "m.csv:2: a quote inside an unquoted field");
	FAILS("file\na\rb\n", PARLEY_ERR_INVALID,
	      "m.csv:2: a carriage return not followed by a line feed");
	FAILS("file\nok.wav\n\xC3\x28.wav\n", PARLEY_ERR_INVALID, "m.csv:3: not UTF-8");
	FAILS("file\na\0b\n", PARLEY_ERR_INVALID, "m.csv:2: a NUL byte");
#undef FAILS
	/* bounds: field length, columns */
	size_t n = CALL_METADATA_FIELD_MAX + 16;
	char *big = malloc(n + 16);
	assert_non_null(big);
	memcpy(big, "file\n", 5);
	memset(big + 5, 'a', n);
	big[5 + n] = '\n';
	parse_fails(big, 6 + n, PARLEY_ERR_TOO_LARGE, "m.csv:2: a field is longer than 4096 bytes");
	free(big);
	char cols[1024] = "file";
	for (int i = 0; i < CALL_METADATA_COLUMNS_MAX; i++) {
		size_t l = strlen(cols);
		snprintf(cols + l, sizeof(cols) - l, ",c%d", i);
	}
	parse_fails(cols, strlen(cols), PARLEY_ERR_TOO_LARGE, "m.csv:1: more than 64 fields");
	parse_fails("file", (size_t)CALL_METADATA_FILE_MAX + 1, PARLEY_ERR_TOO_LARGE,
		    "m.csv:1: larger than 67108864 bytes");
}

static void test_store_column(void **state)
{
	(void)state;
	char dir[] = "/tmp/parley-md-XXXXXX", db[64];
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/p.db", dir);
	struct store *st = NULL;
	struct parley_error err = {0};
	assert_int_equal(store_open(db, &st, &err), PARLEY_OK);
	int64_t batch, rec;
	assert_int_equal(store_batch_ensure(st, "b", "run", &batch, &err), PARLEY_OK);
	assert_int_equal(store_recording_add(st, batch, "a", "/x/a.wav", "fp", NULL, &rec, &err),
			 PARLEY_OK);
	char *text = NULL;
	assert_int_equal(store_recording_metadata_get(st, rec, &text, &err), PARLEY_OK);
	assert_string_equal(text, "{}");
	free(text);
	assert_int_equal(store_recording_metadata_put(st, rec, "{\"file\":\"a.wav\"}", &err),
			 PARLEY_OK);
	assert_int_equal(store_recording_metadata_get(st, rec, &text, &err), PARLEY_OK);
	assert_string_equal(text, "{\"file\":\"a.wav\"}");
	free(text);
	store_close(st);
	remove(db);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_quoting_and_roles),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_store_column),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
