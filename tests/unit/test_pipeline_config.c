/* test_pipeline_config.c — the pipeline configuration (src/stages/pipeline_config.c):
 * defaults, every key, errors located at FILE:LINE:COL, wrong types, unknown
 * keys, engine syntax, secrets refused, cross-field checks, flags, the
 * lexicon read at submit, canonical JSON and its round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stages/pipeline_config.h"
#include "text/lexicon.h"

static enum parley_err parse(struct pipeline_config *c, const char *text, struct parley_error *err)
{
	pipeline_config_release(c);
	pipeline_config_init(c);
	memset(err, 0, sizeof(*err));
	return pipeline_config_parse(c, "p.json", text, strlen(text), err);
}

/* The text must fail with a message starting "p.json:LINE:COL: " and holding want. */
static void expect_error(const char *text, enum parley_err code, int line, int col, const char *want)
{
	struct pipeline_config c;
	pipeline_config_init(&c);
	struct parley_error err;
	enum parley_err rc = parse(&c, text, &err);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "p.json:%d:%d: ", line, col);
	if (rc != code || strncmp(err.msg, prefix, strlen(prefix)) != 0 || !strstr(err.msg, want))
		fail_msg("for %s: got %d \"%s\", wanted %d \"%s…%s…\"", text, rc, err.msg, code, prefix,
			 want);
	pipeline_config_release(&c);
}

static void test_defaults(void **state)
{
	(void)state;
	struct pipeline_config c;
	pipeline_config_init(&c);
	assert_string_equal(c.stt.engine, "pocketsphinx");
	assert_string_equal(c.stt.language, "en");
	assert_int_equal(c.stt.unit, PC_UNIT_TURN);
	assert_int_equal(c.stt.concurrency, 4);
	assert_true(c.stt.timeout == 120 && c.stt.connect_timeout == 10 && c.stt.retry_max_wait == 30);
	assert_string_equal(c.llm.engine, "");
	assert_true(c.llm.timeout == 60 && c.llm.temperature == 0);
	assert_string_equal(c.diarize.engine, "builtin");
	assert_int_equal(c.diarize.speakers, 0);
	assert_int_equal(c.diarize.min_speakers, 1);
	assert_int_equal(c.diarize.max_speakers, 8);
	assert_false(c.diarize.overlap);
	assert_int_equal(c.diarize.method, PC_METHOD_WARD);
	assert_null(c.lexicon.text);
	assert_true(c.samples.min == 3 && c.samples.max == 10);
	struct parley_error err = {0};
	assert_int_equal(pipeline_config_check(&c, &err), PARLEY_OK);
	/* empty text, blanks and {} are the defaults */
	struct pipeline_config d;
	pipeline_config_init(&d);
	assert_int_equal(parse(&d, "", &err), PARLEY_OK);
	assert_null(pipeline_config_diff(&c, &d));
	assert_int_equal(parse(&d, " \n\t", &err), PARLEY_OK);
	assert_null(pipeline_config_diff(&c, &d));
	assert_int_equal(parse(&d, "{}", &err), PARLEY_OK);
	assert_null(pipeline_config_diff(&c, &d));
	pipeline_config_release(&c);
	pipeline_config_release(&d);
}

