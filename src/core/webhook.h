/*
 * webhook.h — signed webhooks (issue 14): a batch's endpoint, an outbox of
 * events in the store, and the sender that delivers them.
 *
 *   // at batch creation (submit, `parley batch create`, POST /v1/batches)
 *   struct webhook_config wc = webhook_default_config();
 *   snprintf(wc.url, …); snprintf(wc.secret, …);   // whsec_<base64> or raw text
 *   webhook_events_parse("batch,file", &wc.events, &err);
 *   webhook_set(st, batch_id, &wc, &err);
 *
 *   // in the transaction that finishes a recording (core/worker.c)
 *   store_begin(st); store_recording_finish(st, …);
 *   webhook_on_finish(st, &fin, &err);              // recording.*, stage.*, batch.completed
 *   store_commit(st);
 *
 *   // anywhere, repeatedly (the worker's and serve's sender thread,
 *   // `parley webhooks deliver`)
 *   struct webhook_send_params sp = webhook_default_send_params();
 *   webhook_deliver_due(st, &sp, 16, &attempted, &err);
 *
 * Tables (migration 7, store/schema.c): webhooks (one endpoint per batch:
 * url, secret as given, events "batch,file,stage", retry schedule text,
 * disabled), webhook_deliveries (the outbox: one row per event, UNIQUE
 * event_id), webhook_attempts (every attempt: status code, error sentence,
 * seconds).
 *
 * Events and their ids (deterministic, so an event is inserted once however
 * many workers detect it: INSERT … ON CONFLICT (event_id) DO NOTHING):
 *   batch.completed     evt_b<batch>_v<audit version>_completed  ("batch")
 *   recording.completed evt_r<rec>_v<version>_done              ("file")
 *   recording.failed    evt_r<rec>_v<version>_failed            ("file")
 *   stage.completed     evt_b<batch>_v<version>_<stage>         ("stage")
 * The body is {"type","timestamp" (ISO 8601 UTC),"data":{…}}, fixed when the
 * event is enqueued: every attempt sends the same bytes.
 *
 * Delivery (Standard Webhooks): POST url with Content-Type application/json
 * and the headers webhook-id (the event id, the same on every attempt),
 * webhook-timestamp (seconds, this attempt's) and webhook-signature
 * "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>", where key is the
 * base64-decoded part of a "whsec_…" secret, else the secret's bytes.
 * A delivery is claimed under a lease (owner "host:pid", expiry beyond the
 * request's timeout) in the same transaction that writes its attempt row,
 * so two senders never send the same attempt; a sender killed mid-request
 * leaves the attempt row ("no answer recorded") and the lease, which
 * expires — or is reclaimed at once when the owner was a process of this
 * host that is gone — and the next attempt goes out with the same
 * webhook-id. At-least-once: a receiver dedupes by webhook-id.
 * Outcomes: 2xx delivered; 410 Gone disables the endpoint (its pending
 * deliveries become "disabled"); anything else (other statuses, timeouts,
 * connection errors) is retried on the schedule — delays after the 1st,
 * 2nd, … failed attempt, default WEBHOOK_DEFAULT_SCHEDULE (Standard
 * Webhooks / Svix: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), each ±20%
 * jitter, never sooner than the server's Retry-After (seconds or an HTTP
 * date, capped at a day) — then the delivery fails ("gave up").
 * Statuses of a delivery: pending, delivered, failed, disabled.
 *
 * All store functions run in the caller's transaction when one is open
 * (webhook_on_finish requires one), else in their own. Secrets are never
 * logged or put in a message.
 */
#ifndef PARLEY_CORE_WEBHOOK_H
#define PARLEY_CORE_WEBHOOK_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/error.h"

#define WEBHOOK_URL_MAX 2048
#define WEBHOOK_SECRET_MAX 512      /* the secret's text */
#define WEBHOOK_KEY_MAX 256         /* the key's bytes */
#define WEBHOOK_KEY_MIN 16          /* shortest key accepted */
#define WEBHOOK_SCHEDULE_TEXT_MAX 256
#define WEBHOOK_SCHEDULE_MAX 32     /* retries */
#define WEBHOOK_EVENT_ID_MAX 96
#define WEBHOOK_PAYLOAD_MAX ((size_t)256 << 10)
#define WEBHOOK_RETRY_AFTER_MAX 86400.0
#define WEBHOOK_DEFAULT_SCHEDULE "5s,5m,30m,2h,5h,10h,10h"

