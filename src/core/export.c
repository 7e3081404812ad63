/* export.c — see export.h. */
#include "core/export.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/pipeline.h"
#include "store/store_audit.h"
#include "store/store_call.h"
#include "util/fs.h"
#include "util/strbuf.h"

#define EXPORT_MAX_BYTES ((size_t)512 << 20)
#define CUE_MAX_WORDS 12
#define CUE_MAX_SECONDS 7.0

/* Everything export needs about one recording, read from the store. */
struct export_data {
	struct store_segment *turns;
	size_t nturns;
	struct store_segment *overlaps; /* overlapped speech (run --overlap); no words */
	size_t noverlaps;
	struct store_word *words;
	size_t nwords;
	struct store_speaker *speakers;
	size_t nspeakers;
	struct store_count *counts;
	size_t ncounts;
	struct store_speaker_role *roles; /* call roles (diarize stage); often none */
	size_t nroles;
	char *metadata; /* the recording's metadata object text ("{}" = none) */
	json_t *warnings; /* [{"stage", "message"}]: processed anyway, but ... */
	/* Which turn each word belongs to (SIZE_MAX: none): the turn of its
	 * speaker holding its middle. Turns of different speakers may overlap
	 * (a call diarized by channel), so a turn's words are those, not simply
	 * the words in its time span. tw_lo[t]..tw_hi[t]: where to look. */
	size_t *word_turn, *tw_lo, *tw_hi;
	bool transcribed; /* the "words" stage is done (else words and counts are empty
			     because no recogniser ran, not because nothing was said) */
	char done[64][STORE_STAGE_NAME_MAX]; /* the stages done for the recording */
	size_t ndone;
};

static void export_data_release(struct export_data *d)
{
	free(d->turns);
	free(d->overlaps);
	free(d->words);
	free(d->speakers);
	free(d->counts);
	free(d->roles);
	free(d->metadata);
	json_decref(d->warnings);
	free(d->word_turn);
	free(d->tw_lo);
	free(d->tw_hi);
	memset(d, 0, sizeof(*d));
}

static void note_done_stage(const char *stage, enum store_status status, void *ud)
{
	struct export_data *d = ud;
	if (status != STORE_DONE)
		return;
	if (strcmp(stage, "words") == 0)
		d->transcribed = true;
	if (d->ndone < sizeof(d->done) / sizeof(d->done[0]))
		snprintf(d->done[d->ndone++], sizeof(d->done[0]), "%s", stage);
}

static bool stage_done(const struct export_data *d, const char *stage)
{
	for (size_t i = 0; i < d->ndone; i++)
		if (strcmp(d->done[i], stage) == 0)
			return true;
	return false;
}

#define WORD_MAX_SECONDS 30.0 /* no word is longer: where a turn's words may start */

/* Fill word_turn, tw_lo, tw_hi (words are in time order). */
static enum parley_err assign_words(struct export_data *d, struct parley_error *err)
{
	d->word_turn = malloc((d->nwords + 1) * sizeof(size_t));
	d->tw_lo = calloc(d->nturns + 1, sizeof(size_t));
	d->tw_hi = calloc(d->nturns + 1, sizeof(size_t));
	if (!d->word_turn || !d->tw_lo || !d->tw_hi)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in export");
	for (size_t k = 0; k < d->nwords; k++)
		d->word_turn[k] = SIZE_MAX;
	for (size_t t = 0; t < d->nturns; t++) {
		const struct store_segment *tu = &d->turns[t];
		size_t lo = 0, hi = d->nwords; /* first word starting at or after tu->start - max */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (d->words[mid].start < tu->start - WORD_MAX_SECONDS)
				lo = mid + 1;
			else
				hi = mid;
		}
		d->tw_lo[t] = d->tw_hi[t] = lo;
		for (size_t k = lo; k < d->nwords && d->words[k].start < tu->end; k++) {
			double m = (d->words[k].start + d->words[k].end) / 2;
			if (d->word_turn[k] != SIZE_MAX || m < tu->start || m >= tu->end ||
			    (d->words[k].speaker >= 0 && d->words[k].speaker != tu->speaker))
				continue;
			if (d->tw_hi[t] == d->tw_lo[t])
				d->tw_lo[t] = k;
			d->word_turn[k] = t;
			d->tw_hi[t] = k + 1;
		}
	}
	return PARLEY_OK;
}

