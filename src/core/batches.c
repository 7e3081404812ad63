/* batches.c — see batches.h. */
#include "core/batches.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>

#include "audio/decode.h"
#include "audit/questionnaire.h"
#include "audit/rules.h"
#include "core/webhook.h"
#include "core/call_metadata.h"
#include "core/export.h"
#include "core/inputs.h"
#include "core/pipeline.h"
#include "session/session.h"
#include "stages/pipeline_config.h"
#include "stages/stage.h"
#include "store/store_audit.h"
#include "store/store_batch.h"
#include "store/store_call.h"
#include "store/store_dash.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/strbuf.h"

#define NOMEM(err) parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory")

enum parley_err batches_check_audit(const char *questionnaire, const char *rules,
				    const struct pipeline_config *cfg, struct parley_error *err)
{
	struct questionnaire *q = NULL;
	struct rules *r = NULL;
	const char **ids = NULL;
	enum parley_err rc = PARLEY_OK;
	if (questionnaire && *questionnaire) {
		if ((rc = questionnaire_parse(questionnaire, strlen(questionnaire), "questionnaire", &q,
					      err)))
			goto out;
		for (size_t i = 0; cfg && i < q->n; i++)
			if (q->q[i].how == QN_BY_LLM && !cfg->llm.engine[0]) {
				rc = parley_error_set(err, PARLEY_ERR_INVALID,
						      "questionnaire:%d: question \"%s\" is answered by the LLM: "
						      "configure one (options {\"llm.engine\": \"openai+http://"
						      "HOST/v1\"})", q->q[i].line, q->q[i].id);
				goto out;
			}
	}
	if (rules && *rules) {
		struct rules_known known = {0};
		if (q && q->n) {
			if (!(ids = calloc(q->n, sizeof(*ids)))) {
				rc = NOMEM(err);
				goto out;
			}
			for (size_t i = 0; i < q->n; i++)
				ids[i] = q->q[i].id;
			known = (struct rules_known){ids, q->n, true};
		}
		rc = rules_parse(rules, strlen(rules), "rules", q ? &known : NULL, &r, err);
	}
out:
	free(ids);
	rules_free(r);
	questionnaire_free(q);
	return rc;
}

/* "webhook": {"url", "secret", "events": "batch,file" or ["batch", …], "schedule"} */
static enum parley_err request_webhook(const json_t *req, struct webhook_config *w, bool *given,
				       struct parley_error *err)
{
	*w = webhook_default_config();
	json_t *o = json_object_get(req, "webhook");
	*given = o && !json_is_null(o);
	if (!*given)
		return PARLEY_OK;
	if (!json_is_object(o))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"field \"webhook\" must be an object {\"url\", \"secret\", \"events\"}");
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v) {
		if (strcmp(key, "url") && strcmp(key, "secret") && strcmp(key, "events") &&
		    strcmp(key, "schedule"))
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"webhook: unknown field \"%.64s\" (known: url, secret, events, "
						"schedule)", key);
	}
	static const struct {
		const char *key;
		size_t off, size;
		bool required;
	} texts[] = {
		{"url", offsetof(struct webhook_config, url), WEBHOOK_URL_MAX, true},
		{"secret", offsetof(struct webhook_config, secret), WEBHOOK_SECRET_MAX, true},
		{"schedule", offsetof(struct webhook_config, schedule), WEBHOOK_SCHEDULE_TEXT_MAX, false},
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		v = json_object_get(o, texts[i].key);
		if (!v && !texts[i].required)
			continue;
		if (!json_is_string(v) || json_string_length(v) >= texts[i].size ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"webhook.%s must be a string of at most %zu bytes", texts[i].key,
						texts[i].size - 1);
		snprintf((char *)w + texts[i].off, texts[i].size, "%s", json_string_value(v));
	}
	v = json_object_get(o, "events");
	if (v && !json_is_null(v)) {
		char list[64] = "";
		if (json_is_string(v)) {
			snprintf(list, sizeof(list), "%s", json_string_value(v));
		} else if (json_is_array(v)) {
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e) {
				size_t used = strlen(list);
				if (!json_is_string(e))
					return parley_error_set(err, PARLEY_ERR_INVALID,
								"webhook.events must hold strings");
				snprintf(list + used, sizeof(list) - used, "%s%s", used ? "," : "",
					 json_string_value(e));
			}
		} else {
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"webhook.events must be \"batch,file,stage\" or a list of them");
		}
		enum parley_err rc = webhook_events_parse(list, &w->events, err);
		if (rc)
			return rc;
	}
	uint8_t key_bytes[WEBHOOK_KEY_MAX];
	size_t klen = 0;
	struct webhook_schedule sch;
	enum parley_err rc;
	if ((rc = webhook_url_check(w->url, err)) ||
	    (rc = webhook_secret_key(w->secret, key_bytes, &klen, err)) ||
	    (rc = webhook_schedule_parse(w->schedule, &sch, err)))
		parley_error_prefix(err, "webhook: ");
	memset(key_bytes, 0, sizeof(key_bytes));
	return rc;
}

bool batches_user_may(const struct session_user *u)
{
	return u && (u->admin || u->operator_);
}

static enum parley_err batch_row(const struct batches_ctx *c, int64_t id, struct sbatch_row *b,
				 struct parley_error *err)
{
	bool found = false;
	enum parley_err rc = sbatch_get(c->store, id, b, &found, err);
	if (!rc && (!found || strcmp(b->kind, "batch") != 0))
		rc = parley_error_set(err, PARLEY_ERR_NOT_FOUND, "no batch %lld", (long long)id);
	return rc;
}

enum parley_err batches_check(const struct batches_ctx *c, int64_t id, struct parley_error *err)
{
	struct sbatch_row b;
	return batch_row(c, id, &b, err);
}

enum parley_err batches_find(const struct batches_ctx *c, const char *name, int64_t *id,
			     struct parley_error *err)
{
	enum parley_err rc = store_batch_find(c->store, name, id, err);
	if (rc)
		return rc;
	struct sbatch_row b;
	rc = batch_row(c, *id, &b, err);
	if (rc == PARLEY_ERR_NOT_FOUND)
		rc = parley_error_set(err, PARLEY_ERR_NOT_FOUND,
				      "'%s' is not a batch made by `parley batch create` or POST /v1/batches",
				      name);
	return rc;
}

static enum parley_err queued(const struct batches_ctx *c, struct parley_error *err)
{
	return c->on_queued ? c->on_queued(c->ud, err) : PARLEY_OK;
}

/* ------------------------------------------------------------------ create */

static bool name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= STORE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	return true;
}

static const char *const create_fields[] = {"name", "config", "preset", "stages", "questionnaire",
					    "rules", "webhook", "options", "priority", NULL};

/* A text field given as a string, or (questionnaire, config) as an object. */
static enum parley_err text_field(const json_t *req, const char *key, bool object_ok, char **out,
				  struct parley_error *err)
{
	*out = NULL;
	json_t *v = json_object_get(req, key);
	if (!v || json_is_null(v))
		return PARLEY_OK;
	if (json_is_string(v)) {
		if (strlen(json_string_value(v)) != json_string_length(v))
			return parley_error_set(err, PARLEY_ERR_INVALID, "field \"%s\" contains a NUL", key);
		*out = strdup(json_string_value(v));
	} else if (object_ok && json_is_object(v)) {
		*out = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	} else {
		return parley_error_set(err, PARLEY_ERR_INVALID, "field \"%s\" must be %s", key,
					object_ok ? "an object or a string" : "a string");
	}
	if (!*out)
		return NOMEM(err);
	if (strlen(*out) > STORE_AUDIT_DOC_MAX) {
		free(*out);
		*out = NULL;
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "field \"%s\" is larger than %zu bytes",
					key, STORE_AUDIT_DOC_MAX);
	}
	return PARLEY_OK;
}

