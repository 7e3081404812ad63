/*
 * fail.h — seams for failure injection (STYLE.md 9; beanstalkd's falloc,
 * curl's torture tests). Code about to do something the world can refuse
 * (create, write, fsync, rename a file; allocate) asks first:
 *
 *   if (fail_point("fs.write")) { errno = ENOSPC; goto write_failed; }
 *
 * and takes its ordinary error path when told to fail. Nothing in the
 * parley binary installs a hook, so there fail_point is one relaxed atomic
 * load and always false. Tests install one: make torture's driver
 * (tests/torture/torture.c) counts the points a scenario passes, then runs
 * it again failing the 1st, the 2nd, … point; build/tests/parley-test
 * fails the N-th point of each process when PARLEY_TORTURE_FAIL_AT=N.
 *
 * Allocation: parley's own malloc/calloc/realloc/strdup/strndup calls pass
 * fail_point("alloc") in test binaries linked with the linker's --wrap for
 * them (tests/support/fail_alloc.c; the Makefile's FAIL_ALLOC_WRAP), and
 * jansson's too when such a binary calls json_nomem_install(NULL, NULL)
 * (util/json_nomem.h: jansson through malloc, its failures noted).
 * The parley binary is linked without: its allocations are libc's own.
 * SQLite's own allocator asks fail_point("sqlite.alloc") once a test binary
 * calls fail_alloc_sqlite_install() (tests/support/fail_alloc.h; the
 * torture's store scenarios).
 *
 * Points (names are "area.what"): fs.open fs.read fs.create fs.write
 * fs.fsync fs.rename fs.syncdir fs.mkdir (util/fs.c, with the errno the
 * system would give: ENOSPC, EIO, EMFILE), alloc and sqlite.alloc.
 * Thread-safe: the hook is read atomically; the hook itself must be
 * thread-safe if the code under test runs threads.
 */
#ifndef PARLEY_UTIL_FAIL_H
#define PARLEY_UTIL_FAIL_H

#include <stdbool.h>
#include <stddef.h>

/* Return true to make the operation at point fail. */
typedef bool (*fail_hook_fn)(const char *point, void *user_data);

/* Install (or with NULL remove) the hook. For tests only. */
void fail_hook_set(fail_hook_fn fn, void *user_data);

/* Should the operation at point fail? false unless a hook says so. */
bool fail_point(const char *point);

#endif
