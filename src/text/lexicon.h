/*
 * lexicon.h — the words parley listens for ("targets", with pronunciations
 * for the recogniser) and the spelling corrections applied to recognised
 * words, parsed from a small text file.
 *
 *   struct lexicon *lex = NULL;
 *   struct parley_error err = {0};
 *   if (lexicon_load_file("data/lexicon/singlish.lex", &lex, &err) != PARLEY_OK)
 *       fprintf(stderr, "%s\n", err.msg);   // "singlish.lex:12: unknown phone 'AX' ..."
 *   size_t n = lexicon_apply(lex, toks, ntoks, NULL);   // "wah" "lau" -> "walao"
 *   lexicon_free(lex);
 *
 * FILE FORMAT (version 2; plain ASCII, one entry per line; every version 1
 * file is a valid version 2 file and means the same)
 *
 *   # parley lexicon v2
 *   target lah     L AA | L AH             # a word and its pronunciations
 *   target shiok   SH IY AO K | SH Y AO K
 *   correct la         => lah              # one word -> one word
 *   correct wah lau    => walao            # a phrase of 2..4 words -> one word
 *   threshold 0.3 lah                      # v2: count lah only at confidence >= 0.3
 *   keyword_weight 0.01                    # v2: the recogniser's keyword LM weight
 *   verify_min_llr -1.5                    # v2: acoustic verification of hits
 *   background 30 0.05 2 0.2               # v2: a recording must show targets
 *   spot 2.5 walao kiasu                   # v2: also spot these words by keyphrase search
 *
 *   - '#' starts a comment that runs to the end of the line; blank lines are
 *     ignored; fields are separated by spaces or tabs; CRLF line ends are
 *     accepted. Any other control byte, a NUL byte or a non-ASCII byte is an
 *     error.
 *   - A word is 1..LEX_WORD_MAX-1 bytes of a-z, A-Z, 0-9, apostrophe and
 *     hyphen, starting with a letter or digit. Words are matched
 *     case-insensitively and stored lower-case.
 *   - "target WORD PRON [| PRON]..." declares one word with 1..LEX_PRONS_MAX
 *     pronunciations. A pronunciation is 1..LEX_PHONES_MAX phones of the
 *     CMU en-us set, written upper-case without stress digits:
 *       AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG
 *       OW OY P R S SH T TH UH UW V W Y Z ZH
 *     A word may be declared once (alternatives go on the same line after
 *     '|'); a repeated pronunciation on one line is an error.
 *   - "correct FROM... => TO" rewrites the recognised word sequence FROM
 *     (1..LEX_PHRASE_MAX words) into the single word TO. A FROM sequence may
 *     be declared once; FROM may not be the single word TO; a single-word
 *     FROM may not be a target (that would rewrite a word parley listens
 *     for). Corrections are applied in one left-to-right pass, longest
 *     phrase first, and never chain (the output of one rule is not matched
 *     again).
 *   - "threshold VALUE WORD..." (v2) sets the counting threshold of each
 *     WORD, which must be a target (declared anywhere in the file) and may
 *     get a threshold once. VALUE is a plain decimal from 0 to 1 ("0.25",
 *     "1e-2"; no sign). A target said with a recogniser confidence (word
 *     posterior) below its threshold stays in the transcript but is not
 *     counted (lexicon_counts()); targets without a threshold line use 0,
 *     i.e. every occurrence counts, as in v1. A word with confidence 0 (the
 *     recogniser's verifier rejected it) is never counted.
 *   - "phrase_final PAUSE WORD..." (v2) counts each WORD (a target, once)
 *     only where it ends a phrase: followed by at least PAUSE seconds
 *     (0..LEXICON_PAUSE_MAX) before the same speaker's next word, or by
 *     another speaker, or by nothing. For discourse particles, which close a
 *     clause ("ok lah, we go"), while their English homophones sit inside
 *     one ("the law of ..."). Such a word elsewhere stays in the transcript,
 *     not counted.
 *   - "keyword_weight VALUE" (v2, at most once) is the interpolation weight
 *     of the target-word language model in the recogniser, 0 < VALUE < 1
 *     (see src/engines/pocketsphinx.h); without it the engine's default.
 *   - "verify_min_llr VALUE" (v2, at most once) is the lowest per-frame log
 *     likelihood ratio (nats) of a target hit against a free phone loop that
 *     the recogniser keeps (src/engines/ps_verify.h); a plain decimal with an
 *     optional leading '-', |VALUE| <= LEXICON_VERIFY_LLR_MAX. Without it the
 *     engine's default. A hit that fails gets confidence 0.
 *   - "spot MIN_LLR WORD..." (v2) makes the recogniser also look for each
 *     WORD (a target, once) with a keyphrase search, a second candidate
 *     source beside its word hypothesis (src/engines/pocketsphinx.h,
 *     SPOTTING): a spotted occurrence the word hypothesis missed is added
 *     when it passes verify_min_llr against the phone loop and explains its
 *     frames better than the hypothesis's words there by at least MIN_LLR
 *     nats per frame (a plain decimal with an optional '-', |MIN_LLR| <=
 *     LEXICON_VERIFY_LLR_MAX). Without the line a word is only found by the
 *     word hypothesis (the built-in lexicon has none: README, Accuracy).
 *   - "background RATE ALPHA MIN [PASS]" (v2, at most once): the
 *     recording-level evidence test (lexicon_supported()). RATE is the
 *     counter's false alarms per hour on speech in which nobody says a
 *     target (0 < RATE <= LEXICON_BACKGROUND_MAX), ALPHA a significance
 *     (0 < ALPHA < 1), MIN a whole number 1..LEXICON_SUPPORT_MAX. A
 *     recording's targets are counted only when there are at least MIN of
 *     them (each passing every test above) and so many that RATE alone
 *     would give as many with probability at most ALPHA (Poisson, mean RATE
 *     x the recording's hours). PASS (optional, 0 < PASS < 1) is the
 *     fraction of target candidates (every target word of the transcript,
 *     counted or not: rejected by the verifier, below its threshold, inside
 *     a phrase) that passes every test above on speech without targets;
 *     with it the countable targets must also be more than that fraction of
 *     the recording's candidates explains (Binomial(candidates, PASS) at
 *     least as many with probability at most ALPHA): a recording in which
 *     the recogniser writes many targets and few survive is one where it
 *     pushes targets onto English, and the few are what that gives. The
 *     PASS test applies only to recordings recognised on their original
 *     audio, not denoised (it was measured on clean English only).
 *     Otherwise they stay in the transcript, none counted: a target or two
 *     in a long English recording is what the recogniser's homophones give,
 *     not Singlish. Without the line every target counts.
 *
 * LIMITS: LEXICON_MAX_BYTES bytes of text, LEXICON_LINE_MAX bytes per line,
 * LEXICON_MAX_ENTRIES target + correct lines + threshold words, and the
 * LEX_* sizes below. Exceeding any of them is PARLEY_ERR_TOO_LARGE; malformed input is
 * PARLEY_ERR_INVALID. Every message starts "source:line: " and says what is
 * wrong ("singlish.lex:12: phone 'AH0' has a stress digit; write 'AH'").
 * Errors are reported for the first bad line; repeated entries, corrected
 * targets, repeated thresholds and thresholds of non-targets are found after
 * the whole text is read (earliest line first).
 *
 * A parsed lexicon is immutable: any number of threads may read one
 * concurrently. Parsing keeps no global state.
 */
