/*
 * cli.h — the command table. Each command lives in src/cli/cmd_<name>.c and
 * is one row of the table in src/cli/main.c.
 * A command returns the process exit status: 0 ok, 1 some work failed,
 * 2 usage error; it prints its own messages.
 */
#ifndef PARLEY_CLI_CLI_H
#define PARLEY_CLI_CLI_H

struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
	int hidden; /* not listed in `parley --help` */
};

int cmd_run(int argc, char **argv);
int cmd_lexicon(int argc, char **argv);
int cmd_eval(int argc, char **argv);

/* Parse a non-negative int option value; prints an error naming the flag. */
int cli_parse_int(const char *flag, const char *value, int min, int max, int *out);

#endif
