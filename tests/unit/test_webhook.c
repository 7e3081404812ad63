/* test_webhook.c — signed webhooks (core/webhook.h): the Standard Webhooks
 * signature vector, secrets, URLs, events, the retry schedule and
 * Retry-After; on a SQLite store: the hook enqueues each event once, the
 * sender's outcomes (2xx, 500, 429 + Retry-After, timeout, 410, giving up),
 * every attempt logged, a sender killed mid-attempt leaving the delivery to
 * the next one with the same webhook-id, and redelivery. HTTP goes through
 * the post seam: a scripted fake records what would have been sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/webhook.h"
#include "store/db.h"
#include "store/store.h"
#include "store/store_int.h"
#include "util/fs.h"
#include "util/timeutil.h"

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

/* The example of the Standard Webhooks reference libraries. */
static void test_signature_vector(void **state)
{
	(void)state;
	char sig[128];
	struct parley_error err = {0};
	const char *body = "{\"test\": 2432232314}";
	assert_int_equal(webhook_sign(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
				      strlen(body), sig, sizeof(sig), &err), PARLEY_OK);
	assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	/* a raw secret signs with its bytes; a different timestamp changes it */
	char sig2[128];
	assert_int_equal(webhook_sign(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, body,
				      strlen(body), sig2, sizeof(sig2), &err), PARLEY_OK);
	assert_string_not_equal(sig, sig2);
	assert_int_equal(webhook_sign("0123456789abcdef0123", "id", 1, "{}", 2, sig2, sizeof(sig2), &err),
			 PARLEY_OK);
	assert_int_equal(strncmp(sig2, "v1,", 3), 0);
}

static void test_secrets_urls_events(void **state)
{
	(void)state;
	uint8_t key[WEBHOOK_KEY_MAX];
	size_t n;
	struct parley_error err = {0};
	assert_int_equal(webhook_secret_key(SECRET, key, &n, &err), PARLEY_OK);
	assert_int_equal(n, 24);
	assert_int_equal(webhook_secret_key("whsec_!!notbase64", key, &n, &err), PARLEY_ERR_INVALID);
	assert_null(strstr(err.msg, "notbase64")); /* never quoted */
	assert_int_equal(webhook_secret_key("short", key, &n, &err), PARLEY_ERR_INVALID);
	assert_int_equal(webhook_secret_key("whsec_c2hvcnQ=", key, &n, &err), PARLEY_ERR_INVALID);

	assert_int_equal(webhook_url_check("http://127.0.0.1:9000/hook", &err), PARLEY_OK);
	assert_int_equal(webhook_url_check("https://example.com/h?x=1", &err), PARLEY_OK);
	assert_int_equal(webhook_url_check("ftp://example.com/", &err), PARLEY_ERR_INVALID);
	assert_int_equal(webhook_url_check("http://user:pw@example.com/", &err), PARLEY_ERR_INVALID);
	assert_null(strstr(err.msg, "pw"));
	assert_int_equal(webhook_url_check("http:///path", &err), PARLEY_ERR_INVALID);
	assert_int_equal(webhook_url_check("http://a b/", &err), PARLEY_ERR_INVALID);

	unsigned ev;
	char text[32];
	assert_int_equal(webhook_events_parse("stage,batch", &ev, &err), PARLEY_OK);
	assert_int_equal(ev, WEBHOOK_EV_BATCH | WEBHOOK_EV_STAGE);
	webhook_events_format(ev | WEBHOOK_EV_FILE, text, sizeof(text));
	assert_string_equal(text, "batch,file,stage");
	assert_int_equal(webhook_events_parse("batch,files", &ev, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "'files'"));
	assert_int_equal(webhook_events_parse("", &ev, &err), PARLEY_ERR_INVALID);
}

