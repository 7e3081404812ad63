/* questionnaire.c — see questionnaire.h. */
#include "audit/questionnaire.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/phrase.h"
#include "util/fs.h"
#include "util/json_nomem.h"

/* ----------------------------------------------------------------- paths */

#define QPATH_MAX 8

/* Where in the document: questions[2].choices[0].score */
struct qpath {
	int n;
	struct qseg {
		const char *key; /* NULL: an array index */
		size_t idx;
	} s[QPATH_MAX];
};

static struct qpath qp_key(const struct qpath *b, const char *key)
{
	struct qpath p = *b;
	if (p.n < QPATH_MAX)
		p.s[p.n++] = (struct qseg){key, 0};
	return p;
}

static struct qpath qp_idx(const struct qpath *b, size_t i)
{
	struct qpath p = *b;
	if (p.n < QPATH_MAX)
		p.s[p.n++] = (struct qseg){NULL, i};
	return p;
}

static void qp_text(const struct qpath *p, char *out, size_t size)
{
	size_t o = 0;
	out[0] = '\0';
	for (int i = 0; i < p->n && o < size; i++) {
		if (p->s[i].key)
			o += (size_t)snprintf(out + o, size - o, "%s%.40s", i ? "." : "", p->s[i].key);
		else
			o += (size_t)snprintf(out + o, size - o, "[%zu]", p->s[i].idx);
	}
}

/* ------------------------------------------------------------- positions */

/*
 * Where a path's key or value starts in JSON text that jansson accepted: a
 * scanner that walks the tokens following the path. Lines and columns from
 * 1, columns in characters (as jansson counts). The deepest part of the
 * path found wins (a missing key points at its object). Keys written with
 * escapes are not matched.
 */
struct scan {
	const char *s;
	size_t len, i;
	int line, col;
	const struct qpath *want;
	bool key;
	int best;
	int bline, bcol;
	int *lines;    /* when set: the line of each element of the array the path names */
	size_t nlines; /* its size */
};

static void sc_adv(struct scan *sc)
{
	unsigned char ch = (unsigned char)sc->s[sc->i++];
	if (ch == '\n') {
		sc->line++;
		sc->col = 1;
	} else if ((ch & 0xC0) != 0x80) {
		sc->col++;
	}
}

static void sc_ws(struct scan *sc)
{
	while (sc->i < sc->len && sc->s[sc->i] && strchr(" \t\r\n", sc->s[sc->i]))
		sc_adv(sc);
}

static void sc_string(struct scan *sc, size_t *from, size_t *to)
{
	sc_adv(sc);
	*from = sc->i;
	while (sc->i < sc->len && sc->s[sc->i] != '"') {
		if (sc->s[sc->i] == '\\' && sc->i + 1 < sc->len)
			sc_adv(sc);
		sc_adv(sc);
	}
	*to = sc->i;
	if (sc->i < sc->len)
		sc_adv(sc);
}

static void sc_mark(struct scan *sc, int depth, int line, int col)
{
	if (depth > sc->best) {
		sc->best = depth;
		sc->bline = line;
		sc->bcol = col;
	}
}

static void sc_value(struct scan *sc, int depth, bool on_path)
{
	sc_ws(sc);
	if (sc->i >= sc->len)
		return;
	if (on_path && !(sc->key && depth == sc->want->n))
		sc_mark(sc, depth, sc->line, sc->col);
	char ch = sc->s[sc->i];
	if (ch == '{') {
		sc_adv(sc);
		for (;;) {
			sc_ws(sc);
			if (sc->i >= sc->len || sc->s[sc->i] == '}')
				break;
			if (sc->s[sc->i] == ',') {
				sc_adv(sc);
				continue;
			}
			if (sc->s[sc->i] != '"')
				return;
			int kl = sc->line, kc = sc->col;
			size_t a, b;
			sc_string(sc, &a, &b);
			const char *k = depth < sc->want->n ? sc->want->s[depth].key : NULL;
			bool match = on_path && k && strlen(k) == b - a && memcmp(sc->s + a, k, b - a) == 0;
			if (match && sc->key && depth + 1 == sc->want->n)
				sc_mark(sc, depth + 2, kl, kc); /* the key itself beats its value */
			sc_ws(sc);
			if (sc->i < sc->len && sc->s[sc->i] == ':')
				sc_adv(sc);
			size_t before = sc->i;
			sc_value(sc, depth + 1, match);
			if (sc->i == before)
				return;
		}
		if (sc->i < sc->len)
			sc_adv(sc);
	} else if (ch == '[') {
		sc_adv(sc);
		for (size_t k = 0;; k++) {
			sc_ws(sc);
			if (sc->i < sc->len && sc->s[sc->i] == ',') {
				sc_adv(sc);
				sc_ws(sc);
			}
			if (sc->i >= sc->len || sc->s[sc->i] == ']')
				break;
			bool match = on_path && depth < sc->want->n && !sc->want->s[depth].key &&
				     sc->want->s[depth].idx == k;
			if (on_path && sc->lines && depth == sc->want->n && k < sc->nlines)
				sc->lines[k] = sc->line;
			size_t before = sc->i;
			sc_value(sc, depth + 1, match);
			if (sc->i == before)
				return;
		}
		if (sc->i < sc->len)
			sc_adv(sc);
	} else if (ch == '"') {
		size_t a, b;
		sc_string(sc, &a, &b);
	} else {
		while (sc->i < sc->len && sc->s[sc->i] && !strchr(",}] \t\r\n", sc->s[sc->i]))
			sc_adv(sc);
	}
}

