/* pipeline_config.c — see pipeline_config.h. */
#include "stages/pipeline_config.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/tones.h"
#include "stages/stage.h"
#include "store/store_call.h"
#include "text/lexicon.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/json_nomem.h"

_Static_assert(sizeof(enum pc_unit) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(enum pc_method) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(enum pc_channel_mode) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(enum pc_mono_roles) == sizeof(int), "enum fields are stored as int");

/* ------------------------------------------------------------ engines */

/* Which kinds of engine a scheme serves. */
enum { ENG_STT = 1, ENG_LLM = 2, ENG_DIARIZE = 4, ENG_DENOISE = 8, ENG_LID = 16 };

/* Engine strings, syntax only (src/engines/ gives them meaning). One row
 * per scheme: the text must be the prefix alone (bare), or the prefix plus
 * an argument (arg), or a URL after the prefix (url). */
static const struct engine_scheme {
	unsigned kinds;
	const char *prefix;
	enum { SCHEME_BARE_OR_ARG, SCHEME_ARG, SCHEME_URL, SCHEME_BARE } form;
	const char *usage;
} engine_schemes[] = {
	{ENG_STT, "pocketsphinx", SCHEME_BARE_OR_ARG, "pocketsphinx[:MODEL_DIR]"},
	{ENG_STT | ENG_LLM, "openai+http://", SCHEME_URL, "openai+http(s)://HOST[:PORT][/PATH]"},
	{ENG_STT | ENG_LLM, "openai+https://", SCHEME_URL, NULL},
	{ENG_STT, "whispercpp+http://", SCHEME_URL, "whispercpp+http(s)://HOST[:PORT][/PATH]"},
	{ENG_STT, "whispercpp+https://", SCHEME_URL, NULL},
	{ENG_STT | ENG_LLM | ENG_DIARIZE, "exec:", SCHEME_ARG, "exec:COMMAND"},
	{ENG_DIARIZE, "builtin", SCHEME_BARE, "builtin"},
	{ENG_DENOISE, "speex", SCHEME_BARE, "speex"},
	{ENG_DENOISE, "http://", SCHEME_URL, "http(s)://HOST[:PORT][/PATH]"},
	{ENG_DENOISE, "https://", SCHEME_URL, NULL},
};

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* HOST[:PORT][/PATH] with no user:password@ and no blanks. */
static bool url_rest_ok(const char *rest, char *why, size_t size)
{
	size_t auth = strcspn(rest, "/?#");
	if (auth == 0) {
		snprintf(why, size, "has no host after ://");
		return false;
	}
	if (memchr(rest, '@', auth)) {
		snprintf(why, size, "holds user:password@; put a key in an environment variable "
				    "and name it in api_key_env");
		return false;
	}
	if (strpbrk(rest, " \t")) {
		snprintf(why, size, "holds a blank");
		return false;
	}
	const char *colon = memchr(rest, ':', auth);
	if (colon && rest[0] != '[') {
		const char *p = colon + 1;
		size_t n = (size_t)(rest + auth - p);
		long port = 0;
		for (size_t i = 0; i < n; i++) {
			if (p[i] < '0' || p[i] > '9' || port > 65535) {
				port = -1;
				break;
			}
			port = port * 10 + (p[i] - '0');
		}
		if (n == 0 || port < 1 || port > 65535) {
			snprintf(why, size, "has a port that is not 1..65535");
			return false;
		}
	}
	return true;
}

static bool engine_ok(unsigned kind, const char *s, char *why, size_t size)
{
	if ((kind == ENG_LLM || kind == ENG_LID) && *s == '\0')
		return true; /* no LLM; lid: the stt engine */
	if (kind == ENG_LID)
		kind = ENG_STT;
	if (has_control(s)) {
		snprintf(why, size, "holds a control character");
		return false;
	}
	for (size_t i = 0; i < sizeof(engine_schemes) / sizeof(engine_schemes[0]); i++) {
		const struct engine_scheme *e = &engine_schemes[i];
		size_t n = strlen(e->prefix);
		if (!(e->kinds & kind) || strncmp(s, e->prefix, n) != 0)
			continue;
		const char *rest = s + n;
		switch (e->form) {
		case SCHEME_BARE:
			if (*rest == '\0')
				return true;
			break;
		case SCHEME_BARE_OR_ARG:
			if (*rest == '\0' || (rest[0] == ':' && rest[1] != '\0'))
				return true;
			break;
		case SCHEME_ARG:
			if (*rest != '\0')
				return true;
			snprintf(why, size, "needs something after '%s'", e->prefix);
			return false;
		case SCHEME_URL:
			return url_rest_ok(rest, why, size);
		}
	}
	struct strbuf sb;
	strbuf_init(&sb, 512);
	for (size_t i = 0; i < sizeof(engine_schemes) / sizeof(engine_schemes[0]); i++)
		if ((engine_schemes[i].kinds & kind) && engine_schemes[i].usage)
			strbuf_addf(&sb, "%s%s", sb.len ? ", " : "", engine_schemes[i].usage);
	snprintf(why, size, "is not an engine (known: %s%s)", sb.buf,
		 kind == ENG_LLM ? ", or \"\"" : "");
	strbuf_release(&sb);
	return false;
}

/* -------------------------------------------------------- field table */

