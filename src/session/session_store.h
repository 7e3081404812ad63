/*
 * session_store.h — the SQL of the sessions domain (tables of migration 3),
 * over the store's connection (store/store_int.h). Private to src/session/:
 * session.c holds the rules (visibility, conflicts, views); these functions
 * only read and write rows. Every function returns PARLEY_OK or the store's
 * error (STORE, BUSY, UNAVAILABLE); "not there" is a *found flag, not an error.
 */
#ifndef PARLEY_SESSION_SESSION_STORE_H
#define PARLEY_SESSION_SESSION_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session/session.h"
#include "store/store.h"
#include "util/error.h"

#define SESSION_TITLE_MAX 200

struct session_row {
	char id[SESSION_ID_LEN + 1];
	int64_t owner_id;
	char owner[SESSION_USER_NAME_MAX];
	char title[SESSION_TITLE_MAX + 1];
	char join_code[SESSION_JOIN_CODE_LEN + 1];
	int64_t batch_id, recording_id; /* 0 until ended */
	double created_at, ended_at;    /* ended_at 0 until ended */
	bool ended;
};

struct session_claim {
	int speaker; /* from 1 */
	int64_t user_id;
	char user[SESSION_USER_NAME_MAX];
};

/* users */
/* *added false when the name is taken. */
enum parley_err sstore_user_add(struct store *st, const char *name, const char *token_hash,
				bool admin, bool *added, struct parley_error *err);
/* Grant or drop the operator role; *found false when no user has the name. */
enum parley_err sstore_user_set_operator(struct store *st, const char *name, bool on, bool *found,
				       struct parley_error *err);
enum parley_err sstore_user_by_token(struct store *st, const char *token_hash,
				     struct session_user *out, bool *found, struct parley_error *err);
/* A user who is not removed, by name. */
enum parley_err sstore_user_by_name(struct store *st, const char *name, struct session_user *out,
				    bool *found, struct parley_error *err);
/* "cli" (the default) or "signup". */
enum parley_err sstore_user_set_origin(struct store *st, int64_t id, const char *origin,
				       struct parley_error *err);
/* Replace the token hash of a user who is not removed; *found false otherwise. */
enum parley_err sstore_user_set_token(struct store *st, const char *name, const char *token_hash,
				      bool *found, struct parley_error *err);
/* The token's expiry (epoch seconds; 0: never). */
enum parley_err sstore_user_set_expiry(struct store *st, const char *name, double at, bool *found,
				       struct parley_error *err);
/* Mark removed (the token hash replaced: no token matches), drop the
 * user's claims and memberships. Call inside a transaction. */
enum parley_err sstore_user_remove(struct store *st, int64_t id, double at,
				   struct parley_error *err);
/* fn per user in name order (removed ones too, flagged). */
enum parley_err sstore_user_each(struct store *st, void (*fn)(const struct session_user *, void *),
				 void *ud, struct parley_error *err);

/* sessions */
/* *added false when the id is taken (the caller draws another). */
enum parley_err sstore_session_add(struct store *st, const struct session_row *r, bool *added,
				   struct parley_error *err);
/* lock: inside a transaction, hold the row until commit (PostgreSQL FOR
 * UPDATE; SQLite's write transaction already serialises). */
enum parley_err sstore_session_get(struct store *st, const char *id, bool lock,
				   struct session_row *out, bool *found, struct parley_error *err);
enum parley_err sstore_is_member(struct store *st, const char *id, int64_t user_id, bool *member,
				 struct parley_error *err);
enum parley_err sstore_member_add(struct store *st, const char *id, int64_t user_id,
				  struct parley_error *err);
/* Ids of sessions visible to the user (all when admin), newest first, at
 * most max, those after session `after` in that order ("": from the first). */
enum parley_err sstore_session_ids(struct store *st, const struct session_user *u,
				   const char *after, size_t max, char (*ids)[SESSION_ID_LEN + 1],
				   size_t *n, struct parley_error *err);
/* What a user's own sessions hold: how many, their chunks' bytes and seconds. */
enum parley_err sstore_user_usage(struct store *st, int64_t user_id, int *sessions, int64_t *bytes,
				  double *seconds, struct parley_error *err);
enum parley_err sstore_session_mark_ended(struct store *st, const char *id, int64_t batch_id,
					  int64_t rec_id, double ended_at, const char *gaps_json,
					  struct parley_error *err);

/* chunks */
enum parley_err sstore_chunk_get(struct store *st, const char *id, int seq, char sha[65],
				 size_t *bytes, double *duration, bool *found,
				 struct parley_error *err);
/* *added false when the seq already has a row. */
enum parley_err sstore_chunk_add(struct store *st, const char *id, const struct session_chunk *c,
				 bool *added, struct parley_error *err);
enum parley_err sstore_chunk_totals(struct store *st, const char *id, int *count, int64_t *bytes,
				    double *seconds, struct parley_error *err);
/* The chunk seqs in order, into a new array (*seqs, caller frees). */
enum parley_err sstore_chunk_seqs(struct store *st, const char *id, int **seqs, size_t *n,
				  struct parley_error *err);

/* claims */
/* The session's claims by speaker, into a new array (caller frees). */
enum parley_err sstore_claims_get(struct store *st, const char *id, struct session_claim **out,
				  size_t *n, struct parley_error *err);
/* *added false when the speaker or the user already has a claim here. */
enum parley_err sstore_claim_add(struct store *st, const char *id, int speaker, int64_t user_id,
				 bool *added, struct parley_error *err);
enum parley_err sstore_claim_delete(struct store *st, const char *id, int speaker,
				    struct parley_error *err);

/* leaderboard */
struct sstore_rank {
	char user[SESSION_USER_NAME_MAX];
	int64_t count;
	int sessions;
};
/* Users by the counts of their claimed speakers in sessions ended at or
 * after since (word NULL: every word), best first, at most max rows. */
enum parley_err sstore_leaderboard(struct store *st, const char *word, double since, int max,
				   struct sstore_rank *out, size_t *n, struct parley_error *err);

#endif
