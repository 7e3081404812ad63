/*
 * sqlite.c — the SQLite driver of store.h (WAL, busy timeout, migrations).
 */
#include "store/store.h"

#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/schema.h"
#include "util/timeutil.h"

struct store {
	sqlite3 *db;
	char path[4096];
	int in_tx;
};

static const char *const status_names[] = {
	[STORE_PENDING] = "pending", [STORE_RUNNING] = "running", [STORE_DONE] = "done",
	[STORE_FAILED] = "failed",   [STORE_SKIPPED] = "skipped",
};

const char *store_status_name(enum store_status s)
{
	return (s >= STORE_PENDING && s <= STORE_SKIPPED) ? status_names[s] : "unknown";
}

static enum store_status status_parse(const unsigned char *s)
{
	for (int i = STORE_PENDING; i <= STORE_SKIPPED; i++)
		if (s && strcmp((const char *)s, status_names[i]) == 0)
			return (enum store_status)i;
	return STORE_PENDING;
}

static enum parley_err db_error(struct store *st, struct parley_error *err, const char *what)
{
	int code = sqlite3_errcode(st->db);
	enum parley_err pe = (code == SQLITE_BUSY || code == SQLITE_LOCKED) ? PARLEY_ERR_BUSY
									      : PARLEY_ERR_STORE;
	return parley_error_set(err, pe, "store %s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
}

static enum parley_err db_exec(struct store *st, const char *sql, struct parley_error *err)
{
	char *msg = NULL;
	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		enum parley_err rc = parley_error_set(err, PARLEY_ERR_STORE, "store %s: %s", st->path,
						      msg ? msg : "unknown error");
		sqlite3_free(msg);
		return rc;
	}
	return PARLEY_OK;
}

static enum parley_err db_prepare(struct store *st, const char *sql, sqlite3_stmt **stmt,
				  struct parley_error *err)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL) != SQLITE_OK)
		return db_error(st, err, "prepare");
	return PARLEY_OK;
}

/* Step a statement that returns no rows, then finalize it. */
static enum parley_err db_step_done(struct store *st, sqlite3_stmt *stmt, const char *what,
				    struct parley_error *err)
{
	int rc = sqlite3_step(stmt);
	enum parley_err out = PARLEY_OK;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		out = db_error(st, err, what);
	sqlite3_finalize(stmt);
	return out;
}

static enum parley_err store_migrate(struct store *st, struct parley_error *err)
{
	int version = store_schema_version(st);
	if (version > (int)store_migration_count)
		return parley_error_set(err, PARLEY_ERR_STORE,
					"store %s has schema version %d, newer than this parley (%zu); upgrade parley",
					st->path, version, store_migration_count);
	for (size_t i = (size_t)version; i < store_migration_count; i++) {
		enum parley_err rc = store_begin(st, err);
		if (rc)
			return rc;
		/* Another process may have migrated while we waited for the lock. */
		if (store_schema_version(st) > (int)i) {
			store_rollback(st);
			continue;
		}
		char pragma[64];
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %zu;", i + 1);
		if ((rc = db_exec(st, store_migrations[i], err)) || (rc = db_exec(st, pragma, err))) {
			store_rollback(st);
			return rc;
		}
		if ((rc = store_commit(st, err)))
			return rc;
	}
	return PARLEY_OK;
}

enum parley_err store_open(const char *path, struct store **out, struct parley_error *err)
{
	*out = NULL;
	struct store *st = calloc(1, sizeof(*st));
	if (!st)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory opening the store");
	snprintf(st->path, sizeof(st->path), "%s", path);
	enum parley_err rc;
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		rc = parley_error_set(err, PARLEY_ERR_STORE, "cannot open store %s: %s", path,
				      st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 30000);
	if ((rc = db_exec(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			      " PRAGMA foreign_keys=ON;", err)))
		goto fail;
	if ((rc = store_migrate(st, err)))
		goto fail;
	*out = st;
	return PARLEY_OK;
fail:
	store_close(st);
	return rc;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	sqlite3_close(st->db);
	free(st);
}

int store_schema_version(struct store *st)
{
	sqlite3_stmt *stmt;
	int v = -1;
	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK) {
		if (sqlite3_step(stmt) == SQLITE_ROW)
			v = sqlite3_column_int(stmt, 0);
		sqlite3_finalize(stmt);
	}
	return v;
}

enum parley_err store_begin(struct store *st, struct parley_error *err)
{
	enum parley_err rc = db_exec(st, "BEGIN IMMEDIATE", err);
	if (rc == PARLEY_OK)
		st->in_tx = 1;
	return rc;
}

enum parley_err store_commit(struct store *st, struct parley_error *err)
{
	enum parley_err rc = db_exec(st, "COMMIT", err);
	if (rc != PARLEY_OK)
		store_rollback(st);
	st->in_tx = 0;
	return rc;
}

void store_rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->in_tx = 0;
}

