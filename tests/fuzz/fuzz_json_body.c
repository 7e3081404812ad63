/*
 * fuzz_json_body.c — libFuzzer target for JSON request bodies (outside
 * input: the body of POST /v1/sessions, /join, /end, /claim). Whatever the
 * bytes, web_json_body_parse must either give one JSON object (and then the
 * field readers the handlers use must behave), or fail with INVALID or
 * TOO_LARGE, no object, and a message saying what was wrong.
 */
#include <stdint.h>
#include <string.h>

#include "session/session.h"
#include "web/json_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *o = (json_t *)(uintptr_t)1; /* must be reset */
	struct parley_error err = {0};
	enum parley_err rc = web_json_body_parse((const char *)data, size, &o, &err);
	if (rc != PARLEY_OK) {
		if (o != NULL || err.code != rc || !err.msg[0])
			__builtin_trap();
		if (rc != PARLEY_ERR_INVALID && rc != PARLEY_ERR_TOO_LARGE)
			__builtin_trap();
		if (rc == PARLEY_ERR_TOO_LARGE && size <= WEB_JSON_LIMIT)
			__builtin_trap();
		return 0;
	}
	if (!o || !json_is_object(o) || size > WEB_JSON_LIMIT)
		__builtin_trap();
	static const char *const keys[] = {"title", "code"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = (const char *)(uintptr_t)1;
		struct parley_error ferr = {0};
		enum parley_err frc = web_json_string_field(o, keys[i], 200, &v, &ferr);
		if (frc == PARLEY_OK) {
			if (v && strlen(v) > 200)
				__builtin_trap();
		} else if (frc != PARLEY_ERR_INVALID || !ferr.msg[0]) {
			__builtin_trap();
		}
	}
	json_decref(o);
	return 0;
}