/* A warning appended to the array at *ud; on failure *ud is cleared (and
 * the array freed) and the walk stops. */
static int add_warning(const struct store_event *e, void *ud)
{
	json_t **arr = ud;
	json_t *o = json_pack("{s:s, s:s}", "stage", e->stage, "message", e->message);
	if (o && json_array_append_new(*arr, o) == 0)
		return 0;
	json_decref(*arr);
	*arr = NULL;
	return 1;
}

enum parley_err export_warnings_json(struct store *st, int64_t batch_id, int64_t rec_id,
				     json_t **out, struct parley_error *err)
{
	json_t *arr = json_array();
	*out = NULL;
	if (!arr)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory reading the warnings "
					"of recording %lld", (long long)rec_id);
	enum parley_err rc = store_warning_each(st, batch_id, rec_id, add_warning, &arr, err);
	if (!rc && !arr)
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory reading the warnings "
				      "of recording %lld", (long long)rec_id);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return PARLEY_OK;
}

static enum parley_err export_data_load(struct store *st, const struct store_recording *rec,
					struct export_data *d, struct parley_error *err)
{
	memset(d, 0, sizeof(*d));
	int64_t rec_id = rec->id;
	enum parley_err rc;
	if ((rc = export_warnings_json(st, rec->batch_id, rec_id, &d->warnings, err)) ||
	    (rc = store_stage_each(st, rec_id, note_done_stage, d, err)) ||
	    (rc = store_segments_get(st, rec_id, "turn", &d->turns, &d->nturns, err)) ||
	    (rc = store_segments_get(st, rec_id, "overlap", &d->overlaps, &d->noverlaps, err)) ||
	    (rc = store_words_get(st, rec_id, "words", &d->words, &d->nwords, err)) ||
	    (rc = store_speakers_get(st, rec_id, &d->speakers, &d->nspeakers, err)) ||
	    (rc = store_counts_get(st, rec_id, &d->counts, &d->ncounts, err)) ||
	    (rc = store_speaker_roles_get(st, rec_id, &d->roles, &d->nroles, err)) ||
	    (rc = store_recording_metadata_get(st, rec_id, &d->metadata, err)) ||
	    (rc = assign_words(d, err)))
		export_data_release(d);
	return rc;
}

void export_timestamp(double seconds, char sep, char *out, size_t size)
{
	if (seconds < 0)
		seconds = 0;
	long long ms = llround(seconds * 1000.0);
	snprintf(out, size, "%02lld:%02lld:%02lld%c%03lld", ms / 3600000, (ms / 60000) % 60,
		 (ms / 1000) % 60, sep, ms % 1000);
}

static double ms_round(double x)
{
	return round(x * 1000.0) / 1000.0;
}

static void speaker_name(int speaker, char *out, size_t size)
{
	if (speaker < 0)
		snprintf(out, size, "unknown");
	else
		snprintf(out, size, "speaker-%d", speaker + 1);
}

/* "speaker-1 (agent)" when the speaker has a role, else "speaker-1". */
static void speaker_label(const struct export_data *d, int speaker, char *out, size_t size)
{
	char name[32];
	speaker_name(speaker, name, sizeof(name));
	const struct store_speaker_role *r = store_speaker_role_of(d->roles, d->nroles, speaker);
	if (r)
		snprintf(out, size, "%s (%s)", name, r->role);
	else
		snprintf(out, size, "%s", name);
}

/* The text of turn t's words among [from, to), space-separated. */
static enum parley_err add_words_text(struct strbuf *sb, const struct export_data *d, size_t t,
				      size_t from, size_t to)
{
	enum parley_err rc = PARLEY_OK;
	bool first = true;
	for (size_t k = from; k < to && !rc; k++) {
		if (d->word_turn[k] != t)
			continue;
		rc = strbuf_addf(sb, "%s%s", first ? "" : " ", d->words[k].text);
		first = false;
	}
	return rc;
}

/* A cue: a run of a turn's words, split so no cue is too long to read. */
struct cue {
	double start, end;
	int speaker;
	size_t turn;
	size_t from, to; /* words: turn's words in [from, to) */
};

typedef enum parley_err (*cue_fn)(struct strbuf *sb, const struct export_data *d,
				  const struct cue *c, int index);

