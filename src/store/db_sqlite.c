/*
 * db_sqlite.c — the SQLite driver of db.h: WAL journal, synchronous=NORMAL
 * (a commit survives a killed process; the last commits before a power loss
 * may not), foreign keys on, BEGIN IMMEDIATE so writers queue at the start of
 * a transaction instead of failing at its end. The schema version is PRAGMA
 * user_version.
 *
 * Speed (issue 17, queue speed): each connection keeps a bounded cache of
 * prepared statements keyed by their SQL text (db_finalize resets a cached
 * statement and gives it back, so preparing the same SQL again costs no
 * parse); BEGIN IMMEDIATE, COMMIT and ROLLBACK go through it too. A writer
 * that finds the database locked waits in short steps (the steps of sqlite_busy_wait,
 * then 1 ms) for up to DB_SQLITE_BUSY_TIMEOUT s instead of sqlite3_busy_timeout's
 * 1, 2, 5, 10… ms: parley's write transactions last tens of microseconds, so
 * a worker slept milliseconds behind a lock long free.
 */
#include "store/db.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DB_SQLITE_CACHE_MAX 96       /* prepared statements kept per connection */
#define DB_SQLITE_BUSY_TIMEOUT 30.0  /* seconds a writer waits for the lock */

struct sqlite_cached {
	char *sql; /* NULL = free slot */
	uint64_t hash;
	sqlite3_stmt *h;
	bool in_use; /* handed out by prepare, not yet finalized */
};

struct sqlite_db {
	struct db base;
	sqlite3 *h;
	double busy_since; /* when the current wait for the lock began */
	int cached;
	struct sqlite_cached cache[DB_SQLITE_CACHE_MAX];
};

struct sqlite_stmt {
	struct db_stmt base;
	sqlite3_stmt *h;
	int64_t changes;
	struct sqlite_cached *slot; /* NULL = not cached: finalized with the statement */
	int bind_rc; /* the first failed bind (SQLITE_NOMEM copying a text): the step fails */
};

/* SQLite's result codes that are not PARLEY_ERR_STORE. */
static const struct {
	int sqlite;
	enum parley_err parley;
} sqlite_codes[] = {
	{SQLITE_BUSY, PARLEY_ERR_BUSY},
	{SQLITE_LOCKED, PARLEY_ERR_BUSY},
	{SQLITE_NOMEM, PARLEY_ERR_NOMEM},
};

