/*
 * store.c — store.h written once over the SQL seam of db.h, so the same
 * statements run on SQLite and PostgreSQL. Where the dialects differ (the
 * schema's column types, FOR UPDATE SKIP LOCKED when leasing), the code asks
 * db_dialect(). Statements bind parameters through q_bind()'s type string:
 * one letter per ?N — 'i' int64_t, 'n' int, 'd' double, 't' const char *
 * (NULL binds NULL).
 */
#include "store/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/schema.h"
#include "util/proc.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#include "store/store_int.h"

/* Short names for the helpers of store_int.h, used throughout this file. */
#define q_prepare store_sql_prepare
#define q_exec store_sql_exec

static const char *const status_names[] = {
	[STORE_PENDING] = "pending", [STORE_RUNNING] = "running", [STORE_DONE] = "done",
	[STORE_FAILED] = "failed",   [STORE_SKIPPED] = "skipped",
};

const char *store_status_name(enum store_status s)
{
	return (s >= STORE_PENDING && s <= STORE_SKIPPED) ? status_names[s] : "unknown";
}

static enum store_status status_parse(const char *s)
{
	for (int i = STORE_PENDING; i <= STORE_SKIPPED; i++)
		if (s && strcmp(s, status_names[i]) == 0)
			return (enum store_status)i;
	return STORE_PENDING;
}

static void q_bindv(struct db_stmt *s, const char *types, va_list ap)
{
	for (int i = 0; types[i]; i++) {
		switch (types[i]) {
		case 'i': db_bind_int(s, i + 1, va_arg(ap, int64_t)); break;
		case 'n': db_bind_int(s, i + 1, va_arg(ap, int)); break;
		case 'd': db_bind_double(s, i + 1, va_arg(ap, double)); break;
		case 't': {
			const char *t = va_arg(ap, const char *);
			if (t)
				db_bind_text(s, i + 1, t);
			else
				db_bind_null(s, i + 1);
			break;
		}
		default: db_bind_null(s, i + 1); break;
		}
	}
}

/* Prepare sql and bind its parameters (see the file comment). */
static enum parley_err q_vprepare(struct store *st, struct db_stmt **s, struct parley_error *err,
				  const char *sql, const char *types, va_list ap)
{
	enum parley_err rc = db_prepare(st->db, sql, s, err);
	if (rc == PARLEY_OK)
		q_bindv(*s, types, ap);
	return rc;
}

/* Run a statement that returns no rows; *changes (if not NULL) = rows changed. */
static enum parley_err q_vexec(struct store *st, int64_t *changes, struct parley_error *err,
			       const char *sql, const char *types, va_list ap)
{
	struct db_stmt *s;
	enum parley_err rc = db_prepare(st->db, sql, &s, err);
	if (rc)
		return rc;
	q_bindv(s, types, ap);
	if (!changes) { /* nothing read back: on PostgreSQL sent with the next statement */
		rc = db_run_later(s, err);
		db_finalize(s);
		return rc;
	}
	bool row;
	rc = db_step(s, &row, err);
	while (rc == PARLEY_OK && row)
		rc = db_step(s, &row, err);
	if (rc == PARLEY_OK)
		*changes = db_changes(s);
	db_finalize(s);
	return rc;
}

/* The message of a lease found lost (store_lease_lost recognises it). */
#define LEASE_LOST_FMT "lease on recording %lld was lost to another worker"

bool store_lease_lost(const struct parley_error *err, int64_t rec_id)
{
	long long id = 0;
	const char *m = err && err->code == PARLEY_ERR_BUSY ? strstr(err->msg, "lease on recording ") : NULL;
	if (!m || sscanf(m, "lease on recording %lld", &id) != 1 || !strstr(m, "was lost to another worker"))
		return false;
	return rec_id == 0 || id == rec_id;
}

/* Run a statement that must change exactly one row of recording rec_id while
 * its lease is owner's (a fence, db_run_checked): on PostgreSQL inside a
 * transaction sent ahead and checked with the next statement or before the
 * COMMIT; PARLEY_ERR_BUSY (LEASE_LOST_FMT) from whichever call finds it. */
static enum parley_err q_fence(struct store *st, int64_t rec_id, struct parley_error *err,
			       const char *sql, const char *types, ...)
{
	struct db_stmt *s;
	enum parley_err rc = db_prepare(st->db, sql, &s, err);
	if (rc)
		return rc;
	va_list ap;
	va_start(ap, types);
	q_bindv(s, types, ap);
	va_end(ap);
	char fail[DB_FAIL_MAX];
	snprintf(fail, sizeof(fail), LEASE_LOST_FMT, (long long)rec_id);
	rc = db_run_checked(s, 1, fail, err);
	db_finalize(s);
	return rc;
}

/* store_int.h: the helpers every store module binds with (q_prepare and
 * q_exec in this file). */
enum parley_err store_sql_prepare(struct store *st, struct db_stmt **s, struct parley_error *err,
				  const char *sql, const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	enum parley_err rc = q_vprepare(st, s, err, sql, types, ap);
	va_end(ap);
	return rc;
}

enum parley_err store_sql_exec(struct store *st, int64_t *changes, struct parley_error *err,
			       const char *sql, const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	enum parley_err rc = q_vexec(st, changes, err, sql, types, ap);
	va_end(ap);
	return rc;
}

static enum parley_err store_migrate(struct store *st, struct parley_error *err)
{
	int version;
	enum parley_err rc = st->db->drv->version_get(st->db, &version, err);
	if (rc)
		return rc;
	if (version > (int)store_migration_count)
		return parley_error_set(err, PARLEY_ERR_STORE,
					"store %s has schema version %d, newer than this parley (%zu); upgrade parley",
					db_target(st->db), version, store_migration_count);
	struct strbuf sql;
	strbuf_init(&sql, 1 << 20);
	for (size_t i = (size_t)version; i < store_migration_count; i++) {
		if ((rc = db_begin(st->db, err)))
			break;
		/* Another process may have migrated while we waited for the lock. */
		if ((rc = st->db->drv->migration_lock(st->db, err)) ||
		    (rc = st->db->drv->version_get(st->db, &version, err))) {
			db_rollback(st->db);
			break;
		}
		if (version > (int)i) {
			db_rollback(st->db);
			continue;
		}
		strbuf_release(&sql);
		if ((rc = schema_render(store_migrations[i], db_dialect(st->db), &sql, err)) ||
		    (rc = db_exec(st->db, sql.buf, err)) ||
		    (rc = st->db->drv->version_set(st->db, (int)i + 1, err))) {
			db_rollback(st->db);
			break;
		}
		if ((rc = db_commit(st->db, err)))
			break;
	}
	strbuf_release(&sql);
	return rc;
}

enum parley_err store_open(const char *target, struct store **out, struct parley_error *err)
{
	*out = NULL;
	struct store *st = calloc(1, sizeof(*st));
	if (!st)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory opening the store");
	enum parley_err rc = db_open(target, &st->db, err);
	if (rc == PARLEY_OK)
		rc = store_migrate(st, err);
	if (rc) {
		store_close(st);
		return rc;
	}
	*out = st;
	return PARLEY_OK;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	db_close(st->db);
	free(st);
}

bool store_is_postgres(const struct store *st)
{
	return db_dialect(st->db) == DB_POSTGRES;
}

const char *store_target(const struct store *st)
{
	return db_target(st->db);
}

int store_schema_version(struct store *st)
{
	int v = -1;
	if (st->db->drv->version_get(st->db, &v, NULL))
		return -1;
	return v;
}

enum parley_err store_begin(struct store *st, struct parley_error *err)
{
	return db_begin(st->db, err);
}

enum parley_err store_begin_durable(struct store *st, struct parley_error *err)
{
	return db_begin_durable(st->db, err);
}

enum parley_err store_relax_commits(struct store *st, struct parley_error *err)
{
	if (db_dialect(st->db) != DB_POSTGRES)
		return PARLEY_OK;
	return db_session_set(st->db, "synchronous_commit", "off", err);
}

enum parley_err store_commit(struct store *st, struct parley_error *err)
{
	return db_commit(st->db, err);
}

void store_rollback(struct store *st)
{
	db_rollback(st->db);
}

bool store_in_transaction(struct store *st)
{
	return db_in_transaction(st->db);
}

