/*
 * remote.h — HTTP(S) requests to engine servers (speech-to-text, LLM), done
 * with libcurl the way a long batch needs them:
 *
 *   - connect and total timeouts on every request; TLS peer and host
 *     verification always on; only http:// and https://; no redirects;
 *   - the response is bounded (params.max_response; over it: TOO_LARGE);
 *   - an API key is read once, at open, from the environment variable the
 *     configuration NAMES (never the key itself), sent as
 *     "Authorization: Bearer …" and never put in a message, log or output;
 *   - failures are sorted: timeouts, connection errors, a reset or truncated
 *     body, 408, 429 (Retry-After honoured, capped) and 5xx are transient and
 *     retried here (params.retries times, backoff 0.25 s doubling, at most
 *     params.retry_max_wait); the response check (on_response) may call a
 *     200 malformed (PARLEY_ERR_ENGINE), which is retried too. 401/403 give
 *     PARLEY_ERR_UNAUTHORIZED and other 4xx PARLEY_ERR_REJECTED, at once,
 *     with the server's message. Retries used up: PARLEY_ERR_ENGINE;
 *   - remote_perform() runs many requests with up to params.concurrency in
 *     flight (curl multi), so one worker keeps a GPU server busy.
 *
 *   struct remote_params rp = remote_default_params();
 *   rp.base_url = "http://gpu:8000/v1"; rp.api_key_env = "OPENAI_API_KEY";
 *   struct remote *r; remote_open(&rp, &r, &err);
 *   struct remote_request q = {.path = "/chat/completions", .json = body};
 *   remote_perform(r, &q, 1, &err);   // q.response holds the 2xx body
 *   remote_request_clear(&q); remote_close(r);
 *
 * THREADS: a struct remote is used by one thread at a time.
 */
#ifndef PARLEY_ENGINES_REMOTE_H
#define PARLEY_ENGINES_REMOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define REMOTE_URL_MAX 1024
#define REMOTE_ENV_NAME_MAX 128

struct remote_params {
	const char *base_url;       /* http(s)://host[:port][/path], no trailing '/' needed */
	const char *api_key_env;    /* name of the variable holding the key; NULL/"" = none */
	double timeout;             /* seconds per request, default 120 */
	double connect_timeout;     /* seconds, default 10 */
	int concurrency;            /* requests in flight, default 4 (1..64) */
	int retries;                /* transient failures retried per request, default 4 */
	double retry_max_wait;      /* longest wait before a retry (Retry-After capped), default 30 */
	size_t max_response;        /* bytes, default 16 MiB */
	const char *what;           /* names the engine in messages ("stt openai"), default "engine" */
	bool (*abort)(void *user_data); /* polled every 100 ms; true: PARLEY_ERR_ABORTED */
	void *user_data;
};
struct remote_params remote_default_params(void);

struct remote; /* an open client: base URL, key header, curl multi handle */

/* One part of a multipart/form-data body. */
struct remote_part {
	const char *name;
	const char *data;
	size_t len;
	const char *filename; /* NULL: a plain field */
	const char *type;     /* content type of a file part */
};

struct remote_request {
	/* in */
	const char *path;                 /* appended to base_url ("/audio/transcriptions") */
	const char *json;                 /* a JSON body (POST), or */
	const struct remote_part *parts;  /* a multipart body (POST); neither: GET */
	size_t nparts;
	/* Check a 2xx body. Return PARLEY_OK, or PARLEY_ERR_ENGINE for a body
	 * that is malformed (retried), or any other code (fails at once). */
	enum parley_err (*on_response)(void *ud, const char *body, size_t len,
				       struct parley_error *err);
	void *ud;
	/* out */
	long status;      /* last HTTP status (0: none) */
	char *response;   /* malloc'd, NUL-terminated 2xx body; free with remote_request_clear */
	size_t response_len;
	int attempts;     /* requests sent */
};

/* Errors: PARLEY_ERR_INVALID (URL not http(s), bad numbers, the named key
 * variable is unset or empty), PARLEY_ERR_NOMEM. */
enum parley_err remote_open(const struct remote_params *params, struct remote **out,
			    struct parley_error *err);
void remote_close(struct remote *r); /* accepts NULL */

/* Run every request; on PARLEY_OK each has its response. On the first
 * request that fails for good the others are cancelled and *err names it
 * (with the server's message when it sent one). */
enum parley_err remote_perform(struct remote *r, struct remote_request *reqs, size_t n,
			       struct parley_error *err);
void remote_request_clear(struct remote_request *q);

/* Set the abort callback remote_perform polls (per call: the caller's). */
void remote_set_abort(struct remote *r, bool (*abort)(void *user_data), void *user_data);

/* base_url without credentials or query ("http://host:8000/v1"), for descriptions. */
const char *remote_base_url(const struct remote *r);
/* libcurl's version text ("libcurl/7.88.1 OpenSSL/3.0.15"). */
const char *remote_library_version(void);

/* The message inside an error body: {"error":{"message":…}}, {"error":"…"},
 * {"detail":…}, {"message":…}, else the body's first printable 200 bytes.
 * Writes at most size bytes to out. */
void remote_error_text(const char *body, size_t len, char *out, size_t size);

/* Seconds from a Retry-After value (delta-seconds only; HTTP dates give -1). */
double remote_parse_retry_after(const char *value);

#endif
