/*
 * fail_alloc.c — parley's own allocations through fail_point("alloc")
 * (util/fail.h), in test binaries linked with the linker's --wrap for each
 * function (the Makefile's FAIL_ALLOC_WRAP): every malloc, calloc, realloc,
 * strdup and strndup call in libparley.a's objects (and in the test's own)
 * reaches __wrap_X here, which asks the seam and then calls the real one.
 * Libraries' own allocations are theirs and not counted, except SQLite's
 * once a test calls fail_alloc_sqlite_install() (fail_alloc.h): its
 * allocator then asks fail_point("sqlite.alloc").
 */
#include "fail_alloc.h"

#include <sqlite3.h>
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

/* ---- SQLite's allocator (sqlite3_config(SQLITE_CONFIG_MALLOC)) ---- */

static sqlite3_mem_methods sqlite_default;

static void *sqlite_fail_malloc(int n)
{
	return fail_point("sqlite.alloc") ? NULL : sqlite_default.xMalloc(n);
}

static void *sqlite_fail_realloc(void *p, int n)
{
	return fail_point("sqlite.alloc") ? NULL : sqlite_default.xRealloc(p, n);
}

int fail_alloc_sqlite_install(void)
{
	int rc = sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sqlite_default);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_mem_methods m = sqlite_default;
	m.xMalloc = sqlite_fail_malloc;
	m.xRealloc = sqlite_fail_realloc;
	if ((rc = sqlite3_config(SQLITE_CONFIG_MALLOC, &m)) != SQLITE_OK)
		return rc;
	return sqlite3_initialize();
}
