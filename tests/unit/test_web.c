/* test_web.c — the pure parts of the HTTP layer: the router over the real
 * route table (shapes, 404/405/400, parameter ranges, path tricks), the JSON
 * body parser (limits, depth, types) and the error-to-status table; the
 * plan for a refused request's body and the lingering close over loopback
 * sockets (web/linger.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "web/assets.h"
#include "web/http.h"
#include "web/json_body.h"
#include "web/linger.h"
#include "web/range.h"
#include "web/ratelimit.h"
#include "web/router.h"
#include "web/routes.h"
#include "util/json_nomem.h"
#include "util/timeutil.h"

#define SID "k2x4abcdefghijklmnop"

static enum router_outcome match(const char *method, const char *path, struct router_result *m)
{
	router_match(web_routes, web_routes_count, method, path, m);
	return m->outcome;
}

static void test_router_matches(void **state)
{
	(void)state;
	struct router_result m;
	assert_int_equal(match("PUT", "/v1/sessions/" SID "/chunks/3", &m), ROUTER_MATCH);
	assert_ptr_equal(m.route->handler, route_chunk_put);
	assert_string_equal(m.params.id, SID);
	assert_int_equal(m.params.seq, 3);
	assert_int_equal(match("DELETE", "/v1/sessions/" SID "/speakers/12/claim", &m), ROUTER_MATCH);
	assert_ptr_equal(m.route->handler, route_unclaim);
	assert_int_equal(m.params.speaker, 12);
	assert_int_equal(match("POST", "/v1/sessions/" SID "/speakers/12/claim", &m), ROUTER_MATCH);
	assert_ptr_equal(m.route->handler, route_claim);
	assert_int_equal(match("HEAD", "/health", &m), ROUTER_MATCH);
	assert_int_equal(match("GET", "/", &m), ROUTER_MATCH);
	assert_int_equal(match("GET", "/static/css/app.css", &m), ROUTER_MATCH);
	assert_string_equal(m.params.rest, "css/app.css");
	assert_int_equal(match("PUT", "/v1/sessions/" SID "/chunks/0", &m), ROUTER_MATCH);
	assert_int_equal(match("PUT", "/v1/sessions/" SID "/chunks/99999", &m), ROUTER_MATCH);
}

/* Batch routes: {bid} a positive id, {file} a plain file name. */
static void test_router_batches(void **state)
{
	(void)state;
	struct router_result m;
	assert_int_equal(match("PUT", "/v1/batches/12/files/call-1.wav", &m), ROUTER_MATCH);
	assert_ptr_equal(m.route->handler, route_batch_file_put);
	assert_int_equal(m.params.batch, 12);
	assert_string_equal(m.params.file, "call-1.wav");
	assert_int_equal(match("GET", "/v1/batches/999999999999/events", &m), ROUTER_MATCH);
	assert_int_equal(m.params.batch, 999999999999LL);
	assert_int_equal(match("POST", "/v1/batches", &m), ROUTER_MATCH);
	assert_int_equal(m.params.batch, 0);
	assert_string_equal(m.params.file, "");
	const char *bad[] = {"/v1/batches/0", "/v1/batches/012", "/v1/batches/-3", "/v1/batches/x",
			     "/v1/batches/1000000000000", "/v1/batches/1/files/.x",
			     "/v1/batches/1/files/..", "/v1/batches/1/files/a%2fb", "/v1/batches/1/files/a b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *method = strstr(bad[i], "/files/") ? "PUT" : "GET";
		assert_int_equal(match(method, bad[i], &m), ROUTER_INVALID);
		assert_true(m.msg[0] != '\0');
	}
	assert_int_equal(match("DELETE", "/v1/batches/1", &m), ROUTER_METHOD);
}

/* Recording routes: {rid} a positive id like {bid}. */
static void test_router_recordings(void **state)
{
	(void)state;
	struct router_result m;
	assert_int_equal(match("GET", "/v1/recordings/42", &m), ROUTER_MATCH);
	assert_ptr_equal(m.route->handler, route_recording_get);
	assert_int_equal(m.params.recording, 42);
	assert_int_equal(m.params.batch, 0);
	assert_int_equal(match("HEAD", "/v1/recordings/999999999999/audio", &m), ROUTER_MATCH);
	assert_ptr_equal(m.route->handler, route_recording_audio);
	assert_int_equal(m.params.recording, 999999999999LL);
	const char *bad[] = {"/v1/recordings/0", "/v1/recordings/07", "/v1/recordings/-1",
			     "/v1/recordings/1e3", "/v1/recordings/1000000000000/audio"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(match("GET", bad[i], &m), ROUTER_INVALID);
		assert_non_null(strstr(m.msg, "recording id"));
	}
	assert_int_equal(match("DELETE", "/v1/recordings/1", &m), ROUTER_METHOD);
	assert_int_equal(match("GET", "/v1/recordings/1/audio/x", &m), ROUTER_NOT_FOUND);
}

