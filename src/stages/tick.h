/*
 * tick.h — the test stages' faults (stages/tick.c), set by a test-only hook.
 *
 * The parley binary never calls tick_faults_set, so its tick stages always
 * just commit their effect. build/tests/parley-test (tests/support/
 * parley_test.c: parley plus test hooks, never installed) calls it at start
 * with its PARLEY_TEST_FAULTS variable, so the integration and chaos tests
 * get failing, slow or crashing test stages from that binary alone.
 *
 * spec: "STAGE MODE PREFIX [SECONDS][; …]" (at most TICK_FAULTS_MAX entries)
 * for recordings whose name starts with PREFIX ("*" = all):
 *   transient-once  fail transiently on the recording's first attempt
 *   transient       fail transiently on every attempt
 *   permanent       fail permanently
 *   sleep           take SECONDS (stops early, cleanly, on SIGTERM)
 *   crash           abort() the worker process (a crashed engine)
 *   crash-once      abort() on the first attempt only (then it passes)
 * Malformed entries are reported on stderr and ignored; NULL or "" clears.
 * Call it before any worker starts (forked workers inherit it); not
 * thread-safe against running stages.
 */
#ifndef PARLEY_STAGES_TICK_H
#define PARLEY_STAGES_TICK_H

#define TICK_FAULTS_MAX 8

/* Returns how many entries were taken. */
int tick_faults_set(const char *spec);

#endif