static void test_every_key(void **state)
{
	(void)state;
	const char *text =
		"{\"stt\": {\"engine\": \"openai+http://127.0.0.1:8000/v1\", \"model\": \"whisper-1\","
		" \"language\": \"\", \"prompt\": \"lah lor\", \"unit\": \"file\", \"concurrency\": 8,"
		" \"timeout\": 30.5, \"connect_timeout\": 2, \"retry_max_wait\": 0.05, \"api_key_env\": \"OPENAI_API_KEY\"},"
		" \"llm\": {\"engine\": \"exec:./answer.sh\", \"model\": \"m\", \"api_key_env\": \"K\","
		" \"timeout\": 9, \"concurrency\": 2, \"temperature\": 0.5, \"seed\": 42},"
		" \"diarize\": {\"engine\": \"exec:pyannote-rttm\", \"speakers\": 2, \"min_speakers\": 2,"
		" \"max_speakers\": 3, \"overlap\": true, \"method\": \"spectral\"},"
		" \"lexicon\": {\"path\": \"x.lex\", \"text\": \"version 2\\n\"},"
		" \"samples\": {\"min\": 2, \"max\": 5.5}}";
	struct pipeline_config c;
	pipeline_config_init(&c);
	struct parley_error err;
	assert_int_equal(parse(&c, text, &err), PARLEY_OK);
	assert_string_equal(c.stt.engine, "openai+http://127.0.0.1:8000/v1");
	assert_string_equal(c.stt.model, "whisper-1");
	assert_string_equal(c.stt.language, "");
	assert_string_equal(c.stt.prompt, "lah lor");
	assert_int_equal(c.stt.unit, PC_UNIT_FILE);
	assert_int_equal(c.stt.concurrency, 8);
	assert_true(c.stt.timeout == 30.5 && c.stt.connect_timeout == 2 && c.stt.retry_max_wait == 0.05);
	assert_string_equal(c.stt.api_key_env, "OPENAI_API_KEY");
	assert_string_equal(c.llm.engine, "exec:./answer.sh");
	assert_int_equal(c.llm.seed, 42);
	assert_true(c.llm.temperature == 0.5);
	assert_string_equal(c.diarize.engine, "exec:pyannote-rttm");
	assert_int_equal(c.diarize.speakers, 2);
	assert_true(c.diarize.overlap);
	assert_int_equal(c.diarize.method, PC_METHOD_SPECTRAL);
	assert_string_equal(c.lexicon.path, "x.lex");
	assert_string_equal(c.lexicon.text, "version 2\n");
	assert_true(c.samples.min == 2 && c.samples.max == 5.5);
	/* a partial document keeps the other defaults */
	assert_int_equal(parse(&c, "{\"diarize\": {\"speakers\": 2}}", &err), PARLEY_OK);
	assert_int_equal(c.diarize.speakers, 2);
	assert_string_equal(c.stt.engine, "pocketsphinx");
	pipeline_config_release(&c);
}

static void test_located_errors(void **state)
{
	(void)state;
	/* syntax: jansson's position */
	expect_error("{\"stt\": {\"timeout\": }}", PARLEY_ERR_INVALID, 1, 21, "unexpected token");
	expect_error("{\n  \"stt\": {\n    \"engine\": \"pocketsphinx\",\n  }\n}", PARLEY_ERR_INVALID, 4,
		     3, "string or '}' expected");
	expect_error("[1]", PARLEY_ERR_INVALID, 1, 1, "wants a JSON object");
	/* an unknown key points at the key */
	expect_error("{\n  \"stt\": {\n    \"engin\": \"pocketsphinx\"\n  }\n}", PARLEY_ERR_INVALID, 3,
		     5, "unknown key \"engin\" in \"stt\" (known: engine, model");
	expect_error("{\"stt\": {}, \"sst\": {}}", PARLEY_ERR_INVALID, 1, 13, "unknown section \"sst\"");
	/* a wrong type or value points at the value */
	expect_error("{\n  \"diarize\": {\"speakers\": \"2\"}\n}", PARLEY_ERR_INVALID, 2, 27,
		     "diarize.speakers wants a whole number from 0 to 32, not a string");
	expect_error("{\"diarize\": {\"speakers\": 2.5}}", PARLEY_ERR_INVALID, 1, 26,
		     "diarize.speakers wants a whole number");
	expect_error("{\"diarize\": {\"speakers\": 33}}", PARLEY_ERR_INVALID, 1, 26, "not 33");
	expect_error("{\"diarize\": {\"overlap\": 1}}", PARLEY_ERR_INVALID, 1, 25,
		     "diarize.overlap wants true or false");
	expect_error("{\"diarize\": {\"method\": \"kmeans\"}}", PARLEY_ERR_INVALID, 1, 24,
		     "one of \"ward\", \"spectral\"");
	expect_error("{\"stt\": {\"timeout\": null}}", PARLEY_ERR_INVALID, 1, 21, "not null");
	expect_error("{\"stt\": {\"timeout\": 0}}", PARLEY_ERR_INVALID, 1, 21, "from 0.1 to 86400");
	expect_error("{\"stt\": 5}", PARLEY_ERR_INVALID, 1, 9, "\"stt\" wants an object");
	expect_error("{\"samples\": {\"min\": [1]}}", PARLEY_ERR_INVALID, 1, 21, "not an array");
	/* columns count characters, as jansson's do */
	expect_error("{\"stt\": {\"prompt\": \"\xc3\xa9\xc3\xa9\", \"unit\": 3}}", PARLEY_ERR_INVALID, 1,
		     34, "stt.unit wants one of");
	/* duplicates are refused */
	expect_error("{\"stt\": {\"unit\": \"turn\", \"unit\": \"file\"}}", PARLEY_ERR_INVALID, 1, 31,
		     "duplicate object key");
	/* checks across fields point at the first key named */
	expect_error("{\"diarize\": {\"max_speakers\": 2,\n \"min_speakers\": 3}}", PARLEY_ERR_INVALID,
		     2, 18, "diarize.min_speakers 3 is more than diarize.max_speakers 2");
	expect_error("{\"samples\": {\"max\": 2}}", PARLEY_ERR_INVALID, 1, 2,
		     "samples.min 3 is more than samples.max 2");
}

