/* test_session.c — the sessions domain (src/session/) on a real store: SQLite
 * on a fresh file per test, and the same cases on PostgreSQL in a fresh schema
 * per test when PARLEY_TEST_PG_URL is set. Plus the chunk manifest parser and
 * the decode of a real two-chunk manifest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/manifest.h"
#include "audio/wav.h"
#include "session/session.h"
#include "store/db.h"
#include "store/store.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

struct driver_ctx {
	bool pg;
	const char *base; /* PostgreSQL URL, or NULL */
};

struct fixture {
	char dir[256];
	char target[1200];
	char schema[64];
	struct store *st;
	struct session_ctx c;
	int queued;
};

static struct driver_ctx sqlite_ctx = {false, NULL};
static struct driver_ctx pg_ctx = {true, NULL};
static unsigned serial;

static void must(enum parley_err rc, const struct parley_error *err)
{
	if (rc != PARLEY_OK)
		fail_msg("%s", err->msg);
}

static void pg_admin_exec(const char *sql)
{
	struct db *db = NULL;
	struct parley_error err = {0};
	must(db_open(pg_ctx.base, &db, &err), &err);
	must(db_exec(db, sql, &err), &err);
	db_close(db);
}

static enum parley_err count_queued(void *ud, int64_t batch, int64_t rec, struct parley_error *err)
{
	(void)batch;
	(void)rec;
	(void)err;
	((struct fixture *)ud)->queued++;
	return PARLEY_OK;
}

static int setup(void **state)
{
	const struct driver_ctx *ctx = *state;
	struct fixture *f = calloc(1, sizeof(*f));
	*state = f;
	snprintf(f->dir, sizeof(f->dir), "%s/parley-session-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	if (ctx->pg) {
		if (!ctx->base)
			return 0; /* skipped */
		snprintf(f->schema, sizeof(f->schema), "parley_s%ld_%u", (long)getpid(), ++serial);
		char sql[200];
		snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", f->schema,
			 f->schema);
		pg_admin_exec(sql);
		snprintf(f->target, sizeof(f->target), "%s%soptions=-csearch_path%%3D%s", ctx->base,
			 strchr(ctx->base, '?') ? "&" : "?", f->schema);
	} else {
		snprintf(f->target, sizeof(f->target), "%s/p.db", f->dir);
	}
	struct parley_error err = {0};
	if (store_open(f->target, &f->st, &err) != PARLEY_OK) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	f->c.store = f->st;
	f->c.data_dir = f->dir;
	f->c.on_queued = count_queued;
	f->c.ud = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_close(f->st);
	if (f->schema[0]) {
		char sql[128];
		snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", f->schema);
		pg_admin_exec(sql);
	}
	fs_remove_tree(f->dir, NULL);
	free(f);
	return 0;
}

static struct fixture *fix(void **state)
{
	struct fixture *f = *state;
	if (!f->st)
		skip();
	return f;
}

static struct session_user user(struct fixture *f, const char *name, bool admin)
{
	char token[SESSION_TOKEN_LEN + 1];
	struct parley_error err = {0};
	struct session_user u;
	must(session_user_add(f->st, name, admin, token, sizeof(token), &err), &err);
	must(session_user_auth(f->st, token, &u, &err), &err);
	assert_string_equal(u.name, name);
	assert_int_equal(u.admin, admin);
	return u;
}

/* A mono 16 kHz WAV of `seconds` of a tone, as bytes (caller frees). */
static char *wav_bytes(struct fixture *f, double seconds, int hz, size_t *len)
{
	struct pcm pcm = {0};
	pcm.rate = 16000;
	pcm.n = (size_t)(seconds * pcm.rate);
	pcm.samples = calloc(pcm.n, sizeof(*pcm.samples));
	for (size_t i = 0; i < pcm.n; i++)
		pcm.samples[i] = (int16_t)(8000 * sin(2 * M_PI * hz * (double)i / pcm.rate));
	char path[400], *data = NULL;
	snprintf(path, sizeof(path), "%s/tone.wav", f->dir);
	struct parley_error err = {0};
	must(wav_write(path, &pcm, &err), &err);
	must(fs_read_file(path, 1 << 24, &data, len, &err), &err);
	unlink(path);
	pcm_release(&pcm);
	return data;
}

static char *create(struct fixture *f, const struct session_user *u, char id[SESSION_ID_LEN + 1],
		    char code[SESSION_JOIN_CODE_LEN + 1])
{
	json_t *s = NULL;
	struct parley_error err = {0};
	must(session_create(&f->c, u, "friday chat", &s, &err), &err);
	snprintf(id, SESSION_ID_LEN + 1, "%s", json_string_value(json_object_get(s, "id")));
	if (code)
		snprintf(code, SESSION_JOIN_CODE_LEN + 1, "%s",
			 json_string_value(json_object_get(s, "join_code")));
	assert_true(session_id_valid(id));
	assert_string_equal(json_string_value(json_object_get(s, "status")), "recording");
	assert_string_equal(json_string_value(json_object_get(s, "role")), "owner");
	json_decref(s);
	return id;
}

