/*
 * session.c — see session.h: the rules (visibility, conflicts, status) and
 * the views of docs/api.md. Rows are read and written by session_store.c.
 *
 * Data directory layout (data_dir = ctx->data_dir):
 *   sessions/<id>/chunks/<seq, 5 digits>   uploaded chunk bytes, as received
 *   sessions/<id>/audio.chunks             manifest written at end (decode stage)
 *   recordings/<rec>/samples/speaker-<n>.wav  voice samples (samples stage)
 * Speakers are numbered from 1 here and in claims; the pipeline's tables
 * (speakers, word_counts) number them from 0.
 */
#include "session/session.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/decode.h"
#include "audio/manifest.h"
#include "core/batch_config.h"
#include "core/pipeline.h"
#include "stages/env.h"
#include "session/session_store.h"
#include "text/lexicon.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/random.h"
#include "util/sha256.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

static const char id_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";  /* 32 */
static const char code_alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"; /* 32 */

#define LEADERBOARD_MAX 1000

/* ---------------------------------------------------------------- ids */

static bool chars_in(const char *s, size_t len, const char *alphabet)
{
	if (!s || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!strchr(alphabet, s[i]) || s[i] == '\0')
			return false;
	return true;
}

bool session_id_valid(const char *id)
{
	return chars_in(id, SESSION_ID_LEN, id_alphabet);
}

bool session_join_code_valid(const char *code)
{
	size_t n = code ? strlen(code) : 0;
	return n >= SESSION_JOIN_CODE_MIN && n <= SESSION_JOIN_CODE_LEN &&
	       chars_in(code, n, code_alphabet);
}

bool session_user_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n < 1 || n >= SESSION_USER_NAME_MAX)
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* len random characters of a 32-letter alphabet (a byte mod 32: unbiased). */
static enum parley_err random_string(const char *alphabet, char *out, size_t len,
				     struct parley_error *err)
{
	unsigned char b[64];
	enum parley_err rc = random_bytes(b, len, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < len; i++)
		out[i] = alphabet[b[i] % 32];
	out[len] = '\0';
	return PARLEY_OK;
}

/* ---------------------------------------------------------------- users */

static bool token_valid(const char *t)
{
	if (!t || strlen(t) != SESSION_TOKEN_LEN || strncmp(t, "pt_", 3) != 0)
		return false;
	return strspn(t + 3, "0123456789abcdef") == SESSION_TOKEN_LEN - 3;
}

/* A new random token in t and its SHA-256 (the only thing stored) in hash. */
static enum parley_err token_new(char t[SESSION_TOKEN_LEN + 1], char hash[SHA256_HEX_SIZE],
				 struct parley_error *err)
{
	unsigned char raw[20];
	enum parley_err rc = random_bytes(raw, sizeof(raw), err);
	if (rc)
		return rc;
	memcpy(t, "pt_", 3);
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(t + 3 + 2 * i, 3, "%02x", raw[i]);
	sha256_hex(t, SESSION_TOKEN_LEN, hash);
	return PARLEY_OK;
}

enum parley_err session_user_add(struct store *st, const char *name, bool admin, char *token,
				 size_t size, struct parley_error *err)
{
	if (!session_user_name_valid(name))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"user name '%s' is not 1 to %d characters of A-Z a-z 0-9 . _ -",
					name ? name : "", SESSION_USER_NAME_MAX - 1);
	if (!token || size < SESSION_TOKEN_LEN + 1)
		return parley_error_set(err, PARLEY_ERR_INTERNAL, "token buffer too small");
	char t[SESSION_TOKEN_LEN + 1], hash[SHA256_HEX_SIZE];
	enum parley_err rc = token_new(t, hash, err);
	if (rc)
		return rc;
	bool added = false;
	if ((rc = sstore_user_add(st, name, hash, admin, &added, err)))
		return rc;
	if (!added)
		return parley_error_set(err, PARLEY_ERR_CONFLICT, "user name '%s' is taken", name);
	snprintf(token, size, "%s", t);
	return PARLEY_OK;
}

enum parley_err session_user_auth(struct store *st, const char *token, struct session_user *out,
				  struct parley_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!token_valid(token))
		return parley_error_set(err, PARLEY_ERR_UNAUTHORIZED, "unknown token");
	char hash[SHA256_HEX_SIZE];
	sha256_hex(token, SESSION_TOKEN_LEN, hash);
	bool found = false;
	enum parley_err rc = sstore_user_by_token(st, hash, out, &found, err);
	if (rc)
		return rc;
	if (!found)
		return parley_error_set(err, PARLEY_ERR_UNAUTHORIZED, "unknown token");
	if (out->expires > 0 && time_wall() >= out->expires) {
		memset(out, 0, sizeof(*out));
		return parley_error_set(err, PARLEY_ERR_UNAUTHORIZED, "the token has expired");
	}
	return PARLEY_OK;
}

static enum parley_err no_user(const char *name, struct parley_error *err)
{
	return parley_error_set(err, PARLEY_ERR_NOT_FOUND, "no user '%.64s'", name ? name : "");
}

enum parley_err session_user_rotate(struct store *st, const char *name, char *token, size_t size,
				    struct parley_error *err)
{
	if (!token || size < SESSION_TOKEN_LEN + 1)
		return parley_error_set(err, PARLEY_ERR_INTERNAL, "token buffer too small");
	char t[SESSION_TOKEN_LEN + 1], hash[SHA256_HEX_SIZE];
	bool found = false;
	enum parley_err rc = token_new(t, hash, err);
	if (rc || (rc = sstore_user_set_token(st, name, hash, &found, err)))
		return rc;
	if (!found)
		return no_user(name, err);
	snprintf(token, size, "%s", t);
	return PARLEY_OK;
}

enum parley_err session_user_expire(struct store *st, const char *name, double at,
				    struct parley_error *err)
{
	bool found = false;
	enum parley_err rc = sstore_user_set_expiry(st, name, at, &found, err);
	if (!rc && !found)
		rc = no_user(name, err);
	return rc;
}

enum parley_err session_user_remove(struct store *st, const char *name, struct parley_error *err)
{
	struct session_user u;
	bool found = false;
	enum parley_err rc = store_begin(st, err);
	if (rc)
		return rc;
	if ((rc = sstore_user_by_name(st, name, &u, &found, err)))
		goto fail;
	if (!found) {
		rc = no_user(name, err);
		goto fail;
	}
	if ((rc = sstore_user_remove(st, u.id, time_wall(), err)))
		goto fail;
	return store_commit(st, err);
fail:
	store_rollback(st);
	return rc;
}

