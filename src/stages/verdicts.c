/*
 * verdicts.c — stage "verdicts" ("llm2" of issue 14; optional: runs when a
 * stage list or the audit preset names it): the call's verdict under the
 * batch's current audit version. It reads that version ONCE at its start
 * (store_audit_get, version 0 = current), parses its rules (audit/rules.h),
 * reads the recording's answers of that version (the answers stage's), its
 * call metrics, its metadata row and — only when a rule tests phrases — its
 * words (audit/call_text.h), evaluates, and writes one verdicts row for that
 * version (store_verdict_put) in its commit. No audit version: nothing to
 * write, the stage is done. A version without rules: the verdict of the
 * questionnaire's form alone (rules.h SCORE AND VERDICT). Rules that no
 * longer parse (they were checked when stored) fail the recording with the
 * parser's "NAME:LINE:COL" message (permanent: INVALID).
 *
 * Its export adds "verdict" to transcript.json: {"version", "verdict",
 * "score", "max_score", "auto_fail", "reasons": [...]}.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/call_text.h"
#include "audit/rules.h"
#include "stages/stage.h"
#include "store/store_audit.h"
#include "store/store_call.h"

struct verdicts_job {
	int version;
	bool have; /* a verdict to write */
	struct store_verdict v;
};

static enum parley_err verdicts_save(struct store *st, int64_t rec_id, void *data,
				     struct parley_error *err)
{
	const struct verdicts_job *j = data;
	return j->have ? store_verdict_put(st, rec_id, j->version, &j->v, err) : PARLEY_OK;
}

/* The call's words, loaded on the first phrase test. */
struct lazy_text {
	struct store *st;
	const struct store_recording *rec;
	bool loaded;
	struct call_text t;
};

static enum parley_err lazy_phrase(void *ud, const struct rules_phrase_test *t,
				   struct rules_phrase_hit *hit, struct parley_error *err)
{
	struct lazy_text *lt = ud;
	if (!lt->loaded) {
		enum parley_err rc = call_text_load(lt->st, lt->rec, &lt->t, err);
		if (rc)
			return rc;
		lt->loaded = true;
	}
	return rules_phrase_call_text(&lt->t, t, hit, err);
}

static enum parley_err verdicts_run(struct stage_ctx *ctx, struct parley_error *err)
{
	struct store *st = ctx->store;
	struct store_audit audit = {0};
	struct verdicts_job job = {0};
	struct rules *rules = NULL;
	struct store_answer *answers = NULL;
	struct store_call_metric *metrics = NULL;
	size_t nanswers = 0, nmetrics = 0;
	char *metadata = NULL;
	struct lazy_text lt = {.st = st, .rec = ctx->rec};
	enum parley_err rc = store_audit_get(st, ctx->rec->batch_id, 0, &audit, err);
	if (rc == PARLEY_ERR_NOT_FOUND) { /* the batch has no audit: nothing to judge */
		parley_error_clear(err);
		rc = stage_commit(ctx, verdicts_save, &job, err);
		goto out;
	}
	if (rc)
		goto out;
	job.version = audit.version;
	if (audit.rules && audit.rules[0]) {
		char name[64];
		snprintf(name, sizeof(name), "rules (audit version %d)", audit.version);
		if ((rc = rules_parse(audit.rules, strlen(audit.rules), name, NULL, &rules, err)))
			goto out;
	}
	if ((rc = store_answers_get(st, ctx->rec->id, audit.version, &answers, &nanswers, err)) ||
	    (rc = store_call_metrics_get(st, ctx->rec->id, &metrics, &nmetrics, err)) ||
	    (rc = store_recording_metadata_get(st, ctx->rec->id, &metadata, err)))
		goto out;
	struct rules_input in = {
		.answers = answers, .nanswers = nanswers, .metrics = metrics, .nmetrics = nmetrics,
		.metadata = metadata, .phrase = lazy_phrase, .phrase_ud = &lt,
	};
	if ((rc = rules_evaluate(rules, &in, &job.v, err)))
		goto out;
	job.have = true;
	rc = stage_commit(ctx, verdicts_save, &job, err);
out:
	if (lt.loaded)
		call_text_release(&lt.t);
	free(metadata);
	free(metrics);
	store_answers_free(answers, nanswers);
	rules_free(rules);
	store_verdict_release(&job.v);
	store_audit_release(&audit);
	return rc;
}

static enum parley_err verdicts_export(const struct stage_export *x, struct parley_error *err)
{
	if (!x->done)
		return PARLEY_OK;
	struct store_verdict v = {0};
	bool found = false;
	int version = 0;
	enum parley_err rc = store_audit_current(x->store, x->rec->batch_id, &version, err);
	if (!rc && version > 0)
		rc = store_verdict_get(x->store, x->rec->id, version, &v, &found, err);
	if (rc || !found)
		return rc;
	json_t *reasons = json_loads(v.reasons ? v.reasons : "[]", 0, NULL);
	json_t *o = json_pack("{s:i, s:s, s:f, s:f, s:b, s:o}", "version", version, "verdict",
			      v.verdict, "score", v.score, "max_score", v.max_score, "auto_fail",
			      v.auto_fail, "reasons", reasons ? reasons : json_array());
	if (!o || json_object_set_new(x->transcript, "verdict", o))
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory exporting the verdict");
	store_verdict_release(&v);
	return rc;
}

static const char *const verdicts_tables[] = {"verdicts", NULL};

const struct stage stage_verdicts = {
	.name = "verdicts",
	.description = "the call's verdict (pass, fail, flag), score and reasons from the batch's "
		       "rules and questionnaire answers",
	.run = verdicts_run, .result_tables = verdicts_tables, .export = verdicts_export,
	.optional = true,
};
