/*
 * recording_view.h — one recording's whole story as one JSON view (issue 15:
 * the dashboard's recording page, GET /v1/recordings/{rid}) and the path of
 * its decoded audio (GET /v1/recordings/{rid}/audio). No HTTP here: the web
 * layer (src/web/route_recordings.c) maps the error code to a status.
 *
 *   json_t *v = NULL;
 *   if (recording_view(&ctx, &user, 12, &v, &err)) → error (404 when not visible)
 *   recording_audio_path(&ctx, &user, 12, path, sizeof(path), &err);
 *
 * Ids: a recording is the integer id of the recordings table (the
 * "recording" of a batch's results; a session's recording is found through
 * its batch "session:<id>"), 1..RECORDING_ID_MAX.
 *
 * Visibility: a recording of a batch of kind "session" is visible to whoever
 * sees that session (owner, participants, admins: session_visible); any
 * other recording (an audit batch, `parley submit`) to operators and admins
 * (batches_user_may). Everyone else gets NOT_FOUND with the sentence of a
 * missing recording, so existence is not revealed.
 *
 * The view (docs/api.md "Recordings"): id, name, kind ("batch"|"session"),
 * batch {id,name,audit_version} or session {id, speakers view of
 * session_speakers: samples and claims}, status, error, attempts, duration,
 * audio_url (null until the decode stage wrote audio.wav), stages
 * [{stage,status}] in pipeline order, language, speakers [{speaker (from 1),
 * label, role, channel, role_source, talk_time, turns, sample, counts}],
 * turns, overlaps, events (call events: ivr prompts, tones, hold, music…),
 * spans (silence, overlap, interruption, hold), transcribed, targets (the
 * lexicon's target words), words [{start,end,word,speaker,confidence,
 * target,counted,heard,approximate}] ("heard": the recogniser's words when
 * the words stage corrected them, e.g. "wah lau" → "walao"), metrics
 * {scope:{name:value}}, audit {version, answers (with the question's text
 * and evidence), verdict {verdict,score,max_score,auto_fail,reasons}} or
 * null. Speakers are numbered from 1 everywhere in the view. At most
 * RECORDING_VIEW_WORDS_MAX words (TOO_LARGE past it).
 * Thread-safety: none inside; one ctx (its own store) per thread.
 */
#ifndef PARLEY_CORE_RECORDING_VIEW_H
#define PARLEY_CORE_RECORDING_VIEW_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "session/session.h"
#include "util/error.h"

#define RECORDING_ID_MAX 999999999999LL
#define RECORDING_VIEW_WORDS_MAX 500000

enum parley_err recording_view(const struct session_ctx *c, const struct session_user *u,
			       int64_t rec_id, json_t **out, struct parley_error *err);

/* The recording's decoded 16 kHz mono WAV (the decode stage's audio.wav).
 * NOT_FOUND when not visible; CONFLICT when it is not decoded yet. */
enum parley_err recording_audio_path(const struct session_ctx *c, const struct session_user *u,
				     int64_t rec_id, char *path, size_t size,
				     struct parley_error *err);

#endif
