/* test_ps_verify.c — the target verifier's scoring and candidate finding
 * (engines/ps_verify.h), on hand-made spans: no model needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engines/ps_verify.h"
#include "text/lexicon.h"

static void test_loop_score_overlap(void **state)
{
	(void)state;
	/* Three phones: 0-9 (-20), 10-19 (-40), 20-29 (-10). */
	const struct ps_verify_span ph[] = {{0, 9, -20.0}, {10, 19, -40.0}, {20, 29, -10.0}};
	int cov = -1;
	/* Exactly the middle phone. */
	assert_float_equal(ps_verify_loop_score(10, 19, ph, 3, &cov), -40.0, 1e-9);
	assert_int_equal(cov, 10);
	/* Half of the first, all of the second: -10 + -40. */
	assert_float_equal(ps_verify_loop_score(5, 19, ph, 3, &cov), -50.0, 1e-9);
	assert_int_equal(cov, 15);
	/* One frame of each side phone around the middle one. */
	assert_float_equal(ps_verify_loop_score(9, 20, ph, 3, &cov), -2.0 - 40.0 - 1.0, 1e-9);
	assert_int_equal(cov, 12);
	/* Outside every phone. */
	assert_float_equal(ps_verify_loop_score(40, 50, ph, 3, &cov), 0.0, 0.0);
	assert_int_equal(cov, 0);
	/* A gap (the loop's unscored first phone) is not covered. */
	const struct ps_verify_span gap[] = {{10, 19, -40.0}};
	assert_float_equal(ps_verify_loop_score(5, 14, gap, 1, &cov), -20.0, 1e-9);
	assert_int_equal(cov, 5);
	/* NULL covered is allowed. */
	assert_float_equal(ps_verify_loop_score(0, 9, ph, 3, NULL), -20.0, 1e-9);
}

static void test_llr(void **state)
{
	(void)state;
	const struct ps_verify_span ph[] = {{0, 9, -20.0}, {10, 19, -40.0}, {20, 29, -10.0}};
	/* A word that scores as well as the loop: ratio 0. */
	struct ps_verify_span w = {10, 19, -40.0};
	assert_float_equal(ps_verify_llr(&w, 1, ph, 3), 0.0, 1e-12);
	/* 20 worse over 10 frames: -2 per frame. */
	w.score = -60.0;
	assert_float_equal(ps_verify_llr(&w, 1, ph, 3), -2.0, 1e-12);
	/* Better than the loop (search effects): positive. */
	w.score = -35.0;
	assert_float_equal(ps_verify_llr(&w, 1, ph, 3), 0.5, 1e-12);
	/* Partly covered: the loop score is scaled to the whole word. Word 5-14
	 * against a loop covering 10-14 only (-20 over 5 frames -> -40 over 10). */
	const struct ps_verify_span gap[] = {{10, 19, -40.0}};
	w = (struct ps_verify_span){5, 14, -50.0};
	assert_float_equal(ps_verify_llr(&w, 1, gap, 1), -1.0, 1e-12);
	/* A phrase of two words, a pause between them not scored. */
	const struct ps_verify_span two[] = {{0, 9, -30.0}, {20, 29, -10.0}};
	assert_float_equal(ps_verify_llr(two, 2, ph, 3), (-40.0 - -30.0) / 20.0, 1e-12);
	/* Nothing to compare: not verified. */
	w = (struct ps_verify_span){40, 49, -1.0};
	assert_true(isinf(ps_verify_llr(&w, 1, ph, 3)) && ps_verify_llr(&w, 1, ph, 3) < 0);
	assert_true(isinf(ps_verify_llr(&w, 0, ph, 3)));
	assert_true(isinf(ps_verify_llr(&w, 1, NULL, 0)));
}

