/*
 * test_eval.c — the measuring tools on hand-computed cases: DER (mapping,
 * overlap, collar, empty sides, UEM scoring regions), WER (counted edits),
 * keyword P/R/F1, the RTTM and UEM parsers' errors, and reading a run's
 * transcript.json (a run without speech recognition has no transcript).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eval/der.h"
#include "eval/keywords.h"
#include "eval/rttm.h"
#include "eval/transcript.h"
#include "eval/wer.h"

#define EPS 1e-9
#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct der_result score(const struct der_segment *ref, size_t nr, size_t nrs,
			       const struct der_segment *hyp, size_t nh, size_t nhs, double collar)
{
	struct der_params p = {.collar = collar};
	struct der_result r;
	struct parley_error err = {0};
	assert_int_equal(der_compute(ref, nr, nrs, hyp, nh, nhs, &p, &r, &err), PARLEY_OK);
	return r;
}

/* ---- DER ---- */

static const struct der_segment two_speakers[] = {{0, 10, 0}, {10, 20, 1}};

static void test_der_perfect(void **state)
{
	struct der_result r = score(two_speakers, 2, 2, two_speakers, 2, 2, 0);
	assert_float_equal(r.der, 0, EPS);
	assert_float_equal(r.scored, 20, EPS);
	assert_int_equal(r.hyp_to_ref[0], 0);
	assert_int_equal(r.hyp_to_ref[1], 1);
	der_result_release(&r);
}

static void test_der_all_missed(void **state)
{
	struct der_result r = score(two_speakers, 2, 2, NULL, 0, 0, 0.25);
	/* Collar removes 0.25 around 0, 10, 20: scored 20 - 0.25 - 0.5 - 0.25. */
	assert_float_equal(r.scored, 19, EPS);
	assert_float_equal(r.missed, 19, EPS);
	assert_float_equal(r.der, 1, EPS);
	der_result_release(&r);
	r = score(two_speakers, 2, 2, NULL, 0, 0, 0);
	assert_float_equal(r.missed / r.scored, 1, EPS);
	der_result_release(&r);
}

static void test_der_false_alarm(void **state)
{
	/* Reference: 1 s of speech; hypothesis adds 9 s more elsewhere. */
	const struct der_segment ref[] = {{0, 1, 0}};
	const struct der_segment hyp[] = {{0, 1, 0}, {5, 14, 0}};
	struct der_result r = score(ref, 1, 1, hyp, 2, 1, 0);
	assert_float_equal(r.scored, 1, EPS);
	assert_float_equal(r.false_alarm, 9, EPS);
	assert_float_equal(r.missed, 0, EPS);
	assert_float_equal(r.der, 9, EPS);
	der_result_release(&r);
	/* No reference speech at all: DER undefined, false alarm still measured. */
	r = score(NULL, 0, 0, hyp, 2, 1, 0.25);
	assert_true(isnan(r.der));
	assert_float_equal(r.false_alarm, 10, EPS);
	assert_int_equal(r.hyp_to_ref[0], -1);
	der_result_release(&r);
}

static void test_der_swapped_labels(void **state)
{
	const struct der_segment hyp[] = {{0, 10, 1}, {10, 20, 0}};
	struct der_result r = score(two_speakers, 2, 2, hyp, 2, 2, 0);
	assert_float_equal(r.der, 0, EPS);
	assert_int_equal(r.hyp_to_ref[0], 1);
	assert_int_equal(r.hyp_to_ref[1], 0);
	der_result_release(&r);
}

