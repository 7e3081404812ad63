/* pocketsphinx.c — see pocketsphinx.h. */
#include "engines/pocketsphinx.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <sphinxbase/ngram_model.h>

#include "engines/ps_verify.h"
#include "util/log.h"

#define FILLERS_MAX 64
#define VERSION_MAX 160
#define LOG_MSG_MAX 320
#define SEARCH_NAME "parley"
#define VERIFY_SEARCH_NAME "parley-phones"
#define SPOT_SEARCH_NAME "parley-spot"
/* Detection threshold of the keyphrase search, as a likelihood ratio: low
 * enough that every hit any "spot" line could keep is reported (the lines'
 * per-frame ratios decide). */
#define SPOT_SEARCH_THRESHOLD "1e-100"
/* This PocketSphinx reports a detection's ratio less this constant (KWS_MAX
 * in its kws_search.c, in shifted score units), to keep its "confidence"
 * below 1; it is added back. */
#define SPOT_KWS_MAX 1500
/* PocketSphinx keeps acoustic scores in logmath units shifted right by this
 * many bits (SENSCR_SHIFT in its internal hmm.h). The LM search's segments
 * come from its lattice, which shifts them back (ascr << SENSCR_SHIFT);
 * the phone loop's segments do not. */
#define PS_SCORE_SHIFT 10

struct ps_engine {
	ps_decoder_t *ps;
	logmath_t *lmath;  /* owned by ps */
	int frate;         /* frames per second */
	int rate;          /* samples per second */
	size_t max_samples;
	const struct lexicon *lexicon; /* borrowed: targets to verify; NULL: none */
	bool verify;
	double verify_min_llr;
	bool spot;             /* a keyphrase search for the lexicon's "spot" targets */
	double score_to_nats;  /* one logmath unit in nats */
	size_t n_fillers;
	char fillers[FILLERS_MAX][ASR_WORD_MAX];
	char version[VERSION_MAX];
	const char *label; /* asr_params.label of the call running, "" = none; debug lines */
};

/* ---- PocketSphinx logging: process-wide, installed once ---- */

static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static _Thread_local char last_error[LOG_MSG_MAX];

