/* route_chunks.c — PUT /v1/sessions/{id}/chunks/{seq}: one raw audio chunk. */
#include "web/routes.h"

#include "web/data_check.h"
#include "web/server.h"

/* At the headers: may this user upload to this session now (visible, owner
 * or participant, not ended, within the quotas)? */
void route_chunk_check(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	if (session_chunk_check(&q->ctx, &q->user, q->params.id, q->params.seq, q->body_len,
				&err) != PARLEY_OK)
		web_resp_error(r, &err);
}

void route_chunk_put(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	struct session_chunk c;
	if (q->body_len == 0) {
		web_resp_fail(r, 422, "empty", "chunk %d: the body is empty (send the audio bytes)",
			      q->params.seq);
		return;
	}
	const struct web_server_params *p = web_server_params(q->srv);
	unsigned long long floor = p->min_free_bytes + q->body_len;
	if (floor < p->min_free_bytes) /* saturate */
		floor = ~0ull;
	if (web_data_check(p->data_dir, floor, false, NULL) == WEB_DATA_FULL) {
		web_resp_fail(r, 507, "insufficient_storage",
			      "chunk %d of session %s was not stored: the server is low on disk space "
			      "(try again later; nothing was lost on your side)", q->params.seq, q->params.id);
		return;
	}
	if (session_chunk_put(&q->ctx, &q->user, q->params.id, q->params.seq, q->body, q->body_len,
			      &c, &err) != PARLEY_OK) {
		web_resp_error(r, &err);
		return;
	}
	web_resp_json(r, c.created ? 201 : 200,
		      json_pack("{s:i,s:I,s:s,s:f,s:b}", "seq", c.seq, "bytes", (json_int_t)c.bytes,
				"sha256", c.sha256, "duration", c.duration, "created", c.created));
}
