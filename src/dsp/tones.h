/*
 * tones.h — call-progress tones (ringback, busy, congestion) by country
 * table, special information tones (SIT) and answering-machine beeps.
 *
 *   struct tone_params p = tone_default_params();
 *   p.countries = "uk,eu";            // NULL or "auto": every country of the table
 *   struct tone_event *ev; size_t n;
 *   if (tones_detect(&pcm, &p, &ev, &n, &err) == PARLEY_OK) { ... free(ev); }
 *
 * The table (tone_table[], tones.c) holds per country and kind the
 * frequencies, the amplitude modulation ("425x24 Hz") and the cadence (on,
 * off, on, off ... seconds), from ITU-T E.180 Supplement 2 and the national
 * specifications: us, uk, eu (CEPT), sg, my, in. A country is a row block;
 * adding one is adding rows.
 *
 * How:
 *  1. Frames of 64 ms every 10 ms (FFT). A frame is tonal when the +-3 bins
 *     around its (at most 3) strongest peaks in 150-3600 Hz hold >=
 *     min_purity of the band's energy and it is louder than min_level_dbfs.
 *  2. Runs of tonal frames with the same significant peaks (those within
 *     10 dB of the strongest; each near one of the other frame's,
 *     +-max(40 Hz, 3%): AM tones show moving side peaks) are segments;
 *     their edges are the first and last frames within 3.5 dB of the
 *     run's median level (the tone's edges, +-10 ms).
 *  3. Each segment's frequencies are measured over its samples (Hann
 *     Goertzel, a few Hz resolution) against each frequency set of the table
 *     (carriers searched +-max(8 Hz, 2%), AM sidebands at carrier +- mod): a
 *     set matches when its components carry >= set_purity of the energy and
 *     each its expected share (so 425 Hz plain and 425x24 Hz differ).
 *     Segments of one set less than 0.15 s apart are joined (shorter than
 *     any off-part; a 24 Hz AM tone may break up).
 *  4. Consecutive segments of one set, gaps <= train_gap, form a train; it is
 *     the kind/country whose cadence matches every on and off part within
 *     max(tol_abs, tol_rel x expected) at some phase (the last on-part may be
 *     cut short by the answer). A train needs >= 2 on-parts, or 1 for a
 *     cadence with one long on-part (us, eu ringback) heard in full. Several
 *     countries with the same tone: the first of `countries` (table order
 *     for auto) is reported.
 *  5. SIT: three segments ~950/1400/1800 Hz (ITU) or 914-985/1371-1429/1777
 *     Hz (ANSI), 0.2-0.45 s each, back to back; repeats within 2 s merge.
 *  6. Beep: a segment left over with one stable frequency (300-3000 Hz,
 *     +-max(10 Hz, 1%) across its frames, >= beep_purity of the energy),
 *     beep_min..beep_max long, with no other segment of that frequency
 *     within 3 s (an unknown cadence is not a beep), and the 0.3 s before
 *     and after it 6 dB quieter than it (a held note in music is not).
 * Speech and music fail step 1 or 3 (energy spread over many harmonics,
 * moving pitch) or the cadence; see tests/unit/test_tones.c (talk-off on
 * real speech when ../shared/data is present).
 * PARLEY_TONES_DEBUG=1 prints every segment (times, frequency, set) on
 * stderr. Any rate >= 8000 Hz; pure C + libm, no shared state.
 */
#ifndef PARLEY_DSP_TONES_H
#define PARLEY_DSP_TONES_H

#include <stddef.h>

#include "audio/pcm.h"
#include "util/error.h"

#define TONE_KIND_MAX 16
#define TONE_COUNTRY_MAX 8
#define TONE_CADENCE_MAX 6

struct tone_spec {
	const char *country;    /* "us", "uk", "eu", "sg", "my", "in" */
	const char *kind;       /* "ringback", "busy", "congestion" */
	double freq[2];         /* Hz; freq[1] 0 = one frequency */
	double mod;             /* AM frequency, Hz; 0 = none */
	double cadence[TONE_CADENCE_MAX]; /* on, off, ... seconds */
	int ncad;               /* entries used (even) */
};

extern const struct tone_spec tone_table[];
extern const size_t tone_table_count;

struct tone_params {
	const char *countries;  /* comma list of table countries; NULL/"auto" = all */
	double min_level_dbfs;  /* frame RMS at least (-45) */
	double min_purity;      /* frame energy near its peaks (0.85) */
	double set_purity;      /* segment energy in a table set's components (0.75) */
	double tol_abs;         /* cadence tolerance, s (0.08) */
	double tol_rel;         /* ... or this fraction of the expected part (0.15) */
	double train_gap;       /* longest off-part inside a train, s (5.0) */
	double beep_min, beep_max; /* beep length, s (0.15, 2.5) */
	double beep_purity;     /* beep energy at its one frequency (0.9) */
};

struct tone_event {
	char kind[TONE_KIND_MAX];       /* ringback, busy, congestion, sit, beep */
	char country[TONE_COUNTRY_MAX]; /* "" for sit and beep */
	double start, end;              /* seconds */
	double freq;                    /* Hz: the (first) tone's frequency */
	int parts;                      /* on-parts (tones) in the event */
};

struct tone_params tone_default_params(void);

/* Does the table know this country? */
int tone_country_known(const char *country);

/* Events in time order into *out (malloc'd; caller frees; NULL, 0 when
 * none). INVALID (NULL arguments, rate below 8000, a country the table does
 * not know), NOMEM. */
enum parley_err tones_detect(const struct pcm *pcm, const struct tone_params *p,
			     struct tone_event **out, size_t *n, struct parley_error *err);

#endif
