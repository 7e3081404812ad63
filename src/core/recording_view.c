/* recording_view.c — see recording_view.h. */
#include "core/recording_view.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/batch_config.h"
#include "core/batches.h"
#include "core/export.h"
#include "core/pipeline.h"
#include "stages/env.h"
#include "stages/stage.h"
#include "store/store_audit.h"
#include "store/store_batch.h"
#include "store/store_call.h"
#include "text/lexicon.h"
#include "util/fs.h"

#define NOMEM(err) parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory building a recording view")
#define SESSION_BATCH_PREFIX "session:"
#define STAGES_MAX 32
#define PHRASE_MAX 8 /* recogniser words one corrected word may come from */

/* The recording and its batch, when u may see them. */
struct rec_access {
	struct store_recording rec;
	struct sbatch_row batch;
	bool session; /* a session's recording: batch.name is "session:<id>" */
	const char *session_id;
};

static enum parley_err not_found(struct parley_error *err, int64_t id)
{
	return parley_error_set(err, PARLEY_ERR_NOT_FOUND, "no recording %lld", (long long)id);
}

static enum parley_err access_check(const struct session_ctx *c, const struct session_user *u,
				    int64_t id, struct rec_access *a, struct parley_error *err)
{
	memset(a, 0, sizeof(*a));
	if (id < 1 || id > RECORDING_ID_MAX)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"recording id %lld is not 1 to %lld", (long long)id,
					RECORDING_ID_MAX);
	enum parley_err rc = store_recording_get(c->store, id, &a->rec, err);
	if (rc == PARLEY_ERR_NOT_FOUND)
		return not_found(err, id);
	if (rc)
		return rc;
	bool found = false;
	if ((rc = sbatch_get(c->store, a->rec.batch_id, &a->batch, &found, err)))
		return rc;
	if (!found)
		return not_found(err, id);
	a->session = strcmp(a->batch.kind, "session") == 0 &&
		     strncmp(a->batch.name, SESSION_BATCH_PREFIX, strlen(SESSION_BATCH_PREFIX)) == 0;
	if (a->session) {
		a->session_id = a->batch.name + strlen(SESSION_BATCH_PREFIX);
		struct parley_error e2 = {0};
		rc = session_visible(c, u, a->session_id, &e2);
		if (rc == PARLEY_ERR_NOT_FOUND || rc == PARLEY_ERR_INVALID)
			return not_found(err, id);
		if (rc)
			*err = e2;
		return rc;
	}
	if (!batches_user_may(u))
		return not_found(err, id);
	return PARLEY_OK;
}

static enum parley_err audio_file(const struct session_ctx *c, int64_t id, char *path,
				  size_t size, bool *exists, struct parley_error *err)
{
	char dir[PARLEY_PATH_MAX];
	enum parley_err rc = pipeline_recording_dir(c->data_dir, id, dir, sizeof(dir), err);
	if (!rc)
		rc = fs_path_join(path, size, dir, STAGE_AUDIO_FILE, err);
	struct stat sb;
	*exists = !rc && stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
	return rc;
}

enum parley_err recording_audio_path(const struct session_ctx *c, const struct session_user *u,
				     int64_t rec_id, char *path, size_t size,
				     struct parley_error *err)
{
	struct rec_access a;
	bool exists = false;
	enum parley_err rc = access_check(c, u, rec_id, &a, err);
	if (!rc)
		rc = audio_file(c, rec_id, path, size, &exists, err);
	if (!rc && !exists)
		rc = parley_error_set(err, PARLEY_ERR_CONFLICT,
				      "recording %lld has no decoded audio yet (its decode stage has "
				      "not run)", (long long)rec_id);
	return rc;
}

/* ------------------------------------------------------------------ parts */

static double ms(double x)
{
	return round(x * 1000.0) / 1000.0;
}

static json_t *parse_or(const char *text, json_t *fallback)
{
	json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	if (v) {
		json_decref(fallback);
		return v;
	}
	return fallback;
}

static json_t *speaker_num(int speaker)
{
	return speaker >= 0 ? json_integer(speaker + 1) : json_null();
}

struct stage_list {
	char names[STAGES_MAX][STORE_STAGE_NAME_MAX];
	enum store_status status[STAGES_MAX];
	bool listed[STAGES_MAX];
	size_t n;
};

