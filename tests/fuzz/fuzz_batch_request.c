/*
 * fuzz_batch_request.c — libFuzzer target for the body of POST /v1/batches
 * (outside input: an operator's request; core/batches.h
 * batches_request_parse, the check that runs before anything is stored).
 * Whatever the bytes, once they are a JSON object (web_json_body_parse_limit,
 * 4 MiB): either a request comes out whose name is 1..255 bytes without
 * control characters, whose stage list names known stages, whose
 * configuration is canonical JSON that parses again, and whose webhook (when
 * given) has a URL and a secret; or it fails with a code and a message and
 * owns nothing.
 */
#include <stdint.h>
#include <string.h>

#include "core/batches.h"
#include "core/pipeline.h"
#include "stages/pipeline_config.h"
#include "web/json_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *o = NULL;
	struct parley_error err = {0};
	if (web_json_body_parse_limit((const char *)data, size, (size_t)4 << 20, &o, &err))
		return 0;
	struct batches_request r;
	memset(&r, 0x5a, sizeof(r)); /* must be reset */
	err = (struct parley_error){0};
	enum parley_err rc = batches_request_parse(o, &r, &err);
	if (rc != PARLEY_OK) {
		if (err.code != rc || !err.msg[0] || r.config_json || r.questionnaire || r.rules ||
		    r.with_hook)
			__builtin_trap();
		json_decref(o);
		return 0;
	}
	size_t n = strlen(r.name);
	if (n == 0 || n >= STORE_NAME_MAX || !r.config_json)
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)r.name[i] < 0x20 || r.name[i] == 0x7f)
			__builtin_trap();
	const struct stage *rows[64];
	struct pipeline pl;
	if (r.stages[0] && pipeline_parse(r.stages, rows, &pl, &err) != PARLEY_OK)
		__builtin_trap();
	struct pipeline_config c;
	pipeline_config_init(&c);
	if (pipeline_config_parse(&c, "again", r.config_json, strlen(r.config_json), &err) != PARLEY_OK)
		__builtin_trap();
	pipeline_config_release(&c);
	if (r.with_hook && (!r.hook.url[0] || !r.hook.secret[0]))
		__builtin_trap();
	batches_request_release(&r);
	json_decref(o);
	return 0;
}