enum field_kind {
	F_STRING, /* char[size] */
	F_ENGINE, /* char[size], an engine string of `engine` kinds */
	F_ENV,    /* char[size], an environment variable NAME or "" */
	F_INT,    /* int in [min, max] */
	F_NUMBER, /* double in [min, max] */
	F_BOOL,   /* bool */
	F_ENUM,   /* int index into choices */
	F_TEXT,   /* char * (malloc'd), at most max bytes */
	F_PRESET, /* char[size], "" or a preset of the stage registry */
	F_LANGS,  /* char[size], "" or language codes "en,ms" */
};

static const char *const unit_choices[] = {"turn", "file", NULL};
static const char *const method_choices[] = {"ward", "spectral", NULL};
static const char *const channel_mode_choices[] = {"mix", "separate", NULL};
static const char *const mono_roles_choices[] = {"none", "first_after_ivr", NULL};

static const struct field {
	const char *path; /* "section.key" */
	enum field_kind kind;
	size_t offset, size;
	double min, max;
	unsigned engine;
	const char *const *choices;
	const char *def; /* the default, as a flag would give it */
	const char *help;
} fields[] = {
#define PC_OFF(m) offsetof(struct pipeline_config, m)
#define PC_SIZE(m) sizeof(((struct pipeline_config *)0)->m)
#define STR(m, kind, eng, def, help) {#m, kind, PC_OFF(m), PC_SIZE(m), 0, 0, eng, NULL, def, help}
#define NUM(m, kind, lo, hi, def, help) {#m, kind, PC_OFF(m), PC_SIZE(m), lo, hi, 0, NULL, def, help}
#define ENUM(m, choices, def, help) {#m, F_ENUM, PC_OFF(m), PC_SIZE(m), 0, 0, 0, choices, def, help}
	STR(stt.engine, F_ENGINE, ENG_STT, "pocketsphinx", "speech-to-text engine"),
	STR(stt.model, F_STRING, 0, "", "model name the engine is asked for (\"\" = its default)"),
	STR(stt.language, F_STRING, 0, "en", "language hint (\"\" = detect)"),
	STR(stt.prompt, F_STRING, 0, "", "prompt given to the recogniser"),
	ENUM(stt.unit, unit_choices, "turn", "transcribe per speaker turn, or the whole file once"),
	NUM(stt.concurrency, F_INT, 1, 64, "4", "requests in flight per worker"),
	NUM(stt.timeout, F_NUMBER, 0.1, 86400, "120", "seconds per request"),
	NUM(stt.connect_timeout, F_NUMBER, 0.1, 3600, "10", "seconds to connect"),
	NUM(stt.retry_max_wait, F_NUMBER, 0, 3600, "30",
	    "longest wait before retrying a failed request, seconds (caps Retry-After)"),
	STR(stt.api_key_env, F_ENV, 0, "", "NAME of the environment variable holding the API key"),
	NUM(stt.denoise_below, F_NUMBER, 0, 100, "18",
	    "recognise speex-denoised audio when the recording's SNR is below this, dB (0 = never)"),
	NUM(stt.spot, F_BOOL, 0, 0, "true",
	    "pocketsphinx: also find the lexicon's \"spot\" targets by keyphrase search"),
	STR(llm.engine, F_ENGINE, ENG_LLM, "", "LLM engine (\"\" = none)"),
	STR(llm.model, F_STRING, 0, "", "model name the engine is asked for"),
	STR(llm.api_key_env, F_ENV, 0, "", "NAME of the environment variable holding the API key"),
	NUM(llm.timeout, F_NUMBER, 0.1, 86400, "60", "seconds per request"),
	NUM(llm.concurrency, F_INT, 1, 64, "4", "requests in flight per worker"),
	NUM(llm.temperature, F_NUMBER, 0, 2, "0", "sampling temperature"),
	NUM(llm.seed, F_INT, 0, INT_MAX, "0", "sampling seed"),
	STR(diarize.engine, F_ENGINE, ENG_DIARIZE, "builtin", "speaker diarization engine"),
	NUM(diarize.speakers, F_INT, 0, 32, "0", "number of speakers (0 = estimate)"),
	NUM(diarize.min_speakers, F_INT, 1, 32, "1", "at least this many speakers"),
	NUM(diarize.max_speakers, F_INT, 1, 32, "8", "at most this many speakers"),
	NUM(diarize.overlap, F_BOOL, 0, 0, "false", "also find overlapped speech"),
	ENUM(diarize.method, method_choices, "ward", "clustering: ward, or spectral (4-6 clean voices)"),
	STR(lexicon.path, F_STRING, 0, "", "lexicon file read at submit (provenance once read)"),
	NUM(lexicon.text, F_TEXT, 0, (double)PIPELINE_CONFIG_LEXICON_MAX, "", "the lexicon itself (\"\" = built-in)"),
	NUM(samples.min, F_NUMBER, 0.5, 600, "3", "shortest voice sample, seconds"),
	NUM(samples.max, F_NUMBER, 0.5, 600, "10", "longest voice sample, seconds"),
	ENUM(channels.mode, channel_mode_choices, "mix",
	     "mix: diarize the mix; separate: each channel of a stereo call is a speaker"),
	STR(channels.roles, F_STRING, 0, "agent,customer", "role of channel 0, 1, … (comma-separated)"),
	ENUM(channels.mono_roles, mono_roles_choices, "none",
	     "roles of a diarized mix: none, or first_after_ivr (first speaker after the IVR = first role)"),
	NUM(channels.margin, F_NUMBER, 0, 40, "10", "dB a channel must be louder to own a frame alone (crosstalk)"),
	STR(ivr.countries, F_STRING, 0, "auto",
	    "call-progress tone tables: auto, or a comma list of us, uk, eu, sg, my, in"),
	NUM(ivr.dtmf_digits, F_BOOL, 0, 0, "false",
	    "store the DTMF digits pressed (personal data); else only their count and times"),
	STR(ivr.prompts_dir, F_STRING, 0, "", "folder of known IVR prompt recordings (\"\" = none)"),
	NUM(ivr.music, F_BOOL, 0, 0, "true", "find music on hold and in the queue"),
	NUM(ivr.prompt_seconds, F_NUMBER, 10, 3600, "300",
	    "look for repeated IVR prompts in this many first seconds"),
	STR(denoise.engine, F_ENGINE, ENG_DENOISE, "speex", "noise suppressor: speex, or a server http(s)://… (README Call analysis)"),
	NUM(denoise.suppress, F_NUMBER, 1, 60, "25", "most noise attenuation, dB (speex)"),
	NUM(denoise.timeout, F_NUMBER, 0.1, 86400, "120", "seconds per request (server)"),
	NUM(denoise.enabled, F_BOOL, 0, 0, "false", "add the denoise stage to the pipeline (--denoise)"),
	STR(lid.language, F_LANGS, 0, "", "the calls' language, declared (\"\" = detect)"),
	STR(lid.expected, F_LANGS, 0, "", "expected languages \"en,ms\"; others are flagged (\"\" = any)"),
	STR(lid.engine, F_ENGINE, ENG_LID, "", "engine that detects the language (\"\" = stt.engine)"),
	NUM(lid.seconds, F_NUMBER, 1, 600, "30", "speech after the IVR sent to detect, seconds"),
	NUM(metrics.silence_min, F_NUMBER, 0.1, 600, "2", "shortest silence counted, seconds"),
	NUM(metrics.interrupt_yield, F_NUMBER, 0.1, 60,
	    "2", "interruption: the interrupted speaker stops within this many seconds"),
	STR(preset, F_PRESET, 0, "", "named pipeline: call (README Call analysis; \"\" = none)"),
#undef STR
#undef NUM
#undef ENUM
#undef PC_SIZE
#undef PC_OFF
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static const struct field *field_find(const char *path)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (strcmp(fields[i].path, path) == 0)
			return &fields[i];
	return NULL;
}

