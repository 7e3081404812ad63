/*
 * rules.c — the rule language of rules.h: a lexer, a recursive-descent
 * parser with a depth bound into an array of nodes, and a three-valued
 * evaluator with the form score. The language and the scoring are
 * described in rules.h.
 */
#include "audit/rules.h"

#include "audit/call_text.h"
#include "audit/phrase.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the parsed form ---------------------------------------------------- */

enum node_kind {
	N_NUM, N_STR, N_BOOL, N_LIST, /* literals; a list's items chain by next */
	N_ANSWER, N_ASCORE, N_ANA,    /* answer.Q, answer.Q.score, answer.Q.na */
	N_METRIC, N_META,             /* metric.S.N, meta.C */
	N_SAID, N_COUNT, N_JUDGE,     /* phrase tests, LLM judgement */
	N_NOT, N_AND, N_OR, N_CMP, N_IN, N_CONTAINS, N_ISNA,
};

enum cmp_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

/* Static types, for the checks parse can make. */
enum vtype { TY_ANY, TY_BOOL, TY_NUM, TY_STR, TY_LIST };

struct node {
	enum node_kind kind;
	enum vtype type;
	int op;            /* N_CMP: enum cmp_op; N_ISNA: 1 = "is not na" */
	int a, b, next;    /* children and list chain (-1 = none) */
	double num;
	char *s, *s2;      /* string, question/column/scope id; s2: metric name */
	char *text;        /* N_SAID, N_COUNT, N_JUDGE, references: source text */
	char **phrases;    /* N_SAID, N_COUNT */
	size_t nphrases;
	bool all;
	struct rules_window win;
};

enum verdict { V_PASS, V_FAIL, V_FLAG };
static const char *const verdict_names[] = {"pass", "fail", "flag"};

struct rule {
	char id[RULES_ID_MAX];
	enum verdict verdict;
	double weight;
	int cond;
	char *because; /* NULL = the condition's text */
	char *cond_text;
};

struct rules {
	struct node *nodes;
	size_t nnodes, capnodes;
	struct rule *rules;
	size_t n, cap;
	double fail_below, flag_below; /* shares 0..1; < 0 = none */
	char **judges;
	size_t njudges;
};

static void node_release(struct node *n)
{
	free(n->s);
	free(n->s2);
	free(n->text);
	for (size_t i = 0; i < n->nphrases; i++)
		free(n->phrases[i]);
	free(n->phrases);
}

void rules_free(struct rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nnodes; i++)
		node_release(&r->nodes[i]);
	free(r->nodes);
	for (size_t i = 0; i < r->n; i++) {
		free(r->rules[i].because);
		free(r->rules[i].cond_text);
	}
	free(r->rules);
	for (size_t i = 0; i < r->njudges; i++)
		free(r->judges[i]);
	free(r->judges);
	free(r);
}

size_t rules_count(const struct rules *r) { return r ? r->n : 0; }
const char *rules_id(const struct rules *r, size_t i) { return r->rules[i].id; }
const char *rules_verdict_of(const struct rules *r, size_t i)
{
	return verdict_names[r->rules[i].verdict];
}
double rules_weight(const struct rules *r, size_t i) { return r->rules[i].weight; }
size_t rules_judge_count(const struct rules *r) { return r ? r->njudges : 0; }
const char *rules_judge_criterion(const struct rules *r, size_t i) { return r->judges[i]; }

/* ---- lexer -------------------------------------------------------------- */

enum tok_kind {
	T_EOF, T_IDENT, T_NUM, T_STR, T_LP, T_RP, T_LB, T_RB, T_COMMA, T_DOT, T_SEMI,
	T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE,
};

enum unit { U_NONE, U_SECONDS, U_PERCENT };

struct tok {
	enum tok_kind kind;
	size_t off, end; /* bytes of the text */
	int line, col;
	double num;
	enum unit unit;
	char str[RULES_STRING_MAX + 1]; /* T_STR decoded, T_IDENT */
	size_t slen;
};

struct parser {
	const char *text;
	size_t len, pos;
	int line, col;
	const char *name;
	const struct rules_known *known;
	struct rules *r;
	struct tok t;           /* the current token */
	enum tok_kind prev;     /* the token before it */
	int depth;
	struct parley_error *err;
};

