/*
 * json_body.h — the JSON body of a request, checked at the edge. No HTTP
 * library: fuzzable on its own.
 *
 *   json_t *o = NULL;
 *   if (web_json_body_parse(body, len, &o, &err)) → 400 / 413 with err.msg
 *   const char *title = NULL;
 *   web_json_string_field(o, "title", 200, &title, &err);   // optional string
 *   json_decref(o);
 *
 * An empty body (len 0, or only whitespace) is an empty object: routes whose
 * body is "none or {}" accept both. Anything else must be one JSON object of
 * at most WEB_JSON_LIMIT bytes, UTF-8, no NUL, no duplicate keys, nesting at
 * most WEB_JSON_DEPTH_MAX deep. Errors: TOO_LARGE over the limit; INVALID
 * with jansson's line/column ("body line 1 column 9: '}' expected") or
 * "body: expected a JSON object, got an array". *out is NULL on error; the
 * caller owns it otherwise. Thread-safe.
 */
#ifndef PARLEY_WEB_JSON_BODY_H
#define PARLEY_WEB_JSON_BODY_H

#include <jansson.h>
#include <stddef.h>

#include "util/error.h"

#define WEB_JSON_LIMIT (64 * 1024)
#define WEB_JSON_DEPTH_MAX 16

enum parley_err web_json_body_parse(const char *body, size_t len, json_t **out,
				    struct parley_error *err);
/* The same with another limit than WEB_JSON_LIMIT (a route's own). */
enum parley_err web_json_body_parse_limit(const char *body, size_t len, size_t limit, json_t **out,
					  struct parley_error *err);

/* An optional string field of object o: *value NULL when absent or null;
 * INVALID when of another type or longer than max bytes. */
enum parley_err web_json_string_field(const json_t *o, const char *key, size_t max,
				      const char **value, struct parley_error *err);

#endif
