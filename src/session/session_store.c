/* session_store.c — see session_store.h. The SQL is written once for SQLite
 * and PostgreSQL through store.c's helpers (store/store_int.h). */
#include "session/session_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "util/timeutil.h"

#define prep store_sql_prepare
#define exec store_sql_exec

/* Step s once and drain it; *row says whether there was a row (read it in fn). */
static enum parley_err one_row(struct db_stmt *s, void (*fn)(struct db_stmt *, void *), void *ud,
			       bool *found, struct parley_error *err)
{
	bool row;
	enum parley_err rc = db_step(s, &row, err);
	*found = rc == PARLEY_OK && row;
	if (*found && fn)
		fn(s, ud);
	while (rc == PARLEY_OK && row)
		rc = db_step(s, &row, err);
	db_finalize(s);
	return rc;
}

enum parley_err sstore_user_add(struct store *st, const char *name, const char *token_hash,
				bool admin, bool *added, struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = prep(st, &s, err,
		"INSERT INTO users(name, token_hash, admin, created_at) VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT(name) DO NOTHING RETURNING id", "ttnd", name, token_hash, (int)admin,
		time_wall());
	if (rc)
		return rc;
	return one_row(s, NULL, NULL, added, err);
}

#define USER_COLUMNS "id, name, admin, operator, token_expires, removed_at, origin"

static void user_read(struct db_stmt *s, void *ud)
{
	struct session_user *u = ud;
	memset(u, 0, sizeof(*u));
	u->id = db_column_int(s, 0);
	snprintf(u->name, sizeof(u->name), "%s", db_column_text(s, 1));
	u->admin = db_column_int(s, 2) != 0;
	u->operator_ = db_column_int(s, 3) != 0;
	u->expires = db_column_null(s, 4) ? 0 : db_column_double(s, 4);
	u->removed = !db_column_null(s, 5);
	u->signed_up = strcmp(db_column_text(s, 6), "signup") == 0;
}

enum parley_err sstore_user_set_origin(struct store *st, int64_t id, const char *origin,
				       struct parley_error *err)
{
	return exec(st, NULL, err, "UPDATE users SET origin = ?2 WHERE id = ?1", "it", id, origin);
}

enum parley_err sstore_user_by_name(struct store *st, const char *name, struct session_user *out,
				    bool *found, struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = prep(st, &s, err, "SELECT " USER_COLUMNS " FROM users"
				  " WHERE name = ?1 AND removed_at IS NULL", "t", name);
	if (rc)
		return rc;
	return one_row(s, user_read, out, found, err);
}

enum parley_err sstore_user_set_token(struct store *st, const char *name, const char *token_hash,
				      bool *found, struct parley_error *err)
{
	int64_t changes = 0;
	enum parley_err rc = exec(st, &changes, err, "UPDATE users SET token_hash = ?2"
				  " WHERE name = ?1 AND removed_at IS NULL", "tt", name, token_hash);
	*found = rc == PARLEY_OK && changes > 0;
	return rc;
}

enum parley_err sstore_user_set_expiry(struct store *st, const char *name, double at, bool *found,
				       struct parley_error *err)
{
	int64_t changes = 0;
	enum parley_err rc = at > 0
		? exec(st, &changes, err, "UPDATE users SET token_expires = ?2"
		       " WHERE name = ?1 AND removed_at IS NULL", "td", name, at)
		: exec(st, &changes, err, "UPDATE users SET token_expires = NULL"
		       " WHERE name = ?1 AND removed_at IS NULL", "t", name);
	*found = rc == PARLEY_OK && changes > 0;
	return rc;
}

enum parley_err sstore_user_remove(struct store *st, int64_t id, double at,
				   struct parley_error *err)
{
	/* the token hash gives way to a value no SHA-256 hex can equal */
	enum parley_err rc = exec(st, NULL, err, "UPDATE users SET removed_at = ?2,"
				  " token_hash = 'removed:' || CAST(id AS TEXT) WHERE id = ?1", "id", id, at);
	if (!rc)
		rc = exec(st, NULL, err, "DELETE FROM claims WHERE user_id = ?1", "i", id);
	if (!rc)
		rc = exec(st, NULL, err, "DELETE FROM session_members WHERE user_id = ?1", "i", id);
	return rc;
}

