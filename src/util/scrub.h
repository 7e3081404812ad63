/*
 * scrub.h — a failure sentence as its user may read it: the server's paths
 * and temporary-file pids taken out (issue 16 item 5). Pure.
 *
 *   struct scrub_names n = {.source = "/srv/data/batches/1/files/a.wav",
 *                           .name = "a.wav", .dirs = {"data", "/srv/data"},
 *                           .server_side = true};
 *   scrub_text("/srv/data/batches/1/files/a.wav: not an audio file", &n, out, size);
 *   // "a.wav: not an audio file"
 *
 * A path is a run of characters starting where a word starts (the
 * beginning, or after a space, quote, '(' '[' '<' or '=') and ending before
 * a space, quote, ':' ';' ',' ')' ']' or '>'. It becomes:
 *   - n->name when it is n->source;
 *   - "chunk N" for DIR/sessions/<id>/chunks/NNNNN[...] under one of n->dirs;
 *   - FILE for DIR/batches/<id>/files/FILE;
 *   - its last part for any other path under one of n->dirs, and (with
 *     server_side) for any other absolute path;
 * and a temporary file's suffix ".tmp.PID.K" is dropped from what remains.
 * Paths of a recording the user gave by path (`parley run`: server_side
 * false, its files outside the dirs) stay as they are.
 */
#ifndef PARLEY_UTIL_SCRUB_H
#define PARLEY_UTIL_SCRUB_H

#include <stdbool.h>
#include <stddef.h>

#define SCRUB_DIRS_MAX 2

struct scrub_names {
	const char *source;                 /* replaced by name (NULL/"": none) */
	const char *name;
	const char *dirs[SCRUB_DIRS_MAX];   /* the server's data directory (as given, resolved) */
	bool server_side;                   /* every absolute path is the server's */
};

/* The names of a recording read from source (named name) with the server's
 * data directory data_dir: server_side when source resolves under it (else
 * source is not replaced: a path its user gave).
 * real[PATH_MAX] holds data_dir resolved (n->dirs[1] points to it). */
void scrub_names_recording(struct scrub_names *n, const char *source, const char *name,
			   const char *data_dir, char *real);

/* msg scrubbed into out[size] (always NUL-terminated, truncated to fit). */
void scrub_text(const char *msg, const struct scrub_names *n, char *out, size_t size);

#endif
