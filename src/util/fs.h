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

/*
 * The one atomic writer. fs_write_atomic_stream creates a new temporary file
 * next to path (path.tmp.<pid>.<n>, unique, so several threads may write at
 * once), calls fn once to fill it through fs_out_write, fsyncs and closes
 * it, renames it over path and fsyncs path's directory, so after PARLEY_OK
 * the new file survives a crash and a reader never sees half of it. When fn
 * or any step fails, the temporary file is removed and path is untouched
 * (fn's error is returned as it set it). A target that exists and is not a
 * regular file (/dev/null, /dev/stdout, a FIFO) is written in place, since
 * renaming over it would replace a device node; a directory is refused.
 *
 *   static enum parley_err put(struct fs_out *o, void *ud, struct parley_error *err)
 *   { return fs_out_write(o, "hello\n", 6, err); }
 *   fs_write_atomic_stream("out/hello.txt", put, NULL, &err);
 */
struct fs_out; /* an open file being written (only fs_out_write uses it) */
typedef enum parley_err (*fs_write_fn)(struct fs_out *out, void *user_data,
				       struct parley_error *err);
enum parley_err fs_write_atomic_stream(const char *path, fs_write_fn fn, void *user_data,
				       struct parley_error *err);
/* Write all len bytes (EINTR and short writes retried); PARLEY_ERR_IO names the file. */
enum parley_err fs_out_write(struct fs_out *out, const void *data, size_t len,
			     struct parley_error *err);

/* fs_write_atomic_stream of one buffer. */
enum parley_err fs_write_atomic(const char *path, const void *data, size_t len,
				struct parley_error *err);

/* The two halves of fs_write_atomic, for callers that must rename under a
 * lock but not write under it: write data to a new unique temporary file
 * next to path, fsync'd (its name in tmp[size]; removed on failure) … */
enum parley_err fs_write_temp(const char *path, const void *data, size_t len, char *tmp,
			      size_t size, struct parley_error *err);
/* … then rename it over path and fsync path's directory (on failure the
 * caller unlinks from). */
enum parley_err fs_rename(const char *from, const char *to, struct parley_error *err);

/* fsync the directory holding path, so a rename or create in it is durable.
 * A file system that cannot sync directories (EINVAL) is not an error. */
enum parley_err fs_sync_parent(const char *path, struct parley_error *err);

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
