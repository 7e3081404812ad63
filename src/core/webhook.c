/* webhook.c — see webhook.h: configuration, signing, schedule, the outbox
 * and its sender pass. The HTTP client is webhook_http.c, the sender thread
 * webhook_loop.c. */
#include "core/webhook.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "store/store_audit.h"
#include "store/store_int.h"
#include "util/base64.h"
#include "util/hmac.h"
#include "util/log.h"
#include "util/proc.h"
#include "util/random.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#define prep store_sql_prepare
#define exec store_sql_exec

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static void wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;
	while (n--)
		*v++ = 0;
}

/* ------------------------------------------------------------ config */

struct webhook_config webhook_default_config(void)
{
	struct webhook_config c;
	memset(&c, 0, sizeof(c));
	c.events = WEBHOOK_EV_BATCH;
	return c;
}

static const struct {
	const char *name;
	unsigned bit;
} event_names[] = {
	{"batch", WEBHOOK_EV_BATCH},
	{"file", WEBHOOK_EV_FILE},
	{"stage", WEBHOOK_EV_STAGE},
};
#define NEVENT_NAMES (sizeof(event_names) / sizeof(event_names[0]))

enum parley_err webhook_events_parse(const char *text, unsigned *events, struct parley_error *err)
{
	*events = 0;
	const char *p = text ? text : "";
	while (*p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		size_t i;
		for (i = 0; i < NEVENT_NAMES; i++)
			if (strlen(event_names[i].name) == len && strncmp(p, event_names[i].name, len) == 0)
				break;
		if (i == NEVENT_NAMES)
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"webhook events: '%.*s' is not one of batch, file, stage",
						(int)(len > 40 ? 40 : len), p);
		*events |= event_names[i].bit;
		p = e ? e + 1 : p + len;
	}
	if (!*events)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"webhook events: name at least one of batch, file, stage");
	return PARLEY_OK;
}

void webhook_events_format(unsigned events, char *out, size_t size)
{
	size_t used = 0;
	if (size)
		out[0] = '\0';
	for (size_t i = 0; i < NEVENT_NAMES; i++)
		if ((events & event_names[i].bit) && used < size)
			used += (size_t)snprintf(out + used, size - used, "%s%s", used ? "," : "",
						 event_names[i].name);
}

enum parley_err webhook_url_check(const char *url, struct parley_error *err)
{
	const char *u = url ? url : "";
	if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
		return parley_error_set(err, PARLEY_ERR_INVALID, "webhook URL: not http:// or https://");
	if (strlen(u) >= WEBHOOK_URL_MAX)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "webhook URL: longer than %d bytes",
					WEBHOOK_URL_MAX - 1);
	for (const char *c = u; *c; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"webhook URL: spaces or control characters at byte %zu",
						(size_t)(c - u) + 1);
	const char *host = strstr(u, "://") + 3;
	size_t hostlen = strcspn(host, "/?#");
	if (hostlen == 0)
		return parley_error_set(err, PARLEY_ERR_INVALID, "webhook URL: no host");
	if (memchr(host, '@', hostlen))
		/* not quoted: it would hold a password */
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"webhook URL: a user or password in the URL is refused (the "
					"signature authenticates parley to the receiver)");
	return PARLEY_OK;
}

enum parley_err webhook_secret_key(const char *secret, uint8_t *key, size_t *n,
				   struct parley_error *err)
{
	*n = 0;
	const char *s = secret ? secret : "";
	size_t len = strlen(s);
	if (strncmp(s, "whsec_", 6) == 0) {
		struct parley_error e = {0};
		if (base64_decode(s + 6, len - 6, key, WEBHOOK_KEY_MAX, n, &e)) {
			*n = 0;
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"webhook secret: whsec_ is not followed by base64 of at "
						"most %d bytes", WEBHOOK_KEY_MAX);
		}
	} else {
		if (len > WEBHOOK_KEY_MAX)
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"webhook secret: longer than %d bytes", WEBHOOK_KEY_MAX);
		memcpy(key, s, len);
		*n = len;
	}
	if (*n < WEBHOOK_KEY_MIN) {
		wipe(key, *n);
		*n = 0;
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"webhook secret: shorter than %d bytes (Standard Webhooks "
					"secrets are whsec_ + base64 of 24 to 64 random bytes)",
					WEBHOOK_KEY_MIN);
	}
	return PARLEY_OK;
}

enum parley_err webhook_sign(const char *secret, const char *id, long long timestamp,
			     const char *body, size_t len, char *out, size_t size,
			     struct parley_error *err)
{
	uint8_t key[WEBHOOK_KEY_MAX];
	size_t klen;
	enum parley_err rc = webhook_secret_key(secret, key, &klen, err);
	if (rc)
		return rc;
	char ts[32];
	int tl = snprintf(ts, sizeof(ts), "%lld", timestamp);
	struct hmac_sha256 h;
	hmac_sha256_init(&h, key, klen);
	wipe(key, sizeof(key));
	hmac_sha256_update(&h, id, strlen(id));
	hmac_sha256_update(&h, ".", 1);
	hmac_sha256_update(&h, ts, (size_t)tl);
	hmac_sha256_update(&h, ".", 1);
	hmac_sha256_update(&h, body, len);
	uint8_t mac[HMAC_SHA256_SIZE];
	hmac_sha256_final(&h, mac);
	char b64[BASE64_ENCODED_SIZE(HMAC_SHA256_SIZE)];
	base64_encode(mac, sizeof(mac), b64, sizeof(b64));
	int w = snprintf(out, size, "v1,%s", b64);
	if (w < 0 || (size_t)w >= size)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "webhook signature: buffer too small");
	return PARLEY_OK;
}

