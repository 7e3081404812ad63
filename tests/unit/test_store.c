/* test_store.c — the SQLite store: migrations, recordings, leases, stage
 * runs, results replaced on re-run, progress. Each test uses a fresh file.
 * The words' approximate flag (migration 4) also on PostgreSQL when
 * PARLEY_TEST_PG_URL is set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/batch_config.h"
#include "core/worker.h"
#include "store/db.h"
#include "store/schema.h"
#include "store/store.h"
#include "store/store_audit.h"
#include "store/store_batch.h"
#include "store/store_call.h"
#include "store/store_int.h"
#include "util/fs.h"

struct fixture {
	char dir[256];
	char path[300];
	struct store *st;
	int64_t batch;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "%s/parley-store-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	struct parley_error err = {0};
	if (store_open(f->path, &f->st, &err) != PARLEY_OK)
		return -1;
	if (store_batch_ensure(f->st, "b", "run", &f->batch, &err) != PARLEY_OK)
		return -1;
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

/* What the registry gives the store (stage_result_tables), as a list here. */
static const char *const reset_tables[] = {"segments", "stt_words", "words", "speakers",
					   "word_counts", "test_effects", NULL};

static int64_t add(struct fixture *f, const char *name, const char *fp)
{
	int64_t id = 0;
	struct parley_error err = {0};
	assert_int_equal(store_recording_add(f->st, f->batch, name, "/src", fp, reset_tables, &id, &err), PARLEY_OK);
	return id;
}

static void test_schema_version_and_reopen(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(store_schema_version(f->st), (int)store_migration_count);
	struct store *again = NULL;
	struct parley_error err = {0};
	assert_int_equal(store_open(f->path, &again, &err), PARLEY_OK);
	assert_int_equal(store_schema_version(again), (int)store_migration_count);
	int64_t b2 = 0;
	assert_int_equal(store_batch_ensure(again, "b", "run", &b2, &err), PARLEY_OK);
	assert_int_equal(b2, f->batch); /* same name, same batch */
	store_close(again);
}

static void test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'PRAGMA user_version = 999'", f->path);
	if (system(cmd) != 0)
		skip();
	struct store *again = NULL;
	struct parley_error err = {0};
	assert_int_equal(store_open(f->path, &again, &err), PARLEY_ERR_STORE);
	assert_non_null(strstr(err.msg, "newer than this parley"));
	assert_null(again);
}

/* What the migrations after 4 created: dropped to make a version-3 store. */
#define AFTER_4_DROP "DROP INDEX events_warning; DROP TABLE call_events; DROP TABLE speaker_roles; DROP TABLE call_language;" \
	" DROP TABLE call_metrics; DROP TABLE call_spans; ALTER TABLE recordings DROP COLUMN metadata;" \
	" DROP TABLE webhook_attempts; DROP TABLE webhook_deliveries; DROP TABLE webhooks;" \
	" DROP TABLE verdicts; DROP TABLE answers; DROP TABLE audit_versions;" \
	" ALTER TABLE batches DROP COLUMN audit_version; ALTER TABLE users DROP COLUMN operator;" \
	" ALTER TABLE users DROP COLUMN token_expires; ALTER TABLE users DROP COLUMN removed_at;" \
	" ALTER TABLE users DROP COLUMN origin;" \
	" DROP INDEX recordings_batch_tag; DROP INDEX recordings_todo;" \
	" CREATE INDEX recordings_todo ON recordings(id) WHERE status IN ('pending', 'running');" \
	" ALTER TABLE recordings DROP COLUMN tag; ALTER TABLE recordings DROP COLUMN priority;" \
	" ALTER TABLE batches DROP COLUMN priority;"

/* A database from before migration 4 (no approximate column) upgrades on
 * open; its words read as not approximate. */
static void test_upgrade_words_approximate(void **state)
{
	struct fixture *f = *state;
	int64_t a = add(f, "a", "1");
	struct parley_error err = {0};
	struct store_word w[1] = {{0.1, 0.4, 0.9f, 0, "hello", true}};
	assert_int_equal(store_words_put(f->st, a, "words", w, 1, &err), PARLEY_OK);
	store_close(f->st);
	f->st = NULL;
	/* The SQL goes through a file: it holds quotes a shell argument cannot. */
	char sql[400], cmd[1024];
	snprintf(sql, sizeof(sql), "%s/downgrade.sql", f->dir);
	FILE *fp = fopen(sql, "w");
	assert_non_null(fp);
	fprintf(fp, "ALTER TABLE words DROP COLUMN approximate;"
		" ALTER TABLE stt_words DROP COLUMN approximate; %s PRAGMA user_version = 3;\n",
		AFTER_4_DROP);
	assert_int_equal(fclose(fp), 0);
	if (system("command -v sqlite3 >/dev/null 2>&1") != 0)
		skip(); /* scripts/install-deps.sh installs sqlite3; without it nothing to downgrade */
	snprintf(cmd, sizeof(cmd), "sqlite3 -bail '%s' < '%s'", f->path, sql);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(store_open(f->path, &f->st, &err), PARLEY_OK);
	assert_int_equal(store_schema_version(f->st), (int)store_migration_count);
	struct store_word *gw;
	size_t n;
	assert_int_equal(store_words_get(f->st, a, "words", &gw, &n, &err), PARLEY_OK);
	assert_int_equal(n, 1);
	assert_string_equal(gw[0].text, "hello");
	assert_false(gw[0].approximate);
	free(gw);
}

static void pg_exec(const char *target, const char *sql)
{
	struct db *db = NULL;
	struct parley_error err = {0};
	if (db_open(target, &db, &err) != PARLEY_OK || db_exec(db, sql, &err) != PARLEY_OK)
		fail_msg("%s: %s", sql, err.msg);
	db_close(db);
}

static void words_check(struct store *st, int64_t rec, const char *table, size_t want_n,
			bool want_approx1)
{
	struct parley_error err = {0};
	struct store_word *gw;
	size_t n;
	assert_int_equal(store_words_get(st, rec, table, &gw, &n, &err), PARLEY_OK);
	assert_int_equal(n, want_n);
	assert_false(gw[0].approximate);
	if (n > 1) {
		assert_string_equal(gw[1].text, "lah");
		assert_int_equal(gw[1].approximate, want_approx1);
	}
	free(gw);
}

/* The same on PostgreSQL (PARLEY_TEST_PG_URL, a fresh schema): the flag
 * round-trips, and a database at version 3 upgrades with words not
 * approximate. */
/* A store in a fresh PostgreSQL schema (PARLEY_TEST_PG_URL; the test is
 * skipped without it) holding one batch and one recording. */
struct pg_fixture {
	const char *url;
	char schema[64];
	char target[1200]; /* url with the schema as search_path */
	struct store *st;
	int64_t rec;
};

