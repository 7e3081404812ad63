/* answer.c — see answer.h. */
#include "audit/answer.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/phrase.h"

const char answer_system_prompt[] =
	"You audit recorded customer service calls. Answer the question about the call from "
	"its transcript alone (lines \"[start-end seconds] role: words\"). Reply with a JSON "
	"object: \"answer\" as the question asks, and \"quote\": the transcript's exact words "
	"your answer rests on (\"\" when there are none).";

/* ------------------------------------------------------------- schema */

json_t *answer_schema(const struct qn_question *q)
{
	json_t *ans = NULL;
	if (q->type == QN_YES_NO || q->type == QN_SINGLE_CHOICE) {
		json_t *e = json_array();
		for (size_t i = 0; i < q->nchoices; i++)
			json_array_append_new(e, json_string(q->choices[i].id));
		if (q->na_allowed)
			json_array_append_new(e, json_string("n/a"));
		ans = json_pack("{s:s, s:o}", "type", "string", "enum", e);
	} else if (q->type == QN_MULTIPLE_CHOICE) {
		json_t *e = json_array();
		for (size_t i = 0; i < q->nchoices; i++)
			json_array_append_new(e, json_string(q->choices[i].id));
		ans = json_pack("{s:s, s:{s:s, s:o}, s:I}", "type", "array", "items", "type", "string",
				"enum", e, "maxItems", (json_int_t)q->nchoices);
	} else if (q->type == QN_NUMBER) {
		ans = q->na_allowed ? json_pack("{s:[s,s]}", "type", "number", "null")
				    : json_pack("{s:s}", "type", "number");
	} else {
		ans = json_pack("{s:s, s:i, s:i}", "type", "string", "minLength", 1, "maxLength",
				ANSWER_TEXT_MAX);
	}
	return json_pack("{s:s, s:{s:o, s:{s:s, s:i}}, s:[s,s], s:b}", "type", "object",
			 "properties", "answer", ans, "quote", "type", "string", "maxLength", 1000,
			 "required", "answer", "quote", "additionalProperties", 0);
}

/* ------------------------------------------------------------- prompt */

struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_add(struct sbuf *b, const char *fmt, ...)
{
	if (b->oom)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->s && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *ns = realloc(b->s, cap);
		if (!ns) {
			b->oom = true;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
}

enum parley_err answer_prompt(const struct qn_question *q, const struct call_text *t, char **out,
			      struct parley_error *err)
{
	struct sbuf b = {0};
	char win[64], *tr = NULL;
	double from, to;
	*out = NULL;
	call_window_bounds(t, &q->window, &from, &to);
	call_window_describe(&q->window, win, sizeof(win));
	enum parley_err rc = call_text_format(t, from, to, q->role, ANSWER_TRANSCRIPT_MAX, &tr, err);
	if (rc)
		return rc;
	sb_add(&b, "Question: %s\n", q->text);
	if (q->instructions[0])
		sb_add(&b, "Instructions: %s\n", q->instructions);
	sb_add(&b, "Answer type: %s\n", qn_type_name(q->type));
	if (q->type == QN_YES_NO || q->type == QN_SINGLE_CHOICE || q->type == QN_MULTIPLE_CHOICE) {
		sb_add(&b, "%s\n", q->type == QN_MULTIPLE_CHOICE
					  ? "Answer with a list of every choice id that applies:"
					  : "Answer with one choice id:");
		for (size_t i = 0; i < q->nchoices; i++)
			sb_add(&b, "- %s: %s\n", q->choices[i].id, q->choices[i].text);
		if (q->na_allowed && q->type != QN_MULTIPLE_CHOICE)
			sb_add(&b, "- n/a: the question does not apply to this call\n");
	} else if (q->type == QN_NUMBER) {
		sb_add(&b, "Answer with a number%s.\n", q->na_allowed ? " (null when it does not apply)" : "");
	} else {
		sb_add(&b, "Answer with a short text (at most %d characters).\n", ANSWER_TEXT_MAX);
	}
	sb_add(&b, "Transcript (%s%s%s):\n%s", win, q->role[0] ? ", words of the " : "",
	       q->role[0] ? q->role : "", tr[0] ? tr : "(no words)\n");
	free(tr);
	if (b.oom) {
		free(b.s);
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory building a prompt");
	}
	*out = b.s;
	return PARLEY_OK;
}

/* ---------------------------------------------------------- normalise */

/* s lower-cased, with only letters, digits and single spaces, trimmed. */
static void squash(const char *s, char *out, size_t size)
{
	size_t o = 0;
	bool space = false;
	for (const unsigned char *p = (const unsigned char *)s; *p && o + 2 < size; p++) {
		if (isalnum(*p) || *p >= 0x80 || *p == '/') {
			if (space && o)
				out[o++] = ' ';
			space = false;
			out[o++] = *p < 0x80 ? (char)tolower(*p) : (char)*p;
		} else {
			space = true;
		}
	}
	out[o] = '\0';
}

static bool is_na(const char *sq)
{
	static const char *const na[] = {"n/a", "na", "n a", "not applicable", "none", "null",
					 "does not apply", "not relevant"};
	for (size_t i = 0; i < sizeof(na) / sizeof(na[0]); i++)
		if (strcmp(sq, na[i]) == 0)
			return true;
	return false;
}

/* Starts with word w followed by the end or a space. */
static bool starts_word(const char *sq, const char *w)
{
	size_t n = strlen(w);
	return n && strncmp(sq, w, n) == 0 && (sq[n] == '\0' || sq[n] == ' ');
}

static const struct qn_choice *match_choice(const struct qn_question *q, const char *text)
{
	char sq[512], a[512], b[512];
	squash(text, sq, sizeof(sq));
	if (!sq[0])
		return NULL;
	if (q->type == QN_YES_NO) {
		static const char *const yes[] = {"yes", "y", "true", "yeah", "yep", "correct", "1"};
		static const char *const no[] = {"no", "n", "false", "nope", "incorrect", "0"};
		for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
			if (starts_word(sq, yes[i]))
				return &q->choices[0];
		for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
			if (starts_word(sq, no[i]))
				return &q->choices[1];
	}
	for (size_t i = 0; i < q->nchoices; i++) { /* exactly an id or a text */
		squash(q->choices[i].id, a, sizeof(a));
		squash(q->choices[i].text, b, sizeof(b));
		if (strcmp(sq, a) == 0 || strcmp(sq, b) == 0)
			return &q->choices[i];
	}
	const struct qn_choice *found = NULL; /* starts with exactly one choice's id or text */
	for (size_t i = 0; i < q->nchoices; i++) {
		squash(q->choices[i].id, a, sizeof(a));
		squash(q->choices[i].text, b, sizeof(b));
		if (starts_word(sq, a) || starts_word(sq, b)) {
			if (found && found != &q->choices[i])
				return NULL;
			found = &q->choices[i];
		}
	}
	return found;
}

static bool first_number(const char *s, double *v)
{
	for (const char *p = s; *p; p++) {
		if (isdigit((unsigned char)*p) ||
		    ((*p == '-' || *p == '.') && isdigit((unsigned char)p[1]))) {
			char *end = NULL;
			double d = strtod(p, &end);
			if (end != p && isfinite(d)) {
				*v = d;
				return true;
			}
		}
	}
	return false;
}

bool answer_normalise(const struct qn_question *q, const json_t *value, json_t **answer,
		      bool *na, char *why, size_t size)
{
	*answer = NULL;
	*na = false;
	char sq[512];
	if (!value || json_is_null(value) ||
	    (json_is_string(value) && (squash(json_string_value(value), sq, sizeof(sq)), is_na(sq)))) {
		if (q->na_allowed && q->type != QN_MULTIPLE_CHOICE) {
			*na = true;
			return true;
		}
		if (q->type == QN_MULTIPLE_CHOICE && value && json_is_string(value)) {
			*answer = json_array(); /* "none" of a list: nothing applies */
			return *answer != NULL;
		}
		snprintf(why, size, "the reply has no answer%s", q->na_allowed ? "" : " (N/A is not allowed)");
		return false;
	}
	switch (q->type) {
	case QN_YES_NO:
	case QN_SINGLE_CHOICE: {
		const struct qn_choice *c = NULL;
		if (json_is_boolean(value) && q->type == QN_YES_NO)
			c = &q->choices[json_is_true(value) ? 0 : 1];
		else if (json_is_string(value))
			c = match_choice(q, json_string_value(value));
		if (!c) {
			char *t = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
			snprintf(why, size, "the answer %.80s is not one of the choices", t ? t : "?");
			free(t);
			return false;
		}
		*answer = json_string(c->id);
		return *answer != NULL;
	}
	case QN_MULTIPLE_CHOICE: {
		json_t *list = json_array();
		if (!list)
			return false;
		size_t n = json_is_array(value) ? json_array_size(value) : 1;
		char *csv = NULL;
		if (json_is_string(value)) { /* "a, b and c" */
			csv = strdup(json_string_value(value));
			if (!csv) {
				json_decref(list);
				return false;
			}
		}
		char *save = NULL, *tok = csv ? strtok_r(csv, ",;\n", &save) : NULL;
		for (size_t i = 0; csv ? tok != NULL : i < n; i++) {
			const json_t *e = json_is_array(value) ? json_array_get(value, i) : NULL;
			const char *s = csv ? tok : e && json_is_string(e) ? json_string_value(e) : NULL;
			const struct qn_choice *c = s ? match_choice(q, s) : NULL;
			if (!c) {
				snprintf(why, size, "\"%.60s\" is not one of the choices", s ? s : "?");
				free(csv);
				json_decref(list);
				return false;
			}
			bool dup = false;
			for (size_t k = 0; k < json_array_size(list); k++)
				dup = dup || strcmp(json_string_value(json_array_get(list, k)), c->id) == 0;
			if (!dup)
				json_array_append_new(list, json_string(c->id));
			if (csv)
				tok = strtok_r(NULL, ",;\n", &save);
		}
		free(csv);
		*answer = list;
		return true;
	}
	case QN_NUMBER: {
		double d;
		if (json_is_number(value))
			d = json_number_value(value);
		else if (!json_is_string(value) || !first_number(json_string_value(value), &d)) {
			snprintf(why, size, "the answer is not a number");
			return false;
		}
		if (!isfinite(d)) {
			snprintf(why, size, "the answer is not a finite number");
			return false;
		}
		*answer = json_real(d);
		return *answer != NULL;
	}
	case QN_TEXT: {
		if (!json_is_string(value)) {
			snprintf(why, size, "the answer is not a text");
			return false;
		}
		const char *s = json_string_value(value);
		while (isspace((unsigned char)*s))
			s++;
		size_t n = strlen(s);
		while (n && isspace((unsigned char)s[n - 1]))
			n--;
		if (!n) {
			snprintf(why, size, "the answer is empty");
			return false;
		}
		if (n > ANSWER_TEXT_MAX) { /* cut at a UTF-8 boundary */
			n = ANSWER_TEXT_MAX;
			while (n && ((unsigned char)s[n] & 0xC0) == 0x80)
				n--;
		}
		*answer = json_stringn_nocheck(s, n);
		return *answer != NULL;
	}
	}
	snprintf(why, size, "unknown question type");
	return false;
}

void answer_reply_parse(const char *text, json_t **value, json_t **quote)
{
	*value = NULL;
	*quote = NULL;
	json_t *j = llm_reply_json(text, NULL);
	if (j && json_is_object(j)) {
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v) {
			if (strcasecmp(k, "answer") == 0 && !*value)
				*value = json_incref(v);
			else if (strcasecmp(k, "quote") == 0 && json_is_string(v) && !*quote)
				*quote = json_incref(v);
		}
		json_decref(j);
		return;
	}
	if (j) {
		*value = j;
		return;
	}
	*value = text ? json_string(text) : NULL;
}