/* ----------------------------------------------------------------- parse */

struct qctx {
	const char *name, *text; /* text past the BOM */
	size_t len;
	struct parley_error *err;
};

static enum parley_err failp(const struct qctx *c, enum parley_err code, const struct qpath *p,
			     bool key, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static enum parley_err failp(const struct qctx *c, enum parley_err code, const struct qpath *p,
			     bool key, const char *fmt, ...)
{
	struct scan sc = {c->text, c->len, 0, 1, 1, p, key, -1, 1, 1, NULL, 0};
	sc_value(&sc, 0, true);
	char path[160], what[PARLEY_ERROR_MSG_MAX];
	qp_text(p, path, sizeof(path));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return parley_error_set(c->err, code, "%s:%d:%d: %s%s%s", c->name, sc.bline, sc.bcol, path,
				path[0] ? ": " : "", what);
}

#define FAIL(c, p, key, ...) failp((c), PARLEY_ERR_INVALID, (p), (key), __VA_ARGS__)

/* Every key of obj is one of known (NULL-terminated). */
static enum parley_err check_keys(const struct qctx *c, json_t *obj, const struct qpath *p,
				  const char *const *known)
{
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v) {
		size_t i;
		for (i = 0; known[i]; i++)
			if (strcmp(known[i], k) == 0)
				break;
		if (known[i])
			continue;
		char list[512];
		size_t o = 0;
		list[0] = '\0';
		for (i = 0; known[i] && o < sizeof(list); i++)
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", known[i]);
		struct qpath kp = qp_key(p, k);
		return FAIL(c, &kp, true, "unknown key \"%.60s\" (known: %s)", k, list);
	}
	return PARLEY_OK;
}

/* A string member: *out = its text, or dflt when absent (required: absent is an error). */
static enum parley_err get_str(const struct qctx *c, json_t *obj, const char *key,
			       const struct qpath *p, bool required, size_t max, const char *dflt,
			       const char **out)
{
	json_t *v = json_object_get(obj, key);
	struct qpath kp = qp_key(p, key);
	*out = dflt;
	if (!v) {
		if (required)
			return FAIL(c, p, false, "\"%s\" is missing", key);
		return PARLEY_OK;
	}
	if (!json_is_string(v))
		return FAIL(c, &kp, false, "wants a string");
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (strlen(s) != n)
		return FAIL(c, &kp, false, "holds a NUL character");
	if (n > max)
		return failp(c, PARLEY_ERR_TOO_LARGE, &kp, false, "longer than %zu bytes", max);
	if (required && !n)
		return FAIL(c, &kp, false, "is empty");
	*out = s;
	return PARLEY_OK;
}

static bool id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= QN_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

static enum parley_err get_id(const struct qctx *c, json_t *obj, const char *key,
			      const struct qpath *p, char out[QN_ID_MAX])
{
	const char *s;
	enum parley_err rc = get_str(c, obj, key, p, true, QN_ID_MAX - 1, "", &s);
	if (rc)
		return rc;
	if (!id_ok(s)) {
		struct qpath kp = qp_key(p, key);
		return FAIL(c, &kp, false, "\"%.60s\" is not an id (1-63 of A-Z a-z 0-9 _ . -)", s);
	}
	snprintf(out, QN_ID_MAX, "%s", s);
	return PARLEY_OK;
}

static enum parley_err get_num(const struct qctx *c, json_t *obj, const char *key,
			       const struct qpath *p, bool required, double lo, double hi,
			       double dflt, double *out)
{
	json_t *v = json_object_get(obj, key);
	struct qpath kp = qp_key(p, key);
	*out = dflt;
	if (!v) {
		if (required)
			return FAIL(c, p, false, "\"%s\" is missing", key);
		return PARLEY_OK;
	}
	if (!json_is_number(v))
		return FAIL(c, &kp, false, "wants a number");
	double d = json_number_value(v);
	if (!isfinite(d) || d < lo || d > hi)
		return FAIL(c, &kp, false, "%g is outside %g..%g", d, lo, hi);
	*out = d;
	return PARLEY_OK;
}

static enum parley_err get_bool(const struct qctx *c, json_t *obj, const char *key,
				const struct qpath *p, bool dflt, bool *out)
{
	json_t *v = json_object_get(obj, key);
	*out = dflt;
	if (!v)
		return PARLEY_OK;
	if (!json_is_boolean(v)) {
		struct qpath kp = qp_key(p, key);
		return FAIL(c, &kp, false, "wants true or false");
	}
	*out = json_is_true(v);
	return PARLEY_OK;
}

/* An array member of at most max elements; *out NULL when absent. */
static enum parley_err get_array(const struct qctx *c, json_t *obj, const char *key,
				 const struct qpath *p, size_t max, json_t **out)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v)
		return PARLEY_OK;
	struct qpath kp = qp_key(p, key);
	if (!json_is_array(v))
		return FAIL(c, &kp, false, "wants an array");
	if (json_array_size(v) > max)
		return failp(c, PARLEY_ERR_TOO_LARGE, &kp, false, "has %zu entries, more than %zu",
			     json_array_size(v), max);
	*out = v;
	return PARLEY_OK;
}

