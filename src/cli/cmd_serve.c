/*
 * cmd_serve.c — `parley serve`: the sessions API and the page over HTTP
 * (src/web/), plus, unless --no-workers, the processing workers in a child
 * process (the supervisor of `parley worker --wait`).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/batches.h"
#include "core/config.h"
#include "stages/pipeline_config.h"
#include "core/supervisor.h"
#include "core/webhook.h"
#include "core/worker.h"
#include "session/session.h"
#include "store/store.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/work_pool.h"
#include "web/server.h"

#define SERVE_WORKERS_MAX 64
#define SERVE_THREADS_MAX 64
#define SERVE_GRACE_SECONDS 15.0

static const char serve_usage[] =
	"usage: parley serve [--listen ADDR:PORT] [--data DIR] [--no-workers | --workers N]\n"
	"                    [--threads N] [--max-chunk-bytes N] [--cors ORIGIN] [options]\n"
	"\n"
	"Serve the sessions API (docs/api.md) and the page at http://ADDR:PORT/.\n"
	"Sessions are recorded in chunks, ended, processed by the workers, and\n"
	"their speakers claimed. Users come from `parley user add` or sign up on\n"
	"the page (--signup).\n"
	"By default the same command runs N worker processes that process ended\n"
	"sessions (SQLite store DIR/parley.db). For many machines, give a\n"
	"PostgreSQL --store and a Redis --queue with --no-workers, and run\n"
	"`parley worker --wait` elsewhere.\n"
	"Prints \"parley serve: listening on http://ADDR:PORT\" (https:// with --tls-cert)\n"
	"on stderr when ready.\n"
	"SIGINT/SIGTERM: stop accepting, finish requests in flight, stop the\n"
	"workers, exit 0.\n"
	"\n"
	"options:\n"
	"  -l, --listen ADDR:PORT numeric address and port (default 127.0.0.1:8080;\n"
	"                         port 0 picks a free one; [v6addr]:PORT for IPv6)\n"
	"      --data DIR         chunks, samples and stage data (default ./parley-data;\n"
	"                         or PARLEY_DATA); the default store is DIR/parley.db\n"
	"      --store TARGET     the store: PATH (SQLite), sqlite:PATH or postgresql://…\n"
	"                         (or PARLEY_STORE)\n"
	"      --queue TARGET     store (default) or redis://HOST[:PORT][/DB] (or PARLEY_QUEUE)\n"
	"      --queue-prefix P   Redis key prefix (default parley:)\n"
	"      --config FILE      key = value settings (or PARLEY_CONFIG); see README\n"
	"      --no-workers       serve only; separate `parley worker` processes process\n"
	"  -w, --workers N        worker processes (default 1)\n"
	"  -t, --threads N        HTTP threads (default 4)\n"
	"      --max-chunk-bytes N  largest chunk upload (default 33554432, 32 MiB)\n"
	"      --max-body-memory N  request body bytes held at once over all connections\n"
	"                         (default 268435456, 256 MiB); past it 503 busy\n"
	"      --max-chunk-seconds S  longest audio of one chunk (default 600)\n"
	"      --max-session-hours H  longest audio of one session, checked at upload\n"
	"                         (default 4, the processing limit)\n"
	"      --quota-sessions N   sessions one user may own (default 0: no limit)\n"
	"      --quota-bytes N      chunk bytes over one user's sessions (default 0: none)\n"
	"      --quota-hours H      audio hours over one user's sessions (default 0: none)\n"
	"      --request-timeout S  seconds a request may take to send its body (default 60)\n"
	"      --idle-timeout S   seconds a silent connection is kept (default 30)\n"
	"      --header-timeout S  seconds a request's line and headers may take in all,\n"
	"                         however they trickle (default 10)\n"
	"      --connection-limit N  open connections in all (default 256)\n"
	"      --per-ip-limit N   open connections per client address (default 64); at\n"
	"                         a limit the slowest header sender makes room\n"
	"      --cors ORIGIN      allow this browser origin (default: no CORS headers)\n"
	"      --files-root DIR   batches may add server-side files and folders under DIR\n"
	"                         (POST /v1/batches/{id}/paths; default: none may)\n"
	"      --max-streams N    batch event streams open at once (default: --threads);\n"
	"                         each holds an HTTP thread a little at a time\n"
	"      --stream-seconds S  longest life of one event stream (default 600)\n"
	"      --tls-cert FILE    serve HTTPS with this PEM certificate (chain) ...\n"
	"      --tls-key FILE     ... and its PEM key; adds Strict-Transport-Security\n"
	"                         (browsers give the microphone only to HTTPS pages\n"
	"                         off localhost: see README, Security)\n"
	"      --signup MODE      accounts made on the page: link (default: only by\n"
	"                         someone holding a session's share link, who joins it),\n"
	"                         open (anyone) or off (only `parley user add`)\n"
	"      --claim-window D   how long after a session ended its speakers may be\n"
	"                         claimed and people join it (default 24h; 30m, 7d, never)\n"
	"      --metrics-token-file FILE  GET /metrics needs Authorization: Bearer with\n"
	"                         the token in FILE (default: /metrics is open)\n"
	"      --decode-workers N  threads that decode uploads to check them (default 2);\n"
	"                         no HTTP thread waits for a decode\n"
	"      --decode-queue N   uploads waiting for a decode worker at most (default 8);\n"
	"                         past workers + queue 503 busy with Retry-After\n"
	"      --batch-max-files N  files uploaded to one batch (default 10000; 0: none)\n"
	"      --batch-max-bytes N  bytes uploaded to one batch (default 68719476736,\n"
	"                         64 GiB; 0: none); past either 413 before the body\n"
	"      --min-free-bytes N  /health is 503 and chunk uploads 507 when the data\n"
	"                         directory has less free space (default 67108864, 64 MiB)\n"
	"The sessions' pipeline configuration, stored with each session when it\n"
	"ends (the lexicon is read once, at start):\n"
	CLI_PIPELINE_HELP
	"  -q, --quiet            no access log; only errors\n"
	"  -v, --verbose          print debugging detail\n"
	"  -h, --help             show this help\n"
	"\n"
	"exit status: 0 stopped by a signal, 1 the store or the address failed, 2 usage error.\n";

struct serve_opts {
	char host[64];
	int port;
	bool no_workers;
	int workers, threads;
	unsigned request_timeout, idle_timeout, header_timeout, connection_limit, per_ip_limit;
	size_t max_chunk_bytes, max_body_memory;
	double max_chunk_seconds, max_session_hours;
	struct session_quota quota;
	const char *cors;
	const char *files_root;
	int max_streams, stream_seconds;
	bool quiet;
	const char *tls_cert, *tls_key, *metrics_token_file;
	enum session_signup signup;
	double claim_window;
	unsigned long long min_free_bytes;
	int decode_workers, decode_queue;
	long long batch_max_files;
	unsigned long long batch_max_bytes;
};

/* A small text file (a PEM, a token) into *out (caller frees); 2 on failure. */
static int read_small(const char *flag, const char *path, char **out)
{
	struct parley_error err = {0};
	size_t len = 0;
	if (fs_read_file(path, 1 << 20, out, &len, &err) != PARLEY_OK) {
		fprintf(stderr, "parley serve: %s %s: %s\n", flag, path, err.msg);
		return 2;
	}
	if (strlen(*out) != len) {
		fprintf(stderr, "parley serve: %s %s: not a text file\n", flag, path);
		free(*out);
		*out = NULL;
		return 2;
	}
	return 0;
}