static void *field_ptr(const struct field *f, struct pipeline_config *c)
{
	return (char *)c + f->offset;
}

static const void *field_cptr(const struct field *f, const struct pipeline_config *c)
{
	return (const char *)c + f->offset;
}

static const char *kind_wants(const struct field *f, char *buf, size_t size)
{
	switch (f->kind) {
	case F_STRING: case F_ENGINE: case F_ENV: case F_TEXT: case F_PRESET: case F_LANGS:
		return "a string";
	case F_INT: snprintf(buf, size, "a whole number from %.0f to %.0f", f->min, f->max); return buf;
	case F_NUMBER: snprintf(buf, size, "a number from %g to %g", f->min, f->max); return buf;
	case F_BOOL: return "true or false";
	case F_ENUM: {
		size_t used = (size_t)snprintf(buf, size, "one of");
		for (size_t i = 0; f->choices[i] && used < size; i++)
			used += (size_t)snprintf(buf + used, size - used, "%s \"%s\"", i ? "," : "",
						 f->choices[i]);
		return buf;
	}
	}
	return "a value";
}

/* "" or comma-separated codes of letters and '-' ("en", "en,zh-hk"). */
static bool langs_ok(const char *s)
{
	if (!*s)
		return true;
	for (const char *p = s; *p;) {
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-");
		if (n == 0 || n > 15)
			return false;
		p += n;
		if (*p == ',' && p[1])
			p++;
		else if (*p)
			return false;
	}
	return true;
}

static bool field_from_text(const struct field *f, struct pipeline_config *c, const char *s,
			    char *why, size_t size);
static const struct field *field_find(const char *path);

