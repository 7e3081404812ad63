/* strbuf.c — see strbuf.h. */
#include "util/strbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char strbuf_empty[1];

void strbuf_init(struct strbuf *sb, size_t max)
{
	sb->buf = strbuf_empty;
	sb->len = 0;
	sb->cap = 0;
	sb->max = max ? max : SIZE_MAX / 2;
}

void strbuf_release(struct strbuf *sb)
{
	if (sb->cap)
		free(sb->buf);
	strbuf_init(sb, sb->max);
}

static enum parley_err strbuf_grow(struct strbuf *sb, size_t extra)
{
	if (extra > sb->max - sb->len)
		return PARLEY_ERR_TOO_LARGE;
	size_t need = sb->len + extra + 1;
	if (need <= sb->cap)
		return PARLEY_OK;
	size_t cap = sb->cap ? sb->cap : 64;
	while (cap < need)
		cap *= 2;
	char *nb = realloc(sb->cap ? sb->buf : NULL, cap);
	if (!nb)
		return PARLEY_ERR_NOMEM;
	if (!sb->cap)
		nb[0] = '\0';
	sb->buf = nb;
	sb->cap = cap;
	return PARLEY_OK;
}

enum parley_err strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	enum parley_err rc = strbuf_grow(sb, len);
	if (rc)
		return rc;
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
	return PARLEY_OK;
}

enum parley_err strbuf_adds(struct strbuf *sb, const char *s)
{
	return strbuf_add(sb, s, strlen(s));
}

enum parley_err strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return PARLEY_ERR_INVALID;
	if ((size_t)n < sizeof(small))
		return strbuf_add(sb, small, (size_t)n);
	enum parley_err rc = strbuf_grow(sb, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
	return PARLEY_OK;
}

char *strbuf_detach(struct strbuf *sb, size_t *len)
{
	char *out = sb->cap ? sb->buf : calloc(1, 1);
	if (len)
		*len = sb->len;
	strbuf_init(sb, sb->max);
	return out;
}