static void ps_log_cb(void *user_data, err_lvl_t lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void ps_log_cb(void *user_data, err_lvl_t lvl, const char *fmt, ...)
{
	(void)user_data;
	bool keep = lvl == ERR_ERROR || lvl == ERR_FATAL;
	if (!keep && (lvl == ERR_INFOCONT || log_get_level() < LOG_DEBUG))
		return;
	char msg[LOG_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t len = strlen(msg);
	while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		msg[--len] = '\0';
	if (keep)
		memcpy(last_error, msg, len + 1);
	log_debug("pocketsphinx: %s", msg);
}

static void install_log_cb(void)
{
	err_set_callback(ps_log_cb, NULL);
	/* ps_init prints its configuration straight to the log stream. */
	err_set_logfp(NULL);
}

/* Fill *err with code and "what (pocketsphinx: last error)". */
static enum parley_err ps_fail(struct parley_error *err, enum parley_err code, const char *what)
{
	if (last_error[0])
		return parley_error_set(err, code, "%s (pocketsphinx: %s)", what, last_error);
	return parley_error_set(err, code, "%s", what);
}

/* ---- params ---- */

struct asr_pocketsphinx_params asr_pocketsphinx_default_params(void)
{
	return (struct asr_pocketsphinx_params){
		.model_dir = ASR_POCKETSPHINX_MODEL_DIR,
		.keyword_weight = 1e-5,
		.max_seconds = 120.0,
		.max_hmm_per_frame = 5000,
		.flat_pass = false,
		.verify = true,
		.verify_min_llr = ASR_POCKETSPHINX_VERIFY_MIN_LLR,
		.spot = true,
	};
}

static enum parley_err model_path(char *out, size_t cap, const char *given, const char *dir,
				  const char *name, bool want_dir, struct parley_error *err)
{
	int w = given ? snprintf(out, cap, "%s", given) : snprintf(out, cap, "%s/%s", dir, name);
	if (w < 0 || (size_t)w >= cap)
		return parley_error_set(err, PARLEY_ERR_INVALID, "model path too long: %s/%s",
					given ? given : dir, given ? "" : name);
	struct stat st;
	if (stat(out, &st) != 0 || (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)))
		return parley_error_set(err, PARLEY_ERR_NOT_FOUND,
					"pocketsphinx model %s %s not found (is pocketsphinx-en-us "
					"installed?)",
					want_dir ? "directory" : "file", out);
	return PARLEY_OK;
}

/* ---- temporary files ---- */

struct tmpfile {
	char path[PATH_MAX];
	FILE *f;
};

static enum parley_err tmp_create(struct tmpfile *t, const char *dir, const char *stem,
				  struct parley_error *err)
{
	if (!dir)
		dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	int w = snprintf(t->path, sizeof(t->path), "%s/parley-%s-XXXXXX", dir, stem);
	if (w < 0 || (size_t)w >= sizeof(t->path))
		return parley_error_set(err, PARLEY_ERR_INVALID, "temporary directory path too long: %s",
					dir);
	int fd = mkstemp(t->path);
	if (fd < 0) {
		int e = errno;
		t->path[0] = '\0';
		return parley_error_set(err, PARLEY_ERR_IO, "cannot create a temporary file in %s: %s",
					dir, strerror(e));
	}
	t->f = fdopen(fd, "w");
	if (!t->f) {
		int e = errno;
		close(fd);
		parley_error_set(err, PARLEY_ERR_IO, "%s: %s", t->path, strerror(e));
		unlink(t->path);
		t->path[0] = '\0';
		return PARLEY_ERR_IO;
	}
	return PARLEY_OK;
}

/* Flush and close; PARLEY_ERR_IO when anything written was lost. */
static enum parley_err tmp_finish(struct tmpfile *t, struct parley_error *err)
{
	bool bad = ferror(t->f) != 0;
	bad |= fclose(t->f) != 0;
	t->f = NULL;
	if (bad)
		return parley_error_set(err, PARLEY_ERR_IO, "cannot write %s: %s", t->path,
					strerror(errno));
	return PARLEY_OK;
}

/* Close (if open) and delete. Accepts a never-created file. */
static void tmp_remove(struct tmpfile *t)
{
	if (t->f)
		fclose(t->f);
	t->f = NULL;
	if (t->path[0])
		unlink(t->path);
	t->path[0] = '\0';
}

/* ---- the merged dictionary ---- */

/* Collapse runs of blanks into single spaces and trim, in place. */
static void normalise_pron(char *s)
{
	char *o = s;
	bool space = false;
	for (char *c = s; *c; c++) {
		if (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\r') {
			space = o != s;
			continue;
		}
		if (space)
			*o++ = ' ';
		space = false;
		*o++ = *c;
	}
	*o = '\0';
}

/*
 * Copy the stock dictionary to `out` and append every target pronunciation
 * it does not already have, numbering alternates after the existing ones
 * ("lor" has "L AO R" in cmudict, so "L AO" becomes "lor(2)"). have[i]
 * (n_targets entries, zeroed by the caller) receives how many entries target
 * i has in the merged dictionary: "word", "word(2)" .. "word(have[i])".
 */
static enum parley_err write_merged_dict(FILE *out, const char *dict_path,
					 const struct lexicon *lex, unsigned *have,
					 struct parley_error *err)
{
	size_t n_targets = lexicon_target_count(lex);
	unsigned char *present = calloc(n_targets ? n_targets : 1, LEX_PRONS_MAX);
	FILE *in = fopen(dict_path, "r");
	char *line = NULL;
	size_t cap = 0;
	enum parley_err rc = PARLEY_OK;
	if (!present) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory merging %s", dict_path);
		goto done;
	}
	if (!in) {
		rc = parley_error_set(err, PARLEY_ERR_IO, "cannot read %s: %s", dict_path,
				      strerror(errno));
		goto done;
	}
	ssize_t len;
	while ((len = getline(&line, &cap, in)) > 0) {
		fputs(line, out);
		if (line[len - 1] != '\n')
			fputc('\n', out);
		/* Head word, without a "(2)" alternate marker. */
		size_t head = strcspn(line, " \t\r\n");
		size_t base = strcspn(line, "( \t\r\n");
		if (base == 0 || base >= ASR_WORD_MAX)
			continue;
		char word[ASR_WORD_MAX];
		memcpy(word, line, base);
		word[base] = '\0';
		const struct lex_target *t = lexicon_find_target(lex, word);
		if (!t)
			continue;
		/* Targets are one array in index order (lexicon_target_at). */
		size_t ti = (size_t)(t - lexicon_target_at(lex, 0));
		have[ti]++;
		normalise_pron(line + head);
		for (size_t k = 0; k < t->n_prons; k++) {
			if (strcmp(t->prons[k], line + head) == 0)
				present[ti * LEX_PRONS_MAX + k] = 1;
		}
	}
	if (ferror(in)) {
		rc = parley_error_set(err, PARLEY_ERR_IO, "cannot read %s: %s", dict_path,
				      strerror(errno));
		goto done;
	}
	for (size_t ti = 0; ti < n_targets; ti++) {
		const struct lex_target *t = lexicon_target_at(lex, ti);
		for (size_t k = 0; k < t->n_prons; k++) {
			if (present[ti * LEX_PRONS_MAX + k])
				continue;
			if (have[ti]++ == 0)
				fprintf(out, "%s %s\n", t->word, t->prons[k]);
			else
				fprintf(out, "%s(%u) %s\n", t->word, have[ti], t->prons[k]);
		}
	}
done:
	free(line);
	if (in)
		fclose(in);
	free(present);
	return rc;
}

/* A unigram ARPA LM giving the targets and </s> equal probability. */
static void write_keyword_lm(FILE *out, const struct lexicon *lex)
{
	size_t n = lexicon_target_count(lex);
	double lp = -log10((double)(n + 1));
	fprintf(out, "\\data\\\nngram 1=%zu\n\n\\1-grams:\n", n + 2);
	fprintf(out, "-99.0000 <s>\n%.4f </s>\n", lp);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%.4f %s\n", lp, lexicon_target_at(lex, i)->word);
	fprintf(out, "\n\\end\\\n");
}

/* The keyphrase list of the spotting search: every dictionary entry of each
 * spotted target ("lor", "lor(2)", ...: the search spots one pronunciation
 * per keyphrase). Returns how many were written. */
static size_t write_keyphrases(FILE *out, const struct lexicon *lex, const unsigned *have)
{
	size_t n = 0;
	for (size_t ti = 0; ti < lexicon_target_count(lex); ti++) {
		const struct lex_target *t = lexicon_target_at(lex, ti);
		if (!t->spot)
			continue;
		for (unsigned k = 1; k <= have[ti]; k++, n++) {
			if (k == 1)
				fprintf(out, "%s /%s/\n", t->word, SPOT_SEARCH_THRESHOLD);
			else
				fprintf(out, "%s(%u) /%s/\n", t->word, k, SPOT_SEARCH_THRESHOLD);
		}
	}
	return n;
}

/* ---- fillers: the words of the model's filler dictionary ---- */

