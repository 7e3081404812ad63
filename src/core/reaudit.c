/* reaudit.c — see reaudit.h. */
#include "core/reaudit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/batch_config.h"
#include "core/pipeline.h"
#include "store/store_audit.h"
#include "store/store_batch.h"

#define NOMEM(err) parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory")

static bool same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

enum parley_err reaudit_run(struct store *st, int64_t batch, const struct reaudit_params *p,
			    struct reaudit_result *out, struct parley_error *err)
{
	memset(out, 0, sizeof(*out));
	struct sbatch_row b;
	bool found = false;
	int64_t busy = 0;
	enum parley_err rc = sbatch_get(st, batch, &b, &found, err);
	if (rc)
		return rc;
	if (!found || strcmp(b.kind, "batch") != 0)
		return parley_error_set(err, PARLEY_ERR_NOT_FOUND, "no batch %lld", (long long)batch);
	if (!b.started)
		return parley_error_set(err, PARLEY_ERR_CONFLICT,
					"batch %lld has not started: nothing to audit again", (long long)batch);
	struct store_audit cur = {0};
	if (b.audit_version > 0 && (rc = store_audit_get(st, batch, 0, &cur, err)))
		return rc;
	const char *q = p->questionnaire ? p->questionnaire : cur.questionnaire;
	const char *r = p->rules ? p->rules : cur.rules;
	const char *from = p->from_stage && *p->from_stage ? p->from_stage
			 : !same(q, cur.questionnaire) ? "answers"
			 : !same(r, cur.rules) ? "verdicts" : NULL;
	char list[STORE_PIPELINE_MAX];
	const struct stage *rows[64];
	struct pipeline pl = pipeline_default();
	char before[STORE_PIPELINE_MAX] = "", rerun[STORE_PIPELINE_MAX] = "";
	size_t at = 0;
	if (!from) {
		rc = parley_error_set(err, PARLEY_ERR_INVALID,
				      "nothing changed: give a new questionnaire or rules, or from_stage");
		goto out;
	}
	if ((rc = store_batch_get_pipeline(st, batch, list, sizeof(list), err)) ||
	    (list[0] && (rc = pipeline_parse(list, rows, &pl, err))))
		goto out;
	while (at < pl.count && strcmp(pl.stages[at]->name, from) != 0)
		at++;
	if (at == pl.count) {
		rc = parley_error_set(err, PARLEY_ERR_INVALID,
				      "stage '%.40s' is not in batch %lld's pipeline (%s)%s", from,
				      (long long)batch, list[0] ? list : "the default",
				      p->from_stage ? "" : ": give from_stage");
		goto out;
	}
	for (size_t i = 0, ub = 0, ur = 0; i < pl.count; i++) {
		char *dst = i < at ? before : rerun;
		size_t *used = i < at ? &ub : &ur;
		*used += (size_t)snprintf(dst + *used, sizeof(before) - *used, "%s%s", *used ? "," : "",
					  pl.stages[i]->name);
	}
	if (p->questionnaire || p->rules) {
		struct pipeline_config cfg;
		if ((rc = batch_config_load(st, batch, &cfg, err)))
			goto out;
		rc = batches_check_audit(q, r, &cfg, err);
		pipeline_config_release(&cfg);
		if (rc)
			goto out;
	}
	snprintf(out->from_stage, sizeof(out->from_stage), "%s", from);
	if ((rc = store_begin(st, err)))
		goto out;
	char msg[160];
	if ((rc = sbatch_unfinished(st, batch, &busy, err)))
		goto fail;
	if (busy) {
		rc = parley_error_set(err, PARLEY_ERR_CONFLICT,
				      "batch %lld is still running (%lld recordings not finished)",
				      (long long)batch, (long long)busy);
		goto fail;
	}
	if ((rc = sbatch_reset_from(st, batch, before, rerun, from, &out->reset, err)) ||
	    (rc = store_audit_add(st, batch, q, r, from, &out->version, err)))
		goto fail;
	snprintf(msg, sizeof(msg), "audit version %d from stage %s: %lld recordings", out->version,
		 from, (long long)out->reset);
	if ((rc = store_event_add(st, batch, 0, from, "reaudit", msg, err)) ||
	    (rc = store_commit(st, err)))
		goto fail;
	goto out;
fail:
	store_rollback(st);
out:
	store_audit_release(&cur);
	return rc;
}

