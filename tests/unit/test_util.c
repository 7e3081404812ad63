/* test_util.c — error messages, bounded buffers, atomic files, paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/proc.h"
#include "util/strbuf.h"
#include "util/scrub.h"
#include "util/work_pool.h"

#include <pthread.h>
#include <stdatomic.h>

static void test_error_set_and_prefix(void **state)
{
	(void)state;
	struct parley_error err = {0};
	assert_int_equal(parley_error_set(&err, PARLEY_ERR_AUDIO, "%s: not audio", "a.txt"), PARLEY_ERR_AUDIO);
	assert_string_equal(err.msg, "a.txt: not audio");
	parley_error_prefix(&err, "recording %d", 3);
	assert_string_equal(err.msg, "recording 3: a.txt: not audio");
	assert_int_equal(err.code, PARLEY_ERR_AUDIO);
	assert_int_equal(parley_error_set(NULL, PARLEY_ERR_IO, "x"), PARLEY_ERR_IO);
	parley_error_clear(&err);
	assert_int_equal(err.code, PARLEY_OK);
	assert_string_equal(err.msg, "");
}

static void test_error_table_complete(void **state)
{
	(void)state;
	for (int c = 0; c < PARLEY_ERR_COUNT_; c++) {
		assert_non_null(parley_strerror((enum parley_err)c));
		assert_true(strlen(parley_err_name((enum parley_err)c)) > 0);
	}
	assert_string_equal(parley_strerror((enum parley_err)999), "unknown error");
	assert_false(parley_err_is_transient(PARLEY_ERR_AUDIO));
	assert_false(parley_err_is_transient(PARLEY_ERR_EMPTY));
	assert_true(parley_err_is_transient(PARLEY_ERR_STORE));
	assert_true(parley_err_is_transient(PARLEY_ERR_ENGINE));
}

static void test_strbuf_bounds(void **state)
{
	(void)state;
	struct strbuf sb;
	strbuf_init(&sb, 10);
	assert_string_equal(sb.buf, "");
	assert_int_equal(strbuf_adds(&sb, "hello"), PARLEY_OK);
	assert_int_equal(strbuf_addf(&sb, "%d", 1234), PARLEY_OK);
	assert_string_equal(sb.buf, "hello1234");
	/* past the cap: refused, buffer unchanged */
	assert_int_equal(strbuf_adds(&sb, "xy"), PARLEY_ERR_TOO_LARGE);
	assert_string_equal(sb.buf, "hello1234");
	assert_int_equal(strbuf_addf(&sb, "%s", "a long string"), PARLEY_ERR_TOO_LARGE);
	assert_int_equal(sb.len, 9);
	assert_int_equal(strbuf_adds(&sb, "z"), PARLEY_OK);
	size_t len;
	char *s = strbuf_detach(&sb, &len);
	assert_int_equal(len, 10);
	assert_string_equal(s, "hello1234z");
	free(s);
	strbuf_release(&sb);
	/* a long formatted append goes through the slow path */
	strbuf_init(&sb, 0);
	char big[1000];
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(strbuf_addf(&sb, "<%s>", big), PARLEY_OK);
	assert_int_equal(sb.len, 1001);
	strbuf_release(&sb);
}

static void test_fs_atomic_and_read(void **state)
{
	(void)state;
	char dir[] = "/tmp/parley-util-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char sub[256], path[300];
	snprintf(sub, sizeof(sub), "%s/a/b/c", dir);
	struct parley_error err = {0};
	assert_int_equal(fs_mkdir_p(sub, &err), PARLEY_OK);
	assert_int_equal(fs_mkdir_p(sub, &err), PARLEY_OK);
	assert_int_equal(fs_path_join(path, sizeof(path), sub, "f.txt", &err), PARLEY_OK);
	assert_int_equal(fs_write_atomic(path, "data", 4, &err), PARLEY_OK);
	char *data;
	size_t len;
	assert_int_equal(fs_read_file(path, 100, &data, &len, &err), PARLEY_OK);
	assert_int_equal(len, 4);
	assert_string_equal(data, "data");
	free(data);
	assert_int_equal(fs_read_file(path, 3, &data, &len, &err), PARLEY_ERR_TOO_LARGE);
	assert_null(data);
	assert_int_equal(fs_read_file(sub, 100, &data, &len, &err), PARLEY_ERR_IO);
	assert_non_null(strstr(err.msg, "is a directory"));
	char missing[300];
	snprintf(missing, sizeof(missing), "%s/nope", dir);
	assert_int_equal(fs_read_file(missing, 100, &data, &len, &err), PARLEY_ERR_IO);
	assert_non_null(strstr(err.msg, "No such file"));
	/* a file where a directory should be */
	assert_int_equal(fs_mkdir_p(path, &err), PARLEY_ERR_IO);
	/* no temporary files left behind */
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls %s | grep tmp)\"", sub);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(fs_remove_tree(dir, &err), PARLEY_OK);
	assert_false(fs_exists(dir));
}