/* Range: one range of bytes, clamped; anything else the whole file. */
static void test_range(void **state)
{
	(void)state;
	uint64_t a = 0, b = 0;
	assert_int_equal(web_range_parse("bytes=0-99", 1000, &a, &b), WEB_RANGE_OK);
	assert_true(a == 0 && b == 99);
	assert_int_equal(web_range_parse("bytes=900-", 1000, &a, &b), WEB_RANGE_OK);
	assert_true(a == 900 && b == 999);
	assert_int_equal(web_range_parse("bytes=900-5000", 1000, &a, &b), WEB_RANGE_OK);
	assert_true(a == 900 && b == 999);
	assert_int_equal(web_range_parse("bytes=-100", 1000, &a, &b), WEB_RANGE_OK);
	assert_true(a == 900 && b == 999);
	assert_int_equal(web_range_parse("bytes=-5000", 1000, &a, &b), WEB_RANGE_OK);
	assert_true(a == 0 && b == 999);
	assert_int_equal(web_range_parse("bytes=1000-", 1000, &a, &b), WEB_RANGE_UNSATISFIABLE);
	assert_int_equal(web_range_parse("bytes=-0", 1000, &a, &b), WEB_RANGE_UNSATISFIABLE);
	assert_int_equal(web_range_parse("bytes=0-", 0, &a, &b), WEB_RANGE_UNSATISFIABLE);
	const char *none[] = {NULL, "", "bytes=", "bytes=-", "bytes=5-2", "bytes=0-1,3-4",
			      "items=0-1", "bytes= 1-2", "bytes=a-", "bytes=1-b",
			      "bytes=99999999999999999999999-"};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		assert_int_equal(web_range_parse(none[i], 1000, &a, &b), WEB_RANGE_NONE);
}

static void test_router_rejects(void **state)
{
	(void)state;
	struct router_result m;
	assert_int_equal(match("GET", "/v2/x", &m), ROUTER_NOT_FOUND);
	assert_int_equal(match("GET", "/v1/sessions/", &m), ROUTER_NOT_FOUND);
	assert_int_equal(match("GET", "//v1/sessions", &m), ROUTER_NOT_FOUND);
	assert_int_equal(match("GET", "v1/sessions", &m), ROUTER_NOT_FOUND);
	assert_int_equal(match("GET", "", &m), ROUTER_NOT_FOUND);
	assert_int_equal(match(NULL, "/health", &m), ROUTER_NOT_FOUND);
	assert_int_equal(match("GET", NULL, &m), ROUTER_NOT_FOUND);
	assert_int_equal(match("DELETE", "/v1/sessions", &m), ROUTER_METHOD);
	assert_string_equal(m.allow, "POST, GET, HEAD");
	assert_int_equal(match("GET", "/v1/sessions/" SID "/speakers/1/claim", &m), ROUTER_METHOD);
	assert_string_equal(m.allow, "POST, DELETE");
	/* malformed parameters: 400 before any handler */
	const char *bad[] = {
		"/v1/sessions/../../etc/chunks/1" /* not the shape: below */,
		"/v1/sessions/..%2F..%2Fetc/chunks/1",
		"/v1/sessions/K2X4ABCDEFGHIJKLMNOP/chunks/1",
		"/v1/sessions/k2x4abcdefghijklmno1/chunks/1",
		"/v1/sessions/" SID "x/chunks/1",
		"/v1/sessions/" SID "/chunks/-1",
		"/v1/sessions/" SID "/chunks/+1",
		"/v1/sessions/" SID "/chunks/01",
		"/v1/sessions/" SID "/chunks/100000",
		"/v1/sessions/" SID "/chunks/1e3",
		"/v1/sessions/" SID "/speakers/0/sample",
		"/v1/sessions/" SID "/speakers/1000/sample",
		"/static/../parley.db",
		"/static/.hidden",
		"/static/a/../../b",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum router_outcome o = match(i == 0 || i >= 12 ? "GET" : "PUT", bad[i], &m);
		if (i == 0)
			assert_int_equal(o, ROUTER_NOT_FOUND);
		else if (i < 10)
			assert_int_equal(o, ROUTER_INVALID);
		else
			assert_true(o == ROUTER_INVALID || o == ROUTER_METHOD);
		if (o == ROUTER_INVALID)
			assert_true(m.msg[0] != '\0');
	}
	char longpath[4096];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(match("GET", longpath, &m), ROUTER_NOT_FOUND);
}

