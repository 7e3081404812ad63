/*
 * parley_test.c — build/tests/parley-test: the parley command (src/cli/
 * main.c, its main renamed parley_cli_main) plus the test-only hooks the
 * parley binary does not have. For tests only; never installed.
 *
 *   PARLEY_TEST_FAULTS="STAGE MODE PREFIX [SECONDS][; …]"
 *       faults of the test stages tick1..tick6 (stages/tick.h)
 *   PARLEY_TEST_TAKE=N
 *       every take of a worker leases up to N recordings (core/worker.h
 *       worker_test_take_size), not the measured take-ahead
 *   PARLEY_TORTURE_FAIL_AT=N
 *       the N-th fail point (util/fail.h: file I/O and, this binary being
 *       linked with the allocation wrap, every allocation) of each process
 *       fails
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/worker.h"
#include "stages/tick.h"
#include "util/fail.h"

int parley_cli_main(int argc, char **argv);

static long fail_at;
static atomic_long seen;

static bool fail_nth(const char *point, void *user_data)
{
	(void)point;
	(void)user_data;
	return atomic_fetch_add(&seen, 1) + 1 == fail_at;
}

int main(int argc, char **argv)
{
	const char *faults = getenv("PARLEY_TEST_FAULTS");
	if (faults && *faults)
		tick_faults_set(faults);
	const char *take = getenv("PARLEY_TEST_TAKE");
	if (take && *take) {
		char *end;
		long n = strtol(take, &end, 10);
		if (*end == '\0' && n > 0)
			worker_test_take_size((size_t)n);
	}
	const char *at = getenv("PARLEY_TORTURE_FAIL_AT");
	if (at && *at) {
		char *end;
		fail_at = strtol(at, &end, 10);
		if (*end == '\0' && fail_at > 0)
			fail_hook_set(fail_nth, NULL);
	}
	return parley_cli_main(argc, argv);
}