static enum parley_err perr_at(struct parser *p, enum parley_err code, int line, int col,
			       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static enum parley_err perr_at(struct parser *p, enum parley_err code, int line, int col,
			       const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return parley_error_set(p->err, code, "%s:%d:%d: %s", p->name, line, col, what);
}
#define PERR(p, ...) perr_at((p), PARLEY_ERR_INVALID, (p)->t.line, (p)->t.col, __VA_ARGS__)

static void advance(struct parser *p)
{
	unsigned char c = (unsigned char)p->text[p->pos++];
	if (c == '\n') {
		p->line++;
		p->col = 1;
	} else if ((c & 0xC0) != 0x80) { /* a UTF-8 continuation byte is no new column */
		p->col++;
	}
}

static int peekc(const struct parser *p, size_t ahead)
{
	return p->pos + ahead < p->len ? (unsigned char)p->text[p->pos + ahead] : -1;
}

static bool ident_start(int c) { return c >= 0 && (isalpha(c) || c == '_'); }
static bool ident_char(int c) { return c >= 0 && (isalnum(c) || c == '_'); }

/* A token's text for messages: at most 40 bytes, printable. */
static void tok_show(const struct parser *p, const struct tok *t, char *out, size_t size)
{
	if (t->kind == T_EOF) {
		snprintf(out, size, "the end of the document");
		return;
	}
	size_t n = t->end - t->off, k = 0;
	if (n > 40)
		n = 40;
	out[k++] = '\'';
	for (size_t i = 0; i < n && k + 3 < size; i++) {
		unsigned char c = (unsigned char)p->text[t->off + i];
		out[k++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	out[k++] = '\'';
	out[k] = 0;
}

static enum parley_err lex_string(struct parser *p)
{
	struct tok *t = &p->t;
	advance(p); /* " */
	t->slen = 0;
	for (;;) {
		int c = peekc(p, 0);
		if (c < 0 || c == '\n')
			return perr_at(p, PARLEY_ERR_INVALID, t->line, t->col,
				       "a string is not closed before the end of its line");
		if (c == '"') {
			advance(p);
			break;
		}
		if (c == '\\') {
			static const char esc_in[] = "\"\\nt", esc_out[] = "\"\\\n\t";
			int e = peekc(p, 1);
			const char *m = e > 0 ? strchr(esc_in, e) : NULL;
			if (!m)
				return perr_at(p, PARLEY_ERR_INVALID, p->line, p->col,
					       "unknown escape in a string (\\\" \\\\ \\n \\t)");
			c = esc_out[m - esc_in];
			advance(p);
		}
		if (t->slen >= RULES_STRING_MAX)
			return perr_at(p, PARLEY_ERR_TOO_LARGE, t->line, t->col,
				       "a string longer than %d bytes", RULES_STRING_MAX);
		t->str[t->slen++] = (char)c;
		advance(p);
	}
	t->str[t->slen] = 0;
	t->kind = T_STR;
	return PARLEY_OK;
}

static enum parley_err lex_number(struct parser *p)
{
	struct tok *t = &p->t;
	size_t start = p->pos;
	if (peekc(p, 0) == '-')
		advance(p);
	while (peekc(p, 0) >= 0 && isdigit(peekc(p, 0)))
		advance(p);
	if (peekc(p, 0) == '.' && peekc(p, 1) >= 0 && isdigit(peekc(p, 1))) {
		advance(p);
		while (peekc(p, 0) >= 0 && isdigit(peekc(p, 0)))
			advance(p);
	}
	char buf[64];
	size_t n = p->pos - start;
	if (n >= sizeof(buf))
		return perr_at(p, PARLEY_ERR_INVALID, t->line, t->col, "a number of more than 63 digits");
	memcpy(buf, p->text + start, n);
	buf[n] = 0;
	errno = 0;
	t->num = strtod(buf, NULL);
	if (errno || !isfinite(t->num))
		return perr_at(p, PARLEY_ERR_INVALID, t->line, t->col, "the number %s is out of range", buf);
	t->unit = U_NONE;
	if (peekc(p, 0) == '%') {
		advance(p);
		t->unit = U_PERCENT;
	} else if (ident_start(peekc(p, 0))) {
		size_t u = p->pos;
		while (ident_char(peekc(p, 0)))
			advance(p);
		size_t un = p->pos - u;
		if (un == 1 && p->text[u] == 's') {
			t->unit = U_SECONDS;
		} else if (un == 3 && memcmp(p->text + u, "min", 3) == 0) {
			t->unit = U_SECONDS;
			t->num *= 60;
		} else {
			return perr_at(p, PARLEY_ERR_INVALID, t->line, t->col,
				       "unknown unit '%.*s' after a number (s, min or %%)",
				       (int)(un > 20 ? 20 : un), p->text + u);
		}
	}
	t->kind = T_NUM;
	return PARLEY_OK;
}

/* Read the next token into p->t. */
static enum parley_err lex(struct parser *p)
{
	struct tok *t = &p->t;
	p->prev = t->kind;
	for (;;) {
		int c = peekc(p, 0);
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			advance(p);
		} else if (c == '#') {
			while (peekc(p, 0) >= 0 && peekc(p, 0) != '\n')
				advance(p);
		} else {
			break;
		}
	}
	t->off = p->pos;
	t->line = p->line;
	t->col = p->col;
	t->slen = 0;
	t->str[0] = 0;
	int c = peekc(p, 0);
	enum parley_err rc = PARLEY_OK;
	if (c < 0) {
		t->kind = T_EOF;
	} else if (c == '"') {
		rc = lex_string(p);
	} else if ((c >= 0 && isdigit(c) && p->prev != T_DOT) ||
		   (c == '-' && peekc(p, 1) >= 0 && isdigit(peekc(p, 1)))) {
		rc = lex_number(p);
	} else if (ident_start(c) || (ident_char(c) && p->prev == T_DOT)) {
		/* letters, digits, '_'; '-' and ':' only between them */
		while (ident_char(peekc(p, 0)) ||
		       ((peekc(p, 0) == '-' || peekc(p, 0) == ':') && ident_char(peekc(p, 1))))
			advance(p);
		size_t n = p->pos - t->off;
		if (n >= RULES_ID_MAX)
			return perr_at(p, PARLEY_ERR_TOO_LARGE, t->line, t->col,
				       "a name longer than %d characters", RULES_ID_MAX - 1);
		memcpy(t->str, p->text + t->off, n);
		t->str[n] = 0;
		t->slen = n;
		t->kind = T_IDENT;
	} else {
		static const struct {
			const char *s;
			enum tok_kind k;
		} ops[] = {
			{"==", T_EQ}, {"!=", T_NE}, {"<=", T_LE}, {">=", T_GE}, {"=", T_EQ},
			{"<", T_LT},  {">", T_GT},  {"(", T_LP},  {")", T_RP},  {"[", T_LB},
			{"]", T_RB},  {",", T_COMMA}, {".", T_DOT}, {";", T_SEMI},
		};
		size_t i;
		for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
			size_t n = strlen(ops[i].s);
			if (p->pos + n <= p->len && memcmp(p->text + p->pos, ops[i].s, n) == 0) {
				for (size_t k = 0; k < n; k++)
					advance(p);
				t->kind = ops[i].k;
				break;
			}
		}
		if (i == sizeof(ops) / sizeof(ops[0])) {
			if (c < 0x20 || c >= 0x7f)
				return PERR(p, "unexpected character (byte 0x%02x)", (unsigned)c);
			return PERR(p, "unexpected character '%c'", c);
		}
	}
	t->end = p->pos;
	return rc;
}

static bool is_word(const struct parser *p, const char *w)
{
	return p->t.kind == T_IDENT && strcmp(p->t.str, w) == 0;
}

static enum parley_err expect(struct parser *p, enum tok_kind k, const char *what)
{
	if (p->t.kind != k) {
		char got[64];
		tok_show(p, &p->t, got, sizeof(got));
		return PERR(p, "expected %s, found %s", what, got);
	}
	return lex(p);
}

static enum parley_err expect_word(struct parser *p, const char *w, const char *context)
{
	if (!is_word(p, w)) {
		char got[64];
		tok_show(p, &p->t, got, sizeof(got));
		return PERR(p, "expected '%s' %s, found %s", w, context, got);
	}
	return lex(p);
}

/* ---- parser ------------------------------------------------------------- */

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

static enum parley_err nomem(struct parser *p)
{
	return parley_error_set(p->err, PARLEY_ERR_NOMEM, "%s: out of memory parsing rules", p->name);
}

/* A new node (zeroed, children -1) at the current token; *idx its index. */
static enum parley_err node_new(struct parser *p, enum node_kind kind, enum vtype type, int *idx)
{
	struct rules *r = p->r;
	if (r->nnodes >= RULES_NODES_MAX)
		return perr_at(p, PARLEY_ERR_TOO_LARGE, p->t.line, p->t.col,
			       "more than %d terms in the rules", RULES_NODES_MAX);
	if (r->nnodes == r->capnodes) {
		size_t cap = r->capnodes ? r->capnodes * 2 : 64;
		struct node *nn = realloc(r->nodes, cap * sizeof(*nn));
		if (!nn)
			return nomem(p);
		r->nodes = nn;
		r->capnodes = cap;
	}
	struct node *n = &r->nodes[r->nnodes];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->type = type;
	n->a = n->b = n->next = -1;
	*idx = (int)r->nnodes++;
	return PARLEY_OK;
}

/* The source text [from, to) with comments dropped and every run of
 * blanks made one space (strings kept as written). */
static char *source_text(const char *text, size_t from, size_t to)
{
	char *o = malloc(to - from + 1);
	if (!o)
		return NULL;
	size_t k = 0;
	bool space = false;
	for (size_t i = from; i < to; i++) {
		char c = text[i];
		if (c == '#') {
			while (i < to && text[i] != '\n')
				i++;
			space = true;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			space = true;
			continue;
		}
		if (space && k)
			o[k++] = ' ';
		space = false;
		if (c == '"') { /* a string as written, escapes included */
			o[k++] = text[i++];
			while (i < to && text[i] != '"') {
				if (text[i] == '\\' && i + 1 < to)
					o[k++] = text[i++];
				o[k++] = text[i++];
			}
			if (i < to)
				o[k++] = text[i];
			continue;
		}
		o[k++] = c;
	}
	o[k] = 0;
	return o;
}

static enum parley_err parse_expr(struct parser *p, int *out);

static enum parley_err depth_in(struct parser *p)
{
	if (++p->depth > RULES_DEPTH_MAX)
		return perr_at(p, PARLEY_ERR_TOO_LARGE, p->t.line, p->t.col,
			       "conditions nested more than %d deep", RULES_DEPTH_MAX);
	return PARLEY_OK;
}

/* The metric names of core/call_metrics.h. */
static const char *const metric_names[] = {
	"talk_time", "talk_share", "non_talk_time", "silence_count", "silence_time", "silence_max",
	"overlap_time", "overlap_count", "interruption_count", "interruption_time",
	"interruptions_made", "interruptions_received", "turns", "mean_turn", "words", "wpm",
	"loudness_lufs", "hold_time", "hold_count", "ivr_time", "agent_first_word", "duration",
};

static bool question_known(const struct rules_known *k, const char *id)
{
	if (!k || !k->check_questions)
		return true;
	for (size_t i = 0; i < k->nquestions; i++)
		if (k->question_ids[i] && strcmp(k->question_ids[i], id) == 0)
			return true;
	return false;
}

/* One path segment after a dot, into seg; its position into line/col. */
static enum parley_err path_segment(struct parser *p, const char *what, char *seg, int *line,
				    int *col)
{
	enum parley_err rc = expect(p, T_DOT, "'.'");
	if (rc)
		return rc;
	if (p->t.kind != T_IDENT)
		return PERR(p, "expected %s after '.'", what);
	snprintf(seg, RULES_ID_MAX, "%s", p->t.str);
	*line = p->t.line;
	*col = p->t.col;
	return lex(p);
}

/* answer.Q[.score|.na], metric.S.N, meta.C */
static enum parley_err parse_reference(struct parser *p, int *out)
{
	char head[RULES_ID_MAX], a[RULES_ID_MAX], b[RULES_ID_MAX];
	snprintf(head, sizeof(head), "%s", p->t.str);
	int line, col, bline, bcol;
	enum parley_err rc = lex(p);
	if (rc)
		return rc;
	int idx;
	if (strcmp(head, "answer") == 0) {
		if ((rc = path_segment(p, "a question id", a, &line, &col)))
			return rc;
		if (!question_known(p->known, a))
			return perr_at(p, PARLEY_ERR_INVALID, line, col,
				       "unknown question '%s' (not in the questionnaire)", a);
		enum node_kind kind = N_ANSWER;
		enum vtype type = TY_ANY;
		if (p->t.kind == T_DOT) {
			if ((rc = path_segment(p, "score or na", b, &bline, &bcol)))
				return rc;
			if (strcmp(b, "score") == 0) {
				kind = N_ASCORE;
				type = TY_NUM;
			} else if (strcmp(b, "na") == 0) {
				kind = N_ANA;
				type = TY_BOOL;
			} else {
				return perr_at(p, PARLEY_ERR_INVALID, bline, bcol,
					       "answer.%s has no '%s' (score or na)", a, b);
			}
		}
		if ((rc = node_new(p, kind, type, &idx)))
			return rc;
		if (!(p->r->nodes[idx].s = strdup(a)))
			return nomem(p);
	} else if (strcmp(head, "metric") == 0) {
		if ((rc = path_segment(p, "a scope (call, agent, customer, …)", a, &line, &col)) ||
		    (rc = path_segment(p, "a metric name", b, &bline, &bcol)))
			return rc;
		bool ok = false;
		for (size_t i = 0; i < sizeof(metric_names) / sizeof(metric_names[0]); i++)
			ok = ok || strcmp(metric_names[i], b) == 0;
		if (!ok)
			return perr_at(p, PARLEY_ERR_INVALID, bline, bcol,
				       "unknown metric '%s' (talk_time, talk_share, silence_max, … as "
				       "in README Call analysis)", b);
		if (p->t.kind == T_DOT)
			return PERR(p, "a metric is metric.SCOPE.NAME; nothing follows the name");
		if ((rc = node_new(p, N_METRIC, TY_NUM, &idx)))
			return rc;
		struct node *n = &p->r->nodes[idx];
		if (!(n->s = strdup(a)) || !(n->s2 = strdup(b)))
			return nomem(p);
	} else if (strcmp(head, "meta") == 0) {
		if ((rc = path_segment(p, "a metadata column", a, &line, &col)))
			return rc;
		if (p->t.kind == T_DOT)
			return PERR(p, "metadata is meta.COLUMN; nothing follows the column");
		if ((rc = node_new(p, N_META, TY_ANY, &idx)))
			return rc;
		if (!(p->r->nodes[idx].s = strdup(a)))
			return nomem(p);
	} else {
		return perr_at(p, PARLEY_ERR_INVALID, p->t.line, p->t.col, "internal: not a reference");
	}
	/* its text, canonical (no blanks or comments around the dots) */
	struct node *n = &p->r->nodes[idx];
	char txt[3 * RULES_ID_MAX + 16];
	if (n->kind == N_METRIC)
		snprintf(txt, sizeof(txt), "metric.%s.%s", n->s, n->s2);
	else if (n->kind == N_META)
		snprintf(txt, sizeof(txt), "meta.%s", n->s);
	else
		snprintf(txt, sizeof(txt), "answer.%s%s", n->s,
			 n->kind == N_ASCORE ? ".score" : n->kind == N_ANA ? ".na" : "");
	if (!(n->text = strdup(txt)))
		return nomem(p);
	*out = idx;
	return PARLEY_OK;
}

/* said/count(ROLE, PHRASES [, WINDOW]) after the name; the node is made. */
static enum parley_err parse_phrase_test(struct parser *p, enum node_kind kind, size_t from,
					 int *out)
{
	enum parley_err rc;
	int idx;
	if ((rc = expect(p, T_LP, "'(' after said or count")))
		return rc;
	if (p->t.kind != T_IDENT && p->t.kind != T_STR)
		return PERR(p, "expected a role (agent, customer, anyone, …) as said()'s first argument");
	char role[RULES_ID_MAX];
	if (p->t.slen == 0 || p->t.slen >= sizeof(role))
		return PERR(p, "a role is a name of 1 to %d characters", RULES_ID_MAX - 1);
	snprintf(role, sizeof(role), "%s", p->t.str);
	if (strcmp(role, "anyone") == 0)
		snprintf(role, sizeof(role), "any");
	if ((rc = lex(p)) || (rc = expect(p, T_COMMA, "',' after the role")))
		return rc;
	if ((rc = node_new(p, kind, kind == N_SAID ? TY_BOOL : TY_NUM, &idx)))
		return rc;
	struct node *n = &p->r->nodes[idx];
	if (!(n->s = strdup(role)))
		return nomem(p);
	n->phrases = calloc(RULES_PHRASES_MAX, sizeof(char *));
	if (!n->phrases)
		return nomem(p);
	bool group = is_word(p, "any") || is_word(p, "all");
	if (group) {
		n->all = is_word(p, "all");
		if ((rc = lex(p)) || (rc = expect(p, T_LP, "'(' after any or all")))
			return rc;
	}
	for (;;) {
		if (p->t.kind != T_STR)
			return PERR(p, group ? "expected a phrase (a string)"
					     : "expected a phrase: \"words\", any(\"a\", \"b\") or all(\"a\", \"b\")");
		bool blank = true;
		for (size_t i = 0; i < p->t.slen; i++)
			blank = blank && isspace((unsigned char)p->t.str[i]);
		if (blank)
			return PERR(p, "an empty phrase");
		char why[200];
		if (!phrase_check(p->t.str, why, sizeof(why)))
			return PERR(p, "%s", why);
		if (n->nphrases >= RULES_PHRASES_MAX)
			return perr_at(p, PARLEY_ERR_TOO_LARGE, p->t.line, p->t.col,
				       "more than %d phrases in one test", RULES_PHRASES_MAX);
		if (!(n->phrases[n->nphrases] = dup_n(p->t.str, p->t.slen)))
			return nomem(p);
		n->nphrases++;
		if ((rc = lex(p)))
			return rc;
		if (!group || p->t.kind != T_COMMA)
			break;
		if ((rc = lex(p)))
			return rc;
	}
	if (group && (rc = expect(p, T_RP, "')' closing the phrases")))
		return rc;
	n->win.kind = RULES_WINDOW_CALL;
	if (p->t.kind == T_COMMA) {
		if ((rc = lex(p)))
			return rc;
		if (is_word(p, "first"))
			n->win.kind = RULES_WINDOW_FIRST;
		else if (is_word(p, "last"))
			n->win.kind = RULES_WINDOW_LAST;
		else
			return PERR(p, "expected a window: first 30s, last 2min, first 10%%, last 25%%");
		if ((rc = lex(p)))
			return rc;
		if (p->t.kind != T_NUM || p->t.unit == U_NONE)
			return PERR(p, "expected a length with its unit (30s, 2min, 10%%)");
		n->win.percent = p->t.unit == U_PERCENT;
		n->win.amount = p->t.num;
		if (!(p->t.num > 0) || (n->win.percent && p->t.num > 100) || p->t.num > 1e7)
			return PERR(p, n->win.percent ? "a window's share is more than 0%% and at most 100%%"
						      : "a window's length is more than 0 s and at most 10^7 s");
		if ((rc = lex(p)))
			return rc;
	}
	if (p->t.kind != T_RP)
		return PERR(p, "expected ')' closing %s(…)", kind == N_SAID ? "said" : "count");
	size_t to = p->t.end;
	if ((rc = lex(p)))
		return rc;
	n = &p->r->nodes[idx];
	if (!(n->text = source_text(p->text, from, to)))
		return nomem(p);
	*out = idx;
	return PARLEY_OK;
}

static enum parley_err parse_judge(struct parser *p, size_t from, int *out)
{
	enum parley_err rc;
	if ((rc = expect(p, T_LP, "'(' after judge")))
		return rc;
	if (p->t.kind != T_STR || p->t.slen == 0)
		return PERR(p, "expected the criterion, a non-empty string");
	struct rules *r = p->r;
	size_t j;
	for (j = 0; j < r->njudges; j++)
		if (strcmp(r->judges[j], p->t.str) == 0)
			break;
	if (j == r->njudges) {
		char **nj = realloc(r->judges, (r->njudges + 1) * sizeof(*nj));
		if (!nj)
			return nomem(p);
		r->judges = nj;
		if (!(r->judges[r->njudges] = dup_n(p->t.str, p->t.slen)))
			return nomem(p);
		r->njudges++;
	}
	int idx;
	if ((rc = node_new(p, N_JUDGE, TY_BOOL, &idx)))
		return rc;
	if (!(p->r->nodes[idx].s = dup_n(p->t.str, p->t.slen)))
		return nomem(p);
	if ((rc = lex(p)))
		return rc;
	if (p->t.kind != T_RP)
		return PERR(p, "expected ')' closing judge(…)");
	size_t to = p->t.end;
	if ((rc = lex(p)))
		return rc;
	if (!(p->r->nodes[idx].text = source_text(p->text, from, to)))
		return nomem(p);
	*out = idx;
	return PARLEY_OK;
}

static const char *const reserved[] = {
	"and", "or", "not", "in", "contains", "is", "when", "because", "rule", "weight", "below",
};

static enum parley_err parse_primary(struct parser *p, int *out)
{
	enum parley_err rc;
	int idx;
	if (p->t.kind == T_LP) {
		if ((rc = depth_in(p)) || (rc = lex(p)) || (rc = parse_expr(p, out)) ||
		    (rc = expect(p, T_RP, "')'")))
			return rc;
		p->depth--;
		return PARLEY_OK;
	}
	if (p->t.kind == T_NUM) {
		if ((rc = node_new(p, N_NUM, TY_NUM, &idx)))
			return rc;
		p->r->nodes[idx].num = p->t.unit == U_PERCENT ? p->t.num / 100 : p->t.num;
		*out = idx;
		return lex(p);
	}
	if (p->t.kind == T_STR) {
		if ((rc = node_new(p, N_STR, TY_STR, &idx)))
			return rc;
		if (!(p->r->nodes[idx].s = dup_n(p->t.str, p->t.slen)))
			return nomem(p);
		*out = idx;
		return lex(p);
	}
	if (p->t.kind != T_IDENT) {
		char got[64];
		tok_show(p, &p->t, got, sizeof(got));
		return PERR(p, "expected a value (a number, a string, answer.…, metric.…, meta.…, "
			       "said(…), count(…)), found %s", got);
	}
	if (is_word(p, "true") || is_word(p, "false")) {
		if ((rc = node_new(p, N_BOOL, TY_BOOL, &idx)))
			return rc;
		p->r->nodes[idx].num = is_word(p, "true");
		*out = idx;
		return lex(p);
	}
	if (is_word(p, "answer") || is_word(p, "metric") || is_word(p, "meta"))
		return parse_reference(p, out);
	size_t from = p->t.off;
	if (is_word(p, "said") || is_word(p, "count")) {
		enum node_kind k = is_word(p, "said") ? N_SAID : N_COUNT;
		if ((rc = lex(p)))
			return rc;
		return parse_phrase_test(p, k, from, out);
	}
	if (is_word(p, "judge")) {
		if ((rc = lex(p)))
			return rc;
		return parse_judge(p, from, out);
	}
	if (is_word(p, "na"))
		return PERR(p, "na is tested with 'X is na' or 'X is not na'");
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (is_word(p, reserved[i]))
			return PERR(p, "expected a value, found the keyword '%s'", reserved[i]);
	return PERR(p, "unknown name '%s' (values are answer.Q, metric.SCOPE.NAME, meta.COLUMN, "
		       "said(…), count(…), judge(…), numbers, strings, true, false)", p->t.str);
}

static enum parley_err parse_list(struct parser *p, int *out)
{
	enum parley_err rc;
	int list, last = -1;
	size_t n = 0;
	if ((rc = node_new(p, N_LIST, TY_LIST, &list)) || (rc = expect(p, T_LB, "'[' after in")))
		return rc;
	for (;;) {
		int item;
		if (p->t.kind != T_NUM && p->t.kind != T_STR && !is_word(p, "true") &&
		    !is_word(p, "false"))
			return PERR(p, "a list holds numbers and strings");
		if (++n > RULES_LIST_MAX)
			return perr_at(p, PARLEY_ERR_TOO_LARGE, p->t.line, p->t.col,
				       "more than %d items in a list", RULES_LIST_MAX);
		if ((rc = parse_primary(p, &item)))
			return rc;
		if (last < 0)
			p->r->nodes[list].a = item;
		else
			p->r->nodes[last].next = item;
		last = item;
		if (p->t.kind != T_COMMA)
			break;
		if ((rc = lex(p)))
			return rc;
	}
	if ((rc = expect(p, T_RB, "']' closing the list")))
		return rc;
	*out = list;
	return PARLEY_OK;
}

static const char *type_name(enum vtype t)
{
	static const char *const names[] = {"a value", "true or false", "a number", "a string",
					    "a list"};
	return names[t];
}

static enum parley_err parse_comparison(struct parser *p, int *out)
{
	enum parley_err rc;
	int left, right, idx;
	if ((rc = parse_primary(p, &left)))
		return rc;
	static const struct {
		enum tok_kind k;
		enum cmp_op op;
		const char *s;
	} ops[] = {{T_EQ, OP_EQ, "="},  {T_NE, OP_NE, "!="}, {T_LT, OP_LT, "<"},
		   {T_LE, OP_LE, "<="}, {T_GT, OP_GT, ">"},  {T_GE, OP_GE, ">="}};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (p->t.kind != ops[i].k)
			continue;
		int oline = p->t.line, ocol = p->t.col;
		if ((rc = lex(p)) || (rc = parse_primary(p, &right)))
			return rc;
		enum vtype lt = p->r->nodes[left].type, rt = p->r->nodes[right].type;
		if (ops[i].op >= OP_LT && (lt == TY_BOOL || rt == TY_BOOL || lt == TY_STR ||
					   rt == TY_STR))
			return perr_at(p, PARLEY_ERR_INVALID, oline, ocol,
				       "'%s' compares numbers, not %s", ops[i].s,
				       type_name(lt == TY_BOOL || lt == TY_STR ? lt : rt));
		if ((lt == TY_BOOL && (rt == TY_NUM || rt == TY_STR)) ||
		    (rt == TY_BOOL && (lt == TY_NUM || lt == TY_STR)) ||
		    (lt == TY_NUM && rt == TY_STR && p->r->nodes[right].kind == N_STR) ||
		    (rt == TY_NUM && lt == TY_STR && p->r->nodes[left].kind == N_STR))
			return perr_at(p, PARLEY_ERR_INVALID, oline, ocol,
				       "'%s' between %s and %s is never true", ops[i].s,
				       type_name(lt), type_name(rt));
		if ((rc = node_new(p, N_CMP, TY_BOOL, &idx)))
			return rc;
		struct node *n = &p->r->nodes[idx];
		n->op = (int)ops[i].op;
		n->a = left;
		n->b = right;
		*out = idx;
		return PARLEY_OK;
	}
	if (is_word(p, "in")) {
		if ((rc = lex(p)) || (rc = parse_list(p, &right)) ||
		    (rc = node_new(p, N_IN, TY_BOOL, &idx)))
			return rc;
		p->r->nodes[idx].a = left;
		p->r->nodes[idx].b = right;
		*out = idx;
		return PARLEY_OK;
	}
	if (is_word(p, "contains")) {
		if ((rc = lex(p)))
			return rc;
		if (p->t.kind != T_STR)
			return PERR(p, "contains takes a string");
		if ((rc = parse_primary(p, &right)) || (rc = node_new(p, N_CONTAINS, TY_BOOL, &idx)))
			return rc;
		p->r->nodes[idx].a = left;
		p->r->nodes[idx].b = right;
		*out = idx;
		return PARLEY_OK;
	}
	if (is_word(p, "is")) {
		int neg = 0;
		if ((rc = lex(p)))
			return rc;
		if (is_word(p, "not")) {
			neg = 1;
			if ((rc = lex(p)))
				return rc;
		}
		if ((rc = expect_word(p, "na", "after 'is' (X is na, X is not na)")) ||
		    (rc = node_new(p, N_ISNA, TY_BOOL, &idx)))
			return rc;
		p->r->nodes[idx].a = left;
		p->r->nodes[idx].op = neg;
		*out = idx;
		return PARLEY_OK;
	}
	*out = left;
	return PARLEY_OK;
}