static void stage_seen(const char *stage, enum store_status status, void *ud)
{
	struct stage_list *l = ud;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->names[i], stage) == 0) {
			l->status[i] = status;
			return;
		}
	if (l->n < STAGES_MAX) { /* a stage outside the batch's list (the worker's own) */
		snprintf(l->names[l->n], sizeof(l->names[0]), "%s", stage);
		l->status[l->n++] = status;
	}
}

static enum parley_err stages_part(const struct session_ctx *c, const struct rec_access *a,
				   json_t *v, struct parley_error *err)
{
	char pipeline[STORE_PIPELINE_MAX];
	struct stage_list l;
	memset(&l, 0, sizeof(l));
	enum parley_err rc = store_batch_get_pipeline(c->store, a->rec.batch_id, pipeline,
						      sizeof(pipeline), err);
	if (rc)
		return rc;
	for (const char *p = pipeline; *p && l.n < STAGES_MAX;) {
		size_t len = strcspn(p, ",");
		snprintf(l.names[l.n], sizeof(l.names[0]), "%.*s", (int)len, p);
		l.status[l.n++] = STORE_PENDING;
		p += len + (p[len] == ',');
	}
	if ((rc = store_stage_each(c->store, a->rec.id, stage_seen, &l, err)))
		return rc;
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < l.n; i++)
		json_array_append_new(arr, json_pack("{s:s,s:s}", "stage", l.names[i], "status",
						     store_status_name(l.status[i])));
	if (!arr)
		return NOMEM(err);
	json_object_set_new(v, "stages", arr);
	bool transcribed = false;
	for (size_t i = 0; i < l.n; i++)
		transcribed = transcribed || (strcmp(l.names[i], "words") == 0 &&
					      l.status[i] == STORE_DONE);
	json_object_set_new(v, "transcribed", json_boolean(transcribed));
	return PARLEY_OK;
}

/* speakers, turns, overlaps, events, spans, language, metrics */
static enum parley_err timeline_part(const struct session_ctx *c, int64_t id, json_t *v,
				     struct parley_error *err)
{
	struct store_speaker *spk = NULL;
	struct store_speaker_role *roles = NULL;
	struct store_segment *turns = NULL, *ovl = NULL;
	struct store_call_event *ev = NULL;
	struct store_call_span *sp = NULL;
	struct store_call_metric *m = NULL;
	struct store_count *counts = NULL;
	size_t nspk = 0, nroles = 0, nturns = 0, novl = 0, nev = 0, nsp = 0, nm = 0, ncounts = 0;
	struct store_call_language lang;
	bool has_lang = false;
	enum parley_err rc;
	if ((rc = store_speakers_get(c->store, id, &spk, &nspk, err)) ||
	    (rc = store_speaker_roles_get(c->store, id, &roles, &nroles, err)) ||
	    (rc = store_segments_get(c->store, id, "turn", &turns, &nturns, err)) ||
	    (rc = store_segments_get(c->store, id, "overlap", &ovl, &novl, err)) ||
	    (rc = store_call_events_get(c->store, id, &ev, &nev, err)) ||
	    (rc = store_call_spans_get(c->store, id, &sp, &nsp, err)) ||
	    (rc = store_call_metrics_get(c->store, id, &m, &nm, err)) ||
	    (rc = store_counts_get(c->store, id, &counts, &ncounts, err)) ||
	    (rc = store_call_language_get(c->store, id, &lang, &has_lang, err)))
		goto out;
	json_t *js = json_array(), *jt = json_array(), *jo = json_array(), *je = json_array();
	json_t *jp = json_array(), *jm = json_object();
	json_object_set_new(v, "speakers", js);
	json_object_set_new(v, "turns", jt);
	json_object_set_new(v, "overlaps", jo);
	json_object_set_new(v, "events", je);
	json_object_set_new(v, "spans", jp);
	json_object_set_new(v, "metrics", jm);
	if (!js || !jt || !jo || !je || !jp || !jm) {
		rc = NOMEM(err);
		goto out;
	}
	for (size_t i = 0; i < nspk; i++) {
		char label[32];
		snprintf(label, sizeof(label), "speaker-%d", spk[i].speaker + 1);
		const struct store_speaker_role *r = store_speaker_role_of(roles, nroles, spk[i].speaker);
		json_t *cnt = json_object();
		for (size_t k = 0; cnt && k < ncounts; k++)
			if (counts[k].speaker == spk[i].speaker)
				json_object_set_new(cnt, counts[k].word, json_integer(counts[k].count));
		json_t *sample = spk[i].sample_end > spk[i].sample_start
					 ? json_pack("{s:f,s:f}", "start", ms(spk[i].sample_start),
						     "end", ms(spk[i].sample_end))
					 : json_null();
		json_array_append_new(
			js, json_pack("{s:i,s:s,s:o,s:o,s:o,s:f,s:i,s:o,s:o}", "speaker",
				      spk[i].speaker + 1, "label", label, "role",
				      r ? json_string(r->role) : json_null(), "channel",
				      r && r->channel >= 0 ? json_integer(r->channel) : json_null(),
				      "role_source", r ? json_string(r->source) : json_null(),
				      "talk_time", ms(spk[i].talk_time), "turns", spk[i].turns,
				      "sample", sample, "counts", cnt ? cnt : json_object()));
	}
	for (size_t i = 0; i < nturns; i++)
		json_array_append_new(jt, json_pack("{s:f,s:f,s:o}", "start", ms(turns[i].start),
						    "end", ms(turns[i].end), "speaker",
						    speaker_num(turns[i].speaker)));
	for (size_t i = 0; i < novl; i++)
		json_array_append_new(jo, json_pack("{s:f,s:f,s:o}", "start", ms(ovl[i].start), "end",
						    ms(ovl[i].end), "speaker",
						    speaker_num(ovl[i].speaker)));
	for (size_t i = 0; i < nev; i++)
		json_array_append_new(
			je, json_pack("{s:s,s:f,s:f,s:o,s:o}", "kind", ev[i].kind, "start",
				      ms(ev[i].start), "end", ms(ev[i].end), "channel",
				      ev[i].channel >= 0 ? json_integer(ev[i].channel) : json_null(),
				      "detail", parse_or(ev[i].detail, json_object())));
	for (size_t i = 0; i < nsp; i++)
		json_array_append_new(jp, json_pack("{s:s,s:f,s:f,s:s,s:s}", "kind", sp[i].kind,
						    "start", ms(sp[i].start), "end", ms(sp[i].end),
						    "who", sp[i].who, "other", sp[i].other));
	for (size_t i = 0; i < nm; i++) {
		json_t *scope = json_object_get(jm, m[i].scope);
		if (!scope) {
			scope = json_object();
			json_object_set_new(jm, m[i].scope, scope);
		}
		json_object_set_new(scope, m[i].name, json_real(m[i].value));
	}
	json_object_set_new(v, "language",
			    has_lang ? json_pack("{s:s,s:s,s:f,s:b}", "code", lang.code, "source",
						 lang.source, "confidence", lang.confidence,
						 "expected", lang.expected)
				     : json_null());
out:
	free(spk);
	free(roles);
	free(turns);
	free(ovl);
	free(ev);
	free(sp);
	free(m);
	free(counts);
	return rc;
}