bool session_parse_duration(const char *s, double *seconds)
{
	static const struct {
		char unit;
		double seconds;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
	if (!s || s[0] < '0' || s[0] > '9')
		return false;
	size_t digits = strspn(s, "0123456789");
	if (digits > 9)
		return false;
	double n = 0;
	for (size_t i = 0; i < digits; i++)
		n = n * 10 + (s[i] - '0');
	double mult = 0;
	if (s[digits] == '\0')
		mult = 1;
	else if (s[digits + 1] == '\0')
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (units[i].unit == s[digits])
				mult = units[i].seconds;
	double v = n * mult;
	if (!(v > 0) || v > 100 * 366 * 86400.0)
		return false;
	*seconds = v;
	return true;
}

static const char *const signup_names[] = {
	[SESSION_SIGNUP_OFF] = "off", [SESSION_SIGNUP_LINK] = "link", [SESSION_SIGNUP_OPEN] = "open"};

bool session_signup_parse(const char *s, enum session_signup *out)
{
	for (size_t i = 0; s && i < sizeof(signup_names) / sizeof(signup_names[0]); i++)
		if (strcmp(s, signup_names[i]) == 0) {
			*out = (enum session_signup)i;
			return true;
		}
	return false;
}

const char *session_signup_name(enum session_signup mode)
{
	return (unsigned)mode < sizeof(signup_names) / sizeof(signup_names[0]) ? signup_names[mode]
										: "?";
}

/* ---------------------------------------------------------------- access */

enum session_role { ROLE_NONE, ROLE_OWNER, ROLE_PARTICIPANT, ROLE_ADMIN };
static const char *const role_names[] = {"none", "owner", "participant", "admin"};

/* The session row and u's role in it; NOT_FOUND (the same sentence as for a
 * missing session) when u may not see it. lock: see sstore_session_get. */
static enum parley_err session_access(const struct session_ctx *c, const struct session_user *u,
				      const char *id, bool lock, struct session_row *row,
				      enum session_role *role, struct parley_error *err)
{
	if (!session_id_valid(id))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"session id '%.40s' is not %d characters of a-z 2-7", id ? id : "",
					SESSION_ID_LEN);
	bool found = false, member = false;
	enum parley_err rc = sstore_session_get(c->store, id, lock, row, &found, err);
	if (rc)
		return rc;
	*role = ROLE_NONE;
	if (found && row->owner_id == u->id)
		*role = ROLE_OWNER;
	else if (found && (rc = sstore_is_member(c->store, id, u->id, &member, err)))
		return rc;
	if (*role == ROLE_NONE && member)
		*role = ROLE_PARTICIPANT;
	if (found && *role == ROLE_NONE && u->admin)
		*role = ROLE_ADMIN;
	if (*role == ROLE_NONE)
		return parley_error_set(err, PARLEY_ERR_NOT_FOUND, "no session %s", id);
	return PARLEY_OK;
}

/* Claiming (and joining) closed: the session ended more than claim_window ago. */
static bool claiming_closed(const struct session_ctx *c, const struct session_row *row)
{
	return row->ended && c->claim_window > 0 && time_wall() > row->ended_at + c->claim_window;
}

static enum parley_err closed_error(const char *id, const char *what, struct parley_error *err)
{
	return parley_error_set(err, PARLEY_ERR_CONFLICT,
				"session %s %s: claiming closed a while after it ended", id, what);
}

/* The join code compared in time independent of where it differs. */
static bool code_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;
	for (size_t i = 0; i < la && i < lb; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/* ---------------------------------------------------------------- status */

struct derived {
	const char *status; /* recording, processing, ready_for_claiming, failed */
	struct store_recording rec;
	bool has_rec;
};

static enum parley_err session_derive(const struct session_ctx *c, const struct session_row *row,
				      struct derived *d, struct parley_error *err)
{
	memset(d, 0, sizeof(*d));
	d->status = "recording";
	if (!row->ended)
		return PARLEY_OK;
	d->status = "processing";
	if (!row->recording_id)
		return PARLEY_OK;
	enum parley_err rc = store_recording_get(c->store, row->recording_id, &d->rec, err);
	if (rc)
		return rc;
	d->has_rec = true;
	if (d->rec.status == STORE_DONE)
		d->status = "ready_for_claiming";
	else if (d->rec.status == STORE_FAILED)
		d->status = "failed";
	return PARLEY_OK;
}

static bool ready(const struct derived *d)
{
	return strcmp(d->status, "ready_for_claiming") == 0;
}

/* ---------------------------------------------------------------- views */

struct stage_list {
	char names[32][STORE_STAGE_NAME_MAX];
	enum store_status status[32];
	size_t n;
};

static void stage_seen(const char *stage, enum store_status status, void *ud)
{
	struct stage_list *l = ud;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->names[i], stage) == 0)
			l->status[i] = status;
}

static enum parley_err stages_json(const struct session_ctx *c, const struct session_row *row,
				   json_t *arr, struct parley_error *err)
{
	if (!row->ended || !row->batch_id)
		return PARLEY_OK;
	char pipeline[STORE_PIPELINE_MAX];
	enum parley_err rc = store_batch_get_pipeline(c->store, row->batch_id, pipeline,
						      sizeof(pipeline), err);
	if (rc)
		return rc;
	struct stage_list l = {.n = 0};
	for (const char *p = pipeline; *p && l.n < 32;) {
		size_t len = strcspn(p, ",");
		snprintf(l.names[l.n], sizeof(l.names[0]), "%.*s", (int)len, p);
		l.status[l.n++] = STORE_PENDING;
		p += len + (p[len] == ',');
	}
	if (row->recording_id &&
	    (rc = store_stage_each(c->store, row->recording_id, stage_seen, &l, err)))
		return rc;
	for (size_t i = 0; i < l.n; i++)
		json_array_append_new(arr, json_pack("{s:s,s:s}", "stage", l.names[i], "status",
						     store_status_name(l.status[i])));
	return PARLEY_OK;
}

static enum parley_err session_view(const struct session_ctx *c, const struct session_row *row,
				    enum session_role role, json_t **out, struct parley_error *err)
{
	*out = NULL;
	struct derived d;
	int count = 0;
	int64_t bytes = 0;
	double seconds = 0;
	int *seqs = NULL;
	size_t nseqs = 0;
	enum parley_err rc;
	if ((rc = session_derive(c, row, &d, err)) ||
	    (rc = sstore_chunk_totals(c->store, row->id, &count, &bytes, &seconds, err)) ||
	    (rc = sstore_chunk_seqs(c->store, row->id, &seqs, &nseqs, err)))
		return rc;
	json_t *gaps = json_array(), *stages = json_array();
	json_t *v = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:f,s:o,s:i,s:I,s:f}", "id", row->id,
			      "title", row->title, "owner", row->owner, "role", role_names[role],
			      "join_code", row->join_code, "status", d.status, "created_at",
			      row->created_at, "ended_at",
			      row->ended ? json_real(row->ended_at) : json_null(), "chunks", count,
			      "bytes", (json_int_t)bytes, "audio_seconds", seconds);
	if (!v || !gaps || !stages) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory building session %s", row->id);
		goto fail;
	}
	/* gaps: the seqs missing between 0 and the highest received, as
	 * [first, last] ranges (at most one per received chunk) */
	json_int_t missing = 0;
	for (size_t i = 0, want = 0; i < nseqs; want = (size_t)seqs[i++] + 1) {
		if ((int)want >= seqs[i])
			continue;
		json_array_append_new(gaps, json_pack("[I,I]", (json_int_t)want,
						      (json_int_t)seqs[i] - 1));
		missing += seqs[i] - (json_int_t)want;
	}
	if ((rc = stages_json(c, row, stages, err)))
		goto fail;
	json_object_set_new(v, "gaps", gaps);
	json_object_set_new(v, "missing", json_integer(missing));
	json_object_set_new(v, "stages", stages);
	json_object_set_new(v, "claim_until", row->ended && c->claim_window > 0
						      ? json_real(row->ended_at + c->claim_window)
						      : json_null());
	/* the recording's id once ended: GET /v1/recordings/{rid} (the dashboard) */
	json_object_set_new(v, "recording", row->recording_id
						    ? json_integer((json_int_t)row->recording_id)
						    : json_null());
	gaps = stages = NULL;
	json_object_set_new(v, "error", strcmp(d.status, "failed") == 0 ? json_string(d.rec.error)
									 : json_null());
	free(seqs);
	*out = v;
	return PARLEY_OK;
