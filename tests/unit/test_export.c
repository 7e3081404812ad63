/* test_export.c — output formats written from a hand-filled store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/export.h"
#include "store/store.h"
#include "store/store_call.h"
#include "text/lexicon.h"
#include "util/fs.h"

/* A temp dir holding a store with one batch and one recording (name,
 * source, seconds long), and the paths export writes to. */
struct ex {
	char dir[64];
	char db[300], out[300], data[300];
	struct store *st;
	int64_t batch, rec;
};

static void ex_open(struct ex *x, const char *name, const char *source, double seconds)
{
	struct parley_error err = {0};
	snprintf(x->dir, sizeof(x->dir), "/tmp/parley-export-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	snprintf(x->db, sizeof(x->db), "%s/t.db", x->dir);
	snprintf(x->out, sizeof(x->out), "%s/out", x->dir);
	snprintf(x->data, sizeof(x->data), "%s/data", x->dir);
	assert_int_equal(store_open(x->db, &x->st, &err), PARLEY_OK);
	assert_int_equal(store_batch_ensure(x->st, "b", "run", &x->batch, &err), PARLEY_OK);
	assert_int_equal(store_recording_add(x->st, x->batch, name, source, "x", NULL, &x->rec, &err),
			 PARLEY_OK);
	assert_int_equal(store_recording_set_duration(x->st, x->rec, seconds, &err), PARLEY_OK);
}

static void ex_close(struct ex *x)
{
	store_close(x->st);
	fs_remove_tree(x->dir, NULL);
}

static void test_timestamps(void **state)
{
	(void)state;
	char s[32];
	export_timestamp(0, ',', s, sizeof(s));
	assert_string_equal(s, "00:00:00,000");
	export_timestamp(3661.2345, '.', s, sizeof(s));
	assert_string_equal(s, "01:01:01.235");
	export_timestamp(59.9996, ',', s, sizeof(s));
	assert_string_equal(s, "00:01:00,000");
	export_timestamp(-3, '.', s, sizeof(s));
	assert_string_equal(s, "00:00:00.000");
}

static char *read_text(const char *dir, const char *file)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	char *data = NULL;
	size_t len;
	struct parley_error err = {0};
	if (fs_read_file(path, 1 << 20, &data, &len, &err) != PARLEY_OK)
		fail_msg("%s", err.msg);
	return data;
}

