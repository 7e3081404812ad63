/* store_audit.c — see store_audit.h. */
#include "store/store_audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "util/timeutil.h"

#define prep store_sql_prepare
#define exec store_sql_exec

/* version 0 → the batch's current one, as SQL over ?1 = recording id. */
#define VERSION_OF(n) \
	"(CASE WHEN ?" #n " > 0 THEN ?" #n " ELSE (SELECT b.audit_version FROM batches b" \
	" JOIN recordings r ON r.batch_id = b.id WHERE r.id = ?1) END)"

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

void store_audit_release(struct store_audit *a)
{
	if (!a)
		return;
	free(a->questionnaire);
	free(a->rules);
	a->questionnaire = a->rules = NULL;
}

/* ------------------------------------------------------------ versions */

enum parley_err store_audit_current(struct store *st, int64_t batch_id, int *version,
				    struct parley_error *err)
{
	struct db_stmt *s;
	bool row = false;
	*version = 0;
	enum parley_err rc = prep(st, &s, err, "SELECT audit_version FROM batches WHERE id = ?1",
				  "i", batch_id);
	if (rc)
		return rc;
	rc = db_step(s, &row, err);
	if (!rc && !row)
		rc = parley_error_set(err, PARLEY_ERR_NOT_FOUND, "no batch with id %lld",
				      (long long)batch_id);
	if (!rc)
		*version = (int)db_column_int(s, 0);
	db_finalize(s);
	return rc;
}

enum parley_err store_audit_add(struct store *st, int64_t batch_id, const char *questionnaire,
				const char *rules, const char *from_stage, int *version,
				struct parley_error *err)
{
	questionnaire = questionnaire ? questionnaire : "";
	rules = rules ? rules : "";
	if (strlen(questionnaire) > STORE_AUDIT_DOC_MAX || strlen(rules) > STORE_AUDIT_DOC_MAX)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"the questionnaire or the rules exceed %zu bytes",
					STORE_AUDIT_DOC_MAX);
	bool own = !db_in_transaction(st->db);
	enum parley_err rc = own ? store_begin(st, err) : PARLEY_OK;
	int cur = 0;
	if (!rc)
		rc = store_audit_current(st, batch_id, &cur, err);
	if (!rc)
		rc = exec(st, NULL, err,
			  "INSERT INTO audit_versions(batch_id, version, questionnaire, rules, from_stage,"
			  " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			  "intttd", batch_id, cur + 1, questionnaire, rules, from_stage ? from_stage : "",
			  time_wall());
	if (!rc)
		rc = exec(st, NULL, err, "UPDATE batches SET audit_version = ?2 WHERE id = ?1", "in",
			  batch_id, cur + 1);
	if (own) {
		if (!rc)
			rc = store_commit(st, err);
		else
			store_rollback(st);
	}
	if (!rc && version)
		*version = cur + 1;
	return rc;
}

static enum parley_err audit_read(struct db_stmt *s, struct store_audit *out,
				  struct parley_error *err)
{
	memset(out, 0, sizeof(*out));
	out->version = (int)db_column_int(s, 0);
	out->questionnaire = strdup(db_column_text(s, 1));
	out->rules = strdup(db_column_text(s, 2));
	copy(out->from_stage, sizeof(out->from_stage), db_column_text(s, 3));
	out->created_at = db_column_double(s, 4);
	if (!out->questionnaire || !out->rules) {
		store_audit_release(out);
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory reading an audit");
	}
	return PARLEY_OK;
}

enum parley_err store_audit_get(struct store *st, int64_t batch_id, int version,
				struct store_audit *out, struct parley_error *err)
{
	struct db_stmt *s;
	bool row = false;
	memset(out, 0, sizeof(*out));
	enum parley_err rc = prep(st, &s, err,
				  "SELECT version, questionnaire, rules, from_stage, created_at"
				  " FROM audit_versions WHERE batch_id = ?1 AND version = (CASE WHEN"
				  " ?2 > 0 THEN ?2 ELSE (SELECT audit_version FROM batches WHERE id = ?1)"
				  " END)", "in", batch_id, version);
	if (rc)
		return rc;
	rc = db_step(s, &row, err);
	if (!rc && !row)
		rc = version > 0
			? parley_error_set(err, PARLEY_ERR_NOT_FOUND,
					   "batch %lld has no audit version %d", (long long)batch_id,
					   version)
			: parley_error_set(err, PARLEY_ERR_NOT_FOUND,
					   "batch %lld has no questionnaire or rules",
					   (long long)batch_id);
	if (!rc)
		rc = audit_read(s, out, err);
	db_finalize(s);
	return rc;
}

enum parley_err store_audit_each(struct store *st, int64_t batch_id,
				 int (*fn)(const struct store_audit *, void *), void *ud,
				 struct parley_error *err)
{
	struct db_stmt *s;
	bool row = false;
	enum parley_err rc = prep(st, &s, err,
				  "SELECT version, questionnaire, rules, from_stage, created_at"
				  " FROM audit_versions WHERE batch_id = ?1 ORDER BY version", "i",
				  batch_id);
	if (rc)
		return rc;
	while (!(rc = db_step(s, &row, err)) && row) {
		struct store_audit a;
		if ((rc = audit_read(s, &a, err)))
			break;
		int stop = fn(&a, ud);
		store_audit_release(&a);
		if (stop)
			break;
	}
	db_finalize(s);
	return rc;
}