static void *no_memory(size_t n)
{
	(void)n;
	return NULL; /* even the lexer cannot start */
}

static void test_json_body(void **state)
{
	(void)state;
	struct parley_error err = {0};
	json_t *o = NULL;
	assert_int_equal(web_json_body_parse("", 0, &o, &err), PARLEY_OK);
	assert_true(json_is_object(o) && json_object_size(o) == 0);
	json_decref(o);
	assert_int_equal(web_json_body_parse(" {\"title\":\"x\"} ", 15, &o, &err), PARLEY_OK);
	const char *title = NULL;
	assert_int_equal(web_json_string_field(o, "title", 200, &title, &err), PARLEY_OK);
	assert_string_equal(title, "x");
	assert_int_equal(web_json_string_field(o, "title", 0, &title, &err), PARLEY_ERR_INVALID);
	json_decref(o);
	assert_int_equal(web_json_body_parse("{\"title\":", 9, &o, &err), PARLEY_ERR_INVALID);
	assert_null(o);
	assert_non_null(strstr(err.msg, "line 1"));
	assert_int_equal(web_json_body_parse("[1]", 3, &o, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "an array"));
	assert_int_equal(web_json_body_parse("{\"a\":1,\"a\":2}", 13, &o, &err), PARLEY_ERR_INVALID);
	/* out of memory is the server's trouble (503), not a bad body (400) */
	json_nomem_install(no_memory, free);
	enum parley_err nrc = web_json_body_parse("{\"title\":\"x\"}", 13, &o, &err);
	json_nomem_install(NULL, NULL);
	assert_int_equal(nrc, PARLEY_ERR_NOMEM);
	assert_null(o);
	assert_int_equal(web_json_body_parse("{\"a\":\"\\u0000\"}", 14, &o, &err), PARLEY_ERR_INVALID);
	char deep[200];
	size_t n = 0;
	for (int i = 0; i < 40; i++)
		deep[n++] = '[';
	for (int i = 0; i < 40; i++)
		deep[n++] = ']';
	assert_int_equal(web_json_body_parse(deep, n, &o, &err), PARLEY_ERR_INVALID);
	char *big = malloc(WEB_JSON_LIMIT + 2);
	assert_non_null(big);
	memset(big, ' ', WEB_JSON_LIMIT + 1);
	assert_int_equal(web_json_body_parse(big, WEB_JSON_LIMIT + 1, &o, &err), PARLEY_ERR_TOO_LARGE);
	free(big);
}

static void test_statuses(void **state)
{
	(void)state;
	assert_int_equal(web_err_status(PARLEY_ERR_INVALID), 400);
	assert_int_equal(web_err_status(PARLEY_ERR_UNAUTHORIZED), 401);
	assert_int_equal(web_err_status(PARLEY_ERR_NOT_FOUND), 404);
	assert_int_equal(web_err_status(PARLEY_ERR_CONFLICT), 409);
	assert_int_equal(web_err_status(PARLEY_ERR_TOO_LARGE), 413);
	assert_int_equal(web_err_status(PARLEY_ERR_AUDIO), 422);
	assert_int_equal(web_err_status(PARLEY_ERR_EMPTY), 422);
	assert_int_equal(web_err_status(PARLEY_ERR_INTERNAL), 500);
	assert_int_equal(web_err_status(PARLEY_ERR_STORE), 503);
	assert_int_equal(web_err_status(PARLEY_ERR_UNAVAILABLE), 503);
	assert_int_equal(web_err_status((enum parley_err)999), 500);
	for (int c = 0; c < PARLEY_ERR_COUNT_; c++)
		assert_true(web_err_status((enum parley_err)c) >= 200);
	struct web_resp r;
	web_resp_init(&r);
	struct parley_error err = {0};
	parley_error_set(&err, PARLEY_ERR_CONFLICT, "chunk 3 was already uploaded");
	web_resp_error(&r, &err);
	assert_int_equal(r.status, 409);
	assert_string_equal(r.body,
		"{\"error\":{\"code\":\"conflict\",\"message\":\"chunk 3 was already uploaded\"}}");
	web_resp_release(&r);
	assert_non_null(web_asset_find("index.html"));
	assert_null(web_asset_find("../index.html"));
}