static enum parley_err parse_unary(struct parser *p, int *out)
{
	enum parley_err rc;
	if (!is_word(p, "not"))
		return parse_comparison(p, out);
	int child, idx;
	if ((rc = depth_in(p)) || (rc = lex(p)) || (rc = parse_unary(p, &child)) ||
	    (rc = node_new(p, N_NOT, TY_BOOL, &idx)))
		return rc;
	p->depth--;
	p->r->nodes[idx].a = child;
	*out = idx;
	return PARLEY_OK;
}

/* A chain `x and y and z` (or `or`) is one node whose operands chain by
 * next: parsed by a loop and evaluated by one, so a long chain costs
 * neither parser nor evaluator depth. and binds tighter than or. */
static enum parley_err parse_chain(struct parser *p, enum node_kind kind, int *out)
{
	const char *word = kind == N_AND ? "and" : "or";
	int first, last, idx;
	enum parley_err rc = kind == N_AND ? parse_unary(p, &first) : parse_chain(p, N_AND, &first);
	if (rc || !is_word(p, word)) {
		*out = first;
		return rc;
	}
	if ((rc = node_new(p, kind, TY_BOOL, &idx)))
		return rc;
	p->r->nodes[idx].a = last = first;
	while (is_word(p, word)) {
		int next;
		if ((rc = lex(p)) ||
		    (rc = kind == N_AND ? parse_unary(p, &next) : parse_chain(p, N_AND, &next)))
			return rc;
		p->r->nodes[last].next = next;
		last = next;
	}
	*out = idx;
	return PARLEY_OK;
}

