/*
 * fuzz_uri.c — libFuzzer target for router_check_uri (outside input: the raw
 * request target of every HTTP request to `parley serve`, before MHD parses
 * its query or decodes its path). Whatever the bytes:
 *   - the status is 0, 400 or 414, with a message exactly when not 0, and
 *     the same when asked twice;
 *   - 400 exactly when the path (before the first '?') holds "%2f" in any
 *     case;
 *   - query_at is the offset of the first '?' (-1 without one);
 *   - a query of at most ROUTER_QUERY_BYTES_MAX bytes and
 *     ROUTER_QUERY_ARGS_MAX arguments is never 414, and one over either is
 *     414 unless the path is already 400.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "web/router.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_cstr(data, size, 4 * ROUTER_QUERY_BYTES_MAX);
	if (!buf)
		return 0;
	struct router_uri_check c, again;
	router_check_uri(buf, &c);
	router_check_uri(buf, &again);
	if (c.status != again.status || c.query_at != again.query_at)
		__builtin_trap();
	if (c.status != 0 && c.status != 400 && c.status != 414)
		__builtin_trap();
	if (!c.msg || (c.status != 0) != (c.msg[0] != '\0'))
		__builtin_trap();
	const char *q = strchr(buf, '?');
	size_t plen = q ? (size_t)(q - buf) : strlen(buf);
	if (c.query_at != (q ? (long)plen : -1))
		__builtin_trap();
	bool slash = false;
	for (size_t i = 0; i + 2 < plen; i++)
		slash = slash || strncasecmp(buf + i, "%2f", 3) == 0;
	if (slash != (c.status == 400))
		__builtin_trap();
	if (q) {
		size_t len = strlen(q + 1), args = q[1] ? 1 : 0;
		for (const char *p = q + 1; *p; p++)
			args += *p == '&';
		bool over = len > ROUTER_QUERY_BYTES_MAX || args > ROUTER_QUERY_ARGS_MAX;
		if (!slash && over != (c.status == 414))
			__builtin_trap();
	}
	free(buf);
	return 0;
}
