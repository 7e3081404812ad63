/*
 * fuzz_jschema.c — libFuzzer target for util/jschema.h (schemas come from
 * configuration, values from LLM servers). The input is a schema, a newline,
 * a value. Contract: jschema_check gives OK or INVALID with a message; for
 * a schema that passes, jschema_validate gives OK or INVALID with a message
 * starting "$", and validating the same value twice gives the same answer.
 */
#include <stdint.h>
#include <string.h>

#include "util/jschema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nl = memchr(text, '\n', size);
	if (!nl)
		return 0;
	json_error_t je;
	json_t *schema = json_loadb(text, (size_t)(nl - text), JSON_DECODE_ANY, &je);
	json_t *value = json_loadb(nl + 1, size - (size_t)(nl + 1 - text), JSON_DECODE_ANY, &je);
	if (schema) {
		struct parley_error err = {0};
		enum parley_err rc = jschema_check(schema, &err);
		if (rc != PARLEY_OK && (rc != PARLEY_ERR_INVALID || !err.msg[0]))
			__builtin_trap();
		if (rc == PARLEY_OK && value) {
			struct parley_error e1 = {0}, e2 = {0};
			enum parley_err r1 = jschema_validate(schema, value, &e1);
			enum parley_err r2 = jschema_validate(schema, value, &e2);
			if (r1 != r2 || (r1 != PARLEY_OK && r1 != PARLEY_ERR_INVALID))
				__builtin_trap();
			if (r1 && (e1.msg[0] != '$' || strcmp(e1.msg, e2.msg) != 0))
				__builtin_trap();
		}
	}
	json_decref(schema);
	json_decref(value);
	return 0;
}
