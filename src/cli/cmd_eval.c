/*
 * cmd_eval.c — `parley eval --ref REF_DIR --hyp OUT`: score a run (or any
 * RTTM) against ground truth: diarization error rate with and without a
 * collar, speaker-count accuracy, word error rate and keyword-count
 * precision/recall/F1, per recording and for the set; a table on stdout and
 * optionally every figure as JSON.
 */
#include <dirent.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "eval/der.h"
#include "eval/keywords.h"
#include "eval/rttm.h"
#include "eval/transcript.h"
#include "eval/wer.h"
#include "util/fs.h"
#include "util/strbuf.h"

#define EVAL_MAX_RECORDINGS 100000
#define EVAL_MAX_TEXT (64u << 20)
#define EVAL_MAX_JSON (256u << 20)

static const char eval_usage[] =
	"usage: parley eval --ref REF_DIR --hyp OUT [--json FILE] [--collar SECONDS]\n"
	"\n"
	"Score diarization, transcripts and keyword counts against ground truth.\n"
	"REF_DIR holds <name>.rttm (reference speaker turns), optionally <name>.txt\n"
	"(reference transcript: plain text, or STM lines 'file chan spk start end text'),\n"
	"<name>.counts.csv (header 'speaker,word,count') and <name>.uem (NIST scoring\n"
	"regions 'file chan start end': DER counts only time inside them; lines for\n"
	"file <name>, or all lines when none names it). Recordings are matched\n"
	"by name; names found on one side only are listed.\n"
	"\n"
	"options:\n"
	"      --ref DIR          reference folder (required)\n"
	"      --hyp PATH         a `parley run` output folder (OUT/<name>/transcript.rttm\n"
	"                         and transcript.json), a folder of <name>.rttm files, or\n"
	"                         one RTTM file (recordings named by its file field)\n"
	"                         (required)\n"
	"      --json FILE        also write every figure as JSON to FILE\n"
	"      --collar SECONDS   no-score collar around each reference boundary for\n"
	"                         DER (default 0.25; DER without a collar is reported too)\n"
	"  -h, --help             show this help\n"
	"\n"
	"figures: DER = (missed + false alarm + confusion) / reference speech, with the\n"
	"optimal one-to-one speaker mapping; speaker count right or not; WER =\n"
	"(substitutions + insertions + deletions) / reference words after lowercasing\n"
	"and removing punctuation (needs <name>.txt and transcript.json); keyword\n"
	"P/R/F1 per target word, per speaker (same mapping as DER without collar) and\n"
	"speaker-agnostic (needs <name>.counts.csv and transcript.json). Runs without\n"
	"speech recognition (transcript.json \"transcribed\": false) get no WER or keyword\n"
	"figures.\n"
	"\n"
	"exit status: 0 scored, 1 a file unreadable or invalid (the message names\n"
	"file:line), 2 usage error.\n";

struct side {
	struct rttm rttm;
	bool have_rttm;
	size_t file; /* rttm file index to use, or SIZE_MAX for all segments */
	char *text;  /* words of the transcript, or NULL */
	struct kw_counts counts;
	bool have_counts;
	struct der_region *uem; /* scoring regions of <name>.uem (reference only) */
	size_t nuem;
	bool have_uem;
};

struct rec_eval {
	char name[256];
	size_t nref, nhyp;
	struct der_result der_collar, der_none;
	double uem_seconds; /* total length of the scoring regions; NaN: no UEM, all scored */
	bool have_wer;
	struct wer_result wer;
	bool have_kw;
	struct kw_score kw;
	json_t *mapping; /* hyp speaker -> ref speaker or null */
};

/* ---- small helpers ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a > b && strcmp(s + a - b, suffix) == 0;
}

/* Names in dir of entries ending in suffix, without it, sorted; or (suffix
 * NULL) of sub-directories holding transcript.rttm. */