/* A text field given as a string, or (questionnaire) as an object. */
static enum parley_err req_text(const json_t *req, const char *key, bool object_ok, char **out,
				struct parley_error *err)
{
	*out = NULL;
	json_t *v = json_object_get(req, key);
	if (!v || json_is_null(v))
		return PARLEY_OK;
	if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v))
		*out = strdup(json_string_value(v));
	else if (object_ok && json_is_object(v))
		*out = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	else
		return parley_error_set(err, PARLEY_ERR_INVALID, "field \"%s\" must be %s", key,
					object_ok ? "an object or a string" : "a string");
	return *out ? PARLEY_OK : NOMEM(err);
}

enum parley_err reaudit_request(const struct batches_ctx *c, int64_t batch, const json_t *req,
				json_t **out, struct parley_error *err)
{
	*out = NULL;
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)req, key, v) {
		if (strcmp(key, "questionnaire") && strcmp(key, "rules") && strcmp(key, "from_stage"))
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"unknown field \"%.64s\" (known: questionnaire, rules, "
						"from_stage)", key);
	}
	json_t *fs = json_object_get(req, "from_stage");
	if (fs && !json_is_null(fs) && !json_is_string(fs))
		return parley_error_set(err, PARLEY_ERR_INVALID, "field \"from_stage\" must be a string");
	char *q = NULL, *r = NULL;
	enum parley_err rc;
	if ((rc = req_text(req, "questionnaire", true, &q, err)) ||
	    (rc = req_text(req, "rules", false, &r, err)))
		goto out;
	struct reaudit_params p = {.questionnaire = q, .rules = r,
				   .from_stage = json_is_string(fs) ? json_string_value(fs) : NULL};
	struct reaudit_result res;
	if ((rc = reaudit_run(c->store, batch, &p, &res, err)))
		goto out;
	if (res.reset && c->on_queued && (rc = c->on_queued(c->ud, err)))
		goto out;
	*out = json_pack("{s:I,s:i,s:s,s:I}", "batch", (json_int_t)batch, "version", res.version,
			 "from_stage", res.from_stage, "requeued", (json_int_t)res.reset);
	if (!*out)
		rc = NOMEM(err);
out:
	free(q);
	free(r);
	return rc;
}

/* ----------------------------------------------------------------- changes */

/* The names of the rules in a reasons array's text. */
static json_t *rule_names(const char *reasons)
{
	json_t *arr = json_loads(reasons ? reasons : "[]", 0, NULL), *names = json_array();
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o) {
		json_t *n = json_object_get(o, "rule");
		if (json_is_string(n))
			json_array_append(names, n);
	}
	json_decref(arr);
	return names;
}

static bool has_name(json_t *arr, const char *name)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		if (strcmp(json_string_value(v), name) == 0)
			return true;
	return false;
}

/* The names in a that are not in b. */
static json_t *minus(json_t *a, json_t *b)
{
	json_t *out = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
		if (!has_name(b, json_string_value(v)))
			json_array_append(out, v);
	return out;
}

static json_t *verdict_json(const struct store_verdict *v, bool found)
{
	if (!found)
		return json_null();
	return json_pack("{s:s,s:f,s:f,s:b}", "verdict", v->verdict, "score", v->score, "max_score",
			 v->max_score, "auto_fail", v->auto_fail);
}

static json_t *answer_value(const struct store_answer *a)
{
	json_t *v = a ? json_loads(a->answer, JSON_DECODE_ANY, NULL) : NULL;
	return v ? v : json_null();
}

/* Questions whose answer differs between the two versions (in either). */
static json_t *answer_diff(const struct store_answer *a, size_t na, const struct store_answer *b,
			   size_t nb)
{
	json_t *out = json_array();
	for (size_t i = 0; i < nb; i++) {
		const struct store_answer *old = NULL;
		for (size_t k = 0; k < na && !old; k++)
			if (strcmp(a[k].question, b[i].question) == 0)
				old = &a[k];
		if (old && strcmp(old->answer, b[i].answer) == 0 && old->na == b[i].na)
			continue;
		json_array_append_new(out, json_pack("{s:s,s:o,s:o}", "question", b[i].question, "old",
						     answer_value(old), "new", answer_value(&b[i])));
	}
	for (size_t k = 0; k < na; k++) {
		bool kept = false;
		for (size_t i = 0; i < nb && !kept; i++)
			kept = strcmp(a[k].question, b[i].question) == 0;
		if (!kept)
			json_array_append_new(out, json_pack("{s:s,s:o,s:n}", "question", a[k].question,
							     "old", answer_value(&a[k]), "new"));
	}
	return out;
}