static enum parley_err parse_expr(struct parser *p, int *out)
{
	return parse_chain(p, N_OR, out);
}

static enum parley_err parse_rule(struct parser *p)
{
	enum parley_err rc;
	struct rules *r = p->r;
	if ((rc = lex(p)))
		return rc;
	if (p->t.kind != T_IDENT)
		return PERR(p, "expected the rule's id after 'rule'");
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (is_word(p, reserved[i]))
			return PERR(p, "a rule's id cannot be the keyword '%s'", reserved[i]);
	if (is_word(p, "score"))
		return PERR(p, "a rule's id cannot be 'score' (the name of a threshold's reason)");
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->rules[i].id, p->t.str) == 0)
			return PERR(p, "a second rule '%s' (rule ids are unique)", p->t.str);
	if (r->n >= RULES_MAX)
		return perr_at(p, PARLEY_ERR_TOO_LARGE, p->t.line, p->t.col, "more than %d rules",
			       RULES_MAX);
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct rule *nr = realloc(r->rules, cap * sizeof(*nr));
		if (!nr)
			return nomem(p);
		r->rules = nr;
		r->cap = cap;
	}
	struct rule *ru = &r->rules[r->n];
	memset(ru, 0, sizeof(*ru));
	snprintf(ru->id, sizeof(ru->id), "%s", p->t.str);
	r->n++; /* counted now so rules_free frees what it holds */
	if ((rc = lex(p)))
		return rc;
	size_t v;
	for (v = 0; v < 3; v++)
		if (is_word(p, verdict_names[v]))
			break;
	if (v == 3) {
		char got[64];
		tok_show(p, &p->t, got, sizeof(got));
		return PERR(p, "expected the rule's verdict (pass, fail or flag), found %s", got);
	}
	ru->verdict = (enum verdict)v;
	ru->weight = v == V_PASS ? 1 : 0;
	if ((rc = lex(p)))
		return rc;
	if (is_word(p, "weight")) {
		if ((rc = lex(p)))
			return rc;
		if (p->t.kind != T_NUM || p->t.unit != U_NONE || p->t.num < 0 || p->t.num > 1e6)
			return PERR(p, "a weight is a number from 0 to 1000000");
		ru->weight = p->t.num;
		if ((rc = lex(p)))
			return rc;
	}
	if ((rc = expect_word(p, "when", "before the rule's condition")))
		return rc;
	size_t from = p->t.off;
	int cond;
	p->depth = 0;
	if ((rc = parse_expr(p, &cond)))
		return rc;
	ru = &r->rules[r->n - 1];
	ru->cond = cond;
	if (!(ru->cond_text = source_text(p->text, from, p->t.kind == T_EOF ? p->len : p->t.off)))
		return nomem(p);
	if (is_word(p, "because")) {
		if ((rc = lex(p)))
			return rc;
		if (p->t.kind != T_STR || p->t.slen == 0)
			return PERR(p, "expected the reason, a non-empty string, after 'because'");
		if (!(ru->because = dup_n(p->t.str, p->t.slen)))
			return nomem(p);
		if ((rc = lex(p)))
			return rc;
	}
	if (p->t.kind == T_SEMI)
		return lex(p);
	if (p->t.kind != T_EOF && !is_word(p, "rule") && !is_word(p, "fail") && !is_word(p, "flag")) {
		char got[64];
		tok_show(p, &p->t, got, sizeof(got));
		return PERR(p, "expected 'because', ';' or the next rule after the condition, found %s",
			    got);
	}
	return PARLEY_OK;
}