static void test_schedule(void **state)
{
	(void)state;
	struct webhook_schedule s;
	struct parley_error err = {0};
	assert_int_equal(webhook_schedule_parse("", &s, &err), PARLEY_OK);
	assert_int_equal(s.n, 7); /* Svix: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h */
	static const double svix[] = {5, 300, 1800, 7200, 18000, 36000, 36000};
	for (int i = 0; i < 7; i++)
		assert_true(s.delay[i] == svix[i]);
	assert_true(webhook_schedule_next(&s, 1, -1, 0) == 5);
	assert_true(webhook_schedule_next(&s, 2, -1, 1) == 360);  /* +20% */
	assert_true(webhook_schedule_next(&s, 2, -1, -1) == 240); /* -20% */
	assert_true(webhook_schedule_next(&s, 8, -1, 0) < 0);     /* used up */
	assert_true(webhook_schedule_next(&s, 0, -1, 0) < 0);
	/* Retry-After is a floor, capped at a day */
	assert_true(webhook_schedule_next(&s, 1, 60, 0) == 60);
	assert_true(webhook_schedule_next(&s, 2, 60, 0) == 300);
	assert_true(webhook_schedule_next(&s, 1, 1e9, 0) == WEBHOOK_RETRY_AFTER_MAX);
	assert_int_equal(webhook_schedule_parse("0.5,1s,2m,1h,1d", &s, &err), PARLEY_OK);
	assert_int_equal(s.n, 5);
	assert_true(s.delay[0] == 0.5 && s.delay[2] == 120 && s.delay[4] == 86400);
	static const char *const bad[] = {"5x", "-1", ",", "5,", "1,,2", "8d", "abc", "1e999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(webhook_schedule_parse(bad[i], &s, &err), PARLEY_ERR_INVALID);
}

static void test_retry_after(void **state)
{
	(void)state;
	double now = 1445412480.0; /* Wed, 21 Oct 2015 07:28:00 GMT */
	assert_true(webhook_parse_retry_after("120", now) == 120);
	assert_true(webhook_parse_retry_after(" 7 \r\n", now) == 7);
	assert_true(webhook_parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now) == 30);
	assert_true(webhook_parse_retry_after("Wednesday, 21-Oct-15 07:29:00 GMT", now) == 60);
	assert_true(webhook_parse_retry_after("Wed Oct 21 07:28:10 2015", now) == 10);
	assert_true(webhook_parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now) == 0); /* past */
	assert_true(webhook_parse_retry_after("99999999999999", now) == WEBHOOK_RETRY_AFTER_MAX);
	static const char *const bad[] = {"", "soon", "-5", "5s", "1.5", "Wed, 21 Oct 2015", NULL};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_true(webhook_parse_retry_after(bad[i], now) < 0);
}

/* ------------------------------------------------------------ the store */

struct fake_reply {
	long status;
	double retry_after;
	const char *error;
};

struct fake {
	const struct fake_reply *script;
	int nscript, calls;
	char ids[16][WEBHOOK_EVENT_ID_MAX];
	char bodies[16][2048];
	bool signed_ok[16];
};

static const char *header(const struct webhook_post *req, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; req->headers[i]; i++)
		if (strncmp(req->headers[i], name, n) == 0 && req->headers[i][n] == ':')
			return req->headers[i] + n + 2;
	return NULL;
}

static void fake_post(void *ud, const struct webhook_post *req, struct webhook_reply *rep)
{
	struct fake *f = ud;
	memset(rep, 0, sizeof(*rep));
	int k = f->calls++;
	const char *id = header(req, "webhook-id"), *ts = header(req, "webhook-timestamp"),
		   *sig = header(req, "webhook-signature");
	assert_non_null(id);
	assert_non_null(ts);
	assert_non_null(sig);
	char want[128];
	assert_int_equal(webhook_sign(SECRET, id, strtoll(ts, NULL, 10), req->body, req->len, want,
				      sizeof(want), NULL), PARLEY_OK);
	if (k < 16) {
		snprintf(f->ids[k], sizeof(f->ids[k]), "%s", id);
		snprintf(f->bodies[k], sizeof(f->bodies[k]), "%.*s", (int)req->len, req->body);
		f->signed_ok[k] = strcmp(want, sig) == 0;
	}
	const struct fake_reply *r = k < f->nscript ? &f->script[k] : NULL;
	rep->status = r ? r->status : 200;
	rep->retry_after = r ? r->retry_after : -1;
	snprintf(rep->error, sizeof(rep->error), "%s", r && r->error ? r->error : "");
}

