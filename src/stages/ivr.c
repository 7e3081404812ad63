/*
 * ivr.c — stage "ivr" (optional): call events from the original audio —
 * call-progress tones by country, SIT, answering-machine beeps, DTMF, queue
 * and hold music, recorded IVR prompts (dsp/ivr_scan.h) — saved as
 * call_events. It reads the decoded mix, or each channel when decode kept
 * them (audio.ch0.wav, audio.ch1.wav, ...: events then carry their channel),
 * before any denoising (suppressors eat tones). Later stages skip the event
 * spans (stages/call_spans.h: vad removes speech inside them).
 *
 * Configuration (section "ivr"): countries (tone tables), dtmf_digits (the
 * digits are personal data: without it only their count and times are
 * stored), prompts_dir (known prompt recordings, matched by fingerprint),
 * music, prompt_seconds.
 */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/decode.h"
#include "audio/pcm.h"
#include "dsp/ivr_scan.h"
#include "stages/stage.h"
#include "store/store_call.h"
#include "util/fs.h"
#include "util/log.h"

#define IVR_CHANNELS_MAX STAGE_CHANNELS_MAX
#define IVR_KNOWN_MAX 256      /* known prompt files read */
#define IVR_KNOWN_SECONDS 120.0 /* longest known prompt */

struct ivr_result {
	struct store_call_event *ev;
	size_t n;
};

static enum parley_err ivr_save(struct store *st, int64_t rec_id, void *data,
				struct parley_error *err)
{
	const struct ivr_result *r = data;
	return store_call_events_put(st, rec_id, r->ev, r->n, err);
}

static void safe_name(const char *path, char *out, size_t size)
{
	fs_stem(path, out, size);
	for (char *p = out; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '-' || *p == '.'))
			*p = '_';
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Fingerprints of the audio files in dir (sorted by name; files that do not
 * decode are skipped with a warning). */
static enum parley_err load_known(const char *dir, struct ivr_known_prompt **out, size_t *n,
				  struct parley_error *err)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"ivr.prompts_dir %s cannot be read (a folder of prompt recordings)",
					dir);
	enum parley_err rc = PARLEY_OK;
	char *names[IVR_KNOWN_MAX];
	size_t nn = 0;
	struct dirent *e;
	while ((e = readdir(d)) && nn < IVR_KNOWN_MAX) {
		if (e->d_name[0] == '.')
			continue;
		if (!(names[nn] = strdup(e->d_name))) {
			rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory listing %s", dir);
			break;
		}
		nn++;
	}
	closedir(d);
	struct ivr_known_prompt *k = NULL;
	if (!rc && nn && !(k = calloc(nn, sizeof(*k))))
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory reading %s", dir);
	if (!rc)
		qsort(names, nn, sizeof(char *), cmp_name);
	size_t m = 0;
	for (size_t i = 0; i < nn && !rc; i++) {
		char path[STAGE_PATH_MAX];
		if ((rc = fs_path_join(path, sizeof(path), dir, names[i], err)))
			break;
		if (fs_is_dir(path))
			continue;
		struct audio_decode_params dp = audio_decode_default_params();
		dp.max_seconds = IVR_KNOWN_SECONDS;
		struct pcm pcm = {0};
		struct parley_error e2 = {0};
		if (audio_decode_file(path, &dp, &pcm, &e2)) {
			log_warn("ivr: known prompt %s skipped: %s", path, e2.msg);
			continue;
		}
		rc = prompt_fingerprint(&pcm, 0, &k[m].fp, err);
		pcm_release(&pcm);
		if (rc)
			break;
		safe_name(names[i], k[m].name, sizeof(k[m].name));
		m++;
	}
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	if (rc) {
		for (size_t i = 0; i < m; i++)
			prompt_fp_release(&k[i].fp);
		free(k);
		return rc;
	}
	*out = k;
	*n = m;
	return PARLEY_OK;
}

