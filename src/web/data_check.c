/* data_check.c — see data_check.h. */
#include "web/data_check.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/statvfs.h>
#include <unistd.h>

const char *web_data_state_name(enum web_data_state st)
{
	static const char *const names[] = {"ok", "full", "unwritable"};
	return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "unknown";
}

static bool probe_write(const char *dir)
{
	char path[4200];
	int n = snprintf(path, sizeof(path), "%s/.health-probe-%lx", dir,
			 (unsigned long)pthread_self());
	if (n < 0 || (size_t)n >= sizeof(path))
		return false;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	bool ok = write(fd, "ok\n", 3) == 3 && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	return unlink(path) == 0 && ok;
}

enum web_data_state web_data_check(const char *dir, unsigned long long min_free, bool probe,
				   unsigned long long *avail)
{
	struct statvfs sv;
	if (avail)
		*avail = 0;
	if (!dir || statvfs(dir, &sv) != 0)
		return WEB_DATA_UNWRITABLE;
	unsigned long long bytes = (unsigned long long)sv.f_bavail * sv.f_frsize;
	if (avail)
		*avail = bytes;
	if (sv.f_flag & ST_RDONLY)
		return WEB_DATA_UNWRITABLE;
	if (probe && !probe_write(dir))
		return WEB_DATA_UNWRITABLE;
	return bytes < min_free ? WEB_DATA_FULL : WEB_DATA_OK;
}
