/* store_call.c — see store_call.h. */
#include "store/store_call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define prep store_sql_prepare
#define exec store_sql_exec

static enum parley_err clear(struct store *st, const char *table, int64_t rec_id,
			     struct parley_error *err)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE recording_id = ?1", table);
	return exec(st, NULL, err, sql, "i", rec_id);
}

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* ------------------------------------------------------------- events */

enum parley_err store_call_events_put(struct store *st, int64_t rec_id,
				      const struct store_call_event *ev, size_t n,
				      struct parley_error *err)
{
	enum parley_err rc = clear(st, "call_events", rec_id, err);
	for (size_t i = 0; i < n && !rc; i++)
		rc = exec(st, NULL, err,
			  "INSERT INTO call_events(recording_id, idx, kind, start_s, end_s, channel,"
			  " detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			  "intddnt", rec_id, (int)i, ev[i].kind, ev[i].start, ev[i].end, ev[i].channel,
			  ev[i].detail[0] ? ev[i].detail : "{}");
	return rc;
}

static void event_read(struct db_stmt *s, void *elem)
{
	struct store_call_event *e = elem;
	copy(e->kind, sizeof(e->kind), db_column_text(s, 0));
	e->start = db_column_double(s, 1);
	e->end = db_column_double(s, 2);
	e->channel = (int)db_column_int(s, 3);
	copy(e->detail, sizeof(e->detail), db_column_text(s, 4));
}

enum parley_err store_call_events_get(struct store *st, int64_t rec_id,
				      struct store_call_event **ev, size_t *n,
				      struct parley_error *err)
{
	struct db_stmt *s;
	*ev = NULL;
	*n = 0;
	enum parley_err rc = prep(st, &s, err, "SELECT kind, start_s, end_s, channel, detail"
				  " FROM call_events WHERE recording_id = ?1 ORDER BY idx", "i", rec_id);
	return rc ? rc : store_sql_rows(s, sizeof(**ev), event_read, (void **)ev, n, "call events", err);
}

/* -------------------------------------------------------------- roles */

enum parley_err store_speaker_roles_put(struct store *st, int64_t rec_id,
					const struct store_speaker_role *r, size_t n,
					struct parley_error *err)
{
	enum parley_err rc = clear(st, "speaker_roles", rec_id, err);
	for (size_t i = 0; i < n && !rc; i++)
		rc = exec(st, NULL, err,
			  "INSERT INTO speaker_roles(recording_id, speaker, role, channel, source)"
			  " VALUES (?1, ?2, ?3, ?4, ?5)",
			  "intnt", rec_id, r[i].speaker, r[i].role, r[i].channel, r[i].source);
	return rc;
}

static void role_read(struct db_stmt *s, void *elem)
{
	struct store_speaker_role *r = elem;
	r->speaker = (int)db_column_int(s, 0);
	copy(r->role, sizeof(r->role), db_column_text(s, 1));
	r->channel = (int)db_column_int(s, 2);
	copy(r->source, sizeof(r->source), db_column_text(s, 3));
}

enum parley_err store_speaker_roles_get(struct store *st, int64_t rec_id,
					struct store_speaker_role **r, size_t *n,
					struct parley_error *err)
{
	struct db_stmt *s;
	*r = NULL;
	*n = 0;
	enum parley_err rc = prep(st, &s, err, "SELECT speaker, role, channel, source"
				  " FROM speaker_roles WHERE recording_id = ?1 ORDER BY speaker", "i", rec_id);
	return rc ? rc : store_sql_rows(s, sizeof(**r), role_read, (void **)r, n, "speaker roles", err);
}

const struct store_speaker_role *store_speaker_role_of(const struct store_speaker_role *r,
							size_t n, int speaker)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].speaker == speaker && r[i].role[0])
			return &r[i];
	return NULL;
}

/* ----------------------------------------------------------- language */

enum parley_err store_call_language_put(struct store *st, int64_t rec_id,
					const struct store_call_language *lang,
					struct parley_error *err)
{
	enum parley_err rc = clear(st, "call_language", rec_id, err);
	if (rc || !lang)
		return rc;
	return exec(st, NULL, err,
		    "INSERT INTO call_language(recording_id, code, source, confidence, expected)"
		    " VALUES (?1, ?2, ?3, ?4, ?5)",
		    "ittdn", rec_id, lang->code, lang->source, lang->confidence, lang->expected ? 1 : 0);
}

static void language_read(struct db_stmt *s, void *elem)
{
	struct store_call_language *l = elem;
	copy(l->code, sizeof(l->code), db_column_text(s, 0));
	copy(l->source, sizeof(l->source), db_column_text(s, 1));
	l->confidence = db_column_double(s, 2);
	l->expected = db_column_int(s, 3) != 0;
}