/* The killed sender's request: it never returns (SIGKILL mid-attempt). */
static void pause_post(void *ud, const struct webhook_post *req, struct webhook_reply *rep)
{
	(void)ud;
	(void)req;
	(void)rep;
	kill(getpid(), SIGKILL);
	pause();
}

static double no_jitter(void *ud)
{
	(void)ud;
	return 0;
}

struct fixture {
	char dir[256];
	char path[300];
	struct store *st;
	int64_t batch, rec[3];
	struct fake fake;
	struct webhook_send_params sp;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "%s/parley-webhook-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	struct parley_error err = {0};
	if (store_open(f->path, &f->st, &err) || store_batch_ensure(f->st, "calls", "batch", &f->batch, &err) ||
	    store_batch_set_pipeline(f->st, f->batch, "tick1,tick2", &err))
		return -1;
	static const char *const names[] = {"a.wav", "b.wav", "c.wav"};
	for (int i = 0; i < 3; i++)
		if (store_recording_add(f->st, f->batch, names[i], "/src", "fp", NULL, &f->rec[i], &err))
			return -1;
	f->sp = webhook_default_send_params();
	f->sp.post = fake_post;
	f->sp.post_ud = &f->fake;
	f->sp.jitter = no_jitter;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_close(f->st);
	fs_remove_tree(f->dir, NULL);
	free(f);
	return 0;
}

static void configure(struct fixture *f, const char *events, const char *schedule)
{
	struct webhook_config wc = webhook_default_config();
	struct parley_error err = {0};
	snprintf(wc.url, sizeof(wc.url), "http://127.0.0.1:1/hook");
	snprintf(wc.secret, sizeof(wc.secret), SECRET);
	snprintf(wc.schedule, sizeof(wc.schedule), "%s", schedule);
	assert_int_equal(webhook_events_parse(events, &wc.events, &err), PARLEY_OK);
	assert_int_equal(webhook_set(f->st, f->batch, &wc, &err), PARLEY_OK);
}

static const char *const stages[] = {"tick1", "tick2"};

/* Finish recording i (done or failed) with the hook, as the worker does. */
static void finish(struct fixture *f, int i, enum store_status status)
{
	struct parley_error err = {0};
	assert_int_equal(store_begin(f->st, &err), PARLEY_OK);
	assert_int_equal(store_recording_finish(f->st, f->rec[i], NULL, status, NULL,
						status == STORE_FAILED ? "broken" : NULL, &err), PARLEY_OK);
	struct webhook_finish fin = {
		.batch_id = f->batch, .rec_id = f->rec[i], .rec_name = "x.wav", .status = status,
		.error = "broken", .stages = stages, .nstages = 2, .public_url = "http://parley:8080/",
	};
	assert_int_equal(webhook_on_finish(f->st, &fin, &err), PARLEY_OK);
	assert_int_equal(store_commit(f->st, &err), PARLEY_OK);
}

struct list {
	int n;
	struct webhook_delivery d[16];
};

static int collect(const struct webhook_delivery *d, void *ud)
{
	struct list *l = ud;
	if (l->n < 16)
		l->d[l->n++] = *d;
	return 0;
}

static struct list list_all(struct fixture *f)
{
	struct list l;
	memset(&l, 0, sizeof(l));
	struct parley_error err = {0};
	assert_int_equal(webhook_each(f->st, 0, collect, &l, &err), PARLEY_OK);
	return l;
}

static const struct webhook_delivery *find(const struct list *l, const char *event_id)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->d[i].event_id, event_id) == 0)
			return &l->d[i];
	return NULL;
}