static void test_der_extra_and_missing_speaker(void **state)
{
	/* Extra: hyp splits ref speaker 1 in two: 10..16 correct, 16..20 confused. */
	const struct der_segment extra[] = {{0, 10, 0}, {10, 16, 1}, {16, 20, 2}};
	struct der_result r = score(two_speakers, 2, 2, extra, 3, 3, 0);
	assert_float_equal(r.confusion, 4, EPS);
	assert_float_equal(r.der, 0.2, EPS);
	assert_int_equal(r.hyp_to_ref[1], 1);
	assert_int_equal(r.hyp_to_ref[2], -1);
	der_result_release(&r);
	/* Missing: hyp labels everything as one speaker: 10 s confused. */
	const struct der_segment one[] = {{0, 20, 0}};
	r = score(two_speakers, 2, 2, one, 1, 1, 0);
	assert_float_equal(r.confusion, 10, EPS);
	assert_float_equal(r.der, 0.5, EPS);
	der_result_release(&r);
}

static void test_der_overlap(void **state)
{
	/* Reference: A 0..10, B 5..15 (5 s overlap): 20 speaker-seconds. */
	const struct der_segment ref[] = {{0, 10, 0}, {5, 15, 1}};
	/* Hypothesis without overlap: A 0..10, B 10..15: misses B 5..10. */
	const struct der_segment hyp[] = {{0, 10, 0}, {10, 15, 1}};
	struct der_result r = score(ref, 2, 2, hyp, 2, 2, 0);
	assert_float_equal(r.scored, 20, EPS);
	assert_float_equal(r.missed, 5, EPS);
	assert_float_equal(r.false_alarm, 0, EPS);
	assert_float_equal(r.confusion, 0, EPS);
	assert_float_equal(r.der, 0.25, EPS);
	der_result_release(&r);
	/* Same speaker's own segments overlapping count once. */
	const struct der_segment self[] = {{0, 10, 0}, {5, 12, 0}};
	const struct der_segment hyp1[] = {{0, 12, 0}};
	r = score(self, 2, 1, hyp1, 1, 1, 0);
	assert_float_equal(r.scored, 12, EPS);
	assert_float_equal(r.der, 0, EPS);
	der_result_release(&r);
}

static void test_der_empty(void **state)
{
	struct der_result r = score(NULL, 0, 0, NULL, 0, 0, 0.25);
	assert_true(isnan(r.der));
	assert_float_equal(r.scored + r.missed + r.false_alarm + r.confusion, 0, EPS);
	der_result_release(&r);
	/* Zero-length segments are ignored. */
	const struct der_segment z[] = {{3, 3, 0}};
	r = score(z, 1, 1, z, 1, 1, 0);
	assert_float_equal(r.scored, 0, EPS);
	der_result_release(&r);
}

static void test_der_collar(void **state)
{
	/* Hyp boundary 0.2 s late at 10 s: inside a 0.25 collar, not counted. */
	const struct der_segment hyp[] = {{0, 10.2, 0}, {10.2, 20, 1}};
	struct der_result r = score(two_speakers, 2, 2, hyp, 2, 2, 0.25);
	assert_float_equal(r.der, 0, EPS);
	assert_float_equal(r.scored, 19, EPS);
	der_result_release(&r);
	r = score(two_speakers, 2, 2, hyp, 2, 2, 0);
	assert_float_equal(r.confusion, 0.2, EPS);
	assert_float_equal(r.der, 0.01, EPS);
	der_result_release(&r);
	/* 0.3 s late: 0.05 s outside the collar is confusion. */
	const struct der_segment late[] = {{0, 10.3, 0}, {10.3, 20, 1}};
	r = score(two_speakers, 2, 2, late, 2, 2, 0.25);
	assert_float_equal(r.confusion, 0.05, 1e-9);
	assert_float_equal(r.der, 0.05 / 19, 1e-9);
	der_result_release(&r);
}

static void test_der_bad_input(void **state)
{
	const struct der_segment bad[] = {{5, 4, 0}};
	const struct der_segment spk[] = {{0, 1, 3}};
	struct der_result r;
	struct parley_error err = {0};
	assert_int_equal(der_compute(bad, 1, 1, NULL, 0, 0, NULL, &r, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "reference segment 1"));
	assert_int_equal(der_compute(NULL, 0, 0, spk, 1, 1, NULL, &r, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "hypothesis"));
}