/* Issue 16: answers never carry server internals. */
static void test_error_public(void **state)
{
	(void)state;
	char out[512];
	const char *hide[2] = {"/srv/parley-data", "/real/parley-data"};
	web_error_public(503, PARLEY_ERR_IO,
			 "/srv/parley-data/sessions/abc/chunks/00015.tmp.4242.15: No space left on device",
			 "chunk 15 of session abc", hide, 2, out, sizeof(out));
	assert_non_null(strstr(out, "chunk 15 of session abc"));
	assert_null(strstr(out, "/srv"));
	assert_null(strstr(out, "tmp"));
	assert_null(strstr(out, "4242"));
	web_error_public(500, PARLEY_ERR_INTERNAL, "SELECT * FROM users", "", hide, 2, out, sizeof(out));
	assert_null(strstr(out, "SELECT"));
	assert_non_null(strstr(out, "the request"));
	web_error_public(413, PARLEY_ERR_TOO_LARGE, "data directory path too long: /real/parley-data!",
			 "x", hide, 2, out, sizeof(out));
	assert_string_equal(out, "data directory path too long: \xe2\x80\xa6!");
	web_error_public(404, PARLEY_ERR_NOT_FOUND, "no session abc", "x", hide, 2, out, sizeof(out));
	assert_string_equal(out, "no session abc");
	web_error_public(404, PARLEY_ERR_NOT_FOUND, "", "x", hide, 2, out, 4);
	assert_int_equal(strlen(out), 3);
	struct web_resp r;
	web_resp_init(&r);
	snprintf(r.about, sizeof(r.about), "session abc");
	r.hide[0] = "/srv/parley-data";
	struct parley_error err = {0};
	parley_error_set(&err, PARLEY_ERR_STORE, "UPDATE sessions SET x: disk I/O error");
	web_resp_error(&r, &err);
	assert_int_equal(r.status, 503);
	assert_null(strstr(r.body, "UPDATE"));
	assert_non_null(strstr(r.body, "session abc failed on the server"));
	web_resp_release(&r);
	snprintf(r.about, sizeof(r.about), "x");
	r.hide[0] = "/srv/parley-data";
	web_resp_fail(&r, 404, "not_found", "no file /srv/parley-data/x");
	assert_null(strstr(r.body, "/srv"));
	web_resp_release(&r);
}

static void test_ratelimit(void **state)
{
	(void)state;
	struct ratelimit_params p = {.max = 3, .window = 10, .lockout = 100, .slots = 4};
	struct ratelimit *rl = ratelimit_new(&p);
	assert_non_null(rl);
	assert_true(ratelimit_locked(rl, "a", 0) == 0);
	assert_true(ratelimit_note(rl, "a", 0) == 0);
	assert_true(ratelimit_note(rl, "a", 1) == 0);
	assert_true(ratelimit_locked(rl, "a", 1) == 0);
	assert_true(ratelimit_note(rl, "a", 2) == 100); /* the third in the window */
	assert_true(ratelimit_locked(rl, "a", 2) == 100);
	assert_true(ratelimit_locked(rl, "a", 52) == 50);
	assert_true(ratelimit_locked(rl, "b", 52) == 0); /* others are not affected */
	assert_true(ratelimit_locked(rl, "a", 102) == 0);
	/* failures spread wider than the window never lock */
	for (int i = 0; i < 10; i++)
		assert_true(ratelimit_note(rl, "c", 200 + 6.0 * i) == 0);
	/* a full table: new keys take the stalest slot; memory stays bounded */
	char k[16];
	for (int i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		ratelimit_note(rl, k, 1000 + i);
	}
	for (int i = 0; i < 3; i++)
		ratelimit_note(rl, "z", 2000);
	assert_true(ratelimit_locked(rl, "z", 2001) > 0);
	ratelimit_free(rl);
	ratelimit_free(NULL);
	struct ratelimit_params bad = {0};
	assert_null(ratelimit_new(&bad));
}

