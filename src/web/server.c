#include "web/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <limits.h>
#include <unistd.h>

#include "core/batches.h"
#include "queue/queue.h"
#include "session/session.h"
#include "store/store.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/timeutil.h"
#include "util/work_pool.h"
#include "web/http.h"
#include "web/json_body.h"
#include "web/linger.h"
#include "web/routes.h"

#define WEB_THREADS_MAX 64
#define WEB_TOKEN_MAX 128

/* One pool thread's connections, opened on its first request. */
struct thread_conns {
	struct store *store;
	struct queue *queue;
	struct thread_conns *next;
};

struct web_server {
	struct web_server_params p;
	char host[64], store[1024], data_dir[1024], queue[1024], queue_prefix[64], cors[256];
	char files_root[1024];
	atomic_int streams;
	atomic_bool stopping;
	struct MHD_Daemon *mhd;
	int port;
	pthread_key_t key;
	pthread_mutex_t lock; /* guards conns */
	struct thread_conns *conns;
	atomic_int in_flight;
	atomic_size_t buffered; /* request body bytes reserved by all connections */
	pthread_mutex_t track_lock; /* guards the connection table */
	struct tracked *tracked;    /* every open connection */
	int ntracked;
	pthread_t reaper;
	bool reaper_started;
	atomic_long slow_closed;    /* connections cut by a deadline or evicted */
	struct web_metrics metrics;
	char metrics_token[256];
	char data_real[1024]; /* the data directory's absolute path (hidden in answers) */
	struct web_limits limits;
	struct work_pool *pool; /* the decode pool (WEB_ROUTE_POOL handlers) */
	struct web_linger *linger;  /* sockets of refused uploads, drained before they close */
};

/* One open connection, for the deadlines and the fair limits (the
 * connection table below): its phase and since when it is in it. */
enum conn_phase { PHASE_HEADERS, PHASE_BODY, PHASE_POOL, PHASE_ANSWER };

struct tracked {
	struct MHD_Connection *conn;
	int fd;
	char addr[64];
	enum conn_phase phase;
	double since;  /* time_mono() the phase began */
	bool cut;      /* shut down by us (closing) */
	int linger_fd; /* a duplicate of fd kept for a lingering close: handed to
			  web_linger_add when MHD closes the connection (-1: none) */
	struct tracked *prev, *next;
};

#define WEB_SLOW_GRACE 1.0 /* seconds in the header phase before a connection may be evicted */

/* One request, from its request line to the completion callback. */
struct conn_req {
	double start; /* time_mono() at the request line */
	bool begun;   /* the headers are in: request_begin ran */
	const char *refuse; /* set at the request line: answered 400/414 at the headers */
	int refuse_status;
	struct router_result m;
	struct strbuf body;
	size_t limit;
	size_t reserved;  /* of web_server.buffered */
	bool authed;      /* user is the caller (authenticated at the headers) */
	struct session_user user;
	int status;   /* what was answered (0: nothing yet) */
	bool closed;  /* answered by closing the connection */
	size_t sent;  /* body bytes of the response */
	char method[16];
	char path[160];
	/* A refusal at the headers (linger.h, WEB_LINGER_DRAIN) or while the
	 * body arrives: the answer waits in held while the rest of the body is
	 * read and dropped (draining; dropped bytes so far), then is sent. */
	enum web_linger_plan plan;
	bool draining;
	size_t dropped;
	struct web_resp held;
	/* WEB_ROUTE_POOL: the handler runs in the decode pool while MHD holds
	 * the connection suspended; the pool fills resp, sets pool DONE and
	 * resumes it; on_request then sends resp. */
	struct web_server *srv;
	struct MHD_Connection *conn;
	const char *url_full, *method_full; /* MHD's, valid for the request */
	atomic_int pool;
	struct web_resp resp;
};

enum { POOL_NONE, POOL_BUSY, POOL_DONE };

struct web_server_params web_server_default_params(void)
{
	return (struct web_server_params){
		.host = "127.0.0.1",
		.port = 8080,
		.threads = 2,
		.idle_timeout = 30,
		.request_timeout = 60,
		.header_timeout = 10,
		.connection_limit = 256,
		.per_ip_limit = 64,
		.max_chunk_bytes = WEB_CHUNK_LIMIT_DEFAULT,
		.max_body_memory = WEB_BODY_MEMORY_DEFAULT,
		.queue = "store",
		.queue_prefix = "parley:",
		.stream_seconds = 600,
		.signup = SESSION_SIGNUP_LINK,
		.claim_window = SESSION_CLAIM_WINDOW_DEFAULT,
		.min_free_bytes = 64ull << 20,
		.decode_workers = 2,
		.decode_queue = 8,
		.batch_max_files = BATCHES_MAX_FILES_DEFAULT,
		.batch_max_bytes = BATCHES_MAX_BYTES_DEFAULT,
		.drain_bytes = WEB_LINGER_DRAIN_BYTES_DEFAULT,
		.linger_seconds = 2.0,
		.linger_bytes = (size_t)16 << 20,
	};
}

struct web_limits *web_server_limits(struct web_server *s)
{
	return &s->limits;
}

void web_server_linger_stats(struct web_server *s, struct web_linger_stats *out)
{
	web_linger_get_stats(s->linger, out);
}

bool web_server_tls(const struct web_server *s)
{
	return s->p.tls_cert && *s->p.tls_cert;
}

bool web_server_stream_acquire(struct web_server *s)
{
	int max = s->p.max_streams > 0 ? s->p.max_streams : s->p.threads;
	if (atomic_fetch_add(&s->streams, 1) >= max) {
		atomic_fetch_sub(&s->streams, 1);
		return false;
	}
	return true;
}

void web_server_stream_release(struct web_server *s)
{
	atomic_fetch_sub(&s->streams, 1);
}

bool web_server_stopping(const struct web_server *s)
{
	return atomic_load(&s->stopping);
}

struct web_metrics *web_server_metrics(struct web_server *s)
{
	return &s->metrics;
}