static void load_fillers(struct ps_engine *e, const char *hmm)
{
	static const char *const always[] = {"<s>", "</s>", "<sil>"};
	for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++)
		snprintf(e->fillers[e->n_fillers++], ASR_WORD_MAX, "%s", always[i]);
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/noisedict", hmm) >= (int)sizeof(path))
		return;
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char line[256];
	while (e->n_fillers < FILLERS_MAX && fgets(line, sizeof(line), f)) {
		size_t w = strcspn(line, " \t\r\n");
		if (w == 0 || w >= ASR_WORD_MAX)
			continue;
		memcpy(e->fillers[e->n_fillers], line, w);
		e->fillers[e->n_fillers++][w] = '\0';
	}
	fclose(f);
}

static bool is_filler(const struct ps_engine *e, const char *word)
{
	for (size_t i = 0; i < e->n_fillers; i++) {
		if (strcmp(e->fillers[i], word) == 0)
			return true;
	}
	/* Fillers are spelled <x> or [X]; no dictionary word is. */
	size_t len = strlen(word);
	return len >= 2 && ((word[0] == '<' && word[len - 1] == '>') ||
			    (word[0] == '[' && word[len - 1] == ']'));
}

/* ---- ops ---- */

static const char *ps_engine_version(void *self)
{
	return ((struct ps_engine *)self)->version;
}

static void ps_engine_free(void *self)
{
	struct ps_engine *e = self;
	if (!e)
		return;
	if (e->ps && e->verify && ps_set_search(e->ps, VERIFY_SEARCH_NAME) == 0) {
		/* This PocketSphinx's allphone search frees its last phone list only
		 * when it makes the next one, not in ps_free: an empty utterance
		 * leaves it none to leak. */
		if (ps_start_utt(e->ps) == 0)
			ps_end_utt(e->ps);
	}
	if (e->ps)
		ps_free(e->ps);
	free(e);
}

/* ---- verification of target hits (engines/ps_verify.h) ---- */

/* The phone loop's decoding of one segment, made once when first needed by
 * the spotting or the verification. */
struct loop_cache {
	bool done;
	struct ps_verify_span *phones;
	size_t nphones;
};

/* The end of a decoding with another search (the phone loop, the
 * spotting): reselect the LM search, a failure there being the error when
 * there was none; on any error free the results (list, *n of them) and set
 * *n to 0. The caller clears its pointer to list when this returns an
 * error. */
static enum parley_err search_done(struct ps_engine *e, enum parley_err rc, void *list, size_t *n,
				   struct parley_error *err)
{
	if (ps_set_search(e->ps, SEARCH_NAME) != 0 && !rc)
		rc = ps_fail(err, PARLEY_ERR_ENGINE, "pocketsphinx: cannot reselect the LM search");
	if (rc) {
		free(list);
		*n = 0;
	}
	return rc;
}

/* Decode the segment again with the free phone loop; *phones receives its
 * phones (malloc'd; the loop's first phone has no score in this
 * PocketSphinx and is left out). The LM search is reinstated before
 * returning. */
static enum parley_err phone_loop(struct ps_engine *e, const int16_t *samples, size_t n,
				  struct ps_verify_span **phones, size_t *nphones,
				  struct parley_error *err)
{
	*phones = NULL;
	*nphones = 0;
	enum parley_err rc = PARLEY_OK;
	if (ps_set_search(e->ps, VERIFY_SEARCH_NAME) != 0)
		return ps_fail(err, PARLEY_ERR_ENGINE, "pocketsphinx: cannot select the phone loop");
	if (ps_start_stream(e->ps) < 0 || ps_start_utt(e->ps) < 0) {
		rc = ps_fail(err, PARLEY_ERR_ENGINE, "pocketsphinx: cannot start the phone loop");
		goto out;
	}
	int frames = ps_process_raw(e->ps, samples, n, FALSE, TRUE);
	if (ps_end_utt(e->ps) < 0 || frames < 0) {
		rc = ps_fail(err, PARLEY_ERR_ENGINE, "pocketsphinx: phone loop decoding failed");
		goto out;
	}
	size_t cap = 0;
	for (ps_seg_t *seg = ps_seg_iter(e->ps); seg; seg = ps_seg_next(seg)) {
		if (!ps_seg_word(seg))
			continue;
		if (*nphones == cap) {
			size_t ncap = cap ? cap * 2 : 128;
			struct ps_verify_span *np = realloc(*phones, ncap * sizeof(*np));
			if (!np) {
				ps_seg_free(seg);
				rc = parley_error_set(err, PARLEY_ERR_NOMEM,
						      "pocketsphinx: out of memory");
				goto out;
			}
			*phones = np;
			cap = ncap;
		}
		struct ps_verify_span *ph = &(*phones)[(*nphones)++];
		int sf = 0, ef = 0;
		ps_seg_frames(seg, &sf, &ef);
		int32 ascr = 0, lscr = 0, lback = 0;
		ps_seg_prob(seg, &ascr, &lscr, &lback);
		ph->first = sf;
		ph->last = ef;
		ph->score = ascr * e->score_to_nats * (double)(1 << PS_SCORE_SHIFT);
	}
out:
	if ((rc = search_done(e, rc, *phones, nphones, err)))
		*phones = NULL;
	return rc;
}

/*
 * Verify every target candidate among words[0..n) (spans[i]: the frames and
 * acoustic score of words[i]): a candidate whose per-frame likelihood ratio
 * against the phone loop is below verify_min_llr gets confidence 0 on all
 * its words, so it is shown but never counted (lexicon_counts()). Words
 * the spotting search added (spotted[i]) passed their own test and are
 * left alone.
 */
static enum parley_err loop_get(struct ps_engine *e, const int16_t *samples, size_t n,
				struct loop_cache *lc, struct parley_error *err)
{
	if (lc->done)
		return PARLEY_OK;
	enum parley_err rc = phone_loop(e, samples, n, &lc->phones, &lc->nphones, err);
	lc->done = rc == PARLEY_OK;
	return rc;
}