static void pg_fixture_open(struct pg_fixture *p, const char *tag)
{
	p->url = getenv("PARLEY_TEST_PG_URL");
	if (!p->url || !*p->url) {
		printf("  (PARLEY_TEST_PG_URL unset: the PostgreSQL case is skipped)\n");
		skip();
	}
	char sql[200];
	snprintf(p->schema, sizeof(p->schema), "parley_%s%ld", tag, (long)getpid());
	snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", p->schema,
		 p->schema);
	pg_exec(p->url, sql);
	snprintf(p->target, sizeof(p->target), "%s%soptions=-csearch_path%%3D%s", p->url,
		 strchr(p->url, '?') ? "&" : "?", p->schema);
	struct parley_error err = {0};
	int64_t batch;
	assert_int_equal(store_open(p->target, &p->st, &err), PARLEY_OK);
	assert_int_equal(store_batch_ensure(p->st, "b", "run", &batch, &err), PARLEY_OK);
	assert_int_equal(store_recording_add(p->st, batch, "a", "/src", "1", reset_tables, &p->rec, &err),
			 PARLEY_OK);
}

/* Close the store (if open) and drop the schema. */
static void pg_fixture_drop(struct pg_fixture *p)
{
	char sql[200];
	store_close(p->st);
	p->st = NULL;
	snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", p->schema);
	pg_exec(p->url, sql);
}

static void test_words_approximate_pg(void **state)
{
	(void)state;
	struct pg_fixture pg;
	pg_fixture_open(&pg, "st");
	struct store *st = pg.st;
	int64_t rec = pg.rec;
	struct parley_error err = {0};
	struct store_word w[2] = {{0.1, 0.4, 0.9f, 0, "hello", false},
				  {0.5, 0.7, 0.5f, 1, "lah", true}};
	assert_int_equal(store_words_put(st, rec, "words", w, 2, &err), PARLEY_OK);
	assert_int_equal(store_words_put(st, rec, "stt_words", w, 2, &err), PARLEY_OK);
	words_check(st, rec, "words", 2, true);
	words_check(st, rec, "stt_words", 2, true);
	store_close(st);
	pg_exec(pg.target, "ALTER TABLE words DROP COLUMN approximate;"
			   " ALTER TABLE stt_words DROP COLUMN approximate; " AFTER_4_DROP
			   " UPDATE parley_schema SET version = 3");
	assert_int_equal(store_open(pg.target, &pg.st, &err), PARLEY_OK);
	assert_int_equal(store_schema_version(pg.st), (int)store_migration_count);
	words_check(pg.st, rec, "words", 2, false);
	words_check(pg.st, rec, "stt_words", 2, false);
	pg_fixture_drop(&pg);
}

static void test_unwritable_path(void **state)
{
	(void)state;
	struct store *st = NULL;
	struct parley_error err = {0};
	assert_int_equal(store_open("/nonexistent-dir/x/t.db", &st, &err), PARLEY_ERR_STORE);
	assert_non_null(strstr(err.msg, "/nonexistent-dir/x/t.db"));
}

static void test_lease_cycle(void **state)
{
	struct fixture *f = *state;
	struct parley_error err = {0};
	int64_t a = add(f, "a", "1"), b = add(f, "b", "1");
	struct store_recording r;
	bool found;
	assert_int_equal(store_lease_next(f->st, f->batch, "h:1", 60, NULL, &r, &found, &err), PARLEY_OK);
	assert_true(found);
	assert_int_equal(r.id, a);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(store_lease_next(f->st, f->batch, "h:2", 60, NULL, &r, &found, &err), PARLEY_OK);
	assert_true(found);
	assert_int_equal(r.id, b);
	/* nothing left while both leases are live */
	assert_int_equal(store_lease_next(f->st, f->batch, "h:3", 60, NULL, &r, &found, &err), PARLEY_OK);
	assert_false(found);
	/* renew by the owner works, by another fails with BUSY */
	assert_int_equal(store_lease_renew(f->st, a, "h:1", 60, &err), PARLEY_OK);
	assert_int_equal(store_lease_renew(f->st, a, "h:9", 60, &err), PARLEY_ERR_BUSY);
	/* an expired lease is taken over */
	assert_int_equal(store_lease_renew(f->st, b, "h:2", -1, &err), PARLEY_OK);
	assert_int_equal(store_lease_next(f->st, f->batch, "h:3", 60, NULL, &r, &found, &err), PARLEY_OK);
	assert_true(found);
	assert_int_equal(r.id, b);
	assert_int_equal(r.attempts, 2);
	/* the old owner can no longer finish it */
	assert_int_equal(store_recording_finish(f->st, b, "h:2", STORE_DONE, NULL, NULL, &err), PARLEY_ERR_BUSY);
	assert_int_equal(store_recording_finish(f->st, b, "h:3", STORE_DONE, NULL, NULL, &err), PARLEY_OK);
	assert_int_equal(store_recording_finish(f->st, a, "h:1", STORE_FAILED, "audio", "bad", &err), PARLEY_OK);
	struct store_progress p;
	assert_int_equal(store_progress_get(f->st, f->batch, &p, &err), PARLEY_OK);
	assert_int_equal(p.total, 2);
	assert_int_equal(p.done, 1);
	assert_int_equal(p.failed, 1);
	assert_int_equal(store_recording_get(f->st, a, &r, &err), PARLEY_OK);
	assert_string_equal(r.error, "bad");
}

/* A worker whose lease was taken over (stalled, or its host cut off) must not
 * mark failed a stage of the recording's new owner: its refused late commit
 * is followed by store_stage_fail, which writes nothing then. */
