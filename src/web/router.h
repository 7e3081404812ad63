/*
 * router.h — which handler answers METHOD PATH: a pure function over a table
 * of route rows (the table of `parley serve` is web_routes[] in
 * src/web/routes.c). No HTTP library, no I/O: fuzzable on its own.
 *
 *   struct router_result m;
 *   router_match(web_routes, web_routes_count, "PUT", "/v1/sessions/k2x…/chunks/3", &m);
 *   if (m.outcome == ROUTER_MATCH) m.route->handler(...);   // m.params.id, m.params.seq
 *
 * Patterns are literal segments and {param} segments:
 *   {id}    a session id (session_id_valid: 20 chars of [a-z2-7])
 *   {seq}   a chunk sequence number, 0..SESSION_SEQ_MAX, decimal, no sign
 *           or leading zero
 *   {n}     a speaker number, 1..ROUTER_SPEAKER_MAX, same syntax
 *   {bid}   a batch id, 1..ROUTER_BATCH_MAX, decimal, no sign or leading zero
 *   {rid}   a recording id, 1..ROUTER_BATCH_MAX, same syntax
 *   {file}  a file name: 1..ROUTER_FILE_MAX characters of [A-Za-z0-9._-],
 *           not starting with '.'
 *   {path*} the rest of the path (last in a pattern): segments of
 *           [A-Za-z0-9._-] not starting with '.', at most ROUTER_REST_MAX-1
 *           bytes in all (static files; never "..")
 * Outcomes: MATCH (route and params filled); NOT_FOUND (no pattern has this
 * shape: 404); METHOD (the shape exists for other methods: 405, `allow`
 * lists them, "GET, POST"); INVALID (the route exists but a parameter is
 * malformed: 400, `msg` says which). HEAD is answered by GET rows. Paths are
 * the decoded path without the query string; a NULL method or path is
 * NOT_FOUND. Thread-safe (reads the table only).
 */
#ifndef PARLEY_WEB_ROUTER_H
#define PARLEY_WEB_ROUTER_H

#include <stddef.h>

#include "session/session.h"

#define ROUTER_SPEAKER_MAX 999
#define ROUTER_REST_MAX 256
#define ROUTER_BATCH_MAX 999999999999LL
#define ROUTER_FILE_MAX 200
#define ROUTER_PATH_MAX 2048 /* longer paths are NOT_FOUND */

/* What a route's body is: none expected, a JSON object, raw bytes. */
enum web_body { WEB_BODY_NONE, WEB_BODY_JSON, WEB_BODY_RAW };

#define WEB_ROUTE_AUTH 0x1u /* needs Authorization: Bearer TOKEN (401 without) */
#define WEB_ROUTE_POOL 0x2u /* the handler decodes uploads: it runs in the decode pool,
			       not on an HTTP thread (web/server.h) */

struct web_req;
struct web_resp;
typedef void (*web_handler)(struct web_req *q, struct web_resp *r);

struct web_route {
	const char *method;  /* "GET", "POST", "PUT", "DELETE" */
	const char *pattern; /* "/v1/sessions/{id}/speakers/{n}/claim" */
	web_handler handler;
	unsigned flags;      /* WEB_ROUTE_* */
	enum web_body body;
	size_t body_limit;   /* bytes; 0 with WEB_BODY_RAW: the server's --max-chunk-bytes */
	/* Optional: run when the headers are in, after authentication and before
	 * any body byte is read (q->body is empty, q->body_len the declared
	 * length or 0); a request it answers (r->status set) is refused without
	 * reading its body. NULL: none. */
	web_handler precheck;
};

struct web_params {
	char id[SESSION_ID_LEN + 1]; /* {id}, "" when the pattern has none */
	int seq;                     /* {seq}, -1 when none */
	int speaker;                 /* {n}, -1 when none */
	char rest[ROUTER_REST_MAX];  /* {path*}, "" when none */
	long long batch;             /* {bid}, 0 when none */
	long long recording;         /* {rid}, 0 when none */
	char file[ROUTER_FILE_MAX + 1]; /* {file}, "" when none */
};

enum router_outcome { ROUTER_MATCH, ROUTER_NOT_FOUND, ROUTER_METHOD, ROUTER_INVALID };

struct router_result {
	enum router_outcome outcome;
	const struct web_route *route; /* MATCH (and INVALID: the row whose parameter failed) */
	struct web_params params;
	char allow[64]; /* METHOD: the methods the path has */
	char msg[256];  /* INVALID: what was wrong */
};

void router_match(const struct web_route *table, size_t n, const char *method, const char *path,
		  struct router_result *out);

#define ROUTER_QUERY_ARGS_MAX 32    /* query arguments of one request */
#define ROUTER_QUERY_BYTES_MAX 2048 /* the query string, '?' excluded */

/* The raw request target (before any %-decoding) checked: status 0 when
 * fine; 400 when the path holds an encoded '/' (%2F: decoded, it would
 * become a separator, so "/static/a%2Fb" must not mean "a/b"); 414 when the
 * query has more than ROUTER_QUERY_ARGS_MAX arguments or
 * ROUTER_QUERY_BYTES_MAX bytes. msg (static) says why; *query_at is the
 * offset of the '?' (or -1 when none), where the caller cuts a refused
 * query. Pure: fuzzed in tests/fuzz/fuzz_uri.c. */
struct router_uri_check {
	int status;
	const char *msg;
	long query_at;
};
void router_check_uri(const char *uri, struct router_uri_check *out);

#endif
