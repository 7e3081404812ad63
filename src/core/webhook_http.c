/* webhook_http.c — webhook_post_curl (webhook.h): one POST with libcurl,
 * the way engines/remote.c talks to servers: connect and total timeouts, no
 * redirects, only http and https, TLS verified, the reply bounded. */
#include "core/webhook.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engines/remote.h"
#include "util/timeutil.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct reply_buf {
	char *buf;
	size_t len, max;
	char retry_after[64];
	bool have_retry_after;
};

/* Keep the first max bytes (for the error sentence); read and drop the rest. */
static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
	struct reply_buf *b = ud;
	size_t n = size * nmemb;
	size_t take = b->len < b->max ? b->max - b->len : 0;
	if (take > n)
		take = n;
	if (take) {
		memcpy(b->buf + b->len, data, take);
		b->len += take;
		b->buf[b->len] = '\0';
	}
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	struct reply_buf *b = ud;
	size_t n = size * nmemb;
	static const char name[] = "retry-after:";
	size_t nl = sizeof(name) - 1;
	/* a new response (after 100 Continue) starts over */
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0)
		b->have_retry_after = false;
	if (n > nl && n - nl < sizeof(b->retry_after) && strncasecmp(data, name, nl) == 0) {
		memcpy(b->retry_after, data + nl, n - nl);
		b->retry_after[n - nl] = '\0';
		b->have_retry_after = true;
	}
	return n;
}

void webhook_post_curl(void *ud, const struct webhook_post *req, struct webhook_reply *rep)
{
	(void)ud;
	memset(rep, 0, sizeof(*rep));
	rep->retry_after = -1;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		snprintf(rep->error, sizeof(rep->error), "libcurl failed to start: %s",
			 curl_easy_strerror(curl_init_rc));
		return;
	}
	struct reply_buf b = {0};
	b.max = req->max_response ? req->max_response : 4096;
	b.buf = malloc(b.max + 1);
	CURL *e = curl_easy_init();
	struct curl_slist *h = NULL;
	bool nomem = !b.buf || !e;
	if (!nomem)
		b.buf[0] = '\0';
	for (size_t i = 0; !nomem && req->headers && req->headers[i]; i++) {
		struct curl_slist *nh = curl_slist_append(h, req->headers[i]);
		if (!nh)
			nomem = true;
		else
			h = nh;
	}
	if (!nomem) {
		struct curl_slist *nh = curl_slist_append(h, "Expect:");
		if (!nh)
			nomem = true;
		else
			h = nh;
	}
	if (nomem) {
		snprintf(rep->error, sizeof(rep->error), "out of memory sending the webhook");
		goto out;
	}
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(req->timeout * 1000));
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(req->connect_timeout * 1000));
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &b);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "parley-webhooks");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
	CURLcode cc = curl_easy_perform(e);
	long status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK) {
		rep->status = 0;
		if (cc == CURLE_OPERATION_TIMEDOUT)
			snprintf(rep->error, sizeof(rep->error), "no answer within %.0f s", req->timeout);
		else
			snprintf(rep->error, sizeof(rep->error), "%s", curl_easy_strerror(cc));
		goto out;
	}
	rep->status = status;
	if (b.have_retry_after)
		rep->retry_after = webhook_parse_retry_after(b.retry_after, time_wall());
	if (status < 200 || status >= 300) {
		char msg[200];
		remote_error_text(b.buf, b.len, msg, sizeof(msg));
		snprintf(rep->error, sizeof(rep->error), "HTTP %ld%s%s", status, msg[0] ? ": " : "", msg);
	}
out:
	curl_slist_free_all(h);
	if (e)
		curl_easy_cleanup(e);
	free(b.buf);
}