/* The configuration of a request: config, then preset, then options
 * ({"key": value} as `--set key=value`). A lexicon must come as text: a
 * path would read a file of the server. */
static enum parley_err request_config(const json_t *req, struct pipeline_config *cfg,
				      struct parley_error *err)
{
	char *text = NULL;
	enum parley_err rc = text_field(req, "config", true, &text, err);
	if (!rc && text)
		rc = pipeline_config_parse(cfg, "config", text, strlen(text), err);
	free(text);
	json_t *preset = json_object_get(req, "preset");
	if (!rc && preset && !json_is_null(preset)) {
		if (!json_is_string(preset))
			rc = parley_error_set(err, PARLEY_ERR_INVALID, "field \"preset\" must be a string");
		else
			rc = pipeline_config_set(cfg, "preset", json_string_value(preset), err);
	}
	json_t *opts = json_object_get(req, "options");
	if (!rc && opts && !json_is_null(opts)) {
		if (!json_is_object(opts))
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"field \"options\" must be an object of configuration keys");
		const char *key;
		json_t *v;
		json_object_foreach(opts, key, v) {
			char num[64];
			const char *value = NULL;
			if (json_is_string(v))
				value = json_string_value(v);
			else if (json_is_true(v) || json_is_false(v))
				value = json_is_true(v) ? "true" : "false";
			else if (json_is_integer(v))
				snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v)), value = num;
			else if (json_is_real(v))
				snprintf(num, sizeof(num), "%.17g", json_real_value(v)), value = num;
			if (!value)
				return parley_error_set(err, PARLEY_ERR_INVALID,
							"options.%s must be a string, number or boolean", key);
			if ((rc = pipeline_config_set(cfg, key, value, err))) {
				parley_error_prefix(err, "options: ");
				return rc;
			}
		}
	}
	if (!rc && cfg->lexicon.path[0])
		rc = parley_error_set(err, PARLEY_ERR_INVALID,
				      "config lexicon.path names a file of the server: give lexicon.text");
	if (!rc)
		rc = pipeline_config_check(cfg, err);
	if (!rc)
		rc = pipeline_config_lexicon_resolve(cfg, err);
	return rc;
}

/* The batch's stage list: "stages" (a comma list, presets and noop allowed),
 * else the configuration's preset, else the default pipeline. */
static enum parley_err request_stages(const json_t *req, const struct pipeline_config *cfg,
				      char *out, size_t size, struct parley_error *err)
{
	const struct stage *rows[64];
	struct pipeline pl = pipeline_default();
	json_t *v = json_object_get(req, "stages");
	enum parley_err rc = PARLEY_OK;
	out[0] = '\0';
	if (v && !json_is_null(v)) {
		if (!json_is_string(v))
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"field \"stages\" must be a string (\"decode,vad,…\", \"call\")");
		if ((rc = pipeline_parse(json_string_value(v), rows, &pl, err))) {
			parley_error_prefix(err, "stages: ");
			return rc;
		}
	} else {
		if ((rc = pipeline_from_config(cfg, out, size, err)))
			return rc;
		if (out[0] && (rc = pipeline_parse(out, rows, &pl, err)))
			return rc;
	}
	size_t used = 0;
	for (size_t i = 0; i < pl.count; i++) {
		int k = snprintf(out + used, size - used, "%s%s", i ? "," : "", pl.stages[i]->name);
		if (k < 0 || (size_t)k >= size - used)
			return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "too many stages");
		used += (size_t)k;
	}
	return PARLEY_OK;
}

void batches_request_release(struct batches_request *r)
{
	if (!r)
		return;
	free(r->questionnaire);
	free(r->rules);
	free(r->config_json);
	memset(r, 0, sizeof(*r)); /* the webhook secret too */
}

enum parley_err batches_request_parse(const json_t *req, struct batches_request *out,
				      struct parley_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_object(req))
		return parley_error_set(err, PARLEY_ERR_INVALID, "the request must be a JSON object");
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)req, key, v) {
		size_t i = 0;
		while (create_fields[i] && strcmp(create_fields[i], key) != 0)
			i++;
		if (!create_fields[i])
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"unknown field \"%.64s\" (known: name, config, preset, "
						"stages, questionnaire, rules, webhook, options, priority)", key);
	}
	json_t *jn = json_object_get(req, "name");
	if (!json_is_string(jn) || strlen(json_string_value(jn)) != json_string_length(jn) ||
	    !name_ok(json_string_value(jn)))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"field \"name\" must be a string of 1 to %d bytes without control "
					"characters", STORE_NAME_MAX - 1);
	snprintf(out->name, sizeof(out->name), "%s", json_string_value(jn));
	/* "priority": who goes first (store.h): sessions are 50, batches 0 */
	out->priority = STORE_PRIORITY_BATCH;
	json_t *jp = json_object_get(req, "priority");
	if (jp && !json_is_null(jp)) {
		if (!json_is_integer(jp) || json_integer_value(jp) < STORE_PRIORITY_MIN ||
		    json_integer_value(jp) > STORE_PRIORITY_MAX)
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"field \"priority\" must be an integer from %d to %d (higher "
						"first; sessions are %d, batches %d by default)",
						STORE_PRIORITY_MIN, STORE_PRIORITY_MAX, STORE_PRIORITY_SESSION,
						STORE_PRIORITY_BATCH);
		out->priority = (int)json_integer_value(jp);
	}
	struct pipeline_config cfg;
	pipeline_config_init(&cfg);
	enum parley_err rc;
	if ((rc = request_webhook(req, &out->hook, &out->with_hook, err)) ||
	    (rc = request_config(req, &cfg, err)) ||
	    (rc = request_stages(req, &cfg, out->stages, sizeof(out->stages), err)) ||
	    (rc = text_field(req, "questionnaire", true, &out->questionnaire, err)) ||
	    (rc = text_field(req, "rules", false, &out->rules, err)) ||
	    (rc = batches_check_audit(out->questionnaire, out->rules, &cfg, err)) ||
	    (rc = pipeline_config_to_json(&cfg, false, &out->config_json, err)))
		batches_request_release(out);
	pipeline_config_release(&cfg);
	return rc;
}

enum parley_err batches_create(const struct batches_ctx *c, const json_t *req, json_t **view,
			       struct parley_error *err)
{
	*view = NULL;
	struct batches_request q;
	enum parley_err rc = batches_request_parse(req, &q, err);
	if (rc)
		return rc;
	int64_t id = 0;
	int version = 0;
	if ((rc = store_begin(c->store, err)))
		goto out;
	if ((rc = sbatch_create(c->store, q.name, &id, err)) ||
	    (rc = store_batch_set_pipeline(c->store, id, q.stages, err)) ||
	    (rc = store_batch_set_priority(c->store, id, q.priority, err)) ||
	    (rc = store_batch_set_config(c->store, id, q.config_json, err)) ||
	    ((q.questionnaire || q.rules) &&
	     (rc = store_audit_add(c->store, id, q.questionnaire, q.rules, "", &version, err))) ||
	    (q.with_hook && (rc = webhook_set(c->store, id, &q.hook, err))) ||
	    (rc = store_event_add(c->store, id, 0, NULL, "batch_created", q.name, err))) {
		store_rollback(c->store);
		goto out;
	}
	if ((rc = store_commit(c->store, err)))
		goto out;
	rc = batches_get(c, id, view, err);
out:
	batches_request_release(&q);
	return rc;
}

/* ------------------------------------------------------------------ views */

