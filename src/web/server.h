/*
 * server.h — the HTTP server of `parley serve` on libmicrohttpd: a pool of
 * threads (epoll), each request routed through the route table
 * (src/web/routes.c), its body accumulated under the route's limit, the
 * caller authenticated, the handler run, the response sent.
 *
 *   struct web_server_params p = web_server_default_params();
 *   p.store = "data/parley.db"; p.data_dir = "data";
 *   struct web_server *srv;
 *   if (web_server_start(&p, &srv, &err)) fail(err.msg);
 *   printf("port %d\n", web_server_port(srv));
 *   ... wait for a signal ...
 *   web_server_stop(srv);        // stop accepting, finish in-flight requests
 *
 * Limits: idle_timeout closes a connection that sends nothing for that long;
 * header_timeout closes one whose request line and headers (or, kept alive,
 * its next request's) are not all in within that many seconds, however
 * they trickle; a connection over connection_limit, or over per_ip_limit
 * for its address, evicts the connection longest in its header phase (of
 * that address; or of an address holding more than a quarter of
 * per_ip_limit) when one has been there over a second, else is closed at
 * once: slow senders cannot hold the slots other clients need. Cut
 * connections are logged ("slow client closed: why");
 * request_timeout bounds one request from its headers to its last body byte
 * (a client trickling its body gets 408 `timeout`, or is cut when a response
 * can no longer be queued); a body over the route's limit is 413 as soon as
 * Content-Length or the bytes received say so (a chunked body that passes
 * the limit, or one refused 503 as it arrives: what came is freed, the rest
 * is read and dropped, at most linger_bytes more, else the connection is
 * cut, and the answer sent after it — libmicrohttpd answers only a whole
 * request, or one not yet read); a route's caller is
 * authenticated (and its precheck run) when the headers are in, so a request
 * that will be refused is answered before its body is read — and its answer
 * is never lost to a reset (src/web/linger.h): a declared body of at most
 * drain_bytes is read and dropped first and the connection kept; a larger,
 * chunked or Expect: 100-continue one is answered at once (no 100 Continue)
 * with Connection: close, and the socket then lingers, dropping what comes
 * for at most linger_seconds / linger_bytes, before it closes; the bodies held
 * at once are bounded by max_body_memory (503 `busy` with Retry-After past
 * it); connection_limit and
 * per_ip_limit bound the sockets. Errors are JSON (src/web/http.h).
 * Every request writes one access-log line on stderr (unless quiet).
 * Every answer carries the security headers (a Content-Security-Policy
 * without inline script or style, frame-ancestors 'none', nosniff, no
 * referrer) and, with TLS, Strict-Transport-Security. An error's message
 * never holds the data directory's path; server failures (5xx) answer
 * what failed as the user knows it and log the details (web/http.h).
 *
 * Decode pool: the handlers of WEB_ROUTE_POOL routes (chunk and batch file
 * uploads, which decode the body) never run on an HTTP thread. When such a
 * request's body is in, its connection is suspended (MHD_suspend_connection)
 * and the handler queued on decode_workers threads (src/util/work_pool.h);
 * the worker fills the answer and resumes the connection, and the HTTP
 * thread sends it. No HTTP thread waits for a decode, so /health and every
 * other request stay prompt under decode bombs. At most decode_workers +
 * decode_queue uploads are decoding or waiting: past that 503 `busy` with
 * Retry-After at once, as for one that waited past request_timeout.
 *
 * Threads: each pool thread opens its own store (and queue, with Redis)
 * connection on its first request; all are closed by web_server_stop. With a
 * Redis queue, ending a session pushes the new recording there (the
 * session_ctx on_queued hook). One server per process.
 */
#ifndef PARLEY_WEB_SERVER_H
#define PARLEY_WEB_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "session/session.h"
#include "util/error.h"
#include "web/metrics.h"
#include "web/ratelimit.h"

#define WEB_CHUNK_LIMIT_DEFAULT (32u * 1024 * 1024)
#define WEB_BODY_MEMORY_DEFAULT ((size_t)256 * 1024 * 1024)