/* ------------------------------------------------------------ schedule */

enum parley_err webhook_schedule_parse(const char *text, struct webhook_schedule *out,
				       struct parley_error *err)
{
	memset(out, 0, sizeof(*out));
	const char *p = text && *text ? text : WEBHOOK_DEFAULT_SCHEDULE;
	int item = 0;
	while (*p) {
		item++;
		if (out->n >= WEBHOOK_SCHEDULE_MAX)
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"webhook schedule: more than %d retries",
						WEBHOOK_SCHEDULE_MAX);
		while (*p == ' ')
			p++;
		if (!isdigit((unsigned char)*p))
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"webhook schedule: item %d is not a number with an "
						"optional unit s, m, h or d (\"5s,5m,30m,2h\")", item);
		char *end;
		errno = 0;
		double v = strtod(p, &end);
		double unit = 1;
		switch (*end) {
		case 's': unit = 1; end++; break;
		case 'm': unit = 60; end++; break;
		case 'h': unit = 3600; end++; break;
		case 'd': unit = 86400; end++; break;
		default: break;
		}
		while (*end == ' ')
			end++;
		if (errno || !isfinite(v) || (*end && *end != ',') || v * unit > 7 * 86400.0)
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"webhook schedule: item %d is not a delay of 0 to 7 days "
						"(\"5s,5m,30m,2h\")", item);
		out->delay[out->n++] = v * unit;
		p = *end ? end + 1 : end;
		if (*end == ',' && !*p)
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"webhook schedule: ends with a comma");
	}
	if (out->n == 0)
		return parley_error_set(err, PARLEY_ERR_INVALID, "webhook schedule: no delays");
	return PARLEY_OK;
}

double webhook_schedule_next(const struct webhook_schedule *s, int failed, double retry_after,
			     double jitter)
{
	if (failed < 1 || failed > s->n)
		return -1;
	if (jitter < -1)
		jitter = -1;
	if (jitter > 1)
		jitter = 1;
	double d = s->delay[failed - 1] * (1.0 + 0.2 * jitter);
	if (retry_after > WEBHOOK_RETRY_AFTER_MAX)
		retry_after = WEBHOOK_RETRY_AFTER_MAX;
	if (retry_after > d)
		d = retry_after;
	return d;
}

double webhook_parse_retry_after(const char *value, double now)
{
	if (!value)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	char v[64];
	size_t n = strcspn(value, "\r\n");
	while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof(v))
		return -1;
	memcpy(v, value, n);
	v[n] = '\0';
	if (isdigit((unsigned char)v[0])) {
		for (size_t i = 0; i < n; i++)
			if (!isdigit((unsigned char)v[i]))
				return -1;
		double d = n > 9 ? WEBHOOK_RETRY_AFTER_MAX : (double)strtol(v, NULL, 10);
		return d > WEBHOOK_RETRY_AFTER_MAX ? WEBHOOK_RETRY_AFTER_MAX : d;
	}
	/* HTTP-date: IMF-fixdate, obsolete RFC 850 and asctime forms (RFC 9110 5.6.7) */
	static const char *const forms[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
					    "%a %b %e %H:%M:%S %Y"};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct tm tm;
		memset(&tm, 0, sizeof(tm));
		const char *end = strptime(v, forms[i], &tm);
		if (!end || *end)
			continue;
		time_t t = timegm(&tm);
		if (t == (time_t)-1)
			return -1;
		double d = (double)t - now;
		return d < 0 ? 0 : d > WEBHOOK_RETRY_AFTER_MAX ? WEBHOOK_RETRY_AFTER_MAX : d;
	}
	return -1;
}

/* ------------------------------------------------------------ the table of endpoints */

enum parley_err webhook_set(struct store *st, int64_t batch_id, const struct webhook_config *c,
			    struct parley_error *err)
{
	enum parley_err rc = webhook_url_check(c->url, err);
	if (rc)
		return rc;
	uint8_t key[WEBHOOK_KEY_MAX];
	size_t klen;
	if ((rc = webhook_secret_key(c->secret, key, &klen, err)))
		return rc;
	wipe(key, sizeof(key));
	struct webhook_schedule sch;
	if ((rc = webhook_schedule_parse(c->schedule, &sch, err)))
		return rc;
	if (!c->events || (c->events & ~7u))
		return parley_error_set(err, PARLEY_ERR_INVALID, "webhook events: none chosen");
	char events[32];
	webhook_events_format(c->events, events, sizeof(events));
	return exec(st, NULL, err,
		    "INSERT INTO webhooks(batch_id, url, secret, events, schedule, disabled, created_at)"
		    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
		    " ON CONFLICT(batch_id) DO UPDATE SET url = excluded.url, secret = excluded.secret,"
		    "  events = excluded.events, schedule = excluded.schedule,"
		    "  disabled = excluded.disabled",
		    "itttt" "nd", batch_id, c->url, c->secret, events, c->schedule,
		    c->disabled ? 1 : 0, time_wall());
}

