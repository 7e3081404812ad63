/* manifest.c — see manifest.h. */
#include "audio/manifest.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"

bool chunk_manifest_is(const char *path)
{
	size_t n = path ? strlen(path) : 0, e = strlen(CHUNK_MANIFEST_EXT);
	return n > e && strcmp(path + n - e, CHUNK_MANIFEST_EXT) == 0;
}

void chunk_manifest_release(struct chunk_manifest *m)
{
	if (!m)
		return;
	free(m->paths);
	free(m->buf);
	memset(m, 0, sizeof(*m));
}

/* Why the chunk path p (NUL-terminated) is refused, or NULL when it is fine. */
static const char *chunk_path_problem(const char *p)
{
	if (!*p)
		return "empty line";
	if (*p == '/')
		return "absolute path";
	for (const char *c = p; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			return "control or non-ASCII character";
	for (const char *part = p; *part;) {
		size_t len = strcspn(part, "/");
		if (len == 0)
			return "empty path component";
		if ((len == 1 && part[0] == '.') || (len == 2 && part[0] == '.' && part[1] == '.'))
			return "'.' or '..' component";
		part += len;
		if (*part == '/') {
			part++;
			if (!*part)
				return "path ends with '/'";
		}
	}
	return NULL;
}

enum parley_err chunk_manifest_parse(const char *text, size_t len, const char *name,
				     struct chunk_manifest *out, struct parley_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!name)
		name = "manifest";
	if (!text)
		return parley_error_set(err, PARLEY_ERR_INVALID, "%s: no text", name);
	size_t hlen = strlen(CHUNK_MANIFEST_HEADER);
	if (len < hlen || memcmp(text, CHUNK_MANIFEST_HEADER, hlen) != 0 ||
	    (len > hlen && text[hlen] != '\n'))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"%s: line 1: not a chunk manifest (want \"%s\")", name,
					CHUNK_MANIFEST_HEADER);
	size_t lines = 0;
	for (size_t i = hlen; i < len; i++)
		if (text[i] == '\n')
			lines++;
	/* lines counts the newlines after the header: at most one per chunk */
	if (lines > CHUNK_MANIFEST_MAX_CHUNKS)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "%s: more than %d chunks", name,
					CHUNK_MANIFEST_MAX_CHUNKS);
	enum parley_err rc = PARLEY_OK;
	out->buf = malloc(len + 1);
	out->paths = calloc(lines + 1, sizeof(*out->paths));
	if (!out->buf || !out->paths) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory", name);
		goto fail;
	}
	memcpy(out->buf, text, len);
	out->buf[len] = '\0';
	size_t pos = hlen + 1, line = 2;
	while (pos < len) {
		char *start = out->buf + pos;
		size_t n = 0;
		while (pos + n < len && start[n] != '\n')
			n++;
		if (memchr(start, '\0', n)) {
			rc = parley_error_set(err, PARLEY_ERR_INVALID, "%s: line %zu: NUL byte", name, line);
			goto fail;
		}
		if (n >= CHUNK_MANIFEST_LINE_MAX) {
			rc = parley_error_set(err, PARLEY_ERR_INVALID, "%s: line %zu: longer than %d bytes",
					      name, line, CHUNK_MANIFEST_LINE_MAX - 1);
			goto fail;
		}
		start[n] = '\0';
		const char *why = chunk_path_problem(start);
		if (why) {
			rc = parley_error_set(err, PARLEY_ERR_INVALID, "%s: line %zu: %s", name, line, why);
			goto fail;
		}
		out->paths[out->n++] = start;
		pos += n + 1;
		line++;
	}
	if (out->n == 0) {
		rc = parley_error_set(err, PARLEY_ERR_INVALID, "%s: no chunks listed", name);
		goto fail;
	}
	return PARLEY_OK;
fail:
	chunk_manifest_release(out);
	return rc;
}

enum parley_err audio_decode_manifest(const char *path, const struct audio_decode_params *p,
				      struct pcm *out, struct parley_error *err)
{
	memset(out, 0, sizeof(*out));
	struct audio_decode_params dp = p ? *p : audio_decode_default_params();
	char *text = NULL;
	size_t len = 0;
	struct chunk_manifest m = {0};
	struct pcm part = {0};
	int16_t *all = NULL;
	size_t n = 0, cap = 0;
	size_t max_samples = (size_t)(dp.max_seconds * dp.rate);
	enum parley_err rc = fs_read_file(path, (size_t)CHUNK_MANIFEST_MAX_CHUNKS * CHUNK_MANIFEST_LINE_MAX +
					  64, &text, &len, err);
	if (rc || (rc = chunk_manifest_parse(text, len, path, &m, err)))
		goto out;
	/* chunk paths are relative to the manifest's directory */
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path) : 1;
	const char *dir = slash ? path : ".";
	for (size_t i = 0; i < m.n; i++) {
		char chunk[PARLEY_PATH_MAX];
		int w = snprintf(chunk, sizeof(chunk), "%.*s/%s", dirlen, dir, m.paths[i]);
		if (w < 0 || (size_t)w >= sizeof(chunk)) {
			rc = parley_error_set(err, PARLEY_ERR_TOO_LARGE, "%s: chunk path too long: %s", path,
					      m.paths[i]);
			goto out;
		}
		if ((rc = audio_decode_file(chunk, &dp, &part, err))) {
			parley_error_prefix(err, "%s: chunk %zu (%s)", path, i + 1, m.paths[i]);
			goto out;
		}
		if (part.n > max_samples || n > max_samples - part.n) {
			rc = parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					      "%s: longer than %.0f s at chunk %zu (%s)", path, dp.max_seconds,
					      i + 1, m.paths[i]);
			goto out;
		}
		if (n + part.n > cap) {
			size_t nc = cap ? cap : part.n;
			while (nc < n + part.n)
				nc *= 2;
			int16_t *na = realloc(all, nc * sizeof(*all));
			if (!na) {
				rc = parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory at chunk %zu",
						      path, i + 1);
				goto out;
			}
			all = na;
			cap = nc;
		}
		memcpy(all + n, part.samples, part.n * sizeof(*all));
		n += part.n;
		pcm_release(&part);
	}
	out->samples = all;
	out->n = n;
	out->rate = dp.rate;
	all = NULL;
out:
	free(all);
	pcm_release(&part);
	chunk_manifest_release(&m);
	free(text);
	return rc;
}