static void test_linger_plan(void **state)
{
	(void)state;
	const size_t d = WEB_LINGER_DRAIN_BYTES_DEFAULT;
	static const struct {
		struct web_linger_request rq;
		enum web_linger_plan plan;
	} cases[] = {
		{{0}, WEB_LINGER_NONE},                                        /* no body */
		{{.has_length = true, .length = 0}, WEB_LINGER_NONE},
		{{.has_length = true, .length = 0, .expect_continue = true}, WEB_LINGER_NONE},
		{{.has_length = true, .length = 1}, WEB_LINGER_DRAIN},
		{{.has_length = true, .length = 64 * 1024}, WEB_LINGER_DRAIN},
		{{.has_length = true, .length = 64 * 1024 + 1}, WEB_LINGER_CLOSE},
		{{.has_length = true, .length = 2 << 20}, WEB_LINGER_CLOSE},
		{{.has_length = true, .length = 10, .expect_continue = true}, WEB_LINGER_CLOSE},
		{{.chunked = true}, WEB_LINGER_CLOSE},
		{{.bad_framing = true}, WEB_LINGER_CLOSE},
		{{.bad_framing = true, .has_length = true, .length = 5}, WEB_LINGER_CLOSE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(web_linger_plan(&cases[i].rq, d), cases[i].plan);
	struct web_linger_request small = {.has_length = true, .length = 100};
	assert_int_equal(web_linger_plan(&small, 99), WEB_LINGER_CLOSE);
	assert_int_equal(web_linger_plan(&small, 0), WEB_LINGER_CLOSE);

	/* from the headers */
	static const struct {
		const char *h[3][2];
		enum web_linger_plan plan;
	} hs[] = {
		{{{"Host", "x"}}, WEB_LINGER_NONE},
		{{{"content-length", "10000"}}, WEB_LINGER_DRAIN},
		{{{"Content-Length", "10000"}, {"Content-Length", "10000"}}, WEB_LINGER_DRAIN},
		{{{"Content-Length", "10000"}, {"Content-Length", "10001"}}, WEB_LINGER_CLOSE},
		{{{"Content-Length", "2097152"}}, WEB_LINGER_CLOSE},
		{{{"Content-Length", "0"}, {"Expect", "100-continue"}}, WEB_LINGER_NONE},
		{{{"Content-Length", "10"}, {"expect", "100-Continue"}}, WEB_LINGER_CLOSE},
		{{{"Content-Length", "10"}, {"Expect", "something-else"}}, WEB_LINGER_DRAIN},
		{{{"Transfer-Encoding", "chunked"}}, WEB_LINGER_CLOSE},
		{{{"Transfer-Encoding", "gzip"}}, WEB_LINGER_CLOSE},
		{{{"Content-Length", "10"}, {"Transfer-Encoding", "chunked"}}, WEB_LINGER_CLOSE},
		{{{"Content-Length", "-1"}}, WEB_LINGER_CLOSE},
		{{{"Content-Length", "+5"}}, WEB_LINGER_CLOSE},
		{{{"Content-Length", ""}}, WEB_LINGER_CLOSE},
		{{{"Content-Length", "12abc"}}, WEB_LINGER_CLOSE},
		{{{"Content-Length", "99999999999999999999"}}, WEB_LINGER_CLOSE}, /* > 2^64 */
		{{{"Content-Length", "000000000000000000010"}}, WEB_LINGER_CLOSE}, /* 21 digits */
	};
	for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
		struct web_linger_request rq = {0};
		for (int k = 0; k < 3 && hs[i].h[k][0]; k++)
			web_linger_request_header(&rq, hs[i].h[k][0], hs[i].h[k][1]);
		web_linger_request_header(&rq, NULL, "x");
		if (web_linger_plan(&rq, d) != hs[i].plan)
			fail_msg("headers %zu: plan %d, not %d", i, web_linger_plan(&rq, d), hs[i].plan);
	}
	struct web_linger_request rq = {0};
	web_linger_request_header(&rq, "Content-Length", "5");
	web_linger_request_header(&rq, "Content-Length", "6");
	assert_true(rq.lengths == 2 && rq.lengths_differ && rq.bad_framing);
	rq = (struct web_linger_request){0};
	web_linger_request_header(&rq, "Content-Length", "5");
	web_linger_request_header(&rq, "Transfer-Encoding", "Chunked");
	assert_true(rq.chunked && rq.bad_framing && rq.has_length && rq.length == 5);
}

/* A connected loopback TCP pair: *server (accepted) and *client. */
static void tcp_pair(int *server, int *client)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	assert_true(ls >= 0);
	assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(ls, 4), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &al), 0);
	*client = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(*client, (struct sockaddr *)&a, sizeof(a)), 0);
	*server = accept(ls, NULL, NULL);
	assert_true(*server >= 0);
	close(ls);
}

/* Wait (10 s at most: a bound on a hang, not a timing) until the linger's
 * counters satisfy done(). */