/* The Hungarian assignment equals exhaustive search on pseudo-random 5x4. */
static void test_der_assignment_optimal(void **state)
{
	uint32_t seed = 12345;
	for (int round = 0; round < 200; round++) {
		double w[5 * 4];
		for (size_t i = 0; i < N(w); i++) {
			seed = seed * 1103515245u + 12345u;
			w[i] = (double)((seed >> 16) % 7);
		}
		int map[5];
		assert_int_equal(der_assign_max(w, 5, 4, map, NULL), PARLEY_OK);
		double got = 0;
		int used[4] = {0};
		for (int r = 0; r < 5; r++)
			if (map[r] >= 0) {
				assert_int_equal(used[map[r]], 0);
				used[map[r]] = 1;
				got += w[r * 4 + map[r]];
			}
		/* Exhaustive: each column picks a distinct row (or none: row 5). */
		double best = 0;
		for (int a = 0; a < 6; a++)
			for (int b = 0; b < 6; b++)
				for (int c = 0; c < 6; c++)
					for (int d = 0; d < 6; d++) {
						int rows[4] = {a, b, c, d};
						double s = 0;
						int ok = 1;
						for (int x = 0; x < 4 && ok; x++) {
							if (rows[x] == 5)
								continue;
							for (int y = 0; y < x; y++)
								if (rows[y] == rows[x])
									ok = 0;
							s += w[rows[x] * 4 + x];
						}
						if (ok && s > best)
							best = s;
					}
		assert_float_equal(got, best, EPS);
	}
}

/* ---- WER ---- */

static void test_wer_normalise(void **state)
{
	struct strbuf sb;
	strbuf_init(&sb, 0);
	assert_int_equal(wer_normalise("  Hello,   WORLD! It's walao-eh.\n", &sb, NULL), PARLEY_OK);
	assert_string_equal(sb.buf, "hello world its walao eh");
	strbuf_release(&sb);
}

static void test_wer_counts(void **state)
{
	struct wer_result r;
	/* ref 6 words; hyp: "the" deleted, "sat"->"sit", "there" inserted. */
	assert_int_equal(wer_compute("The cat sat on the mat.", "cat sit on the mat there", &r, NULL),
			 PARLEY_OK);
	assert_int_equal(r.ref_words, 6);
	assert_int_equal(r.hyp_words, 6);
	assert_int_equal(r.sub, 1);
	assert_int_equal(r.del, 1);
	assert_int_equal(r.ins, 1);
	assert_int_equal(r.correct, 4);
	assert_float_equal(r.wer, 0.5, EPS);
	assert_int_equal(wer_compute("a b c", "a b c", &r, NULL), PARLEY_OK);
	assert_float_equal(r.wer, 0, EPS);
	assert_int_equal(wer_compute("a b", "", &r, NULL), PARLEY_OK);
	assert_int_equal(r.del, 2);
	assert_float_equal(r.wer, 1, EPS);
	assert_int_equal(wer_compute("", "x y", &r, NULL), PARLEY_OK);
	assert_int_equal(r.ins, 2);
	assert_true(isnan(r.wer));
	assert_int_equal(wer_compute("a b c d", "x y", &r, NULL), PARLEY_OK);
	assert_int_equal(r.sub, 2);
	assert_int_equal(r.del, 2);
}

static void test_wer_stm(void **state)
{
	struct strbuf sb;
	strbuf_init(&sb, 0);
	assert_int_equal(wer_reference_text(";; comment\n"
					    "conv 1 spk1 0.50 2.15 <o,f0,male> hello there\n"
					    "conv 1 spk2 2.68 4.82 how are you\n"
					    "plain text line\n",
					    &sb, NULL),
			 PARLEY_OK);
	assert_string_equal(sb.buf, "\nhello there\nhow are you\nplain text line\n");
	strbuf_release(&sb);
}

/* ---- keywords ---- */

