/*
 * store.h — parley's single source of truth: batches, recordings, stage runs,
 * leases, events and every stage's results.
 *
 *   struct store *st;
 *   if (store_open("out/parley.db", &st, &err)) fail(err.msg);
 *   store_begin(st, &err);
 *   store_segments_put(st, rec, "speech", segs, n, &err);   // replaces old rows
 *   store_stage_done(st, rec, "vad", cpu, wall, &err);
 *   store_commit(st, &err);                                 // results + done mark together
 *   store_close(st);
 *
 * Backends: SQLite (a path or sqlite:PATH; WAL mode) or PostgreSQL
 * (postgresql://…), both through the SQL seam of src/store/db.h; the store's
 * SQL is written once (src/store/store.c). The schema carries a version and
 * migrations run at open (src/store/schema.c). One struct store is one
 * connection: use it from one thread at a time; open one per worker.
 * Every *_put replaces the rows that stage wrote before, so re-running a stage
 * never adds to its old results. All functions return PARLEY_OK or an error
 * (PARLEY_ERR_STORE with the database's message, PARLEY_ERR_BUSY when locked,
 * PARLEY_ERR_UNAVAILABLE when the server cannot be reached).
 */
#ifndef PARLEY_STORE_STORE_H
#define PARLEY_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define STORE_WORD_MAX 48
#define STORE_NAME_MAX 256

struct store;

enum store_status {
	STORE_PENDING = 0,
	STORE_RUNNING = 1,
	STORE_DONE = 2,
	STORE_FAILED = 3,
	STORE_SKIPPED = 4,
};
const char *store_status_name(enum store_status s);

#define STORE_PIPELINE_MAX 512 /* "decode,vad,…": a batch's stage list */
#define STORE_STAGES_DONE_MAX STORE_PIPELINE_MAX
/* At most this many recordings leased by one take (store_lease_many). */
#define STORE_LEASE_MANY_MAX 16

struct store_recording {
	int64_t id;
	int64_t batch_id;
	char name[STORE_NAME_MAX];
	char source[4096];
	double duration; /* seconds; 0 until decoded */
	enum store_status status;
	int attempts;
	char error[512];
	char next_stage[32]; /* first stage of the batch's pipeline not done ("" = none left) */
	int priority;        /* its batch's: higher is taken first (STORE_PRIORITY_*) */
	int64_t tag;         /* its turn among recordings of that priority (fair share) */
	/* Filled by the leases below (store_lease_many, store_lease_ids), not by
	 * the other reads: the stages already done or skipped when it was leased
	 * ("decode,vad"), so the worker needs no read of stage_runs. */
	bool stages_known;
	char stages_done[STORE_STAGES_DONE_MAX];
};

/*
 * Priorities and fair share (issue 17). Every batch has a priority, an
 * integer in [STORE_PRIORITY_MIN, STORE_PRIORITY_MAX]: batches 0 unless
 * given one (`parley submit --priority`, `parley batch create --priority`,
 * "priority" in POST /v1/batches), sessions STORE_PRIORITY_SESSION, so a
 * person waiting on a call is served before a bulk backlog. Its recordings
 * carry it. Within one priority, batches share the workers round-robin: a
 * recording's tag is its turn, start-time fair queuing with one unit per
 * recording: a recording added to batch B gets
 *   tag = max(lowest tag still waiting at that priority, B's last tag + 1)
 * so a batch submitted while another has 10,000 waiting interleaves with it
 * one by one instead of queueing behind it. A held batch is given fresh
 * tags when it starts, a reaudit when it resets (store_batch_retag). Both
 * queues hand out work in the order (priority descending, tag, id): the
 * store queue in its lease query, Redis by the score store_order_key().
 */
#define STORE_PRIORITY_MIN (-100)
#define STORE_PRIORITY_MAX 100
#define STORE_PRIORITY_BATCH 0
#define STORE_PRIORITY_SESSION 50
#define STORE_TAG_BITS 44 /* tags stay below 2^44: the key fits a double exactly */
/* One number in the hand-out order, lowest first: exact in a double (Redis
 * sorted-set scores) for priorities in range and tags below 2^44. */
