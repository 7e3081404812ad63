/*
 * fs.h — file-system helpers with parley errors: mkdir -p, whole-file read
 * with a size cap, atomic write (temp name + fsync + rename, so a reader never
 * sees half a file), bounded path joining.
 */
#ifndef PARLEY_UTIL_FS_H
#define PARLEY_UTIL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define PARLEY_PATH_MAX 4096

/* Create dir and its parents (mode 0755). Existing directories are fine. */
enum parley_err fs_mkdir_p(const char *dir, struct parley_error *err);

/* Join a and b with one '/', into out[size]. PARLEY_ERR_TOO_LARGE if it does not fit. */
enum parley_err fs_path_join(char *out, size_t size, const char *a, const char *b,
			     struct parley_error *err);

/* Read a whole file into *data (NUL-terminated; caller frees). Files larger
 * than max bytes fail with PARLEY_ERR_TOO_LARGE. */
enum parley_err fs_read_file(const char *path, size_t max, char **data, size_t *len,
			     struct parley_error *err);

/* Write data to path atomically: path.tmp.<pid>.<n> → fsync → rename. Safe
 * from several threads at once (the temporary name is unique). */
enum parley_err fs_write_atomic(const char *path, const void *data, size_t len,
				struct parley_error *err);

/* The two halves of fs_write_atomic, for callers that must rename under a
 * lock but not write under it: write data to a new unique temporary file
 * next to path, fsync'd (its name in tmp[size]; removed on failure) … */
enum parley_err fs_write_temp(const char *path, const void *data, size_t len, char *tmp,
			      size_t size, struct parley_error *err);
/* … then rename it over path (or unlink it). */
enum parley_err fs_rename(const char *from, const char *to, struct parley_error *err);

/* Copy a file atomically (same contract as fs_write_atomic). */
enum parley_err fs_copy_file(const char *from, const char *to, struct parley_error *err);

bool fs_is_dir(const char *path);
bool fs_exists(const char *path);

/* Remove a directory tree (like rm -rf). Missing is fine. */
enum parley_err fs_remove_tree(const char *path, struct parley_error *err);

/* Base name of path without directory and without the last extension,
 * into out[size] ("a/b/call.mp3" → "call"). */
void fs_stem(const char *path, char *out, size_t size);

#endif
