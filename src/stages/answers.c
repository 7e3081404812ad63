/*
 * answers.c — stage "answers" (optional; issue 14 "llm1"): answers the
 * batch's questionnaire for the recording (audit/answer.h: phrases, call
 * metrics, the LLM engine of the configuration's "llm" section) and saves
 * one answers row per question for the audit version it read.
 *
 * The version: the batch's current audit version (store_audit.h), read ONCE
 * at the start; the rows are written for that version only, so a reaudit
 * (a new version) never mixes with a run in flight. A batch without an audit
 * version, or whose version has no questionnaire, gets no rows (the stage is
 * done). A stored questionnaire that no longer parses fails the recording
 * (INVALID, permanent: it was checked when it was stored).
 *
 * What it reads: the call's words minus IVR/hold (audit/call_text.h), the
 * metrics stage's call_metrics (none when it did not run: metric questions
 * are then invalid answers, or N/A when allowed). LLM transport failures
 * fail the stage (retried as any transient failure); a reply that is not an
 * answer is an invalid answer, not a failure.
 *
 * Export: transcript.json "answers" (a list in questionnaire order:
 * question, answer, source, na, score, max_score, weight, auto_fail,
 * valid, error, evidence) and OUT/<name>/answers.csv
 * (question,answer,source,na,score,max_score,weight,auto_fail,valid,error,evidence).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/answer.h"
#include "audit/call_text.h"
#include "audit/questionnaire.h"
#include "engines/llm.h"
#include "stages/env.h"
#include "stages/stage.h"
#include "store/store_audit.h"
#include "store/store_call.h"
#include "util/fs.h"
#include "util/strbuf.h"

struct answers_result {
	int version; /* 0: nothing to write */
	struct store_answer *a;
	size_t n;
};

static enum parley_err answers_save(struct store *st, int64_t rec_id, void *data,
				    struct parley_error *err)
{
	const struct answers_result *r = data;
	if (!r->version)
		return PARLEY_OK;
	return store_answers_put(st, rec_id, r->version, r->a, r->n, err);
}

static bool answers_abort(void *ud)
{
	const struct stage_ctx *ctx = ud;
	return ctx->stop && *ctx->stop;
}

static enum parley_err answers_run(struct stage_ctx *ctx, struct parley_error *err)
{
	struct store_audit audit = {0};
	struct questionnaire *q = NULL;
	struct call_text text = {0};
	struct store_call_metric *m = NULL;
	size_t nm = 0;
	struct answers_result r = {0};
	enum parley_err rc = store_audit_get(ctx->store, ctx->rec->batch_id, 0, &audit, err);
	if (rc == PARLEY_ERR_NOT_FOUND) { /* no audit for this batch */
		parley_error_clear(err);
		rc = stage_commit(ctx, answers_save, &r, err);
		goto out;
	}
	if (rc)
		goto out;
	if (!audit.questionnaire || !audit.questionnaire[0]) {
		rc = stage_commit(ctx, answers_save, &r, err);
		goto out;
	}
	char name[64];
	snprintf(name, sizeof(name), "questionnaire v%d", audit.version);
	if ((rc = questionnaire_parse(audit.questionnaire, strlen(audit.questionnaire), name, &q,
				      err)) ||
	    (rc = call_text_load(ctx->store, ctx->rec, &text, err)) ||
	    (rc = store_call_metrics_get(ctx->store, ctx->rec->id, &m, &nm, err)))
		goto out;
	struct answer_input in = {.q = q, .text = &text, .metrics = m, .nmetrics = nm};
	struct llm_params lp;
	bool needs_llm = false;
	for (size_t i = 0; i < q->n; i++)
		needs_llm = needs_llm || q->q[i].how == QN_BY_LLM;
	if (needs_llm) {
		if ((rc = stage_env_llm(ctx->env, ctx->cfg, &in.llm, &lp, err)))
			goto out;
		lp.abort = answers_abort;
		lp.user_data = ctx;
		in.llm_params = &lp;
	}
	if ((rc = answers_compute(&in, &r.a, err)))
		goto out;
	r.n = q->n;
	r.version = audit.version;
	rc = stage_commit(ctx, answers_save, &r, err);
out:
	answers_free(r.a, r.n);
	free(m);
	call_text_release(&text);
	questionnaire_free(q);
	store_audit_release(&audit);
	return rc;
}