enum parley_err store_batch_ensure(struct store *st, const char *name, const char *kind,
				   int64_t *batch_id, struct parley_error *err)
{
	sqlite3_stmt *stmt;
	enum parley_err rc = db_prepare(st,
		"INSERT INTO batches(name, kind, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)"
		" ON CONFLICT(name) DO UPDATE SET updated_at = excluded.updated_at RETURNING id", &stmt, err);
	if (rc)
		return rc;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 2, kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(stmt, 3, time_wall());
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		*batch_id = sqlite3_column_int64(stmt, 0);
		rc = PARLEY_OK;
	} else {
		rc = db_error(st, err, "add batch");
	}
	sqlite3_finalize(stmt);
	return rc;
}

enum parley_err store_batch_find(struct store *st, const char *name, int64_t *batch_id,
				 struct parley_error *err)
{
	sqlite3_stmt *stmt;
	enum parley_err rc = db_prepare(st, "SELECT id FROM batches WHERE name = ?1", &stmt, err);
	if (rc)
		return rc;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_TRANSIENT);
	int step = sqlite3_step(stmt);
	if (step == SQLITE_ROW)
		*batch_id = sqlite3_column_int64(stmt, 0);
	else if (step == SQLITE_DONE)
		rc = parley_error_set(err, PARLEY_ERR_NOT_FOUND, "no batch named '%s'", name);
	else
		rc = db_error(st, err, "find batch");
	sqlite3_finalize(stmt);
	return rc;
}

enum parley_err store_batch_each(struct store *st, int (*fn)(const struct store_batch *, void *),
				 void *ud, struct parley_error *err)
{
	sqlite3_stmt *stmt;
	enum parley_err rc = db_prepare(st, "SELECT id, name FROM batches ORDER BY id", &stmt, err);
	if (rc)
		return rc;
	struct store_batch b;
	int step;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		b.id = sqlite3_column_int64(stmt, 0);
		snprintf(b.name, sizeof(b.name), "%s", (const char *)sqlite3_column_text(stmt, 1));
		if (fn(&b, ud))
			break;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = db_error(st, err, "list batches");
	sqlite3_finalize(stmt);
	return rc;
}

static const char *const result_tables[] = {"stage_runs", "segments", "stt_words", "words",
					    "speakers", "word_counts"};

static enum parley_err recording_reset(struct store *st, int64_t rec_id, struct parley_error *err)
{
	for (size_t i = 0; i < sizeof(result_tables) / sizeof(result_tables[0]); i++) {
		char sql[128];
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE recording_id = ?1", result_tables[i]);
		sqlite3_stmt *stmt;
		enum parley_err rc = db_prepare(st, sql, &stmt, err);
		if (rc)
			return rc;
		sqlite3_bind_int64(stmt, 1, rec_id);
		if ((rc = db_step_done(st, stmt, "reset recording", err)))
			return rc;
	}
	return PARLEY_OK;
}

