/*
 * db_sqlite.c — the SQLite driver of db.h: WAL journal, synchronous=NORMAL
 * (a commit survives a killed process; the last commits before a power loss
 * may not), a 30 s busy timeout, foreign keys on, BEGIN IMMEDIATE so writers
 * queue at the start of a transaction instead of failing at its end. The
 * schema version is PRAGMA user_version.
 */
#include "store/db.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sqlite_db {
	struct db base;
	sqlite3 *h;
};

struct sqlite_stmt {
	struct db_stmt base;
	sqlite3_stmt *h;
	int64_t changes;
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

static void sqlite_close(struct db *db)
{
	sqlite3_close(handle(db));
	free(db);
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
	sqlite3_busy_timeout(d->h, 30000);
	if ((rc = sqlite_exec(&d->base, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
					" PRAGMA foreign_keys=ON;", err)))
		goto fail;
	*out = &d->base;
	return PARLEY_OK;
fail:
	sqlite_close(&d->base);
	return rc;
}

static enum parley_err sqlite_prepare(struct db *db, const char *sql, struct db_stmt **out,
				      struct parley_error *err)
{
	*out = NULL;
	struct sqlite_stmt *s = calloc(1, sizeof(*s));
	if (!s)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory preparing a statement");
	s->base.db = db;
	if (sqlite3_prepare_v2(handle(db), sql, -1, &s->h, NULL) != SQLITE_OK) {
		free(s);
		return sqlite_fail(db, err, "prepare");
	}
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

static void sqlite_finalize(struct db_stmt *s)
{
	sqlite3_finalize(sh(s));
	free(s);
}

static enum parley_err sqlite_begin(struct db *db, struct parley_error *err)
{
	return sqlite_exec(db, "BEGIN IMMEDIATE", err);
}

static enum parley_err sqlite_commit(struct db *db, struct parley_error *err)
{
	enum parley_err rc = sqlite_exec(db, "COMMIT", err);
	if (rc != PARLEY_OK && !sqlite3_get_autocommit(handle(db)))
		sqlite3_exec(handle(db), "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static void sqlite_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(handle(db)))
		sqlite3_exec(handle(db), "ROLLBACK", NULL, NULL, NULL);
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
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.in_transaction = sqlite_in_transaction,
	.version_get = sqlite_version_get,
	.version_set = sqlite_version_set,
	.migration_lock = sqlite_migration_lock,
};