/* ------------------------------------------------------------- answers */

enum parley_err store_answers_put(struct store *st, int64_t rec_id, int version,
				  const struct store_answer *a, size_t n, struct parley_error *err)
{
	enum parley_err rc = exec(st, NULL, err,
				  "DELETE FROM answers WHERE recording_id = ?1 AND version = ?2", "in",
				  rec_id, version);
	for (size_t i = 0; i < n && !rc; i++)
		rc = exec(st, NULL, err,
			  "INSERT INTO answers(recording_id, version, idx, question, answer, source, na,"
			  " score, max_score, weight, auto_fail, valid, error, evidence)"
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
			  "innttt" "ndddnntt", rec_id, version, (int)i, a[i].question,
			  a[i].answer[0] ? a[i].answer : "null", a[i].source, a[i].na ? 1 : 0,
			  a[i].score, a[i].max_score, a[i].weight, a[i].auto_fail ? 1 : 0,
			  a[i].valid ? 1 : 0, a[i].error, a[i].evidence ? a[i].evidence : "[]");
	return rc;
}

static void answer_read(struct db_stmt *s, void *elem)
{
	struct store_answer *a = elem;
	copy(a->question, sizeof(a->question), db_column_text(s, 0));
	copy(a->answer, sizeof(a->answer), db_column_text(s, 1));
	copy(a->source, sizeof(a->source), db_column_text(s, 2));
	a->na = db_column_int(s, 3) != 0;
	a->score = db_column_double(s, 4);
	a->max_score = db_column_double(s, 5);
	a->weight = db_column_double(s, 6);
	a->auto_fail = db_column_int(s, 7) != 0;
	a->valid = db_column_int(s, 8) != 0;
	copy(a->error, sizeof(a->error), db_column_text(s, 9));
	a->evidence = strdup(db_column_text(s, 10)); /* NULL on no memory: checked below */
}

enum parley_err store_answers_get(struct store *st, int64_t rec_id, int version,
				  struct store_answer **a, size_t *n, struct parley_error *err)
{
	struct db_stmt *s;
	*a = NULL;
	*n = 0;
	enum parley_err rc = prep(st, &s, err,
				  "SELECT question, answer, source, na, score, max_score, weight,"
				  " auto_fail, valid, error, evidence FROM answers WHERE recording_id = ?1"
				  " AND version = " VERSION_OF(2) " ORDER BY idx", "in", rec_id, version);
	if (!rc)
		rc = store_sql_rows(s, sizeof(**a), answer_read, (void **)a, n, "answers", err);
	for (size_t i = 0; !rc && i < *n; i++)
		if (!(*a)[i].evidence)
			rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory reading answers");
	if (rc) {
		store_answers_free(*a, *n);
		*a = NULL;
		*n = 0;
	}
	return rc;
}

void store_answers_free(struct store_answer *a, size_t n)
{
	for (size_t i = 0; a && i < n; i++)
		free(a[i].evidence);
	free(a);
}

/* ------------------------------------------------------------ verdicts */

enum parley_err store_verdict_put(struct store *st, int64_t rec_id, int version,
				  const struct store_verdict *v, struct parley_error *err)
{
	enum parley_err rc = exec(st, NULL, err,
				  "DELETE FROM verdicts WHERE recording_id = ?1 AND version = ?2", "in",
				  rec_id, version);
	if (!rc && v)
		rc = exec(st, NULL, err,
			  "INSERT INTO verdicts(recording_id, version, verdict, score, max_score,"
			  " auto_fail, reasons) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			  "intddnt", rec_id, version, v->verdict, v->score, v->max_score,
			  v->auto_fail ? 1 : 0, v->reasons ? v->reasons : "[]");
	return rc;
}

enum parley_err store_verdict_get(struct store *st, int64_t rec_id, int version,
				  struct store_verdict *out, bool *found, struct parley_error *err)
{
	struct db_stmt *s;
	bool row = false;
	memset(out, 0, sizeof(*out));
	*found = false;
	enum parley_err rc = prep(st, &s, err,
				  "SELECT verdict, score, max_score, auto_fail, reasons FROM verdicts"
				  " WHERE recording_id = ?1 AND version = " VERSION_OF(2), "in", rec_id,
				  version);
	if (rc)
		return rc;
	rc = db_step(s, &row, err);
	if (!rc && row) {
		copy(out->verdict, sizeof(out->verdict), db_column_text(s, 0));
		out->score = db_column_double(s, 1);
		out->max_score = db_column_double(s, 2);
		out->auto_fail = db_column_int(s, 3) != 0;
		out->reasons = strdup(db_column_text(s, 4));
		if (!out->reasons)
			rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory reading a verdict");
		else
			*found = true;
	}
	db_finalize(s);
	return rc;
}

void store_verdict_release(struct store_verdict *v)
{
	if (!v)
		return;
	free(v->reasons);
	v->reasons = NULL;
}