static void stage_fail_fenced(struct store *st, int64_t batch, int64_t rec)
{
	struct parley_error err = {0};
	struct store_recording r;
	bool found;
	enum store_status status;
	assert_int_equal(store_lease_next(st, batch, "w2:1", 60, NULL, &r, &found, &err), PARLEY_OK);
	assert_true(found);
	assert_int_equal(r.id, rec);
	/* the owner may mark its own stage failed */
	assert_int_equal(store_stage_fail(st, rec, "tick1", "w2:1", "engine down", &err), PARLEY_OK);
	assert_int_equal(store_stage_status(st, rec, "tick1", &status, &err), PARLEY_OK);
	assert_int_equal(status, STORE_FAILED);
	/* w2 is cut off; its lease expires and w1 takes the recording over */
	assert_int_equal(store_lease_renew(st, rec, "w2:1", -1, &err), PARLEY_OK);
	assert_int_equal(store_lease_next(st, batch, "w1:1", 60, NULL, &r, &found, &err), PARLEY_OK);
	assert_true(found);
	assert_int_equal(r.id, rec);
	assert_int_equal(store_stage_done(st, rec, "tick1", 0, 0, &err), PARLEY_OK);
	/* w2 comes back: its commit is refused, and its failure mark writes nothing */
	assert_int_equal(store_lease_advance(st, rec, "w2:1", 60, "tick2", &err), PARLEY_ERR_BUSY);
	assert_non_null(strstr(err.msg, "lost to another worker"));
	assert_int_equal(store_stage_fail(st, rec, "tick1", "w2:1", "late", &err), PARLEY_OK);
	assert_int_equal(store_stage_status(st, rec, "tick1", &status, &err), PARLEY_OK);
	assert_int_equal(status, STORE_DONE);
	assert_int_equal(store_stage_fail(st, rec, "tick2", "w2:1", "late", &err), PARLEY_OK);
	assert_int_equal(store_stage_status(st, rec, "tick2", &status, &err), PARLEY_OK);
	assert_int_equal(status, STORE_PENDING); /* no row written */
	/* the new owner's own failure is recorded; a done stage is never failed */
	assert_int_equal(store_stage_fail(st, rec, "tick2", "w1:1", "engine down", &err), PARLEY_OK);
	assert_int_equal(store_stage_status(st, rec, "tick2", &status, &err), PARLEY_OK);
	assert_int_equal(status, STORE_FAILED);
	assert_int_equal(store_stage_fail(st, rec, "tick1", "w1:1", "again", &err), PARLEY_OK);
	assert_int_equal(store_stage_status(st, rec, "tick1", &status, &err), PARLEY_OK);
	assert_int_equal(status, STORE_DONE);
	/* without an owner (no lease in use) the mark is written as before */
	assert_int_equal(store_stage_fail(st, rec, "tick3", NULL, "x", &err), PARLEY_OK);
	assert_int_equal(store_stage_status(st, rec, "tick3", &status, &err), PARLEY_OK);
	assert_int_equal(status, STORE_FAILED);
}

static void test_stage_fail_fenced(void **state)
{
	struct fixture *f = *state;
	stage_fail_fenced(f->st, f->batch, add(f, "a", "1"));
}

static void test_stage_fail_fenced_pg(void **state)
{
	(void)state;
	struct pg_fixture pg;
	pg_fixture_open(&pg, "sf");
	stage_fail_fenced(pg.st, 0, pg.rec);
	pg_fixture_drop(&pg);
}

/* Rows of the test stages' countable effect (stages/tick.c) for one stage. */
static int64_t effects_count(struct store *st, int64_t rec, const char *stage)
{
	struct parley_error err = {0};
	struct db_stmt *s;
	assert_int_equal(store_sql_prepare(st, &s, &err, "SELECT count(*) FROM test_effects"
					   " WHERE recording_id = ?1 AND stage = ?2", "it", rec, stage),
			 PARLEY_OK);
	bool row = false;
	assert_int_equal(db_step(s, &row, &err), PARLEY_OK);
	assert_true(row);
	int64_t n = db_column_int(s, 0);
	db_finalize(s);
	return n;
}

/* store_stage_advance (the stage commit's lease check, renewal, next stage
 * and done mark; one statement on PostgreSQL) and store_batch_finished_add
 * (the count and "anything left?" in one statement). */
static void stage_advance_fenced(struct store *st, int64_t rec)
{
	struct parley_error err = {0};
	struct store_recording r;
	bool found;
	enum store_status status;
	assert_int_equal(store_recording_get(st, rec, &r, &err), PARLEY_OK);
	int64_t batch = r.batch_id;
	assert_int_equal(store_lease_next(st, batch, "w1:1", 60, NULL, &r, &found, &err), PARLEY_OK);
	assert_true(found);
	assert_int_equal(r.id, rec);
	/* the owner's advance: done, next stage set, lease renewed */
	assert_int_equal(store_begin_durable(st, &err), PARLEY_OK);
	assert_int_equal(store_stage_advance(st, rec, "tick1", "w1:1", 600, "tick2", 0.25, 0.5, &err),
			 PARLEY_OK);
	assert_int_equal(store_test_effect_add(st, rec, "tick1", "w1:1", &err), PARLEY_OK);
	assert_int_equal(store_commit(st, &err), PARLEY_OK);
	assert_int_equal(store_stage_status(st, rec, "tick1", &status, &err), PARLEY_OK);
	assert_int_equal(status, STORE_DONE);
	assert_int_equal(store_recording_get(st, rec, &r, &err), PARLEY_OK);
	assert_string_equal(r.next_stage, "tick2");
	struct store_stage_seconds secs[8];
	size_t n = 0;
	assert_int_equal(store_stage_seconds(st, secs, 8, &n, &err), PARLEY_OK);
	assert_int_equal(n, 1);
	assert_string_equal(secs[0].stage, "tick1");
	assert_true(secs[0].sum > 0.49 && secs[0].sum < 0.51);
	/* a stage failed before is marked done over its failure */
	assert_int_equal(store_stage_fail(st, rec, "tick2", "w1:1", "engine down", &err), PARLEY_OK);
	assert_int_equal(store_begin_durable(st, &err), PARLEY_OK);
	assert_int_equal(store_stage_advance(st, rec, "tick2", "w1:1", 600, "tick3", 0, 0, &err),
			 PARLEY_OK);
	assert_int_equal(store_commit(st, &err), PARLEY_OK);
	assert_int_equal(store_stage_status(st, rec, "tick2", &status, &err), PARLEY_OK);
	assert_int_equal(status, STORE_DONE);
	/* w1's lease expires, w2 takes the recording over: w1's late advance
	 * writes nothing (no done mark, next stage kept) and is refused */
	assert_int_equal(store_lease_renew(st, rec, "w1:1", -1, &err), PARLEY_OK);
	assert_int_equal(store_lease_next(st, batch, "w2:1", 60, NULL, &r, &found, &err), PARLEY_OK);
	assert_true(found);
	/* (SQLite: found at once; PostgreSQL: sent ahead, found by the commit,
	 * which commits nothing — not the stage's effect written after it) */
	assert_int_equal(store_begin_durable(st, &err), PARLEY_OK);
	enum parley_err rc = store_stage_advance(st, rec, "tick3", "w1:1", 600, "tick4", 0, 0, &err);
	assert_int_equal(rc, store_is_postgres(st) ? PARLEY_OK : PARLEY_ERR_BUSY);
	if (rc == PARLEY_OK) {
		assert_int_equal(store_test_effect_add(st, rec, "tick3", "w1:1", &err), PARLEY_OK);
		rc = store_commit(st, &err);
	} else {
		store_rollback(st);
	}
	assert_int_equal(rc, PARLEY_ERR_BUSY);
	assert_true(store_lease_lost(&err, rec));
	assert_false(store_lease_lost(&err, rec + 1));
	assert_non_null(strstr(err.msg, "lost to another worker"));
	assert_int_equal(effects_count(st, rec, "tick1"), 1);
	assert_int_equal(effects_count(st, rec, "tick3"), 0);
	assert_int_equal(store_stage_status(st, rec, "tick3", &status, &err), PARLEY_OK);
	assert_int_equal(status, STORE_PENDING); /* no row */
	assert_int_equal(store_recording_get(st, rec, &r, &err), PARLEY_OK);
	assert_string_equal(r.next_stage, "tick3");
	/* the new owner advances; the last stage leaves next_stage "" */
	assert_int_equal(store_begin_durable(st, &err), PARLEY_OK);
	assert_int_equal(store_stage_advance(st, rec, "tick3", "w2:1", 600, "", 0, 0, &err), PARLEY_OK);
	assert_int_equal(store_commit(st, &err), PARLEY_OK);
	assert_int_equal(store_recording_get(st, rec, &r, &err), PARLEY_OK);
	assert_string_equal(r.next_stage, "");

	/* the batch's count: a second recording still waits, then none */
	int64_t other = 0;
	assert_int_equal(store_recording_add(st, batch, "other", "/src", "1", reset_tables, &other, &err),
			 PARLEY_OK);
	assert_int_equal(store_recording_finish(st, rec, "w2:1", STORE_DONE, NULL, NULL, &err), PARLEY_OK);
	int64_t finished = 0;
	bool all_done = true;
	assert_int_equal(store_batch_finished_add(st, batch, 1, &finished, &all_done, &err), PARLEY_OK);
	assert_int_equal(finished, 1);
	assert_false(all_done);
	assert_int_equal(store_lease_next(st, batch, "w2:1", 60, NULL, &r, &found, &err), PARLEY_OK);
	assert_int_equal(r.id, other);
	assert_int_equal(store_recording_finish(st, other, "w2:1", STORE_FAILED, "x", "y", &err), PARLEY_OK);
	assert_int_equal(store_batch_finished_add(st, batch, 1, &finished, &all_done, &err), PARLEY_OK);
	assert_int_equal(finished, 2);
	assert_true(all_done);
	/* a worker adds a take's recordings at once */
	assert_int_equal(store_batch_finished_add(st, batch, 3, &finished, &all_done, &err), PARLEY_OK);
	assert_int_equal(finished, 5);
	assert_true(all_done);
}

