/* test_engines.c — the engine table and what does not need a server:
 * reading server answers in every dialect (asr_json), error bodies and
 * Retry-After, the scheme table, the exec engine and exec_run's limits, and
 * remote.c against a closed port (a connection error is transient). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "engines/asr_json.h"
#include "engines/engines.h"
#include "engines/exec_run.h"
#include "engines/remote.h"

static void parse(const char *json, double offset, double dur, struct asr_word **w, size_t *n,
		  char lang[16])
{
	struct parley_error err = {0};
	assert_int_equal(asr_json_parse(json, strlen(json), offset, dur, w, n, lang, &err),
			 PARLEY_OK);
}

static void test_openai_words(void **state)
{
	(void)state;
	struct asr_word *w;
	size_t n;
	char lang[16];
	parse("{\"language\":\"english\",\"text\":\"Hello, world.\",\"words\":["
	      "{\"word\":\"Hello,\",\"start\":0.1,\"end\":0.5},"
	      "{\"word\":\"World.\",\"start\":0.6,\"end\":1.0}],"
	      "\"segments\":[{\"start\":0,\"end\":2,\"text\":\"ignored when words exist\"}]}",
	      10, 2, &w, &n, lang);
	assert_string_equal(lang, "en");
	assert_int_equal(n, 2);
	assert_string_equal(w[0].text, "hello");
	assert_string_equal(w[1].text, "world");
	assert_true(fabs(w[0].start - 10.1) < 1e-9 && fabs(w[1].end - 11.0) < 1e-9);
	assert_true(w[0].confidence == 1.0f && !w[0].approximate);
	free(w);
}

static void test_whispercpp_tokens_joined(void **state)
{
	(void)state;
	struct asr_word *w;
	size_t n;
	char lang[16];
	parse("{\"language\":\"en\",\"segments\":[{\"start\":0,\"end\":2,\"words\":["
	      "{\"word\":\"[_BEG_]\",\"start\":0,\"end\":0,\"probability\":1},"
	      "{\"word\":\" Wal\",\"start\":0.1,\"end\":0.3,\"probability\":0.9},"
	      "{\"word\":\"ao\",\"start\":0.3,\"end\":0.5,\"probability\":0.8},"
	      "{\"word\":\",\",\"start\":0.5,\"end\":0.5,\"probability\":0.9},"
	      "{\"word\":\" eh\",\"start\":0.6,\"end\":0.8,\"probability\":0.95},"
	      "{\"word\":\".\",\"start\":0.8,\"end\":0.8,\"probability\":0.99}]}]}",
	      0, 2, &w, &n, lang);
	assert_string_equal(lang, "en");
	assert_int_equal(n, 2);
	assert_string_equal(w[0].text, "walao");
	assert_true(fabs(w[0].start - 0.1) < 1e-9 && fabs(w[0].end - 0.5) < 1e-9);
	assert_true(fabs(w[0].confidence - 0.8f) < 1e-6); /* the lowest piece */
	assert_string_equal(w[1].text, "eh");
	free(w);
	/* whisper-cli -ojf style tokens with t0/t1 in centiseconds */
	parse("{\"segments\":[{\"tokens\":[{\"text\":\" hel\",\"t0\":10,\"t1\":20,\"p\":0.5},"
	      "{\"text\":\"lo\",\"t0\":20,\"t1\":40,\"p\":0.6},{\"text\":\"[_TT_50]\",\"t0\":50,"
	      "\"t1\":50}]}]}", 0, 1, &w, &n, lang);
	assert_int_equal(n, 1);
	assert_string_equal(w[0].text, "hello");
	assert_true(fabs(w[0].end - 0.4) < 1e-9);
	free(w);
}

static void test_no_word_times_spread(void **state)
{
	(void)state;
	struct asr_word *w;
	size_t n;
	char lang[16];
	parse("{\"segments\":[{\"start\":1.0,\"end\":2.0,\"text\":\" ab cd\"},"
	      "{\"start\":3.0,\"end\":3.5,\"text\":\"e\"}]}", 5, 10, &w, &n, lang);
	assert_int_equal(n, 3);
	assert_true(w[0].approximate && w[1].approximate && w[2].approximate);
	assert_true(fabs(w[0].start - 6.0) < 1e-9 && fabs(w[0].end - 6.5) < 1e-9);
	assert_true(fabs(w[1].start - 6.5) < 1e-9 && fabs(w[1].end - 7.0) < 1e-9);
	assert_string_equal(w[2].text, "e");
	free(w);
	parse("{\"text\":\"one two\"}", 0, 4, &w, &n, lang);
	assert_int_equal(n, 2);
	assert_true(w[1].approximate && fabs(w[1].end - 4.0) < 1e-9);
	assert_string_equal(lang, "");
	free(w);
}

