/* remote.c — see remote.h. */
#include "engines/remote.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/log.h"
#include "util/timeutil.h"

#define AUTH_MAX 4096

struct remote {
	struct remote_params p;
	char base[REMOTE_URL_MAX];
	char what[64];
	char auth[AUTH_MAX]; /* "Authorization: Bearer KEY" or "" */
	CURLM *multi;
};

/* One request's in-flight state. */
struct slot {
	CURL *easy;
	curl_mime *mime;
	struct curl_slist *headers;
	char *buf;
	size_t len, cap, max;
	bool too_large;
	double retry_after; /* -1: none */
	char url[REMOTE_URL_MAX + 256];
};

enum req_state { REQ_WAIT, REQ_RUN, REQ_DONE };

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct remote_params remote_default_params(void)
{
	struct remote_params p;
	memset(&p, 0, sizeof(p));
	p.timeout = 120;
	p.connect_timeout = 10;
	p.concurrency = 4;
	p.retries = 4;
	p.retry_max_wait = 30;
	p.max_response = 16u << 20;
	p.what = "engine";
	return p;
}

const char *remote_library_version(void)
{
	static char v[64];
	pthread_once(&curl_once, curl_init);
	const curl_version_info_data *d = curl_version_info(CURLVERSION_NOW);
	snprintf(v, sizeof(v), "libcurl/%s %s", d->version, d->ssl_version ? d->ssl_version : "");
	return v;
}

enum parley_err remote_open(const struct remote_params *params, struct remote **out,
			    struct parley_error *err)
{
	*out = NULL;
	const char *what = params->what ? params->what : "engine";
	const char *u = params->base_url ? params->base_url : "";
	if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"%s: the engine URL is not http:// or https://", what);
	const char *host = strstr(u, "://") + 3;
	if (!*host || *host == '/' || strchr(u, '@') || strchr(u, '?') || strchr(u, '#') ||
	    strchr(u, ' '))
		/* the URL is not quoted: it may hold a password */
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"%s: the URL needs a host and may hold no user, password, "
					"query or fragment (give an API key with api_key_env)", what);
	if (strlen(u) >= REMOTE_URL_MAX)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "%s: URL longer than %d bytes",
					what, REMOTE_URL_MAX - 1);
	if (!(params->timeout > 0) || !(params->connect_timeout > 0) || params->concurrency < 1 ||
	    params->concurrency > 64 || params->retries < 0 || params->retries > 20 ||
	    params->retry_max_wait < 0 || params->max_response < 1024)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"%s: timeouts must be > 0, concurrency 1..64, retries 0..20",
					what);
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return parley_error_set(err, PARLEY_ERR_INTERNAL, "%s: libcurl failed to start: %s",
					what, curl_easy_strerror(curl_init_rc));
	struct remote *r = calloc(1, sizeof(*r));
	if (!r)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory opening %s", what);
	r->p = *params;
	snprintf(r->base, sizeof(r->base), "%s", u);
	size_t bl = strlen(r->base);
	while (bl > 0 && r->base[bl - 1] == '/')
		r->base[--bl] = '\0';
	snprintf(r->what, sizeof(r->what), "%s", what);
	r->p.what = r->what;
	r->p.base_url = r->base;
	r->p.api_key_env = NULL; /* only the key's header is kept */
	const char *env = params->api_key_env;
	if (env && *env) {
		const char *key = getenv(env);
		if (!key || !*key) {
			free(r);
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"%s: the API key variable %s (api_key_env) is not set",
						what, env);
		}
		for (const char *k = key; *k; k++)
			if ((unsigned char)*k < 0x21 || (unsigned char)*k > 0x7e) {
				free(r);
				return parley_error_set(err, PARLEY_ERR_INVALID,
							"%s: the API key in %s holds spaces or control "
							"characters", what, env);
			}
		int len = snprintf(r->auth, sizeof(r->auth), "Authorization: Bearer %s", key);
		if (len < 0 || (size_t)len >= sizeof(r->auth)) {
			free(r);
			return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
						"%s: the API key in %s is too long", what, env);
		}
	}
	r->multi = curl_multi_init();
	if (!r->multi) {
		free(r);
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory opening %s", what);
	}
	*out = r;
	return PARLEY_OK;
}