/* A list of strings into a malloc'd array of pointers into the document. */
static enum parley_err get_strings(const struct qctx *c, json_t *arr, const struct qpath *p,
				   size_t maxlen, const char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	size_t m = json_array_size(arr);
	if (!m)
		return PARLEY_OK;
	const char **s = calloc(m, sizeof(*s));
	if (!s)
		return parley_error_set(c->err, PARLEY_ERR_NOMEM, "%s: out of memory", c->name);
	for (size_t i = 0; i < m; i++) {
		json_t *v = json_array_get(arr, i);
		struct qpath ip = qp_idx(p, i);
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
			free(s);
			return FAIL(c, &ip, false, "wants a string");
		}
		if (json_string_length(v) > maxlen) {
			free(s);
			return failp(c, PARLEY_ERR_TOO_LARGE, &ip, false, "longer than %zu bytes",
				     maxlen);
		}
		s[i] = json_string_value(v);
	}
	*out = s;
	*n = m;
	return PARLEY_OK;
}

static const char *const type_names[] = {"yes_no", "single_choice", "multiple_choice", "number",
					 "text"};
static const char *const how_names[] = {"llm", "phrases", "metric"};
static const char *const op_names[] = {"", ">", ">=", "<", "<=", "==", "!="};

const char *qn_type_name(enum qn_type t)
{
	return (size_t)t < sizeof(type_names) / sizeof(type_names[0]) ? type_names[t] : "?";
}

const char *qn_how_name(enum qn_how h)
{
	return (size_t)h < sizeof(how_names) / sizeof(how_names[0]) ? how_names[h] : "?";
}

const char *qn_op_name(enum qn_op op)
{
	return (size_t)op < sizeof(op_names) / sizeof(op_names[0]) ? op_names[op] : "?";
}

bool qn_op_holds(enum qn_op op, double v, double t)
{
	switch (op) {
	case QN_OP_GT: return v > t;
	case QN_OP_GE: return v >= t;
	case QN_OP_LT: return v < t;
	case QN_OP_LE: return v <= t;
	case QN_OP_EQ: return v == t;
	case QN_OP_NE: return v != t;
	default: return false;
	}
}

/* The metrics core/call_metrics.h writes, and the aliases people reach for. */
static const char *const metric_names[] = {
	"agent_first_word", "duration",       "hold_count",        "hold_time",
	"interruption_count", "interruption_time", "interruptions_made",
	"interruptions_received", "ivr_time",  "loudness_lufs",     "mean_turn",
	"non_talk_time",    "overlap_count",  "overlap_time",      "silence_count",
	"silence_max",      "silence_time",   "talk_share",        "talk_time",
	"turns",            "words",          "wpm",
};
static const struct {
	const char *alias, *name;
} metric_aliases[] = {
	{"longest_silence", "silence_max"},
};

static const char *metric_resolve(const char *s)
{
	for (size_t i = 0; i < sizeof(metric_aliases) / sizeof(metric_aliases[0]); i++)
		if (strcmp(metric_aliases[i].alias, s) == 0)
			return metric_aliases[i].name;
	for (size_t i = 0; i < sizeof(metric_names) / sizeof(metric_names[0]); i++)
		if (strcmp(metric_names[i], s) == 0)
			return metric_names[i];
	return NULL;
}

static bool role_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n >= STORE_CALL_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && !strchr("_:-", s[i]))
			return false;
	return true;
}

static enum parley_err parse_phrases(const struct qctx *c, json_t *v, const struct qpath *p,
				     struct qn_phrases *out)
{
	static const char *const keys[] = {"all", "any", "not", "stem", NULL};
	static const char *const lists[] = {"all", "any", "not"};
	if (!json_is_object(v))
		return FAIL(c, p, false, "wants an object {\"all\": [...], \"any\": [...], \"not\": [...]}");
	enum parley_err rc = check_keys(c, v, p, keys);
	if (rc || (rc = get_bool(c, v, "stem", p, true, &out->stem)))
		return rc;
	const char ***dst[] = {&out->all, &out->any, &out->none};
	size_t *ndst[] = {&out->nall, &out->nany, &out->nnone};
	for (size_t l = 0; l < 3; l++) {
		json_t *arr;
		struct qpath lp = qp_key(p, lists[l]);
		if ((rc = get_array(c, v, lists[l], p, QN_PHRASES_MAX, &arr)))
			return rc;
		if (!arr)
			continue;
		if ((rc = get_strings(c, arr, &lp, PHRASE_TEXT_MAX - 1, dst[l], ndst[l])))
			return rc;
		for (size_t i = 0; i < *ndst[l]; i++) {
			char why[256];
			if (!phrase_check((*dst[l])[i], why, sizeof(why))) {
				struct qpath ip = qp_idx(&lp, i);
				return FAIL(c, &ip, false, "%s", why);
			}
		}
	}
	if (!out->nall && !out->nany)
		return FAIL(c, p, false, "wants at least one phrase in \"all\" or \"any\"");
	return PARLEY_OK;
}

