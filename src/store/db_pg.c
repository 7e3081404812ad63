/*
 * db_pg.c — the PostgreSQL driver of db.h (libpq). ?N placeholders become $N,
 * parameters travel as text and the server infers their types. Each
 * connection keeps a bounded cache of named prepared statements keyed by the
 * (rewritten) SQL text, so preparing the same SQL again costs no round trip.
 * A durable transaction (db_begin_durable) sends BEGIN and SET LOCAL
 * synchronous_commit = on in one message: one round trip, not two.
 * A dropped connection is re-established (PQreset, cache cleared) on the next
 * db_begin, db_prepare or db_exec made outside a transaction; inside one,
 * everything fails with PARLEY_ERR_UNAVAILABLE until the caller rolls back.
 * Statements sent ahead (db_run_later, inside a transaction): sent in libpq's
 * pipeline mode without waiting, and their results read with the next
 * statement's (or the COMMIT's) in one round trip; a failure among them is
 * answered to that next call, naming the statement that failed. Checked
 * statements (db_run_checked: the lease fences) are sent ahead the same way
 * and their change counts compared when their answers come back; while one
 * is unanswered, db_commit first reads the answers (one round trip) and
 * sends the COMMIT only when every check held — the COMMIT is never in the
 * same pipeline as an unchecked fence, so a lost lease commits nothing.
 * Session settings made through db_session_set (the worker's relaxed commits,
 * its idle_in_transaction_session_timeout) are kept and set again on the new
 * connection, so a reconnect does not silently fall back to the defaults.
 *
 * Many hosts (tests/multihost): a connection cut by a network partition must
 * neither hang its client nor hold locks for the others. So, unless the
 * target or the server says otherwise:
 *   - TCP keepalives (idle 30 s, then 3 probes 10 s apart) and a TCP user
 *     timeout of 60 s: a client waiting on a server it can no longer reach
 *     gets an error (PARLEY_ERR_UNAVAILABLE) within about a minute instead of
 *     the kernel's ~15 minutes (unacknowledged data) or never (an idle wait);
 *   - idle_in_transaction_session_timeout = 60 s for the session: a client
 *     cut off between BEGIN and COMMIT has its transaction rolled back and
 *     its row locks freed by the server, so workers taking over its expired
 *     leases do not queue behind them. parley's transactions are short and
 *     never wait on anything but the server, so 60 s idle inside one only
 *     happens to a client that is gone. Set only when the setting is 0 (the
 *     server's default), so a value from the target's options, the role or
 *     postgresql.conf wins.
 */
#include "store/db.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_CACHE_MAX 256	/* prepared statements kept per connection */
#define PG_CACHE_SLOTS 512	/* open addressing, at most half full */
#define PG_PARAMS_MAX 32766	/* highest ?N accepted (SQLite's default too) */
#define PG_CONNECT_TIMEOUT "10"	/* seconds, unless the target says otherwise */
#define PG_LOCK_KEY "727172"	/* pg_advisory_xact_lock key for migrations */
#define PG_IDLE_TX_TIMEOUT "60s" /* idle_in_transaction_session_timeout when unset */
#define PG_PENDING_MAX 128	/* statements sent ahead, results not read yet */
#define PG_PENDING_WHAT 48	/* bytes of their SQL kept for messages */
#define PG_SESSION_MAX 8	/* settings kept for a reconnect (db_session_set) */
#define PG_SETTING_MAX 64	/* bytes of a setting's name or value */

struct pg_cached {
	char *sql; /* rewritten text; NULL = free slot */
	uint64_t hash;
	char name[24];
	bool stale; /* server says the plan changed shape: prepare again */
};

struct pg_db {
	struct db base;
	PGconn *conn;
	bool in_tx;	 /* between our begin and commit/rollback */
	unsigned epoch;	 /* bumped on every reconnect: prepared names die with it */
	unsigned serial; /* for statement names */
	int cached;
	struct pg_cached cache[PG_CACHE_SLOTS];
	struct {
		char name[PG_SETTING_MAX], value[PG_SETTING_MAX];
	} session[PG_SESSION_MAX]; /* db_session_set, replayed after a reconnect */
	size_t nsession;
	/* statements sent ahead in pipeline mode (db_run_later, db_run_checked),
	 * their results not read yet */
	int npending;
	int nchecked; /* of them, with a change count to check */
	struct pg_pending {
		char what[PG_PENDING_WHAT]; /* the start of its SQL, for messages */
		int64_t want;		    /* changes it must make; -1: not checked */
		char fail[DB_FAIL_MAX];	    /* the message when it does not */
	} pending[PG_PENDING_MAX];
};

struct pg_param {
	char *text;   /* bind_text copy, or NULL */
	char num[32]; /* bind_int / bind_double */
	int kind;     /* 0 null, 1 num, 2 text */
};