/* A streaming writer: written in pieces; one that fails leaves the old
 * file as it was and no temporary behind. */
struct pieces {
	int n;
	bool fail;
};

static enum parley_err write_pieces(struct fs_out *out, void *ud, struct parley_error *err)
{
	const struct pieces *p = ud;
	char line[32];
	for (int i = 0; i < p->n; i++) {
		int len = snprintf(line, sizeof(line), "line %d\n", i);
		enum parley_err rc = fs_out_write(out, line, (size_t)len, err);
		if (rc)
			return rc;
	}
	if (p->fail)
		return parley_error_set(err, PARLEY_ERR_ENGINE, "the producer gave up");
	return PARLEY_OK;
}

static void test_fs_atomic_stream(void **state)
{
	(void)state;
	char dir[] = "/tmp/parley-util-streamXXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[300];
	struct parley_error err = {0};
	assert_int_equal(fs_path_join(path, sizeof(path), dir, "out.txt", &err), PARLEY_OK);
	struct pieces ok = {1000, false}, bad = {3, true};
	assert_int_equal(fs_write_atomic_stream(path, write_pieces, &ok, &err), PARLEY_OK);
	char *data;
	size_t len;
	assert_int_equal(fs_read_file(path, 1 << 20, &data, &len, &err), PARLEY_OK);
	assert_int_equal(len, 10 * 7 + 90 * 8 + 900 * 9);
	assert_non_null(strstr(data, "line 999\n"));
	free(data);
	assert_int_equal(fs_write_atomic_stream(path, write_pieces, &bad, &err), PARLEY_ERR_ENGINE);
	assert_string_equal(err.msg, "the producer gave up");
	assert_int_equal(fs_read_file(path, 1 << 20, &data, &len, &err), PARLEY_OK);
	assert_int_equal(len, 10 * 7 + 90 * 8 + 900 * 9); /* the old file, whole */
	free(data);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "test \"$(ls %s)\" = out.txt", dir);
	assert_int_equal(system(cmd), 0); /* no temporary left */
	assert_int_equal(fs_sync_parent(path, &err), PARLEY_OK);
	assert_int_equal(fs_remove_tree(dir, &err), PARLEY_OK);
}

/* Writing to a device (e.g. --json /dev/null) writes through it: renaming a
 * temporary file over /dev/null would turn it into a regular file. */
static void test_fs_atomic_device_kept(void **state)
{
	struct parley_error err = {0};
	assert_int_equal(fs_write_atomic("/dev/null", "x", 1, &err), PARLEY_OK);
	struct stat st;
	assert_int_equal(stat("/dev/null", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	char dir[] = "/tmp/parley-util-dirXXXXXX";
	assert_non_null(mkdtemp(dir));
	assert_int_equal(fs_write_atomic(dir, "x", 1, &err), PARLEY_ERR_IO);
	assert_non_null(strstr(err.msg, "is a directory"));
	rmdir(dir);
}

static void test_path_limits_and_stem(void **state)
{
	(void)state;
	char out[16];
	struct parley_error err = {0};
	assert_int_equal(fs_path_join(out, sizeof(out), "abcdefgh", "ijklmnop", &err), PARLEY_ERR_TOO_LARGE);
	assert_int_equal(fs_path_join(out, sizeof(out), "a/", "b", &err), PARLEY_OK);
	assert_string_equal(out, "a/b");
	char stem[64];
	fs_stem("dir/sub/call.final.mp3", stem, sizeof(stem));
	assert_string_equal(stem, "call.final");
	fs_stem(".hidden", stem, sizeof(stem));
	assert_string_equal(stem, ".hidden");
	fs_stem("noext", stem, sizeof(stem));
	assert_string_equal(stem, "noext");
}

/* The pool runs at most workers + queue jobs at once; past that submit
 * refuses; freeing runs what was queued. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool open;
	atomic_int ran, started;
};

static void gate_job(void *ud, double waited)
{
	struct gate *g = ud;
	assert_true(waited >= 0);
	atomic_fetch_add(&g->started, 1);
	pthread_mutex_lock(&g->lock);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
	atomic_fetch_add(&g->ran, 1);
}

static void test_work_pool_bounded(void **state)
{
	(void)state;
	struct parley_error err = {0};
	struct work_pool *wp = NULL;
	struct work_pool_params p = work_pool_default_params();
	p.workers = 0;
	assert_int_equal(work_pool_new(&p, &wp, &err), PARLEY_ERR_INVALID);
	p.workers = 1;
	p.queue = WORK_POOL_QUEUE_MAX + 1;
	assert_int_equal(work_pool_new(&p, &wp, &err), PARLEY_ERR_INVALID);
	p.queue = 2;
	assert_int_equal(work_pool_new(&p, &wp, &err), PARLEY_OK);
	struct gate g = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	atomic_init(&g.ran, 0);
	atomic_init(&g.started, 0);
	assert_true(work_pool_submit(wp, gate_job, &g));  /* runs (blocked at the gate) */
	assert_true(work_pool_submit(wp, gate_job, &g));  /* waits */
	assert_true(work_pool_submit(wp, gate_job, &g));  /* waits */
	assert_false(work_pool_submit(wp, gate_job, &g)); /* 1 worker + 2 waiting: full */
	assert_int_equal(work_pool_pending(wp), 3);
	assert_true(atomic_load(&g.started) <= 1);
	pthread_mutex_lock(&g.lock);
	g.open = true;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);
	work_pool_free(wp); /* runs the queued ones before it returns */
	assert_int_equal(atomic_load(&g.ran), 3);
	work_pool_free(NULL);
}