static enum parley_err list_names(const char *dir, const char *suffix, char ***out, size_t *n,
				  struct parley_error *err)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return parley_error_set(err, PARLEY_ERR_IO, "cannot open folder %s", dir);
	char **v = NULL;
	size_t cap = 0;
	struct dirent *de;
	enum parley_err rc = PARLEY_OK;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char path[PARLEY_PATH_MAX], name[256];
		if (suffix) {
			if (!has_suffix(de->d_name, suffix) || has_suffix(de->d_name, ".counts.csv"))
				continue;
			snprintf(name, sizeof(name), "%.*s", (int)(strlen(de->d_name) - strlen(suffix)),
				 de->d_name);
		} else {
			char sub[PARLEY_PATH_MAX];
			if (fs_path_join(sub, sizeof(sub), dir, de->d_name, NULL) ||
			    fs_path_join(path, sizeof(path), sub, "transcript.rttm", NULL) ||
			    !fs_exists(path))
				continue;
			snprintf(name, sizeof(name), "%s", de->d_name);
		}
		if (*n >= EVAL_MAX_RECORDINGS) {
			rc = parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					      "%s: more than %d recordings", dir, EVAL_MAX_RECORDINGS);
			break;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nv = realloc(v, cap * sizeof(*nv));
			if (!nv) {
				rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
				break;
			}
			v = nv;
		}
		if (!(v[*n] = strdup(name))) {
			rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
			break;
		}
		(*n)++;
	}
	closedir(d);
	if (rc) {
		free_names(v, *n);
		*n = 0;
		return rc;
	}
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_str);
	*out = v;
	return PARLEY_OK;
}

static bool name_in(char *const *v, size_t n, const char *name)
{
	return n && bsearch(&name, v, n, sizeof(*v), cmp_str) != NULL;
}

static void side_release(struct side *s)
{
	rttm_release(&s->rttm);
	free(s->text);
	free(s->uem);
	kw_counts_release(&s->counts);
	memset(s, 0, sizeof(*s));
}

static void rec_release(struct rec_eval *r)
{
	der_result_release(&r->der_collar);
	der_result_release(&r->der_none);
	kw_score_release(&r->kw);
	json_decref(r->mapping);
	memset(r, 0, sizeof(*r));
}

/* ---- loading ---- */

/* Scoring regions of <name>.uem: its lines for file `name`, or every line
 * when none names it (a per-recording file whose ids were not renamed). */
static enum parley_err load_uem(const char *path, const char *name, struct side *s,
				struct parley_error *err)
{
	char *data = NULL;
	size_t len;
	enum parley_err rc = fs_read_file(path, RTTM_MAX_BYTES, &data, &len, err);
	if (rc)
		return rc;
	rc = uem_parse(data, len, path, name, &s->uem, &s->nuem, err);
	if (rc == PARLEY_OK && s->nuem == 0)
		rc = uem_parse(data, len, path, NULL, &s->uem, &s->nuem, err);
	free(data);
	s->have_uem = rc == PARLEY_OK;
	return rc;
}

static enum parley_err load_ref(const char *dir, const char *name, struct side *s,
				struct parley_error *err)
{
	char file[300], path[PARLEY_PATH_MAX];
	enum parley_err rc;
	s->file = SIZE_MAX;
	snprintf(file, sizeof(file), "%s.rttm", name);
	if ((rc = fs_path_join(path, sizeof(path), dir, file, err)) ||
	    (rc = rttm_load_file(path, &s->rttm, err)))
		return rc;
	s->have_rttm = true;
	snprintf(file, sizeof(file), "%s.txt", name);
	if ((rc = fs_path_join(path, sizeof(path), dir, file, err)))
		return rc;
	if (fs_exists(path)) {
		char *data = NULL;
		size_t len;
		struct strbuf sb;
		strbuf_init(&sb, EVAL_MAX_TEXT);
		if ((rc = fs_read_file(path, EVAL_MAX_TEXT, &data, &len, err)))
			return rc;
		rc = wer_reference_text(data, &sb, err);
		free(data);
		if (rc) {
			strbuf_release(&sb);
			parley_error_prefix(err, "%s", path);
			return rc;
		}
		s->text = strbuf_detach(&sb, NULL);
	}
	snprintf(file, sizeof(file), "%s.uem", name);
	if ((rc = fs_path_join(path, sizeof(path), dir, file, err)))
		return rc;
	if (fs_exists(path) && (rc = load_uem(path, name, s, err)))
		return rc;
	snprintf(file, sizeof(file), "%s.counts.csv", name);
	if ((rc = fs_path_join(path, sizeof(path), dir, file, err)))
		return rc;
	if (fs_exists(path)) {
		char *data = NULL;
		size_t len;
		if ((rc = fs_read_file(path, EVAL_MAX_TEXT, &data, &len, err)))
			return rc;
		rc = kw_counts_parse_csv(data, path, &s->counts, err);
		free(data);
		if (rc)
			return rc;
		s->have_counts = true;
	}
	return PARLEY_OK;
}