/* The preset's settings ("channels.mode=separate,…") onto c. */
static bool preset_apply(struct pipeline_config *c, const struct stage_preset *ps, char *why,
			 size_t size)
{
	for (const char *p = ps->settings ? ps->settings : ""; *p;) {
		size_t n = strcspn(p, ","), eq = strcspn(p, "=");
		char key[64], value[128];
		if (eq >= n || eq >= sizeof(key) || n - eq - 1 >= sizeof(value)) {
			snprintf(why, size, "preset %s: bad setting '%.*s'", ps->name, (int)n, p);
			return false;
		}
		snprintf(key, sizeof(key), "%.*s", (int)eq, p);
		snprintf(value, sizeof(value), "%.*s", (int)(n - eq - 1), p + eq + 1);
		const struct field *f = field_find(key);
		if (!f || !field_from_text(f, c, value, why, size)) {
			if (!f)
				snprintf(why, size, "preset %s: unknown key %s", ps->name, key);
			return false;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return true;
}

/* Store a string value into a string-like field; why says what is wrong. */
static bool set_string(const struct field *f, struct pipeline_config *c, const char *s, size_t len,
		       char *why, size_t size)
{
	if (memchr(s, '\0', len)) {
		snprintf(why, size, "holds a NUL character");
		return false;
	}
	if (f->kind == F_TEXT) {
		if (len > (size_t)f->max) {
			snprintf(why, size, "is longer than %.0f bytes", f->max);
			return false;
		}
		char **slot = field_ptr(f, c);
		char *copy = NULL;
		if (len) {
			copy = malloc(len + 1);
			if (!copy) {
				snprintf(why, size, "out of memory");
				return false;
			}
			memcpy(copy, s, len);
			copy[len] = '\0';
		}
		free(*slot);
		*slot = copy;
		return true;
	}
	if (len >= f->size) {
		snprintf(why, size, "is longer than %zu bytes", f->size - 1);
		return false;
	}
	char tmp[PC_PATH_MAX];
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (f->kind == F_ENGINE && !engine_ok(f->engine, tmp, why, size))
		return false;
	if (f->kind == F_ENV && *tmp) {
		bool ok = (tmp[0] < '0' || tmp[0] > '9');
		for (const char *p = tmp; ok && *p; p++)
			ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			     (*p >= '0' && *p <= '9') || *p == '_';
		if (!ok) {
			snprintf(why, size, "wants the NAME of an environment variable holding the key "
					    "(letters, digits, _), never the key itself");
			return false;
		}
	}
	if (f->kind == F_PRESET && *tmp && !stage_preset_find(tmp)) {
		snprintf(why, size, "is not a preset (known: %s, or \"\")", stage_preset_names());
		return false;
	}
	if (f->kind == F_LANGS && !langs_ok(tmp)) {
		snprintf(why, size, "wants language codes such as \"en\" or \"en,ms\" (letters "
				    "and '-', comma-separated)");
		return false;
	}
	if (f->kind == F_STRING && f->size < PC_PROMPT_MAX && has_control(tmp)) {
		snprintf(why, size, "holds a control character");
		return false;
	}
	memcpy(field_ptr(f, c), tmp, len + 1);
	if (f->kind == F_PRESET && *tmp)
		return preset_apply(c, stage_preset_find(tmp), why, size);
	return true;
}

static bool set_number(const struct field *f, struct pipeline_config *c, double v, char *why,
		       size_t size)
{
	char buf[160];
	if (!isfinite(v) || v < f->min || v > f->max) {
		snprintf(why, size, "wants %s, not %g", kind_wants(f, buf, sizeof(buf)), v);
		return false;
	}
	if (f->kind == F_INT) {
		if (v != floor(v)) {
			snprintf(why, size, "wants %s, not %g", kind_wants(f, buf, sizeof(buf)), v);
			return false;
		}
		*(int *)field_ptr(f, c) = (int)v;
	} else {
		*(double *)field_ptr(f, c) = v;
	}
	return true;
}

static bool set_enum(const struct field *f, struct pipeline_config *c, const char *s, char *why,
		     size_t size)
{
	for (int i = 0; f->choices[i]; i++) {
		if (strcmp(f->choices[i], s) == 0) {
			*(int *)field_ptr(f, c) = i;
			return true;
		}
	}
	char buf[160];
	snprintf(why, size, "wants %s, not \"%.60s\"", kind_wants(f, buf, sizeof(buf)), s);
	return false;
}

/* A JSON value into a field. */
static bool field_from_json(const struct field *f, struct pipeline_config *c, json_t *v, char *why,
			    size_t size)
{
	char buf[160];
	switch (f->kind) {
	case F_STRING: case F_ENGINE: case F_ENV: case F_TEXT: case F_PRESET: case F_LANGS:
		if (json_is_string(v))
			return set_string(f, c, json_string_value(v), json_string_length(v), why, size);
		break;
	case F_INT:
		if (json_is_integer(v)) {
			json_int_t n = json_integer_value(v);
			if (n < (json_int_t)f->min || n > (json_int_t)f->max) {
				snprintf(why, size, "wants %s, not %lld", kind_wants(f, buf, sizeof(buf)),
					 (long long)n);
				return false;
			}
			*(int *)field_ptr(f, c) = (int)n;
			return true;
		}
		break;
	case F_NUMBER:
		if (json_is_number(v))
			return set_number(f, c, json_number_value(v), why, size);
		break;
	case F_BOOL:
		if (json_is_boolean(v)) {
			*(bool *)field_ptr(f, c) = json_is_true(v);
			return true;
		}
		break;
	case F_ENUM:
		if (json_is_string(v))
			return set_enum(f, c, json_string_value(v), why, size);
		break;
	}
	static const char *const type_names[] = {"an object", "an array", "a string", "a whole number",
						 "a number", "true", "false", "null"};
	snprintf(why, size, "wants %s, not %s", kind_wants(f, buf, sizeof(buf)),
		 type_names[json_typeof(v)]);
	return false;
}

/* A flag's text into a field. */
static bool field_from_text(const struct field *f, struct pipeline_config *c, const char *s,
			    char *why, size_t size)
{
	char buf[160];
	switch (f->kind) {
	case F_STRING: case F_ENGINE: case F_ENV: case F_TEXT: case F_PRESET: case F_LANGS:
		return set_string(f, c, s, strlen(s), why, size);
	case F_INT: case F_NUMBER: {
		char *end;
		errno = 0;
		double v = f->kind == F_INT ? (double)strtol(s, &end, 10) : strtod(s, &end);
		if (errno || end == s || *end) {
			snprintf(why, size, "wants %s, not '%.60s'", kind_wants(f, buf, sizeof(buf)), s);
			return false;
		}
		return set_number(f, c, v, why, size);
	}
	case F_BOOL: {
		static const char *const yes[] = {"true", "1", "yes", "on"}, *const no[] = {"false", "0", "no", "off"};
		for (size_t i = 0; i < 4; i++) {
			if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
				*(bool *)field_ptr(f, c) = strcmp(s, yes[i]) == 0;
				return true;
			}
		}
		snprintf(why, size, "wants true or false, not '%.60s'", s);
		return false;
	}
	case F_ENUM:
		return set_enum(f, c, s, why, size);
	}
	return false;
}

static json_t *field_to_json(const struct field *f, const struct pipeline_config *c)
{
	const void *p = field_cptr(f, c);
	switch (f->kind) {
	case F_STRING: case F_ENGINE: case F_ENV: case F_PRESET: case F_LANGS: return json_string(p);
	case F_TEXT: {
		const char *t = *(char *const *)p;
		return json_string(t ? t : "");
	}
	case F_INT: return json_integer(*(const int *)p);
	case F_NUMBER: {
		double v = *(const double *)p;
		/* whole numbers as integers: "timeout": 120, not 120.0 */
		if (v == floor(v) && fabs(v) < 1e15)
			return json_integer((json_int_t)v);
		return json_real(v);
	}
	case F_BOOL: return json_boolean(*(const bool *)p);
	case F_ENUM: return json_string(f->choices[*(const int *)p]);
	}
	return json_null();
}

static bool field_equal(const struct field *f, const struct pipeline_config *a,
			const struct pipeline_config *b)
{
	const void *pa = field_cptr(f, a), *pb = field_cptr(f, b);
	switch (f->kind) {
	case F_STRING: case F_ENGINE: case F_ENV: case F_PRESET: case F_LANGS:
		return strcmp(pa, pb) == 0;
	case F_TEXT: {
		const char *ta = *(char *const *)pa, *tb = *(char *const *)pb;
		return strcmp(ta ? ta : "", tb ? tb : "") == 0;
	}
	case F_INT: case F_ENUM: return *(const int *)pa == *(const int *)pb;
	case F_NUMBER: return *(const double *)pa == *(const double *)pb;
	case F_BOOL: return *(const bool *)pa == *(const bool *)pb;
	}
	return false;
}

/* ------------------------------------------------------------- basics */

void pipeline_config_init(struct pipeline_config *c)
{
	memset(c, 0, sizeof(*c));
	char why[PARLEY_ERROR_MSG_MAX];
	for (size_t i = 0; i < NFIELDS; i++)
		field_from_text(&fields[i], c, fields[i].def, why, sizeof(why)); /* defaults are valid (tested) */
}

void pipeline_config_release(struct pipeline_config *c)
{
	if (!c)
		return;
	free(c->lexicon.text);
	c->lexicon.text = NULL;
}

enum parley_err pipeline_config_copy(struct pipeline_config *dst, const struct pipeline_config *src,
				     struct parley_error *err)
{
	*dst = *src;
	dst->lexicon.text = NULL;
	if (src->lexicon.text && !(dst->lexicon.text = strdup(src->lexicon.text)))
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory copying a configuration");
	return PARLEY_OK;
}

enum parley_err pipeline_config_set(struct pipeline_config *c, const char *key, const char *value,
				    struct parley_error *err)
{
	const struct field *f = field_find(key);
	if (!f)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"unknown pipeline configuration key '%.80s' (see `parley config --keys`)",
					key);
	char why[PARLEY_ERROR_MSG_MAX - 100];
	if (!field_from_text(f, c, value, why, sizeof(why)))
		return parley_error_set(err, strcmp(why, "out of memory") ? PARLEY_ERR_INVALID : PARLEY_ERR_NOMEM,
					"%s %s", key, why);
	return PARLEY_OK;
}