static void test_engines_and_secrets(void **state)
{
	(void)state;
	static const char *const good[] = {
		"{\"stt\": {\"engine\": \"pocketsphinx:/opt/model\"}}",
		"{\"stt\": {\"engine\": \"whispercpp+http://gpu:8080\"}}",
		"{\"stt\": {\"engine\": \"openai+https://api.example.com/v1\"}}",
		"{\"stt\": {\"engine\": \"exec:/usr/bin/transcribe --json\"}}",
		"{\"llm\": {\"engine\": \"openai+http://[::1]:11434/v1\"}}",
		"{\"llm\": {\"engine\": \"\"}}",
		"{\"diarize\": {\"engine\": \"exec:diarize.sh\"}}",
	};
	struct pipeline_config c;
	pipeline_config_init(&c);
	struct parley_error err;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (parse(&c, good[i], &err) != PARLEY_OK)
			fail_msg("%s: %s", good[i], err.msg);
	pipeline_config_release(&c);
	expect_error("{\"stt\": {\"engine\": \"pocketsfinx\"}}", PARLEY_ERR_INVALID, 1, 20,
		     "stt.engine is not an engine (known: pocketsphinx[:MODEL_DIR], openai+http(s)");
	expect_error("{\"stt\": {\"engine\": \"\"}}", PARLEY_ERR_INVALID, 1, 20, "is not an engine");
	expect_error("{\"stt\": {\"engine\": \"exec:\"}}", PARLEY_ERR_INVALID, 1, 20,
		     "needs something after 'exec:'");
	expect_error("{\"stt\": {\"engine\": \"openai+http://\"}}", PARLEY_ERR_INVALID, 1, 20, "no host");
	expect_error("{\"stt\": {\"engine\": \"openai+http://h:99999/v1\"}}", PARLEY_ERR_INVALID, 1, 20,
		     "port");
	expect_error("{\"stt\": {\"engine\": \"openai+https://user:sk-123@h/v1\"}}", PARLEY_ERR_INVALID,
		     1, 20, "user:password@");
	expect_error("{\"llm\": {\"engine\": \"whispercpp+http://h\"}}", PARLEY_ERR_INVALID, 1, 20,
		     "llm.engine is not an engine");
	expect_error("{\"diarize\": {\"engine\": \"pocketsphinx\"}}", PARLEY_ERR_INVALID, 1, 24,
		     "is not an engine");
	expect_error("{\"stt\": {\"api_key_env\": \"sk-abc123\"}}", PARLEY_ERR_INVALID, 1, 25,
		     "never the key itself");
	expect_error("{\"stt\": {\"model\": \"a\\nb\"}}", PARLEY_ERR_INVALID, 1, 19, "control character");
}

static void test_set_and_check(void **state)
{
	(void)state;
	struct pipeline_config c;
	pipeline_config_init(&c);
	struct parley_error err = {0};
	assert_int_equal(pipeline_config_set(&c, "diarize.speakers", "2", &err), PARLEY_OK);
	assert_int_equal(c.diarize.speakers, 2);
	assert_int_equal(pipeline_config_set(&c, "diarize.overlap", "true", &err), PARLEY_OK);
	assert_true(c.diarize.overlap);
	assert_int_equal(pipeline_config_set(&c, "diarize.method", "spectral", &err), PARLEY_OK);
	assert_int_equal(c.diarize.method, PC_METHOD_SPECTRAL);
	assert_int_equal(pipeline_config_set(&c, "stt.timeout", "2.5", &err), PARLEY_OK);
	assert_true(c.stt.timeout == 2.5);
	assert_int_equal(pipeline_config_set(&c, "diarize.speakers", "two", &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "diarize.speakers wants a whole number from 0 to 32, not 'two'"));
	assert_int_equal(pipeline_config_set(&c, "diarize.speaker", "2", &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "unknown pipeline configuration key 'diarize.speaker'"));
	assert_int_equal(pipeline_config_set(&c, "stt.engine", "nope", &err), PARLEY_ERR_INVALID);
	assert_string_equal(c.stt.engine, "pocketsphinx"); /* a refused value changes nothing */
	assert_int_equal(pipeline_config_set(&c, "diarize.max_speakers", "1", &err), PARLEY_OK);
	assert_int_equal(pipeline_config_check(&c, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "diarize.speakers 2 is outside"));
	pipeline_config_release(&c);
}

