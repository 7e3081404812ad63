/*
 * http_load.c — a small closed-loop HTTP/1.1 load generator for
 * `make bench-http`: C clients, one keep-alive connection each, every client
 * sends its next request as soon as the previous answer is read. Prints
 * requests/s and latency percentiles as one JSON line on stdout.
 *
 *   http_load --port 8080 --token T --clients 50 --seconds 10 \
 *             --mode poll --session ID
 *   http_load --port 8080 --token T --clients 50 --seconds 10 \
 *             --mode upload --chunk chunk.wav
 *
 * poll:   GET /v1/sessions/ID, over and over.
 * upload: each client opens its own session (POST /v1/sessions) and PUTs the
 *         chunk file as seq 0, 1, 2, … (every upload is new data for the
 *         server: decoded, checksummed, stored).
 * Loopback only (127.0.0.1). A request that fails or answers other than 2xx
 * counts as an error; its latency is not recorded. Not part of the product.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 512
#define RESP_MAX (1 << 20)

struct load_params {
	int port;
	const char *token;
	int clients;
	double seconds;
	const char *mode;
	const char *session;
	const char *chunk_path;
};

struct client {
	const struct load_params *p;
	const unsigned char *chunk;
	size_t chunk_len;
	double deadline;
	double *lat;  /* seconds */
	size_t n_lat, cap_lat;
	long errors;
	int fd;
	char session[64];
	char buf[RESP_MAX];
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_local(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct timeval tv = {.tv_sec = 30};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* Read one response into c->buf (headers + body by Content-Length); returns
 * the status code, or -1. The body is NUL-terminated at c->buf + *body_off. */
static int read_response(struct client *c, size_t *body_off)
{
	size_t have = 0;
	char *end = NULL;
	while (!end) {
		if (have + 1 >= sizeof(c->buf))
			return -1;
		ssize_t n = recv(c->fd, c->buf + have, sizeof(c->buf) - 1 - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		have += (size_t)n;
		c->buf[have] = '\0';
		end = strstr(c->buf, "\r\n\r\n");
	}
	int status = 0;
	if (sscanf(c->buf, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	size_t clen = 0;
	const char *h = strcasestr(c->buf, "\r\ncontent-length:");
	if (h && h < end)
		clen = strtoul(h + 17, NULL, 10);
	size_t off = (size_t)(end + 4 - c->buf);
	if (off + clen + 1 > sizeof(c->buf))
		return -1;
	while (have < off + clen) {
		ssize_t n = recv(c->fd, c->buf + have, off + clen - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		have += (size_t)n;
	}
	c->buf[off + clen] = '\0';
	*body_off = off;
	return status;
}

/* One request on the client's connection (reconnecting once if it closed). */
static int request(struct client *c, const char *method, const char *path,
		   const void *body, size_t len, size_t *body_off)
{
	char head[1024];
	int hn = snprintf(head, sizeof(head),
			  "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
			  "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
			  method, path, c->p->token,
			  body && len > 4 && !memcmp(body, "RIFF", 4) ? "audio/wav"
								    : "application/json",
			  len);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (c->fd < 0 && (c->fd = connect_local(c->p->port)) < 0)
			return -1;
		if (send_all(c->fd, head, (size_t)hn) && (!len || send_all(c->fd, body, len))) {
			int st = read_response(c, body_off);
			if (st > 0)
				return st;
		}
		close(c->fd);
		c->fd = -1;
	}
	return -1;
}

static void record(struct client *c, double t0, int status)
{
	if (status < 200 || status > 299) {
		c->errors++;
		return;
	}
	if (c->n_lat == c->cap_lat) {
		size_t cap = c->cap_lat ? c->cap_lat * 2 : 4096;
		double *n = realloc(c->lat, cap * sizeof(*n));
		if (!n) {
			c->errors++;
			return;
		}
		c->lat = n;
		c->cap_lat = cap;
	}
	c->lat[c->n_lat++] = now_s() - t0;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	size_t off;
	char path[256];
	if (!strcmp(c->p->mode, "upload")) {
		int st = request(c, "POST", "/v1/sessions", "{}", 2, &off);
		const char *id = st == 201 ? strstr(c->buf + off, "\"id\"") : NULL;
		if (!id || sscanf(id, "\"id\": \"%63[a-z2-7]\"", c->session) != 1) {
			if (!id || sscanf(id, "\"id\":\"%63[a-z2-7]\"", c->session) != 1) {
				fprintf(stderr, "http_load: could not open a session (status %d)\n", st);
				c->errors++;
				return NULL;
			}
		}
	}
	for (int seq = 0; now_s() < c->deadline; seq++) {
		double t0 = now_s();
		int st;
		if (!strcmp(c->p->mode, "upload")) {
			snprintf(path, sizeof(path), "/v1/sessions/%s/chunks/%d", c->session, seq);
			st = request(c, "PUT", path, c->chunk, c->chunk_len, &off);
		} else {
			snprintf(path, sizeof(path), "/v1/sessions/%s", c->p->session);
			st = request(c, "GET", path, NULL, 0, &off);
		}
		record(c, t0, st);
	}
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static unsigned char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	unsigned char *buf = NULL;
	if (fseek(f, 0, SEEK_END) == 0) {
		long n = ftell(f);
		if (n > 0 && n < (64L << 20) && fseek(f, 0, SEEK_SET) == 0 &&
		    (buf = malloc((size_t)n)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
			*len = (size_t)n;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	struct load_params p = {.port = 8080, .clients = 50, .seconds = 10, .mode = "poll"};
	static const struct option opts[] = {
		{"port", required_argument, NULL, 'p'},   {"token", required_argument, NULL, 't'},
		{"clients", required_argument, NULL, 'c'}, {"seconds", required_argument, NULL, 's'},
		{"mode", required_argument, NULL, 'm'},   {"session", required_argument, NULL, 'i'},
		{"chunk", required_argument, NULL, 'f'},  {NULL, 0, NULL, 0}};
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'p': p.port = (int)strtol(optarg, NULL, 10); break;
		case 't': p.token = optarg; break;
		case 'c': p.clients = (int)strtol(optarg, NULL, 10); break;
		case 's': p.seconds = strtod(optarg, NULL); break;
		case 'm': p.mode = optarg; break;
		case 'i': p.session = optarg; break;
		case 'f': p.chunk_path = optarg; break;
		default: return 2;
		}
	}
	bool upload = !strcmp(p.mode, "upload");
	if (!p.token || p.clients < 1 || p.clients > MAX_CLIENTS || p.seconds <= 0 ||
	    (!upload && strcmp(p.mode, "poll")) || (!upload && !p.session) ||
	    (upload && !p.chunk_path)) {
		fprintf(stderr, "usage: http_load --port N --token T [--clients N] [--seconds S] "
				"--mode poll --session ID | --mode upload --chunk FILE\n");
		return 2;
	}
	size_t chunk_len = 0;
	unsigned char *chunk = upload ? read_file(p.chunk_path, &chunk_len) : NULL;
	if (upload && !chunk) {
		fprintf(stderr, "http_load: %s: cannot read (or larger than 64 MiB)\n", p.chunk_path);
		return 1;
	}
	struct client *cl = calloc((size_t)p.clients, sizeof(*cl));
	pthread_t *th = calloc((size_t)p.clients, sizeof(*th));
	if (!cl || !th)
		return 1;
	double t0 = now_s();
	for (int i = 0; i < p.clients; i++) {
		cl[i] = (struct client){.p = &p, .chunk = chunk, .chunk_len = chunk_len,
					.deadline = t0 + p.seconds, .fd = -1};
		if (pthread_create(&th[i], NULL, client_main, &cl[i]) != 0) {
			fprintf(stderr, "http_load: cannot start client %d\n", i);
			return 1;
		}
	}
	size_t total = 0;
	long errors = 0;
	for (int i = 0; i < p.clients; i++) {
		pthread_join(th[i], NULL);
		total += cl[i].n_lat;
		errors += cl[i].errors;
	}
	double wall = now_s() - t0;
	double *all = malloc((total ? total : 1) * sizeof(*all));
	size_t k = 0;
	for (int i = 0; i < p.clients; i++) {
		if (cl[i].n_lat)
			memcpy(all + k, cl[i].lat, cl[i].n_lat * sizeof(*all));
		k += cl[i].n_lat;
		free(cl[i].lat);
		if (cl[i].fd >= 0)
			close(cl[i].fd);
	}
	qsort(all, total, sizeof(*all), cmp_double);
#define PCT(q) (total ? all[(size_t)((double)(total - 1) * (q))] * 1000.0 : 0.0)
	printf("{\"mode\":\"%s\",\"clients\":%d,\"seconds\":%.2f,\"requests\":%zu,\"errors\":%ld,"
	       "\"rps\":%.1f,\"p50_ms\":%.2f,\"p90_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f,"
	       "\"body_bytes\":%zu}\n",
	       p.mode, p.clients, wall, total, errors, (double)total / wall, PCT(0.50), PCT(0.90),
	       PCT(0.99), total ? all[total - 1] * 1000.0 : 0.0, chunk_len);
	free(all);
	free(cl);
	free(th);
	free(chunk);
	return errors && !total ? 1 : 0;
}