static void phrases_free(struct qn_phrases *ph)
{
	free(ph->all);
	free(ph->any);
	free(ph->none);
}

static enum parley_err parse_window(const struct qctx *c, json_t *v, const struct qpath *p,
				    struct call_window *w)
{
	*w = (struct call_window){CALL_WINDOW_CALL, 0, false};
	if (!v || (json_is_string(v) && strcmp(json_string_value(v), "call") == 0))
		return PARLEY_OK;
	static const char want[] = "wants \"call\", {\"first\": SECONDS or \"N%\"} or {\"last\": …}";
	if (!json_is_object(v) || json_object_size(v) != 1)
		return FAIL(c, p, false, "%s", want);
	const char *k = json_object_iter_key(json_object_iter(v));
	json_t *a = json_object_iter_value(json_object_iter(v));
	struct qpath kp = qp_key(p, k);
	if (strcmp(k, "first") == 0)
		w->kind = CALL_WINDOW_FIRST;
	else if (strcmp(k, "last") == 0)
		w->kind = CALL_WINDOW_LAST;
	else
		return FAIL(c, &kp, true, "unknown key \"%.60s\": %s", k, want);
	if (json_is_number(a)) {
		w->amount = json_number_value(a);
		if (!isfinite(w->amount) || w->amount <= 0 || w->amount > 86400)
			return FAIL(c, &kp, false, "seconds must be in (0, 86400]");
		return PARLEY_OK;
	}
	if (json_is_string(a)) {
		const char *s = json_string_value(a);
		char *end = NULL;
		double d = strtod(s, &end);
		if (end != s && end && strcmp(end, "%") == 0 && isfinite(d) && d > 0 && d <= 100) {
			w->amount = d;
			w->percent = true;
			return PARLEY_OK;
		}
		return FAIL(c, &kp, false, "\"%.40s\" is not a percentage in (0%%, 100%%]", s);
	}
	return FAIL(c, &kp, false, "wants seconds or \"N%%\"");
}

static enum parley_err parse_metric(const struct qctx *c, json_t *v, const struct qpath *p,
				    struct qn_question *q)
{
	static const char *const keys[] = {"metric", "scope", "op", "value", NULL};
	if (!json_is_object(v))
		return FAIL(c, p, false, "wants an object {\"metric\": NAME, \"scope\": \"call\", "
				       "\"op\": \">\", \"value\": N}");
	const char *name, *scope, *op;
	enum parley_err rc = check_keys(c, v, p, keys);
	if (rc || (rc = get_str(c, v, "metric", p, true, 63, "", &name)) ||
	    (rc = get_str(c, v, "scope", p, false, STORE_CALL_NAME_MAX - 1, "", &scope)) ||
	    (rc = get_str(c, v, "op", p, false, 2, "", &op)))
		return rc;
	const char *real = metric_resolve(name);
	if (!real) {
		struct qpath kp = qp_key(p, "metric");
		return FAIL(c, &kp, false,
			    "unknown metric \"%.40s\" (known: talk_time, talk_share, silence_max "
			    "(longest_silence), silence_count, overlap_time, interruption_count, "
			    "hold_time, … README \"Call metrics\")", name);
	}
	snprintf(q->metric.name, sizeof(q->metric.name), "%s", real);
	if (scope[0] && !role_ok(scope)) {
		struct qpath kp = qp_key(p, "scope");
		return FAIL(c, &kp, false, "\"%.40s\" is not a scope (\"call\", a role or speaker:N)",
			    scope);
	}
	snprintf(q->metric.scope, sizeof(q->metric.scope), "%s",
		 scope[0] ? scope : q->role[0] ? q->role : "call");
	q->metric.op = QN_OP_NONE;
	if (op[0]) {
		size_t i;
		for (i = 1; i < sizeof(op_names) / sizeof(op_names[0]); i++)
			if (strcmp(op_names[i], op) == 0)
				break;
		if (i == sizeof(op_names) / sizeof(op_names[0])) {
			struct qpath kp = qp_key(p, "op");
			return FAIL(c, &kp, false, "\"%s\" is not one of > >= < <= == !=", op);
		}
		q->metric.op = (enum qn_op)i;
	}
	bool has_value = json_object_get(v, "value") != NULL;
	if ((rc = get_num(c, v, "value", p, false, -1e12, 1e12, 0, &q->metric.value)))
		return rc;
	if (q->type == QN_YES_NO && (!op[0] || !has_value))
		return FAIL(c, p, false, "a yes_no question's metric wants \"op\" and \"value\"");
	if (q->type == QN_NUMBER && (op[0] || has_value))
		return FAIL(c, p, false, "a number question's metric is the value itself: no "
				       "\"op\" or \"value\"");
	return PARLEY_OK;
}

