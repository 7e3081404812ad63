/*
 * db.h — the SQL seam under the store: one small statement API with two
 * drivers, SQLite (src/store/db_sqlite.c) and PostgreSQL through libpq
 * (src/store/db_pg.c). The store writes its SQL once, in the dialect both
 * accept; the few places where they differ ask db_dialect().
 *
 *   struct db *db;
 *   if (db_open("postgresql://127.0.0.1:5432/parley", &db, &err)) fail(err.msg);
 *   struct db_stmt *s;
 *   db_prepare(db, "SELECT id FROM batches WHERE name = ?1", &s, &err);
 *   db_bind_text(s, 1, "calls");
 *   bool row;
 *   while (db_step(s, &row, &err) == PARLEY_OK && row)
 *       printf("%lld\n", (long long)db_column_int(s, 0));
 *   db_finalize(s);
 *   db_close(db);
 *
 * Targets: "postgresql://…" or "postgres://…" (a libpq URI), "sqlite:PATH",
 * or a plain PATH (SQLite). Placeholders are numbered, ?1..?N (the PostgreSQL
 * driver rewrites them as $1..$N; parameters go as text and the server infers
 * their types, so write CAST(?N AS TEXT) where a parameter's only use leaves
 * its type open, e.g. `?2 IS NULL`). Columns are numbered from 0.
 *
 * Errors: PARLEY_ERR_BUSY for lock conflicts (SQLite busy, PostgreSQL
 * serialization failure or deadlock), PARLEY_ERR_UNAVAILABLE when the server
 * cannot be reached (the connection is re-established on the next db_begin or
 * db_prepare outside a transaction), PARLEY_ERR_STORE for anything else; the
 * message names the target (passwords removed) and what was being done.
 * One struct db is one connection: use it from one thread at a time.
 */
#ifndef PARLEY_STORE_DB_H
#define PARLEY_STORE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

enum db_dialect { DB_SQLITE, DB_POSTGRES };

struct db;
struct db_stmt;

/* A driver: the table every connection and statement dispatches through. */
struct db_driver {
	const char *name; /* "sqlite", "postgresql" */
	enum db_dialect dialect;
	enum parley_err (*open)(const char *target, struct db **out, struct parley_error *err);
	void (*close)(struct db *db);
	enum parley_err (*exec)(struct db *db, const char *sql, struct parley_error *err);
	/* SET name = value for the connection's session, and again after every
	 * reconnect (PostgreSQL; SQLite has no server session: NULL). */
	enum parley_err (*session_set)(struct db *db, const char *name, const char *value,
				       struct parley_error *err);
	enum parley_err (*prepare)(struct db *db, const char *sql, struct db_stmt **out,
				   struct parley_error *err);
	void (*bind_int)(struct db_stmt *s, int idx, int64_t v);
	void (*bind_double)(struct db_stmt *s, int idx, double v);
	void (*bind_text)(struct db_stmt *s, int idx, const char *v); /* copied */
	void (*bind_null)(struct db_stmt *s, int idx);
	enum parley_err (*step)(struct db_stmt *s, bool *row, struct parley_error *err);
	/* Run a statement whose rows and changes nobody reads; may be sent
	 * ahead (see db_run_later); NULL = step it through. */
	enum parley_err (*run_later)(struct db_stmt *s, struct parley_error *err);
	/* Run a statement whose change count must be `want` (see
	 * db_run_checked); NULL = step it through and check at once. */
	enum parley_err (*run_checked)(struct db_stmt *s, int64_t want, const char *fail,
				       struct parley_error *err);
	int64_t (*column_int)(struct db_stmt *s, int col);
	double (*column_double)(struct db_stmt *s, int col);
	const char *(*column_text)(struct db_stmt *s, int col); /* "" for NULL */
	bool (*column_null)(struct db_stmt *s, int col);
	int64_t (*changes)(struct db_stmt *s);
	void (*reset)(struct db_stmt *s);
	void (*finalize)(struct db_stmt *s);
	enum parley_err (*begin)(struct db *db, struct parley_error *err);
	/* A transaction whose commit is on disk when it returns, even on a
	 * connection with relaxed commits (PostgreSQL: BEGIN and SET LOCAL
	 * synchronous_commit = on in one round trip; SQLite: begin). */
	enum parley_err (*begin_durable)(struct db *db, struct parley_error *err);
	enum parley_err (*commit)(struct db *db, struct parley_error *err);
	void (*rollback)(struct db *db);
	bool (*in_transaction)(struct db *db);
	/* Schema version: read outside or inside a transaction; set inside one.
	 * migration_lock (inside the transaction) keeps two processes from
	 * migrating at once. */
	enum parley_err (*version_get)(struct db *db, int *version, struct parley_error *err);
	enum parley_err (*version_set)(struct db *db, int version, struct parley_error *err);
	enum parley_err (*migration_lock)(struct db *db, struct parley_error *err);
};

/* Every driver's connection and statement begin with these. */
struct db {
	const struct db_driver *drv;
	char target[512]; /* for messages: password removed */
};
struct db_stmt {
	struct db *db;
};

extern const struct db_driver db_driver_sqlite;
extern const struct db_driver db_driver_postgres;

