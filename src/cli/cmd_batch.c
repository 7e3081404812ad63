/*
 * cmd_batch.c — `parley batch create|add|start|status|events|results|retry|
 * reaudit`: audit batches (core/batches.h, core/reaudit.h) against a store
 * (--store …, as the other commands) or a server (`--server URL
 * --token-env VAR`, the HTTP API of docs/api.md "Batches", with libcurl).
 * Both ways build the same JSON views, printed by the same code here.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/batches.h"
#include "core/call_metadata.h"
#include "core/config.h"
#include "core/reaudit.h"
#include "store/store.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#define WHO "parley batch"
#define RESPONSE_MAX ((size_t)256 << 20)
#define FILE_MAX ((size_t)256 << 20)

static const char batch_usage[] =
	"usage: parley batch create NAME [--stages LIST] [--preset P] [--pipeline-config FILE]\n"
	"                        [--questionnaire FILE] [--rules FILE] [--set KEY=VALUE]…\n"
	"                        [--priority N]\n"
	"                        [--webhook URL --webhook-secret-env VAR [--webhook-events L]]\n"
	"       parley batch add BATCH FILES… [--server-paths] | --metadata FILE.csv\n"
	"       parley batch start BATCH\n"
	"       parley batch status BATCH\n"
	"       parley batch events BATCH [--after ID] [--follow]\n"
	"       parley batch results BATCH [--csv] [--trades] [--version N]\n"
	"       parley batch results BATCH --changes [--from N] [--to N]\n"
	"       parley batch retry BATCH [--recording ID]\n"
	"       parley batch reaudit BATCH [--questionnaire FILE] [--rules FILE] [--from-stage S]\n"
	"each against a store (--store TARGET …) or a server (--server URL --token-env VAR)\n"
	"\n"
	"Audit batches: create one (its pipeline, questionnaire and rules are checked\n"
	"now), add files (uploaded to a server, or server-side paths under its\n"
	"--files-root with --server-paths; local paths with a store) and the metadata\n"
	"CSV (unknown files and duplicate rows are reported with their line), start it\n"
	"(its recordings are held until then), follow its per-stage status and\n"
	"execution log, retry failed files, read the results per recording or per\n"
	"trade (JSON, or CSV with --csv; every page), and audit it again with a new\n"
	"questionnaire or rules, or from a stage (--changes shows what changed).\n"
	"BATCH is the batch's id or name.\n"
	"\n"
	"options:\n"
	CLI_ENGINE_HELP
	"      --server URL       a `parley serve` (http://HOST:PORT) instead of a store\n"
	"      --token-env VAR    the environment variable holding the bearer token\n"
	"                         (an operator's or admin's: `parley user add --operator`)\n"
	"      --stages LIST      (create) the stages: a comma list, a preset, or noop\n"
	"      --preset P         (create) a named pipeline (call)\n"
	"      --pipeline-config FILE  (create) the pipeline configuration (JSON)\n"
	"      --set KEY=VALUE    (create) a configuration key\n"
	"      --priority N       (create) -100..100, higher is served first (default 0;\n"
	"                         sessions are 50); batches of one priority share the\n"
	"                         workers in turn\n"
	"      --questionnaire FILE  (create, reaudit) the questionnaire (JSON)\n"
	"      --rules FILE       (create, reaudit) the rules\n"
	"      --webhook URL      (create) call URL when the batch completes (signed,\n"
	"                         Standard Webhooks; `parley webhooks list`)\n"
	"      --webhook-secret-env VAR  (create) the signing secret is in variable VAR\n"
	"      --webhook-events L (create) batch (default), file, stage: comma list\n"
	"      --from-stage S     (reaudit) rerun from this stage\n"
	"      --metadata FILE    (add) the metadata CSV\n"
	"      --server-paths     (add) FILES are paths on the server, not uploaded\n"
	"      --after ID         (events) only events after this id\n"
	"      --follow           (events, store) wait for new events until the batch ends\n"
	"      --csv              (results) CSV instead of JSON\n"
	"      --trades           (results) per trade (metadata trade_id)\n"
	"      --version N        (results) an older audit version\n"
	"      --changes          (results) old → new verdict per call between two versions\n"
	"      --from N, --to N   (results --changes) the versions (default: the last two)\n"
	"      --recording ID     (retry) only this recording\n"
	"  -h, --help             show this help\n"
	"\n"
	"exit status: 0 done, 1 refused or failed (the message says why), 2 usage error.\n";

struct opts {
	const char *server, *token_env, *stages, *preset, *pcfg, *questionnaire, *rules, *from_stage,
		*metadata, *webhook, *webhook_secret_env, *webhook_events;
	const char *sets[CLI_PIPELINE_SETS_MAX];
	int nsets;
	bool server_paths, follow, csv, trades, changes, with_priority;
	long long after, version, from, to, recording, priority;
};

/* One connection: a store (ctx) or a server (curl). */
struct conn {
	bool remote;
	CURL *curl;
	char base[1024];
	char auth[300];
	struct store *st;
	struct parley_config cfg;
	char data[PARLEY_PATH_MAX];
	struct batches_ctx ctx;
};

