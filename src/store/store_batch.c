/* store_batch.c — see store_batch.h. */
#include "store/store_batch.h"

#include <stdio.h>
#include <string.h>

#include "store/store_int.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#define prep store_sql_prepare
#define exec store_sql_exec

enum parley_err sbatch_create(struct store *st, const char *name, int64_t *id,
			      struct parley_error *err)
{
	struct db_stmt *s;
	double now = time_wall();
	enum parley_err rc = prep(st, &s, err,
		"INSERT INTO batches(name, kind, status, created_at, updated_at)"
		" VALUES (?1, 'batch', 'created', ?2, ?2) ON CONFLICT(name) DO NOTHING RETURNING id",
		"td", name, now);
	if (rc)
		return rc;
	bool row;
	if ((rc = db_step(s, &row, err)) == PARLEY_OK) {
		if (row)
			*id = db_column_int(s, 0);
		else
			rc = parley_error_set(err, PARLEY_ERR_CONFLICT, "a batch named '%s' exists", name);
		while (rc == PARLEY_OK && row)
			rc = db_step(s, &row, err);
	}
	db_finalize(s);
	return rc;
}

#define BATCH_COLS "id, name, kind, status, created_at, audit_version, priority"

static void batch_read(struct db_stmt *s, struct sbatch_row *b)
{
	memset(b, 0, sizeof(*b));
	b->id = db_column_int(s, 0);
	snprintf(b->name, sizeof(b->name), "%s", db_column_text(s, 1));
	snprintf(b->kind, sizeof(b->kind), "%s", db_column_text(s, 2));
	b->started = strcmp(db_column_text(s, 3), "created") != 0;
	b->created_at = db_column_double(s, 4);
	b->audit_version = (int)db_column_int(s, 5);
	b->priority = (int)db_column_int(s, 6);
}

enum parley_err sbatch_get(struct store *st, int64_t id, struct sbatch_row *out, bool *found,
			   struct parley_error *err)
{
	struct db_stmt *s;
	*found = false;
	enum parley_err rc = prep(st, &s, err, "SELECT " BATCH_COLS " FROM batches WHERE id = ?1",
				  "i", id);
	if (rc)
		return rc;
	bool row;
	if ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
		batch_read(s, out);
		*found = true;
	}
	db_finalize(s);
	return rc;
}

enum parley_err sbatch_list(struct store *st, int64_t after, int limit,
			    int (*fn)(const struct sbatch_row *, void *), void *ud,
			    struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = prep(st, &s, err,
		"SELECT " BATCH_COLS " FROM batches WHERE kind = 'batch' AND id > ?1 ORDER BY id LIMIT ?2",
		"ii", after, (int64_t)limit);
	if (rc)
		return rc;
	bool row;
	struct sbatch_row b;
	while ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
		batch_read(s, &b);
		if (fn(&b, ud))
			break;
	}
	db_finalize(s);
	return rc;
}

enum parley_err sbatch_hold(struct store *st, int64_t rec_id, struct parley_error *err)
{
	return exec(st, NULL, err,
		    "UPDATE recordings SET status = 'held' WHERE id = ?1 AND status = 'pending'"
		    " AND lease_owner IS NULL", "i", rec_id);
}

enum parley_err sbatch_start(struct store *st, int64_t id, int64_t *n, struct parley_error *err)
{
	enum parley_err rc = exec(st, n, err,
		"UPDATE recordings SET status = 'pending', updated_at = ?2"
		" WHERE batch_id = ?1 AND status = 'held'", "id", id, time_wall());
	if (!rc) /* its turns start now, beside the batches already running */
		rc = store_batch_retag(st, id, err);
	if (!rc)
		rc = exec(st, NULL, err, "UPDATE batches SET status = 'started', updated_at = ?2"
			  " WHERE id = ?1", "id", id, time_wall());
	return rc;
}

enum parley_err sbatch_unfinished(struct store *st, int64_t id, int64_t *n,
				  struct parley_error *err)
{
	struct db_stmt *s;
	*n = 0;
	enum parley_err rc = prep(st, &s, err,
		"SELECT count(*) FROM recordings WHERE batch_id = ?1"
		" AND status IN ('pending', 'running', 'held')", "i", id);
	if (rc)
		return rc;
	bool row;
	if ((rc = db_step(s, &row, err)) == PARLEY_OK && row)
		*n = db_column_int(s, 0);
	db_finalize(s);
	return rc;
}

void sbatch_result_read(struct db_stmt *s, struct sbatch_result *r)
{
	*r = (struct sbatch_result){
		.id = db_column_int(s, 0),
		.name = db_column_text(s, 1),
		.status = db_column_text(s, 2),
		.error = db_column_text(s, 3),
		.metadata = db_column_text(s, 4), /* "" for NULL */
		.has_verdict = !db_column_null(s, 5),
	};
	r->verdict = r->has_verdict ? db_column_text(s, 5) : "";
	r->score = db_column_double(s, 6);
	r->max_score = db_column_double(s, 7);
	r->auto_fail = db_column_int(s, 8) != 0;
	r->reasons = db_column_text(s, 9);
}