static const char *state_name(bool started, int pending, int running, int done, int failed)
{
	if (!started || (!running && !done && !failed))
		return "Pending";
	if (pending || running)
		return "InProgress";
	return failed ? "CompletedWithErrors" : "Completed";
}

#define VIEW_STAGES_MAX 64

static enum parley_err batch_view(const struct batches_ctx *c, const struct sbatch_row *b,
				  json_t **out, struct parley_error *err)
{
	struct store_progress p;
	struct store_stage_count counts[VIEW_STAGES_MAX];
	size_t n = 0;
	char list[STORE_PIPELINE_MAX];
	const struct stage *rows[64];
	struct pipeline pl = pipeline_default();
	enum parley_err rc;
	if ((rc = store_progress_get(c->store, b->id, &p, err)) ||
	    (rc = store_stage_counts(c->store, b->id, counts, VIEW_STAGES_MAX, &n, err)) ||
	    (rc = store_batch_get_pipeline(c->store, b->id, list, sizeof(list), err)))
		return rc;
	if (list[0] && (rc = pipeline_parse(list, rows, &pl, err)))
		return rc;
	json_t *stages = json_array();
	json_t *v = json_pack("{s:I,s:s,s:b,s:f,s:I,s:{s:i,s:i,s:i,s:i,s:i},s:f,s:o}",
			      "id", (json_int_t)b->id, "name", b->name, "started", b->started,
			      "created_at", b->created_at, "audit_version", (json_int_t)b->audit_version,
			      "recordings", "total", p.total, "pending", p.pending + p.held, "running",
			      p.running, "done", p.done, "failed", p.failed, "audio_seconds_done",
			      p.audio_done, "stages", stages);
	if (!v)
		return NOMEM(err);
	json_object_set_new(v, "priority", json_integer(b->priority));
	json_object_set_new(v, "status", json_string(state_name(b->started, p.pending, p.running,
								 p.done, p.failed)));
	struct webhook_config hook;
	bool hooked = false;
	if ((rc = webhook_get(c->store, b->id, &hook, &hooked, err))) {
		json_decref(v);
		return rc;
	}
	if (hooked) { /* never the secret */
		char events[32];
		webhook_events_format(hook.events, events, sizeof(events));
		json_object_set_new(v, "webhook", json_pack("{s:s,s:s,s:b}", "url", hook.url, "events",
							     events, "disabled", hook.disabled));
	}
	memset(&hook, 0, sizeof(hook));
	for (size_t s = 0; s < pl.count; s++) {
		struct store_stage_count z = {.pending = 0};
		const struct store_stage_count *k = &z;
		for (size_t i = 0; i < n; i++)
			if (strcmp(counts[i].stage, pl.stages[s]->name) == 0)
				k = &counts[i];
		int done = k->done + k->skipped;
		/* a failed recording never reaches its later stages: not pending there */
		int gone = k->failed > p.failed ? k->failed : p.failed;
		int pending = p.total - done - gone - k->running;
		if (pending < 0)
			pending = 0;
		json_array_append_new(stages, json_pack("{s:s,s:s,s:i,s:i,s:i,s:i}", "stage",
			pl.stages[s]->name, "status",
			state_name(b->started, pending, k->running, done, k->failed), "done", done,
			"failed", k->failed, "running", k->running, "pending", pending));
	}
	*out = v;
	return PARLEY_OK;
}

enum parley_err batches_get(const struct batches_ctx *c, int64_t id, json_t **view,
			    struct parley_error *err)
{
	*view = NULL;
	struct sbatch_row b;
	enum parley_err rc = batch_row(c, id, &b, err);
	return rc ? rc : batch_view(c, &b, view, err);
}

struct list_walk {
	const struct batches_ctx *c;
	json_t *arr;
	int64_t last;
	int n;
	enum parley_err rc;
	struct parley_error *err;
};

static int list_one(const struct sbatch_row *b, void *ud)
{
	struct list_walk *w = ud;
	json_t *v = NULL;
	if ((w->rc = batch_view(w->c, b, &v, w->err)))
		return 1;
	json_array_append_new(w->arr, v);
	w->last = b->id;
	w->n++;
	return 0;
}

enum parley_err batches_list(const struct batches_ctx *c, int64_t after, int limit, json_t **out,
			     struct parley_error *err)
{
	*out = NULL;
	if (limit < 1 || limit > BATCHES_PAGE_MAX)
		limit = 100;
	struct list_walk w = {.c = c, .arr = json_array(), .err = err};
	if (!w.arr)
		return NOMEM(err);
	enum parley_err rc = sbatch_list(c->store, after, limit, list_one, &w, err);
	if (!rc)
		rc = w.rc;
	if (rc) {
		json_decref(w.arr);
		return rc;
	}
	*out = json_pack("{s:o,s:o}", "batches", w.arr, "next",
			 w.n == limit ? json_integer(w.last) : json_null());
	return *out ? PARLEY_OK : NOMEM(err);
}

/* ------------------------------------------------------------------ files */

static bool file_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > BATCHES_FILE_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

/* A recording added to a batch that has not started is held. */
static enum parley_err add_recording(const struct batches_ctx *c, const struct sbatch_row *b,
				     const char *name, const char *source, const char *fp,
				     int64_t *rec, struct parley_error *err)
{
	const char *tables[64];
	stage_result_tables(tables, sizeof(tables) / sizeof(tables[0]));
	enum parley_err rc = store_recording_add(c->store, b->id, name, source, fp, tables, rec, err);
	if (!rc && !b->started)
		rc = sbatch_hold(c->store, *rec, err);
	return rc;
}

/* "NAME.tmp.PID.K": an upload being written (fs_write_atomic). */
static bool upload_temp(const char *name)
{
	for (const char *t = strstr(name, ".tmp."); t; t = strstr(t + 1, ".tmp.")) {
		const char *q = t + 5;
		size_t pid = strspn(q, "0123456789");
		if (pid && q[pid] == '.' && q[pid + 1] && strspn(q + pid + 1, "0123456789") ==
		    strlen(q + pid + 1))
			return true;
	}
	return false;
}

enum parley_err batches_upload_check(const struct batches_ctx *c, int64_t id, const char *name,
				     unsigned long long len, const struct batches_upload_limits *lim,
				     struct parley_error *err)
{
	if (!file_name_ok(name))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"'%.64s' is not a file name (1 to %d characters of A-Z a-z 0-9 . _ -, "
					"not starting with '.')", name, BATCHES_FILE_NAME_MAX);
	struct sbatch_row b;
	enum parley_err rc = batch_row(c, id, &b, err);
	if (rc || !lim || (!lim->max_files && !lim->max_bytes))
		return rc;
	char dir[PARLEY_PATH_MAX], sub[64];
	snprintf(sub, sizeof(sub), "batches/%lld/files", (long long)id);
	if ((rc = fs_path_join(dir, sizeof(dir), c->data_dir, sub, err)))
		return rc;
	int64_t files = 1;
	unsigned long long bytes = len;
	DIR *d = opendir(dir);
	for (struct dirent *e; d && (e = readdir(d));) {
		struct stat st;
		if (e->d_name[0] == '.' || upload_temp(e->d_name) ||
		    fstatat(dirfd(d), e->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (strcmp(e->d_name, name) == 0)
			continue; /* replaced by this upload */
		files++;
		bytes += (unsigned long long)st.st_size;
	}
	if (d)
		closedir(d);
	if (lim->max_files && files > lim->max_files)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"batch %lld holds its limit of %lld uploaded files (--batch-max-files): "
					"file %s was not added", (long long)id, (long long)lim->max_files, name);
	if (lim->max_bytes && bytes > lim->max_bytes)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"file %s (%llu bytes) would take batch %lld past its limit of %llu "
					"uploaded bytes (--batch-max-bytes)", name, len, (long long)id,
					lim->max_bytes);
	return PARLEY_OK;
}

