/* test_queue_redis.c — the Redis queue driver against a real redis-server
 * (PARLEY_TEST_REDIS_URL, e.g. redis://127.0.0.1:56379; every test that needs
 * a server is skipped when it is unset) and a fresh SQLite store per test.
 * Each test uses its own key prefix "t<pid>-<n>:" and deletes its keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis.h>

#include "queue/queue.h"
#include "store/store.h"
#include "util/fs.h"
#include "util/timeutil.h"

struct fixture {
	char dir[256];
	char path[300];
	char prefix[QUEUE_PREFIX_MAX];
	const char *url;
	struct store *st;
	struct queue *q;
	redisContext *admin; /* a second connection: inspect, flush, kill */
	int64_t batch;
};

static int counter;

static redisContext *admin_connect(const char *url)
{
	char host[256] = "127.0.0.1";
	int port = 6379;
	int db = 0;
	if (sscanf(url, "redis://%255[^:/]:%d/%d", host, &port, &db) < 1)
		return NULL;
	struct timeval tv = {2, 0};
	redisContext *c = redisConnectWithTimeout(host, port, tv);
	if (!c || c->err) {
		if (c)
			redisFree(c);
		return NULL;
	}
	if (db) {
		redisReply *r = redisCommand(c, "SELECT %d", db);
		if (r)
			freeReplyObject(r);
	}
	return c;
}

/* Delete every key of the prefix (a Redis restart that lost the data). */
static long flush_prefix(struct fixture *f)
{
	char pattern[QUEUE_PREFIX_MAX + 2];
	snprintf(pattern, sizeof(pattern), "%s*", f->prefix);
	redisReply *r = redisCommand(f->admin,
				     "EVAL %s 0 %s",
				     "local ks = redis.call('KEYS', ARGV[1]) "
				     "for _, k in ipairs(ks) do redis.call('DEL', k) end return #ks",
				     pattern);
	long n = r && r->type == REDIS_REPLY_INTEGER ? (long)r->integer : -1;
	if (r)
		freeReplyObject(r);
	return n;
}