static enum parley_err parse_choices(const struct qctx *c, json_t *qo, const struct qpath *p,
				     struct qn_question *q)
{
	static const char *const keys[] = {"id", "text", "score", "phrases", NULL};
	json_t *arr;
	enum parley_err rc = get_array(c, qo, "choices", p, QN_CHOICES_MAX, &arr);
	if (rc)
		return rc;
	struct qpath cp = qp_key(p, "choices");
	bool choice_type = q->type == QN_SINGLE_CHOICE || q->type == QN_MULTIPLE_CHOICE;
	if (!choice_type && q->type != QN_YES_NO && arr)
		return FAIL(c, &cp, true, "a %s question has no choices", qn_type_name(q->type));
	if (choice_type) {
		size_t min = q->type == QN_SINGLE_CHOICE ? 2 : 1;
		if (!arr)
			return FAIL(c, p, false, "a %s question wants \"choices\"", qn_type_name(q->type));
		if (json_array_size(arr) < min)
			return FAIL(c, &cp, false, "wants at least %zu choices", min);
	}
	if (q->type == QN_YES_NO && arr && json_array_size(arr) != 2)
		return FAIL(c, &cp, false, "a yes_no question's choices are exactly yes and no");
	size_t n = q->type == QN_YES_NO ? 2 : arr ? json_array_size(arr) : 0;
	if (!n)
		return PARLEY_OK;
	q->choices = calloc(n, sizeof(*q->choices));
	if (!q->choices)
		return parley_error_set(c->err, PARLEY_ERR_NOMEM, "%s: out of memory", c->name);
	q->nchoices = n;
	if (q->type == QN_YES_NO) {
		q->choices[0] = (struct qn_choice){.id = "yes", .text = "Yes", .score = 1};
		q->choices[1] = (struct qn_choice){.id = "no", .text = "No", .score = 0};
	}
	for (size_t i = 0; arr && i < json_array_size(arr); i++) {
		json_t *co = json_array_get(arr, i);
		struct qpath ip = qp_idx(&cp, i);
		if (!json_is_object(co))
			return FAIL(c, &ip, false, "wants an object {\"id\", \"text\", \"score\"}");
		if ((rc = check_keys(c, co, &ip, keys)))
			return rc;
		char id[QN_ID_MAX];
		if ((rc = get_id(c, co, "id", &ip, id)))
			return rc;
		struct qn_choice *ch = &q->choices[i];
		if (q->type == QN_YES_NO) {
			size_t at = strcmp(id, "yes") == 0 ? 0 : strcmp(id, "no") == 0 ? 1 : 2;
			struct qpath kp = qp_key(&ip, "id");
			if (at == 2)
				return FAIL(c, &kp, false, "a yes_no question's choices are yes and no");
			if (at != i)
				return FAIL(c, &kp, false, "yes comes first, then no");
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(q->choices[k].id, id) == 0) {
				struct qpath kp = qp_key(&ip, "id");
				return FAIL(c, &kp, false, "choice \"%s\" is there twice", id);
			}
		snprintf(ch->id, sizeof(ch->id), "%s", id);
		const char *text;
		if ((rc = get_str(c, co, "text", &ip, false, QN_TEXT_MAX,
				  q->type == QN_YES_NO ? ch->text : NULL, &text)) ||
		    (rc = get_num(c, co, "score", &ip, false, -1000, 1000, ch->score, &ch->score)))
			return rc;
		ch->text = text ? text : json_string_value(json_object_get(co, "id"));
		json_t *ph = json_object_get(co, "phrases");
		if (ph) {
			struct qpath pp = qp_key(&ip, "phrases");
			if (q->type == QN_YES_NO)
				return FAIL(c, &pp, true, "a yes_no question's phrases go on the "
							  "question (yes when they match)");
			if ((rc = parse_phrases(c, ph, &pp, &ch->phrases)))
				return rc;
			ch->has_phrases = true;
		}
	}
	return PARLEY_OK;
}

static enum parley_err parse_ranges(const struct qctx *c, json_t *qo, const struct qpath *p,
				    struct qn_question *q)
{
	static const char *const keys[] = {"min", "max", "score", "auto_fail", NULL};
	json_t *arr;
	enum parley_err rc = get_array(c, qo, "ranges", p, QN_RANGES_MAX, &arr);
	if (rc || !arr)
		return rc;
	struct qpath rp = qp_key(p, "ranges");
	if (q->type != QN_NUMBER)
		return FAIL(c, &rp, true, "ranges score number questions only");
	q->ranges = calloc(json_array_size(arr) + 1, sizeof(*q->ranges));
	if (!q->ranges)
		return parley_error_set(c->err, PARLEY_ERR_NOMEM, "%s: out of memory", c->name);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *ro = json_array_get(arr, i);
		struct qpath ip = qp_idx(&rp, i);
		struct qn_range *r = &q->ranges[i];
		if (!json_is_object(ro))
			return FAIL(c, &ip, false, "wants an object {\"min\", \"max\", \"score\"}");
		if ((rc = check_keys(c, ro, &ip, keys)) ||
		    (rc = get_num(c, ro, "min", &ip, false, -1e12, 1e12, -1e12, &r->min)) ||
		    (rc = get_num(c, ro, "max", &ip, false, -1e12, 1e12, 1e12, &r->max)) ||
		    (rc = get_num(c, ro, "score", &ip, false, -1000, 1000, 0, &r->score)) ||
		    (rc = get_bool(c, ro, "auto_fail", &ip, false, &r->auto_fail)))
			return rc;
		if (r->min > r->max)
			return FAIL(c, &ip, false, "min %g is above max %g", r->min, r->max);
		q->nranges++;
	}
	return PARLEY_OK;
}

