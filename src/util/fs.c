/* fs.c — see fs.h. */
#include "util/fs.h"
#include "util/fail.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the seams: each system call a test can make fail (util/fail.h),
 * failing with the errno the system would give ---- */

static bool seam(const char *point, int error)
{
	if (!fail_point(point))
		return false;
	errno = error;
	return true;
}

static int seam_open(const char *point, const char *path, int flags, mode_t mode)
{
	return seam(point, (flags & O_CREAT) ? ENOSPC : EMFILE) ? -1 : open(path, flags, mode);
}

static ssize_t seam_write(int fd, const void *buf, size_t len)
{
	return seam("fs.write", ENOSPC) ? -1 : write(fd, buf, len);
}

static ssize_t seam_read(int fd, void *buf, size_t len)
{
	return seam("fs.read", EIO) ? -1 : read(fd, buf, len);
}

static int seam_fsync(const char *point, int fd)
{
	return seam(point, EIO) ? -1 : fsync(fd);
}

static int seam_rename(const char *from, const char *to)
{
	return seam("fs.rename", EIO) ? -1 : rename(from, to);
}

static int seam_mkdir(const char *path, mode_t mode)
{
	return seam("fs.mkdir", ENOSPC) ? -1 : mkdir(path, mode);
}

enum parley_err fs_mkdir_p(const char *dir, struct parley_error *err)
{
	char path[PARLEY_PATH_MAX];
	size_t n = strlen(dir);
	if (n == 0 || n >= sizeof(path))
		return parley_error_set(err, PARLEY_ERR_INVALID, "bad directory name '%s'", dir);
	memcpy(path, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		char saved = path[i];
		path[i] = '\0';
		if (seam_mkdir(path, 0755) != 0 && errno != EEXIST)
			return parley_error_set(err, PARLEY_ERR_IO, "cannot create directory %s: %s",
						path, strerror(errno));
		path[i] = saved;
	}
	if (!fs_is_dir(dir))
		return parley_error_set(err, PARLEY_ERR_IO, "%s exists and is not a directory", dir);
	return PARLEY_OK;
}

enum parley_err fs_path_join(char *out, size_t size, const char *a, const char *b,
			     struct parley_error *err)
{
	size_t la = strlen(a);
	const char *sep = (la > 0 && a[la - 1] == '/') ? "" : "/";
	int n = snprintf(out, size, "%s%s%s", a, sep, b);
	if (n < 0 || (size_t)n >= size)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "path too long: %s/%s", a, b);
	return PARLEY_OK;
}