static enum parley_err verify_words(struct ps_engine *e, const int16_t *samples, size_t n,
				    struct asr_word *words, const struct ps_verify_span *spans,
				    const bool *spotted, size_t nwords, struct loop_cache *lc,
				    struct parley_error *err)
{
	struct lex_token *toks = calloc(nwords, sizeof(*toks));
	struct ps_verify_cand *cands = calloc(PS_VERIFY_CANDS_MAX, sizeof(*cands));
	enum parley_err rc = PARLEY_OK;
	if (!toks || !cands) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "pocketsphinx: out of memory");
		goto out;
	}
	for (size_t i = 0; i < nwords; i++) {
		snprintf(toks[i].text, sizeof(toks[i].text), "%s", words[i].text);
		toks[i].start = words[i].start;
		toks[i].end = words[i].end;
		toks[i].conf = words[i].confidence;
	}
	size_t nc = ps_verify_candidates(e->lexicon, toks, nwords, cands, PS_VERIFY_CANDS_MAX);
	bool any = false; /* a candidate of the word hypothesis (spotted ones are decided) */
	for (size_t c = 0; c < nc && c < PS_VERIFY_CANDS_MAX && !any; c++)
		any = !spotted[cands[c].first];
	if (!any && nc <= PS_VERIFY_CANDS_MAX)
		goto out;
	if ((rc = loop_get(e, samples, n, lc, err)))
		goto out;
	const struct ps_verify_span *phones = lc->phones;
	size_t nphones = lc->nphones;
	if (nc > PS_VERIFY_CANDS_MAX) {
		/* Unverifiable: reject the rest (a segment is at most max_seconds,
		 * so this needs more than 2 targets a second). */
		log_warn("pocketsphinx: %zu target candidates in one segment, only %d verified",
			 nc, PS_VERIFY_CANDS_MAX);
		for (size_t i = cands[PS_VERIFY_CANDS_MAX - 1].last + 1; i < nwords; i++)
			if (lexicon_is_target(e->lexicon, words[i].text) ||
			    lexicon_correct_word(e->lexicon, words[i].text))
				words[i].confidence = 0.0f;
		nc = PS_VERIFY_CANDS_MAX;
	}
	double base = ps_verify_baseline(spans, nwords, cands, nc, phones, nphones);
	for (size_t c = 0; c < nc; c++) {
		const struct ps_verify_cand *cd = &cands[c];
		if (spotted[cd->first])
			continue; /* its test was the spotting ratio (spot_words) */
		double llr = ps_verify_llr(spans + cd->first, cd->last - cd->first + 1, phones,
					   nphones);
		/* The decision is on llr alone: llr relative to base was measured
		 * too (README, Accuracy) and lost recall on clean speech for no
		 * gain in false alarms; base is logged for the benches. */
		bool ok = llr >= e->verify_min_llr;
		log_debug("pocketsphinx: verify %s %.2f-%.2f s conf %.3f llr %.3f base %.3f %s%s%s",
			  cd->target, words[cd->first].start, words[cd->last].end,
			  (double)words[cd->first].confidence, llr, base, ok ? "kept" : "rejected",
			  e->label[0] ? " in " : "", e->label);
		if (!ok)
			for (size_t i = cd->first; i <= cd->last; i++)
				words[i].confidence = 0.0f;
	}
out:
	free(toks);
	free(cands);
	return rc;
}

/* ---- spotting: the keyphrase search as a second candidate source ---- */

struct spot_hit {
	const struct lex_target *target;
	int first, last; /* frames */
	double llr;      /* nats per frame against the search's phone loop */
};

static int spot_hit_cmp(const void *a, const void *b)
{
	const struct spot_hit *x = a, *y = b;
	return x->llr < y->llr ? 1 : x->llr > y->llr ? -1 : x->first - y->first;
}

static int spot_hit_start_cmp(const void *a, const void *b)
{
	const struct spot_hit *x = a, *y = b;
	return x->first - y->first;
}

static bool frames_overlap(int a0, int a1, int b0, int b1)
{
	return a0 <= b1 && b0 <= a1;
}

/* Run the keyphrase search over the segment; *hits receives its detections
 * (malloc'd), best ratio first, overlapping ones of any target reduced to
 * the best. The LM search is reinstated before returning. */