static void put(struct fixture *f, const struct session_user *u, const char *id, int seq,
		double seconds, int hz, bool want_created)
{
	size_t len;
	char *b = wav_bytes(f, seconds, hz, &len);
	struct session_chunk ch;
	struct parley_error err = {0};
	must(session_chunk_put(&f->c, u, id, seq, b, len, &ch, &err), &err);
	assert_int_equal(ch.created, want_created);
	assert_int_equal(ch.seq, seq);
	assert_int_equal(ch.bytes, len);
	assert_true(fabs(ch.duration - seconds) < 0.01);
	free(b);
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void test_users_and_tokens(void **state)
{
	struct fixture *f = fix(state);
	char token[SESSION_TOKEN_LEN + 1];
	struct parley_error err = {0};
	struct session_user u;
	must(session_user_add(f->st, "ana", false, token, sizeof(token), &err), &err);
	assert_int_equal(strlen(token), SESSION_TOKEN_LEN);
	assert_memory_equal(token, "pt_", 3);
	must(session_user_auth(f->st, token, &u, &err), &err);
	assert_string_equal(u.name, "ana");
	assert_false(u.admin);
	assert_int_equal(session_user_add(f->st, "ana", true, token, sizeof(token), &err),
			 PARLEY_ERR_CONFLICT);
	assert_int_equal(session_user_add(f->st, "a b", false, token, sizeof(token), &err),
			 PARLEY_ERR_INVALID);
	assert_int_equal(session_user_auth(f->st, "pt_0000000000000000000000000000000000000000", &u, &err),
			 PARLEY_ERR_UNAUTHORIZED);
	assert_int_equal(session_user_auth(f->st, "nonsense", &u, &err), PARLEY_ERR_UNAUTHORIZED);
	assert_int_equal(session_user_auth(f->st, "", &u, &err), PARLEY_ERR_UNAUTHORIZED);
}

static void test_visibility_and_join(void **state)
{
	struct fixture *f = fix(state);
	struct session_user ana = user(f, "ana", false), bob = user(f, "bob", false),
			    root = user(f, "root", true);
	char id[SESSION_ID_LEN + 1], code[SESSION_JOIN_CODE_LEN + 1];
	create(f, &ana, id, code);
	assert_true(session_join_code_valid(code));
	json_t *s = NULL;
	struct parley_error err = {0}, missing = {0};
	assert_int_equal(session_get(&f->c, &bob, id, &s, &err), PARLEY_ERR_NOT_FOUND);
	assert_int_equal(session_get(&f->c, &bob, "aaaaaaaaaaaaaaaaaaaa", &s, &missing),
			 PARLEY_ERR_NOT_FOUND);
	/* the same sentence shape for hidden and missing: no id leaks more */
	assert_memory_equal(err.msg, missing.msg, strlen("no session "));
	assert_int_equal(session_get(&f->c, &bob, "../../etc", &s, &err), PARLEY_ERR_INVALID);
	char wrong[SESSION_JOIN_CODE_LEN + 1];
	snprintf(wrong, sizeof(wrong), "%s", code);
	wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
	assert_int_equal(session_join(&f->c, &bob, id, wrong, &s, &err), PARLEY_ERR_NOT_FOUND);
	assert_int_equal(session_join(&f->c, &bob, id, "bad", &s, &err), PARLEY_ERR_INVALID);
	json_t *list = NULL;
	must(session_list(&f->c, &bob, NULL, SESSION_PAGE_DEFAULT, &list, &err), &err);
	assert_int_equal(json_array_size(json_object_get(list, "sessions")), 0);
	json_decref(list);
	must(session_join(&f->c, &bob, id, code, &s, &err), &err);
	assert_string_equal(str(s, "role"), "participant");
	json_decref(s);
	must(session_join(&f->c, &bob, id, code, &s, &err), &err); /* again: no-op */
	json_decref(s);
	must(session_join(&f->c, &ana, id, code, &s, &err), &err); /* the owner: no-op */
	assert_string_equal(str(s, "role"), "owner");
	json_decref(s);
	must(session_get(&f->c, &root, id, &s, &err), &err);
	assert_string_equal(str(s, "role"), "admin");
	assert_string_equal(str(s, "owner"), "ana");
	assert_string_equal(str(s, "join_code"), code);
	assert_true(json_is_null(json_object_get(s, "ended_at")));
	json_decref(s);
	char id2[SESSION_ID_LEN + 1];
	create(f, &ana, id2, NULL);
	must(session_list(&f->c, &bob, NULL, SESSION_PAGE_DEFAULT, &list, &err), &err);
	assert_int_equal(json_array_size(json_object_get(list, "sessions")), 1);
	json_decref(list);
	must(session_list(&f->c, &ana, NULL, SESSION_PAGE_DEFAULT, &list, &err), &err);
	json_t *arr = json_object_get(list, "sessions");
	assert_int_equal(json_array_size(arr), 2);
	json_decref(list);
	must(session_list(&f->c, &root, NULL, SESSION_PAGE_DEFAULT, &list, &err), &err);
	assert_int_equal(json_array_size(json_object_get(list, "sessions")), 2);
	assert_true(json_is_null(json_object_get(list, "next")));
	json_decref(list);
	/* pages of one: the newest, then the other, then none */
	must(session_list(&f->c, &ana, NULL, 1, &list, &err), &err);
	assert_int_equal(json_array_size(json_object_get(list, "sessions")), 1);
	assert_string_equal(str(json_array_get(json_object_get(list, "sessions"), 0), "id"), id2);
	char next[SESSION_ID_LEN + 1];
	snprintf(next, sizeof(next), "%s", str(list, "next"));
	assert_string_equal(next, id2);
	json_decref(list);
	must(session_list(&f->c, &ana, next, 1, &list, &err), &err);
	assert_string_equal(str(json_array_get(json_object_get(list, "sessions"), 0), "id"), id);
	assert_true(json_is_null(json_object_get(list, "next")));
	json_decref(list);
	assert_int_equal(session_list(&f->c, &ana, NULL, 0, &list, &err), PARLEY_ERR_INVALID);
	assert_int_equal(session_list(&f->c, &ana, "../x", 5, &list, &err), PARLEY_ERR_INVALID);
}

static void test_chunks_end_and_gaps(void **state)
{
	struct fixture *f = fix(state);
	struct session_user ana = user(f, "ana", false), bob = user(f, "bob", false);
	char id[SESSION_ID_LEN + 1];
	create(f, &ana, id, NULL);
	struct parley_error err = {0};
	struct session_chunk ch;
	json_t *s = NULL;
	/* end without chunks */
	assert_int_equal(session_end(&f->c, &ana, id, &s, &err), PARLEY_ERR_CONFLICT);
	put(f, &ana, id, 0, 0.5, 440, true);
	put(f, &ana, id, 0, 0.5, 440, false); /* same bytes: idempotent */
	size_t len;
	char *other = wav_bytes(f, 0.5, 660, &len);
	assert_int_equal(session_chunk_put(&f->c, &ana, id, 0, other, len, &ch, &err),
			 PARLEY_ERR_CONFLICT);
	assert_non_null(strstr(err.msg, "different content"));
	assert_int_equal(session_chunk_put(&f->c, &bob, id, 1, other, len, &ch, &err),
			 PARLEY_ERR_NOT_FOUND); /* a stranger */
	assert_int_equal(session_chunk_put(&f->c, &ana, id, -1, other, len, &ch, &err),
			 PARLEY_ERR_INVALID);
	assert_int_equal(session_chunk_put(&f->c, &ana, id, SESSION_SEQ_MAX + 1, other, len, &ch, &err),
			 PARLEY_ERR_INVALID);
	static const char text[] = "this is not audio at all, just some words in a text file\n";
	enum parley_err rc = session_chunk_put(&f->c, &ana, id, 1, text, sizeof(text) - 1, &ch, &err);
	assert_true(rc == PARLEY_ERR_AUDIO || rc == PARLEY_ERR_EMPTY);
	assert_non_null(strstr(err.msg, "chunk 1 of session"));
	assert_int_equal(session_chunk_put(&f->c, &ana, id, 1, "", 0, &ch, &err), PARLEY_ERR_EMPTY);
	put(f, &ana, id, 3, 0.25, 440, true);
	must(session_get(&f->c, &ana, id, &s, &err), &err);
	assert_int_equal(json_integer_value(json_object_get(s, "chunks")), 2);
	assert_int_equal(json_array_size(json_object_get(s, "gaps")), 1); /* [[1,2]] */
	assert_int_equal(json_integer_value(json_object_get(s, "missing")), 2);
	assert_true(fabs(json_real_value(json_object_get(s, "audio_seconds")) - 0.75) < 0.01);
	json_decref(s);

	must(session_end(&f->c, &ana, id, &s, &err), &err);
	assert_int_equal(f->queued, 1);
	assert_string_equal(str(s, "status"), "processing");
	json_t *gaps = json_object_get(s, "gaps");
	assert_int_equal(json_array_size(gaps), 1);
	assert_int_equal(json_integer_value(json_array_get(json_array_get(gaps, 0), 0)), 1);
	assert_int_equal(json_integer_value(json_array_get(json_array_get(gaps, 0), 1)), 2);
	assert_int_equal(json_integer_value(json_object_get(s, "missing")), 2);
	assert_false(json_is_null(json_object_get(s, "ended_at")));
	json_t *stages = json_object_get(s, "stages");
	assert_true(json_array_size(stages) >= 1);
	assert_string_equal(str(json_array_get(stages, 0), "stage"), "decode");
	assert_string_equal(str(json_array_get(stages, 0), "status"), "pending");
	json_decref(s);
	assert_int_equal(session_end(&f->c, &ana, id, &s, &err), PARLEY_ERR_CONFLICT);
	assert_int_equal(session_chunk_put(&f->c, &ana, id, 1, other, len, &ch, &err),
			 PARLEY_ERR_CONFLICT);
	free(other);

	/* the manifest and the batch of kind session */
	char path[600], *m = NULL;
	size_t mlen;
	snprintf(path, sizeof(path), "%s/sessions/%s/audio.chunks", f->dir, id);
	must(fs_read_file(path, 1 << 16, &m, &mlen, &err), &err);
	assert_string_equal(m, "parley-chunks 1\nchunks/00000\nchunks/00003\n");
	free(m);
	char batch[64];
	int64_t bid;
	snprintf(batch, sizeof(batch), "session:%s", id);
	must(store_batch_find(f->st, batch, &bid, &err), &err);
	char pipeline[STORE_PIPELINE_MAX];
	must(store_batch_get_pipeline(f->st, bid, pipeline, sizeof(pipeline), &err), &err);
	assert_string_equal(pipeline, "decode,vad,diarize,stt,words,samples");
}

/* The recording of session id, as a worker would have finished it: two
 * speakers, counts of "lah" and "sia", status done. */
static int64_t rec_of(const struct store_recording *r, void *ud)
{
	*(int64_t *)ud = r->id;
	return 1;
}
static int rec_cb(const struct store_recording *r, void *ud)
{
	return (int)rec_of(r, ud);
}

static int64_t finish(struct fixture *f, const char *id, int lah0, int lah1)
{
	char batch[64];
	int64_t bid, rec = 0;
	struct parley_error err = {0};
	snprintf(batch, sizeof(batch), "session:%s", id);
	must(store_batch_find(f->st, batch, &bid, &err), &err);
	must(store_recording_each(f->st, bid, rec_cb, &rec, &err), &err);
	struct store_speaker spk[2] = {{0, 12.5, 4, 1.0, 6.0}, {1, 8.0, 3, 10.0, 13.0}};
	struct store_count cnt[3] = {{0, "lah", lah0}, {1, "lah", lah1}, {1, "sia", 2}};
	must(store_speakers_put(f->st, rec, spk, 2, &err), &err);
	must(store_counts_put(f->st, rec, cnt, 3, &err), &err);
	must(store_recording_finish(f->st, rec, NULL, STORE_DONE, NULL, NULL, &err), &err);
	return rec;
}

static json_t *speaker_at(json_t *view, size_t i)
{
	return json_array_get(json_object_get(view, "speakers"), i);
}

static void test_claims_results_leaderboard(void **state)
{
	struct fixture *f = fix(state);
	struct session_user ana = user(f, "ana", false), bob = user(f, "bob", false),
			    root = user(f, "root", true);
	char id[SESSION_ID_LEN + 1], code[SESSION_JOIN_CODE_LEN + 1];
	create(f, &ana, id, code);
	struct parley_error err = {0};
	json_t *v = NULL;
	must(session_join(&f->c, &bob, id, code, &v, &err), &err);
	json_decref(v);
	put(f, &ana, id, 0, 0.5, 440, true);
	must(session_end(&f->c, &ana, id, &v, &err), &err);
	json_decref(v);
	must(session_speakers(&f->c, &ana, id, &v, &err), &err);
	assert_string_equal(str(v, "status"), "processing");
	assert_int_equal(json_array_size(json_object_get(v, "speakers")), 0);
	json_decref(v);
	assert_int_equal(session_claim(&f->c, &ana, id, 1, &v, &err), PARLEY_ERR_CONFLICT);
	char path[PARLEY_PATH_MAX];
	assert_int_equal(session_sample_path(&f->c, &ana, id, 1, path, sizeof(path), &err),
			 PARLEY_ERR_CONFLICT);

	int64_t rec = finish(f, id, 3, 5);
	must(session_get(&f->c, &bob, id, &v, &err), &err);
	assert_string_equal(str(v, "status"), "ready_for_claiming");
	json_decref(v);
	must(session_speakers(&f->c, &ana, id, &v, &err), &err);
	assert_int_equal(json_array_size(json_object_get(v, "speakers")), 2);
	json_t *s1 = speaker_at(v, 0);
	assert_int_equal(json_integer_value(json_object_get(s1, "speaker")), 1);
	assert_int_equal(json_integer_value(json_object_get(s1, "turns")), 4);
	assert_true(json_is_null(json_object_get(s1, "claimed_by")));
	assert_true(fabs(json_real_value(json_object_get(s1, "sample_seconds")) - 5.0) < 1e-9);
	char url[100];
	snprintf(url, sizeof(url), "/v1/sessions/%s/speakers/1/sample", id);
	assert_string_equal(str(s1, "sample_url"), url);
	json_decref(v);

	/* samples: the samples stage's file in the recording's data dir */
	assert_int_equal(session_sample_path(&f->c, &ana, id, 1, path, sizeof(path), &err),
			 PARLEY_ERR_NOT_FOUND);
	assert_int_equal(session_sample_path(&f->c, &ana, id, 3, path, sizeof(path), &err),
			 PARLEY_ERR_NOT_FOUND);
	char want[PARLEY_PATH_MAX], dir[PARLEY_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/recordings/%lld/samples", f->dir, (long long)rec);
	snprintf(want, sizeof(want), "%s/speaker-1.wav", dir);
	must(fs_mkdir_p(dir, &err), &err);
	must(fs_write_atomic(want, "RIFF", 4, &err), &err);
	must(session_sample_path(&f->c, &ana, id, 1, path, sizeof(path), &err), &err);
	assert_string_equal(path, want);

	/* claims */
	must(session_claim(&f->c, &ana, id, 1, &v, &err), &err);
	assert_string_equal(str(speaker_at(v, 0), "claimed_by"), "ana");
	assert_true(json_is_true(json_object_get(speaker_at(v, 0), "mine")));
	json_decref(v);
	must(session_claim(&f->c, &ana, id, 1, &v, &err), &err); /* own again: no-op */
	json_decref(v);
	assert_int_equal(session_claim(&f->c, &bob, id, 1, &v, &err), PARLEY_ERR_CONFLICT);
	assert_int_equal(session_claim(&f->c, &ana, id, 2, &v, &err), PARLEY_ERR_CONFLICT);
	assert_int_equal(session_claim(&f->c, &ana, id, 9, &v, &err), PARLEY_ERR_NOT_FOUND);
	assert_int_equal(session_claim(&f->c, &ana, id, 0, &v, &err), PARLEY_ERR_INVALID);
	must(session_claim(&f->c, &bob, id, 2, &v, &err), &err);
	assert_false(json_is_true(json_object_get(speaker_at(v, 0), "mine")));
	assert_true(json_is_true(json_object_get(speaker_at(v, 1), "mine")));
	json_decref(v);
	assert_int_equal(session_unclaim(&f->c, &bob, id, 1, &v, &err), PARLEY_ERR_CONFLICT);
	must(session_unclaim(&f->c, &root, id, 1, &v, &err), &err); /* an admin may */
	assert_true(json_is_null(json_object_get(speaker_at(v, 0), "claimed_by")));
	json_decref(v);
	assert_int_equal(session_unclaim(&f->c, &ana, id, 1, &v, &err), PARLEY_ERR_NOT_FOUND);
	must(session_claim(&f->c, &ana, id, 1, &v, &err), &err);
	json_decref(v);

	/* results: every target word, per speaker and per user */
	must(session_results(&f->c, &bob, id, &v, &err), &err);
	assert_string_equal(str(v, "status"), "ready_for_claiming");
	json_t *words = json_object_get(v, "words");
	assert_true(json_array_size(words) >= 3);
	bool has_lor = false;
	for (size_t i = 0; i < json_array_size(words); i++)
		has_lor |= strcmp(json_string_value(json_array_get(words, i)), "lor") == 0;
	assert_true(has_lor);
	json_t *sp1 = json_array_get(json_object_get(v, "speakers"), 0);
	json_t *sp2 = json_array_get(json_object_get(v, "speakers"), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(sp1, "counts"), "lah")), 3);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(sp1, "counts"), "lor")), 0);
	assert_int_equal(json_integer_value(json_object_get(sp1, "total")), 3);
	assert_int_equal(json_integer_value(json_object_get(sp2, "total")), 7);
	assert_string_equal(str(sp2, "claimed_by"), "bob");
	json_t *users = json_object_get(v, "users");
	assert_int_equal(json_array_size(users), 2);
	json_decref(v);

	/* a second session: ana is speaker 2 there (lah 4) */
	char id2[SESSION_ID_LEN + 1];
	create(f, &ana, id2, NULL);
	put(f, &ana, id2, 0, 0.5, 440, true);
	must(session_end(&f->c, &ana, id2, &v, &err), &err);
	json_decref(v);
	finish(f, id2, 0, 4);
	must(session_claim(&f->c, &ana, id2, 2, &v, &err), &err);
	json_decref(v);

	struct session_leaderboard_query q = {.word = "lah"};
	must(session_leaderboard(&f->c, &q, &v, &err), &err);
	json_t *e = json_object_get(v, "entries");
	assert_int_equal(json_array_size(e), 2);
	assert_string_equal(str(json_array_get(e, 0), "user"), "ana");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(e, 0), "count")), 7);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(e, 0), "sessions")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(e, 0), "rank")), 1);
	assert_string_equal(str(json_array_get(e, 1), "user"), "bob");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(e, 1), "count")), 5);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(e, 1), "rank")), 2);
	assert_string_equal(str(v, "word"), "lah");
	assert_true(json_is_null(json_object_get(v, "since")));
	json_decref(v);
	q.word = "sia"; /* bob 2 (session 1), ana 2 (session 2): a tie, shared rank */
	must(session_leaderboard(&f->c, &q, &v, &err), &err);
	e = json_object_get(v, "entries");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(e, 0), "count")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(e, 1), "count")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(e, 1), "rank")), 1);
	json_decref(v);
	q.word = NULL; /* every word: ana 3 + 4 + 2, bob 5 + 2 */
	must(session_leaderboard(&f->c, &q, &v, &err), &err);
	e = json_object_get(v, "entries");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(e, 0), "count")), 9);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(e, 1), "count")), 7);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(e, 1), "rank")), 2);
	json_decref(v);
	q.since = 4102444800.0; /* 2100: nothing ended since */
	must(session_leaderboard(&f->c, &q, &v, &err), &err);
	assert_int_equal(json_array_size(json_object_get(v, "entries")), 0);
	json_decref(v);
	q.since = 0;
	q.limit = 1;
	must(session_leaderboard(&f->c, &q, &v, &err), &err);
	assert_int_equal(json_array_size(json_object_get(v, "entries")), 1);
	json_decref(v);
	q.limit = 1001;
	assert_int_equal(session_leaderboard(&f->c, &q, &v, &err), PARLEY_ERR_INVALID);
	q.limit = 0;
	q.word = "LAH;--";
	assert_int_equal(session_leaderboard(&f->c, &q, &v, &err), PARLEY_ERR_INVALID);
}

