/* route_speakers.c — speakers, sample WAVs (with Range), claims. */
#include "web/routes.h"

#include <stdio.h>

#include "util/fs.h"
#include "web/range.h"

void route_speakers(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	json_t *view = NULL;
	enum parley_err rc = session_speakers(&q->ctx, &q->user, q->params.id, &view, &err);
	web_resp_answer(r, rc, 200, view, &err);
}

void route_claim(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	json_t *view = NULL;
	enum parley_err rc = session_claim(&q->ctx, &q->user, q->params.id, q->params.speaker,
					   &view, &err);
	web_resp_answer(r, rc, 200, view, &err);
}

void route_unclaim(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	json_t *view = NULL;
	enum parley_err rc = session_unclaim(&q->ctx, &q->user, q->params.id, q->params.speaker,
					     &view, &err);
	web_resp_answer(r, rc, 200, view, &err);
}

void route_sample(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	char path[PARLEY_PATH_MAX];
	if (session_sample_path(&q->ctx, &q->user, q->params.id, q->params.speaker, path,
				sizeof(path), &err) != PARLEY_OK) {
		web_resp_error(r, &err);
		return;
	}
	char what[64];
	snprintf(what, sizeof(what), "the sample of speaker %d", q->params.speaker);
	web_resp_file_range(q, r, path, "audio/wav", what);
}
