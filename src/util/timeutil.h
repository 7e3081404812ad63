/* timeutil.h — clocks: wall time (seconds since the epoch), a monotonic clock,
 * and the CPU time of the calling thread and process. All in seconds. */
#ifndef PARLEY_UTIL_TIMEUTIL_H
#define PARLEY_UTIL_TIMEUTIL_H

double time_wall(void);
double time_mono(void);
double time_thread_cpu(void);
double time_process_cpu(void);
/* Sleep for the given seconds (restarts after signals unless *stop becomes non-zero). */
void time_sleep(double seconds);

#endif