const struct web_server_params *web_server_params(const struct web_server *s)
{
	return &s->p;
}

int web_server_port(const struct web_server *s)
{
	return s->port;
}

void web_server_session_limits(const struct web_server *s, struct session_ctx *c)
{
	c->max_chunk_seconds = s->p.max_chunk_seconds;
	c->max_session_seconds = s->p.max_session_seconds;
	c->quota = s->p.quota;
}

/* --- per-thread connections --- */

static struct thread_conns *thread_conns_get(struct web_server *s)
{
	struct thread_conns *c = pthread_getspecific(s->key);
	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	pthread_setspecific(s->key, c);
	pthread_mutex_lock(&s->lock);
	c->next = s->conns;
	s->conns = c;
	pthread_mutex_unlock(&s->lock);
	return c;
}

static struct store *thread_store(struct web_server *s, struct parley_error *err)
{
	struct thread_conns *c = thread_conns_get(s);
	if (!c) {
		parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (!c->store && store_open(s->store, &c->store, err) != PARLEY_OK) {
		store_close(c->store);
		c->store = NULL;
	}
	return c->store;
}

struct queue *web_server_thread_queue(struct web_server *s, struct parley_error *err)
{
	struct thread_conns *c = thread_conns_get(s);
	if (!c) {
		parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (!c->queue && queue_open(s->queue, s->queue_prefix, &c->queue, err) != PARLEY_OK)
		c->queue = NULL;
	return c->queue;
}

/* session_end's hook with a Redis queue: push the session's recording (at
 * its priority: ahead of bulk batches); the store re-push repairs a miss. */
static enum parley_err push_queued(void *ud, int64_t batch_id, int64_t rec_id,
				   struct parley_error *err)
{
	struct web_server *s = ud;
	struct thread_conns *c = thread_conns_get(s);
	struct queue *q = web_server_thread_queue(s, err);
	if (!c || !q || !c->store)
		return err ? err->code : PARLEY_ERR_INTERNAL;
	return queue_push_recording(q, c->store, rec_id, err);
}

enum parley_err web_server_push_leasable(struct web_server *s, struct parley_error *err)
{
	if (strcmp(s->queue, "store") == 0 || !*s->queue)
		return PARLEY_OK;
	struct thread_conns *c = thread_conns_get(s);
	struct queue *q = web_server_thread_queue(s, err);
	if (!c || !q || !c->store)
		return err && err->code ? err->code : PARLEY_ERR_INTERNAL;
	return queue_push_leasable(q, c->store, err);
}

/* --- the connection table: deadlines and fair limits --- */

static void addr_text(const struct sockaddr *sa, char *out, size_t size)
{
	snprintf(out, size, "-");
	if (!sa)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
			  (socklen_t)size);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
			  (socklen_t)size);
}

/* Close t's socket for reading and writing: MHD sees the end and closes
 * the connection on its own thread. Under track_lock (MHD reports the
 * connection closed, and unlinks it here, before it closes the fd). */
static void conn_cut(struct web_server *s, struct tracked *t, const char *why)
{
	if (t->cut)
		return;
	t->cut = true;
	atomic_fetch_add(&s->slow_closed, 1);
	shutdown(t->fd, SHUT_RDWR);
	if (!s->p.quiet)
		fprintf(stderr, "parley serve: %s slow client closed: %s (%.1f s)\n", t->addr, why,
			time_mono() - t->since);
}

/* The connection to evict for a newcomer: the one longest in the header
 * phase (at least WEB_SLOW_GRACE), of address `addr` when given, else of any
 * address holding more than `share` connections. NULL: none qualifies. */
static struct tracked *conn_victim(struct web_server *s, const char *addr, int share, double now)
{
	struct tracked *best = NULL;
	for (struct tracked *t = s->tracked; t; t = t->next) {
		if (t->cut || t->phase != PHASE_HEADERS || now - t->since < WEB_SLOW_GRACE)
			continue;
		if (addr && strcmp(t->addr, addr) != 0)
			continue;
		if (!addr && share > 0) {
			int n = 0;
			for (struct tracked *u = s->tracked; u && n <= share; u = u->next)
				n += !u->cut && strcmp(u->addr, t->addr) == 0;
			if (n <= share)
				continue;
		}
		if (!best || t->since < best->since)
			best = t;
	}
	return best;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct web_server *s = cls;
	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		struct tracked *t = *socket_context;
		if (!t)
			return;
		pthread_mutex_lock(&s->track_lock);
		bool cut = t->cut;
		if (t->prev)
			t->prev->next = t->next;
		else
			s->tracked = t->next;
		if (t->next)
			t->next->prev = t->prev;
		s->ntracked--;
		pthread_mutex_unlock(&s->track_lock);
		*socket_context = NULL;
		/* A refusal's answer is written: the socket lingers (its
		 * duplicate keeps it open past MHD's close) unless we cut it. */
		if (t->linger_fd >= 0) {
			if (cut)
				close(t->linger_fd);
			else
				web_linger_add(s->linger, t->linger_fd);
		}
		free(t);
		return;
	}
	struct tracked *t = calloc(1, sizeof(*t));
	const union MHD_ConnectionInfo *fi = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *ai = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!t || !fi) {
		free(t);
		return;
	}
	t->conn = conn;
	t->fd = fi->connect_fd;
	t->linger_fd = -1;
	addr_text(ai ? ai->client_addr : NULL, t->addr, sizeof(t->addr));
	double now = time_mono();
	t->since = now;
	t->phase = PHASE_HEADERS;
	pthread_mutex_lock(&s->track_lock);
	t->next = s->tracked;
	if (s->tracked)
		s->tracked->prev = t;
	s->tracked = t;
	s->ntracked++;
	int mine = 0, open = 0;
	for (struct tracked *u = s->tracked; u; u = u->next) {
		open += !u->cut;
		mine += !u->cut && strcmp(u->addr, t->addr) == 0;
	}
	/* Over a limit: make room by evicting the slowest header sender (of this
	 * address, or of one holding more than its share), else refuse this one. */
	if ((s->p.per_ip_limit && mine > (int)s->p.per_ip_limit) ||
	    (s->p.connection_limit && open > (int)s->p.connection_limit)) {
		bool per_ip = s->p.per_ip_limit && mine > (int)s->p.per_ip_limit;
		int share = s->p.per_ip_limit ? (int)s->p.per_ip_limit / 4 : 1;
		struct tracked *v = conn_victim(s, per_ip ? t->addr : NULL, per_ip ? 0 : share, now);
		if (v && v != t)
			conn_cut(s, v, per_ip ? "its address is at --per-ip-limit and it sends its headers slowly"
					      : "the server is at --connection-limit and it sends its headers slowly");
		else
			conn_cut(s, t, per_ip ? "its address is at --per-ip-limit" : "the server is at --connection-limit");
	}
	pthread_mutex_unlock(&s->track_lock);
	*socket_context = t;
}

