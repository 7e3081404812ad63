/*
 * schema.h — the store's schema as an ordered list of migrations.
 * Migration i (1-based) takes a database from version i-1 to i. Append new
 * migrations; never edit a released one. SQL runs on SQLite and PostgreSQL;
 * the few words they spell differently are tokens (see schema_render).
 */
#ifndef PARLEY_STORE_SCHEMA_H
#define PARLEY_STORE_SCHEMA_H

#include <stddef.h>

#include "store/db.h"
#include "util/strbuf.h"

extern const char *const store_migrations[];
extern const size_t store_migration_count;

/* Append migration with its dialect tokens (@ID@, @REAL@, @BIGINT@) spelled
 * for `dialect` to out. */
enum parley_err schema_render(const char *migration, enum db_dialect dialect, struct strbuf *out,
			      struct parley_error *err);

#endif