static int cmp_cue(const void *a, const void *b)
{
	const struct cue *x = a, *y = b;
	if (x->start != y->start)
		return (x->start > y->start) - (x->start < y->start);
	return (x->turn > y->turn) - (x->turn < y->turn);
}

/* Every turn's cues, in time order (turns of a call diarized by channel
 * overlap, so one turn's cues may fall between another's). */
static enum parley_err each_cue(struct strbuf *sb, const struct export_data *d, cue_fn fn)
{
	struct cue *cues = NULL;
	size_t n = 0, cap = 0;
	enum parley_err rc = PARLEY_OK;
	for (size_t t = 0; t < d->nturns && !rc; t++) {
		size_t k = d->tw_lo[t], end = d->tw_hi[t];
		while (k < end) {
			if (d->word_turn[k] != t) {
				k++;
				continue;
			}
			struct cue c = {.start = d->words[k].start, .speaker = d->turns[t].speaker,
					.turn = t, .from = k};
			size_t j = k, nw = 0, last = k;
			while (j < end && nw < CUE_MAX_WORDS) {
				if (d->word_turn[j] == t) {
					if (nw > 0 && d->words[j].end - c.start > CUE_MAX_SECONDS)
						break;
					last = j;
					nw++;
				}
				j++;
			}
			c.to = last + 1;
			c.end = d->words[last].end;
			if (c.start < d->turns[t].start)
				c.start = d->turns[t].start;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				struct cue *nc = realloc(cues, cap * sizeof(*nc));
				if (!nc) {
					rc = PARLEY_ERR_NOMEM;
					break;
				}
				cues = nc;
			}
			cues[n++] = c;
			k = last + 1;
		}
	}
	if (!rc && n > 1)
		qsort(cues, n, sizeof(*cues), cmp_cue);
	for (size_t i = 0; i < n && !rc; i++)
		rc = fn(sb, d, &cues[i], (int)i + 1);
	free(cues);
	return rc;
}

static enum parley_err srt_cue(struct strbuf *sb, const struct export_data *d, const struct cue *c,
			       int index)
{
	char a[32], b[32], spk[96];
	export_timestamp(c->start, ',', a, sizeof(a));
	export_timestamp(c->end, ',', b, sizeof(b));
	speaker_label(d, c->speaker, spk, sizeof(spk));
	enum parley_err rc = strbuf_addf(sb, "%d\n%s --> %s\n%s: ", index, a, b, spk);
	if (!rc)
		rc = add_words_text(sb, d, c->turn, c->from, c->to);
	if (!rc)
		rc = strbuf_adds(sb, "\n\n");
	return rc;
}

static enum parley_err vtt_cue(struct strbuf *sb, const struct export_data *d, const struct cue *c,
			       int index)
{
	char a[32], b[32], spk[96];
	export_timestamp(c->start, '.', a, sizeof(a));
	export_timestamp(c->end, '.', b, sizeof(b));
	speaker_label(d, c->speaker, spk, sizeof(spk));
	enum parley_err rc = strbuf_addf(sb, "%d\n%s --> %s\n<v %s>", index, a, b, spk);
	if (!rc)
		rc = add_words_text(sb, d, c->turn, c->from, c->to);
	if (!rc)
		rc = strbuf_adds(sb, "</v>\n\n");
	return rc;
}

static enum parley_err write_buf(const char *dir, const char *file, struct strbuf *sb,
				 struct parley_error *err)
{
	char path[PARLEY_PATH_MAX];
	enum parley_err rc = fs_path_join(path, sizeof(path), dir, file, err);
	if (!rc)
		rc = fs_write_atomic(path, sb->buf, sb->len, err);
	return rc;
}

static enum parley_err remove_stale(const char *dir, const char *file, struct parley_error *err)
{
	char path[PARLEY_PATH_MAX];
	enum parley_err rc = fs_path_join(path, sizeof(path), dir, file, err);
	if (!rc && unlink(path) != 0 && errno != ENOENT)
		rc = parley_error_set(err, PARLEY_ERR_IO, "cannot remove %s: %s", path,
				      strerror(errno));
	return rc;
}

static enum parley_err too_large(struct parley_error *err, const char *what, enum parley_err rc)
{
	return parley_error_set(err, rc, "cannot build %s: %s", what, parley_strerror(rc));
}

