#include "web/router.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* One '/'-separated segment: [s, s + len). */
struct seg {
	const char *s;
	size_t len;
};

#define ROUTER_SEGS_MAX 16

/* Split "/a/b/c" into segments; false when the path does not start with '/',
 * has an empty segment (but "/" alone is zero segments), or too many. */
static bool split(const char *path, struct seg *out, size_t *n)
{
	*n = 0;
	if (path[0] != '/')
		return false;
	if (path[1] == '\0')
		return true;
	const char *p = path + 1;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 0 || *n >= ROUTER_SEGS_MAX)
			return false;
		out[(*n)++] = (struct seg){p, len};
		if (!slash)
			return true;
		p = slash + 1;
	}
}

static bool seg_is(const struct seg *s, const char *lit)
{
	return strlen(lit) == s->len && memcmp(s->s, lit, s->len) == 0;
}

/* Does the path (segments) have the pattern's shape? Literal segments equal,
 * one path segment per {param}, {path*} takes one or more. */
static bool shape_matches(const struct seg *pat, size_t np, const struct seg *path, size_t n)
{
	for (size_t i = 0; i < np; i++) {
		if (seg_is(&pat[i], "{path*}"))
			return i == np - 1 && n > i;
		if (i >= n)
			return false;
		if (pat[i].len > 0 && pat[i].s[0] == '{')
			continue;
		if (pat[i].len != path[i].len || memcmp(pat[i].s, path[i].s, pat[i].len) != 0)
			return false;
	}
	return np == n;
}

/* A batch or recording id: 1..ROUTER_BATCH_MAX, digits only, no leading zero. */
static bool parse_id(const struct seg *s, long long *out)
{
	if (s->len == 0 || s->len > 12 || s->s[0] == '0')
		return false;
	long long v = 0;
	for (size_t i = 0; i < s->len; i++) {
		if (s->s[i] < '0' || s->s[i] > '9')
			return false;
		v = v * 10 + (s->s[i] - '0');
	}
	if (v < 1 || v > ROUTER_BATCH_MAX)
		return false;
	*out = v;
	return true;
}