static int setup(void **state)
{
	*state = NULL;
	const char *url = getenv("PARLEY_TEST_REDIS_URL");
	if (!url || !url[0])
		return 0; /* each test skips */
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->url = url;
	snprintf(f->prefix, sizeof(f->prefix), "t%ld-%d:", (long)getpid(), ++counter);
	snprintf(f->dir, sizeof(f->dir), "%s/parley-qr-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	struct parley_error err = {0};
	if (store_open(f->path, &f->st, &err) != PARLEY_OK ||
	    store_batch_ensure(f->st, "b", "run", &f->batch, &err) != PARLEY_OK ||
	    store_batch_set_pipeline(f->st, f->batch, "vad,stt", &err) != PARLEY_OK) {
		fprintf(stderr, "store: %s\n", err.msg);
		return -1;
	}
	if (queue_driver_redis.open(url, f->prefix, &f->q, &err) != PARLEY_OK) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	f->admin = admin_connect(url);
	if (!f->admin)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (!f)
		return 0;
	flush_prefix(f);
	redisFree(f->admin);
	if (f->q)
		f->q->drv->close(f->q);
	store_close(f->st);
	fs_remove_tree(f->dir, NULL);
	free(f);
	return 0;
}

#define FIXTURE(state) \
	struct fixture *f = *(state); \
	if (!f) \
		skip()

static int64_t add(struct fixture *f, const char *name)
{
	int64_t id = 0;
	struct parley_error err = {0};
	assert_int_equal(store_recording_add(f->st, f->batch, name, "/src", "fp", NULL, &id, &err), PARLEY_OK);
	return id;
}

/* Push at the recording's place in the hand-out order, as the callers do. */
static void push1(struct fixture *f, int64_t id, const char *stage)
{
	struct parley_error err = {0};
	const char *stages[1] = {stage};
	struct store_recording rec;
	assert_int_equal(store_recording_get(f->st, id, &rec, &err), PARLEY_OK);
	int64_t order = store_order_key(rec.priority, rec.tag);
	assert_int_equal(queue_push(f->q, &id, stages, &order, 1, &err), PARLEY_OK);
}

/* Take as owner with the given stages (NULL = every stage); returns the id or 0. */
static int64_t take(struct fixture *f, const char *owner, const char *const *stages, size_t n,
		    double lease)
{
	struct queue_take_params p = {.owner = owner, .lease_seconds = lease, .stages = stages,
				      .nstages = n};
	struct store_recording rec;
	bool found = false;
	struct parley_error err = {0};
	enum parley_err rc = queue_take(f->q, f->st, &p, &rec, &found, &err);
	if (rc != PARLEY_OK)
		fprintf(stderr, "take: %s\n", err.msg);
	assert_int_equal(rc, PARLEY_OK);
	return found ? rec.id : 0;
}

static struct queue_stats stats(struct fixture *f)
{
	struct queue_stats s;
	struct parley_error err = {0};
	assert_int_equal(queue_stats_get(f->q, f->st, &s, &err), PARLEY_OK);
	return s;
}

static void settle(struct fixture *f, const char *owner, int64_t id, enum queue_outcome o,
		   const char *stage, double delay)
{
	struct store_recording rec;
	struct parley_error err = {0};
	assert_int_equal(store_recording_get(f->st, id, &rec, &err), PARLEY_OK);
	enum parley_err rc = queue_settle(f->q, owner, &rec, o, stage, delay, &err);
	if (rc != PARLEY_OK)
		fprintf(stderr, "settle: %s\n", err.msg);
	assert_int_equal(rc, PARLEY_OK);
}

static void recover(struct fixture *f)
{
	struct parley_error err = {0};
	enum parley_err rc = queue_recover(f->q, f->st, &err);
	if (rc != PARLEY_OK)
		fprintf(stderr, "recover: %s\n", err.msg);
	assert_int_equal(rc, PARLEY_OK);
}

static const char *const VAD[] = {"vad"};
static const char *const STT[] = {"stt"};
static const char *const BOTH[] = {"vad", "stt"};

static void test_push_take_fifo(void **state)
{
	FIXTURE(state);
	int64_t a = add(f, "a"), b = add(f, "b"), c = add(f, "c"), d = add(f, "d");
	push1(f, a, "vad");
	push1(f, b, "vad");
	push1(f, c, "vad");
	push1(f, d, "stt");
	assert_int_equal(stats(f).ready, 4);
	/* the store's order (here: added first, taken first) across stages */
	assert_int_equal(take(f, "w1", BOTH, 2, 60), a);
	assert_int_equal(take(f, "w1", VAD, 1, 60), b);
	assert_int_equal(take(f, "w1", NULL, 0, 60), c);
	assert_int_equal(take(f, "w1", NULL, 0, 60), d);
	assert_int_equal(take(f, "w1", NULL, 0, 60), 0);
	struct queue_stats s = stats(f);
	assert_int_equal(s.ready, 0);
	assert_int_equal(s.processing, 4);
	/* on equal order the later stage first (finish in-flight recordings) */
	int64_t e = add(f, "e"), g = add(f, "g");
	int64_t ids[2] = {e, g};
	const char *st2[2] = {"vad", "stt"};
	struct parley_error err = {0};
	assert_int_equal(queue_push(f->q, ids, st2, NULL, 2, &err), PARLEY_OK);
	assert_int_equal(take(f, "w2", BOTH, 2, 60), g);
	assert_int_equal(take(f, "w2", NULL, 0, 60), e);
}

/* Priorities through Redis: what queue_push_leasable pushes comes out in
 * the store's order — the session first, then batches A and B in turn,
 * the low-priority batch last; pushing again adds no duplicate. */
static void test_priority_order(void **state)
{
	FIXTURE(state);
	struct parley_error err = {0};
	int64_t A, B, S, L;
	assert_int_equal(store_batch_ensure(f->st, "A", "batch", &A, &err), PARLEY_OK);
	assert_int_equal(store_batch_ensure(f->st, "B", "batch", &B, &err), PARLEY_OK);
	assert_int_equal(store_batch_ensure(f->st, "L", "batch", &L, &err), PARLEY_OK);
	assert_int_equal(store_batch_set_priority(f->st, L, -1, &err), PARLEY_OK);
	const struct { int64_t *batch; const char *name; } adds[] = {
		{&L, "l1"}, {&A, "a1"}, {&A, "a2"}, {&A, "a3"}, {&B, "b1"}, {&B, "b2"},
	};
	int64_t ids[8];
	for (size_t i = 0; i < sizeof(adds) / sizeof(adds[0]); i++)
		assert_int_equal(store_recording_add(f->st, *adds[i].batch, adds[i].name, "/src", "fp", NULL,
						     &ids[i], &err), PARLEY_OK);
	assert_int_equal(queue_push_leasable(f->q, f->st, &err), PARLEY_OK);
	assert_int_equal(queue_push_leasable(f->q, f->st, &err), PARLEY_OK);
	assert_int_equal(stats(f).ready, 6);
	/* a session ends while the batches wait: pushed alone, taken first */
	assert_int_equal(store_batch_ensure(f->st, "session:s", "session", &S, &err), PARLEY_OK);
	int64_t s1;
	assert_int_equal(store_recording_add(f->st, S, "s1", "/src", "fp", NULL, &s1, &err), PARLEY_OK);
	assert_int_equal(queue_push_recording(f->q, f->st, s1, &err), PARLEY_OK);
	const int64_t want[] = {s1, ids[1], ids[4], ids[2], ids[5], ids[3], ids[0]};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct queue_take_params p = {.owner = "w1", .lease_seconds = 60};
		struct store_recording rec;
		bool found = false;
		assert_int_equal(queue_take(f->q, f->st, &p, &rec, &found, &err), PARLEY_OK);
		assert_true(found);
		assert_int_equal(rec.id, want[i]);
		assert_int_equal(store_recording_finish(f->st, rec.id, "w1", STORE_DONE, NULL, NULL, &err),
				 PARLEY_OK);
		settle(f, "w1", rec.id, QUEUE_DONE, NULL, 0);
	}
	assert_int_equal(take(f, "w1", NULL, 0, 60), 0);
}