static enum parley_err parse_threshold(struct parser *p)
{
	enum parley_err rc;
	bool fail = is_word(p, "fail");
	double *slot = fail ? &p->r->fail_below : &p->r->flag_below;
	if (*slot >= 0)
		return PERR(p, "a second '%s below' (one of each)", fail ? "fail" : "flag");
	if ((rc = lex(p)) || (rc = expect_word(p, "below", fail ? "after fail (fail below 60%)"
								  : "after flag (flag below 80%)")))
		return rc;
	if (p->t.kind != T_NUM || p->t.unit != U_PERCENT || p->t.num < 0 || p->t.num > 100)
		return PERR(p, "expected a share of the maximum score, 0%% to 100%%");
	*slot = p->t.num / 100;
	if ((rc = lex(p)))
		return rc;
	if (p->t.kind == T_SEMI)
		return lex(p);
	return PARLEY_OK;
}

/* The position of the first byte that is not UTF-8 (or a NUL), if any. */
static bool utf8_check(const char *s, size_t len, size_t *bad)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		unsigned c = u[i];
		size_t n;
		unsigned min;
		if (c == 0) {
			*bad = i;
			return false;
		}
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			n = 1;
			min = 0x80;
			c &= 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2;
			min = 0x800;
			c &= 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			n = 3;
			min = 0x10000;
			c &= 0x07;
		} else {
			*bad = i;
			return false;
		}
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (u[i + k] & 0xC0) != 0x80) {
				*bad = i;
				return false;
			}
			c = (c << 6) | (u[i + k] & 0x3F);
		}
		if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
			*bad = i;
			return false;
		}
		i += n + 1;
	}
	return true;
}