static enum parley_err spot_search(struct ps_engine *e, const int16_t *samples, size_t n,
				   struct spot_hit **hits, size_t *nhits, struct parley_error *err)
{
	*hits = NULL;
	*nhits = 0;
	enum parley_err rc = PARLEY_OK;
	size_t cap = 0;
	if (ps_set_search(e->ps, SPOT_SEARCH_NAME) != 0)
		return ps_fail(err, PARLEY_ERR_ENGINE, "pocketsphinx: cannot select the spotting search");
	if (ps_start_stream(e->ps) < 0 || ps_start_utt(e->ps) < 0) {
		rc = ps_fail(err, PARLEY_ERR_ENGINE, "pocketsphinx: cannot start the spotting search");
		goto out;
	}
	int frames = ps_process_raw(e->ps, samples, n, FALSE, TRUE);
	if (ps_end_utt(e->ps) < 0 || frames < 0) {
		rc = ps_fail(err, PARLEY_ERR_ENGINE, "pocketsphinx: spotting failed");
		goto out;
	}
	for (ps_seg_t *seg = ps_seg_iter(e->ps); seg; seg = ps_seg_next(seg)) {
		const char *word = ps_seg_word(seg);
		if (!word)
			continue;
		char base[LEX_WORD_MAX];
		size_t len = strcspn(word, "( ");
		if (len >= sizeof(base))
			continue;
		memcpy(base, word, len);
		base[len] = '\0';
		const struct lex_target *t = lexicon_find_target(e->lexicon, base);
		int sf = 0, ef = 0;
		ps_seg_frames(seg, &sf, &ef);
		if (!t || ef < sf)
			continue;
		int32 ascr = 0, lscr = 0, lback = 0;
		int32 prob = ps_seg_prob(seg, &ascr, &lscr, &lback);
		if (*nhits == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct spot_hit *nh = realloc(*hits, ncap * sizeof(*nh));
			if (!nh) {
				ps_seg_free(seg);
				rc = parley_error_set(err, PARLEY_ERR_NOMEM, "pocketsphinx: out of memory");
				goto out;
			}
			*hits = nh;
			cap = ncap;
		}
		(*hits)[(*nhits)++] = (struct spot_hit){
			t, sf, ef,
			((double)prob + SPOT_KWS_MAX) * e->score_to_nats * (double)(1 << PS_SCORE_SHIFT) /
				(ef - sf + 1)};
	}
	if (*nhits > 1)
		qsort(*hits, *nhits, sizeof(**hits), spot_hit_cmp);
	/* Keep the best of overlapping detections (pronunciations, targets). */
	size_t kept = 0;
	for (size_t i = 0; i < *nhits; i++) {
		bool clash = false;
		for (size_t j = 0; j < kept && !clash; j++)
			clash = frames_overlap((*hits)[i].first, (*hits)[i].last, (*hits)[j].first,
					       (*hits)[j].last);
		if (!clash)
			(*hits)[kept++] = (*hits)[i];
	}
	*nhits = kept;
out:
	if ((rc = search_done(e, rc, *hits, nhits, err)))
		*hits = NULL;
	return rc;
}

/*
 * Add the spotted targets the word hypothesis missed to words[0..*nwords)
 * (with spans and the spotted flags kept parallel; all three arrays are
 * replaced). A hit overlapping a target candidate of the word hypothesis is
 * a duplicate (that candidate is verified as before); a hit whose ratio is
 * below its target's spot_min_llr is dropped; any other replaces the words
 * whose middle lies inside it.
 */
static enum parley_err spot_words(struct ps_engine *e, const int16_t *samples, size_t n,
				  double offset, const struct ps_verify_span *segs, size_t nsegs,
				  struct asr_word **words, struct ps_verify_span **spans,
				  bool **spotted, size_t *nwords, struct loop_cache *lc,
				  struct parley_error *err)
{
	struct spot_hit *hits = NULL;
	size_t nhits = 0, nc = 0, nadd = 0, nw = *nwords;
	struct lex_token *toks = NULL;
	struct ps_verify_cand *cands = NULL;
	struct asr_word *ow = NULL;
	struct ps_verify_span *os = NULL;
	bool *of = NULL;
	enum parley_err rc = spot_search(e, samples, n, &hits, &nhits, err);
	if (rc || nhits == 0)
		goto out;
	toks = calloc(nw ? nw : 1, sizeof(*toks));
	cands = calloc(PS_VERIFY_CANDS_MAX, sizeof(*cands));
	if (!toks || !cands) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "pocketsphinx: out of memory");
		goto out;
	}
	for (size_t i = 0; i < nw; i++) {
		snprintf(toks[i].text, sizeof(toks[i].text), "%s", (*words)[i].text);
		toks[i].start = (*words)[i].start;
		toks[i].end = (*words)[i].end;
		toks[i].conf = (*words)[i].confidence;
	}
	nc = ps_verify_candidates(e->lexicon, toks, nw, cands, PS_VERIFY_CANDS_MAX);
	if (nc > PS_VERIFY_CANDS_MAX)
		nc = PS_VERIFY_CANDS_MAX;
	for (size_t h = 0; h < nhits; h++) {
		struct spot_hit *hit = &hits[h];
		const char *what = "added";
		for (size_t c = 0; c < nc; c++) {
			int f0 = (*spans)[cands[c].first].first, f1 = (*spans)[cands[c].last].last;
			if (frames_overlap(hit->first, hit->last, f0, f1))
				what = "duplicate";
		}
		/* Against the recogniser's own hypothesis over the same frames:
		 * hit->llr is the keyphrase against the search's free phone loop
		 * (-kws_plp 1: no phone penalty, as the verifier's loop), so the
		 * keyphrase against the hypothesis is hit->llr minus the
		 * hypothesis against the loop. */
		double vs_hyp = -INFINITY;
		if (what[0] == 'a' && !(hit->llr >= e->verify_min_llr))
			what = "rejected"; /* fails the loop test: no need for the loop */
		if (what[0] == 'a') {
			if ((rc = loop_get(e, samples, n, lc, err)))
				goto out;
			int cov_h = 0, cov_l = 0;
			double hyp = ps_verify_loop_score(hit->first, hit->last, segs, nsegs, &cov_h);
			double loop = ps_verify_loop_score(hit->first, hit->last, lc->phones,
							   lc->nphones, &cov_l);
			if (cov_h > 0 && cov_l > 0)
				vs_hyp = hit->llr - (hyp / cov_h - loop / cov_l);
			if (!(vs_hyp >= hit->target->spot_min_llr && hit->llr >= e->verify_min_llr))
				what = "rejected";
		}
		log_debug("pocketsphinx: spot %s %.2f-%.2f s llr %.3f loop %.3f %s%s%s",
			  hit->target->word, offset + (double)hit->first / e->frate,
			  offset + (double)(hit->last + 1) / e->frate, vs_hyp, hit->llr, what,
			  e->label[0] ? " in " : "", e->label);
		if (what[0] == 'a')
			hits[nadd++] = *hit;
	}
	if (nadd == 0)
		goto out;
	size_t cap = nw + nadd;
	ow = malloc(cap * sizeof(*ow));
	os = malloc(cap * sizeof(*os));
	of = malloc(cap * sizeof(*of));
	if (!ow || !os || !of) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "pocketsphinx: out of memory");
		goto out;
	}
	/* Merge by start frame: hits are disjoint, so walking both in order
	 * keeps the words sorted. */
	qsort(hits, nadd, sizeof(*hits), spot_hit_start_cmp);
	size_t m = 0, h = 0;
	for (size_t i = 0; i <= nw; i++) {
		int start = i < nw ? (*spans)[i].first : INT_MAX;
		while (h < nadd && hits[h].first <= start) {
			struct asr_word *w = &ow[m];
			memset(w, 0, sizeof(*w));
			snprintf(w->text, sizeof(w->text), "%s", hits[h].target->word);
			w->start = offset + (double)hits[h].first / e->frate;
			w->end = offset + (double)(hits[h].last + 1) / e->frate;
			w->confidence = 1.0f;
			os[m] = (struct ps_verify_span){hits[h].first, hits[h].last, 0.0};
			of[m++] = true;
			h++;
		}
		if (i == nw)
			break;
		int mid2 = (*spans)[i].first + (*spans)[i].last; /* twice the middle */
		bool covered = false;
		for (size_t k = 0; k < nadd && !covered; k++)
			covered = mid2 >= 2 * hits[k].first && mid2 <= 2 * hits[k].last;
		if (covered)
			continue;
		ow[m] = (*words)[i];
		os[m] = (*spans)[i];
		of[m++] = (*spotted)[i];
	}
	/* A hypothesis word kept beside a spotted one may overlap it a little:
	 * the spotted word gives way, so times stay in order. */
	size_t k = 0;
	for (size_t i = 0; i < m; i++) {
		if (of[i]) {
			double lo = k > 0 ? ow[k - 1].end : -INFINITY;
			double hi = i + 1 < m ? ow[i + 1].start : INFINITY;
			if (ow[i].start < lo)
				ow[i].start = lo;
			if (ow[i].end > hi)
				ow[i].end = hi;
			if (!(ow[i].start < ow[i].end))
				continue;
		}
		ow[k] = ow[i];
		os[k] = os[i];
		of[k++] = of[i];
	}
	m = k;
	free(*words);
	free(*spans);
	free(*spotted);
	*words = ow;
	*spans = os;
	*spotted = of;
	*nwords = m;
	ow = NULL;
	os = NULL;
	of = NULL;