static void test_stage_advance_fenced(void **state)
{
	struct fixture *f = *state;
	stage_advance_fenced(f->st, add(f, "a", "1"));
}

static void test_stage_advance_fenced_pg(void **state)
{
	(void)state;
	struct pg_fixture pg;
	pg_fixture_open(&pg, "sa");
	stage_advance_fenced(pg.st, pg.rec);
	pg_fixture_drop(&pg);
}

static void test_reclaim_dead_owner(void **state)
{
	struct fixture *f = *state;
	struct parley_error err = {0};
	int64_t a = add(f, "a", "1");
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0); /* child's pid is now dead */
	char owner[64], host[64];
	worker_host(host, sizeof(host));
	snprintf(owner, sizeof(owner), "%s:%ld", host, (long)child);
	struct store_recording r;
	bool found;
	assert_int_equal(store_lease_next(f->st, f->batch, owner, 3600, NULL, &r, &found, &err), PARLEY_OK);
	assert_true(found);
	/* a live owner (us) on another recording is left alone */
	int64_t b = add(f, "b", "1");
	char me[64];
	snprintf(me, sizeof(me), "%s:%ld", host, (long)getpid());
	assert_int_equal(store_lease_next(f->st, f->batch, me, 3600, NULL, &r, &found, &err), PARLEY_OK);
	assert_int_equal(r.id, b);
	int n = 0;
	assert_int_equal(store_lease_reclaim_dead(f->st, host, &n, &err), PARLEY_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_lease_next(f->st, f->batch, me, 3600, NULL, &r, &found, &err), PARLEY_OK);
	assert_true(found);
	assert_int_equal(r.id, a);
}

static void test_retry_later_backoff(void **state)
{
	struct fixture *f = *state;
	struct parley_error err = {0};
	int64_t a = add(f, "a", "1");
	struct store_recording r;
	bool found;
	assert_int_equal(store_lease_next(f->st, f->batch, "h:1", 60, NULL, &r, &found, &err), PARLEY_OK);
	assert_int_equal(store_recording_retry_later(f->st, a, "h:1", 3600, "engine timeout", &err), PARLEY_OK);
	assert_int_equal(store_lease_next(f->st, f->batch, "h:1", 60, NULL, &r, &found, &err), PARLEY_OK);
	assert_false(found); /* still backing off */
	struct store_progress p;
	assert_int_equal(store_progress_get(f->st, f->batch, &p, &err), PARLEY_OK);
	assert_int_equal(p.pending, 1);
	assert_int_equal(store_lease_next(f->st, f->batch, "h:1", 60, NULL, &r, &found, &err), PARLEY_OK);
}

/* The call-analysis tables (migration 5) round-trip and replace, never add. */
static void call_roundtrip(struct store *st, int64_t rec)
{
	struct parley_error err = {0};
	struct store_call_event ev[2] = {{"dtmf", 1.0, 1.5, 0, "{\"digits\":2}"},
					 {"ringback", 0.0, 0.9, -1, ""}};
	assert_int_equal(store_call_events_put(st, rec, ev, 2, &err), PARLEY_OK);
	assert_int_equal(store_call_events_put(st, rec, ev, 2, &err), PARLEY_OK);
	struct store_call_event *eg = NULL;
	size_t n = 0;
	assert_int_equal(store_call_events_get(st, rec, &eg, &n, &err), PARLEY_OK);
	assert_int_equal(n, 2);
	assert_string_equal(eg[0].kind, "dtmf");
	assert_string_equal(eg[0].detail, "{\"digits\":2}");
	assert_int_equal(eg[0].channel, 0);
	assert_string_equal(eg[1].detail, "{}");
	assert_int_equal(eg[1].channel, -1);
	free(eg);

	struct store_speaker_role r[2] = {{0, "agent", 0, "channel"}, {1, "customer", 1, "channel"}};
	assert_int_equal(store_speaker_roles_put(st, rec, r, 2, &err), PARLEY_OK);
	struct store_speaker_role *rg = NULL;
	assert_int_equal(store_speaker_roles_get(st, rec, &rg, &n, &err), PARLEY_OK);
	assert_int_equal(n, 2);
	assert_string_equal(rg[1].role, "customer");
	assert_int_equal(rg[1].channel, 1);
	free(rg);

	struct store_call_language lang = {"en", "engine", 0.93, false}, lg;
	bool found = true;
	assert_int_equal(store_call_language_put(st, rec, NULL, &err), PARLEY_OK);
	assert_int_equal(store_call_language_get(st, rec, &lg, &found, &err), PARLEY_OK);
	assert_false(found);
	assert_int_equal(store_call_language_put(st, rec, &lang, &err), PARLEY_OK);
	assert_int_equal(store_call_language_get(st, rec, &lg, &found, &err), PARLEY_OK);
	assert_true(found);
	assert_string_equal(lg.code, "en");
	assert_false(lg.expected);

	struct store_call_metric m[2] = {{"agent", "talk_time", 61.5}, {"call", "silence_time", 4}};
	assert_int_equal(store_call_metrics_put(st, rec, m, 2, &err), PARLEY_OK);
	struct store_call_metric *mg = NULL;
	assert_int_equal(store_call_metrics_get(st, rec, &mg, &n, &err), PARLEY_OK);
	assert_int_equal(n, 2);
	assert_string_equal(mg[0].scope, "agent");
	assert_true(mg[0].value == 61.5);
	free(mg);

	struct store_call_span sp[2] = {{"silence", 9, 12, "", ""}, {"interruption", 3, 3.4, "customer", "agent"}};
	assert_int_equal(store_call_spans_put(st, rec, sp, 2, &err), PARLEY_OK);
	struct store_call_span *sg = NULL;
	assert_int_equal(store_call_spans_get(st, rec, &sg, &n, &err), PARLEY_OK);
	assert_int_equal(n, 2);
	assert_string_equal(sg[0].kind, "interruption");
	assert_string_equal(sg[0].other, "agent");
	free(sg);
}

