/*
 * pipeline_config.h — a batch's pipeline configuration: which engines the
 * stages use and their options, one JSON document stored with the batch
 * (batches.config) and read by every worker, export and sessions result.
 *
 *   struct pipeline_config c;
 *   pipeline_config_init(&c);                                   // defaults
 *   if (pipeline_config_load("audit.json", &c, &err)) fail(err.msg);
 *                                    // "audit.json:3:14: stt.timeout wants a number …"
 *   pipeline_config_set(&c, "diarize.speakers", "2", &err);     // a flag
 *   pipeline_config_lexicon_resolve(&c, &err);  // read lexicon.path into lexicon.text
 *   pipeline_config_check(&c, &err);            // fields that depend on each other
 *   pipeline_config_to_json(&c, false, &json, &err);            // canonical, stored
 *   pipeline_config_release(&c);
 *
 * The document (every key optional; a missing key keeps its default):
 *   { "stt":     {"engine", "model", "language", "prompt", "unit", "concurrency",
 *                 "timeout", "connect_timeout", "api_key_env", "denoise_below", "spot"},
 *     "llm":     {"engine", "model", "api_key_env", "timeout", "concurrency",
 *                 "temperature", "seed"},
 *     "diarize": {"engine", "speakers", "min_speakers", "max_speakers", "overlap",
 *                 "method"},
 *     "lexicon": {"path", "text"},
 *     "samples": {"min", "max"},
 *     "channels": {"mode", "roles", "mono_roles", "margin"},
 *     "ivr":     {"countries", "dtmf_digits", "prompts_dir", "music", "prompt_seconds"},
 *     "denoise": {"engine", "suppress", "timeout", "enabled"},
 *     "lid":     {"language", "expected", "engine", "seconds"},
 *     "metrics": {"silence_min", "interrupt_yield"},
 *     "preset":  "call" }
 * "preset" names a row of the stage registry's preset table
 * (stages/stage.h stage_preset_find): the batch's stages when no stage list
 * is given.

 * Every key is one row of the field table in pipeline_config.c (path, type,
 * range, help); `parley config --keys` prints it. Unknown keys, wrong types,
 * values out of range, duplicate keys and documents larger than
 * PIPELINE_CONFIG_MAX_BYTES are refused with "NAME:LINE:COL: what is wrong".
 *
 * Engine strings are checked for syntax only (a scheme of the table in
 * pipeline_config.c: pocketsphinx[:DIR], openai+http(s)://HOST…,
 * whispercpp+http(s)://HOST…, exec:COMMAND, builtin); src/engines/ gives
 * them meaning. Secrets are never part of the configuration: api_key_env
 * names the environment variable that holds a key, and URLs with
 * user:password@ are refused.
 *
 * The lexicon: lexicon.text is the lexicon itself (what the words stage,
 * export and the sessions results use); lexicon.path only says where it came
 * from. pipeline_config_lexicon_resolve() reads the file at submit time, so a
 * batch keeps its lexicon even when the file changes or another host has
 * none. Both empty: the built-in Singlish lexicon.
 *
 * Ownership: lexicon.text is malloc'd and owned by the struct; copy with
 * pipeline_config_copy(), free with pipeline_config_release(). Not
 * thread-safe per struct; no global state.
 */
#ifndef PARLEY_STAGES_PIPELINE_CONFIG_H
#define PARLEY_STAGES_PIPELINE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define PIPELINE_CONFIG_MAX_BYTES ((size_t)4 << 20) /* a document (JSON text) */
#define PIPELINE_CONFIG_LEXICON_MAX ((size_t)1 << 20) /* lexicon.text, bytes */
#define PC_ENGINE_MAX 1024 /* "exec:COMMAND ARGS", URLs */
#define PC_MODEL_MAX 256
#define PC_LANGUAGE_MAX 32
#define PC_PROMPT_MAX 4096
#define PC_ENV_MAX 64       /* an environment variable name */
#define PC_PATH_MAX 4096
#define PC_IVR_COUNTRIES_MAX 64

