/*
 * pocketsphinx.h — the CMU PocketSphinx (5prealpha, Debian 12) speech-to-text
 * engine behind the asr.h interface (named asr_, not stt_: "stt" is the stage in stages/stt.c).
 *
 *   struct asr_pocketsphinx_params p = asr_pocketsphinx_default_params();
 *   p.lexicon = lex;                       // optional: Singlish targets
 *   struct asr_engine eng;
 *   if (asr_pocketsphinx_open(&p, &eng, &err) != PARLEY_OK)
 *       fprintf(stderr, "%s\n", err.msg);
 *
 * How it decodes (see /work/shared/notes/speech-stack.md for the measurements):
 *   - "-remove_silence no", so word times are right to about 20 ms;
 *   - every transcribe() call is one utterance: ps_start_stream(),
 *     ps_start_utt(), ONE ps_process_raw(..., full_utt=TRUE) with the whole
 *     segment (batch cepstral mean normalisation over the segment, nothing
 *     carried over from earlier calls), ps_end_utt();
 *   - fillers (<s>, </s>, <sil>, [NOISE], anything in the model's noisedict)
 *     are dropped and "word(2)" alternates are reported as "word";
 *   - confidence is the word posterior (ps_seg_prob through logmath_exp).
 *
 * Lexicon targets are made recognisable without ps_add_word() (it crashes
 * the trie LM): at open, the target pronunciations are appended to a
 * temporary copy of the dictionary, and a unigram ARPA LM of the targets is
 * written, read and linearly interpolated with the stock LM
 * (ngram_model_set_init, then ps_set_lm/ps_set_search). Both temporary files
 * are deleted before open returns.
 *
 * THREADS: one engine instance per thread; instances share nothing, so
 * several can decode in parallel. PocketSphinx logging is process-wide: the
 * first open installs a sphinxbase log callback that drops the library's
 * chatter (forwarding it to log_debug() when the parley log level is debug)
 * and keeps the last error message per thread for the parley_error.
 *
 * KEYWORD WEIGHT (measured on 40 Singlish + 20 English sentences x 3
 * Festival voices, the built-in lexicon; tuned on the same set, so
 * optimistic): without targets 1/123 keyword tokens are found; with them
 * recall is 92% at every weight from 0.1 down to 1e-4 and 90% at 1e-5, 89%
 * at 1e-6, while precision rises from 62% (0.1) and 67% (0.01) to 77%
 * (1e-5) and English WER falls from 31.7% (0.1) to 30.0% (1e-5; 27.7%
 * without targets). False alarms are mostly the two-phone particles (lah,
 * lor, leh, sian) standing in for "law", "low", "lay", "may".
 * Word confidence separates them: at weight 1e-5, keeping targets with
 * confidence >= 0.05 gives 96% precision at 57% recall.
 * On generated 2-minute conversations (README, Accuracy) the posteriors of
 * targets at 1e-5 are mostly below 0.05 (the LM term dominates), so no
 * threshold can be set; at 0.01 they separate: on the 8 tuning
 * conversations (any-speaker counts) F1 of the particles 0.75 -> 0.79 and
 * of the long words 0.89 -> 0.93 with thresholds around 0.15-0.3; WER +0.9
 * points over 12 conversations. The built-in lexicon therefore sets
 * "keyword_weight 0.01" with its thresholds; the default here stays 1e-5
 * for lexicons without either.
 *
 * VERIFICATION (engines/ps_verify.h). The keyword LM makes the decoder
 * write targets where English was said ("law" -> lah). With verify on and
 * targets in the lexicon, every segment that holds a target candidate (a
 * target, or words a correction turns into one) is decoded a second time
 * by a free phone loop (PocketSphinx allphone search, context-independent
 * phones: the triphone loop needed 1.8 GB and 10x the CPU). A candidate
 * whose per-frame log likelihood ratio against the loop is below
 * verify_min_llr gets confidence 0 (shown, never counted). Every candidate
 * is logged at debug level ("verify lah 1.20-1.45 s conf .. llr .. base ..
 * kept"; base: the same ratio of the segment's other words,
 * ps_verify_baseline(), measured as a normaliser and not used), which
 * bench/kw_report.py reads. For the two
 * searches' scores to be comparable the decoder scores all senones every
 * frame (-compallsen yes; PocketSphinx normalises each frame by its best
 * computed senone): about +20% decoding CPU, the words are unchanged. The
 * loop adds a few per cent (one CI pass, only on segments with candidates).
 * Measured trade-off and the chosen default: README, Accuracy, and
 * `make bench-keywords`.
 *
 * SPOTTING (a second candidate source). The word hypothesis finds a target
 * only where the language model lets it win; the targets it never writes
 * down are lost before any verification. With spot on and "spot" lines in
 * the lexicon (lexicon.h), every segment is also searched by PocketSphinx's
 * keyphrase spotter (kws search, one keyphrase per dictionary pronunciation
 * of each spotted target, in the same decoder; "-kws_plp 1": its phone loop
 * has no phone penalty, like the verifier's). Overlapping detections keep
 * the best. A detection that overlaps a target candidate of the word
 * hypothesis is a duplicate (that candidate is verified as above). Any
 * other is tested twice, in nats per frame over its frames:
 *   - against the phone loop (the spotter's own ratio), like every
 *     candidate: at least verify_min_llr;
 *   - against the recogniser's hypothesis over the same frames (the
 *     spotter's ratio minus the hypothesis's ratio against the verifier's
 *     phone loop; fillers and silences included): at least the target's
 *     spot_min_llr. The keyphrase must explain the audio better than the
 *     words the recogniser chose there.
 * A spotted word that passes replaces the hypothesis words whose middle
 * lies inside it, with confidence 1 (its tests replace the posterior
 * threshold); the words stage then counts it like any other (phrase-final
 * and recording-level rules). Every detection is logged at debug level
 * ("spot lah 1.20-1.45 s llr <vs hypothesis> loop <vs loop> added|duplicate|
 * rejected"), which bench/kw_report.py reads. Cost: one more pass over each
 * segment (all senones are scored already, -compallsen), and the phone loop
 * now runs on every segment with a detection; measured in README, Accuracy.
 *
 * COST (2-core VM shared with other jobs): init 0.4-0.7 s CPU, peak RSS
 * about 110 MB per instance, real-time factor 0.3-0.4 of one core.
 */
