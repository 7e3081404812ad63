#include "web/linger.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/timeutil.h"

#define WEB_LINGER_WAKE UINT32_MAX    /* epoll tag of the wake-up eventfd */
#define WEB_LINGER_READ_MAX (1u << 20) /* bytes read from one socket per wake-up */
#define WEB_LINGER_EVENTS 64

struct slot {
	int fd;          /* -1: free */
	double deadline; /* time_mono() it is closed at the latest */
	size_t bytes;    /* dropped so far */
};

struct web_linger {
	struct web_linger_params p;
	int ep, wake;
	pthread_t thread;
	pthread_mutex_t lock; /* guards slots, stopping and stats */
	struct slot *slots;
	bool stopping;
	struct web_linger_stats stats;
	char buf[64 * 1024]; /* the dropped bytes (the linger thread's) */
};

void web_linger_request_header(struct web_linger_request *rq, const char *name,
			       const char *value)
{
	if (!name || !value)
		return;
	if (strcasecmp(name, "Content-Length") == 0) {
		if (rq->lengths++) {
			rq->lengths_differ = rq->lengths_differ || strcmp(rq->length_text, value) != 0;
		} else {
			rq->length_text = value;
			size_t n = strlen(value);
			bool digits = n >= 1 && n <= 20;
			for (size_t i = 0; digits && i < n; i++)
				digits = value[i] >= '0' && value[i] <= '9';
			errno = 0;
			unsigned long long v = digits ? strtoull(value, NULL, 10) : 0;
			rq->has_length = digits && errno == 0;
			rq->length = rq->has_length ? v : 0;
		}
	} else if (strcasecmp(name, "Transfer-Encoding") == 0) {
		rq->coded = true;
		rq->chunked = rq->chunked || strcasestr(value, "chunked") != NULL;
	} else if (strcasecmp(name, "Expect") == 0) {
		rq->expect_continue = rq->expect_continue || strncasecmp(value, "100-continue", 12) == 0;
	}
	rq->bad_framing = rq->lengths_differ || (rq->lengths && (rq->coded || !rq->has_length));
}

enum web_linger_plan web_linger_plan(const struct web_linger_request *rq, size_t drain_bytes)
{
	if (rq->bad_framing || rq->chunked || rq->coded)
		return WEB_LINGER_CLOSE;
	if (!rq->has_length || rq->length == 0)
		return WEB_LINGER_NONE;
	/* With Expect: 100-continue the answer goes before any body: reading
	 * the body first would need the 100 Continue a refusal must not send. */
	if (rq->expect_continue || rq->length > drain_bytes)
		return WEB_LINGER_CLOSE;
	return WEB_LINGER_DRAIN;
}

struct web_linger_params web_linger_default_params(void)
{
	return (struct web_linger_params){.seconds = 2.0, .max_bytes = (size_t)16 << 20, .max_sockets = 256};
}

/* Under lock: forget slot i and close its socket. */
static void slot_close(struct web_linger *l, struct slot *sl, bool cut)
{
	epoll_ctl(l->ep, EPOLL_CTL_DEL, sl->fd, NULL);
	close(sl->fd);
	sl->fd = -1;
	l->stats.lingering--;
	if (cut)
		l->stats.cut++;
	else
		l->stats.eof++;
}

/* Under lock: read and drop what slot sl has (at most WEB_LINGER_READ_MAX now;
 * epoll reports the rest again); close it at EOF, an error or max_bytes. */
static void slot_drain(struct web_linger *l, struct slot *sl)
{
	size_t now = 0;
	while (now < WEB_LINGER_READ_MAX) {
		ssize_t n = read(sl->fd, l->buf, sizeof(l->buf));
		if (n > 0) {
			now += (size_t)n;
			sl->bytes += (size_t)n;
			l->stats.bytes += (unsigned long long)n;
			if (sl->bytes >= l->p.max_bytes) {
				slot_close(l, sl, true);
				return;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		slot_close(l, sl, false); /* EOF, or the client reset: done */
		return;
	}
}

static void *linger_main(void *arg)
{
	struct web_linger *l = arg;
	struct epoll_event ev[WEB_LINGER_EVENTS];
	for (;;) {
		pthread_mutex_lock(&l->lock);
		bool stop = l->stopping;
		double next = -1.0;
		for (int i = 0; i < l->p.max_sockets; i++)
			if (l->slots[i].fd >= 0 && (next < 0 || l->slots[i].deadline < next))
				next = l->slots[i].deadline;
		pthread_mutex_unlock(&l->lock);
		if (stop)
			break;
		int timeout = -1;
		if (next >= 0) {
			double wait = next - time_mono();
			timeout = wait <= 0 ? 0 : (int)(wait * 1000.0) + 1;
		}
		int n = epoll_wait(l->ep, ev, WEB_LINGER_EVENTS, timeout);
		if (n < 0 && errno != EINTR)
			break;
		pthread_mutex_lock(&l->lock);
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u32 == WEB_LINGER_WAKE) {
				uint64_t v;
				ssize_t r = read(l->wake, &v, sizeof(v));
				(void)r;
				continue;
			}
			struct slot *sl = &l->slots[ev[i].data.u32];
			if (sl->fd >= 0)
				slot_drain(l, sl);
		}
		double t = time_mono();
		for (int i = 0; i < l->p.max_sockets; i++)
			if (l->slots[i].fd >= 0 && l->slots[i].deadline <= t)
				slot_close(l, &l->slots[i], true);
		pthread_mutex_unlock(&l->lock);
	}
	return NULL;
}