enum parley_err batches_add_upload(const struct batches_ctx *c, int64_t id, const char *name,
				   const void *body, size_t len, json_t **out, bool *created,
				   struct parley_error *err)
{
	*out = NULL;
	*created = true;
	if (!file_name_ok(name))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"'%.64s' is not a file name (1 to %d characters of A-Z a-z 0-9 . _ -, "
					"not starting with '.')", name, BATCHES_FILE_NAME_MAX);
	struct sbatch_row b;
	enum parley_err rc = batch_row(c, id, &b, err);
	if (rc)
		return rc;
	char sha[SHA256_HEX_SIZE];
	sha256_hex(body, len, sha);
	char dir[PARLEY_PATH_MAX], path[PARLEY_PATH_MAX], sub[64];
	snprintf(sub, sizeof(sub), "batches/%lld/files", (long long)id);
	if ((rc = fs_path_join(dir, sizeof(dir), c->data_dir, sub, err)) ||
	    (rc = fs_path_join(path, sizeof(path), dir, name, err)))
		return rc;
	/* the same bytes again: nothing to decode or write */
	char *old = NULL;
	size_t old_len = 0;
	struct parley_error ignore = {0};
	if (fs_exists(path) && fs_read_file(path, len + 1, &old, &old_len, &ignore) == PARLEY_OK &&
	    old_len == len && memcmp(old, body, len) == 0)
		*created = false;
	free(old);
	double duration = 0;
	if (*created) {
		char what[BATCHES_FILE_NAME_MAX + 64];
		snprintf(what, sizeof(what), "file %s of batch %lld", name, (long long)id);
		struct audio_decode_params p = audio_decode_default_params();
		if ((rc = audio_decode_measure_memory(body, len, what, &p, &duration, err)))
			return rc;
		if ((rc = fs_mkdir_p(dir, err)) || (rc = fs_write_atomic(path, body, len, err)))
			return rc;
	}
	char real[PATH_MAX];
	if (!realpath(path, real))
		return parley_error_set(err, PARLEY_ERR_IO, "%s: cannot resolve the path", path);
	int64_t rec = 0;
	if ((rc = store_begin(c->store, err)))
		return rc;
	if ((rc = add_recording(c, &b, name, real, sha, &rec, err)) ||
	    (rc = store_commit(c->store, err))) {
		store_rollback(c->store);
		return rc;
	}
	if (b.started && (rc = queued(c, err)))
		return rc;
	*out = json_pack("{s:s,s:I,s:I,s:s,s:f}", "file", name, "recording", (json_int_t)rec, "bytes",
			 (json_int_t)len, "sha256", sha, "duration", duration);
	return *out ? PARLEY_OK : NOMEM(err);
}

/* Is real (a resolved path) inside root (resolved)? */
static bool under(const char *real, const char *root)
{
	size_t n = strlen(root);
	if (n == 1 && root[0] == '/')
		return true;
	return strncmp(real, root, n) == 0 && (real[n] == '/' || real[n] == '\0');
}

enum parley_err batches_add_paths(const struct batches_ctx *c, int64_t id,
				  const char *const *paths, size_t n, json_t **out,
				  struct parley_error *err)
{
	*out = NULL;
	struct sbatch_row b;
	enum parley_err rc = batch_row(c, id, &b, err);
	if (rc)
		return rc;
	char root[PATH_MAX];
	if (!c->files_root || !c->files_root[0] || !realpath(c->files_root, root))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"this server takes no server-side paths (serve --files-root DIR)");
	if (n == 0)
		return parley_error_set(err, PARLEY_ERR_INVALID, "no paths given");
	/* every given path first: absolute, resolving under the root */
	for (size_t i = 0; i < n; i++) {
		char real[PATH_MAX];
		if (!paths[i] || paths[i][0] != '/')
			return parley_error_set(err, PARLEY_ERR_INVALID, "path '%.200s' is not absolute",
						paths[i] ? paths[i] : "");
		if (!realpath(paths[i], real) || !under(real, root))
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"path '%.200s' is not a file or folder under the files root",
						paths[i]);
	}
	struct input_list l;
	if (inputs_collect("parley serve", (char *const *)paths, (int)n, NULL, &l) != 0) {
		inputs_release(&l);
		return parley_error_set(err, PARLEY_ERR_INVALID, "the paths could not be read");
	}
	json_t *files = json_array();
	if (!files) {
		inputs_release(&l);
		return NOMEM(err);
	}
	if (l.n > BATCHES_PATHS_MAX) {
		rc = parley_error_set(err, PARLEY_ERR_TOO_LARGE, "%zu files: at most %d per request", l.n,
				      BATCHES_PATHS_MAX);
		goto out;
	}
	if ((rc = store_begin(c->store, err)))
		goto out;
	for (size_t i = 0; i < l.n && !rc; i++) {
		char real[PATH_MAX], fp[96];
		struct stat sb;
		const char *base = strrchr(l.paths[i], '/');
		base = base ? base + 1 : l.paths[i];
		if (!realpath(l.paths[i], real) || !under(real, root) || stat(real, &sb) != 0) {
			rc = parley_error_set(err, PARLEY_ERR_INVALID,
					      "'%.200s' resolves outside the files root", l.paths[i]);
			break;
		}
		if (!file_name_ok(base)) {
			rc = parley_error_set(err, PARLEY_ERR_INVALID, "'%.200s': the file name is not "
					      "A-Z a-z 0-9 . _ - (not starting with '.')", l.paths[i]);
			break;
		}
		snprintf(fp, sizeof(fp), "%lld:%lld.%09ld", (long long)sb.st_size,
			 (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
		int64_t rec = 0;
		if ((rc = add_recording(c, &b, base, real, fp, &rec, err)))
			break;
		json_array_append_new(files, json_pack("{s:s,s:I}", "file", base, "recording",
						       (json_int_t)rec));
	}
	if (rc) {
		store_rollback(c->store);
		goto out;
	}
	if ((rc = store_commit(c->store, err)) || (b.started && (rc = queued(c, err))))
		goto out;
	*out = json_pack("{s:I,s:O}", "added", (json_int_t)l.n, "files", files);
	if (!*out)
		rc = NOMEM(err);
out:
	json_decref(files);
	inputs_release(&l);
	return rc;
}

/* ---------------------------------------------------------------- metadata */

struct md_walk {
	struct store *st;
	const struct call_metadata *md;
	bool *used;
	json_t *missing;
	int matched;
	enum parley_err rc;
	struct parley_error *err;
};

static int md_one(const struct store_recording *rec, void *ud)
{
	struct md_walk *w = ud;
	long row = call_metadata_find(w->md, rec->source);
	if (row < 0) {
		json_array_append_new(w->missing, json_string(rec->name));
		w->rc = store_recording_metadata_put(w->st, rec->id, "{}", w->err);
		return w->rc != PARLEY_OK;
	}
	w->used[row] = true;
	w->matched++;
	json_t *o = call_metadata_row_json(w->md, (size_t)row);
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!text) {
		w->rc = NOMEM(w->err);
		return 1;
	}
	w->rc = store_recording_metadata_put(w->st, rec->id, text, w->err);
	free(text);
	return w->rc != PARLEY_OK;
}

