/* route_sessions.c — /v1/me and /v1/sessions…: create, list, get, join, end. */
#include "web/routes.h"

#include <stdlib.h>

#include "web/json_body.h"

#define WEB_TITLE_MAX 200

/* Answer with a session-layer result: the view on success, the error otherwise. */
static void answer(struct web_resp *r, enum parley_err rc, int status, json_t *view,
		   const struct parley_error *err)
{
	if (rc != PARLEY_OK) {
		json_decref(view);
		web_resp_error(r, err);
		return;
	}
	web_resp_json(r, status, view);
}

void route_me(struct web_req *q, struct web_resp *r)
{
	web_resp_json(r, 200, json_pack("{s:I,s:s,s:b,s:b}", "id", (json_int_t)q->user.id, "name",
					q->user.name, "admin", q->user.admin, "operator",
					q->user.operator_));
}

void route_session_create(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	const char *title = NULL;
	json_t *view = NULL;
	enum parley_err rc = web_json_string_field(q->json, "title", WEB_TITLE_MAX, &title, &err);
	if (!rc)
		rc = session_create(&q->ctx, &q->user, title, &view, &err);
	answer(r, rc, 201, view, &err);
}

void route_session_list(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	json_t *view = NULL;
	const char *cursor = web_req_query(q, "cursor"), *lim = web_req_query(q, "limit");
	int limit = SESSION_PAGE_DEFAULT;
	if (lim) {
		char *end;
		long v = strtol(lim, &end, 10);
		if (!*lim || *end || v < 1 || v > SESSION_PAGE_MAX) {
			web_resp_fail(r, 400, "invalid", "limit '%.20s' is not a number from 1 to %d", lim,
				      SESSION_PAGE_MAX);
			return;
		}
		limit = (int)v;
	}
	enum parley_err rc = session_list(&q->ctx, &q->user, cursor, limit, &view, &err);
	answer(r, rc, 200, view, &err);
}

void route_session_get(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	json_t *view = NULL;
	enum parley_err rc = session_get(&q->ctx, &q->user, q->params.id, &view, &err);
	answer(r, rc, 200, view, &err);
}

void route_session_join(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	const char *code = NULL;
	json_t *view = NULL;
	enum parley_err rc = web_json_string_field(q->json, "code", 64, &code, &err);
	if (!rc && !code)
		rc = parley_error_set(&err, PARLEY_ERR_INVALID, "field \"code\" (the join code) is missing");
	if (!rc && !session_join_code_valid(code))
		rc = parley_error_set(&err, PARLEY_ERR_INVALID,
				      "\"%s\" is not a join code (%d characters of A-H, J-N, P-Z, 2-9)",
				      code, SESSION_JOIN_CODE_LEN);
	if (!rc)
		rc = session_join(&q->ctx, &q->user, q->params.id, code, &view, &err);
	answer(r, rc, 200, view, &err);
}

void route_session_end(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	json_t *view = NULL;
	enum parley_err rc = session_end(&q->ctx, &q->user, q->params.id, &view, &err);
	answer(r, rc, 202, view, &err);
}