/* ---------------------------------------------------------------- score */

void answer_score(const struct qn_question *q, const json_t *answer, double *score,
		  bool *auto_fail)
{
	*score = 0;
	*auto_fail = false;
	if (!answer)
		return;
	if (json_is_string(answer) && q->nchoices) {
		const struct qn_choice *c = qn_choice_find(q, json_string_value(answer));
		if (c) {
			*score = c->score;
			*auto_fail = c->auto_fail;
		}
	} else if (json_is_array(answer)) {
		for (size_t i = 0; i < json_array_size(answer); i++) {
			const json_t *e = json_array_get(answer, i);
			const struct qn_choice *c = json_is_string(e) ? qn_choice_find(q, json_string_value(e)) : NULL;
			if (c) {
				*score += c->score;
				*auto_fail = *auto_fail || c->auto_fail;
			}
		}
	} else if (json_is_number(answer)) {
		double v = json_number_value(answer);
		for (size_t i = 0; i < q->nranges; i++)
			if (v >= q->ranges[i].min && v <= q->ranges[i].max) {
				*score = q->ranges[i].score;
				*auto_fail = q->ranges[i].auto_fail;
				break;
			}
	}
}

/* ---------------------------------------------------------------- answers */

/* Work on one answer: the value and evidence before they become text. */
struct work {
	bool done;
	json_t *answer;   /* NULL: none (N/A, skipped, invalid) */
	json_t *evidence; /* array */
};

