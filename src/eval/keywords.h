/*
 * keywords.h — target-word counts per speaker and their precision, recall
 * and F1 against a reference.
 *
 *   struct kw_counts ref = {0}, hyp = {0};
 *   kw_counts_parse_csv(csv, "conv.counts.csv", &ref, &err);   // speaker,word,count
 *   kw_counts_add(&hyp, "speaker-1", "lah", 3, &err);
 *   const char *map[] = {"spk1"};                              // hyp speaker i -> ref name
 *   const char *hyp_names[] = {"speaker-1"};
 *   struct kw_score s;
 *   kw_score(&ref, &hyp, hyp_names, map, 1, &s, &err);
 *   ... s.words[i].tp, s.total.f1, s.agnostic_total.f1 ...
 *   kw_score_release(&s); kw_counts_release(&ref); kw_counts_release(&hyp);
 *
 * Per word, speaker-aware: TP = sum over reference speakers r of
 * min(ref[r], hyp[h]) where h is the hypothesis speaker mapped to r; FP = hyp
 * total - TP; FN = ref total - TP (counts of unmapped hypothesis speakers are
 * all false positives). Speaker-agnostic: TP = min(ref total, hyp total).
 * precision = TP/(TP+FP), recall = TP/(TP+FN), F1 = 2TP/(2TP+FP+FN); each is
 * NaN when its denominator is 0. Thread-safe; no global state.
 */
#ifndef PARLEY_EVAL_KEYWORDS_H
#define PARLEY_EVAL_KEYWORDS_H

#include <stddef.h>

#include "util/error.h"

#define KW_MAX_ENTRIES 100000u
#define KW_MAX_NAME 255

struct kw_count {
	char *speaker; /* owned */
	char *word;    /* owned */
	long count;
};

struct kw_counts {
	struct kw_count *v;
	size_t n, cap;
};

/* Add count to (speaker, word), creating the entry. count >= 0. */
enum parley_err kw_counts_add(struct kw_counts *c, const char *speaker, const char *word,
			      long count, struct parley_error *err);

/* Parse "speaker,word,count" CSV (header line required) into c; errors name
 * "<name>:<line>: what is wrong". */
enum parley_err kw_counts_parse_csv(const char *data, const char *name, struct kw_counts *c,
				    struct parley_error *err);

void kw_counts_release(struct kw_counts *c);

struct kw_word_score {
	char *word; /* owned; NULL in totals */
	long ref, hyp, tp, fp, fn;
	double precision, recall, f1;
};

struct kw_score {
	struct kw_word_score *words;    /* speaker-aware, sorted by word */
	struct kw_word_score *agnostic; /* same words, speaker-agnostic */
	size_t n;
	struct kw_word_score total, agnostic_total; /* micro sums over words */
};

/*
 * Score hyp against ref. hyp_names[i] is a hypothesis speaker and map[i] the
 * reference speaker it is mapped to (NULL: unmapped), for i < nmap; a
 * hypothesis speaker not listed is unmapped. Words with zero counts on both
 * sides are left out.
 */
enum parley_err kw_score(const struct kw_counts *ref, const struct kw_counts *hyp,
			 const char *const *hyp_names, const char *const *map, size_t nmap,
			 struct kw_score *out, struct parley_error *err);

/* Fill precision, recall and f1 from ref, hyp, tp, fp, fn. */
void kw_word_score_finish(struct kw_word_score *s);

void kw_score_release(struct kw_score *s);

#endif
