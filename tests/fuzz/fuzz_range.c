/*
 * fuzz_range.c — libFuzzer target for the Range header (outside input of
 * every sample and recording-audio request, src/web/range.h). Input: the
 * file size in decimal, a newline, the header value. Whatever the bytes:
 *   - the outcome is one of the three, and the same when asked twice;
 *   - WEB_RANGE_OK: first <= last < size (so a 206 never reads past the file);
 *   - a header without "bytes=" or with a ',' is WEB_RANGE_NONE;
 *   - size 0 is never WEB_RANGE_OK.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/range.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_cstr(data, size, 4096);
	if (!buf)
		return 0;
	char *nl = strchr(buf, '\n');
	uint64_t fsize = 1000;
	const char *h = buf;
	if (nl) {
		*nl = '\0';
		fsize = strtoull(buf, NULL, 10);
		h = nl + 1;
	}
	uint64_t a = 7, b = 7, a2 = 9, b2 = 9;
	enum web_range k = web_range_parse(h, fsize, &a, &b);
	enum web_range k2 = web_range_parse(h, fsize, &a2, &b2);
	if (k != k2 || (k == WEB_RANGE_OK && (a != a2 || b != b2)))
		__builtin_trap();
	switch (k) {
	case WEB_RANGE_OK:
		if (a > b || b >= fsize || fsize == 0)
			__builtin_trap();
		break;
	case WEB_RANGE_NONE:
	case WEB_RANGE_UNSATISFIABLE:
		break;
	default:
		__builtin_trap();
	}
	if ((strncmp(h, "bytes=", 6) != 0 || strchr(h, ',')) && k != WEB_RANGE_NONE)
		__builtin_trap();
	free(buf);
	return 0;
}