static void test_failed_status(void **state)
{
	struct fixture *f = fix(state);
	struct session_user ana = user(f, "ana", false);
	char id[SESSION_ID_LEN + 1];
	create(f, &ana, id, NULL);
	put(f, &ana, id, 0, 0.5, 440, true);
	struct parley_error err = {0};
	json_t *v = NULL;
	must(session_end(&f->c, &ana, id, &v, &err), &err);
	json_decref(v);
	char batch[64];
	int64_t bid, rec = 0;
	snprintf(batch, sizeof(batch), "session:%s", id);
	must(store_batch_find(f->st, batch, &bid, &err), &err);
	must(store_recording_each(f->st, bid, rec_cb, &rec, &err), &err);
	must(store_recording_finish(f->st, rec, NULL, STORE_FAILED, "audio", "chunk 1: broken", &err),
	     &err);
	must(session_get(&f->c, &ana, id, &v, &err), &err);
	assert_string_equal(str(v, "status"), "failed");
	assert_string_equal(str(v, "error"), "chunk 1: broken");
	json_decref(v);
}

/* ---- the manifest (no store) ---- */

static void parse_fails(const char *text, enum parley_err want, const char *why)
{
	struct chunk_manifest m;
	struct parley_error err = {0};
	assert_int_equal(chunk_manifest_parse(text, strlen(text), "m.chunks", &m, &err), want);
	if (!strstr(err.msg, why))
		fail_msg("'%s' not in '%s'", why, err.msg);
	assert_null(m.paths);
}