void remote_close(struct remote *r)
{
	if (!r)
		return;
	if (r->multi)
		curl_multi_cleanup(r->multi);
	/* the key must not outlive the engine in memory handed back to malloc */
	volatile char *a = r->auth;
	for (size_t i = 0; i < sizeof(r->auth); i++)
		a[i] = 0;
	free(r);
}

void remote_set_abort(struct remote *r, bool (*abort)(void *user_data), void *user_data)
{
	r->p.abort = abort;
	r->p.user_data = user_data;
}

const char *remote_base_url(const struct remote *r)
{
	return r->base;
}

void remote_request_clear(struct remote_request *q)
{
	if (!q)
		return;
	free(q->response);
	q->response = NULL;
	q->response_len = 0;
}

double remote_parse_retry_after(const char *v)
{
	while (*v == ' ' || *v == '\t')
		v++;
	if (!isdigit((unsigned char)*v))
		return -1;
	char *end;
	double s = strtod(v, &end);
	while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
		end++;
	if (*end || s < 0)
		return -1;
	return s;
}

void remote_error_text(const char *body, size_t len, char *out, size_t size)
{
	if (!size)
		return;
	out[0] = '\0';
	if (!body || !len)
		return;
	json_error_t je;
	json_t *j = json_loadb(body, len, 0, &je);
	const char *msg = NULL;
	if (j && json_is_object(j)) {
		json_t *e = json_object_get(j, "error");
		if (json_is_object(e))
			msg = json_string_value(json_object_get(e, "message"));
		else if (json_is_string(e))
			msg = json_string_value(e);
		if (!msg)
			msg = json_string_value(json_object_get(j, "detail"));
		if (!msg)
			msg = json_string_value(json_object_get(j, "message"));
	}
	size_t o = 0;
	const char *s = msg ? msg : body;
	size_t n = msg ? strlen(msg) : len;
	if (n > 200)
		n = 200;
	for (size_t i = 0; i < n && o + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		out[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	out[o] = '\0';
	json_decref(j);
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
	struct slot *s = ud;
	size_t n = size * nmemb;
	if (s->len + n > s->max) {
		s->too_large = true;
		return 0;
	}
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 16384;
		while (cap < s->len + n + 1)
			cap *= 2;
		char *nb = realloc(s->buf, cap);
		if (!nb)
			return 0;
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	struct slot *s = ud;
	size_t n = size * nmemb;
	static const char name[] = "retry-after:";
	if (n > sizeof(name) && n < 128 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		char v[128];
		memcpy(v, data + sizeof(name) - 1, n - (sizeof(name) - 1));
		v[n - (sizeof(name) - 1)] = '\0';
		s->retry_after = remote_parse_retry_after(v);
	}
	return n;
}

static void slot_release(struct remote *r, struct slot *s)
{
	if (s->easy) {
		curl_multi_remove_handle(r->multi, s->easy);
		curl_easy_cleanup(s->easy);
	}
	curl_mime_free(s->mime);
	curl_slist_free_all(s->headers);
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

static enum parley_err slot_start(struct remote *r, struct slot *s, struct remote_request *q,
				  struct parley_error *err)
{
	memset(s, 0, sizeof(*s));
	s->retry_after = -1;
	s->max = r->p.max_response;
	snprintf(s->url, sizeof(s->url), "%s%s", r->base, q->path ? q->path : "");
	s->easy = curl_easy_init();
	if (!s->easy)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory", r->what);
	CURL *e = s->easy;
	curl_easy_setopt(e, CURLOPT_URL, s->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(r->p.timeout * 1000));
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(r->p.connect_timeout * 1000));
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "parley");
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	struct curl_slist *h = curl_slist_append(NULL, "Expect:");
	if (h && r->auth[0])
		h = curl_slist_append(h, r->auth) ? h : NULL;
	if (h && q->json)
		h = curl_slist_append(h, "Content-Type: application/json") ? h : NULL;
	if (!h)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory", r->what);
	s->headers = h;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	if (q->json) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->json);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(q->json));
	} else if (q->nparts) {
		s->mime = curl_mime_init(e);
		if (!s->mime)
			return parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory", r->what);
		for (size_t i = 0; i < q->nparts; i++) {
			const struct remote_part *pt = &q->parts[i];
			curl_mimepart *mp = curl_mime_addpart(s->mime);
			if (!mp || curl_mime_name(mp, pt->name) ||
			    curl_mime_data(mp, pt->data, pt->len) ||
			    (pt->filename && curl_mime_filename(mp, pt->filename)) ||
			    (pt->type && curl_mime_type(mp, pt->type)))
				return parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory",
							r->what);
		}
		curl_easy_setopt(e, CURLOPT_MIMEPOST, s->mime);
	}
	if (curl_multi_add_handle(r->multi, e) != CURLM_OK)
		return parley_error_set(err, PARLEY_ERR_INTERNAL, "%s: curl refused a request",
					r->what);
	q->attempts++;
	return PARLEY_OK;
}