enum webhook_event_kind {
	WEBHOOK_EV_BATCH = 1, /* batch.completed */
	WEBHOOK_EV_FILE = 2,  /* recording.completed / recording.failed */
	WEBHOOK_EV_STAGE = 4, /* stage.completed */
};

struct webhook_config {
	char url[WEBHOOK_URL_MAX];
	char secret[WEBHOOK_SECRET_MAX];
	unsigned events; /* enum webhook_event_kind bits; default batch */
	char schedule[WEBHOOK_SCHEDULE_TEXT_MAX]; /* "" = WEBHOOK_DEFAULT_SCHEDULE */
	bool disabled;
};
struct webhook_config webhook_default_config(void);

/* "batch,file,stage" (any of them, comma-separated) → bits; INVALID names the word. */
enum parley_err webhook_events_parse(const char *text, unsigned *events, struct parley_error *err);
/* bits → "batch,file,stage" order */
void webhook_events_format(unsigned events, char *out, size_t size);

/* A URL a webhook may be sent to: http:// or https://, a host, no user or
 * password, no spaces or control characters, shorter than WEBHOOK_URL_MAX. */
enum parley_err webhook_url_check(const char *url, struct parley_error *err);
/* The key of a secret: "whsec_<base64>" decoded, else the text's bytes;
 * WEBHOOK_KEY_MIN..WEBHOOK_KEY_MAX bytes. The message never quotes it. */
enum parley_err webhook_secret_key(const char *secret, uint8_t *key, size_t *n,
				   struct parley_error *err);

struct webhook_schedule {
	double delay[WEBHOOK_SCHEDULE_MAX]; /* seconds before retry i+1 */
	int n;
};
/* "5s,5m,30m,2h" (units s, m, h, d; a bare number is seconds; 0..7 days
 * each; 1..WEBHOOK_SCHEDULE_MAX entries); "" = the default. */
enum parley_err webhook_schedule_parse(const char *text, struct webhook_schedule *out,
				       struct parley_error *err);
/* After `failed` failed attempts (>= 1): seconds until the next one, or -1
 * when the schedule is used up. jitter in [-1, 1] scales the delay by
 * ±20%; retry_after (>= 0, the server's; < 0 none) is a floor, capped at
 * WEBHOOK_RETRY_AFTER_MAX. */
double webhook_schedule_next(const struct webhook_schedule *s, int failed, double retry_after,
			     double jitter);
/* A Retry-After value: delta-seconds or an HTTP date (IMF-fixdate, RFC 850
 * or asctime form) relative to now (epoch seconds), capped at
 * WEBHOOK_RETRY_AFTER_MAX; -1 when it is neither. */
double webhook_parse_retry_after(const char *value, double now);

/* The webhook-signature value "v1,<base64>" of id.timestamp.body into
 * out[size] (size >= 64 is enough). */
enum parley_err webhook_sign(const char *secret, const char *id, long long timestamp,
			     const char *body, size_t len, char *out, size_t size,
			     struct parley_error *err);

/* Configure (replace) the batch's endpoint, checked first. */
enum parley_err webhook_set(struct store *st, int64_t batch_id, const struct webhook_config *c,
			    struct parley_error *err);
/* *found false (out zeroed) when the batch has none. */
enum parley_err webhook_get(struct store *st, int64_t batch_id, struct webhook_config *out,
			    bool *found, struct parley_error *err);

/* Add an event to the batch's outbox: body {"type","timestamp","data"}
 * where data_json is a JSON object's text. No endpoint: nothing, *inserted
 * false. An event_id already there: nothing, *inserted false. A disabled
 * endpoint: inserted as "disabled" (`parley webhooks redeliver` sends it). */
enum parley_err webhook_enqueue(struct store *st, int64_t batch_id, const char *event_id,
				const char *type, const char *data_json, bool *inserted,
				struct parley_error *err);

/* What finished: the hook's input. */
struct webhook_finish {
	int64_t batch_id;
	int64_t rec_id;
	const char *rec_name;
	enum store_status status;    /* STORE_DONE or STORE_FAILED */
	const char *error;           /* the failure's sentence (failed) */
	const char *const *stages;   /* the batch's pipeline, in order */
	size_t nstages;
	const char *public_url;      /* "" / NULL: no results_url in batch.completed */
};
/* The hook: inside the caller's transaction, right after the recording's
 * finish. Enqueues what the batch's endpoint asks for: recording.* for this
 * recording; stage.completed for each stage no pending or running recording
 * still has ahead of it; batch.completed when no recording of the batch is
 * pending or running. On PostgreSQL it locks the batch row first, so of two
 * workers finishing the last two recordings at once the second sees both.
 * A batch without an endpoint costs one indexed read. */