enum parley_err webhook_get(struct store *st, int64_t batch_id, struct webhook_config *out,
			    bool *found, struct parley_error *err)
{
	memset(out, 0, sizeof(*out));
	*found = false;
	struct db_stmt *s;
	enum parley_err rc = prep(st, &s, err,
				  "SELECT url, secret, events, schedule, disabled FROM webhooks"
				  " WHERE batch_id = ?1", "i", batch_id);
	if (rc)
		return rc;
	bool row = false;
	if ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
		copy(out->url, sizeof(out->url), db_column_text(s, 0));
		copy(out->secret, sizeof(out->secret), db_column_text(s, 1));
		struct parley_error ignored = {0};
		if (webhook_events_parse(db_column_text(s, 2), &out->events, &ignored))
			out->events = WEBHOOK_EV_BATCH;
		copy(out->schedule, sizeof(out->schedule), db_column_text(s, 3));
		out->disabled = db_column_int(s, 4) != 0;
		*found = true;
	}
	db_finalize(s);
	return rc;
}

/* ------------------------------------------------------------ the outbox */

static void iso_time(double t, char *out, size_t size)
{
	time_t secs = (time_t)t;
	struct tm tm;
	gmtime_r(&secs, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

enum parley_err webhook_enqueue(struct store *st, int64_t batch_id, const char *event_id,
				const char *type, const char *data_json, bool *inserted,
				struct parley_error *err)
{
	*inserted = false;
	struct webhook_config wc;
	bool found;
	enum parley_err rc = webhook_get(st, batch_id, &wc, &found, err);
	wipe(wc.secret, sizeof(wc.secret));
	if (rc || !found)
		return rc;
	if (strlen(event_id) >= WEBHOOK_EVENT_ID_MAX)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "webhook event id %.40s…: too long",
					event_id);
	double now = time_wall();
	char when[32];
	iso_time(now, when, sizeof(when));
	struct strbuf body;
	strbuf_init(&body, WEBHOOK_PAYLOAD_MAX);
	/* type and timestamp need no escaping: fixed names and digits */
	if (strbuf_addf(&body, "{\"type\":\"%s\",\"timestamp\":\"%s\",\"data\":%s}", type, when,
			data_json && *data_json ? data_json : "{}")) {
		strbuf_release(&body);
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"webhook event %s: payload larger than %zu bytes", event_id,
					WEBHOOK_PAYLOAD_MAX);
	}
	int64_t changes = 0;
	rc = exec(st, &changes, err,
		  "INSERT INTO webhook_deliveries(event_id, batch_id, type, payload, status, attempts,"
		  " next_at, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?6, ?6)"
		  " ON CONFLICT(event_id) DO NOTHING",
		  "titttd", event_id, batch_id, type, body.buf,
		  wc.disabled ? "disabled" : "pending", now);
	strbuf_release(&body);
	*inserted = rc == PARLEY_OK && changes == 1;
	return rc;
}

static enum parley_err event_exists(struct store *st, const char *event_id, bool *exists,
				    struct parley_error *err)
{
	struct db_stmt *s;
	*exists = false;
	enum parley_err rc = prep(st, &s, err,
				  "SELECT 1 FROM webhook_deliveries WHERE event_id = ?1", "t", event_id);
	if (rc)
		return rc;
	rc = db_step(s, exists, err);
	db_finalize(s);
	return rc;
}

/* SELECT EXISTS(…) as a bool on both dialects */
static enum parley_err sql_exists(struct store *st, bool *yes, struct parley_error *err,
				  const char *sql, const char *types, int64_t a, const char *b)
{
	struct db_stmt *s;
	*yes = false;
	enum parley_err rc = types[1] ? prep(st, &s, err, sql, types, a, b) : prep(st, &s, err, sql, types, a);
	if (rc)
		return rc;
	bool row;
	if ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
		const char *v = db_column_text(s, 0);
		*yes = !(strcmp(v, "0") == 0 || strcmp(v, "f") == 0);
	}
	db_finalize(s);
	return rc;
}

static json_t *batch_json(int64_t batch_id, const char *name)
{
	return json_pack("{s:I,s:s}", "id", (json_int_t)batch_id, "name", name);
}

static enum parley_err batch_name_get(struct store *st, int64_t batch_id, char *out, size_t size,
				      struct parley_error *err)
{
	struct db_stmt *s;
	out[0] = '\0';
	enum parley_err rc = prep(st, &s, err, "SELECT name FROM batches WHERE id = ?1", "i", batch_id);
	if (rc)
		return rc;
	bool row;
	if ((rc = db_step(s, &row, err)) == PARLEY_OK && row)
		copy(out, size, db_column_text(s, 0));
	db_finalize(s);
	return rc;
}

/* Enqueue a jansson object (stolen) as the event's data. */
static enum parley_err enqueue_json(struct store *st, int64_t batch_id, const char *event_id,
				    const char *type, json_t *data, struct parley_error *err)
{
	if (!data)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory building webhook event %s",
					event_id);
	char *text = json_dumps(data, JSON_COMPACT);
	json_decref(data);
	if (!text)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory building webhook event %s",
					event_id);
	bool inserted;
	enum parley_err rc = webhook_enqueue(st, batch_id, event_id, type, text, &inserted, err);
	free(text);
	if (rc == PARLEY_OK && inserted)
		log_debug("webhook event %s (%s) queued", event_id, type);
	return rc;
}

