/*
 * routes.h — the route table of `parley serve` (docs/api.md) and its
 * handlers, one file per resource:
 *   route_sessions.c  /v1/me, /v1/signup, /v1/sessions…, join, end
 *   route_chunks.c    PUT /v1/sessions/{id}/chunks/{seq}
 *   route_speakers.c  speakers, samples (Range), claims
 *   route_results.c   results, leaderboard
 *   route_batches.c   /v1/batches…: audit batches (core/batches.h, core/reaudit.h)
 *   route_events.c    /v1/events (server-sent events), /v1/overview: the dashboard's figures
 *   route_recordings.c /v1/recordings/{rid}[/audio]: one recording's story and
 *                     its audio with Range (core/recording_view.h)
 *   route_health.c    /health, /metrics
 *   route_static.c    /, /dashboard and /static/… (compiled-in assets)
 * A handler reads its web_req and fills its web_resp (src/web/http.h); the
 * server has already matched the route, validated the path parameters,
 * authenticated the caller (WEB_ROUTE_AUTH) and parsed the JSON body.
 */
#ifndef PARLEY_WEB_ROUTES_H
#define PARLEY_WEB_ROUTES_H

#include <stddef.h>

#include "web/http.h"
#include "web/router.h"

extern const struct web_route web_routes[];
extern const size_t web_routes_count;

void route_me(struct web_req *q, struct web_resp *r);
void route_signup_info(struct web_req *q, struct web_resp *r);
void route_signup(struct web_req *q, struct web_resp *r);
void route_session_create(struct web_req *q, struct web_resp *r);
void route_session_list(struct web_req *q, struct web_resp *r);
void route_session_get(struct web_req *q, struct web_resp *r);
void route_session_join(struct web_req *q, struct web_resp *r);
void route_session_end(struct web_req *q, struct web_resp *r);
void route_chunk_put(struct web_req *q, struct web_resp *r);
void route_chunk_check(struct web_req *q, struct web_resp *r); /* precheck */
void route_batch_file_check(struct web_req *q, struct web_resp *r); /* precheck */
void route_speakers(struct web_req *q, struct web_resp *r);
void route_sample(struct web_req *q, struct web_resp *r);
void route_claim(struct web_req *q, struct web_resp *r);
void route_unclaim(struct web_req *q, struct web_resp *r);
void route_results(struct web_req *q, struct web_resp *r);
void route_leaderboard(struct web_req *q, struct web_resp *r);
void route_batch_create(struct web_req *q, struct web_resp *r);
void route_batch_list(struct web_req *q, struct web_resp *r);
void route_batch_get(struct web_req *q, struct web_resp *r);
void route_batch_file_put(struct web_req *q, struct web_resp *r);
void route_batch_paths(struct web_req *q, struct web_resp *r);
void route_batch_metadata(struct web_req *q, struct web_resp *r);
void route_batch_start(struct web_req *q, struct web_resp *r);
void route_batch_events(struct web_req *q, struct web_resp *r);
void route_batch_failed(struct web_req *q, struct web_resp *r);
void route_batch_retry(struct web_req *q, struct web_resp *r);
void route_batch_results(struct web_req *q, struct web_resp *r);
void route_batch_trades(struct web_req *q, struct web_resp *r);
void route_batch_webhooks(struct web_req *q, struct web_resp *r);
void route_batch_redeliver(struct web_req *q, struct web_resp *r);
void route_batch_reaudit(struct web_req *q, struct web_resp *r);
void route_batch_changes(struct web_req *q, struct web_resp *r);
void route_events(struct web_req *q, struct web_resp *r);
void route_overview(struct web_req *q, struct web_resp *r);
void route_recording_get(struct web_req *q, struct web_resp *r);
void route_recording_audio(struct web_req *q, struct web_resp *r);
void route_health(struct web_req *q, struct web_resp *r);
void route_metrics(struct web_req *q, struct web_resp *r);
void route_index(struct web_req *q, struct web_resp *r);
void route_dashboard(struct web_req *q, struct web_resp *r);
void route_static(struct web_req *q, struct web_resp *r);

#endif
