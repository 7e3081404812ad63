/*
 * rttm.c — strict RTTM parser (SPEAKER lines) and UEM scoring regions. See rttm.h.
 */
#include "eval/rttm.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eval/der.h"
#include "util/fs.h"

#define RTTM_MAX_FIELDS 10

struct names {
	char **v;
	size_t n, cap;
	size_t last; /* index of the last hit: consecutive lines usually repeat */
};

void rttm_release(struct rttm *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nfiles; i++)
		free(r->files[i]);
	for (size_t i = 0; i < r->nspeakers; i++)
		free(r->speakers[i]);
	free(r->files);
	free(r->speakers);
	free(r->segs);
	memset(r, 0, sizeof(*r));
}

/* True when s[0..len) is well-formed UTF-8 without control bytes. */
static bool valid_name(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		unsigned c = p[i];
		if (c < 0x20 || c == 0x7f)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t extra;
		uint32_t cp;
		if (c >= 0xc2 && c <= 0xdf) {
			extra = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			extra = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			extra = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= extra)
			return false;
		for (size_t k = 1; k <= extra; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((extra == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += extra + 1;
	}
	return true;
}

static enum parley_err names_intern(struct names *nm, const char *s, size_t *index,
				    const char *name, size_t line, const char *what,
				    struct parley_error *err)
{
	if (nm->n > 0 && strcmp(nm->v[nm->last], s) == 0) {
		*index = nm->last;
		return PARLEY_OK;
	}
	for (size_t i = 0; i < nm->n; i++)
		if (strcmp(nm->v[i], s) == 0) {
			nm->last = i;
			*index = i;
			return PARLEY_OK;
		}
	if (nm->n >= RTTM_MAX_NAMES)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"%s:%zu: more than %d distinct %s names", name, line,
					RTTM_MAX_NAMES, what);
	if (nm->n == nm->cap) {
		size_t cap = nm->cap ? nm->cap * 2 : 8;
		char **v = realloc(nm->v, cap * sizeof(*v));
		if (!v)
			return parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory", name);
		nm->v = v;
		nm->cap = cap;
	}
	char *copy = strdup(s);
	if (!copy)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory", name);
	nm->v[nm->n] = copy;
	nm->last = nm->n;
	*index = nm->n++;
	return PARLEY_OK;
}

/* A plain decimal number: [+-]digits[.digits][e[+-]digits], finite. */
static bool parse_number(const char *s, double *out)
{
	const char *p = s;
	bool digits = false;
	if (*p == '+' || *p == '-')
		p++;
	while (*p >= '0' && *p <= '9') {
		p++;
		digits = true;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			p++;
			digits = true;
		}
	}
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p)
		return false;
	char *end = NULL;
	double v = strtod(s, &end);
	if (end != p || !isfinite(v))
		return false;
	*out = v;
	return true;
}

static enum parley_err parse_line(char *line, size_t lineno, const char *name,
				  struct names *files, struct names *speakers, struct rttm *out,
				  size_t *segcap, struct parley_error *err)
{
	char *field[RTTM_MAX_FIELDS];
	size_t nf = 0;
	char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p)
			break;
		if (nf == RTTM_MAX_FIELDS)
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"%s:%zu: more than %d fields (an RTTM line has 9 or 10)",
						name, lineno, RTTM_MAX_FIELDS);
		field[nf++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		if (*p)
			*p++ = '\0';
	}
	if (nf == 0 || strncmp(field[0], ";;", 2) == 0)
		return PARLEY_OK;
	if (strcmp(field[0], "SPEAKER") != 0)
		return PARLEY_OK;
	if (nf < 9)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"%s:%zu: SPEAKER line has %zu fields, expected 9 or 10 "
					"(SPEAKER file channel start duration <NA> <NA> speaker <NA>)",
					name, lineno, nf);
	double start, dur;
	if (!parse_number(field[3], &start))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"%s:%zu: start time '%.40s' is not a number", name, lineno,
					field[3]);
	if (!parse_number(field[4], &dur))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"%s:%zu: duration '%.40s' is not a number", name, lineno,
					field[4]);
	if (start < 0)
		return parley_error_set(err, PARLEY_ERR_INVALID, "%s:%zu: start time %g is negative",
					name, lineno, start);
	if (dur < 0)
		return parley_error_set(err, PARLEY_ERR_INVALID, "%s:%zu: duration %g is negative",
					name, lineno, dur);
	if (!isfinite(start + dur))
		return parley_error_set(err, PARLEY_ERR_INVALID, "%s:%zu: end time out of range",
					name, lineno);
	const char *what[2] = {"file", "speaker"};
	char *vals[2] = {field[1], field[7]};
	for (int k = 0; k < 2; k++) {
		size_t len = strlen(vals[k]);
		if (len > RTTM_MAX_NAME)
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"%s:%zu: %s name longer than %d bytes", name, lineno,
						what[k], RTTM_MAX_NAME);
		if (!valid_name(vals[k], len))
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"%s:%zu: %s name is not valid UTF-8 text", name,
						lineno, what[k]);
	}
	struct rttm_segment seg = {.start = start, .end = start + dur, .line = lineno};
	enum parley_err rc;
	if ((rc = names_intern(files, field[1], &seg.file, name, lineno, "file", err)) ||
	    (rc = names_intern(speakers, field[7], &seg.speaker, name, lineno, "speaker", err)))
		return rc;
	if (out->nsegs == *segcap) {
		size_t cap = *segcap ? *segcap * 2 : 64;
		struct rttm_segment *v = realloc(out->segs, cap * sizeof(*v));
		if (!v)
			return parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory", name);
		out->segs = v;
		*segcap = cap;
	}
	out->segs[out->nsegs++] = seg;
	return PARLEY_OK;
}