static enum parley_err parley_code(int rc)
{
	for (size_t i = 0; i < sizeof(sqlite_codes) / sizeof(sqlite_codes[0]); i++)
		if (sqlite_codes[i].sqlite == (rc & 0xff))
			return sqlite_codes[i].parley;
	return PARLEY_ERR_STORE;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The busy handler: short waits first, then 1 ms steps, DB_SQLITE_BUSY_TIMEOUT in all. */
static int sqlite_busy_wait(void *ud, int count)
{
	static const long steps_us[] = {20, 50, 100, 200, 500};
	struct sqlite_db *d = ud;
	double now = mono_now();
	if (count == 0)
		d->busy_since = now;
	if (now - d->busy_since >= DB_SQLITE_BUSY_TIMEOUT)
		return 0;
	size_t nsteps = sizeof(steps_us) / sizeof(steps_us[0]);
	long us = (size_t)count < nsteps ? steps_us[count] : 1000;
	struct timespec ts = {0, us * 1000L};
	nanosleep(&ts, NULL);
	return 1;
}

static sqlite3 *handle(struct db *db)
{
	return ((struct sqlite_db *)db)->h;
}

static enum parley_err sqlite_fail(struct db *db, struct parley_error *err, const char *what)
{
	enum parley_err pe = parley_code(sqlite3_errcode(handle(db)));
	return parley_error_set(err, pe, "store %s: %s: %s", db->target, what,
				sqlite3_errmsg(handle(db)));
}

static enum parley_err sqlite_exec(struct db *db, const char *sql, struct parley_error *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(handle(db), sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		return PARLEY_OK;
	enum parley_err pe = parley_code(rc);
	parley_error_set(err, pe, "store %s: %s", db->target, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return pe;
}

static void cache_clear(struct sqlite_db *d)
{
	for (int i = 0; i < DB_SQLITE_CACHE_MAX; i++) {
		if (!d->cache[i].sql)
			continue;
		sqlite3_finalize(d->cache[i].h);
		free(d->cache[i].sql);
		memset(&d->cache[i], 0, sizeof(d->cache[i]));
	}
	d->cached = 0;
}

static void sqlite_close(struct db *db)
{
	struct sqlite_db *d = (struct sqlite_db *)db;
	cache_clear(d);
	sqlite3_close(d->h);
	free(d);
}

static enum parley_err sqlite_open(const char *path, struct db **out, struct parley_error *err)
{
	struct sqlite_db *d = calloc(1, sizeof(*d));
	if (!d)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory opening the store");
	d->base.drv = &db_driver_sqlite;
	snprintf(d->base.target, sizeof(d->base.target), "%s", path);
	enum parley_err rc;
	int orc = sqlite3_open_v2(path, &d->h,
				  SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (orc != SQLITE_OK) {
		rc = parley_error_set(err, parley_code(orc), "cannot open store %s: %s", path,
				      d->h ? sqlite3_errmsg(d->h) : "out of memory");
		goto fail;
	}
	sqlite3_busy_handler(d->h, sqlite_busy_wait, d);
	if ((rc = sqlite_exec(&d->base, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
					" PRAGMA foreign_keys=ON;", err)))
		goto fail;
	*out = &d->base;
	return PARLEY_OK;
fail:
	sqlite_close(&d->base);
	return rc;
}

/* A cached statement for sql, free to hand out, or NULL. */
static struct sqlite_cached *cache_find(struct sqlite_db *d, uint64_t hash, const char *sql)
{
	for (int i = 0; i < DB_SQLITE_CACHE_MAX; i++) {
		struct sqlite_cached *c = &d->cache[(hash + (uint64_t)i) % DB_SQLITE_CACHE_MAX];
		if (!c->sql)
			return NULL;
		if (c->hash == hash && !c->in_use && strcmp(c->sql, sql) == 0)
			return c;
	}
	return NULL;
}

/* Keep h in the cache (a free slot near its hash), or return NULL when the
 * cache is full or out of memory: the statement then lives uncached. */
static struct sqlite_cached *cache_add(struct sqlite_db *d, uint64_t hash, const char *sql,
				       sqlite3_stmt *h)
{
	if (d->cached >= DB_SQLITE_CACHE_MAX * 3 / 4)
		return NULL;
	for (int i = 0; i < DB_SQLITE_CACHE_MAX; i++) {
		struct sqlite_cached *c = &d->cache[(hash + (uint64_t)i) % DB_SQLITE_CACHE_MAX];
		if (c->sql)
			continue;
		if (!(c->sql = strdup(sql)))
			return NULL;
		c->hash = hash;
		c->h = h;
		d->cached++;
		return c;
	}
	return NULL;
}

static enum parley_err sqlite_prepare(struct db *db, const char *sql, struct db_stmt **out,
				      struct parley_error *err)
{
	struct sqlite_db *d = (struct sqlite_db *)db;
	*out = NULL;
	struct sqlite_stmt *s = calloc(1, sizeof(*s));
	if (!s)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory preparing a statement");
	s->base.db = db;
	uint64_t hash = fnv1a(sql);
	struct sqlite_cached *c = cache_find(d, hash, sql);
	if (c) {
		s->h = c->h;
	} else {
		if (sqlite3_prepare_v3(d->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->h, NULL) !=
		    SQLITE_OK) {
			free(s);
			return sqlite_fail(db, err, "prepare");
		}
		c = cache_add(d, hash, sql, s->h);
	}
	if (c)
		c->in_use = true;
	s->slot = c;
	*out = &s->base;
	return PARLEY_OK;
}

static sqlite3_stmt *sh(struct db_stmt *s)
{
	return ((struct sqlite_stmt *)s)->h;
}

/* A bind that fails (a text's copy out of memory, an index out of range)
 * leaves the parameter NULL: remember it, so the step fails instead of
 * writing NULL (torture: "NOT NULL constraint failed", or a silent NULL in
 * a nullable column). */
static void bound(struct db_stmt *s, int rc)
{
	struct sqlite_stmt *ss = (struct sqlite_stmt *)s;
	if (rc != SQLITE_OK && !ss->bind_rc)
		ss->bind_rc = rc;
}

static void sqlite_bind_int(struct db_stmt *s, int idx, int64_t v)
{
	bound(s, sqlite3_bind_int64(sh(s), idx, v));
}

static void sqlite_bind_double(struct db_stmt *s, int idx, double v)
{
	bound(s, sqlite3_bind_double(sh(s), idx, v));
}

static void sqlite_bind_text(struct db_stmt *s, int idx, const char *v)
{
	if (v)
		bound(s, sqlite3_bind_text(sh(s), idx, v, -1, SQLITE_TRANSIENT));
	else
		bound(s, sqlite3_bind_null(sh(s), idx));
}

static void sqlite_bind_null(struct db_stmt *s, int idx)
{
	bound(s, sqlite3_bind_null(sh(s), idx));
}

static enum parley_err sqlite_step(struct db_stmt *s, bool *row, struct parley_error *err)
{
	int brc = ((struct sqlite_stmt *)s)->bind_rc;
	*row = false;
	if (brc)
		return parley_error_set(err, parley_code(brc), "store %s: binding a parameter: %s",
					s->db->target, sqlite3_errstr(brc));
	int rc = sqlite3_step(sh(s));
	*row = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW)
		return PARLEY_OK;
	if (rc == SQLITE_DONE) {
		((struct sqlite_stmt *)s)->changes = sqlite3_changes64(handle(s->db));
		return PARLEY_OK;
	}
	/* sqlite3_step's own code is the precise one (errcode may lag behind). */
	enum parley_err pe = parley_code(rc);
	return parley_error_set(err, pe, "store %s: %s", s->db->target, sqlite3_errmsg(handle(s->db)));
}

static int64_t sqlite_column_int(struct db_stmt *s, int col)
{
	return sqlite3_column_int64(sh(s), col);
}

static double sqlite_column_double(struct db_stmt *s, int col)
{
	return sqlite3_column_double(sh(s), col);
}

static const char *sqlite_column_text(struct db_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(sh(s), col);
	return t ? (const char *)t : "";
}

static bool sqlite_column_null(struct db_stmt *s, int col)
{
	return sqlite3_column_type(sh(s), col) == SQLITE_NULL;
}

static int64_t sqlite_changes(struct db_stmt *s)
{
	return ((struct sqlite_stmt *)s)->changes;
}

static void sqlite_reset(struct db_stmt *s)
{
	sqlite3_reset(sh(s));
}

static void sqlite_finalize(struct db_stmt *st)
{
	struct sqlite_stmt *s = (struct sqlite_stmt *)st;
	if (s->slot) { /* back to the cache, ready for the next prepare */
		sqlite3_reset(s->h);
		sqlite3_clear_bindings(s->h);
		s->slot->in_use = false;
	} else {
		sqlite3_finalize(s->h);
	}
	free(s);
}

/* Run one statement without rows (BEGIN, COMMIT, ROLLBACK) through the cache. */
static enum parley_err sqlite_run(struct db *db, const char *sql, struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = sqlite_prepare(db, sql, &s, err);
	if (rc != PARLEY_OK)
		return rc;
	bool row;
	rc = sqlite_step(s, &row, err);
	sqlite_finalize(s);
	return rc;
}

static enum parley_err sqlite_begin(struct db *db, struct parley_error *err)
{
	return sqlite_run(db, "BEGIN IMMEDIATE", err);
}

static void sqlite_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(handle(db)) && sqlite_run(db, "ROLLBACK", NULL) != PARLEY_OK)
		sqlite3_exec(handle(db), "ROLLBACK", NULL, NULL, NULL);
}

static enum parley_err sqlite_commit(struct db *db, struct parley_error *err)
{
	enum parley_err rc = sqlite_run(db, "COMMIT", err);
	if (rc != PARLEY_OK)
		sqlite_rollback(db);
	return rc;
}

static bool sqlite_in_transaction(struct db *db)
{
	return !sqlite3_get_autocommit(handle(db));
}

static enum parley_err sqlite_version_get(struct db *db, int *version, struct parley_error *err)
{
	sqlite3_stmt *st;
	*version = 0;
	if (sqlite3_prepare_v2(handle(db), "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return sqlite_fail(db, err, "read schema version");
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? PARLEY_OK : sqlite_fail(db, err, "read schema version");
}

static enum parley_err sqlite_version_set(struct db *db, int version, struct parley_error *err)
{
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);
	return sqlite_exec(db, sql, err);
}

static enum parley_err sqlite_migration_lock(struct db *db, struct parley_error *err)
{
	return PARLEY_OK; /* BEGIN IMMEDIATE already holds the write lock */
}

const struct db_driver db_driver_sqlite = {
	.name = "sqlite",
	.dialect = DB_SQLITE,
	.open = sqlite_open,
	.close = sqlite_close,
	.exec = sqlite_exec,
	.prepare = sqlite_prepare,
	.bind_int = sqlite_bind_int,
	.bind_double = sqlite_bind_double,
	.bind_text = sqlite_bind_text,
	.bind_null = sqlite_bind_null,
	.step = sqlite_step,
	.column_int = sqlite_column_int,
	.column_double = sqlite_column_double,
	.column_text = sqlite_column_text,
	.column_null = sqlite_column_null,
	.changes = sqlite_changes,
	.reset = sqlite_reset,
	.finalize = sqlite_finalize,
	.begin = sqlite_begin,
	.begin_durable = sqlite_begin, /* WAL, synchronous=NORMAL: every commit survives a killed process */
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.in_transaction = sqlite_in_transaction,
	.version_get = sqlite_version_get,
	.version_set = sqlite_version_set,
	.migration_lock = sqlite_migration_lock,
};