static void test_malformed_is_transient(void **state)
{
	(void)state;
	struct asr_word *w = (void *)1;
	size_t n = 7;
	char lang[16];
	struct parley_error err = {0};
	assert_int_equal(asr_json_parse("{\"text\": \"oops", 14, 0, 1, &w, &n, lang, &err),
			 PARLEY_ERR_ENGINE);
	assert_null(w);
	assert_int_equal(n, 0);
	assert_int_equal(asr_json_parse("{\"x\":1}", 7, 0, 1, &w, &n, lang, &err),
			 PARLEY_ERR_ENGINE);
	assert_non_null(strstr(err.msg, "no \"words\""));
	/* silence: an answer without a word is no words, not an error */
	const char *empty = "{\"language\": \"en\", \"text\": \"\", \"segments\": [{\"start\": 0, "
			    "\"end\": 1, \"text\": \"\"}]}";
	assert_int_equal(asr_json_parse(empty, strlen(empty), 0, 1, &w, &n, lang, &err), PARLEY_OK);
	assert_int_equal(n, 0);
	free(w);
	/* the language's probability: whisper.cpp's and faster-whisper's names */
	double prob = 0;
	const char *wcpp = "{\"detected_language\": \"malay\", \"detected_language_probability\": 0.9, "
			   "\"text\": \"\"}";
	assert_int_equal(asr_json_parse_full(wcpp, strlen(wcpp), 0, 1, &w, &n, lang, &prob, &err),
			 PARLEY_OK);
	assert_string_equal(lang, "ms");
	assert_true(prob == 0.9);
	const char *fw = "{\"language\": \"en\", \"language_probability\": 1.5, \"text\": \"\"}";
	assert_int_equal(asr_json_parse_full(fw, strlen(fw), 0, 1, &w, &n, lang, &prob, &err), PARLEY_OK);
	assert_true(prob == -1); /* out of range: not reported */
}

static void test_language_codes(void **state)
{
	(void)state;
	char out[16];
	asr_language_code("English", out);
	assert_string_equal(out, "en");
	asr_language_code("en", out);
	assert_string_equal(out, "en");
	asr_language_code("Malay", out);
	assert_string_equal(out, "ms");
	asr_language_code("Klingon", out);
	assert_string_equal(out, "klingon");
}