static bool curl_transient(CURLcode c)
{
	switch (c) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_OUT_OF_MEMORY:
		return false;
	default:
		return true;
	}
}

/* Sort one finished request: PARLEY_OK (response moved into q), a transient
 * failure (*retry true, *wait the server's Retry-After or -1) or a permanent one. */
static enum parley_err slot_finish(struct remote *r, struct slot *s, struct remote_request *q,
				   CURLcode cc, bool *retry, double *wait, struct parley_error *err)
{
	*retry = false;
	*wait = -1;
	long status = 0;
	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	q->status = status;
	if (cc != CURLE_OK) {
		if (s->too_large)
			return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
						"%s %s: response larger than %zu bytes", r->what,
						s->url, s->max);
		*retry = curl_transient(cc);
		if (cc == CURLE_OPERATION_TIMEDOUT)
			return parley_error_set(err, PARLEY_ERR_ENGINE, "%s %s: no answer within %.0f s",
						r->what, s->url, r->p.timeout);
		return parley_error_set(err, *retry ? PARLEY_ERR_ENGINE : PARLEY_ERR_INVALID,
					"%s %s: %s", r->what, s->url, curl_easy_strerror(cc));
	}
	if (status >= 200 && status < 300) {
		if (q->on_response) {
			enum parley_err rc = q->on_response(q->ud, s->buf ? s->buf : "", s->len, err);
			if (rc) {
				*retry = rc == PARLEY_ERR_ENGINE;
				parley_error_prefix(err, "%s %s", r->what, s->url);
				return rc;
			}
		}
		q->response = s->buf ? s->buf : calloc(1, 1);
		q->response_len = s->len;
		s->buf = NULL;
		return q->response ? PARLEY_OK
				   : parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory", r->what);
	}
	char msg[256];
	remote_error_text(s->buf, s->len, msg, sizeof(msg));
	if (status == 408 || status == 429 || status >= 500) {
		*retry = true;
		*wait = s->retry_after;
		return parley_error_set(err, PARLEY_ERR_ENGINE, "%s %s: HTTP %ld%s%s", r->what, s->url,
					status, msg[0] ? ": " : "", msg);
	}
	return parley_error_set(err,
				status == 401 || status == 403 ? PARLEY_ERR_UNAUTHORIZED
							       : PARLEY_ERR_REJECTED,
				"%s %s: HTTP %ld%s%s", r->what, s->url, status, msg[0] ? ": " : "", msg);
}