static void test_channels_roles(void **state)
{
	(void)state;
	struct pipeline_config c;
	pipeline_config_init(&c);
	struct parley_error err = {0};
	assert_int_equal(c.channels.mode, PC_CHANNELS_MIX);
	assert_string_equal(c.channels.roles, "agent,customer");
	assert_int_equal(c.channels.mono_roles, PC_MONO_ROLES_NONE);
	assert_true(c.metrics.silence_min == 2.0);
	assert_int_equal(pipeline_config_check(&c, &err), PARLEY_OK);
	char role[48];
	pipeline_config_role(c.channels.roles, 0, role, sizeof(role));
	assert_string_equal(role, "agent");
	pipeline_config_role(c.channels.roles, 1, role, sizeof(role));
	assert_string_equal(role, "customer");
	pipeline_config_role(c.channels.roles, 2, role, sizeof(role));
	assert_string_equal(role, "");
	assert_int_equal(pipeline_config_set(&c, "channels.mode", "separate", &err), PARLEY_OK);
	assert_int_equal(c.channels.mode, PC_CHANNELS_SEPARATE);
	assert_int_equal(pipeline_config_set(&c, "channels.mono_roles", "first_after_ivr", &err),
			 PARLEY_OK);
	static const char *const bad[] = {"", "agent,", ",agent", "agent,,customer", "a b",
					  "a,b,c,d,e,f,g,h,i", "agent;customer"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(pipeline_config_set(&c, "channels.roles", bad[i], &err), PARLEY_OK);
		assert_int_equal(pipeline_config_check(&c, &err), PARLEY_ERR_INVALID);
		assert_non_null(strstr(err.msg, "channels.roles"));
	}
	assert_int_equal(pipeline_config_set(&c, "channels.roles", "customer,agent,supervisor", &err),
			 PARLEY_OK);
	assert_int_equal(pipeline_config_check(&c, &err), PARLEY_OK);
	pipeline_config_role(c.channels.roles, 2, role, sizeof(role));
	assert_string_equal(role, "supervisor");
	expect_error("{\"channels\": {\"roles\": \"a,,b\"}}", PARLEY_ERR_INVALID, 1, 24,
		     "channels.roles \"a,,b\" wants");
	pipeline_config_release(&c);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct pipeline_config c, d;
	pipeline_config_init(&c);
	pipeline_config_init(&d);
	struct parley_error err = {0};
	assert_int_equal(pipeline_config_set(&c, "stt.engine", "whispercpp+http://h:8080", &err), PARLEY_OK);
	assert_int_equal(pipeline_config_set(&c, "stt.prompt", "quote \" and \\ and é", &err), PARLEY_OK);
	assert_int_equal(pipeline_config_set(&c, "stt.timeout", "0.25", &err), PARLEY_OK);
	assert_int_equal(pipeline_config_set(&c, "lexicon.text", "version 2\ntarget lah L AA\n", &err),
			 PARLEY_OK);
	assert_int_equal(pipeline_config_set(&c, "diarize.speakers", "3", &err), PARLEY_OK);
	char *json = NULL, *again = NULL;
	assert_int_equal(pipeline_config_to_json(&c, false, &json, &err), PARLEY_OK);
	assert_non_null(strstr(json, "\"stt\":{\"engine\":\"whispercpp+http://h:8080\""));
	assert_non_null(strstr(json, "\"timeout\":0.25"));
	assert_non_null(strstr(json, "\"connect_timeout\":10,")); /* whole numbers stay whole */
	assert_int_equal(pipeline_config_parse(&d, "stored", json, strlen(json), &err), PARLEY_OK);
	assert_null(pipeline_config_diff(&c, &d));
	assert_int_equal(pipeline_config_to_json(&d, false, &again, &err), PARLEY_OK);
	assert_string_equal(json, again);
	free(again);
	/* the pretty form parses to the same configuration */
	assert_int_equal(pipeline_config_to_json(&c, true, &again, &err), PARLEY_OK);
	assert_non_null(strstr(again, "\n  \"stt\": {\n"));
	pipeline_config_release(&d);
	pipeline_config_init(&d);
	assert_int_equal(pipeline_config_parse(&d, "pretty", again, strlen(again), &err), PARLEY_OK);
	assert_null(pipeline_config_diff(&c, &d));
	/* a copy is deep and equal; a change shows in diff */
	struct pipeline_config e;
	assert_int_equal(pipeline_config_copy(&e, &c, &err), PARLEY_OK);
	assert_ptr_not_equal(e.lexicon.text, c.lexicon.text);
	assert_null(pipeline_config_diff(&c, &e));
	assert_int_equal(pipeline_config_set(&e, "samples.max", "9", &err), PARLEY_OK);
	assert_string_equal(pipeline_config_diff(&c, &e), "samples.max");
	free(json);
	free(again);
	pipeline_config_release(&c);
	pipeline_config_release(&d);
	pipeline_config_release(&e);
}