/* Words and counts of a run's transcript.json (eval/transcript.h). */
static enum parley_err load_transcript_json(const char *path, struct side *s,
					    struct parley_error *err)
{
	char *data = NULL;
	size_t len = 0;
	enum parley_err rc = fs_read_file(path, EVAL_MAX_JSON, &data, &len, err);
	if (rc)
		return rc;
	struct eval_transcript t = {0};
	rc = eval_transcript_parse(data, len, path, EVAL_MAX_TEXT, &t, err);
	free(data);
	if (rc)
		return rc;
	s->text = t.text;
	s->counts = t.counts;
	s->have_counts = t.have_counts;
	return PARLEY_OK;
}

/* Hypothesis of one recording: from OUT/<name>/transcript.{rttm,json}, from
 * DIR/<name>.rttm, or from the shared RTTM file (*whole). Missing: NOT_FOUND. */
static enum parley_err load_hyp(const char *hyp, bool hyp_is_dir, const struct rttm *whole,
				const char *name, struct side *s, struct parley_error *err)
{
	char sub[PARLEY_PATH_MAX], path[PARLEY_PATH_MAX], file[300];
	enum parley_err rc;
	s->file = SIZE_MAX;
	if (!hyp_is_dir) {
		for (size_t i = 0; i < whole->nfiles; i++)
			if (strcmp(whole->files[i], name) == 0) {
				s->file = i;
				return PARLEY_OK;
			}
		return PARLEY_ERR_NOT_FOUND;
	}
	if ((rc = fs_path_join(sub, sizeof(sub), hyp, name, err)) ||
	    (rc = fs_path_join(path, sizeof(path), sub, "transcript.rttm", err)))
		return rc;
	if (fs_exists(path)) {
		if ((rc = rttm_load_file(path, &s->rttm, err)))
			return rc;
		s->have_rttm = true;
		if ((rc = fs_path_join(path, sizeof(path), sub, "transcript.json", err)))
			return rc;
		return fs_exists(path) ? load_transcript_json(path, s, err) : PARLEY_OK;
	}
	snprintf(file, sizeof(file), "%s.rttm", name);
	if ((rc = fs_path_join(path, sizeof(path), hyp, file, err)))
		return rc;
	if (!fs_exists(path))
		return PARLEY_ERR_NOT_FOUND;
	if ((rc = rttm_load_file(path, &s->rttm, err)))
		return rc;
	s->have_rttm = true;
	return PARLEY_OK;
}

/* ---- scoring ---- */

/* Segments of one side with speakers renumbered 0..n-1 for this recording;
 * names[i] points into r->speakers. */
static enum parley_err side_segments(const struct rttm *r, size_t file, struct der_segment **segs,
				     size_t *nsegs, const char ***names, size_t *nnames,
				     struct parley_error *err)
{
	*segs = malloc((r->nsegs ? r->nsegs : 1) * sizeof(**segs));
	int *local = malloc((r->nspeakers ? r->nspeakers : 1) * sizeof(int));
	*names = malloc((r->nspeakers ? r->nspeakers : 1) * sizeof(**names));
	*nsegs = *nnames = 0;
	if (!*segs || !local || !*names) {
		free(local);
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < r->nspeakers; i++)
		local[i] = -1;
	for (size_t i = 0; i < r->nsegs; i++) {
		const struct rttm_segment *s = &r->segs[i];
		if (file != SIZE_MAX && s->file != file)
			continue;
		if (local[s->speaker] < 0) {
			local[s->speaker] = (int)*nnames;
			(*names)[(*nnames)++] = r->speakers[s->speaker];
		}
		(*segs)[(*nsegs)++] = (struct der_segment){s->start, s->end, local[s->speaker]};
	}
	free(local);
	return PARLEY_OK;
}

