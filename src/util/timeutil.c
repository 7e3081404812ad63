/* timeutil.c — see timeutil.h. */
#include "util/timeutil.h"

#include <errno.h>
#include <time.h>

static double clock_seconds(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double time_wall(void) { return clock_seconds(CLOCK_REALTIME); }
double time_mono(void) { return clock_seconds(CLOCK_MONOTONIC); }
double time_thread_cpu(void) { return clock_seconds(CLOCK_THREAD_CPUTIME_ID); }
double time_process_cpu(void) { return clock_seconds(CLOCK_PROCESS_CPUTIME_ID); }

void time_sleep(double seconds)
{
	if (seconds <= 0)
		return;
	struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
	nanosleep(&ts, NULL);
}