static enum parley_err export_srt_vtt(const char *dir, const struct export_data *d,
				      struct parley_error *err)
{
	struct strbuf sb;
	strbuf_init(&sb, EXPORT_MAX_BYTES);
	enum parley_err rc = each_cue(&sb, d, srt_cue);
	if (rc)
		rc = too_large(err, "transcript.srt", rc);
	else
		rc = write_buf(dir, "transcript.srt", &sb, err);
	strbuf_release(&sb);
	if (rc)
		return rc;
	rc = strbuf_adds(&sb, "WEBVTT\n\n");
	if (!rc)
		rc = each_cue(&sb, d, vtt_cue);
	if (rc)
		rc = too_large(err, "transcript.vtt", rc);
	else
		rc = write_buf(dir, "transcript.vtt", &sb, err);
	strbuf_release(&sb);
	return rc;
}

static enum parley_err export_rttm(const char *dir, const char *rec_name,
				   const struct export_data *d, struct parley_error *err)
{
	/* RTTM fields are separated by white space: keep the name one field. */
	char name[STORE_NAME_MAX];
	snprintf(name, sizeof(name), "%s", rec_name);
	for (char *c = name; *c; c++)
		if (*c == ' ' || *c == '\t')
			*c = '_';
	struct strbuf sb;
	strbuf_init(&sb, EXPORT_MAX_BYTES);
	enum parley_err rc = PARLEY_OK;
	for (size_t t = 0; t < d->nturns && !rc; t++) {
		char spk[32];
		speaker_name(d->turns[t].speaker, spk, sizeof(spk));
		rc = strbuf_addf(&sb, "SPEAKER %s 1 %.3f %.3f <NA> <NA> %s <NA> <NA>\n", name,
				 d->turns[t].start, d->turns[t].end - d->turns[t].start, spk);
	}
	for (size_t t = 0; t < d->noverlaps && !rc; t++) {
		char spk[32];
		speaker_name(d->overlaps[t].speaker, spk, sizeof(spk));
		rc = strbuf_addf(&sb, "SPEAKER %s 1 %.3f %.3f <NA> <NA> %s <NA> <NA>\n", name,
				 d->overlaps[t].start, d->overlaps[t].end - d->overlaps[t].start,
				 spk);
	}
	if (rc)
		rc = too_large(err, "transcript.rttm", rc);
	else
		rc = write_buf(dir, "transcript.rttm", &sb, err);
	strbuf_release(&sb);
	return rc;
}

static enum parley_err export_txt(const char *dir, const struct export_data *d,
				  struct parley_error *err)
{
	struct strbuf sb;
	strbuf_init(&sb, EXPORT_MAX_BYTES);
	enum parley_err rc = PARLEY_OK;
	for (size_t t = 0; t < d->nturns && !rc; t++) {
		if (d->tw_hi[t] == d->tw_lo[t])
			continue;
		char a[32], b[32], spk[96];
		export_timestamp(d->turns[t].start, '.', a, sizeof(a));
		export_timestamp(d->turns[t].end, '.', b, sizeof(b));
		speaker_label(d, d->turns[t].speaker, spk, sizeof(spk));
		rc = strbuf_addf(&sb, "[%s - %s] %s: ", a, b, spk);
		if (!rc)
			rc = add_words_text(&sb, d, t, d->tw_lo[t], d->tw_hi[t]);
		if (!rc)
			rc = strbuf_adds(&sb, "\n");
	}
	if (rc)
		rc = too_large(err, "transcript.txt", rc);
	else
		rc = write_buf(dir, "transcript.txt", &sb, err);
	strbuf_release(&sb);
	return rc;
}

