/* lexicon.c — see lexicon.h. */
#include "text/lexicon.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"

/* One word of a "threshold", "phrase_final" or "spot" line (a per-word
 * setting), kept until the whole text is read. */
enum lex_setting_kind { LEX_SET_THRESHOLD, LEX_SET_PHRASE_FINAL, LEX_SET_SPOT };
struct lex_threshold {
	char word[LEX_WORD_MAX];
	double value;
	unsigned line;
	enum lex_setting_kind kind;
};

/* The directive of each per-word setting kind, for messages. */
static const char *const setting_names[] = {"threshold", "phrase_final", "spot"};

struct lexicon {
	struct lex_target *targets;
	size_t n_targets, cap_targets;
	struct lex_correction *corrections;
	size_t n_corrections, cap_corrections;
	struct lex_threshold *thresholds; /* "threshold" lines, one per word named */
	size_t n_thresholds, cap_thresholds;
	double keyword_weight; /* 0 = not set */
	unsigned keyword_weight_line;
	double verify_min_llr; /* meaningful when verify_min_llr_line != 0 */
	unsigned verify_min_llr_line;
	double background_rate, background_alpha; /* meaningful when background_line != 0 */
	double background_pass; /* 0: no fifth value (no candidate test) */
	unsigned background_min, background_line;
};

/* The CMU en-us phone set of the pocketsphinx model, sorted for bsearch. */
static const char *const phone_set[] = {
	"AA", "AE", "AH", "AO", "AW", "AY", "B",  "CH", "D",  "DH",
	"EH", "ER", "EY", "F",  "G",  "HH", "IH", "IY", "JH", "K",
	"L",  "M",  "N",  "NG", "OW", "OY", "P",  "R",  "S",  "SH",
	"T",  "TH", "UH", "UW", "V",  "W",  "Y",  "Z",  "ZH",
};

#define N_PHONES (sizeof(phone_set) / sizeof(phone_set[0]))

/* Fields of one line: pointers into the parser's line buffer. A field is a
 * run of non-blank bytes, or one of the separators "|" and "=>". */
#define FIELDS_MAX (LEXICON_LINE_MAX + 1)

struct parser {
	const char *source;
	unsigned line;
	size_t n_entries;
	struct lexicon *lex;
	struct parley_error *err;
	char buf[2 * LEXICON_LINE_MAX + 2]; /* fields, NUL-separated */
	size_t n_fields;
	const char *fields[FIELDS_MAX];
};

typedef enum parley_err (*directive_fn)(struct parser *p);

static enum parley_err parse_target(struct parser *p);
static enum parley_err parse_correct(struct parser *p);
static enum parley_err parse_threshold(struct parser *p);
static enum parley_err parse_phrase_final(struct parser *p);
static enum parley_err parse_spot(struct parser *p);
static int target_key_cmp(const void *key, const void *elem);
static enum parley_err parse_keyword_weight(struct parser *p);
static enum parley_err parse_verify_min_llr(struct parser *p);
static enum parley_err parse_background(struct parser *p);

static const struct {
	const char *name;
	directive_fn parse;
} directives[] = {
	{"target", parse_target},
	{"correct", parse_correct},
	{"threshold", parse_threshold},
	{"phrase_final", parse_phrase_final},
	{"spot", parse_spot},
	{"keyword_weight", parse_keyword_weight},
	{"verify_min_llr", parse_verify_min_llr},
	{"background", parse_background},
};