enum parley_err batches_metadata(const struct batches_ctx *c, int64_t id, const char *csv,
				 size_t len, json_t **out, struct parley_error *err)
{
	*out = NULL;
	struct sbatch_row b;
	enum parley_err rc = batch_row(c, id, &b, err);
	if (rc)
		return rc;
	if (b.started)
		return parley_error_set(err, PARLEY_ERR_CONFLICT,
					"batch %lld has started: its stages read the metadata, so it is "
					"given before the start", (long long)id);
	struct call_metadata *md = NULL;
	if ((rc = call_metadata_parse("metadata.csv", csv, len, &md, err)))
		return rc;
	size_t rows = call_metadata_row_count(md);
	struct md_walk w = {.st = c->store, .md = md, .used = calloc(rows ? rows : 1, sizeof(bool)),
			    .missing = json_array(), .err = err};
	json_t *unknown = json_array();
	if (!w.used || !w.missing || !unknown) {
		rc = NOMEM(err);
		goto out;
	}
	if ((rc = store_begin(c->store, err)))
		goto out;
	rc = store_recording_each(c->store, id, md_one, &w, err);
	if (!rc)
		rc = w.rc;
	char msg[128];
	snprintf(msg, sizeof(msg), "%zu rows, %d files matched", rows, w.matched);
	if (!rc)
		rc = store_event_add(c->store, id, 0, NULL, "metadata", msg, err);
	if (rc) {
		store_rollback(c->store);
		goto out;
	}
	if ((rc = store_commit(c->store, err)))
		goto out;
	for (size_t r = 0; r < rows; r++)
		if (!w.used[r])
			json_array_append_new(unknown, json_pack("{s:I,s:s}", "line",
				(json_int_t)call_metadata_row_line(md, r), "file",
				call_metadata_row_file(md, r)));
	*out = json_pack("{s:I,s:i,s:O,s:O}", "rows", (json_int_t)rows, "matched", w.matched,
			 "unknown", unknown, "without_metadata", w.missing);
	if (!*out)
		rc = NOMEM(err);
out:
	json_decref(unknown);
	json_decref(w.missing);
	free(w.used);
	call_metadata_free(md);
	return rc;
}

/* ------------------------------------------------------------------- start */

enum parley_err batches_start(const struct batches_ctx *c, int64_t id, json_t **view,
			      struct parley_error *err)
{
	*view = NULL;
	struct sbatch_row b;
	enum parley_err rc = batch_row(c, id, &b, err);
	if (rc)
		return rc;
	if (b.started)
		return parley_error_set(err, PARLEY_ERR_CONFLICT, "batch %lld has already started",
					(long long)id);
	if ((rc = store_begin(c->store, err)))
		return rc;
	int64_t n = 0;
	char msg[64];
	if ((rc = sbatch_start(c->store, id, &n, err)))
		goto fail;
	if (n == 0) {
		rc = parley_error_set(err, PARLEY_ERR_CONFLICT,
				      "batch %lld has no files: add some before starting it", (long long)id);
		goto fail;
	}
	snprintf(msg, sizeof(msg), "%lld recordings", (long long)n);
	if ((rc = store_event_add(c->store, id, 0, NULL, "batch_started", msg, err)) ||
	    (rc = store_commit(c->store, err)))
		goto fail;
	if ((rc = queued(c, err)))
		return rc;
	return batches_get(c, id, view, err);
fail:
	store_rollback(c->store);
	return rc;
}

/* --------------------------------------------------------- failures, retry */

struct fail_walk {
	struct store *st;
	json_t *arr;
	int64_t only; /* retry: 0 = every failed one */
	int requeued, matched;
	bool retry;
	enum parley_err rc;
	struct parley_error *err;
};

static int fail_one(const struct store_recording *rec, void *ud)
{
	struct fail_walk *w = ud;
	if (w->only && rec->id != w->only)
		return 0;
	w->matched++;
	if (rec->status != STORE_FAILED)
		return 0;
	if (w->retry) {
		if ((w->rc = store_recording_requeue(w->st, rec->id, w->err)))
			return 1;
		w->requeued++;
		return 0;
	}
	json_array_append_new(w->arr, json_pack("{s:I,s:s,s:s,s:i,s:s}", "recording",
		(json_int_t)rec->id, "name", rec->name, "stage", rec->next_stage, "attempts",
		rec->attempts, "error", rec->error));
	return 0;
}

enum parley_err batches_failed(const struct batches_ctx *c, int64_t id, json_t **out,
			       struct parley_error *err)
{
	*out = NULL;
	enum parley_err rc = batches_check(c, id, err);
	if (rc)
		return rc;
	struct fail_walk w = {.st = c->store, .arr = json_array(), .err = err};
	if (!w.arr)
		return NOMEM(err);
	rc = store_recording_each(c->store, id, fail_one, &w, err);
	if (rc) {
		json_decref(w.arr);
		return rc;
	}
	*out = json_pack("{s:o}", "failed", w.arr);
	return *out ? PARLEY_OK : NOMEM(err);
}

enum parley_err batches_retry(const struct batches_ctx *c, int64_t id, int64_t rec_id,
			      json_t **out, struct parley_error *err)
{
	*out = NULL;
	enum parley_err rc = batches_check(c, id, err);
	if (rc)
		return rc;
	struct fail_walk w = {.st = c->store, .only = rec_id, .retry = true, .err = err};
	if ((rc = store_begin(c->store, err)))
		return rc;
	rc = store_recording_each(c->store, id, fail_one, &w, err);
	if (!rc)
		rc = w.rc;
	if (!rc && rec_id && !w.matched)
		rc = parley_error_set(err, PARLEY_ERR_NOT_FOUND, "batch %lld has no recording %lld",
				      (long long)id, (long long)rec_id);
	else if (!rc && rec_id && !w.requeued)
		rc = parley_error_set(err, PARLEY_ERR_CONFLICT, "recording %lld has not failed",
				      (long long)rec_id);
	char msg[64];
	snprintf(msg, sizeof(msg), "%d recordings queued again", w.requeued);
	if (!rc && w.requeued)
		rc = store_event_add(c->store, id, 0, NULL, "retry", msg, err);
	if (rc) {
		store_rollback(c->store);
		return rc;
	}
	if ((rc = store_commit(c->store, err)) || (w.requeued && (rc = queued(c, err))))
		return rc;
	*out = json_pack("{s:i}", "requeued", w.requeued);
	return *out ? PARLEY_OK : NOMEM(err);
}

/* ------------------------------------------------------------------ events */

struct ev_walk {
	json_t *arr;
	int64_t last;
};

static int ev_one(const struct store_event *e, void *ud)
{
	struct ev_walk *w = ud;
	json_t *o = json_pack("{s:I,s:f,s:s}", "id", (json_int_t)e->id, "time", e->time, "type",
			      e->type);
	if (!o)
		return 1;
	json_object_set_new(o, "stage", e->stage[0] ? json_string(e->stage) : json_null());
	json_object_set_new(o, "recording", e->recording_id ? json_integer(e->recording_id)
							    : json_null());
	json_object_set_new(o, "message", json_string(e->message));
	json_array_append_new(w->arr, o);
	w->last = e->id;
	return 0;
}

enum parley_err batches_events(const struct batches_ctx *c, int64_t id, int64_t after, int limit,
			       json_t **out, struct parley_error *err)
{
	*out = NULL;
	if (limit < 1 || limit > BATCHES_PAGE_MAX)
		limit = BATCHES_PAGE_MAX;
	struct ev_walk w = {.arr = json_array(), .last = after};
	if (!w.arr)
		return NOMEM(err);
	enum parley_err rc = store_event_page(c->store, id, after, limit, ev_one, &w, err);
	if (rc) {
		json_decref(w.arr);
		return rc;
	}
	*out = json_pack("{s:o,s:I}", "events", w.arr, "last_id", (json_int_t)w.last);
	return *out ? PARLEY_OK : NOMEM(err);
}