static struct tracked *conn_tracked(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

static void conn_phase(struct web_server *s, struct MHD_Connection *conn, enum conn_phase phase)
{
	struct tracked *t = conn_tracked(conn);
	if (!t)
		return;
	pthread_mutex_lock(&s->track_lock);
	t->phase = phase;
	t->since = time_mono();
	pthread_mutex_unlock(&s->track_lock);
}

/* Every half second: the header deadline (the whole header phase, also an
 * idle keep-alive connection's wait for its next request) and the body
 * deadline, whatever trickles in. */
static void *reaper_main(void *arg)
{
	struct web_server *s = arg;
	while (!atomic_load(&s->stopping)) {
		time_sleep(0.5);
		double now = time_mono();
		pthread_mutex_lock(&s->track_lock);
		for (struct tracked *t = s->tracked; t; t = t->next) {
			if (t->phase == PHASE_HEADERS && now - t->since > s->p.header_timeout)
				conn_cut(s, t, "its headers did not arrive within --header-timeout");
			else if (t->phase == PHASE_BODY && now - t->since > s->p.request_timeout + 2.0)
				/* a trickle gets its 408 from on_request at the next byte;
				 * this closes one that went silent */
				conn_cut(s, t, "its body did not arrive within --request-timeout");
		}
		pthread_mutex_unlock(&s->track_lock);
	}
	return NULL;
}

/* --- streamed bodies --- */

struct stream_ctx {
	struct web_server *s;
	long (*fn)(void *ud, struct store *st, char *buf, size_t max);
	void (*free_fn)(void *ud);
	void *ud;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream_ctx *sc = cls;
	if (atomic_load(&sc->s->stopping))
		return MHD_CONTENT_READER_END_OF_STREAM;
	struct parley_error err = {0};
	struct store *st = thread_store(sc->s, &err);
	if (!st)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	long n = sc->fn(sc->ud, st, buf, max);
	return n > 0 ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void stream_done(void *cls)
{
	struct stream_ctx *sc = cls;
	if (sc->free_fn)
		sc->free_fn(sc->ud);
	free(sc);
}

/* --- request plumbing --- */

static const char *conn_lookup(void *conn, bool header, const char *name)
{
	return MHD_lookup_connection_value(conn, header ? MHD_HEADER_KIND : MHD_GET_ARGUMENT_KIND,
					   name);
}

static bool header_is(struct MHD_Connection *conn, const char *name, const char *prefix)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
	return v && strncasecmp(v, prefix, strlen(prefix)) == 0;
}

/* The client's numeric address into addr[size] ("-" when unknown). */
static void client_addr(struct MHD_Connection *conn, char *addr, size_t size)
{
	snprintf(addr, size, "-");
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, addr,
			  (socklen_t)size);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, addr,
			  (socklen_t)size);
}

/* What a request is about, as its user knows it: "chunk 15 of session …". */
static void request_about(const struct router_result *m, char *out, size_t size)
{
	const struct web_params *p = &m->params;
	if (p->id[0] && p->seq >= 0)
		snprintf(out, size, "chunk %d of session %s", p->seq, p->id);
	else if (p->id[0] && p->speaker >= 1)
		snprintf(out, size, "speaker %d of session %s", p->speaker, p->id);
	else if (p->id[0])
		snprintf(out, size, "session %s", p->id);
	else if (p->batch && p->file[0])
		snprintf(out, size, "file %s of batch %lld", p->file, p->batch);
	else if (p->batch)
		snprintf(out, size, "batch %lld", p->batch);
	else
		snprintf(out, size, "%s %s", m->route ? m->route->method : "the",
			 m->route ? m->route->pattern : "request");
}

/* Authorization: Bearer TOKEN → the user, or a 401 in r. */
static bool authenticate(struct web_req *q, struct MHD_Connection *conn, struct web_resp *r)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
		web_resp_fail(r, 401, "unauthorized", "this route needs Authorization: Bearer TOKEN");
		return false;
	}
	const char *token = h + 7;
	while (*token == ' ')
		token++;
	if (!*token || strlen(token) > WEB_TOKEN_MAX) {
		web_resp_fail(r, 401, "unauthorized", "the bearer token is empty or too long");
		return false;
	}
	struct parley_error err = {0};
	if (session_user_auth(q->ctx.store, token, &q->user, &err) != PARLEY_OK) {
		if (err.code == PARLEY_ERR_UNAUTHORIZED || err.code == PARLEY_ERR_NOT_FOUND)
			web_resp_fail(r, 401, "unauthorized", "%s", err.code == PARLEY_ERR_UNAUTHORIZED &&
				      err.msg[0] ? err.msg : "unknown token");
		else
			web_resp_error(r, &err);
		return false;
	}
	q->authed = true;
	return true;
}

