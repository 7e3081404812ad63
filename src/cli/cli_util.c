/* cli_util.c — option parsing helpers shared by the commands; see cli.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "store/store.h"
#include "util/fs.h"

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

int cli_store_open(const char *who, const char *path, bool create, struct store **st,
		   char *data_dir, size_t size)
{
	struct parley_error err = {0};
	*st = NULL;
	if (!create && !fs_exists(path)) {
		fprintf(stderr, "%s: no store at %s (add recordings with `parley submit` first)\n", who,
			path);
		return 1;
	}
	char dir[PARLEY_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((create && fs_mkdir_p(dir, &err)) || fs_path_join(data_dir, size, dir, "data", &err) ||
	    (create && fs_mkdir_p(data_dir, &err)) || store_open(path, st, &err)) {
		fprintf(stderr, "%s: %s: %s\n", who, path, err.msg);
		store_close(*st);
		*st = NULL;
		return 1;
	}
	return 0;
}
