/*
 * cmd_user.c — `parley user add|rotate|expire|remove|list`: the accounts of
 * `parley serve` (src/session/). add and rotate print the new token on
 * stdout and nothing else (only its SHA-256 is stored; it cannot be shown
 * again); list prints names, roles and expiries, never tokens.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/config.h"
#include "session/session.h"
#include "session/session_store.h"
#include "store/store.h"
#include "util/fs.h"
#include "util/timeutil.h"

static const char user_usage[] =
	"usage: parley user add NAME [--admin|--operator] [--expires-in DURATION] [--store TARGET]\n"
	"       parley user rotate NAME [--store TARGET]\n"
	"       parley user expire NAME DURATION|now|never [--store TARGET]\n"
	"       parley user remove NAME [--store TARGET]\n"
	"       parley user list [--store TARGET]\n"
	"\n"
	"add: create a user of `parley serve` and print its token (once: only its\n"
	"SHA-256 is stored). NAME is 1 to 63 characters of A-Z a-z 0-9 . _ -.\n"
	"rotate: print a new token for NAME; the old one stops working at once.\n"
	"expire: the token stops working after DURATION (30d, 12h, 90m, 45s, 2w or\n"
	"seconds), now, or never.\n"
	"remove: NAME can no longer sign in (at once); their claims, so their\n"
	"leaderboard entries, and session memberships are dropped; sessions they\n"
	"own stay. The name stays taken.\n"
	"list: print every user, one a line: NAME, then \"admin\" or \"operator\",\n"
	"\"signed up\" for accounts made on the page, the expiry\n"
	"(\"expires YYYY-MM-DDTHH:MM:SSZ\" or \"expired\") and \"removed\", tab-separated.\n"
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
	"      --expires-in DURATION  (add) the token stops working after DURATION\n"
	"  -h, --help         show this help\n"
	"\n"
	"exit status: 0 done, 1 the name is taken or unknown, or the store failed, 2 usage error.\n";

static void user_print(const struct session_user *u, void *ud)
{
	(void)ud;
	char when[40] = "";
	if (u->expires > 0) {
		time_t t = (time_t)u->expires;
		struct tm tm;
		if (u->expires <= time_wall())
			snprintf(when, sizeof(when), "\texpired");
		else if (gmtime_r(&t, &tm))
			strftime(when, sizeof(when), "\texpires %Y-%m-%dT%H:%M:%SZ", &tm);
	}
	printf("%s%s%s%s%s\n", u->name, u->admin ? "\tadmin" : u->operator_ ? "\toperator" : "",
	       u->signed_up ? "\tsigned up" : "", when, u->removed ? "\tremoved" : "");
}

/* The subcommands and how many arguments (after the subcommand) each takes. */
static const struct {
	const char *name;
	int args;
} user_subs[] = {{"add", 1}, {"list", 0}, {"rotate", 1}, {"expire", 2}, {"remove", 1}};

/* DURATION|now|never → epoch seconds of the expiry (0: never); false when bad. */
static bool expiry_parse(const char *v, double *at)
{
	double secs;
	if (strcmp(v, "never") == 0)
		*at = 0;
	else if (strcmp(v, "now") == 0)
		*at = time_wall();
	else if (session_parse_duration(v, &secs))
		*at = time_wall() + secs;
	else
		return false;
	return true;
}

static void token_print(const char *token)
{
	printf("%s\n", token);
}

int cmd_user(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_ENGINE_LONGOPTS,
		{"admin", no_argument, NULL, 'a'},
		{"operator", no_argument, NULL, 'o'},
		{"expires-in", required_argument, NULL, 'e'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_engine_opts eo = {0};
	bool admin = false, oper = false;
	const char *expires_in = NULL;
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
		case 'e': expires_in = optarg; break;
		case 'h': fputs(user_usage, stdout); return 0;
		default: fputs(user_usage, stderr); return 2;
		}
	}
	const char *sub = optind < argc ? argv[optind] : NULL;
	int want = -1;
	for (size_t i = 0; sub && i < sizeof(user_subs) / sizeof(user_subs[0]); i++)
		if (strcmp(sub, user_subs[i].name) == 0)
			want = user_subs[i].args;
	if (want < 0) {
		fprintf(stderr, "parley user: want add, rotate, expire, remove or list\n\n%s", user_usage);
		return 2;
	}
	bool add = strcmp(sub, "add") == 0, list = strcmp(sub, "list") == 0;
	if (argc - optind - 1 != want) {
		fprintf(stderr, "parley user %s: %s\n\n%s", sub,
			want == 0 ? "takes no arguments" : want == 1 ? "give exactly one NAME"
								 : "give NAME and DURATION|now|never",
			user_usage);
		return 2;
	}
	if (!add && (admin || oper || expires_in)) {
		fprintf(stderr, "parley user %s: --admin, --operator and --expires-in are for add\n", sub);
		return 2;
	}
	const char *name = want ? argv[optind + 1] : NULL;
	if (name && !session_user_name_valid(name)) {
		fprintf(stderr,
			"parley user %s: name '%s' is not 1 to %d characters of A-Z a-z 0-9 . _ -\n",
			sub, name, SESSION_USER_NAME_MAX - 1);
		return 2;
	}
	double expiry = 0, secs = 0;
	if (expires_in && !session_parse_duration(expires_in, &secs)) {
		fprintf(stderr, "parley user add: --expires-in %s: want a DURATION (30d, 12h, 90m, 45s, 2w)\n",
			expires_in);
		return 2;
	}
	if (expires_in)
		expiry = time_wall() + secs;
	if (want == 2 && !expiry_parse(argv[optind + 2], &expiry)) {
		fprintf(stderr, "parley user expire: '%s' is not a DURATION (30d, 12h, 90m, 45s, 2w), now or never\n",
			argv[optind + 2]);
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
	char token[SESSION_TOKEN_LEN + 1];
	bool found = false;
	enum parley_err rc = PARLEY_OK;
	if (add) {
		rc = session_user_add(st, name, admin, token, sizeof(token), &err);
		if (!rc && oper)
			rc = sstore_user_set_operator(st, name, true, &found, &err);
		if (!rc && expires_in)
			rc = session_user_expire(st, name, expiry, &err);
		if (!rc) {
			token_print(token);
			fprintf(stderr, "parley user add: user %s%s added; keep the token, it is shown once\n",
				name, admin ? " (admin)" : oper ? " (operator)" : "");
		}
	} else if (list) {
		rc = sstore_user_each(st, user_print, NULL, &err);
	} else if (strcmp(sub, "rotate") == 0) {
		rc = session_user_rotate(st, name, token, sizeof(token), &err);
		if (!rc) {
			token_print(token);
			fprintf(stderr, "parley user rotate: %s has a new token (shown once); the old one no longer works\n",
				name);
		}
	} else if (strcmp(sub, "expire") == 0) {
		rc = session_user_expire(st, name, expiry, &err);
		if (!rc)
			fprintf(stderr, "parley user expire: the token of %s %s\n", name,
				expiry == 0 ? "never expires" : expiry <= time_wall() + 1 ? "has expired"
											 : "expires as set");
	} else {
		rc = session_user_remove(st, name, &err);
		if (!rc)
			fprintf(stderr, "parley user remove: %s removed; their token no longer works\n", name);
	}
	if (rc) {
		fprintf(stderr, "parley user %s: %s\n", sub, err.msg);
		status = rc == PARLEY_ERR_INVALID ? 2 : 1;
	}
	if (fflush(stdout) != 0) {
		perror("parley user: stdout");
		status = 1;
	}
	store_close(st);
	return status;
}