static void test_take_blocks_until_wait(void **state)
{
	FIXTURE(state);
	struct queue_take_params p = {.owner = "w1", .lease_seconds = 60, .stages = VAD,
				      .nstages = 1, .wait = 0.3};
	struct store_recording rec;
	bool found = true;
	struct parley_error err = {0};
	double t0 = time_mono();
	assert_int_equal(queue_take(f->q, f->st, &p, &rec, &found, &err), PARLEY_OK);
	assert_false(found);
	assert_true(time_mono() - t0 >= 0.25);
	/* a batch filter is refused */
	p.batch_id = f->batch;
	assert_int_equal(queue_take(f->q, f->st, &p, &rec, &found, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "every batch"));
}

static void test_take_wakes_on_push(void **state)
{
	FIXTURE(state);
	int64_t a = add(f, "a");
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) { /* another process pushes while we block */
		time_sleep(0.2);
		struct queue *q2 = NULL;
		struct parley_error e2 = {0};
		const char *stages[1] = {"vad"};
		if (queue_driver_redis.open(f->url, f->prefix, &q2, &e2) != PARLEY_OK)
			_exit(1);
		int rc = queue_push(q2, &a, stages, NULL, 1, &e2) == PARLEY_OK ? 0 : 1;
		q2->drv->close(q2);
		_exit(rc);
	}
	struct queue_take_params p = {.owner = "w1", .lease_seconds = 60, .stages = VAD,
				      .nstages = 1, .wait = 3};
	struct store_recording rec;
	bool found = false;
	struct parley_error err = {0};
	double t0 = time_mono();
	assert_int_equal(queue_take(f->q, f->st, &p, &rec, &found, &err), PARLEY_OK);
	int status = -1;
	waitpid(child, &status, 0);
	assert_int_equal(status, 0);
	assert_true(found);
	assert_int_equal(rec.id, a);
	assert_true(time_mono() - t0 < 2.5);
}