static enum parley_err fail_at(struct parser *p, unsigned line, enum parley_err code,
			       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum parley_err fail_at(struct parser *p, unsigned line, enum parley_err code,
			       const char *fmt, ...)
{
	char what[PARLEY_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return parley_error_set(p->err, code, "%s:%u: %s", p->source, line, what);
}

#define fail(p, code, ...) fail_at((p), (p)->line, (code), __VA_ARGS__)

static char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_word_byte(char c)
{
	return is_alnum(c) || c == '\'' || c == '-';
}

/* Lower-case `word` into out[LEX_WORD_MAX]; false when it does not fit. */
static bool fold_word(const char *word, char *out)
{
	size_t i;
	for (i = 0; word[i]; i++) {
		if (i + 1 >= LEX_WORD_MAX)
			return false;
		out[i] = ascii_lower(word[i]);
	}
	out[i] = '\0';
	return true;
}

/* ---- growing the entry arrays (bounded by LEXICON_MAX_ENTRIES) ---- */

static void *grow(void *arr, size_t *cap, size_t elem)
{
	size_t ncap = *cap ? *cap * 2 : 16;
	if (ncap > LEXICON_MAX_ENTRIES)
		ncap = LEXICON_MAX_ENTRIES;
	void *na = realloc(arr, ncap * elem);
	if (na)
		*cap = ncap;
	return na;
}

static enum parley_err count_entry(struct parser *p)
{
	if (p->n_entries >= LEXICON_MAX_ENTRIES)
		return fail(p, PARLEY_ERR_TOO_LARGE, "more than %d entries", LEXICON_MAX_ENTRIES);
	p->n_entries++;
	return PARLEY_OK;
}

static struct lex_target *new_target(struct parser *p)
{
	struct lexicon *lex = p->lex;
	if (lex->n_targets == lex->cap_targets) {
		void *na = grow(lex->targets, &lex->cap_targets, sizeof(*lex->targets));
		if (!na)
			return NULL;
		lex->targets = na;
	}
	struct lex_target *t = &lex->targets[lex->n_targets++];
	memset(t, 0, sizeof(*t));
	t->final_pause = -1.0; /* no "phrase_final" line: counted anywhere */
	t->line = p->line;
	return t;
}

static struct lex_correction *new_correction(struct parser *p)
{
	struct lexicon *lex = p->lex;
	if (lex->n_corrections == lex->cap_corrections) {
		void *na = grow(lex->corrections, &lex->cap_corrections,
				sizeof(*lex->corrections));
		if (!na)
			return NULL;
		lex->corrections = na;
	}
	struct lex_correction *c = &lex->corrections[lex->n_corrections++];
	memset(c, 0, sizeof(*c));
	c->line = p->line;
	return c;
}

static struct lex_threshold *new_threshold(struct parser *p)
{
	struct lexicon *lex = p->lex;
	if (lex->n_thresholds == lex->cap_thresholds) {
		void *na = grow(lex->thresholds, &lex->cap_thresholds, sizeof(*lex->thresholds));
		if (!na)
			return NULL;
		lex->thresholds = na;
	}
	struct lex_threshold *t = &lex->thresholds[lex->n_thresholds++];
	memset(t, 0, sizeof(*t));
	t->line = p->line;
	return t;
}

/* ---- fields ---- */

static enum parley_err check_word(struct parser *p, const char *word, const char *what,
				  char *out)
{
	size_t len = strlen(word);
	if (len >= LEX_WORD_MAX)
		return fail(p, PARLEY_ERR_TOO_LARGE, "%s '%.60s' is longer than %d bytes", what,
			    word, LEX_WORD_MAX - 1);
	if (!is_alnum(word[0]))
		return fail(p, PARLEY_ERR_INVALID,
			    "%s '%s' must start with a letter or digit", what, word);
	for (size_t i = 0; i < len; i++) {
		if (!is_word_byte(word[i]))
			return fail(p, PARLEY_ERR_INVALID,
				    "%s '%s' has the character '%c' (words use a-z, 0-9, ' and -)",
				    what, word, word[i]);
	}
	fold_word(word, out);
	return PARLEY_OK;
}

static int phone_cmp(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

static bool phone_known(const char *ph)
{
	return bsearch(ph, phone_set, N_PHONES, sizeof(phone_set[0]), phone_cmp) != NULL;
}

/* A helpful message for a phone that is not in the set. */
static enum parley_err bad_phone(struct parser *p, const char *ph)
{
	char fixed[8];
	size_t len = strlen(ph);
	if (len >= 2 && len <= 3 && ph[len - 1] >= '0' && ph[len - 1] <= '9') {
		memcpy(fixed, ph, len - 1);
		fixed[len - 1] = '\0';
		if (phone_known(fixed))
			return fail(p, PARLEY_ERR_INVALID,
				    "phone '%s' has a stress digit; write '%s'", ph, fixed);
	}
	if (len <= 2) {
		for (size_t i = 0; i < len; i++)
			fixed[i] = (ph[i] >= 'a' && ph[i] <= 'z') ? (char)(ph[i] - 'a' + 'A') : ph[i];
		fixed[len] = '\0';
		if (phone_known(fixed))
			return fail(p, PARLEY_ERR_INVALID,
				    "phone '%s' must be upper-case ('%s')", ph, fixed);
	}
	return fail(p, PARLEY_ERR_INVALID,
		    "unknown phone '%.40s' (not in the en-us set AA AE AH AO AW AY B CH D DH EH ER "
		    "EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH)",
		    ph);
}

/* "target WORD PRON [| PRON]..." */
static enum parley_err parse_target(struct parser *p)
{
	if (p->n_fields < 2)
		return fail(p, PARLEY_ERR_INVALID, "'target' needs a word and a pronunciation");
	char word[LEX_WORD_MAX];
	enum parley_err rc = check_word(p, p->fields[1], "target word", word);
	if (rc != PARLEY_OK)
		return rc;
	if (p->n_fields < 3)
		return fail(p, PARLEY_ERR_INVALID, "target '%s' has no pronunciation", word);
	if ((rc = count_entry(p)) != PARLEY_OK)
		return rc;
	struct lex_target *t = new_target(p);
	if (!t)
		return fail(p, PARLEY_ERR_NOMEM, "out of memory");
	memcpy(t->word, word, sizeof(word));

	char pron[LEX_PRON_MAX];
	size_t len = 0, n_phones = 0;
	for (size_t i = 2; i <= p->n_fields; i++) {
		const char *f = i < p->n_fields ? p->fields[i] : NULL;
		if (f && strcmp(f, "|") != 0) {
			if (!phone_known(f))
				return bad_phone(p, f);
			if (n_phones == LEX_PHONES_MAX)
				return fail(p, PARLEY_ERR_TOO_LARGE,
					    "a pronunciation of '%s' has more than %d phones", word,
					    LEX_PHONES_MAX);
			size_t fl = strlen(f);
			if (len)
				pron[len++] = ' ';
			memcpy(pron + len, f, fl);
			len += fl;
			n_phones++;
			continue;
		}
		/* End of one pronunciation: a '|' or the end of the line. */
		if (n_phones == 0)
			return fail(p, PARLEY_ERR_INVALID,
				    "empty pronunciation for '%s' (check the '|' separators)", word);
		pron[len] = '\0';
		for (size_t k = 0; k < t->n_prons; k++) {
			if (strcmp(t->prons[k], pron) == 0)
				return fail(p, PARLEY_ERR_INVALID,
					    "pronunciation '%s' is listed twice for '%s'", pron, word);
		}
		if (t->n_prons == LEX_PRONS_MAX)
			return fail(p, PARLEY_ERR_TOO_LARGE,
				    "'%s' has more than %d pronunciations", word, LEX_PRONS_MAX);
		memcpy(t->prons[t->n_prons++], pron, len + 1);
		len = 0;
		n_phones = 0;
	}
	return PARLEY_OK;
}

/* "correct FROM... => TO" */
static enum parley_err parse_correct(struct parser *p)
{
	size_t arrow = 0;
	for (size_t i = 1; i < p->n_fields; i++) {
		if (strcmp(p->fields[i], "=>") != 0)
			continue;
		if (arrow)
			return fail(p, PARLEY_ERR_INVALID, "'correct' has more than one '=>'");
		arrow = i;
	}
	if (!arrow)
		return fail(p, PARLEY_ERR_INVALID, "'correct' needs 'FROM... => TO'");
	size_t n_from = arrow - 1;
	if (n_from == 0)
		return fail(p, PARLEY_ERR_INVALID, "'correct' has no word before '=>'");
	if (n_from > LEX_PHRASE_MAX)
		return fail(p, PARLEY_ERR_TOO_LARGE, "'correct' has more than %d words before '=>'",
			    LEX_PHRASE_MAX);
	if (p->n_fields - arrow != 2)
		return fail(p, PARLEY_ERR_INVALID, "'=>' must be followed by exactly one word");

	enum parley_err rc = count_entry(p);
	if (rc != PARLEY_OK)
		return rc;
	struct lex_correction *c = new_correction(p);
	if (!c)
		return fail(p, PARLEY_ERR_NOMEM, "out of memory");
	c->n_from = n_from;
	for (size_t i = 0; i < n_from; i++) {
		if ((rc = check_word(p, p->fields[1 + i], "word", c->from[i])) != PARLEY_OK)
			return rc;
	}
	if ((rc = check_word(p, p->fields[arrow + 1], "replacement", c->to)) != PARLEY_OK)
		return rc;
	if (n_from == 1 && strcmp(c->from[0], c->to) == 0)
		return fail(p, PARLEY_ERR_INVALID, "correction '%s => %s' changes nothing",
			    c->from[0], c->to);
	return PARLEY_OK;
}

/*
 * A plain decimal number: digits, at most one '.', at least one digit,
 * optionally followed by an exponent "e[-+]digits" (1e-5). No sign, no
 * "inf"/"nan", no hex: parsed by hand so the locale plays no part.
 */
static bool parse_number(const char *s, double *out)
{
	double v = 0.0, scale = 1.0;
	bool digits = false, dot = false;
	size_t i = 0;
	for (; s[i] && s[i] != 'e' && s[i] != 'E'; i++) {
		if (s[i] == '.' && !dot) {
			dot = true;
		} else if (s[i] >= '0' && s[i] <= '9') {
			digits = true;
			if (dot) {
				scale /= 10.0;
				v += (s[i] - '0') * scale;
			} else {
				v = v * 10.0 + (s[i] - '0');
			}
		} else {
			return false;
		}
	}
	if (!digits)
		return false;
	if (s[i]) {
		i++;
		bool neg = s[i] == '-';
		if (s[i] == '-' || s[i] == '+')
			i++;
		int e = 0;
		size_t start = i;
		for (; s[i] >= '0' && s[i] <= '9'; i++) {
			if (e > 400)
				return false;
			e = e * 10 + (s[i] - '0');
		}
		if (s[i] || i == start)
			return false;
		for (int k = 0; k < e; k++)
			v = neg ? v / 10.0 : v * 10.0;
	}
	*out = v;
	return true;
}

/* The words of a per-word setting line, "DIRECTIVE VALUE WORD...", whose
 * VALUE was checked by the caller. */
static enum parley_err add_settings(struct parser *p, enum lex_setting_kind kind, double v)
{
	for (size_t i = 2; i < p->n_fields; i++) {
		char word[LEX_WORD_MAX];
		char what[32];
		snprintf(what, sizeof(what), "%s word", setting_names[kind]);
		enum parley_err rc = check_word(p, p->fields[i], what, word);
		if (rc == PARLEY_OK)
			rc = count_entry(p);
		if (rc != PARLEY_OK)
			return rc;
		struct lex_threshold *t = new_threshold(p);
		if (!t)
			return fail(p, PARLEY_ERR_NOMEM, "out of memory");
		memcpy(t->word, word, sizeof(word));
		t->value = v;
		t->kind = kind;
	}
	return PARLEY_OK;
}

/* "threshold VALUE WORD..." */
static enum parley_err parse_threshold(struct parser *p)
{
	if (p->n_fields < 3)
		return fail(p, PARLEY_ERR_INVALID,
			    "'threshold' needs a value and at least one target word "
			    "('threshold 0.3 lah lor')");
	double v;
	if (!parse_number(p->fields[1], &v) || v > 1.0)
		return fail(p, PARLEY_ERR_INVALID,
			    "threshold '%.40s' is not a number from 0 to 1 (like 0.25)", p->fields[1]);
	return add_settings(p, LEX_SET_THRESHOLD, v);
}

/* "phrase_final PAUSE WORD..." */
static enum parley_err parse_phrase_final(struct parser *p)
{
	if (p->n_fields < 3)
		return fail(p, PARLEY_ERR_INVALID,
			    "'phrase_final' needs a pause in seconds and at least one target word "
			    "('phrase_final 0.1 lah lor')");
	double v;
	if (!parse_number(p->fields[1], &v) || v > LEXICON_PAUSE_MAX)
		return fail(p, PARLEY_ERR_INVALID,
			    "phrase_final pause '%.40s' is not a number of seconds from 0 to %g "
			    "(like 0.1)", p->fields[1], LEXICON_PAUSE_MAX);
	return add_settings(p, LEX_SET_PHRASE_FINAL, v);
}

/* A plain decimal with an optional leading '-', |v| <= LEXICON_VERIFY_LLR_MAX. */
static bool parse_llr(const char *f, double *out)
{
	bool neg = f[0] == '-';
	double v;
	if (!parse_number(f + neg, &v) || v > LEXICON_VERIFY_LLR_MAX)
		return false;
	*out = neg ? -v : v;
	return true;
}

/* "spot MIN_LLR WORD..." */
static enum parley_err parse_spot(struct parser *p)
{
	if (p->n_fields < 3)
		return fail(p, PARLEY_ERR_INVALID,
			    "'spot' needs a log likelihood ratio and at least one target word "
			    "('spot -0.5 walao kiasu')");
	double v;
	if (!parse_llr(p->fields[1], &v))
		return fail(p, PARLEY_ERR_INVALID,
			    "spot ratio '%.40s' is not a number from -%g to %g (like -0.5)",
			    p->fields[1], LEXICON_VERIFY_LLR_MAX, LEXICON_VERIFY_LLR_MAX);
	return add_settings(p, LEX_SET_SPOT, v);
}

/* "keyword_weight VALUE" */
static enum parley_err parse_keyword_weight(struct parser *p)
{
	if (p->n_fields != 2)
		return fail(p, PARLEY_ERR_INVALID, "'keyword_weight' needs exactly one value");
	double v;
	if (!parse_number(p->fields[1], &v) || !(v > 0.0 && v < 1.0))
		return fail(p, PARLEY_ERR_INVALID,
			    "keyword weight '%.40s' is not a number between 0 and 1 (like 1e-5 or 0.01)",
			    p->fields[1]);
	if (p->lex->keyword_weight_line)
		return fail(p, PARLEY_ERR_INVALID, "keyword_weight is set again (first at line %u)",
			    p->lex->keyword_weight_line);
	p->lex->keyword_weight = v;
	p->lex->keyword_weight_line = p->line;
	return PARLEY_OK;
}

/* "background RATE ALPHA MIN [PASS]" */
static enum parley_err parse_background(struct parser *p)
{
	if (p->n_fields != 4 && p->n_fields != 5)
		return fail(p, PARLEY_ERR_INVALID,
			    "'background' needs three or four values: false alarms per hour, a "
			    "significance, the fewest targets and optionally the fraction of "
			    "candidates that pass on English ('background 30 0.05 2 0.2')");
	double rate, alpha, min, pass = 0.0;
	if (!parse_number(p->fields[1], &rate) || !(rate > 0.0 && rate <= LEXICON_BACKGROUND_MAX))
		return fail(p, PARLEY_ERR_INVALID,
			    "background rate '%.40s' is not a number of false alarms per hour above 0 "
			    "and at most %g (like 30)", p->fields[1], LEXICON_BACKGROUND_MAX);
	if (!parse_number(p->fields[2], &alpha) || !(alpha > 0.0 && alpha < 1.0))
		return fail(p, PARLEY_ERR_INVALID,
			    "background significance '%.40s' is not a number between 0 and 1 (like 0.05)",
			    p->fields[2]);
	if (!parse_number(p->fields[3], &min) || min < 1.0 || min > LEXICON_SUPPORT_MAX ||
	    min != (double)(unsigned)min)
		return fail(p, PARLEY_ERR_INVALID,
			    "background minimum '%.40s' is not a whole number from 1 to %d (like 2)",
			    p->fields[3], LEXICON_SUPPORT_MAX);
	if (p->n_fields == 5 && (!parse_number(p->fields[4], &pass) || !(pass > 0.0 && pass < 1.0)))
		return fail(p, PARLEY_ERR_INVALID,
			    "background pass fraction '%.40s' is not a number between 0 and 1 "
			    "(like 0.2)", p->fields[4]);
	if (p->lex->background_line)
		return fail(p, PARLEY_ERR_INVALID, "background is set again (first at line %u)",
			    p->lex->background_line);
	p->lex->background_rate = rate;
	p->lex->background_alpha = alpha;
	p->lex->background_min = (unsigned)min;
	p->lex->background_pass = pass;
	p->lex->background_line = p->line;
	return PARLEY_OK;
}

/* "verify_min_llr VALUE": a plain decimal with an optional leading '-' */
static enum parley_err parse_verify_min_llr(struct parser *p)
{
	if (p->n_fields != 2)
		return fail(p, PARLEY_ERR_INVALID, "'verify_min_llr' needs exactly one value");
	const char *f = p->fields[1];
	double v;
	if (!parse_llr(f, &v))
		return fail(p, PARLEY_ERR_INVALID,
			    "verify_min_llr '%.40s' is not a number from -%g to %g (like -1.5)", f,
			    LEXICON_VERIFY_LLR_MAX, LEXICON_VERIFY_LLR_MAX);
	if (p->lex->verify_min_llr_line)
		return fail(p, PARLEY_ERR_INVALID, "verify_min_llr is set again (first at line %u)",
			    p->lex->verify_min_llr_line);
	p->lex->verify_min_llr = v;
	p->lex->verify_min_llr_line = p->line;
	return PARLEY_OK;
}

/* ---- lines ---- */

/* Copy one line (without its end) into p->buf as NUL-separated fields,
 * checking every byte. */
static enum parley_err split_line(struct parser *p, const char *s, size_t len)
{
	if (len > 0 && s[len - 1] == '\r')
		len--;
	if (len > LEXICON_LINE_MAX)
		return fail(p, PARLEY_ERR_TOO_LARGE, "line is longer than %d bytes",
			    LEXICON_LINE_MAX);
	size_t out = 0;
	bool in_field = false;
	p->n_fields = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\0')
			return fail(p, PARLEY_ERR_INVALID, "NUL byte at column %zu", i + 1);
		if (c == '#') {
			/* A comment may hold any text but NUL. */
			if (memchr(s + i, '\0', len - i))
				return fail(p, PARLEY_ERR_INVALID, "NUL byte in a comment");
			break;
		}
		if (c >= 0x80)
			return fail(p, PARLEY_ERR_INVALID,
				    "non-ASCII byte 0x%02X at column %zu (words and phones are "
				    "ASCII; only comments may hold other text)",
				    c, i + 1);
		if (c != '\t' && (c < 0x20 || c == 0x7F))
			return fail(p, PARLEY_ERR_INVALID, "control byte 0x%02X at column %zu", c,
				    i + 1);
		bool sep = c == '|' || (c == '=' && i + 1 < len && s[i + 1] == '>');
		if (c == ' ' || c == '\t' || sep) {
			if (in_field)
				p->buf[out++] = '\0';
			in_field = false;
			if (!sep)
				continue;
			p->fields[p->n_fields++] = p->buf + out;
			p->buf[out++] = (char)c;
			if (c == '=')
				p->buf[out++] = s[++i];
			p->buf[out++] = '\0';
			continue;
		}
		if (!in_field)
			p->fields[p->n_fields++] = p->buf + out;
		in_field = true;
		p->buf[out++] = (char)c;
	}
	if (in_field)
		p->buf[out++] = '\0';
	return PARLEY_OK;
}

static enum parley_err parse_line(struct parser *p, const char *s, size_t len)
{
	enum parley_err rc = split_line(p, s, len);
	if (rc != PARLEY_OK || p->n_fields == 0)
		return rc;
	for (size_t i = 0; i < sizeof(directives) / sizeof(directives[0]); i++) {
		if (strcmp(p->fields[0], directives[i].name) == 0)
			return directives[i].parse(p);
	}
	return fail(p, PARLEY_ERR_INVALID,
		    "unknown directive '%.40s' (expected 'target', 'correct', 'threshold', 'phrase_final', "
		    "'spot', 'keyword_weight', 'verify_min_llr' or 'background')",
		    p->fields[0]);
}

/* ---- ordering and cross-entry checks ---- */

static int target_cmp(const void *a, const void *b)
{
	const struct lex_target *x = a, *y = b;
	int c = strcmp(x->word, y->word);
	if (c)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

/* First word ascending, longer phrases first, then the remaining words. */
static int phrase_cmp(const struct lex_correction *x, const struct lex_correction *y)
{
	int c = strcmp(x->from[0], y->from[0]);
	if (c)
		return c;
	if (x->n_from != y->n_from)
		return x->n_from > y->n_from ? -1 : 1;
	for (size_t i = 1; i < x->n_from; i++) {
		if ((c = strcmp(x->from[i], y->from[i])) != 0)
			return c;
	}
	return 0;
}

static int correction_cmp(const void *a, const void *b)
{
	const struct lex_correction *x = a, *y = b;
	int c = phrase_cmp(x, y);
	if (c)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

static int threshold_cmp(const void *a, const void *b)
{
	const struct lex_threshold *x = a, *y = b;
	if (x->kind != y->kind)
		return (x->kind > y->kind) - (x->kind < y->kind);
	int c = strcmp(x->word, y->word);
	if (c)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

static void phrase_text(const struct lex_correction *c, char *out, size_t cap)
{
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < c->n_from && len < cap; i++) {
		int w = snprintf(out + len, cap - len, "%s%s", i ? " " : "", c->from[i]);
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

/* Sort the entries and report the earliest line (in file order) that
 * repeats an entry or corrects a target word. */
static enum parley_err check_entries(struct parser *p)
{
	struct lexicon *lex = p->lex;
	if (lex->n_targets)
		qsort(lex->targets, lex->n_targets, sizeof(*lex->targets), target_cmp);
	if (lex->n_corrections)
		qsort(lex->corrections, lex->n_corrections, sizeof(*lex->corrections),
		      correction_cmp);

	unsigned worst_line = 0;
	char msg[PARLEY_ERROR_MSG_MAX] = "";
	for (size_t i = 1; i < lex->n_targets; i++) {
		const struct lex_target *a = &lex->targets[i - 1], *b = &lex->targets[i];
		if (strcmp(a->word, b->word) == 0 && (!worst_line || b->line < worst_line)) {
			worst_line = b->line;
			snprintf(msg, sizeof(msg),
				 "target '%s' is declared again (first at line %u); put alternative "
				 "pronunciations on one line, separated by '|'",
				 b->word, a->line);
		}
	}
	for (size_t i = 0; i < lex->n_corrections; i++) {
		const struct lex_correction *b = &lex->corrections[i];
		char phrase[LEX_PHRASE_MAX * LEX_WORD_MAX];
		if (i > 0 && phrase_cmp(&lex->corrections[i - 1], b) == 0 &&
		    (!worst_line || b->line < worst_line)) {
			worst_line = b->line;
			phrase_text(b, phrase, sizeof(phrase));
			snprintf(msg, sizeof(msg), "correction of '%s' is declared again (first at line %u)",
				 phrase, lex->corrections[i - 1].line);
		}
		const struct lex_target *t = b->n_from == 1 ? lexicon_find_target(lex, b->from[0]) : NULL;
		if (t && (!worst_line || b->line < worst_line)) {
			worst_line = b->line;
			snprintf(msg, sizeof(msg),
				 "'%s' is a target (line %u) and cannot be corrected into '%s'",
				 b->from[0], t->line, b->to);
		}
	}
	if (lex->n_thresholds)
		qsort(lex->thresholds, lex->n_thresholds, sizeof(*lex->thresholds), threshold_cmp);
	for (size_t i = 0; i < lex->n_thresholds; i++) {
		const struct lex_threshold *b = &lex->thresholds[i];
		if (worst_line && b->line >= worst_line)
			continue;
		const struct lex_threshold *a = i > 0 ? &lex->thresholds[i - 1] : NULL;
		if (a && a->kind == b->kind && strcmp(a->word, b->word) == 0) {
			worst_line = b->line;
			snprintf(msg, sizeof(msg), "%s of '%s' is set again (first at line %u)",
				 setting_names[b->kind], b->word, a->line);
		} else if (!lexicon_find_target(lex, b->word)) {
			worst_line = b->line;
			snprintf(msg, sizeof(msg),
				 "%s for '%s', which is not a target (declare it with 'target')",
				 setting_names[b->kind], b->word);
		}
	}
	if (worst_line)
		return fail_at(p, worst_line, PARLEY_ERR_INVALID, "%s", msg);
	for (size_t i = 0; i < lex->n_thresholds; i++) {
		struct lex_target *t = bsearch(lex->thresholds[i].word, lex->targets, lex->n_targets,
					       sizeof(*lex->targets), target_key_cmp);
		if (!t)
			continue;
		if (lex->thresholds[i].kind == LEX_SET_THRESHOLD) {
			t->threshold = lex->thresholds[i].value;
		} else if (lex->thresholds[i].kind == LEX_SET_PHRASE_FINAL) {
			t->final_pause = lex->thresholds[i].value;
		} else {
			t->spot = true;
			t->spot_min_llr = lex->thresholds[i].value;
		}
	}
	return PARLEY_OK;
}

/* ---- public API ---- */

enum parley_err lexicon_parse(const char *text, size_t len, const char *source_name,
			      struct lexicon **out, struct parley_error *err)
{
	*out = NULL;
	if (!source_name)
		source_name = "lexicon";
	if (!text && len)
		return parley_error_set(err, PARLEY_ERR_INVALID, "%s: no text", source_name);
	if (len > LEXICON_MAX_BYTES)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"%s: %zu bytes is more than the %d allowed", source_name,
					len, LEXICON_MAX_BYTES);

	struct parser *p = calloc(1, sizeof(*p));
	struct lexicon *lex = calloc(1, sizeof(*lex));
	enum parley_err rc = PARLEY_OK;
	if (!p || !lex) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory", source_name);
		goto done;
	}
	p->source = source_name;
	p->lex = lex;
	p->err = err;

	size_t pos = 0;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t line_len = nl ? (size_t)(nl - (text + pos)) : len - pos;
		p->line++;
		if ((rc = parse_line(p, text + pos, line_len)) != PARLEY_OK)
			goto done;
		pos += line_len + (nl ? 1 : 0);
	}
	rc = check_entries(p);

done:
	free(p);
	if (rc != PARLEY_OK) {
		lexicon_free(lex);
		return rc;
	}
	*out = lex;
	return PARLEY_OK;
}

enum parley_err lexicon_load_file(const char *path, struct lexicon **out,
				  struct parley_error *err)
{
	*out = NULL;
	char *text = NULL;
	size_t len = 0;
	enum parley_err rc = fs_read_file(path, LEXICON_MAX_BYTES, &text, &len, err);
	if (rc == PARLEY_OK)
		rc = lexicon_parse(text, len, path, out, err);
	free(text);
	return rc;
}

enum parley_err lexicon_default(struct lexicon **out, struct parley_error *err)
{
	const char *text = lexicon_default_text();
	return lexicon_parse(text, strlen(text), "built-in singlish.lex", out, err);
}

void lexicon_free(struct lexicon *lex)
{
	if (!lex)
		return;
	free(lex->targets);
	free(lex->corrections);
	free(lex->thresholds);
	free(lex);
}

size_t lexicon_target_count(const struct lexicon *lex)
{
	return lex ? lex->n_targets : 0;
}

const struct lex_target *lexicon_target_at(const struct lexicon *lex, size_t i)
{
	return lex && i < lex->n_targets ? &lex->targets[i] : NULL;
}

double lexicon_keyword_weight(const struct lexicon *lex)
{
	return lex ? lex->keyword_weight : 0.0;
}

bool lexicon_verify_min_llr(const struct lexicon *lex, double *out)
{
	if (!lex || !lex->verify_min_llr_line)
		return false;
	*out = lex->verify_min_llr;
	return true;
}

/* P(N >= n) for N ~ Poisson(mean): 1 - the sum of the first n terms. */
static double poisson_tail(double mean, size_t n)
{
	double term = exp(-mean), below = 0.0;
	for (size_t k = 0; k < n; k++) {
		below += term;
		term *= mean / (double)(k + 1);
	}
	return below >= 1.0 ? 0.0 : 1.0 - below;
}

/* P(X >= n) for X ~ Binomial(k, q), 0 < q < 1. Summed from n upwards: when
 * n is above the mean the terms fall, and a first term that underflows means
 * a tail far below any significance. */
static double binomial_tail(size_t k, double q, size_t n)
{
	if (n == 0)
		return 1.0;
	if (n > k)
		return 0.0;
	if ((double)n <= (double)k * q)
		return 1.0; /* at or below the mean: P >= 1/2, never significant */
	double term = exp(lgamma((double)k + 1.0) - lgamma((double)n + 1.0) -
			  lgamma((double)(k - n) + 1.0) + (double)n * log(q) +
			  (double)(k - n) * log1p(-q));
	double sum = 0.0;
	for (size_t i = n; i <= k && term > 0.0; i++) {
		sum += term;
		term *= (double)(k - i) / (double)(i + 1) * q / (1.0 - q);
	}
	return sum > 1.0 ? 1.0 : sum;
}

bool lexicon_supported(const struct lexicon *lex, size_t n, size_t candidates, double seconds,
		       bool original_audio)
{
	if (n == 0)
		return false;
	if (!lex || !lex->background_line)
		return true;
	if (n < lex->background_min)
		return false;
	double mean = lex->background_rate * (seconds > 0.0 ? seconds : 0.0) / 3600.0;
	if (poisson_tail(mean, n) > lex->background_alpha)
		return false;
	if (lex->background_pass <= 0.0 || !original_audio)
		return true;
	return binomial_tail(candidates > n ? candidates : n, lex->background_pass, n) <=
	       lex->background_alpha;
}

bool lexicon_counts(const struct lexicon *lex, const char *word, float conf, double pause_after)
{
	const struct lex_target *t = lexicon_find_target(lex, word);
	return t && conf > 0.0f && (double)conf >= t->threshold &&
	       (t->final_pause < 0 || pause_after + 1e-9 >= t->final_pause); /* 1 ns: decimal text */
}

double lexicon_pause_after(double end, int speaker, double next_start, int next_speaker)
{
	return next_speaker == speaker ? next_start - end : INFINITY;
}

size_t lexicon_correction_count(const struct lexicon *lex)
{
	return lex ? lex->n_corrections : 0;
}

const struct lex_correction *lexicon_correction_at(const struct lexicon *lex, size_t i)
{
	return lex && i < lex->n_corrections ? &lex->corrections[i] : NULL;
}

static int target_key_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct lex_target *)elem)->word);
}