/* Length of the union of the regions (they may overlap). */
static int cmp_region_start(const void *a, const void *b)
{
	const struct der_region *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static double uem_total(struct der_region *r, size_t n)
{
	qsort(r, n, sizeof(*r), cmp_region_start);
	double total = 0, reach = -INFINITY;
	for (size_t i = 0; i < n; i++) {
		double a = r[i].start > reach ? r[i].start : reach;
		if (r[i].end > a)
			total += r[i].end - a;
		reach = r[i].end > reach ? r[i].end : reach;
	}
	return total;
}

static enum parley_err score_recording(const char *name, const struct side *ref,
				       const struct side *hyp, const struct rttm *hyp_rttm,
				       double collar, struct rec_eval *out, struct parley_error *err)
{
	struct der_segment *rs = NULL, *hs = NULL;
	const char **rn = NULL, **hn = NULL, **map = NULL;
	size_t nrs, nhs, nrn, nhn;
	enum parley_err rc;
	snprintf(out->name, sizeof(out->name), "%s", name);
	if ((rc = side_segments(&ref->rttm, SIZE_MAX, &rs, &nrs, &rn, &nrn, err)) ||
	    (rc = side_segments(hyp_rttm, hyp->file, &hs, &nhs, &hn, &nhn, err)))
		goto out;
	struct der_params p = {.collar = collar}, none = {.collar = 0};
	out->uem_seconds = NAN;
	if (ref->have_uem) {
		p.regions = none.regions = ref->uem;
		p.nregions = none.nregions = ref->nuem;
		out->uem_seconds = uem_total(ref->uem, ref->nuem);
	}
	if ((rc = der_compute(rs, nrs, nrn, hs, nhs, nhn, &p, &out->der_collar, err)) ||
	    (rc = der_compute(rs, nrs, nrn, hs, nhs, nhn, &none, &out->der_none, err))) {
		parley_error_prefix(err, "%s", name);
		goto out;
	}
	out->nref = nrn;
	out->nhyp = nhn;
	map = calloc(nhn ? nhn : 1, sizeof(*map));
	out->mapping = json_object();
	if (!map || !out->mapping) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nhn; i++) {
		int r = out->der_none.hyp_to_ref[i];
		map[i] = r >= 0 ? rn[r] : NULL;
		json_object_set_new(out->mapping, hn[i], map[i] ? json_string(map[i]) : json_null());
	}
	if (ref->text && hyp->text) {
		if ((rc = wer_compute(ref->text, hyp->text, &out->wer, err))) {
			parley_error_prefix(err, "%s", name);
			goto out;
		}
		out->have_wer = true;
	}
	if (ref->have_counts && hyp->have_counts) {
		if ((rc = kw_score(&ref->counts, &hyp->counts, hn, map, nhn, &out->kw, err)))
			goto out;
		out->have_kw = true;
	}
out:
	free(rs);
	free(hs);
	free(rn);
	free(hn);
	free(map);
	return rc;
}

/* ---- output ---- */

static json_t *json_num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *der_json(const struct der_result *d)
{
	return json_pack("{s:o,s:f,s:f,s:f,s:f}", "der", json_num(d->der), "scored", d->scored,
			 "missed", d->missed, "false_alarm", d->false_alarm, "confusion",
			 d->confusion);
}

static json_t *kw_json(const struct kw_word_score *s)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o}", "ref", (json_int_t)s->ref, "hyp",
			 (json_int_t)s->hyp, "tp", (json_int_t)s->tp, "fp", (json_int_t)s->fp,
			 "fn", (json_int_t)s->fn, "precision", json_num(s->precision), "recall",
			 json_num(s->recall), "f1", json_num(s->f1));
}