static void test_take_leases_in_store(void **state)
{
	FIXTURE(state);
	int64_t a = add(f, "a");
	push1(f, a, "vad");
	push1(f, a, "vad"); /* a duplicate hint */
	assert_int_equal(take(f, "w1", VAD, 1, 60), a);
	/* w2 pops the duplicate, cannot lease it in the store and drops it */
	assert_int_equal(take(f, "w2", VAD, 1, 60), 0);
	struct queue_stats s = stats(f);
	assert_int_equal(s.ready, 0);
	assert_int_equal(s.processing, 1);
	struct parley_error err = {0};
	assert_int_equal(store_lease_renew(f->st, a, "w2", 60, &err), PARLEY_ERR_BUSY);
}

static void test_settle_done(void **state)
{
	FIXTURE(state);
	int64_t a = add(f, "a");
	push1(f, a, "vad");
	assert_int_equal(take(f, "w1", VAD, 1, 60), a);
	assert_int_equal(stats(f).processing, 1);
	struct parley_error err = {0};
	assert_int_equal(store_recording_finish(f->st, a, "w1", STORE_DONE, NULL, NULL, &err), PARLEY_OK);
	settle(f, "w1", a, QUEUE_DONE, NULL, 0);
	struct queue_stats s = stats(f);
	assert_int_equal(s.processing, 0);
	assert_int_equal(s.ready, 0);
	assert_int_equal(s.delayed, 0);
	/* a done recording is never taken again, even from a stale hint */
	push1(f, a, "vad");
	assert_int_equal(take(f, "w1", VAD, 1, 60), 0);
}

static void test_retry_delayed(void **state)
{
	FIXTURE(state);
	int64_t a = add(f, "a");
	push1(f, a, "vad");
	assert_int_equal(take(f, "w1", VAD, 1, 60), a);
	struct parley_error err = {0};
	assert_int_equal(store_recording_retry_later(f->st, a, "w1", 0.2, "engine timeout", &err), PARLEY_OK);
	settle(f, "w1", a, QUEUE_RETRY, "vad", 0.2);
	struct queue_stats s = stats(f);
	assert_int_equal(s.delayed, 1);
	assert_int_equal(s.processing, 0);
	recover(f); /* not due yet */
	s = stats(f);
	assert_int_equal(s.delayed, 1);
	assert_int_equal(s.ready, 0);
	assert_int_equal(take(f, "w1", VAD, 1, 60), 0);
	time_sleep(0.35);
	recover(f);
	s = stats(f);
	assert_int_equal(s.delayed, 0);
	assert_int_equal(s.ready, 1);
	assert_int_equal(take(f, "w1", VAD, 1, 60), a);
}

static void test_release_front(void **state)
{
	FIXTURE(state);
	int64_t a = add(f, "a"), b = add(f, "b");
	push1(f, a, "vad");
	push1(f, b, "vad");
	assert_int_equal(take(f, "w1", VAD, 1, 60), a);
	struct parley_error err = {0};
	assert_int_equal(store_lease_release(f->st, a, "w1", &err), PARLEY_OK);
	settle(f, "w1", a, QUEUE_RELEASE, "vad", 0);
	assert_int_equal(stats(f).processing, 0);
	assert_int_equal(take(f, "w2", VAD, 1, 60), a); /* back at the front */
	assert_int_equal(take(f, "w2", VAD, 1, 60), b);
}