/* ivr.countries: "auto" or a comma list of countries of the tone table. */
static enum parley_err ivr_countries_check(const char *countries, struct parley_error *err)
{
	if (strcmp(countries, "auto") == 0)
		return PARLEY_OK;
	const char *p = countries;
	if (!*p)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"ivr.countries is empty (auto, or a comma list of us, uk, eu, "
					"sg, my, in)");
	while (*p) {
		size_t len = strcspn(p, ",");
		char name[8] = "";
		if (len < sizeof(name)) {
			memcpy(name, p, len);
			name[len] = '\0';
		}
		if (!len || len >= sizeof(name) || !tone_country_known(name))
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"ivr.countries \"%.60s\" names a country the tone table "
						"does not have (auto, or a comma list of us, uk, eu, sg, "
						"my, in)", countries);
		p += len;
		if (*p == ',')
			p++;
	}
	return PARLEY_OK;
}

enum parley_err pipeline_config_check(const struct pipeline_config *c, struct parley_error *err)
{
	const struct pc_diarize *d = &c->diarize;
	if (d->min_speakers > d->max_speakers)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"diarize.min_speakers %d is more than diarize.max_speakers %d",
					d->min_speakers, d->max_speakers);
	if (d->speakers && (d->speakers < d->min_speakers || d->speakers > d->max_speakers))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"diarize.speakers %d is outside diarize.min_speakers %d .. "
					"diarize.max_speakers %d", d->speakers, d->min_speakers,
					d->max_speakers);
	if (strchr(c->lid.language, ','))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"lid.language \"%s\" wants one language (the expected ones go "
					"in lid.expected)", c->lid.language);
	if (c->samples.min > c->samples.max)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"samples.min %g is more than samples.max %g", c->samples.min,
					c->samples.max);
	enum parley_err rc = ivr_countries_check(c->ivr.countries, err);
	if (rc)
		return rc;
	int nroles = 1;
	size_t len = 0;
	for (const char *r = c->channels.roles;; r++) {
		bool name_ch = (*r >= 'a' && *r <= 'z') || (*r >= 'A' && *r <= 'Z') ||
			       (*r >= '0' && *r <= '9') || *r == '_' || *r == '-';
		if (name_ch && len < (STORE_CALL_NAME_MAX - 1)) {
			len++;
			continue;
		}
		if ((*r == ',' || *r == '\0') && len > 0 && nroles <= STAGE_CHANNELS_MAX) {
			if (*r == '\0')
				return PARLEY_OK;
			nroles++;
			len = 0;
			continue;
		}
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"channels.roles \"%.80s\" wants 1..%d comma-separated names of "
					"letters, digits, _ and - (at most %d each), e.g. \"agent,customer\"",
					c->channels.roles, STAGE_CHANNELS_MAX, (STORE_CALL_NAME_MAX - 1));
	}
}

