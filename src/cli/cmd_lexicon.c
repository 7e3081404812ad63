/*
 * cmd_lexicon.c — `parley lexicon [--check FILE]`: print the built-in
 * Singlish lexicon (a starting point for your own), or check a lexicon file
 * and list its targets and corrections.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "text/lexicon.h"

static const char lexicon_usage[] =
	"usage: parley lexicon            print the built-in Singlish lexicon\n"
	"       parley lexicon --check FILE\n"
	"                                 check FILE; print its targets, thresholds and\n"
	"                                 corrections\n"
	"\n"
	"A lexicon lists target words with pronunciations (CMU phones) and spelling\n"
	"corrections applied to recognised words; version 2 adds counting thresholds\n"
	"(a target heard with lower confidence is kept in the transcript, not counted)\n"
	"the recogniser's keyword LM weight and the acoustic verification of hits\n"
	"(lowest log likelihood ratio per frame against a free phone loop):\n"
	"  target lah   L AA | L AH\n"
	"  correct wah lau => walao\n"
	"  threshold 0.3 lah lor\n"
	"  phrase_final 0.1 lah lor      (counted only where it ends a phrase)\n"
	"  keyword_weight 0.01\n"
	"  verify_min_llr -1.5\n";

int cmd_lexicon(int argc, char **argv)
{
	if (argc == 1) {
		fputs(lexicon_default_text(), stdout);
		return 0;
	}
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(lexicon_usage, stdout);
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "--check") != 0) {
		fputs(lexicon_usage, stderr);
		return 2;
	}
	struct lexicon *lex = NULL;
	struct parley_error err = {0};
	if (lexicon_load_file(argv[2], &lex, &err) != PARLEY_OK) {
		fprintf(stderr, "parley lexicon: %s\n", err.msg);
		return 1;
	}
	printf("%s: %zu targets, %zu corrections\n", argv[2], lexicon_target_count(lex),
	       lexicon_correction_count(lex));
	for (size_t i = 0; i < lexicon_target_count(lex); i++) {
		const struct lex_target *t = lexicon_target_at(lex, i);
		printf("target %-12s", t->word);
		for (size_t k = 0; k < t->n_prons; k++)
			printf("%s%s", k ? " | " : " ", t->prons[k]);
		printf("\n");
	}
	for (size_t i = 0; i < lexicon_target_count(lex); i++) {
		const struct lex_target *t = lexicon_target_at(lex, i);
		if (t->threshold > 0.0)
			printf("threshold %g %s\n", t->threshold, t->word);
		if (t->final_pause >= 0.0)
			printf("phrase_final %g %s\n", t->final_pause, t->word);
	}
	if (lexicon_keyword_weight(lex) > 0.0)
		printf("keyword_weight %g\n", lexicon_keyword_weight(lex));
	double min_llr;
	if (lexicon_verify_min_llr(lex, &min_llr))
		printf("verify_min_llr %g\n", min_llr);
	for (size_t i = 0; i < lexicon_correction_count(lex); i++) {
		const struct lex_correction *c = lexicon_correction_at(lex, i);
		printf("correct");
		for (size_t k = 0; k < c->n_from; k++)
			printf(" %s", c->from[k]);
		printf(" => %s\n", c->to);
	}
	lexicon_free(lex);
	return 0;
}