static void test_handoff(void **state)
{
	FIXTURE(state);
	int64_t a = add(f, "a");
	push1(f, a, "vad");
	assert_int_equal(take(f, "w1", VAD, 1, 60), a);
	struct parley_error err = {0};
	assert_int_equal(store_lease_release(f->st, a, "w1", &err), PARLEY_OK);
	settle(f, "w1", a, QUEUE_HANDOFF, "stt", 0);
	assert_int_equal(take(f, "w1", VAD, 1, 60), 0);
	assert_int_equal(take(f, "w2", STT, 1, 60), a);
	struct queue_stats s = stats(f);
	assert_int_equal(s.processing, 1);
	assert_int_equal(s.ready, 0);
}

static void test_dead_worker_recovered(void **state)
{
	FIXTURE(state);
	int64_t a = add(f, "a");
	push1(f, a, "vad");
	assert_int_equal(take(f, "dead", VAD, 1, 0.2), a);
	struct parley_error err = {0};
	assert_int_equal(queue_heartbeat(f->q, "dead", 0.2, &err), PARLEY_OK);
	assert_int_equal(queue_heartbeat(f->q, "alive", 60, &err), PARLEY_OK);
	assert_int_equal(stats(f).workers, 2);
	recover(f); /* still alive: nothing moves */
	assert_int_equal(stats(f).processing, 1);
	time_sleep(0.5);
	recover(f);
	struct queue_stats s = stats(f);
	assert_int_equal(s.workers, 1);
	assert_int_equal(s.processing, 0);
	assert_int_equal(s.ready, 1);
	assert_int_equal(take(f, "alive", VAD, 1, 60), a);
}

static void test_lost_data_repushed_from_store(void **state)
{
	FIXTURE(state);
	int64_t a = add(f, "a"), b = add(f, "b"), c = add(f, "c");
	int64_t ids[3] = {a, b, c};
	const char *st3[3] = {"vad", "vad", "vad"};
	struct parley_error err = {0};
	assert_int_equal(queue_push(f->q, ids, st3, NULL, 3, &err), PARLEY_OK);
	assert_int_equal(take(f, "w1", VAD, 1, 60), a); /* a is leased: not re-pushed */
	assert_true(flush_prefix(f) > 0);
	assert_int_equal(stats(f).ready, 0);
	recover(f);
	assert_int_equal(stats(f).ready, 2);
	int64_t x = take(f, "w2", VAD, 1, 60), y = take(f, "w2", NULL, 0, 60);
	assert_int_equal(x, b);
	assert_int_equal(y, c);
	assert_int_equal(take(f, "w2", NULL, 0, 60), 0);
	/* at most one re-push per 2 s */
	assert_int_equal(store_lease_release(f->st, b, "w2", &err), PARLEY_OK);
	flush_prefix(f);
	recover(f);
	assert_int_equal(stats(f).ready, 0);
}

static void test_stats_counts(void **state)
{
	FIXTURE(state);
	int64_t a = add(f, "a"), b = add(f, "b"), c = add(f, "c");
	push1(f, a, "vad");
	push1(f, b, "vad");
	push1(f, c, "stt");
	assert_int_equal(take(f, "w1", VAD, 1, 60), a);
	assert_int_equal(take(f, "w2", VAD, 1, 60), b);
	struct parley_error err = {0};
	assert_int_equal(store_recording_retry_later(f->st, b, "w2", 10, "x", &err), PARLEY_OK);
	settle(f, "w2", b, QUEUE_RETRY, "vad", 10);
	struct queue_stats s = stats(f);
	assert_int_equal(s.ready, 1);
	assert_int_equal(s.delayed, 1);
	assert_int_equal(s.processing, 1);
	assert_int_equal(s.workers, 2);
}

static void test_bad_urls(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"redis://", "redis://host:0", "redis://host:65536", "redis://host:12x",
		"redis://host/abc", "http://host", "redis://u:p@host", "rediss://host",
		"redis://ho st", "redis://[::1", "redis://host:6379/0?x=1", "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct queue *q = (struct queue *)1;
		struct parley_error err = {0};
		assert_int_equal(queue_driver_redis.open(bad[i], "p:", &q, &err), PARLEY_ERR_INVALID);
		assert_null(q);
		assert_non_null(strstr(err.msg, "redis://HOST[:PORT][/DB]"));
	}
	char longp[QUEUE_PREFIX_MAX + 8];
	memset(longp, 'p', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	struct queue *q = NULL;
	struct parley_error err = {0};
	assert_int_equal(queue_driver_redis.open("redis://127.0.0.1", longp, &q, &err),
			 PARLEY_ERR_TOO_LARGE);
}