static enum parley_err savepoint_sql(struct store *st, const char *verb, const char *name,
				     struct parley_error *err)
{
	char sql[96];
	size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyz_");
	if (n == 0 || name[n] || n > 32)
		return parley_error_set(err, PARLEY_ERR_INVALID, "bad savepoint name '%s'", name);
	snprintf(sql, sizeof(sql), "%s%s", verb, name);
	return db_exec(st->db, sql, err);
}

enum parley_err store_savepoint(struct store *st, const char *name, struct parley_error *err)
{
	return savepoint_sql(st, "SAVEPOINT ", name, err);
}

enum parley_err store_rollback_to(struct store *st, const char *name, struct parley_error *err)
{
	return savepoint_sql(st, "ROLLBACK TO SAVEPOINT ", name, err);
}

enum parley_err store_hold_limit(struct store *st, double seconds, struct parley_error *err)
{
	if (db_dialect(st->db) != DB_POSTGRES)
		return PARLEY_OK;
	char ms[32];
	snprintf(ms, sizeof(ms), "%ld", seconds < 1 ? 1000L : (long)(seconds * 1000));
	return db_session_set(st->db, "idle_in_transaction_session_timeout", ms, err);
}

enum parley_err store_batch_ensure(struct store *st, const char *name, const char *kind,
				   int64_t *batch_id, struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = q_prepare(st, &s, err,
		"INSERT INTO batches(name, kind, priority, created_at, updated_at)"
		" VALUES (?1, ?2, ?4, ?3, ?3)"
		" ON CONFLICT(name) DO UPDATE SET updated_at = excluded.updated_at RETURNING id",
		"ttdn", name, kind, time_wall(),
		strcmp(kind, "session") == 0 ? STORE_PRIORITY_SESSION : STORE_PRIORITY_BATCH);
	if (rc)
		return rc;
	bool row;
	if ((rc = db_step(s, &row, err)) == PARLEY_OK) {
		if (row)
			*batch_id = db_column_int(s, 0);
		else
			rc = parley_error_set(err, PARLEY_ERR_STORE, "store %s: add batch: no id returned",
					      db_target(st->db));
	}
	db_finalize(s);
	return rc;
}

enum parley_err store_batch_set_priority(struct store *st, int64_t batch_id, int priority,
					 struct parley_error *err)
{
	if (priority < STORE_PRIORITY_MIN || priority > STORE_PRIORITY_MAX)
		return parley_error_set(err, PARLEY_ERR_INVALID, "priority %d is outside %d..%d", priority,
					STORE_PRIORITY_MIN, STORE_PRIORITY_MAX);
	bool own = !db_in_transaction(st->db);
	enum parley_err rc = own ? store_begin(st, err) : PARLEY_OK;
	if (!rc)
		rc = q_exec(st, NULL, err, "UPDATE batches SET priority = ?2 WHERE id = ?1", "in",
			    batch_id, priority);
	if (!rc)
		rc = q_exec(st, NULL, err, "UPDATE recordings SET priority = ?2 WHERE batch_id = ?1"
			    " AND priority <> ?2", "in", batch_id, priority);
	if (rc) {
		if (own)
			store_rollback(st);
		return rc;
	}
	return own ? store_commit(st, err) : PARLEY_OK;
}

enum parley_err store_batch_get_priority(struct store *st, int64_t batch_id, int *priority,
					 struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = q_prepare(st, &s, err, "SELECT priority FROM batches WHERE id = ?1", "i",
				       batch_id);
	if (rc)
		return rc;
	bool row;
	*priority = STORE_PRIORITY_BATCH;
	if ((rc = db_step(s, &row, err)) == PARLEY_OK && !row)
		rc = parley_error_set(err, PARLEY_ERR_NOT_FOUND, "no batch %lld", (long long)batch_id);
	else if (rc == PARLEY_OK)
		*priority = (int)db_column_int(s, 0);
	db_finalize(s);
	return rc;
}

enum parley_err store_batch_retag(struct store *st, int64_t batch_id, struct parley_error *err)
{
	/* one pass: the batch's pending recordings in id order, numbered from
	 * the lowest tag waiting in other batches of the batch's priority */
	return q_exec(st, NULL, err,
		"UPDATE recordings SET tag = r.base + r.n - 1 FROM ("
		"  SELECT x.id, row_number() OVER (ORDER BY x.id) AS n,"
		"   (SELECT coalesce(min(w.tag), 1) FROM recordings w"
		"    WHERE w.status IN ('pending', 'running') AND w.batch_id <> ?1"
		"      AND w.priority = (SELECT b.priority FROM batches b WHERE b.id = ?1)) AS base"
		"  FROM recordings x WHERE x.batch_id = ?1 AND x.status = 'pending') r"
		" WHERE recordings.id = r.id", "i", batch_id);
}

enum parley_err store_batch_set_pipeline(struct store *st, int64_t batch_id, const char *stages,
					 struct parley_error *err)
{
	return q_exec(st, NULL, err, "UPDATE batches SET pipeline = ?2 WHERE id = ?1", "it", batch_id,
		      stages);
}

/* The batch's pipeline and priority, one query. */
static enum parley_err batch_pipeline_priority(struct store *st, int64_t batch_id, char *out,
					       size_t size, int *priority, struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = q_prepare(st, &s, err, "SELECT pipeline, priority FROM batches WHERE id = ?1",
				       "i", batch_id);
	if (rc)
		return rc;
	bool row;
	out[0] = '\0';
	if ((rc = db_step(s, &row, err)) == PARLEY_OK) {
		if (row) {
			snprintf(out, size, "%s", db_column_text(s, 0));
			if (priority)
				*priority = (int)db_column_int(s, 1);
		} else {
			rc = parley_error_set(err, PARLEY_ERR_NOT_FOUND, "no batch %lld", (long long)batch_id);
		}
	}
	db_finalize(s);
	return rc;
}

enum parley_err store_batch_get_pipeline(struct store *st, int64_t batch_id, char *out, size_t size,
					 struct parley_error *err)
{
	return batch_pipeline_priority(st, batch_id, out, size, NULL, err);
}

enum parley_err store_batch_set_config(struct store *st, int64_t batch_id, const char *json,
				       struct parley_error *err)
{
	if (strlen(json) > STORE_CONFIG_MAX)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"batch %lld: configuration larger than %zu bytes", (long long)batch_id,
					STORE_CONFIG_MAX);
	return q_exec(st, NULL, err, "UPDATE batches SET config = ?2 WHERE id = ?1", "it", batch_id,
		      json);
}

enum parley_err store_batch_get_config(struct store *st, int64_t batch_id, char **json,
				       struct parley_error *err)
{
	*json = NULL;
	struct db_stmt *s;
	enum parley_err rc = q_prepare(st, &s, err, "SELECT config FROM batches WHERE id = ?1", "i",
				       batch_id);
	if (rc)
		return rc;
	bool row;
	if ((rc = db_step(s, &row, err)) == PARLEY_OK) {
		const char *text = row && !db_column_null(s, 0) ? db_column_text(s, 0) : "";
		if (!row)
			rc = parley_error_set(err, PARLEY_ERR_NOT_FOUND, "no batch %lld", (long long)batch_id);
		else if (strlen(text) > STORE_CONFIG_MAX)
			rc = parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					      "batch %lld: stored configuration larger than %zu bytes",
					      (long long)batch_id, STORE_CONFIG_MAX);
		else if (!(*json = strdup(text)))
			rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory reading a configuration");
	}
	db_finalize(s);
	return rc;
}

enum parley_err store_batch_find(struct store *st, const char *name, int64_t *batch_id,
				 struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = q_prepare(st, &s, err, "SELECT id FROM batches WHERE name = ?1", "t", name);
	if (rc)
		return rc;
	bool row;
	if ((rc = db_step(s, &row, err)) == PARLEY_OK) {
		if (row)
			*batch_id = db_column_int(s, 0);
		else
			rc = parley_error_set(err, PARLEY_ERR_NOT_FOUND, "no batch named '%s'", name);
	}
	db_finalize(s);
	return rc;
}