enum parley_err batches_finished(const struct batches_ctx *c, int64_t id, bool *finished,
				 struct parley_error *err)
{
	*finished = false;
	struct sbatch_row b;
	int64_t n = 0;
	enum parley_err rc = batch_row(c, id, &b, err);
	if (!rc && b.started && !(rc = sbatch_unfinished(c->store, id, &n, err)))
		*finished = n == 0;
	return rc;
}

/* ----------------------------------------------------------------- results */

static json_t *parse_or(const char *text, json_t *fallback)
{
	json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	if (v) {
		json_decref(fallback);
		return v;
	}
	return fallback;
}

static enum parley_err answers_json(struct store *st, int64_t rec, int version, json_t **out,
				    struct parley_error *err)
{
	struct store_answer *a = NULL;
	size_t n = 0;
	*out = json_array();
	if (!*out)
		return NOMEM(err);
	if (version <= 0)
		return PARLEY_OK;
	enum parley_err rc = store_answers_get(st, rec, version, &a, &n, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_pack("{s:s,s:o,s:s,s:b,s:f,s:f,s:f,s:b,s:b,s:o}", "question",
			a[i].question, "answer", parse_or(a[i].answer, json_null()), "source", a[i].source,
			"na", a[i].na, "score", a[i].score, "max_score", a[i].max_score, "weight",
			a[i].weight, "auto_fail", a[i].auto_fail, "valid", a[i].valid, "evidence",
			parse_or(a[i].evidence, json_array()));
		if (o && a[i].error[0])
			json_object_set_new(o, "error", json_string(a[i].error));
		json_array_append_new(*out, o);
	}
	store_answers_free(a, n);
	return PARLEY_OK;
}

static enum parley_err metrics_json(struct store *st, int64_t rec, json_t **out,
				    struct parley_error *err)
{
	struct store_call_metric *m = NULL;
	size_t n = 0;
	*out = json_object();
	if (!*out)
		return NOMEM(err);
	enum parley_err rc = store_call_metrics_get(st, rec, &m, &n, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		json_t *scope = json_object_get(*out, m[i].scope);
		if (!scope) {
			scope = json_object();
			json_object_set_new(*out, m[i].scope, scope);
		}
		json_object_set_new(scope, m[i].name, json_real(m[i].value));
	}
	free(m);
	return PARLEY_OK;
}

struct res_walk {
	struct store *st;
	int64_t batch;
	int version;
	json_t *arr;
	int64_t last;
	int n;
	enum parley_err rc;
	struct parley_error *err;
};

/* A results row: recording, name, status, attempts (when >= 0), trade_id,
 * metadata (when with_metadata), then the verdict's error, verdict, score,
 * max_score, auto_fail and reasons, in that order. NULL: out of memory. */
static json_t *result_row_json(const struct sbatch_result *r, int attempts, bool with_metadata)
{
	json_t *md = parse_or(r->metadata, json_object());
	json_t *trade = json_object_get(md, "trade_id");
	json_t *o = json_pack("{s:I,s:s,s:s}", "recording", (json_int_t)r->id, "name", r->name,
			      "status", r->status);
	if (!o || (attempts >= 0 && json_object_set_new(o, "attempts", json_integer(attempts))) ||
	    json_object_set(o, "trade_id", json_is_string(trade) ? trade : json_null()) ||
	    (with_metadata && json_object_set(o, "metadata", md))) {
		json_decref(md);
		json_decref(o);
		return NULL;
	}
	json_decref(md);
	json_object_set_new(o, "error", r->error[0] ? json_string(r->error) : json_null());
	json_object_set_new(o, "verdict", r->has_verdict ? json_string(r->verdict) : json_null());
	json_object_set_new(o, "score", r->has_verdict ? json_real(r->score) : json_null());
	json_object_set_new(o, "max_score", r->has_verdict ? json_real(r->max_score) : json_null());
	json_object_set_new(o, "auto_fail", json_boolean(r->has_verdict && r->auto_fail));
	json_object_set_new(o, "reasons", r->has_verdict ? parse_or(r->reasons, json_array())
							 : json_array());
	return o;
}

static int res_one(const struct sbatch_result *r, void *ud)
{
	struct res_walk *w = ud;
	json_t *o = result_row_json(r, -1, true);
	if (!o) {
		w->rc = NOMEM(w->err);
		return 1;
	}
	json_t *answers = NULL, *metrics = NULL, *warnings = NULL;
	if ((w->rc = answers_json(w->st, r->id, w->version, &answers, w->err)) ||
	    (w->rc = metrics_json(w->st, r->id, &metrics, w->err)) ||
	    (w->rc = export_warnings_json(w->st, w->batch, r->id, &warnings, w->err))) {
		json_decref(answers);
		json_decref(metrics);
		json_decref(o);
		return 1;
	}
	json_object_set_new(o, "answers", answers);
	json_object_set_new(o, "metrics", metrics);
	json_object_set_new(o, "warnings", warnings);
	json_array_append_new(w->arr, o);
	w->last = r->id;
	w->n++;
	return 0;
}

static enum parley_err version_of(const struct batches_ctx *c, int64_t id, int version, int *out,
				  struct parley_error *err)
{
	struct sbatch_row b;
	enum parley_err rc = batch_row(c, id, &b, err);
	if (rc)
		return rc;
	if (version < 0 || version > b.audit_version)
		return parley_error_set(err, PARLEY_ERR_NOT_FOUND, "batch %lld has no audit version %d",
					(long long)id, version);
	*out = version ? version : b.audit_version;
	return PARLEY_OK;
}

enum parley_err batches_results(const struct batches_ctx *c, int64_t id, int version,
				int64_t after, int limit, json_t **out, struct parley_error *err)
{
	*out = NULL;
	if (limit < 1 || limit > BATCHES_PAGE_MAX)
		limit = 100;
	struct res_walk w = {.st = c->store, .batch = id, .arr = json_array(), .err = err};
	if (!w.arr)
		return NOMEM(err);
	enum parley_err rc = version_of(c, id, version, &w.version, err);
	if (!rc)
		rc = sbatch_results(c->store, id, w.version, after, limit, res_one, &w, err);
	if (!rc)
		rc = w.rc;
	if (rc) {
		json_decref(w.arr);
		return rc;
	}
	*out = json_pack("{s:i,s:o,s:o}", "version", w.version, "recordings", w.arr, "next",
			 w.n == limit ? json_integer(w.last) : json_null());
	return *out ? PARLEY_OK : NOMEM(err);
}

/* ------------------------------------------------- the results table (pages) */

struct query_walk {
	struct store *st;
	int64_t batch;
	json_t *arr;
	enum parley_err rc;
	struct parley_error *err;
};

static int query_one(const struct sdash_result *r, void *ud)
{
	struct query_walk *w = ud;
	json_t *o = result_row_json(&r->row, r->attempts, false);
	if (!o) {
		w->rc = NOMEM(w->err);
		return 1;
	}
	json_t *warnings = NULL;
	if ((w->rc = export_warnings_json(w->st, w->batch, r->row.id, &warnings, w->err))) {
		json_decref(o);
		return 1;
	}
	json_object_set_new(o, "warnings", warnings);
	json_array_append_new(w->arr, o);
	return 0;
}

static bool one_of(const char *v, const char *const *set)
{
	if (!v || !*v)
		return true;
	for (; *set; set++)
		if (strcmp(v, *set) == 0)
			return true;
	return false;
}

