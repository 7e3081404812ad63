/* test_lexicon.c — lexicon parser, limits and corrections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/lexicon.h"
#include "util/fs.h"

static struct lexicon *parse_ok(const char *text)
{
	struct lexicon *lex = NULL;
	struct parley_error err = {0};
	enum parley_err rc = lexicon_parse(text, strlen(text), "t.lex", &lex, &err);
	if (rc != PARLEY_OK)
		fail_msg("unexpected parse failure: %s", err.msg);
	assert_non_null(lex);
	return lex;
}

static void test_valid_file(void **state)
{
	(void)state;
	const char *text = "# parley lexicon v1\n"
			   "\n"
			   "target LAH\tL AA | L AH   # comment with ü and → in it\r\n"
			   "target shiok SH IY AO K|SH Y AO K\n"
			   "   correct La => lah\n"
			   "correct wah lau=>walao\n"
			   "correct wah => wow\n"
			   "correct wah lau eh => walaoeh";
	struct lexicon *lex = parse_ok(text);
	assert_int_equal(lexicon_target_count(lex), 2);
	const struct lex_target *t = lexicon_target_at(lex, 0);
	assert_string_equal(t->word, "lah");
	assert_int_equal(t->n_prons, 2);
	assert_string_equal(t->prons[0], "L AA");
	assert_string_equal(t->prons[1], "L AH");
	assert_int_equal(t->line, 3);
	t = lexicon_target_at(lex, 1);
	assert_string_equal(t->word, "shiok");
	assert_string_equal(t->prons[0], "SH IY AO K");
	assert_string_equal(t->prons[1], "SH Y AO K");
	assert_null(lexicon_target_at(lex, 2));

	assert_int_equal(lexicon_correction_count(lex), 4);
	/* Sorted by first word, longer phrases first. */
	const struct lex_correction *c = lexicon_correction_at(lex, 0);
	assert_string_equal(c->from[0], "la");
	assert_string_equal(c->to, "lah");
	c = lexicon_correction_at(lex, 1);
	assert_int_equal(c->n_from, 3);
	assert_string_equal(c->to, "walaoeh");
	c = lexicon_correction_at(lex, 2);
	assert_int_equal(c->n_from, 2);
	assert_string_equal(c->from[1], "lau");
	assert_string_equal(c->to, "walao");
	assert_int_equal(c->line, 6);
	assert_int_equal(lexicon_correction_at(lex, 3)->n_from, 1);

	assert_true(lexicon_is_target(lex, "lah"));
	assert_true(lexicon_is_target(lex, "LaH"));
	assert_false(lexicon_is_target(lex, "la"));
	assert_false(lexicon_is_target(lex, "an-extremely-long-word-that-cannot-possibly-be-a-target"));
	assert_false(lexicon_is_target(NULL, "lah"));
	assert_false(lexicon_is_target(lex, NULL));
	assert_string_equal(lexicon_correct_word(lex, "LA"), "lah");
	assert_string_equal(lexicon_correct_word(lex, "wah"), "wow");
	assert_null(lexicon_correct_word(lex, "lau"));
	lexicon_free(lex);
}