static json_t *kw_score_json(const struct kw_score *k)
{
	json_t *words = json_object(), *agn = json_object();
	for (size_t i = 0; i < k->n; i++) {
		json_object_set_new(words, k->words[i].word, kw_json(&k->words[i]));
		json_object_set_new(agn, k->words[i].word, kw_json(&k->agnostic[i]));
	}
	return json_pack("{s:o,s:o,s:o,s:o}", "words", words, "total", kw_json(&k->total),
			 "agnostic_words", agn, "agnostic_total", kw_json(&k->agnostic_total));
}

static json_t *wer_json(const struct wer_result *w)
{
	return json_pack("{s:o,s:I,s:I,s:I,s:I,s:I,s:I}", "wer", json_num(w->wer), "ref_words",
			 (json_int_t)w->ref_words, "hyp_words", (json_int_t)w->hyp_words,
			 "substitutions", (json_int_t)w->sub, "insertions", (json_int_t)w->ins,
			 "deletions", (json_int_t)w->del, "correct", (json_int_t)w->correct);
}

static void der_add(struct der_result *sum, const struct der_result *d)
{
	sum->scored += d->scored;
	sum->missed += d->missed;
	sum->false_alarm += d->false_alarm;
	sum->confusion += d->confusion;
	sum->der = sum->scored > 0
			   ? (sum->missed + sum->false_alarm + sum->confusion) / sum->scored
			   : NAN;
}

/* Set-level keyword scores: per word sums of the recordings' figures. */
static enum parley_err kw_merge(struct kw_score *set, const struct kw_score *k,
				struct parley_error *err)
{
	for (size_t i = 0; i < k->n; i++) {
		size_t j = 0;
		while (j < set->n && strcmp(set->words[j].word, k->words[i].word) != 0)
			j++;
		if (j == set->n) {
			struct kw_word_score *w = realloc(set->words, (j + 1) * sizeof(*w));
			if (w)
				set->words = w;
			struct kw_word_score *a = realloc(set->agnostic, (j + 1) * sizeof(*a));
			if (a)
				set->agnostic = a;
			char *copy = strdup(k->words[i].word);
			if (!w || !a || !copy) {
				free(copy);
				return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
			}
			set->words[j] = (struct kw_word_score){.word = copy};
			set->agnostic[j] = (struct kw_word_score){0};
			set->n++;
		}
		const struct kw_word_score *src[4] = {&k->words[i], &k->agnostic[i], &k->total,
						      &k->agnostic_total};
		struct kw_word_score *dst[4] = {&set->words[j], &set->agnostic[j], NULL, NULL};
		for (int m = 0; m < 2; m++) {
			dst[m]->ref += src[m]->ref;
			dst[m]->hyp += src[m]->hyp;
			dst[m]->tp += src[m]->tp;
			dst[m]->fp += src[m]->fp;
			dst[m]->fn += src[m]->fn;
			kw_word_score_finish(dst[m]);
		}
	}
	struct kw_word_score *t[2] = {&set->total, &set->agnostic_total};
	const struct kw_word_score *s[2] = {&k->total, &k->agnostic_total};
	for (int m = 0; m < 2; m++) {
		t[m]->ref += s[m]->ref;
		t[m]->hyp += s[m]->hyp;
		t[m]->tp += s[m]->tp;
		t[m]->fp += s[m]->fp;
		t[m]->fn += s[m]->fn;
		kw_word_score_finish(t[m]);
	}
	return PARLEY_OK;
}

static void fmt_num(char *out, size_t size, double v, int pct)
{
	if (!isfinite(v))
		snprintf(out, size, "-");
	else if (pct)
		snprintf(out, size, "%.1f%%", 100.0 * v);
	else
		snprintf(out, size, "%.3f", v);
}

