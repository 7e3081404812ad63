/* routes.c — every route of docs/api.md, one row each. */
#include "web/routes.h"

#include "core/call_metadata.h"
#include "web/json_body.h"

#define AUTH WEB_ROUTE_AUTH
#define POOL WEB_ROUTE_POOL /* decodes the body: in the decode pool */
/* body kind, limit, precheck (router.h: run at the headers) */
#define JSON WEB_BODY_JSON, WEB_JSON_LIMIT, NULL
#define NONE WEB_BODY_NONE, 0, NULL
#define CHUNK_RAW WEB_BODY_RAW, 0, route_chunk_check /* limit: --max-chunk-bytes */
#define BATCH_JSON WEB_BODY_JSON, ((size_t)4 << 20), NULL /* questionnaire and rules inside */
#define FILE_RAW WEB_BODY_RAW, ((size_t)256 << 20), route_batch_file_check /* one recording */
#define CSV_RAW WEB_BODY_RAW, ((size_t)CALL_METADATA_FILE_MAX), NULL

const struct web_route web_routes[] = {
	{"GET", "/health", route_health, 0, NONE},
	{"GET", "/metrics", route_metrics, 0, NONE},
	{"GET", "/", route_index, 0, NONE},
	{"GET", "/dashboard", route_dashboard, 0, NONE},
	{"GET", "/static/{path*}", route_static, 0, NONE},
	{"GET", "/v1/me", route_me, AUTH, NONE},
	{"GET", "/v1/events", route_events, AUTH, NONE},
	{"GET", "/v1/overview", route_overview, AUTH, NONE},
	{"GET", "/v1/signup", route_signup_info, 0, NONE},
	{"POST", "/v1/signup", route_signup, 0, JSON},
	{"POST", "/v1/sessions", route_session_create, AUTH, JSON},
	{"GET", "/v1/sessions", route_session_list, AUTH, NONE},
	{"GET", "/v1/sessions/{id}", route_session_get, AUTH, NONE},
	{"POST", "/v1/sessions/{id}/join", route_session_join, AUTH, JSON},
	{"PUT", "/v1/sessions/{id}/chunks/{seq}", route_chunk_put, AUTH | POOL, CHUNK_RAW},
	{"POST", "/v1/sessions/{id}/end", route_session_end, AUTH, JSON},
	{"GET", "/v1/sessions/{id}/speakers", route_speakers, AUTH, NONE},
	{"GET", "/v1/sessions/{id}/speakers/{n}/sample", route_sample, AUTH, NONE},
	{"POST", "/v1/sessions/{id}/speakers/{n}/claim", route_claim, AUTH, JSON},
	{"DELETE", "/v1/sessions/{id}/speakers/{n}/claim", route_unclaim, AUTH, NONE},
	{"GET", "/v1/sessions/{id}/results", route_results, AUTH, NONE},
	{"GET", "/v1/leaderboard", route_leaderboard, AUTH, NONE},
	{"POST", "/v1/batches", route_batch_create, AUTH, BATCH_JSON},
	{"GET", "/v1/batches", route_batch_list, AUTH, NONE},
	{"GET", "/v1/batches/{bid}", route_batch_get, AUTH, NONE},
	{"PUT", "/v1/batches/{bid}/files/{file}", route_batch_file_put, AUTH | POOL, FILE_RAW},
	{"POST", "/v1/batches/{bid}/paths", route_batch_paths, AUTH, BATCH_JSON},
	{"PUT", "/v1/batches/{bid}/metadata", route_batch_metadata, AUTH, CSV_RAW},
	{"POST", "/v1/batches/{bid}/start", route_batch_start, AUTH, JSON},
	{"GET", "/v1/batches/{bid}/events", route_batch_events, AUTH, NONE},
	{"GET", "/v1/batches/{bid}/failed", route_batch_failed, AUTH, NONE},
	{"POST", "/v1/batches/{bid}/retry", route_batch_retry, AUTH, JSON},
	{"GET", "/v1/batches/{bid}/results", route_batch_results, AUTH, NONE},
	{"GET", "/v1/batches/{bid}/trades", route_batch_trades, AUTH, NONE},
	{"POST", "/v1/batches/{bid}/reaudit", route_batch_reaudit, AUTH, BATCH_JSON},
	{"GET", "/v1/batches/{bid}/changes", route_batch_changes, AUTH, NONE},
	{"GET", "/v1/batches/{bid}/webhooks", route_batch_webhooks, AUTH, NONE},
	{"POST", "/v1/batches/{bid}/webhooks/redeliver", route_batch_redeliver, AUTH, JSON},
	{"GET", "/v1/recordings/{rid}", route_recording_get, AUTH, NONE},
	{"GET", "/v1/recordings/{rid}/audio", route_recording_audio, AUTH, NONE},
};
const size_t web_routes_count = sizeof(web_routes) / sizeof(web_routes[0]);