/* Build transcript.json. Returns a new reference or NULL on out-of-memory. */
static json_t *transcript_json(const struct store_recording *rec, const struct export_data *d,
			       const char *engines_json, const struct lexicon *lex)
{
	json_t *root = json_object();
	json_t *speakers = json_array(), *segments = json_array(), *words = json_array();
	json_t *counts = json_object();
	if (!root || !speakers || !segments || !words || !counts)
		goto fail;
	json_object_set_new(root, "schema", json_string("parley.transcript/1"));
	json_object_set_new(root, "name", json_string(rec->name));
	json_object_set_new(root, "source", json_string(rec->source));
	json_object_set_new(root, "duration", json_real(ms_round(rec->duration)));
	json_t *engines = engines_json ? json_loads(engines_json, 0, NULL) : NULL;
	json_object_set_new(root, "engines", engines ? engines : json_object());
	json_object_set_new(root, "transcribed", json_boolean(d->transcribed));
	json_object_set(root, "warnings", d->warnings);
	/* The metadata CSV's row (`--metadata`), when the recording has one. */
	json_t *md = d->metadata ? json_loads(d->metadata, 0, NULL) : NULL;
	if (json_is_object(md) && json_object_size(md) > 0)
		json_object_set_new(root, "metadata", md);
	else
		json_decref(md);

	for (size_t i = 0; i < d->nspeakers; i++) {
		const struct store_speaker *s = &d->speakers[i];
		char name[32], sample[64];
		speaker_name(s->speaker, name, sizeof(name));
		json_t *o = json_object();
		json_object_set_new(o, "id", json_string(name));
		const struct store_speaker_role *r = store_speaker_role_of(d->roles, d->nroles, s->speaker);
		json_object_set_new(o, "role", r ? json_string(r->role) : json_null());
		json_object_set_new(o, "channel",
				    r && r->channel >= 0 ? json_integer(r->channel) : json_null());
		json_object_set_new(o, "talk_time", json_real(ms_round(s->talk_time)));
		json_object_set_new(o, "turns", json_integer(s->turns));
		if (s->sample_end > s->sample_start) {
			snprintf(sample, sizeof(sample), "samples/%s.wav", name);
			json_t *smp = json_object();
			json_object_set_new(smp, "path", json_string(sample));
			json_object_set_new(smp, "start", json_real(ms_round(s->sample_start)));
			json_object_set_new(smp, "end", json_real(ms_round(s->sample_end)));
			json_object_set_new(o, "sample", smp);
		} else {
			json_object_set_new(o, "sample", json_null());
		}
		json_array_append_new(speakers, o);
	}
	for (size_t t = 0; t < d->nturns; t++) {
		struct strbuf sb;
		strbuf_init(&sb, EXPORT_MAX_BYTES);
		add_words_text(&sb, d, t, d->tw_lo[t], d->tw_hi[t]);
		char name[32];
		speaker_name(d->turns[t].speaker, name, sizeof(name));
		json_t *o = json_object();
		json_object_set_new(o, "start", json_real(ms_round(d->turns[t].start)));
		json_object_set_new(o, "end", json_real(ms_round(d->turns[t].end)));
		json_object_set_new(o, "speaker", json_string(name));
		const struct store_speaker_role *r =
			store_speaker_role_of(d->roles, d->nroles, d->turns[t].speaker);
		if (r)
			json_object_set_new(o, "role", json_string(r->role));
		json_object_set_new(o, "text", json_string(sb.buf));
		json_array_append_new(segments, o);
		strbuf_release(&sb);
	}
	if (d->noverlaps > 0) {
		/* only with run --overlap: stretches where a second speaker also talks */
		json_t *ovl = json_array();
		if (!ovl)
			goto fail;
		for (size_t t = 0; t < d->noverlaps; t++) {
			char name[32];
			speaker_name(d->overlaps[t].speaker, name, sizeof(name));
			json_t *o = json_object();
			json_object_set_new(o, "start", json_real(ms_round(d->overlaps[t].start)));
			json_object_set_new(o, "end", json_real(ms_round(d->overlaps[t].end)));
			json_object_set_new(o, "speaker", json_string(name));
			json_array_append_new(ovl, o);
		}
		json_object_set_new(root, "overlaps", ovl);
	}
	/* The words stage's counts are all zero when the recording failed the
	 * lexicon's background test (text/lexicon.h): then no word counted. */
	bool any_counted = false;
	for (size_t i = 0; i < d->ncounts; i++)
		any_counted = any_counted || d->counts[i].count > 0;
	for (size_t i = 0; i < d->nwords; i++) {
		char name[32];
		speaker_name(d->words[i].speaker, name, sizeof(name));
		json_t *o = json_object();
		json_object_set_new(o, "start", json_real(ms_round(d->words[i].start)));
		json_object_set_new(o, "end", json_real(ms_round(d->words[i].end)));
		json_object_set_new(o, "word", json_string(d->words[i].text));
		json_object_set_new(o, "confidence", json_real(ms_round(d->words[i].confidence)));
		json_object_set_new(o, "speaker", json_string(name));
		if (lexicon_is_target(lex, d->words[i].text))
			json_object_set_new(o, "counted",
					    json_boolean(any_counted && lexicon_counts(
						    lex, d->words[i].text, d->words[i].confidence,
						    lexicon_pause_after(
							    d->words[i].end, d->words[i].speaker,
							    i + 1 < d->nwords ? d->words[i + 1].start : 0.0,
							    i + 1 < d->nwords ? d->words[i + 1].speaker : -1))));
		if (d->words[i].approximate)
			json_object_set_new(o, "approximate", json_true());
		json_array_append_new(words, o);
	}
	for (size_t i = 0; i < d->ncounts; i++) {
		char name[32];
		speaker_name(d->counts[i].speaker, name, sizeof(name));
		json_t *per = json_object_get(counts, name);
		if (!per) {
			per = json_object();
			json_object_set_new(counts, name, per);
		}
		json_object_set_new(per, d->counts[i].word, json_integer(d->counts[i].count));
	}
	json_object_set_new(root, "speakers", speakers);
	json_object_set_new(root, "segments", segments);
	json_object_set_new(root, "words", words);
	json_object_set_new(root, "counts", counts);
	return root;
fail:
	json_decref(root);
	json_decref(speakers);
	json_decref(segments);
	json_decref(words);
	json_decref(counts);
	return NULL;
}

