/* route_speakers.c — speakers, sample WAVs (with Range), claims. */
#include "web/routes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"

static void answer(struct web_resp *r, enum parley_err rc, json_t *view,
		   const struct parley_error *err)
{
	if (rc != PARLEY_OK) {
		json_decref(view);
		web_resp_error(r, err);
		return;
	}
	web_resp_json(r, 200, view);
}

void route_speakers(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	json_t *view = NULL;
	enum parley_err rc = session_speakers(&q->ctx, &q->user, q->params.id, &view, &err);
	answer(r, rc, view, &err);
}

void route_claim(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	json_t *view = NULL;
	enum parley_err rc = session_claim(&q->ctx, &q->user, q->params.id, q->params.speaker,
					   &view, &err);
	answer(r, rc, view, &err);
}

void route_unclaim(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	json_t *view = NULL;
	enum parley_err rc = session_unclaim(&q->ctx, &q->user, q->params.id, q->params.speaker,
					     &view, &err);
	answer(r, rc, view, &err);
}

enum range_kind { RANGE_NONE, RANGE_OK, RANGE_UNSATISFIABLE };

/* One "bytes=A-B" / "bytes=A-" / "bytes=-N" range over size bytes. Anything
 * else (several ranges, another unit, bad syntax) is ignored: the whole file. */
static enum range_kind range_parse(const char *h, uint64_t size, uint64_t *first, uint64_t *last)
{
	if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
		return RANGE_NONE;
	const char *p = h + 6;
	char *end;
	bool suffix = *p == '-';
	unsigned long long a = 0, b = 0;
	if (!suffix) {
		if (*p < '0' || *p > '9')
			return RANGE_NONE;
		errno = 0;
		a = strtoull(p, &end, 10);
		if (errno || *end != '-')
			return RANGE_NONE;
		p = end + 1;
	} else {
		p++;
	}
	bool open_end = *p == '\0';
	if (!open_end) {
		if (*p < '0' || *p > '9')
			return RANGE_NONE;
		errno = 0;
		b = strtoull(p, &end, 10);
		if (errno || *end)
			return RANGE_NONE;
	}
	if (suffix) {
		if (open_end)
			return RANGE_NONE;
		if (b == 0 || size == 0)
			return RANGE_UNSATISFIABLE;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return RANGE_OK;
	}
	if (!open_end && b < a)
		return RANGE_NONE;
	if (a >= size)
		return RANGE_UNSATISFIABLE;
	*first = a;
	*last = open_end || b >= size ? size - 1 : b;
	return RANGE_OK;
}

void route_sample(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	char path[PARLEY_PATH_MAX];
	if (session_sample_path(&q->ctx, &q->user, q->params.id, q->params.speaker, path,
				sizeof(path), &err) != PARLEY_OK) {
		web_resp_error(r, &err);
		return;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		web_resp_fail(r, 404, "not_found", "the sample of speaker %d is missing (%s)",
			      q->params.speaker, strerror(e));
		return;
	}
	uint64_t size = (uint64_t)sb.st_size, first = 0, last = size ? size - 1 : 0;
	enum range_kind k = range_parse(web_req_header(q, "Range"), size, &first, &last);
	if (k == RANGE_UNSATISFIABLE) {
		close(fd);
		web_resp_fail(r, 416, "invalid", "the range '%s' is outside the sample's %llu bytes",
			      web_req_header(q, "Range"), (unsigned long long)size);
		web_resp_header(r, "Content-Range", "bytes */%llu", (unsigned long long)size);
		return;
	}
	r->fd = fd;
	r->content_type = "audio/wav";
	web_resp_header(r, "Accept-Ranges", "bytes");
	if (k == RANGE_OK) {
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
