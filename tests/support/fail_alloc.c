/*
 * fail_alloc.c — parley's own allocations through fail_point("alloc")
 * (util/fail.h), in test binaries linked with the linker's --wrap for each
 * function (the Makefile's FAIL_ALLOC_WRAP): every malloc, calloc, realloc,
 * strdup and strndup call in libparley.a's objects (and in the test's own)
 * reaches __wrap_X here, which asks the seam and then calls the real one.
 * Libraries' own allocations (SQLite, FFmpeg) are theirs and not counted.
 */
#include <stddef.h>
#include <string.h>

#include "util/fail.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

void *__wrap_malloc(size_t n)
{
	return fail_point("alloc") ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return fail_point("alloc") ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return fail_point("alloc") ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	return fail_point("alloc") ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
	return fail_point("alloc") ? NULL : __real_strndup(s, n);
}