struct pg_stmt {
	struct db_stmt base;
	char *sql; /* rewritten */
	uint64_t hash;
	int nparams;
	struct pg_param *params;
	const char **values;
	char name[24]; /* "" = not cached: PQexecParams on every execution */
	unsigned epoch;
	PGresult *res;
	int nrows;
	int row; /* current row, -1 before the first */
	int64_t changes;
	enum parley_err bind_err;
};

static struct pg_db *pdb(struct db *db)
{
	return (struct pg_db *)db;
}

static struct pg_stmt *pst(struct db_stmt *s)
{
	return (struct pg_stmt *)s;
}

/* libpq's message on one line, without the trailing newline. */
static void one_line(const char *in, char *out, size_t size)
{
	size_t n = 0;
	bool space = false;
	for (const char *p = in ? in : ""; *p && n + 1 < size; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t' || *p == ' ') {
			space = n > 0;
			continue;
		}
		if (space && n + 2 < size)
			out[n++] = ' ';
		space = false;
		out[n++] = *p;
	}
	out[n] = '\0';
}

static bool sqlstate_is(const char *state, const char *code)
{
	return state && strcmp(state, code) == 0;
}

/* Map a failed result (or, with res NULL, the connection's last error). */
static enum parley_err pg_fail(struct pg_db *d, const PGresult *res, struct parley_error *err,
			       const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	char msg[384];
	char det[192] = "";

	if (primary) {
		one_line(primary, msg, sizeof(msg));
		if (detail) {
			char tmp[160];
			one_line(detail, tmp, sizeof(tmp));
			snprintf(det, sizeof(det), " (%s)", tmp);
		}
	} else {
		const char *m = res ? PQresultErrorMessage(res) : "";
		one_line(m && *m ? m : PQerrorMessage(d->conn), msg, sizeof(msg));
		if (!msg[0])
			snprintf(msg, sizeof(msg), "unknown error");
	}

	enum parley_err code = PARLEY_ERR_STORE;
	if (PQstatus(d->conn) == CONNECTION_BAD ||
	    (state && strncmp(state, "08", 2) == 0) || sqlstate_is(state, "57P01") ||
	    sqlstate_is(state, "57P02") || sqlstate_is(state, "57P03"))
		code = PARLEY_ERR_UNAVAILABLE;
	else if (sqlstate_is(state, "40001") || sqlstate_is(state, "40P01") ||
		 sqlstate_is(state, "55P03"))
		code = PARLEY_ERR_BUSY;
	return parley_error_set(err, code, "store %s: %s: %s%s", d->base.target, what, msg, det);
}

static bool pg_in_transaction(struct db *db);

/* The answer to a statement sent ahead: its failure (naming it), or, for a
 * checked one, a change count other than the one it must make. An aborted
 * one (after an earlier failure in the same pipeline) is no news. */
static enum parley_err pg_pending_check(struct pg_db *d, const struct pg_pending *p,
					const PGresult *res, struct parley_error *err)
{
	ExecStatusType st = PQresultStatus(res);
	if (st == PGRES_PIPELINE_ABORTED)
		return PARLEY_OK;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
		char what[PG_PENDING_WHAT + 40];
		snprintf(what, sizeof(what), "statement sent ahead (%s...)", p->what);
		return pg_fail(d, res, err, what);
	}
	const char *tuples = PQcmdTuples((PGresult *)res);
	int64_t changes = tuples && *tuples ? strtoll(tuples, NULL, 10) : 0;
	if (p->want >= 0 && changes != p->want)
		return parley_error_set(err, PARLEY_ERR_BUSY, "%s", p->fail);
	return PARLEY_OK;
}

/* Read the results of the statements sent ahead and, with `last` (one more
 * query sent after them), that query's result into *out: one sync, one
 * round trip. The first failure among those sent ahead is returned, naming
 * its statement (the ones after it come back aborted); *out is then to be
 * dropped. Leaves pipeline mode. */
static enum parley_err pg_drain(struct pg_db *d, bool last, PGresult **out,
				struct parley_error *err)
{
	enum parley_err rc = PARLEY_OK;
	if (out)
		*out = NULL;
	int n = d->npending + (last ? 1 : 0);
	if (PQpipelineSync(d->conn) != 1) {
		rc = pg_fail(d, NULL, err, "pipeline sync");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		PGresult *res = PQgetResult(d->conn);
		if (!res) {
			if (rc == PARLEY_OK)
				rc = pg_fail(d, NULL, err, "statements sent ahead");
			goto out;
		}
		if (i == d->npending && out) {
			*out = res;
		} else {
			if (rc == PARLEY_OK && i < d->npending)
				rc = pg_pending_check(d, &d->pending[i], res, err);
			PQclear(res);
		}
		PGresult *end; /* each query's results end with NULL */
		while ((end = PQgetResult(d->conn)) != NULL)
			PQclear(end);
	}
	PGresult *sync = PQgetResult(d->conn);
	if (PQresultStatus(sync) != PGRES_PIPELINE_SYNC && rc == PARLEY_OK)
		rc = pg_fail(d, sync, err, "pipeline sync");
	PQclear(sync);
out:
	d->npending = d->nchecked = 0;
	if (PQexitPipelineMode(d->conn) != 1 && rc == PARLEY_OK)
		rc = pg_fail(d, NULL, err, "leave pipeline mode");
	return rc;
}