static void test_unreachable(void **state)
{
	(void)state;
	struct queue *q = NULL;
	struct parley_error err = {0};
	assert_int_equal(queue_driver_redis.open("redis://127.0.0.1:1/2", "p:", &q, &err),
			 PARLEY_ERR_UNAVAILABLE);
	assert_null(q);
	assert_non_null(strstr(err.msg, "redis://127.0.0.1:1/2"));
}

static void test_connection_lost_then_back(void **state)
{
	FIXTURE(state);
	int64_t a = add(f, "a");
	push1(f, a, "vad");
	stats(f);
	redisReply *r = redisCommand(f->admin, "CLIENT KILL TYPE normal");
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_INTEGER);
	assert_true(r->integer >= 1);
	freeReplyObject(r);
	struct queue_stats s;
	struct parley_error err = {0};
	assert_int_equal(queue_stats_get(f->q, f->st, &s, &err), PARLEY_ERR_UNAVAILABLE);
	assert_non_null(strstr(err.msg, "connection lost"));
	assert_non_null(strstr(err.msg, f->url));
	/* the next call reconnects */
	assert_int_equal(queue_stats_get(f->q, f->st, &s, &err), PARLEY_OK);
	assert_int_equal(s.ready, 1);
	assert_int_equal(take(f, "w1", VAD, 1, 60), a);
}

/* One round trip per stage advance: the settle of the last recording rides
 * on the take of the next (ack + take + liveness in one script call). */
static void test_one_round_trip_per_advance(void **state)
{
	FIXTURE(state);
	int64_t ids[4];
	for (int i = 0; i < 4; i++) {
		char name[8];
		snprintf(name, sizeof(name), "r%d", i);
		ids[i] = add(f, name);
		push1(f, ids[i], "vad");
	}
	struct parley_error err = {0};
	assert_int_equal(take(f, "w1", VAD, 1, 60), ids[0]);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(store_recording_finish(f->st, ids[i], "w1", STORE_DONE, NULL, NULL, &err),
				 PARLEY_OK);
		unsigned long before = f->q->round_trips;
		settle(f, "w1", ids[i], QUEUE_DONE, NULL, 0);
		assert_int_equal(f->q->round_trips, before); /* kept for the take */
		assert_int_equal(take(f, "w1", VAD, 1, 60), i < 3 ? ids[i + 1] : 0);
		assert_int_equal(f->q->round_trips, before + 1);
		/* the settle ran: only what was just taken is held */
		redisReply *r = redisCommand(f->admin, "LLEN %sprocessing:w1", f->prefix);
		assert_non_null(r);
		assert_int_equal(r->integer, i < 3 ? 1 : 0);
		freeReplyObject(r);
	}
	/* stats sends a settle that no take carried */
	int64_t x = add(f, "x");
	push1(f, x, "vad");
	assert_int_equal(take(f, "w1", VAD, 1, 60), x);
	assert_int_equal(store_recording_finish(f->st, x, "w1", STORE_DONE, NULL, NULL, &err), PARLEY_OK);
	settle(f, "w1", x, QUEUE_DONE, NULL, 0);
	assert_int_equal(stats(f).processing, 0);
}

/* Scripts go by EVALSHA; a flushed script cache (or a restarted server) is
 * answered by one EVAL that caches the script again. */
