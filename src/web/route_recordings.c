/* route_recordings.c — GET /v1/recordings/{rid} (one recording's story:
 * core/recording_view.h) and GET /v1/recordings/{rid}/audio (its decoded
 * WAV, with Range so the dashboard's <audio> can seek). Visibility is the
 * view's: a session's recording for those who see the session, any other
 * for operators and admins, 404 for everyone else. */
#include "web/routes.h"

#include <stdio.h>

#include "core/recording_view.h"
#include "util/fs.h"
#include "web/range.h"

void route_recording_get(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	json_t *view = NULL;
	if (recording_view(&q->ctx, &q->user, q->params.recording, &view, &err) != PARLEY_OK) {
		json_decref(view);
		web_resp_error(r, &err);
		return;
	}
	web_resp_json(r, 200, view);
}

void route_recording_audio(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	char path[PARLEY_PATH_MAX], what[64];
	if (recording_audio_path(&q->ctx, &q->user, q->params.recording, path, sizeof(path),
				 &err) != PARLEY_OK) {
		web_resp_error(r, &err);
		return;
	}
	snprintf(what, sizeof(what), "the audio of recording %lld", q->params.recording);
	web_resp_file_range(q, r, path, "audio/wav", what);
}