enum parley_err sbatch_results(struct store *st, int64_t batch, int version, int64_t after,
			       int limit, int (*fn)(const struct sbatch_result *, void *), void *ud,
			       struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = prep(st, &s, err,
		"SELECT " SBATCH_RESULT_COLUMNS
		" FROM recordings r JOIN batches b ON b.id = r.batch_id"
		" LEFT JOIN verdicts v ON v.recording_id = r.id AND v.version ="
		"   (CASE WHEN ?2 > 0 THEN ?2 ELSE b.audit_version END)"
		" WHERE r.batch_id = ?1 AND r.id > ?3 ORDER BY r.id LIMIT ?4",
		"inii", batch, version, after, (int64_t)(limit > 0 ? limit : INT32_MAX));
	if (rc)
		return rc;
	bool row;
	while ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
		struct sbatch_result r;
		sbatch_result_read(s, &r);
		if (fn(&r, ud))
			break;
	}
	db_finalize(s);
	return rc;
}

/* "a,b" → "'a','b'" (names checked: [a-z0-9_]); "" → "''" (matches nothing). */
static enum parley_err sql_list(const char *list, struct strbuf *out, size_t *count,
				struct parley_error *err)
{
	*count = 0;
	const char *p = list;
	while (*p) {
		size_t n = strcspn(p, ",");
		if (n == 0 || n >= STORE_STAGE_NAME_MAX ||
		    strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_") < n)
			return parley_error_set(err, PARLEY_ERR_INTERNAL, "'%.*s' is not a stage name",
						(int)(n > 40 ? 40 : n), p);
		if (strbuf_adds(out, *count ? ",'" : "'") || strbuf_add(out, p, n) ||
		    strbuf_adds(out, "'"))
			return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
		(*count)++;
		p += n;
		if (*p == ',')
			p++;
	}
	if (*count == 0 && strbuf_adds(out, "''"))
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
	return PARLEY_OK;
}

enum parley_err sbatch_reset_from(struct store *st, int64_t batch, const char *before,
				  const char *rerun, const char *first, int64_t *n,
				  struct parley_error *err)
{
	struct strbuf b, r, sql;
	strbuf_init(&b, 8192);
	strbuf_init(&r, 8192);
	strbuf_init(&sql, 32768);
	size_t nb = 0, nr = 0;
	*n = 0;
	enum parley_err rc;
	if ((rc = sql_list(before, &b, &nb, err)) || (rc = sql_list(rerun, &r, &nr, err)))
		goto out;
	/* Which recordings: finished, with every stage before the rerun done. */
	char who[16384];
	snprintf(who, sizeof(who),
		 "SELECT id FROM recordings x WHERE x.batch_id = ?1 AND x.status IN ('done', 'failed')"
		 " AND (SELECT count(*) FROM stage_runs y WHERE y.recording_id = x.id"
		 "      AND y.stage IN (%s) AND y.status IN ('done', 'skipped')) = %zu",
		 b.buf, nb);
	if (strbuf_adds(&sql, "DELETE FROM stage_runs WHERE stage IN (") || strbuf_adds(&sql, r.buf) ||
	    strbuf_adds(&sql, ") AND recording_id IN (") || strbuf_adds(&sql, who) ||
	    strbuf_adds(&sql, ")")) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = exec(st, NULL, err, sql.buf, "i", batch)))
		goto out;
	strbuf_release(&sql);
	if (strbuf_adds(&sql, "UPDATE recordings SET status = 'pending', next_stage = ?2,"
			" attempts = 0, error = NULL, error_code = NULL, lease_owner = NULL,"
			" lease_expires = NULL, updated_at = ?3 WHERE id IN (") ||
	    strbuf_adds(&sql, who) || strbuf_adds(&sql, ")")) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = exec(st, n, err, sql.buf, "itd", batch, first, time_wall())) ||
	    (rc = store_batch_retag(st, batch, err)))
		goto out;
	strbuf_release(&sql);
	if (strbuf_adds(&sql, "DELETE FROM batch_stages WHERE batch_id = ?1 AND stage IN (") ||
	    strbuf_adds(&sql, r.buf) || strbuf_adds(&sql, ")")) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = exec(st, NULL, err, sql.buf, "i", batch)))
		goto out;
	rc = exec(st, NULL, err,
		  "UPDATE batches SET finished = (SELECT count(*) FROM recordings WHERE batch_id = ?1"
		  " AND status IN ('done', 'failed')), updated_at = ?2 WHERE id = ?1", "id", batch,
		  time_wall());
out:
	strbuf_release(&b);
	strbuf_release(&r);
	strbuf_release(&sql);
	return rc;
}