static void test_formats(void **state)
{
	(void)state;
	struct ex x;
	ex_open(&x, "call, one", "/in/call.wav", 5.0);
	struct store *st = x.st;
	int64_t batch = x.batch, rec = x.rec;
	const char *out = x.out, *data = x.data;
	struct parley_error err = {0};
	struct store_segment turns[2] = {{0.5, 2.0, 0}, {2.5, 4.5, 1}};
	struct store_word words[4] = {
		{0.6, 0.9, 0.9f, 0, "hello", false}, {1.0, 1.4, 0.8f, 0, "lah", false},
		/* times spread over a segment by a remote engine: only the JSON says so */
		{2.6, 3.0, 0.7f, 1, "walao", true}, {3.1, 3.5, 0.6f, 1, "lah", false},
	};
	struct store_speaker spk[2] = {{0, 1.5, 1, 0, 0}, {1, 2.0, 1, 0, 0}};
	struct store_count counts[4] = {{0, "lah", 1}, {0, "walao", 0}, {1, "lah", 1}, {1, "walao", 1}};
	assert_int_equal(store_segments_put(st, rec, "turn", turns, 2, &err), PARLEY_OK);
	assert_int_equal(store_words_put(st, rec, "words", words, 4, &err), PARLEY_OK);
	assert_int_equal(store_speakers_put(st, rec, spk, 2, &err), PARLEY_OK);
	assert_int_equal(store_counts_put(st, rec, counts, 4, &err), PARLEY_OK);
	bool found;
	struct store_recording r;
	assert_int_equal(store_lease_next(st, batch, "h:1", 60, NULL, &r, &found, &err), PARLEY_OK);
	assert_int_equal(store_recording_finish(st, rec, "h:1", STORE_DONE, NULL, NULL, &err), PARLEY_OK);
	assert_int_equal(store_recording_get(st, rec, &r, &err), PARLEY_OK);
	/* The lexicon marks target words "counted" by its thresholds. */
	static const char lex_text[] = "target lah L AA\ntarget walao W AA L AW\nthreshold 0.65 lah\n";
	struct lexicon *lex = NULL;
	assert_int_equal(lexicon_parse(lex_text, strlen(lex_text), "t.lex", &lex, &err), PARLEY_OK);
	struct export_params p = {out, data, "{\"stt\":\"test\"}", lex};
	assert_int_equal(export_recording(st, &p, &r, &err), PARLEY_OK);
	assert_int_equal(export_summary(st, &p, batch, &err), PARLEY_OK);
	char rdir[400];
	snprintf(rdir, sizeof(rdir), "%s/call, one", out);

	char *srt = read_text(rdir, "transcript.srt");
	assert_string_equal(srt, "1\n00:00:00,600 --> 00:00:01,400\nspeaker-1: hello lah\n\n"
				 "2\n00:00:02,600 --> 00:00:03,500\nspeaker-2: walao lah\n\n");
	free(srt);
	char *vtt = read_text(rdir, "transcript.vtt");
	assert_string_equal(vtt, "WEBVTT\n\n1\n00:00:00.600 --> 00:00:01.400\n<v speaker-1>hello lah</v>\n\n"
				 "2\n00:00:02.600 --> 00:00:03.500\n<v speaker-2>walao lah</v>\n\n");
	free(vtt);
	char *rttm = read_text(rdir, "transcript.rttm");
	/* RTTM fields are space separated: a name with a space would break them */
	assert_string_equal(rttm, "SPEAKER call,_one 1 0.500 1.500 <NA> <NA> speaker-1 <NA> <NA>\n"
				  "SPEAKER call,_one 1 2.500 2.000 <NA> <NA> speaker-2 <NA> <NA>\n");
	free(rttm);
	char *txt = read_text(rdir, "transcript.txt");
	assert_string_equal(txt, "[00:00:00.500 - 00:00:02.000] speaker-1: hello lah\n"
				 "[00:00:02.500 - 00:00:04.500] speaker-2: walao lah\n");
	free(txt);
	char *csv = read_text(out, "summary.csv");
	assert_string_equal(csv, "recording,speaker,word,count,role\n"
				 "\"call, one\",speaker-1,lah,1,\n\"call, one\",speaker-1,walao,0,\n"
				 "\"call, one\",speaker-2,lah,1,\n\"call, one\",speaker-2,walao,1,\n");
	free(csv);
	char mpath[400];
	snprintf(mpath, sizeof(mpath), "%s/metrics.csv", out);
	assert_false(fs_exists(mpath)); /* no call metrics: no metrics.csv */
	char *js = read_text(rdir, "transcript.json");
	json_error_t jerr;
	json_t *root = json_loads(js, 0, &jerr);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "name")), "call, one");
	json_t *jw = json_object_get(root, "words");
	assert_int_equal(json_array_size(jw), 4);
	assert_null(json_object_get(json_array_get(jw, 0), "counted")); /* hello: not a target */
	assert_true(json_is_true(json_object_get(json_array_get(jw, 1), "counted")));  /* lah 0.8 */
	assert_true(json_is_true(json_object_get(json_array_get(jw, 2), "counted")));  /* walao 0.7 */
	assert_true(json_is_false(json_object_get(json_array_get(jw, 3), "counted"))); /* lah 0.6 */
	/* "approximate" only on the word whose times were spread, absent otherwise */
	assert_true(json_is_true(json_object_get(json_array_get(jw, 2), "approximate")));
	assert_null(json_object_get(json_array_get(jw, 0), "approximate"));
	assert_null(json_object_get(json_array_get(jw, 1), "approximate"));
	assert_null(json_object_get(json_array_get(jw, 3), "approximate"));
	assert_int_equal(json_array_size(json_object_get(root, "speakers")), 2);
	json_t *c2 = json_object_get(json_object_get(root, "counts"), "speaker-2");
	assert_int_equal(json_integer_value(json_object_get(c2, "walao")), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(root, "engines"), "stt")), "test");
	json_decref(root);
	free(js);
	lexicon_free(lex);
	ex_close(&x);
}