enum pc_unit { PC_UNIT_TURN = 0, PC_UNIT_FILE = 1 };             /* stt.unit */
enum pc_method { PC_METHOD_WARD = 0, PC_METHOD_SPECTRAL = 1 };   /* diarize.method */
enum pc_channel_mode { PC_CHANNELS_MIX = 0, PC_CHANNELS_SEPARATE = 1 }; /* channels.mode */
enum pc_mono_roles { PC_MONO_ROLES_NONE = 0, PC_MONO_ROLES_FIRST_AFTER_IVR = 1 };
#define PC_ROLES_MAX 256 /* channels.roles: "agent,customer" */

struct pipeline_config {
	struct pc_stt {
		char engine[PC_ENGINE_MAX];     /* "pocketsphinx" */
		char model[PC_MODEL_MAX];       /* "" = the engine's default */
		char language[PC_LANGUAGE_MAX]; /* "en"; "" = let the engine detect */
		char prompt[PC_PROMPT_MAX];     /* "" = none (engines may add the lexicon's targets) */
		enum pc_unit unit;              /* turn: one request per speaker turn; file: once */
		int concurrency;                /* requests in flight per worker (4) */
		double timeout;                 /* seconds per request (120) */
		double connect_timeout;         /* seconds (10) */
		double retry_max_wait;          /* longest wait before a retry, Retry-After
						   capped, seconds (30) */
		char api_key_env[PC_ENV_MAX];   /* "" = no key; else the variable's NAME */
		double denoise_below;           /* dB: recognise denoised audio when the
						   recording's SNR (dsp/snr.h) is below; 0 = never */
		bool spot;                      /* pocketsphinx: also spot the lexicon's
						   "spot" targets by keyphrase search (true) */
	} stt;
	struct pc_llm {
		char engine[PC_ENGINE_MAX]; /* "" = no LLM */
		char model[PC_MODEL_MAX];
		char api_key_env[PC_ENV_MAX];
		double timeout;     /* 60 */
		int concurrency;    /* 4 */
		double temperature; /* 0 */
		int seed;           /* 0 */
	} llm;
	struct pc_diarize {
		char engine[PC_ENGINE_MAX]; /* "builtin" or "exec:COMMAND" (writes RTTM) */
		int speakers;               /* 0 = estimate */
		int min_speakers;           /* 1 */
		int max_speakers;           /* 8 */
		bool overlap;               /* also find overlapped speech (false) */
		enum pc_method method;      /* ward (default) or spectral clustering */
	} diarize;
	struct pc_lexicon {
		char path[PC_PATH_MAX]; /* where the text came from ("" = inline or built-in) */
		char *text;             /* the lexicon (malloc'd); NULL = built-in (or path) */
	} lexicon;
	struct pc_samples {
		double min; /* shortest voice sample, seconds (3) */
		double max; /* longest, seconds (10) */
	} samples;
	struct pc_channels {
		enum pc_channel_mode mode;  /* mix (default): diarize the mix; separate:
					       each channel of a stereo source is a speaker */
		char roles[PC_ROLES_MAX];   /* role of channel 0, 1, …: "agent,customer" */
		enum pc_mono_roles mono_roles; /* roles of a diarized mix: none, or the
						  first speaker after the IVR = roles[0] */
		double margin;              /* dB a channel must be louder to own a frame (10) */
	} channels;
	struct pc_ivr {
		char countries[PC_IVR_COUNTRIES_MAX]; /* "auto" or "uk,eu": tone tables used */
		bool dtmf_digits;                     /* store the digits (personal data!) (false) */
		char prompts_dir[PC_PATH_MAX];        /* folder of known prompt audio ("" = none) */
		bool music;                           /* find music / hold (true) */
		double prompt_seconds;                /* repeated prompts: search this far (300) */
	} ivr;
	struct pc_denoise {
		char engine[PC_ENGINE_MAX]; /* "speex" or "http(s)://HOST[:PORT][/PATH]" */
		double suppress;            /* most noise attenuation, dB (25; speex) */
		double timeout;             /* seconds per request (120; http) */
		bool enabled;               /* add the denoise stage to the pipeline (--denoise) */
	} denoise;
	struct pc_lid {
		char language[PC_LANGUAGE_MAX]; /* declared ("en"); "" = detect */
		char expected[PC_MODEL_MAX];    /* "en,ms": other languages are flagged; "" = any */
		char engine[PC_ENGINE_MAX];     /* detecting engine; "" = stt.engine */
		double seconds;                 /* speech sent to detect, seconds (30) */
	} lid;
	struct pc_metrics {
		double silence_min;     /* shortest silence counted, seconds (2) */
		double interrupt_yield; /* an interrupted speaker stops within this, s (2) */
	} metrics;
	char preset[PC_LANGUAGE_MAX]; /* "" or a preset of the stage registry ("call") */
};