static void test_call_tables(void **state)
{
	struct fixture *f = *state;
	call_roundtrip(f->st, add(f, "call", "fpc"));
}

static void test_call_tables_pg(void **state)
{
	(void)state;
	struct pg_fixture pg;
	pg_fixture_open(&pg, "sc");
	call_roundtrip(pg.st, pg.rec);
	pg_fixture_drop(&pg);
}

/* Versions of a batch's audit; answers and verdicts per version, the older
 * version still readable after a new one (reaudit). */
static void audit_roundtrip(struct store *st, int64_t batch, int64_t rec)
{
	struct parley_error err = {0};
	int v = -1;
	assert_int_equal(store_audit_current(st, batch, &v, &err), PARLEY_OK);
	assert_int_equal(v, 0);
	struct store_audit a;
	assert_int_equal(store_audit_get(st, batch, 0, &a, &err), PARLEY_ERR_NOT_FOUND);
	assert_int_equal(store_audit_add(st, batch, "{\"questions\":[]}", "rule r: true", NULL, &v, &err),
			 PARLEY_OK);
	assert_int_equal(v, 1);
	struct store_answer an[2] = {{.question = "greet", .answer = "\"yes\"", .source = "phrase",
				      .score = 1, .max_score = 1, .weight = 2, .valid = true,
				      .evidence = "[{\"text\":\"hello\",\"start\":1,\"end\":1.4}]"},
				     {.question = "silence", .source = "metric", .na = true, .valid = true}};
	assert_int_equal(store_answers_put(st, rec, 1, an, 2, &err), PARLEY_OK);
	struct store_verdict vd = {.verdict = "pass", .score = 3, .max_score = 3};
	assert_int_equal(store_verdict_put(st, rec, 1, &vd, &err), PARLEY_OK);

	assert_int_equal(store_audit_add(st, batch, "{\"questions\":[]}", "rule r: false", "verdicts",
					 &v, &err), PARLEY_OK);
	assert_int_equal(v, 2);
	struct store_verdict vd2 = {.verdict = "fail", .score = 0, .max_score = 3, .auto_fail = true,
				    .reasons = "[{\"rule\":\"r\"}]"};
	assert_int_equal(store_verdict_put(st, rec, 2, &vd2, &err), PARLEY_OK);

	struct store_verdict got;
	bool found = false;
	assert_int_equal(store_verdict_get(st, rec, 0, &got, &found, &err), PARLEY_OK);
	assert_true(found);
	assert_string_equal(got.verdict, "fail");
	assert_true(got.auto_fail);
	assert_string_equal(got.reasons, "[{\"rule\":\"r\"}]");
	store_verdict_release(&got);
	assert_int_equal(store_verdict_get(st, rec, 1, &got, &found, &err), PARLEY_OK);
	assert_true(found);
	assert_string_equal(got.verdict, "pass");
	assert_string_equal(got.reasons, "[]");
	store_verdict_release(&got);

	struct store_answer *ag = NULL;
	size_t n = 9;
	assert_int_equal(store_answers_get(st, rec, 0, &ag, &n, &err), PARLEY_OK); /* v2: none yet */
	assert_int_equal(n, 0);
	assert_int_equal(store_answers_get(st, rec, 1, &ag, &n, &err), PARLEY_OK);
	assert_int_equal(n, 2);
	assert_string_equal(ag[0].question, "greet");
	assert_string_equal(ag[0].answer, "\"yes\"");
	assert_true(ag[0].weight == 2);
	assert_true(ag[1].na);
	assert_string_equal(ag[1].answer, "null");
	assert_string_equal(ag[1].evidence, "[]");
	store_answers_free(ag, n);

	assert_int_equal(store_audit_get(st, batch, 0, &a, &err), PARLEY_OK);
	assert_int_equal(a.version, 2);
	assert_string_equal(a.rules, "rule r: false");
	assert_string_equal(a.from_stage, "verdicts");
	store_audit_release(&a);
	assert_int_equal(store_audit_get(st, batch, 1, &a, &err), PARLEY_OK);
	assert_string_equal(a.rules, "rule r: true");
	store_audit_release(&a);
	assert_int_equal(store_audit_get(st, batch, 3, &a, &err), PARLEY_ERR_NOT_FOUND);
}

static void test_audit_tables(void **state)
{
	struct fixture *f = *state;
	audit_roundtrip(f->st, f->batch, add(f, "call", "fpa"));
}

static void test_audit_tables_pg(void **state)
{
	(void)state;
	struct pg_fixture pg;
	pg_fixture_open(&pg, "sa");
	struct parley_error err = {0};
	int64_t batch;
	assert_int_equal(store_batch_ensure(pg.st, "b", "run", &batch, &err), PARLEY_OK);
	audit_roundtrip(pg.st, batch, pg.rec);
	pg_fixture_drop(&pg);
}

