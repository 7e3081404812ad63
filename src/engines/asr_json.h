/*
 * asr_json.h — read what speech-to-text servers and commands answer, into
 * asr_words, whatever the dialect:
 *
 *   - OpenAI verbose_json (and speaches / faster-whisper, vLLM): top-level
 *     "words": [{"word", "start", "end"[, "probability"]}];
 *   - whisper.cpp's server: "segments": [{"start", "end", "text", "words":
 *     [{"word", "start", "end", "probability"}]}] where a "word" is a token
 *     — sub-word pieces without a leading space are joined to the word
 *     before them, special tokens ("[_BEG_]", "<|en|>") dropped — or
 *     "tokens": [{"text", "t0", "t1", "p"}] (centiseconds), as whisper-cli -ojf;
 *   - segments without word times: each segment's text spread over its
 *     time by character count, every word marked approximate; a bare
 *     {"text": …} is spread over the whole piece;
 *   - "language" as a name ("english") or a code ("en") -> "en".
 *
 * Words are lower-cased (ASCII), stripped of punctuation at either end and
 * kept in time order; times are piece-relative seconds, clamped to
 * [0, duration] and shifted by offset. Confidence is "probability"/"p" when
 * in 0..1, else 1.
 */
#ifndef PARLEY_ENGINES_ASR_JSON_H
#define PARLEY_ENGINES_ASR_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "engines/asr.h"
#include "util/error.h"

#define ASR_JSON_MAX_WORDS 100000

/* Parse body[len]. On PARLEY_OK *words (malloc'd or NULL) holds *nwords words
 * and language[16] the normalised language ("" when absent). Errors:
 * PARLEY_ERR_ENGINE (not JSON, or no words/segments/text: a malformed
 * answer, worth asking again), PARLEY_ERR_TOO_LARGE, PARLEY_ERR_NOMEM. */
enum parley_err asr_json_parse(const char *body, size_t len, double offset, double duration,
			       struct asr_word **words, size_t *nwords, char language[16],
			       struct parley_error *err);
/* The same, and *language_prob the probability the server gave the
 * language it detected: whisper.cpp's "detected_language_probability",
 * faster-whisper's "language_probability" (0..1), or -1 when it gave none. */
enum parley_err asr_json_parse_full(const char *body, size_t len, double offset, double duration,
				    struct asr_word **words, size_t *nwords, char language[16],
				    double *language_prob, struct parley_error *err);

/* "english" / "English" / "en" / "eng" -> "en" into out[16]; unknown names are
 * lower-cased and kept (cut to 15 bytes). */
void asr_language_code(const char *name, char out[16]);

/* A 16-bit mono WAV file of samples[n] at rate, in memory (*out malloc'd,
 * *len bytes), for engines that take a file. */
enum parley_err asr_wav_encode(const int16_t *samples, size_t n, int rate, char **out,
			       size_t *len, struct parley_error *err);

#endif