static inline int64_t store_order_key(int priority, int64_t tag)
{
	if (priority < STORE_PRIORITY_MIN)
		priority = STORE_PRIORITY_MIN;
	if (priority > STORE_PRIORITY_MAX)
		priority = STORE_PRIORITY_MAX;
	if (tag < 0)
		tag = 0;
	if (tag >= ((int64_t)1 << STORE_TAG_BITS))
		tag = ((int64_t)1 << STORE_TAG_BITS) - 1;
	return ((int64_t)(STORE_PRIORITY_MAX - priority) << STORE_TAG_BITS) + tag;
}

struct store_segment {
	double start, end;
	int speaker; /* -1 when not attributed */
};

struct store_word {
	double start, end;
	float confidence;
	int speaker;
	char text[STORE_WORD_MAX];
	bool approximate; /* times spread over a segment, not given per word */
};

struct store_speaker {
	int speaker;
	double talk_time; /* seconds */
	int turns;
	double sample_start, sample_end; /* 0,0 when no sample */
};

struct store_count {
	int speaker;
	char word[STORE_WORD_MAX];
	int count;
};

struct store_progress {
	int total, pending, running, done, failed;
	int held;           /* recordings of a batch not started yet (not pending: no worker waits) */
	double audio_done; /* seconds of audio in done recordings */
	double audio_known; /* seconds of audio in recordings already decoded */
	int decoded;        /* recordings with a known duration */
};


enum parley_err store_open(const char *target, struct store **out, struct parley_error *err);
void store_close(struct store *st); /* accepts NULL */
int store_schema_version(struct store *st);
bool store_is_postgres(const struct store *st);
const char *store_target(const struct store *st); /* for messages; password removed */

enum parley_err store_begin(struct store *st, struct parley_error *err); /* BEGIN IMMEDIATE */
/* A transaction that is on disk when its commit returns, even on a
 * connection with relaxed commits (stage results use this). */
enum parley_err store_begin_durable(struct store *st, struct parley_error *err);
/* Relax this connection's other commits (PostgreSQL synchronous_commit=off):
 * a server crash may lose the last ones — whole, never half — but no client
 * waits for an fsync. Used by workers, whose lease, finish and log writes are
 * all redone or repaired when lost; never by submit. SQLite: nothing to do
 * (WAL with synchronous=NORMAL already survives a killed process). Kept
 * across reconnects (db_session_set). */
enum parley_err store_relax_commits(struct store *st, struct parley_error *err);
enum parley_err store_commit(struct store *st, struct parley_error *err);
void store_rollback(struct store *st);
bool store_in_transaction(struct store *st);
/* Inside a transaction: a savepoint called name (an identifier), and the
 * rollback to it, which keeps what came before it. */
enum parley_err store_savepoint(struct store *st, const char *name, struct parley_error *err);
enum parley_err store_rollback_to(struct store *st, const char *name, struct parley_error *err);
/* A transaction this connection leaves idle longer than `seconds` is ended
 * by the server, freeing its locks (PostgreSQL idle_in_transaction_session_
 * timeout; at least 1 s): a worker holding coalesced stage commits
 * (core/pipeline.h) that hangs or is cut off from the network gives its
 * recording's row back by the time its lease runs out; set again after a
 * reconnect (db_session_set). SQLite: nothing to do (a dead process holds
 * no lock). */
enum parley_err store_hold_limit(struct store *st, double seconds, struct parley_error *err);

/* Batches */
/* Find or create the batch; a new one gets its kind's default priority
 * (STORE_PRIORITY_SESSION for kind "session", else STORE_PRIORITY_BATCH). */
enum parley_err store_batch_ensure(struct store *st, const char *name, const char *kind,
				   int64_t *batch_id, struct parley_error *err);
/* Find a batch by name; PARLEY_ERR_NOT_FOUND ("no batch named ...") when absent. */
enum parley_err store_batch_find(struct store *st, const char *name, int64_t *batch_id,
				 struct parley_error *err);
struct store_batch {
	int64_t id;
	char name[STORE_NAME_MAX];
};
/* The batch's pipeline: its stage names in order, comma-separated ("" = the
 * worker's own). New recordings start at its first stage. */