/* ------------------------------------------------------------------ HTTP */

struct sink {
	struct strbuf sb;
	void (*line)(const char *line, void *ud); /* streamed: called per line */
	void *ud;
	bool too_large;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	struct sink *s = ud;
	size_t len = size * n;
	if (strbuf_add(&s->sb, p, len)) {
		s->too_large = true;
		return 0;
	}
	if (s->line) {
		char *nl;
		while ((nl = memchr(s->sb.buf, '\n', s->sb.len))) {
			*nl = '\0';
			s->line(s->sb.buf, s->ud);
			size_t rest = s->sb.len - (size_t)(nl + 1 - s->sb.buf);
			memmove(s->sb.buf, nl + 1, rest);
			s->sb.len = rest;
			s->sb.buf[rest] = '\0';
		}
	}
	return len;
}

/* method path [body len type] → *status, body in s (json parsed into *out
 * when out is not NULL and the answer is JSON). Prints the error and returns
 * 1 on a transport failure or a status >= 400. */
static int http(struct conn *c, const char *method, const char *path, const void *body,
		size_t len, const char *type, struct sink *s, json_t **out)
{
	char url[2048];
	snprintf(url, sizeof(url), "%s%s", c->base, path);
	CURL *e = c->curl;
	curl_easy_reset(e);
	struct curl_slist *h = curl_slist_append(NULL, c->auth);
	char ct[128];
	if (type) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", type);
		h = curl_slist_append(h, ct);
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
	if (body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	CURLcode rc = curl_easy_perform(e);
	long status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		fprintf(stderr, "%s: %s %s: %s\n", WHO, method, url,
			s->too_large ? "the answer is too large" : curl_easy_strerror(rc));
		return 1;
	}
	json_t *v = s->sb.len && !s->line ? json_loadb(s->sb.buf, s->sb.len, 0, NULL) : NULL;
	if (status >= 400) {
		json_t *m = json_object_get(json_object_get(v, "error"), "message");
		fprintf(stderr, "%s: %s %s: %ld %s\n", WHO, method, path, status,
			json_is_string(m) ? json_string_value(m) : "(no message)");
		json_decref(v);
		return 1;
	}
	if (out)
		*out = v;
	else
		json_decref(v);
	return 0;
}

static int http_json(struct conn *c, const char *method, const char *path, json_t *body,
		     json_t **out)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct sink s = {0};
	strbuf_init(&s.sb, RESPONSE_MAX);
	*out = NULL;
	int rc = http(c, method, path, text, text ? strlen(text) : 0,
		      text ? "application/json" : NULL, &s, out);
	if (!rc && !*out) {
		fprintf(stderr, "%s: %s %s: the answer is not JSON\n", WHO, method, path);
		rc = 1;
	}
	free(text);
	strbuf_release(&s.sb);
	return rc;
}

/* ------------------------------------------------------------- the views */

static int print_json(json_t *v)
{
	char *text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text)
		printf("%s\n", text);
	free(text);
	return text ? 0 : 1;
}

static void print_status(json_t *v)
{
	json_t *rec = json_object_get(v, "recordings");
	printf("batch %lld %s: %s%s\n", (long long)json_integer_value(json_object_get(v, "id")),
	       json_string_value(json_object_get(v, "name")),
	       json_string_value(json_object_get(v, "status")),
	       json_is_true(json_object_get(v, "started")) ? "" : " (not started)");
	printf("  recordings: %lld pending, %lld running, %lld done, %lld failed (%lld in all)\n",
	       (long long)json_integer_value(json_object_get(rec, "pending")),
	       (long long)json_integer_value(json_object_get(rec, "running")),
	       (long long)json_integer_value(json_object_get(rec, "done")),
	       (long long)json_integer_value(json_object_get(rec, "failed")),
	       (long long)json_integer_value(json_object_get(rec, "total")));
	printf("  audit version: %lld\n", (long long)json_integer_value(json_object_get(v, "audit_version")));
	printf("  %-10s %7s %7s %7s %7s  %s\n", "stage", "done", "failed", "running", "pending",
	       "status");
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(v, "stages"), i, s)
		printf("  %-10s %7lld %7lld %7lld %7lld  %s\n",
		       json_string_value(json_object_get(s, "stage")),
		       (long long)json_integer_value(json_object_get(s, "done")),
		       (long long)json_integer_value(json_object_get(s, "failed")),
		       (long long)json_integer_value(json_object_get(s, "running")),
		       (long long)json_integer_value(json_object_get(s, "pending")),
		       json_string_value(json_object_get(s, "status")));
}