/* Overlap segments (run --overlap) go to RTTM and JSON "overlaps" only: the
 * text formats and word attribution keep to the main turns. */
static void test_overlaps(void **state)
{
	(void)state;
	struct ex x;
	ex_open(&x, "ov", "/in/ov.wav", 5.0);
	struct store *st = x.st;
	int64_t batch = x.batch, rec = x.rec;
	const char *out = x.out, *data = x.data;
	struct parley_error err = {0};
	struct store_segment turns[2] = {{0.5, 2.0, 0}, {2.0, 4.5, 1}};
	struct store_segment ovl[2] = {{1.6, 2.0, 1}, {2.0, 2.3, 0}};
	struct store_word words[2] = {{1.7, 1.9, 0.9f, 0, "hello", false},
				      {2.1, 2.4, 0.8f, 1, "lah", false}};
	struct store_speaker spk[2] = {{0, 1.5, 1, 0, 0}, {1, 2.5, 1, 0, 0}};
	assert_int_equal(store_segments_put(st, rec, "turn", turns, 2, &err), PARLEY_OK);
	assert_int_equal(store_segments_put(st, rec, "overlap", ovl, 2, &err), PARLEY_OK);
	assert_int_equal(store_words_put(st, rec, "words", words, 2, &err), PARLEY_OK);
	assert_int_equal(store_speakers_put(st, rec, spk, 2, &err), PARLEY_OK);
	bool found;
	struct store_recording r;
	assert_int_equal(store_lease_next(st, batch, "h:1", 60, NULL, &r, &found, &err), PARLEY_OK);
	assert_int_equal(store_recording_finish(st, rec, "h:1", STORE_DONE, NULL, NULL, &err), PARLEY_OK);
	assert_int_equal(store_recording_get(st, rec, &r, &err), PARLEY_OK);
	struct export_params p = {out, data, NULL, NULL};
	assert_int_equal(export_recording(st, &p, &r, &err), PARLEY_OK);
	char rdir[400];
	snprintf(rdir, sizeof(rdir), "%s/ov", out);
	char *rttm = read_text(rdir, "transcript.rttm");
	assert_string_equal(rttm, "SPEAKER ov 1 0.500 1.500 <NA> <NA> speaker-1 <NA> <NA>\n"
				  "SPEAKER ov 1 2.000 2.500 <NA> <NA> speaker-2 <NA> <NA>\n"
				  "SPEAKER ov 1 1.600 0.400 <NA> <NA> speaker-2 <NA> <NA>\n"
				  "SPEAKER ov 1 2.000 0.300 <NA> <NA> speaker-1 <NA> <NA>\n");
	free(rttm);
	char *txt = read_text(rdir, "transcript.txt");
	assert_string_equal(txt, "[00:00:00.500 - 00:00:02.000] speaker-1: hello\n"
				 "[00:00:02.000 - 00:00:04.500] speaker-2: lah\n");
	free(txt);
	char *js = read_text(rdir, "transcript.json");
	json_error_t jerr;
	json_t *root = json_loads(js, 0, &jerr);
	assert_non_null(root);
	assert_int_equal(json_array_size(json_object_get(root, "segments")), 2);
	assert_int_equal(json_array_size(json_object_get(root, "words")), 2);
	json_t *jo = json_object_get(root, "overlaps");
	assert_int_equal(json_array_size(jo), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(jo, 0), "speaker")),
			    "speaker-2");
	json_decref(root);
	free(js);
	ex_close(&x);
}

