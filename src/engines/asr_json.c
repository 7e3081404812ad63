/* asr_json.c — see asr_json.h. */
#include "engines/asr_json.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/json_nomem.h"

static const struct {
	const char *name, *code;
} languages[] = {
	{"english", "en"},   {"chinese", "zh"},   {"mandarin", "zh"}, {"malay", "ms"},
	{"tamil", "ta"},     {"indonesian", "id"}, {"hindi", "hi"},   {"german", "de"},
	{"french", "fr"},    {"spanish", "es"},   {"portuguese", "pt"}, {"italian", "it"},
	{"dutch", "nl"},     {"japanese", "ja"},  {"korean", "ko"},   {"russian", "ru"},
	{"arabic", "ar"},    {"thai", "th"},      {"vietnamese", "vi"}, {"tagalog", "tl"},
	{"cantonese", "yue"}, {"turkish", "tr"},  {"polish", "pl"},   {"swedish", "sv"},
	{"eng", "en"},       {"zho", "zh"},       {"msa", "ms"},      {"tam", "ta"},
};

void asr_language_code(const char *name, char out[16])
{
	out[0] = '\0';
	if (!name)
		return;
	for (size_t i = 0; i < sizeof(languages) / sizeof(languages[0]); i++)
		if (strcasecmp(name, languages[i].name) == 0) {
			snprintf(out, 16, "%s", languages[i].code);
			return;
		}
	size_t o = 0;
	for (const char *c = name; *c && o < 15; c++)
		out[o++] = (char)tolower((unsigned char)*c);
	out[o] = '\0';
}

struct acc {
	struct asr_word *w;
	size_t n, cap;
	double offset, duration;
	bool joinable; /* the last word may take a following sub-word piece */
};

static enum parley_err acc_grow(struct acc *a, struct parley_error *err)
{
	if (a->n < a->cap)
		return PARLEY_OK;
	if (a->n >= ASR_JSON_MAX_WORDS)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "more than %d words in one answer",
					ASR_JSON_MAX_WORDS);
	size_t cap = a->cap ? a->cap * 2 : 64;
	struct asr_word *nw = realloc(a->w, cap * sizeof(*nw));
	if (!nw)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory reading words");
	a->w = nw;
	a->cap = cap;
	return PARLEY_OK;
}

static double clamp_time(const struct acc *a, double t)
{
	if (!isfinite(t) || t < 0)
		t = 0;
	if (a->duration > 0 && t > a->duration)
		t = a->duration;
	return t;
}

static bool is_word_char(unsigned char c)
{
	return isalnum(c) || c >= 0x80;
}

/* Lower-case src[len] stripped of punctuation at both ends into out. */
static void clean_word(const char *src, size_t len, char out[ASR_WORD_MAX])
{
	size_t b = 0, e = len;
	while (b < e && !is_word_char((unsigned char)src[b]))
		b++;
	while (e > b && !is_word_char((unsigned char)src[e - 1]))
		e--;
	size_t o = 0;
	for (size_t i = b; i < e && o + 1 < ASR_WORD_MAX; i++) {
		unsigned char c = (unsigned char)src[i];
		if (isspace(c) || c < 0x20)
			continue;
		out[o++] = (char)tolower(c);
	}
	/* never end inside a UTF-8 sequence */
	if (o + 1 >= ASR_WORD_MAX)
		while (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0x80)
			o--;
	if (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0xC0)
		o--;
	out[o] = '\0';
}

static bool special_token(const char *t)
{
	while (*t == ' ')
		t++;
	size_t l = strlen(t);
	return l >= 2 && ((t[0] == '[' && t[1] == '_') || (t[0] == '<' && t[1] == '|'));
}

static float prob_of(json_t *o)
{
	json_t *p = json_object_get(o, "probability");
	if (!p)
		p = json_object_get(o, "p");
	double v = json_is_number(p) ? json_number_value(p) : 1.0;
	return (float)(v >= 0 && v <= 1 ? v : 1.0);
}

/* Add one word or token piece. A piece with no leading space joins the word
 * before it (when allowed). Pieces that hold no letters or digits only end
 * the word before them (punctuation). */
