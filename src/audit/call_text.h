/*
 * call_text.h — what an audit reads of a call (issue 14): the recording's
 * final words in time order, each with its speaker and role, without the
 * words heard inside the call's non-talk spans (IVR prompts, queue and hold
 * music, tones: stages/call_spans.h), and the conversation's bounds for
 * time windows. The phrase matcher (audit/phrase.h), the questionnaire's
 * answerers and the rules' phrase tests all read this one view, and the LLM
 * gets it as call_text_format()'s lines.
 *
 *   struct call_text t;
 *   if (call_text_load(st, rec, &t, &err)) fail(err.msg);
 *   double from, to;
 *   call_window_bounds(&t, &(struct call_window){CALL_WINDOW_FIRST, 30, false}, &from, &to);
 *   … t.words[i].text, .role, .start …
 *   call_text_release(&t);
 *
 * Every word carries its phrase_norm() forms (norm, stem: audit/phrase.h),
 * computed once here, so phrase tests over many questions do not redo them.
 *
 * Roles: a speaker's role from the diarize stage (store_speaker_roles:
 * "agent", "customer", …), else "speaker:N" (N = speaker index + 1), the
 * party names of core/call_metrics.h; a word of no speaker (-1) has role
 * "unknown".
 *
 * The conversation: from the end of the IVR (core/call_metrics.h
 * call_ivr_end(): ringback, prompts, DTMF, queue music; 0 when the ivr
 * stage did not run) to the recording's stored duration (the last word's end when
 * the duration is unknown). Time windows count from its start ("first 30
 * seconds" = the first 30 s after the IVR) or back from its end; a
 * percentage is of its length.
 */
#ifndef PARLEY_AUDIT_CALL_TEXT_H
#define PARLEY_AUDIT_CALL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_call.h"
#include "util/error.h"

#define CALL_TEXT_LINE_PAUSE 2.0 /* s: a pause this long starts a new transcript line */
#define CALL_TEXT_WORDS_MAX 200000 /* words of one call (about 20 hours of talk) */

struct call_word {
	double start, end;
	float confidence;
	int speaker;                     /* -1 = none */
	char role[STORE_CALL_NAME_MAX];  /* "agent", "customer", "speaker:2", "unknown" */
	char text[STORE_WORD_MAX];       /* as recognised (and corrected by stage words) */
	char norm[STORE_WORD_MAX];       /* phrase_norm(text) without stemming (audit/phrase.h) */
	char stem[STORE_WORD_MAX];       /* phrase_norm(text) stemmed */
};

struct call_text {
	struct call_word *words; /* time order; malloc'd */
	size_t n;
	double talk_start;       /* the conversation: [talk_start, talk_end] */
	double talk_end;
};

/* Which part of the conversation a question or phrase test looks at. */
enum call_window_kind {
	CALL_WINDOW_CALL = 0, /* the whole conversation */
	CALL_WINDOW_FIRST,    /* the first `amount` seconds (or percent) */
	CALL_WINDOW_LAST,     /* the last `amount` seconds (or percent) */
};
struct call_window {
	enum call_window_kind kind;
	double amount;  /* seconds, or percent (0..100] when percent */
	bool percent;
};

/* The window's [*from, *to] in recording seconds, inside the conversation. */
void call_window_bounds(const struct call_text *t, const struct call_window *w, double *from,
			double *to);
/* Does a word lie in [from, to]? (its middle does) */
bool call_word_in(const struct call_word *w, double from, double to);
/* "whole call", "first 30 s", "last 10%": for evidence and prompts. */
void call_window_describe(const struct call_window *w, char *out, size_t size);

/* Build from parts (pure: tests give hand-made words). words need not be
 * sorted; a word whose middle lies inside a span [start, end) of nontalk
 * is dropped; roles map speakers to roles (NULL = none); ivr_end and
 * duration as in the top comment. TOO_LARGE above CALL_TEXT_WORDS_MAX,
 * NOMEM. */
struct call_span;
enum parley_err call_text_build(const struct store_word *words, size_t nwords,
				const struct store_speaker_role *roles, size_t nroles,
				const struct call_span *nontalk, size_t nnontalk, double ivr_end,
				double duration, struct call_text *out, struct parley_error *err);

/* Load a recording's: the "words" table (stage words; the recogniser's
 * "stt_words" when words did not run), speaker_roles, the non-talk spans
 * (stages/call_spans.h) and call events for the IVR's end. Store errors,
 * NOMEM, TOO_LARGE. */
enum parley_err call_text_load(struct store *st, const struct store_recording *rec,
			       struct call_text *out, struct parley_error *err);

void call_text_release(struct call_text *t); /* accepts zeroed */

/* The transcript as the LLM sees it: one line per run of one speaker's
 * words inside [from, to] and of role (NULL or "" = any), a pause of
 * CALL_TEXT_LINE_PAUSE seconds or more starting a new line,
 *   "[12.3-15.8] agent: thank you for calling"
 * at most max_bytes (the text is cut at a line boundary and ends with
 * "[… transcript cut]" when longer). *out malloc'd. NOMEM. */
enum parley_err call_text_format(const struct call_text *t, double from, double to,
				 const char *role, size_t max_bytes, char **out,
				 struct parley_error *err);

/* Does role (a word's) satisfy want (NULL, "", "any" = every role)? */
bool call_role_matches(const char *want, const char *role);

#endif
