/*
 * schema.h — the store's schema as an ordered list of migrations.
 * Migration i (1-based) takes a database from version i-1 to i. Append new
 * migrations; never edit a released one. SQL written to run on SQLite and,
 * where the dialects agree, PostgreSQL.
 */
#ifndef PARLEY_STORE_SCHEMA_H
#define PARLEY_STORE_SCHEMA_H

#include <stddef.h>

extern const char *const store_migrations[];
extern const size_t store_migration_count;

#endif
