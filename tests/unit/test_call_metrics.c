/*
 * test_call_metrics.c — core/call_metrics.h on hand-made calls whose every
 * figure is worked out by hand in the comments: talk time and share,
 * silences (event spans are not silence), overlap, an interruption beside
 * a backchannel that is not one, turns, words per minute, loudness, hold,
 * IVR time and the agent's first word.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/call_metrics.h"

static double metric(const struct store_call_metric *m, size_t n, const char *scope,
		     const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].scope, scope) == 0 && strcmp(m[i].name, name) == 0)
			return m[i].value;
	print_error("no metric %s.%s\n", scope, name);
	return NAN;
}

static bool has_metric(const struct store_call_metric *m, size_t n, const char *scope,
		       const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].scope, scope) == 0 && strcmp(m[i].name, name) == 0)
			return true;
	return false;
}

#define NEAR(got, want) assert_true(fabs((got) - (want)) < 1e-3)

static size_t count_spans(const struct store_call_span *s, size_t n, const char *kind)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += strcmp(s[i].kind, kind) == 0;
	return k;
}

static const struct store_call_span *span(const struct store_call_span *s, size_t n,
					  const char *kind)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s[i].kind, kind) == 0)
			return &s[i];
	return NULL;
}

/*
 * 60 s: ringback 0-4, IVR prompt 4-10, DTMF 10-11, hold 30-40.
 * agent (speaker 0) runs: 12-15, 18.5-22, 26-30, 46-50, 50.5-52 = 16.0 s
 * customer (1): 15.5-18, 21-25 (overlap 21-22 + main 22-25), 27-27.5
 *               (a backchannel while the agent goes on), 40.5-43 = 9.5 s
 * anyone: 24.0 s; overlap 21-22 and 27-27.5 = 1.5 s in 2 stretches;
 * interruption: the customer at 21, the agent stops at 22 (1 s later) while
 * the customer goes on; the backchannel is not one (the customer stops
 * first). Silences >= 2 s: 43-46 only (30-40 is hold; 40-40.5 short).
 * Turns: agent 4 (50.5-52 continues 46-50: 0.5 s pause, nobody between),
 * customer 4.
 */