enum parley_err store_recording_add(struct store *st, int64_t batch_id, const char *name,
				    const char *source, const char *fingerprint,
				    int64_t *rec_id, struct parley_error *err)
{
	enum parley_err rc = store_begin(st, err);
	if (rc)
		return rc;
	sqlite3_stmt *stmt = NULL;
	if ((rc = db_prepare(st, "SELECT id, fingerprint, status FROM recordings"
				 " WHERE batch_id = ?1 AND name = ?2", &stmt, err)))
		goto fail;
	sqlite3_bind_int64(stmt, 1, batch_id);
	sqlite3_bind_text(stmt, 2, name, -1, SQLITE_TRANSIENT);
	int step = sqlite3_step(stmt);
	double now = time_wall();
	if (step == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(stmt, 0);
		bool changed = strcmp((const char *)sqlite3_column_text(stmt, 1), fingerprint) != 0;
		enum store_status status = status_parse(sqlite3_column_text(stmt, 2));
		sqlite3_finalize(stmt);
		stmt = NULL;
		if (changed && (rc = recording_reset(st, id, err)))
			goto fail;
		if (changed || status != STORE_DONE) {
			if ((rc = db_prepare(st, "UPDATE recordings SET status = 'pending', fingerprint = ?2,"
					 " source = ?3, error = NULL, error_code = NULL, attempts = 0,"
					 " duration = CASE WHEN ?4 THEN 0 ELSE duration END,"
					 " updated_at = ?5 WHERE id = ?1", &stmt, err)))
				goto fail;
			sqlite3_bind_int64(stmt, 1, id);
			sqlite3_bind_text(stmt, 2, fingerprint, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(stmt, 3, source, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int(stmt, 4, changed);
			sqlite3_bind_double(stmt, 5, now);
			rc = db_step_done(st, stmt, "requeue recording", err);
			stmt = NULL;
			if (rc)
				goto fail;
			/* A failed stage is retried: clear its failure, keep done stages. */
			if ((rc = db_prepare(st, "UPDATE stage_runs SET status = 'pending'"
					 " WHERE recording_id = ?1 AND status <> 'done'", &stmt, err)))
				goto fail;
			sqlite3_bind_int64(stmt, 1, id);
			rc = db_step_done(st, stmt, "requeue stages", err);
			stmt = NULL;
			if (rc)
				goto fail;
		}
		*rec_id = id;
	} else if (step == SQLITE_DONE) {
		sqlite3_finalize(stmt);
		stmt = NULL;
		if ((rc = db_prepare(st, "INSERT INTO recordings(batch_id, name, source, fingerprint,"
				 " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)", &stmt, err)))
			goto fail;
		sqlite3_bind_int64(stmt, 1, batch_id);
		sqlite3_bind_text(stmt, 2, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(stmt, 3, source, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(stmt, 4, fingerprint, -1, SQLITE_TRANSIENT);
		sqlite3_bind_double(stmt, 5, now);
		rc = db_step_done(st, stmt, "add recording", err);
		stmt = NULL;
		if (rc)
			goto fail;
		*rec_id = sqlite3_last_insert_rowid(st->db);
	} else {
		rc = db_error(st, err, "find recording");
		goto fail;
	}
	return store_commit(st, err);
fail:
	sqlite3_finalize(stmt);
	store_rollback(st);
	return rc;
}

#define RECORDING_COLS "id, batch_id, name, source, duration, status, attempts, coalesce(error, '')"

static void recording_from_row(sqlite3_stmt *stmt, struct store_recording *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(stmt, 0);
	r->batch_id = sqlite3_column_int64(stmt, 1);
	snprintf(r->name, sizeof(r->name), "%s", (const char *)sqlite3_column_text(stmt, 2));
	snprintf(r->source, sizeof(r->source), "%s", (const char *)sqlite3_column_text(stmt, 3));
	r->duration = sqlite3_column_double(stmt, 4);
	r->status = status_parse(sqlite3_column_text(stmt, 5));
	r->attempts = sqlite3_column_int(stmt, 6);
	snprintf(r->error, sizeof(r->error), "%s", (const char *)sqlite3_column_text(stmt, 7));
}

enum parley_err store_recording_get(struct store *st, int64_t rec_id, struct store_recording *out,
				    struct parley_error *err)
{
	sqlite3_stmt *stmt;
	enum parley_err rc = db_prepare(st, "SELECT " RECORDING_COLS " FROM recordings WHERE id = ?1",
					&stmt, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(stmt, 1, rec_id);
	int step = sqlite3_step(stmt);
	if (step == SQLITE_ROW)
		recording_from_row(stmt, out);
	else if (step == SQLITE_DONE)
		rc = parley_error_set(err, PARLEY_ERR_NOT_FOUND, "no recording %lld", (long long)rec_id);
	else
		rc = db_error(st, err, "get recording");
	sqlite3_finalize(stmt);
	return rc;
}

enum parley_err store_recording_set_duration(struct store *st, int64_t rec_id, double seconds,
					     struct parley_error *err)
{
	sqlite3_stmt *stmt;
	enum parley_err rc = db_prepare(st, "UPDATE recordings SET duration = ?2 WHERE id = ?1",
					&stmt, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(stmt, 1, rec_id);
	sqlite3_bind_double(stmt, 2, seconds);
	return db_step_done(st, stmt, "set duration", err);
}

enum parley_err store_recording_each(struct store *st, int64_t batch_id,
				     int (*fn)(const struct store_recording *, void *), void *ud,
				     struct parley_error *err)
{
	sqlite3_stmt *stmt;
	enum parley_err rc = db_prepare(st, "SELECT " RECORDING_COLS " FROM recordings"
					    " WHERE batch_id = ?1 ORDER BY id", &stmt, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(stmt, 1, batch_id);
	struct store_recording r;
	int step;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		recording_from_row(stmt, &r);
		if (fn(&r, ud))
			break;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = db_error(st, err, "list recordings");
	sqlite3_finalize(stmt);
	return rc;
}

enum parley_err store_lease_next(struct store *st, int64_t batch_id, const char *owner,
				 double lease_seconds, struct store_recording *out, bool *found,
				 struct parley_error *err)
{
	*found = false;
	sqlite3_stmt *stmt;
	double now = time_wall();
	enum parley_err rc = db_prepare(st,
		"UPDATE recordings SET lease_owner = ?1, lease_expires = ?2, status = 'running',"
		"  attempts = attempts + 1, updated_at = ?3"
		" WHERE id = (SELECT id FROM recordings"
		"   WHERE (?4 = 0 OR batch_id = ?4) AND status IN ('pending', 'running')"
		"     AND (lease_owner IS NULL OR lease_expires < ?3)"
		"   ORDER BY id LIMIT 1)"
		" RETURNING " RECORDING_COLS, &stmt, err);
	if (rc)
		return rc;
	sqlite3_bind_text(stmt, 1, owner, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(stmt, 2, now + lease_seconds);
	sqlite3_bind_double(stmt, 3, now);
	sqlite3_bind_int64(stmt, 4, batch_id);
	int step = sqlite3_step(stmt);
	if (step == SQLITE_ROW) {
		recording_from_row(stmt, out);
		*found = true;
		step = sqlite3_step(stmt);
	}
	if (step != SQLITE_DONE)
		rc = db_error(st, err, "lease a recording");
	sqlite3_finalize(stmt);
	return rc;
}

enum parley_err store_lease_renew(struct store *st, int64_t rec_id, const char *owner,
				  double lease_seconds, struct parley_error *err)
{
	sqlite3_stmt *stmt;
	enum parley_err rc = db_prepare(st, "UPDATE recordings SET lease_expires = ?3"
					    " WHERE id = ?1 AND lease_owner = ?2", &stmt, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(stmt, 1, rec_id);
	sqlite3_bind_text(stmt, 2, owner, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(stmt, 3, time_wall() + lease_seconds);
	if ((rc = db_step_done(st, stmt, "renew lease", err)))
		return rc;
	if (sqlite3_changes(st->db) != 1)
		return parley_error_set(err, PARLEY_ERR_BUSY, "lease on recording %lld was lost to another worker",
					(long long)rec_id);
	return PARLEY_OK;
}

enum parley_err store_lease_reclaim_dead(struct store *st, const char *host, int *reclaimed,
					 struct parley_error *err)
{
	*reclaimed = 0;
	sqlite3_stmt *stmt;
	enum parley_err rc = db_prepare(st, "SELECT id, lease_owner FROM recordings"
					    " WHERE lease_owner IS NOT NULL", &stmt, err);
	if (rc)
		return rc;
	size_t hlen = strlen(host);
	int64_t dead[256];
	int ndead = 0;
	while (sqlite3_step(stmt) == SQLITE_ROW && ndead < 256) {
		const char *owner = (const char *)sqlite3_column_text(stmt, 1);
		if (strncmp(owner, host, hlen) != 0 || owner[hlen] != ':')
			continue;
		char *end;
		errno = 0;
		long pid = strtol(owner + hlen + 1, &end, 10);
		if (errno || end == owner + hlen + 1 || pid <= 0)
			continue;
		if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
			dead[ndead++] = sqlite3_column_int64(stmt, 0);
	}
	sqlite3_finalize(stmt);
	for (int i = 0; i < ndead; i++) {
		if ((rc = db_prepare(st, "UPDATE recordings SET lease_owner = NULL, lease_expires = NULL,"
					 " status = CASE WHEN status = 'running' THEN 'pending' ELSE status END"
					 " WHERE id = ?1", &stmt, err)))
			return rc;
		sqlite3_bind_int64(stmt, 1, dead[i]);
		if ((rc = db_step_done(st, stmt, "reclaim lease", err)))
			return rc;
		(*reclaimed)++;
	}
	return PARLEY_OK;
}

enum parley_err store_recording_retry_later(struct store *st, int64_t rec_id, const char *owner,
					    double delay, const char *error_msg,
					    struct parley_error *err)
{
	sqlite3_stmt *stmt;
	double now = time_wall();
	enum parley_err rc = db_prepare(st,
		"UPDATE recordings SET status = 'pending', lease_owner = 'backoff', lease_expires = ?3,"
		" error = ?4, updated_at = ?5 WHERE id = ?1 AND lease_owner = ?2", &stmt, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(stmt, 1, rec_id);
	sqlite3_bind_text(stmt, 2, owner, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(stmt, 3, now + delay);
	sqlite3_bind_text(stmt, 4, error_msg, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(stmt, 5, now);
	if ((rc = db_step_done(st, stmt, "schedule retry", err)))
		return rc;
	if (sqlite3_changes(st->db) != 1)
		return parley_error_set(err, PARLEY_ERR_BUSY, "recording %lld is leased by another worker",
					(long long)rec_id);
	return PARLEY_OK;
}

enum parley_err store_recording_requeue(struct store *st, int64_t rec_id, struct parley_error *err)
{
	sqlite3_stmt *stmt;
	enum parley_err rc = db_prepare(st,
		"UPDATE recordings SET status = 'pending', attempts = 0, error = NULL, error_code = NULL"
		" WHERE id = ?1 AND status IN ('done', 'failed')", &stmt, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(stmt, 1, rec_id);
	return db_step_done(st, stmt, "requeue recording", err);
}

enum parley_err store_lease_release(struct store *st, int64_t rec_id, const char *owner,
				    struct parley_error *err)
{
	sqlite3_stmt *stmt;
	enum parley_err rc = db_prepare(st,
		"UPDATE recordings SET status = 'pending', lease_owner = NULL, lease_expires = NULL"
		" WHERE id = ?1 AND lease_owner = ?2", &stmt, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(stmt, 1, rec_id);
	sqlite3_bind_text(stmt, 2, owner, -1, SQLITE_TRANSIENT);
	return db_step_done(st, stmt, "release lease", err);
}

enum parley_err store_recording_finish(struct store *st, int64_t rec_id, const char *owner,
				       enum store_status status, const char *error_code,
				       const char *error_msg, struct parley_error *err)
{
	sqlite3_stmt *stmt;
	enum parley_err rc = db_prepare(st,
		"UPDATE recordings SET status = ?3, error_code = ?4, error = ?5, lease_owner = NULL,"
		" lease_expires = NULL, updated_at = ?6 WHERE id = ?1 AND (lease_owner = ?2 OR ?2 IS NULL)",
		&stmt, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(stmt, 1, rec_id);
	if (owner)
		sqlite3_bind_text(stmt, 2, owner, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 3, store_status_name(status), -1, SQLITE_STATIC);
	if (error_code)
		sqlite3_bind_text(stmt, 4, error_code, -1, SQLITE_TRANSIENT);
	if (error_msg)
		sqlite3_bind_text(stmt, 5, error_msg, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(stmt, 6, time_wall());
	if ((rc = db_step_done(st, stmt, "finish recording", err)))
		return rc;
	if (sqlite3_changes(st->db) != 1)
		return parley_error_set(err, PARLEY_ERR_BUSY, "recording %lld is leased by another worker",
					(long long)rec_id);
	return PARLEY_OK;
}

enum parley_err store_stage_status(struct store *st, int64_t rec_id, const char *stage,
				   enum store_status *status, struct parley_error *err)
{
	sqlite3_stmt *stmt;
	enum parley_err rc = db_prepare(st, "SELECT status FROM stage_runs"
					    " WHERE recording_id = ?1 AND stage = ?2", &stmt, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(stmt, 1, rec_id);
	sqlite3_bind_text(stmt, 2, stage, -1, SQLITE_TRANSIENT);
	int step = sqlite3_step(stmt);
	if (step == SQLITE_ROW)
		*status = status_parse(sqlite3_column_text(stmt, 0));
	else if (step == SQLITE_DONE)
		*status = STORE_PENDING;
	else
		rc = db_error(st, err, "stage status");
	sqlite3_finalize(stmt);
	return rc;
}

enum parley_err store_stage_start(struct store *st, int64_t rec_id, const char *stage,
				  struct parley_error *err)
{
	sqlite3_stmt *stmt;
	enum parley_err rc = db_prepare(st,
		"INSERT INTO stage_runs(recording_id, stage, status, attempts, started_at)"
		" VALUES (?1, ?2, 'running', 1, ?3)"
		" ON CONFLICT(recording_id, stage) DO UPDATE SET status = 'running',"
		"  attempts = attempts + 1, started_at = excluded.started_at, error = NULL", &stmt, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(stmt, 1, rec_id);
	sqlite3_bind_text(stmt, 2, stage, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(stmt, 3, time_wall());
	return db_step_done(st, stmt, "start stage", err);
}

enum parley_err store_stage_done(struct store *st, int64_t rec_id, const char *stage,
				 double cpu_seconds, double wall_seconds, struct parley_error *err)
{
	sqlite3_stmt *stmt;
	enum parley_err rc = db_prepare(st,
		"INSERT INTO stage_runs(recording_id, stage, status, attempts, started_at, finished_at,"
		"  cpu_seconds, wall_seconds) VALUES (?1, ?2, 'done', 1, ?3, ?3, ?4, ?5)"
		" ON CONFLICT(recording_id, stage) DO UPDATE SET status = 'done', error = NULL,"
		"  finished_at = excluded.finished_at, cpu_seconds = excluded.cpu_seconds,"
		"  wall_seconds = excluded.wall_seconds", &stmt, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(stmt, 1, rec_id);
	sqlite3_bind_text(stmt, 2, stage, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(stmt, 3, time_wall());
	sqlite3_bind_double(stmt, 4, cpu_seconds);
	sqlite3_bind_double(stmt, 5, wall_seconds);
	return db_step_done(st, stmt, "finish stage", err);
}

enum parley_err store_stage_fail(struct store *st, int64_t rec_id, const char *stage,
				 const char *error_msg, struct parley_error *err)
{
	sqlite3_stmt *stmt;
	enum parley_err rc = db_prepare(st,
		"INSERT INTO stage_runs(recording_id, stage, status, attempts, finished_at, error)"
		" VALUES (?1, ?2, 'failed', 1, ?3, ?4)"
		" ON CONFLICT(recording_id, stage) DO UPDATE SET status = 'failed',"
		"  finished_at = excluded.finished_at, error = excluded.error", &stmt, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(stmt, 1, rec_id);
	sqlite3_bind_text(stmt, 2, stage, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(stmt, 3, time_wall());
	sqlite3_bind_text(stmt, 4, error_msg, -1, SQLITE_TRANSIENT);
	return db_step_done(st, stmt, "fail stage", err);
}

enum parley_err store_event_add(struct store *st, int64_t batch_id, int64_t rec_id,
				const char *stage, const char *type, const char *message,
				struct parley_error *err)
{
	sqlite3_stmt *stmt;
	enum parley_err rc = db_prepare(st, "INSERT INTO events(batch_id, recording_id, stage, type,"
					    " message, time) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", &stmt, err);
	if (rc)
		return rc;
	if (batch_id)
		sqlite3_bind_int64(stmt, 1, batch_id);
	if (rec_id)
		sqlite3_bind_int64(stmt, 2, rec_id);
	if (stage)
		sqlite3_bind_text(stmt, 3, stage, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 4, type, -1, SQLITE_TRANSIENT);
	if (message)
		sqlite3_bind_text(stmt, 5, message, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(stmt, 6, time_wall());
	return db_step_done(st, stmt, "add event", err);
}

/* Delete a recording's rows from table (with an optional kind), before a put. */
static enum parley_err rows_clear(struct store *st, const char *table, int64_t rec_id,
				  const char *kind, struct parley_error *err)
{
	char sql[160];
	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE recording_id = ?1%s", table,
		 kind ? " AND kind = ?2" : "");
	sqlite3_stmt *stmt;
	enum parley_err rc = db_prepare(st, sql, &stmt, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(stmt, 1, rec_id);
	if (kind)
		sqlite3_bind_text(stmt, 2, kind, -1, SQLITE_TRANSIENT);
	return db_step_done(st, stmt, "clear results", err);
}

/*
 * Result rows. Every *_put deletes the recording's old rows and inserts the
 * new ones through rows_write(); every *_get reads through rows_read(). The
 * per-table code is only the SQL and a function that binds or reads one row.
 */
typedef void (*row_bind_fn)(sqlite3_stmt *stmt, const void *elem, const void *ctx);
typedef void (*row_read_fn)(sqlite3_stmt *stmt, void *elem);

/* Run sql once per row: ?1 is rec_id, ?2 the row's index (a statement may
 * leave it unused), ?3.. are bound by fn. */
static enum parley_err rows_write(struct store *st, const char *sql, int64_t rec_id,
				  const void *rows, size_t elem_size, size_t n, row_bind_fn fn,
				  const void *ctx, const char *what, struct parley_error *err)
{
	sqlite3_stmt *stmt;
	enum parley_err rc = db_prepare(st, sql, &stmt, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n && !rc; i++) {
		sqlite3_bind_int64(stmt, 1, rec_id);
		sqlite3_bind_int64(stmt, 2, (int64_t)i);
		fn(stmt, (const char *)rows + i * elem_size, ctx);
		if (sqlite3_step(stmt) != SQLITE_DONE)
			rc = db_error(st, err, what);
		sqlite3_reset(stmt);
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* Read every row of a SELECT whose ?1 is rec_id (and ?2 kind, if given)
 * into a new array (*out, caller frees; NULL when there are none). */
static enum parley_err rows_read(struct store *st, const char *sql, int64_t rec_id,
				 const char *kind, size_t elem_size, row_read_fn fn, void **out,
				 size_t *n, const char *what, struct parley_error *err)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *stmt;
	enum parley_err rc = db_prepare(st, sql, &stmt, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(stmt, 1, rec_id);
	if (kind)
		sqlite3_bind_text(stmt, 2, kind, -1, SQLITE_TRANSIENT);
	size_t cap = 0;
	char *arr = NULL;
	int step;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			char *na = realloc(arr, nc * elem_size);
			if (!na) {
				rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory reading %s", what);
				break;
			}
			arr = na;
			cap = nc;
		}
		memset(arr + *n * elem_size, 0, elem_size);
		fn(stmt, arr + (*n)++ * elem_size);
	}
	if (!rc && step != SQLITE_DONE)
		rc = db_error(st, err, what);
	sqlite3_finalize(stmt);
	if (rc) {
		free(arr);
		*n = 0;
		return rc;
	}
	*out = arr;
	return PARLEY_OK;
}

static void text_column(sqlite3_stmt *stmt, int col, char *out, size_t size)
{
	const unsigned char *t = sqlite3_column_text(stmt, col);
	snprintf(out, size, "%s", t ? (const char *)t : "");
}

static void segment_bind(sqlite3_stmt *stmt, const void *elem, const void *kind)
{
	const struct store_segment *s = elem;
	sqlite3_bind_text(stmt, 3, kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(stmt, 4, s->start);
	sqlite3_bind_double(stmt, 5, s->end);
	sqlite3_bind_int(stmt, 6, s->speaker);
}

static void segment_read(sqlite3_stmt *stmt, void *elem)
{
	struct store_segment *s = elem;
	s->start = sqlite3_column_double(stmt, 0);
	s->end = sqlite3_column_double(stmt, 1);
	s->speaker = sqlite3_column_int(stmt, 2);
}

enum parley_err store_segments_put(struct store *st, int64_t rec_id, const char *kind,
				   const struct store_segment *segs, size_t n,
				   struct parley_error *err)
{
	enum parley_err rc = rows_clear(st, "segments", rec_id, kind, err);
	if (rc)
		return rc;
	return rows_write(st, "INSERT INTO segments(recording_id, idx, kind, start_s, end_s, speaker)"
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)", rec_id, segs, sizeof(*segs), n,
			  segment_bind, kind, "save segments", err);
}

enum parley_err store_segments_get(struct store *st, int64_t rec_id, const char *kind,
				   struct store_segment **segs, size_t *n, struct parley_error *err)
{
	return rows_read(st, "SELECT start_s, end_s, speaker FROM segments"
			 " WHERE recording_id = ?1 AND kind = ?2 ORDER BY idx", rec_id, kind,
			 sizeof(**segs), segment_read, (void **)segs, n, "segments", err);
}

static bool words_table_ok(const char *table)
{
	return strcmp(table, "words") == 0 || strcmp(table, "stt_words") == 0;
}

static void word_bind(sqlite3_stmt *stmt, const void *elem, const void *ctx)
{
	const struct store_word *w = elem;
	sqlite3_bind_double(stmt, 3, w->start);
	sqlite3_bind_double(stmt, 4, w->end);
	sqlite3_bind_text(stmt, 5, w->text, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(stmt, 6, w->confidence);
	sqlite3_bind_int(stmt, 7, w->speaker);
}

static void word_read(sqlite3_stmt *stmt, void *elem)
{
	struct store_word *w = elem;
	w->start = sqlite3_column_double(stmt, 0);
	w->end = sqlite3_column_double(stmt, 1);
	text_column(stmt, 2, w->text, sizeof(w->text));
	w->confidence = (float)sqlite3_column_double(stmt, 3);
	w->speaker = sqlite3_column_int(stmt, 4);
}

enum parley_err store_words_put(struct store *st, int64_t rec_id, const char *table,
				const struct store_word *words, size_t n, struct parley_error *err)
{
	if (!words_table_ok(table))
		return parley_error_set(err, PARLEY_ERR_INTERNAL, "no word table %s", table);
	enum parley_err rc = rows_clear(st, table, rec_id, NULL, err);
	if (rc)
		return rc;
	char sql[200];
	snprintf(sql, sizeof(sql), "INSERT INTO %s(recording_id, idx, start_s, end_s, word, confidence,"
		 " speaker) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", table);
	return rows_write(st, sql, rec_id, words, sizeof(*words), n, word_bind, NULL, "save words", err);
}

enum parley_err store_words_get(struct store *st, int64_t rec_id, const char *table,
				struct store_word **words, size_t *n, struct parley_error *err)
{
	*words = NULL;
	*n = 0;
	if (!words_table_ok(table))
		return parley_error_set(err, PARLEY_ERR_INTERNAL, "no word table %s", table);
	char sql[200];
	snprintf(sql, sizeof(sql), "SELECT start_s, end_s, word, confidence, speaker FROM %s"
		 " WHERE recording_id = ?1 ORDER BY idx", table);
	return rows_read(st, sql, rec_id, NULL, sizeof(**words), word_read, (void **)words, n,
			 "words", err);
}

static void speaker_bind(sqlite3_stmt *stmt, const void *elem, const void *ctx)
{
	const struct store_speaker *s = elem;
	sqlite3_bind_int(stmt, 3, s->speaker);
	sqlite3_bind_double(stmt, 4, s->talk_time);
	sqlite3_bind_int(stmt, 5, s->turns);
	sqlite3_bind_double(stmt, 6, s->sample_start);
	sqlite3_bind_double(stmt, 7, s->sample_end);
}

static void speaker_read(sqlite3_stmt *stmt, void *elem)
{
	struct store_speaker *s = elem;
	s->speaker = sqlite3_column_int(stmt, 0);
	s->talk_time = sqlite3_column_double(stmt, 1);
	s->turns = sqlite3_column_int(stmt, 2);
	s->sample_start = sqlite3_column_double(stmt, 3);
	s->sample_end = sqlite3_column_double(stmt, 4);
}

enum parley_err store_speakers_put(struct store *st, int64_t rec_id,
				   const struct store_speaker *spk, size_t n,
				   struct parley_error *err)
{
	enum parley_err rc = rows_clear(st, "speakers", rec_id, NULL, err);
	if (rc)
		return rc;
	/* ?2 (the row index) is left unused: speakers are keyed by number */
	return rows_write(st, "INSERT INTO speakers(recording_id, speaker, talk_time, turns,"
			  " sample_start, sample_end) VALUES (?1, ?3, ?4, ?5, ?6, ?7)",
			  rec_id, spk, sizeof(*spk), n, speaker_bind, NULL, "save speakers", err);
}

enum parley_err store_speakers_get(struct store *st, int64_t rec_id, struct store_speaker **spk,
				   size_t *n, struct parley_error *err)
{
	return rows_read(st, "SELECT speaker, talk_time, turns, sample_start, sample_end"
			 " FROM speakers WHERE recording_id = ?1 ORDER BY speaker", rec_id, NULL,
			 sizeof(**spk), speaker_read, (void **)spk, n, "speakers", err);
}

static void sample_bind(sqlite3_stmt *stmt, const void *elem, const void *ctx)
{
	const struct store_speaker *s = elem;
	sqlite3_bind_int(stmt, 3, s->speaker);
	sqlite3_bind_double(stmt, 4, s->sample_start);
	sqlite3_bind_double(stmt, 5, s->sample_end);
}

enum parley_err store_speaker_samples_put(struct store *st, int64_t rec_id,
					  const struct store_speaker *spk, size_t n,
					  struct parley_error *err)
{
	sqlite3_stmt *stmt;
	enum parley_err rc = db_prepare(st, "UPDATE speakers SET sample_start = 0, sample_end = 0"
					    " WHERE recording_id = ?1", &stmt, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(stmt, 1, rec_id);
	if ((rc = db_step_done(st, stmt, "clear samples", err)))
		return rc;
	return rows_write(st, "UPDATE speakers SET sample_start = ?4, sample_end = ?5"
			  " WHERE recording_id = ?1 AND speaker = ?3", rec_id, spk,
			  sizeof(*spk), n, sample_bind, NULL, "save samples", err);
}

static void count_bind(sqlite3_stmt *stmt, const void *elem, const void *ctx)
{
	const struct store_count *c = elem;
	sqlite3_bind_int(stmt, 3, c->speaker);
	sqlite3_bind_text(stmt, 4, c->word, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(stmt, 5, c->count);
}

static void count_read(sqlite3_stmt *stmt, void *elem)
{
	struct store_count *c = elem;
	c->speaker = sqlite3_column_int(stmt, 0);
	text_column(stmt, 1, c->word, sizeof(c->word));
	c->count = sqlite3_column_int(stmt, 2);
}

enum parley_err store_counts_put(struct store *st, int64_t rec_id, const struct store_count *c,
				 size_t n, struct parley_error *err)
{
	enum parley_err rc = rows_clear(st, "word_counts", rec_id, NULL, err);
	if (rc)
		return rc;
	return rows_write(st, "INSERT INTO word_counts(recording_id, speaker, word, count)"
			  " VALUES (?1, ?3, ?4, ?5)", rec_id, c, sizeof(*c), n,
			  count_bind, NULL, "save word counts", err);
}

enum parley_err store_counts_get(struct store *st, int64_t rec_id, struct store_count **c,
				 size_t *n, struct parley_error *err)
{
	return rows_read(st, "SELECT speaker, word, count FROM word_counts"
			 " WHERE recording_id = ?1 ORDER BY speaker, word", rec_id, NULL, sizeof(**c),
			 count_read, (void **)c, n, "word counts", err);
}

enum parley_err store_stage_counts(struct store *st, int64_t batch_id,
				   struct store_stage_count *out, size_t max, size_t *n,
				   struct parley_error *err)
{
	*n = 0;
	sqlite3_stmt *stmt;
	enum parley_err rc = db_prepare(st,
		"SELECT s.stage, s.status, count(*) FROM stage_runs s"
		" JOIN recordings r ON r.id = s.recording_id WHERE r.batch_id = ?1"
		" GROUP BY s.stage, s.status ORDER BY s.stage", &stmt, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(stmt, 1, batch_id);
	int step;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *stage = (const char *)sqlite3_column_text(stmt, 0);
		struct store_stage_count *c = NULL;
		for (size_t i = 0; i < *n && !c; i++)
			if (strcmp(out[i].stage, stage) == 0)
				c = &out[i];
		if (!c) {
			if (*n >= max) {
				rc = parley_error_set(err, PARLEY_ERR_TOO_LARGE,
						      "more than %zu stages in the store", max);
				break;
			}
			c = &out[(*n)++];
			memset(c, 0, sizeof(*c));
			snprintf(c->stage, sizeof(c->stage), "%s", stage);
		}
		int count = sqlite3_column_int(stmt, 2);
		switch (status_parse(sqlite3_column_text(stmt, 1))) {
		case STORE_PENDING: c->pending += count; break;
		case STORE_RUNNING: c->running += count; break;
		case STORE_DONE: c->done += count; break;
		case STORE_FAILED: c->failed += count; break;
		case STORE_SKIPPED: c->skipped += count; break;
		}
	}
	if (rc == PARLEY_OK && step != SQLITE_DONE)
		rc = db_error(st, err, "count stages");
	sqlite3_finalize(stmt);
	return rc;
}

enum parley_err store_progress_get(struct store *st, int64_t batch_id, struct store_progress *p,
				   struct parley_error *err)
{
	memset(p, 0, sizeof(*p));
	sqlite3_stmt *stmt;
	enum parley_err rc = db_prepare(st,
		"SELECT status, count(*), sum(duration), sum(duration > 0) FROM recordings"
		" WHERE batch_id = ?1 GROUP BY status", &stmt, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(stmt, 1, batch_id);
	int step;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		enum store_status s = status_parse(sqlite3_column_text(stmt, 0));
		int count = sqlite3_column_int(stmt, 1);
		double audio = sqlite3_column_double(stmt, 2);
		p->total += count;
		p->audio_known += audio;
		p->decoded += sqlite3_column_int(stmt, 3);
		switch (s) {
		case STORE_PENDING: p->pending += count; break;
		case STORE_RUNNING: p->running += count; break;
		case STORE_DONE: p->done += count; p->audio_done += audio; break;
		case STORE_FAILED: p->failed += count; break;
		case STORE_SKIPPED: p->done += count; break;
		}
	}
	if (step != SQLITE_DONE)
		rc = db_error(st, err, "read progress");
	sqlite3_finalize(stmt);
	return rc;
}
