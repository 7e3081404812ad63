/*
 * session.h — the sessions domain behind `parley serve`: users and their
 * tokens, sessions, uploaded chunks, ending (which queues processing),
 * speakers, claims, results and the leaderboard. No HTTP here: the web layer
 * (src/web/) parses requests, calls these functions and maps the error code
 * to a status (docs/api.md). Views are returned as jansson objects in the
 * exact shapes of docs/api.md; the caller owns them (json_decref).
 *
 *   struct session_user u;
 *   if (session_user_auth(st, token, &u, &err)) → 401
 *   json_t *s = NULL;
 *   session_create(&ctx, &u, "friday chat", &s, &err);     // 201
 *   session_chunk_put(&ctx, &u, id, 0, body, len, &chunk, &err);
 *   session_end(&ctx, &u, id, &s, &err);                   // 202, queues the recording
 *
 * Storage: tables users, sessions, session_members, chunks, claims
 * (migration 3). Chunk bytes live in data_dir/sessions/<id>/chunks/<seq>;
 * the row is written after the file (fs_write_atomic), so a row always has
 * its file. Ending writes data_dir/sessions/<id>/audio.chunks (a manifest the
 * decode stage concatenates, see stages/decode.c) and adds a batch of kind
 * "session" named "session:<id>" with one recording whose source is that
 * manifest, in one transaction with the status change; the batch stores
 * ctx->pipeline_config, so the workers and the results use the lexicon and
 * options the server had when the session ended.
 *
 * Visibility: a session the user may not see (not owner, participant or
 * admin) is PARLEY_ERR_NOT_FOUND with the same message as a missing one.
 * Errors: INVALID (bad id/seq/code/field), NOT_FOUND, CONFLICT (seq reused
 * with other bytes, upload after end, end twice, end without chunks, claim
 * taken, claim before ready), UNAUTHORIZED (unknown token), AUDIO/EMPTY (a
 * chunk that is not audio), TOO_LARGE, STORE/UNAVAILABLE (the store).
 * Thread-safety: none inside; each server thread uses its own struct store.
 */
#ifndef PARLEY_SESSION_SESSION_H
#define PARLEY_SESSION_SESSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/error.h"

#define SESSION_ID_LEN 20        /* [a-z2-7] */
#define SESSION_JOIN_CODE_LEN 10 /* [A-HJ-NP-Z2-9]: 50 bits (new sessions) */
#define SESSION_JOIN_CODE_MIN 6  /* sessions made before issue 16 have 6 */
#define SESSION_CLAIM_WINDOW_DEFAULT (24 * 3600.0) /* claiming (and joining) after end */
#define SESSION_SEQ_MAX 99999
#define SESSION_USER_NAME_MAX 64 /* [A-Za-z0-9._-], 1..63 chars */
#define SESSION_TOKEN_LEN 43     /* "pt_" + 40 hex chars (160 random bits) */

struct session_user {
	int64_t id;
	char name[SESSION_USER_NAME_MAX];
	bool admin;
	bool operator_; /* may create, manage and read batches (core/batches.h) */
	double expires; /* the token's expiry (epoch seconds), 0: never */
	bool removed;   /* `parley user remove`d (listed only; never signed in) */
	bool signed_up; /* made by a sign-up on the page, not `parley user add` */
};

#define SESSION_SOURCE_RATE_MIN 4000             /* Hz: lower source rates are refused */
#define SESSION_CHUNK_SECONDS_DEFAULT 600.0      /* one chunk's audio (10 min) */
#define SESSION_SECONDS_DEFAULT (4 * 3600.0)     /* a session's audio: the decode limit */

/* Per-user quotas over the sessions a user owns (chunks uploaded by its
 * participants count for the owner); 0: no limit. */
struct session_quota {
	int sessions;  /* sessions owned */
	int64_t bytes; /* chunk bytes stored */
	double seconds; /* audio seconds stored */
};

/* What every call needs: a store connection (one per thread) and the data
 * directory chunks and samples live under. */