static void print_event(json_t *e)
{
	json_t *stage = json_object_get(e, "stage"), *rec = json_object_get(e, "recording");
	char who[48] = "";
	if (json_is_integer(rec))
		snprintf(who, sizeof(who), "recording %lld", (long long)json_integer_value(rec));
	printf("%lld\t%.3f\t%s\t%s\t%s\t%s\n", (long long)json_integer_value(json_object_get(e, "id")),
	       json_number_value(json_object_get(e, "time")), json_string_value(json_object_get(e, "type")),
	       json_is_string(stage) ? json_string_value(stage) : "", who,
	       json_string_value(json_object_get(e, "message")));
}

static void print_change(json_t *c)
{
	json_t *side[2] = {json_object_get(c, "old"), json_object_get(c, "new")};
	printf("%s:", json_string_value(json_object_get(c, "name")));
	for (size_t k = 0; k < 2; k++) {
		if (json_is_object(side[k]))
			printf("%s %s %g/%g", k ? " →" : "",
			       json_string_value(json_object_get(side[k], "verdict")),
			       json_number_value(json_object_get(side[k], "score")),
			       json_number_value(json_object_get(side[k], "max_score")));
		else
			printf("%s none", k ? " →" : "");
	}
	static const char *const lists[] = {"rules_fired", "rules_cleared"};
	for (size_t k = 0; k < 2; k++) {
		size_t i;
		json_t *r;
		json_array_foreach(json_object_get(c, lists[k]), i, r)
			printf("%s%s", i ? "," : k ? "; cleared: " : "; fired: ", json_string_value(r));
	}
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(c, "answers"), i, a) {
		char *ov = json_dumps(json_object_get(a, "old"), JSON_ENCODE_ANY);
		char *nv = json_dumps(json_object_get(a, "new"), JSON_ENCODE_ANY);
		printf("%s%s %s→%s", i ? ", " : "; answers: ",
		       json_string_value(json_object_get(a, "question")), ov ? ov : "?", nv ? nv : "?");
		free(ov);
		free(nv);
	}
	printf("\n");
}

/* ------------------------------------------------------------- helpers */

static int read_text(const char *flag, const char *path, char **out)
{
	size_t len;
	struct parley_error err = {0};
	if (fs_read_file(path, FILE_MAX, out, &len, &err)) {
		fprintf(stderr, "%s: %s: %s\n", WHO, flag, err.msg);
		return 2;
	}
	return 0;
}

static int store_fail(const struct parley_error *err)
{
	fprintf(stderr, "%s: %s\n", WHO, err->msg);
	return err->code == PARLEY_ERR_INVALID ? 2 : 1;
}

/* BATCH → id: a number, or a name looked up. */
static int resolve(struct conn *c, const char *arg, int64_t *id)
{
	char *end;
	errno = 0;
	long long v = strtoll(arg, &end, 10);
	if (!errno && end != arg && !*end && v > 0) {
		*id = v;
		return 0;
	}
	if (!c->remote) {
		struct parley_error err = {0};
		return batches_find(&c->ctx, arg, id, &err) ? store_fail(&err) : 0;
	}
	long long after = 0;
	for (;;) {
		char path[128];
		snprintf(path, sizeof(path), "/v1/batches?limit=%d&after=%lld", BATCHES_PAGE_MAX, after);
		json_t *page = NULL;
		if (http_json(c, "GET", path, NULL, &page))
			return 1;
		size_t i;
		json_t *b;
		json_array_foreach(json_object_get(page, "batches"), i, b) {
			if (strcmp(json_string_value(json_object_get(b, "name")), arg) == 0) {
				*id = json_integer_value(json_object_get(b, "id"));
				json_decref(page);
				return 0;
			}
		}
		json_t *next = json_object_get(page, "next");
		after = json_is_integer(next) ? json_integer_value(next) : 0;
		json_decref(page);
		if (!after)
			break;
	}
	fprintf(stderr, "%s: %s: no batch named '%s'\n", WHO, c->base, arg);
	return 1;
}

/* ------------------------------------------------------------ commands */