enum parley_err store_batch_set_pipeline(struct store *st, int64_t batch_id, const char *stages,
					 struct parley_error *err);
enum parley_err store_batch_get_pipeline(struct store *st, int64_t batch_id, char *out, size_t size,
					 struct parley_error *err);
/* The batch's pipeline configuration (JSON text, stages/pipeline_config.h),
 * stored as given. get: *json is malloc'd (the caller frees it); "" or "{}"
 * for a batch stored before configurations (the defaults). At most
 * STORE_CONFIG_MAX bytes (TOO_LARGE). */
#define STORE_CONFIG_MAX ((size_t)4 << 20)
enum parley_err store_batch_set_config(struct store *st, int64_t batch_id, const char *json,
				       struct parley_error *err);
enum parley_err store_batch_get_config(struct store *st, int64_t batch_id, char **json,
				       struct parley_error *err);
/* Set a batch's priority and its recordings' (INVALID outside
 * [STORE_PRIORITY_MIN, STORE_PRIORITY_MAX]). A Redis queue holds the old
 * order until the recordings are pushed again (queue_push_leasable). */
enum parley_err store_batch_set_priority(struct store *st, int64_t batch_id, int priority,
					 struct parley_error *err);
enum parley_err store_batch_get_priority(struct store *st, int64_t batch_id, int *priority,
					 struct parley_error *err);
/* Give the batch's pending recordings fresh turns after the lowest tag still
 * waiting in other batches of their priority (a batch started after being
 * held, a reaudit), so they share the workers instead of jumping the queue. */
enum parley_err store_batch_retag(struct store *st, int64_t batch_id, struct parley_error *err);
/* Calls fn for each batch in id order; fn returning non-zero stops. */
enum parley_err store_batch_each(struct store *st, int (*fn)(const struct store_batch *, void *),
				 void *ud, struct parley_error *err);

/*
 * Add a recording (or find it). When a recording of that name exists with a
 * different fingerprint, its stage runs and its rows in result_tables (the
 * stages' tables, NULL-terminated: stage_result_tables()) are dropped (the
 * input changed). A failed recording goes back to pending (a re-run retries it);
 * finished stages are kept. Runs in the caller's transaction when one is
 * open (the caller rolls back on error), else in its own.
 */
enum parley_err store_recording_add(struct store *st, int64_t batch_id, const char *name,
				    const char *source, const char *fingerprint,
				    const char *const *result_tables, int64_t *rec_id,
				    struct parley_error *err);
enum parley_err store_recording_get(struct store *st, int64_t rec_id, struct store_recording *out,
				    struct parley_error *err);
enum parley_err store_recording_set_duration(struct store *st, int64_t rec_id, double seconds,
					     struct parley_error *err);
/* Record the first stage not done yet ("" when none is left): the queue
 * routes the recording to a worker that runs it. */
enum parley_err store_recording_set_next_stage(struct store *st, int64_t rec_id, const char *stage,
					       struct parley_error *err);
/* Calls fn for each recording of the batch in id order; fn returning non-zero stops. */
enum parley_err store_recording_each(struct store *st, int64_t batch_id,
				     int (*fn)(const struct store_recording *, void *), void *ud,
				     struct parley_error *err);

/* Leases: a task is "advance recording R"; its lease lives on the recording. */
/* Lease the first pending recording in hand-out order (priority descending,
 * tag, id; see above) of the batch (or any batch when batch_id == 0) whose
 * lease is free or expired and whose next stage is in `stages` (a comma
 * list; NULL or "" = any). *found is false when there is none. On PostgreSQL
 * concurrent callers skip each other's rows (FOR UPDATE SKIP LOCKED). */
enum parley_err store_lease_next(struct store *st, int64_t batch_id, const char *owner,
				 double lease_seconds, const char *stages, struct store_recording *out,
				 bool *found, struct parley_error *err);
/* Lease recording rec_id itself if it is leasable now: pending or running,
 * lease free or expired, not waiting on a retry backoff. *found false when
 * it is not (done, failed, or held by a live lease). */
