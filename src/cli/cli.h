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

/* Parse a non-negative int option value; prints an error naming the flag. */
int cli_parse_int(const char *flag, const char *value, int min, int max, int *out);

struct store;
/*
 * Open the store at path for command `who` ("parley status") and fill
 * data_dir[size] with dirname(path)/data (created when create is true).
 * Unless create, a missing store is an error. Returns 0, or prints an error
 * naming the path and returns 1.
 */
int cli_store_open(const char *who, const char *path, bool create, struct store **st,
		   char *data_dir, size_t size);

#endif