static int do_create(struct conn *c, const struct opts *o, const char *name)
{
	json_t *req = json_pack("{s:s}", "name", name);
	char *text = NULL;
	int rc = 0;
	if (o->stages)
		json_object_set_new(req, "stages", json_string(o->stages));
	if (o->with_priority)
		json_object_set_new(req, "priority", json_integer(o->priority));
	if (o->preset)
		json_object_set_new(req, "preset", json_string(o->preset));
	static const struct {
		const char *flag, *key;
		size_t off;
	} files[] = {
		{"--pipeline-config", "config", offsetof(struct opts, pcfg)},
		{"--questionnaire", "questionnaire", offsetof(struct opts, questionnaire)},
		{"--rules", "rules", offsetof(struct opts, rules)},
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]) && !rc; i++) {
		const char *path = *(const char *const *)((const char *)o + files[i].off);
		if (!path)
			continue;
		if (!(rc = read_text(files[i].flag, path, &text)))
			json_object_set_new(req, files[i].key, json_string(text));
		free(text);
		text = NULL;
	}
	if (o->nsets) {
		json_t *opts = json_object();
		for (int i = 0; i < o->nsets; i++) {
			const char *eq = strchr(o->sets[i], '=');
			if (!eq) {
				fprintf(stderr, "%s: --set %s: want KEY=VALUE\n", WHO, o->sets[i]);
				rc = 2;
				break;
			}
			char key[128];
			snprintf(key, sizeof(key), "%.*s", (int)(eq - o->sets[i]), o->sets[i]);
			json_object_set_new(opts, key, json_string(eq + 1));
		}
		json_object_set_new(req, "options", opts);
	}
	if (!rc && (o->webhook || o->webhook_secret_env)) {
		const char *secret = o->webhook_secret_env ? getenv(o->webhook_secret_env) : NULL;
		if (!o->webhook || !secret || !*secret) {
			fprintf(stderr, "%s: --webhook URL needs --webhook-secret-env VAR naming a variable "
				"that holds the secret\n", WHO);
			rc = 2;
		} else {
			json_t *w = json_pack("{s:s,s:s}", "url", o->webhook, "secret", secret);
			if (o->webhook_events)
				json_object_set_new(w, "events", json_string(o->webhook_events));
			json_object_set_new(req, "webhook", w);
		}
	}
	json_t *view = NULL;
	if (!rc) {
		if (c->remote) {
			rc = http_json(c, "POST", "/v1/batches", req, &view);
		} else {
			struct parley_error err = {0};
			if (batches_create(&c->ctx, req, &view, &err))
				rc = store_fail(&err);
		}
	}
	if (!rc)
		printf("batch %lld %s: created (audit version %lld)\n",
		       (long long)json_integer_value(json_object_get(view, "id")), name,
		       (long long)json_integer_value(json_object_get(view, "audit_version")));
	json_decref(view);
	json_decref(req);
	return rc;
}

static void print_unknown(const char *csv, json_t *report)
{
	size_t i;
	json_t *u;
	json_array_foreach(json_object_get(report, "unknown"), i, u)
		fprintf(stderr, "%s: warning: %s:%lld: file \"%s\" matches no file of the batch\n", WHO,
			csv, (long long)json_integer_value(json_object_get(u, "line")),
			json_string_value(json_object_get(u, "file")));
	json_array_foreach(json_object_get(report, "without_metadata"), i, u)
		fprintf(stderr, "%s: warning: %s has no row in %s\n", WHO, json_string_value(u), csv);
	printf("metadata: %lld rows, %lld files matched\n",
	       (long long)json_integer_value(json_object_get(report, "rows")),
	       (long long)json_integer_value(json_object_get(report, "matched")));
}

static int do_metadata(struct conn *c, int64_t id, const char *path)
{
	char *text = NULL;
	size_t len = 0;
	struct parley_error err = {0};
	if (fs_read_file(path, CALL_METADATA_FILE_MAX, &text, &len, &err)) {
		fprintf(stderr, "%s: --metadata: %s\n", WHO, err.msg);
		return 2;
	}
	json_t *report = NULL;
	int rc = 0;
	if (c->remote) {
		char p[128];
		snprintf(p, sizeof(p), "/v1/batches/%lld/metadata", (long long)id);
		struct sink s = {0};
		strbuf_init(&s.sb, RESPONSE_MAX);
		rc = http(c, "PUT", p, text, len, "text/csv", &s, &report);
		strbuf_release(&s.sb);
	} else if (batches_metadata(&c->ctx, id, text, len, &report, &err)) {
		rc = store_fail(&err);
	}
	if (!rc && report)
		print_unknown(path, report);
	json_decref(report);
	free(text);
	return rc;
}