static void test_lexicon_resolve(void **state)
{
	(void)state;
	char dir[] = "/tmp/parley-pc-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/my.lex", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("target shiok SH IY AO K\n", f);
	fclose(f);
	struct pipeline_config c;
	pipeline_config_init(&c);
	struct parley_error err = {0};
	assert_int_equal(pipeline_config_lexicon_resolve(&c, &err), PARLEY_OK); /* built-in */
	assert_null(c.lexicon.text);
	assert_int_equal(pipeline_config_set(&c, "lexicon.path", path, &err), PARLEY_OK);
	assert_int_equal(pipeline_config_lexicon_resolve(&c, &err), PARLEY_OK);
	assert_string_equal(c.lexicon.text, "target shiok SH IY AO K\n");
	/* the text is kept: the file may change or go */
	unlink(path);
	assert_int_equal(pipeline_config_lexicon_resolve(&c, &err), PARLEY_OK);
	pipeline_config_release(&c);
	pipeline_config_init(&c);
	assert_int_equal(pipeline_config_set(&c, "lexicon.path", path, &err), PARLEY_OK);
	assert_int_equal(pipeline_config_lexicon_resolve(&c, &err), PARLEY_ERR_IO);
	/* a bad lexicon fails with its own file:line */
	pipeline_config_release(&c);
	pipeline_config_init(&c);
	assert_int_equal(pipeline_config_set(&c, "lexicon.text", "target lah L AA\nbogus line\n", &err), PARLEY_OK);
	assert_int_equal(pipeline_config_lexicon_resolve(&c, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "lexicon.text:2"));
	pipeline_config_release(&c);
	rmdir(dir);
}