static enum parley_err export_json(const char *dir, json_t *root, struct parley_error *err)
{
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	if (!text)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory writing transcript.json");
	struct strbuf sb;
	strbuf_init(&sb, EXPORT_MAX_BYTES);
	enum parley_err rc = strbuf_adds(&sb, text);
	if (!rc)
		rc = strbuf_adds(&sb, "\n");
	free(text);
	if (rc)
		rc = too_large(err, "transcript.json", rc);
	else
		rc = write_buf(dir, "transcript.json", &sb, err);
	strbuf_release(&sb);
	return rc;
}

/* Each registry stage's own part of the outputs (its export hook), in
 * pipeline order, added to root and to dir. */
static enum parley_err export_stages(struct store *st, const struct store_recording *rec,
				     const char *rec_dir, const char *dir, const struct export_data *d,
				     json_t *root, struct parley_error *err)
{
	for (size_t i = 0; i < stage_count_all; i++) {
		const struct stage *s = stage_at(i);
		if (!s->export)
			continue;
		struct stage_export x = {st, rec, rec_dir, dir, stage_done(d, s->name), root};
		enum parley_err rc = s->export(&x, err);
		if (rc)
			return rc;
	}
	return PARLEY_OK;
}

enum parley_err export_recording(struct store *st, const struct export_params *p,
				 const struct store_recording *rec, struct parley_error *err)
{
	char dir[PARLEY_PATH_MAX], rec_dir[PARLEY_PATH_MAX];
	struct export_data d;
	enum parley_err rc = fs_path_join(dir, sizeof(dir), p->out_dir, rec->name, err);
	if (rc || (rc = fs_mkdir_p(dir, err)))
		return rc;
	if ((rc = pipeline_recording_dir(p->data_dir, rec->id, rec_dir, sizeof(rec_dir), err)))
		return rc;
	if ((rc = export_data_load(st, rec, &d, err)))
		return rc;
	json_t *root = transcript_json(rec, &d, p->engines_json, p->lexicon);
	if (!root)
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory building transcript.json");
	if (!rc && !(rc = export_stages(st, rec, rec_dir, dir, &d, root, err)) &&
	    !(rc = export_json(dir, root, err)) && !(rc = export_srt_vtt(dir, &d, err)) &&
	    !(rc = export_rttm(dir, rec->name, &d, err)))
		rc = export_txt(dir, &d, err);
	json_decref(root);
	export_data_release(&d);
	if (rc)
		parley_error_prefix(err, "%s: export", rec->name);
	return rc;
}

struct summary_ctx {
	struct store *st;
	struct strbuf *sb;
	enum parley_err rc;
	struct parley_error *err;
};