static void test_thresholds(void **state)
{
	(void)state;
	/* v2 lines; thresholds may come before the target they name. */
	const char *text = "# parley lexicon v2\n"
			   "threshold 0.25 lah\tshiok # particles and more\n"
			   "target lah L AA | L AH\n"
			   "target shiok SH IY AO K\n"
			   "target walao W AA L AW\n"
			   "target lor L AO\n"
			   "threshold 1e-1 LOR\n"
			   "threshold 1 walao\n"
			   "keyword_weight 1e-2\n"
			   "correct lo => lor\n";
	struct lexicon *lex = parse_ok(text);
	assert_int_equal(lexicon_target_count(lex), 4);
	assert_int_equal(lexicon_correction_count(lex), 1);
	assert_float_equal(lexicon_find_target(lex, "lah")->threshold, 0.25, 1e-12);
	assert_float_equal(lexicon_find_target(lex, "shiok")->threshold, 0.25, 1e-12);
	assert_float_equal(lexicon_find_target(lex, "lor")->threshold, 0.1, 1e-12);
	assert_float_equal(lexicon_find_target(lex, "walao")->threshold, 1.0, 1e-12);
	assert_float_equal(lexicon_keyword_weight(lex), 0.01, 1e-15);

	/* The filter: at or above the threshold counts; non-targets never. */
	assert_true(lexicon_counts(lex, "lah", 0.25f, INFINITY));
	assert_true(lexicon_counts(lex, "LAH", 0.9f, INFINITY));
	assert_false(lexicon_counts(lex, "lah", 0.2f, INFINITY));
	assert_true(lexicon_counts(lex, "lor", 0.1f, INFINITY));
	assert_false(lexicon_counts(lex, "lor", 0.05f, INFINITY));
	assert_true(lexicon_counts(lex, "walao", 1.0f, INFINITY));
	assert_false(lexicon_counts(lex, "walao", 0.99f, INFINITY));
	assert_false(lexicon_counts(lex, "lo", 1.0f, INFINITY));
	assert_false(lexicon_counts(lex, NULL, 1.0f, INFINITY));
	assert_false(lexicon_counts(NULL, "lah", 1.0f, INFINITY));
	lexicon_free(lex);

	/* v1 text: no thresholds (every occurrence counts), no weight. */
	lex = parse_ok("target lah L AA\ncorrect la => lah\n");
	assert_float_equal(lexicon_find_target(lex, "lah")->threshold, 0.0, 0.0);
	assert_true(lexicon_counts(lex, "lah", 0.001f, INFINITY));
	/* Confidence 0 is the recogniser's "verification failed": never counted. */
	assert_false(lexicon_counts(lex, "lah", 0.0f, INFINITY));
	assert_float_equal(lexicon_keyword_weight(lex), 0.0, 0.0);
	assert_float_equal(lexicon_keyword_weight(NULL), 0.0, 0.0);
	double v = 7.0;
	assert_false(lexicon_verify_min_llr(lex, &v));
	assert_false(lexicon_verify_min_llr(NULL, &v));
	assert_float_equal(v, 7.0, 0.0);
	lexicon_free(lex);

	/* verify_min_llr: signed, once. */
	lex = parse_ok("target lah L AA\nverify_min_llr -1.25\n");
	assert_true(lexicon_verify_min_llr(lex, &v));
	assert_float_equal(v, -1.25, 1e-12);
	lexicon_free(lex);
	lex = parse_ok("verify_min_llr 0.5\n");
	assert_true(lexicon_verify_min_llr(lex, &v));
	assert_float_equal(v, 0.5, 1e-12);
	lexicon_free(lex);
}

/* "phrase_final": a particle counts only where it ends a phrase. */
static void test_phrase_final(void **state)
{
	(void)state;
	/* A threshold and a phrase_final line for one word are two settings. */
	struct lexicon *lex = parse_ok("target lah L AA\ntarget shiok SH IY AO K\n"
				       "threshold 0.1 lah\nphrase_final 0.15 lah\n");
	assert_float_equal(lexicon_find_target(lex, "lah")->final_pause, 0.15, 1e-12);
	assert_true(lexicon_find_target(lex, "shiok")->final_pause < 0);
	assert_true(lexicon_counts(lex, "lah", 0.5f, INFINITY));
	assert_true(lexicon_counts(lex, "lah", 0.5f, 0.15));
	assert_false(lexicon_counts(lex, "lah", 0.5f, 0.14));
	assert_false(lexicon_counts(lex, "lah", 0.05f, INFINITY)); /* threshold still applies */
	assert_true(lexicon_counts(lex, "shiok", 0.5f, 0.0));       /* no phrase_final line */
	lexicon_free(lex);

	/* The pause after a word: the same speaker's next word, else infinite. */
	assert_float_equal(lexicon_pause_after(1.0, 2, 1.25, 2), 0.25, 1e-12);
	assert_true(isinf(lexicon_pause_after(1.0, 2, 1.05, 3)));
	assert_true(isinf(lexicon_pause_after(1.0, 2, 0.0, -1)));
}

/* "spot": per-target spotting ratios, signed. */
static void test_spot(void **state)
{
	(void)state;
	struct lexicon *lex = parse_ok("target lah L AA\ntarget shiok SH IY AO K\n"
				       "target walao W AA L AW\n"
				       "spot 1.25 shiok\nspot -0.5 walao\nthreshold 0.2 shiok\n");
	assert_true(lexicon_find_target(lex, "shiok")->spot);
	assert_float_equal(lexicon_find_target(lex, "shiok")->spot_min_llr, 1.25, 1e-12);
	assert_float_equal(lexicon_find_target(lex, "shiok")->threshold, 0.2, 1e-12);
	assert_true(lexicon_find_target(lex, "walao")->spot);
	assert_float_equal(lexicon_find_target(lex, "walao")->spot_min_llr, -0.5, 1e-12);
	assert_false(lexicon_find_target(lex, "lah")->spot); /* no line: not spotted */
	lexicon_free(lex);
}

/* "background": a recording's targets count only when more than the
 * false-alarm rate explains (Poisson tail), at least MIN, and, with PASS,
 * more than that share of the target words heard explains (binomial tail). */