void pipeline_config_role(const char *roles, int i, char *out, size_t size)
{
	const char *p = roles;
	for (int k = 0; k < i && p; k++) {
		p = strchr(p, ',');
		if (p)
			p++;
	}
	if (!p || size == 0) {
		if (size)
			out[0] = '\0';
		return;
	}
	size_t n = strcspn(p, ",");
	if (n >= size)
		n = size - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* ----------------------------------------------------------- positions */

/*
 * Where a key or its value starts in JSON text that jansson accepted: a
 * small scanner that walks the tokens and follows the keys of the first two
 * levels. Lines and columns count from 1; columns count characters (UTF-8
 * sequences), as jansson's do. Keys written with escapes are not matched
 * (the position then falls back to the enclosing key, or 1:1).
 */
struct scan {
	const char *s;
	size_t len, i;
	int line, col;
};

static void scan_adv(struct scan *sc)
{
	unsigned char ch = (unsigned char)sc->s[sc->i++];
	if (ch == '\n') {
		sc->line++;
		sc->col = 1;
	} else if ((ch & 0xC0) != 0x80) {
		sc->col++;
	}
}

static void scan_ws(struct scan *sc)
{
	while (sc->i < sc->len && strchr(" \t\r\n", sc->s[sc->i]) && sc->s[sc->i])
		scan_adv(sc);
}

/* At a '"': skip the string; its raw bytes are s[*from .. *to). */
static void scan_string(struct scan *sc, size_t *from, size_t *to)
{
	scan_adv(sc);
	*from = sc->i;
	while (sc->i < sc->len && sc->s[sc->i] != '"') {
		if (sc->s[sc->i] == '\\' && sc->i + 1 < sc->len)
			scan_adv(sc);
		scan_adv(sc);
	}
	*to = sc->i;
	if (sc->i < sc->len)
		scan_adv(sc);
}

struct pos_query {
	const char *path[2]; /* section, key (key NULL: the section) */
	bool value;          /* the value's position, else the key's */
	int best_depth;      /* how deep the best match so far went */
	int line, col;
};

static void scan_value(struct scan *sc, int depth, bool on_path, struct pos_query *q);

static void scan_object(struct scan *sc, int depth, bool on_path, struct pos_query *q)
{
	scan_adv(sc); /* { */
	for (;;) {
		scan_ws(sc);
		if (sc->i >= sc->len || sc->s[sc->i] == '}')
			break;
		if (sc->s[sc->i] == ',') {
			scan_adv(sc);
			continue;
		}
		if (sc->s[sc->i] != '"')
			return; /* not JSON jansson accepted: stop */
		int kline = sc->line, kcol = sc->col;
		size_t from, to;
		scan_string(sc, &from, &to);
		const char *want = depth < 2 ? q->path[depth] : NULL;
		bool match = on_path && want && strlen(want) == to - from &&
			     memcmp(sc->s + from, want, to - from) == 0;
		scan_ws(sc);
		if (sc->i < sc->len && sc->s[sc->i] == ':')
			scan_adv(sc);
		scan_ws(sc);
		if (match && depth + 1 > q->best_depth) {
			q->best_depth = depth + 1;
			bool last = depth + 1 == 2 || !q->path[depth + 1];
			q->line = last && q->value ? sc->line : kline;
			q->col = last && q->value ? sc->col : kcol;
		}
		scan_value(sc, depth + 1, match, q);
	}
	if (sc->i < sc->len)
		scan_adv(sc); /* } */
}

static void scan_value(struct scan *sc, int depth, bool on_path, struct pos_query *q)
{
	scan_ws(sc);
	if (sc->i >= sc->len)
		return;
	char ch = sc->s[sc->i];
	if (ch == '{') {
		scan_object(sc, depth, on_path, q);
	} else if (ch == '[') {
		scan_adv(sc);
		for (;;) {
			scan_ws(sc);
			if (sc->i >= sc->len || sc->s[sc->i] == ']')
				break;
			if (sc->s[sc->i] == ',') {
				scan_adv(sc);
				continue;
			}
			size_t before = sc->i;
			scan_value(sc, depth + 1, false, q);
			if (sc->i == before)
				return;
		}
		if (sc->i < sc->len)
			scan_adv(sc);
	} else if (ch == '"') {
		size_t a, b;
		scan_string(sc, &a, &b);
	} else {
		while (sc->i < sc->len && !strchr(",}] \t\r\n", sc->s[sc->i]) && sc->s[sc->i])
			scan_adv(sc);
	}
}

static void text_pos(const char *text, size_t len, const char *section, const char *key,
		     bool value, int *line, int *col)
{
	struct scan sc = {text, len, 0, 1, 1};
	struct pos_query q = {{section, key}, value, 0, 1, 1};
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		sc.i = 3;
	scan_value(&sc, 0, true, &q);
	*line = q.line;
	*col = q.col;
}

/* --------------------------------------------------------------- parse */

static const char *const sections[] = {"stt",      "llm",     "diarize", "lexicon",
				       "samples",  "channels", "ivr",     "denoise",
				       "lid",      "metrics"};
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

static void known_keys(const char *section, char *out, size_t size)
{
	size_t used = 0, n = strlen(section);
	out[0] = '\0';
	for (size_t i = 0; i < NFIELDS && used < size; i++)
		if (strncmp(fields[i].path, section, n) == 0 && fields[i].path[n] == '.')
			used += (size_t)snprintf(out + used, size - used, "%s%s", used ? ", " : "",
						 fields[i].path + n + 1);
}

struct parse_ctx {
	const char *name, *text;
	size_t len;
	struct parley_error *err;
};

static enum parley_err fail_at(const struct parse_ctx *p, enum parley_err code, const char *section,
			       const char *key, bool value, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static enum parley_err fail_at(const struct parse_ctx *p, enum parley_err code, const char *section,
			       const char *key, bool value, const char *fmt, ...)
{
	int line = 1, col = 1;
	if (section)
		text_pos(p->text, p->len, section, key, value, &line, &col);
	char what[PARLEY_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return parley_error_set(p->err, code, "%s:%d:%d: %s", p->name, line, col, what);
}

static enum parley_err parse_section(const struct parse_ctx *p, struct pipeline_config *c,
				     const char *section, json_t *obj)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		char path[128];
		snprintf(path, sizeof(path), "%s.%.100s", section, key);
		const struct field *f = field_find(path);
		if (!f) {
			char known[512];
			known_keys(section, known, sizeof(known));
			return fail_at(p, PARLEY_ERR_INVALID, section, key, false,
				       "unknown key \"%.60s\" in \"%s\" (known: %s)", key, section, known);
		}
		char why[PARLEY_ERROR_MSG_MAX - 160];
		if (!field_from_json(f, c, v, why, sizeof(why))) {
			enum parley_err code = strcmp(why, "out of memory") == 0 ? PARLEY_ERR_NOMEM
				: strstr(why, "is longer than") ? PARLEY_ERR_TOO_LARGE : PARLEY_ERR_INVALID;
			return fail_at(p, code, section, key, true, "%s %s", path, why);
		}
	}
	return PARLEY_OK;
}

enum parley_err pipeline_config_parse(struct pipeline_config *c, const char *name,
				      const char *text, size_t len, struct parley_error *err)
{
	struct parse_ctx p = {name, text, len, err};
	if (len > PIPELINE_CONFIG_MAX_BYTES)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "%s: larger than %zu bytes", name,
					PIPELINE_CONFIG_MAX_BYTES);
	size_t skip = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
	size_t k = skip;
	while (k < len && strchr(" \t\r\n", text[k]) && text[k])
		k++;
	if (k == len)
		return PARLEY_OK; /* empty: the defaults (a batch stored before configurations) */
	json_error_t je;
	json_nomem_reset();
	json_t *root = json_loadb(text + skip, len - skip, JSON_REJECT_DUPLICATES, &je);
	/* Out of memory is not a syntax error (make torture found it reported
	 * as one, failing a recording for good that a retry would finish). */
	if (json_load_nomem(root, &je))
		return parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory reading it", name);
	if (!root)
		return parley_error_set(err, PARLEY_ERR_INVALID, "%s:%d:%d: %s", name,
					je.line > 0 ? je.line : 1, je.column > 0 ? je.column : 1, je.text);
	enum parley_err rc = PARLEY_OK;
	if (!json_is_object(root)) {
		rc = fail_at(&p, PARLEY_ERR_INVALID, NULL, NULL, false,
			     "wants a JSON object {\"stt\": {…}, \"diarize\": {…}, …}");
		goto out;
	}
	const char *key;
	json_t *v;
	/* top-level keys ("preset") first: the sections override what a preset sets */
	json_object_foreach(root, key, v) {
		const struct field *top = strchr(key, '.') ? NULL : field_find(key);
		if (top) {
			char why[PARLEY_ERROR_MSG_MAX - 160];
			if (!field_from_json(top, c, v, why, sizeof(why))) {
				rc = fail_at(&p, PARLEY_ERR_INVALID, key, NULL, true, "%s %s", key, why);
				goto out;
			}
		}
	}
	json_object_foreach(root, key, v) {
		const struct field *top = strchr(key, '.') ? NULL : field_find(key);
		if (top) /* done above */
			continue;
		size_t s;
		for (s = 0; s < NSECTIONS; s++)
			if (strcmp(sections[s], key) == 0)
				break;
		if (s == NSECTIONS) {
			char known[256] = "";
			for (size_t m = 0, used = 0; m < NSECTIONS && used < sizeof(known); m++)
				used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s",
							 m ? ", " : "", sections[m]);
			rc = fail_at(&p, PARLEY_ERR_INVALID, key, NULL, false,
				     "unknown section \"%.60s\" (known: %s; or a top-level key: preset)",
				     key, known);
			goto out;
		}
		if (!json_is_object(v)) {
			rc = fail_at(&p, PARLEY_ERR_INVALID, key, NULL, true,
				     "\"%s\" wants an object of %s settings", key, key);
			goto out;
		}
		if ((rc = parse_section(&p, c, sections[s], v)))
			goto out;
	}
	struct parley_error cross = {0};
	if (pipeline_config_check(c, &cross)) {
		/* point at the first key the message names */
		char sec[16] = "", k2[32] = "";
		sscanf(cross.msg, "%15[a-z].%31[a-z_]", sec, k2);
		rc = fail_at(&p, cross.code, sec, k2, true, "%s", cross.msg);
	}
