/* route_sessions.c — /v1/me and /v1/sessions…: create, list, get, join, end. */
#include "web/routes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/timeutil.h"
#include "web/json_body.h"
#include "web/server.h"

#define WEB_TITLE_MAX 200

void route_me(struct web_req *q, struct web_resp *r)
{
	web_resp_json(r, 200, json_pack("{s:I,s:s,s:b,s:b,s:o}", "id", (json_int_t)q->user.id, "name",
					q->user.name, "admin", q->user.admin, "operator",
					q->user.operator_, "expires",
					q->user.expires > 0 ? json_real(q->user.expires) : json_null()));
}

void route_session_create(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	const char *title = NULL;
	json_t *view = NULL;
	enum parley_err rc = web_json_string_field(q->json, "title", WEB_TITLE_MAX, &title, &err);
	if (!rc)
		rc = session_create(&q->ctx, &q->user, title, &view, &err);
	web_resp_answer(r, rc, 201, view, &err);
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
	web_resp_answer(r, rc, 200, view, &err);
}

void route_session_get(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	json_t *view = NULL;
	enum parley_err rc = session_get(&q->ctx, &q->user, q->params.id, &view, &err);
	web_resp_answer(r, rc, 200, view, &err);
}

/* Join codes are guessed by no one: wrong ones are counted per client
 * address and per session, and either locks joining out for a while. */
static bool join_locked(struct web_req *q, struct web_resp *r, const char *id)
{
	struct web_limits *l = web_server_limits(q->srv);
	char ka[80], ks[40];
	snprintf(ka, sizeof(ka), "a:%s", q->addr ? q->addr : "-");
	snprintf(ks, sizeof(ks), "s:%s", id);
	double now = time_mono();
	double wa = ratelimit_locked(l->join_addr, ka, now), ws = ratelimit_locked(l->join_session, ks, now);
	double wait = wa > ws ? wa : ws;
	if (wait <= 0)
		return false;
	web_resp_header(r, "Retry-After", "%.0f", ceil(wait));
	web_resp_fail(r, 429, "rate_limited",
		      "too many wrong join codes %s: try again in %.0f minutes",
		      wa >= ws ? "from your address" : "for this session", ceil(wait / 60));
	return true;
}

static void join_failed(struct web_req *q, const char *id)
{
	struct web_limits *l = web_server_limits(q->srv);
	char ka[80], ks[40];
	snprintf(ka, sizeof(ka), "a:%s", q->addr ? q->addr : "-");
	snprintf(ks, sizeof(ks), "s:%s", id);
	double now = time_mono();
	ratelimit_note(l->join_addr, ka, now);
	ratelimit_note(l->join_session, ks, now);
}

void route_session_join(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	const char *code = NULL;
	json_t *view = NULL;
	if (join_locked(q, r, q->params.id))
		return;
	enum parley_err rc = web_json_string_field(q->json, "code", 64, &code, &err);
	if (!rc && !code)
		rc = parley_error_set(&err, PARLEY_ERR_INVALID, "field \"code\" (the join code) is missing");
	if (!rc && !session_join_code_valid(code))
		rc = parley_error_set(&err, PARLEY_ERR_INVALID,
				      "\"%s\" is not a join code (%d characters of A-H, J-N, P-Z, 2-9)",
				      code, SESSION_JOIN_CODE_LEN);
	if (!rc)
		rc = session_join(&q->ctx, &q->user, q->params.id, code, &view, &err);
	if (rc == PARLEY_ERR_NOT_FOUND || rc == PARLEY_ERR_INVALID)
		join_failed(q, q->params.id);
	web_resp_answer(r, rc, 200, view, &err);
}

void route_signup_info(struct web_req *q, struct web_resp *r)
{
	web_resp_json(r, 200, json_pack("{s:s}", "signup",
					session_signup_name(web_server_params(q->srv)->signup)));
}

void route_signup(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	const struct web_server_params *p = web_server_params(q->srv);
	struct web_limits *l = web_server_limits(q->srv);
	if (p->signup == SESSION_SIGNUP_OFF) {
		web_resp_fail(r, 403, "forbidden",
			      "this server takes no sign-ups: its administrator makes accounts "
			      "(parley user add)");
		return;
	}
	const char *name = NULL, *id = NULL, *code = NULL;
	enum parley_err rc = web_json_string_field(q->json, "name", 64, &name, &err);
	if (!rc)
		rc = web_json_string_field(q->json, "session", 64, &id, &err);
	if (!rc)
		rc = web_json_string_field(q->json, "code", 64, &code, &err);
	if (!rc && !name)
		rc = parley_error_set(&err, PARLEY_ERR_INVALID, "field \"name\" (your user name) is missing");
	if (rc) {
		web_resp_error(r, &err);
		return;
	}
	char ka[80];
	snprintf(ka, sizeof(ka), "a:%s", q->addr ? q->addr : "-");
	double wait = ratelimit_locked(l->signup_addr, ka, time_mono());
	if (wait > 0) {
		web_resp_header(r, "Retry-After", "%.0f", ceil(wait));
		web_resp_fail(r, 429, "rate_limited",
			      "too many sign-ups from your address: try again in %.0f minutes",
			      ceil(wait / 60));
		return;
	}
	if (id && *id && join_locked(q, r, id))
		return;
	struct session_user u;
	char token[SESSION_TOKEN_LEN + 1];
	json_t *view = NULL;
	rc = session_signup(&q->ctx, p->signup, name, id, code, &u, token, sizeof(token), &view, &err);
	if (rc == PARLEY_ERR_NOT_FOUND && id && *id)
		join_failed(q, id);
	if (rc) {
		web_resp_error(r, &err);
		return;
	}
	ratelimit_note(l->signup_addr, ka, time_mono());
	web_resp_json(r, 201, json_pack("{s:{s:I,s:s,s:b,s:b},s:s,s:o}", "user", "id",
					(json_int_t)u.id, "name", u.name, "admin", 0, "operator", 0,
					"token", token, "session", view ? view : json_null()));
}

void route_session_end(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	json_t *view = NULL;
	enum parley_err rc = session_end(&q->ctx, &q->user, q->params.id, &view, &err);
	web_resp_answer(r, rc, 202, view, &err);
}
