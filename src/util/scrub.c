#include "util/scrub.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->size == 0)
		return;
	size_t room = o->size - 1 - o->len;
	if (n > room)
		n = room;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static bool word_start(const char *msg, size_t i)
{
	return i == 0 || strchr(" \t\n'\"([<=", msg[i - 1]) != NULL;
}

static size_t token_len(const char *s)
{
	return strcspn(s, " \t\n'\":;,)]>");
}

/* The length of s[0..n) without a trailing ".tmp.PID.K". */
static size_t strip_temp(const char *s, size_t n)
{
	for (size_t i = 0; i + 5 <= n; i++) {
		if (memcmp(s + i, ".tmp.", 5) != 0)
			continue;
		size_t j = i + 5, d1 = 0, d2 = 0;
		while (j < n && s[j] >= '0' && s[j] <= '9')
			j++, d1++;
		if (j >= n || s[j] != '.' || !d1)
			continue;
		j++;
		while (j < n && s[j] >= '0' && s[j] <= '9')
			j++, d2++;
		if (d2 && j == n)
			return i;
	}
	return n;
}

/* The last part of path p[0..n), without a temporary suffix. */
static void put_last(struct out *o, const char *p, size_t n)
{
	while (n > 1 && p[n - 1] == '/')
		n--;
	size_t b = n;
	while (b > 0 && p[b - 1] != '/')
		b--;
	put(o, p + b, strip_temp(p + b, n - b));
}

/* rel[0..n) under the data directory: "chunk N", the batch file, or its last part. */
static void put_data(struct out *o, const char *rel, size_t n)
{
	char t[512];
	snprintf(t, sizeof(t), "%.*s", (int)(n < sizeof(t) - 1 ? n : sizeof(t) - 1), rel);
	char *c = strstr(t, "/chunks/");
	if (strncmp(t, "sessions/", 9) == 0 && c && c[8] >= '0' && c[8] <= '9') {
		char num[32];
		snprintf(num, sizeof(num), "chunk %ld", strtol(c + 8, NULL, 10));
		put(o, num, strlen(num));
		return;
	}
	put_last(o, rel, n);
}

void scrub_names_recording(struct scrub_names *n, const char *source, const char *name,
			   const char *data_dir, char *real)
{
	char src[PATH_MAX];
	real[0] = '\0';
	if (data_dir && *data_dir && !realpath(data_dir, real))
		real[0] = '\0';
	if (!source || !realpath(source, src))
		src[0] = '\0';
	size_t rl = strlen(real);
	*n = (struct scrub_names){
		.source = source, .name = name, .dirs = {data_dir, real},
		.server_side = rl > 1 && strncmp(src, real, rl) == 0 && src[rl] == '/',
	};
	if (!n->server_side) /* a path its user gave (`parley run`): theirs to read */
		n->source = NULL;
}

void scrub_text(const char *msg, const struct scrub_names *n, char *out, size_t size)
{
	struct out o = {out, size, 0};
	if (size)
		out[0] = '\0';
	if (!msg)
		return;
	size_t src_len = n->source ? strlen(n->source) : 0;
	for (size_t i = 0; msg[i];) {
		if (!word_start(msg, i) || strchr("'\"([<= \t\n", msg[i])) {
			put(&o, msg + i, 1);
			i++;
			continue;
		}
		size_t tl = token_len(msg + i);
		if (src_len && tl == src_len && memcmp(msg + i, n->source, src_len) == 0) {
			put(&o, n->name ? n->name : "", n->name ? strlen(n->name) : 0);
			i += tl;
			continue;
		}
		bool done = false;
		for (int d = 0; d < SCRUB_DIRS_MAX && !done; d++) {
			const char *dir = n->dirs[d];
			size_t dl = dir ? strlen(dir) : 0;
			while (dl > 1 && dir[dl - 1] == '/')
				dl--;
			if (!dl || tl <= dl + 1 || memcmp(msg + i, dir, dl) != 0 || msg[i + dl] != '/')
				continue;
			put_data(&o, msg + i + dl + 1, tl - dl - 1);
			done = true;
		}
		if (!done && n->server_side && msg[i] == '/' && tl > 1) {
			put_last(&o, msg + i, tl);
			done = true;
		}
		if (!done) { /* not a path of ours: as it is, less a temporary suffix */
			size_t keep = strip_temp(msg + i, tl);
			put(&o, msg + i, keep ? keep : tl);
			if (!tl) {
				put(&o, msg + i, 1);
				tl = 1;
			}
		}
		i += tl;
	}
}