struct ch_walk {
	struct store *st;
	int from, to;
	json_t *arr;
	int64_t last;
	int n;
	enum parley_err rc;
	struct parley_error *err;
};

static int ch_one(const struct sbatch_result *r, void *ud)
{
	struct ch_walk *w = ud;
	w->last = r->id;
	w->n++;
	struct store_verdict old = {0}, cur = {0};
	bool has_old = false, has_new = false;
	struct store_answer *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	if ((w->rc = store_verdict_get(w->st, r->id, w->from, &old, &has_old, w->err)) ||
	    (w->rc = store_verdict_get(w->st, r->id, w->to, &cur, &has_new, w->err)) ||
	    (w->rc = store_answers_get(w->st, r->id, w->from, &a, &na, w->err)) ||
	    (w->rc = store_answers_get(w->st, r->id, w->to, &b, &nb, w->err)))
		goto out;
	json_t *on = rule_names(has_old ? old.reasons : NULL), *nn = rule_names(has_new ? cur.reasons : NULL);
	json_t *fired = minus(nn, on), *cleared = minus(on, nn);
	json_t *answers = answer_diff(a, na, b, nb);
	bool changed = has_old != has_new || json_array_size(fired) || json_array_size(cleared) ||
		       json_array_size(answers) ||
		       (has_old && has_new && (strcmp(old.verdict, cur.verdict) != 0 ||
					       old.score != cur.score || old.max_score != cur.max_score));
	if (changed)
		json_array_append_new(w->arr, json_pack("{s:I,s:s,s:o,s:o,s:o,s:o,s:o}", "recording",
			(json_int_t)r->id, "name", r->name, "old", verdict_json(&old, has_old), "new",
			verdict_json(&cur, has_new), "answers", answers, "rules_fired", fired,
			"rules_cleared", cleared));
	else {
		json_decref(answers);
		json_decref(fired);
		json_decref(cleared);
	}
	json_decref(on);
	json_decref(nn);
out:
	store_verdict_release(&old);
	store_verdict_release(&cur);
	store_answers_free(a, na);
	store_answers_free(b, nb);
	return w->rc != PARLEY_OK;
}

enum parley_err reaudit_changes(const struct batches_ctx *c, int64_t batch, int from, int to,
				int64_t after, int limit, json_t **out, struct parley_error *err)
{
	*out = NULL;
	struct sbatch_row b;
	bool found = false;
	enum parley_err rc = sbatch_get(c->store, batch, &b, &found, err);
	if (rc)
		return rc;
	if (!found || strcmp(b.kind, "batch") != 0)
		return parley_error_set(err, PARLEY_ERR_NOT_FOUND, "no batch %lld", (long long)batch);
	if (limit < 1 || limit > BATCHES_PAGE_MAX)
		limit = 100;
	to = to ? to : b.audit_version;
	from = from ? from : to - 1;
	if (to < 1 || to > b.audit_version || from < 1 || from > b.audit_version)
		return parley_error_set(err, PARLEY_ERR_NOT_FOUND,
					"batch %lld has audit versions 1 to %d: no changes from %d to %d",
					(long long)batch, b.audit_version, from, to);
	struct ch_walk w = {.st = c->store, .from = from, .to = to, .arr = json_array(), .err = err};
	if (!w.arr)
		return NOMEM(err);
	rc = sbatch_results(c->store, batch, to, after, limit, ch_one, &w, err);
	if (!rc)
		rc = w.rc;
	if (rc) {
		json_decref(w.arr);
		return rc;
	}
	*out = json_pack("{s:i,s:i,s:o,s:o}", "from", from, "to", to, "changes", w.arr, "next",
			 w.n == limit ? json_integer(w.last) : json_null());
	return *out ? PARLEY_OK : NOMEM(err);
}
