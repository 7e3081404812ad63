/* route_results.c — per-session results and the leaderboard. */
#include "web/routes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

#define LEADERBOARD_LIMIT_MAX 1000
#define LEADERBOARD_LIMIT_DEFAULT 50

void route_results(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	json_t *view = NULL;
	if (session_results(&q->ctx, &q->user, q->params.id, &view, &err) != PARLEY_OK) {
		json_decref(view);
		web_resp_error(r, &err);
		return;
	}
	web_resp_json(r, 200, view);
}

/* "since": epoch seconds, or YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SSZ (UTC). */
static enum parley_err since_parse(const char *v, double *out, struct parley_error *err)
{
	if (v[0] >= '0' && v[0] <= '9' && !strchr(v, '-')) {
		char *end;
		errno = 0;
		double d = strtod(v, &end);
		if (!errno && !*end && d >= 0 && d < 1e11) {
			*out = d;
			return PARLEY_OK;
		}
	} else {
		struct tm tm;
		memset(&tm, 0, sizeof(tm));
		const char *end = strptime(v, "%Y-%m-%d", &tm);
		if (end && *end == 'T')
			end = strptime(end, "T%H:%M:%SZ", &tm);
		if (end && !*end) {
			time_t t = timegm(&tm);
			if (t >= 0) {
				*out = (double)t;
				return PARLEY_OK;
			}
		}
	}
	return parley_error_set(err, PARLEY_ERR_INVALID,
				"since=%.40s: expected epoch seconds, YYYY-MM-DD or "
				"YYYY-MM-DDTHH:MM:SSZ", v);
}

static bool word_ok(const char *w)
{
	size_t n = strlen(w);
	if (n == 0 || n >= STORE_WORD_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((w[i] >= 'a' && w[i] <= 'z') || w[i] == '\'' || w[i] == '-'))
			return false;
	return true;
}

void route_leaderboard(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	struct session_leaderboard_query lq = {.limit = LEADERBOARD_LIMIT_DEFAULT};
	const char *word = web_req_query(q, "word");
	const char *since = web_req_query(q, "since");
	const char *limit = web_req_query(q, "limit");
	if (word && *word) {
		if (!word_ok(word)) {
			web_resp_fail(r, 400, "invalid", "word=%.60s: expected a lowercase word of "
				      "a-z, ' and - (at most %d bytes)", word, STORE_WORD_MAX - 1);
			return;
		}
		lq.word = word;
	}
	if (since && *since && since_parse(since, &lq.since, &err) != PARLEY_OK) {
		web_resp_error(r, &err);
		return;
	}
	if (limit && *limit) {
		char *end;
		errno = 0;
		long n = strtol(limit, &end, 10);
		if (errno || *end || n < 1 || n > LEADERBOARD_LIMIT_MAX) {
			web_resp_fail(r, 400, "invalid", "limit=%.40s: expected 1 to %d", limit,
				      LEADERBOARD_LIMIT_MAX);
			return;
		}
		lq.limit = (int)n;
	}
	json_t *view = NULL;
	if (session_leaderboard(&q->ctx, &lq, &view, &err) != PARLEY_OK) {
		json_decref(view);
		web_resp_error(r, &err);
		return;
	}
	web_resp_json(r, 200, view);
}
