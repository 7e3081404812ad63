/* test_stages.c — the stage registry (src/stages/registry.c): real stages
 * and test stages in separate tables, each row's result tables (what the
 * store drops when an input changes), options (configuration sections) and
 * export hook; and the store reset driven by those tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pipeline.h"
#include "stages/stage.h"
#include "store/store.h"
#include "util/fs.h"

static void test_tables(void **state)
{
	(void)state;
	static const char *const real[] = {"decode", "ivr",     "vad",    "diarize",
					   "stt",    "words",   "metrics", "samples"};
	assert_int_equal(stage_count, 8);
	for (size_t i = 0; i < stage_count; i++)
		assert_string_equal(stage_table[i]->name, real[i]);
	assert_int_equal(stage_test_count, 6);
	for (size_t i = 0; i < stage_test_count; i++)
		assert_int_equal(strncmp(stage_test_table[i]->name, "tick", 4), 0);
	assert_int_equal(stage_count_all, stage_count + stage_test_count);
	assert_ptr_equal(stage_at(0), stage_table[0]);
	assert_ptr_equal(stage_at(stage_count), stage_test_table[0]);
	assert_non_null(stage_find("tick3"));
	assert_null(stage_find("nope"));
	struct pipeline pl = pipeline_default();
	/* the test stages and the optional ones (ivr, metrics) are no part of it */
	assert_int_equal(pl.count, stage_count - 2);
	assert_false(pipeline_has(&pl, "metrics"));
	assert_false(pipeline_has(&pl, "tick1"));
	assert_false(pipeline_has(&pl, "ivr"));
	assert_true(stage_find("ivr")->optional);
	const struct stage *rows[64];
	struct parley_error err = {0};
	assert_int_equal(pipeline_parse("noop", rows, &pl, &err), PARLEY_OK);
	assert_int_equal(pl.count, 6);
	assert_string_equal(pl.stages[0]->name, "tick1");
}

static void test_rows(void **state)
{
	(void)state;
	const char *tables[16];
	size_t n = stage_result_tables(tables, 16);
	static const char *const want[] = {"call_events", "segments",     "speakers",
					   "speaker_roles", "stt_words",  "words",
					   "word_counts", "call_metrics", "call_spans",
					   "test_effects"};
	assert_int_equal(n, 10);
	assert_null(tables[n]);
	for (size_t i = 0; i < 10; i++)
		assert_string_equal(tables[i], want[i]);
	assert_int_equal(stage_result_tables(tables, 3), 2); /* bounded, NULL-terminated */
	assert_null(tables[2]);
	assert_true(stage_reads(stage_find("diarize"), "diarize"));
	assert_true(stage_reads(stage_find("stt"), "lexicon"));
	assert_false(stage_reads(stage_find("decode"), "diarize"));
	assert_false(stage_reads(stage_find("stt"), "lex"));
	assert_non_null(stage_find("samples")->export);
	assert_true(stage_reads(stage_find("ivr"), "ivr"));
	assert_non_null(stage_find("ivr")->export);
	assert_null(stage_find("decode")->export);
	assert_true(stage_reads(stage_find("diarize"), "channels"));
	assert_true(stage_reads(stage_find("metrics"), "metrics"));
	assert_true(stage_find("metrics")->optional);
}

/* A changed input drops the rows of the tables the store is given, only those. */
static void test_reset_by_tables(void **state)
{
	(void)state;
	char dir[] = "/tmp/parley-stages-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/t.db", dir);
	struct store *st = NULL;
	struct parley_error err = {0};
	int64_t batch, rec;
	assert_int_equal(store_open(path, &st, &err), PARLEY_OK);
	assert_int_equal(store_batch_ensure(st, "b", "batch", &batch, &err), PARLEY_OK);
	assert_int_equal(store_recording_add(st, batch, "a", "/a", "fp1", NULL, &rec, &err), PARLEY_OK);
	struct store_segment seg = {0, 1, 0};
	struct store_count cnt = {0, "lah", 2};
	assert_int_equal(store_segments_put(st, rec, "turn", &seg, 1, &err), PARLEY_OK);
	assert_int_equal(store_counts_put(st, rec, &cnt, 1, &err), PARLEY_OK);
	static const char *const only_segments[] = {"segments", NULL};
	assert_int_equal(store_recording_add(st, batch, "a", "/a", "fp2", only_segments, &rec, &err),
			 PARLEY_OK);
	struct store_segment *segs = NULL;
	struct store_count *counts = NULL;
	size_t ns = 9, nc = 0;
	assert_int_equal(store_segments_get(st, rec, "turn", &segs, &ns, &err), PARLEY_OK);
	assert_int_equal(store_counts_get(st, rec, &counts, &nc, &err), PARLEY_OK);
	assert_int_equal(ns, 0);
	assert_int_equal(nc, 1);
	free(segs);
	free(counts);
	const char *tables[16];
	stage_result_tables(tables, 16);
	assert_int_equal(store_recording_add(st, batch, "a", "/a", "fp3", tables, &rec, &err), PARLEY_OK);
	assert_int_equal(store_counts_get(st, rec, &counts, &nc, &err), PARLEY_OK);
	assert_int_equal(nc, 0);
	free(counts);
	static const char *const bad[] = {"segments; DROP TABLE x", NULL};
	assert_int_equal(store_recording_add(st, batch, "a", "/a", "fp4", bad, &rec, &err),
			 PARLEY_ERR_INTERNAL);
	store_close(st);
	fs_remove_tree(dir, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_reset_by_tables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