static void test_hook_events_once(void **state)
{
	struct fixture *f = *state;
	/* no endpoint: the hook does nothing */
	finish(f, 0, STORE_DONE);
	assert_int_equal(list_all(f).n, 0);
	configure(f, "batch,file,stage", "");
	finish(f, 1, STORE_FAILED);
	struct list l = list_all(f);
	assert_int_equal(l.n, 1);
	assert_non_null(find(&l, "evt_r2_v0_failed"));
	finish(f, 2, STORE_DONE); /* the last one: stages and the batch complete */
	finish(f, 2, STORE_DONE); /* a second worker seeing the same: nothing new */
	l = list_all(f);
	assert_int_equal(l.n, 5);
	assert_non_null(find(&l, "evt_r3_v0_done"));
	assert_non_null(find(&l, "evt_b1_v0_tick1"));
	assert_non_null(find(&l, "evt_b1_v0_tick2"));
	const struct webhook_delivery *b = find(&l, "evt_b1_v0_completed");
	assert_non_null(b);
	assert_string_equal(b->type, "batch.completed");
	assert_string_equal(b->status, "pending");
	assert_string_equal(b->batch, "calls");

	/* the batch.completed body, as the receiver will see it */
	f->sp.batch_id = f->batch;
	int attempted = 0;
	struct parley_error err = {0};
	assert_int_equal(webhook_deliver_due(f->st, &f->sp, 16, &attempted, &err), PARLEY_OK);
	assert_int_equal(attempted, 5);
	int k;
	for (k = 0; k < 5 && strcmp(f->fake.ids[k], "evt_b1_v0_completed") != 0; k++)
		;
	assert_true(k < 5);
	assert_true(f->fake.signed_ok[k]);
	json_error_t je;
	json_t *j = json_loads(f->fake.bodies[k], 0, &je);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "batch.completed");
	json_t *data = json_object_get(j, "data");
	assert_string_equal(json_string_value(json_object_get(json_object_get(data, "batch"), "name")), "calls");
	json_t *counts = json_object_get(data, "counts");
	assert_int_equal(json_integer_value(json_object_get(counts, "total")), 3);
	assert_int_equal(json_integer_value(json_object_get(counts, "done")), 2);
	assert_int_equal(json_integer_value(json_object_get(counts, "failed")), 1);
	assert_string_equal(json_string_value(json_object_get(data, "status")), "CompletedWithErrors");
	assert_int_equal(json_array_size(json_object_get(data, "stages")), 2);
	assert_string_equal(json_string_value(json_object_get(data, "results_url")),
			    "http://parley:8080/v1/batches/1/results");
	json_decref(j);
	l = list_all(f);
	for (int i = 0; i < l.n; i++) {
		assert_string_equal(l.d[i].status, "delivered");
		assert_int_equal(l.d[i].attempts, 1);
	}
	/* nothing left */
	assert_int_equal(webhook_deliver_due(f->st, &f->sp, 16, &attempted, &err), PARLEY_OK);
	assert_int_equal(attempted, 0);
}

struct attempts {
	int n;
	struct webhook_attempt a[16];
};

static int collect_attempt(const struct webhook_attempt *a, void *ud)
{
	struct attempts *l = ud;
	if (l->n < 16)
		l->a[l->n++] = *a;
	return 0;
}

/* Make every pending delivery due now (the test does not wait). */
static void due_now(struct fixture *f)
{
	struct parley_error err = {0};
	assert_int_equal(store_sql_exec(f->st, NULL, &err, "UPDATE webhook_deliveries SET next_at = 0"
					" WHERE status = 'pending'", ""), PARLEY_OK);
}

static int64_t only_delivery(struct fixture *f, struct webhook_delivery *out)
{
	struct list l = list_all(f);
	assert_int_equal(l.n, 1);
	*out = l.d[0];
	return l.d[0].id;
}

static void deliver(struct fixture *f, int want_attempts)
{
	int attempted = -1;
	struct parley_error err = {0};
	assert_int_equal(webhook_deliver_due(f->st, &f->sp, 16, &attempted, &err), PARLEY_OK);
	assert_int_equal(attempted, want_attempts);
}

/* 500, 429 with Retry-After, a timeout, then 200: retried on the schedule,
 * the same webhook-id every time, every attempt logged. */