static const char *stage_status_name(const struct store_stage_count *c)
{
	if (c->pending || c->running)
		return c->done || c->failed || c->skipped || c->running ? "InProgress" : "Pending";
	return c->failed ? "CompletedWithErrors" : "Completed";
}

static json_t *stage_json(const char *stage, const struct store_stage_count *c)
{
	struct store_stage_count zero;
	memset(&zero, 0, sizeof(zero));
	if (!c)
		c = &zero;
	return json_pack("{s:s,s:s,s:i,s:i,s:i}", "stage", stage, "status", stage_status_name(c),
			 "done", c->done, "failed", c->failed, "skipped", c->skipped);
}

#define HOOK_STAGES_MAX 64

static const struct store_stage_count *count_of(const struct store_stage_count *c, size_t n,
						const char *stage)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(c[i].stage, stage) == 0)
			return &c[i];
	return NULL;
}

static enum parley_err hook_file(struct store *st, const struct webhook_finish *f, int version,
				 const char *batch_name, struct parley_error *err)
{
	bool done = f->status == STORE_DONE;
	char id[WEBHOOK_EVENT_ID_MAX];
	snprintf(id, sizeof(id), "evt_r%lld_v%d_%s", (long long)f->rec_id, version,
		 done ? "done" : "failed");
	json_t *rec = json_pack("{s:I,s:s,s:s}", "id", (json_int_t)f->rec_id, "name",
				f->rec_name ? f->rec_name : "", "status", done ? "done" : "failed");
	if (rec && !done)
		json_object_set_new(rec, "error", json_string(f->error ? f->error : ""));
	json_t *data = json_pack("{s:o,s:i,s:o*}", "batch", batch_json(f->batch_id, batch_name),
				 "audit_version", version, "recording", rec);
	if (data && version > 0) {
		struct store_verdict v;
		bool found = false;
		memset(&v, 0, sizeof(v));
		enum parley_err rc = store_verdict_get(st, f->rec_id, version, &v, &found, err);
		if (rc) {
			json_decref(data);
			return rc;
		}
		if (found)
			json_object_set_new(data, "verdict",
					    json_pack("{s:s,s:f,s:f,s:b}", "verdict", v.verdict, "score",
						      v.score, "max_score", v.max_score, "auto_fail",
						      v.auto_fail));
		store_verdict_release(&v);
	}
	return enqueue_json(st, f->batch_id, id, done ? "recording.completed" : "recording.failed",
			    data, err);
}

/* stage.completed for every stage no unfinished recording has ahead of it:
 * stages complete in pipeline order, so the first one still awaited ends
 * the walk. */
static enum parley_err hook_stages(struct store *st, const struct webhook_finish *f, int version,
				   const char *batch_name, struct parley_error *err)
{
	char set[STORE_PIPELINE_MAX + 2] = ",";
	size_t used = 1;
	struct store_stage_count counts[HOOK_STAGES_MAX];
	size_t ncounts = 0;
	bool have_counts = false;
	for (size_t i = 0; i < f->nstages; i++) {
		used += (size_t)snprintf(set + used, used < sizeof(set) ? sizeof(set) - used : 0, "%s,",
					 f->stages[i]);
		if (used >= sizeof(set))
			break;
		char id[WEBHOOK_EVENT_ID_MAX];
		snprintf(id, sizeof(id), "evt_b%lld_v%d_%s", (long long)f->batch_id, version, f->stages[i]);
		bool exists;
		enum parley_err rc = event_exists(st, id, &exists, err);
		if (rc)
			return rc;
		if (exists)
			continue;
		bool awaited;
		if ((rc = sql_exists(st, &awaited, err,
				     "SELECT EXISTS (SELECT 1 FROM recordings WHERE batch_id = ?1"
				     " AND status IN ('pending', 'running')"
				     " AND (next_stage = '' OR ?2 LIKE '%,' || next_stage || ',%'))",
				     "it", f->batch_id, set)))
			return rc;
		if (awaited)
			return PARLEY_OK;
		if (!have_counts) {
			if ((rc = store_stage_counts(st, f->batch_id, counts, HOOK_STAGES_MAX, &ncounts, err)))
				return rc;
			have_counts = true;
		}
		json_t *data = json_pack("{s:o,s:i,s:s,s:o}", "batch", batch_json(f->batch_id, batch_name),
					 "audit_version", version, "stage", f->stages[i], "counts",
					 stage_json(f->stages[i], count_of(counts, ncounts, f->stages[i])));
		if ((rc = enqueue_json(st, f->batch_id, id, "stage.completed", data, err)))
			return rc;
	}
	return PARLEY_OK;
}

