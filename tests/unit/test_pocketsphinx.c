/*
 * test_pocketsphinx.c — the PocketSphinx engine against the real model, on
 * speech synthesised at test time with Festival's text2wave. Skips (cmocka
 * skip) when the model or text2wave is not installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engines/pocketsphinx.h"
#include "text/lexicon.h"
#include "util/fs.h"

extern char **environ;

#define RATE ASR_POCKETSPHINX_RATE

/* Festival voices in order of preference (slt has the lowest WER). */
static const char *const voices[] = {"cmu_us_slt_arctic_hts", "kal_diphone"};

struct fixture {
	char dir[64];              /* temporary directory for text2wave */
	struct lexicon *lex;
	struct asr_engine eng;     /* default params + default lexicon */
	bool have_tts;
	bool have_model;
	int16_t *fox;              /* cached synthesis, see get_fox() */
	size_t fox_n;
};

static struct fixture fx;

static bool have_program(const char *name)
{
	const char *dir = getenv("PATH");
	while (dir && *dir) {
		size_t len = strcspn(dir, ":");
		char full[4200];
		snprintf(full, sizeof(full), "%.*s/%s", (int)len, dir, name);
		if (len && access(full, X_OK) == 0)
			return true;
		dir += len + (dir[len] == ':');
	}
	return false;
}

