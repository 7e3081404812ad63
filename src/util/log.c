/* log.c — see log.h. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>

static enum log_level log_level_now = LOG_WARN;

void log_set_level(enum log_level level) { log_level_now = level; }
enum log_level log_get_level(void) { return log_level_now; }

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = {"error: ", "warning: ", "", "debug: "};
	if (level > log_level_now)
		return;
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "parley: %s%s\n", prefix[level], line);
}