static void test_background(void **state)
{
	(void)state;
	struct lexicon *lex = parse_ok("target lah L AA\n");
	assert_true(lexicon_supported(lex, 1, 1, 3600.0, true)); /* no line: every target counts */
	assert_true(lexicon_supported(NULL, 1, 1, 10.0, true));
	assert_false(lexicon_supported(lex, 0, 0, 10.0, true));
	lexicon_free(lex);
	lex = parse_ok("target lah L AA\nbackground 30 0.05 2\n");
	assert_false(lexicon_supported(lex, 1, 1, 5.0, true)); /* below MIN however short */
	assert_true(lexicon_supported(lex, 2, 2, 10.0, true)); /* mean 0.083: P(N>=2) 0.003 */
	assert_true(lexicon_supported(lex, 2, 2, 30.0, true)); /* mean 0.25: P(N>=2) 0.026 */
	assert_false(lexicon_supported(lex, 2, 2, 90.0, true)); /* mean 0.75: P(N>=2) 0.17 */
	assert_true(lexicon_supported(lex, 3, 3, 90.0, true));  /* P(N>=3) 0.041 */
	assert_false(lexicon_supported(lex, 5, 5, 300.0, true)); /* mean 2.5: P(N>=5) 0.109 */
	assert_true(lexicon_supported(lex, 6, 6, 300.0, true));  /* P(N>=6) 0.042 */
	assert_false(lexicon_supported(lex, 30, 30, 3600.0, true)); /* an hour of English: 30 expected */
	assert_true(lexicon_supported(lex, 45, 45, 3600.0, true));
	assert_true(lexicon_supported(lex, 2, 2, 0.0, true)); /* unknown duration: MIN decides */
	lexicon_free(lex);
	/* The fifth value: the countable targets must also be more than the share
	 * PASS of the candidates (target words heard, counted or not) explains,
	 * Binomial(candidates, PASS) tail at most ALPHA. */
	lex = parse_ok("target lah L AA\nbackground 30 0.05 2 0.2\n");
	assert_true(lexicon_supported(lex, 2, 2, 10.0, true));   /* P(X>=2 | 2, 0.2) 0.04 */
	assert_true(lexicon_supported(lex, 2, 0, 10.0, true));   /* fewer candidates: n of n */
	assert_false(lexicon_supported(lex, 2, 3, 10.0, true));  /* P(X>=2 | 3) 0.104 */
	assert_false(lexicon_supported(lex, 2, 10, 10.0, true)); /* 2 of 10 heard: 0.62 */
	assert_false(lexicon_supported(lex, 4, 10, 10.0, true)); /* P(X>=4 | 10) 0.121 */
	assert_true(lexicon_supported(lex, 5, 10, 10.0, true));  /* P(X>=5 | 10) 0.033 */
	assert_false(lexicon_supported(lex, 2, 100, 10.0, true)); /* below the mean */
	assert_false(lexicon_supported(lex, 1, 1, 10.0, true));   /* MIN still applies */
	assert_false(lexicon_supported(lex, 2, 2, 90.0, true));   /* and the rate: P(N>=2) 0.17 */
	/* denoised audio: no share test (measured on clean English only); the
	 * rate and MIN still apply */
	assert_true(lexicon_supported(lex, 2, 10, 10.0, false));
	assert_true(lexicon_supported(lex, 2, 100, 10.0, false));
	assert_false(lexicon_supported(lex, 1, 1, 10.0, false));
	assert_false(lexicon_supported(lex, 2, 10, 90.0, false));
	/* An hour with 1,000 words heard: mean 200, sd 12.6; also the rate's 30. */
	assert_false(lexicon_supported(lex, 210, 1000, 3600.0, true)); /* z 0.8 */
	assert_true(lexicon_supported(lex, 250, 1000, 3600.0, true));  /* z 4 */
	assert_true(lexicon_supported(lex, 1000, 1000, 3600.0, true)); /* 0.2^1000 underflows: 0 */
	lexicon_free(lex);
	/* The built-in lexicon has the line. */
	struct parley_error err = {0};
	assert_int_equal(lexicon_default(&lex, &err), PARLEY_OK);
	assert_false(lexicon_supported(lex, 1, 1, 10.0, true));
	assert_true(lexicon_supported(lex, 20, 20, 90.0, true));
	lexicon_free(lex);
}

static void test_empty_text(void **state)
{
	(void)state;
	struct lexicon *lex = NULL;
	assert_int_equal(lexicon_parse("", 0, NULL, &lex, NULL), PARLEY_OK);
	assert_int_equal(lexicon_target_count(lex), 0);
	assert_int_equal(lexicon_correction_count(lex), 0);
	lexicon_free(lex);
	lexicon_free(NULL);
}

struct bad_case {
	const char *text;
	enum parley_err code;
	const char *msg; /* substring of the message */
};