enum parley_err store_batch_each(struct store *st, int (*fn)(const struct store_batch *, void *),
				 void *ud, struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = q_prepare(st, &s, err, "SELECT id, name FROM batches ORDER BY id", "");
	if (rc)
		return rc;
	struct store_batch b;
	bool row;
	while ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
		b.id = db_column_int(s, 0);
		snprintf(b.name, sizeof(b.name), "%s", db_column_text(s, 1));
		if (fn(&b, ud))
			break;
	}
	db_finalize(s);
	return rc;
}

/* Drop a recording's stage runs and its rows in every result table (the
 * stages' own list: table names are SQL identifiers, checked here). */
static enum parley_err recording_reset(struct store *st, int64_t rec_id,
				       const char *const *tables, struct parley_error *err)
{
	enum parley_err rc = q_exec(st, NULL, err, "DELETE FROM stage_runs WHERE recording_id = ?1",
				    "i", rec_id);
	for (size_t i = 0; !rc && tables && tables[i]; i++) {
		size_t n = strlen(tables[i]);
		if (n == 0 || n > 63 || strspn(tables[i], "abcdefghijklmnopqrstuvwxyz_0123456789") != n)
			return parley_error_set(err, PARLEY_ERR_INTERNAL, "result table '%.64s' is not a "
						"table name", tables[i]);
		char sql[128];
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE recording_id = ?1", tables[i]);
		rc = q_exec(st, NULL, err, sql, "i", rec_id);
	}
	return rc;
}

/* The first stage of the batch's pipeline ("" when the batch names none:
 * every worker's own pipeline applies). */
static void pipeline_first(const char *pipeline, char *out, size_t size)
{
	size_t n = strcspn(pipeline, ",");
	snprintf(out, size, "%.*s", (int)n, pipeline);
}

enum parley_err store_recording_add(struct store *st, int64_t batch_id, const char *name,
				    const char *source, const char *fingerprint,
				    const char *const *result_tables, int64_t *rec_id,
				    struct parley_error *err)
{
	char pipeline[STORE_PIPELINE_MAX], first[STORE_STAGE_NAME_MAX];
	int priority = STORE_PRIORITY_BATCH;
	enum parley_err rc = batch_pipeline_priority(st, batch_id, pipeline, sizeof(pipeline),
						     &priority, err);
	if (rc)
		return rc;
	pipeline_first(pipeline, first, sizeof(first));
	/* Inside the caller's transaction (a submit of many files commits once
	 * per chunk), or in its own. */
	bool own = !db_in_transaction(st->db);
	if (own && (rc = store_begin(st, err)))
		return rc;
	struct db_stmt *s = NULL;
	if ((rc = q_prepare(st, &s, err, "SELECT id, fingerprint, status FROM recordings"
			    " WHERE batch_id = ?1 AND name = ?2", "it", batch_id, name)))
		goto fail;
	bool row;
	if ((rc = db_step(s, &row, err)))
		goto fail;
	double now = time_wall();
	if (row) {
		int64_t id = db_column_int(s, 0);
		bool changed = strcmp(db_column_text(s, 1), fingerprint) != 0;
		enum store_status status = status_parse(db_column_text(s, 2));
		db_finalize(s);
		s = NULL;
		if (changed && (rc = recording_reset(st, id, result_tables, err)))
			goto fail;
		if (changed || status != STORE_DONE) {
			if ((rc = q_exec(st, NULL, err,
					 "UPDATE recordings SET status = 'pending', fingerprint = ?2,"
					 " source = ?3, error = NULL, error_code = NULL, attempts = 0,"
					 " duration = CASE WHEN ?4 <> 0 THEN 0 ELSE duration END,"
					 " next_stage = CASE WHEN ?4 <> 0 THEN ?6 ELSE next_stage END,"
					 " updated_at = ?5 WHERE id = ?1", "ittndt", id, fingerprint, source,
					 (int)changed, now, first)))
				goto fail;
			/* A failed stage is retried: clear its failure, keep done stages. */
			if ((rc = q_exec(st, NULL, err, "UPDATE stage_runs SET status = 'pending'"
					 " WHERE recording_id = ?1 AND status <> 'done'", "i", id)))
				goto fail;
		}
		*rec_id = id;
	} else {
		db_finalize(s);
		s = NULL;
		if ((rc = q_prepare(st, &s, err,
				    "INSERT INTO recordings(batch_id, name, source, fingerprint, next_stage,"
				    " created_at, updated_at, priority, tag) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7,"
				    /* its turn: after the lowest waiting at its priority and
				     * after its batch's last (store.h, fair share) */
				    " (SELECT CASE WHEN v > b THEN v ELSE b END FROM (SELECT"
				    "   (SELECT coalesce(min(w.tag), 0) FROM recordings w"
				    "    WHERE w.status IN ('pending', 'running') AND w.priority = ?7) AS v,"
				    "   (SELECT coalesce(max(t.tag), 0) + 1 FROM recordings t WHERE t.batch_id = ?1) AS b) q))"
				    " RETURNING id",
				    "ittttdn", batch_id, name, source, fingerprint, first, now, priority)))
			goto fail;
		if ((rc = db_step(s, &row, err)))
			goto fail;
		if (!row) {
			rc = parley_error_set(err, PARLEY_ERR_STORE, "store %s: add recording: no id returned",
					      db_target(st->db));
			goto fail;
		}
		*rec_id = db_column_int(s, 0);
		db_finalize(s);
		s = NULL;
	}
	return own ? store_commit(st, err) : PARLEY_OK;
fail:
	db_finalize(s);
	if (own)
		store_rollback(st);
	return rc;
}

#define RECORDING_COLS \
	"id, batch_id, name, source, duration, status, attempts, coalesce(error, ''), next_stage," \
	" priority, tag"

static void recording_from_row(struct db_stmt *s, struct store_recording *r)
{
	memset(r, 0, sizeof(*r));
	r->id = db_column_int(s, 0);
	r->batch_id = db_column_int(s, 1);
	snprintf(r->name, sizeof(r->name), "%s", db_column_text(s, 2));
	snprintf(r->source, sizeof(r->source), "%s", db_column_text(s, 3));
	r->duration = db_column_double(s, 4);
	r->status = status_parse(db_column_text(s, 5));
	r->attempts = (int)db_column_int(s, 6);
	snprintf(r->error, sizeof(r->error), "%s", db_column_text(s, 7));
	snprintf(r->next_stage, sizeof(r->next_stage), "%s", db_column_text(s, 8));
	r->priority = (int)db_column_int(s, 9);
	r->tag = db_column_int(s, 10);
}

/* Step s once: a row fills *out and sets *found. */
static enum parley_err recording_step(struct db_stmt *s, struct store_recording *out, bool *found,
				      struct parley_error *err)
{
	bool row;
	enum parley_err rc = db_step(s, &row, err);
	*found = rc == PARLEY_OK && row;
	if (*found) {
		recording_from_row(s, out);
		while (rc == PARLEY_OK && row) /* drain, so the statement completes */
			rc = db_step(s, &row, err);
	}
	return rc;
}

enum parley_err store_recording_get(struct store *st, int64_t rec_id, struct store_recording *out,
				    struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = q_prepare(st, &s, err, "SELECT " RECORDING_COLS " FROM recordings WHERE id = ?1",
				       "i", rec_id);
	if (rc)
		return rc;
	bool found;
	rc = recording_step(s, out, &found, err);
	db_finalize(s);
	if (rc == PARLEY_OK && !found)
		rc = parley_error_set(err, PARLEY_ERR_NOT_FOUND, "no recording %lld", (long long)rec_id);
	return rc;
}

enum parley_err store_recording_set_duration(struct store *st, int64_t rec_id, double seconds,
					     struct parley_error *err)
{
	return q_exec(st, NULL, err, "UPDATE recordings SET duration = ?2 WHERE id = ?1", "id", rec_id,
		      seconds);
}

enum parley_err store_recording_set_next_stage(struct store *st, int64_t rec_id, const char *stage,
					       struct parley_error *err)
{
	return q_exec(st, NULL, err, "UPDATE recordings SET next_stage = ?2 WHERE id = ?1", "it", rec_id,
		      stage ? stage : "");
}

enum parley_err store_recording_each(struct store *st, int64_t batch_id,
				     int (*fn)(const struct store_recording *, void *), void *ud,
				     struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = q_prepare(st, &s, err, "SELECT " RECORDING_COLS " FROM recordings"
				       " WHERE batch_id = ?1 ORDER BY id", "i", batch_id);
	if (rc)
		return rc;
	struct store_recording r;
	bool row;
	while ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
		recording_from_row(s, &r);
		if (fn(&r, ud))
			break;
	}
	db_finalize(s);
	return rc;
}