static enum parley_err hook_batch(struct store *st, const struct webhook_finish *f, int version,
				  const char *batch_name, struct parley_error *err)
{
	bool unfinished;
	enum parley_err rc = sql_exists(st, &unfinished, err,
					"SELECT EXISTS (SELECT 1 FROM recordings WHERE batch_id = ?1"
					" AND status IN ('pending', 'running'))", "i", f->batch_id, NULL);
	if (rc || unfinished)
		return rc;
	char id[WEBHOOK_EVENT_ID_MAX];
	snprintf(id, sizeof(id), "evt_b%lld_v%d_completed", (long long)f->batch_id, version);
	bool exists;
	if ((rc = event_exists(st, id, &exists, err)) || exists)
		return rc;
	struct store_progress pr;
	struct store_stage_count counts[HOOK_STAGES_MAX];
	size_t ncounts = 0;
	if ((rc = store_progress_get(st, f->batch_id, &pr, err)) ||
	    (rc = store_stage_counts(st, f->batch_id, counts, HOOK_STAGES_MAX, &ncounts, err)))
		return rc;
	json_t *stages = json_array();
	for (size_t i = 0; stages && i < f->nstages; i++)
		json_array_append_new(stages, stage_json(f->stages[i],
							 count_of(counts, ncounts, f->stages[i])));
	json_t *data = json_pack("{s:o,s:i,s:{s:i,s:i,s:i},s:s,s:o*}", "batch",
				 batch_json(f->batch_id, batch_name), "audit_version", version,
				 "counts", "total", pr.total, "done", pr.done, "failed", pr.failed,
				 "status", pr.failed ? "CompletedWithErrors" : "Completed", "stages",
				 stages);
	if (data && f->public_url && *f->public_url) {
		char url[WEBHOOK_URL_MAX];
		size_t n = strlen(f->public_url);
		while (n > 0 && f->public_url[n - 1] == '/')
			n--;
		snprintf(url, sizeof(url), "%.*s/v1/batches/%lld/results", (int)n, f->public_url,
			 (long long)f->batch_id);
		json_object_set_new(data, "results_url", json_string(url));
	}
	return enqueue_json(st, f->batch_id, id, "batch.completed", data, err);
}

enum parley_err webhook_on_finish(struct store *st, const struct webhook_finish *f,
				  struct parley_error *err)
{
	struct webhook_config wc;
	bool found;
	enum parley_err rc = webhook_get(st, f->batch_id, &wc, &found, err);
	wipe(wc.secret, sizeof(wc.secret));
	if (rc || !found)
		return rc;
	int version = 0;
	char name[STORE_NAME_MAX];
	if ((rc = store_audit_current(st, f->batch_id, &version, err)) ||
	    (rc = batch_name_get(st, f->batch_id, name, sizeof(name), err)))
		return rc;
	if ((wc.events & WEBHOOK_EV_FILE) && (rc = hook_file(st, f, version, name, err)))
		return rc;
	if (!(wc.events & (WEBHOOK_EV_STAGE | WEBHOOK_EV_BATCH)))
		return PARLEY_OK;
	/* Serialise the "is it over?" checks of concurrent finishes (PostgreSQL,
	 * READ COMMITTED): the later one waits here, then sees the earlier's
	 * finish. SQLite's BEGIN IMMEDIATE already serialises writers. */
	if (store_is_postgres(st) &&
	    (rc = exec(st, NULL, err, "SELECT id FROM batches WHERE id = ?1 FOR UPDATE", "i",
		       f->batch_id)))
		return rc;
	if ((wc.events & WEBHOOK_EV_STAGE) && (rc = hook_stages(st, f, version, name, err)))
		return rc;
	if (wc.events & WEBHOOK_EV_BATCH)
		rc = hook_batch(st, f, version, name, err);
	return rc;
}

/* ------------------------------------------------------------ sending */

static double default_jitter(void *ud)
{
	(void)ud;
	uint16_t r = 0;
	if (random_bytes(&r, sizeof(r), NULL))
		return 0;
	return (double)r / 32767.5 - 1.0;
}

struct webhook_send_params webhook_default_send_params(void)
{
	struct webhook_send_params p;
	memset(&p, 0, sizeof(p));
	char host[64] = "localhost";
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(host, sizeof(host), "%s", u.nodename);
	snprintf(p.owner, sizeof(p.owner), "%s:%ld", host, (long)getpid());
	p.timeout = 15;
	p.connect_timeout = 10;
	p.max_response = 64 << 10;
	p.post = webhook_post_curl;
	p.jitter = default_jitter;
	return p;
}

/* Does owner "host:pid" name a process of this host that is gone? */
static bool owner_dead_here(const char *owner)
{
	char host[64] = "localhost";
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(host, sizeof(host), "%s", u.nodename);
	return proc_owner_gone(owner, host);
}

#define RECLAIM_MAX 64

static enum parley_err reclaim_dead(struct store *st, struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = prep(st, &s, err,
				  "SELECT id, lease_owner FROM webhook_deliveries WHERE status = 'pending'"
				  " AND lease_owner IS NOT NULL", "");
	if (rc)
		return rc;
	int64_t ids[RECLAIM_MAX];
	char owners[RECLAIM_MAX][128];
	int n = 0;
	bool row;
	while ((rc = db_step(s, &row, err)) == PARLEY_OK && row && n < RECLAIM_MAX) {
		const char *o = db_column_text(s, 1);
		if (owner_dead_here(o)) {
			ids[n] = db_column_int(s, 0);
			copy(owners[n++], sizeof(owners[0]), o);
		}
	}
	db_finalize(s);
	for (int i = 0; rc == PARLEY_OK && i < n; i++) {
		rc = exec(st, NULL, err,
			  "UPDATE webhook_deliveries SET lease_owner = NULL, lease_expires = NULL"
			  " WHERE id = ?1 AND lease_owner = ?2", "it", ids[i], owners[i]);
		if (rc == PARLEY_OK)
			log_info("webhook delivery %lld: its sender %s is gone; sending it again",
				 (long long)ids[i], owners[i]);
	}
	return rc;
}