fail:
	json_decref(v);
	json_decref(gaps);
	json_decref(stages);
	free(seqs);
	return rc;
}

/* ---------------------------------------------------------------- sessions */

static bool utf8_valid(const char *s)
{
	json_t *j = json_string(s);
	bool ok = j != NULL;
	json_decref(j);
	return ok;
}

enum parley_err session_create(const struct session_ctx *c, const struct session_user *u,
			       const char *title, json_t **out, struct parley_error *err)
{
	*out = NULL;
	if (!title)
		title = "";
	if (strlen(title) > SESSION_TITLE_MAX)
		return parley_error_set(err, PARLEY_ERR_INVALID, "title is longer than %d bytes",
					SESSION_TITLE_MAX);
	if (!utf8_valid(title))
		return parley_error_set(err, PARLEY_ERR_INVALID, "title is not valid UTF-8");
	struct session_row row = {.owner_id = u->id, .created_at = time_wall()};
	snprintf(row.title, sizeof(row.title), "%s", title);
	snprintf(row.owner, sizeof(row.owner), "%s", u->name);
	enum parley_err rc;
	if (c->quota.sessions > 0) {
		int owned = 0;
		int64_t ubytes = 0;
		double useconds = 0;
		if ((rc = sstore_user_usage(c->store, u->id, &owned, &ubytes, &useconds, err)))
			return rc;
		if (owned >= c->quota.sessions)
			return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
						"%s owns %d sessions, the quota", u->name, owned);
	}
	bool added = false;
	/* 100 random bits: a clash is not expected, but costs only another draw */
	for (int tries = 0; tries < 5 && !added; tries++) {
		if ((rc = random_string(id_alphabet, row.id, SESSION_ID_LEN, err)) ||
		    (rc = random_string(code_alphabet, row.join_code, SESSION_JOIN_CODE_LEN, err)) ||
		    (rc = sstore_session_add(c->store, &row, &added, err)))
			return rc;
	}
	if (!added)
		return parley_error_set(err, PARLEY_ERR_INTERNAL, "no free session id after 5 draws");
	bool found = false;
	if ((rc = sstore_session_get(c->store, row.id, false, &row, &found, err)))
		return rc;
	return session_view(c, &row, ROLE_OWNER, out, err);
}

enum parley_err session_list(const struct session_ctx *c, const struct session_user *u,
			     const char *cursor, int limit, json_t **out, struct parley_error *err)
{
	*out = NULL;
	if (limit < 1 || limit > SESSION_PAGE_MAX)
		return parley_error_set(err, PARLEY_ERR_INVALID, "limit %d is not 1 to %d", limit,
					SESSION_PAGE_MAX);
	if (cursor && *cursor && !session_id_valid(cursor))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"cursor '%.40s' is not a session id (the \"next\" of a page)",
					cursor);
	/* one more than asked: is there a next page? */
	char(*ids)[SESSION_ID_LEN + 1] = calloc((size_t)limit + 1, sizeof(*ids));
	json_t *arr = json_array();
	size_t n = 0;
	enum parley_err rc = PARLEY_OK;
	if (!ids || !arr) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory listing sessions");
		goto out;
	}
	if ((rc = sstore_session_ids(c->store, u, cursor && *cursor ? cursor : "",
				     (size_t)limit + 1, ids, &n, err)))
		goto out;
	bool more = n > (size_t)limit;
	if (more)
		n = (size_t)limit;
	for (size_t i = 0; i < n; i++) {
		struct session_row row;
		enum session_role role;
		json_t *v = NULL;
		rc = session_access(c, u, ids[i], false, &row, &role, err);
		if (rc == PARLEY_ERR_NOT_FOUND) /* gone since the list was read */
			continue;
		if (rc || (rc = session_view(c, &row, role, &v, err)))
			goto out;
		json_array_append_new(arr, v);
	}
	*out = json_pack("{s:o,s:o}", "sessions", arr, "next",
			 more ? json_string(ids[n - 1]) : json_null());
	arr = NULL;
	if (!*out)
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory listing sessions");
out:
	json_decref(arr);
	free(ids);
	return rc;
}

enum parley_err session_get(const struct session_ctx *c, const struct session_user *u,
			    const char *id, json_t **out, struct parley_error *err)
{
	*out = NULL;
	struct session_row row;
	enum session_role role;
	enum parley_err rc = session_access(c, u, id, false, &row, &role, err);
	if (rc)
		return rc;
	return session_view(c, &row, role, out, err);
}

enum parley_err session_visible(const struct session_ctx *c, const struct session_user *u,
				const char *id, struct parley_error *err)
{
	struct session_row row;
	enum session_role role;
	return session_access(c, u, id, false, &row, &role, err);
}

enum parley_err session_join(const struct session_ctx *c, const struct session_user *u,
			     const char *id, const char *code, json_t **out,
			     struct parley_error *err)
{
	*out = NULL;
	if (!session_id_valid(id))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"session id '%.40s' is not %d characters of a-z 2-7", id ? id : "",
					SESSION_ID_LEN);
	if (!session_join_code_valid(code))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"join code '%.20s' is not %d characters of A-H J-N P-Z 2-9",
					code ? code : "", SESSION_JOIN_CODE_LEN);
	struct session_row row;
	bool found = false;
	enum parley_err rc = sstore_session_get(c->store, id, false, &row, &found, err);
	if (rc)
		return rc;
	/* a wrong code reads exactly like a missing session */
	if (!found || !code_equal(row.join_code, code))
		return parley_error_set(err, PARLEY_ERR_NOT_FOUND, "no session %s", id);
	bool member = row.owner_id == u->id;
	if (!member && (rc = sstore_is_member(c->store, id, u->id, &member, err)))
		return rc;
	if (!member && claiming_closed(c, &row))
		return closed_error(id, "no longer takes participants", err);
	if (row.owner_id != u->id && (rc = sstore_member_add(c->store, id, u->id, err)))
		return rc;
	enum session_role role;
	if ((rc = session_access(c, u, id, false, &row, &role, err)))
		return rc;
	return session_view(c, &row, role, out, err);
}

