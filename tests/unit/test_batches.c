/* test_batches.c — the pure parts of core/batches.h: a trade's verdict and
 * score from its calls (AUDIT.md "Per-trade results") and CSV quoting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/batches.h"
#include "util/strbuf.h"

static void test_trade_fail_wins(void **state)
{
	(void)state;
	struct batches_call calls[] = {{"pass", 8, 10}, {"flag", 5, 10}, {"fail", 1, 10}};
	struct batches_trade t;
	batches_trade_combine(calls, 3, &t);
	assert_string_equal(t.verdict, "fail");
	assert_int_equal(t.calls, 3);
	assert_int_equal(t.judged, 3);
	assert_float_equal(t.score, 14.0 / 30.0, 1e-12);
}

static void test_trade_flag_then_pass(void **state)
{
	(void)state;
	struct batches_call flag[] = {{"pass", 10, 10}, {"flag", 0, 5}};
	struct batches_call pass[] = {{"pass", 3, 4}, {"pass", 1, 4}};
	struct batches_trade t;
	batches_trade_combine(flag, 2, &t);
	assert_string_equal(t.verdict, "flag");
	assert_float_equal(t.score, 10.0 / 15.0, 1e-12);
	batches_trade_combine(pass, 2, &t);
	assert_string_equal(t.verdict, "pass");
	assert_float_equal(t.score, 0.5, 1e-12);
}

/* Calls without a verdict count as calls, not as judged; none judged: no verdict. */
static void test_trade_unjudged(void **state)
{
	(void)state;
	struct batches_call calls[] = {{NULL, 0, 0}, {"", 0, 0}, {"pass", 2, 0}};
	struct batches_trade t;
	batches_trade_combine(calls, 2, &t);
	assert_string_equal(t.verdict, "");
	assert_int_equal(t.calls, 2);
	assert_int_equal(t.judged, 0);
	assert_float_equal(t.score, 0, 0);
	batches_trade_combine(calls, 3, &t);
	assert_string_equal(t.verdict, "pass");
	assert_int_equal(t.judged, 1);
	assert_float_equal(t.score, 0, 0); /* no max score: 0, not a division by zero */
	batches_trade_combine(NULL, 0, &t);
	assert_int_equal(t.calls, 0);
}

static void test_csv_field(void **state)
{
	(void)state;
	struct strbuf sb;
	strbuf_init(&sb, 1024);
	assert_int_equal(batches_csv_field(&sb, "plain"), PARLEY_OK);
	assert_int_equal(batches_csv_field(&sb, "a,b"), PARLEY_OK);
	assert_int_equal(batches_csv_field(&sb, "say \"hi\""), PARLEY_OK);
	assert_int_equal(batches_csv_field(&sb, "two\nlines"), PARLEY_OK);
	assert_string_equal(sb.buf, "plain\"a,b\"\"say \"\"hi\"\"\"\"two\nlines\"");
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trade_fail_wins),
		cmocka_unit_test(test_trade_flag_then_pass),
		cmocka_unit_test(test_trade_unjudged),
		cmocka_unit_test(test_csv_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