enum parley_err batches_results_query(const struct batches_ctx *c, int64_t id,
				      const struct batches_query *q, json_t **out,
				      struct parley_error *err)
{
	static const char *const statuses[] = {"pending", "running", "done", "failed", "held",
					       "skipped", NULL};
	static const char *const verdicts[] = {"pass", "fail", "flag", "none", NULL};
	*out = NULL;
	const char *sort = q->sort && *q->sort ? q->sort : "recording";
	if (!sdash_sort_valid(sort))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"sort=%.40s: want recording, name, status, verdict or score",
					sort);
	if (!one_of(q->status, statuses))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"status=%.40s: want pending, running, done, failed or held",
					q->status);
	if (!one_of(q->verdict, verdicts))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"verdict=%.40s: want pass, fail, flag or none", q->verdict);
	int limit = q->limit >= 1 && q->limit <= BATCHES_PAGE_MAX ? q->limit : 100;
	struct sdash_query sq = {.status = q->status, .verdict = q->verdict, .name = q->name,
				 .sort = sort, .desc = q->desc, .offset = q->offset > 0 ? q->offset : 0,
				 .limit = limit};
	enum parley_err rc = version_of(c, id, q->version, &sq.version, err);
	if (rc)
		return rc;
	struct query_walk w = {.st = c->store, .batch = id, .arr = json_array(), .err = err};
	int64_t total = 0;
	if (!w.arr)
		return NOMEM(err);
	rc = sdash_results(c->store, id, &sq, query_one, &w, &total, err);
	if (!rc)
		rc = w.rc;
	if (rc) {
		json_decref(w.arr);
		return rc;
	}
	int64_t next = sq.offset + (int64_t)json_array_size(w.arr);
	*out = json_pack("{s:i,s:I,s:I,s:i,s:s,s:s,s:o,s:o}", "version", sq.version, "total",
			 (json_int_t)total, "offset", (json_int_t)sq.offset, "limit", limit, "sort",
			 sort, "order", q->desc ? "desc" : "asc", "recordings", w.arr,
			 "next_offset", next < total ? json_integer(next) : json_null());
	return *out ? PARLEY_OK : NOMEM(err);
}

/* ------------------------------------------------------------------ webhooks */

struct hook_walk {
	json_t *arr;
	int left;
	int64_t want; /* batches_redeliver: the delivery looked for (0: list) */
	bool found;
	char event_id[WEBHOOK_EVENT_ID_MAX];
};

static int hook_one(const struct webhook_delivery *d, void *ud)
{
	struct hook_walk *w = ud;
	if (w->want) {
		if (d->id != w->want)
			return 0;
		w->found = true;
		snprintf(w->event_id, sizeof(w->event_id), "%s", d->event_id);
		return 1;
	}
	json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:i,s:i,s:f,s:f,s:f}", "id", (json_int_t)d->id,
			      "event_id", d->event_id, "type", d->type, "status", d->status,
			      "attempts", d->attempts, "last_status", d->last_status, "next_at",
			      d->next_at, "created_at", d->created_at, "updated_at", d->updated_at);
	if (o)
		json_object_set_new(o, "last_error", d->last_error[0] ? json_string(d->last_error)
								      : json_null());
	json_array_append_new(w->arr, o);
	return --w->left <= 0;
}

enum parley_err batches_webhooks(const struct batches_ctx *c, int64_t id, int limit, json_t **out,
				 struct parley_error *err)
{
	*out = NULL;
	struct webhook_config hook;
	bool hooked = false;
	enum parley_err rc = batches_check(c, id, err);
	if (rc || (rc = webhook_get(c->store, id, &hook, &hooked, err)))
		return rc;
	json_t *view = json_null();
	if (hooked) { /* never the secret */
		char events[32];
		webhook_events_format(hook.events, events, sizeof(events));
		view = json_pack("{s:s,s:s,s:b}", "url", hook.url, "events", events, "disabled",
				 hook.disabled);
	}
	memset(&hook, 0, sizeof(hook));
	struct hook_walk w = {.arr = json_array(), .left = limit > 0 ? limit : 100};
	if (!w.arr || !view) {
		json_decref(w.arr);
		json_decref(view);
		return NOMEM(err);
	}
	if ((rc = webhook_each(c->store, id, hook_one, &w, err))) {
		json_decref(w.arr);
		json_decref(view);
		return rc;
	}
	*out = json_pack("{s:o,s:o}", "webhook", view, "deliveries", w.arr);
	return *out ? PARLEY_OK : NOMEM(err);
}

enum parley_err batches_redeliver(const struct batches_ctx *c, int64_t id, int64_t delivery,
				  json_t **out, struct parley_error *err)
{
	*out = NULL;
	struct hook_walk w = {.want = delivery};
	enum parley_err rc = batches_check(c, id, err);
	if (rc || (rc = webhook_each(c->store, id, hook_one, &w, err)))
		return rc;
	if (!w.found)
		return parley_error_set(err, PARLEY_ERR_NOT_FOUND, "batch %lld has no delivery %lld",
					(long long)id, (long long)delivery);
	char text[32];
	snprintf(text, sizeof(text), "%lld", (long long)delivery);
	int64_t did = 0;
	bool reenabled = false;
	if ((rc = webhook_redeliver(c->store, text, &did, &reenabled, err)))
		return rc;
	*out = json_pack("{s:I,s:s,s:b}", "delivery", (json_int_t)did, "event_id", w.event_id,
			 "reenabled", reenabled);
	return *out ? PARLEY_OK : NOMEM(err);
}

enum parley_err batches_csv_field(struct strbuf *out, const char *text)
{
	if (!strpbrk(text, ",\"\r\n"))
		return strbuf_adds(out, text);
	enum parley_err rc = strbuf_adds(out, "\"");
	for (const char *p = text; *p && !rc; p++)
		rc = *p == '"' ? strbuf_adds(out, "\"\"") : strbuf_add(out, p, 1);
	return rc ? rc : strbuf_adds(out, "\"");
}

/* "rule1;rule2" from a reasons array, "q1=yes;q2=no" from answers. */
static void join_field(struct strbuf *sb, json_t *arr, const char *key, const char *value_key)
{
	struct strbuf t;
	strbuf_init(&t, 1 << 20);
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o) {
		json_t *k = json_object_get(o, key);
		if (!json_is_string(k))
			continue;
		if (t.len)
			strbuf_adds(&t, ";");
		strbuf_adds(&t, json_string_value(k));
		if (value_key) {
			json_t *v = json_object_get(o, value_key);
			char *text = json_is_string(v) ? strdup(json_string_value(v))
						       : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
			strbuf_adds(&t, "=");
			strbuf_adds(&t, text ? text : "");
			free(text);
		}
	}
	batches_csv_field(sb, t.len ? t.buf : "");
	strbuf_release(&t);
}

static void csv_value(struct strbuf *sb, json_t *v)
{
	char num[64] = "";
	if (json_is_string(v))
		batches_csv_field(sb, json_string_value(v));
	else if (json_is_number(v))
		snprintf(num, sizeof(num), "%.6g", json_number_value(v)), strbuf_adds(sb, num);
	else if (json_is_boolean(v))
		strbuf_adds(sb, json_is_true(v) ? "true" : "false");
}