enum parley_err rules_parse(const char *text, size_t len, const char *name,
			    const struct rules_known *known, struct rules **out,
			    struct parley_error *err)
{
	*out = NULL;
	if (!name)
		name = "rules";
	if (!text && len)
		return parley_error_set(err, PARLEY_ERR_INVALID, "%s: no text", name);
	if (len > RULES_TEXT_MAX)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "%s:1:1: rules of %zu bytes (at most %zu)",
					name, len, RULES_TEXT_MAX);
	struct parser p = {.text = text ? text : "", .len = len, .line = 1, .col = 1, .name = name,
			   .known = known, .err = err};
	size_t bad;
	if (!utf8_check(p.text, len, &bad)) {
		while (p.pos < bad)
			advance(&p);
		return perr_at(&p, PARLEY_ERR_INVALID, p.line, p.col,
			       p.text[bad] ? "not UTF-8 text" : "a NUL byte in the text");
	}
	p.r = calloc(1, sizeof(*p.r));
	if (!p.r)
		return nomem(&p);
	p.r->fail_below = p.r->flag_below = -1;
	p.t.kind = T_EOF;
	enum parley_err rc = lex(&p);
	while (!rc && p.t.kind != T_EOF) {
		if (is_word(&p, "rule"))
			rc = parse_rule(&p);
		else if (is_word(&p, "fail") || is_word(&p, "flag"))
			rc = parse_threshold(&p);
		else {
			char got[64];
			tok_show(&p, &p.t, got, sizeof(got));
			rc = PERR(&p, "expected 'rule', 'fail below' or 'flag below', found %s", got);
		}
	}
	if (rc) {
		rules_free(p.r);
		return rc;
	}
	*out = p.r;
	return PARLEY_OK;
}

/* ---- evaluation --------------------------------------------------------- */

enum val_kind { VK_NA, VK_BOOL, VK_NUM, VK_STR, VK_LIST };
struct val {
	enum val_kind k;
	bool b;
	double n;
	const char *s;  /* borrowed */
	json_t *list;   /* borrowed: an array of strings (and numbers) */
};

struct eval {
	const struct rules *r;
	const struct rules_input *in;
	json_t **answers; /* parsed answer JSON, per input answer (NULL = unparsable) */
	json_t *meta;
	json_t *evidence; /* the current rule's */
	struct parley_error *err;
};

static const struct store_answer *answer_find(const struct eval *e, const char *q, size_t *idx)
{
	for (size_t i = 0; i < e->in->nanswers; i++)
		if (strcmp(e->in->answers[i].question, q) == 0) {
			*idx = i;
			return &e->in->answers[i];
		}
	return NULL;
}

/* An answer that counts: not N/A, not skipped, valid, not null. */
static bool answer_counts(const struct store_answer *a, const json_t *j)
{
	return a && !a->na && a->valid && strcmp(a->source, "skipped") != 0 && j && !json_is_null(j);
}

static void evidence_add(struct eval *e, json_t *o)
{
	if (!o)
		return;
	if (json_array_size(e->evidence) < RULES_EVIDENCE_MAX)
		json_array_append(e->evidence, o);
	json_decref(o);
}

static struct val val_of_json(const json_t *j)
{
	struct val v = {.k = VK_NA};
	if (json_is_string(j)) {
		v.k = VK_STR;
		v.s = json_string_value(j);
		if (!v.s[0])
			v.k = VK_NA;
	} else if (json_is_number(j)) {
		v.k = VK_NUM;
		v.n = json_number_value(j);
	} else if (json_is_boolean(j)) {
		v.k = VK_BOOL;
		v.b = json_is_true(j);
	} else if (json_is_array(j)) {
		v.k = VK_LIST;
		v.list = (json_t *)j;
	}
	return v;
}

static json_t *val_json(const struct val *v)
{
	switch (v->k) {
	case VK_BOOL: return json_boolean(v->b);
	case VK_NUM: return json_real(v->n);
	case VK_STR: return json_string(v->s);
	case VK_LIST: return json_incref(v->list);
	default: return json_null();
	}
}

static bool str_num(const char *s, double *out)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	while (*end == ' ')
		end++;
	if (*end || errno || !isfinite(d))
		return false;
	*out = d;
	return true;
}

static bool val_num(const struct val *v, double *out)
{
	if (v->k == VK_NUM) {
		*out = v->n;
		return true;
	}
	if (v->k == VK_STR)
		return str_num(v->s, out);
	return false;
}

/* Truth: 1, 0 or -1 (N/A). */
static int truth(const struct val *v)
{
	switch (v->k) {
	case VK_BOOL: return v->b;
	case VK_NUM: return v->n != 0;
	case VK_STR:
		return strcasecmp(v->s, "yes") == 0 || strcasecmp(v->s, "true") == 0 ||
		       strcasecmp(v->s, "y") == 0;
	case VK_LIST: return json_array_size(v->list) > 0;
	default: return -1;
	}
}

static struct val tri(int t)
{
	struct val v = {.k = t < 0 ? VK_NA : VK_BOOL, .b = t > 0};
	return v;
}

/* Equality: 1, 0, -1 (N/A). */
static int val_eq(const struct val *a, const struct val *b)
{
	if (a->k == VK_NA || b->k == VK_NA)
		return -1;
	if (a->k == VK_BOOL || b->k == VK_BOOL) {
		int ta = truth(a), tb = truth(b);
		return ta < 0 || tb < 0 ? -1 : ta == tb;
	}
	if (a->k == VK_LIST || b->k == VK_LIST) {
		const struct val *l = a->k == VK_LIST ? a : b, *o = a->k == VK_LIST ? b : a;
		if (o->k == VK_LIST)
			return json_equal(l->list, o->list);
		if (json_array_size(l->list) != 1)
			return 0;
		struct val item = val_of_json(json_array_get(l->list, 0));
		return val_eq(&item, o);
	}
	if (a->k == VK_STR && b->k == VK_STR)
		return strcasecmp(a->s, b->s) == 0;
	double x, y;
	if (!val_num(a, &x) || !val_num(b, &y))
		return 0;
	return fabs(x - y) <= 1e-9 * (1 + fabs(x) + fabs(y));
}

static int val_contains(const struct val *a, const struct val *b)
{
	if (a->k == VK_NA || b->k == VK_NA)
		return -1;
	if (b->k != VK_STR)
		return 0;
	if (a->k == VK_LIST) {
		size_t i;
		json_t *it;
		json_array_foreach(a->list, i, it) {
			if (json_is_string(it) && strcasecmp(json_string_value(it), b->s) == 0)
				return 1;
		}
		return 0;
	}
	if (a->k == VK_STR)
		return strcasestr(a->s, b->s) != NULL;
	return 0;
}

static enum parley_err eval_node(struct eval *e, int idx, struct val *out);