static void test_script_cache_flushed(void **state)
{
	FIXTURE(state);
	int64_t a = add(f, "a"), b = add(f, "b");
	push1(f, a, "vad");
	push1(f, b, "vad");
	redisReply *r = redisCommand(f->admin, "SCRIPT FLUSH");
	assert_non_null(r);
	freeReplyObject(r);
	unsigned long before = f->q->round_trips;
	assert_int_equal(take(f, "w1", VAD, 1, 60), a);
	assert_int_equal(f->q->round_trips, before + 2); /* NOSCRIPT, then EVAL */
	r = redisCommand(f->admin, "INFO commandstats");
	assert_non_null(r);
	assert_non_null(strstr(r->str, "cmdstat_evalsha"));
	freeReplyObject(r);
	before = f->q->round_trips;
	assert_int_equal(take(f, "w1", VAD, 1, 60), b);
	assert_int_equal(f->q->round_trips, before + 1); /* cached again */
}

/* Keys of older layouts are moved when a queue is opened: the sorted sets
 * of the kind this version renamed to ready:, and the lists that ready:
 * was before priorities. */
static void test_old_keys_moved_on_open(void **state)
{
	FIXTURE(state);
	int64_t a = add(f, "a"), b = add(f, "b"), c = add(f, "c");
	static const char old[] = "to" "do:"; /* the old key kind, in two pieces */
	redisReply *r = redisCommand(f->admin, "SADD %sstages vad stt", f->prefix);
	freeReplyObject(r);
	r = redisCommand(f->admin, "ZADD %s%svad 7 %lld:vad:7 3 %lld:vad:3", f->prefix, old,
			 (long long)b, (long long)a);
	freeReplyObject(r);
	r = redisCommand(f->admin, "RPUSH %sready:stt %lld:stt", f->prefix, (long long)c);
	freeReplyObject(r);
	struct queue *q2 = NULL;
	struct parley_error err = {0};
	assert_int_equal(queue_driver_redis.open(f->url, f->prefix, &q2, &err), PARLEY_OK);
	q2->drv->close(q2);
	r = redisCommand(f->admin, "TYPE %sready:stt", f->prefix);
	assert_string_equal(r->str, "zset");
	freeReplyObject(r);
	r = redisCommand(f->admin, "EXISTS %s%svad %s%sstt", f->prefix, old, f->prefix, old);
	assert_int_equal(r->integer, 0);
	freeReplyObject(r);
	assert_int_equal(stats(f).ready, 3);
	assert_int_equal(take(f, "w1", VAD, 1, 60), a); /* scores kept */
	assert_int_equal(take(f, "w1", VAD, 1, 60), b);
	assert_int_equal(take(f, "w1", STT, 1, 60), c);
}

/* A worker killed after the store commit but before its settle went out:
 * the entry waits in its processing list until its liveness expires, then
 * comes back and is dropped (done in the store), never run again. */
static void test_killed_before_settle_sent(void **state)
{
	FIXTURE(state);
	int64_t a = add(f, "a");
	push1(f, a, "vad");
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct queue *q2 = NULL;
		struct store *st2 = NULL;
		struct parley_error e2 = {0};
		struct queue_take_params p = {.owner = "doomed", .lease_seconds = 0.3, .stages = VAD,
					      .nstages = 1};
		struct store_recording rec;
		bool found = false;
		if (store_open(f->path, &st2, &e2) != PARLEY_OK ||
		    queue_driver_redis.open(f->url, f->prefix, &q2, &e2) != PARLEY_OK ||
		    queue_take(q2, st2, &p, &rec, &found, &e2) != PARLEY_OK || !found ||
		    store_recording_finish(st2, rec.id, "doomed", STORE_DONE, NULL, NULL, &e2) != PARLEY_OK ||
		    queue_settle(q2, "doomed", &rec, QUEUE_DONE, NULL, 0, &e2) != PARLEY_OK)
			_exit(1);
		_exit(0); /* as if killed: no close, the settle never sent */
	}
	int status = -1;
	waitpid(child, &status, 0);
	assert_int_equal(status, 0);
	assert_int_equal(stats(f).processing, 1);
	time_sleep(0.5); /* the liveness key (one lease) expires */
	recover(f);
	struct queue_stats s = stats(f);
	assert_int_equal(s.processing, 0);
	assert_int_equal(s.ready, 1);
	assert_int_equal(take(f, "w2", VAD, 1, 60), 0); /* done: dropped, not run */
	assert_int_equal(stats(f).processing, 0);
	struct store_recording rec;
	struct parley_error err = {0};
	assert_int_equal(store_recording_get(f->st, a, &rec, &err), PARLEY_OK);
	assert_int_equal(rec.status, STORE_DONE);
}