enum parley_err web_linger_new(const struct web_linger_params *p, struct web_linger **out,
			   struct parley_error *err)
{
	*out = NULL;
	if (p->max_sockets < 1 || p->max_sockets > WEB_LINGER_SOCKETS_MAX || !(p->seconds > 0) ||
	    p->seconds > 3600 || p->max_bytes < 1)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"lingering close: sockets must be 1 to %d, seconds 0 to 3600 "
					"and bytes at least 1", WEB_LINGER_SOCKETS_MAX);
	struct web_linger *l = calloc(1, sizeof(*l));
	if (!l)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
	l->p = *p;
	l->ep = l->wake = -1;
	enum parley_err rc = PARLEY_OK;
	l->slots = malloc((size_t)p->max_sockets * sizeof(*l->slots));
	if (!l->slots) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
		goto fail;
	}
	for (int i = 0; i < p->max_sockets; i++)
		l->slots[i].fd = -1;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	l->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct epoll_event we = {.events = EPOLLIN, .data.u32 = WEB_LINGER_WAKE};
	if (l->ep < 0 || l->wake < 0 || epoll_ctl(l->ep, EPOLL_CTL_ADD, l->wake, &we) != 0) {
		rc = parley_error_set(err, PARLEY_ERR_IO, "lingering close: no epoll or eventfd: %s",
				      strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&l->lock, NULL);
	if (pthread_create(&l->thread, NULL, linger_main, l) != 0) {
		pthread_mutex_destroy(&l->lock);
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "cannot start the lingering-close thread");
		goto fail;
	}
	*out = l;
	return PARLEY_OK;
fail:
	if (l->ep >= 0)
		close(l->ep);
	if (l->wake >= 0)
		close(l->wake);
	free(l->slots);
	free(l);
	return rc;
}

bool web_linger_add(struct web_linger *l, int fd)
{
	if (fd < 0)
		return false;
	pthread_mutex_lock(&l->lock);
	int i = 0;
	while (i < l->p.max_sockets && l->slots[i].fd >= 0)
		i++;
	if (l->stopping || i == l->p.max_sockets) {
		l->stats.refused++;
		pthread_mutex_unlock(&l->lock);
		close(fd);
		return false;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	shutdown(fd, SHUT_WR); /* the answer is written: the client reads it, then EOF */
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = (uint32_t)i};
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		l->stats.refused++;
		pthread_mutex_unlock(&l->lock);
		close(fd);
		return false;
	}
	l->slots[i] = (struct slot){.fd = fd, .deadline = time_mono() + l->p.seconds};
	l->stats.added++;
	l->stats.lingering++;
	pthread_mutex_unlock(&l->lock);
	uint64_t one = 1; /* the thread may be waiting without a deadline */
	ssize_t w = write(l->wake, &one, sizeof(one));
	(void)w;
	return true;
}

void web_linger_get_stats(struct web_linger *l, struct web_linger_stats *out)
{
	pthread_mutex_lock(&l->lock);
	*out = l->stats;
	pthread_mutex_unlock(&l->lock);
}

void web_linger_free(struct web_linger *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	l->stopping = true;
	pthread_mutex_unlock(&l->lock);
	uint64_t one = 1;
	ssize_t w = write(l->wake, &one, sizeof(one));
	(void)w;
	pthread_join(l->thread, NULL);
	for (int i = 0; i < l->p.max_sockets; i++)
		if (l->slots[i].fd >= 0)
			slot_close(l, &l->slots[i], true);
	pthread_mutex_destroy(&l->lock);
	close(l->ep);
	close(l->wake);
	free(l->slots);
	free(l);
}