out:
	free(hits);
	free(toks);
	free(cands);
	free(ow);
	free(os);
	free(of);
	return rc;
}

/* params: the language and targets are fixed at open; abort is polled by
 * asr_engine_transcribe_many between segments. */
static enum parley_err ps_engine_transcribe(void *self, const struct asr_params *params,
					    const int16_t *samples, size_t n, int rate,
					    double offset, struct asr_word **words,
					    size_t *nwords, struct parley_error *err)
{
	struct ps_engine *e = self;
	e->label = params && params->label ? params->label : "";
	*words = NULL;
	*nwords = 0;
	if (rate != e->rate)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"pocketsphinx: audio is %d Hz; the en-us model needs %d Hz",
					rate, e->rate);
	if (!samples && n)
		return parley_error_set(err, PARLEY_ERR_INVALID, "pocketsphinx: no samples");
	if (n > e->max_samples)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"pocketsphinx: segment of %.1f s is longer than the %.1f s "
					"allowed; split it first",
					(double)n / rate, (double)e->max_samples / rate);
	if (n == 0)
		return PARLEY_OK;

	last_error[0] = '\0';
	/* One utterance, one call: see pocketsphinx.h. */
	if (ps_start_stream(e->ps) < 0 || ps_start_utt(e->ps) < 0)
		return ps_fail(err, PARLEY_ERR_ENGINE, "pocketsphinx: cannot start an utterance");
	int frames = ps_process_raw(e->ps, samples, n, FALSE, TRUE);
	if (ps_end_utt(e->ps) < 0 || frames < 0)
		return ps_fail(err, PARLEY_ERR_ENGINE, "pocketsphinx: decoding failed");

	struct asr_word *out = NULL;
	struct ps_verify_span *spans = NULL; /* frames and acoustic score of out[i] */
	struct ps_verify_span *segs = NULL;  /* every segment, fillers too (spotting) */
	size_t count = 0, cap = 0, nsegs = 0, cap_segs = 0;
	for (ps_seg_t *seg = ps_seg_iter(e->ps); seg; seg = ps_seg_next(seg)) {
		const char *word = ps_seg_word(seg);
		if (!word)
			continue;
		if (e->spot) {
			if (nsegs == cap_segs) {
				size_t ncap = cap_segs ? cap_segs * 2 : 64;
				struct ps_verify_span *nsg = realloc(segs, ncap * sizeof(*nsg));
				if (!nsg) {
					ps_seg_free(seg);
					free(out);
					free(spans);
					free(segs);
					return parley_error_set(err, PARLEY_ERR_NOMEM,
								"pocketsphinx: out of memory");
				}
				segs = nsg;
				cap_segs = ncap;
			}
			int sf = 0, ef = 0;
			ps_seg_frames(seg, &sf, &ef);
			int32 ascr = 0, lscr = 0, lback = 0;
			ps_seg_prob(seg, &ascr, &lscr, &lback);
			segs[nsegs++] = (struct ps_verify_span){sf, ef, ascr * e->score_to_nats};
		}
		if (is_filler(e, word))
			continue;
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct asr_word *nw = realloc(out, ncap * sizeof(*nw));
			struct ps_verify_span *ns = nw ? realloc(spans, ncap * sizeof(*ns)) : NULL;
			if (nw)
				out = nw;
			if (ns)
				spans = ns;
			if (!nw || !ns) {
				ps_seg_free(seg);
				free(out);
				free(spans);
				free(segs);
				return parley_error_set(err, PARLEY_ERR_NOMEM,
							"pocketsphinx: out of memory");
			}
			cap = ncap;
		}
		struct asr_word *w = &out[count++];
		w->approximate = false;
		size_t len = strcspn(word, "(");
		if (len >= sizeof(w->text))
			len = sizeof(w->text) - 1;
		memcpy(w->text, word, len);
		w->text[len] = '\0';
		int sf = 0, ef = 0;
		ps_seg_frames(seg, &sf, &ef);
		w->start = offset + (double)sf / e->frate;
		w->end = offset + (double)(ef + 1) / e->frate;
		int32 ascr = 0, lscr = 0, lback = 0;
		double post = logmath_exp(e->lmath, ps_seg_prob(seg, &ascr, &lscr, &lback));
		w->confidence = (float)(post < 0.0 ? 0.0 : post > 1.0 ? 1.0 : post);
		spans[count - 1] = (struct ps_verify_span){sf, ef, ascr * e->score_to_nats};
	}
	bool *spotted = calloc(count ? count : 1, sizeof(*spotted));
	enum parley_err rc = spotted ? PARLEY_OK
				     : parley_error_set(err, PARLEY_ERR_NOMEM,
							"pocketsphinx: out of memory");
	struct loop_cache lc = {0};
	if (!rc && e->spot)
		rc = spot_words(e, samples, n, offset, segs, nsegs, &out, &spans, &spotted, &count,
				&lc, err);
	if (!rc && e->verify && count)
		rc = verify_words(e, samples, n, out, spans, spotted, count, &lc, err);
	free(spans);
	free(spotted);
	free(segs);
	free(lc.phones);
	if (rc) {
		free(out);
		return rc;
	}
	*words = out;
	*nwords = count;
	return PARLEY_OK;
}