#ifndef PARLEY_TEXT_LEXICON_H
#define PARLEY_TEXT_LEXICON_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define LEX_WORD_MAX 48        /* bytes per word, including the NUL */
#define LEX_PRONS_MAX 8        /* pronunciations per target */
#define LEX_PHONES_MAX 32      /* phones per pronunciation */
#define LEX_PRON_MAX 96        /* "SH IY AO K": 32 phones * 3 bytes, NUL-terminated */
#define LEX_PHRASE_MAX 4       /* words in a correction's FROM phrase */
#define LEXICON_LINE_MAX 512   /* bytes per line, without the line end */
#define LEXICON_MAX_ENTRIES 2048
#define LEXICON_MAX_BYTES (1024 * 1024)
#define LEXICON_VERIFY_LLR_MAX 50.0 /* |verify_min_llr| */
#define LEXICON_PAUSE_MAX 10.0      /* phrase_final pause, seconds */
#define LEXICON_BACKGROUND_MAX 10000.0 /* background false alarms per hour */
#define LEXICON_SUPPORT_MAX 1000    /* background MIN */

/* Phrase corrections only merge tokens of one speaker whose gap (next start
 * minus previous end) is at most this many seconds. */
#define LEXICON_MERGE_MAX_GAP 1.0

struct lexicon;

struct lex_target {
	char word[LEX_WORD_MAX];                 /* lower-case */
	size_t n_prons;                          /* 1..LEX_PRONS_MAX */
	char prons[LEX_PRONS_MAX][LEX_PRON_MAX]; /* "SH IY AO K": single spaces */
	unsigned line;                           /* line in the source text */
	double threshold;                        /* 0..1: lowest confidence that is
						    counted (0 = all; "threshold" lines) */
	double final_pause;                      /* counted only when followed by this
						    many seconds of pause (or another
						    speaker, or nothing); < 0 = anywhere
						    ("phrase_final" lines) */
	bool spot;                               /* "spot" line: the recogniser also
						    spots this word by keyphrase search */
	double spot_min_llr;                     /* its lowest spotting ratio (nats per
						    frame); meaningful when spot */
};

struct lex_correction {
	size_t n_from;                           /* 1..LEX_PHRASE_MAX */
	char from[LEX_PHRASE_MAX][LEX_WORD_MAX]; /* lower-case */
	char to[LEX_WORD_MAX];                   /* lower-case */
	unsigned line;
};