/* Role i (0-based) of the comma-separated list roles into out ("" when the
 * list has fewer). */
void pipeline_config_role(const char *roles, int i, char *out, size_t size);

/* Fill c with the defaults (c holds no memory yet). */
void pipeline_config_init(struct pipeline_config *c);
/* Free lexicon.text; c keeps its other values. Accepts NULL. */
void pipeline_config_release(struct pipeline_config *c);
/* dst = a deep copy of src (dst holds no memory yet). NOMEM. */
enum parley_err pipeline_config_copy(struct pipeline_config *dst, const struct pipeline_config *src,
				     struct parley_error *err);

/* Apply the JSON document text[0..len) on top of c (keys present replace
 * c's values). Empty or blank text is "{}". name prefixes messages
 * ("NAME:LINE:COL: …"). On error c may hold some of the document's values. */
enum parley_err pipeline_config_parse(struct pipeline_config *c, const char *name,
				      const char *text, size_t len, struct parley_error *err);
/* Read a file (at most PIPELINE_CONFIG_MAX_BYTES) and parse it onto c. */
enum parley_err pipeline_config_load(const char *path, struct pipeline_config *c,
				     struct parley_error *err);

/* Set one key ("diarize.speakers") from text, as a flag gives it ("2",
 * "true", "spectral"). INVALID naming the key and what it wants. */
enum parley_err pipeline_config_set(struct pipeline_config *c, const char *key, const char *value,
				    struct parley_error *err);

/* The checks across fields: min_speakers <= max_speakers, speakers inside
 * them, samples.min <= samples.max, channels.roles a list of 1..8 names
 * (letters, digits, _ and -). */
enum parley_err pipeline_config_check(const struct pipeline_config *c, struct parley_error *err);

/* When lexicon.path is set and lexicon.text is not: read the file (at most
 * PIPELINE_CONFIG_LEXICON_MAX bytes) into lexicon.text. Either way, a
 * lexicon that is there must parse (its errors name the file and line). */
enum parley_err pipeline_config_lexicon_resolve(struct pipeline_config *c,
						struct parley_error *err);

/* The canonical JSON of c (every key, in table order; pretty: indented, else
 * one line). *out is malloc'd; the caller frees it. */
enum parley_err pipeline_config_to_json(const struct pipeline_config *c, bool pretty, char **out,
					struct parley_error *err);

/* NULL when a and b are the same configuration, else the first key that
 * differs ("diarize.speakers"). */
const char *pipeline_config_diff(const struct pipeline_config *a, const struct pipeline_config *b);

/* One line per key: "stt.engine  engine  default \"pocketsphinx\"  help…",
 * appended to *out (malloc'd; caller frees). */
enum parley_err pipeline_config_keys_text(char **out, struct parley_error *err);

#endif