static void print_row(const char *name, const char *spk, const struct der_result *c,
		      const struct der_result *n, bool have_wer, double wer, bool have_kw,
		      double f1, double f1_any)
{
	char dc[16], dn[16], mi[16], fa[16], co[16], w[16], k[16], ka[16];
	fmt_num(dc, sizeof(dc), c->der, 1);
	fmt_num(dn, sizeof(dn), n->der, 1);
	double s = c->scored;
	fmt_num(mi, sizeof(mi), s > 0 ? c->missed / s : NAN, 1);
	fmt_num(fa, sizeof(fa), s > 0 ? c->false_alarm / s : NAN, 1);
	fmt_num(co, sizeof(co), s > 0 ? c->confusion / s : NAN, 1);
	fmt_num(w, sizeof(w), have_wer ? wer : NAN, 1);
	fmt_num(k, sizeof(k), have_kw ? f1 : NAN, 0);
	fmt_num(ka, sizeof(ka), have_kw ? f1_any : NAN, 0);
	printf("%-20.20s %-7s %8s %8s %7s %7s %7s %7s %7s %7s\n", name, spk, dc, dn, mi, fa, co, w,
	       k, ka);
}

/* ---- the command ---- */

struct eval_opts {
	const char *ref, *hyp, *json;
	double collar;
};

static int parse_opts(int argc, char **argv, struct eval_opts *o)
{
	static const struct option longopts[] = {
		{"ref", required_argument, NULL, 'r'}, {"hyp", required_argument, NULL, 'y'},
		{"json", required_argument, NULL, 'J'}, {"collar", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0}};
	o->collar = der_default_params().collar;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			o->ref = optarg;
			break;
		case 'y':
			o->hyp = optarg;
			break;
		case 'J':
			o->json = optarg;
			break;
		case 'c': {
			char *end;
			o->collar = strtod(optarg, &end);
			if (end == optarg || *end || !isfinite(o->collar) || o->collar < 0 ||
			    o->collar > 10) {
				fprintf(stderr, "parley eval: --collar wants seconds from 0 to 10, "
						"not '%s'\n", optarg);
				return 2;
			}
			break;
		}
		case 'h':
			fputs(eval_usage, stdout);
			return 0;
		default:
			fputs(eval_usage, stderr);
			return 2;
		}
	}
	if (optind != argc || !o->ref || !o->hyp) {
		fprintf(stderr, "parley eval: %s\n\n", optind != argc ? "unexpected argument"
								  : "--ref and --hyp are required");
		fputs(eval_usage, stderr);
		return 2;
	}
	return -1;
}