static enum parley_err eval_phrase(struct eval *e, const struct node *n, struct val *out)
{
	if (!e->in->phrase) {
		*out = tri(-1);
		return PARLEY_OK;
	}
	struct rules_phrase_test t = {.role = n->s, .phrases = (const char *const *)n->phrases,
				      .nphrases = n->nphrases, .all = n->all, .window = n->win};
	struct rules_phrase_hit hit;
	memset(&hit, 0, sizeof(hit));
	enum parley_err rc = e->in->phrase(e->in->phrase_ud, &t, &hit, e->err);
	if (rc)
		return rc;
	hit.text[sizeof(hit.text) - 1] = 0;
	json_t *o = json_pack("{s:s, s:i}", "test", n->text, "count", hit.count);
	if (o && hit.count > 0) {
		json_object_set_new(o, "text", json_string(hit.text));
		json_object_set_new(o, "start", json_real(hit.start));
		json_object_set_new(o, "end", json_real(hit.end));
	}
	evidence_add(e, o);
	if (n->kind == N_SAID) {
		*out = tri(hit.count > 0);
	} else {
		out->k = VK_NUM;
		out->n = hit.count;
	}
	return PARLEY_OK;
}

static enum parley_err eval_judge(struct eval *e, const struct node *n, struct val *out)
{
	if (!e->in->judge) {
		*out = tri(-1);
		return PARLEY_OK;
	}
	int verdict = -1;
	char why[512] = "";
	enum parley_err rc = e->in->judge(e->in->judge_ud, n->s, &verdict, why, sizeof(why), e->err);
	if (rc)
		return rc;
	why[sizeof(why) - 1] = 0;
	evidence_add(e, json_pack("{s:s, s:s?, s:s}", "judge", n->s, "verdict",
				  verdict < 0 ? NULL : verdict ? "yes" : "no", "why", why));
	*out = tri(verdict < 0 ? -1 : verdict > 0);
	return PARLEY_OK;
}

static void eval_reference(struct eval *e, const struct node *n, struct val *out)
{
	memset(out, 0, sizeof(*out));
	out->k = VK_NA;
	if (n->kind == N_METRIC) {
		for (size_t i = 0; i < e->in->nmetrics; i++)
			if (strcmp(e->in->metrics[i].scope, n->s) == 0 &&
			    strcmp(e->in->metrics[i].name, n->s2) == 0 &&
			    isfinite(e->in->metrics[i].value)) {
				out->k = VK_NUM;
				out->n = e->in->metrics[i].value;
			}
	} else if (n->kind == N_META) {
		json_t *v = json_object_get(e->meta, n->s);
		*out = val_of_json(v);
	} else {
		size_t i = 0;
		const struct store_answer *a = answer_find(e, n->s, &i);
		json_t *j = a ? e->answers[i] : NULL;
		bool counts = answer_counts(a, j);
		if (n->kind == N_ANA) {
			*out = tri(!counts);
		} else if (counts && n->kind == N_ASCORE) {
			out->k = VK_NUM;
			out->n = a->score;
		} else if (counts) {
			*out = val_of_json(j);
		}
	}
	json_t *v = val_json(out);
	evidence_add(e, json_pack("{s:s, s:o}", "ref", n->text, "value", v ? v : json_null()));
}

static enum parley_err eval_node(struct eval *e, int idx, struct val *out)
{
	const struct node *n = &e->r->nodes[idx];
	struct val a, b;
	enum parley_err rc;
	memset(out, 0, sizeof(*out));
	switch (n->kind) {
	case N_NUM:
		out->k = VK_NUM;
		out->n = n->num;
		return PARLEY_OK;
	case N_STR:
		out->k = VK_STR;
		out->s = n->s;
		return PARLEY_OK;
	case N_BOOL:
		*out = tri(n->num != 0);
		return PARLEY_OK;
	case N_LIST:
		*out = tri(-1); /* only read through N_IN */
		return PARLEY_OK;
	case N_ANSWER:
	case N_ASCORE:
	case N_ANA:
	case N_METRIC:
	case N_META:
		eval_reference(e, n, out);
		return PARLEY_OK;
	case N_SAID:
	case N_COUNT:
		return eval_phrase(e, n, out);
	case N_JUDGE:
		return eval_judge(e, n, out);
	case N_NOT: {
		if ((rc = eval_node(e, n->a, &a)))
			return rc;
		int t = truth(&a);
		*out = tri(t < 0 ? -1 : !t);
		return PARLEY_OK;
	}
	case N_AND:
	case N_OR: { /* left to right; stops once decided (false for and, true for or) */
		int decisive = n->kind == N_AND ? 0 : 1, result = !decisive;
		for (int c = n->a; c >= 0; c = e->r->nodes[c].next) {
			if ((rc = eval_node(e, c, &a)))
				return rc;
			int t = truth(&a);
			if (t == decisive) {
				result = t;
				break;
			}
			if (t < 0)
				result = -1;
		}
		*out = tri(result);
		return PARLEY_OK;
	}
	case N_CMP: {
		if ((rc = eval_node(e, n->a, &a)) || (rc = eval_node(e, n->b, &b)))
			return rc;
		int r;
		if (n->op == OP_EQ || n->op == OP_NE) {
			r = val_eq(&a, &b);
			if (r >= 0 && n->op == OP_NE)
				r = !r;
		} else {
			double x, y;
			if (!val_num(&a, &x) || !val_num(&b, &y))
				r = -1;
			else if (n->op == OP_LT)
				r = x < y;
			else if (n->op == OP_LE)
				r = x <= y;
			else if (n->op == OP_GT)
				r = x > y;
			else
				r = x >= y;
		}
		*out = tri(r);
		return PARLEY_OK;
	}
	case N_IN: {
		if ((rc = eval_node(e, n->a, &a)))
			return rc;
		if (a.k == VK_NA) {
			*out = tri(-1);
			return PARLEY_OK;
		}
		int r = 0;
		for (int it = e->r->nodes[n->b].a; it >= 0 && r != 1; it = e->r->nodes[it].next) {
			if ((rc = eval_node(e, it, &b)))
				return rc;
			if (val_eq(&a, &b) == 1)
				r = 1;
		}
		*out = tri(r);
		return PARLEY_OK;
	}
	case N_CONTAINS:
		if ((rc = eval_node(e, n->a, &a)) || (rc = eval_node(e, n->b, &b)))
			return rc;
		*out = tri(val_contains(&a, &b));
		return PARLEY_OK;
	case N_ISNA:
		if ((rc = eval_node(e, n->a, &a)))
			return rc;
		*out = tri((a.k == VK_NA) != (n->op == 1));
		return PARLEY_OK;
	}
	return parley_error_set(e->err, PARLEY_ERR_INTERNAL, "rules: node kind %d", (int)n->kind);
}

static enum parley_err reason_add(json_t *reasons, const char *rule, const char *verdict,
				  double weight, double points, const char *why, json_t *evidence,
				  struct parley_error *err)
{
	json_t *o = json_pack("{s:s, s:s, s:f, s:f, s:s, s:o}", "rule", rule, "verdict", verdict,
			      "weight", weight, "points", points, "why", why,
			      "evidence", evidence ? json_incref(evidence) : json_array());
	if (!o || json_array_append_new(reasons, o))
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory building the reasons");
	return PARLEY_OK;
}

