/*
 * strbuf.h — a bounded, growable byte buffer (always NUL-terminated).
 *
 *   struct strbuf sb;
 *   strbuf_init(&sb, 1 << 20);                 // at most 1 MiB
 *   if (strbuf_addf(&sb, "%d words", n) != PARLEY_OK) ... // PARLEY_ERR_TOO_LARGE past the cap
 *   use(sb.buf, sb.len);
 *   strbuf_release(&sb);
 *
 * A failed append leaves the buffer as it was before the call.
 */
#ifndef PARLEY_UTIL_STRBUF_H
#define PARLEY_UTIL_STRBUF_H

#include <stddef.h>

#include "util/error.h"

struct strbuf {
	char *buf;  /* owned; "" until the first append */
	size_t len; /* bytes used, excluding the NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* most bytes ever held (len), 0 = SIZE_MAX/2 */
};

void strbuf_init(struct strbuf *sb, size_t max);
/* Free the memory and reset to empty; the struct stays usable. */
void strbuf_release(struct strbuf *sb);
enum parley_err strbuf_add(struct strbuf *sb, const void *data, size_t len);
enum parley_err strbuf_adds(struct strbuf *sb, const char *s);
enum parley_err strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Hand the buffer to the caller (free() it) and reset sb. Never NULL. */
char *strbuf_detach(struct strbuf *sb, size_t *len);

#endif