static enum parley_err add_piece(struct acc *a, const char *text, double start, double end,
				 float conf, bool approximate, bool tokens, struct parley_error *err)
{
	if (!text || special_token(text))
		return PARLEY_OK;
	start = clamp_time(a, start);
	end = clamp_time(a, end);
	if (end < start)
		end = start;
	char clean[ASR_WORD_MAX];
	clean_word(text, strlen(text), clean);
	bool leading_space = isspace((unsigned char)text[0]);
	if (tokens && !leading_space && a->joinable && a->n > 0) {
		struct asr_word *w = &a->w[a->n - 1];
		if (!clean[0]) { /* punctuation after a word */
			a->joinable = false;
			return PARLEY_OK;
		}
		size_t have = strlen(w->text);
		char joined[ASR_WORD_MAX * 2];
		snprintf(joined, sizeof(joined), "%s%s", w->text, clean);
		clean_word(joined, strlen(joined), w->text);
		(void)have;
		if (a->offset + end > w->end)
			w->end = a->offset + end;
		if (conf < w->confidence)
			w->confidence = conf;
		return PARLEY_OK;
	}
	if (!clean[0]) {
		a->joinable = false;
		return PARLEY_OK;
	}
	enum parley_err rc = acc_grow(a, err);
	if (rc)
		return rc;
	struct asr_word *w = &a->w[a->n++];
	memset(w, 0, sizeof(*w));
	w->start = a->offset + start;
	w->end = a->offset + end;
	w->confidence = conf;
	w->approximate = approximate;
	memcpy(w->text, clean, sizeof(w->text));
	a->joinable = tokens;
	return PARLEY_OK;
}

/* Spread text's words over [start, end] by character count (approximate). */
static enum parley_err spread(struct acc *a, const char *text, double start, double end,
			      struct parley_error *err)
{
	if (!text)
		return PARLEY_OK;
	size_t total = 0;
	for (const char *c = text; *c; c++)
		if (!isspace((unsigned char)*c))
			total++;
	if (!total)
		return PARLEY_OK;
	start = clamp_time(a, start);
	end = clamp_time(a, end);
	if (end < start)
		end = start;
	double per = (end - start) / (double)total;
	size_t seen = 0;
	const char *c = text;
	while (*c) {
		while (*c && isspace((unsigned char)*c))
			c++;
		const char *b = c;
		while (*c && !isspace((unsigned char)*c))
			c++;
		if (c == b)
			break;
		char piece[ASR_WORD_MAX * 4];
		size_t len = (size_t)(c - b) < sizeof(piece) - 2 ? (size_t)(c - b) : sizeof(piece) - 2;
		piece[0] = ' ';
		memcpy(piece + 1, b, len);
		piece[len + 1] = '\0';
		double ws = start + per * (double)seen;
		seen += (size_t)(c - b);
		double we = start + per * (double)seen;
		enum parley_err rc = add_piece(a, piece, ws, we, 1.0f, true, false, err);
		if (rc)
			return rc;
	}
	return PARLEY_OK;
}

static double num(json_t *o, const char *key, double dflt)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : dflt;
}

static const char *word_text(json_t *w)
{
	const char *t = json_string_value(json_object_get(w, "word"));
	return t ? t : json_string_value(json_object_get(w, "text"));
}

static enum parley_err read_words(struct acc *a, json_t *words, bool tokens,
				  struct parley_error *err)
{
	size_t i;
	json_t *w;
	json_array_foreach(words, i, w)
	{
		if (!json_is_object(w))
			continue;
		double s = num(w, "start", NAN), e = num(w, "end", NAN);
		if (isnan(s) || isnan(e))
			continue;
		enum parley_err rc = add_piece(a, word_text(w), s, e, prob_of(w), false, tokens, err);
		if (rc)
			return rc;
	}
	return PARLEY_OK;
}

static enum parley_err read_tokens(struct acc *a, json_t *tokens, bool *any,
				   struct parley_error *err)
{
	size_t i;
	json_t *t;
	json_array_foreach(tokens, i, t)
	{
		if (!json_is_object(t))
			continue;
		const char *text = json_string_value(json_object_get(t, "text"));
		json_t *off = json_object_get(t, "offsets");
		double s, e;
		if (json_is_object(off)) {
			s = num(off, "from", NAN) / 1000.0;
			e = num(off, "to", NAN) / 1000.0;
		} else {
			s = num(t, "t0", NAN) / 100.0;
			e = num(t, "t1", NAN) / 100.0;
		}
		if (!text || isnan(s) || isnan(e) || s < 0)
			continue;
		*any = true;
		enum parley_err rc = add_piece(a, text, s, e, prob_of(t), false, true, err);
		if (rc)
			return rc;
	}
	return PARLEY_OK;
}

static int word_cmp(const void *x, const void *y)
{
	const struct asr_word *a = x, *b = y;
	return a->start < b->start ? -1 : a->start > b->start ? 1 : 0;
}