/* Call roles label the speakers everywhere; the metrics stage's figures go
 * to transcript.json "metrics" (keyed by role) and OUT/metrics.csv. */
static void test_roles_and_metrics(void **state)
{
	(void)state;
	struct ex x;
	ex_open(&x, "c1", "/in/c1.wav", 5.0);
	struct store *st = x.st;
	int64_t batch = x.batch, rec = x.rec;
	const char *out = x.out, *data = x.data;
	struct parley_error err = {0};
	struct store_segment turns[2] = {{0.5, 2.0, 0}, {2.5, 4.5, 1}};
	struct store_word words[2] = {{0.6, 0.9, 0.9f, 0, "hello", false},
				      {2.6, 3.0, 0.7f, 1, "lah", false}};
	struct store_speaker spk[2] = {{0, 1.5, 1, 0, 0}, {1, 2.0, 1, 0, 0}};
	struct store_count counts[2] = {{0, "lah", 0}, {1, "lah", 1}};
	struct store_speaker_role roles[2] = {{0, "agent", 0, "channel"},
					      {1, "customer", 1, "channel"}};
	struct store_call_metric m[3] = {{"call", "talk_time", 3.5},
					 {"agent", "talk_time", 1.5},
					 {"customer", "turns", 1}};
	struct store_call_span sp[1] = {{"silence", 2.0, 2.5, "agent", "customer"}};
	assert_int_equal(store_segments_put(st, rec, "turn", turns, 2, &err), PARLEY_OK);
	assert_int_equal(store_words_put(st, rec, "words", words, 2, &err), PARLEY_OK);
	assert_int_equal(store_speakers_put(st, rec, spk, 2, &err), PARLEY_OK);
	assert_int_equal(store_counts_put(st, rec, counts, 2, &err), PARLEY_OK);
	assert_int_equal(store_speaker_roles_put(st, rec, roles, 2, &err), PARLEY_OK);
	assert_int_equal(store_call_metrics_put(st, rec, m, 3, &err), PARLEY_OK);
	assert_int_equal(store_call_spans_put(st, rec, sp, 1, &err), PARLEY_OK);
	assert_int_equal(store_stage_done(st, rec, "metrics", 0, 0, &err), PARLEY_OK);
	bool found;
	struct store_recording r;
	assert_int_equal(store_lease_next(st, batch, "h:1", 60, NULL, &r, &found, &err), PARLEY_OK);
	assert_int_equal(store_recording_finish(st, rec, "h:1", STORE_DONE, NULL, NULL, &err), PARLEY_OK);
	assert_int_equal(store_recording_get(st, rec, &r, &err), PARLEY_OK);
	struct export_params p = {out, data, NULL, NULL};
	assert_int_equal(export_recording(st, &p, &r, &err), PARLEY_OK);
	assert_int_equal(export_summary(st, &p, batch, &err), PARLEY_OK);
	char rdir[400];
	snprintf(rdir, sizeof(rdir), "%s/c1", out);
	char *txt = read_text(rdir, "transcript.txt");
	assert_string_equal(txt, "[00:00:00.500 - 00:00:02.000] speaker-1 (agent): hello\n"
				 "[00:00:02.500 - 00:00:04.500] speaker-2 (customer): lah\n");
	free(txt);
	char *srt = read_text(rdir, "transcript.srt");
	assert_non_null(strstr(srt, "speaker-2 (customer): lah"));
	free(srt);
	char *csv = read_text(out, "summary.csv");
	assert_string_equal(csv, "recording,speaker,word,count,role\n"
				 "c1,speaker-1,lah,0,agent\nc1,speaker-2,lah,1,customer\n");
	free(csv);
	csv = read_text(out, "metrics.csv");
	assert_string_equal(csv, "recording,scope,name,value\n"
				 "c1,agent,talk_time,1.5\nc1,call,talk_time,3.5\nc1,customer,turns,1\n");
	free(csv);
	char *js = read_text(rdir, "transcript.json");
	json_error_t jerr;
	json_t *root = json_loads(js, 0, &jerr);
	assert_non_null(root);
	json_t *s1 = json_array_get(json_object_get(root, "speakers"), 1);
	assert_string_equal(json_string_value(json_object_get(s1, "role")), "customer");
	assert_int_equal(json_integer_value(json_object_get(s1, "channel")), 1);
	json_t *seg = json_array_get(json_object_get(root, "segments"), 0);
	assert_string_equal(json_string_value(json_object_get(seg, "role")), "agent");
	json_t *jm = json_object_get(root, "metrics");
	assert_non_null(jm);
	assert_true(json_real_value(json_object_get(json_object_get(jm, "agent"), "talk_time")) == 1.5);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(jm, "customer"), "turns")), 1);
	json_t *sil = json_object_get(json_object_get(jm, "call"), "silences");
	assert_int_equal(json_array_size(sil), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(sil, 0), "before")), "agent");
	json_decref(root);
	free(js);
	ex_close(&x);
}