enum parley_err session_signup(const struct session_ctx *c, enum session_signup mode,
			       const char *name, const char *id, const char *code,
			       struct session_user *user, char *token, size_t size, json_t **view,
			       struct parley_error *err)
{
	*view = NULL;
	memset(user, 0, sizeof(*user));
	bool link = id && *id;
	if (mode == SESSION_SIGNUP_OFF)
		return parley_error_set(err, PARLEY_ERR_CONFLICT,
					"this server takes no sign-ups: its administrator makes accounts "
					"(parley user add)");
	if (mode == SESSION_SIGNUP_LINK && !link)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"this server takes sign-ups through a session's share link only "
					"(it has the session's id and join code)");
	if (link && !session_id_valid(id))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"session id '%.40s' is not %d characters of a-z 2-7", id,
					SESSION_ID_LEN);
	if (link && !session_join_code_valid(code))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"join code '%.20s' is not %d characters of A-H J-N P-Z 2-9",
					code ? code : "", SESSION_JOIN_CODE_LEN);
	if (!session_user_name_valid(name))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"user name '%.64s' is not 1 to %d characters of A-Z a-z 0-9 . _ -",
					name ? name : "", SESSION_USER_NAME_MAX - 1);
	if (!token || size < SESSION_TOKEN_LEN + 1)
		return parley_error_set(err, PARLEY_ERR_INTERNAL, "token buffer too small");
	char t[SESSION_TOKEN_LEN + 1], hash[SHA256_HEX_SIZE];
	struct session_row row;
	bool found = false, added = false;
	enum parley_err rc = token_new(t, hash, err);
	if (rc || (rc = store_begin(c->store, err)))
		return rc;
	if (link) {
		if ((rc = sstore_session_get(c->store, id, true, &row, &found, err)))
			goto fail;
		if (!found || !code_equal(row.join_code, code)) {
			rc = parley_error_set(err, PARLEY_ERR_NOT_FOUND, "no session %s", id);
			goto fail;
		}
		if (claiming_closed(c, &row)) {
			rc = closed_error(id, "no longer takes participants", err);
			goto fail;
		}
	}
	if ((rc = sstore_user_add(c->store, name, hash, false, &added, err)))
		goto fail;
	if (!added) {
		rc = parley_error_set(err, PARLEY_ERR_CONFLICT, "the name '%s' is taken: choose another",
				      name);
		goto fail;
	}
	if ((rc = sstore_user_by_name(c->store, name, user, &found, err)) ||
	    (rc = sstore_user_set_origin(c->store, user->id, "signup", err)) ||
	    (link && (rc = sstore_member_add(c->store, id, user->id, err))) ||
	    (rc = store_commit(c->store, err)))
		goto fail;
	user->signed_up = true;
	snprintf(token, size, "%s", t);
	if (!link)
		return PARLEY_OK;
	enum session_role role;
	if ((rc = session_access(c, user, id, false, &row, &role, err)))
		return rc;
	return session_view(c, &row, role, view, err);
fail:
	store_rollback(c->store);
	memset(user, 0, sizeof(*user));
	return rc;
}

/* ---------------------------------------------------------------- chunks */

static enum parley_err session_path(const struct session_ctx *c, const char *id, const char *file,
				    char *out, size_t size, struct parley_error *err)
{
	int n = snprintf(out, size, "%s/sessions/%s%s%s", c->data_dir, id, file ? "/" : "",
			 file ? file : "");
	if (n < 0 || (size_t)n >= size)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "data directory path too long: %s",
					c->data_dir);
	return PARLEY_OK;
}

static void chunk_file(int seq, char *out, size_t size)
{
	snprintf(out, size, "chunks/%05d", seq);
}

static bool may_upload(enum session_role role)
{
	return role == ROLE_OWNER || role == ROLE_PARTICIPANT;
}

/* The answer to an upload of a seq already stored with checksum sha: the
 * same bytes are a no-op, others a conflict. */
static enum parley_err chunk_repeat(const char *id, int seq, const char *sha, double duration,
				    struct session_chunk *out, struct parley_error *err)
{
	if (strcmp(sha, out->sha256) != 0)
		return parley_error_set(err, PARLEY_ERR_CONFLICT,
					"chunk %d of session %s was already uploaded with different content",
					seq, id);
	out->created = false;
	out->duration = duration;
	return PARLEY_OK;
}

static double chunk_seconds_max(const struct session_ctx *c)
{
	return c->max_chunk_seconds > 0 ? c->max_chunk_seconds : SESSION_CHUNK_SECONDS_DEFAULT;
}

static double session_seconds_max(const struct session_ctx *c)
{
	return c->max_session_seconds > 0 ? c->max_session_seconds : SESSION_SECONDS_DEFAULT;
}

/* Room for `bytes` more bytes and `seconds` more audio in session id (row)
 * and in its owner's quota? */
static enum parley_err upload_room(const struct session_ctx *c, const struct session_row *row,
				   size_t bytes, double seconds, struct parley_error *err)
{
	int count = 0, owned = 0;
	int64_t sbytes = 0, ubytes = 0;
	double sseconds = 0, useconds = 0;
	enum parley_err rc = sstore_chunk_totals(c->store, row->id, &count, &sbytes, &sseconds, err);
	if (rc)
		return rc;
	if (sseconds + seconds > session_seconds_max(c))
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"session %s would hold %.0f s of audio, over the %.0f s a session "
					"may be processed with", row->id, sseconds + seconds,
					session_seconds_max(c));
	const struct session_quota *q = &c->quota;
	if (!q->bytes && !q->seconds)
		return PARLEY_OK;
	if ((rc = sstore_user_usage(c->store, row->owner_id, &owned, &ubytes, &useconds, err)))
		return rc;
	if (q->bytes && ubytes + (int64_t)bytes > q->bytes)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"the sessions of %s hold %lld bytes: this chunk is over their "
					"quota of %lld bytes", row->owner, (long long)ubytes,
					(long long)q->bytes);
	if (q->seconds && useconds + seconds > q->seconds)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"the sessions of %s hold %.0f s of audio: this chunk is over their "
					"quota of %.1f hours", row->owner, useconds, q->seconds / 3600.0);
	return PARLEY_OK;
}

/* May u upload chunk seq of session id (*row: its row)? A valid seq, a
 * session u may see, as its owner or a participant, not ended. */
static enum parley_err chunk_may_upload(const struct session_ctx *c, const struct session_user *u,
					const char *id, int seq, struct session_row *row,
					struct parley_error *err)
{
	enum session_role role;
	if (seq < 0 || seq > SESSION_SEQ_MAX)
		return parley_error_set(err, PARLEY_ERR_INVALID, "chunk sequence number %d is not 0..%d",
					seq, SESSION_SEQ_MAX);
	enum parley_err rc = session_access(c, u, id, false, row, &role, err);
	if (rc)
		return rc;
	if (!may_upload(role))
		return parley_error_set(err, PARLEY_ERR_CONFLICT,
					"only the owner and participants of session %s upload chunks", id);
	if (row->ended)
		return parley_error_set(err, PARLEY_ERR_CONFLICT,
					"session %s has ended: chunk %d comes too late", id, seq);
	return PARLEY_OK;
}