/* A delivery claimed for one attempt. */
struct claim {
	int64_t id, batch_id;
	char event_id[WEBHOOK_EVENT_ID_MAX];
	char *payload;
	int attempts; /* in this round, including this one */
	int attempt;  /* the attempt row's number */
	struct webhook_config wc;
};

static void claim_release(struct claim *c)
{
	free(c->payload);
	wipe(&c->wc, sizeof(c->wc));
	memset(c, 0, sizeof(*c));
}

/* Claim the next due delivery and write its attempt row, in one
 * transaction. *found false when nothing is due. */
static enum parley_err claim_next(struct store *st, const struct webhook_send_params *p,
				  struct claim *c, bool *found, struct parley_error *err)
{
	*found = false;
	memset(c, 0, sizeof(*c));
	double now = time_wall();
	double lease = p->timeout + p->connect_timeout + 30;
	char sql[1024];
	snprintf(sql, sizeof(sql),
		 "UPDATE webhook_deliveries SET lease_owner = ?1, lease_expires = ?2,"
		 " attempts = attempts + 1, updated_at = ?3"
		 " WHERE id = (SELECT id FROM webhook_deliveries WHERE status = 'pending'"
		 "  AND next_at <= ?3 AND (lease_owner IS NULL OR lease_expires < ?3)"
		 "  AND (CAST(?4 AS BIGINT) = 0 OR batch_id = ?4)"
		 "  ORDER BY next_at, id LIMIT 1%s)"
		 " RETURNING id, batch_id, event_id, payload, attempts",
		 store_is_postgres(st) ? " FOR UPDATE SKIP LOCKED" : "");
	enum parley_err rc = store_begin(st, err);
	if (rc)
		return rc;
	struct db_stmt *s;
	if ((rc = prep(st, &s, err, sql, "tddi", p->owner, now + lease, now, p->batch_id)))
		goto fail;
	bool row = false;
	if ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
		c->id = db_column_int(s, 0);
		c->batch_id = db_column_int(s, 1);
		copy(c->event_id, sizeof(c->event_id), db_column_text(s, 2));
		c->payload = strdup(db_column_text(s, 3));
		c->attempts = (int)db_column_int(s, 4);
		while (rc == PARLEY_OK && row)
			rc = db_step(s, &row, err);
		row = true;
	}
	db_finalize(s);
	if (rc)
		goto fail;
	if (!row || !c->id) {
		store_rollback(st);
		return PARLEY_OK;
	}
	if (!c->payload) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory reading a webhook delivery");
		goto fail;
	}
	bool have;
	if ((rc = webhook_get(st, c->batch_id, &c->wc, &have, err)))
		goto fail;
	if (!have || c->wc.disabled) {
		/* the endpoint went away or was disabled: nothing to send */
		rc = exec(st, NULL, err,
			  "UPDATE webhook_deliveries SET status = 'disabled', attempts = attempts - 1,"
			  " lease_owner = NULL, lease_expires = NULL WHERE id = ?1", "i", c->id);
		if (rc == PARLEY_OK)
			rc = store_commit(st, err);
		else
			store_rollback(st);
		claim_release(c);
		if (rc == PARLEY_OK)
			*found = true; /* look again: something else may be due */
		return rc;
	}
	if ((rc = prep(st, &s, err, "SELECT coalesce(max(attempt), 0) FROM webhook_attempts"
		       " WHERE delivery_id = ?1", "i", c->id)))
		goto fail;
	if ((rc = db_step(s, &row, err)) == PARLEY_OK && row)
		c->attempt = (int)db_column_int(s, 0) + 1;
	db_finalize(s);
	if (rc)
		goto fail;
	if ((rc = exec(st, NULL, err,
		       "INSERT INTO webhook_attempts(delivery_id, attempt, at, status_code, error, seconds)"
		       " VALUES (?1, ?2, ?3, 0, ?4, 0)", "indt", c->id, c->attempt, now,
		       "no answer recorded: the sender stopped during the attempt")))
		goto fail;
	if ((rc = store_commit(st, err)))
		goto fail_released;
	*found = true;
	return PARLEY_OK;
fail:
	store_rollback(st);
fail_released:
	claim_release(c);
	return rc;
}