enum parley_err sstore_user_set_operator(struct store *st, const char *name, bool on, bool *found,
				       struct parley_error *err)
{
	int64_t changes = 0;
	enum parley_err rc = exec(st, &changes, err, "UPDATE users SET operator = ?2 WHERE name = ?1",
				  "tn", name, (int)on);
	*found = rc == PARLEY_OK && changes > 0;
	return rc;
}

enum parley_err sstore_user_by_token(struct store *st, const char *token_hash,
				     struct session_user *out, bool *found, struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = prep(st, &s, err, "SELECT " USER_COLUMNS " FROM users"
				  " WHERE token_hash = ?1 AND removed_at IS NULL", "t", token_hash);
	if (rc)
		return rc;
	return one_row(s, user_read, out, found, err);
}

enum parley_err sstore_user_each(struct store *st, void (*fn)(const struct session_user *, void *),
				 void *ud, struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = prep(st, &s, err, "SELECT " USER_COLUMNS " FROM users ORDER BY name", "");
	if (rc)
		return rc;
	bool row;
	while ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
		struct session_user u;
		user_read(s, &u);
		fn(&u, ud);
	}
	db_finalize(s);
	return rc;
}

enum parley_err sstore_session_add(struct store *st, const struct session_row *r, bool *added,
				   struct parley_error *err)
{
	int64_t changes = 0;
	enum parley_err rc = exec(st, &changes, err,
		"INSERT INTO sessions(id, owner_id, title, join_code, created_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(id) DO NOTHING", "tittd", r->id,
		r->owner_id, r->title, r->join_code, r->created_at);
	*added = rc == PARLEY_OK && changes == 1;
	return rc;
}

static void session_read(struct db_stmt *s, void *ud)
{
	struct session_row *r = ud;
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", db_column_text(s, 0));
	r->owner_id = db_column_int(s, 1);
	snprintf(r->owner, sizeof(r->owner), "%s", db_column_text(s, 2));
	snprintf(r->title, sizeof(r->title), "%s", db_column_text(s, 3));
	snprintf(r->join_code, sizeof(r->join_code), "%s", db_column_text(s, 4));
	r->batch_id = db_column_null(s, 5) ? 0 : db_column_int(s, 5);
	r->recording_id = db_column_null(s, 6) ? 0 : db_column_int(s, 6);
	r->created_at = db_column_double(s, 7);
	r->ended = !db_column_null(s, 8);
	r->ended_at = r->ended ? db_column_double(s, 8) : 0;
}

enum parley_err sstore_session_get(struct store *st, const char *id, bool lock,
				   struct session_row *out, bool *found, struct parley_error *err)
{
	/* FOR UPDATE OF s: lock the session row only, not its owner's user row */
	char sql[400];
	snprintf(sql, sizeof(sql),
		 "SELECT s.id, s.owner_id, u.name, s.title, s.join_code, s.batch_id,"
		 " s.recording_id, s.created_at, s.ended_at FROM sessions s"
		 " JOIN users u ON u.id = s.owner_id WHERE s.id = ?1%s",
		 lock && store_is_postgres(st) ? " FOR UPDATE OF s" : "");
	struct db_stmt *s;
	enum parley_err rc = prep(st, &s, err, sql, "t", id);
	if (rc)
		return rc;
	return one_row(s, session_read, out, found, err);
}

enum parley_err sstore_is_member(struct store *st, const char *id, int64_t user_id, bool *member,
				 struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = prep(st, &s, err, "SELECT 1 FROM session_members"
				  " WHERE session_id = ?1 AND user_id = ?2", "ti", id, user_id);
	if (rc)
		return rc;
	return one_row(s, NULL, NULL, member, err);
}

enum parley_err sstore_member_add(struct store *st, const char *id, int64_t user_id,
				  struct parley_error *err)
{
	return exec(st, NULL, err, "INSERT INTO session_members(session_id, user_id, joined_at)"
		    " VALUES (?1, ?2, ?3) ON CONFLICT(session_id, user_id) DO NOTHING", "tid", id,
		    user_id, time_wall());
}