enum parley_err rules_evaluate(const struct rules *r, const struct rules_input *in,
			       struct store_verdict *out, struct parley_error *err)
{
	static const struct rules_input none = {0};
	if (!in)
		in = &none;
	memset(out, 0, sizeof(*out));
	struct eval e = {.r = r, .in = in, .err = err};
	json_t *reasons = json_array();
	enum parley_err rc = PARLEY_OK;
	bool fail = false, flag = false, auto_fail = false;
	double score = 0, max = 0;
	if (!reasons || (in->nanswers && !(e.answers = calloc(in->nanswers, sizeof(json_t *))))) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory evaluating rules");
		goto out;
	}
	for (size_t i = 0; i < in->nanswers; i++)
		e.answers[i] = json_loads(in->answers[i].answer, JSON_DECODE_ANY, NULL);
	if (in->metadata)
		e.meta = json_loads(in->metadata, 0, NULL);
	if (e.meta && !json_is_object(e.meta)) {
		json_decref(e.meta);
		e.meta = NULL;
	}
	char why[700];
	/* the form */
	for (size_t i = 0; i < in->nanswers && !rc; i++) {
		const struct store_answer *a = &in->answers[i];
		bool counts = answer_counts(a, e.answers[i]);
		if (counts && a->max_score > 0 && a->weight > 0) {
			double s = a->score < 0 ? 0 : a->score > a->max_score ? a->max_score : a->score;
			score += a->weight * s / a->max_score;
			max += a->weight;
		}
		if (counts && a->auto_fail) {
			fail = auto_fail = true;
			snprintf(why, sizeof(why), "auto-fail answer %.300s to question %s", a->answer,
				 a->question);
		} else if (!a->valid && !a->na) {
			flag = true;
			snprintf(why, sizeof(why), "the answer to question %s did not validate: %.400s",
				 a->question, a->error);
		} else {
			continue;
		}
		char name[RULES_ID_MAX + 8];
		snprintf(name, sizeof(name), "answer.%s", a->question);
		json_t *ev = json_pack("[{s:s, s:s}]", "ref", name, "value", a->answer);
		rc = reason_add(reasons, name, a->auto_fail && counts ? "fail" : "flag", a->weight, 0, why,
				ev, err);
		json_decref(ev);
	}
	/* the rules */
	for (size_t i = 0; i < rules_count(r) && !rc; i++) {
		const struct rule *ru = &r->rules[i];
		struct val v;
		if (!(e.evidence = json_array())) {
			rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory evaluating rules");
			break;
		}
		if ((rc = eval_node(&e, ru->cond, &v))) {
			parley_error_prefix(err, "rule %s", ru->id);
			break;
		}
		int t = truth(&v);
		const char *sentence = ru->because ? ru->because : ru->cond_text;
		if (t >= 0)
			max += ru->weight;
		if (ru->verdict == V_PASS) {
			if (t >= 0)
				score += t ? ru->weight : 0;
			if (t == 1) {
				rc = reason_add(reasons, ru->id, "pass", ru->weight, ru->weight, sentence,
						e.evidence, err);
			} else if (t == 0) {
				snprintf(why, sizeof(why), "missed: %s", sentence);
				rc = reason_add(reasons, ru->id, "missed", ru->weight, 0, why, e.evidence,
						err);
			}
		} else {
			if (t == 0)
				score += ru->weight;
			if (t == 1) {
				if (ru->verdict == V_FAIL)
					fail = auto_fail = true;
				else
					flag = true;
				rc = reason_add(reasons, ru->id, verdict_names[ru->verdict], ru->weight, 0,
						sentence, e.evidence, err);
			}
		}
		json_decref(e.evidence);
		e.evidence = NULL;
	}
	if (rc)
		goto out;
	/* thresholds */
	if (r && max > 0) {
		double share = score / max;
		if (r->fail_below >= 0 && share < r->fail_below - 1e-12) {
			fail = true;
			snprintf(why, sizeof(why), "score %.4g of %.4g (%.1f%%) is below the pass mark of %.4g%%",
				 score, max, 100 * share, 100 * r->fail_below);
			rc = reason_add(reasons, "score", "fail", 0, 0, why, NULL, err);
		} else if (r->flag_below >= 0 && share < r->flag_below - 1e-12) {
			flag = true;
			snprintf(why, sizeof(why), "score %.4g of %.4g (%.1f%%) is below the review mark of %.4g%%",
				 score, max, 100 * share, 100 * r->flag_below);
			rc = reason_add(reasons, "score", "flag", 0, 0, why, NULL, err);
		}
		if (rc)
			goto out;
	}
	snprintf(out->verdict, sizeof(out->verdict), "%s", fail ? "fail" : flag ? "flag" : "pass");
	out->score = score;
	out->max_score = max;
	out->auto_fail = auto_fail;
	out->reasons = json_dumps(reasons, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	if (!out->reasons) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory writing the reasons");
	} else if (strlen(out->reasons) > RULES_REASONS_MAX) {
		free(out->reasons);
		out->reasons = NULL;
		rc = parley_error_set(err, PARLEY_ERR_TOO_LARGE,
				      "the reasons of the verdict are longer than %zu bytes",
				      RULES_REASONS_MAX);
	}
out:
	json_decref(e.evidence);
	json_decref(reasons);
	for (size_t i = 0; e.answers && i < in->nanswers; i++)
		json_decref(e.answers[i]);
	free(e.answers);
	json_decref(e.meta);
	if (rc) {
		free(out->reasons);
		memset(out, 0, sizeof(*out));
	}
	return rc;
}

/* ---- phrase tests over a call's words ----------------------------------- */

_Static_assert((int)RULES_WINDOW_CALL == (int)CALL_WINDOW_CALL &&
		       (int)RULES_WINDOW_FIRST == (int)CALL_WINDOW_FIRST &&
		       (int)RULES_WINDOW_LAST == (int)CALL_WINDOW_LAST,
	       "rules windows are call_text windows");

static void hit_take(struct rules_phrase_hit *hit, const struct phrase_hit *h)
{
	if (hit->text[0] && hit->start <= h->start)
		return;
	hit->start = h->start;
	hit->end = h->end;
	snprintf(hit->text, sizeof(hit->text), "%s", h->text);
}

/* Occurrences of one phrase, one after the other: match, then look again
 * from the first word starting at or after the match's end (the window
 * bounds stay the call's: the view keeps talk_start/talk_end). */
static enum parley_err phrase_occurrences(const struct call_text *t, struct phrase_query *q,
					  const char *phrase, struct rules_phrase_hit *hit,
					  int *count, struct parley_error *err)
{
	struct call_text view = *t;
	const char *one[1] = {phrase};
	q->any = one;
	q->nany = 1;
	*count = 0;
	while (view.n > 0) {
		struct phrase_result res = {0};
		enum parley_err rc = phrase_eval(&view, q, &res, err);
		if (rc)
			return rc;
		const struct phrase_hit *h = NULL;
		for (size_t i = 0; i < res.nhits; i++)
			if (!res.hits[i].negated)
				h = &res.hits[i];
		if (!res.matched || !h) {
			phrase_result_release(&res);
			break;
		}
		(*count)++;
		hit_take(hit, h);
		double end = h->end, start = h->start;
		phrase_result_release(&res);
		size_t k = 0;
		while (k < view.n && (view.words[k].start < end || view.words[k].start <= start))
			k++;
		view.words += k;
		view.n -= k;
	}
	return PARLEY_OK;
}

enum parley_err rules_phrase_call_text(void *ud, const struct rules_phrase_test *t,
				       struct rules_phrase_hit *hit, struct parley_error *err)
{
	const struct call_text *ct = ud;
	struct phrase_query q = phrase_default_query();
	q.role = t->role;
	q.window = (struct call_window){(enum call_window_kind)t->window.kind, t->window.amount,
					t->window.percent};
	int total = 0, found = 0;
	for (size_t i = 0; i < t->nphrases; i++) {
		int n = 0;
		enum parley_err rc = phrase_occurrences(ct, &q, t->phrases[i], hit, &n, err);
		if (rc)
			return rc;
		total += n;
		found += n > 0;
	}
	hit->count = t->all && found < (int)t->nphrases ? 0 : total;
	if (hit->count == 0) {
		hit->start = hit->end = 0;
		hit->text[0] = 0;
	}
	return PARLEY_OK;
}