enum parley_err session_chunk_check(const struct session_ctx *c, const struct session_user *u,
				    const char *id, int seq, size_t len, struct parley_error *err)
{
	struct session_row row;
	enum parley_err rc = chunk_may_upload(c, u, id, seq, &row, err);
	return rc ? rc : upload_room(c, &row, len, 0, err);
}

enum parley_err session_chunk_put(const struct session_ctx *c, const struct session_user *u,
				  const char *id, int seq, const void *body, size_t len,
				  struct session_chunk *out, struct parley_error *err)
{
	memset(out, 0, sizeof(*out));
	struct session_row row;
	enum parley_err rc = chunk_may_upload(c, u, id, seq, &row, err);
	if (rc)
		return rc;
	out->seq = seq;
	out->bytes = len;
	sha256_hex(body, len, out->sha256);
	/* A retried upload of stored bytes is answered without decoding again
	 * (checked once more under the lock below). */
	char sha[65];
	bool found = false, added = false;
	size_t old_bytes = 0;
	double old_duration = 0;
	if ((rc = sstore_chunk_get(c->store, id, seq, sha, &old_bytes, &old_duration, &found, err)))
		return rc;
	if (found)
		return chunk_repeat(id, seq, sha, old_duration, out, err);
	/* Decode (is it audio? how long?) and write the bytes to a temporary
	 * file, both outside any transaction: the slow parts. */
	char name[80];
	snprintf(name, sizeof(name), "chunk %d of session %s", seq, id);
	struct audio_decode_params p = audio_decode_default_params();
	p.max_seconds = chunk_seconds_max(c);
	p.min_source_rate = SESSION_SOURCE_RATE_MIN;
	if ((rc = audio_decode_measure_memory(body, len, name, &p, &out->duration, err)) ||
	    (rc = upload_room(c, &row, len, out->duration, err)))
		return rc;
	char dir[PARLEY_PATH_MAX], path[PARLEY_PATH_MAX], tmp[PARLEY_PATH_MAX], file[32];
	chunk_file(seq, file, sizeof(file));
	if ((rc = session_path(c, id, "chunks", dir, sizeof(dir), err)) ||
	    (rc = session_path(c, id, file, path, sizeof(path), err)) ||
	    (rc = fs_mkdir_p(dir, err)) ||
	    (rc = fs_write_temp(path, body, len, tmp, sizeof(tmp), err)))
		return rc;

	/* Under the session row's lock: the rename and the row, so two uploads
	 * of one seq (or an upload and the end) never interleave. */
	if ((rc = store_begin(c->store, err)))
		goto fail_tmp;
	if ((rc = sstore_session_get(c->store, id, true, &row, &found, err)) ||
	    (rc = sstore_chunk_get(c->store, id, seq, sha, &old_bytes, &old_duration, &found, err)))
		goto fail;
	if (row.ended) {
		rc = parley_error_set(err, PARLEY_ERR_CONFLICT,
				      "session %s has ended: chunk %d comes too late", id, seq);
		goto fail;
	}
	if (found) {
		store_rollback(c->store);
		unlink(tmp);
		return chunk_repeat(id, seq, sha, old_duration, out, err);
	}
	if ((rc = fs_rename(tmp, path, err)) || (rc = sstore_chunk_add(c->store, id, out, &added, err)))
		goto fail;
	if (!added) {
		rc = parley_error_set(err, PARLEY_ERR_BUSY, "chunk %d of session %s: concurrent upload",
				      seq, id);
		goto fail;
	}
	if ((rc = store_commit(c->store, err)))
		return rc;
	out->created = true;
	return PARLEY_OK;
fail:
	store_rollback(c->store);
fail_tmp:
	unlink(tmp);
	return rc;
}

/* A chunk's temporary file, "NNNNN.tmp.PID.K" (fs_write_temp), whose
 * writer is gone: *pid_out the writer. */
static bool temp_name(const char *name, long *pid_out)
{
	const char *t = strstr(name, ".tmp.");
	if (!t || t == name)
		return false;
	char *end;
	errno = 0;
	long pid = strtol(t + 5, &end, 10);
	if (errno || pid <= 0 || *end != '.' || end[1] < '0' || end[1] > '9')
		return false;
	*pid_out = pid;
	return true;
}

enum parley_err session_temp_sweep(const char *data_dir, int *removed, struct parley_error *err)
{
	*removed = 0;
	char dir[PARLEY_PATH_MAX], chunks[PARLEY_PATH_MAX], file[PARLEY_PATH_MAX];
	int n = snprintf(dir, sizeof(dir), "%s/sessions", data_dir);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "data directory path too long");
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? PARLEY_OK
				       : parley_error_set(err, PARLEY_ERR_IO, "cannot read %s: %s", dir,
							  strerror(errno));
	for (struct dirent *e; (e = readdir(d));) {
		if (!session_id_valid(e->d_name))
			continue;
		n = snprintf(chunks, sizeof(chunks), "%s/%s/chunks", dir, e->d_name);
		DIR *c = n > 0 && (size_t)n < sizeof(chunks) ? opendir(chunks) : NULL;
		if (!c)
			continue;
		for (struct dirent *f; (f = readdir(c));) {
			long pid;
			/* a live writer (another server on this data dir) keeps its file */
			if (!temp_name(f->d_name, &pid) || (pid != (long)getpid() &&
							   (kill((pid_t)pid, 0) == 0 || errno != ESRCH)))
				continue;
			n = snprintf(file, sizeof(file), "%s/%s", chunks, f->d_name);
			if (n > 0 && (size_t)n < sizeof(file) && unlink(file) == 0)
				(*removed)++;
		}
		closedir(c);
	}
	closedir(d);
	return PARLEY_OK;
}

/* ---------------------------------------------------------------- end */

/* Write the manifest of the session's chunks (seqs[0..n)) and its absolute
 * path into abs[size]; *fingerprint = SHA-256 of the manifest text. */