out:
	json_decref(root);
	return rc;
}

enum parley_err pipeline_config_load(const char *path, struct pipeline_config *c,
				     struct parley_error *err)
{
	char *text = NULL;
	size_t len = 0;
	enum parley_err rc = fs_read_file(path, PIPELINE_CONFIG_MAX_BYTES, &text, &len, err);
	if (rc == PARLEY_OK)
		rc = pipeline_config_parse(c, path, text, len, err);
	free(text);
	return rc;
}

enum parley_err pipeline_config_lexicon_resolve(struct pipeline_config *c,
						struct parley_error *err)
{
	enum parley_err rc;
	if (!c->lexicon.text && c->lexicon.path[0]) {
		char *text = NULL;
		size_t len = 0;
		if ((rc = fs_read_file(c->lexicon.path, PIPELINE_CONFIG_LEXICON_MAX, &text, &len, err)))
			return rc;
		if (len == 0 || memchr(text, '\0', len)) {
			free(text);
			return parley_error_set(err, PARLEY_ERR_INVALID, "%s: %s", c->lexicon.path,
						len ? "holds a NUL byte" : "is empty");
		}
		c->lexicon.text = text;
	}
	if (!c->lexicon.text)
		return PARLEY_OK; /* built-in */
	struct lexicon *lex = NULL;
	rc = lexicon_parse(c->lexicon.text, strlen(c->lexicon.text),
			   c->lexicon.path[0] ? c->lexicon.path : "lexicon.text", &lex, err);
	lexicon_free(lex);
	return rc;
}