static void test_full_call(void **state)
{
	(void)state;
	static const struct store_segment turns[] = {
		{12, 15, 0},  {15.5, 18, 1}, {18.5, 22, 0}, {22, 25, 1},
		{26, 30, 0},  {40.5, 43, 1}, {46, 50, 0},   {50.5, 52, 0},
	};
	static const struct store_segment overlaps[] = {{21, 22, 1}, {27, 27.5, 1}};
	struct store_speaker_role roles[2] = {{0, "agent", 0, "channel"},
					      {1, "customer", 1, "channel"}};
	struct store_call_event events[5] = {{"ringback", 0, 4, -1, "{}"},
					     {"ivr_prompt", 4, 10, -1, "{}"},
					     {"dtmf", 10, 11, -1, "{}"},
					     {"hold", 30, 40, 0, "{}"},
					     {"hold", 30.1, 39.9, 1, "{}"}}; /* heard on both channels */
	struct store_word words[60];
	memset(words, 0, sizeof(words));
	for (int i = 0; i < 60; i++) {
		words[i].speaker = i < 40 ? 0 : 1;
		words[i].start = i < 40 ? 12.2 + i * 0.1 : 15.6 + (i - 40) * 0.1;
		words[i].end = words[i].start + 0.08;
	}
	double loud[2] = {-20, -26};
	struct call_metrics_input in = {
		.duration = 60, .turns = turns, .nturns = 8, .overlaps = overlaps, .noverlaps = 2,
		.words = words, .nwords = 60, .roles = roles, .nroles = 2, .events = events,
		.nevents = 5, .loudness = loud, .nloudness = 2, .call_loudness = -23,
	};
	struct store_call_metric *m;
	struct store_call_span *s;
	size_t nm, ns;
	struct parley_error err = {0};
	assert_int_equal(call_metrics_compute(&in, NULL, &m, &nm, &s, &ns, &err), PARLEY_OK);
	NEAR(metric(m, nm, "call", "duration"), 60);
	NEAR(metric(m, nm, "call", "talk_time"), 24);
	NEAR(metric(m, nm, "call", "non_talk_time"), 36);
	NEAR(metric(m, nm, "agent", "talk_time"), 16);
	NEAR(metric(m, nm, "customer", "talk_time"), 9.5);
	NEAR(metric(m, nm, "agent", "talk_share"), 0.627);  /* 16 / 25.5, rounded to ms */
	NEAR(metric(m, nm, "customer", "talk_share"), 0.373);
	NEAR(metric(m, nm, "call", "overlap_time"), 1.5);
	NEAR(metric(m, nm, "call", "overlap_count"), 2);
	NEAR(metric(m, nm, "agent", "overlap_time"), 1.5);
	NEAR(metric(m, nm, "customer", "overlap_time"), 1.5);
	NEAR(metric(m, nm, "call", "interruption_count"), 1);
	NEAR(metric(m, nm, "call", "interruption_time"), 1);
	NEAR(metric(m, nm, "customer", "interruptions_made"), 1);
	NEAR(metric(m, nm, "agent", "interruptions_received"), 1);
	NEAR(metric(m, nm, "agent", "interruptions_made"), 0);
	NEAR(metric(m, nm, "call", "silence_count"), 1);
	NEAR(metric(m, nm, "call", "silence_time"), 3);
	NEAR(metric(m, nm, "call", "silence_max"), 3);
	NEAR(metric(m, nm, "agent", "turns"), 4);
	NEAR(metric(m, nm, "customer", "turns"), 4);
	NEAR(metric(m, nm, "agent", "mean_turn"), 4);
	NEAR(metric(m, nm, "customer", "mean_turn"), 2.375);
	NEAR(metric(m, nm, "agent", "words"), 40);
	NEAR(metric(m, nm, "agent", "wpm"), 150);    /* 40 / (16 / 60) */
	NEAR(metric(m, nm, "customer", "wpm"), 126.316); /* 20 / (9.5 / 60) */
	NEAR(metric(m, nm, "agent", "loudness_lufs"), -20);
	NEAR(metric(m, nm, "customer", "loudness_lufs"), -26);
	NEAR(metric(m, nm, "call", "loudness_lufs"), -23);
	NEAR(metric(m, nm, "call", "hold_time"), 10);
	NEAR(metric(m, nm, "call", "hold_count"), 1);
	NEAR(metric(m, nm, "call", "ivr_time"), 7); /* IVR prompt 4 .. DTMF 11 */
	NEAR(metric(m, nm, "call", "agent_first_word"), 12.2);

	assert_int_equal(count_spans(s, ns, "silence"), 1);
	const struct store_call_span *x = span(s, ns, "silence");
	NEAR(x->start, 43);
	NEAR(x->end, 46);
	assert_string_equal(x->who, "customer");
	assert_string_equal(x->other, "agent");
	assert_int_equal(count_spans(s, ns, "interruption"), 1);
	x = span(s, ns, "interruption");
	NEAR(x->start, 21);
	NEAR(x->end, 22);
	assert_string_equal(x->who, "customer");
	assert_string_equal(x->other, "agent");
	assert_int_equal(count_spans(s, ns, "overlap"), 2);
	x = span(s, ns, "overlap");
	assert_string_equal(x->who, "agent"); /* talking first */
	assert_string_equal(x->other, "customer");
	assert_int_equal(count_spans(s, ns, "hold"), 1);
	free(m);
	free(s);

	/* a longer silence threshold finds none; a shorter yield drops the interruption */
	struct call_metrics_params p = call_metrics_default_params();
	p.silence_min = 3.5;
	p.interrupt_yield = 0.5;
	assert_int_equal(call_metrics_compute(&in, &p, &m, &nm, &s, &ns, &err), PARLEY_OK);
	NEAR(metric(m, nm, "call", "silence_count"), 0);
	NEAR(metric(m, nm, "call", "interruption_count"), 0);
	assert_int_equal(count_spans(s, ns, "silence") + count_spans(s, ns, "interruption"), 0);
	/* 30-40 is hold, 40-40.5 and 43-46 are short: agent turns at 3.5 s:
	 * 46-50 follows 30 after a 16 s pause, still a new turn */
	NEAR(metric(m, nm, "agent", "turns"), 4);
	free(m);
	free(s);
}

/* No roles: parties are speaker:N; shared roles make one party; no words,
 * no loudness, no agent: those metrics are absent. */
