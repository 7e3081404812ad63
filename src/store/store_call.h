/*
 * store_call.h — the call-analysis results of a recording (issue 13; tables
 * of migration 5 in schema.c). Every *_put replaces the recording's rows of
 * its table (run it inside the stage's commit transaction); every *_get
 * returns a new array (caller frees; NULL and 0 when there are none).
 *
 *   call_events    events found in the audio (stage ivr): kind "dtmf",
 *                  "ringback", "busy", "congestion", "sit", "beep", "hold",
 *                  "music", "ivr_prompt", …; channel -1 = the mix; detail is
 *                  a JSON object's text ("{}" when nothing more).
 *   speaker_roles  a speaker's role ("agent", "customer", …), the channel it
 *                  came from (-1 = diarized from the mix) and how the role
 *                  was decided ("channel", "config", "metadata",
 *                  "first_after_ivr").
 *   call_language  the conversation's language: code ("en"), source
 *                  ("config", "metadata", "engine"), confidence 0..1, and
 *                  whether it is one the batch expects.
 *   call_metrics   flat figures for queries: scope "call", a role or
 *                  "speaker:N"; name "talk_time", "talk_share", …
 *   call_spans     the instances behind metrics: kind "silence",
 *                  "overlap", "interruption", "hold"; who/other name the
 *                  roles or speakers involved ("" when none).
 * And per recording (recordings.metadata, migration 6): its row of the
 * metadata CSV (core/call_metadata.h) as a JSON object's text, "{}" = none.
 */
#ifndef PARLEY_STORE_STORE_CALL_H
#define PARLEY_STORE_STORE_CALL_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define STORE_CALL_NAME_MAX 48      /* kinds, roles, scopes, metric names */
#define STORE_CALL_DETAIL_MAX 1024  /* an event's detail JSON text */

struct store_call_event {
	char kind[STORE_CALL_NAME_MAX];
	double start, end; /* seconds */
	int channel;       /* -1 = the mix */
	char detail[STORE_CALL_DETAIL_MAX];
};

struct store_speaker_role {
	int speaker;
	char role[STORE_CALL_NAME_MAX];
	int channel; /* -1 = diarized from the mix */
	char source[STORE_CALL_NAME_MAX];
};

struct store_call_language {
	char code[STORE_CALL_NAME_MAX];
	char source[STORE_CALL_NAME_MAX];
	double confidence;
	bool expected;
};

struct store_call_metric {
	char scope[STORE_CALL_NAME_MAX];
	char name[STORE_CALL_NAME_MAX];
	double value;
};

struct store_call_span {
	char kind[STORE_CALL_NAME_MAX];
	double start, end;
	char who[STORE_CALL_NAME_MAX];
	char other[STORE_CALL_NAME_MAX];
};

enum parley_err store_call_events_put(struct store *st, int64_t rec_id,
				      const struct store_call_event *ev, size_t n,
				      struct parley_error *err);
enum parley_err store_call_events_get(struct store *st, int64_t rec_id,
				      struct store_call_event **ev, size_t *n,
				      struct parley_error *err);

enum parley_err store_speaker_roles_put(struct store *st, int64_t rec_id,
					const struct store_speaker_role *r, size_t n,
					struct parley_error *err);
enum parley_err store_speaker_roles_get(struct store *st, int64_t rec_id,
					struct store_speaker_role **r, size_t *n,
					struct parley_error *err);
/* The row of r[0..n) that gives speaker a role (role not ""), or NULL. */
const struct store_speaker_role *store_speaker_role_of(const struct store_speaker_role *r,
							size_t n, int speaker);

/* lang NULL: the recording has no language row. *found says whether get
 * found one (out untouched when not). */
enum parley_err store_call_language_put(struct store *st, int64_t rec_id,
					const struct store_call_language *lang,
					struct parley_error *err);
enum parley_err store_call_language_get(struct store *st, int64_t rec_id,
					struct store_call_language *out, bool *found,
					struct parley_error *err);

enum parley_err store_call_metrics_put(struct store *st, int64_t rec_id,
				       const struct store_call_metric *m, size_t n,
				       struct parley_error *err);
enum parley_err store_call_metrics_get(struct store *st, int64_t rec_id,
				       struct store_call_metric **m, size_t *n,
				       struct parley_error *err);

/* Spans of every kind, replaced together; get returns them by kind, then
 * time order. */
enum parley_err store_call_spans_put(struct store *st, int64_t rec_id,
				     const struct store_call_span *s, size_t n,
				     struct parley_error *err);
enum parley_err store_call_spans_get(struct store *st, int64_t rec_id,
				     struct store_call_span **s, size_t *n,
				     struct parley_error *err);

/* The recording's metadata object text (new string, caller frees; "{}"
 * when none). _put stores json (a JSON object's text) as given. */
enum parley_err store_recording_metadata_get(struct store *st, int64_t rec_id, char **json,
					     struct parley_error *err);
enum parley_err store_recording_metadata_put(struct store *st, int64_t rec_id, const char *json,
					     struct parley_error *err);

#endif