/* ----------------------------------------------------------- serialise */

enum parley_err pipeline_config_to_json(const struct pipeline_config *c, bool pretty, char **out,
					struct parley_error *err)
{
	*out = NULL;
	json_t *root = json_object();
	bool ok = root != NULL;
	for (size_t s = 0; ok && s < NSECTIONS; s++) {
		json_t *sec = json_object();
		size_t n = strlen(sections[s]);
		ok = sec && json_object_set_new(root, sections[s], sec) == 0;
		for (size_t i = 0; ok && i < NFIELDS; i++)
			if (strncmp(fields[i].path, sections[s], n) == 0 && fields[i].path[n] == '.')
				ok = json_object_set_new(sec, fields[i].path + n + 1,
							 field_to_json(&fields[i], c)) == 0;
	}
	for (size_t i = 0; ok && i < NFIELDS; i++)
		if (!strchr(fields[i].path, '.'))
			ok = json_object_set_new(root, fields[i].path, field_to_json(&fields[i], c)) == 0;
	if (ok)
		*out = json_dumps(root, JSON_PRESERVE_ORDER | (pretty ? JSON_INDENT(2) : JSON_COMPACT));
	json_decref(root);
	if (!*out)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory writing a configuration");
	return PARLEY_OK;
}

const char *pipeline_config_diff(const struct pipeline_config *a, const struct pipeline_config *b)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (!field_equal(&fields[i], a, b))
			return fields[i].path;
	return NULL;
}

enum parley_err pipeline_config_keys_text(char **out, struct parley_error *err)
{
	struct strbuf sb;
	strbuf_init(&sb, 64 * 1024);
	enum parley_err rc = PARLEY_OK;
	for (size_t i = 0; i < NFIELDS && !rc; i++) {
		char buf[160], wants[170] = "", def[64];
		const struct field *f = &fields[i];
		if (f->kind == F_INT || f->kind == F_NUMBER || f->kind == F_ENUM)
			snprintf(wants, sizeof(wants), "; %s", kind_wants(f, buf, sizeof(buf)));
		bool quoted = f->kind != F_INT && f->kind != F_NUMBER && f->kind != F_BOOL;
		snprintf(def, sizeof(def), quoted ? "\"%s\"" : "%s", f->def);
		/* which stages read it: their registry rows name its section */
		char section[16], readers[128] = "";
		snprintf(section, sizeof(section), "%.*s", (int)strcspn(f->path, "."), f->path);
		for (size_t s = 0, used = 0; s < stage_count_all && used < sizeof(readers); s++)
			if (stage_reads(stage_at(s), section))
				used += (size_t)snprintf(readers + used, sizeof(readers) - used, "%s%s",
							 used ? "," : "; read by ", stage_at(s)->name);
		rc = strbuf_addf(&sb, "%-22s %-8s %s%s (default %s%s)\n", f->path,
				 f->kind == F_ENGINE ? "engine" : f->kind == F_INT ? "integer"
				 : f->kind == F_NUMBER ? "number" : f->kind == F_BOOL ? "boolean" : "string",
				 f->help, wants, def, readers);
	}
	if (rc) {
		strbuf_release(&sb);
		return parley_error_set(err, rc, "configuration keys: text too large");
	}
	*out = strbuf_detach(&sb, NULL);
	return PARLEY_OK;
}