static enum parley_err manifest_write(const struct session_ctx *c, const char *id, const int *seqs,
				      size_t n, char *abs, size_t size, char fingerprint[65],
				      struct parley_error *err)
{
	struct strbuf sb;
	strbuf_init(&sb, (size_t)CHUNK_MANIFEST_MAX_CHUNKS * 16 + 64);
	char path[PARLEY_PATH_MAX];
	enum parley_err rc = strbuf_adds(&sb, CHUNK_MANIFEST_HEADER "\n");
	for (size_t i = 0; i < n && !rc; i++) {
		char file[32];
		chunk_file(seqs[i], file, sizeof(file));
		rc = strbuf_addf(&sb, "%s\n", file);
	}
	if (rc) {
		rc = parley_error_set(err, rc, "session %s: manifest too large", id);
		goto out;
	}
	if ((rc = session_path(c, id, "audio" CHUNK_MANIFEST_EXT, path, sizeof(path), err)) ||
	    (rc = fs_write_atomic(path, sb.buf, sb.len, err)))
		goto out;
	char real[PATH_MAX];
	if (!realpath(path, real)) {
		rc = parley_error_set(err, PARLEY_ERR_IO, "%s: cannot resolve the path", path);
		goto out;
	}
	if (strlen(real) >= size || strlen(real) >= sizeof(((struct store_recording *)0)->source)) {
		rc = parley_error_set(err, PARLEY_ERR_TOO_LARGE, "%s: path too long", real);
		goto out;
	}
	snprintf(abs, size, "%s", real);
	sha256_hex(sb.buf, sb.len, fingerprint);
out:
	strbuf_release(&sb);
	return rc;
}

/* The gaps as JSON [first,last] ranges, as in the session view. */
static enum parley_err gaps_text(const int *seqs, size_t n, struct strbuf *sb)
{
	enum parley_err rc = strbuf_adds(sb, "[");
	bool first = true;
	for (size_t i = 0, want = 0; i < n && !rc; want = (size_t)seqs[i++] + 1) {
		if ((int)want >= seqs[i])
			continue;
		rc = strbuf_addf(sb, "%s[%zu,%d]", first ? "" : ",", want, seqs[i] - 1);
		first = false;
	}
	return rc ? rc : strbuf_adds(sb, "]");
}

enum parley_err session_end(const struct session_ctx *c, const struct session_user *u,
			    const char *id, json_t **out, struct parley_error *err)
{
	*out = NULL;
	struct session_row row;
	enum session_role role;
	enum parley_err rc = session_access(c, u, id, false, &row, &role, err);
	if (rc)
		return rc;
	if (role != ROLE_OWNER && !u->admin)
		return parley_error_set(err, PARLEY_ERR_CONFLICT,
					"only the owner of session %s (or an admin) ends it", id);
	int *seqs = NULL;
	size_t n = 0;
	struct strbuf gaps;
	strbuf_init(&gaps, 1 << 20);
	if ((rc = store_begin(c->store, err)))
		return rc;
	bool found = false;
	if ((rc = sstore_session_get(c->store, id, true, &row, &found, err)))
		goto fail;
	if (row.ended) {
		rc = parley_error_set(err, PARLEY_ERR_CONFLICT, "session %s has already ended", id);
		goto fail;
	}
	if ((rc = sstore_chunk_seqs(c->store, id, &seqs, &n, err)))
		goto fail;
	if (n == 0) {
		rc = parley_error_set(err, PARLEY_ERR_CONFLICT,
				      "session %s has no chunks: upload audio before ending it", id);
		goto fail;
	}
	char manifest[PARLEY_PATH_MAX], fp[65], batch_name[STORE_NAME_MAX],
		pipeline[STORE_PIPELINE_MAX] = "";
	/* the configuration's preset (serve --preset call [--denoise]), else the default */
	struct pipeline_config pcfg;
	pipeline_config_init(&pcfg);
	const char *ctext = c->pipeline_config ? c->pipeline_config : "";
	rc = pipeline_config_parse(&pcfg, "the sessions' pipeline configuration", ctext,
				   strlen(ctext), err);
	if (!rc)
		rc = pipeline_from_config(&pcfg, pipeline, sizeof(pipeline), err);
	pipeline_config_release(&pcfg);
	if (rc)
		goto fail;
	struct pipeline pl = pipeline_default();
	if (pipeline[0])
		pl.count = 0; /* the preset's */
	for (size_t i = 0, used = 0; i < pl.count && used < sizeof(pipeline); i++)
		used += (size_t)snprintf(pipeline + used, sizeof(pipeline) - used, "%s%s", i ? "," : "",
					 pl.stages[i]->name);
	snprintf(batch_name, sizeof(batch_name), "session:%s", id);
	const char *tables[64];
	stage_result_tables(tables, sizeof(tables) / sizeof(tables[0]));
	int64_t batch = 0, rec = 0;
	if ((rc = gaps_text(seqs, n, &gaps))) {
		rc = parley_error_set(err, rc, "session %s: too many gaps", id);
		goto fail;
	}
	if ((rc = manifest_write(c, id, seqs, n, manifest, sizeof(manifest), fp, err)) ||
	    (rc = store_batch_ensure(c->store, batch_name, "session", &batch, err)) ||
	    (rc = store_batch_set_pipeline(c->store, batch, pipeline, err)) ||
	    (rc = store_batch_set_config(c->store, batch, c->pipeline_config ? c->pipeline_config : "",
					 err)) ||
	    (rc = store_recording_add(c->store, batch, id, manifest, fp, tables, &rec, err)) ||
	    (rc = sstore_session_mark_ended(c->store, id, batch, rec, time_wall(), gaps.buf, err)))
		goto fail;
	if ((rc = store_commit(c->store, err)))
		goto out;
	if (c->on_queued) {
		/* The recording is committed: a queue that missed it is rebuilt
		 * from the store, so this is logged, not the caller's failure. */
		struct parley_error qerr = {0};
		if (c->on_queued(c->ud, batch, rec, &qerr))
			log_warn("session %s: recording %lld not queued: %s", id, (long long)rec, qerr.msg);
	}
	if ((rc = sstore_session_get(c->store, id, false, &row, &found, err)) == PARLEY_OK)
		rc = session_view(c, &row, role, out, err);
	goto out;
fail:
	store_rollback(c->store);
out:
	free(seqs);
	strbuf_release(&gaps);
	return rc;
}

/* ---------------------------------------------------------------- speakers */

struct speakers_data {
	struct session_row row;
	enum session_role role;
	struct derived d;
	struct store_speaker *spk; /* 0-based speakers of the recording */
	size_t nspk;
	struct session_claim *claims;
	size_t nclaims;
};

static void speakers_release(struct speakers_data *s)
{
	free(s->spk);
	free(s->claims);
}

/* Everything the speaker and result views need; speakers only when ready. */
static enum parley_err speakers_load(const struct session_ctx *c, const struct session_user *u,
				     const char *id, struct speakers_data *s,
				     struct parley_error *err)
{
	memset(s, 0, sizeof(*s));
	enum parley_err rc = session_access(c, u, id, false, &s->row, &s->role, err);
	if (rc || (rc = session_derive(c, &s->row, &s->d, err)))
		return rc;
	if (!ready(&s->d))
		return PARLEY_OK;
	if ((rc = store_speakers_get(c->store, s->row.recording_id, &s->spk, &s->nspk, err)) ||
	    (rc = sstore_claims_get(c->store, id, &s->claims, &s->nclaims, err)))
		speakers_release(s);
	return rc;
}

static const struct session_claim *claim_of(const struct speakers_data *s, int speaker)
{
	for (size_t i = 0; i < s->nclaims; i++)
		if (s->claims[i].speaker == speaker)
			return &s->claims[i];
	return NULL;
}