/* A recording may be leased when it waits (pending, or running under a lease
 * that expired) and no lease or backoff holds it. */
#define LEASABLE(now) \
	"status IN ('pending', 'running') AND (lease_owner IS NULL OR lease_expires < " now ")"

/* The stages done (or skipped) of the row an UPDATE … RETURNING returns:
 * one more column after RECORDING_COLS, so a worker needs no stage_runs read. */
static const char *stages_done_expr(const struct store *st)
{
	return db_dialect(st->db) == DB_POSTGRES
		? "coalesce((SELECT string_agg(d.stage, ',') FROM stage_runs d"
		  " WHERE d.recording_id = recordings.id AND d.status IN ('done', 'skipped')), '')"
		: "coalesce((SELECT group_concat(d.stage, ',') FROM stage_runs d"
		  " WHERE d.recording_id = recordings.id AND d.status IN ('done', 'skipped')), '')";
}

/* "?F, ?F+1, …" for STORE_LEASE_MANY_MAX parameters: one SQL text whatever
 * the count (unused ones are bound NULL, which matches nothing), so the
 * statement cache keeps one statement. */
static void id_params(char *buf, size_t size, int first)
{
	size_t used = 0;
	for (int i = 0; i < STORE_LEASE_MANY_MAX && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s?%d", i ? ", " : "", first + i);
}

static void bind_ids(struct db_stmt *s, int first, const int64_t *ids, size_t n)
{
	for (size_t i = 0; i < STORE_LEASE_MANY_MAX; i++) {
		if (i < n)
			db_bind_int(s, first + (int)i, ids[i]);
		else
			db_bind_null(s, first + (int)i);
	}
}

/* Read the rows of a lease (RECORDING_COLS + the stages done) into out[]. */
static enum parley_err lease_rows(struct db_stmt *s, struct store_recording *out, size_t max,
				  size_t *n, struct parley_error *err)
{
	bool row;
	enum parley_err rc;
	*n = 0;
	while ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
		if (*n >= max)
			continue; /* cannot happen (LIMIT); drained so the statement completes */
		struct store_recording *r = &out[(*n)++];
		recording_from_row(s, r);
		r->stages_known = true;
		snprintf(r->stages_done, sizeof(r->stages_done), "%s", db_column_text(s, 11));
	}
	return rc;
}

static int lease_order_cmp(const void *a, const void *b)
{
	const struct store_recording *x = a, *y = b;
	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

enum parley_err store_lease_many(struct store *st, int64_t batch_id, const char *owner,
				 double lease_seconds, const char *stages, size_t max,
				 struct store_recording *out, size_t *n, struct parley_error *err)
{
	*n = 0;
	if (max < 1)
		max = 1;
	if (max > STORE_LEASE_MANY_MAX)
		max = STORE_LEASE_MANY_MAX;
	double now = time_wall();
	/* PostgreSQL: concurrent workers skip each other's candidate rows instead
	 * of queueing on them. SQLite: BEGIN IMMEDIATE-style locking serialises.
	 * Each one leased counts an attempt (store.h). */
	const char *lock = db_dialect(st->db) == DB_POSTGRES ? " FOR UPDATE SKIP LOCKED" : "";
	char sql[2048];
	snprintf(sql, sizeof(sql),
		 "WITH c AS (SELECT id, priority, tag FROM recordings"
		 "   WHERE (CAST(?4 AS BIGINT) = 0 OR batch_id = ?4) AND " LEASABLE("?3")
		 "     AND (CAST(?5 AS TEXT) = '' OR next_stage = '' OR ?5 LIKE '%%,' || next_stage || ',%%')"
		 "   ORDER BY priority DESC, tag, id LIMIT ?6%s)"
		 " UPDATE recordings SET lease_owner = ?1, lease_expires = ?2, status = 'running',"
		 "  updated_at = ?3, attempts = attempts + 1"
		 " WHERE id IN (SELECT c2.id FROM c c2)"
		 " RETURNING " RECORDING_COLS ", %s", lock, stages_done_expr(st));
	char stage_set[STORE_PIPELINE_MAX + 2] = "";
	if (stages && *stages)
		snprintf(stage_set, sizeof(stage_set), ",%s,", stages);
	struct db_stmt *s;
	enum parley_err rc = q_prepare(st, &s, err, sql, "tdditi", owner, now + lease_seconds, now,
				       batch_id, stage_set, (int64_t)max);
	if (rc)
		return rc;
	rc = lease_rows(s, out, max, n, err);
	db_finalize(s);
	if (rc) {
		*n = 0;
		return rc;
	}
	qsort(out, *n, sizeof(*out), lease_order_cmp);
	return PARLEY_OK;
}

enum parley_err store_lease_next(struct store *st, int64_t batch_id, const char *owner,
				 double lease_seconds, const char *stages, struct store_recording *out,
				 bool *found, struct parley_error *err)
{
	size_t n = 0;
	enum parley_err rc = store_lease_many(st, batch_id, owner, lease_seconds, stages, 1, out, &n, err);
	*found = rc == PARLEY_OK && n == 1;
	return rc;
}

enum parley_err store_lease_ids(struct store *st, const int64_t *ids, size_t nids, const char *owner,
				double lease_seconds, struct store_recording *out, size_t *n,
				struct parley_error *err)
{
	*n = 0;
	if (nids == 0)
		return PARLEY_OK;
	if (nids > STORE_LEASE_MANY_MAX)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "store %s: more than %d recordings in one lease",
					db_target(st->db), STORE_LEASE_MANY_MAX);
	double now = time_wall();
	char params[STORE_LEASE_MANY_MAX * 8], sql[2048];
	id_params(params, sizeof(params), 4);
	snprintf(sql, sizeof(sql),
		 "UPDATE recordings SET lease_owner = ?1, lease_expires = ?2, status = 'running',"
		 "  updated_at = ?3, attempts = attempts + 1"
		 " WHERE id IN (%s) AND " LEASABLE("?3") " RETURNING " RECORDING_COLS ", %s",
		 params, stages_done_expr(st));
	struct db_stmt *s;
	enum parley_err rc = q_prepare(st, &s, err, sql, "tdd", owner, now + lease_seconds, now);
	if (rc)
		return rc;
	bind_ids(s, 4, ids, nids);
	struct store_recording got[STORE_LEASE_MANY_MAX];
	size_t ngot = 0;
	rc = lease_rows(s, got, STORE_LEASE_MANY_MAX, &ngot, err);
	db_finalize(s);
	if (rc)
		return rc;
	/* in the order of ids (a queue's hand-out order) */
	for (size_t i = 0; i < nids; i++)
		for (size_t k = 0; k < ngot; k++)
			if (got[k].id == ids[i] && got[k].id != 0) {
				out[(*n)++] = got[k];
				got[k].id = 0; /* an id named twice is leased once */
				break;
			}
	return PARLEY_OK;
}

enum parley_err store_lease_take(struct store *st, int64_t rec_id, const char *owner,
				 double lease_seconds, struct store_recording *out, bool *found,
				 struct parley_error *err)
{
	size_t n = 0;
	enum parley_err rc = store_lease_ids(st, &rec_id, 1, owner, lease_seconds, out, &n, err);
	*found = rc == PARLEY_OK && n == 1;
	return rc;
}

/* Run an UPDATE over a bounded id list: head ends in "id IN ", and the
 * "(?k, ...)" placeholders follow it, after ?1 = owner when owner is given;
 * `what` names the work in the TOO_LARGE message ("to count"). */
static enum parley_err ids_update(struct store *st, const char *head, const char *owner,
				  const int64_t *ids, size_t n, const char *what,
				  struct parley_error *err)
{
	if (n == 0)
		return PARLEY_OK;
	if (n > STORE_LEASE_MANY_MAX)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "store %s: more than %d recordings %s",
					db_target(st->db), STORE_LEASE_MANY_MAX, what);
	int first = owner ? 2 : 1;
	char params[STORE_LEASE_MANY_MAX * 8], sql[512];
	id_params(params, sizeof(params), first);
	snprintf(sql, sizeof(sql), "%s(%s)", head, params);
	struct db_stmt *s;
	enum parley_err rc = owner ? q_prepare(st, &s, err, sql, "t", owner) : q_prepare(st, &s, err, sql, "");
	if (rc)
		return rc;
	bind_ids(s, first, ids, n);
	bool row;
	rc = db_step(s, &row, err);
	while (rc == PARLEY_OK && row)
		rc = db_step(s, &row, err);
	db_finalize(s);
	return rc;
}