/* Send one claimed attempt; fills rep and *seconds. */
static void send_one(const struct webhook_send_params *p, const struct claim *c,
		     struct webhook_reply *rep, double *seconds)
{
	memset(rep, 0, sizeof(*rep));
	rep->retry_after = -1;
	long long ts = (long long)time_wall();
	size_t len = strlen(c->payload);
	char sig[128];
	struct parley_error e = {0};
	if (webhook_sign(c->wc.secret, c->event_id, ts, c->payload, len, sig, sizeof(sig), &e)) {
		copy(rep->error, sizeof(rep->error), e.msg);
		*seconds = 0;
		return;
	}
	char h_id[WEBHOOK_EVENT_ID_MAX + 16], h_ts[48], h_sig[160];
	snprintf(h_id, sizeof(h_id), "webhook-id: %s", c->event_id);
	snprintf(h_ts, sizeof(h_ts), "webhook-timestamp: %lld", ts);
	snprintf(h_sig, sizeof(h_sig), "webhook-signature: %s", sig);
	const char *headers[] = {"Content-Type: application/json", h_id, h_ts, h_sig, NULL};
	struct webhook_post req = {
		.url = c->wc.url, .headers = headers, .body = c->payload, .len = len,
		.timeout = p->timeout, .connect_timeout = p->connect_timeout,
		.max_response = p->max_response,
	};
	double t0 = time_mono();
	p->post(p->post_ud, &req, rep);
	*seconds = time_mono() - t0;
	if ((rep->status < 200 || rep->status >= 300) && !rep->error[0])
		snprintf(rep->error, sizeof(rep->error), "HTTP %ld", rep->status);
	if (rep->status >= 200 && rep->status < 300)
		rep->error[0] = '\0';
}

/* Record the attempt's outcome and the delivery's next state. */
static enum parley_err record_outcome(struct store *st, const struct webhook_send_params *p,
				      const struct claim *c, const struct webhook_reply *rep,
				      double seconds, struct parley_error *err)
{
	double now = time_wall();
	const char *status = "pending";
	double next_at = now;
	char last_error[300];
	copy(last_error, sizeof(last_error), rep->error);
	bool ok = rep->status >= 200 && rep->status < 300;
	bool gone = rep->status == 410;
	if (ok) {
		status = "delivered";
	} else if (gone) {
		status = "disabled";
		snprintf(last_error, sizeof(last_error), "HTTP 410 Gone: the endpoint is disabled");
	} else {
		struct webhook_schedule sch;
		struct parley_error se = {0};
		if (webhook_schedule_parse(c->wc.schedule, &sch, &se))
			webhook_schedule_parse("", &sch, &se);
		double jitter = p->jitter ? p->jitter(p->jitter_ud) : 0;
		double d = webhook_schedule_next(&sch, c->attempts, rep->retry_after, jitter);
		if (d < 0) {
			status = "failed";
			snprintf(last_error, sizeof(last_error), "gave up after %d attempts: %s",
				 c->attempts, rep->error);
		} else {
			next_at = now + d;
		}
	}
	enum parley_err rc = store_begin(st, err);
	if (rc)
		return rc;
	int64_t changes = 0;
	if ((rc = exec(st, NULL, err,
		       "UPDATE webhook_attempts SET status_code = ?3, error = ?4, seconds = ?5"
		       " WHERE delivery_id = ?1 AND attempt = ?2", "inntd", c->id, c->attempt,
		       (int)rep->status, rep->error, seconds)) ||
	    (rc = exec(st, &changes, err,
		       "UPDATE webhook_deliveries SET status = ?3, next_at = ?4, last_status = ?5,"
		       " last_error = ?6, lease_owner = NULL, lease_expires = NULL, updated_at = ?7"
		       " WHERE id = ?1 AND lease_owner = ?2", "ittdntd",
		       c->id, p->owner, status, next_at, (int)rep->status, last_error, now)))
		goto fail;
	if (changes != 1)
		log_warn("webhook %s: attempt %d answered after its lease ran out; the delivery's "
			 "state is left to the sender that holds it now", c->event_id, c->attempt);
	if (gone && changes == 1 &&
	    ((rc = exec(st, NULL, err, "UPDATE webhooks SET disabled = 1 WHERE batch_id = ?1", "i",
			c->batch_id)) ||
	     (rc = exec(st, NULL, err,
			"UPDATE webhook_deliveries SET status = 'disabled', updated_at = ?2,"
			" last_error = 'the endpoint answered 410 Gone to another event'"
			" WHERE batch_id = ?1 AND status = 'pending' AND lease_owner IS NULL", "id",
			c->batch_id, now))))
		goto fail;
	if ((rc = store_commit(st, err)))
		return rc;
	if (ok)
		log_info("webhook %s delivered (attempt %d, HTTP %ld)", c->event_id, c->attempt,
			 rep->status);
	else if (gone)
		log_warn("webhook %s: HTTP 410 Gone from the endpoint of batch %lld: disabled",
			 c->event_id, (long long)c->batch_id);
	else if (strcmp(status, "failed") == 0)
		log_warn("webhook %s: %s", c->event_id, last_error);
	else
		log_info("webhook %s: attempt %d failed (%s); next in %.1f s", c->event_id, c->attempt,
			 rep->error, next_at - now);
	return PARLEY_OK;
fail:
	store_rollback(st);
	return rc;
}

enum parley_err webhook_deliver_due(struct store *st, const struct webhook_send_params *p,
				    int max, int *attempted, struct parley_error *err)
{
	*attempted = 0;
	enum parley_err rc = reclaim_dead(st, err);
	for (int i = 0; rc == PARLEY_OK && i < max; i++) {
		struct claim c;
		bool found;
		if ((rc = claim_next(st, p, &c, &found, err)) || !found)
			break;
		if (!c.id)
			continue; /* a delivery of a disabled endpoint was set aside */
		struct webhook_reply rep;
		double seconds = 0;
		send_one(p, &c, &rep, &seconds);
		(*attempted)++;
		rc = record_outcome(st, p, &c, &rep, seconds, err);
		claim_release(&c);
	}
	return rc;
}

