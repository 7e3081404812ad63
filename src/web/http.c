#include "web/http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

/* The one mapping from parley's errors to HTTP (docs/api.md). */
static const int err_status[PARLEY_ERR_COUNT_] = {
	[PARLEY_OK] = 200,
	[PARLEY_ERR_NOMEM] = 503,
	[PARLEY_ERR_IO] = 503,
	[PARLEY_ERR_INVALID] = 400,
	[PARLEY_ERR_TOO_LARGE] = 413,
	[PARLEY_ERR_AUDIO] = 422,
	[PARLEY_ERR_ENGINE] = 500,
	[PARLEY_ERR_STORE] = 503,
	[PARLEY_ERR_NOT_FOUND] = 404,
	[PARLEY_ERR_BUSY] = 503,
	[PARLEY_ERR_ABORTED] = 503,
	[PARLEY_ERR_EMPTY] = 422,
	[PARLEY_ERR_INTERNAL] = 500,
	[PARLEY_ERR_UNAVAILABLE] = 503,
	[PARLEY_ERR_CONFLICT] = 409,
	[PARLEY_ERR_UNAUTHORIZED] = 401,
	[PARLEY_ERR_REJECTED] = 502,
};

int web_err_status(enum parley_err code)
{
	if ((int)code < 0 || code >= PARLEY_ERR_COUNT_ || !err_status[code])
		return 500;
	return err_status[code];
}

void web_resp_init(struct web_resp *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

void web_resp_release(struct web_resp *r)
{
	if (!r)
		return;
	free(r->body);
	if (r->fd >= 0)
		close(r->fd);
	if (r->stream_free && r->stream_ud)
		r->stream_free(r->stream_ud);
	web_resp_init(r);
}

void web_resp_header(struct web_resp *r, const char *name, const char *fmt, ...)
{
	if (r->nheaders >= WEB_RESP_HEADERS_MAX)
		return;
	snprintf(r->headers[r->nheaders].name, sizeof(r->headers[0].name), "%s", name);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->headers[r->nheaders].value, sizeof(r->headers[0].value), fmt, ap);
	va_end(ap);
	r->nheaders++;
}

/* Replace the body with text (owned copy). */
static void body_set(struct web_resp *r, int status, const char *type, char *text)
{
	free(r->body);
	r->body = text;
	r->len = text ? strlen(text) : 0;
	r->status = status;
	r->content_type = type;
}

/* Copy msg into out, each occurrence of a hidden string replaced by "…". */
static void scrub(const char *msg, const char *const hide[], size_t nhide, char *out, size_t size)
{
	size_t o = 0;
	while (*msg && o + 1 < size) {
		size_t skip = 0;
		for (size_t i = 0; i < nhide && !skip; i++)
			if (hide[i] && hide[i][0] && strncmp(msg, hide[i], strlen(hide[i])) == 0)
				skip = strlen(hide[i]);
		if (skip) {
			static const char dots[] = "\xe2\x80\xa6"; /* … */
			if (o + sizeof(dots) > size)
				break;
			memcpy(out + o, dots, sizeof(dots) - 1);
			o += sizeof(dots) - 1;
			msg += skip;
		} else {
			out[o++] = *msg++;
		}
	}
	out[o] = '\0';
}

static void error_body(struct web_resp *r, int status, const char *code, const char *msg)
{
	json_t *e = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
	char *text = e ? json_dumps(e, JSON_COMPACT) : NULL;
	json_decref(e);
	snprintf(r->error_code, sizeof(r->error_code), "%s", code);
	if (!text) /* out of memory or a message that is not UTF-8 */
		text = strdup("{\"error\":{\"code\":\"internal\",\"message\":\"could not encode the error\"}}");
	body_set(r, status, "application/json", text);
	if (r->fd >= 0) {
		close(r->fd);
		r->fd = -1;
	}
	r->static_body = NULL;
}

void web_resp_fail(struct web_resp *r, int status, const char *code, const char *fmt, ...)
{
	char msg[PARLEY_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char pub[PARLEY_ERROR_MSG_MAX];
	scrub(msg, r->hide, WEB_HIDE_MAX, pub, sizeof(pub));
	error_body(r, status, code, pub);
}

void web_resp_answer(struct web_resp *r, enum parley_err rc, int status, json_t *view,
		     const struct parley_error *err)
{
	if (rc != PARLEY_OK) {
		json_decref(view);
		web_resp_error(r, err);
		return;
	}
	web_resp_json(r, status, view);
}

void web_error_public(int status, enum parley_err code, const char *msg, const char *about,
		      const char *const hide[], size_t nhide, char *out, size_t size)
{
	if (!size)
		return;
	if (status >= 500) {
		snprintf(out, size, "%s failed on the server: %s (the details are in the server's log)",
			 about && *about ? about : "the request", parley_strerror(code));
		return;
	}
	scrub(msg && *msg ? msg : parley_strerror(code), hide, nhide, out, size);
}

void web_resp_error(struct web_resp *r, const struct parley_error *err)
{
	int status = web_err_status(err->code);
	char msg[PARLEY_ERROR_MSG_MAX];
	if (status >= 500)
		log_error("%s: %s: %s", r->about[0] ? r->about : "a request", parley_err_name(err->code),
			  err->msg);
	web_error_public(status, err->code, err->msg, r->about, r->hide, WEB_HIDE_MAX, msg,
			 sizeof(msg));
	error_body(r, status, parley_err_name(err->code), msg);
}

void web_resp_json(struct web_resp *r, int status, json_t *v)
{
	char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
	json_decref(v);
	if (!text) {
		web_resp_fail(r, 500, "internal", "the answer could not be encoded as JSON");
		return;
	}
	body_set(r, status, "application/json", text);
}

bool web_req_query_int(struct web_req *q, struct web_resp *r, const char *name, long long min,
		       long long max, long long *out)
{
	const char *v = web_req_query(q, name);
	if (!v)
		return true;
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (errno || end == v || *end || x < min || x > max) {
		web_resp_fail(r, 400, "invalid", "query argument %s=%.40s is not an integer %lld to %lld",
			      name, v, min, max);
		return false;
	}
	*out = x;
	return true;
}