static void test_keywords(void **state)
{
	struct kw_counts ref = {0}, hyp = {0};
	struct parley_error err = {0};
	assert_int_equal(kw_counts_parse_csv("speaker,word,count\r\nA,lah,3\nA,lor,1\nB,lah,2\n",
					     "r.csv", &ref, &err),
			 PARLEY_OK);
	/* hyp speaker x maps to A, y to B, z unmapped. */
	assert_int_equal(kw_counts_add(&hyp, "x", "lah", 2, &err), PARLEY_OK);
	assert_int_equal(kw_counts_add(&hyp, "y", "lah", 4, &err), PARLEY_OK);
	assert_int_equal(kw_counts_add(&hyp, "z", "lor", 1, &err), PARLEY_OK);
	assert_int_equal(kw_counts_add(&hyp, "x", "meh", 0, &err), PARLEY_OK);
	const char *names[] = {"x", "y", "z"};
	const char *map[] = {"A", "B", NULL};
	struct kw_score s;
	assert_int_equal(kw_score(&ref, &hyp, names, map, 3, &s, &err), PARLEY_OK);
	assert_int_equal(s.n, 2); /* meh: zero on both sides, left out */
	/* lah: ref 5, hyp 6, TP min(3,2)+min(2,4)=4, FP 2, FN 1. */
	assert_string_equal(s.words[0].word, "lah");
	assert_int_equal(s.words[0].tp, 4);
	assert_int_equal(s.words[0].fp, 2);
	assert_int_equal(s.words[0].fn, 1);
	assert_float_equal(s.words[0].precision, 4.0 / 6, EPS);
	assert_float_equal(s.words[0].recall, 4.0 / 5, EPS);
	assert_float_equal(s.words[0].f1, 8.0 / 11, EPS);
	/* lor: z is unmapped: TP 0 speaker-aware, 1 agnostic. */
	assert_int_equal(s.words[1].tp, 0);
	assert_float_equal(s.words[1].f1, 0, EPS);
	assert_int_equal(s.agnostic[1].tp, 1);
	assert_float_equal(s.agnostic[1].f1, 1, EPS);
	assert_int_equal(s.agnostic[0].tp, 5);
	/* totals: ref 6, hyp 7, TP 4 / agnostic 6. */
	assert_int_equal(s.total.tp, 4);
	assert_float_equal(s.total.f1, 8.0 / 13, EPS);
	assert_float_equal(s.agnostic_total.f1, 12.0 / 13, EPS);
	kw_score_release(&s);
	kw_counts_release(&ref);
	kw_counts_release(&hyp);

	struct kw_counts bad = {0};
	assert_int_equal(kw_counts_parse_csv("speaker,word,count\nA,lah,x\n", "b.csv", &bad, &err),
			 PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "b.csv:2:"));
	kw_counts_release(&bad);
	assert_int_equal(kw_counts_parse_csv("who,what\n", "h.csv", &bad, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "h.csv:1:"));
	kw_counts_release(&bad);
}

/* ---- RTTM ---- */

static void expect_rttm_error(const char *text, const char *what)
{
	struct rttm r;
	struct parley_error err = {0};
	assert_int_equal(rttm_parse(text, strlen(text), "x.rttm", &r, &err), PARLEY_ERR_INVALID);
	if (!strstr(err.msg, what))
		fail_msg("message '%s' lacks '%s'", err.msg, what);
	assert_null(r.segs);
}