static bool speaker_exists(const struct speakers_data *s, int speaker)
{
	for (size_t i = 0; i < s->nspk; i++)
		if (s->spk[i].speaker + 1 == speaker)
			return true;
	return false;
}

static json_t *speakers_view(const struct speakers_data *s, const struct session_user *u)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < s->nspk; i++) {
		const struct store_speaker *sp = &s->spk[i];
		int n = sp->speaker + 1;
		const struct session_claim *cl = claim_of(s, n);
		double sample = sp->sample_end - sp->sample_start;
		char url[96];
		snprintf(url, sizeof(url), "/v1/sessions/%s/speakers/%d/sample", s->row.id, n);
		json_array_append_new(
			arr, json_pack("{s:i,s:f,s:i,s:o,s:f,s:o,s:b}", "speaker", n, "talk_time",
				       sp->talk_time, "turns", sp->turns, "sample_url",
				       sample > 0 ? json_string(url) : json_null(), "sample_seconds",
				       sample > 0 ? sample : 0.0, "claimed_by",
				       cl ? json_string(cl->user) : json_null(), "mine",
				       cl && cl->user_id == u->id));
	}
	return arr ? json_pack("{s:s,s:o}", "status", s->d.status, "speakers", arr) : NULL;
}

static enum parley_err view_out(json_t *v, json_t **out, const char *id, struct parley_error *err)
{
	*out = v;
	return v ? PARLEY_OK
		 : parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory building session %s", id);
}

enum parley_err session_speakers(const struct session_ctx *c, const struct session_user *u,
				 const char *id, json_t **out, struct parley_error *err)
{
	*out = NULL;
	struct speakers_data s;
	enum parley_err rc = speakers_load(c, u, id, &s, err);
	if (rc)
		return rc;
	rc = view_out(speakers_view(&s, u), out, id, err);
	speakers_release(&s);
	return rc;
}

/* Ready and speaker n exists: else CONFLICT / NOT_FOUND / INVALID. */
static enum parley_err speaker_check(const struct speakers_data *s, const char *id, int speaker,
				     struct parley_error *err)
{
	if (!ready(&s->d))
		return parley_error_set(err, PARLEY_ERR_CONFLICT,
					"session %s is not ready for claiming yet (status %s)", id,
					s->d.status);
	if (!speaker_exists(s, speaker))
		return parley_error_set(err, PARLEY_ERR_NOT_FOUND, "session %s has no speaker %d", id,
					speaker);
	return PARLEY_OK;
}

static enum parley_err speaker_number_check(int speaker, struct parley_error *err)
{
	if (speaker < 1 || speaker > 9999)
		return parley_error_set(err, PARLEY_ERR_INVALID, "speaker number %d is not 1..9999",
					speaker);
	return PARLEY_OK;
}

enum parley_err session_sample_path(const struct session_ctx *c, const struct session_user *u,
				    const char *id, int speaker, char *path, size_t size,
				    struct parley_error *err)
{
	struct speakers_data s;
	enum parley_err rc = speaker_number_check(speaker, err);
	if (rc || (rc = speakers_load(c, u, id, &s, err)))
		return rc;
	char dir[PARLEY_PATH_MAX];
	if ((rc = speaker_check(&s, id, speaker, err)) ||
	    (rc = pipeline_recording_dir(c->data_dir, s.row.recording_id, dir, sizeof(dir), err)))
		goto out;
	int n = snprintf(path, size, "%s/samples/speaker-%d.wav", dir, speaker);
	if (n < 0 || (size_t)n >= size)
		rc = parley_error_set(err, PARLEY_ERR_TOO_LARGE, "sample path too long: %s", dir);
	else if (!fs_exists(path))
		rc = parley_error_set(err, PARLEY_ERR_NOT_FOUND, "speaker %d of session %s has no sample",
				      speaker, id);
out:
	speakers_release(&s);
	return rc;
}

enum parley_err session_claim(const struct session_ctx *c, const struct session_user *u,
			      const char *id, int speaker, json_t **out, struct parley_error *err)
{
	*out = NULL;
	struct speakers_data s;
	enum parley_err rc = speaker_number_check(speaker, err);
	if (rc || (rc = speakers_load(c, u, id, &s, err)))
		return rc;
	if ((rc = speaker_check(&s, id, speaker, err)))
		goto out;
	if (!may_upload(s.role)) {
		/* an admin sees every session, but is on its leaderboard only
		 * through sessions they were part of */
		rc = parley_error_set(err, PARLEY_ERR_CONFLICT,
				      "you are not in session %s: only its owner and participants claim "
				      "its speakers", id);
		goto out;
	}
	const struct session_claim *cl = claim_of(&s, speaker);
	if (!(cl && cl->user_id == u->id) && claiming_closed(c, &s.row)) {
		rc = closed_error(id, "takes no more claims", err);
		goto out;
	}
	bool added = false;
	if (cl && cl->user_id == u->id)
		goto view; /* claiming one's own again */
	if (cl) {
		rc = parley_error_set(err, PARLEY_ERR_CONFLICT,
				      "speaker %d of session %s is claimed by %s", speaker, id, cl->user);
		goto out;
	}
	for (size_t i = 0; i < s.nclaims; i++)
		if (s.claims[i].user_id == u->id) {
			rc = parley_error_set(err, PARLEY_ERR_CONFLICT,
					      "you already claimed speaker %d of session %s; unclaim it first",
					      s.claims[i].speaker, id);
			goto out;
		}
	if ((rc = sstore_claim_add(c->store, id, speaker, u->id, &added, err)))
		goto out;
	if (!added) {
		rc = parley_error_set(err, PARLEY_ERR_CONFLICT,
				      "speaker %d of session %s was just claimed by someone else", speaker,
				      id);
		goto out;
	}
view:
	speakers_release(&s);
	if ((rc = speakers_load(c, u, id, &s, err)))
		return rc;
	rc = view_out(speakers_view(&s, u), out, id, err);
out:
	speakers_release(&s);
	return rc;
}

enum parley_err session_unclaim(const struct session_ctx *c, const struct session_user *u,
				const char *id, int speaker, json_t **out,
				struct parley_error *err)
{
	*out = NULL;
	struct speakers_data s;
	enum parley_err rc = speaker_number_check(speaker, err);
	if (rc || (rc = speakers_load(c, u, id, &s, err)))
		return rc;
	if ((rc = speaker_check(&s, id, speaker, err)))
		goto out;
	const struct session_claim *cl = claim_of(&s, speaker);
	if (!cl) {
		rc = parley_error_set(err, PARLEY_ERR_NOT_FOUND, "speaker %d of session %s is not claimed",
				      speaker, id);
		goto out;
	}
	if (cl->user_id != u->id && !u->admin) {
		rc = parley_error_set(err, PARLEY_ERR_CONFLICT,
				      "speaker %d of session %s is claimed by %s, not you", speaker, id,
				      cl->user);
		goto out;
	}
	if (!u->admin && claiming_closed(c, &s.row)) {
		rc = closed_error(id, "takes no more changes to its claims", err);
		goto out;
	}
	if ((rc = sstore_claim_delete(c->store, id, speaker, err)))
		goto out;
	speakers_release(&s);
	if ((rc = speakers_load(c, u, id, &s, err)))
		return rc;
	rc = view_out(speakers_view(&s, u), out, id, err);
out:
	speakers_release(&s);
	return rc;
}