/* Failure sentences lose the server's paths and pids, keep the user's names. */
static void test_scrub_text(void **state)
{
	(void)state;
	char out[256];
	struct scrub_names n = {.source = "/srv/d/batches/1/files/bad.wav", .name = "bad.wav",
				.dirs = {"data", "/srv/d"}, .server_side = true};
	scrub_text("/srv/d/batches/1/files/bad.wav: not an audio file", &n, out, sizeof(out));
	assert_string_equal(out, "bad.wav: not an audio file");
	scrub_text("cannot open /srv/d/sessions/k2x/chunks/00015.tmp.4242.15: No space left on device",
		   &n, out, sizeof(out));
	assert_string_equal(out, "cannot open chunk 15: No space left on device");
	scrub_text("decode 'data/batches/7/files/x.flac' (/usr/lib/ffmpeg/libfoo.so)", &n, out,
		   sizeof(out));
	assert_string_equal(out, "decode 'x.flac' (libfoo.so)");
	scrub_text("cannot rename /srv/d/recordings/3/pcm.tmp.77.1 to /srv/d/recordings/3/pcm", &n,
		   out, sizeof(out));
	assert_string_equal(out, "cannot rename pcm to pcm");
	/* a file the user gave by path (parley run): kept */
	struct scrub_names u = {.source = "/home/me/a.wav", .name = "a.wav", .dirs = {"data", NULL}};
	scrub_text("/home/me/b.wav: not an audio file; see http://x/y", &u, out, sizeof(out));
	assert_string_equal(out, "/home/me/b.wav: not an audio file; see http://x/y");
	scrub_text("/home/me/a.wav: empty", &u, out, sizeof(out));
	assert_string_equal(out, "a.wav: empty");
	/* bounded */
	char small[8];
	scrub_text("/srv/d/batches/1/files/bad.wav: not an audio file", &n, small, sizeof(small));
	assert_string_equal(small, "bad.wav");
	scrub_text(NULL, &n, small, sizeof(small));
	assert_string_equal(small, "");
}

/* A child that has exited but is not reaped (a zombie) is gone, as is one
 * reaped; we (alive) are not; owners of another host or of a malformed
 * name never are. */
static void test_proc_owner_gone(void **state)
{
	(void)state;
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)child);
	bool zombie = false; /* wait for the exit without reaping it */
	for (int i = 0; i < 20000 && !zombie; i++) {
		FILE *f = fopen(path, "r");
		assert_non_null(f);
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		const char *close = strrchr(buf, ')');
		zombie = close && close[1] == ' ' && close[2] == 'Z';
		if (!zombie)
			usleep(1000);
	}
	assert_true(zombie);
	char owner[96];
	snprintf(owner, sizeof(owner), "hostA:%ld", (long)child);
	assert_true(proc_gone(child));
	assert_true(proc_owner_gone(owner, "hostA"));
	assert_false(proc_owner_gone(owner, "hostB"));
	assert_false(proc_owner_gone(owner, "host"));
	assert_int_equal(waitpid(child, NULL, 0), child);
	assert_true(proc_owner_gone(owner, "hostA"));
	snprintf(owner, sizeof(owner), "hostA:%ld", (long)getpid());
	assert_false(proc_gone(getpid()));
	assert_false(proc_owner_gone(owner, "hostA"));
	const char *bad[] = {"hostA:", "hostA:x", "hostA:12x", "hostA:-5", "hostA:0", "hostA", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(proc_owner_gone(bad[i], "hostA"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_set_and_prefix),
		cmocka_unit_test(test_error_table_complete),
		cmocka_unit_test(test_strbuf_bounds),
		cmocka_unit_test(test_fs_atomic_and_read),
		cmocka_unit_test(test_path_limits_and_stem),
		cmocka_unit_test(test_fs_atomic_device_kept),
		cmocka_unit_test(test_fs_atomic_stream),
		cmocka_unit_test(test_work_pool_bounded),
		cmocka_unit_test(test_scrub_text),
		cmocka_unit_test(test_proc_owner_gone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