static const struct asr_engine_ops ps_engine_ops = {
	.name = "pocketsphinx",
	.version = ps_engine_version,
	.transcribe = ps_engine_transcribe,
	.free = ps_engine_free,
};

/* ---- open ---- */

/* Read the stock LM and, with targets, interpolate the keyword LM into it;
 * install the result as the decoder's search. */
static enum parley_err install_lm(struct ps_engine *e, cmd_ln_t *config, const char *lm_path,
				  const char *kw_path, double weight, struct parley_error *err)
{
	ngram_model_t *lm = ngram_model_read(config, lm_path, NGRAM_AUTO, e->lmath);
	if (!lm)
		return ps_fail(err, PARLEY_ERR_ENGINE, "pocketsphinx: cannot read the language model");
	if (kw_path) {
		ngram_model_t *kw = ngram_model_read(config, kw_path, NGRAM_ARPA, e->lmath);
		if (!kw) {
			ngram_model_free(lm);
			return ps_fail(err, PARLEY_ERR_ENGINE,
				       "pocketsphinx: cannot read the keyword language model");
		}
		ngram_model_t *models[2] = {lm, kw};
		char name_base[] = "base", name_kw[] = "keywords";
		char *names[2] = {name_base, name_kw};
		const float32 weights[2] = {(float32)(1.0 - weight), (float32)weight};
		ngram_model_t *set = ngram_model_set_init(config, models, names, weights, 2);
		if (!set) {
			ngram_model_free(kw);
			ngram_model_free(lm);
			return ps_fail(err, PARLEY_ERR_ENGINE,
				       "pocketsphinx: cannot interpolate the keyword language model");
		}
		/* This sphinxbase's set retains its models: drop our references. */
		ngram_model_free(kw);
		ngram_model_free(lm);
		lm = set;
	}
	int rc = ps_set_lm(e->ps, SEARCH_NAME, lm);
	ngram_model_free(lm); /* the search holds its own reference */
	if (rc != 0 || ps_set_search(e->ps, SEARCH_NAME) != 0)
		return ps_fail(err, PARLEY_ERR_ENGINE, "pocketsphinx: cannot set up the LM search");
	return PARLEY_OK;
}

