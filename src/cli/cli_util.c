/* cli_util.c — option parsing helpers shared by the commands; see cli.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

int cli_parse_int(const char *flag, const char *value, int min, int max, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (errno || end == value || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "parley: %s wants a whole number from %d to %d, not '%s'\n", flag, min,
			max, value);
		return -1;
	}
	*out = (int)v;
	return 0;
}
