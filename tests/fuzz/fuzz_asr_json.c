/*
 * fuzz_asr_json.c — libFuzzer target for asr_json_parse() (what
 * speech-to-text servers and exec commands answer). Contract: failure gives
 * ENGINE, TOO_LARGE or NOMEM with a message and no words; success gives words
 * in time order with finite offset <= start <= end <= offset + duration,
 * confidence in 0..1, non-empty NUL-terminated lower-case text, and a
 * NUL-terminated language.
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engines/asr_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct asr_word *w = NULL;
	size_t n = 0;
	char lang[16];
	struct parley_error err = {0};
	const double offset = 10.0, duration = 30.0;
	enum parley_err rc = asr_json_parse((const char *)data, size, offset, duration, &w, &n,
					    lang, &err);
	if (rc != PARLEY_OK) {
		if (rc != PARLEY_ERR_ENGINE && rc != PARLEY_ERR_TOO_LARGE && rc != PARLEY_ERR_NOMEM)
			__builtin_trap();
		if (err.code != rc || !err.msg[0] || w || n)
			__builtin_trap();
		return 0;
	}
	if (memchr(lang, '\0', sizeof(lang)) == NULL)
		__builtin_trap();
	for (size_t i = 0; i < n; i++) {
		if (!(isfinite(w[i].start) && w[i].start >= offset && w[i].end >= w[i].start &&
		      w[i].end <= offset + duration + 1e-9))
			__builtin_trap();
		if (!(w[i].confidence >= 0 && w[i].confidence <= 1))
			__builtin_trap();
		if (memchr(w[i].text, '\0', sizeof(w[i].text)) == NULL || !w[i].text[0])
			__builtin_trap();
		for (const char *c = w[i].text; *c; c++)
			if (isupper((unsigned char)*c) || isspace((unsigned char)*c))
				__builtin_trap();
		if (i > 0 && w[i].start < w[i - 1].start)
			__builtin_trap();
	}
	free(w);
	return 0;
}
