/* routes.c — every route of docs/api.md, one row each. */
#include "web/routes.h"

#include "web/json_body.h"

#define AUTH WEB_ROUTE_AUTH
#define JSON WEB_BODY_JSON, WEB_JSON_LIMIT
#define NONE WEB_BODY_NONE, 0
#define RAW WEB_BODY_RAW, 0 /* limit: --max-chunk-bytes */

const struct web_route web_routes[] = {
	{"GET", "/health", route_health, 0, NONE},
	{"GET", "/metrics", route_metrics, 0, NONE},
	{"GET", "/", route_index, 0, NONE},
	{"GET", "/static/{path*}", route_static, 0, NONE},
	{"GET", "/v1/me", route_me, AUTH, NONE},
	{"POST", "/v1/sessions", route_session_create, AUTH, JSON},
	{"GET", "/v1/sessions", route_session_list, AUTH, NONE},
	{"GET", "/v1/sessions/{id}", route_session_get, AUTH, NONE},
	{"POST", "/v1/sessions/{id}/join", route_session_join, AUTH, JSON},
	{"PUT", "/v1/sessions/{id}/chunks/{seq}", route_chunk_put, AUTH, RAW},
	{"POST", "/v1/sessions/{id}/end", route_session_end, AUTH, JSON},
	{"GET", "/v1/sessions/{id}/speakers", route_speakers, AUTH, NONE},
	{"GET", "/v1/sessions/{id}/speakers/{n}/sample", route_sample, AUTH, NONE},
	{"POST", "/v1/sessions/{id}/speakers/{n}/claim", route_claim, AUTH, JSON},
	{"DELETE", "/v1/sessions/{id}/speakers/{n}/claim", route_unclaim, AUTH, NONE},
	{"GET", "/v1/sessions/{id}/results", route_results, AUTH, NONE},
	{"GET", "/v1/leaderboard", route_leaderboard, AUTH, NONE},
};
const size_t web_routes_count = sizeof(web_routes) / sizeof(web_routes[0]);