enum parley_err store_lease_take(struct store *st, int64_t rec_id, const char *owner,
				 double lease_seconds, struct store_recording *out, bool *found,
				 struct parley_error *err);
/* Take-ahead (issue 17, queue speed): lease up to `max` (at most
 * STORE_LEASE_MANY_MAX) recordings in one statement, as store_lease_next
 * would hand them out one by one; out[0..*n) in hand-out order, each with
 * stages_done filled. Every recording leased counts an attempt in that same
 * statement (out[i].attempts is the new count), so one that kills its
 * worker is counted even when it was taken ahead; the caller gives back what
 * it will not start with store_lease_unhold, which returns the attempt. A
 * worker killed while holding recordings it never started leaves them one
 * attempt more (core/worker.h: a recording tried before runs alone). */
enum parley_err store_lease_many(struct store *st, int64_t batch_id, const char *owner,
				 double lease_seconds, const char *stages, size_t max,
				 struct store_recording *out, size_t *n, struct parley_error *err);
/* Lease the recordings ids[0..nids) (at most STORE_LEASE_MANY_MAX) that are
 * leasable now, in one statement (a queue that named them); out[] in the
 * order of ids (the ones not leasable left out), stages_done filled; each
 * leased counts an attempt, as in store_lease_many. */
enum parley_err store_lease_ids(struct store *st, const int64_t *ids, size_t nids, const char *owner,
				double lease_seconds, struct store_recording *out, size_t *n,
				struct parley_error *err);
/* Give back recordings owner holds but never started (ids[0..n), at most
 * STORE_LEASE_MANY_MAX): pending, lease free, the attempt their lease
 * counted returned. */
enum parley_err store_lease_unhold(struct store *st, const char *owner, const int64_t *ids, size_t n,
				   struct parley_error *err);
/* Calls fn(id, next_stage, order, ud) for at most `limit` recordings
 * leasable now, in hand-out order (fn returning non-zero stops); order is
 * store_order_key() of the recording. Used to rebuild a queue. */
enum parley_err store_leasable_each(struct store *st, size_t limit,
				    int (*fn)(int64_t id, const char *next_stage, int64_t order,
					      void *ud),
				    void *ud, struct parley_error *err);
/* Extend a lease we hold; PARLEY_ERR_BUSY when someone else holds it now. */
enum parley_err store_lease_renew(struct store *st, int64_t rec_id, const char *owner,
				  double lease_seconds, struct parley_error *err);
/* Drop the leases held by owners "host:pid" on this host whose process is gone
 * (util/proc.h: no such process, or a zombie not yet reaped). */
enum parley_err store_lease_reclaim_dead(struct store *st, const char *host, int *reclaimed,
					 struct parley_error *err);
/* Is err the lost lease (PARLEY_ERR_BUSY, "lease on recording N was lost to
 * another worker") of recording rec_id (0: of any recording)? */
bool store_lease_lost(const struct parley_error *err, int64_t rec_id);
/* Inside a stage's commit: check that owner still holds the lease, renew it,
 * and set the recording's next stage (NULL = leave it) — one statement.
 * PARLEY_ERR_BUSY ("lost to another worker") when the lease is gone. */
enum parley_err store_lease_advance(struct store *st, int64_t rec_id, const char *owner,
				   double lease_seconds, const char *next_stage,
				   struct parley_error *err);
/* Every stage_run status of a recording: fn(stage, status, ud) per row. */
enum parley_err store_stage_each(struct store *st, int64_t rec_id,
				 void (*fn)(const char *stage, enum store_status status, void *ud),
				 void *ud, struct parley_error *err);
/* Drop every lease `owner` holds (a worker known to be dead); *released may be NULL. */
enum parley_err store_lease_release_owner(struct store *st, const char *owner, int *released,
					  struct parley_error *err);
/* Distinct owners holding a live lease (the store queue's "live workers"). */
enum parley_err store_lease_owners(struct store *st, int *owners, struct parley_error *err);
/* Give a leased recording back after a transient failure: pending again,
 * not leasable for `delay` seconds (the backoff), last error kept. */