/* CSV field: quoted when it holds a comma, quote or line break. */
static enum parley_err csv_field(struct strbuf *sb, const char *s)
{
	if (!strpbrk(s, ",\"\r\n"))
		return strbuf_adds(sb, s);
	enum parley_err rc = strbuf_adds(sb, "\"");
	for (const char *c = s; *c && !rc; c++)
		rc = *c == '"' ? strbuf_adds(sb, "\"\"") : strbuf_add(sb, c, 1);
	if (!rc)
		rc = strbuf_adds(sb, "\"");
	return rc;
}

static int summary_row(const struct store_recording *rec, void *ud)
{
	struct summary_ctx *c = ud;
	if (rec->status != STORE_DONE)
		return 0;
	struct store_count *counts = NULL;
	struct store_speaker_role *roles = NULL;
	size_t n = 0, nroles = 0;
	if ((c->rc = store_counts_get(c->st, rec->id, &counts, &n, c->err)) ||
	    (c->rc = store_speaker_roles_get(c->st, rec->id, &roles, &nroles, c->err))) {
		free(counts);
		return 1;
	}
	for (size_t i = 0; i < n && !c->rc; i++) {
		char spk[32];
		speaker_name(counts[i].speaker, spk, sizeof(spk));
		const struct store_speaker_role *r =
			store_speaker_role_of(roles, nroles, counts[i].speaker);
		if (!(c->rc = csv_field(c->sb, rec->name)))
			c->rc = strbuf_addf(c->sb, ",%s,%s,%d,%s\n", spk, counts[i].word,
					    counts[i].count, r ? r->role : "");
	}
	free(counts);
	free(roles);
	if (c->rc && c->rc != PARLEY_ERR_STORE)
		too_large(c->err, "summary.csv", c->rc);
	return c->rc != PARLEY_OK;
}

static int metrics_row(const struct store_recording *rec, void *ud)
{
	struct summary_ctx *c = ud;
	if (rec->status != STORE_DONE)
		return 0;
	struct store_call_metric *m = NULL;
	size_t n = 0;
	if ((c->rc = store_call_metrics_get(c->st, rec->id, &m, &n, c->err)))
		return 1;
	for (size_t i = 0; i < n && !c->rc; i++) {
		if (!(c->rc = csv_field(c->sb, rec->name)))
			c->rc = strbuf_adds(c->sb, ",");
		if (!c->rc)
			c->rc = csv_field(c->sb, m[i].scope);
		if (!c->rc)
			c->rc = strbuf_addf(c->sb, ",%s,%.10g\n", m[i].name, m[i].value);
	}
	free(m);
	if (c->rc && c->rc != PARLEY_ERR_STORE)
		too_large(c->err, "metrics.csv", c->rc);
	return c->rc != PARLEY_OK;
}

/* verdicts.csv: a row per recording with a verdict of the batch's current
 * audit version: the verdict, score, max_score, auto_fail and the rules
 * behind it ("id:verdict" separated by spaces, from the reasons). */
static int verdicts_row(const struct store_recording *rec, void *ud)
{
	struct summary_ctx *c = ud;
	if (rec->status != STORE_DONE)
		return 0;
	struct store_verdict v = {0};
	bool found = false;
	if ((c->rc = store_verdict_get(c->st, rec->id, 0, &v, &found, c->err)))
		return 1;
	if (!found)
		return 0;
	char rules[4096] = "";
	size_t used = 0;
	json_t *reasons = json_loads(v.reasons ? v.reasons : "[]", 0, NULL);
	size_t i;
	json_t *o;
	json_array_foreach(reasons, i, o) {
		const char *id = json_string_value(json_object_get(o, "rule"));
		const char *vd = json_string_value(json_object_get(o, "verdict"));
		if (id && vd && used < sizeof(rules))
			used += (size_t)snprintf(rules + used, sizeof(rules) - used, "%s%s:%s",
						 used ? " " : "", id, vd);
	}
	json_decref(reasons);
	if (!(c->rc = csv_field(c->sb, rec->name)))
		c->rc = strbuf_addf(c->sb, ",%s,%.10g,%.10g,%s,", v.verdict, v.score, v.max_score,
				    v.auto_fail ? "true" : "false");
	if (!c->rc)
		c->rc = csv_field(c->sb, rules);
	if (!c->rc)
		c->rc = strbuf_adds(c->sb, "\n");
	store_verdict_release(&v);
	if (c->rc && c->rc != PARLEY_ERR_STORE)
		too_large(c->err, "verdicts.csv", c->rc);
	return c->rc != PARLEY_OK;
}