const struct lex_target *lexicon_find_target(const struct lexicon *lex, const char *word)
{
	char key[LEX_WORD_MAX];
	if (!lex || !word || !lex->n_targets || !fold_word(word, key))
		return NULL;
	return bsearch(key, lex->targets, lex->n_targets, sizeof(*lex->targets), target_key_cmp);
}

bool lexicon_is_target(const struct lexicon *lex, const char *word)
{
	return lexicon_find_target(lex, word) != NULL;
}

/* Index of the first correction whose first word is `key` (lower-case), or
 * n_corrections when there is none. */
static size_t first_correction(const struct lexicon *lex, const char *key)
{
	size_t lo = 0, hi = lex->n_corrections;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(lex->corrections[mid].from[0], key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < lex->n_corrections && strcmp(lex->corrections[lo].from[0], key) == 0)
		return lo;
	return lex->n_corrections;
}

const char *lexicon_correct_word(const struct lexicon *lex, const char *word)
{
	char key[LEX_WORD_MAX];
	if (!lex || !word || !fold_word(word, key))
		return NULL;
	for (size_t i = first_correction(lex, key);
	     i < lex->n_corrections && strcmp(lex->corrections[i].from[0], key) == 0; i++) {
		if (lex->corrections[i].n_from == 1)
			return lex->corrections[i].to;
	}
	return NULL;
}

