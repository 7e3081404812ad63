/*
 * batches.h — audit batches managed as a whole (issue 14): the domain behind
 * `/v1/batches…` (src/web/route_batches.c) and `parley batch` against a store
 * (src/cli/cmd_batch.c). No HTTP here: the callers map the error code to a
 * status (docs/api.md) and print or send the JSON views built here (the
 * caller owns them: json_decref).
 *
 *   struct batches_ctx c = {.store = st, .data_dir = "data"};
 *   batches_create(&c, request, &view, &err);          // {"name":…,"config":{…},…}
 *   batches_add_upload(&c, id, "call1.wav", bytes, n, &file, &err);
 *   batches_metadata(&c, id, csv, len, &report, &err); // unknown files, by line
 *   batches_start(&c, id, &view, &err);                // workers may take it now
 *   batches_get(&c, id, &view, &err);                  // per-stage status, counts
 *
 * Life of a batch: created (files and metadata may be added; its recordings
 * are held: no worker takes them) → started (every recording queued; files
 * added later are queued at once) → Completed / CompletedWithErrors. The
 * request of batches_create (docs/api.md "Batches") is checked whole before
 * anything is stored: unknown fields, a pipeline configuration that does not
 * parse (NAME:LINE:COL), unknown stages or preset. Texts: the questionnaire
 * (JSON, object or its text) and the rules (text) become audit version 1
 * (store/store_audit.h).
 *
 * Results are per recording (verdict, score, answers, call metrics,
 * metadata) in pages by recording id (`after`, `limit`), or per trade: the
 * recordings grouped by their metadata's trade_id, combined by
 * batches_trade_combine (AUDIT.md: fail if any call fails, else flag if any
 * is flagged, else pass; score = sum(score) / sum(max_score)).
 *
 * Errors: INVALID (a bad request or name), NOT_FOUND (no such batch, or not
 * a batch of kind 'batch'), CONFLICT (name taken, start twice, start empty,
 * metadata after start, retry of a recording that has not failed),
 * AUDIO/EMPTY (an upload that is not audio), TOO_LARGE, STORE/UNAVAILABLE.
 * Thread-safety: none inside; one ctx per thread (its own store).
 */
#ifndef PARLEY_CORE_BATCHES_H
#define PARLEY_CORE_BATCHES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/webhook.h"
#include "store/store.h"
#include "util/error.h"

#define BATCHES_FILE_NAME_MAX 200 /* an uploaded file's name: [A-Za-z0-9._-], no leading '.' */
#define BATCHES_PAGE_MAX 1000     /* results and events per page */
#define BATCHES_PATHS_MAX 10000   /* files found under the paths of one request */

struct batches_ctx {
	struct store *store;
	const char *data_dir;   /* uploads live in data_dir/batches/<id>/files/ */
	const char *files_root; /* server-side paths must be under it; NULL/"": refused */
	/* After recordings became leasable (start, retry, files added to a
	 * started batch): push them on a Redis queue. NULL with the store queue. */
	enum parley_err (*on_queued)(void *ud, struct parley_error *err);
	void *ud;
};

/* Check an audit's texts before anything is stored: the questionnaire
 * parses ("questionnaire:LINE:COL: …"), its LLM questions have an LLM
 * engine in cfg (NULL: not checked), and the rules parse against its
 * question ids ("rules:LINE:COL: …"). NULL or "" = none given. */
struct pipeline_config;
enum parley_err batches_check_audit(const char *questionnaire, const char *rules,
				    const struct pipeline_config *cfg, struct parley_error *err);

/* May this user see and manage batches? (operators and admins) */
struct session_user;
bool batches_user_may(const struct session_user *u);

/* A batch of kind 'batch' by id: NOT_FOUND ("no batch N") otherwise. */
enum parley_err batches_check(const struct batches_ctx *c, int64_t id, struct parley_error *err);
/* Find by name (CLI): NOT_FOUND when absent or not of kind 'batch'. */
enum parley_err batches_find(const struct batches_ctx *c, const char *name, int64_t *id,
			     struct parley_error *err);