struct warning_row {
	struct summary_ctx *c;
	const char *name;
};

static int warning_line(const struct store_event *e, void *ud)
{
	struct warning_row *w = ud;
	struct summary_ctx *c = w->c;
	if (!(c->rc = csv_field(c->sb, w->name)) && !(c->rc = strbuf_adds(c->sb, ",")) &&
	    !(c->rc = csv_field(c->sb, e->stage)) && !(c->rc = strbuf_adds(c->sb, ",")) &&
	    !(c->rc = csv_field(c->sb, e->message)))
		c->rc = strbuf_adds(c->sb, "\n");
	return c->rc != PARLEY_OK;
}

/* warnings.csv: a row per warning of any recording of the batch (done or not). */
static int warnings_row(const struct store_recording *rec, void *ud)
{
	struct summary_ctx *c = ud;
	struct warning_row w = {c, rec->name};
	enum parley_err rc = store_warning_each(c->st, rec->batch_id, rec->id, warning_line, &w,
						c->err);
	if (rc)
		c->rc = rc;
	else if (c->rc)
		too_large(c->err, "warnings.csv", c->rc);
	return c->rc != PARLEY_OK;
}

enum parley_err export_summary(struct store *st, const struct export_params *p, int64_t batch_id,
			       struct parley_error *err)
{
	struct strbuf sb;
	strbuf_init(&sb, EXPORT_MAX_BYTES);
	struct summary_ctx c = {st, &sb, PARLEY_OK, err};
	enum parley_err rc = strbuf_adds(&sb, "recording,speaker,word,count,role\n");
	if (rc) /* make torture: a failed header left the error without a sentence */
		rc = too_large(err, "summary.csv", rc);
	if (!rc)
		rc = store_recording_each(st, batch_id, summary_row, &c, err);
	if (!rc)
		rc = c.rc;
	if (!rc)
		rc = write_buf(p->out_dir, "summary.csv", &sb, err);
	strbuf_release(&sb);
	if (rc)
		return rc;
	/* metrics.csv: only when some recording has call metrics */
	strbuf_init(&sb, EXPORT_MAX_BYTES);
	c = (struct summary_ctx){st, &sb, PARLEY_OK, err};
	rc = strbuf_adds(&sb, "recording,scope,name,value\n");
	if (rc)
		rc = too_large(err, "metrics.csv", rc);
	size_t header = sb.len;
	if (!rc)
		rc = store_recording_each(st, batch_id, metrics_row, &c, err);
	if (!rc)
		rc = c.rc;
	if (!rc && sb.len > header)
		rc = write_buf(p->out_dir, "metrics.csv", &sb, err);
	strbuf_release(&sb);
	if (rc)
		return rc;
	/* verdicts.csv: only when some recording has a verdict */
	strbuf_init(&sb, EXPORT_MAX_BYTES);
	c = (struct summary_ctx){st, &sb, PARLEY_OK, err};
	rc = strbuf_adds(&sb, "recording,verdict,score,max_score,auto_fail,rules\n");
	if (rc)
		rc = too_large(err, "verdicts.csv", rc);
	header = sb.len;
	if (!rc)
		rc = store_recording_each(st, batch_id, verdicts_row, &c, err);
	if (!rc)
		rc = c.rc;
	if (!rc && sb.len > header)
		rc = write_buf(p->out_dir, "verdicts.csv", &sb, err);
	strbuf_release(&sb);
	if (rc)
		return rc;
	/* warnings.csv: only when some recording has a warning; an older one
	 * goes (the recordings it named were processed again without). */
	strbuf_init(&sb, EXPORT_MAX_BYTES);
	c = (struct summary_ctx){st, &sb, PARLEY_OK, err};
	rc = strbuf_adds(&sb, "recording,stage,warning\n");
	if (rc)
		rc = too_large(err, "warnings.csv", rc);
	header = sb.len;
	if (!rc)
		rc = store_recording_each(st, batch_id, warnings_row, &c, err);
	if (!rc)
		rc = c.rc;
	if (!rc && sb.len > header)
		rc = write_buf(p->out_dir, "warnings.csv", &sb, err);
	else if (!rc)
		rc = remove_stale(p->out_dir, "warnings.csv", err);
	strbuf_release(&sb);
	return rc;
}