static void test_results_replace_and_reset(void **state)
{
	struct fixture *f = *state;
	struct parley_error err = {0};
	int64_t a = add(f, "a", "fp1");
	struct store_segment s1[3] = {{0, 1, 0}, {1, 2, 1}, {2, 3, 0}};
	struct store_segment s2[1] = {{5, 6, 1}};
	assert_int_equal(store_begin(f->st, &err), PARLEY_OK);
	assert_int_equal(store_segments_put(f->st, a, "turn", s1, 3, &err), PARLEY_OK);
	assert_int_equal(store_stage_done(f->st, a, "diarize", 0.1, 0.2, &err), PARLEY_OK);
	assert_int_equal(store_commit(f->st, &err), PARLEY_OK);
	assert_int_equal(store_segments_put(f->st, a, "speech", s2, 1, &err), PARLEY_OK);
	/* re-running replaces, never adds */
	assert_int_equal(store_segments_put(f->st, a, "turn", s2, 1, &err), PARLEY_OK);
	struct store_segment *got;
	size_t n;
	assert_int_equal(store_segments_get(f->st, a, "turn", &got, &n, &err), PARLEY_OK);
	assert_int_equal(n, 1);
	assert_true(got[0].start == 5 && got[0].speaker == 1);
	free(got);
	struct store_word w[2] = {{0.1, 0.4, 0.9f, 0, "hello", false},
				  {0.5, 0.7, 0.5f, 1, "lah", true}};
	assert_int_equal(store_words_put(f->st, a, "words", w, 2, &err), PARLEY_OK);
	assert_int_equal(store_words_put(f->st, a, "bogus", w, 2, &err), PARLEY_ERR_INTERNAL);
	struct store_word *gw;
	assert_int_equal(store_words_get(f->st, a, "words", &gw, &n, &err), PARLEY_OK);
	assert_int_equal(n, 2);
	assert_string_equal(gw[1].text, "lah");
	assert_false(gw[0].approximate);
	assert_true(gw[1].approximate); /* the flag round-trips in both word tables */
	free(gw);
	assert_int_equal(store_words_put(f->st, a, "stt_words", w, 2, &err), PARLEY_OK);
	assert_int_equal(store_words_get(f->st, a, "stt_words", &gw, &n, &err), PARLEY_OK);
	assert_int_equal(n, 2);
	assert_true(!gw[0].approximate && gw[1].approximate);
	free(gw);
	struct store_count c[1] = {{1, "lah", 4}};
	assert_int_equal(store_counts_put(f->st, a, c, 1, &err), PARLEY_OK);
	enum store_status st;
	assert_int_equal(store_stage_status(f->st, a, "diarize", &st, &err), PARLEY_OK);
	assert_int_equal(st, STORE_DONE);
	/* same fingerprint: finished stages stay */
	assert_int_equal(add(f, "a", "fp1"), a);
	assert_int_equal(store_stage_status(f->st, a, "diarize", &st, &err), PARLEY_OK);
	assert_int_equal(st, STORE_DONE);
	/* the input changed: everything is dropped */
	assert_int_equal(add(f, "a", "fp2"), a);
	assert_int_equal(store_stage_status(f->st, a, "diarize", &st, &err), PARLEY_OK);
	assert_int_equal(st, STORE_PENDING);
	assert_int_equal(store_segments_get(f->st, a, "turn", &got, &n, &err), PARLEY_OK);
	assert_int_equal(n, 0);
	free(got);
	struct store_count *gc;
	assert_int_equal(store_counts_get(f->st, a, &gc, &n, &err), PARLEY_OK);
	assert_int_equal(n, 0);
	free(gc);
}

static void test_rollback_discards(void **state)
{
	struct fixture *f = *state;
	struct parley_error err = {0};
	int64_t a = add(f, "a", "1");
	struct store_segment s[1] = {{0, 1, 0}};
	assert_int_equal(store_begin(f->st, &err), PARLEY_OK);
	assert_int_equal(store_segments_put(f->st, a, "turn", s, 1, &err), PARLEY_OK);
	assert_int_equal(store_stage_done(f->st, a, "diarize", 0, 0, &err), PARLEY_OK);
	store_rollback(f->st);
	enum store_status st;
	assert_int_equal(store_stage_status(f->st, a, "diarize", &st, &err), PARLEY_OK);
	assert_int_equal(st, STORE_PENDING);
	struct store_segment *got;
	size_t n;
	assert_int_equal(store_segments_get(f->st, a, "turn", &got, &n, &err), PARLEY_OK);
	assert_int_equal(n, 0);
	free(got);
}

/* A savepoint: rolling back to it keeps what came before it (the held
 * stages of a coalesced commit when the finish's webhook events fail); a
 * bad name is refused; store_hold_limit is accepted on both backends. */
static void savepoint_check(struct store *st, int64_t a)
{
	struct parley_error err = {0};
	struct store_segment s[1] = {{0, 1, 0}};
	assert_false(store_in_transaction(st));
	assert_int_equal(store_hold_limit(st, 0.2, &err), PARLEY_OK);
	assert_int_equal(store_begin_durable(st, &err), PARLEY_OK);
	assert_true(store_in_transaction(st));
	assert_int_equal(store_segments_put(st, a, "turn", s, 1, &err), PARLEY_OK);
	assert_int_equal(store_stage_done(st, a, "diarize", 0, 0, &err), PARLEY_OK);
	assert_int_equal(store_savepoint(st, "finish_hooks", &err), PARLEY_OK);
	assert_int_equal(store_stage_done(st, a, "stt", 0, 0, &err), PARLEY_OK);
	assert_int_equal(store_savepoint(st, "bad name;", &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "bad savepoint name"));
	assert_int_equal(store_rollback_to(st, "finish_hooks", &err), PARLEY_OK);
	assert_int_equal(store_commit(st, &err), PARLEY_OK);
	assert_false(store_in_transaction(st));
	enum store_status status;
	assert_int_equal(store_stage_status(st, a, "diarize", &status, &err), PARLEY_OK);
	assert_int_equal(status, STORE_DONE);
	assert_int_equal(store_stage_status(st, a, "stt", &status, &err), PARLEY_OK);
	assert_int_equal(status, STORE_PENDING);
	struct store_segment *got;
	size_t n;
	assert_int_equal(store_segments_get(st, a, "turn", &got, &n, &err), PARLEY_OK);
	assert_int_equal(n, 1);
	free(got);
}

static void test_savepoint(void **state)
{
	struct fixture *f = *state;
	savepoint_check(f->st, add(f, "a", "1"));
}

static void test_savepoint_pg(void **state)
{
	(void)state;
	struct pg_fixture pg;
	pg_fixture_open(&pg, "savepoint");
	savepoint_check(pg.st, pg.rec);
	pg_fixture_drop(&pg);
}

/* batches.config: defaults for a batch stored without one, the canonical
 * text stored, a different configuration refused, none given keeps it. */