/* Before a query of its own: the statements sent ahead, answered. */
static enum parley_err pg_settle(struct pg_db *d, struct parley_error *err)
{
	return d->npending || PQpipelineStatus(d->conn) != PQ_PIPELINE_OFF
		       ? pg_drain(d, false, NULL, err)
		       : PARLEY_OK;
}

/* ---- the prepared-statement cache ---- */

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct pg_cached *cache_find(struct pg_db *d, uint64_t hash, const char *sql)
{
	for (size_t i = 0; i < PG_CACHE_SLOTS; i++) {
		struct pg_cached *c = &d->cache[(hash + i) % PG_CACHE_SLOTS];
		if (!c->sql)
			return NULL;
		if (c->hash == hash && strcmp(c->sql, sql) == 0)
			return c;
	}
	return NULL;
}

static struct pg_cached *cache_by_name(struct pg_db *d, const char *name)
{
	for (size_t i = 0; i < PG_CACHE_SLOTS; i++)
		if (d->cache[i].sql && strcmp(d->cache[i].name, name) == 0)
			return &d->cache[i];
	return NULL;
}

static void cache_add(struct pg_db *d, uint64_t hash, const char *sql, const char *name)
{
	if (d->cached >= PG_CACHE_MAX)
		return;
	for (size_t i = 0; i < PG_CACHE_SLOTS; i++) {
		struct pg_cached *c = &d->cache[(hash + i) % PG_CACHE_SLOTS];
		if (c->sql)
			continue;
		c->sql = strdup(sql);
		if (!c->sql)
			return; /* not cached: the statement still works */
		c->hash = hash;
		c->stale = false;
		snprintf(c->name, sizeof(c->name), "%s", name);
		d->cached++;
		return;
	}
}

static void cache_clear(struct pg_db *d)
{
	for (size_t i = 0; i < PG_CACHE_SLOTS; i++) {
		free(d->cache[i].sql);
		d->cache[i].sql = NULL;
	}
	d->cached = 0;
}

/* ---- connection ---- */

static enum parley_err pg_session_setup(struct pg_db *d, struct parley_error *err)
{
	PGresult *res = PQexec(d->conn,
		"SET client_min_messages = warning;"
		" SELECT set_config('idle_in_transaction_session_timeout', '" PG_IDLE_TX_TIMEOUT "', false)"
		" WHERE current_setting('idle_in_transaction_session_timeout') = '0'");
	enum parley_err rc = PARLEY_OK;
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = pg_fail(d, res, err, "connect");
	PQclear(res);
	for (size_t i = 0; rc == PARLEY_OK && i < d->nsession; i++) {
		const char *vals[2] = {d->session[i].name, d->session[i].value};
		res = PQexecParams(d->conn, "SELECT set_config($1, $2, false)", 2, NULL, vals, NULL,
				   NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			rc = pg_fail(d, res, err, "restore a session setting");
		PQclear(res);
	}
	return rc;
}

/* Before begin/prepare/exec: reconnect once if the connection dropped, unless
 * the caller is inside a transaction (which died with the connection). */
static enum parley_err pg_ready(struct pg_db *d, struct parley_error *err, const char *what)
{
	if (PQstatus(d->conn) == CONNECTION_OK)
		return PARLEY_OK;
	if (d->in_tx)
		return parley_error_set(err, PARLEY_ERR_UNAVAILABLE,
					"store %s: %s: the connection was lost inside a transaction "
					"(roll back and retry)",
					d->base.target, what);
	cache_clear(d);
	d->epoch++;
	d->npending = d->nchecked = 0; /* died with the connection */
	PQreset(d->conn);
	if (PQstatus(d->conn) != CONNECTION_OK) {
		char msg[384];
		one_line(PQerrorMessage(d->conn), msg, sizeof(msg));
		return parley_error_set(err, PARLEY_ERR_UNAVAILABLE, "store %s: %s: cannot reconnect: %s",
					d->base.target, what, msg[0] ? msg : "unknown error");
	}
	return pg_session_setup(d, err);
}

static void pg_close(struct db *db)
{
	struct pg_db *d = pdb(db);
	if (!d)
		return;
	cache_clear(d);
	PQfinish(d->conn);
	free(d);
}

static enum parley_err pg_open(const char *target, struct db **out, struct parley_error *err)
{
	*out = NULL;
	struct pg_db *d = calloc(1, sizeof(*d));
	if (!d)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "store: out of memory");
	d->base.drv = &db_driver_postgres;
	db_target_redact(target, d->base.target, sizeof(d->base.target));

