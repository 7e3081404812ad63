/* range.c — see range.h. */
#include "web/range.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum web_range web_range_parse(const char *h, uint64_t size, uint64_t *first, uint64_t *last)
{
	if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
		return WEB_RANGE_NONE;
	const char *p = h + 6;
	char *end;
	bool suffix = *p == '-';
	unsigned long long a = 0, b = 0;
	if (!suffix) {
		if (*p < '0' || *p > '9')
			return WEB_RANGE_NONE;
		errno = 0;
		a = strtoull(p, &end, 10);
		if (errno || *end != '-')
			return WEB_RANGE_NONE;
		p = end + 1;
	} else {
		p++;
	}
	bool open_end = *p == '\0';
	if (!open_end) {
		if (*p < '0' || *p > '9')
			return WEB_RANGE_NONE;
		errno = 0;
		b = strtoull(p, &end, 10);
		if (errno || *end)
			return WEB_RANGE_NONE;
	}
	if (suffix) {
		if (open_end)
			return WEB_RANGE_NONE;
		if (b == 0 || size == 0)
			return WEB_RANGE_UNSATISFIABLE;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return WEB_RANGE_OK;
	}
	if (!open_end && b < a)
		return WEB_RANGE_NONE;
	if (a >= size)
		return WEB_RANGE_UNSATISFIABLE;
	*first = a;
	*last = open_end || b >= size ? size - 1 : b;
	return WEB_RANGE_OK;
}

void web_resp_file_range(struct web_req *q, struct web_resp *r, const char *path,
			 const char *content_type, const char *what)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		int e = fd < 0 ? errno : EINVAL;
		if (fd >= 0)
			close(fd);
		web_resp_fail(r, 404, "not_found", "%s is missing (%s)", what, strerror(e));
		return;
	}
	uint64_t size = (uint64_t)sb.st_size, first = 0, last = size ? size - 1 : 0;
	const char *range = web_req_header(q, "Range");
	enum web_range k = web_range_parse(range, size, &first, &last);
	if (k == WEB_RANGE_UNSATISFIABLE) {
		close(fd);
		web_resp_fail(r, 416, "invalid", "the range '%.100s' is outside the %llu bytes of %s",
			      range, (unsigned long long)size, what);
		web_resp_header(r, "Content-Range", "bytes */%llu", (unsigned long long)size);
		return;
	}
	r->fd = fd;
	r->content_type = content_type;
	web_resp_header(r, "Accept-Ranges", "bytes");
	if (k == WEB_RANGE_OK) {
		r->status = 206;
		r->offset = first;
		r->file_len = last - first + 1;
		web_resp_header(r, "Content-Range", "bytes %llu-%llu/%llu", (unsigned long long)first,
				(unsigned long long)last, (unsigned long long)size);
	} else {
		r->status = 200;
		r->offset = 0;
		r->file_len = size;
	}
}
