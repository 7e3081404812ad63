/*
 * cmd_webhooks.c — `parley webhooks list [--batch B] [--store S]`,
 * `parley webhooks redeliver ID|EVENT_ID`, `parley webhooks deliver
 * [--batch B] [--wait]`: the outbox of signed webhooks (core/webhook.h).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/webhook.h"
#include "store/store.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timeutil.h"

static const char webhooks_usage[] =
	"usage: parley webhooks list [--batch B] [--attempts] [--store TARGET]\n"
	"       parley webhooks redeliver ID|EVENT_ID [--store TARGET]\n"
	"       parley webhooks deliver [--batch B] [--wait] [--store TARGET]\n"
	"\n"
	"A batch's webhook (set where the batch is created: `parley submit\n"
	"--webhook URL --webhook-secret-env VAR`) is called when the batch\n"
	"completes and, when asked, per file and per stage, signed per Standard\n"
	"Webhooks and retried for hours; every event is one delivery here.\n"
	"  list       deliveries, newest first: id, batch, event id (the webhook-id\n"
	"             header), type, status (pending, delivered, failed, disabled),\n"
	"             attempts, the last HTTP status and error, when the next\n"
	"             attempt is due; --attempts adds every attempt's line\n"
	"  redeliver  send a delivery again now, with a fresh retry schedule (a\n"
	"             disabled endpoint is enabled again)\n"
	"  deliver    send what is due now (workers and `parley serve` do this on\n"
	"             their own), then wait for the retries still pending; with\n"
	"             --wait keep going until SIGTERM/SIGINT\n"
	"\n"
	"options:\n"
	CLI_ENGINE_HELP
	"  -b, --batch B      only batch B\n"
	"      --attempts     list: every attempt of each delivery\n"
	"  -w, --wait         deliver: keep sending until stopped\n"
	"  -h, --help         show this help\n"
	"\n"
	"exit status: 0 ok, 1 the store failed or no such delivery, 2 usage error.\n";

static volatile sig_atomic_t webhooks_stop;

static void on_signal(int sig)
{
	(void)sig;
	webhooks_stop = 1;
}

static void fmt_time(double t, char *out, size_t size)
{
	if (t <= 0) {
		snprintf(out, size, "-");
		return;
	}
	time_t s = (time_t)t;
	struct tm tm;
	gmtime_r(&s, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct list_ctx {
	struct store *st;
	bool attempts;
	int n;
};

static int print_attempt(const struct webhook_attempt *a, void *ud)
{
	(void)ud;
	char at[32];
	fmt_time(a->at, at, sizeof(at));
	printf("    attempt %d  %s  status %d  %.2f s  %s\n", a->attempt, at, a->status_code,
	       a->seconds, a->error[0] ? a->error : "ok");
	return 0;
}

static int print_delivery(const struct webhook_delivery *d, void *ud)
{
	struct list_ctx *c = ud;
	if (c->n++ == 0)
		printf("%-6s %-16s %-28s %-19s %-9s %8s %4s  %-20s %s\n", "id", "batch", "event", "type",
		       "status", "attempts", "last", "next", "last error");
	char next[32];
	fmt_time(strcmp(d->status, "pending") == 0 ? d->next_at : 0, next, sizeof(next));
	printf("%-6lld %-16s %-28s %-19s %-9s %8d %4d  %-20s %s\n", (long long)d->id, d->batch,
	       d->event_id, d->type, d->status, d->attempts, d->last_status, next,
	       d->last_error[0] ? d->last_error : "-");
	if (c->attempts) {
		struct parley_error err = {0};
		if (webhook_attempt_each(c->st, d->id, print_attempt, NULL, &err))
			fprintf(stderr, "parley webhooks: %s\n", err.msg);
	}
	return 0;
}

static int webhooks_deliver(struct store *st, const struct parley_config *cfg, int64_t batch,
			    bool wait)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	struct webhook_send_params sp = webhook_default_send_params();
	sp.timeout = cfg->webhook_timeout;
	sp.batch_id = batch;
	int total = 0;
	while (!webhooks_stop) {
		int n = 0;
		struct parley_error err = {0};
		if (webhook_deliver_due(st, &sp, 16, &n, &err)) {
			fprintf(stderr, "parley webhooks: %s\n", err.msg);
			if (!wait)
				return 1;
			time_sleep(1);
			continue;
		}
		total += n;
		if (n > 0)
			continue;
		double next = 0;
		if (webhook_next_due(st, batch, &next, &err)) {
			fprintf(stderr, "parley webhooks: %s\n", err.msg);
			return 1;
		}
		if (next == 0 && !wait)
			break;
		double pause = next > 0 ? next - time_wall() : 1;
		time_sleep(pause < 0.05 ? 0.05 : pause > 1 ? 1 : pause);
	}
	printf("%d webhook attempts made\n", total);
	return 0;
}

int cmd_webhooks(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_ENGINE_LONGOPTS,
		{"batch", required_argument, NULL, 'b'},
		{"attempts", no_argument, NULL, 1000},
		{"wait", no_argument, NULL, 'w'},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *batch_name = NULL;
	bool attempts = false, wait = false;
	struct cli_engine_opts eo = {0};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "b:wqvh", longopts, NULL)) != -1) {
		switch (c) {
		CLI_ENGINE_CASES:
			if (cli_engine_opt(&eo, c, NULL, optarg))
				return 2;
			break;
		case 'b': batch_name = optarg; break;
		case 1000: attempts = true; break;
		case 'w': wait = true; break;
		case 'q': log_set_level(LOG_ERROR); break;
		case 'v': log_set_level(LOG_DEBUG); break;
		case 'h': fputs(webhooks_usage, stdout); return 0;
		default: fputs(webhooks_usage, stderr); return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "parley webhooks: list, redeliver or deliver?\n\n%s", webhooks_usage);
		return 2;
	}
	const char *sub = argv[optind++];
	bool list = strcmp(sub, "list") == 0, redeliver = strcmp(sub, "redeliver") == 0,
	     deliver = strcmp(sub, "deliver") == 0;
	if (!list && !redeliver && !deliver) {
		fprintf(stderr, "parley webhooks: unknown subcommand '%s'\n\n%s", sub, webhooks_usage);
		return 2;
	}
	const char *id = NULL;
	if (redeliver) {
		if (optind >= argc) {
			fprintf(stderr, "parley webhooks redeliver: give a delivery id or event id\n");
			return 2;
		}
		id = argv[optind++];
	}
	if (optind < argc) {
		fprintf(stderr, "parley webhooks: unexpected argument '%s'\n\n%s", argv[optind],
			webhooks_usage);
		return 2;
	}
	struct parley_config cfg;
	if (cli_engine_config("parley webhooks", &eo, &cfg))
		return 2;
	struct store *st = NULL;
	char data[PARLEY_PATH_MAX];
	int status = cli_store_open("parley webhooks", &cfg, false, &st, data, sizeof(data));
	if (status)
		return status;
	status = 1;
	struct parley_error err = {0};
	int64_t batch = 0;
	if (batch_name && store_batch_find(st, batch_name, &batch, &err)) {
		fprintf(stderr, "parley webhooks: %s\n", err.msg);
		status = err.code == PARLEY_ERR_NOT_FOUND ? 2 : 1;
		goto out;
	}
	if (list) {
		struct list_ctx lc = {st, attempts, 0};
		if (webhook_each(st, batch, print_delivery, &lc, &err)) {
			fprintf(stderr, "parley webhooks: %s\n", err.msg);
			goto out;
		}
		if (lc.n == 0)
			printf("no webhook deliveries%s%s\n", batch_name ? " in batch " : "",
			       batch_name ? batch_name : "");
		status = 0;
	} else if (redeliver) {
		int64_t did;
		bool reenabled;
		if (webhook_redeliver(st, id, &did, &reenabled, &err)) {
			fprintf(stderr, "parley webhooks: %s\n", err.msg);
			goto out;
		}
		printf("delivery %lld queued to be sent again%s\n", (long long)did,
		       reenabled ? " (its endpoint was disabled and is enabled again)" : "");
		status = 0;
	} else {
		status = webhooks_deliver(st, &cfg, batch, wait);
	}
out:
	store_close(st);
	return status;
}
