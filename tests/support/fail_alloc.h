/*
 * fail_alloc.h — test binaries' allocations through the failure seam
 * (util/fail.h). parley's own malloc/calloc/realloc/strdup/strndup reach
 * fail_point("alloc") by the linker's --wrap (fail_alloc.c, the Makefile's
 * FAIL_ALLOC_WRAP), with nothing to call. SQLite allocates through its own
 * allocator, which a test routes through the seam by calling
 * fail_alloc_sqlite_install() once, first thing (before any database is
 * opened: sqlite3_config works only before sqlite3_initialize).
 */
#ifndef PARLEY_TESTS_FAIL_ALLOC_H
#define PARLEY_TESTS_FAIL_ALLOC_H

/* SQLite's xMalloc and xRealloc ask fail_point("sqlite.alloc") first and
 * return NULL (SQLite's out-of-memory) when told to fail; its frees and
 * sizes are the default allocator's. Initializes SQLite. Returns SQLITE_OK,
 * or SQLite's error code when it is already initialized (too late). */
int fail_alloc_sqlite_install(void);

#endif
