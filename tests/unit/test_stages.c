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

#include "audio/wav.h"
#include "core/pipeline.h"
#include "stages/stage.h"
#include "store/store.h"
#include "util/fs.h"

static void test_tables(void **state)
{
	(void)state;
	static const char *const real[] = {"decode", "ivr",   "denoise", "vad",     "diarize",
					   "lid",    "stt",   "words",   "metrics", "samples",
					   "answers",  "verdicts"};
	assert_int_equal(stage_count, sizeof(real) / sizeof(real[0]));
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
	/* the test stages and the optional ones (ivr, denoise, lid, metrics, answers, verdicts)
	 * are no part of it */
	assert_int_equal(pl.count, stage_count - 6);
	assert_false(pipeline_has(&pl, "answers"));
	assert_false(pipeline_has(&pl, "verdicts"));
	assert_false(pipeline_has(&pl, "metrics"));
	assert_false(pipeline_has(&pl, "tick1"));
	assert_false(pipeline_has(&pl, "denoise"));
	assert_false(pipeline_has(&pl, "lid"));
	assert_false(pipeline_has(&pl, "ivr"));
	assert_true(stage_find("ivr")->optional);
	const struct stage *rows[64];
	struct parley_error err = {0};
	assert_int_equal(pipeline_parse("noop", rows, &pl, &err), PARLEY_OK);
	assert_int_equal(pl.count, 6);
	assert_string_equal(pl.stages[0]->name, "tick1");
}

/* Presets: a table row, usable as a stage list and from a configuration. */
static void test_presets(void **state)
{
	(void)state;
	const struct stage *rows[64];
	struct pipeline pl;
	struct parley_error err = {0};
	const struct stage_preset *call = stage_preset_find("call");
	assert_non_null(call);
	assert_null(stage_preset_find("meeting"));
	assert_non_null(strstr(stage_preset_names(), "call"));
	assert_int_equal(pipeline_parse("call", rows, &pl, &err), PARLEY_OK);
	assert_true(pipeline_has(&pl, "lid"));
	assert_true(pipeline_has(&pl, "ivr"));
	assert_true(pipeline_has(&pl, "stt"));
	assert_false(pipeline_has(&pl, "denoise"));
	assert_false(pipeline_has(&pl, "samples"));
	/* a preset inside a list; registry order kept */
	assert_int_equal(pipeline_parse("call,denoise", rows, &pl, &err), PARLEY_OK);
	assert_string_equal(pl.stages[0]->name, "decode");
	assert_string_equal(pl.stages[1]->name, "ivr");
	assert_string_equal(pl.stages[2]->name, "denoise");
	/* audit: the call preset, then answers and verdicts */
	assert_int_equal(pipeline_parse("audit", rows, &pl, &err), PARLEY_OK);
	assert_true(pipeline_has(&pl, "metrics"));
	assert_string_equal(pl.stages[pl.count - 2]->name, "answers");
	assert_string_equal(pl.stages[pl.count - 1]->name, "verdicts");
	assert_non_null(strstr(stage_preset_names(), "audit"));
	assert_int_equal(pipeline_parse("call,nope", rows, &pl, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "unknown stage 'nope'"));

	struct pipeline_config c;
	char list[256];
	pipeline_config_init(&c);
	assert_int_equal(pipeline_from_config(&c, list, sizeof(list), &err), PARLEY_OK);
	assert_string_equal(list, ""); /* the default pipeline */
	c.denoise.enabled = true;
	assert_int_equal(pipeline_from_config(&c, list, sizeof(list), &err), PARLEY_OK);
	assert_string_equal(list, "decode,denoise,vad,diarize,stt,words,samples");
	assert_int_equal(pipeline_config_set(&c, "preset", "call", &err), PARLEY_OK);
	assert_int_equal(pipeline_from_config(&c, list, sizeof(list), &err), PARLEY_OK);
	assert_non_null(strstr(list, "decode,ivr,denoise,vad,diarize,lid,stt,words"));
	assert_int_equal(pipeline_config_set(&c, "preset", "meeting", &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "preset is not a preset (known: call"));
	pipeline_config_release(&c);
}

/* stage_load_audio: the denoised file only when denoise is in the pipeline. */
static void test_load_audio(void **state)
{
	(void)state;
	char dir[] = "/tmp/parley-stages-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct parley_error err = {0};
	int16_t a[4] = {1, 2, 3, 4}, b[2] = {5, 6};
	struct pcm orig = {a, 4, 16000}, den = {b, 2, 16000}, got = {0};
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, STAGE_AUDIO_FILE);
	assert_int_equal(wav_write(path, &orig, &err), PARLEY_OK);
	snprintf(path, sizeof(path), "%s/%s", dir, STAGE_DENOISED_FILE);
	assert_int_equal(wav_write(path, &den, &err), PARLEY_OK);
	struct stage_ctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	snprintf(ctx.rec_dir, sizeof(ctx.rec_dir), "%s", dir);
	assert_int_equal(stage_load_audio(&ctx, &got, &err), PARLEY_OK);
	assert_int_equal(got.n, 4); /* no pipeline known: the original */
	pcm_release(&got);
	const struct stage *rows[64];
	struct pipeline pl;
	assert_int_equal(pipeline_parse("call", rows, &pl, &err), PARLEY_OK);
	ctx.pipeline = pl.stages;
	ctx.pipeline_count = pl.count;
	assert_int_equal(stage_load_audio(&ctx, &got, &err), PARLEY_OK);
	assert_int_equal(got.n, 4); /* denoise not in it */
	pcm_release(&got);
	assert_int_equal(pipeline_parse("call,denoise", rows, &pl, &err), PARLEY_OK);
	ctx.pipeline_count = pl.count;
	assert_true(stage_in_pipeline(&ctx, "denoise"));
	assert_int_equal(stage_load_audio(&ctx, &got, &err), PARLEY_OK);
	assert_int_equal(got.n, 2);
	assert_int_equal(got.samples[1], 6);
	pcm_release(&got);
	assert_int_equal(stage_load_audio_original(&ctx, &got, &err), PARLEY_OK);
	assert_int_equal(got.n, 4);
	pcm_release(&got);
	assert_int_equal(fs_remove_tree(dir, &err), PARLEY_OK);
}

static void test_rows(void **state)
{
	(void)state;
	const char *tables[16];
	size_t n = stage_result_tables(tables, 16);
	static const char *const want[] = {"call_events", "segments",     "speakers",
					   "speaker_roles", "call_language", "stt_words",
					   "words",       "word_counts",  "call_metrics", "call_spans",
					   "answers",     "verdicts",     "test_effects"};
	assert_int_equal(n, 13);
	assert_null(tables[n]);
	for (size_t i = 0; i < 13; i++)
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
	assert_true(stage_find("answers")->optional);
	assert_true(stage_reads(stage_find("answers"), "llm"));
	assert_non_null(stage_find("answers")->export);
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
		cmocka_unit_test(test_presets),
		cmocka_unit_test(test_load_audio),
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_reset_by_tables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