static struct web_linger_stats linger_wait(struct web_linger *l,
					   bool (*done)(const struct web_linger_stats *))
{
	struct web_linger_stats st;
	double until = time_mono() + 10.0;
	do {
		web_linger_get_stats(l, &st);
		if (done(&st))
			break;
		time_sleep(0.01);
	} while (time_mono() < until);
	return st;
}

static bool none_lingering(const struct web_linger_stats *st) { return st->lingering == 0; }

static void test_linger_drains(void **state)
{
	(void)state;
	struct web_linger_params p = web_linger_default_params();
	struct web_linger *l = NULL;
	struct parley_error err = {0};
	assert_int_equal(web_linger_new(&p, &l, &err), PARLEY_OK);
	int srv, cli;
	tcp_pair(&srv, &cli);
	static char buf[100000];
	memset(buf, 'x', sizeof(buf));
	/* the body the server never read, then the server is done with it */
	assert_int_equal(send(cli, buf, sizeof(buf), MSG_NOSIGNAL), (ssize_t)sizeof(buf));
	assert_true(web_linger_add(l, srv));
	/* the client sees the end of the answer (EOF), not a reset, and may
	 * go on writing what it had started */
	char c;
	assert_int_equal(recv(cli, &c, 1, 0), 0);
	size_t sent = 0;
	while (sent < sizeof(buf)) {
		ssize_t n = send(cli, buf + sent, sizeof(buf) - sent, MSG_NOSIGNAL);
		assert_true(n > 0);
		sent += (size_t)n;
	}
	close(cli); /* then the linger closes its end */
	struct web_linger_stats st = linger_wait(l, none_lingering);
	assert_int_equal(st.lingering, 0);
	assert_int_equal(st.added, 1);
	assert_int_equal(st.eof, 1);
	assert_int_equal(st.cut, 0);
	assert_int_equal(st.bytes, 2 * sizeof(buf));
	web_linger_free(l);
	web_linger_free(NULL);
}

static void test_linger_bounds(void **state)
{
	(void)state;
	struct web_linger_params p = {.seconds = 0.2, .max_bytes = 64 * 1024, .max_sockets = 1};
	struct web_linger *l = NULL;
	struct parley_error err = {0};
	assert_int_equal(web_linger_new(&p, &l, &err), PARLEY_OK);
	/* a client that keeps writing is cut past max_bytes: its writes fail */
	int srv, cli;
	tcp_pair(&srv, &cli);
	assert_true(web_linger_add(l, srv));
	int srv2, cli2;
	tcp_pair(&srv2, &cli2);
	assert_false(web_linger_add(l, srv2)); /* max_sockets: closed at once */
	close(cli2);
	static char buf[65536];
	memset(buf, 'y', sizeof(buf));
	bool failed = false;
	for (int i = 0; i < 4096 && !failed; i++)
		failed = send(cli, buf, sizeof(buf), MSG_NOSIGNAL) < 0;
	assert_true(failed);
	assert_true(errno == EPIPE || errno == ECONNRESET);
	close(cli);
	struct web_linger_stats st = linger_wait(l, none_lingering);
	assert_int_equal(st.cut, 1);
	assert_int_equal(st.refused, 1);
	assert_true(st.bytes >= p.max_bytes && st.bytes < 4096ull * sizeof(buf));
	/* a silent client is cut at `seconds` */
	tcp_pair(&srv, &cli);
	assert_true(web_linger_add(l, srv));
	st = linger_wait(l, none_lingering);
	assert_int_equal(st.lingering, 0);
	assert_int_equal(st.cut, 2);
	close(cli);
	/* a socket still lingering is closed by web_linger_free */
	p.seconds = 3600;
	web_linger_free(l);
	assert_int_equal(web_linger_new(&p, &l, &err), PARLEY_OK);
	tcp_pair(&srv, &cli);
	assert_true(web_linger_add(l, srv));
	web_linger_free(l);
	char c;
	assert_true(recv(cli, &c, 1, 0) <= 0);
	close(cli);
	struct web_linger_params bad = {.seconds = 0, .max_bytes = 1, .max_sockets = 1};
	assert_int_equal(web_linger_new(&bad, &l, &err), PARLEY_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_router_matches),
		cmocka_unit_test(test_router_rejects),
		cmocka_unit_test(test_router_batches),
		cmocka_unit_test(test_router_recordings),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_json_body),
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_error_public),
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_linger_plan),
		cmocka_unit_test(test_linger_drains),
		cmocka_unit_test(test_linger_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