/* The metrics token: the file's first line, 16 to 255 printable characters. */
static int metrics_token_read(const char *path, char *out, size_t size)
{
	char *text = NULL;
	if (read_small("--metrics-token-file", path, &text))
		return 2;
	size_t n = strcspn(text, "\r\n");
	bool ok = n >= 16 && n < size;
	for (size_t i = 0; ok && i < n; i++)
		ok = text[i] > ' ' && text[i] < 127;
	if (ok)
		snprintf(out, size, "%.*s", (int)n, text);
	free(text);
	if (!ok)
		fprintf(stderr, "parley serve: --metrics-token-file %s: the first line must be a token of "
			"16 to %zu printable characters without spaces\n", path, size - 1);
	return ok ? 0 : 2;
}

/* "ADDR:PORT" or "[V6ADDR]:PORT". */
static int parse_listen(const char *v, struct serve_opts *o)
{
	const char *colon = strrchr(v, ':');
	const char *host = v;
	size_t hlen = colon ? (size_t)(colon - v) : 0;
	if (colon && v[0] == '[') {
		if (hlen < 2 || v[hlen - 1] != ']')
			colon = NULL;
		host = v + 1;
		hlen -= 2;
	}
	if (!colon || hlen == 0 || hlen >= sizeof(o->host)) {
		fprintf(stderr, "parley serve: --listen %s: expected ADDR:PORT (127.0.0.1:8080)\n", v);
		return 2;
	}
	memcpy(o->host, host, hlen);
	o->host[hlen] = '\0';
	return cli_parse_int("--listen port", colon + 1, 0, 65535, &o->port);
}