/* One recognised word with its timing, as lexicon_apply() rewrites it. */
struct lex_token {
	char text[LEX_WORD_MAX]; /* NUL-terminated */
	double start, end;       /* seconds */
	float conf;              /* 0..1 */
	int speaker;             /* tokens of different speakers never merge */
};

/*
 * Parse `len` bytes of lexicon text (need not be NUL-terminated).
 * `source_name` names the text in error messages ("singlish.lex"; NULL
 * gives "lexicon"). On success *out is a new lexicon the caller frees with
 * lexicon_free(); on failure *out is NULL and *err says file:line and what is
 * wrong. Returns PARLEY_OK, PARLEY_ERR_INVALID, PARLEY_ERR_TOO_LARGE or
 * PARLEY_ERR_NOMEM.
 */
enum parley_err lexicon_parse(const char *text, size_t len, const char *source_name,
			      struct lexicon **out, struct parley_error *err);

/* Read and parse a file (messages name the path). Adds PARLEY_ERR_IO. */
enum parley_err lexicon_load_file(const char *path, struct lexicon **out,
				  struct parley_error *err);

/* Parse the built-in Singlish lexicon, lexicon_default_text(). */
enum parley_err lexicon_default(struct lexicon **out, struct parley_error *err);

/* The built-in Singlish lexicon text (identical to data/lexicon/singlish.lex). */
const char *lexicon_default_text(void);

/* Free a lexicon. Accepts NULL. */
void lexicon_free(struct lexicon *lex);

/* Targets in alphabetical order, one array: lexicon_target_at(lex, i) ==
 * lexicon_target_at(lex, 0) + i for i < lexicon_target_count(). NULL lex: 0
 * targets; an index out of range: NULL. */
size_t lexicon_target_count(const struct lexicon *lex);
const struct lex_target *lexicon_target_at(const struct lexicon *lex, size_t i);

/* The "keyword_weight" of the text, or 0 when it sets none (the recogniser
 * then uses its own default). 0 < weight < 1 otherwise. NULL lex: 0. */
double lexicon_keyword_weight(const struct lexicon *lex);

/* Is `word` (any case) a target said with confidence `conf` above 0 and at
 * or above its threshold, and — when it has a "phrase_final" pause — followed
 * by at least that pause (pause_after from lexicon_pause_after(); INFINITY
 * when nothing of that speaker follows), i.e. one occurrence to count? False
 * for non-targets and NULL lex/word. */
bool lexicon_counts(const struct lexicon *lex, const char *word, float conf, double pause_after);

/* The pause after a word that ends at `end`, said by `speaker`, in a
 * transcript in time order: next_start - end when the next word (starting at
 * next_start, said by next_speaker) is the same speaker's; INFINITY when it
 * is another speaker's. Pass next_speaker -1 when no word follows. */
double lexicon_pause_after(double end, int speaker, double next_start, int next_speaker);

/* The "background" test: are n countable target occurrences (each passing
 * lexicon_counts()) among `candidates` target words of the transcript
 * (counted or not; n when smaller) in a recording of `seconds` evidence
 * enough to count them? Always true when the lexicon has no "background"
 * line (and for NULL lex); false for n == 0. original_audio false (the
 * recogniser heard denoised audio) skips the PASS test: the share was
 * measured on clean real English only, and no noisy English without targets
 * is at hand to measure it on denoised audio (where the recogniser writes
 * many more targets that fail, README Accuracy). */
bool lexicon_supported(const struct lexicon *lex, size_t n, size_t candidates, double seconds,
		       bool original_audio);

/* The "verify_min_llr" of the text: true and *out set when it has one. */
bool lexicon_verify_min_llr(const struct lexicon *lex, double *out);

/* Corrections ordered by first word, longer phrases first. */
size_t lexicon_correction_count(const struct lexicon *lex);
const struct lex_correction *lexicon_correction_at(const struct lexicon *lex, size_t i);

/* The target spelled `word` (any case), or NULL. NULL lex/word: NULL. */
const struct lex_target *lexicon_find_target(const struct lexicon *lex, const char *word);
bool lexicon_is_target(const struct lexicon *lex, const char *word);

/* The replacement of the single-word correction for `word` (any case), or
 * NULL when there is none. Phrase rules are not consulted. */
const char *lexicon_correct_word(const struct lexicon *lex, const char *word);

/*
 * Apply the corrections to toks[0..n) in place and return the new count
 * (<= n). Every output token is lower-cased. A phrase match merges its
 * tokens into one: start of the first, end of the last, the lowest conf,
 * the common speaker. If `origin` is non-NULL (room for n entries),
 * origin[k] receives the index of the first input token of output token k,
 * so output k covers inputs origin[k] .. origin[k+1]-1 (the last covers up
 * to n-1). A NULL lex only lower-cases. Never fails; reads lex only.
 */
size_t lexicon_apply(const struct lexicon *lex, struct lex_token *toks, size_t n,
		     size_t *origin);

#endif