static const struct bad_case bad_cases[] = {
	{"background 30 0.05\n", PARLEY_ERR_INVALID,
	 "t.lex:1: 'background' needs three or four values"},
	{"background 30 0.05 2 0.2 1\n", PARLEY_ERR_INVALID, "'background' needs three or four"},
	{"background 30 0.05 2 1\n", PARLEY_ERR_INVALID, "background pass fraction '1' is not"},
	{"background 30 0.05 2 0\n", PARLEY_ERR_INVALID, "background pass fraction '0' is not"},
	{"background 0 0.05 2\n", PARLEY_ERR_INVALID, "background rate '0' is not"},
	{"background 30 1 2\n", PARLEY_ERR_INVALID, "background significance '1' is not"},
	{"background 30 0.05 1.5\n", PARLEY_ERR_INVALID, "background minimum '1.5' is not"},
	{"background 30 0.05 0\n", PARLEY_ERR_INVALID, "background minimum '0' is not"},
	{"background 30 0.05 2\nbackground 30 0.05 2\n", PARLEY_ERR_INVALID,
	 "t.lex:2: background is set again (first at line 1)"},
	{"tarrget lah L AA\n", PARLEY_ERR_INVALID, "t.lex:1: unknown directive 'tarrget'"},
	{"# c\n\ntarget lah L AX\n", PARLEY_ERR_INVALID, "t.lex:3: unknown phone 'AX'"},
	{"target lah L AA1\n", PARLEY_ERR_INVALID, "'AA1' has a stress digit; write 'AA'"},
	{"target lah l aa\n", PARLEY_ERR_INVALID, "phone 'l' must be upper-case ('L')"},
	{"target wah lau W AA L AW\n", PARLEY_ERR_INVALID, "unknown phone 'lau'"},
	{"target lah L AA |\n", PARLEY_ERR_INVALID, "empty pronunciation for 'lah'"},
	{"target lah | L AA\n", PARLEY_ERR_INVALID, "empty pronunciation"},
	{"target lah L AA || L AH\n", PARLEY_ERR_INVALID, "empty pronunciation"},
	{"target lah\n", PARLEY_ERR_INVALID, "target 'lah' has no pronunciation"},
	{"target\n", PARLEY_ERR_INVALID, "'target' needs a word and a pronunciation"},
	{"target l\xc3\xa4h L AA\n", PARLEY_ERR_INVALID, "t.lex:1: non-ASCII byte 0xC3 at column 9"},
	{"target l@h L AA\n", PARLEY_ERR_INVALID, "has the character '@'"},
	{"target -lah L AA\n", PARLEY_ERR_INVALID, "must start with a letter or digit"},
	{"target lah L AA\ntarget LAH L AH\n", PARLEY_ERR_INVALID,
	 "t.lex:2: target 'lah' is declared again (first at line 1)"},
	{"target lah L AA | L AA\n", PARLEY_ERR_INVALID, "'L AA' is listed twice"},
	{"target lah L AA | L AH | L AO | L OW | L EH | L EY | L IH | L IY | L UW\n",
	 PARLEY_ERR_TOO_LARGE, "more than 8 pronunciations"},
	{"target x AA AA AA AA AA AA AA AA AA AA AA AA AA AA AA AA AA AA AA AA AA AA AA AA "
	 "AA AA AA AA AA AA AA AA AA\n",
	 PARLEY_ERR_TOO_LARGE, "more than 32 phones"},
	{"target abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuv L AA\n", PARLEY_ERR_TOO_LARGE,
	 "is longer than 47 bytes"},
	{"correct la lah\n", PARLEY_ERR_INVALID, "needs 'FROM... => TO'"},
	{"correct => lah\n", PARLEY_ERR_INVALID, "no word before '=>'"},
	{"correct la =>\n", PARLEY_ERR_INVALID, "followed by exactly one word"},
	{"correct la => lah lor\n", PARLEY_ERR_INVALID, "followed by exactly one word"},
	{"correct la => lah => lor\n", PARLEY_ERR_INVALID, "more than one '=>'"},
	{"correct a b c d e => x\n", PARLEY_ERR_TOO_LARGE, "more than 4 words before '=>'"},
	{"correct LA => la\n", PARLEY_ERR_INVALID, "'la => la' changes nothing"},
	{"correct la | x => lah\n", PARLEY_ERR_INVALID, "word '|' must start with a letter"},
	{"correct la => lah\n# x\ncorrect La => lor\n", PARLEY_ERR_INVALID,
	 "t.lex:3: correction of 'la' is declared again (first at line 1)"},
	{"correct wah lau => walao\ncorrect wah LAU => wow\n", PARLEY_ERR_INVALID,
	 "t.lex:2: correction of 'wah lau' is declared again"},
	{"correct lah => la\ntarget lah L AA\n", PARLEY_ERR_INVALID,
	 "t.lex:1: 'lah' is a target (line 2)"},
	{"target lah L AA\x01\n", PARLEY_ERR_INVALID, "control byte 0x01 at column 16"},
	{"target lah L AA\rx\n", PARLEY_ERR_INVALID, "control byte 0x0D"},
	/* v2: threshold and keyword_weight */
	{"target lah L AA\nthreshold 0.3\n", PARLEY_ERR_INVALID,
	 "t.lex:2: 'threshold' needs a value and at least one target word"},
	{"target lah L AA\nthreshold lah 0.3\n", PARLEY_ERR_INVALID,
	 "t.lex:2: threshold 'lah' is not a number from 0 to 1"},
	{"target lah L AA\nthreshold 1.5 lah\n", PARLEY_ERR_INVALID, "'1.5' is not a number from 0 to 1"},
	{"target lah L AA\nthreshold -0.1 lah\n", PARLEY_ERR_INVALID, "'-0.1' is not a number"},
	{"target lah L AA\nthreshold 0.3x lah\n", PARLEY_ERR_INVALID, "'0.3x' is not a number"},
	{"target lah L AA\nthreshold . lah\n", PARLEY_ERR_INVALID, "'.' is not a number"},
	{"target lah L AA\nthreshold 1e lah\n", PARLEY_ERR_INVALID, "'1e' is not a number"},
	{"target lah L AA\nthreshold nan lah\n", PARLEY_ERR_INVALID, "'nan' is not a number"},
	{"target lah L AA\nthreshold 0.3 l@h\n", PARLEY_ERR_INVALID,
	 "t.lex:2: threshold word 'l@h' has the character '@'"},
	{"target lah L AA\nthreshold 0.3 lor\n", PARLEY_ERR_INVALID,
	 "t.lex:2: threshold for 'lor', which is not a target"},
	{"threshold 0.3 lah\ntarget lah L AA\nthreshold 0.2 LAH\n", PARLEY_ERR_INVALID,
	 "t.lex:3: threshold of 'lah' is set again (first at line 1)"},
	{"target lah L AA\nthreshold 0.3 lah lah\n", PARLEY_ERR_INVALID,
	 "t.lex:2: threshold of 'lah' is set again (first at line 2)"},
	{"target lah L AA\nthreshold 0.3 lor\ncorrect lah => la\n", PARLEY_ERR_INVALID,
	 "t.lex:2: threshold for 'lor'"},
	/* v2: spot */
	{"target lah L AA\nspot 1\n", PARLEY_ERR_INVALID,
	 "t.lex:2: 'spot' needs a log likelihood ratio and at least one target word"},
	{"target lah L AA\nspot 51 lah\n", PARLEY_ERR_INVALID,
	 "t.lex:2: spot ratio '51' is not a number from -50 to 50"},
	{"target lah L AA\nspot x lah\n", PARLEY_ERR_INVALID, "spot ratio 'x' is not a number"},
	{"target lah L AA\nspot 1 lor\n", PARLEY_ERR_INVALID,
	 "t.lex:2: spot for 'lor', which is not a target"},
	{"target lah L AA\nspot 1 lah\nspot -1 lah\n", PARLEY_ERR_INVALID,
	 "t.lex:3: spot of 'lah' is set again (first at line 2)"},
	/* v2: phrase_final */
	{"target lah L AA\nphrase_final 0.1\n", PARLEY_ERR_INVALID,
	 "t.lex:2: 'phrase_final' needs a pause in seconds and at least one target word"},
	{"target lah L AA\nphrase_final 11 lah\n", PARLEY_ERR_INVALID,
	 "phrase_final pause '11' is not a number of seconds from 0 to 10"},
	{"target lah L AA\nphrase_final -1 lah\n", PARLEY_ERR_INVALID, "pause '-1' is not a number"},
	{"target lah L AA\nphrase_final 0.1 lor\n", PARLEY_ERR_INVALID,
	 "t.lex:2: phrase_final for 'lor', which is not a target"},
	{"target lah L AA\nphrase_final 0.1 lah\nphrase_final 0.2 lah\n", PARLEY_ERR_INVALID,
	 "t.lex:3: phrase_final of 'lah' is set again (first at line 2)"},
	{"target lah L AA\nphrase_final 0.1 l@h\n", PARLEY_ERR_INVALID,
	 "t.lex:2: phrase_final word 'l@h' has the character '@'"},
	{"keyword_weight\n", PARLEY_ERR_INVALID, "t.lex:1: 'keyword_weight' needs exactly one value"},
	{"verify_min_llr\n", PARLEY_ERR_INVALID, "t.lex:1: 'verify_min_llr' needs exactly one value"},
	{"verify_min_llr -1 2\n", PARLEY_ERR_INVALID, "needs exactly one value"},
	{"verify_min_llr --1\n", PARLEY_ERR_INVALID, "verify_min_llr '--1' is not a number from -50 to 50"},
	{"verify_min_llr +1\n", PARLEY_ERR_INVALID, "verify_min_llr '+1' is not a number"},
	{"verify_min_llr -51\n", PARLEY_ERR_INVALID, "verify_min_llr '-51' is not a number"},
	{"verify_min_llr nan\n", PARLEY_ERR_INVALID, "verify_min_llr 'nan' is not a number"},
	{"verify_min_llr -1\nverify_min_llr -2\n", PARLEY_ERR_INVALID,
	 "t.lex:2: verify_min_llr is set again (first at line 1)"},
	{"keyword_weight 0.1 0.2\n", PARLEY_ERR_INVALID, "needs exactly one value"},
	{"keyword_weight 0\n", PARLEY_ERR_INVALID, "keyword weight '0' is not a number between 0 and 1"},
	{"keyword_weight 1\n", PARLEY_ERR_INVALID, "keyword weight '1' is not"},
	{"keyword_weight 1e-999\n", PARLEY_ERR_INVALID, "keyword weight '1e-999' is not"},
	{"keyword_weight 0.1\n\nkeyword_weight 0.2\n", PARLEY_ERR_INVALID,
	 "t.lex:3: keyword_weight is set again (first at line 1)"},
};