enum parley_err sstore_session_ids(struct store *st, const struct session_user *u,
				   const char *after, size_t max, char (*ids)[SESSION_ID_LEN + 1],
				   size_t *n, struct parley_error *err)
{
	*n = 0;
	struct db_stmt *s;
	enum parley_err rc = prep(st, &s, err,
		"SELECT id FROM sessions s WHERE (?2 <> 0 OR s.owner_id = ?1 OR EXISTS"
		" (SELECT 1 FROM session_members m WHERE m.session_id = s.id AND m.user_id = ?1))"
		" AND (?4 = '' OR s.created_at < (SELECT a.created_at FROM sessions a WHERE a.id = ?4)"
		" OR (s.created_at = (SELECT a.created_at FROM sessions a WHERE a.id = ?4)"
		" AND s.id > ?4))"
		" ORDER BY s.created_at DESC, s.id LIMIT ?3", "init", u->id, (int)u->admin, (int64_t)max,
		after);
	if (rc)
		return rc;
	bool row;
	while ((rc = db_step(s, &row, err)) == PARLEY_OK && row && *n < max)
		snprintf(ids[(*n)++], SESSION_ID_LEN + 1, "%s", db_column_text(s, 0));
	db_finalize(s);
	return rc;
}

enum parley_err sstore_session_mark_ended(struct store *st, const char *id, int64_t batch_id,
					  int64_t rec_id, double ended_at, const char *gaps_json,
					  struct parley_error *err)
{
	return exec(st, NULL, err, "UPDATE sessions SET batch_id = ?2,"
		    " recording_id = ?3, ended_at = ?4, gaps = ?5 WHERE id = ?1", "tiidt", id,
		    batch_id, rec_id, ended_at, gaps_json);
}

struct chunk_out {
	char *sha;
	size_t *bytes;
	double *duration;
};

static void chunk_read(struct db_stmt *s, void *ud)
{
	struct chunk_out *o = ud;
	snprintf(o->sha, 65, "%s", db_column_text(s, 0));
	*o->bytes = (size_t)db_column_int(s, 1);
	*o->duration = db_column_double(s, 2);
}

enum parley_err sstore_chunk_get(struct store *st, const char *id, int seq, char sha[65],
				 size_t *bytes, double *duration, bool *found,
				 struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = prep(st, &s, err, "SELECT sha256, bytes, duration FROM chunks"
				  " WHERE session_id = ?1 AND seq = ?2", "tn", id, seq);
	if (rc)
		return rc;
	struct chunk_out o = {sha, bytes, duration};
	return one_row(s, chunk_read, &o, found, err);
}

enum parley_err sstore_chunk_add(struct store *st, const char *id, const struct session_chunk *c,
				 bool *added, struct parley_error *err)
{
	int64_t changes = 0;
	enum parley_err rc = exec(st, &changes, err,
		"INSERT INTO chunks(session_id, seq, bytes, sha256, duration, created_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(session_id, seq) DO NOTHING", "tnitdd", id,
		c->seq, (int64_t)c->bytes, c->sha256, c->duration, time_wall());
	*added = rc == PARLEY_OK && changes == 1;
	return rc;
}

enum parley_err sstore_chunk_totals(struct store *st, const char *id, int *count, int64_t *bytes,
				    double *seconds, struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = prep(st, &s, err, "SELECT count(*), coalesce(sum(bytes), 0),"
				  " coalesce(sum(duration), 0) FROM chunks WHERE session_id = ?1", "t", id);
	if (rc)
		return rc;
	bool row;
	*count = 0;
	*bytes = 0;
	*seconds = 0;
	if ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
		*count = (int)db_column_int(s, 0);
		*bytes = db_column_int(s, 1);
		*seconds = db_column_double(s, 2);
	}
	db_finalize(s);
	return rc;
}

enum parley_err sstore_user_usage(struct store *st, int64_t user_id, int *sessions, int64_t *bytes,
				  double *seconds, struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = prep(st, &s, err,
		"SELECT (SELECT count(*) FROM sessions WHERE owner_id = ?1),"
		" coalesce(sum(c.bytes), 0), coalesce(sum(c.duration), 0)"
		" FROM chunks c JOIN sessions s ON s.id = c.session_id WHERE s.owner_id = ?1",
		"i", user_id);
	if (rc)
		return rc;
	bool row;
	*sessions = 0;
	*bytes = 0;
	*seconds = 0;
	if ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
		*sessions = (int)db_column_int(s, 0);
		*bytes = db_column_int(s, 1);
		*seconds = db_column_double(s, 2);
	}
	db_finalize(s);
	return rc;
}

