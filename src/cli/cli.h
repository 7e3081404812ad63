/*
 * cli.h — the command table. Each command lives in src/cli/cmd_<name>.c and
 * is one row of the table in src/cli/main.c.
 * A command returns the process exit status: 0 ok, 1 some work failed,
 * 2 usage error; it prints its own messages.
 */
#ifndef PARLEY_CLI_CLI_H
#define PARLEY_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
	int hidden; /* not listed in `parley --help` */
};

int cmd_run(int argc, char **argv);
int cmd_lexicon(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_failed(int argc, char **argv);
int cmd_retry(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_engines(int argc, char **argv);
int cmd_batch(int argc, char **argv);
int cmd_webhooks(int argc, char **argv);

/* Parse a non-negative int option value; prints an error naming the flag. */
int cli_parse_int(const char *flag, const char *value, int min, int max, int *out);

/*
 * The engine options every store command shares (--store, --queue,
 * --queue-prefix, --data, --config), gathered while parsing and applied in
 * order of precedence: defaults < config file (--config or PARLEY_CONFIG) <
 * PARLEY_* variables < flags. Add CLI_ENGINE_LONGOPTS to a command's option
 * table and route those letters to cli_engine_opt().
 */
#define CLI_ENGINE_LONGOPTS \
	{"store", required_argument, NULL, 'S'}, {"queue", required_argument, NULL, 'Q'}, \
	{"queue-prefix", required_argument, NULL, 'P'}, {"data", required_argument, NULL, 'A'}, \
	{"config", required_argument, NULL, 'C'}
#define CLI_ENGINE_CASES case 'S': case 'Q': case 'P': case 'A': case 'C'
#define CLI_ENGINE_HELP \
	"      --store TARGET     the store: PATH (SQLite), sqlite:PATH or postgresql://…\n" \
	"                         (or PARLEY_STORE)\n" \
	"      --queue TARGET     store (default) or redis://HOST[:PORT][/DB] (or PARLEY_QUEUE)\n" \
	"      --queue-prefix P   Redis key prefix (default parley:)\n" \
	"      --data DIR         shared stage data (default: next to a SQLite store;\n" \
	"                         required with PostgreSQL) (or PARLEY_DATA)\n" \
	"      --config FILE      key = value settings (or PARLEY_CONFIG); see README\n"

#define CLI_ENGINE_SETS_MAX 32
struct cli_engine_opts {
	const char *config;
	struct {
		const char *key, *value;
	} set[CLI_ENGINE_SETS_MAX];
	int n;
};

struct parley_config;
/* Record one engine option (letter c of CLI_ENGINE_LONGOPTS, or an extra
 * config key given as key). Returns 0, or 2 after printing an error. */
int cli_engine_opt(struct cli_engine_opts *eo, int c, const char *key, const char *value);
/* Build the configuration; prints an error naming its source and returns 2
 * when something is wrong. */
int cli_engine_config(const char *who, const struct cli_engine_opts *eo, struct parley_config *cfg);

/*
 * The pipeline configuration options (stages/pipeline_config.h), given
 * where a batch is created: submit, run, and serve (the sessions' default).
 * Applied in order: defaults < --pipeline-config FILE < the flags, in the
 * order given. Add CLI_PIPELINE_LONGOPTS to a command's options and route
 * CLI_PIPELINE_CASES to cli_pipeline_opt().
 */
#define CLI_PIPELINE_LONGOPTS \
	{"pipeline-config", required_argument, NULL, 2000}, \
	{"speakers", required_argument, NULL, 2001}, {"min-speakers", required_argument, NULL, 2002}, \
	{"max-speakers", required_argument, NULL, 2003}, {"overlap", no_argument, NULL, 2004}, \
	{"diarizer", required_argument, NULL, 2005}, {"lexicon", required_argument, NULL, 2006}, \
	{"model", required_argument, NULL, 2007}, {"set", required_argument, NULL, 2008}, \
	{"stt", required_argument, NULL, 2009}, {"stt-unit", required_argument, NULL, 2010}, \
	{"api-key-env", required_argument, NULL, 2011}, {"preset", required_argument, NULL, 2012}, \
	{"denoise", no_argument, NULL, 2013}
#define CLI_PIPELINE_CASES case 2000: case 2001: case 2002: case 2003: case 2004: case 2005: \
	case 2006: case 2007: case 2008: case 2009: case 2010: case 2011: case 2012: case 2013
#define CLI_PIPELINE_HELP \
	"      --pipeline-config FILE  the pipeline configuration (JSON; keys:\n" \
	"                         `parley config --keys`); the flags below override it\n" \
	"      --lexicon FILE     target words and spelling corrections, read now and\n" \
	"                         kept with the batch (default: the built-in Singlish\n" \
	"                         lexicon; see `parley lexicon`)\n" \
	"      --speakers N       the number of speakers, when known (default: estimate)\n" \
	"      --min-speakers N   at least N speakers (default 1)\n" \
	"      --max-speakers N   at most N speakers (default 8)\n" \
	"      --diarizer NAME    ward (default) or spectral (better with 4-6 clean\n" \
	"                         voices, worse in noise; see README Accuracy)\n" \
	"      --overlap          also find overlapped speech around speaker changes:\n" \
	"                         the second voice gets extra, overlapping turns\n" \
	"      --model DIR        pocketsphinx model folder holding en-us/, en-us.lm.bin and\n" \
	"                         cmudict-en-us.dict (default /usr/share/pocketsphinx/model/en-us)\n" \
	"      --stt ENGINE       speech-to-text engine (stt.engine; default pocketsphinx):\n" \
	"                           pocketsphinx[:MODEL_DIR]\n" \
	"                           openai+http(s)://HOST[:PORT][/PATH]  (PATH default /v1)\n" \
	"                           whispercpp+http(s)://HOST[:PORT]     (whisper.cpp server)\n" \
	"                           exec:COMMAND   (given the audio path, prints JSON words)\n" \
	"      --stt-unit UNIT    turn (default: one request per speaker turn) or file (the\n" \
	"                         whole file once, words assigned by the speaker turns)\n" \
	"      --api-key-env VAR  servers get the key in environment variable VAR (only\n" \
	"                         the name is stored; the key never is)\n" \
	"      --preset NAME      a named pipeline: call (decode, vad, diarize, lid, stt,\n" \
	"                         words, metrics; channels.mode separate: a stereo call's\n" \
	"                         channels are its speakers; README Call analysis);\n" \
	"                         --stages/--pipeline win over its stages\n" \
	"      --denoise          add the denoise stage (denoise.engine: speex, or a\n" \
	"                         server http(s)://HOST[:PORT][/PATH])\n" \
	"      --set KEY=VALUE    any configuration key (stt.timeout=30, stt.language=en,\n" \
	"                         stt.concurrency=8, stt.model=NAME; see README Engines)\n"

#define CLI_PIPELINE_SETS_MAX 64
struct cli_pipeline_opts {
	const char *file; /* --pipeline-config */
	struct {
		int c;
		const char *value;
	} set[CLI_PIPELINE_SETS_MAX];
	int n;
};
/* Record one option (c from CLI_PIPELINE_LONGOPTS). Returns 0, or 2 after
 * printing an error. */
int cli_pipeline_opt(struct cli_pipeline_opts *po, int c, const char *value);
/* Was any pipeline option given? */
bool cli_pipeline_given(const struct cli_pipeline_opts *po);
struct pipeline_config;
/* Build the configuration (cfg is initialised here; release it): the file,
 * the flags, the lexicon read into it, the checks, and engines this build
 * runs. Prints "who: FILE:LINE:COL: …" or "who: --flag …" and returns 2 when
 * something is wrong. */
int cli_pipeline_config(const char *who, const struct cli_pipeline_opts *po,
			struct pipeline_config *cfg);

/* `--metadata FILE.csv` (core/call_metadata.h): read and parse it into *md.
 * Returns 0, or 2 after printing "who: FILE:LINE: …". */
struct call_metadata;
int cli_metadata_load(const char *who, const char *path, struct call_metadata **md);
#define CLI_METADATA_HELP \
	"      --metadata FILE.csv  per-file call metadata: a CSV with a header row\n" \
	"                         holding a file column (file,trade_id,agent,customer,\n" \
	"                         agent_channel,roles,language,…); a row belongs to the\n" \
	"                         input whose path is its file, else whose base name is\n" \
	"                         its file's; see README \"Per-file metadata\"\n"


/* The batch's audit (issue 14): `--questionnaire FILE` (the JSON
 * questionnaire, audit/questionnaire.h) and `--rules FILE` (the rule
 * language, audit/rules.h). Read and checked by cli_audit_load before any
 * audio is processed ("who: FILE:LINE:COL: …", exit 2): the rules' answer
 * references against the questionnaire's question ids when both are given,
 * and a question the LLM answers needs cfg's llm.engine. Stored by
 * cli_audit_store as the batch's audit version 1 (store_audit.h). A batch
 * that already has an audit keeps it when the texts given are the same;
 * other texts are refused (CONFLICT: a batch's audit changes by reaudit
 * only). Add CLI_AUDIT_LONGOPTS to a command's options and route
 * CLI_AUDIT_CASES to cli_audit_opt(). */
struct cli_audit_opts {
	const char *rules;         /* path, NULL = none */
	const char *questionnaire; /* path, NULL = none */
};
#define CLI_AUDIT_LONGOPTS {"rules", required_argument, NULL, 2100}, \
	{"questionnaire", required_argument, NULL, 2101}
#define CLI_AUDIT_CASES case 2100: case 2101
#define CLI_AUDIT_HELP \
	"      --questionnaire FILE  answer this questionnaire for every call (JSON;\n" \
	"                         README \"Questionnaires\"; the answers stage:\n" \
	"                         --preset audit or --stages …,answers)\n" \
	"      --rules FILE       audit every call with these rules (README \"Call\n" \
	"                         audits\"; the verdicts stage: --preset audit or\n" \
	"                         --stages …,verdicts); both checked before any audio\n"
struct cli_audit {
	char *rules;         /* the text read, NULL = none */
	char *questionnaire; /* the text read, NULL = none */
};
int cli_audit_opt(struct cli_audit_opts *ao, int c, const char *arg); /* 0 */
bool cli_audit_given(const struct cli_audit_opts *ao);
/* The stage each given document needs is in the pipeline (--questionnaire:
 * answers, --rules: verdicts). Returns 0, or 2 after printing "who:
 * --rules needs the verdicts stage …". */
struct pipeline;
int cli_audit_check_stages(const char *who, const struct cli_audit_opts *ao,
			   const struct pipeline *pl);
struct pipeline_config;
int cli_audit_load(const char *who, const struct cli_audit_opts *ao,
		   const struct pipeline_config *cfg, struct cli_audit *a);
struct store;
enum parley_err cli_audit_store(struct store *st, int64_t batch_id, const struct cli_audit *a,
				struct parley_error *err);
void cli_audit_release(struct cli_audit *a);

struct store;
/* With a Redis queue, push every recording the store says is ready (after
 * submit or retry); nothing to do for the store queue. Returns 0, or prints
 * an error and returns 1. */
int cli_queue_push_leasable(const char *who, const struct parley_config *cfg, struct store *st);

/*
 * Open the configured store for command `who` ("parley status") and fill
 * data_dir[size] with the stage data directory (cfg->data, or for SQLite
 * dirname(path)/data; created when create is true). Unless create, a missing
 * SQLite file is an error. Returns 0, or prints an error and returns 1
 * (2 when no store is configured).
 */
int cli_store_open(const char *who, const struct parley_config *cfg, bool create,
		   struct store **st, char *data_dir, size_t size);

/* `parley serve` and `parley user` share their default store: with no store
 * configured, DATA/parley.db where DATA is the data directory (./parley-data
 * when that is not configured either).
 * Returns 0, or prints an error and returns 2. */
int cli_serve_defaults(const char *who, struct parley_config *cfg);

/* The usage checks of cli_store_open alone (a store is given; a server store
 * has --data), without touching the store: prints the error and returns 2,
 * or returns 0. */
int cli_store_usage(const char *who, const struct parley_config *cfg);

#endif