enum parley_err store_recording_retry_later(struct store *st, int64_t rec_id, const char *owner,
					    double delay, const char *error_msg,
					    struct parley_error *err);
/* Put a finished recording back in the queue (a later run asks for stages
 * it has not done yet). No effect unless its status is done or failed. */
enum parley_err store_recording_requeue(struct store *st, int64_t rec_id, struct parley_error *err);
/* Give a leased recording back untouched (graceful stop, hand-off); the
 * attempt it counted is returned. */
enum parley_err store_lease_release(struct store *st, int64_t rec_id, const char *owner,
				    struct parley_error *err);
/* Finish a leased recording: status DONE or FAILED (with the error), lease
 * cleared. PARLEY_ERR_BUSY (store_lease_lost) when owner (non-NULL) holds
 * the lease no more; inside a transaction on PostgreSQL that may come from
 * the next statement or the commit instead (a fence, db_run_checked). */
enum parley_err store_recording_finish(struct store *st, int64_t rec_id, const char *owner,
				       enum store_status status, const char *error_code,
				       const char *error_msg, struct parley_error *err);

/* Stage runs */
enum parley_err store_stage_status(struct store *st, int64_t rec_id, const char *stage,
				   enum store_status *status, struct parley_error *err);
/* Mark running and count an attempt (its own transaction when none is open). */
enum parley_err store_stage_start(struct store *st, int64_t rec_id, const char *stage,
				  struct parley_error *err);
/* Mark done — call inside the transaction that wrote the stage's results.
 * Counts one more attempt (done and failed verdicts are attempts; the
 * pipeline writes no row when a stage starts). */
enum parley_err store_stage_done(struct store *st, int64_t rec_id, const char *stage,
				 double cpu_seconds, double wall_seconds, struct parley_error *err);
/* A stage's verdict inside its commit (store_begin_durable … save … commit):
 * store_lease_advance (owner still holds the lease: renew it, set the next
 * stage) and store_stage_done together — one statement on PostgreSQL, the
 * done mark written only while the lease is owner's. PARLEY_ERR_BUSY ("lost
 * to another worker", store_lease_lost) when it is gone: from this call on
 * SQLite; on PostgreSQL the statement is sent ahead without waiting (a
 * fence, db_run_checked) and the error comes from the next statement or
 * from store_commit, which then commits nothing. The caller rolls back. */
enum parley_err store_stage_advance(struct store *st, int64_t rec_id, const char *stage,
				    const char *owner, double lease_seconds, const char *next_stage,
				    double cpu_seconds, double wall_seconds, struct parley_error *err);
/* Mark failed. With owner non-NULL only while owner holds the recording's
 * lease (a worker whose lease was taken over writes nothing), and never over
 * a stage already done. */
enum parley_err store_stage_fail(struct store *st, int64_t rec_id, const char *stage,
				 const char *owner, const char *error_msg, struct parley_error *err);

/* Execution log */
enum parley_err store_event_add(struct store *st, int64_t batch_id, int64_t rec_id,
				const char *stage, const char *type, const char *message,
				struct parley_error *err);

struct store_event {
	int64_t id, recording_id;
	char stage[32];
	char type[32];
	char message[512];
	double time;
};
/* Calls fn for each event of the batch with id > after, in order, at most
 * limit (limit <= 0: all); fn returning non-zero stops. */
enum parley_err store_event_page(struct store *st, int64_t batch_id, int64_t after, int limit,
				 int (*fn)(const struct store_event *, void *), void *ud,
				 struct parley_error *err);
/*
 * Warnings: sentences about a recording that was processed anyway (its file
 * holds less audio than its header promises, ...), kept in the execution log
 * as STORE_EVENT_WARNING events of the stage that noticed them.
 * store_warnings_set replaces the stage's earlier warnings of the recording
 * with msgs[0..n) (call it inside the stage's commit, so a re-run that finds
 * nothing clears them); store_warning_each calls fn for the recording's
 * warnings in the order they were written (fn returning non-zero stops).
 */