static void test_rttm_parse(void **state)
{
	const char *text = ";; comment\n"
			   "SPKR-INFO conv 1 <NA> <NA> <NA> unknown spk1 <NA> <NA>\n"
			   "\n"
			   "SPEAKER conv 1 0.500 1.645 <NA> <NA> spk1 <NA> <NA>\r\n"
			   "SPEAKER conv 1 2.0 1 <NA> <NA> Émilie <NA>\n"
			   "SPEAKER other 1 1e1 0.5 <NA> <NA> spk1 <NA> <NA>";
	struct rttm r;
	struct parley_error err = {0};
	assert_int_equal(rttm_parse(text, strlen(text), "ok.rttm", &r, &err), PARLEY_OK);
	assert_int_equal(r.nsegs, 3);
	assert_int_equal(r.nfiles, 2);
	assert_int_equal(r.nspeakers, 2);
	assert_string_equal(r.speakers[1], "Émilie");
	assert_float_equal(r.segs[0].start, 0.5, EPS);
	assert_float_equal(r.segs[0].end, 2.145, EPS);
	assert_int_equal(r.segs[0].line, 4);
	assert_float_equal(r.segs[2].start, 10, EPS);
	assert_int_equal(r.segs[2].file, 1);
	rttm_release(&r);
	assert_int_equal(rttm_parse("", 0, "empty.rttm", &r, &err), PARLEY_OK);
	assert_int_equal(r.nsegs, 0);
	rttm_release(&r);
}

static void test_rttm_errors(void **state)
{
	expect_rttm_error("SPEAKER conv 1 0.5 1.0 <NA> <NA> spk1\n", "x.rttm:1: SPEAKER line has 8 fields");
	expect_rttm_error("\nSPEAKER conv 1 0.5 -1.0 <NA> <NA> spk1 <NA> <NA>\n",
			  "x.rttm:2: duration -1 is negative");
	expect_rttm_error("SPEAKER conv 1 abc 1.0 <NA> <NA> spk1 <NA> <NA>\n",
			  "x.rttm:1: start time 'abc' is not a number");
	expect_rttm_error("SPEAKER conv 1 0.5 nan <NA> <NA> spk1 <NA> <NA>\n", "not a number");
	expect_rttm_error("SPEAKER conv 1 -2 1 <NA> <NA> spk1 <NA> <NA>\n", "negative");
	expect_rttm_error("SPEAKER conv 1 0 1 <NA> <NA> spk\xff <NA> <NA>\n", "not valid UTF-8");
	expect_rttm_error("SPEAKER conv 1 0 1 <NA> <NA> a b c d e\n", "more than 10 fields");
	char nul[] = "SPEAKER conv 1 0 1 <NA> <NA> s <NA> <NA>\nSPEAKER \0";
	struct rttm r;
	struct parley_error err = {0};
	assert_int_equal(rttm_parse(nul, sizeof(nul) - 1, "n.rttm", &r, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "n.rttm:2: contains a NUL byte"));
	char *long_line = malloc(RTTM_MAX_LINE + 10);
	assert_non_null(long_line);
	memset(long_line, 'a', RTTM_MAX_LINE + 9);
	long_line[RTTM_MAX_LINE + 9] = '\0';
	expect_rttm_error(long_line, "x.rttm:1: line longer than");
	free(long_line);
}

/*
 * Scoring regions (UEM) [5, 11] and [15, 30]. Reference A 0-10, B 10-20;
 * hypothesis A' 0-12, B' 12-20, plus B' 25-28 (false alarm inside a region)
 * and B' 40-45 (outside every region: ignored).
 * No collar: scored reference 6 + 5 = 11 s; confusion 10-11 = 1 s; false
 * alarm 3 s; DER 4/11.
 * Collar 0.25 (around 0, 10, 20 only, not the region edges): scored
 * [5, 9.75] + [10.25, 11] + [15, 19.75] = 10.25 s; confusion 0.75 s; false
 * alarm 3 s; DER 3.75/10.25.
 */