/* Run argv, stdout/stderr discarded; true on exit status 0. */
static bool run_quiet(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return false;
	int status = 0;
	if (waitpid(pid, &status, 0) < 0)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Synthesise text as 16 kHz mono samples. Returns false (and nothing
 * allocated) on failure. */
static bool synth(const char *text, int16_t **samples, size_t *n)
{
	char txt[128], raw[128], eval[96];
	snprintf(txt, sizeof(txt), "%s/in.txt", fx.dir);
	snprintf(raw, sizeof(raw), "%s/out.raw", fx.dir);
	struct parley_error err = {0};
	if (fs_write_atomic(txt, text, strlen(text), &err) != PARLEY_OK)
		return false;
	for (size_t v = 0; v < sizeof(voices) / sizeof(voices[0]); v++) {
		unlink(raw);
		snprintf(eval, sizeof(eval), "(voice_%s)", voices[v]);
		char *argv[] = {"text2wave", "-eval", eval,  "-otype", "raw", "-F",
				"16000",     "-o",    raw,   txt,       NULL};
		char *data = NULL;
		size_t len = 0;
		if (!run_quiet(argv) || fs_read_file(raw, 64u << 20, &data, &len, &err) != PARLEY_OK)
			continue;
		if (len < RATE) { /* under half a second: not speech */
			free(data);
			continue;
		}
		*n = len / 2;
		*samples = malloc(*n * sizeof(int16_t));
		if (*samples)
			memcpy(*samples, data, *n * sizeof(int16_t));
		free(data);
		return *samples != NULL;
	}
	return false;
}

/* "the quick brown fox...", synthesised once for several tests. */
static bool get_fox(const int16_t **samples, size_t *n)
{
	if (!fx.fox && !synth("the quick brown fox jumps over the lazy dog", &fx.fox, &fx.fox_n))
		return false;
	*samples = fx.fox;
	*n = fx.fox_n;
	return true;
}

static int setup(void **state)
{
	(void)state;
	memset(&fx, 0, sizeof(fx));
	struct stat st;
	fx.have_model = stat(ASR_POCKETSPHINX_MODEL_DIR "/en-us/mdef", &st) == 0;
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/parley-test-ps-XXXXXX");
	fx.have_tts = have_program("text2wave") && mkdtemp(fx.dir) != NULL;
	if (!fx.have_model)
		return 0;
	struct parley_error err = {0};
	if (lexicon_default(&fx.lex, &err) != PARLEY_OK) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	struct asr_pocketsphinx_params p = asr_pocketsphinx_default_params();
	p.lexicon = fx.lex;
	if (asr_pocketsphinx_open(&p, &fx.eng, &err) != PARLEY_OK) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	asr_engine_close(&fx.eng);
	lexicon_free(fx.lex);
	free(fx.fox);
	if (fx.have_tts) {
		struct parley_error err = {0};
		fs_remove_tree(fx.dir, &err);
	}
	return 0;
}

#define NEED_MODEL()                    \
	do {                            \
		if (!fx.have_model)     \
			skip();         \
	} while (0)
#define NEED_TTS()                                  \
	do {                                        \
		if (!fx.have_model || !fx.have_tts) \
			skip();                     \
	} while (0)

/* Transcribe and fail the test on any error. */
static struct asr_word *transcribe(const int16_t *s, size_t n, double offset, size_t *nw)
{
	struct asr_word *w = NULL;
	struct parley_error err = {0};
	enum parley_err rc = asr_engine_transcribe(&fx.eng, NULL, s, n, RATE, offset, &w, nw, &err);
	if (rc != PARLEY_OK)
		fail_msg("transcribe: %s", err.msg);
	return w;
}

static size_t word_errors(const char *const *ref, size_t nr, const struct asr_word *hyp,
			  size_t nh)
{
	size_t d[64];
	assert_true(nh < 64);
	for (size_t j = 0; j <= nh; j++)
		d[j] = j;
	for (size_t i = 1; i <= nr; i++) {
		size_t diag = d[0];
		d[0] = i;
		for (size_t j = 1; j <= nh; j++) {
			size_t up = d[j];
			size_t sub = diag + (strcmp(ref[i - 1], hyp[j - 1].text) != 0);
			size_t best = up + 1 < d[j - 1] + 1 ? up + 1 : d[j - 1] + 1;
			d[j] = sub < best ? sub : best;
			diag = up;
		}
	}
	return d[nh];
}

static void check_times(const struct asr_word *w, size_t nw, double from, double to)
{
	for (size_t i = 0; i < nw; i++) {
		if (!(w[i].start >= from && w[i].start < w[i].end && w[i].end <= to + 0.011))
			fail_msg("word %zu '%s' at %.2f-%.2f outside %.2f-%.2f", i, w[i].text,
				 w[i].start, w[i].end, from, to);
		if (i && w[i].start < w[i - 1].end - 1e-9)
			fail_msg("word %zu starts before the previous one ends", i);
		if (!(w[i].confidence >= 0.0f && w[i].confidence <= 1.0f))
			fail_msg("confidence %f out of range", (double)w[i].confidence);
		if (w[i].text[0] == '<' || w[i].text[0] == '[' || strchr(w[i].text, '('))
			fail_msg("filler or alternate marker in output: '%s'", w[i].text);
	}
}

static const char *const fox_words[] = {"the", "quick", "brown", "fox", "jumps",
				  "over", "the", "lazy", "dog"};

static void test_english_sentence(void **state)
{
	(void)state;
	NEED_TTS();
	const int16_t *s = NULL;
	size_t n = 0;
	if (!get_fox(&s, &n))
		skip();
	size_t nw = 0;
	struct asr_word *w = transcribe(s, n, 0.0, &nw);
	size_t errors = word_errors(fox_words, 9, w, nw);
	if (errors * 100 > 9 * 40) {
		for (size_t i = 0; i < nw; i++)
			fprintf(stderr, "%s ", w[i].text);
		fail_msg("WER %zu/9 above 40%%", errors);
	}
	check_times(w, nw, 0.0, (double)n / RATE);
	free(w);
}

static void test_leading_silence_and_offset(void **state)
{
	(void)state;
	NEED_TTS();
	const int16_t *fox = NULL;
	size_t fox_n = 0;
	if (!get_fox(&fox, &fox_n))
		skip();
	/* 2 s of digital silence in front. */
	size_t lead = 2 * (size_t)RATE, n = lead + fox_n;
	int16_t *s = calloc(n, sizeof(*s));
	assert_non_null(s);
	memcpy(s + lead, fox, fox_n * sizeof(*s));
	size_t nw = 0;
	struct asr_word *w = transcribe(s, n, 10.0, &nw);
	assert_true(nw > 0);
	/* With -remove_silence yes the first word would come out near 0 s. */
	if (w[0].start < 11.8)
		fail_msg("first word '%s' starts at %.2f s, expected >= 11.8 s", w[0].text,
			 w[0].start - 10.0);
	check_times(w, nw, 10.0, 10.0 + (double)n / RATE);
	free(w);
	free(s);
}

/* w1 and w2 are the same words with the same times and confidences. */
static void assert_same_words(const struct asr_word *w1, size_t n1, const struct asr_word *w2,
			      size_t n2)
{
	assert_int_equal(n1, n2);
	for (size_t i = 0; i < n1; i++) {
		assert_string_equal(w1[i].text, w2[i].text);
		assert_true(w1[i].start == w2[i].start && w1[i].end == w2[i].end);
		assert_true(w1[i].confidence == w2[i].confidence);
	}
}

static void test_repeatable(void **state)
{
	(void)state;
	NEED_TTS();
	int16_t *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	if (!synth("please call stella and ask her to bring these things", &a, &na) ||
	    !synth("she sells sea shells by the sea shore", &b, &nb))
		skip();
	size_t n1 = 0, n2 = 0, n3 = 0;
	struct asr_word *w1 = transcribe(a, na, 0.0, &n1);
	struct asr_word *other = transcribe(b, nb, 0.0, &n3);
	struct asr_word *w2 = transcribe(a, na, 0.0, &n2);
	assert_true(n1 > 0);
	assert_same_words(w1, n1, w2, n2);
	free(w1);
	free(w2);
	free(other);
	free(a);
	free(b);
}

/*
 * The same, with every search a worker's decoder runs: the word LM, the
 * keyphrase spotting and the verifier's phone loop (the built-in lexicon
 * plus spot lines on the particles, every candidate verified and every
 * spotted hit admitted). A worker decodes recordings in whatever order the
 * queue gives it, so no search may carry state from one utterance into
 * the next: the first segment decoded again after another one gives the
 * same words, times and confidences.
 */
static void test_repeatable_all_searches(void **state)
{
	(void)state;
	NEED_TTS();
	int16_t *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	if (!synth("ok la, the law is low, so nice see ya", &a, &na) ||
	    !synth("she sells sea shells by the sea shore", &b, &nb))
		skip();
	const char *base = lexicon_default_text();
	static const char more[] = "\nspot -50 lah lor leh meh sia hor\n";
	size_t len = strlen(base);
	char *text = malloc(len + sizeof(more));
	assert_non_null(text);
	memcpy(text, base, len);
	memcpy(text + len, more, sizeof(more));
	struct lexicon *lex = NULL;
	struct parley_error err = {0};
	assert_int_equal(lexicon_parse(text, len + sizeof(more) - 1, "spot.lex", &lex, &err),
			 PARLEY_OK);
	struct asr_pocketsphinx_params p = asr_pocketsphinx_default_params();
	p.lexicon = lex;
	p.keyword_weight = lexicon_keyword_weight(lex);
	p.verify_min_llr = -50;
	struct asr_engine eng;
	assert_int_equal(asr_pocketsphinx_open(&p, &eng, &err), PARLEY_OK);
	assert_non_null(strstr(eng.ops->version(eng.self), "verified, spotted"));
	struct asr_word *w[3] = {NULL, NULL, NULL};
	size_t nw[3] = {0, 0, 0};
	for (int k = 0; k < 3; k++)
		assert_int_equal(asr_engine_transcribe(&eng, NULL, k == 1 ? b : a, k == 1 ? nb : na,
						       RATE, 2.0, &w[k], &nw[k], &err),
				 PARLEY_OK);
	size_t targets = 0;
	for (size_t i = 0; i < nw[0]; i++)
		targets += lexicon_is_target(lex, w[0][i].text);
	assert_true(targets > 0); /* the spotting and the verification had work */
	assert_same_words(w[0], nw[0], w[2], nw[2]);
	for (int k = 0; k < 3; k++)
		free(w[k]);
	asr_engine_close(&eng);
	lexicon_free(lex);
	free(text);
	free(a);
	free(b);
}

static bool has_word(const struct lex_token *t, size_t n, const char *word)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(t[i].text, word) == 0)
			return true;
	}
	return false;
}