static void seq_read(struct db_stmt *s, void *elem)
{
	*(int *)elem = (int)db_column_int(s, 0);
}

enum parley_err sstore_chunk_seqs(struct store *st, const char *id, int **seqs, size_t *n,
				  struct parley_error *err)
{
	*seqs = NULL;
	*n = 0;
	struct db_stmt *s;
	enum parley_err rc = prep(st, &s, err, "SELECT seq FROM chunks WHERE session_id = ?1"
				  " ORDER BY seq", "t", id);
	return rc ? rc : store_sql_rows(s, sizeof(**seqs), seq_read, (void **)seqs, n, "chunks", err);
}

static void claim_read(struct db_stmt *s, void *elem)
{
	struct session_claim *c = elem;
	c->speaker = (int)db_column_int(s, 0);
	c->user_id = db_column_int(s, 1);
	snprintf(c->user, sizeof(c->user), "%s", db_column_text(s, 2));
}

enum parley_err sstore_claims_get(struct store *st, const char *id, struct session_claim **out,
				  size_t *n, struct parley_error *err)
{
	*out = NULL;
	*n = 0;
	struct db_stmt *s;
	enum parley_err rc = prep(st, &s, err, "SELECT c.speaker, c.user_id, u.name FROM claims c"
				  " JOIN users u ON u.id = c.user_id WHERE c.session_id = ?1"
				  " ORDER BY c.speaker", "t", id);
	return rc ? rc : store_sql_rows(s, sizeof(**out), claim_read, (void **)out, n, "claims", err);
}

enum parley_err sstore_claim_add(struct store *st, const char *id, int speaker, int64_t user_id,
				 bool *added, struct parley_error *err)
{
	int64_t changes = 0;
	/* no conflict target: either unique constraint (speaker or user) skips */
	enum parley_err rc = exec(st, &changes, err,
		"INSERT INTO claims(session_id, speaker, user_id, created_at) VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT DO NOTHING", "tnid", id, speaker, user_id, time_wall());
	*added = rc == PARLEY_OK && changes == 1;
	return rc;
}

enum parley_err sstore_claim_delete(struct store *st, const char *id, int speaker,
				    struct parley_error *err)
{
	return exec(st, NULL, err, "DELETE FROM claims WHERE session_id = ?1 AND speaker = ?2", "tn",
		    id, speaker);
}

enum parley_err sstore_leaderboard(struct store *st, const char *word, double since, int max,
				   struct sstore_rank *out, size_t *n, struct parley_error *err)
{
	*n = 0;
	/* Claims count 1-based speakers; word_counts holds the pipeline's 0-based ones. */
	struct db_stmt *s;
	enum parley_err rc = prep(st, &s, err,
		"SELECT u.name, coalesce(sum(w.count), 0) AS total, count(DISTINCT c.session_id)"
		" FROM claims c JOIN sessions s ON s.id = c.session_id"
		" JOIN users u ON u.id = c.user_id"
		" LEFT JOIN word_counts w ON w.recording_id = s.recording_id"
		"  AND w.speaker = c.speaker - 1 AND (CAST(?2 AS TEXT) IS NULL OR w.word = ?2)"
		" WHERE s.ended_at IS NOT NULL AND s.ended_at >= ?1"
		" GROUP BY u.id, u.name ORDER BY total DESC, u.name LIMIT ?3", "dtn", since, word, max);
	if (rc)
		return rc;
	bool row;
	while ((rc = db_step(s, &row, err)) == PARLEY_OK && row && *n < (size_t)max) {
		struct sstore_rank *r = &out[(*n)++];
		snprintf(r->user, sizeof(r->user), "%s", db_column_text(s, 0));
		r->count = db_column_int(s, 1);
		r->sessions = (int)db_column_int(s, 2);
	}
	db_finalize(s);
	return rc;
}