enum parley_err webhook_on_finish(struct store *st, const struct webhook_finish *f,
				  struct parley_error *err);

/* One HTTP POST: the sender's seam (tests put a fake in). */
struct webhook_post {
	const char *url;
	const char *const *headers; /* "Name: value" lines, NULL-terminated */
	const char *body;
	size_t len;
	double timeout, connect_timeout;
	size_t max_response;
};
struct webhook_reply {
	long status;        /* HTTP status; 0 when none came */
	double retry_after; /* seconds from now; -1 none */
	char error[256];    /* "" when status is 2xx; else a sentence */
};
typedef void (*webhook_post_fn)(void *ud, const struct webhook_post *req, struct webhook_reply *rep);
/* The real one: libcurl, no redirects, http/https only, TLS verified,
 * the reply bounded by max_response. */
void webhook_post_curl(void *ud, const struct webhook_post *req, struct webhook_reply *rep);

struct webhook_send_params {
	char owner[128];        /* "host:pid" (default: this process) */
	double timeout;         /* seconds per request (15) */
	double connect_timeout; /* seconds (10) */
	size_t max_response;    /* bytes of reply read (64 KiB) */
	int64_t batch_id;       /* 0 = every batch */
	webhook_post_fn post;   /* webhook_post_curl */
	void *post_ud;
	double (*jitter)(void *ud); /* in [-1, 1]; default random */
	void *jitter_ud;
};
struct webhook_send_params webhook_default_send_params(void);

/* Send what is due now: claim at most max deliveries, one at a time, each
 * under a lease, send, record the attempt and the outcome. *attempted =
 * requests made. Deliveries leased by dead processes of this host are
 * reclaimed first. */
enum parley_err webhook_deliver_due(struct store *st, const struct webhook_send_params *p,
				    int max, int *attempted, struct parley_error *err);
/* The earliest next_at of a pending delivery (0 when none), for waiting. */
enum parley_err webhook_next_due(struct store *st, int64_t batch_id, double *next_at,
				 struct parley_error *err);

/* Deliveries, for `parley webhooks list`. */
struct webhook_delivery {
	int64_t id;
	int64_t batch_id;
	char batch[STORE_NAME_MAX];
	char event_id[WEBHOOK_EVENT_ID_MAX];
	char type[32];
	char status[16];
	int attempts;     /* attempt rows in all */
	int last_status;  /* HTTP status of the last attempt (0 none) */
	char last_error[256];
	double next_at, created_at, updated_at;
};
/* Newest first; batch_id 0 = all; fn returning non-zero stops. */
enum parley_err webhook_each(struct store *st, int64_t batch_id,
			     int (*fn)(const struct webhook_delivery *, void *), void *ud,
			     struct parley_error *err);
/* Attempts of a delivery, oldest first. */
struct webhook_attempt {
	int attempt;
	double at;
	int status_code;
	char error[256];
	double seconds;
};
enum parley_err webhook_attempt_each(struct store *st, int64_t delivery_id,
				     int (*fn)(const struct webhook_attempt *, void *), void *ud,
				     struct parley_error *err);
/* Send a delivery again (by id, or by event id when id_text is not a
 * number): pending, due now, a fresh schedule; a disabled endpoint is
 * enabled again (*reenabled true). NOT_FOUND when there is no such one. */
enum parley_err webhook_redeliver(struct store *st, const char *id_text, int64_t *delivery_id,
				  bool *reenabled, struct parley_error *err);

/*
 * The sender thread: webhook_deliver_due over its own store connection
 * every `poll` seconds (and at once after work). webhook_loop_stop(l, linger)
 * asks it to end: with linger > 0 it first keeps sending while a pending
 * delivery is due within linger seconds (a `parley worker` leaving keeps the
 * first retries), then joins. Errors are logged and retried, never fatal.
 */
struct webhook_loop_params {
	char store[1024];
	struct webhook_send_params send;
	double poll; /* seconds between passes (1) */
};
struct webhook_loop;
enum parley_err webhook_loop_start(const struct webhook_loop_params *p, struct webhook_loop **out,
				   struct parley_error *err);
void webhook_loop_stop(struct webhook_loop *l, double linger); /* accepts NULL */

#endif