static void lower_token(struct lex_token *t)
{
	t->text[LEX_WORD_MAX - 1] = '\0';
	for (char *c = t->text; *c; c++)
		*c = ascii_lower(*c);
}

/* Does correction c match toks[i..] (already lower-cased as far as needed)? */
static bool phrase_matches(const struct lex_correction *c, struct lex_token *toks, size_t n,
			   size_t i)
{
	if (c->n_from > n - i)
		return false;
	for (size_t k = 1; k < c->n_from; k++) {
		const struct lex_token *prev = &toks[i + k - 1], *cur = &toks[i + k];
		lower_token(&toks[i + k]);
		if (cur->speaker != prev->speaker || cur->start - prev->end > LEXICON_MERGE_MAX_GAP ||
		    strcmp(cur->text, c->from[k]) != 0)
			return false;
	}
	return true;
}

size_t lexicon_apply(const struct lexicon *lex, struct lex_token *toks, size_t n,
		     size_t *origin)
{
	size_t o = 0, i = 0;
	while (i < n) {
		lower_token(&toks[i]);
		const struct lex_correction *match = NULL;
		if (lex) {
			for (size_t c = first_correction(lex, toks[i].text);
			     c < lex->n_corrections &&
			     strcmp(lex->corrections[c].from[0], toks[i].text) == 0;
			     c++) {
				if (phrase_matches(&lex->corrections[c], toks, n, i)) {
					match = &lex->corrections[c];
					break;
				}
			}
		}
		struct lex_token merged = toks[i];
		size_t used = 1;
		if (match) {
			used = match->n_from;
			memcpy(merged.text, match->to, sizeof(merged.text));
			merged.end = toks[i + used - 1].end;
			for (size_t k = 1; k < used; k++) {
				if (toks[i + k].conf < merged.conf)
					merged.conf = toks[i + k].conf;
			}
		}
		if (origin)
			origin[o] = i;
		toks[o++] = merged;
		i += used;
	}
	return o;
}