static void test_baseline(void **state)
{
	(void)state;
	/* Loop: -1 per frame over 0..39. */
	const struct ps_verify_span ph[] = {{0, 9, -10.0}, {10, 19, -10.0}, {20, 29, -10.0},
					    {30, 39, -10.0}};
	/* Words: 0-9 at -2/frame, 10-19 (the candidate) at -5/frame, 20-29 at
	 * -3/frame, 50-59 outside the loop (left out). */
	const struct ps_verify_span w[] = {
		{0, 9, -20.0}, {10, 19, -50.0}, {20, 29, -30.0}, {50, 59, -99.0}};
	struct ps_verify_cand c = {1, 1, "lah"};
	/* Others: (-50 - -20) / 20 frames = -1.5. */
	assert_float_equal(ps_verify_baseline(w, 4, &c, 1, ph, 4), -1.5, 1e-12);
	/* The candidate alone: -4 per frame; relative to the others -2.5. */
	assert_float_equal(ps_verify_llr(&w[1], 1, ph, 4), -4.0, 1e-12);
	/* No candidates: every covered word. */
	assert_float_equal(ps_verify_baseline(w, 4, NULL, 0, ph, 4), (-100.0 - -30.0) / 30.0,
			   1e-12);
	/* Only candidates or only uncovered words: NAN. */
	struct ps_verify_cand all = {0, 2, "walao"};
	assert_true(isnan(ps_verify_baseline(w, 3, &all, 1, ph, 4)));
	assert_true(isnan(ps_verify_baseline(&w[3], 1, NULL, 0, ph, 4)));
}

static struct lexicon *lex_ok(const char *text)
{
	struct lexicon *lex = NULL;
	struct parley_error err = {0};
	if (lexicon_parse(text, strlen(text), "t.lex", &lex, &err) != PARLEY_OK)
		fail_msg("lexicon: %s", err.msg);
	return lex;
}

static void set_tok(struct lex_token *t, const char *text, double start)
{
	snprintf(t->text, sizeof(t->text), "%s", text);
	t->start = start;
	t->end = start + 0.3;
	t->conf = 0.5f;
	t->speaker = 0;
}

static void test_candidates(void **state)
{
	(void)state;
	struct lexicon *lex = lex_ok("target lah L AA\n"
				     "target walao W AA L AW\n"
				     "correct la => lah\n"
				     "correct wah lau => walao\n");
	struct lex_token t[7];
	set_tok(&t[0], "the", 0.0);
	set_tok(&t[1], "law", 0.4);   /* English: not a candidate */
	set_tok(&t[2], "la", 0.8);    /* corrected into lah */
	set_tok(&t[3], "wah", 1.2);   /* phrase -> walao */
	set_tok(&t[4], "lau", 1.6);
	set_tok(&t[5], "lah", 2.0);   /* a target as recognised */
	set_tok(&t[6], "wah", 2.4);   /* "wah" alone stays English */
	struct ps_verify_cand c[8];
	size_t n = ps_verify_candidates(lex, t, 7, c, 8);
	assert_int_equal(n, 3);
	assert_int_equal(c[0].first, 2);
	assert_int_equal(c[0].last, 2);
	assert_string_equal(c[0].target, "lah");
	assert_int_equal(c[1].first, 3);
	assert_int_equal(c[1].last, 4);
	assert_string_equal(c[1].target, "walao");
	assert_int_equal(c[2].first, 5);
	assert_int_equal(c[2].last, 5);
	/* The tokens are not modified. */
	assert_string_equal(t[2].text, "la");
	assert_string_equal(t[3].text, "wah");
	/* cap: the count is still returned, only cap are written. */
	memset(c, 0, sizeof(c));
	assert_int_equal(ps_verify_candidates(lex, t, 7, c, 1), 3);
	assert_int_equal(c[0].first, 2);
	assert_int_equal(c[1].first, 0);
	/* A phrase split by a pause longer than LEXICON_MERGE_MAX_GAP is not one. */
	t[4].start = t[3].end + LEXICON_MERGE_MAX_GAP + 0.5;
	assert_int_equal(ps_verify_candidates(lex, t, 7, c, 8), 2);
	/* No lexicon, no words, no targets. */
	assert_int_equal(ps_verify_candidates(NULL, t, 7, c, 8), 0);
	assert_int_equal(ps_verify_candidates(lex, t, 0, c, 8), 0);
	lexicon_free(lex);
	lex = lex_ok("correct la => law\n");
	assert_int_equal(ps_verify_candidates(lex, t, 7, c, 8), 0);
	lexicon_free(lex);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop_score_overlap),
		cmocka_unit_test(test_llr),
		cmocka_unit_test(test_baseline),
		cmocka_unit_test(test_candidates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