/* ---------------------------------------------------------------- results */

static int word_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every target word of the lexicon plus any other word counted,
 * sorted, without repeats: words[0..*n) point into the lexicon or counts. */
static size_t words_collect(const struct lexicon *lex, const struct store_count *counts,
			    size_t ncounts, const char **words, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < lexicon_target_count(lex) && n < max; i++)
		words[n++] = lexicon_target_at(lex, i)->word;
	for (size_t i = 0; i < ncounts && n < max; i++)
		words[n++] = counts[i].word;
	qsort(words, n, sizeof(*words), word_cmp);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (k == 0 || strcmp(words[k - 1], words[i]) != 0)
			words[k++] = words[i];
	return k;
}

/* {"counts":{word:n,…},"total":t} fields added to o for 0-based speaker spk. */
static void counts_add(json_t *o, const char **words, size_t nwords,
		       const struct store_count *counts, size_t ncounts, int spk)
{
	json_t *m = json_object();
	json_int_t total = 0;
	for (size_t w = 0; w < nwords; w++) {
		json_int_t k = 0;
		for (size_t i = 0; i < ncounts; i++)
			if (counts[i].speaker == spk && strcmp(counts[i].word, words[w]) == 0)
				k += counts[i].count;
		json_object_set_new(m, words[w], json_integer(k));
		total += k;
	}
	json_object_set_new(o, "counts", m);
	json_object_set_new(o, "total", json_integer(total));
}

/* The lexicon of the session's batch (the one its words stage used); before
 * the session ended, the one it will get. */
static enum parley_err session_lexicon(const struct session_ctx *c, const struct session_row *row,
				       struct lexicon **out, struct parley_error *err)
{
	struct pipeline_config cfg;
	enum parley_err rc;
	if (row->batch_id) {
		rc = batch_config_load(c->store, row->batch_id, &cfg, err);
	} else {
		pipeline_config_init(&cfg);
		const char *json = c->pipeline_config ? c->pipeline_config : "";
		rc = pipeline_config_parse(&cfg, "the server's pipeline configuration", json,
					   strlen(json), err);
	}
	if (rc == PARLEY_OK)
		rc = stage_config_lexicon(&cfg, out, err);
	pipeline_config_release(&cfg);
	return rc;
}

enum parley_err session_results(const struct session_ctx *c, const struct session_user *u,
				const char *id, json_t **out, struct parley_error *err)
{
	*out = NULL;
	struct speakers_data s;
	struct lexicon *lex = NULL;
	struct store_count *counts = NULL;
	size_t ncounts = 0;
	const char **words = NULL;
	enum parley_err rc = speakers_load(c, u, id, &s, err);
	if (rc)
		return rc;
	if ((rc = session_lexicon(c, &s.row, &lex, err)) ||
	    (ready(&s.d) &&
	     (rc = store_counts_get(c->store, s.row.recording_id, &counts, &ncounts, err))))
		goto out;
	size_t max = lexicon_target_count(lex) + ncounts;
	words = calloc(max ? max : 1, sizeof(*words));
	json_t *jw = json_array(), *js = json_array(), *ju = json_array();
	json_t *v = json_pack("{s:s,s:o,s:o,s:o}", "status", s.d.status, "words", jw, "speakers", js,
			      "users", ju);
	if (!words || !v) {
		json_decref(v);
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory building results of %s", id);
		goto out;
	}
	size_t nwords = words_collect(lex, counts, ncounts, words, max);
	for (size_t w = 0; w < nwords; w++)
		json_array_append_new(jw, json_string(words[w]));
	for (size_t i = 0; i < s.nspk; i++) {
		int n = s.spk[i].speaker + 1;
		const struct session_claim *cl = claim_of(&s, n);
		json_t *o = json_pack("{s:i,s:o}", "speaker", n, "claimed_by",
				      cl ? json_string(cl->user) : json_null());
		counts_add(o, words, nwords, counts, ncounts, s.spk[i].speaker);
		json_array_append_new(js, o);
	}
	for (size_t i = 0; i < s.nclaims; i++) {
		json_t *o = json_pack("{s:s}", "user", s.claims[i].user);
		counts_add(o, words, nwords, counts, ncounts, s.claims[i].speaker - 1);
		json_array_append_new(ju, o);
	}
	*out = v;
out:
	free(words);
	free(counts);
	lexicon_free(lex);
	speakers_release(&s);
	return rc;
}

static bool word_valid(const char *w)
{
	size_t n = strlen(w);
	return n >= 1 && n < STORE_WORD_MAX &&
	       strspn(w, "abcdefghijklmnopqrstuvwxyz0123456789'") == n;
}

enum parley_err session_leaderboard(const struct session_ctx *c,
				    const struct session_leaderboard_query *q, json_t **out,
				    struct parley_error *err)
{
	*out = NULL;
	int limit = q->limit ? q->limit : 50;
	if (limit < 1 || limit > LEADERBOARD_MAX)
		return parley_error_set(err, PARLEY_ERR_INVALID, "limit %d is not 1..%d", q->limit,
					LEADERBOARD_MAX);
	if (q->word && !word_valid(q->word))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"word '%.60s' is not 1 to %d characters of a-z 0-9 '", q->word,
					STORE_WORD_MAX - 1);
	if (!(q->since >= 0)) /* also NaN */
		return parley_error_set(err, PARLEY_ERR_INVALID, "since must be epoch seconds >= 0");
	struct sstore_rank *ranks = calloc((size_t)limit, sizeof(*ranks));
	if (!ranks)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory building the leaderboard");
	size_t n = 0;
	enum parley_err rc = sstore_leaderboard(c->store, q->word, q->since, limit, ranks, &n, err);
	if (rc)
		goto out;
	json_t *entries = json_array();
	json_t *v = json_pack("{s:o,s:o,s:o}", "word", q->word ? json_string(q->word) : json_null(),
			      "since", q->since > 0 ? json_real(q->since) : json_null(), "entries",
			      entries);
	if (!v) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory building the leaderboard");
		goto out;
	}
	/* competition ranking: ties share a rank, the next rank skips (1, 1, 3) */
	for (size_t i = 0, rank = 1; i < n; i++) {
		if (i > 0 && ranks[i].count != ranks[i - 1].count)
			rank = i + 1;
		json_array_append_new(entries, json_pack("{s:I,s:s,s:I,s:i}", "rank", (json_int_t)rank,
							 "user", ranks[i].user, "count",
							 (json_int_t)ranks[i].count, "sessions",
							 ranks[i].sessions));
	}
	*out = v;
out:
	free(ranks);
	return rc;
}