static void test_error_text_and_retry_after(void **state)
{
	(void)state;
	char m[256];
	const char *b = "{\"error\":{\"message\":\"model 'x' not found\",\"type\":\"invalid\"}}";
	remote_error_text(b, strlen(b), m, sizeof(m));
	assert_string_equal(m, "model 'x' not found");
	b = "{\"detail\":\"Not Found\"}";
	remote_error_text(b, strlen(b), m, sizeof(m));
	assert_string_equal(m, "Not Found");
	b = "<html>\nBad\tGateway</html>";
	remote_error_text(b, strlen(b), m, sizeof(m));
	assert_string_equal(m, "<html> Bad Gateway</html>");
	assert_true(remote_parse_retry_after(" 3\r\n") == 3.0);
	assert_true(remote_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") < 0);
	assert_true(remote_parse_retry_after("-1") < 0);
}

static void test_scheme_table(void **state)
{
	(void)state;
	struct parley_error err = {0};
	assert_int_equal(asr_engine_check("pocketsphinx", &err), PARLEY_OK);
	assert_int_equal(asr_engine_check("pocketsphinx:/models/x", &err), PARLEY_OK);
	assert_int_equal(asr_engine_check("openai+https://api.openai.com/v1", &err), PARLEY_OK);
	assert_int_equal(asr_engine_check("whispercpp+http://gpu:8080", &err), PARLEY_OK);
	assert_int_equal(asr_engine_check("exec:my-asr --fast", &err), PARLEY_OK);
	assert_int_equal(asr_engine_check("", &err), PARLEY_OK);
	assert_int_equal(asr_engine_check("openai+ftp://x", &err), PARLEY_ERR_INVALID);
	assert_int_equal(asr_engine_check("whisper", &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "openai+http(s)://HOST"));
	assert_int_equal(asr_engine_check("exec:", &err), PARLEY_ERR_INVALID);
	assert_false(asr_engine_is_external("pocketsphinx:/x"));
	assert_true(asr_engine_is_external("exec:foo"));
	/* a URL carrying credentials or a query is refused; so is an unset key */
	struct asr_engine eng;
	struct asr_open_params p = asr_open_default_params();
	p.engine = "openai+http://user:secret@host/v1";
	assert_int_equal(asr_open(&p, &eng, &err), PARLEY_ERR_INVALID);
	assert_null(strstr(err.msg, "secret"));
	p.engine = "openai+http://127.0.0.1:9/v1";
	p.api_key_env = "PARLEY_TEST_NO_SUCH_VARIABLE";
	unsetenv("PARLEY_TEST_NO_SUCH_VARIABLE");
	assert_int_equal(asr_open(&p, &eng, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "PARLEY_TEST_NO_SUCH_VARIABLE"));
}

static void test_exec_engine(void **state)
{
	(void)state;
	struct asr_engine eng;
	struct asr_open_params p = asr_open_default_params();
	/* the audio path is appended as the last argument */
	p.engine = "exec:f() { test -s \"$1\" && printf '%s' '[{\"word\":\"Hi\",\"start\":0.1,"
		   "\"end\":0.2},{\"word\":\"'\"$PARLEY_LANGUAGE\"'\",\"start\":0.3,\"end\":0.4}]'; }; f";
	struct parley_error err = {0};
	assert_int_equal(asr_open(&p, &eng, &err), PARLEY_OK);
	static int16_t s[16000];
	struct asr_params ap = asr_default_params();
	ap.language = "ms";
	struct asr_word *w;
	size_t n;
	enum parley_err rc = asr_engine_transcribe(&eng, &ap, s, 16000, 16000, 2.0, &w, &n, &err);
	if (rc)
		fprintf(stderr, "%s\n", err.msg);
	assert_int_equal(rc, PARLEY_OK);
	assert_int_equal(n, 2);
	assert_string_equal(w[0].text, "hi");
	assert_string_equal(w[1].text, "ms");
	assert_true(fabs(w[1].start - 2.3) < 1e-9);
	free(w);
	asr_engine_close(&eng);
	p.engine = "exec:echo 'no such model' >&2; exit 65";
	assert_int_equal(asr_open(&p, &eng, &err), PARLEY_OK);
	assert_int_equal(asr_engine_transcribe(&eng, NULL, s, 1600, 16000, 0, &w, &n, &err),
			 PARLEY_ERR_REJECTED);
	assert_non_null(strstr(err.msg, "no such model"));
	asr_engine_close(&eng);
}

static void test_exec_run_limits(void **state)
{
	(void)state;
	struct exec_run_params p = exec_run_default_params();
	char *out;
	size_t len;
	struct parley_error err = {0};
	p.command = "cat";
	p.stdin_data = "abc";
	p.stdin_len = 3;
	assert_int_equal(exec_run(&p, &out, &len, &err), PARLEY_OK);
	assert_int_equal(len, 3);
	assert_string_equal(out, "abc");
	free(out);
	p.stdin_data = NULL;
	p.stdin_len = 0;
	p.command = "sleep 20";
	p.timeout = 0.3;
	assert_int_equal(exec_run(&p, &out, &len, &err), PARLEY_ERR_ENGINE);
	assert_non_null(strstr(err.msg, "no answer within"));
	p.command = "head -c 100000 /dev/zero";
	p.timeout = 20;
	p.max_output = 1000;
	assert_int_equal(exec_run(&p, &out, &len, &err), PARLEY_ERR_TOO_LARGE);
	p.max_output = 0;
	p.command = "echo first >&2; echo 'last words' >&2; exit 3";
	assert_int_equal(exec_run(&p, &out, &len, &err), PARLEY_ERR_ENGINE);
	assert_non_null(strstr(err.msg, "exit status 3: last words"));
	/* a command that never reads a large stdin does not kill the caller */
	static char big[1 << 20];
	p.command = "exit 0";
	p.stdin_data = big;
	p.stdin_len = sizeof(big);
	enum parley_err rc = exec_run(&p, &out, &len, &err);
	assert_true(rc == PARLEY_OK);
	free(out);
}

static void test_remote_connection_refused(void **state)
{
	(void)state;
	/* a port nothing listens on: bind, take the number, close */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t al = sizeof(a);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(fd, (struct sockaddr *)&a, &al);
	close(fd);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", ntohs(a.sin_port));
	struct remote_params rp = remote_default_params();
	rp.base_url = url;
	rp.retries = 1;
	rp.retry_max_wait = 0.01;
	struct remote *r;
	struct parley_error err = {0};
	assert_int_equal(remote_open(&rp, &r, &err), PARLEY_OK);
	struct remote_request q = {.path = "/models"};
	assert_int_equal(remote_perform(r, &q, 1, &err), PARLEY_ERR_ENGINE);
	assert_true(parley_err_is_transient(err.code));
	assert_int_equal(q.attempts, 2);
	assert_non_null(strstr(err.msg, "gave up after 2 attempts"));
	remote_close(r);
	rp.base_url = "file:///etc/passwd";
	assert_int_equal(remote_open(&rp, &r, &err), PARLEY_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openai_words),
		cmocka_unit_test(test_whispercpp_tokens_joined),
		cmocka_unit_test(test_no_word_times_spread),
		cmocka_unit_test(test_malformed_is_transient),
		cmocka_unit_test(test_language_codes),
		cmocka_unit_test(test_error_text_and_retry_after),
		cmocka_unit_test(test_scheme_table),
		cmocka_unit_test(test_exec_engine),
		cmocka_unit_test(test_exec_run_limits),
		cmocka_unit_test(test_remote_connection_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