enum parley_err asr_pocketsphinx_open(const struct asr_pocketsphinx_params *params,
				      struct asr_engine *out, struct parley_error *err)
{
	out->ops = NULL;
	out->self = NULL;
	struct asr_pocketsphinx_params p = params ? *params : asr_pocketsphinx_default_params();
	if (!p.model_dir)
		p.model_dir = ASR_POCKETSPHINX_MODEL_DIR;
	size_t n_targets = lexicon_target_count(p.lexicon);
	if (n_targets && !(p.keyword_weight > 0.0 && p.keyword_weight < 1.0))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"pocketsphinx: keyword_weight %g is not between 0 and 1",
					p.keyword_weight);
	if (p.max_hmm_per_frame < 100 || p.max_hmm_per_frame > 1000000)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"pocketsphinx: max_hmm_per_frame %d is not in [100, 1000000]",
					p.max_hmm_per_frame);
	if (p.verify && !isfinite(p.verify_min_llr))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"pocketsphinx: verify_min_llr %g is not a finite number",
					p.verify_min_llr);
	if (!(p.max_seconds > 0.0 && p.max_seconds <= 3600.0))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"pocketsphinx: max_seconds %g is not in (0, 3600]",
					p.max_seconds);

	char hmm[PATH_MAX], lm[PATH_MAX], dict[PATH_MAX];
	enum parley_err rc;
	if ((rc = model_path(hmm, sizeof(hmm), p.hmm, p.model_dir, "en-us", true, err)) ||
	    (rc = model_path(lm, sizeof(lm), p.lm, p.model_dir, "en-us.lm.bin", false, err)) ||
	    (rc = model_path(dict, sizeof(dict), p.dict, p.model_dir, "cmudict-en-us.dict", false,
			     err)))
		return rc;

	pthread_once(&log_once, install_log_cb);
	last_error[0] = '\0';

	struct tmpfile dict_tmp = {0}, kw_tmp = {0}, spot_tmp = {0};
	unsigned *have = NULL; /* dictionary entries per target */
	size_t n_keyphrases = 0;
	cmd_ln_t *config = NULL;
	struct ps_engine *e = calloc(1, sizeof(*e));
	if (!e) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "pocketsphinx: out of memory");
		goto fail;
	}
	e->label = "";
	const char *dict_used = dict;
	if (n_targets) {
		have = calloc(n_targets, sizeof(*have));
		if (!have) {
			rc = parley_error_set(err, PARLEY_ERR_NOMEM, "pocketsphinx: out of memory");
			goto fail;
		}
		if ((rc = tmp_create(&dict_tmp, p.tmp_dir, "dict", err)) ||
		    (rc = write_merged_dict(dict_tmp.f, dict, p.lexicon, have, err)) ||
		    (rc = tmp_finish(&dict_tmp, err)) ||
		    (rc = tmp_create(&kw_tmp, p.tmp_dir, "kwlm", err)))
			goto fail;
		write_keyword_lm(kw_tmp.f, p.lexicon);
		if ((rc = tmp_finish(&kw_tmp, err)))
			goto fail;
		dict_used = dict_tmp.path;
	}

	char maxhmm[32];
	snprintf(maxhmm, sizeof(maxhmm), "%d", p.max_hmm_per_frame);
	config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", hmm, "-dict", dict_used,
			     "-remove_silence", "no", "-fwdflat", p.flat_pass ? "yes" : "no",
			     "-maxhmmpf", maxhmm, "-allphone_ci", "yes", "-compallsen", "yes", "-kws_plp", "1.0", NULL);
	if (!config) {
		rc = ps_fail(err, PARLEY_ERR_ENGINE, "pocketsphinx: bad configuration");
		goto fail;
	}
	e->ps = ps_init(config);
	if (!e->ps) {
		rc = ps_fail(err, PARLEY_ERR_ENGINE, "pocketsphinx: cannot start the decoder");
		goto fail;
	}
	e->lmath = ps_get_logmath(e->ps);
	e->frate = (int)cmd_ln_int32_r(config, "-frate");
	e->rate = (int)cmd_ln_float32_r(config, "-samprate");
	if (e->frate <= 0 || e->rate != ASR_POCKETSPHINX_RATE) {
		rc = parley_error_set(err, PARLEY_ERR_INTERNAL,
				      "pocketsphinx: unexpected frame rate %d / sample rate %d",
				      e->frate, e->rate);
		goto fail;
	}
	e->max_samples = (size_t)(p.max_seconds * e->rate);
	if ((rc = install_lm(e, config, lm, n_targets ? kw_tmp.path : NULL, p.keyword_weight,
			     err)))
		goto fail;
	load_fillers(e, hmm);
	e->score_to_nats = logmath_log_to_ln(e->lmath, 1);
	if (n_targets && p.verify) {
		/* The free phone loop of the verifier: no phone LM, no penalty. */
		if (ps_set_allphone(e->ps, VERIFY_SEARCH_NAME, NULL) != 0 ||
		    ps_set_search(e->ps, SEARCH_NAME) != 0) {
			rc = ps_fail(err, PARLEY_ERR_ENGINE,
				     "pocketsphinx: cannot set up the verifier's phone loop");
			goto fail;
		}
		e->lexicon = p.lexicon;
		e->verify = true;
		e->verify_min_llr = p.verify_min_llr;
	}
	if (n_targets && p.spot && e->verify) { /* its test needs the phone loop */
		if ((rc = tmp_create(&spot_tmp, p.tmp_dir, "spot", err)))
			goto fail;
		n_keyphrases = write_keyphrases(spot_tmp.f, p.lexicon, have);
		if ((rc = tmp_finish(&spot_tmp, err)))
			goto fail;
	}
	if (n_keyphrases) {
		if (ps_set_kws(e->ps, SPOT_SEARCH_NAME, spot_tmp.path) != 0 ||
		    ps_set_search(e->ps, SEARCH_NAME) != 0) {
			rc = ps_fail(err, PARLEY_ERR_ENGINE,
				     "pocketsphinx: cannot set up the keyphrase spotting search");
			goto fail;
		}
		e->lexicon = p.lexicon;
		e->spot = true;
	}
	if (n_targets)
		snprintf(e->version, sizeof(e->version),
			 "pocketsphinx 5prealpha, %s, %zu keywords at weight %g%s%s", p.model_dir,
			 n_targets, p.keyword_weight, e->verify ? ", verified" : "",
			 e->spot ? ", spotted" : "");
	else
		snprintf(e->version, sizeof(e->version), "pocketsphinx 5prealpha, %s", p.model_dir);

	cmd_ln_free_r(config);
	tmp_remove(&dict_tmp);
	tmp_remove(&kw_tmp);
	tmp_remove(&spot_tmp);
	free(have);
	out->ops = &ps_engine_ops;
	out->self = e;
	return PARLEY_OK;

fail:
	ps_engine_free(e);
	if (config)
		cmd_ln_free_r(config);
	tmp_remove(&dict_tmp);
	tmp_remove(&kw_tmp);
	tmp_remove(&spot_tmp);
	free(have);
	return rc;
}