	/* Keywords before dbname are defaults the target may override. */
	const char *const keys[] = {"connect_timeout", "fallback_application_name", "keepalives",
				    "keepalives_idle", "keepalives_interval", "keepalives_count",
				    "tcp_user_timeout", "dbname", NULL};
	const char *const vals[] = {PG_CONNECT_TIMEOUT, "parley", "1", "30", "10", "3", "60000",
				    target, NULL};
	enum parley_err rc;
	d->conn = PQconnectdbParams(keys, vals, 1);
	if (!d->conn) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "store %s: out of memory", d->base.target);
		goto fail;
	}
	if (PQstatus(d->conn) != CONNECTION_OK) {
		char msg[384];
		one_line(PQerrorMessage(d->conn), msg, sizeof(msg));
		rc = parley_error_set(err, PARLEY_ERR_UNAVAILABLE, "store %s: cannot connect: %s",
				      d->base.target, msg[0] ? msg : "unknown error");
		goto fail;
	}
	rc = pg_session_setup(d, err);
	if (rc != PARLEY_OK)
		goto fail;
	*out = &d->base;
	return PARLEY_OK;
fail:
	PQfinish(d->conn);
	free(d);
	return rc;
}

/* Run a command that returns no rows we need. */
static enum parley_err pg_command(struct pg_db *d, const char *sql, struct parley_error *err,
				  const char *what)
{
	enum parley_err rc = pg_settle(d, err);
	if (rc != PARLEY_OK)
		return rc;
	PGresult *res = PQexec(d->conn, sql);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
		rc = pg_fail(d, res, err, what);
	PQclear(res);
	return rc;
}

static enum parley_err pg_exec(struct db *db, const char *sql, struct parley_error *err)
{
	struct pg_db *d = pdb(db);
	enum parley_err rc = pg_ready(d, err, "exec");
	if (rc != PARLEY_OK)
		return rc;
	return pg_command(d, sql, err, "exec");
}

/* A setting's name: lowercase letters, digits and '_'; its value: also
 * uppercase letters and '.' (numbers, units, on/off). */
static bool setting_ok(const char *v, bool value)
{
	if (!*v)
		return false;
	for (; *v; v++)
		if (!((*v >= 'a' && *v <= 'z') || (*v >= '0' && *v <= '9') || *v == '_' ||
		      (value && ((*v >= 'A' && *v <= 'Z') || *v == '.'))))
			return false;
	return true;
}

static enum parley_err pg_session_set(struct db *db, const char *name, const char *value,
				      struct parley_error *err)
{
	struct pg_db *d = pdb(db);
	if (strlen(name) >= PG_SETTING_MAX || strlen(value) >= PG_SETTING_MAX)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"store %s: session setting %.64s: name or value longer than %d bytes",
					db->target, name, PG_SETTING_MAX - 1);
	if (!setting_ok(name, false) || !setting_ok(value, true))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"store %s: bad session setting '%s' = '%s'", db->target, name, value);
	size_t i = 0;
	while (i < d->nsession && strcmp(d->session[i].name, name) != 0)
		i++;
	if (i == PG_SESSION_MAX)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"store %s: more than %d session settings (setting %s)", db->target,
					PG_SESSION_MAX, name);
	char sql[3 * PG_SETTING_MAX];
	snprintf(sql, sizeof(sql), "SET %s = '%s'", name, value);
	enum parley_err rc = pg_ready(d, err, "session setting");
	if (rc == PARLEY_OK)
		rc = pg_command(d, sql, err, "session setting");
	if (rc != PARLEY_OK)
		return rc;
	snprintf(d->session[i].name, sizeof(d->session[i].name), "%s", name);
	snprintf(d->session[i].value, sizeof(d->session[i].value), "%s", value);
	if (i == d->nsession)
		d->nsession++;
	return PARLEY_OK;
}

/* ---- statements ---- */

static bool ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '$' || (unsigned char)c >= 0x80;
}

/*
 * ?N → $N (same length, so the copy is rewritten in place), outside '…'
 * literals (E'…' with backslash escapes), "…" identifiers and comments.
 * A bare ? is left alone (jsonb operators). Returns the highest N, or -1 when
 * one is out of range.
 */