static void test_retries_then_delivered(void **state)
{
	struct fixture *f = *state;
	configure(f, "batch", "10s,20s,40s");
	static const struct fake_reply script[] = {
		{500, -1, "HTTP 500: boom"}, {429, 120, "HTTP 429"}, {0, -1, "no answer within 15 s"},
		{204, -1, NULL},
	};
	f->fake.script = script;
	f->fake.nscript = 4;
	for (int i = 0; i < 3; i++)
		finish(f, i, STORE_DONE);
	struct webhook_delivery d;
	int64_t id = only_delivery(f, &d);
	double t0 = time_wall();
	deliver(f, 1);
	only_delivery(f, &d);
	assert_string_equal(d.status, "pending");
	assert_int_equal(d.last_status, 500);
	assert_true(d.next_at >= t0 + 10 - 1 && d.next_at <= time_wall() + 10 + 1);
	deliver(f, 0); /* not due yet */
	due_now(f);
	deliver(f, 1);
	only_delivery(f, &d);
	assert_true(d.next_at >= t0 + 120 - 1); /* Retry-After beat the 20 s of the schedule */
	due_now(f);
	deliver(f, 1);
	only_delivery(f, &d);
	assert_string_equal(d.last_error, "no answer within 15 s");
	due_now(f);
	deliver(f, 1);
	only_delivery(f, &d);
	assert_string_equal(d.status, "delivered");
	assert_int_equal(d.attempts, 4);
	for (int k = 1; k < 4; k++)
		assert_string_equal(f->fake.ids[k], f->fake.ids[0]);
	for (int k = 0; k < 4; k++)
		assert_true(f->fake.signed_ok[k]);
	struct attempts a = {0};
	struct parley_error err = {0};
	assert_int_equal(webhook_attempt_each(f->st, id, collect_attempt, &a, &err), PARLEY_OK);
	assert_int_equal(a.n, 4);
	assert_int_equal(a.a[0].status_code, 500);
	assert_string_equal(a.a[0].error, "HTTP 500: boom");
	assert_int_equal(a.a[1].status_code, 429);
	assert_int_equal(a.a[2].status_code, 0);
	assert_int_equal(a.a[3].status_code, 204);
	assert_string_equal(a.a[3].error, "");
}

/* The schedule used up: failed, "gave up"; redeliver starts a new round. */
static void test_gives_up_and_redeliver(void **state)
{
	struct fixture *f = *state;
	configure(f, "batch", "1s");
	static const struct fake_reply script[] = {{503, -1, NULL}, {502, -1, NULL}};
	f->fake.script = script;
	f->fake.nscript = 2;
	for (int i = 0; i < 3; i++)
		finish(f, i, STORE_DONE);
	struct webhook_delivery d;
	deliver(f, 1);
	due_now(f);
	deliver(f, 1);
	int64_t id = only_delivery(f, &d);
	assert_string_equal(d.status, "failed");
	assert_non_null(strstr(d.last_error, "gave up after 2 attempts: HTTP 502"));
	due_now(f);
	deliver(f, 0);
	int64_t rid = 0;
	bool reenabled = true;
	struct parley_error err = {0};
	assert_int_equal(webhook_redeliver(f->st, d.event_id, &rid, &reenabled, &err), PARLEY_OK);
	assert_int_equal(rid, id);
	assert_false(reenabled);
	deliver(f, 1);
	only_delivery(f, &d);
	assert_string_equal(d.status, "delivered");
	assert_int_equal(d.attempts, 3);
	assert_int_equal(webhook_redeliver(f->st, "999", &rid, &reenabled, &err), PARLEY_ERR_NOT_FOUND);
	assert_int_equal(webhook_redeliver(f->st, "evt_nope", &rid, &reenabled, &err), PARLEY_ERR_NOT_FOUND);
}

/* 410 Gone disables the endpoint and its other pending deliveries; new
 * events are stored disabled; redeliver enables it again. */
