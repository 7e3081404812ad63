/*
 * fuzz_pipeline_config.c — libFuzzer target for the pipeline configuration
 * parser (outside input: `--pipeline-config FILE`, and batches.config as
 * stored). Whether the bytes parse or not, the result must hold:
 *   - a failure carries "fuzz:LINE:COL: …" (or "fuzz: …" for the size bound)
 *     and its own code,
 *   - a success passes the cross-field checks and round-trips: its
 *     canonical JSON parses to the same configuration and the same text,
 *   - every text field stays NUL-terminated inside its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stages/pipeline_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *field, size_t size)
{
	if (!memchr(field, '\0', size))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pipeline_config c;
	pipeline_config_init(&c);
	struct parley_error err = {0};
	enum parley_err rc = pipeline_config_parse(&c, "fuzz", (const char *)data, size, &err);
	check_text(c.stt.engine, sizeof(c.stt.engine));
	check_text(c.stt.prompt, sizeof(c.stt.prompt));
	check_text(c.llm.api_key_env, sizeof(c.llm.api_key_env));
	check_text(c.lexicon.path, sizeof(c.lexicon.path));
	if (rc != PARLEY_OK) {
		if (strncmp(err.msg, "fuzz:", 5) != 0 || err.code != rc)
			__builtin_trap();
		pipeline_config_release(&c);
		return 0;
	}
	struct parley_error e2 = {0};
	if (pipeline_config_check(&c, &e2) != PARLEY_OK)
		__builtin_trap();
	char *json = NULL, *again = NULL;
	if (pipeline_config_to_json(&c, false, &json, &e2) != PARLEY_OK)
		__builtin_trap();
	struct pipeline_config d;
	pipeline_config_init(&d);
	if (pipeline_config_parse(&d, "canonical", json, strlen(json), &e2) != PARLEY_OK ||
	    pipeline_config_diff(&c, &d) != NULL)
		__builtin_trap();
	if (pipeline_config_to_json(&d, false, &again, &e2) != PARLEY_OK || strcmp(json, again) != 0)
		__builtin_trap();
	free(json);
	free(again);
	pipeline_config_release(&d);
	pipeline_config_release(&c);
	return 0;
}