/* The request of batches_create, checked whole without a store (pure;
 * fuzz_batch_request): the name, the webhook (url, secret, events,
 * schedule), the configuration (config < preset < options; canonical JSON
 * out), the stage list, the questionnaire and rules texts. Release with
 * batches_request_release (also on error: nothing to free then). */
struct batches_request {
	char name[STORE_NAME_MAX];
	char stages[STORE_PIPELINE_MAX];
	char *config_json;             /* canonical pipeline configuration */
	char *questionnaire, *rules;   /* NULL when not given */
	int priority;                  /* "priority" (store.h), STORE_PRIORITY_BATCH if absent */
	struct webhook_config hook;
	bool with_hook;
};
enum parley_err batches_request_parse(const json_t *req, struct batches_request *out,
				      struct parley_error *err);
void batches_request_release(struct batches_request *r);

enum parley_err batches_create(const struct batches_ctx *c, const json_t *req, json_t **view,
			       struct parley_error *err);
/* {"batches":[view…],"next":ID|null} — id order, after `after`, at most limit. */
enum parley_err batches_list(const struct batches_ctx *c, int64_t after, int limit, json_t **out,
			     struct parley_error *err);
/* The batch view (docs/api.md): status, counts, stages, audit version. */
enum parley_err batches_get(const struct batches_ctx *c, int64_t id, json_t **view,
			    struct parley_error *err);

/* An upload's limits per batch (0: none): files and bytes of its uploads. */
struct batches_upload_limits {
	int64_t max_files;
	unsigned long long max_bytes;
};
#define BATCHES_MAX_FILES_DEFAULT 10000
#define BATCHES_MAX_BYTES_DEFAULT (64ull << 30)
/* May `len` bytes be uploaded as file `name` of batch id (before the body
 * is read): the name is a file name (INVALID), the batch exists (NOT_FOUND),
 * and with it the batch's uploads stay within lim's files and bytes (a file
 * of that name already there is replaced: it counts once) — TOO_LARGE,
 * naming the limit. The uploads are counted in the batch's upload folder. */
enum parley_err batches_upload_check(const struct batches_ctx *c, int64_t id, const char *name,
				     unsigned long long len, const struct batches_upload_limits *lim,
				     struct parley_error *err);
/* Store an uploaded file as recording `name` of the batch; the bytes must
 * decode (counted while decoding, audio_decode_measure_memory: the audio is
 * never held). *out: {"file","recording","bytes","sha256","duration"}; *created
 * false when the same bytes were already there. */
enum parley_err batches_add_upload(const struct batches_ctx *c, int64_t id, const char *name,
				   const void *body, size_t len, json_t **out, bool *created,
				   struct parley_error *err);
/* Add server-side files and folders (searched recursively); every one must
 * resolve under ctx->files_root. *out: {"added":N,"files":[{"file","recording"}…]}. */
enum parley_err batches_add_paths(const struct batches_ctx *c, int64_t id,
				  const char *const *paths, size_t n, json_t **out,
				  struct parley_error *err);
/* Parse the metadata CSV (core/call_metadata.h; errors NAME:LINE, a
 * duplicate file names both lines) and store each recording's row. *out:
 * {"rows","matched","unknown":[{"line","file"}],"without_metadata":[name…]}. */
enum parley_err batches_metadata(const struct batches_ctx *c, int64_t id, const char *csv,
				 size_t len, json_t **out, struct parley_error *err);
enum parley_err batches_start(const struct batches_ctx *c, int64_t id, json_t **view,
			      struct parley_error *err);

/* {"failed":[{"recording","name","stage","attempts","error"}…]} */
enum parley_err batches_failed(const struct batches_ctx *c, int64_t id, json_t **out,
			       struct parley_error *err);
/* Queue failed recordings again: rec_id, or every failed one (rec_id 0).
 * *out: {"requeued":N}. */