enum parley_err rttm_parse(const char *data, size_t len, const char *name, struct rttm *out,
			   struct parley_error *err)
{
	memset(out, 0, sizeof(*out));
	if (len > RTTM_MAX_BYTES)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"%s: %zu bytes, more than the limit of %u", name, len,
					RTTM_MAX_BYTES);
	struct names files = {0}, speakers = {0};
	size_t segcap = 0, lineno = 0;
	enum parley_err rc = PARLEY_OK;
	char *line = malloc(RTTM_MAX_LINE + 1);
	if (!line) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory", name);
		goto fail;
	}
	size_t pos = 0;
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - data) : len;
		size_t n = end - pos;
		if (++lineno > RTTM_MAX_LINES) {
			rc = parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					      "%s: more than %u lines", name, RTTM_MAX_LINES);
			goto fail;
		}
		if (n > RTTM_MAX_LINE) {
			rc = parley_error_set(err, PARLEY_ERR_INVALID,
					      "%s:%zu: line longer than %d bytes", name, lineno,
					      RTTM_MAX_LINE);
			goto fail;
		}
		if (memchr(data + pos, '\0', n)) {
			rc = parley_error_set(err, PARLEY_ERR_INVALID,
					      "%s:%zu: contains a NUL byte (not a text file?)", name,
					      lineno);
			goto fail;
		}
		memcpy(line, data + pos, n);
		line[n] = '\0';
		if ((rc = parse_line(line, lineno, name, &files, &speakers, out, &segcap, err)))
			goto fail;
		pos = end + 1;
	}
	free(line);
	out->files = files.v;
	out->nfiles = files.n;
	out->speakers = speakers.v;
	out->nspeakers = speakers.n;
	return PARLEY_OK;
fail:
	free(line);
	out->files = files.v;
	out->nfiles = files.n;
	out->speakers = speakers.v;
	out->nspeakers = speakers.n;
	rttm_release(out);
	return rc;
}

enum parley_err rttm_load_file(const char *path, struct rttm *out, struct parley_error *err)
{
	memset(out, 0, sizeof(*out));
	char *data = NULL;
	size_t len = 0;
	enum parley_err rc = fs_read_file(path, RTTM_MAX_BYTES, &data, &len, err);
	if (rc)
		return rc;
	rc = rttm_parse(data, len, path, out, err);
	free(data);
	return rc;
}

/* ---- UEM ---- */

struct uem_state {
	const char *file;
	struct der_region *v;
	size_t n, cap;
};

static enum parley_err uem_line(char *line, size_t lineno, const char *name, struct uem_state *u,
				struct parley_error *err)
{
	char *field[5];
	size_t nf = 0;
	char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p)
			break;
		if (nf == 5)
			break;
		field[nf++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		if (*p)
			*p++ = '\0';
	}
	if (nf == 0 || strncmp(field[0], ";;", 2) == 0)
		return PARLEY_OK;
	if (nf != 4)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"%s:%zu: a UEM line has 4 fields (file channel start end), "
					"this one %s%zu",
					name, lineno, nf > 4 ? "more than " : "", nf > 4 ? (size_t)4 : nf);
	double start, end;
	if (!parse_number(field[2], &start) || !parse_number(field[3], &end))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"%s:%zu: start '%.40s' or end '%.40s' is not a number", name,
					lineno, field[2], field[3]);
	if (start < 0 || end < start)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"%s:%zu: region %g .. %g: need 0 <= start <= end", name, lineno,
					start, end);
	if (u->file && strcmp(u->file, field[0]) != 0)
		return PARLEY_OK;
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 16;
		struct der_region *v = realloc(u->v, cap * sizeof(*v));
		if (!v)
			return parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory", name);
		u->v = v;
		u->cap = cap;
	}
	u->v[u->n++] = (struct der_region){start, end};
	return PARLEY_OK;
}

enum parley_err uem_parse(const char *data, size_t len, const char *name, const char *file,
			  struct der_region **regions, size_t *n, struct parley_error *err)
{
	*regions = NULL;
	*n = 0;
	if (len > RTTM_MAX_BYTES)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"%s: %zu bytes, more than the limit of %u", name, len,
					RTTM_MAX_BYTES);
	struct uem_state u = {.file = file};
	enum parley_err rc = PARLEY_OK;
	char *line = malloc(RTTM_MAX_LINE + 1);
	if (!line)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory", name);
	size_t pos = 0, lineno = 0;
	while (pos < len && rc == PARLEY_OK) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - data) : len;
		size_t k = end - pos;
		if (++lineno > RTTM_MAX_LINES)
			rc = parley_error_set(err, PARLEY_ERR_TOO_LARGE, "%s: more than %u lines",
					      name, RTTM_MAX_LINES);
		else if (k > RTTM_MAX_LINE)
			rc = parley_error_set(err, PARLEY_ERR_INVALID,
					      "%s:%zu: line longer than %d bytes", name, lineno,
					      RTTM_MAX_LINE);
		else if (memchr(data + pos, '\0', k))
			rc = parley_error_set(err, PARLEY_ERR_INVALID,
					      "%s:%zu: contains a NUL byte (not a text file?)", name,
					      lineno);
		else {
			memcpy(line, data + pos, k);
			line[k] = '\0';
			rc = uem_line(line, lineno, name, &u, err);
		}
		pos = end + 1;
	}
	free(line);
	if (rc) {
		free(u.v);
		return rc;
	}
	*regions = u.v;
	*n = u.n;
	return PARLEY_OK;
}