/* The call-analysis keys: denoise, lid, and the top-level preset. */
static void test_call_keys(void **state)
{
	(void)state;
	struct pipeline_config c;
	struct parley_error err;
	pipeline_config_init(&c);
	assert_string_equal(c.denoise.engine, "speex");
	assert_true(c.denoise.suppress == 25 && c.denoise.timeout == 120 && !c.denoise.enabled);
	assert_string_equal(c.lid.language, "");
	assert_string_equal(c.lid.expected, "");
	assert_string_equal(c.lid.engine, "");
	assert_true(c.lid.seconds == 30);
	assert_string_equal(c.preset, "");
	assert_int_equal(parse(&c, "{\"preset\": \"call\", \"denoise\": {\"engine\": "
				   "\"http://127.0.0.1:5010/denoise\", \"suppress\": 12}, "
				   "\"lid\": {\"expected\": \"en,ms\", \"engine\": "
				   "\"whispercpp+http://gpu:8080\"}}", &err), PARLEY_OK);
	assert_string_equal(c.preset, "call");
	assert_int_equal(c.channels.mode, PC_CHANNELS_SEPARATE); /* the preset's setting */
	assert_string_equal(c.denoise.engine, "http://127.0.0.1:5010/denoise");
	assert_true(c.denoise.suppress == 12);
	assert_string_equal(c.lid.expected, "en,ms");
	/* canonical JSON holds the keys and reads back the same */
	char *json = NULL;
	assert_int_equal(pipeline_config_to_json(&c, false, &json, &err), PARLEY_OK);
	assert_non_null(strstr(json, "\"preset\":\"call\""));
	assert_non_null(strstr(json, "\"lid\":{"));
	struct pipeline_config back;
	pipeline_config_init(&back);
	assert_int_equal(pipeline_config_parse(&back, "j", json, strlen(json), &err), PARLEY_OK);
	assert_null(pipeline_config_diff(&c, &back));
	free(json);
	pipeline_config_release(&back);
	pipeline_config_release(&c);
	/* a section overrides what the preset sets, wherever it stands */
	pipeline_config_init(&c);
	assert_int_equal(parse(&c, "{\"channels\": {\"mode\": \"mix\"}, \"preset\": \"call\"}", &err),
			 PARLEY_OK);
	assert_int_equal(c.channels.mode, PC_CHANNELS_MIX);
	assert_int_equal(pipeline_config_set(&c, "preset", "call", &err), PARLEY_OK);
	assert_int_equal(c.channels.mode, PC_CHANNELS_SEPARATE);
	pipeline_config_release(&c);
	expect_error("{\"preset\": \"meeting\"}", PARLEY_ERR_INVALID, 1, 12, "is not a preset");
	expect_error("{\"preset\": 3}", PARLEY_ERR_INVALID, 1, 12, "preset wants a string");
	expect_error("{\"denoise\": {\"engine\": \"rnnoise\"}}", PARLEY_ERR_INVALID, 1, 24,
		     "known: speex, http(s)://");
	expect_error("{\"denoise\": {\"engine\": \"http://u:p@h/x\"}}", PARLEY_ERR_INVALID, 1, 24,
		     "user:password@");
	expect_error("{\"denoise\": {\"suppress\": 0}}", PARLEY_ERR_INVALID, 1, 26, "1 to 60");
	expect_error("{\"lid\": {\"expected\": \"en;ms\"}}", PARLEY_ERR_INVALID, 1, 22,
		     "language codes");
	expect_error("{\"lid\": {\"language\": \"en,ms\"}}", PARLEY_ERR_INVALID, 1, 22,
		     "wants one language");
	expect_error("{\"lid\": {\"engine\": \"builtin\"}}", PARLEY_ERR_INVALID, 1, 20,
		     "not an engine");
	expect_error("{\"lidd\": {}}", PARLEY_ERR_INVALID, 1, 2, "denoise, lid, metrics; or a top-level key");
}

static void test_limits(void **state)
{
	(void)state;
	struct pipeline_config c;
	pipeline_config_init(&c);
	struct parley_error err = {0};
	/* a document past the bound is refused before parsing */
	size_t big = PIPELINE_CONFIG_MAX_BYTES + 1;
	char *text = malloc(big);
	assert_non_null(text);
	memset(text, ' ', big);
	assert_int_equal(pipeline_config_parse(&c, "big.json", text, big, &err), PARLEY_ERR_TOO_LARGE);
	/* a lexicon past its bound */
	size_t n = PIPELINE_CONFIG_LEXICON_MAX + 1;
	const char *head = "{\"lexicon\": {\"text\": \"";
	memcpy(text, head, strlen(head));
	memset(text + strlen(head), 'a', n);
	memcpy(text + strlen(head) + n, "\"}}", 3);
	assert_int_equal(pipeline_config_parse(&c, "big.json", text, strlen(head) + n + 3, &err),
			 PARLEY_ERR_TOO_LARGE);
	assert_non_null(strstr(err.msg, "big.json:1:22: lexicon.text is longer than"));
	/* a string past its field */
	char model[400];
	snprintf(model, sizeof(model), "{\"stt\": {\"model\": \"%0300d\"}}", 0);
	assert_int_equal(pipeline_config_parse(&c, "m.json", model, strlen(model), &err),
			 PARLEY_ERR_TOO_LARGE);
	/* NUL inside the text (jansson refuses it in strings) */
	const char nul[] = "{\"stt\": {\"model\": \"a\\u0000b\"}}";
	assert_int_equal(pipeline_config_parse(&c, "n.json", nul, sizeof(nul) - 1, &err), PARLEY_ERR_INVALID);
	free(text);
	pipeline_config_release(&c);
	char *keys = NULL;
	assert_int_equal(pipeline_config_keys_text(&keys, &err), PARLEY_OK);
	assert_non_null(strstr(keys, "diarize.speakers"));
	assert_non_null(strstr(keys, "stt.engine"));
	free(keys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_located_errors),
		cmocka_unit_test(test_engines_and_secrets),
		cmocka_unit_test(test_set_and_check),
		cmocka_unit_test(test_channels_roles),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_lexicon_resolve),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_call_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