static void test_batch_config(void **state)
{
	struct fixture *f = *state;
	struct parley_error err = {0};
	struct pipeline_config c, d;
	assert_int_equal(batch_config_load(f->st, f->batch, &c, &err), PARLEY_OK);
	pipeline_config_init(&d);
	assert_null(pipeline_config_diff(&c, &d)); /* '{}': the defaults */
	assert_int_equal(pipeline_config_set(&c, "diarize.speakers", "2", &err), PARLEY_OK);
	assert_int_equal(pipeline_config_set(&c, "lexicon.text", "target lah L AA\n", &err), PARLEY_OK);
	assert_int_equal(batch_config_store(f->st, f->batch, "b", &c, &err), PARLEY_OK);
	char *json = NULL;
	assert_int_equal(store_batch_get_config(f->st, f->batch, &json, &err), PARLEY_OK);
	assert_non_null(strstr(json, "\"speakers\":2"));
	assert_non_null(strstr(json, "\"text\":\"target lah L AA\\n\""));
	free(json);
	pipeline_config_release(&d);
	assert_int_equal(batch_config_load(f->st, f->batch, &d, &err), PARLEY_OK);
	assert_null(pipeline_config_diff(&c, &d));
	/* the same again is fine; nothing given keeps it; another is refused */
	assert_int_equal(batch_config_store(f->st, f->batch, "b", &c, &err), PARLEY_OK);
	assert_int_equal(batch_config_store(f->st, f->batch, "b", NULL, &err), PARLEY_OK);
	assert_int_equal(pipeline_config_set(&d, "diarize.speakers", "3", &err), PARLEY_OK);
	assert_int_equal(batch_config_store(f->st, f->batch, "b", &d, &err), PARLEY_ERR_CONFLICT);
	assert_non_null(strstr(err.msg, "diarize.speakers differs"));
	pipeline_config_release(&d);
	assert_int_equal(batch_config_load(f->st, f->batch, &d, &err), PARLEY_OK);
	assert_int_equal(d.diarize.speakers, 2);
	/* a stored text that does not parse names the batch */
	assert_int_equal(store_batch_set_config(f->st, f->batch, "{\"stt\": 1}", &err), PARLEY_OK);
	pipeline_config_release(&d);
	assert_int_equal(batch_config_load(f->st, f->batch, &d, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "configuration:1:9:"));
	/* a new batch given nothing gets the defaults written */
	int64_t b2;
	assert_int_equal(store_batch_ensure(f->st, "b2", "batch", &b2, &err), PARLEY_OK);
	assert_int_equal(batch_config_store(f->st, b2, "b2", NULL, &err), PARLEY_OK);
	assert_int_equal(store_batch_get_config(f->st, b2, &json, &err), PARLEY_OK);
	assert_non_null(strstr(json, "\"engine\":\"pocketsphinx\""));
	free(json);
	pipeline_config_release(&c);
	pipeline_config_release(&d);
}


/* Priorities and fair share (store.h): the order store_lease_next hands out.
 * Batch A (6 recordings) waits; batch B (3) is added after it: the two
 * alternate, A first on equal turns, then A's rest. A session's recording
 * added at any point is next; a batch given priority -5 comes last; a held
 * batch started late shares from then on instead of jumping the queue. */
static int64_t order_add(struct store *st, int64_t batch, const char *name)
{
	int64_t id = 0;
	struct parley_error err = {0};
	assert_int_equal(store_recording_add(st, batch, name, "/src", "fp", reset_tables, &id, &err),
			 PARLEY_OK);
	return id;
}

/* Lease until none is left (finishing each); the names in order, space-separated. */
static void order_drain(struct store *st, int n, char *out, size_t size)
{
	struct parley_error err = {0};
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		struct store_recording r;
		bool found = false;
		assert_int_equal(store_lease_next(st, 0, "w:1", 60, NULL, &r, &found, &err), PARLEY_OK);
		if (!found)
			break;
		size_t used = strlen(out);
		snprintf(out + used, size - used, "%s%s", used ? " " : "", r.name);
		assert_int_equal(store_recording_finish(st, r.id, "w:1", STORE_DONE, NULL, NULL, &err),
				 PARLEY_OK);
	}
}

/* As order_drain, but leasing up to three at a time (take-ahead): the
 * same order. */
static void order_drain_many(struct store *st, char *out, size_t size)
{
	struct parley_error err = {0};
	out[0] = '\0';
	for (;;) {
		struct store_recording r[3];
		size_t n = 0;
		assert_int_equal(store_lease_many(st, 0, "w:1", 60, NULL, 3, r, &n, &err), PARLEY_OK);
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			size_t used = strlen(out);
			snprintf(out + used, size - used, "%s%s", used ? " " : "", r[i].name);
			assert_int_equal(store_recording_finish(st, r[i].id, "w:1", STORE_DONE, NULL, NULL,
								&err), PARLEY_OK);
		}
	}
}

static void order_check(struct store *st)
{
	struct parley_error err = {0};
	int64_t a, b, s, low, h;
	char got[512];
	assert_int_equal(store_batch_ensure(st, "A", "batch", &a, &err), PARLEY_OK);
	for (int i = 1; i <= 6; i++) {
		char name[8];
		snprintf(name, sizeof(name), "a%d", i);
		order_add(st, a, name);
	}
	/* one of A is done before B arrives: B starts at A's current turn */
	struct store_recording r;
	bool found;
	assert_int_equal(store_lease_next(st, 0, "w:1", 60, NULL, &r, &found, &err), PARLEY_OK);
	assert_true(found);
	assert_string_equal(r.name, "a1");
	assert_int_equal(store_recording_finish(st, r.id, "w:1", STORE_DONE, NULL, NULL, &err), PARLEY_OK);
	assert_int_equal(store_batch_ensure(st, "B", "batch", &b, &err), PARLEY_OK);
	order_add(st, b, "b1");
	order_add(st, b, "b2");
	order_add(st, b, "b3");
	assert_int_equal(store_batch_ensure(st, "low", "batch", &low, &err), PARLEY_OK);
	assert_int_equal(store_batch_set_priority(st, low, -5, &err), PARLEY_OK);
	order_add(st, low, "l1");
	assert_int_equal(store_batch_ensure(st, "session:x", "session", &s, &err), PARLEY_OK);
	int prio = 0;
	assert_int_equal(store_batch_get_priority(st, s, &prio, &err), PARLEY_OK);
	assert_int_equal(prio, STORE_PRIORITY_SESSION);
	order_add(st, s, "s1");
	/* a held batch (created, files added, not started) is never leased */
	assert_int_equal(sbatch_create(st, "H", &h, &err), PARLEY_OK);
	int64_t h1 = order_add(st, h, "h1");
	assert_int_equal(sbatch_hold(st, h1, &err), PARLEY_OK);
	int64_t h2 = order_add(st, h, "h2");
	assert_int_equal(sbatch_hold(st, h2, &err), PARLEY_OK);
	order_drain(st, 4, got, sizeof(got));
	/* 4 leases: the session, then A and B in turn */
	assert_string_equal(got, "s1 a2 b1 a3");
	/* H starts now: it joins the round-robin at the current turn */
	int64_t n = 0;
	assert_int_equal(sbatch_start(st, h, &n, &err), PARLEY_OK);
	assert_int_equal(n, 2);
	order_drain_many(st, got, sizeof(got));
	assert_string_equal(got, "b2 h1 a4 b3 h2 a5 a6 l1");
	/* an out-of-range priority is refused */
	assert_int_equal(store_batch_set_priority(st, a, STORE_PRIORITY_MAX + 1, &err), PARLEY_ERR_INVALID);
	/* the Redis score keeps the same order: priority first, then the turn */
	assert_true(store_order_key(STORE_PRIORITY_SESSION, 1000000) < store_order_key(0, 1));
	assert_true(store_order_key(0, 5) < store_order_key(0, 6));
	assert_true(store_order_key(0, 1000000) < store_order_key(-5, 1));
	assert_true((double)store_order_key(STORE_PRIORITY_MIN, ((int64_t)1 << STORE_TAG_BITS) - 1) ==
		    (double)(store_order_key(STORE_PRIORITY_MIN, ((int64_t)1 << STORE_TAG_BITS) - 2) + 1));
}