static int do_add(struct conn *c, const struct opts *o, int64_t id, char **files, int n)
{
	if (o->metadata)
		return do_metadata(c, id, o->metadata);
	if (n == 0) {
		fprintf(stderr, "%s add: give FILES or --metadata FILE.csv\n", WHO);
		return 2;
	}
	int rc = 0;
	if (!c->remote || o->server_paths) {
		json_t *view = NULL;
		if (c->remote) {
			json_t *req = json_pack("{s:[]}", "paths");
			for (int i = 0; i < n; i++)
				json_array_append_new(json_object_get(req, "paths"), json_string(files[i]));
			char p[128];
			snprintf(p, sizeof(p), "/v1/batches/%lld/paths", (long long)id);
			rc = http_json(c, "POST", p, req, &view);
			json_decref(req);
		} else {
			/* local paths: made absolute here (the domain takes absolute ones) */
			char **abs = calloc((size_t)n, sizeof(char *));
			for (int i = 0; abs && i < n && !rc; i++)
				if (!(abs[i] = realpath(files[i], NULL))) {
					fprintf(stderr, "%s: %s: %s\n", WHO, files[i], strerror(errno));
					rc = 1;
				}
			struct parley_error err = {0};
			if (!abs)
				rc = 1;
			else if (!rc && batches_add_paths(&c->ctx, id, (const char *const *)abs, (size_t)n,
							  &view, &err))
				rc = store_fail(&err);
			for (int i = 0; abs && i < n; i++)
				free(abs[i]);
			free(abs);
		}
		size_t i;
		json_t *f;
		if (!rc)
			json_array_foreach(json_object_get(view, "files"), i, f)
				printf("added %s (recording %lld)\n", json_string_value(json_object_get(f, "file")),
				       (long long)json_integer_value(json_object_get(f, "recording")));
		json_decref(view);
		return rc;
	}
	for (int i = 0; i < n; i++) {
		char *data = NULL;
		size_t len = 0;
		struct parley_error err = {0};
		if (fs_read_file(files[i], FILE_MAX, &data, &len, &err)) {
			fprintf(stderr, "%s: %s\n", WHO, err.msg);
			rc = 1;
			continue;
		}
		const char *base = strrchr(files[i], '/');
		base = base ? base + 1 : files[i];
		char p[512];
		snprintf(p, sizeof(p), "/v1/batches/%lld/files/%s", (long long)id, base);
		struct sink s = {0};
		strbuf_init(&s.sb, RESPONSE_MAX);
		json_t *v = NULL;
		if (http(c, "PUT", p, data, len, "application/octet-stream", &s, &v)) {
			rc = 1;
		} else {
			printf("added %s (recording %lld, %.1f s)\n", base,
			       (long long)json_integer_value(json_object_get(v, "recording")),
			       json_number_value(json_object_get(v, "duration")));
		}
		json_decref(v);
		strbuf_release(&s.sb);
		free(data);
	}
	return rc;
}

/* A view from GET/POST path, or from the store function. */
typedef enum parley_err (*store_view_fn)(const struct batches_ctx *, int64_t, json_t **,
					  struct parley_error *);

static int view_of(struct conn *c, const char *method, const char *path, int64_t id,
		   store_view_fn fn, json_t **view)
{
	if (c->remote)
		return http_json(c, method, path, NULL, view);
	struct parley_error err = {0};
	return fn(&c->ctx, id, view, &err) ? store_fail(&err) : 0;
}

struct sse_print {
	bool any;
	long long last; /* the last event id printed */
};

static void sse_line(const char *line, void *ud)
{
	struct sse_print *p = ud;
	if (strncmp(line, "data: ", 6) != 0)
		return;
	json_t *e = json_loads(line + 6, 0, NULL);
	if (e && json_is_integer(json_object_get(e, "id"))) {
		print_event(e);
		p->any = true;
		p->last = json_integer_value(json_object_get(e, "id"));
		fflush(stdout);
	}
	json_decref(e);
}

static int do_events(struct conn *c, const struct opts *o, int64_t id)
{
	if (c->remote) {
		/* a stream ends when the batch is finished, or at the server's
		 * stream timeout: then again from the last event, until finished */
		struct sse_print sp = {.last = o->after};
		for (;;) {
			char p[128];
			snprintf(p, sizeof(p), "/v1/batches/%lld/events?after=%lld", (long long)id, sp.last);
			struct sink s = {.line = sse_line, .ud = &sp};
			strbuf_init(&s.sb, 1 << 20);
			int rc = http(c, "GET", p, NULL, 0, NULL, &s, NULL);
			strbuf_release(&s.sb);
			json_t *v = NULL;
			snprintf(p, sizeof(p), "/v1/batches/%lld", (long long)id);
			if (rc || (rc = http_json(c, "GET", p, NULL, &v)))
				return rc;
			json_t *rec = json_object_get(v, "recordings");
			bool done = json_is_true(json_object_get(v, "started")) &&
				    json_integer_value(json_object_get(rec, "pending")) == 0 &&
				    json_integer_value(json_object_get(rec, "running")) == 0;
			json_decref(v);
			if (done)
				return 0;
		}
	}
	long long after = o->after;
	for (;;) {
		json_t *page = NULL;
		struct parley_error err = {0};
		bool finished = false;
		if (batches_finished(&c->ctx, id, &finished, &err) ||
		    batches_events(&c->ctx, id, after, BATCHES_PAGE_MAX, &page, &err))
			return store_fail(&err);
		size_t i, n = json_array_size(json_object_get(page, "events"));
		json_t *e;
		json_array_foreach(json_object_get(page, "events"), i, e)
			print_event(e);
		after = json_integer_value(json_object_get(page, "last_id"));
		json_decref(page);
		fflush(stdout);
		if (n == 0 && (!o->follow || finished))
			return 0;
		if (n == 0)
			time_sleep(0.5);
	}
}