static enum parley_err parse_auto_fail(const struct qctx *c, json_t *qo, const struct qpath *p,
				       struct qn_question *q)
{
	json_t *arr;
	enum parley_err rc = get_array(c, qo, "auto_fail", p, QN_CHOICES_MAX, &arr);
	if (rc || !arr)
		return rc;
	struct qpath ap = qp_key(p, "auto_fail");
	if (!q->nchoices)
		return FAIL(c, &ap, true, "auto_fail names choices; a %s question has none%s",
			    qn_type_name(q->type),
			    q->type == QN_NUMBER ? " (use ranges with \"auto_fail\": true)" : "");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);
		struct qpath ip = qp_idx(&ap, i);
		const struct qn_choice *ch = json_is_string(v) ? qn_choice_find(q, json_string_value(v))
							       : NULL;
		if (!ch)
			return FAIL(c, &ip, false, "is not a choice of question \"%s\"", q->id);
		((struct qn_choice *)ch)->auto_fail = true;
	}
	return PARLEY_OK;
}

static enum parley_err parse_condition(const struct qctx *c, json_t *v, const struct qpath *p,
				       struct questionnaire *qn, size_t qi)
{
	static const char *const keys[] = {"question", "equals", "not_equals", "in", NULL};
	struct qn_question *q = &qn->q[qi];
	if (!json_is_object(v))
		return FAIL(c, p, false, "wants an object {\"question\": ID, \"equals\": CHOICE}");
	const char *ref;
	enum parley_err rc = check_keys(c, v, p, keys);
	if (rc || (rc = get_str(c, v, "question", p, true, QN_ID_MAX - 1, "", &ref)))
		return rc;
	struct qpath rp = qp_key(p, "question");
	size_t k;
	for (k = 0; k < qi; k++)
		if (strcmp(qn->q[k].id, ref) == 0)
			break;
	if (k == qi)
		return FAIL(c, &rp, false, "\"%.60s\" is not an earlier question", ref);
	const struct qn_question *rq = &qn->q[k];
	if (!rq->nchoices)
		return FAIL(c, &rp, false, "question \"%s\" is a %s question: conditions test the "
					   "choices of yes_no and choice questions",
			    rq->id, qn_type_name(rq->type));
	q->condition.question = k;
	static const char *const ops[] = {"equals", "not_equals", "in"};
	static const enum qn_cond kinds[] = {QN_COND_EQUALS, QN_COND_NOT_EQUALS, QN_COND_IN};
	json_t *val = NULL;
	const char *opname = NULL;
	for (size_t i = 0; i < 3; i++) {
		json_t *x = json_object_get(v, ops[i]);
		if (!x)
			continue;
		if (val)
			return FAIL(c, p, false, "wants one of equals, not_equals, in");
		val = x;
		opname = ops[i];
		q->condition.kind = kinds[i];
	}
	if (!val)
		return FAIL(c, p, false, "wants \"equals\", \"not_equals\" or \"in\"");
	struct qpath vp = qp_key(p, opname);
	if (q->condition.kind == QN_COND_IN) {
		if (!json_is_array(val) || !json_array_size(val))
			return FAIL(c, &vp, false, "wants a non-empty array of choice ids");
		if (json_array_size(val) > QN_CHOICES_MAX)
			return failp(c, PARLEY_ERR_TOO_LARGE, &vp, false, "more than %d choices",
				     QN_CHOICES_MAX);
		if ((rc = get_strings(c, val, &vp, QN_ID_MAX, &q->condition.values,
				      &q->condition.nvalues)))
			return rc;
	} else {
		if (!json_is_string(val))
			return FAIL(c, &vp, false, "wants a choice id of question \"%s\"", rq->id);
		q->condition.values = calloc(1, sizeof(*q->condition.values));
		if (!q->condition.values)
			return parley_error_set(c->err, PARLEY_ERR_NOMEM, "%s: out of memory", c->name);
		q->condition.values[0] = json_string_value(val);
		q->condition.nvalues = 1;
	}
	for (size_t i = 0; i < q->condition.nvalues; i++)
		if (!qn_choice_find(rq, q->condition.values[i])) {
			struct qpath ip = q->condition.kind == QN_COND_IN ? qp_idx(&vp, i) : vp;
			return FAIL(c, &ip, false, "\"%.60s\" is not a choice of question \"%s\"",
				    q->condition.values[i], rq->id);
		}
	return PARLEY_OK;
}

static double max_score(const struct qn_question *q)
{
	double m = 0;
	if (q->type == QN_MULTIPLE_CHOICE) {
		for (size_t i = 0; i < q->nchoices; i++)
			if (q->choices[i].score > 0)
				m += q->choices[i].score;
		return m;
	}
	for (size_t i = 0; i < q->nchoices; i++)
		if (q->choices[i].score > m)
			m = q->choices[i].score;
	for (size_t i = 0; i < q->nranges; i++)
		if (q->ranges[i].score > m)
			m = q->ranges[i].score;
	return m;
}