/* Run the matched route's handler on the whole request; fills r. */
static void dispatch(struct web_server *s, struct conn_req *cr, struct MHD_Connection *conn,
		     const char *method, const char *url, struct web_resp *r)
{
	struct parley_error err = {0};
	char addr[64];
	client_addr(conn, addr, sizeof(addr));
	request_about(&cr->m, r->about, sizeof(r->about));
	r->hide[0] = s->data_dir;
	r->hide[1] = s->data_real;
	struct web_req q = {
		.addr = addr,
		.method = method,
		.path = url,
		.route = cr->m.route,
		.params = cr->m.params,
		.body = cr->body.buf ? cr->body.buf : "",
		.body_len = cr->body.len,
		.srv = s,
		.lookup = conn_lookup,
		.conn = conn,
	};
	q.ctx.data_dir = s->data_dir;
	q.ctx.pipeline_config = s->p.pipeline_config;
	q.ctx.claim_window = s->p.claim_window;
	q.ctx.store = thread_store(s, &err);
	web_server_session_limits(s, &q.ctx);
	if (!q.ctx.store) {
		web_resp_error(r, &err);
		return;
	}
	if (strcmp(s->queue, "store") != 0 && *s->queue) {
		q.ctx.on_queued = push_queued;
		q.ctx.ud = s;
	}
	if (cr->m.route->flags & WEB_ROUTE_AUTH) { /* authenticated at the headers */
		q.user = cr->user;
		q.authed = cr->authed;
	}
	if (cr->m.route->body == WEB_BODY_JSON) {
		if (web_json_body_parse_limit(q.body, q.body_len, cr->m.route->body_limit, &q.json,
					      &err) != PARLEY_OK) {
			web_resp_error(r, &err);
			return;
		}
	}
	cr->m.route->handler(&q, r);
	json_decref(q.json);
	if (!r->status)
		web_resp_fail(r, 500, "internal", "the handler gave no answer");
}

static void add_common_headers(struct web_server *s, struct MHD_Response *resp, const struct web_resp *r)
{
	if (r->content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
	for (int i = 0; i < r->nheaders; i++)
		MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
	if (*s->cors) {
		MHD_add_response_header(resp, "Access-Control-Allow-Origin", s->cors);
		MHD_add_response_header(resp, "Vary", "Origin");
	}
	/* The page loads only its own files (no inline script or style, no
	 * framing); blob: is the speaker samples fetched with the token. */
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'self'; script-src 'self'; style-src 'self'; "
				"img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
				"object-src 'none'; base-uri 'none'; form-action 'self'; "
				"frame-ancestors 'none'");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	if (web_server_tls(s))
		MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
}

/* Queue r on the connection. MHD_NO when MHD refused (the connection is
 * then closed by returning MHD_NO). */
static enum MHD_Result send_resp(struct web_server *s, struct conn_req *cr,
				 struct MHD_Connection *conn, struct web_resp *r)
{
	struct MHD_Response *resp;
	size_t len;
	if (r->stream) {
		len = 0;
		struct stream_ctx *sc = malloc(sizeof(*sc));
		resp = sc ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read,
							       sc, stream_done) : NULL;
		if (resp) {
			*sc = (struct stream_ctx){s, r->stream, r->stream_free, r->stream_ud};
			r->stream_ud = NULL; /* the response owns it now */
			r->stream_free = NULL;
		} else {
			free(sc);
		}
	} else if (r->fd >= 0) {
		len = (size_t)r->file_len;
		resp = MHD_create_response_from_fd_at_offset64(r->file_len, r->fd, r->offset);
		if (resp)
			r->fd = -1; /* MHD closes it */
	} else if (r->static_body) {
		len = r->len;
		resp = MHD_create_response_from_buffer(r->len, (void *)r->static_body,
						       MHD_RESPMEM_PERSISTENT);
	} else {
		len = r->len;
		resp = MHD_create_response_from_buffer(r->len, r->body ? r->body : (void *)"",
						       r->body ? MHD_RESPMEM_MUST_FREE
							       : MHD_RESPMEM_PERSISTENT);
		if (resp)
			r->body = NULL; /* MHD frees it */
	}
	if (!resp) {
		web_resp_release(r);
		return MHD_NO;
	}
	add_common_headers(s, resp, r);
	enum MHD_Result ok = MHD_queue_response(conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	conn_phase(s, conn, PHASE_ANSWER);
	if (cr) {
		cr->status = r->status;
		cr->sent = len;
		cr->closed = ok != MHD_YES;
	}
	web_resp_release(r);
	return ok;
}

static enum MHD_Result fail_now(struct web_server *s, struct conn_req *cr,
				struct MHD_Connection *conn, int status, const char *code,
				const char *msg)
{
	struct web_resp r;
	web_resp_init(&r);
	web_resp_fail(&r, status, code, "%s", msg);
	enum MHD_Result ok = send_resp(s, cr, conn, &r);
	if (ok != MHD_YES) {
		cr->status = status; /* cut: logged with the status it would have had */
		cr->closed = true;
	}
	return ok;
}

/* Keep a duplicate of conn's socket: when MHD closes the connection (after
 * the answer is written) the socket stays open and lingers (linger.h). */
static void conn_linger(struct MHD_Connection *conn)
{
	struct tracked *t = conn_tracked(conn);
	if (t && t->linger_fd < 0)
		t->linger_fd = fcntl(t->fd, F_DUPFD_CLOEXEC, 0); /* -1: closes as before */
}

/* Answer r to a request refused at its headers, before its body is read,
 * by cr->plan (linger.h): no body, as any answer; a small body is read and
 * dropped first (r waits in cr->held, the connection stays open); any other
 * body: Connection: close, and the socket lingers after the answer. */
static enum MHD_Result answer_early(struct web_server *s, struct conn_req *cr,
				    struct MHD_Connection *conn, struct web_resp *r)
{
	if (cr->plan == WEB_LINGER_DRAIN) {
		cr->held = *r; /* owns r's body from here */
		cr->draining = true;
		return MHD_YES;
	}
	if (cr->plan == WEB_LINGER_CLOSE) {
		web_resp_header(r, "Connection", "close");
		conn_linger(conn);
	}
	return send_resp(s, cr, conn, r);
}