static int rewrite_placeholders(char *sql)
{
	int max = 0;
	char *p = sql;
	while (*p) {
		if (*p == '\'' || *p == '"') {
			char q = *p;
			bool esc = q == '\'' && p > sql && (p[-1] == 'E' || p[-1] == 'e') &&
				   (p - 1 == sql || !ident_char(p[-2]));
			for (p++; *p; p++) {
				if (esc && *p == '\\' && p[1]) {
					p++;
					continue;
				}
				if (*p == q)
					break; /* a doubled quote reopens on the next pass */
			}
			if (*p)
				p++;
		} else if (p[0] == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			char *end = strstr(p + 2, "*/");
			p = end ? end + 2 : p + strlen(p);
		} else if (*p == '?' && p[1] >= '0' && p[1] <= '9') {
			char *end;
			errno = 0;
			long n = strtol(p + 1, &end, 10);
			if (errno || n < 1 || n > PG_PARAMS_MAX)
				return -1;
			*p = '$';
			if (n > max)
				max = (int)n;
			p = end;
		} else {
			p++;
		}
	}
	return max;
}

/* Make sure the statement has a live server-side name (or none, uncached). */
static enum parley_err stmt_prepare_server(struct pg_stmt *s, struct parley_error *err)
{
	struct pg_db *d = pdb(s->base.db);
	struct pg_cached *c = cache_find(d, s->hash, s->sql);
	if (c && !c->stale) {
		snprintf(s->name, sizeof(s->name), "%s", c->name);
		s->epoch = d->epoch;
		return PARLEY_OK;
	}
	if (!c && d->cached >= PG_CACHE_MAX) {
		s->name[0] = '\0'; /* cache full: PQexecParams each time */
		s->epoch = d->epoch;
		return PARLEY_OK;
	}
	enum parley_err rc = pg_settle(d, err); /* PQprepare waits: not in pipeline mode */
	if (rc != PARLEY_OK)
		return rc;
	char name[24];
	snprintf(name, sizeof(name), "parley_%u", ++d->serial);
	PGresult *res = PQprepare(d->conn, name, s->sql, s->nparams, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = pg_fail(d, res, err, "prepare");
		goto out;
	}
	if (c) { /* the stale name stays on the server until the next reconnect */
		snprintf(c->name, sizeof(c->name), "%s", name);
		c->stale = false;
	} else {
		cache_add(d, s->hash, s->sql, name);
	}
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->epoch = d->epoch;
out:
	PQclear(res);
	return rc;
}

static void stmt_free(struct pg_stmt *s)
{
	if (!s)
		return;
	PQclear(s->res);
	for (int i = 0; i < s->nparams && s->params; i++)
		free(s->params[i].text);
	free(s->params);
	free(s->values);
	free(s->sql);
	free(s);
}

static enum parley_err pg_prepare(struct db *db, const char *sql, struct db_stmt **out,
				  struct parley_error *err)
{
	struct pg_db *d = pdb(db);
	*out = NULL;
	enum parley_err rc = pg_ready(d, err, "prepare");
	if (rc != PARLEY_OK)
		return rc;

	struct pg_stmt *s = calloc(1, sizeof(*s));
	if (!s || !(s->sql = strdup(sql))) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "store %s: prepare: out of memory",
				      d->base.target);
		goto fail;
	}
	s->base.db = db;
	s->row = -1;
	s->nparams = rewrite_placeholders(s->sql);
	if (s->nparams < 0) {
		rc = parley_error_set(err, PARLEY_ERR_STORE,
				      "store %s: prepare: a placeholder is not ?1..?%d", d->base.target,
				      PG_PARAMS_MAX);
		goto fail;
	}
	if (s->nparams > 0) {
		s->params = calloc((size_t)s->nparams, sizeof(*s->params));
		s->values = calloc((size_t)s->nparams, sizeof(*s->values));
		if (!s->params || !s->values) {
			rc = parley_error_set(err, PARLEY_ERR_NOMEM,
					      "store %s: prepare: out of memory", d->base.target);
			goto fail;
		}
	}
	s->hash = fnv1a(s->sql);
	rc = stmt_prepare_server(s, err);
	if (rc != PARLEY_OK)
		goto fail;
	*out = &s->base;
	return PARLEY_OK;
fail:
	stmt_free(s);
	return rc;
}

static struct pg_param *param(struct pg_stmt *s, int idx)
{
	if (idx < 1 || idx > s->nparams)
		return NULL;
	struct pg_param *p = &s->params[idx - 1];
	free(p->text);
	p->text = NULL;
	p->kind = 0;
	return p;
}

static void pg_bind_int(struct db_stmt *st, int idx, int64_t v)
{
	struct pg_param *p = param(pst(st), idx);
	if (p) {
		snprintf(p->num, sizeof(p->num), "%lld", (long long)v);
		p->kind = 1;
	}
}

