/*
 * denoise_http.h — noise suppression on a server (the replaced system's
 * denoise service, DENOISE_PORT), over one small protocol:
 *
 *   POST URL                     (the configured denoise.engine, as given:
 *                                 "http://denoise:5010/denoise")
 *   Content-Type: multipart/form-data, one part:
 *     file   "audio.wav", audio/wav: 16-bit PCM mono WAV at the recording's
 *            rate (16 kHz)
 *   200 OK, body: the denoised audio as a WAV file (any rate, channels and
 *          sample format FFmpeg reads; it is decoded back to the input's
 *          rate, mono), as long as the input (within 1% or 0.1 s).
 *   4xx/5xx: an error; a JSON body {"error": "..."} is quoted in the message.
 *
 * The request goes through remote.h: connect and total timeouts, TLS
 * verification, the reply bounded (max_reply bytes), 408/429/5xx, resets and
 * timeouts retried (retries), a 200 whose body is not audio or has another
 * length retried too; other 4xx fail at once. The reply is decoded with the
 * fuzzed decoder (audio/decode.h audio_decode_memory).
 *
 * THREADS: no shared state; each call opens its own client.
 */
#ifndef PARLEY_ENGINES_DENOISE_HTTP_H
#define PARLEY_ENGINES_DENOISE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "audio/pcm.h"
#include "util/error.h"

struct denoise_http_params {
	const char *url;        /* http(s)://host[:port][/path] */
	double timeout;         /* seconds per request (120) */
	double connect_timeout; /* seconds (10) */
	int retries;            /* transient failures retried (4) */
	size_t max_reply;       /* bytes (256 MiB: ~2 h of 16 kHz 16-bit WAV) */
	bool (*abort)(void *user_data); /* polled while waiting; true: PARLEY_ERR_ABORTED */
	void *user_data;
};
struct denoise_http_params denoise_http_default_params(void);

/* Send pcm, replace its samples with the server's denoised audio. Errors:
 * PARLEY_ERR_INVALID (URL), PARLEY_ERR_UNAVAILABLE/ENGINE (server down,
 * timeouts, bad replies after the retries), PARLEY_ERR_REJECTED (4xx),
 * PARLEY_ERR_UNAUTHORIZED, PARLEY_ERR_TOO_LARGE, PARLEY_ERR_ABORTED,
 * PARLEY_ERR_NOMEM. Messages start "denoise URL: ". On failure pcm is
 * unchanged; empty audio is not sent. */
enum parley_err denoise_http_pcm(const struct denoise_http_params *p, struct pcm *pcm,
				 struct parley_error *err);

#endif