static int parse_size(const char *flag, const char *v, size_t *out)
{
	char *end;
	unsigned long long n = strtoull(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end || n < 1024 || n > (1ull << 32)) {
		fprintf(stderr, "parley serve: %s %s: expected bytes, 1024 to 4294967296\n", flag, v);
		return 2;
	}
	*out = (size_t)n;
	return 0;
}

/* Hours, a decimal number > 0 and at most 100000 (0 allowed for quotas). */
static int parse_hours(const char *flag, const char *v, double *out)
{
	char *end;
	double h = strtod(v, &end);
	if (end == v || *end || !(h >= 0) || h > 100000) {
		fprintf(stderr, "parley serve: %s %s: expected hours, 0 to 100000\n", flag, v);
		return 2;
	}
	*out = h;
	return 0;
}

/* The workers' child: the supervisor of `parley worker --wait`. Never returns. */
static void run_workers(pid_t parent, const struct worker_params *wp, int jobs)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	struct parley_error err = {0};
	struct store *st = NULL;
	if (store_open(wp->config.store, &st, &err) != PARLEY_OK) {
		fprintf(stderr, "parley serve: workers: %s\n", err.msg);
		_exit(1);
	}
	struct supervisor_params sp = supervisor_default_params();
	sp.worker = wp;
	sp.jobs = jobs;
	sp.store = st;
	supervisor_run(&sp);
	store_close(st);
	fflush(NULL);
	_exit(0);
}

static int serve_store_prepare(const struct parley_config *cfg, char *data, size_t size)
{
	struct store *st = NULL;
	int status = cli_store_open("parley serve", cfg, true, &st, data, size);
	if (status)
		return status;
	struct parley_error err = {0};
	char host[64];
	int reclaimed = 0;
	worker_host(host, sizeof(host));
	int swept = 0;
	if (fs_mkdir_p(data, &err) || store_lease_reclaim_dead(st, host, &reclaimed, &err) ||
	    session_temp_sweep(data, &swept, &err)) {
		fprintf(stderr, "parley serve: %s\n", err.msg);
		status = 1;
	} else if (swept) {
		log_info("removed %d temporary file(s) of uploads cut off by an earlier stop", swept);
	}
	store_close(st);
	return status;
}