static void pg_bind_double(struct db_stmt *st, int idx, double v)
{
	struct pg_param *p = param(pst(st), idx);
	if (p) {
		snprintf(p->num, sizeof(p->num), "%.17g", v);
		p->kind = 1;
	}
}

static void pg_bind_text(struct db_stmt *st, int idx, const char *v)
{
	struct pg_stmt *s = pst(st);
	struct pg_param *p = param(s, idx);
	if (!p || !v)
		return; /* NULL text binds SQL NULL */
	p->text = strdup(v);
	if (!p->text) {
		s->bind_err = PARLEY_ERR_NOMEM;
		return;
	}
	p->kind = 2;
}

static void pg_bind_null(struct db_stmt *st, int idx)
{
	param(pst(st), idx);
}

static enum parley_err pg_step(struct db_stmt *st, bool *row, struct parley_error *err)
{
	struct pg_stmt *s = pst(st);
	struct pg_db *d = pdb(st->db);
	*row = false;
	if (!s->res) {
		if (s->bind_err != PARLEY_OK)
			return parley_error_set(err, s->bind_err, "store %s: bind: out of memory",
						d->base.target);
		if (PQstatus(d->conn) != CONNECTION_OK)
			return pg_fail(d, NULL, err, "step");
		for (int i = 0; i < s->nparams; i++) {
			const struct pg_param *p = &s->params[i];
			s->values[i] = p->kind == 2 ? p->text : p->kind == 1 ? p->num : NULL;
		}
		PGresult *res = NULL;
		ExecStatusType status = PGRES_FATAL_ERROR;
		enum parley_err rc;
		if (d->npending && s->name[0] && s->epoch == d->epoch) {
			/* after the statements sent ahead, in the same round trip */
			if (PQsendQueryPrepared(d->conn, s->name, s->nparams, s->values, NULL, NULL, 0) != 1) {
				rc = pg_fail(d, NULL, err, "step");
				struct parley_error ignored = {0};
				pg_drain(d, false, NULL, &ignored);
				return rc;
			}
			if ((rc = pg_drain(d, true, &res, err)) != PARLEY_OK) {
				PQclear(res);
				return rc;
			}
			status = PQresultStatus(res);
			if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK &&
			    status != PGRES_EMPTY_QUERY) {
				rc = pg_fail(d, res, err, "step");
				PQclear(res);
				return rc;
			}
		} else if ((rc = pg_settle(d, err)) != PARLEY_OK) {
			return rc;
		}
		for (int attempt = 0; !res; attempt++) {
			if (s->epoch != d->epoch && (rc = stmt_prepare_server(s, err)) != PARLEY_OK)
				return rc;
			res = s->name[0] ? PQexecPrepared(d->conn, s->name, s->nparams, s->values,
							  NULL, NULL, 0)
					 : PQexecParams(d->conn, s->sql, s->nparams, NULL, s->values,
							NULL, NULL, 0);
			status = PQresultStatus(res);
			if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK ||
			    status == PGRES_EMPTY_QUERY)
				break;
			const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
			if (sqlstate_is(state, "0A000") && s->name[0]) {
				/* "cached plan must not change result type" (the table
				 * changed under the cache): prepare anew, and outside a
				 * transaction, where nothing was done, run it again */
				struct pg_cached *c = cache_by_name(d, s->name);
				if (c)
					c->stale = true;
				s->epoch = d->epoch - 1;
				if (attempt == 0 && !pg_in_transaction(st->db)) {
					PQclear(res);
					res = NULL;
					continue;
				}
			}
			rc = pg_fail(d, res, err, "step");
			PQclear(res);
			return rc;
		}
		s->res = res;
		s->nrows = status == PGRES_TUPLES_OK ? PQntuples(res) : 0;
		s->row = -1;
		const char *tuples = PQcmdTuples(res);
		s->changes = (tuples && *tuples) ? strtoll(tuples, NULL, 10) : 0;
	}
	if (s->row < s->nrows)
		s->row++;
	*row = s->row < s->nrows;
	return PARLEY_OK;
}

/* Inside a transaction, with a live prepared name: send the statement in
 * pipeline mode and return, its answer read with the next query's (checked
 * against want, unless want < 0). Elsewhere it runs at once (its rows read
 * and dropped, its change count checked). */