/* CSV field: quoted when it holds a comma, quote or line break. */
static enum parley_err csv_field(struct strbuf *sb, const char *s, bool last)
{
	enum parley_err rc;
	if (!strpbrk(s, ",\"\r\n")) {
		rc = strbuf_adds(sb, s);
	} else {
		rc = strbuf_adds(sb, "\"");
		for (const char *c = s; *c && !rc; c++)
			rc = *c == '"' ? strbuf_adds(sb, "\"\"") : strbuf_add(sb, c, 1);
		if (!rc)
			rc = strbuf_adds(sb, "\"");
	}
	return rc ? rc : strbuf_adds(sb, last ? "\n" : ",");
}

static const char answers_csv_header[] =
	"question,answer,source,na,score,max_score,weight,auto_fail,valid,error,evidence\n";

static enum parley_err answers_export(const struct stage_export *x, struct parley_error *err)
{
	if (!x->done)
		return PARLEY_OK;
	struct store_answer *a = NULL;
	size_t n = 0;
	struct strbuf sb;
	strbuf_init(&sb, (size_t)64 << 20);
	enum parley_err rc = store_answers_get(x->store, x->rec->id, 0, &a, &n, err);
	json_t *list = rc ? NULL : json_array();
	if (!rc && !list)
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory exporting answers");
	if (!rc && n)
		rc = strbuf_adds(&sb, answers_csv_header);
	for (size_t i = 0; i < n && !rc; i++) {
		json_error_t je;
		json_t *ans = json_loads(a[i].answer, JSON_DECODE_ANY, &je);
		json_t *ev = json_loads(a[i].evidence ? a[i].evidence : "[]", 0, &je);
		json_t *o = json_pack("{s:s, s:o, s:s, s:b, s:f, s:f, s:f, s:b, s:b, s:s, s:o}",
				      "question", a[i].question, "answer", ans ? ans : json_null(),
				      "source", a[i].source, "na", a[i].na, "score", a[i].score,
				      "max_score", a[i].max_score, "weight", a[i].weight, "auto_fail",
				      a[i].auto_fail, "valid", a[i].valid, "error", a[i].error,
				      "evidence", ev ? ev : json_array());
		if (!o || json_array_append_new(list, o)) {
			rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory exporting answers");
			break;
		}
		char num[3][32];
		snprintf(num[0], sizeof(num[0]), "%.10g", a[i].score);
		snprintf(num[1], sizeof(num[1]), "%.10g", a[i].max_score);
		snprintf(num[2], sizeof(num[2]), "%.10g", a[i].weight);
		const char *f[] = {a[i].question, a[i].answer, a[i].source, a[i].na ? "true" : "false",
				   num[0], num[1], num[2], a[i].auto_fail ? "true" : "false",
				   a[i].valid ? "true" : "false", a[i].error,
				   a[i].evidence ? a[i].evidence : "[]"};
		for (size_t k = 0; k < sizeof(f) / sizeof(f[0]) && !rc; k++)
			rc = csv_field(&sb, f[k], k + 1 == sizeof(f) / sizeof(f[0]));
	}
	if (!rc && n) {
		char path[STAGE_PATH_MAX];
		if ((size_t)snprintf(path, sizeof(path), "%s/answers.csv", x->out_dir) >= sizeof(path))
			rc = parley_error_set(err, PARLEY_ERR_TOO_LARGE, "%s: path too long", x->out_dir);
		else
			rc = fs_write_atomic(path, sb.buf, sb.len, err);
	}
	if (!rc && n)
		json_object_set(x->transcript, "answers", list);
	else if (rc == PARLEY_ERR_TOO_LARGE && !err->msg[0])
		parley_error_set(err, rc, "answers.csv: larger than 64 MiB");
	json_decref(list);
	strbuf_release(&sb);
	store_answers_free(a, n);
	return rc;
}

static const char *const answers_tables[] = {"answers", NULL};

const struct stage stage_answers = {
	.name = "answers",
	.description = "answers the batch's questionnaire (llm1): phrases, call metrics, the LLM",
	.run = answers_run, .result_tables = answers_tables, .options = "llm",
	.export = answers_export, .optional = true,
};
