/*
 * manifest.h — a chunk manifest: one recording made of several audio files
 * played one after the other (a live session's uploaded chunks).
 *
 *   parley-chunks 1
 *   chunks/00000
 *   chunks/00001
 *
 * The first line is the header "parley-chunks 1"; every further line is the
 * path of one chunk, relative to the manifest's directory, in playing order.
 * A path is 1..CHUNK_MANIFEST_LINE_MAX-1 bytes of printable ASCII, not
 * absolute, with no "." or ".." component and no empty component; there are
 * 1..CHUNK_MANIFEST_MAX_CHUNKS of them. A final newline is optional; "\r",
 * blank lines and anything else fail with PARLEY_ERR_INVALID naming the line.
 * The file name ends with CHUNK_MANIFEST_EXT.
 *
 *   struct chunk_manifest m;
 *   if (chunk_manifest_parse(text, len, "audio.chunks", &m, &err)) fail(err.msg);
 *   for (size_t i = 0; i < m.n; i++) use(m.paths[i]);
 *   chunk_manifest_release(&m);
 */
#ifndef PARLEY_AUDIO_MANIFEST_H
#define PARLEY_AUDIO_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include "audio/decode.h"
#include "audio/pcm.h"
#include "util/error.h"

#define CHUNK_MANIFEST_HEADER "parley-chunks 1"
#define CHUNK_MANIFEST_EXT ".chunks"
#define CHUNK_MANIFEST_LINE_MAX 256
#define CHUNK_MANIFEST_MAX_CHUNKS 100000

struct chunk_manifest {
	const char **paths; /* n paths, pointing into buf */
	size_t n;
	char *buf; /* owned */
};

/* Does path name a manifest (ends with CHUNK_MANIFEST_EXT)? */
bool chunk_manifest_is(const char *path);

/* Parse len bytes of manifest text; name is used in messages. On success *out
 * owns its memory (chunk_manifest_release); on failure it is zeroed.
 * PARLEY_ERR_INVALID, PARLEY_ERR_TOO_LARGE (too many chunks) or NOMEM. */
enum parley_err chunk_manifest_parse(const char *text, size_t len, const char *name,
				     struct chunk_manifest *out, struct parley_error *err);
void chunk_manifest_release(struct chunk_manifest *m); /* accepts NULL */

/*
 * Decode every chunk of the manifest at path (as audio_decode_file() with p)
 * and concatenate the PCM into *out. A chunk that fails fails the whole call
 * with its code and a message naming the manifest and the chunk; the total
 * is bounded by p->max_seconds (PARLEY_ERR_TOO_LARGE).
 */
enum parley_err audio_decode_manifest(const char *path, const struct audio_decode_params *p,
				      struct pcm *out, struct parley_error *err);

#endif
