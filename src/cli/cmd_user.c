/*
 * cmd_user.c — `parley user add NAME [--admin]` and `parley user list`: the
 * accounts of `parley serve` (src/session/). add prints the new token on
 * stdout and nothing else (only its SHA-256 is stored; it cannot be shown
 * again); list prints names and the admin flag, never tokens.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "session/session.h"
#include "session/session_store.h"
#include "store/store.h"
#include "util/fs.h"

static const char user_usage[] =
	"usage: parley user add NAME [--admin|--operator] [--store TARGET]\n"
	"       parley user list [--store TARGET]\n"
	"\n"
	"add: create a user of `parley serve` and print its token (once: only its\n"
	"SHA-256 is stored). NAME is 1 to 63 characters of A-Z a-z 0-9 . _ -.\n"
	"list: print every user, one a line: NAME, then \"admin\" or \"operator\".\n"
	"With neither --store nor --data, the store of a plain `parley serve`:\n"
	"./parley-data/parley.db; with --data DIR, DIR/parley.db (as serve).\n"
	"A missing SQLite store is created by add.\n"
	"\n"
	"options:\n"
	CLI_ENGINE_HELP
	"      --admin            (add) the user sees every session and may drop any claim,\n"
	"                         and may do everything an operator may\n"
	"      --operator         (add) the user may create, manage and read batches\n"
	"                         (/v1/batches, `parley batch --server`)\n"
	"  -h, --help         show this help\n"
	"\n"
	"exit status: 0 done, 1 the name is taken or the store failed, 2 usage error.\n";

static void user_print(const struct session_user *u, void *ud)
{
	(void)ud;
	printf("%s%s\n", u->name, u->admin ? "\tadmin" : u->operator_ ? "\toperator" : "");
}

int cmd_user(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_ENGINE_LONGOPTS,
		{"admin", no_argument, NULL, 'a'},
		{"operator", no_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_engine_opts eo = {0};
	bool admin = false, oper = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		CLI_ENGINE_CASES:
			if (cli_engine_opt(&eo, c, NULL, optarg))
				return 2;
			break;
		case 'a': admin = true; break;
		case 'o': oper = true; break;
		case 'h': fputs(user_usage, stdout); return 0;
		default: fputs(user_usage, stderr); return 2;
		}
	}
	const char *sub = optind < argc ? argv[optind] : NULL;
	bool add = sub && strcmp(sub, "add") == 0, list = sub && strcmp(sub, "list") == 0;
	if (!add && !list) {
		fprintf(stderr, "parley user: want 'add NAME' or 'list'\n\n%s", user_usage);
		return 2;
	}
	if ((add && argc - optind != 2) || (list && argc - optind != 1)) {
		fprintf(stderr, "parley user %s: %s\n\n%s", sub,
			add ? "give exactly one NAME" : "takes no arguments", user_usage);
		return 2;
	}
	if (list && (admin || oper)) {
		fprintf(stderr, "parley user list: --admin and --operator are for add\n");
		return 2;
	}
	const char *name = add ? argv[optind + 1] : NULL;
	if (add && !session_user_name_valid(name)) {
		fprintf(stderr,
			"parley user add: name '%s' is not 1 to %d characters of A-Z a-z 0-9 . _ -\n",
			name, SESSION_USER_NAME_MAX - 1);
		return 2;
	}
	struct parley_config cfg;
	if (cli_engine_config("parley user", &eo, &cfg) || cli_serve_defaults("parley user", &cfg))
		return 2;
	struct store *st = NULL;
	char data[PARLEY_PATH_MAX];
	int orc = cli_store_open("parley user", &cfg, add, &st, data, sizeof(data));
	if (orc)
		return orc;
	struct parley_error err = {0};
	int status = 0;
	if (add) {
		char token[SESSION_TOKEN_LEN + 1];
		bool found = false;
		if (session_user_add(st, name, admin, token, sizeof(token), &err) ||
		    (oper && sstore_user_set_operator(st, name, true, &found, &err))) {
			fprintf(stderr, "parley user add: %s\n", err.msg);
			status = err.code == PARLEY_ERR_INVALID ? 2 : 1;
		} else {
			printf("%s\n", token);
			fprintf(stderr, "parley user add: user %s%s added; keep the token, it is shown once\n",
				name, admin ? " (admin)" : oper ? " (operator)" : "");
		}
	} else if (sstore_user_each(st, user_print, NULL, &err)) {
		fprintf(stderr, "parley user list: %s\n", err.msg);
		status = 1;
	}
	if (fflush(stdout) != 0) {
		perror("parley user: stdout");
		status = 1;
	}
	store_close(st);
	return status;
}