static void check_bad(const char *text, size_t len, enum parley_err code, const char *msg)
{
	struct lexicon *lex = (struct lexicon *)1;
	struct parley_error err = {0};
	enum parley_err rc = lexicon_parse(text, len, "t.lex", &lex, &err);
	if (rc != code || !strstr(err.msg, msg))
		fail_msg("input %.40s...: got code %d '%s', want code %d with '%s'", text, rc,
			 err.msg, code, msg);
	assert_null(lex);
	assert_int_equal(err.code, code);
}

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		check_bad(bad_cases[i].text, strlen(bad_cases[i].text), bad_cases[i].code,
			  bad_cases[i].msg);
}

static void test_nul_byte(void **state)
{
	(void)state;
	static const char text[] = "target lah L AA\ntarget l\0h L AA\n";
	check_bad(text, sizeof(text) - 1, PARLEY_ERR_INVALID, "t.lex:2: NUL byte at column 9");
	static const char comment[] = "target lah L AA # x\0y\n";
	check_bad(comment, sizeof(comment) - 1, PARLEY_ERR_INVALID, "NUL byte in a comment");
}

static void test_line_too_long(void **state)
{
	(void)state;
	char text[LEXICON_LINE_MAX + 64];
	/* Exactly LEXICON_LINE_MAX bytes (plus CRLF) is fine. */
	memset(text, ' ', sizeof(text));
	memcpy(text, "target lah L AA", 15);
	text[LEXICON_LINE_MAX] = '\r';
	text[LEXICON_LINE_MAX + 1] = '\n';
	struct lexicon *lex = NULL;
	assert_int_equal(lexicon_parse(text, LEXICON_LINE_MAX + 2, "t.lex", &lex, NULL), PARLEY_OK);
	lexicon_free(lex);
	text[LEXICON_LINE_MAX] = ' ';
	check_bad(text, LEXICON_LINE_MAX + 1, PARLEY_ERR_TOO_LARGE,
		  "t.lex:1: line is longer than 512 bytes");
}