/* The recogniser's words final word i came from: raw[*j..k), where raw[k]
 * starts the next final word (the words stage keeps order and start times:
 * a correction is 1:1, a merged phrase many:1). "" when they read the same. */
static void heard_of(const struct store_word *w, size_t n, size_t i, const struct store_word *raw,
		     size_t nraw, size_t *j, char *out, size_t size)
{
	out[0] = '\0';
	if (*j >= nraw)
		return;
	size_t k = *j + 1;
	if (i + 1 < n) {
		size_t lim = *j + PHRASE_MAX < nraw ? *j + PHRASE_MAX : nraw;
		while (k < lim && !(raw[k].start == w[i + 1].start &&
				    raw[k].speaker == w[i + 1].speaker))
			k++;
		if (k >= lim)
			k = *j + 1;
	} else {
		k = nraw - *j <= PHRASE_MAX ? nraw : *j + 1;
	}
	size_t used = 0;
	for (size_t x = *j; x < k && used < size; x++)
		used += (size_t)snprintf(out + used, size - used, "%s%s", x > *j ? " " : "",
					 raw[x].text);
	if (strcmp(out, w[i].text) == 0)
		out[0] = '\0';
	*j = k;
}

static enum parley_err words_part(const struct session_ctx *c, const struct rec_access *a,
				  json_t *v, struct parley_error *err)
{
	struct store_word *w = NULL, *raw = NULL;
	size_t n = 0, nraw = 0;
	struct pipeline_config cfg;
	struct lexicon *lex = NULL;
	struct store_count *counts = NULL;
	size_t ncounts = 0;
	bool cfg_init = false;
	enum parley_err rc;
	if ((rc = store_words_get(c->store, a->rec.id, "words", &w, &n, err)) ||
	    (rc = store_words_get(c->store, a->rec.id, "stt_words", &raw, &nraw, err)) ||
	    (rc = store_counts_get(c->store, a->rec.id, &counts, &ncounts, err)))
		goto out;
	if (n > RECORDING_VIEW_WORDS_MAX || nraw > RECORDING_VIEW_WORDS_MAX) {
		rc = parley_error_set(err, PARLEY_ERR_TOO_LARGE,
				      "recording %lld has %zu words, more than the %d a view shows",
				      (long long)a->rec.id, n > nraw ? n : nraw,
				      RECORDING_VIEW_WORDS_MAX);
		goto out;
	}
	/* The lexicon the words stage used: the batch's configuration's. A
	 * configuration that no longer loads leaves the words unmarked. */
	struct parley_error lerr = {0};
	if (batch_config_load(c->store, a->rec.batch_id, &cfg, &lerr) == PARLEY_OK) {
		cfg_init = true;
		if (stage_config_lexicon(&cfg, &lex, &lerr) != PARLEY_OK)
			lex = NULL;
	}
	json_t *targets = json_array(), *jw = json_array();
	json_object_set_new(v, "targets", targets);
	json_object_set_new(v, "words", jw);
	if (!targets || !jw) {
		rc = NOMEM(err);
		goto out;
	}
	for (size_t t = 0; lex && t < lexicon_target_count(lex); t++)
		json_array_append_new(targets, json_string(lexicon_target_at(lex, t)->word));
	bool any_counted = false;
	for (size_t i = 0; i < ncounts; i++)
		any_counted = any_counted || counts[i].count > 0;
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_pack("{s:f,s:f,s:s,s:o,s:f}", "start", ms(w[i].start), "end",
				      ms(w[i].end), "word", w[i].text, "speaker",
				      speaker_num(w[i].speaker), "confidence", ms(w[i].confidence));
		if (!o) {
			rc = NOMEM(err);
			goto out;
		}
		if (lex && lexicon_is_target(lex, w[i].text)) {
			double pause = lexicon_pause_after(w[i].end, w[i].speaker,
							   i + 1 < n ? w[i + 1].start : 0.0,
							   i + 1 < n ? w[i + 1].speaker : -1);
			json_object_set_new(o, "target", json_true());
			json_object_set_new(o, "counted",
					    json_boolean(any_counted &&
							 lexicon_counts(lex, w[i].text,
									w[i].confidence, pause)));
		}
		char heard[STORE_WORD_MAX * PHRASE_MAX];
		if (nraw >= n) {
			heard_of(w, n, i, raw, nraw, &j, heard, sizeof(heard));
			if (heard[0])
				json_object_set_new(o, "heard", json_string(heard));
		}
		if (w[i].approximate)
			json_object_set_new(o, "approximate", json_true());
		json_array_append_new(jw, o);
	}