/* Turns of two speakers overlapping in time (a call diarized by channel):
 * each turn's text has its own speaker's words only, cues too. */
static void test_overlapping_turns(void **state)
{
	(void)state;
	struct ex x;
	ex_open(&x, "x", "/in/x.wav", 6.0);
	struct store *st = x.st;
	int64_t batch = x.batch, rec = x.rec;
	const char *out = x.out, *data = x.data;
	struct parley_error err = {0};
	struct store_segment turns[2] = {{0.5, 4.0, 0}, {2.0, 5.0, 1}};
	struct store_word words[5] = {
		{0.6, 0.9, 0.9f, 0, "one", false}, {2.1, 2.4, 0.9f, 1, "no", false},
		{2.5, 2.8, 0.9f, 0, "two", false}, {3.0, 3.3, 0.9f, 1, "wait", false},
		{4.2, 4.5, 0.9f, 1, "stop", false},
	};
	struct store_speaker spk[2] = {{0, 3.5, 1, 0, 0}, {1, 3.0, 1, 0, 0}};
	assert_int_equal(store_segments_put(st, rec, "turn", turns, 2, &err), PARLEY_OK);
	assert_int_equal(store_words_put(st, rec, "words", words, 5, &err), PARLEY_OK);
	assert_int_equal(store_speakers_put(st, rec, spk, 2, &err), PARLEY_OK);
	bool found;
	struct store_recording r;
	assert_int_equal(store_lease_next(st, batch, "h:1", 60, NULL, &r, &found, &err), PARLEY_OK);
	assert_int_equal(store_recording_finish(st, rec, "h:1", STORE_DONE, NULL, NULL, &err), PARLEY_OK);
	assert_int_equal(store_recording_get(st, rec, &r, &err), PARLEY_OK);
	struct export_params p = {out, data, NULL, NULL};
	assert_int_equal(export_recording(st, &p, &r, &err), PARLEY_OK);
	char rdir[400];
	snprintf(rdir, sizeof(rdir), "%s/x", out);
	char *txt = read_text(rdir, "transcript.txt");
	assert_string_equal(txt, "[00:00:00.500 - 00:00:04.000] speaker-1: one two\n"
				 "[00:00:02.000 - 00:00:05.000] speaker-2: no wait stop\n");
	free(txt);
	char *srt = read_text(rdir, "transcript.srt");
	assert_string_equal(srt, "1\n00:00:00,600 --> 00:00:02,800\nspeaker-1: one two\n\n"
				 "2\n00:00:02,100 --> 00:00:04,500\nspeaker-2: no wait stop\n\n");
	free(srt);
	ex_close(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_overlaps),
		cmocka_unit_test(test_roles_and_metrics),
		cmocka_unit_test(test_overlapping_turns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