static void test_too_many_entries(void **state)
{
	(void)state;
	size_t cap = (LEXICON_MAX_ENTRIES + 1) * 32;
	char *text = malloc(cap);
	assert_non_null(text);
	size_t len = 0;
	for (int i = 0; i < LEXICON_MAX_ENTRIES + 1; i++)
		len += (size_t)snprintf(text + len, cap - len, "correct w%d => x%d\n", i, i);
	/* The limit itself is fine. */
	size_t len_at_limit = len - strlen("correct w2048 => x2048\n");
	struct lexicon *lex = NULL;
	assert_int_equal(lexicon_parse(text, len_at_limit, "t.lex", &lex, NULL), PARLEY_OK);
	assert_int_equal(lexicon_correction_count(lex), LEXICON_MAX_ENTRIES);
	lexicon_free(lex);
	check_bad(text, len, PARLEY_ERR_TOO_LARGE, "t.lex:2049: more than 2048 entries");
	free(text);
}

static void test_too_many_bytes(void **state)
{
	(void)state;
	size_t len = LEXICON_MAX_BYTES + 1;
	char *text = malloc(len);
	assert_non_null(text);
	memset(text, '\n', len);
	check_bad(text, len, PARLEY_ERR_TOO_LARGE, "more than the 1048576 allowed");
	free(text);
}

static void test_load_file_missing(void **state)
{
	(void)state;
	struct lexicon *lex = NULL;
	struct parley_error err = {0};
	assert_int_equal(lexicon_load_file("tests/no/such/file.lex", &lex, &err), PARLEY_ERR_IO);
	assert_null(lex);
	assert_non_null(strstr(err.msg, "tests/no/such/file.lex"));
}

/* ---- corrections ---- */