static bool has_word(json_t *results, const char *word)
{
	json_t *words = json_object_get(results, "words");
	for (size_t i = 0; i < json_array_size(words); i++)
		if (strcmp(json_string_value(json_array_get(words, i)), word) == 0)
			return true;
	return false;
}

/* The server's pipeline configuration is stored with a session's batch when
 * it ends; its results keep that lexicon after the server's default changed. */
static void test_results_stored_lexicon(void **state)
{
	struct fixture *f = fix(state);
	struct session_user ana = user(f, "ana", false);
	char id[SESSION_ID_LEN + 1];
	struct parley_error err = {0};
	json_t *v = NULL;
	f->c.pipeline_config = "{\"diarize\": {\"speakers\": 2},"
			       " \"lexicon\": {\"path\": \"mine.lex\", \"text\": \"target zzyzx Z IH Z IH K S\\n\"}}";
	create(f, &ana, id, NULL);
	must(session_results(&f->c, &ana, id, &v, &err), &err); /* not ended: the server's */
	assert_true(has_word(v, "zzyzx"));
	assert_false(has_word(v, "lor"));
	json_decref(v);
	put(f, &ana, id, 0, 0.5, 440, true);
	must(session_end(&f->c, &ana, id, &v, &err), &err);
	json_decref(v);
	/* the server restarts with the defaults (the built-in lexicon) */
	f->c.pipeline_config = NULL;
	must(session_results(&f->c, &ana, id, &v, &err), &err);
	assert_true(has_word(v, "zzyzx"));
	assert_false(has_word(v, "lor"));
	json_decref(v);
	char bname[64];
	snprintf(bname, sizeof(bname), "session:%s", id);
	int64_t batch = 0;
	char *json = NULL;
	must(store_batch_find(f->c.store, bname, &batch, &err), &err);
	must(store_batch_get_config(f->c.store, batch, &json, &err), &err);
	assert_non_null(strstr(json, "zzyzx"));
	free(json);
	/* a session ended now gets the built-in one */
	char id2[SESSION_ID_LEN + 1];
	create(f, &ana, id2, NULL);
	put(f, &ana, id2, 0, 0.5, 440, true);
	must(session_end(&f->c, &ana, id2, &v, &err), &err);
	json_decref(v);
	must(session_results(&f->c, &ana, id2, &v, &err), &err);
	assert_true(has_word(v, "lor"));
	assert_false(has_word(v, "zzyzx"));
	json_decref(v);
	/* serve --preset call --denoise: the sessions get the preset's stages */
	f->c.pipeline_config = "{\"preset\": \"call\", \"denoise\": {\"enabled\": true}}";
	char id3[SESSION_ID_LEN + 1];
	create(f, &ana, id3, NULL);
	put(f, &ana, id3, 0, 0.5, 440, true);
	must(session_end(&f->c, &ana, id3, &v, &err), &err);
	json_decref(v);
	snprintf(bname, sizeof(bname), "session:%s", id3);
	must(store_batch_find(f->c.store, bname, &batch, &err), &err);
	char pipeline[STORE_PIPELINE_MAX];
	must(store_batch_get_pipeline(f->c.store, batch, pipeline, sizeof(pipeline), &err), &err);
	assert_non_null(strstr(pipeline, "decode,"));
	assert_non_null(strstr(pipeline, ",denoise,vad,diarize,lid,stt,words,"));
	assert_null(strstr(pipeline, "samples"));
	f->c.pipeline_config = NULL;
}

