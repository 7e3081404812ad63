/*
 * data_check.h — can the server still store what it is sent? The data
 * directory's free space (statvfs) against a floor, and, for /health, a
 * probe: a small file created, written, synced and removed there.
 *
 *   unsigned long long avail;
 *   if (web_data_check(dir, 64 << 20, true, &avail) != WEB_DATA_OK) → 503
 *
 * Thread-safe (the probe's name holds the thread id). No path in any
 * result: callers log the directory themselves.
 */
#ifndef PARLEY_WEB_DATA_CHECK_H
#define PARLEY_WEB_DATA_CHECK_H

#include <stdbool.h>

enum web_data_state {
	WEB_DATA_OK,
	WEB_DATA_FULL,       /* less free space than the floor */
	WEB_DATA_UNWRITABLE, /* not a directory, gone, read-only, or the probe failed */
};

/* *avail (may be NULL): bytes free for unprivileged users (0 when unknown). */
enum web_data_state web_data_check(const char *dir, unsigned long long min_free, bool probe,
				   unsigned long long *avail);
/* "ok", "full", "unwritable". */
const char *web_data_state_name(enum web_data_state st);

#endif