static void test_gone_disables(void **state)
{
	struct fixture *f = *state;
	configure(f, "file", "");
	static const struct fake_reply script[] = {{410, -1, NULL}};
	f->fake.script = script;
	f->fake.nscript = 1;
	finish(f, 0, STORE_DONE);
	finish(f, 1, STORE_DONE);
	deliver(f, 1); /* the first is answered 410; the second is set aside */
	struct list l = list_all(f);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.d[0].status, "disabled");
	assert_string_equal(l.d[1].status, "disabled");
	struct webhook_config wc;
	bool found;
	struct parley_error err = {0};
	assert_int_equal(webhook_get(f->st, f->batch, &wc, &found, &err), PARLEY_OK);
	assert_true(found && wc.disabled);
	finish(f, 2, STORE_DONE);
	l = list_all(f);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.d[0].status, "disabled");
	int64_t rid;
	bool reenabled = false;
	assert_int_equal(webhook_redeliver(f->st, l.d[0].event_id, &rid, &reenabled, &err), PARLEY_OK);
	assert_true(reenabled);
	deliver(f, 1);
	l = list_all(f);
	assert_string_equal(l.d[0].status, "delivered");
	assert_string_equal(l.d[1].status, "disabled");
}

/* A sender killed mid-attempt: its attempt row says so, its lease is
 * reclaimed at once (a dead pid of this host), and the next sender sends
 * the same webhook-id. */
static void test_killed_sender(void **state)
{
	struct fixture *f = *state;
	configure(f, "batch", "");
	for (int i = 0; i < 3; i++)
		finish(f, i, STORE_DONE);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* the child claims and "hangs" in the request: killed there */
		struct store *st = NULL;
		struct parley_error err = {0};
		if (store_open(f->path, &st, &err))
			_exit(1);
		struct webhook_send_params sp = webhook_default_send_params();
		sp.post = pause_post;
		int attempted;
		webhook_deliver_due(st, &sp, 1, &attempted, &err);
		_exit(2);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	struct webhook_delivery d;
	int64_t id = only_delivery(f, &d);
	assert_string_equal(d.status, "pending");
	assert_int_equal(d.attempts, 1);
	struct attempts a = {0};
	struct parley_error err = {0};
	assert_int_equal(webhook_attempt_each(f->st, id, collect_attempt, &a, &err), PARLEY_OK);
	assert_int_equal(a.n, 1);
	assert_non_null(strstr(a.a[0].error, "no answer recorded"));
	deliver(f, 1);
	only_delivery(f, &d);
	assert_string_equal(d.status, "delivered");
	assert_string_equal(f->fake.ids[0], "evt_b1_v0_completed");
	a.n = 0;
	assert_int_equal(webhook_attempt_each(f->st, id, collect_attempt, &a, &err), PARLEY_OK);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.a[1].status_code, 200);
}

/* PostgreSQL (PARLEY_TEST_PG_URL): two workers finish the batch's last two
 * recordings at the same time, in two transactions. Without the batch-row
 * lock each would see the other's recording still running (READ COMMITTED)
 * and neither would enqueue batch.completed; with it the second waits for
 * the first and sees both done. */
static void pg_exec(const char *target, const char *sql)
{
	struct db *db = NULL;
	struct parley_error err = {0};
	if (db_open(target, &db, &err) != PARLEY_OK || db_exec(db, sql, &err) != PARLEY_OK)
		fail_msg("%s: %s", sql, err.msg);
	db_close(db);
}

struct second {
	struct store *st;
	int64_t batch, rec;
	enum parley_err rc;
	bool entered;
	pthread_mutex_t lock;
};

static void *second_finish(void *arg)
{
	struct second *t = arg;
	struct parley_error err = {0};
	struct webhook_finish fin = {.batch_id = t->batch, .rec_id = t->rec, .rec_name = "b",
				     .status = STORE_DONE, .stages = stages, .nstages = 2};
	enum parley_err rc = store_begin(t->st, &err);
	if (!rc)
		rc = store_recording_finish(t->st, t->rec, NULL, STORE_DONE, NULL, NULL, &err);
	pthread_mutex_lock(&t->lock);
	t->entered = true;
	pthread_mutex_unlock(&t->lock);
	if (!rc)
		rc = webhook_on_finish(t->st, &fin, &err); /* waits for the first's commit */
	if (!rc)
		rc = store_commit(t->st, &err);
	else
		store_rollback(t->st);
	t->rc = rc;
	return NULL;
}