static void set_answer(const struct qn_question *q, struct store_answer *a, struct work *w,
		       const char *source, json_t *answer, bool na, const char *error)
{
	snprintf(a->question, sizeof(a->question), "%s", q->id);
	snprintf(a->source, sizeof(a->source), "%s", source);
	a->weight = q->weight;
	a->na = na;
	a->valid = !error;
	snprintf(a->error, sizeof(a->error), "%s", error ? error : "");
	w->answer = answer;
	w->done = true;
	if (na) {
		a->score = a->max_score = 0;
		a->auto_fail = false;
	} else {
		answer_score(q, answer, &a->score, &a->auto_fail);
		a->max_score = q->max_score;
	}
	char *t = answer ? json_dumps(answer, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	if (t && strlen(t) < sizeof(a->answer)) {
		snprintf(a->answer, sizeof(a->answer), "%s", t);
	} else if (t && json_is_string(answer)) { /* a long text: cut until its JSON fits */
		size_t n = json_string_length(answer);
		while (t && strlen(t) >= sizeof(a->answer) && n > 0) {
			n = n * 3 / 4;
			while (n && ((unsigned char)json_string_value(answer)[n] & 0xC0) == 0x80)
				n--;
			free(t);
			json_t *cut = json_stringn_nocheck(json_string_value(answer), n);
			t = cut ? json_dumps(cut, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
			json_decref(cut);
		}
		snprintf(a->answer, sizeof(a->answer), "%s", t ? t : "null");
	} else {
		snprintf(a->answer, sizeof(a->answer), "null");
	}
	free(t);
}

static json_t *hit_json(const struct phrase_hit *h)
{
	return json_pack("{s:s, s:f, s:f, s:s, s:s, s:b}", "text", h->text, "start", h->start, "end",
			 h->end, "role", h->role, "phrase", h->phrase, "negated", h->negated);
}

static enum parley_err run_phrases(const struct answer_input *in, const struct qn_question *q,
				   const struct qn_phrases *ph, bool *matched, json_t *evidence,
				   struct parley_error *err)
{
	struct phrase_query pq = phrase_default_query();
	pq.all = ph->all;
	pq.nall = ph->nall;
	pq.any = ph->any;
	pq.nany = ph->nany;
	pq.none = ph->none;
	pq.nnone = ph->nnone;
	pq.stem = ph->stem;
	pq.role = q->role;
	pq.window = q->window;
	struct phrase_result r;
	enum parley_err rc = phrase_eval(in->text, &pq, &r, err);
	if (rc)
		return rc;
	*matched = r.matched;
	for (size_t i = 0; i < r.nhits; i++)
		if (r.matched == !r.hits[i].negated) /* what the verdict rests on */
			json_array_append_new(evidence, hit_json(&r.hits[i]));
	phrase_result_release(&r);
	return PARLEY_OK;
}

/* Any word of the question's role inside its window? */
static bool has_words(const struct call_text *t, const struct qn_question *q)
{
	double from, to;
	call_window_bounds(t, &q->window, &from, &to);
	for (size_t i = 0; i < t->n; i++)
		if (call_word_in(&t->words[i], from, to) && call_role_matches(q->role, t->words[i].role))
			return true;
	return false;
}

static enum parley_err answer_by_phrases(const struct answer_input *in, const struct qn_question *q,
					 struct store_answer *a, struct work *w,
					 struct parley_error *err)
{
	enum parley_err rc = PARLEY_OK;
	if (q->na_allowed && !has_words(in->text, q)) {
		set_answer(q, a, w, "phrase", NULL, true, NULL);
		return PARLEY_OK;
	}
	bool m = false;
	if (q->type == QN_YES_NO) {
		if ((rc = run_phrases(in, q, &q->phrases, &m, w->evidence, err)))
			return rc;
		set_answer(q, a, w, "phrase", json_string(m ? "yes" : "no"), false, NULL);
		return PARLEY_OK;
	}
	json_t *list = json_array();
	const struct qn_choice *fallback = NULL;
	for (size_t i = 0; i < q->nchoices; i++) {
		const struct qn_choice *c = &q->choices[i];
		if (!c->has_phrases) {
			fallback = c;
			continue;
		}
		json_t *ev = json_array();
		if ((rc = run_phrases(in, q, &c->phrases, &m, ev, err))) {
			json_decref(ev);
			json_decref(list);
			return rc;
		}
		if (m) {
			json_array_append_new(list, json_string(c->id));
			json_array_extend(w->evidence, ev);
		}
		json_decref(ev);
		if (m && q->type == QN_SINGLE_CHOICE)
			break;
	}
	if (q->type == QN_SINGLE_CHOICE) {
		json_t *one = json_array_size(list) ? json_incref(json_array_get(list, 0))
						    : json_string(fallback ? fallback->id : "");
		json_decref(list);
		set_answer(q, a, w, "phrase", one, false, NULL);
	} else {
		set_answer(q, a, w, "phrase", list, false, NULL);
	}
	return PARLEY_OK;
}

static void answer_by_metric(const struct answer_input *in, const struct qn_question *q,
			     struct store_answer *a, struct work *w)
{
	const struct store_call_metric *m = NULL;
	for (size_t i = 0; i < in->nmetrics && !m; i++)
		if (strcmp(in->metrics[i].name, q->metric.name) == 0 &&
		    strcmp(in->metrics[i].scope, q->metric.scope) == 0)
			m = &in->metrics[i];
	if (!m) {
		char why[256];
		snprintf(why, sizeof(why),
			 "metric %s of %s was not measured (is the metrics stage in the pipeline?)",
			 q->metric.name, q->metric.scope);
		set_answer(q, a, w, "metric", NULL, q->na_allowed, q->na_allowed ? NULL : why);
		return;
	}
	json_array_append_new(w->evidence, json_pack("{s:s, s:s, s:f}", "metric", m->name, "scope",
						     m->scope, "value", m->value));
	json_t *ans = q->type == QN_YES_NO
			      ? json_string(qn_op_holds(q->metric.op, m->value, q->metric.value) ? "yes" : "no")
			      : json_real(m->value);
	set_answer(q, a, w, "metric", ans, false, NULL);
}

/* Is question i's condition true over the answers so far? */
static bool condition_holds(const struct qn_question *q, const struct store_answer *a,
			    const struct work *w)
{
	const struct qn_condition *c = &q->condition;
	const json_t *v = w[c->question].answer;
	if (a[c->question].na || !a[c->question].valid || !v)
		return false;
	bool any = false;
	for (size_t i = 0; i < c->nvalues; i++) {
		if (json_is_string(v))
			any = any || strcmp(json_string_value(v), c->values[i]) == 0;
		for (size_t k = 0; json_is_array(v) && k < json_array_size(v); k++)
			any = any || strcmp(json_string_value(json_array_get(v, k)), c->values[i]) == 0;
	}
	return c->kind == QN_COND_NOT_EQUALS ? !any : any;
}

/* The LLM's quote located in the call (phrase match of its first words),
 * else with null times. */
static json_t *quote_evidence(const struct call_text *t, const struct qn_question *q,
			      const char *quote)
{
	char words[PHRASE_TEXT_MAX];
	size_t o = 0, nw = 0;
	for (const char *p = quote; *p && nw < PHRASE_WORDS_MAX;) {
		while (*p && isspace((unsigned char)*p))
			p++;
		const char *s = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (p > s && o + (size_t)(p - s) + 2 < sizeof(words)) {
			char one[STORE_WORD_MAX];
			snprintf(one, sizeof(one), "%.*s", (int)(p - s), s);
			char norm[STORE_WORD_MAX];
			phrase_norm(one, false, norm, sizeof(norm));
			if (!norm[0] || strchr(norm, '*'))
				continue;
			o += (size_t)snprintf(words + o, sizeof(words) - o, "%s%s", o ? " " : "", norm);
			nw++;
		}
	}
	words[o] = '\0';
	if (nw) {
		const char *list[] = {words};
		struct phrase_query pq = phrase_default_query();
		pq.any = list;
		pq.nany = 1;
		pq.stem = false;
		pq.role = q->role;
		pq.window = q->window;
		struct phrase_result r;
		if (phrase_eval(t, &pq, &r, NULL) == PARLEY_OK && r.matched && r.nhits) {
			json_t *e = json_pack("{s:s, s:f, s:f, s:s}", "text", quote, "start",
					      r.hits[0].start, "end", r.hits[0].end, "role", r.hits[0].role);
			phrase_result_release(&r);
			return e;
		}
		phrase_result_release(&r);
	}
	return json_pack("{s:s, s:n, s:n, s:n}", "text", quote, "start", "end", "role");
}

static void llm_take(const struct answer_input *in, const struct qn_question *q,
		     const struct llm_answer *la, struct store_answer *a, struct work *w)
{
	json_t *value = NULL, *quote = NULL, *ans = NULL;
	char why[PARLEY_ERROR_MSG_MAX];
	bool na = false;
	if (la->valid && la->json) {
		json_t *v = json_object_get(la->json, "answer"), *qt = json_object_get(la->json, "quote");
		value = v ? json_incref(v) : NULL;
		quote = qt && json_is_string(qt) ? json_incref(qt) : NULL;
	} else {
		answer_reply_parse(la->text, &value, &quote);
	}
	if (!answer_normalise(q, value, &ans, &na, why, sizeof(why))) {
		char msg[sizeof(a->error)];
		snprintf(msg, sizeof(msg), "%s%s%s", why, la->error[0] ? "; " : "", la->error);
		set_answer(q, a, w, "llm", NULL, false, msg);
	} else {
		if (quote && json_string_length(quote))
			json_array_append_new(w->evidence,
					      quote_evidence(in->text, q, json_string_value(quote)));
		set_answer(q, a, w, "llm", ans, na, NULL);
	}
	json_decref(value);
	json_decref(quote);
}

void answers_free(struct store_answer *a, size_t n)
{
	if (!a)
		return;
	for (size_t i = 0; i < n; i++)
		free(a[i].evidence);
	free(a);
}

enum parley_err answers_compute(const struct answer_input *in, struct store_answer **out,
				struct parley_error *err)
{
	const struct questionnaire *qn = in->q;
	size_t n = qn->n;
	enum parley_err rc = PARLEY_OK;
	struct store_answer *a = calloc(n, sizeof(*a));
	struct work *w = calloc(n, sizeof(*w));
	struct llm_request *reqs = calloc(n, sizeof(*reqs));
	struct llm_answer *las = calloc(n, sizeof(*las));
	size_t *at = calloc(n, sizeof(*at));
	char **prompts = calloc(n, sizeof(*prompts));
	json_t **schemas = calloc(n, sizeof(*schemas));
	*out = NULL;
	if (!a || !w || !reqs || !las || !at || !prompts || !schemas) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory answering questions");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (!(w[i].evidence = json_array())) {
			rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory answering questions");
			goto out;
		}
	for (size_t left = n; left;) {
		size_t nreq = 0, progressed = 0;
		for (size_t i = 0; i < n; i++) {
			const struct qn_question *q = &qn->q[i];
			if (w[i].done)
				continue;
			if (q->condition.kind != QN_COND_NONE) {
				if (!w[q->condition.question].done)
					continue; /* asked in a later round */
				if (!condition_holds(q, a, w)) {
					set_answer(q, &a[i], &w[i], "skipped", NULL, true, NULL);
					progressed++;
					continue;
				}
			}
			if (q->how == QN_BY_PHRASES) {
				if ((rc = answer_by_phrases(in, q, &a[i], &w[i], err)))
					goto out;
				progressed++;
			} else if (q->how == QN_BY_METRIC) {
				answer_by_metric(in, q, &a[i], &w[i]);
				progressed++;
			} else if (!in->llm) {
				set_answer(q, &a[i], &w[i], "llm", NULL, false,
					   "no LLM engine is configured (llm.engine)");
				progressed++;
			} else {
				if ((rc = answer_prompt(q, in->text, &prompts[nreq], err)))
					goto out;
				if (!(schemas[nreq] = answer_schema(q))) {
					rc = parley_error_set(err, PARLEY_ERR_NOMEM,
							      "out of memory building a schema");
					goto out;
				}
				reqs[nreq] = (struct llm_request){answer_system_prompt, prompts[nreq],
								  schemas[nreq], ANSWER_SCHEMA_NAME};
				at[nreq++] = i;
			}
		}
		if (nreq) {
			if ((rc = llm_ask_many(in->llm, in->llm_params, reqs, nreq, las, err)))
				goto out;
			for (size_t k = 0; k < nreq; k++) {
				llm_take(in, &qn->q[at[k]], &las[k], &a[at[k]], &w[at[k]]);
				llm_answer_release(&las[k]);
				free(prompts[k]);
				prompts[k] = NULL;
				json_decref(schemas[k]);
				schemas[k] = NULL;
			}
			progressed += nreq;
		}
		if (!progressed) {
			rc = parley_error_set(err, PARLEY_ERR_INTERNAL,
					      "questionnaire: conditions that never resolve");
			goto out;
		}
		left -= progressed;
	}
	for (size_t i = 0; i < n; i++) {
		a[i].evidence = json_dumps(w[i].evidence, JSON_COMPACT);
		if (!a[i].evidence) {
			rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory answering questions");
			goto out;
		}
	}
	*out = a;
	a = NULL;
out:
	if (a)
		answers_free(a, n);
	for (size_t i = 0; w && i < n; i++) {
		json_decref(w[i].answer);
		json_decref(w[i].evidence);
	}
	for (size_t i = 0; prompts && i < n; i++)
		free(prompts[i]);
	for (size_t i = 0; schemas && i < n; i++)
		json_decref(schemas[i]);
	free(w);
	free(reqs);
	free(las);
	free(at);
	free(prompts);
	free(schemas);
	return rc;
}