static enum parley_err ivr_run(struct stage_ctx *ctx, struct parley_error *err)
{
	const struct pc_ivr *c = &ctx->cfg->ivr;
	struct pcm src[IVR_CHANNELS_MAX] = {{0}};
	int chan[IVR_CHANNELS_MAX];
	size_t nsrc = 0;
	struct ivr_known_prompt *known = NULL;
	size_t nknown = 0;
	struct ivr_event *ev = NULL;
	size_t nev = 0;
	struct ivr_result r = {0};
	enum parley_err rc = PARLEY_OK;
	int nch = stage_channel_count(ctx);
	if (nch >= 2) {
		for (int i = 0; i < nch && i < IVR_CHANNELS_MAX; i++) {
			if ((rc = stage_load_channel_original(ctx, i, &src[i], err)))
				goto out;
			chan[i] = i;
			nsrc = (size_t)i + 1;
		}
	} else {
		if ((rc = stage_load_audio_original(ctx, &src[0], err)))
			goto out;
		chan[0] = -1;
		nsrc = 1;
	}
	if (c->prompts_dir[0] && (rc = load_known(c->prompts_dir, &known, &nknown, err)))
		goto out;
	struct ivr_scan_params p = ivr_scan_default_params();
	p.tones.countries = c->countries;
	p.digits = c->dtmf_digits;
	p.find_music = c->music;
	p.prompt_seconds = c->prompt_seconds;
	p.known = known;
	p.nknown = nknown;
	if ((rc = ivr_scan(src, chan, nsrc, &p, &ev, &nev, err)))
		goto out;
	r.ev = calloc(nev ? nev : 1, sizeof(*r.ev));
	if (!r.ev) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in ivr");
		goto out;
	}
	for (size_t i = 0; i < nev; i++) {
		struct store_call_event *e = &r.ev[i];
		snprintf(e->kind, sizeof(e->kind), "%s", ev[i].kind);
		e->start = ev[i].start;
		e->end = ev[i].end;
		e->channel = ev[i].channel;
		snprintf(e->detail, sizeof(e->detail), "%s", ev[i].detail);
	}
	r.n = nev;
	rc = stage_commit(ctx, ivr_save, &r, err);
out:
	for (size_t i = 0; i < nsrc; i++)
		pcm_release(&src[i]);
	for (size_t i = 0; i < nknown; i++)
		prompt_fp_release(&known[i].fp);
	free(known);
	free(ev);
	free(r.ev);
	return rc;
}

/* transcript.json "events": [{"kind", "start", "end", "channel", ...detail}] */
static enum parley_err ivr_export(const struct stage_export *x, struct parley_error *err)
{
	if (!x->done)
		return PARLEY_OK;
	struct store_call_event *ev = NULL;
	size_t n = 0;
	enum parley_err rc = store_call_events_get(x->store, x->rec->id, &ev, &n, err);
	if (rc)
		return rc;
	json_t *arr = json_array();
	if (!arr)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();
		if (!o || json_array_append_new(arr, o))
			goto nomem;
		json_object_set_new(o, "kind", json_string(ev[i].kind));
		json_object_set_new(o, "start", json_real(ev[i].start));
		json_object_set_new(o, "end", json_real(ev[i].end));
		json_object_set_new(o, "channel", json_integer(ev[i].channel));
		json_t *d = json_loads(ev[i].detail, 0, NULL);
		if (json_is_object(d))
			json_object_update_missing(o, d);
		json_decref(d);
	}
	free(ev);
	if (json_object_set_new(x->transcript, "events", arr))
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory exporting events");
	return PARLEY_OK;
nomem:
	json_decref(arr);
	free(ev);
	return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory exporting events");
}

static const char *const ivr_tables[] = {"call_events", NULL};

const struct stage stage_ivr = {
	.name = "ivr",
	.description = "call events: tones by country, SIT, beep, DTMF, music/hold, IVR prompts",
	.run = ivr_run,
	.result_tables = ivr_tables,
	.options = "ivr",
	.export = ivr_export,
	.optional = true,
};