out:
	if (cfg_init)
		pipeline_config_release(&cfg);
	lexicon_free(lex);
	free(w);
	free(raw);
	free(counts);
	return rc;
}

/* The question texts of a questionnaire: id → text. */
static json_t *question_texts(const char *questionnaire)
{
	json_t *out = json_object();
	json_t *q = questionnaire ? json_loads(questionnaire, 0, NULL) : NULL;
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(q, "questions"), i, o) {
		const char *id = json_string_value(json_object_get(o, "id"));
		const char *text = json_string_value(json_object_get(o, "text"));
		if (out && id && text)
			json_object_set_new(out, id, json_string(text));
	}
	json_decref(q);
	return out;
}

static enum parley_err audit_part(const struct session_ctx *c, const struct rec_access *a,
				  json_t *v, struct parley_error *err)
{
	if (a->session || a->batch.audit_version <= 0) {
		json_object_set_new(v, "audit", json_null());
		return PARLEY_OK;
	}
	int version = a->batch.audit_version;
	struct store_audit au = {0};
	struct store_answer *ans = NULL;
	size_t nans = 0;
	struct store_verdict vd = {0};
	bool has_verdict = false;
	json_t *texts = NULL;
	enum parley_err rc;
	if ((rc = store_audit_get(c->store, a->batch.id, version, &au, err)) ||
	    (rc = store_answers_get(c->store, a->rec.id, version, &ans, &nans, err)) ||
	    (rc = store_verdict_get(c->store, a->rec.id, version, &vd, &has_verdict, err)))
		goto out;
	texts = question_texts(au.questionnaire);
	json_t *arr = json_array();
	json_t *o = json_pack("{s:i,s:o}", "version", version, "answers", arr);
	if (!o || !texts) {
		rc = NOMEM(err);
		goto out;
	}
	json_object_set_new(v, "audit", o);
	for (size_t i = 0; i < nans; i++) {
		json_t *t = json_object_get(texts, ans[i].question);
		json_t *x = json_pack("{s:s,s:O,s:o,s:s,s:b,s:f,s:f,s:f,s:b,s:b,s:o}", "question",
				      ans[i].question, "text", t ? t : json_null(), "answer",
				      parse_or(ans[i].answer, json_null()), "source", ans[i].source,
				      "na", ans[i].na, "score", ans[i].score, "max_score",
				      ans[i].max_score, "weight", ans[i].weight, "auto_fail",
				      ans[i].auto_fail, "valid", ans[i].valid, "evidence",
				      parse_or(ans[i].evidence, json_array()));
		if (x && ans[i].error[0])
			json_object_set_new(x, "error", json_string(ans[i].error));
		json_array_append_new(arr, x);
	}
	json_object_set_new(o, "verdict",
			    has_verdict
				    ? json_pack("{s:s,s:f,s:f,s:b,s:o}", "verdict", vd.verdict, "score",
						vd.score, "max_score", vd.max_score, "auto_fail",
						vd.auto_fail, "reasons", parse_or(vd.reasons, json_array()))
				    : json_null());
out:
	json_decref(texts);
	store_audit_release(&au);
	store_answers_free(ans, nans);
	store_verdict_release(&vd);
	return rc;
}