static int do_results(struct conn *c, const struct opts *o, int64_t id)
{
	const char *kind = o->changes ? "changes" : o->trades ? "trades" : "results";
	const char *arr_key = o->changes ? "changes" : o->trades ? "trades" : "recordings";
	json_t *all = json_array();
	long long cursor = 0;
	bool first = true;
	int version = 0, from = 0, to = 0;
	for (;;) {
		char p[256];
		snprintf(p, sizeof(p), "/v1/batches/%lld/%s?limit=%d&%s=%lld%s", (long long)id, kind,
			 BATCHES_PAGE_MAX, o->trades && !o->changes ? "offset" : "after", cursor,
			 o->csv && !o->changes ? "&format=csv" : "");
		size_t used = strlen(p);
		if (o->version)
			snprintf(p + used, sizeof(p) - used, "&version=%lld", o->version);
		used = strlen(p);
		if (o->changes)
			snprintf(p + used, sizeof(p) - used, "&from=%lld&to=%lld", o->from, o->to);
		struct parley_error err = {0};
		if (o->csv && !o->changes) {
			char *text = NULL;
			int rc = 0;
			if (c->remote) {
				struct sink s = {0};
				strbuf_init(&s.sb, RESPONSE_MAX);
				rc = http(c, "GET", p, NULL, 0, NULL, &s, NULL);
				text = strbuf_detach(&s.sb, NULL);
			} else if (o->trades ? batches_trades_csv(&c->ctx, id, (int)o->version, (int)cursor,
								  BATCHES_PAGE_MAX, &text, &err)
					     : batches_results_csv(&c->ctx, id, (int)o->version, cursor,
								   BATCHES_PAGE_MAX, &text, &err)) {
				rc = store_fail(&err);
			}
			if (rc) {
				free(text);
				json_decref(all);
				return rc;
			}
			const char *body = first ? text : strchr(text, '\n');
			size_t rows = 0;
			for (const char *q = text; (q = strchr(q, '\n')); q++)
				rows++;
			fputs(body ? (first ? body : body + 1) : "", stdout);
			free(text);
			first = false;
			/* a full page (header + BATCHES_PAGE_MAX rows) may have more */
			if (rows < BATCHES_PAGE_MAX + 1)
				break;
			if (o->trades) {
				cursor += BATCHES_PAGE_MAX;
			} else {
				/* the next page starts after the last recording id printed */
				json_t *page = NULL;
				if (c->remote) {
					char jp[256];
					snprintf(jp, sizeof(jp), "/v1/batches/%lld/results?limit=%d&after=%lld",
						 (long long)id, BATCHES_PAGE_MAX, cursor);
					if (http_json(c, "GET", jp, NULL, &page)) {
						json_decref(all);
						return 1;
					}
				} else if (batches_results(&c->ctx, id, (int)o->version, cursor,
							   BATCHES_PAGE_MAX, &page, &err)) {
					json_decref(all);
					return store_fail(&err);
				}
				json_t *next = json_object_get(page, "next");
				cursor = json_is_integer(next) ? json_integer_value(next) : 0;
				json_decref(page);
				if (!cursor)
					break;
			}
			continue;
		}
		json_t *page = NULL;
		int rc = 0;
		if (c->remote)
			rc = http_json(c, "GET", p, NULL, &page);
		else if (o->changes ? reaudit_changes(&c->ctx, id, (int)o->from, (int)o->to, cursor,
						      BATCHES_PAGE_MAX, &page, &err)
				    : o->trades ? batches_trades(&c->ctx, id, (int)o->version, (int)cursor,
								 BATCHES_PAGE_MAX, &page, &err)
						: batches_results(&c->ctx, id, (int)o->version, cursor,
								  BATCHES_PAGE_MAX, &page, &err))
			rc = store_fail(&err);
		if (rc) {
			json_decref(all);
			return rc;
		}
		version = (int)json_integer_value(json_object_get(page, "version"));
		from = (int)json_integer_value(json_object_get(page, "from"));
		to = (int)json_integer_value(json_object_get(page, "to"));
		json_array_extend(all, json_object_get(page, arr_key));
		json_t *next = json_object_get(page, "next");
		cursor = json_is_integer(next) ? json_integer_value(next) : 0;
		json_decref(page);
		if (!cursor)
			break;
	}
	if (o->csv && !o->changes) {
		json_decref(all);
		return 0;
	}
	int rc = 0;
	if (o->changes) {
		printf("audit version %d → %d: %zu calls changed\n", from, to, json_array_size(all));
		size_t i;
		json_t *ch;
		json_array_foreach(all, i, ch)
			print_change(ch);
	} else {
		json_t *out = json_pack("{s:i,s:O}", "version", version, arr_key, all);
		rc = print_json(out);
		json_decref(out);
	}
	json_decref(all);
	return rc;
}

static int do_retry(struct conn *c, const struct opts *o, int64_t id)
{
	json_t *view = NULL;
	int rc = 0;
	if (c->remote) {
		char p[128];
		snprintf(p, sizeof(p), "/v1/batches/%lld/retry", (long long)id);
		json_t *req = o->recording ? json_pack("{s:I}", "recording", (json_int_t)o->recording)
					   : json_object();
		rc = http_json(c, "POST", p, req, &view);
		json_decref(req);
	} else {
		struct parley_error err = {0};
		if (batches_retry(&c->ctx, id, o->recording, &view, &err))
			rc = store_fail(&err);
	}
	if (!rc)
		printf("%lld recordings queued again\n",
		       (long long)json_integer_value(json_object_get(view, "requeued")));
	json_decref(view);
	return rc;
}

