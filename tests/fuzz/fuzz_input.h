/* fuzz_input.h — shared by the fuzz targets that parse text.
 *
 * fuzz_cstr(data, size, max): a malloc'd, NUL-terminated copy of the
 * fuzzer's bytes, or NULL when size exceeds max (inputs past the parser's
 * own bound are not interesting) or memory runs out. The caller frees it.
 */
#ifndef PARLEY_FUZZ_INPUT_H
#define PARLEY_FUZZ_INPUT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline char *fuzz_cstr(const uint8_t *data, size_t size, size_t max)
{
	if (size > max)
		return NULL;
	char *buf = malloc(size + 1);
	if (!buf)
		return NULL;
	memcpy(buf, data, size);
	buf[size] = '\0';
	return buf;
}

#endif