static void test_singlish_targets(void **state)
{
	(void)state;
	NEED_TTS();
	int16_t *s = NULL;
	size_t n = 0;
	/* Respelled for the TTS: walao -> "wah lao". */
	if (!synth("wah lao this queue is so long lah", &s, &n))
		skip();
	size_t nw = 0;
	struct asr_word *w = transcribe(s, n, 0.0, &nw);
	check_times(w, nw, 0.0, (double)n / RATE);
	struct lex_token toks[32];
	assert_true(nw < 32);
	for (size_t i = 0; i < nw; i++) {
		memset(&toks[i], 0, sizeof(toks[i]));
		memcpy(toks[i].text, w[i].text, sizeof(toks[i].text));
		toks[i].start = w[i].start;
		toks[i].end = w[i].end;
	}
	for (size_t i = 0; i < nw; i++)
		toks[i].conf = w[i].confidence;
	size_t m = lexicon_apply(fx.lex, toks, nw, NULL);
	if (!has_word(toks, m, "walao") || !has_word(toks, m, "lah")) {
		for (size_t i = 0; i < m; i++)
			fprintf(stderr, "%s ", toks[i].text);
		fail_msg("targets 'walao' and 'lah' not both recognised");
	}
	/* Said clearly, both pass the acoustic verification (a rejected hit
	 * has confidence 0). */
	for (size_t i = 0; i < m; i++)
		if (lexicon_is_target(fx.lex, toks[i].text) && !(toks[i].conf > 0.0f))
			fail_msg("target '%s' at %.2f s rejected by the verifier", toks[i].text,
				 toks[i].start);

	/* Verification only ever lowers a candidate's confidence to 0: the
	 * words, their times and every other confidence are those of an engine
	 * without it. */
	struct asr_pocketsphinx_params p = asr_pocketsphinx_default_params();
	p.lexicon = fx.lex; /* the fixture's params but for verify */
	p.verify = false;
	struct asr_engine plain;
	struct parley_error err = {0};
	assert_int_equal(asr_pocketsphinx_open(&p, &plain, &err), PARLEY_OK);
	assert_null(strstr(plain.ops->version(plain.self), "verified"));
	size_t nw2 = 0;
	struct asr_word *w2 = NULL;
	assert_int_equal(asr_engine_transcribe(&plain, NULL, s, n, RATE, 0.0, &w2, &nw2, &err),
			 PARLEY_OK);
	assert_int_equal(nw2, nw);
	for (size_t i = 0; i < nw; i++) {
		assert_string_equal(w2[i].text, w[i].text);
		assert_float_equal(w2[i].start, w[i].start, 1e-9);
		assert_float_equal(w2[i].end, w[i].end, 1e-9);
		if (w[i].confidence != 0.0f)
			assert_float_equal(w2[i].confidence, w[i].confidence, 1e-6);
	}
	free(w2);
	asr_engine_close(&plain);
	free(w);
	free(s);
}