struct web_server_params {
	const char *host;            /* numeric IPv4/IPv6 address to bind ("127.0.0.1") */
	int port;                    /* 0: any free port (see web_server_port) */
	int threads;                 /* pool threads (2) */
	unsigned idle_timeout;       /* seconds a connection may stay silent (30) */
	unsigned request_timeout;    /* seconds from headers to the whole body (60) */
	unsigned header_timeout;     /* seconds for the whole header phase (10): a
					deadline, not an idle timer bytes reset */
	unsigned connection_limit;   /* open connections in all (256) */
	unsigned per_ip_limit;       /* open connections per client address (64) */
	size_t max_chunk_bytes;      /* chunk upload limit (32 MiB) */
	size_t max_body_memory;      /* request body bytes held at once over all
					connections (256 MiB): past it 503 `busy` */
	double max_chunk_seconds;    /* a chunk's decoded audio (0: 600 s) */
	double max_session_seconds;  /* a session's audio in all (0: 4 h) */
	struct session_quota quota;  /* per-user quotas (0: none) */
	const char *cors_origin;     /* Access-Control-Allow-Origin value, NULL: no CORS */
	const char *store;           /* store target (each thread opens its own) */
	const char *data_dir;        /* session chunks and samples */
	const char *queue;           /* "store" / NULL, or redis://… (pushed on end) */
	const char *queue_prefix;    /* Redis key prefix ("parley:") */
	const char *pipeline_config; /* stored with each session's batch (JSON; NULL:
					defaults); not copied: must outlive the server */
	bool quiet;                  /* no access log */
	const char *files_root;      /* batches' server-side paths must be under it (NULL: none) */
	int max_streams;             /* event streams open at once (0: as many as threads) */
	unsigned stream_seconds;     /* longest life of one event stream (600) */
	enum session_signup signup;  /* sign-ups on the page (SESSION_SIGNUP_LINK) */
	double claim_window;         /* seconds after a session's end to claim and join
					(SESSION_CLAIM_WINDOW_DEFAULT; 0: never closes) */
	const char *metrics_token;   /* GET /metrics needs "Authorization: Bearer" this
					(NULL or "": open) */
	const char *tls_cert;        /* PEM text of the certificate (chain) and of its */
	const char *tls_key;         /* key: HTTPS (both or neither; not copied: must
					outlive the server) */
	unsigned long long min_free_bytes; /* /health is 503 and chunk uploads 507 when the
					data directory's file system has less free (64 MiB) */
	int decode_workers;          /* threads that run upload checks (2; 0: 2) */
	int decode_queue;            /* uploads waiting for one at most (8); past
					workers + queue: 503 `busy` with Retry-After */
	long long batch_max_files;   /* files uploaded to one batch (10000; < 0: none) */
	unsigned long long batch_max_bytes; /* bytes uploaded to one batch (64 GiB; 0: none) */
	/* A request refused at its headers, before its body is read (linger.h): */
	size_t drain_bytes;          /* a declared body up to this is read and dropped,
					then answered, the connection kept (64 KiB) */
	double linger_seconds;       /* any other: answered with Connection: close,
					then what still comes is dropped for this long
					before the socket closes (2; 0: 2) */
	size_t linger_bytes;         /* ... or until this many bytes (16 MiB; 0: 16 MiB) */
};
struct web_server_params web_server_default_params(void);

struct web_server;

/* Bind and start the pool. INVALID for a bad address or limit, IO when the
 * address cannot be bound (the message says which). */
enum parley_err web_server_start(const struct web_server_params *p, struct web_server **out,
				 struct parley_error *err);
/* The port actually bound. */
int web_server_port(const struct web_server *s);
/* Stop accepting, wait (at most grace seconds) for requests in flight,
 * stop the threads, close every connection and store. Accepts NULL. */
void web_server_stop(struct web_server *s, double grace);

/* For handlers (src/web/route_*.c). */
/* Fill c's upload limits and quotas from the server's settings. */
void web_server_session_limits(const struct web_server *s, struct session_ctx *c);
struct web_metrics *web_server_metrics(struct web_server *s);
const struct web_server_params *web_server_params(const struct web_server *s);
/* After recordings became leasable: push them on the Redis queue (nothing
 * to do with the store queue). Uses this thread's connections. */
enum parley_err web_server_push_leasable(struct web_server *s, struct parley_error *err);
/* Take one of the max_streams slots (false: all taken); give it back with
 * web_server_stream_release. */
bool web_server_stream_acquire(struct web_server *s);
void web_server_stream_release(struct web_server *s);
/* The rate limits of join codes and sign-ups (never NULL once started). */
struct web_limits {
	struct ratelimit *join_addr;    /* wrong join codes per client address */
	struct ratelimit *join_session; /* wrong join codes per session */
	struct ratelimit *signup_addr;  /* sign-ups per client address */
};
struct web_limits *web_server_limits(struct web_server *s);
/* The lingering closes so far (src/web/linger.h), for /metrics. */
struct web_linger_stats;
void web_server_linger_stats(struct web_server *s, struct web_linger_stats *out);
/* True when the server speaks HTTPS. */
bool web_server_tls(const struct web_server *s);
/* True once web_server_stop began (streams end). */
bool web_server_stopping(const struct web_server *s);
/* This thread's queue connection (opened on first use); NULL with err set. */
struct queue *web_server_thread_queue(struct web_server *s, struct parley_error *err);

#endif