/* Choose the driver from the target (see above) and connect. */
enum parley_err db_open(const char *target, struct db **out, struct parley_error *err);
void db_close(struct db *db); /* accepts NULL */
/* Copy target into out with any password in a URI replaced by "***". */
void db_target_redact(const char *target, char *out, size_t size);

static inline enum db_dialect db_dialect(const struct db *db) { return db->drv->dialect; }
static inline const char *db_target(const struct db *db) { return db->target; }

static inline enum parley_err db_exec(struct db *db, const char *sql, struct parley_error *err)
{ return db->drv->exec(db, sql, err); }
/* A session setting that outlives reconnects (PostgreSQL; a no-op on SQLite).
 * name: [a-z0-9_]; value: [A-Za-z0-9_.]; PARLEY_ERR_INVALID otherwise. */
static inline enum parley_err db_session_set(struct db *db, const char *name, const char *value,
					     struct parley_error *err)
{ return db->drv->session_set ? db->drv->session_set(db, name, value, err) : PARLEY_OK; }
static inline enum parley_err db_prepare(struct db *db, const char *sql, struct db_stmt **out,
					 struct parley_error *err)
{ return db->drv->prepare(db, sql, out, err); }
static inline void db_bind_int(struct db_stmt *s, int idx, int64_t v) { s->db->drv->bind_int(s, idx, v); }
static inline void db_bind_double(struct db_stmt *s, int idx, double v) { s->db->drv->bind_double(s, idx, v); }
static inline void db_bind_text(struct db_stmt *s, int idx, const char *v) { s->db->drv->bind_text(s, idx, v); }
static inline void db_bind_null(struct db_stmt *s, int idx) { s->db->drv->bind_null(s, idx); }
static inline enum parley_err db_step(struct db_stmt *s, bool *row, struct parley_error *err)
{ return s->db->drv->step(s, row, err); }
/* Run s, whose rows and changes the caller will not read (then only reset
 * or finalize it). PostgreSQL, inside a transaction: sent ahead without
 * waiting (pipeline mode) and answered with the next statement, COMMIT or
 * command on the connection — one round trip for both; a failure of s is
 * then returned by that next call, naming s's SQL, and the transaction is
 * to be rolled back as after any failure. Elsewhere (SQLite, outside a
 * transaction) it runs at once. */
static inline enum parley_err db_run_later(struct db_stmt *s, struct parley_error *err)
{
	if (s->db->drv->run_later)
		return s->db->drv->run_later(s, err);
	bool row = false;
	enum parley_err rc = s->db->drv->step(s, &row, err);
	while (rc == PARLEY_OK && row)
		rc = s->db->drv->step(s, &row, err);
	return rc;
}
/* Run s, a statement that must change exactly `want` rows (a fence: an
 * UPDATE … WHERE lease_owner = ?), whose rows the caller will not read
 * (then only reset or finalize it). PostgreSQL, inside a transaction: sent
 * ahead like db_run_later, and its change count checked when its answer
 * comes back — with the next statement or command on the connection, or,
 * at the latest, by db_commit before it sends the COMMIT. A count other
 * than `want` fails that call with PARLEY_ERR_BUSY and the message `fail`
 * (copied; at most DB_FAIL_MAX - 1 bytes kept); db_commit then rolls the
 * transaction back, so nothing written after a failed check ever commits.
 * Elsewhere (SQLite, outside a transaction) it runs and is checked at once:
 * the same error, from this call. Either way the caller handles it like any
 * failure inside a transaction (roll back). */
#define DB_FAIL_MAX 128
static inline enum parley_err db_run_checked(struct db_stmt *s, int64_t want, const char *fail,
					     struct parley_error *err)
{
	if (s->db->drv->run_checked)
		return s->db->drv->run_checked(s, want, fail, err);
	bool row = false;
	enum parley_err rc = s->db->drv->step(s, &row, err);
	while (rc == PARLEY_OK && row)
		rc = s->db->drv->step(s, &row, err);
	if (rc == PARLEY_OK && s->db->drv->changes(s) != want)
		rc = parley_error_set(err, PARLEY_ERR_BUSY, "%.*s", DB_FAIL_MAX - 1, fail);
	return rc;
}
static inline int64_t db_column_int(struct db_stmt *s, int col) { return s->db->drv->column_int(s, col); }
static inline double db_column_double(struct db_stmt *s, int col) { return s->db->drv->column_double(s, col); }
static inline const char *db_column_text(struct db_stmt *s, int col) { return s->db->drv->column_text(s, col); }
static inline bool db_column_null(struct db_stmt *s, int col) { return s->db->drv->column_null(s, col); }
static inline int64_t db_changes(struct db_stmt *s) { return s->db->drv->changes(s); }
static inline void db_reset(struct db_stmt *s) { s->db->drv->reset(s); }
static inline void db_finalize(struct db_stmt *s) { if (s) s->db->drv->finalize(s); }
static inline enum parley_err db_begin(struct db *db, struct parley_error *err) { return db->drv->begin(db, err); }
static inline enum parley_err db_begin_durable(struct db *db, struct parley_error *err)
{ return db->drv->begin_durable(db, err); }
static inline enum parley_err db_commit(struct db *db, struct parley_error *err) { return db->drv->commit(db, err); }
static inline void db_rollback(struct db *db) { db->drv->rollback(db); }
static inline bool db_in_transaction(struct db *db) { return db->drv->in_transaction(db); }

#endif