enum parley_err store_lease_unhold(struct store *st, const char *owner, const int64_t *ids, size_t n,
				   struct parley_error *err)
{
	return ids_update(st, "UPDATE recordings SET status = 'pending', lease_owner = NULL, lease_expires = NULL,"
			  " attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END"
			  " WHERE lease_owner = ?1 AND id IN ", owner, ids, n, "to give back", err);
}

enum parley_err store_leasable_each(struct store *st, size_t limit,
				    int (*fn)(int64_t id, const char *next_stage, int64_t order,
					      void *ud),
				    void *ud, struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = q_prepare(st, &s, err,
		"SELECT id, next_stage, priority, tag FROM recordings WHERE " LEASABLE("?1")
		" ORDER BY priority DESC, tag, id LIMIT ?2", "di", time_wall(), (int64_t)limit);
	if (rc)
		return rc;
	bool row;
	while ((rc = db_step(s, &row, err)) == PARLEY_OK && row)
		if (fn(db_column_int(s, 0), db_column_text(s, 1),
		       store_order_key((int)db_column_int(s, 2), db_column_int(s, 3)), ud))
			break;
	db_finalize(s);
	return rc;
}

enum parley_err store_lease_renew(struct store *st, int64_t rec_id, const char *owner,
				  double lease_seconds, struct parley_error *err)
{
	return store_lease_advance(st, rec_id, owner, lease_seconds, NULL, err);
}

enum parley_err store_lease_advance(struct store *st, int64_t rec_id, const char *owner,
				   double lease_seconds, const char *next_stage,
				   struct parley_error *err)
{
	int64_t changes = 0;
	enum parley_err rc = q_exec(st, &changes, err,
		"UPDATE recordings SET lease_expires = ?3,"
		" next_stage = coalesce(CAST(?4 AS TEXT), next_stage)"
		" WHERE id = ?1 AND lease_owner = ?2", "itdt", rec_id, owner,
		time_wall() + lease_seconds, next_stage);
	if (rc)
		return rc;
	if (changes != 1)
		return parley_error_set(err, PARLEY_ERR_BUSY, LEASE_LOST_FMT, (long long)rec_id);
	return PARLEY_OK;
}

enum parley_err store_stage_each(struct store *st, int64_t rec_id,
				 void (*fn)(const char *stage, enum store_status status, void *ud),
				 void *ud, struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = q_prepare(st, &s, err, "SELECT stage, status FROM stage_runs"
				       " WHERE recording_id = ?1", "i", rec_id);
	if (rc)
		return rc;
	bool row;
	while ((rc = db_step(s, &row, err)) == PARLEY_OK && row)
		fn(db_column_text(s, 0), status_parse(db_column_text(s, 1)), ud);
	db_finalize(s);
	return rc;
}

#define RECLAIM_BATCH 256

enum parley_err store_lease_reclaim_dead(struct store *st, const char *host, int *reclaimed,
					 struct parley_error *err)
{
	*reclaimed = 0;
	struct db_stmt *s;
	enum parley_err rc = q_prepare(st, &s, err, "SELECT id, lease_owner FROM recordings"
				       " WHERE lease_owner IS NOT NULL AND lease_owner <> 'backoff'", "");
	if (rc)
		return rc;
	int64_t dead[RECLAIM_BATCH];
	char owners[RECLAIM_BATCH][128];
	int ndead = 0;
	bool row;
	while ((rc = db_step(s, &row, err)) == PARLEY_OK && row && ndead < RECLAIM_BATCH) {
		const char *owner = db_column_text(s, 1);
		if (proc_owner_gone(owner, host)) {
			dead[ndead] = db_column_int(s, 0);
			snprintf(owners[ndead++], sizeof(owners[0]), "%s", owner);
		}
	}
	db_finalize(s);
	if (rc)
		return rc;
	for (int i = 0; i < ndead; i++) {
		/* Only if the dead owner still holds it: a live worker may have taken it since. */
		int64_t changes = 0;
		if ((rc = q_exec(st, &changes, err, "UPDATE recordings SET lease_owner = NULL, lease_expires = NULL,"
				 " status = CASE WHEN status = 'running' THEN 'pending' ELSE status END"
				 " WHERE id = ?1 AND lease_owner = ?2", "it", dead[i], owners[i])))
			return rc;
		*reclaimed += (int)changes;
	}
	return PARLEY_OK;
}

enum parley_err store_lease_release_owner(struct store *st, const char *owner, int *released,
					  struct parley_error *err)
{
	int64_t changes = 0;
	enum parley_err rc = q_exec(st, &changes, err,
		"UPDATE recordings SET lease_owner = NULL, lease_expires = NULL,"
		" status = CASE WHEN status = 'running' THEN 'pending' ELSE status END"
		" WHERE lease_owner = ?1", "t", owner);
	if (released)
		*released = (int)changes;
	return rc;
}

enum parley_err store_recording_retry_later(struct store *st, int64_t rec_id, const char *owner,
					    double delay, const char *error_msg,
					    struct parley_error *err)
{
	double now = time_wall();
	int64_t changes = 0;
	enum parley_err rc = q_exec(st, &changes, err,
		"UPDATE recordings SET status = 'pending', lease_owner = 'backoff', lease_expires = ?3,"
		" error = ?4, updated_at = ?5 WHERE id = ?1 AND lease_owner = ?2", "itdtd", rec_id, owner,
		now + delay, error_msg, now);
	if (rc)
		return rc;
	if (changes != 1)
		return parley_error_set(err, PARLEY_ERR_BUSY, "recording %lld is leased by another worker",
					(long long)rec_id);
	return PARLEY_OK;
}

enum parley_err store_recording_requeue(struct store *st, int64_t rec_id, struct parley_error *err)
{
	return q_exec(st, NULL, err,
		"UPDATE recordings SET status = 'pending', attempts = 0, error = NULL, error_code = NULL"
		" WHERE id = ?1 AND status IN ('done', 'failed')", "i", rec_id);
}

enum parley_err store_lease_release(struct store *st, int64_t rec_id, const char *owner,
				    struct parley_error *err)
{
	/* Giving a recording back is not a failed attempt. */
	return q_exec(st, NULL, err,
		"UPDATE recordings SET status = 'pending', lease_owner = NULL, lease_expires = NULL,"
		" attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END"
		" WHERE id = ?1 AND lease_owner = ?2", "it", rec_id, owner);
}

enum parley_err store_recording_finish(struct store *st, int64_t rec_id, const char *owner,
				       enum store_status status, const char *error_code,
				       const char *error_msg, struct parley_error *err)
{
	return q_fence(st, rec_id, err,
		"UPDATE recordings SET status = ?3, error_code = ?4, error = ?5, lease_owner = NULL,"
		" lease_expires = NULL, updated_at = ?6"
		" WHERE id = ?1 AND (lease_owner = ?2 OR CAST(?2 AS TEXT) IS NULL)",
		"ittttd", rec_id, owner, store_status_name(status), error_code, error_msg, time_wall());
}

enum parley_err store_stage_status(struct store *st, int64_t rec_id, const char *stage,
				   enum store_status *status, struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = q_prepare(st, &s, err, "SELECT status FROM stage_runs"
				       " WHERE recording_id = ?1 AND stage = ?2", "it", rec_id, stage);
	if (rc)
		return rc;
	bool row;
	*status = STORE_PENDING;
	if ((rc = db_step(s, &row, err)) == PARLEY_OK && row)
		*status = status_parse(db_column_text(s, 0));
	db_finalize(s);
	return rc;
}

enum parley_err store_stage_start(struct store *st, int64_t rec_id, const char *stage,
				  struct parley_error *err)
{
	return q_exec(st, NULL, err,
		"INSERT INTO stage_runs(recording_id, stage, status, attempts, started_at)"
		" VALUES (?1, ?2, 'running', 1, ?3)"
		" ON CONFLICT(recording_id, stage) DO UPDATE SET status = 'running',"
		"  attempts = stage_runs.attempts + 1, started_at = excluded.started_at, error = NULL",
		"itd", rec_id, stage, time_wall());
}

