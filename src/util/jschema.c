/* jschema.c — see jschema.h. */
#include "util/jschema.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define PATH_MAX_LEN 256

static const char *const type_names[] = {"object", "array",   "string", "integer",
					 "number", "boolean", "null"};

static bool known_type(const char *t)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcmp(t, type_names[i]) == 0)
			return true;
	return false;
}

static bool is_count(const json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) >= 0;
}

static enum parley_err check_at(const json_t *s, int depth, const char *path,
				struct parley_error *err);

static enum parley_err bad(struct parley_error *err, const char *path, const char *what)
{
	return parley_error_set(err, PARLEY_ERR_INVALID, "schema %s: %s", path, what);
}

static enum parley_err check_at(const json_t *s, int depth, const char *path,
				struct parley_error *err)
{
	if (depth > JSCHEMA_MAX_DEPTH)
		return bad(err, path, "nested too deeply");
	if (json_is_boolean(s))
		return PARLEY_OK;
	if (!json_is_object(s))
		return bad(err, path, "a schema is an object");
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)s, key, v)
	{
		char sub[PATH_MAX_LEN];
		if (strcmp(key, "type") == 0) {
			if (json_is_string(v)) {
				if (!known_type(json_string_value(v)))
					return bad(err, path, "unknown type");
			} else if (json_is_array(v) && json_array_size(v) > 0) {
				size_t i;
				json_t *t;
				json_array_foreach(v, i, t)
				if (!json_is_string(t) || !known_type(json_string_value(t)))
					return bad(err, path, "unknown type in the type list");
			} else {
				return bad(err, path, "\"type\" wants a name or a list of names");
			}
		} else if (strcmp(key, "properties") == 0) {
			if (!json_is_object(v))
				return bad(err, path, "\"properties\" wants an object");
			const char *pk;
			json_t *ps;
			json_object_foreach(v, pk, ps)
			{
				snprintf(sub, sizeof(sub), "%s.%s", path, pk);
				enum parley_err rc = check_at(ps, depth + 1, sub, err);
				if (rc)
					return rc;
			}
		} else if (strcmp(key, "required") == 0) {
			if (!json_is_array(v))
				return bad(err, path, "\"required\" wants a list of names");
			size_t i;
			json_t *r;
			json_array_foreach(v, i, r)
			if (!json_is_string(r))
				return bad(err, path, "\"required\" wants a list of names");
		} else if (strcmp(key, "additionalProperties") == 0 || strcmp(key, "items") == 0) {
			snprintf(sub, sizeof(sub), "%s.%s", path, key);
			enum parley_err rc = check_at(v, depth + 1, sub, err);
			if (rc)
				return rc;
		} else if (strcmp(key, "enum") == 0) {
			if (!json_is_array(v) || json_array_size(v) == 0)
				return bad(err, path, "\"enum\" wants a non-empty list");
		} else if (strcmp(key, "minimum") == 0 || strcmp(key, "maximum") == 0) {
			if (!json_is_number(v))
				return bad(err, path, "minimum/maximum want a number");
		} else if (strcmp(key, "minLength") == 0 || strcmp(key, "maxLength") == 0 ||
			   strcmp(key, "minItems") == 0 || strcmp(key, "maxItems") == 0) {
			if (!is_count(v))
				return bad(err, path, "length and item limits want a whole number >= 0");
		} else if (strcmp(key, "title") != 0 && strcmp(key, "description") != 0 &&
			   strcmp(key, "$schema") != 0 && strcmp(key, "$id") != 0 &&
			   strcmp(key, "default") != 0 && strcmp(key, "examples") != 0) {
			char what[160];
			snprintf(what, sizeof(what), "keyword \"%.60s\" is not supported", key);
			return bad(err, path, what);
		}
	}
	return PARLEY_OK;
}

enum parley_err jschema_check(const json_t *schema, struct parley_error *err)
{
	if (!schema)
		return parley_error_set(err, PARLEY_ERR_INVALID, "no schema");
	return check_at(schema, 0, "$", err);
}

static bool type_matches(const char *t, const json_t *v)
{
	if (strcmp(t, "object") == 0)
		return json_is_object(v);
	if (strcmp(t, "array") == 0)
		return json_is_array(v);
	if (strcmp(t, "string") == 0)
		return json_is_string(v);
	if (strcmp(t, "integer") == 0)
		return json_is_integer(v) ||
		       (json_is_real(v) && isfinite(json_real_value(v)) &&
			json_real_value(v) == floor(json_real_value(v)));
	if (strcmp(t, "number") == 0)
		return json_is_number(v);
	if (strcmp(t, "boolean") == 0)
		return json_is_boolean(v);
	if (strcmp(t, "null") == 0)
		return json_is_null(v);
	return false;
}