static int do_reaudit(struct conn *c, const struct opts *o, int64_t id)
{
	json_t *req = json_object();
	char *text = NULL;
	int rc = 0;
	if (o->questionnaire && !(rc = read_text("--questionnaire", o->questionnaire, &text)))
		json_object_set_new(req, "questionnaire", json_string(text));
	free(text);
	text = NULL;
	if (!rc && o->rules && !(rc = read_text("--rules", o->rules, &text)))
		json_object_set_new(req, "rules", json_string(text));
	free(text);
	if (o->from_stage)
		json_object_set_new(req, "from_stage", json_string(o->from_stage));
	json_t *view = NULL;
	if (!rc) {
		if (c->remote) {
			char p[128];
			snprintf(p, sizeof(p), "/v1/batches/%lld/reaudit", (long long)id);
			rc = http_json(c, "POST", p, req, &view);
		} else {
			struct parley_error err = {0};
			if (reaudit_request(&c->ctx, id, req, &view, &err))
				rc = store_fail(&err);
		}
	}
	if (!rc)
		printf("batch %lld: audit version %lld from stage %s, %lld recordings queued again\n",
		       (long long)id, (long long)json_integer_value(json_object_get(view, "version")),
		       json_string_value(json_object_get(view, "from_stage")),
		       (long long)json_integer_value(json_object_get(view, "requeued")));
	json_decref(view);
	json_decref(req);
	return rc;
}

/* ------------------------------------------------------------- main */

static enum parley_err push_redis(void *ud, struct parley_error *err)
{
	struct conn *c = ud;
	if (cli_queue_push_leasable(WHO, &c->cfg, c->st))
		return parley_error_set(err, PARLEY_ERR_UNAVAILABLE, "the queue could not be told");
	return PARLEY_OK;
}

static int parse_ll(const char *flag, const char *v, long long min, long long *out)
{
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (errno || end == v || *end || x < min) {
		fprintf(stderr, "%s: %s %s: want an integer of at least %lld\n", WHO, flag, v, min);
		return 2;
	}
	*out = x;
	return 0;
}