static enum parley_err owner_part(const struct session_ctx *c, const struct session_user *u,
				  const struct rec_access *a, json_t *v, struct parley_error *err)
{
	if (!a->session) {
		json_object_set_new(v, "kind", json_string("batch"));
		json_object_set_new(v, "batch", json_pack("{s:I,s:s,s:i}", "id",
							  (json_int_t)a->batch.id, "name",
							  a->batch.name, "audit_version",
							  a->batch.audit_version));
		json_object_set_new(v, "session", json_null());
		return PARLEY_OK;
	}
	json_t *spk = NULL;
	enum parley_err rc = session_speakers(c, u, a->session_id, &spk, err);
	if (rc)
		return rc;
	json_object_set_new(v, "kind", json_string("session"));
	json_object_set_new(v, "batch", json_null());
	json_object_set_new(v, "session", json_pack("{s:s,s:o}", "id", a->session_id, "speakers",
						    json_object_get(spk, "speakers")
							    ? json_incref(json_object_get(spk, "speakers"))
							    : json_array()));
	json_decref(spk);
	return PARLEY_OK;
}

/* "warnings": what transcript.json holds (a file shorter than its header said, …) */
static enum parley_err warnings_part(const struct session_ctx *c, const struct rec_access *a,
				     json_t *v, struct parley_error *err)
{
	json_t *w = NULL;
	enum parley_err rc = export_warnings_json(c->store, a->rec.batch_id, a->rec.id, &w, err);
	if (rc)
		return rc;
	json_object_set_new(v, "warnings", w);
	return PARLEY_OK;
}

enum parley_err recording_view(const struct session_ctx *c, const struct session_user *u,
			       int64_t rec_id, json_t **out, struct parley_error *err)
{
	*out = NULL;
	struct rec_access a;
	enum parley_err rc = access_check(c, u, rec_id, &a, err);
	if (rc)
		return rc;
	char path[PARLEY_PATH_MAX], url[64];
	bool audio = false;
	if ((rc = audio_file(c, rec_id, path, sizeof(path), &audio, err)))
		return rc;
	snprintf(url, sizeof(url), "/v1/recordings/%lld/audio", (long long)rec_id);
	json_t *v = json_pack("{s:I,s:s,s:s,s:o,s:i,s:f,s:o}", "id", (json_int_t)rec_id, "name",
			      a.rec.name, "status", store_status_name(a.rec.status), "error",
			      a.rec.error[0] ? json_string(a.rec.error) : json_null(), "attempts",
			      a.rec.attempts, "duration", ms(a.rec.duration), "audio_url",
			      audio ? json_string(url) : json_null());
	if (!v)
		return NOMEM(err);
	if ((rc = owner_part(c, u, &a, v, err)) || (rc = stages_part(c, &a, v, err)) ||
	    (rc = timeline_part(c, rec_id, v, err)) || (rc = words_part(c, &a, v, err)) ||
	    (rc = audit_part(c, &a, v, err)) || (rc = warnings_part(c, &a, v, err))) {
		json_decref(v);
		return rc;
	}
	*out = v;
	return PARLEY_OK;
}