static void test_last_two_at_once_pg(void **state)
{
	(void)state;
	const char *url = getenv("PARLEY_TEST_PG_URL");
	if (!url || !*url) {
		printf("  (PARLEY_TEST_PG_URL unset: the PostgreSQL case is skipped)\n");
		skip();
	}
	char schema[64], sql[200], target[1200];
	snprintf(schema, sizeof(schema), "parley_wh%ld", (long)getpid());
	snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", schema, schema);
	pg_exec(url, sql);
	snprintf(target, sizeof(target), "%s%soptions=-csearch_path%%3D%s", url,
		 strchr(url, '?') ? "&" : "?", schema);
	struct store *a = NULL, *b = NULL;
	struct parley_error err = {0};
	int64_t batch, ra, rb;
	assert_int_equal(store_open(target, &a, &err), PARLEY_OK);
	assert_int_equal(store_open(target, &b, &err), PARLEY_OK);
	assert_int_equal(store_batch_ensure(a, "calls", "batch", &batch, &err), PARLEY_OK);
	assert_int_equal(store_batch_set_pipeline(a, batch, "tick1,tick2", &err), PARLEY_OK);
	assert_int_equal(store_recording_add(a, batch, "a", "/s", "1", NULL, &ra, &err), PARLEY_OK);
	assert_int_equal(store_recording_add(a, batch, "b", "/s", "1", NULL, &rb, &err), PARLEY_OK);
	struct webhook_config wc = webhook_default_config();
	snprintf(wc.url, sizeof(wc.url), "http://127.0.0.1:1/hook");
	snprintf(wc.secret, sizeof(wc.secret), SECRET);
	wc.events = WEBHOOK_EV_BATCH | WEBHOOK_EV_STAGE;
	assert_int_equal(webhook_set(a, batch, &wc, &err), PARLEY_OK);

	/* the first finishes and runs the hook, but has not committed yet */
	struct webhook_finish fin = {.batch_id = batch, .rec_id = ra, .rec_name = "a",
				     .status = STORE_DONE, .stages = stages, .nstages = 2};
	assert_int_equal(store_begin(a, &err), PARLEY_OK);
	assert_int_equal(store_recording_finish(a, ra, NULL, STORE_DONE, NULL, NULL, &err), PARLEY_OK);
	assert_int_equal(webhook_on_finish(a, &fin, &err), PARLEY_OK);
	/* the second runs its whole finish meanwhile */
	struct second t = {.st = b, .batch = batch, .rec = rb};
	pthread_mutex_init(&t.lock, NULL);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, second_finish, &t), 0);
	for (;;) {
		pthread_mutex_lock(&t.lock);
		bool in = t.entered;
		pthread_mutex_unlock(&t.lock);
		if (in)
			break;
		time_sleep(0.01);
	}
	time_sleep(0.3); /* let it reach the lock (were it to pass, it would see "a" running) */
	assert_int_equal(store_commit(a, &err), PARLEY_OK);
	pthread_join(th, NULL);
	assert_int_equal(t.rc, PARLEY_OK);
	pthread_mutex_destroy(&t.lock);
	int n = 0;
	struct list l;
	memset(&l, 0, sizeof(l));
	assert_int_equal(webhook_each(a, 0, collect, &l, &err), PARLEY_OK);
	for (int i = 0; i < l.n; i++)
		n += strcmp(l.d[i].event_id, "evt_b1_v0_completed") == 0 ||
		     strcmp(l.d[i].event_id, "evt_b1_v0_tick1") == 0 ||
		     strcmp(l.d[i].event_id, "evt_b1_v0_tick2") == 0;
	assert_int_equal(l.n, 3);
	assert_int_equal(n, 3);
	store_close(a);
	store_close(b);
	snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", schema);
	pg_exec(url, sql);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signature_vector),
		cmocka_unit_test(test_secrets_urls_events),
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test_setup_teardown(test_hook_events_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retries_then_delivered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gives_up_and_redeliver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gone_disables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_sender, setup, teardown),
		cmocka_unit_test(test_last_two_at_once_pg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
