/*
 * fuzz_lexicon.c — libFuzzer target for the lexicon parser (outside input).
 * Parses the bytes; when they parse, exercises every lookup and applies the
 * corrections to the input's own words, so the matcher is fuzzed too.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "text/lexicon.h"

#define FUZZ_TOKENS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lexicon *lex = NULL;
	struct parley_error err = {0};
	if (lexicon_parse((const char *)data, size, "fuzz", &lex, &err) != PARLEY_OK) {
		/* Every failure carries a located message. */
		if (strncmp(err.msg, "fuzz", 4) != 0)
			__builtin_trap();
		return 0;
	}
	for (size_t i = 0; i < lexicon_target_count(lex); i++) {
		const struct lex_target *t = lexicon_target_at(lex, i);
		if (lexicon_find_target(lex, t->word) != t || t->n_prons == 0)
			__builtin_trap();
	}
	/* The background test over the input's size: more heard words never
	 * makes a count that failed pass. */
	for (size_t k = 1; k <= 3; k++)
		if (lexicon_supported(lex, k, k * size, (double)size) &&
		    !lexicon_supported(lex, k, k, (double)size))
			__builtin_trap();
	/* Tokens: the input's bytes cut at blanks, each truncated to fit. */
	struct lex_token toks[FUZZ_TOKENS];
	size_t n = 0, len = 0;
	memset(toks, 0, sizeof(toks));
	for (size_t i = 0; i < size && n < FUZZ_TOKENS; i++) {
		char c = (char)data[i];
		if (c == ' ' || c == '\n' || c == '\t' || c == '\0') {
			if (len) {
				toks[n].start = (double)n;
				toks[n].end = (double)n + 0.5;
				toks[n].conf = 1.0f;
				n++;
			}
			len = 0;
			continue;
		}
		if (len + 1 < LEX_WORD_MAX)
			toks[n].text[len++] = c;
	}
	if (len && n < FUZZ_TOKENS)
		n++;
	for (size_t i = 0; i < n; i++)
		(void)lexicon_correct_word(lex, toks[i].text);
	size_t origin[FUZZ_TOKENS];
	size_t out = lexicon_apply(lex, toks, n, origin);
	if (out > n)
		__builtin_trap();
	for (size_t i = 1; i < out; i++) {
		if (origin[i] <= origin[i - 1])
			__builtin_trap();
	}
	lexicon_free(lex);
	return 0;
}