static struct lex_token tok(const char *text, double start, double end, float conf, int speaker)
{
	struct lex_token t = {.start = start, .end = end, .conf = conf, .speaker = speaker};
	snprintf(t.text, sizeof(t.text), "%s", text);
	return t;
}

static void test_apply_single_and_phrase(void **state)
{
	(void)state;
	struct lexicon *lex = NULL;
	assert_int_equal(lexicon_default(&lex, NULL), PARLEY_OK);
	struct lex_token toks[] = {
		tok("Can", 0.0, 0.2, 0.9f, 1),  tok("LA", 0.2, 0.4, 0.8f, 1),
		tok("Wah", 1.0, 1.2, 0.7f, 1),  tok("LAU", 1.25, 1.6, 0.5f, 1),
		tok("so", 1.7, 1.8, 0.9f, 1),   tok("pai", 2.0, 2.2, 0.6f, 1),
		tok("seh", 2.2, 2.5, 0.8f, 1),
	};
	size_t origin[7];
	size_t n = lexicon_apply(lex, toks, 7, origin);
	assert_int_equal(n, 5);
	const char *want[] = {"can", "lah", "walao", "so", "paiseh"};
	const size_t want_origin[] = {0, 1, 2, 4, 5};
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(toks[i].text, want[i]);
		assert_int_equal(origin[i], want_origin[i]);
	}
	/* Merged times span the phrase; confidence is the lowest. */
	assert_true(toks[2].start == 1.0 && toks[2].end == 1.6);
	assert_true(toks[2].conf == 0.5f);
	assert_int_equal(toks[2].speaker, 1);
	assert_true(toks[4].start == 2.0 && toks[4].end == 2.5);
	assert_true(toks[1].start == 0.2 && toks[1].end == 0.4 && toks[1].conf == 0.8f);
	lexicon_free(lex);
}

static void test_apply_boundaries(void **state)
{
	(void)state;
	struct lexicon *lex = NULL;
	assert_int_equal(lexicon_default(&lex, NULL), PARLEY_OK);
	/* Different speakers, a long gap, and a phrase cut by the end: no merge. */
	struct lex_token toks[] = {
		tok("wah", 0.0, 0.2, 1, 1), tok("lau", 0.2, 0.4, 1, 2),
		tok("wah", 1.0, 1.2, 1, 1), tok("lau", 2.5, 2.7, 1, 1),
		tok("wah", 3.0, 3.2, 1, 1),
	};
	size_t n = lexicon_apply(lex, toks, 5, NULL);
	assert_int_equal(n, 5);
	assert_string_equal(toks[0].text, "wah");
	assert_string_equal(toks[1].text, "lau");
	assert_string_equal(toks[3].text, "lau");
	assert_string_equal(toks[4].text, "wah");
	assert_int_equal(lexicon_apply(lex, toks, 0, NULL), 0);
	lexicon_free(lex);
}

static void test_apply_longest_first_no_chain(void **state)
{
	(void)state;
	struct lexicon *lex = parse_ok("correct a b => x\n"
				       "correct a b c => y\n"
				       "correct y => z\n"
				       "correct x => w\n");
	struct lex_token toks[] = {tok("a", 0, 0, 1, 0), tok("b", 0, 0, 1, 0), tok("c", 0, 0, 1, 0),
				   tok("a", 0, 0, 1, 0), tok("b", 0, 0, 1, 0), tok("d", 0, 0, 1, 0)};
	size_t n = lexicon_apply(lex, toks, 6, NULL);
	assert_int_equal(n, 3);
	assert_string_equal(toks[0].text, "y");
	assert_string_equal(toks[1].text, "x");
	assert_string_equal(toks[2].text, "d");
	lexicon_free(lex);
}

