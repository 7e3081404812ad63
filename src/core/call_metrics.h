/*
 * call_metrics.h — the figures a call is audited by, computed from speaker
 * turns, words, roles and call events alone (no audio, no store: pure, so
 * unit tests give hand-made turns with known answers).
 *
 *   struct call_metrics_input in = {.duration = 300, .turns = t, .nturns = n, …};
 *   struct call_metrics_params p = call_metrics_default_params();
 *   struct store_call_metric *m; size_t nm;
 *   struct store_call_span *s; size_t ns;
 *   if (call_metrics_compute(&in, &p, &m, &nm, &s, &ns, &err)) fail(err.msg);
 *   … store_call_metrics_put(st, id, m, nm, &err); free(m); free(s);
 *
 * Parties. Every speaker belongs to a party named by its role ("agent",
 * "customer"; speakers sharing a role are one party) or "speaker:N" (N =
 * speaker index + 1, as in speaker-N) when it has none. A party's activity
 * is the union of its speakers' main turns and overlap segments.
 *
 * Definitions (seconds; every figure is a metric row "scope, name, value"
 * with scope "call" or a party):
 *   talk_time        party: time it talks; call: time anyone talks
 *   talk_share       party: its talk_time / the sum of the parties' (0..1)
 *   non_talk_time    call: duration - talk_time (ringing, IVR, hold and silence)
 *   silence          call: a stretch between the first and the last talk
 *                    where nobody talks and no call event (hold, music,
 *                    IVR prompt…) is going on, at least silence_min long.
 *                    Metrics silence_count, silence_time, silence_max; spans
 *                    kind "silence" with who = the party that spoke last
 *                    before it, other = the one that broke it.
 *   overlap          call: stretches where two or more parties talk at once:
 *                    overlap_time, overlap_count, spans kind "overlap" (who,
 *                    other = the parties, in order of starting to talk);
 *                    party: overlap_time (time it talks while another does).
 *   interruption     B interrupts A when B starts talking while A is talking
 *                    (A started first) and A stops within interrupt_yield
 *                    seconds of B's start while B is still talking (B takes
 *                    the floor; a backchannel during which A goes on is
 *                    not one). Span kind "interruption" from B's start to A's
 *                    stop, who = B, other = A. call: interruption_count,
 *                    interruption_time; party: interruptions_made,
 *                    interruptions_received.
 *   turns            party: its turns — runs of its talk; consecutive runs
 *                    are one turn unless another party talked in between
 *                    or the pause between them is a silence (>= silence_min).
 *                    mean_turn = talk_time / turns.
 *   words, wpm       party: recognised words (by speaker) and words per
 *                    minute of its talk time (absent without words).
 *   loudness_lufs    party: EBU R128 integrated loudness of its talk (given
 *                    per speaker; speakers of one party are combined by
 *                    talk time in the power domain); call: of the mix.
 *                    Absent when not measured (NAN).
 *   hold_time, hold_count   call: events of kind "hold" (their union: a
 *                    stereo call may report a hold on each channel).
 *   ivr_time         call: the IVR's span, from the first ivr_prompt or dtmf
 *                    event's start to the last one's end (0 without them).
 *   agent_first_word call: seconds from the start of the recording to the
 *                    agent party's first word (its first talk when there
 *                    are no words); absent without an "agent" party.
 *   duration         call: the recording's duration.
 *
 * Ownership: *metrics and *spans are malloc'd (caller frees; NULL when 0).
 * Errors: PARLEY_ERR_INVALID (arguments), PARLEY_ERR_TOO_LARGE (more than
 * CALL_METRICS_SPEAKERS_MAX speakers), PARLEY_ERR_NOMEM.
 */
#ifndef PARLEY_CORE_CALL_METRICS_H
#define PARLEY_CORE_CALL_METRICS_H

#include <stddef.h>

#include "store/store.h"
#include "store/store_call.h"
#include "util/error.h"

#define CALL_METRICS_SPEAKERS_MAX 64

struct call_metrics_params {
	double silence_min;     /* default 2 s */
	double interrupt_yield; /* default 2 s */
};

struct call_metrics_params call_metrics_default_params(void);

struct call_metrics_input {
	double duration;
	const struct store_segment *turns;    /* main turns (any order) */
	size_t nturns;
	const struct store_segment *overlaps; /* overlap segments (any order) */
	size_t noverlaps;
	const struct store_word *words;       /* recognised words (speaker set) */
	size_t nwords;
	const struct store_speaker_role *roles;
	size_t nroles;
	const struct store_call_event *events;
	size_t nevents;
	const double *loudness; /* per speaker index, LUFS or NAN; NULL = none */
	size_t nloudness;
	double call_loudness;   /* LUFS of the whole mix, or NAN */
};

enum parley_err call_metrics_compute(const struct call_metrics_input *in,
				     const struct call_metrics_params *p,
				     struct store_call_metric **metrics, size_t *nmetrics,
				     struct store_call_span **spans, size_t *nspans,
				     struct parley_error *err);

/* The end of the IVR: the latest end of the events of kinds ringback,
 * busy, congestion, sit, dtmf, ivr_prompt, beep and music (queue music
 * before the agent answers; "hold" is left out, it happens mid-call);
 * 0 when none. */
double call_ivr_end(const struct store_call_event *ev, size_t n);

/* The speaker of the first turn of at least 1 s starting at or after
 * t - 0.5 s (a shorter one is often a tail of the music or prompt before
 * it); else of the first turn starting then; else of the first turn at
 * all; -1 when there are no turns. */
int call_first_speaker_after(const struct store_segment *turns, size_t n, double t);

#endif