#define STORE_EVENT_WARNING "file_warning"
enum parley_err store_warnings_set(struct store *st, int64_t batch_id, int64_t rec_id,
				   const char *stage, const char *const *msgs, size_t n,
				   struct parley_error *err);
enum parley_err store_warning_each(struct store *st, int64_t batch_id, int64_t rec_id,
				   int (*fn)(const struct store_event *, void *), void *ud,
				   struct parley_error *err);
/* Mark that the batch's `stage` has started; *first is true for the first
 * caller only (it logs stage_start). */
enum parley_err store_batch_stage_started(struct store *st, int64_t batch_id, const char *stage,
					  bool *first, struct parley_error *err);
/* Count n more finished recordings (n >= 1; a worker adds those of a take
 * at once); *finished is the new count, *all_done true when no recording of
 * the batch is pending or running. */
enum parley_err store_batch_finished_add(struct store *st, int64_t batch_id, int64_t n,
					 int64_t *finished,
					 bool *all_done, struct parley_error *err);
/* Mark every started, not yet completed stage of the batch completed, calling
 * fn for each (only one caller ever sees a given stage). */
enum parley_err store_batch_stages_complete(struct store *st, int64_t batch_id,
					    void (*fn)(const char *stage, void *ud), void *ud,
					    struct parley_error *err);
/* The countable effect of a test stage (src/stages/noop.c): one row per commit. */
enum parley_err store_test_effect_add(struct store *st, int64_t rec_id, const char *stage,
				      const char *owner, struct parley_error *err);

/* Results. *_put replaces; *_get returns a malloc'd array the caller frees. */
enum parley_err store_segments_put(struct store *st, int64_t rec_id, const char *kind,
				   const struct store_segment *segs, size_t n,
				   struct parley_error *err);
enum parley_err store_segments_get(struct store *st, int64_t rec_id, const char *kind,
				   struct store_segment **segs, size_t *n, struct parley_error *err);
/* table: "stt_words" (recogniser output) or "words" (corrected, final) */
enum parley_err store_words_put(struct store *st, int64_t rec_id, const char *table,
				const struct store_word *words, size_t n, struct parley_error *err);
enum parley_err store_words_get(struct store *st, int64_t rec_id, const char *table,
				struct store_word **words, size_t *n, struct parley_error *err);
enum parley_err store_speakers_put(struct store *st, int64_t rec_id,
				   const struct store_speaker *spk, size_t n,
				   struct parley_error *err);
enum parley_err store_speakers_get(struct store *st, int64_t rec_id, struct store_speaker **spk,
				   size_t *n, struct parley_error *err);
/* Set only the sample columns of the recording's speakers (the samples stage). */
enum parley_err store_speaker_samples_put(struct store *st, int64_t rec_id,
					  const struct store_speaker *spk, size_t n,
					  struct parley_error *err);
enum parley_err store_counts_put(struct store *st, int64_t rec_id, const struct store_count *c,
				 size_t n, struct parley_error *err);
enum parley_err store_counts_get(struct store *st, int64_t rec_id, struct store_count **c,
				 size_t *n, struct parley_error *err);

/* Per-stage counts of a batch's stage runs. A stage a recording has not
 * reached has no run yet: callers derive "not started" from the total. */
#define STORE_STAGE_NAME_MAX 32
struct store_stage_count {
	char stage[STORE_STAGE_NAME_MAX];
	int pending, running, done, failed, skipped;
};
/* Fills out[0..*n) (at most max rows, in stage-name order). */
enum parley_err store_stage_counts(struct store *st, int64_t batch_id,
				   struct store_stage_count *out, size_t max, size_t *n,
				   struct parley_error *err);

enum parley_err store_progress_get(struct store *st, int64_t batch_id, struct store_progress *p,
				   struct parley_error *err);

/* Wall seconds of the done runs of each stage, over every batch (metrics). */
struct store_stage_seconds {
	char stage[STORE_STAGE_NAME_MAX];
	double sum;
	int64_t count;
};
/* Fills out[0..*n) (at most max rows, in stage-name order). */
enum parley_err store_stage_seconds(struct store *st, struct store_stage_seconds *out, size_t max,
				    size_t *n, struct parley_error *err);

#endif
