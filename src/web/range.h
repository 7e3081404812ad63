/*
 * range.h — files served with HTTP Range (RFC 9110 §14): the speakers'
 * samples and a recording's audio, so an <audio> element can seek.
 *
 *   web_resp_file_range(q, r, path, "audio/wav", "the sample of speaker 2");
 *
 * web_range_parse is pure (fuzzed: tests/fuzz/fuzz_range.c): one range
 * "bytes=A-B", "bytes=A-" or "bytes=-N" over a file of `size` bytes. Anything
 * else (several ranges, another unit, bad syntax, B < A) is RANGE_NONE: the
 * whole file, as RFC 9110 allows. A first byte at or past the end, or a
 * suffix of 0 bytes, is RANGE_UNSATISFIABLE (416). RANGE_OK: first <= last
 * < size.
 */
#ifndef PARLEY_WEB_RANGE_H
#define PARLEY_WEB_RANGE_H

#include <stdint.h>

#include "web/http.h"

enum web_range { WEB_RANGE_NONE, WEB_RANGE_OK, WEB_RANGE_UNSATISFIABLE };

enum web_range web_range_parse(const char *header, uint64_t size, uint64_t *first,
			       uint64_t *last);

/* Answer with the file at path (a regular file): 200 with Accept-Ranges,
 * 206 with Content-Range for a satisfiable Range, 416 with "bytes *\/SIZE"
 * for an unsatisfiable one, 404 naming `what` when the file is missing. */
void web_resp_file_range(struct web_req *q, struct web_resp *r, const char *path,
			 const char *content_type, const char *what);

#endif
