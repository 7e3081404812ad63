/* store_dash.c — see store_dash.h. */
#include "store/store_dash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define prep store_sql_prepare

static void batch_row(struct db_stmt *s, void *elem)
{
	struct sdash_batch *b = elem;
	b->id = db_column_int(s, 0);
	snprintf(b->kind, sizeof(b->kind), "%s", db_column_text(s, 1));
	snprintf(b->name, sizeof(b->name), "%s", db_column_text(s, 2));
}

enum parley_err sdash_recent_batches(struct store *st, int limit, struct sdash_batch **out,
				     size_t *n, struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = prep(st, &s, err,
		"SELECT id, kind, name FROM batches ORDER BY id DESC LIMIT ?1", "i", (int64_t)limit);
	return rc ? rc : store_sql_rows(s, sizeof(**out), batch_row, (void **)out, n, "batches", err);
}

enum parley_err sdash_batch_get(struct store *st, int64_t id, struct sdash_batch *out,
				bool *found, struct parley_error *err)
{
	struct db_stmt *s;
	*found = false;
	enum parley_err rc = prep(st, &s, err, "SELECT id, kind, name FROM batches WHERE id = ?1",
				  "i", id);
	if (rc)
		return rc;
	bool row;
	if ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
		memset(out, 0, sizeof(*out));
		batch_row(s, out);
		*found = true;
	}
	db_finalize(s);
	return rc;
}

static void id_row(struct db_stmt *s, void *elem)
{
	*(int64_t *)elem = db_column_int(s, 0);
}

enum parley_err sdash_active_batches(struct store *st, int64_t **ids, size_t *n,
				     struct parley_error *err)
{
	struct db_stmt *s;
	/* the partial index recordings_todo holds exactly these rows */
	enum parley_err rc = prep(st, &s, err,
		"SELECT DISTINCT batch_id FROM recordings WHERE status IN ('pending', 'running')"
		" ORDER BY batch_id", "");
	return rc ? rc : store_sql_rows(s, sizeof(**ids), id_row, (void **)ids, n, "batch ids", err);
}

enum parley_err sdash_event_batches(struct store *st, int64_t after, int64_t **ids, size_t *n,
				    struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = prep(st, &s, err,
		"SELECT DISTINCT batch_id FROM events WHERE id > ?1 AND batch_id IS NOT NULL"
		" ORDER BY batch_id", "i", after);
	return rc ? rc : store_sql_rows(s, sizeof(**ids), id_row, (void **)ids, n, "batch ids", err);
}

static void lease_row(struct db_stmt *s, void *elem)
{
	struct sdash_lease *l = elem;
	snprintf(l->owner, sizeof(l->owner), "%s", db_column_text(s, 0));
	l->recording = db_column_int(s, 1);
	snprintf(l->name, sizeof(l->name), "%s", db_column_text(s, 2));
	l->batch = db_column_int(s, 3);
	snprintf(l->batch_name, sizeof(l->batch_name), "%s", db_column_text(s, 4));
	snprintf(l->kind, sizeof(l->kind), "%s", db_column_text(s, 5));
	snprintf(l->stage, sizeof(l->stage), "%s", db_column_text(s, 6));
	l->attempts = (int)db_column_int(s, 7);
	l->since = db_column_double(s, 8);
	l->expires = db_column_double(s, 9);
}

enum parley_err sdash_leases(struct store *st, double now, size_t max, struct sdash_lease **out,
			     size_t *n, struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = prep(st, &s, err,
		"SELECT r.lease_owner, r.id, r.name, r.batch_id, b.name, b.kind,"
		" coalesce(r.next_stage, ''), r.attempts, r.updated_at, r.lease_expires"
		" FROM recordings r JOIN batches b ON b.id = r.batch_id"
		" WHERE r.status IN ('pending', 'running') AND r.status = 'running'"
		" AND r.lease_owner IS NOT NULL AND r.lease_expires >= ?1"
		" ORDER BY r.lease_owner, r.id LIMIT ?2", "di", now, (int64_t)max);
	return rc ? rc : store_sql_rows(s, sizeof(**out), lease_row, (void **)out, n, "leases", err);
}

static enum parley_err one_int(struct db_stmt *s, int64_t *v, double *d, struct parley_error *err)
{
	bool row;
	enum parley_err rc = db_step(s, &row, err);
	if (!rc && row) {
		*v = db_column_int(s, 0);
		if (d)
			*d = db_column_double(s, 1);
	}
	db_finalize(s);
	return rc;
}