enum parley_err batches_results_csv(const struct batches_ctx *c, int64_t id, int version,
				    int64_t after, int limit, char **csv, struct parley_error *err)
{
	*csv = NULL;
	json_t *page = NULL;
	enum parley_err rc = batches_results(c, id, version, after, limit, &page, err);
	if (rc)
		return rc;
	struct strbuf sb;
	strbuf_init(&sb, (size_t)256 << 20);
	strbuf_adds(&sb, "recording,name,status,trade_id,verdict,score,max_score,auto_fail,reasons,"
			 "answers,error,warnings\r\n");
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(page, "recordings"), i, r) {
		static const char *const cols[] = {"recording", "name", "status", "trade_id", "verdict",
						   "score", "max_score", "auto_fail"};
		for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
			if (k)
				strbuf_adds(&sb, ",");
			csv_value(&sb, json_object_get(r, cols[k]));
		}
		strbuf_adds(&sb, ",");
		join_field(&sb, json_object_get(r, "reasons"), "rule", NULL);
		strbuf_adds(&sb, ",");
		join_field(&sb, json_object_get(r, "answers"), "question", "answer");
		strbuf_adds(&sb, ",");
		csv_value(&sb, json_object_get(r, "error"));
		strbuf_adds(&sb, ",");
		join_field(&sb, json_object_get(r, "warnings"), "message", NULL);
		if (strbuf_adds(&sb, "\r\n")) {
			rc = parley_error_set(err, PARLEY_ERR_TOO_LARGE, "the CSV page is too large");
			break;
		}
	}
	json_decref(page);
	if (rc) {
		strbuf_release(&sb);
		return rc;
	}
	*csv = strbuf_detach(&sb, NULL);
	return PARLEY_OK;
}

/* ------------------------------------------------------------------ trades */

void batches_trade_combine(const struct batches_call *calls, size_t n, struct batches_trade *out)
{
	memset(out, 0, sizeof(*out));
	bool fail = false, flag = false;
	for (size_t i = 0; i < n; i++) {
		out->calls++;
		const char *v = calls[i].verdict;
		if (!v || !*v)
			continue;
		out->judged++;
		fail = fail || strcmp(v, "fail") == 0;
		flag = flag || strcmp(v, "flag") == 0;
		out->score_sum += calls[i].score;
		out->max_score_sum += calls[i].max_score;
	}
	if (out->judged)
		snprintf(out->verdict, sizeof(out->verdict), "%s", fail ? "fail" : flag ? "flag" : "pass");
	out->score = out->max_score_sum > 0 ? out->score_sum / out->max_score_sum : 0;
}

struct trade_row {
	char *trade;
	char verdict[8];
	double score, max_score;
	int64_t rec;
};

struct trade_walk {
	struct trade_row *rows;
	size_t n, cap;
	bool nomem;
};

static int trade_one(const struct sbatch_result *r, void *ud)
{
	struct trade_walk *w = ud;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		struct trade_row *p = realloc(w->rows, cap * sizeof(*p));
		if (!p) {
			w->nomem = true;
			return 1;
		}
		w->rows = p;
		w->cap = cap;
	}
	json_t *md = json_loads(r->metadata, 0, NULL);
	json_t *t = json_object_get(md, "trade_id");
	struct trade_row *row = &w->rows[w->n];
	row->trade = strdup(json_is_string(t) ? json_string_value(t) : "");
	json_decref(md);
	if (!row->trade) {
		w->nomem = true;
		return 1;
	}
	snprintf(row->verdict, sizeof(row->verdict), "%s", r->has_verdict ? r->verdict : "");
	row->score = r->score;
	row->max_score = r->max_score;
	row->rec = r->id;
	w->n++;
	return 0;
}

static int trade_cmp(const void *a, const void *b)
{
	const struct trade_row *x = a, *y = b;
	int c = strcmp(x->trade, y->trade);
	return c ? c : (x->rec > y->rec) - (x->rec < y->rec);
}

enum parley_err batches_trades(const struct batches_ctx *c, int64_t id, int version,
			       int offset, int limit, json_t **out, struct parley_error *err)
{
	*out = NULL;
	if (limit < 1 || limit > BATCHES_PAGE_MAX)
		limit = 100;
	if (offset < 0)
		offset = 0;
	int v = 0;
	struct trade_walk w = {0};
	json_t *arr = json_array();
	enum parley_err rc = arr ? version_of(c, id, version, &v, err) : NOMEM(err);
	if (!rc)
		rc = sbatch_results(c->store, id, v, 0, 0, trade_one, &w, err);
	if (!rc && w.nomem)
		rc = NOMEM(err);
	if (rc)
		goto out;
	qsort(w.rows, w.n, sizeof(*w.rows), trade_cmp);
	int index = 0;
	bool more = false;
	for (size_t i = 0; i < w.n;) {
		size_t j = i;
		while (j < w.n && strcmp(w.rows[j].trade, w.rows[i].trade) == 0)
			j++;
		if (index >= offset + limit) {
			more = true;
			break;
		}
		if (index++ >= offset) {
			struct batches_call calls[256];
			struct batches_trade t, part;
			memset(&t, 0, sizeof(t));
			json_t *recs = json_array();
			/* combine in slices of 256 calls: the sums and flags add up */
			bool fail = false, flag = false;
			for (size_t k = i; k < j; k += 256) {
				size_t m = j - k < 256 ? j - k : 256;
				for (size_t q = 0; q < m; q++) {
					calls[q] = (struct batches_call){w.rows[k + q].verdict, w.rows[k + q].score,
									 w.rows[k + q].max_score};
					json_array_append_new(recs, json_integer(w.rows[k + q].rec));
				}
				batches_trade_combine(calls, m, &part);
				t.calls += part.calls;
				t.judged += part.judged;
				t.score_sum += part.score_sum;
				t.max_score_sum += part.max_score_sum;
				fail = fail || strcmp(part.verdict, "fail") == 0;
				flag = flag || strcmp(part.verdict, "flag") == 0;
			}
			const char *verdict = !t.judged ? NULL : fail ? "fail" : flag ? "flag" : "pass";
			json_t *o = json_pack("{s:s,s:i,s:i,s:f,s:f,s:o}", "trade_id", w.rows[i].trade,
					      "calls", t.calls, "judged", t.judged, "score_sum",
					      t.score_sum, "max_score_sum", t.max_score_sum,
					      "recordings", recs);
			json_object_set_new(o, "verdict", verdict ? json_string(verdict) : json_null());
			json_object_set_new(o, "score", t.max_score_sum > 0
				? json_real(t.score_sum / t.max_score_sum) : json_null());
			json_object_set_new(o, "complete", json_boolean(t.judged == t.calls));
			json_array_append_new(arr, o);
		}
		i = j;
	}
	*out = json_pack("{s:i,s:O,s:o}", "version", v, "trades", arr, "next",
			 more ? json_integer(offset + limit) : json_null());
	if (!*out)
		rc = NOMEM(err);
out:
	for (size_t i = 0; i < w.n; i++)
		free(w.rows[i].trade);
	free(w.rows);
	json_decref(arr);
	return rc;
}

enum parley_err batches_trades_csv(const struct batches_ctx *c, int64_t id, int version,
				   int offset, int limit, char **csv, struct parley_error *err)
{
	*csv = NULL;
	json_t *page = NULL;
	enum parley_err rc = batches_trades(c, id, version, offset, limit, &page, err);
	if (rc)
		return rc;
	struct strbuf sb;
	strbuf_init(&sb, (size_t)64 << 20);
	strbuf_adds(&sb, "trade_id,verdict,score,calls,judged,complete\r\n");
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(page, "trades"), i, t) {
		static const char *const cols[] = {"trade_id", "verdict", "score", "calls", "judged",
						   "complete"};
		for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
			if (k)
				strbuf_adds(&sb, ",");
			csv_value(&sb, json_object_get(t, cols[k]));
		}
		if (strbuf_adds(&sb, "\r\n")) {
			rc = parley_error_set(err, PARLEY_ERR_TOO_LARGE, "the CSV page is too large");
			break;
		}
	}
	json_decref(page);
	if (rc) {
		strbuf_release(&sb);
		return rc;
	}
	*csv = strbuf_detach(&sb, NULL);
	return PARLEY_OK;
}
