/*
 * store_int.h — private to the store's modules (store.c and the modules that
 * add tables of their own, e.g. src/session/session_store.c): the
 * connection behind a struct store and store.c's statement helpers, so every
 * module binds parameters the same way.
 *
 * Types string: one letter per ?N — 'i' int64_t, 'n' int, 'd' double,
 * 't' const char * (NULL binds NULL).
 */
#ifndef PARLEY_STORE_STORE_INT_H
#define PARLEY_STORE_STORE_INT_H

#include "store/db.h"
#include "store/store.h"

struct store {
	struct db *db;
};

/* Prepare sql and bind its parameters; the caller steps and finalizes *s. */
enum parley_err store_sql_prepare(struct store *st, struct db_stmt **s, struct parley_error *err,
				  const char *sql, const char *types, ...);
/* Run a statement to completion; *changes (if not NULL) = rows changed. */
enum parley_err store_sql_exec(struct store *st, int64_t *changes, struct parley_error *err,
			       const char *sql, const char *types, ...);

/* Step s to its end, reading each row with fn into a new array of
 * elem_size elements (zeroed first); *out (caller frees; NULL when none),
 * *n. Finalizes s. `what` names the rows in the out-of-memory message. */
typedef void (*store_row_fn)(struct db_stmt *s, void *elem);
enum parley_err store_sql_rows(struct db_stmt *s, size_t elem_size, store_row_fn fn,
			       void **out, size_t *n, const char *what, struct parley_error *err);

/* A row of a batch's results (sbatch_results, sdash_results): a SELECT over
 * recordings r LEFT JOIN verdicts v whose columns 0-9 are
 * SBATCH_RESULT_COLUMNS; sbatch_result_read (store_batch.c) fills *r from
 * them, its texts valid until the next step. */
#define SBATCH_RESULT_COLUMNS \
	"r.id, r.name, r.status, coalesce(r.error, ''), r.metadata, v.verdict," \
	" coalesce(v.score, 0), coalesce(v.max_score, 0), coalesce(v.auto_fail, 0)," \
	" coalesce(v.reasons, '[]')"
struct sbatch_result;
void sbatch_result_read(struct db_stmt *s, struct sbatch_result *r);

#endif
