#include "web/json_body.h"

#include <stdbool.h>
#include <string.h>

#include "util/json_nomem.h"

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!strchr(" \t\r\n", s[i]))
			return false;
	return true;
}

enum parley_err web_json_body_parse(const char *body, size_t len, json_t **out,
				    struct parley_error *err)
{
	return web_json_body_parse_limit(body, len, WEB_JSON_LIMIT, out, err);
}

enum parley_err web_json_body_parse_limit(const char *body, size_t len, size_t limit, json_t **out,
					  struct parley_error *err)
{
	*out = NULL;
	if (len > limit)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"JSON body of %zu bytes is over the limit of %zu bytes", len,
					limit);
	if (!body || blank(body, len)) {
		*out = json_object();
		return *out ? PARLEY_OK : parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
	}
	/* Nesting is checked before jansson recurses: brackets bound the depth. */
	size_t open = 0, deepest = 0;
	bool in_string = false;
	for (size_t i = 0; i < len; i++) {
		char c = body[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			if (++open > deepest)
				deepest = open;
		} else if ((c == '}' || c == ']') && open) {
			open--;
		}
	}
	if (deepest > WEB_JSON_DEPTH_MAX)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"JSON body nested deeper than %d levels", WEB_JSON_DEPTH_MAX);
	json_error_t je;
	json_nomem_reset();
	json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (json_load_nomem(v, &je)) /* not the client's fault */
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory reading the JSON body");
	if (!v)
		return parley_error_set(err, PARLEY_ERR_INVALID, "JSON body line %d column %d: %s",
					je.line, je.column, je.text);
	if (!json_is_object(v)) {
		static const char *const kinds[] = {[JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array",
			[JSON_STRING] = "a string", [JSON_INTEGER] = "a number", [JSON_REAL] = "a number",
			[JSON_TRUE] = "true", [JSON_FALSE] = "false", [JSON_NULL] = "null"};
		enum parley_err rc = parley_error_set(err, PARLEY_ERR_INVALID,
			"JSON body: expected a JSON object, got %s", kinds[json_typeof(v)]);
		json_decref(v);
		return rc;
	}
	*out = v;
	return PARLEY_OK;
}

enum parley_err web_json_string_field(const json_t *o, const char *key, size_t max,
				      const char **value, struct parley_error *err)
{
	*value = NULL;
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v))
		return PARLEY_OK;
	if (!json_is_string(v))
		return parley_error_set(err, PARLEY_ERR_INVALID, "field \"%s\" must be a string", key);
	if (json_string_length(v) > max)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"field \"%s\" is longer than %zu bytes", key, max);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return parley_error_set(err, PARLEY_ERR_INVALID, "field \"%s\" contains a NUL", key);
	*value = json_string_value(v);
	return PARLEY_OK;
}