enum parley_err store_call_language_get(struct store *st, int64_t rec_id,
					struct store_call_language *out, bool *found,
					struct parley_error *err)
{
	struct db_stmt *s;
	struct store_call_language *rows = NULL;
	size_t n = 0;
	*found = false;
	enum parley_err rc = prep(st, &s, err, "SELECT code, source, confidence, expected"
				  " FROM call_language WHERE recording_id = ?1", "i", rec_id);
	if (!rc)
		rc = store_sql_rows(s, sizeof(*rows), language_read, (void **)&rows, &n,
				    "call language", err);
	if (!rc && n > 0) {
		*out = rows[0];
		*found = true;
	}
	free(rows);
	return rc;
}

/* ------------------------------------------------------------ metrics */

enum parley_err store_call_metrics_put(struct store *st, int64_t rec_id,
				       const struct store_call_metric *m, size_t n,
				       struct parley_error *err)
{
	enum parley_err rc = clear(st, "call_metrics", rec_id, err);
	for (size_t i = 0; i < n && !rc; i++)
		rc = exec(st, NULL, err,
			  "INSERT INTO call_metrics(recording_id, scope, name, value)"
			  " VALUES (?1, ?2, ?3, ?4)", "ittd", rec_id, m[i].scope, m[i].name, m[i].value);
	return rc;
}

static void metric_read(struct db_stmt *s, void *elem)
{
	struct store_call_metric *m = elem;
	copy(m->scope, sizeof(m->scope), db_column_text(s, 0));
	copy(m->name, sizeof(m->name), db_column_text(s, 1));
	m->value = db_column_double(s, 2);
}

enum parley_err store_call_metrics_get(struct store *st, int64_t rec_id,
				       struct store_call_metric **m, size_t *n,
				       struct parley_error *err)
{
	struct db_stmt *s;
	*m = NULL;
	*n = 0;
	enum parley_err rc = prep(st, &s, err, "SELECT scope, name, value FROM call_metrics"
				  " WHERE recording_id = ?1 ORDER BY scope, name", "i", rec_id);
	return rc ? rc : store_sql_rows(s, sizeof(**m), metric_read, (void **)m, n, "call metrics", err);
}

/* -------------------------------------------------------------- spans */

enum parley_err store_call_spans_put(struct store *st, int64_t rec_id,
				     const struct store_call_span *sp, size_t n,
				     struct parley_error *err)
{
	enum parley_err rc = clear(st, "call_spans", rec_id, err);
	for (size_t i = 0; i < n && !rc; i++)
		rc = exec(st, NULL, err,
			  "INSERT INTO call_spans(recording_id, kind, idx, start_s, end_s, who, other)"
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			  "itnddtt", rec_id, sp[i].kind, (int)i, sp[i].start, sp[i].end, sp[i].who,
			  sp[i].other);
	return rc;
}

static void span_read(struct db_stmt *s, void *elem)
{
	struct store_call_span *sp = elem;
	copy(sp->kind, sizeof(sp->kind), db_column_text(s, 0));
	sp->start = db_column_double(s, 1);
	sp->end = db_column_double(s, 2);
	copy(sp->who, sizeof(sp->who), db_column_text(s, 3));
	copy(sp->other, sizeof(sp->other), db_column_text(s, 4));
}

enum parley_err store_call_spans_get(struct store *st, int64_t rec_id,
				     struct store_call_span **sp, size_t *n,
				     struct parley_error *err)
{
	struct db_stmt *s;
	*sp = NULL;
	*n = 0;
	enum parley_err rc = prep(st, &s, err, "SELECT kind, start_s, end_s, who, other FROM call_spans"
				  " WHERE recording_id = ?1 ORDER BY kind, start_s, idx", "i", rec_id);
	return rc ? rc : store_sql_rows(s, sizeof(**sp), span_read, (void **)sp, n, "call spans", err);
}

/* ----------------------------------------------------------- metadata */

enum parley_err store_recording_metadata_put(struct store *st, int64_t rec_id, const char *json,
					     struct parley_error *err)
{
	return exec(st, NULL, err, "UPDATE recordings SET metadata = ?2 WHERE id = ?1", "it", rec_id,
		    json && json[0] ? json : "{}");
}

enum parley_err store_recording_metadata_get(struct store *st, int64_t rec_id, char **json,
					     struct parley_error *err)
{
	struct db_stmt *s;
	*json = NULL;
	enum parley_err rc = prep(st, &s, err, "SELECT metadata FROM recordings WHERE id = ?1", "i",
				  rec_id);
	if (rc)
		return rc;
	bool row = false;
	rc = db_step(s, &row, err);
	if (!rc) {
		const char *t = row ? db_column_text(s, 0) : NULL;
		*json = strdup(t && t[0] ? t : "{}");
		if (!*json)
			rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory reading metadata");
	}
	db_finalize(s);
	return rc;
}