static enum MHD_Result refuse_early(struct web_server *s, struct conn_req *cr,
				    struct MHD_Connection *conn, int status, const char *code,
				    const char *msg)
{
	struct web_resp r;
	web_resp_init(&r);
	web_resp_fail(&r, status, code, "%s", msg);
	return answer_early(s, cr, conn, &r);
}

/* The request line, before MHD parses the query or decodes the path: an
 * encoded '/' in the path is refused (it would become a separator), and a
 * query with too many arguments or bytes is refused. MHD 0.9.75 stalls on
 * a query whose arguments overflow its connection pool, so such a query is
 * cut here, in MHD's own buffer, before it is parsed (MHD splits the
 * arguments after this callback, at the '?' it found before it). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)conn;
	struct web_server *s = cls;
	struct conn_req *cr = calloc(1, sizeof(*cr));
	if (!cr)
		return NULL;
	atomic_fetch_add(&s->in_flight, 1);
	cr->start = time_mono();
	struct router_uri_check chk;
	router_check_uri(uri, &chk);
	if (chk.status) {
		cr->refuse = chk.msg;
		cr->refuse_status = chk.status;
	}
	if (chk.status == 414) {
		char *cut = memchr(uri, '?', (size_t)chk.query_at + 1); /* MHD's writable buffer */
		if (cut)
			cut[1] = '\0';
	}
	return cr;
}

/* Header iterator: the framing headers into a web_linger_request. */
static enum MHD_Result framing_header(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	(void)kind;
	web_linger_request_header(cls, key, value);
	return MHD_YES;
}

/* Reserve n more body bytes under max_body_memory; false when they do not fit. */
static bool body_reserve(struct web_server *s, struct conn_req *cr, size_t n)
{
	if (n == 0)
		return true;
	size_t before = atomic_fetch_add(&s->buffered, n);
	if (before + n > s->p.max_body_memory) {
		atomic_fetch_sub(&s->buffered, n);
		return false;
	}
	cr->reserved += n;
	return true;
}

/* 503 busy: the bodies held are at --max-body-memory. */
static void busy_resp(struct web_server *s, struct conn_req *cr, struct web_resp *r)
{
	web_resp_fail(r, 503, "busy",
		      "the server holds as many request bodies as it may (%zu bytes); retry shortly",
		      s->p.max_body_memory);
	web_resp_header(r, "Retry-After", "5");
	log_warn("request bodies at the --max-body-memory limit (%zu bytes): %s %s refused",
		 s->p.max_body_memory, cr->method, cr->path);
}

/* Refuse while the body arrives (413 past the limit, 503): MHD sends an
 * answer only once the request is whole, so r waits in cr->held, the body
 * buffered so far is freed, and the rest (at most linger_bytes more, else
 * the connection is cut) is read and dropped before r is sent. */
static enum MHD_Result refuse_midway(struct web_server *s, struct conn_req *cr,
				     size_t *upload_data_size, struct web_resp *r)
{
	strbuf_release(&cr->body);
	atomic_fetch_sub(&s->buffered, cr->reserved);
	cr->reserved = 0;
	cr->held = *r; /* owns r's body from here */
	cr->draining = true;
	cr->dropped = *upload_data_size;
	*upload_data_size = 0;
	return MHD_YES;
}