enum parley_err fs_read_file(const char *path, size_t max, char **data, size_t *len,
			     struct parley_error *err)
{
	*data = NULL;
	*len = 0;
	int fd = seam_open("fs.open", path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return parley_error_set(err, PARLEY_ERR_IO, "cannot open %s: %s", path,
					strerror(errno));
	enum parley_err rc = PARLEY_OK;
	struct stat st;
	char *buf = NULL;
	if (fstat(fd, &st) != 0) {
		rc = parley_error_set(err, PARLEY_ERR_IO, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = parley_error_set(err, PARLEY_ERR_IO, "%s is a directory, not a file", path);
		goto out;
	}
	if ((size_t)st.st_size > max) {
		rc = parley_error_set(err, PARLEY_ERR_TOO_LARGE, "%s is %lld bytes, more than the %zu allowed",
				      path, (long long)st.st_size, max);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory reading %s", path);
		goto out;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = seam_read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = parley_error_set(err, PARLEY_ERR_IO, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

struct fs_out {
	int fd;
	const char *path; /* for messages: the temporary file's name */
};

enum parley_err fs_out_write(struct fs_out *out, const void *data, size_t len,
			     struct parley_error *err)
{
	const char *p = data;
	while (len > 0) {
		ssize_t w = seam_write(out->fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return parley_error_set(err, PARLEY_ERR_IO, "cannot write %s: %s", out->path,
						w < 0 ? strerror(errno) : "no progress");
		p += w;
		len -= (size_t)w;
	}
	return PARLEY_OK;
}

enum parley_err fs_sync_parent(const char *path, struct parley_error *err)
{
	char dir[PARLEY_PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t len = !slash ? 1 : slash == path ? 1 : (size_t)(slash - path);
	if (len >= sizeof(dir))
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "path too long: %s", path);
	memcpy(dir, slash ? path : ".", len);
	dir[len] = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return parley_error_set(err, PARLEY_ERR_IO, "cannot open directory %s: %s", dir,
					strerror(errno));
	enum parley_err rc = PARLEY_OK;
	if (seam_fsync("fs.syncdir", fd) != 0 && errno != EINVAL)
		rc = parley_error_set(err, PARLEY_ERR_IO, "cannot sync directory %s: %s", dir,
				      strerror(errno));
	close(fd);
	return rc;
}

/* Create a unique temporary file next to path, fill it with fn, fsync and
 * close it; its name in tmp[size]. Removed again on failure. */
static enum parley_err write_temp_with(const char *path, fs_write_fn fn, void *user_data,
				       char *tmp, size_t size, struct parley_error *err)
{
	static atomic_ulong counter;
	unsigned long k = atomic_fetch_add(&counter, 1);
	int n = snprintf(tmp, size, "%s.tmp.%ld.%lu", path, (long)getpid(), k);
	if (n < 0 || (size_t)n >= size)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "path too long: %s", path);
	struct fs_out out = {seam_open("fs.create", tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), tmp};
	if (out.fd < 0)
		return parley_error_set(err, PARLEY_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
	enum parley_err rc = fn(&out, user_data, err);
	if (rc == PARLEY_OK && seam_fsync("fs.fsync", out.fd) != 0)
		rc = parley_error_set(err, PARLEY_ERR_IO, "cannot sync %s: %s", tmp, strerror(errno));
	if (close(out.fd) != 0 && rc == PARLEY_OK)
		rc = parley_error_set(err, PARLEY_ERR_IO, "cannot close %s: %s", tmp, strerror(errno));
	if (rc != PARLEY_OK)
		unlink(tmp);
	return rc;
}

struct buffer {
	const void *data;
	size_t len;
};

static enum parley_err write_buffer(struct fs_out *out, void *user_data, struct parley_error *err)
{
	const struct buffer *b = user_data;
	return fs_out_write(out, b->data, b->len, err);
}

enum parley_err fs_write_temp(const char *path, const void *data, size_t len, char *tmp,
			      size_t size, struct parley_error *err)
{
	struct buffer b = {data, len};
	return write_temp_with(path, write_buffer, &b, tmp, size, err);
}

enum parley_err fs_rename(const char *from, const char *to, struct parley_error *err)
{
	if (seam_rename(from, to) != 0)
		return parley_error_set(err, PARLEY_ERR_IO, "cannot rename %s to %s: %s", from, to,
					strerror(errno));
	return fs_sync_parent(to, err);
}

/* A target that exists and is not a regular file (/dev/null, /dev/stdout, a
 * FIFO) is written in place: renaming over it would replace a device node. */
static enum parley_err write_in_place(const char *path, fs_write_fn fn, void *user_data,
				      struct parley_error *err)
{
	struct fs_out out = {open(path, O_WRONLY | O_CLOEXEC), path};
	if (out.fd < 0)
		return parley_error_set(err, PARLEY_ERR_IO, "cannot open %s: %s", path, strerror(errno));
	enum parley_err rc = fn(&out, user_data, err);
	if (close(out.fd) != 0 && rc == PARLEY_OK)
		rc = parley_error_set(err, PARLEY_ERR_IO, "cannot close %s: %s", path, strerror(errno));
	return rc;
}

enum parley_err fs_write_atomic_stream(const char *path, fs_write_fn fn, void *user_data,
				       struct parley_error *err)
{
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode))
			return parley_error_set(err, PARLEY_ERR_IO, "cannot write %s: it is a directory", path);
		return write_in_place(path, fn, user_data, err);
	}
	char tmp[PARLEY_PATH_MAX];
	enum parley_err rc = write_temp_with(path, fn, user_data, tmp, sizeof(tmp), err);
	if (rc == PARLEY_OK && seam_rename(tmp, path) != 0) {
		rc = parley_error_set(err, PARLEY_ERR_IO, "cannot rename %s to %s: %s", tmp, path,
				      strerror(errno));
		unlink(tmp);
	}
	if (rc == PARLEY_OK)
		rc = fs_sync_parent(path, err);
	return rc;
}

enum parley_err fs_write_atomic(const char *path, const void *data, size_t len,
				struct parley_error *err)
{
	struct buffer b = {data, len};
	return fs_write_atomic_stream(path, write_buffer, &b, err);
}

enum parley_err fs_copy_file(const char *from, const char *to, struct parley_error *err)
{
	char *data = NULL;
	size_t len = 0;
	enum parley_err rc = fs_read_file(from, (size_t)1 << 31, &data, &len, err);
	if (rc == PARLEY_OK)
		rc = fs_write_atomic(to, data, len, err);
	free(data);
	return rc;
}

bool fs_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool fs_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

enum parley_err fs_remove_tree(const char *path, struct parley_error *err)
{
	if (!fs_exists(path))
		return PARLEY_OK;
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		return parley_error_set(err, PARLEY_ERR_IO, "cannot remove %s: %s", path,
					strerror(errno));
	return PARLEY_OK;
}

void fs_stem(const char *path, char *out, size_t size)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *dot = strrchr(base, '.');
	size_t n = (dot && dot != base) ? (size_t)(dot - base) : strlen(base);
	if (n >= size)
		n = size - 1;
	memcpy(out, base, n);
	out[n] = '\0';
}
