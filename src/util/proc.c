#include "util/proc.h"

#include "util/fail.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The state letter of /proc/PID/stat ("pid (comm) S ..."; comm may hold
 * spaces and parentheses, so the state follows the last ')'), or 0. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (fail_point("fs.open"))
		return 0; /* unsure: not gone */
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *close = strrchr(buf, ')');
	if (!close || close[1] != ' ' || close[2] == '\0')
		return 0;
	return close[2];
}

bool proc_gone(pid_t pid)
{
	if (pid <= 0)
		return false;
	if (kill(pid, 0) != 0)
		return errno == ESRCH;
	return proc_state(pid) == 'Z';
}

bool proc_owner_gone(const char *owner, const char *host)
{
	size_t hlen = strlen(host);
	if (strncmp(owner, host, hlen) != 0 || owner[hlen] != ':')
		return false;
	const char *digits = owner + hlen + 1;
	char *end;
	errno = 0;
	long pid = strtol(digits, &end, 10);
	if (errno || end == digits || *end || pid <= 0)
		return false;
	return proc_gone((pid_t)pid);
}