static void test_priority_fair_order(void **state)
{
	struct fixture *f = *state;
	order_check(f->st);
}

static void test_priority_fair_order_pg(void **state)
{
	(void)state;
	struct pg_fixture pg;
	pg_fixture_open(&pg, "prio");
	/* the fixture's recording "a" (batch b) is first in line: take it away */
	struct parley_error err = {0};
	assert_int_equal(store_recording_finish(pg.st, pg.rec, NULL, STORE_DONE, NULL, NULL, &err),
			 PARLEY_OK);
	order_check(pg.st);
	pg_fixture_drop(&pg);
}

/* Take-ahead (store.h, store_lease_many): a take leases a bounded set in
 * hand-out order with the stages done, counting an attempt for each; one
 * given back unstarted (store_lease_unhold) has it returned; store_lease_ids
 * leases named ones in their order, skipping what another worker holds. */
static void take_ahead_check(struct store *st)
{
	struct parley_error err = {0};
	int64_t batch, id[5];
	assert_int_equal(store_batch_ensure(st, "ahead", "batch", &batch, &err), PARLEY_OK);
	for (int i = 0; i < 5; i++) {
		char name[8];
		snprintf(name, sizeof(name), "t%d", i + 1);
		assert_int_equal(store_recording_add(st, batch, name, "/src", name, reset_tables, &id[i], &err),
				 PARLEY_OK);
	}
	assert_int_equal(store_stage_done(st, id[1], "tick1", 0, 0, &err), PARLEY_OK);
	assert_int_equal(store_stage_done(st, id[1], "tick2", 0, 0, &err), PARLEY_OK);
	struct store_recording r[STORE_LEASE_MANY_MAX];
	size_t n = 99;
	assert_int_equal(store_lease_many(st, batch, "w:1", 60, NULL, 3, r, &n, &err), PARLEY_OK);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(r[i].id, id[i]);
		assert_true(r[i].stages_known);
		assert_int_equal(r[i].attempts, 1); /* each taken counts its attempt */
		assert_int_equal(r[i].status, STORE_RUNNING);
	}
	assert_string_equal(r[0].stages_done, "");
	assert_true(strcmp(r[1].stages_done, "tick1,tick2") == 0 ||
		    strcmp(r[1].stages_done, "tick2,tick1") == 0);
	/* another worker gets only what is not held, however many it asks for */
	assert_int_equal(store_lease_many(st, batch, "w:2", 60, NULL, STORE_LEASE_MANY_MAX + 5, r, &n, &err),
			 PARLEY_OK);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].id, id[3]);
	assert_int_equal(r[1].id, id[4]);
	/* max 0 is one */
	assert_int_equal(store_recording_finish(st, id[4], "w:2", STORE_DONE, NULL, NULL, &err), PARLEY_OK);
	assert_int_equal(store_lease_unhold(st, "w:2", &id[3], 1, &err), PARLEY_OK);
	assert_int_equal(store_lease_many(st, batch, "w:3", 60, NULL, 0, r, &n, &err), PARLEY_OK);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].id, id[3]);
	/* w:1 gives t3 back: its attempt returned, free; t2's stays counted */
	assert_int_equal(store_lease_unhold(st, "w:9", &id[2], 1, &err), PARLEY_OK); /* not its lease */
	struct store_recording g;
	assert_int_equal(store_recording_get(st, id[2], &g, &err), PARLEY_OK);
	assert_int_equal(g.status, STORE_RUNNING);
	assert_int_equal(store_lease_unhold(st, "w:1", &id[2], 1, &err), PARLEY_OK);
	assert_int_equal(store_recording_get(st, id[2], &g, &err), PARLEY_OK);
	assert_int_equal(g.status, STORE_PENDING);
	assert_int_equal(g.attempts, 0);
	assert_int_equal(store_recording_get(st, id[1], &g, &err), PARLEY_OK);
	assert_int_equal(g.attempts, 1);
	/* by ids, in their order: t1 (w:1's) and t5 (done) are left out; each
	 * leased counts its attempt */
	int64_t want[4] = {id[2], id[0], id[4], id[1]};
	assert_int_equal(store_lease_ids(st, want, 4, "w:4", 60, r, &n, &err), PARLEY_OK);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].id, id[2]);
	assert_int_equal(r[0].attempts, 1);
	/* t1's and t2's leases (w:1) expire: now both are leased, counted again */
	assert_int_equal(store_lease_renew(st, id[1], "w:1", -1, &err), PARLEY_OK);
	int64_t want2[2] = {id[0], id[1]};
	assert_int_equal(store_lease_renew(st, id[0], "w:1", -1, &err), PARLEY_OK);
	assert_int_equal(store_lease_ids(st, want2, 2, "w:4", 60, r, &n, &err), PARLEY_OK);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].id, id[0]);
	assert_int_equal(r[0].attempts, 2);
	assert_int_equal(r[1].id, id[1]);
	assert_int_equal(r[1].attempts, 2);
	assert_int_equal(store_lease_ids(st, want, STORE_LEASE_MANY_MAX + 1, "w:4", 60, r, &n, &err),
			 PARLEY_ERR_TOO_LARGE);
}

static void test_take_ahead(void **state)
{
	struct fixture *f = *state;
	take_ahead_check(f->st);
}

static void test_take_ahead_pg(void **state)
{
	(void)state;
	struct pg_fixture pg;
	pg_fixture_open(&pg, "ahead");
	take_ahead_check(pg.st);
	pg_fixture_drop(&pg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_schema_version_and_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_words_approximate, setup, teardown),
		cmocka_unit_test(test_words_approximate_pg),
		cmocka_unit_test_setup_teardown(test_unwritable_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lease_cycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stage_fail_fenced, setup, teardown),
		cmocka_unit_test(test_stage_fail_fenced_pg),
		cmocka_unit_test_setup_teardown(test_stage_advance_fenced, setup, teardown),
		cmocka_unit_test(test_stage_advance_fenced_pg),
		cmocka_unit_test_setup_teardown(test_reclaim_dead_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_later_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_results_replace_and_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_discards, setup, teardown),
		cmocka_unit_test_setup_teardown(test_savepoint, setup, teardown),
		cmocka_unit_test(test_savepoint_pg),
		cmocka_unit_test_setup_teardown(test_batch_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_tables, setup, teardown),
		cmocka_unit_test(test_call_tables_pg),
		cmocka_unit_test_setup_teardown(test_audit_tables, setup, teardown),
		cmocka_unit_test(test_audit_tables_pg),
		cmocka_unit_test_setup_teardown(test_priority_fair_order, setup, teardown),
		cmocka_unit_test(test_priority_fair_order_pg),
		cmocka_unit_test_setup_teardown(test_take_ahead, setup, teardown),
		cmocka_unit_test(test_take_ahead_pg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