/* Spotting: a target the word hypothesis does not write (its keyword LM
 * weight is negligible and it sounds like a common English word, "law") is
 * found by the keyphrase search and added with confidence 1, in time order;
 * with spot off it is not. */
static void test_spotting(void **state)
{
	(void)state;
	NEED_TTS();
	int16_t *s = NULL;
	size_t n = 0;
	if (!synth("the law is the law", &s, &n))
		skip();
	static const char text[] = "target zzlaw L AO\nkeyword_weight 1e-30\n"
				   "verify_min_llr -50\nspot -50 zzlaw\n";
	struct lexicon *lex = NULL;
	struct parley_error err = {0};
	assert_int_equal(lexicon_parse(text, sizeof(text) - 1, "spot.lex", &lex, &err), PARLEY_OK);
	size_t found[2] = {0, 0};
	for (int spot = 0; spot < 2; spot++) {
		struct asr_pocketsphinx_params p = asr_pocketsphinx_default_params();
		p.lexicon = lex;
		p.keyword_weight = 1e-30;
		p.verify_min_llr = -50;
		p.spot = spot;
		struct asr_engine eng;
		assert_int_equal(asr_pocketsphinx_open(&p, &eng, &err), PARLEY_OK);
		assert_true((strstr(eng.ops->version(eng.self), "spotted") != NULL) == spot);
		struct asr_word *w = NULL;
		size_t nw = 0;
		assert_int_equal(asr_engine_transcribe(&eng, NULL, s, n, RATE, 1.0, &w, &nw, &err),
				 PARLEY_OK);
		check_times(w, nw, 1.0, 1.0 + (double)n / RATE);
		for (size_t i = 0; i < nw; i++) {
			if (strcmp(w[i].text, "zzlaw") != 0)
				continue;
			found[spot]++;
			assert_float_equal(w[i].confidence, 1.0, 1e-6);
		}
		free(w);
		asr_engine_close(&eng);
	}
	assert_int_equal(found[0], 0);
	assert_true(found[1] >= 1);
	lexicon_free(lex);
	free(s);
}