static void test_parties(void **state)
{
	(void)state;
	static const struct store_segment turns[] = {{0, 2, 0}, {2.5, 4, 1}, {5, 6, 2}};
	struct call_metrics_input in = {.duration = 10, .turns = turns, .nturns = 3,
					.call_loudness = NAN};
	struct store_call_metric *m;
	struct store_call_span *s;
	size_t nm, ns;
	struct parley_error err = {0};
	assert_int_equal(call_metrics_compute(&in, NULL, &m, &nm, &s, &ns, &err), PARLEY_OK);
	NEAR(metric(m, nm, "speaker:1", "talk_time"), 2);
	NEAR(metric(m, nm, "speaker:3", "talk_share"), 0.222); /* 1 / 4.5 */
	assert_false(has_metric(m, nm, "speaker:1", "wpm"));
	assert_false(has_metric(m, nm, "speaker:1", "loudness_lufs"));
	assert_false(has_metric(m, nm, "call", "agent_first_word"));
	assert_false(has_metric(m, nm, "call", "loudness_lufs"));
	NEAR(metric(m, nm, "call", "ivr_time"), 0);
	NEAR(metric(m, nm, "call", "hold_time"), 0);
	assert_int_equal(ns, 0);
	free(m);
	free(s);

	struct store_speaker_role roles[3] = {{0, "agent", -1, "first_after_ivr"},
					      {1, "customer", -1, "first_after_ivr"},
					      {2, "customer", -1, "first_after_ivr"}};
	in.roles = roles;
	in.nroles = 3;
	assert_int_equal(call_metrics_compute(&in, NULL, &m, &nm, &s, &ns, &err), PARLEY_OK);
	NEAR(metric(m, nm, "customer", "talk_time"), 2.5);
	NEAR(metric(m, nm, "customer", "turns"), 1); /* 2.5-4 and 5-6: nobody between */
	NEAR(metric(m, nm, "agent", "talk_share"), 0.444);
	NEAR(metric(m, nm, "call", "agent_first_word"), 0); /* no words: its first talk */
	assert_false(has_metric(m, nm, "speaker:2", "talk_time"));
	free(m);
	free(s);

	assert_int_equal(call_metrics_compute(NULL, NULL, &m, &nm, &s, &ns, &err),
			 PARLEY_ERR_INVALID);
	static const struct store_segment many[] = {{0, 1, 70}};
	struct call_metrics_input big = {.duration = 2, .turns = many, .nturns = 1};
	assert_int_equal(call_metrics_compute(&big, NULL, &m, &nm, &s, &ns, &err),
			 PARLEY_ERR_TOO_LARGE);
	assert_null(m);
	assert_null(s);
}

static void test_roles_helpers(void **state)
{
	(void)state;
	struct store_call_event ev[3] = {{"ringback", 0, 5, -1, "{}"},
					 {"ivr_prompt", 5, 14, -1, "{}"},
					 {"hold", 60, 90, -1, "{}"}};
	NEAR(call_ivr_end(ev, 3), 14);
	NEAR(call_ivr_end(ev + 2, 1), 0);
	NEAR(call_ivr_end(NULL, 0), 0);
	static const struct store_segment turns[] = {{3, 4, 1}, {14.2, 16, 0}, {16.5, 18, 1}};
	assert_int_equal(call_first_speaker_after(turns, 3, 14), 0);
	assert_int_equal(call_first_speaker_after(turns, 3, 0), 1);
	assert_int_equal(call_first_speaker_after(turns, 3, 100), 1); /* none after: the first */
	/* a short turn right after the IVR (a music tail) does not decide */
	static const struct store_segment tail[] = {{14, 14.4, 1}, {14.9, 17, 0}, {17.5, 19, 1}};
	assert_int_equal(call_first_speaker_after(tail, 3, 14), 0);
	static const struct store_segment shorts[] = {{14, 14.4, 1}, {14.9, 15.2, 0}};
	assert_int_equal(call_first_speaker_after(shorts, 2, 14), 1); /* none long: the first after */
	struct store_call_event q[2] = {{"ivr_prompt", 5, 14, -1, "{}"}, {"music", 15, 40, -1, "{}"}};
	NEAR(call_ivr_end(q, 2), 40); /* queue music ends the opening */
	assert_int_equal(call_first_speaker_after(NULL, 0, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_call),
		cmocka_unit_test(test_parties),
		cmocka_unit_test(test_roles_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