int cmd_eval(int argc, char **argv)
{
	struct eval_opts o = {0};
	int status = parse_opts(argc, argv, &o);
	if (status >= 0)
		return status;
	status = 1;
	struct parley_error err = {0};
	char **refs = NULL, **hyps = NULL;
	size_t nrefs = 0, nhyps = 0, nrec = 0;
	struct rttm whole = {0};
	struct rec_eval *recs = NULL;
	struct kw_score set_kw = {0};
	json_t *root = NULL, *jrecs = NULL, *missing_hyp = json_array(), *missing_ref = json_array();
	bool hyp_is_dir = fs_is_dir(o.hyp);
	if (!fs_is_dir(o.ref)) {
		fprintf(stderr, "parley eval: --ref %s is not a folder\n", o.ref);
		status = 2;
		goto out;
	}
	if (list_names(o.ref, ".rttm", &refs, &nrefs, &err))
		goto fail;
	if (hyp_is_dir) {
		char **a = NULL, **b = NULL;
		size_t na = 0, nb = 0;
		if (list_names(o.hyp, NULL, &a, &na, &err) ||
		    list_names(o.hyp, ".rttm", &b, &nb, &err)) {
			free_names(a, na);
			goto fail;
		}
		hyps = realloc(a, (na + nb ? na + nb : 1) * sizeof(*hyps));
		if (!hyps) {
			free_names(a, na);
			free_names(b, nb);
			parley_error_set(&err, PARLEY_ERR_NOMEM, "out of memory");
			goto fail;
		}
		if (nb)
			memcpy(hyps + na, b, nb * sizeof(*b));
		free(b);
		nhyps = na + nb;
		qsort(hyps, nhyps, sizeof(*hyps), cmp_str);
	} else {
		if (rttm_load_file(o.hyp, &whole, &err))
			goto fail;
		hyps = malloc((whole.nfiles ? whole.nfiles : 1) * sizeof(*hyps));
		if (!hyps) {
			parley_error_set(&err, PARLEY_ERR_NOMEM, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < whole.nfiles; i++) {
			if (!(hyps[i] = strdup(whole.files[i]))) {
				parley_error_set(&err, PARLEY_ERR_NOMEM, "out of memory");
				goto fail;
			}
			nhyps++;
		}
		qsort(hyps, nhyps, sizeof(*hyps), cmp_str);
	}
	for (size_t i = 0; i < nhyps; i++)
		if (!name_in(refs, nrefs, hyps[i]) && (i == 0 || strcmp(hyps[i - 1], hyps[i]) != 0))
			json_array_append_new(missing_ref, json_string(hyps[i]));

	recs = calloc(nrefs ? nrefs : 1, sizeof(*recs));
	if (!recs) {
		parley_error_set(&err, PARLEY_ERR_NOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < nrefs; i++) {
		struct side ref = {0}, hyp = {0};
		enum parley_err rc = load_hyp(o.hyp, hyp_is_dir, &whole, refs[i], &hyp, &err);
		if (rc == PARLEY_ERR_NOT_FOUND) {
			json_array_append_new(missing_hyp, json_string(refs[i]));
			side_release(&hyp);
			continue;
		}
		if (!rc)
			rc = load_ref(o.ref, refs[i], &ref, &err);
		if (!rc)
			rc = score_recording(refs[i], &ref, &hyp, hyp_is_dir ? &hyp.rttm : &whole,
					     o.collar, &recs[nrec], &err);
		side_release(&ref);
		side_release(&hyp);
		if (rc)
			goto fail;
		nrec++;
	}

	/* Set totals. */
	struct der_result tc = {0}, tn = {0};
	struct wer_result tw = {0};
	size_t spk_right = 0, nwer = 0, nkw = 0;
	tc.der = tn.der = NAN;
	root = json_object();
	jrecs = json_array();
	printf("%-20s %-7s %8s %8s %7s %7s %7s %7s %7s %7s\n", "recording", "spk", "DER", "DER",
	       "miss", "FA", "conf", "WER", "KW F1", "KW F1");
	char collar_head[32];
	snprintf(collar_head, sizeof(collar_head), "c=%.2f", o.collar);
	printf("%-20s %-7s %8s %8s %7s %7s %7s %7s %7s %7s\n", "", "ref/hyp", collar_head, "none",
	       "", "", "", "", "spk", "any");
	for (size_t i = 0; i < nrec; i++) {
		struct rec_eval *r = &recs[i];
		der_add(&tc, &r->der_collar);
		der_add(&tn, &r->der_none);
		spk_right += r->nref == r->nhyp;
		if (r->have_wer) {
			nwer++;
			tw.ref_words += r->wer.ref_words;
			tw.hyp_words += r->wer.hyp_words;
			tw.sub += r->wer.sub;
			tw.ins += r->wer.ins;
			tw.del += r->wer.del;
			tw.correct += r->wer.correct;
		}
		if (r->have_kw) {
			nkw++;
			if (kw_merge(&set_kw, &r->kw, &err))
				goto fail;
		}
		char spk[32];
		snprintf(spk, sizeof(spk), "%zu/%zu", r->nref, r->nhyp);
		print_row(r->name, spk, &r->der_collar, &r->der_none, r->have_wer, r->wer.wer,
			  r->have_kw, r->kw.total.f1, r->kw.agnostic_total.f1);
		json_t *jr = json_pack("{s:s,s:I,s:I,s:b,s:o,s:{s:o,s:o},s:O,s:o,s:o}", "name", r->name,
				       "ref_speakers", (json_int_t)r->nref, "hyp_speakers",
				       (json_int_t)r->nhyp, "speaker_count_correct",
				       r->nref == r->nhyp, "uem_seconds", json_num(r->uem_seconds),
				       "der", "collar", der_json(&r->der_collar),
				       "none", der_json(&r->der_none), "speaker_mapping", r->mapping,
				       "wer", r->have_wer ? wer_json(&r->wer) : json_null(),
				       "keywords", r->have_kw ? kw_score_json(&r->kw) : json_null());
		json_array_append_new(jrecs, jr);
	}
	tw.wer = tw.ref_words ? (double)(tw.sub + tw.ins + tw.del) / (double)tw.ref_words : NAN;
	char spk[32];
	snprintf(spk, sizeof(spk), "%zu/%zu", spk_right, nrec);
	print_row("ALL (spk: right/n)", spk, &tc, &tn, nwer > 0, tw.wer, nkw > 0, set_kw.total.f1,
		  set_kw.agnostic_total.f1);
	if (nkw > 0) {
		printf("\nkeywords (set)       ref   hyp    TP    FP    FN  P      R      F1     "
		       "F1 any\n");
		for (size_t i = 0; i < set_kw.n; i++) {
			const struct kw_word_score *s = &set_kw.words[i];
			char p[16], r[16], f[16], fa[16];
			fmt_num(p, sizeof(p), s->precision, 0);
			fmt_num(r, sizeof(r), s->recall, 0);
			fmt_num(f, sizeof(f), s->f1, 0);
			fmt_num(fa, sizeof(fa), set_kw.agnostic[i].f1, 0);
			printf("  %-16.16s %5ld %5ld %5ld %5ld %5ld  %-6s %-6s %-6s %-6s\n", s->word,
			       s->ref, s->hyp, s->tp, s->fp, s->fn, p, r, f, fa);
		}
	}
	for (size_t i = 0; i < json_array_size(missing_hyp); i++)
		fprintf(stderr, "parley eval: %s: no hypothesis in %s (not scored)\n",
			json_string_value(json_array_get(missing_hyp, i)), o.hyp);
	for (size_t i = 0; i < json_array_size(missing_ref); i++)
		fprintf(stderr, "parley eval: %s: no reference in %s (not scored)\n",
			json_string_value(json_array_get(missing_ref, i)), o.ref);

	if (o.json) {
		json_t *total = json_pack(
			"{s:I,s:{s:o,s:o},s:I,s:o,s:o,s:o}", "recordings", (json_int_t)nrec, "der",
			"collar", der_json(&tc), "none", der_json(&tn), "speaker_count_correct",
			(json_int_t)spk_right, "speaker_count_accuracy",
			json_num(nrec ? (double)spk_right / (double)nrec : NAN), "wer",
			nwer ? wer_json(&tw) : json_null(), "keywords",
			nkw ? kw_score_json(&set_kw) : json_null());
		json_object_set_new(root, "collar", json_real(o.collar));
		json_object_set_new(root, "recordings", jrecs);
		jrecs = NULL;
		json_object_set_new(root, "total", total);
		json_object_set(root, "missing_hypothesis", missing_hyp);
		json_object_set(root, "missing_reference", missing_ref);
		char *text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
		if (!text) {
			parley_error_set(&err, PARLEY_ERR_NOMEM, "cannot format the JSON report");
			goto fail;
		}
		enum parley_err rc = fs_write_atomic(o.json, text, strlen(text), &err);
		free(text);
		if (rc)
			goto fail;
	}
	status = 0;
	goto out;
fail:
	fprintf(stderr, "parley eval: %s\n", err.msg);
	status = 1;
out:
	for (size_t i = 0; recs && i < nrefs; i++) /* a failed one may be half filled */
		rec_release(&recs[i]);
	free(recs);
	kw_score_release(&set_kw);
	free_names(refs, nrefs);
	free_names(hyps, nhyps);
	rttm_release(&whole);
	json_decref(root);
	json_decref(jrecs);
	json_decref(missing_hyp);
	json_decref(missing_ref);
	return status;
}
