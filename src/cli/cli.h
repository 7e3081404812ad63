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
int cmd_status(int argc, char **argv);
int cmd_failed(int argc, char **argv);
int cmd_retry(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_serve(int argc, char **argv);

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

struct stage_config;
/* The speech-to-text options of `parley run` (and `engines check`), in the
 * order --stt, --stt-unit, --stt-model, --stt-language, --stt-prompt,
 * --api-key-env, --concurrency, --stt-timeout, --connect-timeout (which = 0..8).
 * Returns 0, or 2 after printing an error naming who and the flag. */
int cli_stt_opt(struct stage_config *cfg, int which, const char *value, const char *who);

struct parley_config;
/* Record one engine option (letter c of CLI_ENGINE_LONGOPTS, or an extra
 * config key given as key). Returns 0, or 2 after printing an error. */
int cli_engine_opt(struct cli_engine_opts *eo, int c, const char *key, const char *value);
/* Build the configuration; prints an error naming its source and returns 2
 * when something is wrong. */
int cli_engine_config(const char *who, const struct cli_engine_opts *eo, struct parley_config *cfg);

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