/* The first call for a request: route it, check its declared body. */
static enum MHD_Result request_begin(struct web_server *s, struct conn_req *cr,
				     struct MHD_Connection *conn, const char *method,
				     const char *url)
{
	char msg[320];
	/* The framing, and what a refusal below does with the body (linger.h). */
	struct web_linger_request fr = {0};
	MHD_get_connection_values(conn, MHD_HEADER_KIND, framing_header, &fr);
	cr->plan = web_linger_plan(&fr, s->p.drain_bytes);
	if (cr->refuse)
		return refuse_early(s, cr, conn, cr->refuse_status,
				    cr->refuse_status == 414 ? "uri_too_long" : "invalid", cr->refuse);
	if (fr.lengths_differ)
		return refuse_early(s, cr, conn, 400, "invalid",
				"two different Content-Length headers");
	if (fr.lengths && fr.chunked)
		return refuse_early(s, cr, conn, 400, "invalid",
				"Content-Length together with Transfer-Encoding: chunked");
	router_match(web_routes, web_routes_count, method, url, &cr->m);
	if (cr->m.outcome == ROUTER_NOT_FOUND) {
		snprintf(msg, sizeof(msg), "no route %s %.200s", method, url);
		return refuse_early(s, cr, conn, 404, "not_found", msg);
	}
	if (cr->m.outcome == ROUTER_METHOD) {
		struct web_resp r;
		web_resp_init(&r);
		if (strcmp(method, "OPTIONS") == 0 && *s->cors) {
			r.status = 204;
			web_resp_header(&r, "Access-Control-Allow-Methods", "%s", cr->m.allow);
			web_resp_header(&r, "Access-Control-Allow-Headers", "Authorization, Content-Type");
			web_resp_header(&r, "Access-Control-Max-Age", "600");
		} else {
			web_resp_fail(&r, 405, "method_not_allowed", "%s is not allowed on %.200s (allowed: %s)",
				      method, url, cr->m.allow);
		}
		web_resp_header(&r, "Allow", "%s", cr->m.allow);
		return answer_early(s, cr, conn, &r);
	}
	if (cr->m.outcome == ROUTER_INVALID)
		return refuse_early(s, cr, conn, 400, "invalid", cr->m.msg);

	const struct web_route *rt = cr->m.route;
	cr->limit = rt->body == WEB_BODY_RAW ? (rt->body_limit ? rt->body_limit : s->p.max_chunk_bytes)
					     : rt->body == WEB_BODY_JSON ? rt->body_limit : 0;
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	bool has_body = header_is(conn, MHD_HTTP_HEADER_TRANSFER_ENCODING, "chunked");
	if (cl) {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(cl, &end, 10);
		if (errno || end == cl || *end) {
			return refuse_early(s, cr, conn, 400, "invalid", "Content-Length is not a number");
		}
		if (n > cr->limit) {
			snprintf(msg, sizeof(msg), "the body of %llu bytes is over this route's limit of %zu bytes",
				 n, cr->limit);
			return refuse_early(s, cr, conn, 413, "too_large", msg);
		}
		has_body = has_body || n > 0;
	}
	if (rt->body == WEB_BODY_JSON && has_body &&
	    !header_is(conn, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json"))
		return refuse_early(s, cr, conn, 415, "unsupported_media_type",
				"this route takes a JSON body (Content-Type: application/json)");
	/* Who asks, and may they, before a byte of the body is read. */
	if ((rt->flags & WEB_ROUTE_AUTH) || rt->precheck) {
		struct parley_error err = {0};
		struct web_resp r;
		web_resp_init(&r);
		request_about(&cr->m, r.about, sizeof(r.about));
		r.hide[0] = s->data_dir;
		r.hide[1] = s->data_real;
		struct web_req q = {
			.method = method, .path = url, .route = rt, .params = cr->m.params,
			.body = "", .body_len = cl ? (size_t)strtoull(cl, NULL, 10) : 0,
			.srv = s, .lookup = conn_lookup, .conn = conn,
		};
		q.ctx.data_dir = s->data_dir;
		q.ctx.pipeline_config = s->p.pipeline_config;
		q.ctx.claim_window = s->p.claim_window;
		q.ctx.store = thread_store(s, &err);
		web_server_session_limits(s, &q.ctx);
		if (!q.ctx.store)
			web_resp_error(&r, &err);
		else if ((rt->flags & WEB_ROUTE_AUTH) && authenticate(&q, conn, &r)) {
			cr->user = q.user;
			cr->authed = true;
		}
		if (!r.status && rt->precheck)
			rt->precheck(&q, &r);
		if (r.status)
			return answer_early(s, cr, conn, &r);
		web_resp_release(&r);
	}
	/* The body is held in memory: its declared length is reserved now. */
	if (cl && !body_reserve(s, cr, (size_t)strtoull(cl, NULL, 10))) {
		struct web_resp r;
		web_resp_init(&r);
		busy_resp(s, cr, &r);
		return answer_early(s, cr, conn, &r);
	}
	strbuf_init(&cr->body, cr->limit + 1);
	return MHD_YES;
}

/* --- the decode pool --- */

static void pool_busy(struct web_server *s, struct web_resp *r, const char *why)
{
	web_resp_fail(r, 503, "busy",
		      "the server is checking as many uploads as it may (%s); retry shortly", why);
	web_resp_header(r, "Retry-After", "5");
}

/* On a pool worker: run the handler (or refuse a job that waited past the
 * request deadline, or came during the stop), then wake the connection. */
static void pool_run(void *ud, double waited)
{
	struct conn_req *cr = ud;
	struct web_server *s = cr->srv;
	struct MHD_Connection *conn = cr->conn;
	if (atomic_load(&s->stopping)) {
		pool_busy(s, &cr->resp, "the server is stopping");
	} else if (waited > s->p.request_timeout) {
		log_warn("%s %s waited %.1f s for a decode worker (--decode-workers %d): refused",
			 cr->method, cr->path, waited, s->p.decode_workers);
		pool_busy(s, &cr->resp, "its upload waited too long for a decode worker");
	} else {
		dispatch(s, cr, conn, cr->method_full, cr->url_full, &cr->resp);
	}
	atomic_store(&cr->pool, POOL_DONE);
	MHD_resume_connection(conn); /* cr is MHD's again from here */
}

/* The whole body of a WEB_ROUTE_POOL request is in: suspend the connection
 * and queue its handler; with the pool full, 503 busy at once. */
static enum MHD_Result pool_hand_off(struct web_server *s, struct conn_req *cr,
				     struct MHD_Connection *conn, const char *method,
				     const char *url)
{
	cr->srv = s;
	cr->conn = conn;
	cr->method_full = method;
	cr->url_full = url;
	web_resp_init(&cr->resp);
	atomic_store(&cr->pool, POOL_BUSY);
	conn_phase(s, conn, PHASE_POOL);
	MHD_suspend_connection(conn); /* before the job exists: its resume finds it suspended */
	if (!work_pool_submit(s->pool, pool_run, cr)) {
		char why[96];
		snprintf(why, sizeof(why), "--decode-workers %d, --decode-queue %d", s->p.decode_workers,
			 s->p.decode_queue);
		log_warn("decode pool full (%s): %s %s refused", why, cr->method, cr->path);
		pool_busy(s, &cr->resp, why);
		atomic_store(&cr->pool, POOL_DONE);
		MHD_resume_connection(conn);
	}
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct web_server *s = cls;
	struct conn_req *cr = *con_cls;
	if (!cr) { /* on_uri had no memory */
		cr = calloc(1, sizeof(*cr));
		if (!cr)
			return MHD_NO;
		*con_cls = cr;
		atomic_fetch_add(&s->in_flight, 1);
		cr->start = time_mono();
	}
	if (!cr->begun) {
		cr->begun = true;
		conn_phase(s, conn, PHASE_BODY);
		snprintf(cr->method, sizeof(cr->method), "%s", method);
		snprintf(cr->path, sizeof(cr->path), "%s", url);
		return request_begin(s, cr, conn, method, url);
	}
	if (cr->draining) { /* refused: the rest of its body dropped, then answered */
		if (*upload_data_size) {
			cr->dropped += *upload_data_size;
			*upload_data_size = 0;
			if (cr->dropped <= s->p.linger_bytes)
				return MHD_YES;
			cr->status = cr->held.status; /* past the bound: cut, as before */
			cr->closed = true;
			cr->draining = false;
			web_resp_release(&cr->held);
			return MHD_NO;
		}
		cr->draining = false;
		return send_resp(s, cr, conn, &cr->held);
	}
	if (cr->status) { /* already answered (an early error): drop what still comes */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (time_mono() - cr->start > s->p.request_timeout) {
			char msg[128];
			snprintf(msg, sizeof(msg), "the request body did not arrive within %u seconds",
				 s->p.request_timeout);
			return fail_now(s, cr, conn, 408, "timeout", msg);
		}
		struct web_resp r;
		web_resp_init(&r);
		size_t want = cr->body.len + *upload_data_size; /* chunked: reserved as it comes */
		if (want > cr->limit)
			web_resp_fail(&r, 413, "too_large",
				      "the body is over this route's limit of %zu bytes", cr->limit);
		else if (want > cr->reserved && !body_reserve(s, cr, want - cr->reserved))
			busy_resp(s, cr, &r);
		else if (strbuf_add(&cr->body, upload_data, *upload_data_size) != PARLEY_OK)
			web_resp_fail(&r, 503, "nomem", "out of memory for the request body");
		if (r.status)
			return refuse_midway(s, cr, upload_data_size, &r);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (atomic_load(&cr->pool) == POOL_DONE) /* resumed: the pool's answer */
		return send_resp(s, cr, conn, &cr->resp);
	if (cr->m.route->flags & WEB_ROUTE_POOL)
		return pool_hand_off(s, cr, conn, method, url);
	struct web_resp r;
	web_resp_init(&r);
	dispatch(s, cr, conn, method, url, &r);
	return send_resp(s, cr, conn, &r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct web_server *s = cls;
	struct conn_req *cr = *con_cls;
	if (!cr)
		return;
	*con_cls = NULL;
	conn_phase(s, conn, PHASE_HEADERS); /* a kept-alive connection waits for its next request */
	int route = cr->m.route && cr->m.outcome == ROUTER_MATCH ? (int)(cr->m.route - web_routes) : -1;
	int status = cr->status ? cr->status : 0;
	web_metrics_count(&s->metrics, route, status);
	if (!s->p.quiet) {
		char addr[64];
		client_addr(conn, addr, sizeof(addr));
		fprintf(stderr, "parley serve: %s \"%s %s\" %d %zu %.1fms%s\n", addr, cr->method, cr->path,
			status, cr->sent, (time_mono() - cr->start) * 1000.0,
			toe != MHD_REQUEST_TERMINATED_COMPLETED_OK ? " (closed)" : "");
	}
	strbuf_release(&cr->body);
	if (cr->draining) /* closed before its body was in: never sent */
		web_resp_release(&cr->held);
	atomic_fetch_sub(&s->buffered, cr->reserved);
	free(cr);
	atomic_fetch_sub(&s->in_flight, 1);
}

/* --- start / stop --- */

static enum parley_err parse_addr(const char *host, int port, struct sockaddr_storage *ss,
				  bool *v6, struct parley_error *err)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*v6 = false;
		return PARLEY_OK;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*v6 = true;
		return PARLEY_OK;
	}
	return parley_error_set(err, PARLEY_ERR_INVALID,
				"'%s' is not a numeric IPv4 or IPv6 address", host);
}

static void copy_param(char *dst, size_t size, const char **field, const char *value)
{
	snprintf(dst, size, "%s", value ? value : "");
	*field = dst;
}

enum parley_err web_server_start(const struct web_server_params *p, struct web_server **out,
				 struct parley_error *err)
{
	*out = NULL;
	if (p->threads < 1 || p->threads > WEB_THREADS_MAX)
		return parley_error_set(err, PARLEY_ERR_INVALID, "threads must be 1 to %d",
					WEB_THREADS_MAX);
	if (p->port < 0 || p->port > 65535)
		return parley_error_set(err, PARLEY_ERR_INVALID, "port %d is not 0 to 65535", p->port);
	if (!p->store || !*p->store || !p->data_dir || !*p->data_dir)
		return parley_error_set(err, PARLEY_ERR_INVALID, "the server needs a store and a data directory");
	if (p->request_timeout < 1 || p->idle_timeout < 1 || p->header_timeout < 1)
		return parley_error_set(err, PARLEY_ERR_INVALID, "timeouts must be at least 1 second");
	if (web_routes_count > WEB_METRICS_ROUTES_MAX)
		return parley_error_set(err, PARLEY_ERR_INTERNAL, "more routes than metrics slots");
	struct web_server *s = calloc(1, sizeof(*s));
	if (!s)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
	s->p = *p;
	copy_param(s->host, sizeof(s->host), &s->p.host, p->host ? p->host : "127.0.0.1");
	copy_param(s->store, sizeof(s->store), &s->p.store, p->store);
	copy_param(s->data_dir, sizeof(s->data_dir), &s->p.data_dir, p->data_dir);
	copy_param(s->queue, sizeof(s->queue), &s->p.queue, p->queue && *p->queue ? p->queue : "store");
	copy_param(s->queue_prefix, sizeof(s->queue_prefix), &s->p.queue_prefix,
		   p->queue_prefix ? p->queue_prefix : "parley:");
	copy_param(s->cors, sizeof(s->cors), &s->p.cors_origin, p->cors_origin);
	copy_param(s->files_root, sizeof(s->files_root), &s->p.files_root, p->files_root);
	copy_param(s->metrics_token, sizeof(s->metrics_token), &s->p.metrics_token, p->metrics_token);
	if (!realpath(s->data_dir, s->data_real))
		s->data_real[0] = '\0';
	bool tls = p->tls_cert && *p->tls_cert;
	if (tls != (p->tls_key && *p->tls_key)) {
		free(s);
		return parley_error_set(err, PARLEY_ERR_INVALID, "HTTPS needs both a certificate and its key");
	}
	if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		free(s);
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"this libmicrohttpd was built without TLS: HTTPS is not available");
	}
	struct ratelimit_params jp = ratelimit_default_params(), sp = jp;
	jp.max = 10;  /* wrong codes from one address in 10 minutes → 15 minutes out */
	struct ratelimit_params jsp = jp;
	jsp.max = 30; /* wrong codes for one session from anywhere */
	sp.max = 20;  /* sign-ups from one address in an hour (friends behind one NAT) */
	sp.window = 3600;
	sp.lockout = 3600;
	s->limits.join_addr = ratelimit_new(&jp);
	s->limits.join_session = ratelimit_new(&jsp);
	s->limits.signup_addr = ratelimit_new(&sp);
	if (!s->limits.join_addr || !s->limits.join_session || !s->limits.signup_addr) {
		ratelimit_free(s->limits.join_addr);
		ratelimit_free(s->limits.join_session);
		ratelimit_free(s->limits.signup_addr);
		free(s);
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
	}
	if (s->p.stream_seconds < 1)
		s->p.stream_seconds = 600;
	atomic_init(&s->streams, 0);
	atomic_init(&s->stopping, false);
	web_metrics_init(&s->metrics);
	atomic_init(&s->in_flight, 0);
	atomic_init(&s->buffered, 0);
	atomic_init(&s->slow_closed, 0);
	pthread_mutex_init(&s->track_lock, NULL);
	if (!s->p.max_body_memory)
		s->p.max_body_memory = WEB_BODY_MEMORY_DEFAULT;
	if (!(s->p.linger_seconds > 0))
		s->p.linger_seconds = web_linger_default_params().seconds;
	if (!s->p.linger_bytes)
		s->p.linger_bytes = web_linger_default_params().max_bytes;
	pthread_mutex_init(&s->lock, NULL);
	if (pthread_key_create(&s->key, NULL) != 0) {
		pthread_mutex_destroy(&s->lock);
		free(s);
		return parley_error_set(err, PARLEY_ERR_NOMEM, "no thread-local key left");
	}
	struct sockaddr_storage ss;
	bool v6 = false;
	enum parley_err rc = parse_addr(s->host, p->port, &ss, &v6, err);
	if (rc)
		goto fail;
	struct work_pool_params wpp = work_pool_default_params();
	if (s->p.decode_workers)
		wpp.workers = s->p.decode_workers;
	wpp.queue = s->p.decode_queue;
	s->p.decode_workers = wpp.workers;
	if ((rc = work_pool_new(&wpp, &s->pool, err)))
		goto fail;
	struct web_linger_params lp = web_linger_default_params();
	if (s->p.linger_seconds > 0)
		lp.seconds = s->p.linger_seconds;
	if (s->p.linger_bytes)
		lp.max_bytes = s->p.linger_bytes;
	if (s->p.connection_limit)
		lp.max_sockets = s->p.connection_limit < WEB_LINGER_SOCKETS_MAX ? (int)s->p.connection_limit
									     : WEB_LINGER_SOCKETS_MAX;
	if ((rc = web_linger_new(&lp, &s->linger, err)))
		goto fail;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
			 (v6 ? MHD_USE_IPv6 : 0) | (tls ? MHD_USE_TLS : 0);
	struct MHD_OptionItem tls_opts[] = {
		{MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)p->tls_key},
		{MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)p->tls_cert},
		{MHD_OPTION_END, 0, NULL},
	};
	s->mhd = MHD_start_daemon(flags, (uint16_t)p->port, NULL, NULL, on_request, s,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_THREAD_POOL_SIZE, (unsigned)p->threads,
				  MHD_OPTION_CONNECTION_TIMEOUT, p->idle_timeout,
				  /* room above our own limits: the connection table
				     decides (on_connection), MHD only stops a flood */
				  MHD_OPTION_CONNECTION_LIMIT, p->connection_limit + 64 + (unsigned)p->threads,
				  MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				  MHD_OPTION_ARRAY, tls ? tls_opts : tls_opts + 2,
				  MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
				  MHD_OPTION_END);
	if (!s->mhd) {
		rc = parley_error_set(err, PARLEY_ERR_IO, tls
				      ? "cannot listen on %s:%d (in use, not an address of this machine, "
					"or the TLS certificate and key are not PEM or do not match)"
				      : "cannot listen on %s:%d (in use, or not an address of this machine)",
				      s->host, p->port);
		goto fail;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : p->port;
	if (pthread_create(&s->reaper, NULL, reaper_main, s) != 0) {
		MHD_stop_daemon(s->mhd);
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "cannot start the connection reaper thread");
		goto fail;
	}
	s->reaper_started = true;
	*out = s;
	return PARLEY_OK;
