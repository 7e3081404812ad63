/*
 * error.h — parley's one error enum and the error struct that carries a
 * sentence a person can act on.
 *
 *   struct parley_error err = {0};
 *   if (audio_decode_file(path, &pcm, &err) != PARLEY_OK)
 *       fprintf(stderr, "%s\n", err.msg);   // "a.mp3: not an audio file (ffmpeg: ...)"
 *
 * Every function that can fail returns an enum parley_err (0 = OK) and, when
 * given a non-NULL struct parley_error *, fills it with the code and a message.
 * The enum only grows: never renumber or reuse a value.
 */
#ifndef PARLEY_UTIL_ERROR_H
#define PARLEY_UTIL_ERROR_H

#include <stdarg.h>
#include <stdbool.h>

enum parley_err {
	PARLEY_OK = 0,
	PARLEY_ERR_NOMEM = 1,     /* allocation failed */
	PARLEY_ERR_IO = 2,        /* a file or directory could not be read/written */
	PARLEY_ERR_INVALID = 3,   /* bad input: arguments, config, lexicon, JSON */
	PARLEY_ERR_TOO_LARGE = 4, /* a bounded buffer or input limit was exceeded */
	PARLEY_ERR_AUDIO = 5,     /* the input is not decodable audio (permanent) */
	PARLEY_ERR_ENGINE = 6,    /* a speech engine failed (transient) */
	PARLEY_ERR_STORE = 7,     /* the database failed (transient) */
	PARLEY_ERR_NOT_FOUND = 8, /* a named thing does not exist */
	PARLEY_ERR_BUSY = 9,      /* locked or leased by someone else (transient) */
	PARLEY_ERR_ABORTED = 10,  /* stopped on request (signal, abort callback) */
	PARLEY_ERR_EMPTY = 11,    /* input holds no audio / no speech (permanent) */
	PARLEY_ERR_INTERNAL = 12, /* a bug: an invariant did not hold */
	PARLEY_ERR_UNAVAILABLE = 13, /* a server (store, queue) cannot be reached (transient;
	                              * not the recording's fault: costs it no attempt) */
	PARLEY_ERR_CONFLICT = 14, /* the request clashes with the current state (HTTP 409) */
	PARLEY_ERR_UNAUTHORIZED = 15, /* no valid credentials (HTTP 401) */
	PARLEY_ERR_REJECTED = 16, /* a remote engine refused the request (HTTP 4xx other than
	                           * 401/403/408/429; permanent; the message quotes the server) */
	PARLEY_ERR_COUNT_
};

#define PARLEY_ERROR_MSG_MAX 512

struct parley_error {
	enum parley_err code;
	char msg[PARLEY_ERROR_MSG_MAX];
};

/* Short fixed description of a code ("not decodable audio"). Never NULL. */
const char *parley_strerror(enum parley_err code);

/* Stable machine name of a code ("audio", "nomem"), for JSON and the store. */
const char *parley_err_name(enum parley_err code);

/* True when retrying the same work later may succeed (store, engine, busy, io). */
bool parley_err_is_transient(enum parley_err code);

/*
 * Fill *err (if non-NULL) with code and a printf-formatted sentence; the
 * message is truncated to fit. Returns code, so callers can write
 * `return parley_error_set(err, PARLEY_ERR_IO, "%s: %s", path, strerror(errno));`
 */
enum parley_err parley_error_set(struct parley_error *err, enum parley_err code,
				 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix an existing message: "ctx: old message". Keeps the code. */
void parley_error_prefix(struct parley_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reset to PARLEY_OK and an empty message. Accepts NULL. */
void parley_error_clear(struct parley_error *err);

#endif