static enum parley_err pg_send_ahead(struct db_stmt *st, int64_t want, const char *fail,
				     struct parley_error *err)
{
	struct pg_stmt *s = pst(st);
	struct pg_db *d = pdb(st->db);
	bool later = d->in_tx && !s->res && s->bind_err == PARLEY_OK && s->name[0] &&
		     s->epoch == d->epoch && PQstatus(d->conn) == CONNECTION_OK;
	enum parley_err rc;
	if (later && d->npending == PG_PENDING_MAX && (rc = pg_drain(d, false, NULL, err)) != PARLEY_OK)
		return rc;
	if (later && PQpipelineStatus(d->conn) == PQ_PIPELINE_OFF && PQenterPipelineMode(d->conn) != 1)
		later = false;
	if (!later) {
		bool row = false;
		rc = pg_step(st, &row, err);
		while (rc == PARLEY_OK && row)
			rc = pg_step(st, &row, err);
		if (rc == PARLEY_OK && want >= 0 && s->changes != want)
			rc = parley_error_set(err, PARLEY_ERR_BUSY, "%.*s", DB_FAIL_MAX - 1, fail);
		return rc;
	}
	for (int i = 0; i < s->nparams; i++) {
		const struct pg_param *p = &s->params[i];
		s->values[i] = p->kind == 2 ? p->text : p->kind == 1 ? p->num : NULL;
	}
	/* sent now, not buffered until the sync: the server runs it (and takes
	 * its row locks) while the caller goes on */
	if (PQsendQueryPrepared(d->conn, s->name, s->nparams, s->values, NULL, NULL, 0) != 1 ||
	    PQflush(d->conn) != 0) {
		rc = pg_fail(d, NULL, err, "send a statement ahead");
		struct parley_error ignored = {0};
		pg_drain(d, false, NULL, &ignored);
		return rc;
	}
	struct pg_pending *p = &d->pending[d->npending++];
	snprintf(p->what, sizeof(p->what), "%s", s->sql);
	p->want = want;
	snprintf(p->fail, sizeof(p->fail), "%s", want >= 0 ? fail : "");
	if (want >= 0)
		d->nchecked++;
	s->changes = 0;
	return PARLEY_OK;
}

/* db_run_later: sent ahead, nothing to check. */
static enum parley_err pg_run_later(struct db_stmt *st, struct parley_error *err)
{
	return pg_send_ahead(st, -1, NULL, err);
}

/* db_run_checked: sent ahead, its change count checked with its answer. */
static enum parley_err pg_run_checked(struct db_stmt *st, int64_t want, const char *fail,
				      struct parley_error *err)
{
	return pg_send_ahead(st, want < 0 ? 0 : want, fail, err);
}

/* The current row's field, or NULL (no row, no such column, SQL NULL). */
static const char *field(struct pg_stmt *s, int col)
{
	if (!s->res || s->row < 0 || s->row >= s->nrows || col < 0 || col >= PQnfields(s->res) ||
	    PQgetisnull(s->res, s->row, col))
		return NULL;
	return PQgetvalue(s->res, s->row, col);
}

static int64_t pg_column_int(struct db_stmt *st, int col)
{
	const char *v = field(pst(st), col);
	if (!v)
		return 0;
	if (v[0] == 't' && v[1] == '\0') /* boolean */
		return 1;
	return strtoll(v, NULL, 10);
}

static double pg_column_double(struct db_stmt *st, int col)
{
	const char *v = field(pst(st), col);
	if (!v)
		return 0;
	if (v[0] == 't' && v[1] == '\0')
		return 1;
	return strtod(v, NULL);
}

static const char *pg_column_text(struct db_stmt *st, int col)
{
	const char *v = field(pst(st), col);
	return v ? v : "";
}

static bool pg_column_null(struct db_stmt *st, int col)
{
	return field(pst(st), col) == NULL;
}

static int64_t pg_changes(struct db_stmt *st)
{
	return pst(st)->changes;
}

static void pg_reset(struct db_stmt *st)
{
	struct pg_stmt *s = pst(st);
	PQclear(s->res);
	s->res = NULL;
	s->nrows = 0;
	s->row = -1;
}

static void pg_finalize(struct db_stmt *st)
{
	stmt_free(pst(st));
}

/* ---- transactions and the schema version ---- */