static void test_manifest_parse(void **state)
{
	(void)state;
	struct chunk_manifest m;
	struct parley_error err = {0};
	const char *good = "parley-chunks 1\nchunks/00000\nchunks/00002";
	must(chunk_manifest_parse(good, strlen(good), "m.chunks", &m, &err), &err);
	assert_int_equal(m.n, 2);
	assert_string_equal(m.paths[0], "chunks/00000");
	assert_string_equal(m.paths[1], "chunks/00002");
	chunk_manifest_release(&m);
	assert_true(chunk_manifest_is("/x/audio.chunks"));
	assert_false(chunk_manifest_is("/x/audio.wav"));
	assert_false(chunk_manifest_is(".chunks"));
	parse_fails("parley-chunks 1\n/etc/passwd\n", PARLEY_ERR_INVALID, "line 2: absolute path");
	parse_fails("parley-chunks 1\nchunks/../../x\n", PARLEY_ERR_INVALID, "line 2: '.' or '..'");
	parse_fails("parley-chunks 1\n..\n", PARLEY_ERR_INVALID, "'..'");
	parse_fails("parley-chunks 2\nchunks/0\n", PARLEY_ERR_INVALID, "line 1: not a chunk manifest");
	parse_fails("parley-chunks 1", PARLEY_ERR_INVALID, "no chunks");
	parse_fails("parley-chunks 1\na\n\nb\n", PARLEY_ERR_INVALID, "line 3: empty line");
	parse_fails("parley-chunks 1\na\r\n", PARLEY_ERR_INVALID, "line 2: control");
	parse_fails("parley-chunks 1\na//b\n", PARLEY_ERR_INVALID, "empty path component");
	char longline[400];
	memset(longline, 'a', sizeof(longline));
	snprintf(longline, sizeof(longline), "parley-chunks 1\n%0300d\n", 7);
	parse_fails(longline, PARLEY_ERR_INVALID, "line 2: longer than");
	struct strbuf sb;
	strbuf_init(&sb, 0);
	strbuf_adds(&sb, "parley-chunks 1\n");
	for (int i = 0; i <= CHUNK_MANIFEST_MAX_CHUNKS; i++)
		strbuf_adds(&sb, "c\n");
	assert_int_equal(chunk_manifest_parse(sb.buf, sb.len, "m.chunks", &m, &err),
			 PARLEY_ERR_TOO_LARGE);
	strbuf_release(&sb);
}