static void test_der_uem_regions(void **state)
{
	(void)state;
	const struct der_segment hyp[] = {{0, 12, 0}, {12, 20, 1}, {25, 28, 1}, {40, 45, 1}};
	const struct der_region uem[] = {{15, 30}, {5, 11}};
	struct der_params p = {.collar = 0, .regions = uem, .nregions = 2};
	struct der_result r;
	struct parley_error err = {0};
	assert_int_equal(der_compute(two_speakers, 2, 2, hyp, 4, 2, &p, &r, &err), PARLEY_OK);
	assert_float_equal(r.scored, 11, EPS);
	assert_float_equal(r.missed, 0, EPS);
	assert_float_equal(r.confusion, 1, EPS);
	assert_float_equal(r.false_alarm, 3, EPS);
	assert_float_equal(r.der, 4.0 / 11.0, EPS);
	assert_int_equal(r.hyp_to_ref[0], 0);
	assert_int_equal(r.hyp_to_ref[1], 1);
	der_result_release(&r);
	p.collar = 0.25;
	assert_int_equal(der_compute(two_speakers, 2, 2, hyp, 4, 2, &p, &r, &err), PARLEY_OK);
	assert_float_equal(r.scored, 10.25, EPS);
	assert_float_equal(r.confusion, 0.75, EPS);
	assert_float_equal(r.false_alarm, 3, EPS);
	assert_float_equal(r.der, 3.75 / 10.25, EPS);
	der_result_release(&r);
	/* Without regions the same pair scores everything: FA 3 + 5 s. */
	p.regions = NULL;
	p.nregions = 0;
	p.collar = 0;
	assert_int_equal(der_compute(two_speakers, 2, 2, hyp, 4, 2, &p, &r, &err), PARLEY_OK);
	assert_float_equal(r.scored, 20, EPS);
	assert_float_equal(r.false_alarm, 8, EPS);
	der_result_release(&r);
	/* An empty UEM scores nothing. */
	p.regions = uem;
	p.nregions = 0;
	assert_int_equal(der_compute(two_speakers, 2, 2, hyp, 4, 2, &p, &r, &err), PARLEY_OK);
	assert_float_equal(r.scored, 0, EPS);
	assert_true(isnan(r.der));
	der_result_release(&r);
	/* A region ending before it starts is refused. */
	const struct der_region bad[] = {{3, 2}};
	p.regions = bad;
	p.nregions = 1;
	assert_int_equal(der_compute(two_speakers, 2, 2, hyp, 4, 2, &p, &r, &err),
			 PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "scoring region 0"));
}

static void test_uem_parse(void **state)
{
	(void)state;
	const char *text = ";; AMI-style\n"
			   "trn00 NA 0.000 30.000\n"
			   "\n"
			   "trn01 1 2.5 10\r\n"
			   "trn00 NA 40 45.5\n";
	struct der_region *r;
	size_t n;
	struct parley_error err = {0};
	assert_int_equal(uem_parse(text, strlen(text), "x.uem", "trn00", &r, &n, &err), PARLEY_OK);
	assert_int_equal(n, 2);
	assert_float_equal(r[0].start, 0, EPS);
	assert_float_equal(r[0].end, 30, EPS);
	assert_float_equal(r[1].start, 40, EPS);
	assert_float_equal(r[1].end, 45.5, EPS);
	free(r);
	assert_int_equal(uem_parse(text, strlen(text), "x.uem", NULL, &r, &n, &err), PARLEY_OK);
	assert_int_equal(n, 3);
	assert_float_equal(r[1].start, 2.5, EPS);
	free(r);
	assert_int_equal(uem_parse(text, strlen(text), "x.uem", "other", &r, &n, &err), PARLEY_OK);
	assert_int_equal(n, 0);
	assert_null(r);
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{"a 1 0 10 extra\n", "x.uem:1: a UEM line has 4 fields"},
		{"\na 1 0\n", "x.uem:2: a UEM line has 4 fields"},
		{"a 1 zero 10\n", "x.uem:1: start 'zero' or end '10' is not a number"},
		{"a 1 5 4\n", "x.uem:1: region 5 .. 4"},
		{"a 1 -1 4\n", "x.uem:1: region -1 .. 4"},
	};
	for (size_t i = 0; i < N(bad); i++) {
		assert_int_equal(uem_parse(bad[i].text, strlen(bad[i].text), "x.uem", NULL, &r, &n,
					   &err),
				 PARLEY_ERR_INVALID);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("message '%s' lacks '%s'", err.msg, bad[i].msg);
		assert_null(r);
	}
}