enum parley_err store_stage_done(struct store *st, int64_t rec_id, const char *stage,
				 double cpu_seconds, double wall_seconds, struct parley_error *err)
{
	return q_exec(st, NULL, err,
		"INSERT INTO stage_runs(recording_id, stage, status, attempts, started_at, finished_at,"
		"  cpu_seconds, wall_seconds) VALUES (?1, ?2, 'done', 1, ?3, ?3, ?4, ?5)"
		" ON CONFLICT(recording_id, stage) DO UPDATE SET status = 'done', error = NULL,"
		"  attempts = stage_runs.attempts + 1,"
		"  finished_at = excluded.finished_at, cpu_seconds = excluded.cpu_seconds,"
		"  wall_seconds = excluded.wall_seconds",
		"itddd", rec_id, stage, time_wall(), cpu_seconds, wall_seconds);
}

enum parley_err store_stage_advance(struct store *st, int64_t rec_id, const char *stage,
				    const char *owner, double lease_seconds, const char *next_stage,
				    double cpu_seconds, double wall_seconds, struct parley_error *err)
{
	double now = time_wall();
	enum parley_err rc;
	if (db_dialect(st->db) == DB_POSTGRES) {
		/* one statement: the lease check and renewal feed the done mark,
		 * which is written only when the lease is still owner's; sent
		 * ahead, its count checked by the next statement or the commit */
		return q_fence(st, rec_id, err,
			"WITH l AS (UPDATE recordings SET lease_expires = ?4,"
			"  next_stage = coalesce(CAST(?5 AS TEXT), next_stage)"
			"  WHERE id = ?1 AND lease_owner = ?3 RETURNING id)"
			" INSERT INTO stage_runs(recording_id, stage, status, attempts, started_at, finished_at,"
			"  cpu_seconds, wall_seconds)"
			" SELECT l.id, CAST(?2 AS TEXT), 'done', 1, CAST(?6 AS DOUBLE PRECISION),"
			"  CAST(?6 AS DOUBLE PRECISION), CAST(?7 AS DOUBLE PRECISION),"
			"  CAST(?8 AS DOUBLE PRECISION) FROM l"
			" ON CONFLICT(recording_id, stage) DO UPDATE SET status = 'done', error = NULL,"
			"  attempts = stage_runs.attempts + 1,"
			"  finished_at = excluded.finished_at, cpu_seconds = excluded.cpu_seconds,"
			"  wall_seconds = excluded.wall_seconds",
			"ittdtddd", rec_id, stage, owner, now + lease_seconds, next_stage, now, cpu_seconds,
			wall_seconds);
	}
	/* SQLite: in-process, two statements cost no round trip */
	if ((rc = store_lease_advance(st, rec_id, owner, lease_seconds, next_stage, err)))
		return rc;
	return store_stage_done(st, rec_id, stage, cpu_seconds, wall_seconds, err);
}

enum parley_err store_stage_fail(struct store *st, int64_t rec_id, const char *stage,
				 const char *owner, const char *error_msg, struct parley_error *err)
{
	/* A worker whose lease was taken over (it stalled, or its host was cut
	 * off) must not mark failed a stage its successor is running or has done. */
	return q_exec(st, NULL, err,
		"INSERT INTO stage_runs(recording_id, stage, status, attempts, finished_at, error)"
		" SELECT ?1, ?2, 'failed', 1, ?3, ?4"
		" WHERE CAST(?5 AS TEXT) IS NULL"
		"    OR EXISTS (SELECT 1 FROM recordings WHERE id = ?1 AND lease_owner = ?5)"
		" ON CONFLICT(recording_id, stage) DO UPDATE SET status = 'failed',"
		"  attempts = stage_runs.attempts + 1,"
		"  finished_at = excluded.finished_at, error = excluded.error"
		" WHERE stage_runs.status <> 'done'",
		"itdtt", rec_id, stage, time_wall(), error_msg, owner);
}

enum parley_err store_event_add(struct store *st, int64_t batch_id, int64_t rec_id,
				const char *stage, const char *type, const char *message,
				struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = db_prepare(st->db, "INSERT INTO events(batch_id, recording_id, stage, type,"
					" message, time) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", &s, err);
	if (rc)
		return rc;
	if (batch_id)
		db_bind_int(s, 1, batch_id);
	else
		db_bind_null(s, 1);
	if (rec_id)
		db_bind_int(s, 2, rec_id);
	else
		db_bind_null(s, 2);
	if (stage)
		db_bind_text(s, 3, stage);
	else
		db_bind_null(s, 3);
	db_bind_text(s, 4, type);
	if (message)
		db_bind_text(s, 5, message);
	else
		db_bind_null(s, 5);
	db_bind_double(s, 6, time_wall());
	bool row;
	rc = db_step(s, &row, err);
	db_finalize(s);
	return rc;
}

enum parley_err store_event_page(struct store *st, int64_t batch_id, int64_t after, int limit,
				 int (*fn)(const struct store_event *, void *), void *ud,
				 struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = q_prepare(st, &s, err,
		"SELECT id, coalesce(recording_id, 0), coalesce(stage, ''), type, coalesce(message, ''),"
		" time FROM events WHERE batch_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3", "iii",
		batch_id, after, limit > 0 ? (int64_t)limit : INT64_MAX);
	if (rc)
		return rc;
	struct store_event e;
	bool row;
	while ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
		memset(&e, 0, sizeof(e));
		e.id = db_column_int(s, 0);
		e.recording_id = db_column_int(s, 1);
		snprintf(e.stage, sizeof(e.stage), "%s", db_column_text(s, 2));
		snprintf(e.type, sizeof(e.type), "%s", db_column_text(s, 3));
		snprintf(e.message, sizeof(e.message), "%s", db_column_text(s, 4));
		e.time = db_column_double(s, 5);
		if (fn(&e, ud))
			break;
	}
	db_finalize(s);
	return rc;
}

enum parley_err store_warnings_set(struct store *st, int64_t batch_id, int64_t rec_id,
				   const char *stage, const char *const *msgs, size_t n,
				   struct parley_error *err)
{
	enum parley_err rc = q_exec(st, NULL, err,
		"DELETE FROM events WHERE batch_id = ?1 AND recording_id = ?2 AND stage = ?3"
		" AND type = ?4", "iitt", batch_id, rec_id, stage, STORE_EVENT_WARNING);
	for (size_t i = 0; i < n && !rc; i++)
		rc = store_event_add(st, batch_id, rec_id, stage, STORE_EVENT_WARNING, msgs[i], err);
	return rc;
}

enum parley_err store_warning_each(struct store *st, int64_t batch_id, int64_t rec_id,
				   int (*fn)(const struct store_event *, void *), void *ud,
				   struct parley_error *err)
{
	struct db_stmt *s;
	/* the type spelled out: the partial index events_warning (schema 11)
	 * serves only a query whose WHERE names it; a recording id is unique
	 * across batches, so batch_id only checks. */
	enum parley_err rc = q_prepare(st, &s, err,
		"SELECT id, coalesce(stage, ''), coalesce(message, ''), time FROM events"
		" WHERE recording_id = ?2 AND type = '" STORE_EVENT_WARNING "' AND batch_id = ?1"
		" ORDER BY id", "ii", batch_id, rec_id);
	if (rc)
		return rc;
	struct store_event e;
	bool row;
	while ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
		memset(&e, 0, sizeof(e));
		e.id = db_column_int(s, 0);
		e.recording_id = rec_id;
		snprintf(e.stage, sizeof(e.stage), "%s", db_column_text(s, 1));
		snprintf(e.type, sizeof(e.type), "%s", STORE_EVENT_WARNING);
		snprintf(e.message, sizeof(e.message), "%s", db_column_text(s, 2));
		e.time = db_column_double(s, 3);
		if (fn(&e, ud))
			break;
	}
	db_finalize(s);
	return rc;
}