/* A decimal in [min, max]: digits only, no leading zero (but "0"). */
static bool parse_uint(const struct seg *s, int min, int max, int *out)
{
	if (s->len == 0 || s->len > 6 || (s->len > 1 && s->s[0] == '0'))
		return false;
	int v = 0;
	for (size_t i = 0; i < s->len; i++) {
		if (s->s[i] < '0' || s->s[i] > '9')
			return false;
		v = v * 10 + (s->s[i] - '0');
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool rest_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

/* {path*}: segments from path[i] on, joined with '/'. */
static bool take_rest(const struct seg *path, size_t i, size_t n, char *out, size_t size)
{
	size_t len = 0;
	for (; i < n; i++) {
		if (path[i].s[0] == '.')
			return false;
		for (size_t k = 0; k < path[i].len; k++)
			if (!rest_char_ok(path[i].s[k]))
				return false;
		if (len + path[i].len + 2 > size)
			return false;
		if (len)
			out[len++] = '/';
		memcpy(out + len, path[i].s, path[i].len);
		len += path[i].len;
	}
	out[len] = '\0';
	return true;
}

/* Fill the parameters; false with out->msg when one is malformed. */
static bool take_params(const struct seg *pat, size_t np, const struct seg *path, size_t n,
			struct router_result *out)
{
	struct web_params *p = &out->params;
	for (size_t i = 0; i < np; i++) {
		const struct seg *v = &path[i];
		if (seg_is(&pat[i], "{id}")) {
			char id[SESSION_ID_LEN + 2];
			bool fits = v->len <= SESSION_ID_LEN;
			if (fits) {
				memcpy(id, v->s, v->len);
				id[v->len] = '\0';
			}
			if (!fits || !session_id_valid(id)) {
				snprintf(out->msg, sizeof(out->msg),
					 "'%.*s' is not a session id (%d characters of a-z and 2-7)",
					 (int)(v->len > 40 ? 40 : v->len), v->s, SESSION_ID_LEN);
				return false;
			}
			memcpy(p->id, id, v->len + 1);
		} else if (seg_is(&pat[i], "{seq}")) {
			if (!parse_uint(v, 0, SESSION_SEQ_MAX, &p->seq)) {
				snprintf(out->msg, sizeof(out->msg),
					 "'%.*s' is not a chunk sequence number (0 to %d)",
					 (int)(v->len > 40 ? 40 : v->len), v->s, SESSION_SEQ_MAX);
				return false;
			}
		} else if (seg_is(&pat[i], "{n}")) {
			if (!parse_uint(v, 1, ROUTER_SPEAKER_MAX, &p->speaker)) {
				snprintf(out->msg, sizeof(out->msg),
					 "'%.*s' is not a speaker number (1 to %d)",
					 (int)(v->len > 40 ? 40 : v->len), v->s, ROUTER_SPEAKER_MAX);
				return false;
			}
		} else if (seg_is(&pat[i], "{bid}")) {
			if (!parse_id(v, &p->batch)) {
				snprintf(out->msg, sizeof(out->msg),
					 "'%.*s' is not a batch id (1 to %lld)",
					 (int)(v->len > 40 ? 40 : v->len), v->s, ROUTER_BATCH_MAX);
				return false;
			}
		} else if (seg_is(&pat[i], "{rid}")) {
			if (!parse_id(v, &p->recording)) {
				snprintf(out->msg, sizeof(out->msg),
					 "'%.*s' is not a recording id (1 to %lld)",
					 (int)(v->len > 40 ? 40 : v->len), v->s, ROUTER_BATCH_MAX);
				return false;
			}
		} else if (seg_is(&pat[i], "{file}")) {
			bool fine = v->len > 0 && v->len <= ROUTER_FILE_MAX && v->s[0] != '.';
			for (size_t k = 0; fine && k < v->len; k++)
				fine = rest_char_ok(v->s[k]);
			if (!fine) {
				snprintf(out->msg, sizeof(out->msg),
					 "'%.*s' is not a file name (1 to %d characters of A-Z a-z 0-9 . _ -, "
					 "not starting with '.')", (int)(v->len > 40 ? 40 : v->len), v->s,
					 ROUTER_FILE_MAX);
				return false;
			}
			memcpy(p->file, v->s, v->len);
			p->file[v->len] = '\0';
		} else if (seg_is(&pat[i], "{path*}")) {
			if (!take_rest(path, i, n, p->rest, sizeof(p->rest))) {
				snprintf(out->msg, sizeof(out->msg), "not a valid file path");
				return false;
			}
			return true;
		}
	}
	return true;
}

static void allow_add(char *allow, size_t size, const char *method)
{
	if (strstr(allow, method))
		return;
	size_t len = strlen(allow);
	snprintf(allow + len, size - len, "%s%s", len ? ", " : "", method);
}

void router_match(const struct web_route *table, size_t n, const char *method, const char *path,
		  struct router_result *out)
{
	memset(out, 0, sizeof(*out));
	out->outcome = ROUTER_NOT_FOUND;
	out->params.seq = -1;
	out->params.speaker = -1;
	struct seg segs[ROUTER_SEGS_MAX], pat[ROUTER_SEGS_MAX];
	size_t nsegs, npat;
	if (!method || !path || strlen(path) >= ROUTER_PATH_MAX || !split(path, segs, &nsegs))
		return;
	const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
	const struct web_route *hit = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!split(table[i].pattern, pat, &npat) || !shape_matches(pat, npat, segs, nsegs))
			continue;
		allow_add(out->allow, sizeof(out->allow), table[i].method);
		if (!hit && strcmp(table[i].method, want) == 0)
			hit = &table[i];
	}
	if (!hit) {
		if (out->allow[0]) {
			if (strstr(out->allow, "GET"))
				allow_add(out->allow, sizeof(out->allow), "HEAD");
			out->outcome = ROUTER_METHOD;
		}
		return;
	}
	out->allow[0] = '\0';
	out->route = hit;
	split(hit->pattern, pat, &npat);
	if (!take_params(pat, npat, segs, nsegs, out)) {
		out->outcome = ROUTER_INVALID;
		return;
	}
	out->outcome = ROUTER_MATCH;
}

#define ROUTER_STR_(x) #x
#define ROUTER_STR(x) ROUTER_STR_(x)

void router_check_uri(const char *uri, struct router_uri_check *out)
{
	*out = (struct router_uri_check){.status = 0, .msg = "", .query_at = -1};
	if (!uri)
		return;
	size_t plen = strcspn(uri, "?");
	for (size_t i = 0; i + 2 < plen; i++) {
		if (uri[i] == '%' && uri[i + 1] == '2' && (uri[i + 2] == 'f' || uri[i + 2] == 'F')) {
			out->status = 400;
			out->msg = "an encoded '/' (%2F) is not allowed in a path segment";
			break;
		}
	}
	if (uri[plen] != '?')
		return;
	out->query_at = (long)plen;
	const char *q = uri + plen + 1;
	size_t args = *q ? 1 : 0, len = strlen(q);
	for (const char *p = q; *p; p++)
		args += *p == '&';
	if (args > ROUTER_QUERY_ARGS_MAX) {
		out->status = 414;
		out->msg = "too many query arguments (at most " ROUTER_STR(ROUTER_QUERY_ARGS_MAX) ")";
	} else if (len > ROUTER_QUERY_BYTES_MAX) {
		out->status = 414;
		out->msg = "the query is too long (at most " ROUTER_STR(ROUTER_QUERY_BYTES_MAX) " bytes)";
	}
}
