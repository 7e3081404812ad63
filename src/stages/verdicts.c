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
 * judge("criterion") rules: every criterion of the rules is asked at once
 * (engines/llm.h llm_ask_many, the worker's engine for the configuration's
 * "llm" section, stages/env.h stage_env_llm, shared with answers) with the
 * call's transcript (call_text_format: roles and times, IVR and hold left
 * out, at most VERDICTS_TRANSCRIPT_MAX bytes) and a JSON schema
 * {"verdict": "yes"|"no"|"unsure", "why": "…"}; "unsure" or an answer that
 * did not validate makes the judgement N/A (its why says so). Without an
 * LLM engine configured, judge() is N/A. Transport failures are the
 * engine's (transient: the recording is retried).
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
#include "engines/llm.h"
#include "stages/env.h"
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

#define VERDICTS_TRANSCRIPT_MAX ((size_t)48 << 10)

static const char judge_schema[] =
	"{\"type\":\"object\",\"properties\":{"
	"\"verdict\":{\"type\":\"string\",\"enum\":[\"yes\",\"no\",\"unsure\"]},"
	"\"why\":{\"type\":\"string\",\"maxLength\":500}},"
	"\"required\":[\"verdict\",\"why\"],\"additionalProperties\":false}";

static const char judge_system[] =
	"You audit recorded customer-service calls. You are given one criterion and the call's "
	"transcript (each line: [start-end seconds] role: words; the words are a speech "
	"recogniser's and may be slightly wrong). Decide whether the call meets the criterion. "
	"Answer in JSON only: verdict \"yes\" (it meets it), \"no\" (it does not) or \"unsure\" "
	"(the transcript does not tell), and why: one sentence quoting the words that decided.";

/* The answers to the rules' judge() criteria, asked before evaluating. */
struct judgements {
	const struct rules *r;
	size_t n;
	int *verdict;      /* 1, 0, -1 per criterion */
	char (*why)[512];
};

static enum parley_err judge_lookup(void *ud, const char *criterion, int *verdict, char *why,
				    size_t size, struct parley_error *err)
{
	const struct judgements *j = ud;
	for (size_t i = 0; i < j->n; i++)
		if (strcmp(rules_judge_criterion(j->r, i), criterion) == 0) {
			*verdict = j->verdict[i];
			snprintf(why, size, "%s", j->why[i]);
			return PARLEY_OK;
		}
	return parley_error_set(err, PARLEY_ERR_INTERNAL, "judge: criterion not asked");
}

static void judgements_release(struct judgements *j)
{
	free(j->verdict);
	free(j->why);
}

static bool judge_abort(void *ud)
{
	const struct stage_ctx *ctx = ud;
	return ctx->stop && *ctx->stop;
}

static enum parley_err judge_all(struct stage_ctx *ctx, const struct rules *r,
				 struct lazy_text *lt, struct judgements *j, struct parley_error *err)
{
	size_t n = rules_judge_count(r);
	if (n == 0 || !ctx->cfg->llm.engine[0])
		return PARLEY_OK; /* no judge: judge() is N/A */
	char *transcript = NULL, *user = NULL;
	struct llm_request *reqs = calloc(n, sizeof(*reqs));
	struct llm_answer *ans = calloc(n, sizeof(*ans));
	struct llm_engine *eng = NULL;
	struct llm_params lp;
	json_t *schema = json_loads(judge_schema, 0, NULL);
	enum parley_err rc = PARLEY_OK;
	size_t asked = 0;
	j->r = r;
	j->verdict = calloc(n, sizeof(*j->verdict));
	j->why = calloc(n, sizeof(*j->why));
	if (!reqs || !ans || !schema || !j->verdict || !j->why) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory asking the judge");
		goto out;
	}
	if (!lt->loaded) {
		if ((rc = call_text_load(lt->st, lt->rec, &lt->t, err)))
			goto out;
		lt->loaded = true;
	}
	if ((rc = call_text_format(&lt->t, lt->t.talk_start, lt->t.talk_end, NULL,
				   VERDICTS_TRANSCRIPT_MAX, &transcript, err)))
		goto out;
	size_t tlen = strlen(transcript), per = tlen + 2 * RULES_STRING_MAX + 64;
	if (!(user = malloc(n * per))) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory asking the judge");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char *u = user + i * per;
		snprintf(u, per, "Criterion: %s\n\nTranscript:\n%s", rules_judge_criterion(r, i),
			 transcript[0] ? transcript : "(no words)");
		reqs[i] = (struct llm_request){.system = judge_system, .user = u, .schema = schema,
					       .schema_name = "judgement"};
	}
	if ((rc = stage_env_llm(ctx->env, ctx->cfg, &eng, &lp, err)))
		goto out;
	if (!eng) /* cannot happen with an engine configured; N/A all the same */
		goto out;
	lp.abort = judge_abort;
	lp.user_data = ctx;
	if ((rc = llm_ask_many(eng, &lp, reqs, n, ans, err)))
		goto out;
	asked = n;
	for (size_t i = 0; i < n; i++) {
		const char *v = json_string_value(json_object_get(ans[i].json, "verdict"));
		const char *why = json_string_value(json_object_get(ans[i].json, "why"));
		j->verdict[i] = !ans[i].valid || !v ? -1 : strcmp(v, "yes") == 0 ? 1
							 : strcmp(v, "no") == 0  ? 0 : -1;
		if (!ans[i].valid)
			snprintf(j->why[i], sizeof(j->why[i]), "the LLM's answer did not validate: %s",
				 ans[i].error);
		else
			snprintf(j->why[i], sizeof(j->why[i]), "%s", why ? why : "");
	}
	j->n = n;
out:
	for (size_t i = 0; i < asked; i++)
		llm_answer_release(&ans[i]);
	json_decref(schema);
	free(ans);
	free(reqs);
	free(user);
	free(transcript);
	return rc;
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
	struct judgements judged = {0};
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
	    (rc = store_recording_metadata_get(st, ctx->rec->id, &metadata, err)) ||
	    (rc = judge_all(ctx, rules, &lt, &judged, err)))
		goto out;
	struct rules_input in = {
		.answers = answers, .nanswers = nanswers, .metrics = metrics, .nmetrics = nmetrics,
		.metadata = metadata, .phrase = lazy_phrase, .phrase_ud = &lt,
		.judge = judged.n ? judge_lookup : NULL, .judge_ud = &judged,
	};
	if ((rc = rules_evaluate(rules, &in, &job.v, err)))
		goto out;
	job.have = true;
	rc = stage_commit(ctx, verdicts_save, &job, err);
out:
	judgements_release(&judged);
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
	.run = verdicts_run, .result_tables = verdicts_tables, .options = "llm",
	.export = verdicts_export, .optional = true,
};