enum parley_err remote_perform(struct remote *r, struct remote_request *reqs, size_t n,
			       struct parley_error *err)
{
	if (n == 0)
		return PARLEY_OK;
	size_t nslots = (size_t)r->p.concurrency < n ? (size_t)r->p.concurrency : n;
	struct slot *slots = calloc(nslots, sizeof(*slots));
	size_t *slot_req = calloc(nslots, sizeof(*slot_req));
	enum req_state *state = calloc(n, sizeof(*state));
	double *due = calloc(n, sizeof(*due));
	int *failures = calloc(n, sizeof(*failures));
	enum parley_err rc = PARLEY_OK;
	if (!slots || !slot_req || !state || !due || !failures) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory", r->what);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		reqs[i].status = 0;
		reqs[i].attempts = 0;
		reqs[i].response = NULL;
		reqs[i].response_len = 0;
	}
	size_t done = 0, running = 0;
	while (done < n) {
		if (r->p.abort && r->p.abort(r->p.user_data)) {
			rc = parley_error_set(err, PARLEY_ERR_ABORTED, "%s: stopped on request", r->what);
			goto out;
		}
		double now = time_mono();
		/* start what is due, in request order */
		for (size_t i = 0; i < n && running < nslots; i++) {
			if (state[i] != REQ_WAIT || due[i] > now)
				continue;
			size_t k = 0;
			while (slots[k].easy)
				k++;
			if ((rc = slot_start(r, &slots[k], &reqs[i], err))) {
				slot_release(r, &slots[k]);
				goto out;
			}
			slot_req[k] = i;
			state[i] = REQ_RUN;
			running++;
		}
		int still = 0;
		if (curl_multi_perform(r->multi, &still) != CURLM_OK) {
			rc = parley_error_set(err, PARLEY_ERR_INTERNAL, "%s: curl multi failed", r->what);
			goto out;
		}
		CURLMsg *m;
		int left;
		while ((m = curl_multi_info_read(r->multi, &left))) {
			if (m->msg != CURLMSG_DONE)
				continue;
			size_t k = 0;
			while (k < nslots && slots[k].easy != m->easy_handle)
				k++;
			if (k == nslots)
				continue;
			CURLcode cc = m->data.result;
			size_t i = slot_req[k];
			bool retry;
			double wait;
			struct parley_error e = {0};
			enum parley_err frc = slot_finish(r, &slots[k], &reqs[i], cc, &retry, &wait, &e);
			slot_release(r, &slots[k]);
			running--;
			if (frc == PARLEY_OK) {
				state[i] = REQ_DONE;
				done++;
				continue;
			}
			if (!retry || failures[i] >= r->p.retries) {
				if (retry)
					parley_error_prefix(&e, "gave up after %d attempts",
							    reqs[i].attempts);
				if (err)
					*err = e;
				rc = e.code;
				goto out;
			}
			failures[i]++;
			double backoff = 0.25 * (double)(1 << (failures[i] - 1));
			if (wait >= 0)
				backoff = wait;
			if (backoff > r->p.retry_max_wait)
				backoff = r->p.retry_max_wait;
			state[i] = REQ_WAIT;
			due[i] = time_mono() + backoff;
			log_warn("%s (retry %d of %d in %.2f s)", e.msg, failures[i], r->p.retries,
				 backoff);
		}
		if (done < n)
			curl_multi_poll(r->multi, NULL, 0, running ? 100 : 20, NULL);
	}
out:
	for (size_t k = 0; slots && k < nslots; k++)
		if (slots[k].easy)
			slot_release(r, &slots[k]);
	if (rc)
		for (size_t i = 0; i < n; i++)
			remote_request_clear(&reqs[i]);
	free(slots);
	free(slot_req);
	free(state);
	free(due);
	free(failures);
	return rc;
}