static bool server_in_tx(struct pg_db *d)
{
	PGTransactionStatusType t = PQtransactionStatus(d->conn);
	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

/* BEGIN, with what the transaction sets first in the same round trip. */
static enum parley_err pg_begin_sql(struct db *db, const char *sql, struct parley_error *err)
{
	struct pg_db *d = pdb(db);
	if (d->in_tx || server_in_tx(d))
		return parley_error_set(err, PARLEY_ERR_STORE,
					"store %s: begin: already inside a transaction", d->base.target);
	enum parley_err rc = pg_ready(d, err, "begin");
	if (rc == PARLEY_OK)
		rc = pg_command(d, sql, err, "begin");
	if (rc == PARLEY_OK) {
		d->in_tx = true;
	} else if (server_in_tx(d)) { /* BEGIN ran, the SET did not */
		PGresult *res = PQexec(d->conn, "ROLLBACK");
		PQclear(res);
	}
	return rc;
}

static enum parley_err pg_begin(struct db *db, struct parley_error *err)
{
	return pg_begin_sql(db, "BEGIN", err);
}

/* One message, two commands (the simple query protocol runs them in order
 * and answers once): a durable transaction costs no extra round trip. */
static enum parley_err pg_begin_durable(struct db *db, struct parley_error *err)
{
	return pg_begin_sql(db, "BEGIN; SET LOCAL synchronous_commit = on", err);
}

static void pg_rollback(struct db *db)
{
	struct pg_db *d = pdb(db);
	struct parley_error ignored = {0};
	pg_settle(d, &ignored); /* what was sent ahead is rolled back with the rest */
	if (server_in_tx(d)) {
		PGresult *res = PQexec(d->conn, "ROLLBACK");
		PQclear(res);
	}
	d->in_tx = false;
}

static enum parley_err pg_commit(struct db *db, struct parley_error *err)
{
	struct pg_db *d = pdb(db);
	enum parley_err rc = PARLEY_OK;
	PGresult *res = NULL;
	/* a fence not answered yet: its answer first, the COMMIT only after it */
	if (d->nchecked && (rc = pg_drain(d, false, NULL, err)) != PARLEY_OK) {
		pg_rollback(db);
		return rc;
	}
	if (d->npending) { /* the statements sent ahead and the COMMIT: one round trip */
		if (PQsendQueryParams(d->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) != 1) {
			rc = pg_fail(d, NULL, err, "commit");
			struct parley_error ignored = {0};
			pg_drain(d, false, NULL, &ignored);
		} else {
			rc = pg_drain(d, true, &res, err);
		}
		if (rc != PARLEY_OK) {
			PQclear(res);
			pg_rollback(db);
			d->in_tx = false;
			return rc;
		}
	} else {
		res = PQexec(d->conn, "COMMIT");
	}
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = pg_fail(d, res, err, "commit");
	} else if (strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
		/* COMMIT of a transaction that already failed rolls it back */
		rc = parley_error_set(err, PARLEY_ERR_STORE,
				      "store %s: commit: the transaction had failed and was rolled back",
				      d->base.target);
	}
	PQclear(res);
	if (rc != PARLEY_OK)
		pg_rollback(db);
	d->in_tx = false;
	return rc;
}

static bool pg_in_transaction(struct db *db)
{
	struct pg_db *d = pdb(db);
	return d->in_tx || server_in_tx(d);
}

static enum parley_err pg_version_get(struct db *db, int *version, struct parley_error *err)
{
	struct pg_db *d = pdb(db);
	*version = 0;
	enum parley_err rc = pg_ready(d, err, "schema version");
	if (rc != PARLEY_OK)
		return rc;
	rc = pg_command(d, "CREATE TABLE IF NOT EXISTS parley_schema (version integer NOT NULL)",
			err, "schema version");
	if (rc != PARLEY_OK)
		return rc;
	PGresult *res = PQexec(d->conn, "SELECT version FROM parley_schema LIMIT 1");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = pg_fail(d, res, err, "schema version");
	} else if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)) {
		*version = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	}
	PQclear(res);
	return rc;
}

static enum parley_err pg_version_set(struct db *db, int version, struct parley_error *err)
{
	struct pg_db *d = pdb(db);
	char sql[160];
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE IF NOT EXISTS parley_schema (version integer NOT NULL); "
		 "DELETE FROM parley_schema; INSERT INTO parley_schema (version) VALUES (%d)",
		 version);
	return pg_command(d, sql, err, "set schema version");
}

static enum parley_err pg_migration_lock(struct db *db, struct parley_error *err)
{
	return pg_command(pdb(db), "SELECT pg_advisory_xact_lock(" PG_LOCK_KEY ")", err,
			  "migration lock");
}

const struct db_driver db_driver_postgres = {
	.name = "postgresql",
	.dialect = DB_POSTGRES,
	.open = pg_open,
	.close = pg_close,
	.exec = pg_exec,
	.session_set = pg_session_set,
	.run_later = pg_run_later,
	.run_checked = pg_run_checked,
	.prepare = pg_prepare,
	.bind_int = pg_bind_int,
	.bind_double = pg_bind_double,
	.bind_text = pg_bind_text,
	.bind_null = pg_bind_null,
	.step = pg_step,
	.column_int = pg_column_int,
	.column_double = pg_column_double,
	.column_text = pg_column_text,
	.column_null = pg_column_null,
	.changes = pg_changes,
	.reset = pg_reset,
	.finalize = pg_finalize,
	.begin = pg_begin,
	.begin_durable = pg_begin_durable,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.in_transaction = pg_in_transaction,
	.version_get = pg_version_get,
	.version_set = pg_version_set,
	.migration_lock = pg_migration_lock,
};