enum parley_err asr_json_parse(const char *body, size_t len, double offset, double duration,
			       struct asr_word **words, size_t *nwords, char language[16],
			       struct parley_error *err)
{
	double prob;
	return asr_json_parse_full(body, len, offset, duration, words, nwords, language, &prob, err);
}

enum parley_err asr_json_parse_full(const char *body, size_t len, double offset, double duration,
				    struct asr_word **words, size_t *nwords, char language[16],
				    double *language_prob, struct parley_error *err)
{
	*words = NULL;
	*nwords = 0;
	language[0] = '\0';
	*language_prob = -1;
	json_error_t je;
	json_nomem_reset();
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (json_load_nomem(j, &je))
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory reading the answer");
	if (!j || !json_is_object(j)) {
		json_decref(j);
		return parley_error_set(err, PARLEY_ERR_ENGINE,
					"answer is not a JSON object (%s at byte %d)",
					j ? "not an object" : je.text, j ? 0 : je.position);
	}
	struct acc a = {.offset = offset, .duration = duration};
	enum parley_err rc = PARLEY_OK;
	asr_language_code(json_string_value(json_object_get(j, "language")), language);
	if (!language[0])
		asr_language_code(json_string_value(json_object_get(j, "detected_language")), language);
	json_t *prob = json_object_get(j, "detected_language_probability");
	if (!json_is_number(prob))
		prob = json_object_get(j, "language_probability");
	if (language[0] && json_is_number(prob) && json_number_value(prob) >= 0 &&
	    json_number_value(prob) <= 1)
		*language_prob = json_number_value(prob);
	json_t *top = json_object_get(j, "words");
	json_t *segs = json_object_get(j, "segments");
	json_t *text = json_object_get(j, "text");
	if (json_is_array(top) && json_array_size(top) > 0) {
		rc = read_words(&a, top, false, err);
	} else if (json_is_array(segs)) {
		size_t i;
		json_t *s;
		json_array_foreach(segs, i, s)
		{
			if (!json_is_object(s))
				continue;
			a.joinable = false;
			size_t before = a.n;
			json_t *sw = json_object_get(s, "words");
			json_t *tk = json_object_get(s, "tokens");
			bool any = false;
			if (json_is_array(sw) && json_array_size(sw) > 0)
				rc = read_words(&a, sw, true, err);
			else if (json_is_array(tk))
				rc = read_tokens(&a, tk, &any, err);
			if (rc)
				break;
			if (a.n == before && !any)
				rc = spread(&a, json_string_value(json_object_get(s, "text")),
					    num(s, "start", 0), num(s, "end", duration), err);
			if (rc)
				break;
		}
	} else if (json_is_string(text)) {
		rc = spread(&a, json_string_value(text), 0, duration, err);
	} else {
		rc = parley_error_set(err, PARLEY_ERR_ENGINE,
				      "answer has no \"words\", \"segments\" or \"text\"");
	}
	json_decref(j);
	if (rc) {
		free(a.w);
		return rc;
	}
	if (a.n) /* qsort wants a non-NULL base even for 0 rows */
		qsort(a.w, a.n, sizeof(*a.w), word_cmp);
	*words = a.w;
	*nwords = a.n;
	return PARLEY_OK;
}

static void put_le(unsigned char *p, uint32_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

enum parley_err asr_wav_encode(const int16_t *samples, size_t n, int rate, char **out,
			       size_t *len, struct parley_error *err)
{
	*out = NULL;
	*len = 0;
	if (n > (0xFFFFFFFFu - 44) / 2 || rate <= 0)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "audio piece too long for WAV");
	size_t bytes = n * 2;
	unsigned char *b = malloc(44 + bytes);
	if (!b)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory encoding audio");
	memcpy(b, "RIFF", 4);
	put_le(b + 4, (uint32_t)(36 + bytes), 4);
	memcpy(b + 8, "WAVEfmt ", 8);
	put_le(b + 16, 16, 4);
	put_le(b + 20, 1, 2);
	put_le(b + 22, 1, 2);
	put_le(b + 24, (uint32_t)rate, 4);
	put_le(b + 28, (uint32_t)rate * 2, 4);
	put_le(b + 32, 2, 2);
	put_le(b + 34, 16, 2);
	memcpy(b + 36, "data", 4);
	put_le(b + 40, (uint32_t)bytes, 4);
	for (size_t i = 0; i < n; i++)
		put_le(b + 44 + 2 * i, (uint16_t)samples[i], 2);
	*out = (char *)b;
	*len = 44 + bytes;
	return PARLEY_OK;
}