enum parley_err batches_retry(const struct batches_ctx *c, int64_t id, int64_t rec_id,
			      json_t **out, struct parley_error *err);

/* Execution log: {"events":[{"id","time","type","stage","recording","message"}…],"last_id":N}. */
enum parley_err batches_events(const struct batches_ctx *c, int64_t id, int64_t after, int limit,
			       json_t **out, struct parley_error *err);
/* The batch has started and nothing of it is pending, held or running. */
enum parley_err batches_finished(const struct batches_ctx *c, int64_t id, bool *finished,
				 struct parley_error *err);

/* Per recording, version 0 = the current audit version:
 * {"version","recordings":[{…}],"next":ID|null}. */
enum parley_err batches_results(const struct batches_ctx *c, int64_t id, int version,
				int64_t after, int limit, json_t **out, struct parley_error *err);
/* The same page as CSV text (header row first), malloc'd. */
enum parley_err batches_results_csv(const struct batches_ctx *c, int64_t id, int version,
				    int64_t after, int limit, char **csv, struct parley_error *err);
/* A page of the results table (the dashboard): filtered and sorted in the
 * store, without answers or metrics. sort: "recording", "name", "status",
 * "verdict", "score" (score / max_score); status: a recording status;
 * verdict: pass, fail, flag or none; name: a substring, any case; "" or NULL
 * = any. *out: {"version","total","offset","limit","sort","order",
 * "recordings":[{"recording","name","status","attempts","trade_id","error",
 * "verdict","score","max_score","auto_fail","reasons"}],"next_offset":K|null}.
 * INVALID for an unknown sort column, status or verdict. */
struct batches_query {
	int version;
	const char *sort, *status, *verdict, *name;
	bool desc;
	int64_t offset;
	int limit;
};
enum parley_err batches_results_query(const struct batches_ctx *c, int64_t id,
				      const struct batches_query *q, json_t **out,
				      struct parley_error *err);

/* The batch's webhook deliveries, newest first, at most limit:
 * {"webhook":{"url","events","disabled"}|null,"deliveries":[{"id","event_id",
 * "type","status","attempts","last_status","last_error","next_at",
 * "created_at","updated_at"}]}. */
enum parley_err batches_webhooks(const struct batches_ctx *c, int64_t id, int limit, json_t **out,
				 struct parley_error *err);
/* Send delivery `delivery` of the batch again now (core/webhook.h
 * webhook_redeliver): NOT_FOUND when it is not one of the batch's.
 * *out: {"delivery","event_id","reenabled"}. */
enum parley_err batches_redeliver(const struct batches_ctx *c, int64_t id, int64_t delivery,
				  json_t **out, struct parley_error *err);

/* Per trade (recordings grouped by metadata trade_id, "" for none), in
 * trade_id order from offset: {"version","trades":[…],"next":OFFSET|null}. */
enum parley_err batches_trades(const struct batches_ctx *c, int64_t id, int version,
			       int offset, int limit, json_t **out, struct parley_error *err);
enum parley_err batches_trades_csv(const struct batches_ctx *c, int64_t id, int version,
				   int offset, int limit, char **csv, struct parley_error *err);

/* --- pure: a trade's verdict from its calls' (AUDIT.md "Per-trade results") --- */
struct batches_call {
	const char *verdict; /* "pass" / "fail" / "flag"; NULL or "" = no verdict yet */
	double score, max_score;
};
struct batches_trade {
	char verdict[8];   /* "pass", "fail", "flag"; "" when no call has a verdict */
	double score;      /* sum(score) / sum(max_score); 0 when sum(max_score) is 0 */
	double score_sum, max_score_sum;
	int calls, judged; /* calls in all, with a verdict */
};
void batches_trade_combine(const struct batches_call *calls, size_t n, struct batches_trade *out);

/* CSV field quoting (RFC 4180) of text into sb-like output: appends to *out. */
struct strbuf;
enum parley_err batches_csv_field(struct strbuf *out, const char *text);

#endif