static void test_wrong_rate(void **state)
{
	(void)state;
	NEED_MODEL();
	int16_t s[8000] = {0};
	struct asr_word *w = (struct asr_word *)1;
	size_t nw = 7;
	struct parley_error err = {0};
	assert_int_equal(asr_engine_transcribe(&fx.eng, NULL, s, 8000, 8000, 0, &w, &nw, &err),
			 PARLEY_ERR_INVALID);
	assert_null(w);
	assert_int_equal(nw, 0);
	assert_non_null(strstr(err.msg, "8000 Hz"));
}

static void test_empty_short_and_too_long(void **state)
{
	(void)state;
	NEED_MODEL();
	struct asr_word *w = NULL;
	size_t nw = 0;
	struct parley_error err = {0};
	assert_int_equal(asr_engine_transcribe(&fx.eng, NULL, NULL, 0, RATE, 0, &w, &nw, &err), PARLEY_OK);
	assert_null(w);
	assert_int_equal(nw, 0);

	/* 10 ms and 0.3 s of silence: no crash, no fillers reported. */
	int16_t quiet[4800] = {0};
	assert_int_equal(asr_engine_transcribe(&fx.eng, NULL, quiet, 160, RATE, 0, &w, &nw, &err),
			 PARLEY_OK);
	check_times(w, nw, 0, 0.01);
	free(w);
	assert_int_equal(asr_engine_transcribe(&fx.eng, NULL, quiet, 4800, RATE, 0, &w, &nw, &err),
			 PARLEY_OK);
	check_times(w, nw, 0, 0.3);
	free(w);

	size_t n = 121 * (size_t)RATE;
	int16_t *big = calloc(n, sizeof(*big));
	assert_non_null(big);
	assert_int_equal(asr_engine_transcribe(&fx.eng, NULL, big, n, RATE, 0, &w, &nw, &err),
			 PARLEY_ERR_TOO_LARGE);
	assert_null(w);
	free(big);
}

static void test_version(void **state)
{
	(void)state;
	NEED_MODEL();
	assert_string_equal(fx.eng.ops->name, "pocketsphinx");
	const char *v = fx.eng.ops->version(fx.eng.self);
	assert_non_null(strstr(v, "pocketsphinx"));
	assert_non_null(strstr(v, "keywords"));
	assert_non_null(strstr(v, "verified"));
}

static void test_open_errors(void **state)
{
	(void)state;
	struct asr_engine eng = {(const struct asr_engine_ops *)1, (void *)1};
	struct parley_error err = {0};
	struct asr_pocketsphinx_params p = asr_pocketsphinx_default_params();
	p.model_dir = "/nonexistent/parley/model";
	assert_int_equal(asr_pocketsphinx_open(&p, &eng, &err), PARLEY_ERR_NOT_FOUND);
	assert_null(eng.ops);
	assert_null(eng.self);
	assert_non_null(strstr(err.msg, "/nonexistent/parley/model/en-us"));

	NEED_MODEL();
	p = asr_pocketsphinx_default_params();
	p.lexicon = fx.lex;
	p.keyword_weight = 0.0;
	assert_int_equal(asr_pocketsphinx_open(&p, &eng, &err), PARLEY_ERR_INVALID);
	p.keyword_weight = 0.01;
	p.verify_min_llr = NAN;
	assert_int_equal(asr_pocketsphinx_open(&p, &eng, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "verify_min_llr"));
	p.verify_min_llr = -1.0;
	p.tmp_dir = "/nonexistent/parley/tmp";
	assert_int_equal(asr_pocketsphinx_open(&p, &eng, &err), PARLEY_ERR_IO);
	assert_non_null(strstr(err.msg, "/nonexistent/parley/tmp"));

	/* A directory that is not an acoustic model: PocketSphinx's own error
	 * is quoted. */
	if (!fx.have_tts)
		skip();
	p = asr_pocketsphinx_default_params();
	p.hmm = fx.dir;
	assert_int_equal(asr_pocketsphinx_open(&p, &eng, &err), PARLEY_ERR_ENGINE);
	assert_non_null(strstr(err.msg, "pocketsphinx"));
	assert_null(eng.ops);
}