enum parley_err store_batch_stage_started(struct store *st, int64_t batch_id, const char *stage,
					  bool *first, struct parley_error *err)
{
	int64_t changes = 0;
	enum parley_err rc = q_exec(st, &changes, err,
		"INSERT INTO batch_stages(batch_id, stage, started_at) VALUES (?1, ?2, ?3)"
		" ON CONFLICT(batch_id, stage) DO NOTHING", "itd", batch_id, stage, time_wall());
	*first = rc == PARLEY_OK && changes == 1;
	return rc;
}

enum parley_err store_batch_finished_add(struct store *st, int64_t batch_id, int64_t n,
					 int64_t *finished, bool *all_done, struct parley_error *err)
{
	/* One statement: the count, and whether anything is left (EXISTS stops
	 * at the first unfinished recording: cheap on big batches). Concurrent
	 * finishers queue on the batch's row; the later one's statement starts
	 * after both recordings were finished, so at least it sees the end. */
	struct db_stmt *s;
	enum parley_err rc = q_prepare(st, &s, err,
		"UPDATE batches SET finished = finished + ?2 WHERE id = ?1 RETURNING finished,"
		" EXISTS (SELECT 1 FROM recordings r WHERE r.batch_id = ?1"
		"  AND r.status IN ('pending', 'running'))", "ii", batch_id, n);
	if (rc)
		return rc;
	bool row;
	*finished = 0;
	*all_done = false;
	if ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
		*finished = db_column_int(s, 0);
		/* PostgreSQL answers a boolean ("t"/"f"), SQLite an integer */
		const char *v = db_column_text(s, 1);
		*all_done = strcmp(v, "0") == 0 || strcmp(v, "f") == 0;
		while (rc == PARLEY_OK && row)
			rc = db_step(s, &row, err);
	}
	db_finalize(s);
	return rc;
}

enum parley_err store_batch_stages_complete(struct store *st, int64_t batch_id,
					    void (*fn)(const char *stage, void *ud), void *ud,
					    struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = q_prepare(st, &s, err,
		"UPDATE batch_stages SET completed_at = ?2 WHERE batch_id = ?1 AND completed_at IS NULL"
		" RETURNING stage", "id", batch_id, time_wall());
	if (rc)
		return rc;
	bool row;
	while ((rc = db_step(s, &row, err)) == PARLEY_OK && row)
		fn(db_column_text(s, 0), ud);
	db_finalize(s);
	return rc;
}

enum parley_err store_test_effect_add(struct store *st, int64_t rec_id, const char *stage,
				      const char *owner, struct parley_error *err)
{
	return q_exec(st, NULL, err, "INSERT INTO test_effects(recording_id, stage, owner, time)"
		      " VALUES (?1, ?2, ?3, ?4)", "ittd", rec_id, stage, owner, time_wall());
}

/* Delete a recording's rows from table (with an optional kind), before a put. */
static enum parley_err rows_clear(struct store *st, const char *table, int64_t rec_id,
				  const char *kind, struct parley_error *err)
{
	char sql[160];
	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE recording_id = ?1%s", table,
		 kind ? " AND kind = ?2" : "");
	if (kind)
		return q_exec(st, NULL, err, sql, "it", rec_id, kind);
	return q_exec(st, NULL, err, sql, "i", rec_id);
}

/*
 * Result rows. Every *_put deletes the recording's old rows and inserts the
 * new ones through rows_write(); every *_get reads through rows_read(). The
 * per-table code is only the SQL and a function that binds or reads one row.
 */
typedef void (*row_bind_fn)(struct db_stmt *s, const void *elem, const void *ctx, int first);

/* Run sql once per row: ?1 is rec_id; when `indexed`, ?2 is the row's index;
 * fn binds the rest from ?first on. (Every parameter must appear in the SQL:
 * PostgreSQL cannot type one it never sees.) */
static enum parley_err rows_write(struct store *st, const char *sql, int64_t rec_id, bool indexed,
				  const void *rows, size_t elem_size, size_t n, row_bind_fn fn,
				  const void *ctx, struct parley_error *err)
{
	if (n == 0)
		return PARLEY_OK;
	struct db_stmt *s;
	enum parley_err rc = db_prepare(st->db, sql, &s, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n && !rc; i++) {
		db_bind_int(s, 1, rec_id);
		if (indexed)
			db_bind_int(s, 2, (int64_t)i);
		fn(s, (const char *)rows + i * elem_size, ctx, indexed ? 3 : 2);
		bool row;
		rc = db_step(s, &row, err);
		db_reset(s);
	}
	db_finalize(s);
	return rc;
}

enum parley_err store_sql_rows(struct db_stmt *s, size_t elem_size, store_row_fn fn,
			       void **out, size_t *n, const char *what, struct parley_error *err)
{
	*out = NULL;
	*n = 0;
	size_t cap = 0;
	char *arr = NULL;
	bool row;
	enum parley_err rc;
	while ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
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
		fn(s, arr + (*n)++ * elem_size);
	}
	db_finalize(s);
	if (rc) {
		free(arr);
		*n = 0;
		return rc;
	}
	*out = arr;
	return PARLEY_OK;
}

/* Read every row of a SELECT whose ?1 is rec_id (and ?2 kind, if given)
 * into a new array (*out, caller frees; NULL when there are none). */
static enum parley_err rows_read(struct store *st, const char *sql, int64_t rec_id,
				 const char *kind, size_t elem_size, store_row_fn fn, void **out,
				 size_t *n, const char *what, struct parley_error *err)
{
	*out = NULL;
	*n = 0;
	struct db_stmt *s;
	enum parley_err rc = kind ? q_prepare(st, &s, err, sql, "it", rec_id, kind)
				  : q_prepare(st, &s, err, sql, "i", rec_id);
	return rc ? rc : store_sql_rows(s, elem_size, fn, out, n, what, err);
}

static void segment_bind(struct db_stmt *s, const void *elem, const void *kind, int first)
{
	const struct store_segment *seg = elem;
	db_bind_text(s, first, kind);
	db_bind_double(s, first + 1, seg->start);
	db_bind_double(s, first + 2, seg->end);
	db_bind_int(s, first + 3, seg->speaker);
}

static void segment_read(struct db_stmt *s, void *elem)
{
	struct store_segment *seg = elem;
	seg->start = db_column_double(s, 0);
	seg->end = db_column_double(s, 1);
	seg->speaker = (int)db_column_int(s, 2);
}

enum parley_err store_segments_put(struct store *st, int64_t rec_id, const char *kind,
				   const struct store_segment *segs, size_t n,
				   struct parley_error *err)
{
	enum parley_err rc = rows_clear(st, "segments", rec_id, kind, err);
	if (rc)
		return rc;
	return rows_write(st, "INSERT INTO segments(recording_id, idx, kind, start_s, end_s, speaker)"
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)", rec_id, true, segs, sizeof(*segs), n,
			  segment_bind, kind, err);
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

static void word_bind(struct db_stmt *s, const void *elem, const void *ctx, int first)
{
	const struct store_word *w = elem;
	db_bind_double(s, first, w->start);
	db_bind_double(s, first + 1, w->end);
	db_bind_text(s, first + 2, w->text);
	db_bind_double(s, first + 3, w->confidence);
	db_bind_int(s, first + 4, w->speaker);
	db_bind_int(s, first + 5, w->approximate ? 1 : 0);
}

static void word_read(struct db_stmt *s, void *elem)
{
	struct store_word *w = elem;
	w->start = db_column_double(s, 0);
	w->end = db_column_double(s, 1);
	snprintf(w->text, sizeof(w->text), "%s", db_column_text(s, 2));
	w->confidence = (float)db_column_double(s, 3);
	w->speaker = (int)db_column_int(s, 4);
	w->approximate = db_column_int(s, 5) != 0;
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
		 " speaker, approximate) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", table);
	return rows_write(st, sql, rec_id, true, words, sizeof(*words), n, word_bind, NULL, err);
}

enum parley_err store_words_get(struct store *st, int64_t rec_id, const char *table,
				struct store_word **words, size_t *n, struct parley_error *err)
{
	*words = NULL;
	*n = 0;
	if (!words_table_ok(table))
		return parley_error_set(err, PARLEY_ERR_INTERNAL, "no word table %s", table);
	char sql[200];
	snprintf(sql, sizeof(sql), "SELECT start_s, end_s, word, confidence, speaker, approximate FROM %s"
		 " WHERE recording_id = ?1 ORDER BY idx", table);
	return rows_read(st, sql, rec_id, NULL, sizeof(**words), word_read, (void **)words, n,
			 "words", err);
}