static void test_apply_plain_english(void **state)
{
	(void)state;
	struct lexicon *lex = NULL;
	assert_int_equal(lexicon_default(&lex, NULL), PARLEY_OK);
	const char *sentence[] = {"the", "law", "says", "we", "may", "lay", "low", "and", "chop",
				  "wood", "see", "ya", "at", "the", "show", "he", "shook", "my",
				  "hand", "on", "the", "ma", "can", "kia", "so", "pie", "say"};
	size_t n = sizeof(sentence) / sizeof(sentence[0]);
	struct lex_token toks[32];
	for (size_t i = 0; i < n; i++)
		toks[i] = tok(sentence[i], (double)i, (double)i + 0.5, 1, 0);
	assert_int_equal(lexicon_apply(lex, toks, n, NULL), n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(toks[i].text, sentence[i]);
	/* NULL lexicon: lower-case only. */
	toks[0] = tok("Hello", 0, 0, 1, 0);
	assert_int_equal(lexicon_apply(NULL, toks, 1, NULL), 1);
	assert_string_equal(toks[0].text, "hello");
	lexicon_free(lex);
}

/* ---- the built-in lexicon ---- */

static void test_default_lexicon(void **state)
{
	(void)state;
	struct lexicon *lex = NULL;
	struct parley_error err = {0};
	if (lexicon_default(&lex, &err) != PARLEY_OK)
		fail_msg("%s", err.msg);
	static const char *required[] = {"lah",   "lor",   "leh",    "meh",    "sia",   "hor",
					 "walao", "shiok", "paiseh", "alamak", "bojio", "kiasu",
					 "sian",  "makan", "jialat", "chope"};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (!lexicon_is_target(lex, required[i]))
			fail_msg("default lexicon lacks target '%s'", required[i]);
	}
	assert_true(lexicon_correction_count(lex) >= 30);
	/* Corrections never produce a word that is not a target. */
	for (size_t i = 0; i < lexicon_correction_count(lex); i++) {
		const struct lex_correction *c = lexicon_correction_at(lex, i);
		if (!lexicon_is_target(lex, c->to))
			fail_msg("correction at line %u produces non-target '%s'", c->line, c->to);
	}
	/* v2: the measured keyword weight, a counting threshold on every target
	 * (meh and sia only a floor: right even at low confidence on generated
	 * speech) and the verifier's threshold chosen on real speech. */
	assert_float_equal(lexicon_keyword_weight(lex), 0.03, 1e-12);
	/* MIN 3 (stop 18): 2 targets of 2 heard in a 2 s prompt are not counted,
	 * 3 of 3 in a 30 s clip are; PASS 0.125: 3 of 40 heard are not. */
	assert_false(lexicon_supported(lex, 2, 2, 2.0, true));
	assert_false(lexicon_supported(lex, 2, 2, 30.0, true));
	assert_true(lexicon_supported(lex, 3, 3, 30.0, true));
	assert_false(lexicon_supported(lex, 3, 40, 30.0, true));
	for (size_t i = 0; i < lexicon_target_count(lex); i++) {
		const struct lex_target *t = lexicon_target_at(lex, i);
		bool low = strcmp(t->word, "meh") == 0 || strcmp(t->word, "sia") == 0;
		if (low != (t->threshold < 0.1) || t->threshold <= 0.0 || t->threshold > 0.5)
			fail_msg("target '%s' has threshold %g", t->word, t->threshold);
	}
	assert_false(lexicon_counts(lex, "lor", 0.29f, INFINITY));
	assert_true(lexicon_counts(lex, "lor", 0.3f, INFINITY));
	assert_true(lexicon_counts(lex, "meh", 0.05f, INFINITY));
	assert_false(lexicon_counts(lex, "meh", 0.04f, INFINITY));
	assert_false(lexicon_counts(lex, "meh", 0.0f, INFINITY)); /* rejected by the verifier */
	double llr = 0.0;
	assert_true(lexicon_verify_min_llr(lex, &llr));
	assert_true(llr < 0.0 && llr > -5.0);
	lexicon_free(lex);
}

static void test_default_matches_data_file(void **state)
{
	(void)state;
	char *data = NULL;
	size_t len = 0;
	struct parley_error err = {0};
	if (fs_read_file("data/lexicon/singlish.lex", LEXICON_MAX_BYTES, &data, &len, &err) !=
	    PARLEY_OK)
		fail_msg("%s (tests run from the repository root)", err.msg);
	const char *builtin = lexicon_default_text();
	assert_int_equal(len, strlen(builtin));
	assert_memory_equal(data, builtin, len);
	free(data);

	struct lexicon *lex = NULL;
	assert_int_equal(lexicon_load_file("data/lexicon/singlish.lex", &lex, &err), PARLEY_OK);
	/* the pass share (0.125): 3 of 20 heard in 10 s is what English gives on
	 * original audio (P(X>=3 | 20, 0.125) 0.46), counted when denoised */
	assert_false(lexicon_supported(lex, 3, 20, 10.0, true));
	assert_true(lexicon_supported(lex, 3, 20, 10.0, false));
	assert_true(lexicon_supported(lex, 3, 3, 10.0, true));
	assert_false(lexicon_supported(lex, 2, 2, 10.0, true)); /* MIN 3 */
	lexicon_free(lex);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_file),
		cmocka_unit_test(test_empty_text),
		cmocka_unit_test(test_thresholds),
		cmocka_unit_test(test_phrase_final),
		cmocka_unit_test(test_spot),
		cmocka_unit_test(test_background),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_line_too_long),
		cmocka_unit_test(test_too_many_entries),
		cmocka_unit_test(test_too_many_bytes),
		cmocka_unit_test(test_load_file_missing),
		cmocka_unit_test(test_apply_single_and_phrase),
		cmocka_unit_test(test_apply_boundaries),
		cmocka_unit_test(test_apply_longest_first_no_chain),
		cmocka_unit_test(test_apply_plain_english),
		cmocka_unit_test(test_default_lexicon),
		cmocka_unit_test(test_default_matches_data_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