int cmd_batch(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_ENGINE_LONGOPTS,
		{"server", required_argument, NULL, 1000},
		{"token-env", required_argument, NULL, 1001},
		{"stages", required_argument, NULL, 1002},
		{"preset", required_argument, NULL, 1003},
		{"pipeline-config", required_argument, NULL, 1004},
		{"set", required_argument, NULL, 1005},
		{"questionnaire", required_argument, NULL, 1006},
		{"rules", required_argument, NULL, 1007},
		{"from-stage", required_argument, NULL, 1008},
		{"metadata", required_argument, NULL, 1009},
		{"server-paths", no_argument, NULL, 1010},
		{"after", required_argument, NULL, 1011},
		{"follow", no_argument, NULL, 1012},
		{"csv", no_argument, NULL, 1013},
		{"trades", no_argument, NULL, 1014},
		{"version", required_argument, NULL, 1015},
		{"changes", no_argument, NULL, 1016},
		{"from", required_argument, NULL, 1017},
		{"to", required_argument, NULL, 1018},
		{"recording", required_argument, NULL, 1019},
		{"webhook", required_argument, NULL, 1020},
		{"webhook-secret-env", required_argument, NULL, 1021},
		{"webhook-events", required_argument, NULL, 1022},
		{"priority", required_argument, NULL, 1023},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct opts o = {0};
	struct cli_engine_opts eo = {0};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		CLI_ENGINE_CASES:
			if (cli_engine_opt(&eo, c, NULL, optarg))
				return 2;
			break;
		case 1000: o.server = optarg; break;
		case 1001: o.token_env = optarg; break;
		case 1002: o.stages = optarg; break;
		case 1003: o.preset = optarg; break;
		case 1004: o.pcfg = optarg; break;
		case 1005:
			if (o.nsets >= CLI_PIPELINE_SETS_MAX) {
				fprintf(stderr, "%s: too many --set\n", WHO);
				return 2;
			}
			o.sets[o.nsets++] = optarg;
			break;
		case 1006: o.questionnaire = optarg; break;
		case 1007: o.rules = optarg; break;
		case 1008: o.from_stage = optarg; break;
		case 1009: o.metadata = optarg; break;
		case 1010: o.server_paths = true; break;
		case 1011: if (parse_ll("--after", optarg, 0, &o.after)) return 2; break;
		case 1012: o.follow = true; break;
		case 1013: o.csv = true; break;
		case 1014: o.trades = true; break;
		case 1015: if (parse_ll("--version", optarg, 1, &o.version)) return 2; break;
		case 1016: o.changes = true; break;
		case 1017: if (parse_ll("--from", optarg, 1, &o.from)) return 2; break;
		case 1018: if (parse_ll("--to", optarg, 1, &o.to)) return 2; break;
		case 1019: if (parse_ll("--recording", optarg, 1, &o.recording)) return 2; break;
		case 1020: o.webhook = optarg; break;
		case 1021: o.webhook_secret_env = optarg; break;
		case 1022: o.webhook_events = optarg; break;
		case 1023:
			if (parse_ll("--priority", optarg, STORE_PRIORITY_MIN, &o.priority))
				return 2;
			if (o.priority > STORE_PRIORITY_MAX) {
				fprintf(stderr, "%s: --priority %s: want -100..100\n", WHO, optarg);
				return 2;
			}
			o.with_priority = true;
			break;
		case 'h': fputs(batch_usage, stdout); return 0;
		default: fputs(batch_usage, stderr); return 2;
		}
	}
	static const char *const subs[] = {"create", "add", "start", "status", "events", "results",
					   "retry", "reaudit", NULL};
	const char *sub = optind < argc ? argv[optind] : NULL;
	size_t k = 0;
	while (sub && subs[k] && strcmp(subs[k], sub) != 0)
		k++;
	if (!sub || !subs[k]) {
		fprintf(stderr, "%s: want one of create, add, start, status, events, results, retry, "
			"reaudit\n\n%s", WHO, batch_usage);
		return 2;
	}
	if (argc - optind < 2 || (strcmp(sub, "add") != 0 && argc - optind > 2)) {
		fprintf(stderr, "%s %s: give %s\n\n%s", WHO, sub,
			strcmp(sub, "create") == 0 ? "one NAME" : "one BATCH (id or name)", batch_usage);
		return 2;
	}
	struct conn conn = {0};
	int status = 0;
	if (o.server) {
		const char *token = o.token_env ? getenv(o.token_env) : NULL;
		if (!token || !*token || strlen(token) > 200) {
			fprintf(stderr, "%s: --server needs --token-env VAR naming a variable that holds "
				"the token\n", WHO);
			return 2;
		}
		if (strncmp(o.server, "http://", 7) != 0 && strncmp(o.server, "https://", 8) != 0) {
			fprintf(stderr, "%s: --server %s: want http://HOST:PORT or https://…\n", WHO, o.server);
			return 2;
		}
		conn.remote = true;
		snprintf(conn.base, sizeof(conn.base), "%s", o.server);
		size_t bl = strlen(conn.base);
		while (bl && conn.base[bl - 1] == '/')
			conn.base[--bl] = '\0';
		snprintf(conn.auth, sizeof(conn.auth), "Authorization: Bearer %s", token);
		curl_global_init(CURL_GLOBAL_DEFAULT);
		conn.curl = curl_easy_init();
		if (!conn.curl) {
			fprintf(stderr, "%s: libcurl could not start\n", WHO);
			return 1;
		}
	} else {
		if (cli_engine_config(WHO, &eo, &conn.cfg))
			return 2;
		int orc = cli_store_open(WHO, &conn.cfg, strcmp(sub, "create") == 0, &conn.st, conn.data,
					 sizeof(conn.data));
		if (orc)
			return orc;
		conn.ctx = (struct batches_ctx){.store = conn.st, .data_dir = conn.data, .files_root = "/",
						.on_queued = push_redis, .ud = &conn};
	}
	int64_t id = 0;
	const char *arg = argv[optind + 1];
	if (strcmp(sub, "create") == 0) {
		status = do_create(&conn, &o, arg);
		goto out;
	}
	if ((status = resolve(&conn, arg, &id)))
		goto out;
	char path[128];
	json_t *view = NULL;
	if (strcmp(sub, "add") == 0) {
		status = do_add(&conn, &o, id, argv + optind + 2, argc - optind - 2);
	} else if (strcmp(sub, "start") == 0) {
		snprintf(path, sizeof(path), "/v1/batches/%lld/start", (long long)id);
		if (!(status = view_of(&conn, "POST", path, id, batches_start, &view)))
			print_status(view);
	} else if (strcmp(sub, "status") == 0) {
		snprintf(path, sizeof(path), "/v1/batches/%lld", (long long)id);
		if (!(status = view_of(&conn, "GET", path, id, batches_get, &view)))
			print_status(view);
	} else if (strcmp(sub, "events") == 0) {
		status = do_events(&conn, &o, id);
	} else if (strcmp(sub, "results") == 0) {
		status = do_results(&conn, &o, id);
	} else if (strcmp(sub, "retry") == 0) {
		status = do_retry(&conn, &o, id);
	} else {
		status = do_reaudit(&conn, &o, id);
	}
	json_decref(view);
out:
	if (fflush(stdout) != 0) {
		perror(WHO ": stdout");
		status = 1;
	}
	if (conn.curl)
		curl_easy_cleanup(conn.curl);
	store_close(conn.st);
	return status;
}