static void test_manifest_decode(void **state)
{
	(void)state;
	struct fixture f = {0};
	snprintf(f.dir, sizeof(f.dir), "%s/parley-manifest-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(f.dir));
	struct parley_error err = {0};
	char dir[400], path[500];
	snprintf(dir, sizeof(dir), "%s/chunks", f.dir);
	must(fs_mkdir_p(dir, &err), &err);
	size_t len;
	char *a = wav_bytes(&f, 0.5, 440, &len);
	snprintf(path, sizeof(path), "%s/chunks/00000", f.dir);
	must(fs_write_atomic(path, a, len, &err), &err);
	free(a);
	a = wav_bytes(&f, 0.75, 880, &len);
	snprintf(path, sizeof(path), "%s/chunks/00001", f.dir);
	must(fs_write_atomic(path, a, len, &err), &err);
	free(a);
	const char *text = "parley-chunks 1\nchunks/00000\nchunks/00001\n";
	snprintf(path, sizeof(path), "%s/audio.chunks", f.dir);
	must(fs_write_atomic(path, text, strlen(text), &err), &err);
	struct pcm pcm;
	must(audio_decode_manifest(path, NULL, &pcm, &err), &err);
	assert_int_equal(pcm.rate, 16000);
	assert_true(fabs(pcm_seconds(&pcm) - 1.25) < 0.01);
	pcm_release(&pcm);
	/* a chunk that is not audio fails the whole manifest, naming the chunk */
	snprintf(path, sizeof(path), "%s/chunks/00001", f.dir);
	must(fs_write_atomic(path, "not audio, just text here", 25, &err), &err);
	snprintf(path, sizeof(path), "%s/audio.chunks", f.dir);
	assert_int_not_equal(audio_decode_manifest(path, NULL, &pcm, &err), PARLEY_OK);
	assert_non_null(strstr(err.msg, "chunk 2 (chunks/00001)"));
	fs_remove_tree(f.dir, NULL);
}

/* Issue 16: rotate, expire, remove take effect at the next authentication. */
static void test_token_lifecycle(void **state)
{
	struct fixture *f = fix(state);
	char t1[SESSION_TOKEN_LEN + 1], t2[SESSION_TOKEN_LEN + 1];
	struct parley_error err = {0};
	struct session_user u, bob = user(f, "bob", false);
	must(session_user_add(f->st, "ana", false, t1, sizeof(t1), &err), &err);
	must(session_user_auth(f->st, t1, &u, &err), &err);
	assert_false(u.signed_up);
	must(session_user_rotate(f->st, "ana", t2, sizeof(t2), &err), &err);
	assert_string_not_equal(t1, t2);
	assert_int_equal(session_user_auth(f->st, t1, &u, &err), PARLEY_ERR_UNAUTHORIZED);
	must(session_user_auth(f->st, t2, &u, &err), &err);
	assert_int_equal(session_user_rotate(f->st, "nobody", t2, sizeof(t2), &err),
			 PARLEY_ERR_NOT_FOUND);
	/* expiry in the future: fine; in the past: refused; never: fine again */
	must(session_user_expire(f->st, "ana", time_wall() + 3600, &err), &err);
	must(session_user_auth(f->st, t2, &u, &err), &err);
	assert_true(u.expires > time_wall());
	must(session_user_expire(f->st, "ana", time_wall() - 1, &err), &err);
	assert_int_equal(session_user_auth(f->st, t2, &u, &err), PARLEY_ERR_UNAUTHORIZED);
	assert_non_null(strstr(err.msg, "expired"));
	must(session_user_expire(f->st, "ana", 0, &err), &err);
	must(session_user_auth(f->st, t2, &u, &err), &err);
	assert_true(u.expires == 0);
	/* remove: the token dies, the claims and memberships go, the name stays taken */
	char id[SESSION_ID_LEN + 1], code[SESSION_JOIN_CODE_LEN + 1];
	create(f, &bob, id, code);
	json_t *v = NULL;
	must(session_join(&f->c, &u, id, code, &v, &err), &err);
	json_decref(v);
	must(session_user_remove(f->st, "ana", &err), &err);
	assert_int_equal(session_user_auth(f->st, t2, &u, &err), PARLEY_ERR_UNAUTHORIZED);
	assert_int_equal(session_user_remove(f->st, "ana", &err), PARLEY_ERR_NOT_FOUND);
	assert_int_equal(session_user_add(f->st, "ana", false, t1, sizeof(t1), &err),
			 PARLEY_ERR_CONFLICT);
	must(session_get(&f->c, &bob, id, &v, &err), &err); /* bob's session is intact */
	json_decref(v);
}

static void test_parse_duration(void **state)
{
	(void)state;
	double s = 0;
	assert_true(session_parse_duration("30d", &s) && s == 30 * 86400.0);
	assert_true(session_parse_duration("12h", &s) && s == 12 * 3600.0);
	assert_true(session_parse_duration("90m", &s) && s == 5400.0);
	assert_true(session_parse_duration("45s", &s) && s == 45.0);
	assert_true(session_parse_duration("2w", &s) && s == 14 * 86400.0);
	assert_true(session_parse_duration("600", &s) && s == 600.0);
	const char *bad[] = {"", "0", "0d", "-1d", "d", "1y", "1dd", " 1d", "1.5h", "9999999999",
			     "1000000000s", NULL};
	for (int i = 0; bad[i]; i++)
		assert_false(session_parse_duration(bad[i], &s));
	assert_false(session_parse_duration(NULL, &s));
	assert_false(session_parse_duration("99999w", &s)); /* over 100 years */
	enum session_signup m;
	assert_true(session_signup_parse("link", &m) && m == SESSION_SIGNUP_LINK);
	assert_true(session_signup_parse("open", &m) && m == SESSION_SIGNUP_OPEN);
	assert_true(session_signup_parse("off", &m) && m == SESSION_SIGNUP_OFF);
	assert_false(session_signup_parse("Open", &m));
	assert_string_equal(session_signup_name(SESSION_SIGNUP_LINK), "link");
	/* join codes: the new length, and the 6 of older sessions */
	assert_true(session_join_code_valid("ABCDEFGHJK"));
	assert_true(session_join_code_valid("K7MX2P"));
	assert_false(session_join_code_valid("K7MX2"));
	assert_false(session_join_code_valid("ABCDEFGHJKL"));
	assert_false(session_join_code_valid("K7MX2I"));
}

/* Sign-up: off, link (the share link joins), open; names unique. */
static void test_signup(void **state)
{
	struct fixture *f = fix(state);
	struct session_user ana = user(f, "ana", false), u, me;
	char id[SESSION_ID_LEN + 1], code[SESSION_JOIN_CODE_LEN + 1], token[SESSION_TOKEN_LEN + 1];
	create(f, &ana, id, code);
	assert_int_equal(strlen(code), SESSION_JOIN_CODE_LEN);
	struct parley_error err = {0};
	json_t *v = NULL;
	assert_int_equal(session_signup(&f->c, SESSION_SIGNUP_OFF, "zed", NULL, NULL, &u, token,
					sizeof(token), &v, &err), PARLEY_ERR_CONFLICT);
	assert_int_equal(session_signup(&f->c, SESSION_SIGNUP_LINK, "zed", NULL, NULL, &u, token,
					sizeof(token), &v, &err), PARLEY_ERR_INVALID);
	char wrong[SESSION_JOIN_CODE_LEN + 1];
	snprintf(wrong, sizeof(wrong), "%s", code);
	wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
	assert_int_equal(session_signup(&f->c, SESSION_SIGNUP_LINK, "zed", id, wrong, &u, token,
					sizeof(token), &v, &err), PARLEY_ERR_NOT_FOUND);
	assert_null(v);
	/* nothing was made by the failed attempts: the name is free */
	must(session_signup(&f->c, SESSION_SIGNUP_LINK, "zed", id, code, &u, token, sizeof(token), &v,
			    &err), &err);
	assert_string_equal(str(v, "role"), "participant");
	json_decref(v);
	must(session_user_auth(f->st, token, &me, &err), &err);
	assert_string_equal(me.name, "zed");
	assert_true(me.signed_up);
	assert_false(me.admin);
	assert_int_equal(session_signup(&f->c, SESSION_SIGNUP_OPEN, "zed", NULL, NULL, &u, token,
					sizeof(token), &v, &err), PARLEY_ERR_CONFLICT);
	assert_int_equal(session_signup(&f->c, SESSION_SIGNUP_OPEN, "ana", NULL, NULL, &u, token,
					sizeof(token), &v, &err), PARLEY_ERR_CONFLICT);
	assert_int_equal(session_signup(&f->c, SESSION_SIGNUP_OPEN, "no way", NULL, NULL, &u, token,
					sizeof(token), &v, &err), PARLEY_ERR_INVALID);
	must(session_signup(&f->c, SESSION_SIGNUP_OPEN, "yan", NULL, NULL, &u, token, sizeof(token),
			    &v, &err), &err);
	assert_null(v);
	must(session_get(&f->c, &me, id, &v, &err), &err);
	json_decref(v);
}

/* Owner-only end; admins outside a session cannot claim; claiming (and
 * joining) closes claim_window after the end. */
static void test_session_rules(void **state)
{
	struct fixture *f = fix(state);
	struct session_user ana = user(f, "ana", false), bob = user(f, "bob", false),
			    cy = user(f, "cy", false), root = user(f, "root", true);
	char id[SESSION_ID_LEN + 1], code[SESSION_JOIN_CODE_LEN + 1];
	create(f, &ana, id, code);
	struct parley_error err = {0};
	json_t *v = NULL;
	must(session_join(&f->c, &bob, id, code, &v, &err), &err);
	json_decref(v);
	put(f, &bob, id, 0, 0.5, 440, true);
	assert_int_equal(session_end(&f->c, &bob, id, &v, &err), PARLEY_ERR_CONFLICT);
	assert_non_null(strstr(err.msg, "owner"));
	must(session_end(&f->c, &root, id, &v, &err), &err); /* an admin may */
	json_decref(v);
	finish(f, id, 3, 5);
	assert_int_equal(session_claim(&f->c, &root, id, 1, &v, &err), PARLEY_ERR_CONFLICT);
	must(session_claim(&f->c, &bob, id, 1, &v, &err), &err);
	json_decref(v);
	/* the window: long ago closed for this context */
	struct session_ctx closed = f->c;
	closed.claim_window = 0.001;
	time_sleep(0.01);
	assert_int_equal(session_claim(&closed, &ana, id, 2, &v, &err), PARLEY_ERR_CONFLICT);
	assert_int_equal(session_join(&closed, &cy, id, code, &v, &err), PARLEY_ERR_CONFLICT);
	assert_int_equal(session_unclaim(&closed, &bob, id, 1, &v, &err), PARLEY_ERR_CONFLICT);
	must(session_join(&closed, &bob, id, code, &v, &err), &err); /* already in: a no-op */
	json_decref(v);
	must(session_unclaim(&closed, &root, id, 1, &v, &err), &err); /* admins moderate */
	json_decref(v);
	must(session_get(&closed, &ana, id, &v, &err), &err);
	assert_true(json_is_real(json_object_get(v, "claim_until")));
	json_decref(v);
	must(session_join(&f->c, &cy, id, code, &v, &err), &err); /* open in the default window */
	json_decref(v);
}

#define CASE(drv, fn, ctx) {drv ": " #fn, fn, setup, teardown, ctx}
#define CASES(drv, ctx)                                                                    \
	CASE(drv, test_users_and_tokens, ctx), CASE(drv, test_visibility_and_join, ctx),    \
	CASE(drv, test_chunks_end_and_gaps, ctx),                                           \
	CASE(drv, test_claims_results_leaderboard, ctx), CASE(drv, test_failed_status, ctx), \
	CASE(drv, test_results_stored_lexicon, ctx), CASE(drv, test_token_lifecycle, ctx),   \
	CASE(drv, test_signup, ctx), CASE(drv, test_session_rules, ctx)

int main(void)
{
	const char *url = getenv("PARLEY_TEST_PG_URL");
	pg_ctx.base = url && *url ? url : NULL;
	const struct CMUnitTest sqlite_tests[] = {
		CASES("sqlite", &sqlite_ctx),
		cmocka_unit_test(test_manifest_parse),
		cmocka_unit_test(test_manifest_decode),
		cmocka_unit_test(test_parse_duration),
	};
	const struct CMUnitTest pg_tests[] = {CASES("postgresql", &pg_ctx)};
	int failed = cmocka_run_group_tests_name("sqlite", sqlite_tests, NULL, NULL);
	if (!pg_ctx.base)
		printf("  (PARLEY_TEST_PG_URL unset: the PostgreSQL cases are skipped)\n");
	failed += cmocka_run_group_tests_name("postgresql", pg_tests, NULL, NULL);
	return failed ? 1 : 0;
}