struct session_ctx {
	struct store *store;
	const char *data_dir;
	/* Optional: called after session_end committed, with the new recording,
	 * to push it on a Redis queue (NULL with the store queue). */
	enum parley_err (*on_queued)(void *ud, int64_t batch_id, int64_t rec_id,
				     struct parley_error *err);
	void *ud;
	/* The pipeline configuration (canonical JSON, stages/pipeline_config.h)
	 * stored with each session's batch when it ends: the server-wide default
	 * (`parley serve --pipeline-config`). NULL: the defaults. */
	const char *pipeline_config;
	/* Seconds after a session ended during which its speakers may be
	 * claimed and people may still join it; after that both are CONFLICT
	 * (an admin may still drop a claim). 0: never closes. */
	double claim_window;
	/* Upload limits (0: the defaults above): a chunk's decoded audio, a
	 * session's audio in all (the pipeline's decode limit), the quotas. */
	double max_chunk_seconds;
	double max_session_seconds;
	struct session_quota quota;
};

/* --- ids (pure; used by the router before anything touches a file) --- */
bool session_id_valid(const char *id);
bool session_join_code_valid(const char *code);
bool session_user_name_valid(const char *name);

/* --- users --- */

/* Add a user; fills token[size] (>= SESSION_TOKEN_LEN + 1) with a new random
 * token, stored only as its SHA-256. CONFLICT when the name is taken. */
enum parley_err session_user_add(struct store *st, const char *name, bool admin, char *token,
				 size_t size, struct parley_error *err);
/* The user a token belongs to; UNAUTHORIZED when none, when the user was
 * removed or the token has expired (read from the store on every call, so
 * a rotation, removal or expiry holds from the next request on). */
enum parley_err session_user_auth(struct store *st, const char *token, struct session_user *out,
				  struct parley_error *err);
/* A new token for NAME (the old one stops working at once); NOT_FOUND
 * when no such user (or removed). The expiry is kept. */
enum parley_err session_user_rotate(struct store *st, const char *name, char *token, size_t size,
				    struct parley_error *err);
/* Set when NAME's token expires (epoch seconds; 0: never). NOT_FOUND as above. */
enum parley_err session_user_expire(struct store *st, const char *name, double at,
				    struct parley_error *err);
/* Remove NAME: the token stops working at once, the user's claims (and so
 * the leaderboard entries) and session memberships are dropped; sessions
 * the user owns stay (admins still see them); the name stays taken.
 * NOT_FOUND as above. */
enum parley_err session_user_remove(struct store *st, const char *name, struct parley_error *err);
/* "30d", "12h", "90m", "45s", "2w" or plain seconds → seconds (> 0, at
 * most 100 years); false for anything else. Pure. */
bool session_parse_duration(const char *s, double *seconds);

/* How accounts are made besides `parley user add` (parley serve --signup). */
enum session_signup { SESSION_SIGNUP_OFF, SESSION_SIGNUP_LINK, SESSION_SIGNUP_OPEN };
/* "off", "link", "open" → mode; false otherwise. */
bool session_signup_parse(const char *s, enum session_signup *out);
const char *session_signup_name(enum session_signup mode);
/* Sign up NAME (a plain user) and print its token in token[size]. With an
 * id and code (a share link) the new user also joins that session, in the
 * same transaction: a wrong code or a session that no longer takes
 * participants creates nothing (NOT_FOUND / CONFLICT). mode LINK requires
 * them (INVALID without); OFF refuses every sign-up (CONFLICT). *user is
 * the new user; *view the session view (NULL without a link). A taken name
 * is CONFLICT. */
enum parley_err session_signup(const struct session_ctx *c, enum session_signup mode,
			       const char *name, const char *id, const char *code,
			       struct session_user *user, char *token, size_t size, json_t **view,
			       struct parley_error *err);

/* --- sessions --- */

/* New session owned by u (title may be NULL, at most 200 bytes); *out is
 * the session view with its join_code. */
enum parley_err session_create(const struct session_ctx *c, const struct session_user *u,
			       const char *title, json_t **out, struct parley_error *err);
#define SESSION_PAGE_MAX 200     /* sessions in one page of session_list */
#define SESSION_PAGE_DEFAULT 50
/* Sessions u may see, newest first, at most limit (1..SESSION_PAGE_MAX)
 * after the session cursor (NULL or "": from the newest):
 * {"sessions":[…],"next":ID or null}; next is the cursor of the following
 * page. A cursor naming no session gives an empty page. */
enum parley_err session_list(const struct session_ctx *c, const struct session_user *u,
			     const char *cursor, int limit, json_t **out,
			     struct parley_error *err);
/* The session view (docs/api.md), with per-stage status once ended. */
enum parley_err session_get(const struct session_ctx *c, const struct session_user *u,
			    const char *id, json_t **out, struct parley_error *err);
/* OK when u may see session id (owner, participant, admin); NOT_FOUND with
 * the sentence of a missing session otherwise; INVALID for a bad id. */
