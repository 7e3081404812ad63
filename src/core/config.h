/*
 * config.h — where the engine's settings come from: defaults, then a config
 * file, then the environment, then command-line flags (each later source
 * wins). Shared by submit, worker, status, failed, retry and export.
 *
 *   struct parley_config c = config_defaults();
 *   if (config_load(getenv("PARLEY_CONFIG"), &c, &err)) fail(err.msg);  // file (optional)
 *   if (config_from_env(&c, &err)) fail(err.msg);                        // PARLEY_*
 *   config_set(&c, "queue", "redis://127.0.0.1:6379", &err);            // a flag
 *
 * File format: one `key = value` per line; `#` starts a comment; blank lines
 * are ignored; values may be quoted with "…". Keys (and environment names):
 *   store           PARLEY_STORE          path, sqlite:PATH or postgresql://…
 *   queue           PARLEY_QUEUE          store | redis://HOST[:PORT][/DB]
 *   queue_prefix    PARLEY_QUEUE_PREFIX   Redis key prefix ("parley:")
 *   data            PARLEY_DATA           shared blob directory
 *   lease_seconds   PARLEY_LEASE_SECONDS  lease length (60)
 *   max_attempts    PARLEY_MAX_ATTEMPTS   attempts before dead-letter (3)
 *   backoff_base    PARLEY_BACKOFF_BASE   first retry delay in s (5: 5, 10, 20)
 *   progress_every  PARLEY_PROGRESS_EVERY progress event every N recordings (100)
 *   log_file_start  PARLEY_LOG_FILE_START    file_start events (false)
 *   log_file_complete PARLEY_LOG_FILE_COMPLETE file_complete events (false)
 *   public_url      PARLEY_PUBLIC_URL     where `parley serve` is reached from outside
 *                                         ("https://parley.example.com"): webhook
 *                                         events carry results URLs under it ("")
 *   webhook_timeout PARLEY_WEBHOOK_TIMEOUT seconds a webhook receiver has to answer (15)
 *   commit_window   PARLEY_COMMIT_WINDOW  seconds of quick stages of one recording
 *                                         whose commits a worker coalesces into one
 *                                         durable transaction (0.05; 0 = every stage
 *                                         commits alone; at most 5): see core/pipeline.h
 * Errors name the file and line ("parley.conf:3: unknown key 'qeue'") or the
 * variable, and what was wrong with the value.
 */
#ifndef PARLEY_CORE_CONFIG_H
#define PARLEY_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define CONFIG_VALUE_MAX 1024
#define CONFIG_FILE_MAX (64 * 1024)
/* commit_window: the default and the largest accepted (seconds). 0.05 s:
 * an fsync costs 1-4 ms on the 2-core VM (pg_test_fsync fdatasync 280-1,300/s
 * under load), so one per 50 ms of stage work is under ~7 % of it, while a
 * crash redoes at most ~50 ms of work and another SQLite writer waits at
 * most about that long behind a held transaction. */
#define CONFIG_COMMIT_WINDOW_DEFAULT 0.05
#define CONFIG_COMMIT_WINDOW_MAX 5.0

struct parley_config {
	char store[CONFIG_VALUE_MAX];
	char queue[CONFIG_VALUE_MAX];
	char queue_prefix[64];
	char data[CONFIG_VALUE_MAX];
	double lease_seconds;
	int max_attempts;
	double backoff_base;
	int progress_every;
	bool log_file_start;
	bool log_file_complete;
	char public_url[CONFIG_VALUE_MAX];
	double webhook_timeout;
	double commit_window;
};

struct parley_config config_defaults(void);

/* Set one key from text (a flag, a file line, a variable); checks the value. */
enum parley_err config_set(struct parley_config *c, const char *key, const char *value,
			   struct parley_error *err);

/* Parse config text (name is used in messages). */
enum parley_err config_parse(struct parley_config *c, const char *name, const char *text,
			     size_t len, struct parley_error *err);

/* Load a file; path NULL or "" does nothing. */
enum parley_err config_load(const char *path, struct parley_config *c, struct parley_error *err);

/* Apply every PARLEY_* variable that is set. */
enum parley_err config_from_env(struct parley_config *c, struct parley_error *err);

#endif
