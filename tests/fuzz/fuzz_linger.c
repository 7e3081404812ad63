/*
 * fuzz_linger.c — libFuzzer target for the framing headers of a request
 * (Content-Length, Transfer-Encoding, Expect: outside input of every
 * request) and the plan for a refused request's body (src/web/linger.h).
 * Input: header lines "Name: value" separated by '\n'. Whatever the bytes:
 *   - the same headers give the same plan twice;
 *   - WEB_LINGER_DRAIN only for one agreed Content-Length of 1 to
 *     drain_bytes, all digits, no Transfer-Encoding, no Expect: 100-continue;
 *   - WEB_LINGER_NONE only without a body: no Transfer-Encoding and no
 *     length but 0;
 *   - a length that is not all digits, two that differ, or any
 *     Transfer-Encoding with a length is bad framing (WEB_LINGER_CLOSE).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "web/linger.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_HEADERS 32

static enum web_linger_plan plan_of(char *names[], char *values[], int n,
				    struct web_linger_request *rq)
{
	memset(rq, 0, sizeof(*rq));
	for (int i = 0; i < n; i++)
		web_linger_request_header(rq, names[i], values[i]);
	return web_linger_plan(rq, WEB_LINGER_DRAIN_BYTES_DEFAULT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_cstr(data, size, 8192);
	if (!buf)
		return 0;
	char *names[FUZZ_HEADERS], *values[FUZZ_HEADERS];
	int n = 0;
	for (char *line = buf; line && n < FUZZ_HEADERS;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		char *colon = strchr(line, ':');
		if (colon) {
			*colon = '\0';
			char *v = colon + 1;
			while (*v == ' ')
				v++;
			names[n] = line;
			values[n++] = v;
		}
		line = nl ? nl + 1 : NULL;
	}
	struct web_linger_request rq, rq2;
	enum web_linger_plan p = plan_of(names, values, n, &rq);
	if (plan_of(names, values, n, &rq2) != p || rq.length != rq2.length)
		__builtin_trap();
	int lengths = 0;
	bool coded = false, differ = false, digits = true;
	const char *first = NULL;
	for (int i = 0; i < n; i++) {
		if (strcasecmp(names[i], "Content-Length") == 0) {
			if (!lengths++)
				first = values[i];
			else if (strcmp(first, values[i]) != 0)
				differ = true;
		} else if (strcasecmp(names[i], "Transfer-Encoding") == 0) {
			coded = true;
		}
	}
	if (first) {
		size_t len = strlen(first);
		digits = len >= 1 && len <= 20 && strspn(first, "0123456789") == len;
	}
	if (rq.lengths != lengths || rq.lengths_differ != differ || rq.coded != coded)
		__builtin_trap();
	bool bad = differ || (lengths && (coded || !digits));
	if (bad && (!rq.bad_framing || p != WEB_LINGER_CLOSE))
		__builtin_trap();
	if (coded && p != WEB_LINGER_CLOSE)
		__builtin_trap();
	if (p == WEB_LINGER_DRAIN &&
	    (!lengths || bad || coded || rq.expect_continue || !rq.has_length || rq.length == 0 ||
	     rq.length > WEB_LINGER_DRAIN_BYTES_DEFAULT || strtoull(first, NULL, 10) != rq.length))
		__builtin_trap();
	if (p == WEB_LINGER_NONE && (coded || bad || (rq.has_length && rq.length != 0)))
		__builtin_trap();
	free(buf);
	return 0;
}