enum parley_err sdash_retrying(struct store *st, double now, int64_t *n, struct parley_error *err)
{
	struct db_stmt *s;
	*n = 0;
	/* store_recording_retry_later: pending, owner 'backoff' until the delay is over */
	enum parley_err rc = prep(st, &s, err,
		"SELECT count(*) FROM recordings WHERE status IN ('pending', 'running')"
		" AND status = 'pending' AND lease_owner = 'backoff' AND lease_expires >= ?1", "d", now);
	return rc ? rc : one_int(s, n, NULL, err);
}

enum parley_err sdash_throughput(struct store *st, double since, int64_t *n, double *audio,
				 struct parley_error *err)
{
	struct db_stmt *s;
	*n = 0;
	*audio = 0;
	enum parley_err rc = prep(st, &s, err,
		"SELECT count(*), coalesce(sum(duration), 0) FROM recordings"
		" WHERE status = 'done' AND updated_at >= ?1", "d", since);
	return rc ? rc : one_int(s, n, audio, err);
}

enum parley_err sdash_last_event(struct store *st, int64_t *id, struct parley_error *err)
{
	struct db_stmt *s;
	*id = 0;
	enum parley_err rc = prep(st, &s, err, "SELECT coalesce(max(id), 0) FROM events", "");
	return rc ? rc : one_int(s, id, NULL, err);
}

/* ------------------------------------------------------------------ results */

static const struct {
	const char *name, *expr;
} sorts[] = {
	{"recording", "r.id"},
	{"name", "r.name"},
	{"status", "r.status"},
	{"verdict", "v.verdict"},
	{"score", "CASE WHEN v.max_score > 0 THEN v.score / v.max_score ELSE v.score END"},
};

static const char *sort_expr(const char *sort)
{
	for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++)
		if (sort && strcmp(sort, sorts[i].name) == 0)
			return sorts[i].expr;
	return NULL;
}

bool sdash_sort_valid(const char *sort)
{
	return sort_expr(sort) != NULL;
}

/* "%text%" for LIKE … ESCAPE '\', lower-cased; false when it does not fit. */
static bool like_pattern(const char *text, char *out, size_t size)
{
	size_t o = 0;
	out[o++] = '%';
	for (const char *p = text; *p; p++) {
		if (o + 4 >= size)
			return false;
		if (*p == '%' || *p == '_' || *p == '\\')
			out[o++] = '\\';
		out[o++] = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
	}
	out[o++] = '%';
	out[o] = 0;
	return true;
}

#define RESULTS_FROM \
	" FROM recordings r LEFT JOIN verdicts v ON v.recording_id = r.id AND v.version = ?2" \
	" WHERE r.batch_id = ?1 AND (?3 = '' OR r.status = ?3)" \
	" AND (?4 = '' OR (?4 = 'none' AND v.verdict IS NULL) OR v.verdict = ?4)" \
	" AND (?5 = '%%' OR lower(r.name) LIKE ?5 ESCAPE '\\')"

enum parley_err sdash_results(struct store *st, int64_t batch, const struct sdash_query *q,
			      int (*fn)(const struct sdash_result *, void *), void *ud,
			      int64_t *total, struct parley_error *err)
{
	const char *expr = sort_expr(q->sort && *q->sort ? q->sort : "recording");
	char like[512];
	*total = 0;
	if (!expr)
		return parley_error_set(err, PARLEY_ERR_INVALID, "no results column %.40s to sort by",
					q->sort);
	if (!like_pattern(q->name ? q->name : "", like, sizeof(like)))
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "the name filter is too long");
	const char *status = q->status ? q->status : "", *verdict = q->verdict ? q->verdict : "";
	struct db_stmt *s;
	char sql[2048];
	snprintf(sql, sizeof(sql), "SELECT count(*)" RESULTS_FROM);
	enum parley_err rc = prep(st, &s, err, sql, "inttt", batch, q->version, status, verdict,
				  like);
	if (rc || (rc = one_int(s, total, NULL, err)))
		return rc;
	const char *dir = q->desc ? "DESC" : "ASC";
	/* NULLs (no verdict yet) last either way; the id breaks ties */
	snprintf(sql, sizeof(sql),
		 "SELECT " SBATCH_RESULT_COLUMNS ", r.attempts" RESULTS_FROM
		 " ORDER BY (%s) IS NULL, %s %s, r.id %s LIMIT ?6 OFFSET ?7",
		 expr, expr, dir, dir);
	rc = prep(st, &s, err, sql, "intttii", batch, q->version, status, verdict, like,
		  (int64_t)q->limit, q->offset);
	if (rc)
		return rc;
	bool row;
	while ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
		struct sdash_result r;
		sbatch_result_read(s, &r.row);
		r.attempts = (int)db_column_int(s, 10);
		if (fn(&r, ud))
			break;
	}
	db_finalize(s);
	return rc;
}