/* Take-ahead (queue_take_many): one script call and one store statement
 * lease a bounded set in hand-out order (a session's recording first), the
 * first counting an attempt; the settles of the set wait and all ride on
 * the next take (one round trip for the lot); what a worker gives back
 * untouched is ready again for the next taker. */
static void test_take_many(void **state)
{
	FIXTURE(state);
	struct parley_error err = {0};
	int64_t ids[6];
	for (int i = 0; i < 6; i++) {
		char name[8];
		snprintf(name, sizeof(name), "m%d", i);
		ids[i] = add(f, name);
		push1(f, ids[i], "vad");
	}
	int64_t sb, s1 = 0;
	assert_int_equal(store_batch_ensure(f->st, "session:z", "session", &sb, &err), PARLEY_OK);
	assert_int_equal(store_recording_add(f->st, sb, "s1", "/src", "fp", NULL, &s1, &err), PARLEY_OK);
	push1(f, s1, "vad");
	struct store_recording recs[QUEUE_TAKE_MAX];
	size_t n = 0;
	struct queue_take_params p = {.owner = "w1", .lease_seconds = 60, .stages = VAD, .nstages = 1,
				      .max = 4};
	unsigned long before = f->q->round_trips;
	assert_int_equal(queue_take_many(f->q, f->st, &p, recs, &n, &err), PARLEY_OK);
	assert_int_equal(f->q->round_trips, before + 1);
	assert_int_equal(n, 4);
	assert_int_equal(recs[0].id, s1); /* the session first */
	assert_int_equal(recs[0].attempts, 1);
	for (size_t i = 1; i < 4; i++) { /* each taken counts its attempt */
		assert_int_equal(recs[i].id, ids[i - 1]);
		assert_int_equal(recs[i].attempts, 1);
		assert_true(recs[i].stages_known);
	}
	assert_int_equal(stats(f).processing, 4);
	before = f->q->round_trips;
	/* three finished, the last given back: four settles, no round trip yet */
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(store_recording_finish(f->st, recs[i].id, "w1", STORE_DONE, NULL, NULL, &err),
				 PARLEY_OK);
		settle(f, "w1", recs[i].id, QUEUE_DONE, NULL, 0);
	}
	assert_int_equal(store_lease_unhold(f->st, "w1", &recs[3].id, 1, &err), PARLEY_OK);
	settle(f, "w1", recs[3].id, QUEUE_RELEASE, "vad", 0);
	assert_int_equal(f->q->round_trips, before);
	/* the next take carries them all, and gets the one given back first */
	before = f->q->round_trips;
	p.max = QUEUE_TAKE_MAX + 10; /* bounded */
	assert_int_equal(queue_take_many(f->q, f->st, &p, recs, &n, &err), PARLEY_OK);
	assert_int_equal(f->q->round_trips, before + 1);
	assert_int_equal(n, 4);
	assert_int_equal(recs[0].id, ids[2]);
	assert_int_equal(recs[0].attempts, 1);
	assert_int_equal(recs[3].id, ids[5]);
	assert_int_equal(stats(f).processing, 4);
	assert_int_equal(stats(f).ready, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_urls),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test_setup_teardown(test_push_take_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_priority_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_take_blocks_until_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_take_wakes_on_push, setup, teardown),
		cmocka_unit_test_setup_teardown(test_take_leases_in_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settle_done, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_delayed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_front, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_worker_recovered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_data_repushed_from_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_lost_then_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_round_trip_per_advance, setup, teardown),
		cmocka_unit_test_setup_teardown(test_take_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_script_cache_flushed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_keys_moved_on_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_before_settle_sent, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