int cmd_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_ENGINE_LONGOPTS,
		{"listen", required_argument, NULL, 'l'},
		{"no-workers", no_argument, NULL, 1000},
		{"workers", required_argument, NULL, 'w'},
		{"threads", required_argument, NULL, 't'},
		{"max-chunk-bytes", required_argument, NULL, 1001},
		{"cors", required_argument, NULL, 1002},
		{"request-timeout", required_argument, NULL, 1003},
		{"idle-timeout", required_argument, NULL, 1004},
		{"files-root", required_argument, NULL, 1005},
		{"max-streams", required_argument, NULL, 1006},
		{"stream-seconds", required_argument, NULL, 1007},
		{"max-body-memory", required_argument, NULL, 1008},
		{"header-timeout", required_argument, NULL, 1014},
		{"connection-limit", required_argument, NULL, 1015},
		{"per-ip-limit", required_argument, NULL, 1016},
		{"max-chunk-seconds", required_argument, NULL, 1009},
		{"max-session-hours", required_argument, NULL, 1010},
		{"quota-sessions", required_argument, NULL, 1011},
		{"quota-bytes", required_argument, NULL, 1012},
		{"quota-hours", required_argument, NULL, 1013},
		{"tls-cert", required_argument, NULL, 1020},
		{"tls-key", required_argument, NULL, 1021},
		{"signup", required_argument, NULL, 1022},
		{"claim-window", required_argument, NULL, 1023},
		{"metrics-token-file", required_argument, NULL, 1024},
		{"min-free-bytes", required_argument, NULL, 1025},
		{"decode-workers", required_argument, NULL, 1026},
		{"decode-queue", required_argument, NULL, 1027},
		{"batch-max-files", required_argument, NULL, 1028},
		{"batch-max-bytes", required_argument, NULL, 1029},
		CLI_PIPELINE_LONGOPTS,
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct serve_opts o = {.host = "127.0.0.1", .port = 8080, .workers = 1, .threads = 4,
			       .request_timeout = 60, .idle_timeout = 30, .header_timeout = 10,
			       .connection_limit = 256, .per_ip_limit = 64,
			       .max_chunk_bytes = WEB_CHUNK_LIMIT_DEFAULT,
			       .signup = SESSION_SIGNUP_LINK,
			       .claim_window = SESSION_CLAIM_WINDOW_DEFAULT,
			       .min_free_bytes = 64ull << 20,
			       .decode_workers = 2, .decode_queue = 8,
			       .batch_max_files = BATCHES_MAX_FILES_DEFAULT,
			       .batch_max_bytes = BATCHES_MAX_BYTES_DEFAULT,
			       .max_body_memory = WEB_BODY_MEMORY_DEFAULT};
	struct worker_params wp = worker_default_params();
	struct cli_engine_opts eo = {0};
	struct cli_pipeline_opts po = {0};
	int c, n;
	optind = 1;
	while ((c = getopt_long(argc, argv, "l:w:t:qvh", longopts, NULL)) != -1) {
		switch (c) {
		CLI_ENGINE_CASES:
			if (cli_engine_opt(&eo, c, NULL, optarg))
				return 2;
			break;
		case 'l':
			if (parse_listen(optarg, &o))
				return 2;
			break;
		case 1000: o.no_workers = true; break;
		case 'w':
			if (cli_parse_int("--workers", optarg, 1, SERVE_WORKERS_MAX, &o.workers))
				return 2;
			break;
		case 't':
			if (cli_parse_int("--threads", optarg, 1, SERVE_THREADS_MAX, &o.threads))
				return 2;
			break;
		case 1001:
			if (parse_size("--max-chunk-bytes", optarg, &o.max_chunk_bytes))
				return 2;
			break;
		case 1002: o.cors = optarg; break;
		case 1003: case 1004:
			if (cli_parse_int(c == 1003 ? "--request-timeout" : "--idle-timeout", optarg, 1,
					  86400, &n))
				return 2;
			*(c == 1003 ? &o.request_timeout : &o.idle_timeout) = (unsigned)n;
			break;
		case 1005: o.files_root = optarg; break;
		case 1006:
			if (cli_parse_int("--max-streams", optarg, 1, 1024, &o.max_streams))
				return 2;
			break;
		case 1007:
			if (cli_parse_int("--stream-seconds", optarg, 1, 86400, &o.stream_seconds))
				return 2;
			break;
		case 1014:
			if (cli_parse_int("--header-timeout", optarg, 1, 3600, &n))
				return 2;
			o.header_timeout = (unsigned)n;
			break;
		case 1015: case 1016:
			if (cli_parse_int(c == 1015 ? "--connection-limit" : "--per-ip-limit", optarg, 1,
					  100000, &n))
				return 2;
			*(c == 1015 ? &o.connection_limit : &o.per_ip_limit) = (unsigned)n;
			break;
		case 1008:
			if (parse_size("--max-body-memory", optarg, &o.max_body_memory))
				return 2;
			break;
		case 1009:
			if (cli_parse_int("--max-chunk-seconds", optarg, 1, 86400, &n))
				return 2;
			o.max_chunk_seconds = n;
			break;
		case 1010: case 1013:
			if (parse_hours(c == 1010 ? "--max-session-hours" : "--quota-hours", optarg,
					c == 1010 ? &o.max_session_hours : &o.quota.seconds))
				return 2;
			if (c == 1013)
				o.quota.seconds *= 3600.0;
			break;
		case 1011:
			if (cli_parse_int("--quota-sessions", optarg, 0, 100000000, &o.quota.sessions))
				return 2;
			break;
		case 1012: {
			size_t b = 0;
			if (strcmp(optarg, "0") != 0 && parse_size("--quota-bytes", optarg, &b))
				return 2;
			o.quota.bytes = (int64_t)b;
			break;
		}
		case 1020: o.tls_cert = optarg; break;
		case 1021: o.tls_key = optarg; break;
		case 1022:
			if (!session_signup_parse(optarg, &o.signup)) {
				fprintf(stderr, "parley serve: --signup %s: want link, open or off\n", optarg);
				return 2;
			}
			break;
		case 1023:
			if (strcmp(optarg, "never") == 0 || strcmp(optarg, "0") == 0) {
				o.claim_window = 0;
			} else if (!session_parse_duration(optarg, &o.claim_window)) {
				fprintf(stderr, "parley serve: --claim-window %s: want a duration (30m, 24h, 7d) or never\n",
					optarg);
				return 2;
			}
			break;
		case 1024: o.metrics_token_file = optarg; break;
		case 1025: {
			char *end;
			errno = 0;
			o.min_free_bytes = strtoull(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end || errno) {
				fprintf(stderr, "parley serve: --min-free-bytes %s: want a number of bytes\n", optarg);
				return 2;
			}
			break;
		}
		case 1026:
			if (cli_parse_int("--decode-workers", optarg, 1, WORK_POOL_WORKERS_MAX,
					  &o.decode_workers))
				return 2;
			break;
		case 1027:
			if (cli_parse_int("--decode-queue", optarg, 0, WORK_POOL_QUEUE_MAX, &o.decode_queue))
				return 2;
			break;
		case 1028:
			if (cli_parse_int("--batch-max-files", optarg, 0, 100000000, &n))
				return 2;
			o.batch_max_files = n ? n : -1;
			break;
		case 1029: {
			char *end;
			errno = 0;
			o.batch_max_bytes = strtoull(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end || errno) {
				fprintf(stderr, "parley serve: --batch-max-bytes %s: want a number of bytes\n",
					optarg);
				return 2;
			}
			break;
		}
		CLI_PIPELINE_CASES:
			if (cli_pipeline_opt(&po, c, optarg))
				return 2;
			break;
		case 'q': o.quiet = true; log_set_level(LOG_ERROR); break;
		case 'v': log_set_level(LOG_DEBUG); break;
		case 'h': fputs(serve_usage, stdout); return 0;
		default: fputs(serve_usage, stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "parley serve: unexpected argument '%s'\n\n%s", argv[optind], serve_usage);
		return 2;
	}
	if (!o.tls_cert != !o.tls_key) {
		fprintf(stderr, "parley serve: --tls-cert and --tls-key go together\n");
		return 2;
	}
	char metrics_token[256] = "";
	if (o.metrics_token_file && metrics_token_read(o.metrics_token_file, metrics_token,
						       sizeof(metrics_token)))
		return 2;
	struct parley_config cfg;
	if (cli_engine_config("parley serve", &eo, &cfg))
		return 2;
	if (!*cfg.data)
		snprintf(cfg.data, sizeof(cfg.data), "parley-data");
	if (cli_serve_defaults("parley serve", &cfg))
		return 2;
	struct parley_error err = {0};
	/* The sessions' configuration: checked (lexicon read) before serving. */
	struct pipeline_config pcfg;
	if (cli_pipeline_config("parley serve", &po, &pcfg))
		return 2;
	char *pcfg_json = NULL;
	enum parley_err jrc = pipeline_config_to_json(&pcfg, false, &pcfg_json, &err);
	pipeline_config_release(&pcfg);
	if (jrc) {
		fprintf(stderr, "parley serve: %s\n", err.msg);
		return 1;
	}
	char *tls_cert = NULL, *tls_key = NULL;
	if (o.tls_cert && (read_small("--tls-cert", o.tls_cert, &tls_cert) ||
			   read_small("--tls-key", o.tls_key, &tls_key))) {
		free(tls_cert);
		free(pcfg_json);
		return 2;
	}
	char data[PARLEY_PATH_MAX];
	int status = serve_store_prepare(&cfg, data, sizeof(data));
	if (status) {
		free(tls_cert);
		free(tls_key);
		free(pcfg_json);
		return status;
	}

	pid_t workers = -1;
	struct webhook_loop *hooks = NULL;
	if (!o.no_workers) {
		wp.config = cfg; /* every process setting, log_file_* included */
		snprintf(wp.data_dir, sizeof(wp.data_dir), "%s", data);
		wp.exit_when_idle = false;
		pid_t parent = getpid();
		fflush(NULL);
		workers = fork();
		if (workers < 0) {
			perror("parley serve: fork");
			free(pcfg_json);
			return 1;
		}
		if (workers == 0)
			run_workers(parent, &wp, o.workers);
	}

	/* The HTTP threads inherit this mask: only the main thread takes the signals. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Webhooks (issue 14, core/webhook.h): this process sends the outbox
	 * too (beside the workers' senders), so `--no-workers` still delivers. */
	struct webhook_loop_params wlp = {.send = webhook_default_send_params(), .poll = 1};
	snprintf(wlp.store, sizeof(wlp.store), "%s", cfg.store);
	wlp.send.timeout = cfg.webhook_timeout;
	if (webhook_loop_start(&wlp, &hooks, &err) != PARLEY_OK)
		log_warn("%s: webhooks are sent by the workers only", err.msg);

	struct web_server_params p = web_server_default_params();
	p.host = o.host;
	p.port = o.port;
	p.threads = o.threads;
	p.request_timeout = o.request_timeout;
	p.idle_timeout = o.idle_timeout;
	p.header_timeout = o.header_timeout;
	p.connection_limit = o.connection_limit;
	p.per_ip_limit = o.per_ip_limit;
	p.max_chunk_bytes = o.max_chunk_bytes;
	p.max_body_memory = o.max_body_memory;
	p.max_chunk_seconds = o.max_chunk_seconds;
	p.max_session_seconds = o.max_session_hours * 3600.0;
	p.quota = o.quota;
	p.cors_origin = o.cors;
	p.files_root = o.files_root;
	p.max_streams = o.max_streams;
	if (o.stream_seconds)
		p.stream_seconds = (unsigned)o.stream_seconds;
	p.store = cfg.store;
	p.data_dir = data;
	p.queue = cfg.queue;
	p.queue_prefix = cfg.queue_prefix;
	p.pipeline_config = pcfg_json;
	p.quiet = o.quiet;
	p.tls_cert = tls_cert;
	p.tls_key = tls_key;
	p.signup = o.signup;
	p.claim_window = o.claim_window;
	p.metrics_token = metrics_token;
	p.min_free_bytes = o.min_free_bytes;
	p.decode_workers = o.decode_workers;
	p.decode_queue = o.decode_queue;
	p.batch_max_files = o.batch_max_files;
	p.batch_max_bytes = o.batch_max_bytes;
	struct web_server *srv = NULL;
	if (web_server_start(&p, &srv, &err) != PARLEY_OK) {
		fprintf(stderr, "parley serve: %s\n", err.msg);
		status = 1;
		goto out;
	}
	bool v6 = strchr(o.host, ':') != NULL;
	fprintf(stderr, "parley serve: listening on %s://%s%s%s:%d\n", tls_cert ? "https" : "http",
		v6 ? "[" : "", o.host, v6 ? "]" : "", web_server_port(srv));
	fflush(stderr);
	for (;;) {
		int sig = 0;
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig != SIGCHLD)
			break;
		int ws;
		if (workers > 0 && waitpid(workers, &ws, WNOHANG) == workers) {
			log_error("the workers' process exited (%s %d); serving without workers",
				  WIFSIGNALED(ws) ? "signal" : "status",
				  WIFSIGNALED(ws) ? WTERMSIG(ws) : WEXITSTATUS(ws));
			workers = -1;
		}
	}
	log_info("stopping: finishing requests in flight");
	web_server_stop(srv, SERVE_GRACE_SECONDS);
	status = 0;
out:
	webhook_loop_stop(hooks, 0);
	if (workers > 0) {
		kill(workers, SIGTERM);
		waitpid(workers, NULL, 0);
	}
	free(pcfg_json);
	if (tls_key) /* the key's bytes do not outlive their use */
		explicit_bzero(tls_key, strlen(tls_key));
	free(tls_cert);
	free(tls_key);
	return status;
}