#ifndef PARLEY_ENGINES_POCKETSPHINX_H
#define PARLEY_ENGINES_POCKETSPHINX_H

#include <stdbool.h>

#include "engines/asr.h"
#include "text/lexicon.h"
#include "util/error.h"

#define ASR_POCKETSPHINX_MODEL_DIR "/usr/share/pocketsphinx/model/en-us"
#define ASR_POCKETSPHINX_RATE 16000 /* the only sample rate the model accepts */
#define ASR_POCKETSPHINX_VERIFY_MIN_LLR (-1.0) /* nats per frame; see VERIFICATION */

struct asr_pocketsphinx_params {
	const char *model_dir;          /* default ASR_POCKETSPHINX_MODEL_DIR */
	const char *hmm;                /* acoustic model dir; NULL: <model_dir>/en-us */
	const char *lm;                 /* language model; NULL: <model_dir>/en-us.lm.bin */
	const char *dict;               /* dictionary; NULL: <model_dir>/cmudict-en-us.dict */
	const struct lexicon *lexicon;  /* NULL: none. With verify on it is kept
					   (borrowed): it must outlive the engine */
	double keyword_weight;          /* interpolation weight of the target LM,
					   0 < w < 1; default 1e-5 (see below). The
					   stages take it from the lexicon's
					   "keyword_weight" line when it has one */
	double max_seconds;             /* longest segment transcribe() accepts;
					   default 120 (longer: PARLEY_ERR_TOO_LARGE) */
	int max_hmm_per_frame;          /* search breadth (-maxhmmpf); default 5000.
					   Measured on generated conversations (stt RTF,
					   WER) against the library's 30000 with the flat
					   pass: 0.31 -> 0.17 (15.1% -> 12.5%) and 0.34 ->
					   0.23 (34.2% -> 34.2%). 3000 lost target words */
	bool flat_pass;                 /* second flat-lexicon pass (-fwdflat); default
					   false: it cost ~25% CPU for no WER gain here */
	const char *tmp_dir;            /* temporary files; NULL: $TMPDIR or /tmp */
	bool verify;                    /* verify target hits (below); default true,
					   only active with lexicon targets */
	double verify_min_llr;          /* lowest per-frame log likelihood ratio of a
					   kept hit; default ASR_POCKETSPHINX_VERIFY_MIN_LLR */
	bool spot;                      /* spot the lexicon's "spot" targets (below);
					   default true, only active with such lines */
};

/* The defaults above. */
struct asr_pocketsphinx_params asr_pocketsphinx_default_params(void);

/*
 * Start a decoder. On PARLEY_OK *out is an engine to release with
 * asr_engine_close(). Errors: PARLEY_ERR_NOT_FOUND (a model file or
 * directory is missing), PARLEY_ERR_INVALID (bad params), PARLEY_ERR_IO
 * (temporary files), PARLEY_ERR_ENGINE (PocketSphinx refused; the message
 * quotes its last error), PARLEY_ERR_NOMEM. On failure *out is zeroed.
 */
enum parley_err asr_pocketsphinx_open(const struct asr_pocketsphinx_params *params,
				      struct asr_engine *out, struct parley_error *err);

#endif