enum parley_err session_visible(const struct session_ctx *c, const struct session_user *u,
				const char *id, struct parley_error *err);
/* Become a participant with the join code (wrong code: NOT_FOUND). Joining
 * again, or as the owner, is a no-op. After claiming closed (claim_window
 * after the end): CONFLICT. */
enum parley_err session_join(const struct session_ctx *c, const struct session_user *u,
			     const char *id, const char *code, json_t **out,
			     struct parley_error *err);

struct session_chunk {
	int seq;
	size_t bytes;
	char sha256[65];
	double duration; /* seconds of audio in the chunk */
	bool created;    /* false: the same bytes were already stored (idempotent) */
};
/* Store chunk seq of session id (owner or participant). The bytes are
 * decoded first, counting samples without keeping them: not audio →
 * AUDIO/EMPTY with the decoder's sentence; longer than max_chunk_seconds,
 * a source rate under SESSION_SOURCE_RATE_MIN, a session over
 * max_session_seconds or an owner over a quota → TOO_LARGE.
 * Same seq, same SHA-256 → OK with created=false; other bytes → CONFLICT.
 * After end → CONFLICT. */
enum parley_err session_chunk_put(const struct session_ctx *c, const struct session_user *u,
				  const char *id, int seq, const void *body, size_t len,
				  struct session_chunk *out, struct parley_error *err);

/* Remove the temporary files of chunk uploads cut off by a killed server
 * (data_dir/sessions/<id>/chunks/<seq>.tmp.<pid>.<k> whose writer pid is
 * no longer running); *removed says how many. Run at start-up. */
enum parley_err session_temp_sweep(const char *data_dir, int *removed,
				   struct parley_error *err);

/* What session_chunk_put would refuse before decoding, checked when the
 * upload's headers arrive (len: the declared body length, 0 unknown): the
 * session is visible, the user its owner or a participant, it has not
 * ended, and the owner's quotas (ctx) leave room. Same errors. */
enum parley_err session_chunk_check(const struct session_ctx *c, const struct session_user *u,
				    const char *id, int seq, size_t len,
				    struct parley_error *err);

/* End the session (its owner or an admin only: CONFLICT for participants):
 * CONFLICT when already ended or without chunks. Queues
 * processing (batch + recording, see above) and returns the session view
 * with status "processing" and its gaps. */
enum parley_err session_end(const struct session_ctx *c, const struct session_user *u,
			    const char *id, json_t **out, struct parley_error *err);

/* --- speakers, samples, claims --- */

/* {"status":…,"speakers":[…]} (empty until ready_for_claiming). */
enum parley_err session_speakers(const struct session_ctx *c, const struct session_user *u,
				 const char *id, json_t **out, struct parley_error *err);
/* Path of speaker n's sample WAV (n from 1). CONFLICT before ready,
 * NOT_FOUND for a speaker that does not exist. */
enum parley_err session_sample_path(const struct session_ctx *c, const struct session_user *u,
				    const char *id, int speaker, char *path, size_t size,
				    struct parley_error *err);
/* Claim speaker n for u; CONFLICT when another user holds it or u holds
 * another speaker of this session, when u is an admin who is not in the
 * session (owner or participant), or after claiming closed; claiming
 * one's own again is a no-op.
 * *out is the speakers view. */
enum parley_err session_claim(const struct session_ctx *c, const struct session_user *u,
			      const char *id, int speaker, json_t **out, struct parley_error *err);
/* Drop the claim on speaker n: NOT_FOUND when unclaimed, CONFLICT when it is
 * another user's (unless u is admin). */
enum parley_err session_unclaim(const struct session_ctx *c, const struct session_user *u,
				const char *id, int speaker, json_t **out,
				struct parley_error *err);

/* --- results --- */

/* Counts per speaker and per claimed user (docs/api.md). The words are the
 * targets of the lexicon stored with the session's batch (the one its words
 * stage used), plus any other word counted. */
enum parley_err session_results(const struct session_ctx *c, const struct session_user *u,
				const char *id, json_t **out, struct parley_error *err);

struct session_leaderboard_query {
	const char *word; /* NULL: every target word */
	double since;     /* epoch seconds; 0: all time (sessions ended at or after) */
	int limit;        /* 1..1000, default 50 */
};
/* Users ranked by the counts of their claimed speakers. */
enum parley_err session_leaderboard(const struct session_ctx *c,
				    const struct session_leaderboard_query *q, json_t **out,
				    struct parley_error *err);

#endif
