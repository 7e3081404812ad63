/* db.c — driver choice and helpers shared by the drivers; see db.h. */
#include "store/db.h"

#include <stdio.h>
#include <string.h>

/* Targets by prefix; the first match wins, a plain path means SQLite. */
static const struct {
	const char *prefix;
	const struct db_driver *drv;
	size_t skip; /* characters of the prefix the driver does not want */
} db_schemes[] = {
	{"postgresql://", &db_driver_postgres, 0},
	{"postgres://", &db_driver_postgres, 0},
	{"sqlite:", &db_driver_sqlite, 7},
};

enum parley_err db_open(const char *target, struct db **out, struct parley_error *err)
{
	*out = NULL;
	if (!target || !*target)
		return parley_error_set(err, PARLEY_ERR_INVALID, "no store given (a path, sqlite:PATH "
					"or postgresql://…)");
	for (size_t i = 0; i < sizeof(db_schemes) / sizeof(db_schemes[0]); i++) {
		size_t n = strlen(db_schemes[i].prefix);
		if (strncmp(target, db_schemes[i].prefix, n) == 0)
			return db_schemes[i].drv->open(target + db_schemes[i].skip, out, err);
	}
	return db_driver_sqlite.open(target, out, err);
}

void db_close(struct db *db)
{
	if (db)
		db->drv->close(db);
}

void db_target_redact(const char *target, char *out, size_t size)
{
	/* scheme://user:password@host… → scheme://user:***@host… */
	const char *scheme = strstr(target, "://");
	const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
	const char *colon = NULL;
	if (at)
		for (const char *p = scheme + 3; p < at; p++)
			if (*p == ':') {
				colon = p;
				break;
			}
	if (!colon) {
		snprintf(out, size, "%s", target);
		return;
	}
	snprintf(out, size, "%.*s:***%s", (int)(colon - target), target, at);
}