static const char *kind_of(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "a list";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static size_t utf8_length(const char *s, size_t n)
{
	size_t count = 0;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			count++;
	return count;
}

static enum parley_err validate_at(const json_t *s, const json_t *v, int depth, const char *path,
				   struct parley_error *err)
{
	if (depth > JSCHEMA_MAX_DEPTH)
		return parley_error_set(err, PARLEY_ERR_INVALID, "%s: nested too deeply", path);
	if (json_is_boolean(s))
		return json_is_true(s) ? PARLEY_OK
				       : parley_error_set(err, PARLEY_ERR_INVALID,
							  "%s: no value is allowed here", path);
	json_t *t = json_object_get(s, "type");
	if (json_is_string(t) && !type_matches(json_string_value(t), v))
		return parley_error_set(err, PARLEY_ERR_INVALID, "%s: want %s, got %s", path,
					json_string_value(t), kind_of(v));
	if (json_is_array(t)) {
		bool any = false;
		size_t i;
		json_t *x;
		json_array_foreach(t, i, x)
		if (json_is_string(x) && type_matches(json_string_value(x), v))
			any = true;
		if (!any)
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"%s: %s is none of the allowed types", path, kind_of(v));
	}
	json_t *en = json_object_get(s, "enum");
	if (json_is_array(en)) {
		bool any = false;
		size_t i;
		json_t *x;
		json_array_foreach(en, i, x)
		if (json_equal(x, (json_t *)v))
			any = true;
		if (!any)
			return parley_error_set(err, PARLEY_ERR_INVALID, "%s: not one of the allowed values",
						path);
	}
	if (json_is_number(v)) {
		double x = json_number_value(v);
		json_t *mn = json_object_get(s, "minimum"), *mx = json_object_get(s, "maximum");
		if (json_is_number(mn) && x < json_number_value(mn))
			return parley_error_set(err, PARLEY_ERR_INVALID, "%s: below the minimum %g", path,
						json_number_value(mn));
		if (json_is_number(mx) && x > json_number_value(mx))
			return parley_error_set(err, PARLEY_ERR_INVALID, "%s: above the maximum %g", path,
						json_number_value(mx));
	}
	if (json_is_string(v)) {
		size_t len = utf8_length(json_string_value(v), json_string_length(v));
		json_t *mn = json_object_get(s, "minLength"), *mx = json_object_get(s, "maxLength");
		if (is_count(mn) && len < (size_t)json_integer_value(mn))
			return parley_error_set(err, PARLEY_ERR_INVALID, "%s: shorter than %g characters", path,
						(double)json_integer_value(mn));
		if (is_count(mx) && len > (size_t)json_integer_value(mx))
			return parley_error_set(err, PARLEY_ERR_INVALID, "%s: longer than %g characters", path,
						(double)json_integer_value(mx));
	}
	if (json_is_array(v)) {
		size_t n = json_array_size(v);
		json_t *mn = json_object_get(s, "minItems"), *mx = json_object_get(s, "maxItems");
		if (is_count(mn) && n < (size_t)json_integer_value(mn))
			return parley_error_set(err, PARLEY_ERR_INVALID, "%s: fewer than %g items", path,
						(double)json_integer_value(mn));
		if (is_count(mx) && n > (size_t)json_integer_value(mx))
			return parley_error_set(err, PARLEY_ERR_INVALID, "%s: more than %g items", path,
						(double)json_integer_value(mx));
		json_t *items = json_object_get(s, "items");
		if (items) {
			size_t i;
			json_t *x;
			json_array_foreach(v, i, x)
			{
				char sub[PATH_MAX_LEN];
				snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
				enum parley_err rc = validate_at(items, x, depth + 1, sub, err);
				if (rc)
					return rc;
			}
		}
	}
	if (json_is_object(v)) {
		json_t *req = json_object_get(s, "required");
		size_t i;
		json_t *r;
		json_array_foreach(req, i, r)
		if (json_is_string(r) && !json_object_get(v, json_string_value(r)))
			return parley_error_set(err, PARLEY_ERR_INVALID, "%s: \"%.60s\" is missing", path,
						json_string_value(r));
		json_t *props = json_object_get(s, "properties");
		json_t *extra = json_object_get(s, "additionalProperties");
		const char *key;
		json_t *x;
		json_object_foreach((json_t *)v, key, x)
		{
			char sub[PATH_MAX_LEN];
			snprintf(sub, sizeof(sub), "%s.%.60s", path, key);
			json_t *ps = json_object_get(props, key);
			enum parley_err rc = PARLEY_OK;
			if (ps)
				rc = validate_at(ps, x, depth + 1, sub, err);
			else if (json_is_false(extra))
				rc = parley_error_set(err, PARLEY_ERR_INVALID,
						      "%s: \"%.60s\" is not allowed here", path, key);
			else if (json_is_object(extra))
				rc = validate_at(extra, x, depth + 1, sub, err);
			if (rc)
				return rc;
		}
	}
	return PARLEY_OK;
}

enum parley_err jschema_validate(const json_t *schema, const json_t *value,
				 struct parley_error *err)
{
	if (!schema || !value)
		return parley_error_set(err, PARLEY_ERR_INVALID, "$: no value");
	return validate_at(schema, value, 0, "$", err);
}