enum parley_err webhook_next_due(struct store *st, int64_t batch_id, double *next_at,
				 struct parley_error *err)
{
	*next_at = 0;
	struct db_stmt *s;
	enum parley_err rc = prep(st, &s, err,
				  "SELECT min(next_at) FROM webhook_deliveries WHERE status = 'pending'"
				  " AND (CAST(?1 AS BIGINT) = 0 OR batch_id = ?1)", "i", batch_id);
	if (rc)
		return rc;
	bool row;
	if ((rc = db_step(s, &row, err)) == PARLEY_OK && row && !db_column_null(s, 0))
		*next_at = db_column_double(s, 0);
	db_finalize(s);
	return rc;
}

/* ------------------------------------------------------------ listing */

enum parley_err webhook_each(struct store *st, int64_t batch_id,
			     int (*fn)(const struct webhook_delivery *, void *), void *ud,
			     struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = prep(st, &s, err,
		"SELECT d.id, d.batch_id, coalesce(b.name, ''), d.event_id, d.type, d.status,"
		" (SELECT count(*) FROM webhook_attempts a WHERE a.delivery_id = d.id),"
		" d.last_status, d.last_error, d.next_at, d.created_at, d.updated_at"
		" FROM webhook_deliveries d LEFT JOIN batches b ON b.id = d.batch_id"
		" WHERE CAST(?1 AS BIGINT) = 0 OR d.batch_id = ?1 ORDER BY d.id DESC", "i", batch_id);
	if (rc)
		return rc;
	bool row;
	struct webhook_delivery d;
	while ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
		memset(&d, 0, sizeof(d));
		d.id = db_column_int(s, 0);
		d.batch_id = db_column_int(s, 1);
		copy(d.batch, sizeof(d.batch), db_column_text(s, 2));
		copy(d.event_id, sizeof(d.event_id), db_column_text(s, 3));
		copy(d.type, sizeof(d.type), db_column_text(s, 4));
		copy(d.status, sizeof(d.status), db_column_text(s, 5));
		d.attempts = (int)db_column_int(s, 6);
		d.last_status = (int)db_column_int(s, 7);
		copy(d.last_error, sizeof(d.last_error), db_column_text(s, 8));
		d.next_at = db_column_double(s, 9);
		d.created_at = db_column_double(s, 10);
		d.updated_at = db_column_double(s, 11);
		if (fn(&d, ud))
			break;
	}
	db_finalize(s);
	return rc;
}

enum parley_err webhook_attempt_each(struct store *st, int64_t delivery_id,
				     int (*fn)(const struct webhook_attempt *, void *), void *ud,
				     struct parley_error *err)
{
	struct db_stmt *s;
	enum parley_err rc = prep(st, &s, err,
				  "SELECT attempt, at, status_code, error, seconds FROM webhook_attempts"
				  " WHERE delivery_id = ?1 ORDER BY attempt", "i", delivery_id);
	if (rc)
		return rc;
	bool row;
	struct webhook_attempt a;
	while ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
		memset(&a, 0, sizeof(a));
		a.attempt = (int)db_column_int(s, 0);
		a.at = db_column_double(s, 1);
		a.status_code = (int)db_column_int(s, 2);
		copy(a.error, sizeof(a.error), db_column_text(s, 3));
		a.seconds = db_column_double(s, 4);
		if (fn(&a, ud))
			break;
	}
	db_finalize(s);
	return rc;
}

enum parley_err webhook_redeliver(struct store *st, const char *id_text, int64_t *delivery_id,
				  bool *reenabled, struct parley_error *err)
{
	*delivery_id = 0;
	*reenabled = false;
	char *end;
	errno = 0;
	long long n = strtoll(id_text, &end, 10);
	bool numeric = *id_text && !*end && !errno && n > 0;
	struct db_stmt *s;
	enum parley_err rc = store_begin(st, err);
	if (rc)
		return rc;
	rc = numeric ? prep(st, &s, err, "SELECT id, batch_id, status FROM webhook_deliveries"
			    " WHERE id = ?1", "i", (int64_t)n)
		     : prep(st, &s, err, "SELECT id, batch_id, status FROM webhook_deliveries"
			    " WHERE event_id = ?1", "t", id_text);
	if (rc)
		goto fail;
	bool row;
	int64_t batch = 0;
	if ((rc = db_step(s, &row, err)) == PARLEY_OK && row) {
		*delivery_id = db_column_int(s, 0);
		batch = db_column_int(s, 1);
	}
	db_finalize(s);
	if (rc)
		goto fail;
	if (!*delivery_id) {
		rc = parley_error_set(err, PARLEY_ERR_NOT_FOUND, "no webhook delivery %s", id_text);
		goto fail;
	}
	int64_t changes = 0;
	if ((rc = exec(st, &changes, err, "UPDATE webhooks SET disabled = 0 WHERE batch_id = ?1"
		       " AND disabled <> 0", "i", batch)))
		goto fail;
	*reenabled = changes > 0;
	double now = time_wall();
	if ((rc = exec(st, NULL, err,
		       "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_at = ?2,"
		       " lease_owner = NULL, lease_expires = NULL, updated_at = ?2 WHERE id = ?1",
		       "id", *delivery_id, now)))
		goto fail;
	return store_commit(st, err);
fail:
	store_rollback(st);
	return rc;
}