static struct eval_transcript transcript(const char *json, enum parley_err want)
{
	struct eval_transcript t;
	struct parley_error err = {0};
	assert_int_equal(eval_transcript_parse(json, strlen(json), "t.json", 1 << 20, &t, &err),
			 want);
	return t;
}

static void test_transcript_json(void **state)
{
	(void)state;
	/* A full run: words joined, counts read. */
	struct eval_transcript t = transcript(
		"{\"transcribed\": true, \"words\": [{\"word\": \"ok\"}, {\"word\": \"lah\"}],"
		" \"counts\": {\"speaker-1\": {\"lah\": 1}}}",
		PARLEY_OK);
	assert_string_equal(t.text, "ok lah ");
	assert_true(t.have_counts);
	assert_int_equal(t.counts.n, 1);
	eval_transcript_release(&t);
	/* A full run that recognised nothing: an empty transcript (WER 100%). */
	t = transcript("{\"transcribed\": true, \"words\": [], \"counts\": {}}", PARLEY_OK);
	assert_non_null(t.text);
	assert_string_equal(t.text, "");
	assert_true(t.have_counts);
	eval_transcript_release(&t);
	/* Diarization only: no transcript, no counts (no WER, no keyword figures). */
	t = transcript("{\"transcribed\": false, \"words\": [], \"counts\": {}}", PARLEY_OK);
	assert_null(t.text);
	assert_false(t.have_counts);
	eval_transcript_release(&t);
	/* Older files without the key: read as they are. */
	t = transcript("{\"words\": [{\"word\": \"hi\"}]}", PARLEY_OK);
	assert_string_equal(t.text, "hi ");
	assert_false(t.have_counts);
	eval_transcript_release(&t);
	/* Words with approximate times (a remote engine gave none) score as words. */
	t = transcript("{\"words\": [{\"word\": \"hi\", \"approximate\": true},"
		       " {\"word\": \"lah\"}]}", PARLEY_OK);
	assert_string_equal(t.text, "hi lah ");
	eval_transcript_release(&t);
	/* Bad input names the file. */
	struct parley_error err = {0};
	static const char *bad[] = {
		"{\"transcribed\": \"no\"}",
		"{\"words\": {}}",
		"{\"words\": [{\"w\": 1}]}",
		"{\"words\": [{\"word\": \"hi\", \"approximate\": 1}]}",
		"{\"counts\": {\"s\": {\"lah\": -1}}}",
		"[1]",
		"{",
	};
	for (size_t i = 0; i < N(bad); i++) {
		assert_int_equal(eval_transcript_parse(bad[i], strlen(bad[i]), "t.json", 1 << 20, &t,
						       &err),
				 PARLEY_ERR_INVALID);
		assert_non_null(strstr(err.msg, "t.json"));
		assert_null(t.text);
	}
	/* Words past the limit. */
	const char *big = "{\"words\": [{\"word\": \"abcdef\"}]}";
	assert_int_equal(eval_transcript_parse(big, strlen(big), "t.json", 4, &t, &err),
			 PARLEY_ERR_TOO_LARGE);
	assert_non_null(strstr(err.msg, "t.json: transcript longer than 4 bytes"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_der_perfect),
		cmocka_unit_test(test_der_all_missed),
		cmocka_unit_test(test_der_false_alarm),
		cmocka_unit_test(test_der_swapped_labels),
		cmocka_unit_test(test_der_extra_and_missing_speaker),
		cmocka_unit_test(test_der_overlap),
		cmocka_unit_test(test_der_empty),
		cmocka_unit_test(test_der_collar),
		cmocka_unit_test(test_der_bad_input),
		cmocka_unit_test(test_der_assignment_optimal),
		cmocka_unit_test(test_wer_normalise),
		cmocka_unit_test(test_wer_counts),
		cmocka_unit_test(test_wer_stm),
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_rttm_parse),
		cmocka_unit_test(test_rttm_errors),
		cmocka_unit_test(test_der_uem_regions),
		cmocka_unit_test(test_uem_parse),
		cmocka_unit_test(test_transcript_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