static void test_engine_without_lexicon(void **state)
{
	(void)state;
	NEED_TTS();
	const int16_t *s = NULL;
	size_t n = 0;
	if (!get_fox(&s, &n))
		skip();
	struct asr_engine eng;
	struct parley_error err = {0};
	struct asr_pocketsphinx_params p = asr_pocketsphinx_default_params();
	if (asr_pocketsphinx_open(&p, &eng, &err) != PARLEY_OK)
		fail_msg("%s", err.msg);
	struct asr_word *w = NULL;
	size_t nw = 0;
	assert_int_equal(asr_engine_transcribe(&eng, NULL, s, n, RATE, 0, &w, &nw, &err), PARLEY_OK);
	assert_true(word_errors(fox_words, 9, w, nw) * 100 <= 9 * 40);
	assert_string_equal(eng.ops->version(eng.self),
			    "pocketsphinx 5prealpha, " ASR_POCKETSPHINX_MODEL_DIR);
	free(w);
	asr_engine_close(&eng);
	asr_engine_close(&eng); /* a closed handle is zeroed and may be closed again */
}

struct decode_job {
	struct asr_engine *eng;
	const int16_t *samples;
	size_t n;
	struct asr_word *words;
	size_t nwords;
	enum parley_err rc;
};

static void *decode_thread(void *arg)
{
	struct decode_job *job = arg;
	struct parley_error err = {0};
	job->rc = asr_engine_transcribe(job->eng, NULL, job->samples, job->n, RATE, 0, &job->words,
					&job->nwords, &err);
	return NULL;
}

/* Two instances decode at the same time in two threads and agree. */
static void test_two_engines_in_parallel(void **state)
{
	(void)state;
	NEED_TTS();
	const int16_t *s = NULL;
	size_t n = 0;
	if (!get_fox(&s, &n))
		skip();
	struct asr_engine eng2;
	struct parley_error err = {0};
	struct asr_pocketsphinx_params p = asr_pocketsphinx_default_params();
	p.lexicon = fx.lex;
	if (asr_pocketsphinx_open(&p, &eng2, &err) != PARLEY_OK)
		fail_msg("%s", err.msg);
	struct decode_job a = {.eng = &fx.eng, .samples = s, .n = n};
	struct decode_job b = {.eng = &eng2, .samples = s, .n = n};
	pthread_t tid;
	assert_int_equal(pthread_create(&tid, NULL, decode_thread, &b), 0);
	decode_thread(&a);
	assert_int_equal(pthread_join(tid, NULL), 0);
	assert_int_equal(a.rc, PARLEY_OK);
	assert_int_equal(b.rc, PARLEY_OK);
	assert_int_equal(a.nwords, b.nwords);
	for (size_t i = 0; i < a.nwords; i++) {
		assert_string_equal(a.words[i].text, b.words[i].text);
		assert_true(a.words[i].start == b.words[i].start && a.words[i].end == b.words[i].end);
	}
	free(a.words);
	free(b.words);
	asr_engine_close(&eng2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_english_sentence),
		cmocka_unit_test(test_leading_silence_and_offset),
		cmocka_unit_test(test_repeatable),
		cmocka_unit_test(test_repeatable_all_searches),
		cmocka_unit_test(test_singlish_targets),
		cmocka_unit_test(test_wrong_rate),
		cmocka_unit_test(test_empty_short_and_too_long),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_engine_without_lexicon),
		cmocka_unit_test(test_spotting),
		cmocka_unit_test(test_two_engines_in_parallel),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