static enum parley_err parse_question(const struct qctx *c, json_t *qo, const struct qpath *p,
				      struct questionnaire *qn, size_t qi)
{
	static const char *const keys[] = {"id",        "text",      "abbreviation", "instructions",
					   "type",      "choices",   "na_allowed",   "weight",
					   "auto_fail", "ranges",    "condition",    "role",
					   "window",    "phrases",   "metric",       NULL};
	struct qn_question *q = &qn->q[qi];
	if (!json_is_object(qo))
		return FAIL(c, p, false, "wants an object {\"id\", \"text\", \"type\", …}");
	const char *type, *role;
	enum parley_err rc = check_keys(c, qo, p, keys);
	if (rc || (rc = get_id(c, qo, "id", p, q->id)) ||
	    (rc = get_str(c, qo, "text", p, true, QN_TEXT_MAX, "", &q->text)) ||
	    (rc = get_str(c, qo, "abbreviation", p, false, QN_ID_MAX - 1, "", &q->abbreviation)) ||
	    (rc = get_str(c, qo, "instructions", p, false, QN_INSTRUCTIONS_MAX, "",
			  &q->instructions)) ||
	    (rc = get_str(c, qo, "type", p, true, 32, "", &type)) ||
	    (rc = get_bool(c, qo, "na_allowed", p, false, &q->na_allowed)) ||
	    (rc = get_num(c, qo, "weight", p, false, 0, 1000, 1, &q->weight)) ||
	    (rc = get_str(c, qo, "role", p, false, STORE_CALL_NAME_MAX - 1, "", &role)))
		return rc;
	for (size_t k = 0; k < qi; k++)
		if (strcmp(qn->q[k].id, q->id) == 0) {
			struct qpath kp = qp_key(p, "id");
			return FAIL(c, &kp, false, "question \"%s\" is there twice (also questions[%zu])",
				    q->id, k);
		}
	size_t t;
	for (t = 0; t < sizeof(type_names) / sizeof(type_names[0]); t++)
		if (strcmp(type_names[t], type) == 0)
			break;
	if (t == sizeof(type_names) / sizeof(type_names[0])) {
		struct qpath kp = qp_key(p, "type");
		return FAIL(c, &kp, false, "\"%.40s\" is not one of yes_no, single_choice, "
					   "multiple_choice, number, text", type);
	}
	q->type = (enum qn_type)t;
	if (role[0] && strcmp(role, "any") != 0) {
		if (!role_ok(role)) {
			struct qpath kp = qp_key(p, "role");
			return FAIL(c, &kp, false, "\"%.40s\" is not a role (agent, customer, any, "
						   "speaker:N, …: lower case)", role);
		}
		snprintf(q->role, sizeof(q->role), "%s", role);
	}
	struct qpath wp = qp_key(p, "window");
	if ((rc = parse_window(c, json_object_get(qo, "window"), &wp, &q->window)) ||
	    (rc = parse_choices(c, qo, p, q)) || (rc = parse_ranges(c, qo, p, q)) ||
	    (rc = parse_auto_fail(c, qo, p, q)))
		return rc;
	json_t *cond = json_object_get(qo, "condition");
	if (cond) {
		struct qpath cp = qp_key(p, "condition");
		if ((rc = parse_condition(c, cond, &cp, qn, qi)))
			return rc;
	}
	json_t *ph = json_object_get(qo, "phrases"), *me = json_object_get(qo, "metric");
	bool choice_phrases = false;
	for (size_t i = 0; i < q->nchoices; i++)
		choice_phrases = choice_phrases || q->choices[i].has_phrases;
	struct qpath pp = qp_key(p, "phrases"), mp = qp_key(p, "metric");
	if (ph && me)
		return FAIL(c, &mp, true, "a question is answered by phrases or by a metric, not both");
	if (me && choice_phrases)
		return FAIL(c, &mp, true, "a question is answered by phrases or by a metric, not both");
	if (ph) {
		if (q->type != QN_YES_NO)
			return FAIL(c, &pp, true, "%s", q->type == QN_SINGLE_CHOICE ||
							       q->type == QN_MULTIPLE_CHOICE
							   ? "a choice question's phrases go on its choices"
							   : "phrases answer yes_no and choice questions only");
		if ((rc = parse_phrases(c, ph, &pp, &q->phrases)))
			return rc;
		q->how = QN_BY_PHRASES;
	} else if (choice_phrases) {
		size_t fallback = 0;
		for (size_t i = 0; i < q->nchoices; i++)
			fallback += !q->choices[i].has_phrases;
		if (q->type == QN_SINGLE_CHOICE && fallback != 1) {
			struct qpath cp = qp_key(p, "choices");
			return FAIL(c, &cp, false, "a single_choice question answered by phrases wants "
						   "exactly one choice without phrases (the answer "
						   "when no other matches); it has %zu", fallback);
		}
		q->how = QN_BY_PHRASES;
	} else if (me) {
		if (q->type != QN_YES_NO && q->type != QN_NUMBER)
			return FAIL(c, &mp, true, "a metric answers yes_no and number questions only");
		if (json_object_get(qo, "window"))
			return FAIL(c, &wp, true, "metrics are of the whole call: no window");
		if ((rc = parse_metric(c, me, &mp, q)))
			return rc;
		q->how = QN_BY_METRIC;
	}
	q->max_score = max_score(q);
	return PARLEY_OK;
}