static void speaker_bind(struct db_stmt *s, const void *elem, const void *ctx, int first)
{
	const struct store_speaker *sp = elem;
	db_bind_int(s, first, sp->speaker);
	db_bind_double(s, first + 1, sp->talk_time);
	db_bind_int(s, first + 2, sp->turns);
	db_bind_double(s, first + 3, sp->sample_start);
	db_bind_double(s, first + 4, sp->sample_end);
}

static void speaker_read(struct db_stmt *s, void *elem)
{
	struct store_speaker *sp = elem;
	sp->speaker = (int)db_column_int(s, 0);
	sp->talk_time = db_column_double(s, 1);
	sp->turns = (int)db_column_int(s, 2);
	sp->sample_start = db_column_double(s, 3);
	sp->sample_end = db_column_double(s, 4);
}

enum parley_err store_speakers_put(struct store *st, int64_t rec_id,
				   const struct store_speaker *spk, size_t n,
				   struct parley_error *err)
{
	enum parley_err rc = rows_clear(st, "speakers", rec_id, NULL, err);
	if (rc)
		return rc;
	return rows_write(st, "INSERT INTO speakers(recording_id, speaker, talk_time, turns,"
			  " sample_start, sample_end) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", rec_id, false, spk, sizeof(*spk), n, speaker_bind, NULL, err);
}

enum parley_err store_speakers_get(struct store *st, int64_t rec_id, struct store_speaker **spk,
				   size_t *n, struct parley_error *err)
{
	return rows_read(st, "SELECT speaker, talk_time, turns, sample_start, sample_end"
			 " FROM speakers WHERE recording_id = ?1 ORDER BY speaker", rec_id, NULL,
			 sizeof(**spk), speaker_read, (void **)spk, n, "speakers", err);
}

static void sample_bind(struct db_stmt *s, const void *elem, const void *ctx, int first)
{
	const struct store_speaker *sp = elem;
	db_bind_int(s, first, sp->speaker);
	db_bind_double(s, first + 1, sp->sample_start);
	db_bind_double(s, first + 2, sp->sample_end);
}

enum parley_err store_speaker_samples_put(struct store *st, int64_t rec_id,
					  const struct store_speaker *spk, size_t n,
					  struct parley_error *err)
{
	enum parley_err rc = q_exec(st, NULL, err, "UPDATE speakers SET sample_start = 0, sample_end = 0"
				    " WHERE recording_id = ?1", "i", rec_id);
	if (rc)
		return rc;
	return rows_write(st, "UPDATE speakers SET sample_start = ?3, sample_end = ?4"
			  " WHERE recording_id = ?1 AND speaker = ?2", rec_id, false, spk, sizeof(*spk), n, sample_bind, NULL, err);
}

static void count_bind(struct db_stmt *s, const void *elem, const void *ctx, int first)
{
	const struct store_count *c = elem;
	db_bind_int(s, first, c->speaker);
	db_bind_text(s, first + 1, c->word);
	db_bind_int(s, first + 2, c->count);
}

static void count_read(struct db_stmt *s, void *elem)
{
	struct store_count *c = elem;
	c->speaker = (int)db_column_int(s, 0);
	snprintf(c->word, sizeof(c->word), "%s", db_column_text(s, 1));
	c->count = (int)db_column_int(s, 2);
}

enum parley_err store_counts_put(struct store *st, int64_t rec_id, const struct store_count *c,
				 size_t n, struct parley_error *err)
{
	enum parley_err rc = rows_clear(st, "word_counts", rec_id, NULL, err);
	if (rc)
		return rc;
	return rows_write(st, "INSERT INTO word_counts(recording_id, speaker, word, count)"
			  " VALUES (?1, ?2, ?3, ?4)", rec_id, false, c, sizeof(*c), n,
			  count_bind, NULL, err);
}

enum parley_err store_counts_get(struct store *st, int64_t rec_id, struct store_count **c,
				 size_t *n, struct parley_error *err)
{
	return rows_read(st, "SELECT speaker, word, count FROM word_counts"
			 " WHERE recording_id = ?1 ORDER BY speaker, word", rec_id, NULL, sizeof(**c),
			 count_read, (void **)c, n, "word counts", err);
}

static void status_add(enum store_status s, int count, int *pending, int *running, int *done,
		       int *failed, int *skipped)
{
	int *slot[] = {[STORE_PENDING] = pending, [STORE_RUNNING] = running, [STORE_DONE] = done,
		       [STORE_FAILED] = failed, [STORE_SKIPPED] = skipped};
	*slot[s] += count;
}

enum parley_err store_stage_counts(struct store *st, int64_t batch_id,
				   struct store_stage_count *out, size_t max, size_t *n,
				   struct parley_error *err)
{
	*n = 0;
	struct db_stmt *s;
	enum parley_err rc = q_prepare(st, &s, err,
		"SELECT s.stage, s.status, count(*) FROM stage_runs s"
		" JOIN recordings r ON r.id = s.recording_id WHERE r.batch_id = ?1"
		" GROUP BY s.stage, s.status ORDER BY s.stage", "i", batch_id);
	if (rc)
		return rc;
	bool row;
	while ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
		const char *stage = db_column_text(s, 0);
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
		status_add(status_parse(db_column_text(s, 1)), (int)db_column_int(s, 2), &c->pending,
			   &c->running, &c->done, &c->failed, &c->skipped);
	}
	db_finalize(s);
	return rc;
}

enum parley_err store_stage_seconds(struct store *st, struct store_stage_seconds *out, size_t max,
				    size_t *n, struct parley_error *err)
{
	*n = 0;
	struct db_stmt *s;
	enum parley_err rc = q_prepare(st, &s, err,
		"SELECT stage, coalesce(sum(wall_seconds), 0), count(*) FROM stage_runs"
		" WHERE status = 'done' GROUP BY stage ORDER BY stage", "");
	if (rc)
		return rc;
	bool row;
	while ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
		if (*n >= max) {
			rc = parley_error_set(err, PARLEY_ERR_TOO_LARGE, "more than %zu stages in the store",
					      max);
			break;
		}
		struct store_stage_seconds *o = &out[(*n)++];
		snprintf(o->stage, sizeof(o->stage), "%s", db_column_text(s, 0));
		o->sum = db_column_double(s, 1);
		o->count = db_column_int(s, 2);
	}
	db_finalize(s);
	return rc;
}

enum parley_err store_progress_get(struct store *st, int64_t batch_id, struct store_progress *p,
				   struct parley_error *err)
{
	memset(p, 0, sizeof(*p));
	struct db_stmt *s;
	enum parley_err rc = q_prepare(st, &s, err,
		"SELECT status, count(*), coalesce(sum(duration), 0),"
		" sum(CASE WHEN duration > 0 THEN 1 ELSE 0 END) FROM recordings"
		" WHERE (CAST(?1 AS BIGINT) = 0 OR batch_id = ?1) GROUP BY status", "i", batch_id);
	if (rc)
		return rc;
	bool row;
	while ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
		enum store_status status = status_parse(db_column_text(s, 0));
		int count = (int)db_column_int(s, 1);
		double audio = db_column_double(s, 2);
		p->total += count;
		if (strcmp(db_column_text(s, 0), "held") == 0) { /* a batch not started (store_batch.h) */
			p->held += count;
			continue;
		}
		p->audio_known += audio;
		p->decoded += (int)db_column_int(s, 3);
		if (status == STORE_DONE || status == STORE_SKIPPED)
			p->audio_done += audio;
		int skipped = 0;
		status_add(status, count, &p->pending, &p->running, &p->done, &p->failed, &skipped);
		p->done += skipped;
	}
	db_finalize(s);
	return rc;
}

enum parley_err store_lease_owners(struct store *st, int *owners, struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = q_prepare(st, &s, err,
		"SELECT count(DISTINCT lease_owner) FROM recordings WHERE lease_owner IS NOT NULL"
		" AND lease_owner <> 'backoff' AND lease_expires >= ?1", "d", time_wall());
	if (rc)
		return rc;
	bool row;
	*owners = 0;
	if ((rc = db_step(s, &row, err)) == PARLEY_OK && row)
		*owners = (int)db_column_int(s, 0);
	db_finalize(s);
	return rc;
}