fail:
	web_linger_free(s->linger);
	work_pool_free(s->pool);
	pthread_key_delete(s->key);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->track_lock);
	ratelimit_free(s->limits.join_addr);
	ratelimit_free(s->limits.join_session);
	ratelimit_free(s->limits.signup_addr);
	free(s);
	return rc;
}

void web_server_stop(struct web_server *s, double grace)
{
	if (!s)
		return;
	atomic_store(&s->stopping, true);
	MHD_socket listen_fd = MHD_quiesce_daemon(s->mhd);
	double until = time_mono() + grace;
	while (atomic_load(&s->in_flight) > 0 && time_mono() < until)
		time_sleep(0.05);
	if (s->reaper_started)
		pthread_join(s->reaper, NULL);
	/* every job still queued answers 503 (stopping) and resumes its
	 * connection: none is left suspended for MHD_stop_daemon */
	work_pool_free(s->pool);
	MHD_stop_daemon(s->mhd); /* reports every connection closed: the table empties */
	web_linger_free(s->linger);  /* after MHD: its last closes may hand sockets over */
	for (struct tracked *t = s->tracked, *next; t; t = next) {
		next = t->next;
		free(t);
	}
	pthread_mutex_destroy(&s->track_lock);
	if (listen_fd != MHD_INVALID_SOCKET)
		close(listen_fd);
	for (struct thread_conns *c = s->conns, *next; c; c = next) {
		next = c->next;
		store_close(c->store);
		queue_close(c->queue);
		free(c);
	}
	pthread_key_delete(s->key);
	pthread_mutex_destroy(&s->lock);
	ratelimit_free(s->limits.join_addr);
	ratelimit_free(s->limits.join_session);
	ratelimit_free(s->limits.signup_addr);
	free(s);
}