static void question_release(struct qn_question *q)
{
	for (size_t i = 0; i < q->nchoices; i++)
		phrases_free(&q->choices[i].phrases);
	free(q->choices);
	free(q->ranges);
	free(q->condition.values);
	phrases_free(&q->phrases);
}

void questionnaire_free(struct questionnaire *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->n; i++)
		question_release(&q->q[i]);
	free(q->q);
	json_decref(q->doc);
	free(q);
}

/* The line of every element of "questions", in one scan. */
static void question_lines(const struct qctx *c, struct questionnaire *q)
{
	int *lines = calloc(q->n ? q->n : 1, sizeof(*lines));
	struct qpath p = {0};
	p = qp_key(&p, "questions");
	struct scan sc = {c->text, c->len, 0, 1, 1, &p, false, -1, 1, 1, lines, lines ? q->n : 0};
	sc_value(&sc, 0, true);
	for (size_t i = 0; i < q->n; i++)
		q->q[i].line = lines && lines[i] ? lines[i] : 1;
	free(lines);
}

enum parley_err questionnaire_parse(const char *text, size_t len, const char *name,
				    struct questionnaire **out, struct parley_error *err)
{
	static const char *const keys[] = {"version", "name", "description", "questions", NULL};
	*out = NULL;
	if (len > QN_DOC_MAX)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "%s: larger than %zu bytes", name,
					QN_DOC_MAX);
	size_t skip = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
	struct qctx c = {name, text + skip, len - skip, err};
	struct qpath root = {0};
	json_error_t je;
	json_nomem_reset();
	json_t *doc = json_loadb(c.text, c.len, JSON_REJECT_DUPLICATES, &je);
	if (json_load_nomem(doc, &je))
		return parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory reading it", name);
	if (!doc)
		return parley_error_set(err, PARLEY_ERR_INVALID, "%s:%d:%d: %s", name,
					je.line > 0 ? je.line : 1, je.column > 0 ? je.column : 1,
					je.text);
	struct questionnaire *q = calloc(1, sizeof(*q));
	enum parley_err rc = PARLEY_OK;
	if (!q) {
		json_decref(doc);
		return parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory", name);
	}
	q->doc = doc;
	if (!json_is_object(doc)) {
		rc = FAIL(&c, &root, false, "wants a JSON object {\"version\": …, \"questions\": […]}");
		goto out;
	}
	if ((rc = check_keys(&c, doc, &root, keys)) ||
	    (rc = get_str(&c, doc, "name", &root, false, 200, "", &q->name)) ||
	    (rc = get_str(&c, doc, "description", &root, false, QN_INSTRUCTIONS_MAX, "",
			  &q->description)))
		goto out;
	json_t *ver = json_object_get(doc, "version");
	struct qpath vp = qp_key(&root, "version");
	if (!ver) {
		rc = FAIL(&c, &root, false, "\"version\" is missing (the questionnaire's revision: "
					   "an integer or a label)");
		goto out;
	}
	if (json_is_integer(ver) && json_integer_value(ver) >= 1) {
		snprintf(q->version, sizeof(q->version), "%lld", (long long)json_integer_value(ver));
	} else if (json_is_string(ver) && id_ok(json_string_value(ver))) {
		snprintf(q->version, sizeof(q->version), "%s", json_string_value(ver));
	} else {
		rc = FAIL(&c, &vp, false, "wants an integer >= 1 or a label of 1-63 of "
					  "A-Z a-z 0-9 _ . -");
		goto out;
	}
	json_t *arr;
	if ((rc = get_array(&c, doc, "questions", &root, QN_QUESTIONS_MAX, &arr)))
		goto out;
	struct qpath qp = qp_key(&root, "questions");
	if (!arr) {
		rc = FAIL(&c, &root, false, "\"questions\" is missing");
		goto out;
	}
	if (!json_array_size(arr)) {
		rc = FAIL(&c, &qp, false, "wants at least one question");
		goto out;
	}
	q->q = calloc(json_array_size(arr), sizeof(*q->q));
	if (!q->q) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory", name);
		goto out;
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		struct qpath ip = qp_idx(&qp, i);
		q->n = i + 1;
		if ((rc = parse_question(&c, json_array_get(arr, i), &ip, q, i)))
			goto out;
	}
	question_lines(&c, q);
out:
	if (rc) {
		questionnaire_free(q);
		return rc;
	}
	*out = q;
	return PARLEY_OK;
}

enum parley_err questionnaire_load(const char *path, struct questionnaire **out,
				   struct parley_error *err)
{
	char *text = NULL;
	size_t len = 0;
	*out = NULL;
	enum parley_err rc = fs_read_file(path, QN_DOC_MAX, &text, &len, err);
	if (rc)
		return rc;
	rc = questionnaire_parse(text, len, path, out, err);
	free(text);
	return rc;
}

const struct qn_question *questionnaire_find(const struct questionnaire *q, const char *id)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->q[i].id, id) == 0)
			return &q->q[i];
	return NULL;
}

const struct qn_choice *qn_choice_find(const struct qn_question *q, const char *id)
{
	for (size_t i = 0; i < q->nchoices; i++)
		if (strcmp(q->choices[i].id, id) == 0)
			return &q->choices[i];
	return NULL;
}
