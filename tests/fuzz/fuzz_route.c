/*
 * fuzz_route.c — libFuzzer target for request routing (outside input: the
 * method and path of every HTTP request to `parley serve`). Input: the
 * method, a newline, the (decoded) path. Whatever the bytes, router_match
 * over the real route table must hold:
 *   - the outcome is one of the four, and the same when asked twice;
 *   - MATCH: a route whose method is the request's (HEAD: a GET row), and
 *     every parameter the pattern names is valid: {id} passes
 *     session_id_valid, {seq} is 0..SESSION_SEQ_MAX, {n} is
 *     1..ROUTER_SPEAKER_MAX, {path*} is NUL-terminated, has no segment
 *     starting with '.' (so never ".."; "a..b" is a plain name), {bid} is
 *     1..ROUTER_BATCH_MAX, {rid} likewise, {file} is a name of [A-Za-z0-9._-] not starting
 *     with '.' (never "..", never a '/'), and
 *     parameters the pattern lacks are unset;
 *   - METHOD: a non-empty Allow list; INVALID: a non-empty message.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/router.h"
#include "web/routes.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rest(const char *rest)
{
	if (!memchr(rest, '\0', ROUTER_REST_MAX))
		__builtin_trap();
	for (const char *p = rest; *p; p++)
		if (*p == '.' && (p == rest || p[-1] == '/'))
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_cstr(data, size, 3 * ROUTER_PATH_MAX);
	if (!buf)
		return 0;
	char *nl = strchr(buf, '\n');
	const char *method = "GET", *path = buf;
	if (nl) {
		*nl = '\0';
		method = buf;
		path = nl + 1;
	}
	struct router_result m, again;
	router_match(web_routes, web_routes_count, method, path, &m);
	router_match(web_routes, web_routes_count, method, path, &again);
	if (m.outcome != again.outcome || m.route != again.route)
		__builtin_trap();
	switch (m.outcome) {
	case ROUTER_MATCH: {
		const struct web_route *r = m.route;
		if (!r || (strcmp(r->method, method) != 0 &&
			   !(strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0)))
			__builtin_trap();
		bool has_id = strstr(r->pattern, "{id}"), has_seq = strstr(r->pattern, "{seq}");
		bool has_n = strstr(r->pattern, "{n}"), has_rest = strstr(r->pattern, "{path*}");
		if (has_id != session_id_valid(m.params.id))
			__builtin_trap();
		if (has_seq ? (m.params.seq < 0 || m.params.seq > SESSION_SEQ_MAX)
			    : m.params.seq != -1)
			__builtin_trap();
		if (has_n ? (m.params.speaker < 1 || m.params.speaker > ROUTER_SPEAKER_MAX)
			  : m.params.speaker != -1)
			__builtin_trap();
		check_rest(m.params.rest);
		bool has_bid = strstr(r->pattern, "{bid}"), has_file = strstr(r->pattern, "{file}");
		if (has_bid ? (m.params.batch < 1 || m.params.batch > ROUTER_BATCH_MAX)
			    : m.params.batch != 0)
			__builtin_trap();
		bool has_rid = strstr(r->pattern, "{rid}");
		if (has_rid ? (m.params.recording < 1 || m.params.recording > ROUTER_BATCH_MAX)
			    : m.params.recording != 0)
			__builtin_trap();
		if (!memchr(m.params.file, '\0', sizeof(m.params.file)) ||
		    has_file != (m.params.file[0] != '\0') || m.params.file[0] == '.' ||
		    strchr(m.params.file, '/'))
			__builtin_trap();
		if (!has_rest && m.params.rest[0])
			__builtin_trap();
		break;
	}
	case ROUTER_METHOD:
		if (!m.allow[0] || !memchr(m.allow, '\0', sizeof(m.allow)))
			__builtin_trap();
		break;
	case ROUTER_INVALID:
		if (!m.msg[0] || !memchr(m.msg, '\0', sizeof(m.msg)))
			__builtin_trap();
		break;
	case ROUTER_NOT_FOUND:
		break;
	default:
		__builtin_trap();
	}
	free(buf);
	return 0;
}
