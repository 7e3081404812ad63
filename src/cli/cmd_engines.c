/*
 * cmd_engines.c — `parley engines list` (the scheme tables) and
 * `parley engines check ENGINE` / `--llm ENGINE`: a conformance check
 * against a live server or command, with a clip made here (espeak-ng, else
 * a tone) and a short prompt, printing what works and what does not.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "audio/decode.h"
#include "audio/pcm.h"
#include "cli/cli.h"
#include "engines/asr.h"
#include "engines/engines.h"
#include "engines/llm.h"
#include "util/timeutil.h"

static const char engines_usage[] =
	"usage: parley engines list\n"
	"       parley engines check ENGINE [options]\n"
	"       parley engines check --llm ENGINE [options]\n"
	"\n"
	"`list` prints the engine forms parley accepts. `check` sends a short clip\n"
	"(spoken by espeak-ng when it is installed, else a tone) to a speech-to-text\n"
	"ENGINE, or a short prompt with a JSON schema to an LLM ENGINE, and prints\n"
	"what works (answer, words, word timestamps, language, schema enforced,\n"
	"repeatable answers) and what does not.\n"
	"\n"
	"options:\n"
	"      --llm ENGINE       check an LLM engine (openai+http(s)://…, exec:COMMAND)\n"
	"      --model NAME       the model to ask for\n"
	"      --api-key-env VAR  send the key in environment variable VAR\n"
	"      --language L       language hint for speech to text (default en)\n"
	"      --timeout S        seconds per request (default 60)\n"
	"  -h, --help             show this help\n"
	"\n"
	"exit status: 0 the engine answered and what parley needs works, 1 it did not,\n"
	"2 usage error.\n";

#define CLIP_TEXT "the quick brown fox jumps over the lazy dog walao the hawker centre is so crowded lah"

struct check_opts {
	const char *engine, *llm, *model, *key_env, *language;
	double timeout;
};

static int verdicts_failed;

static void verdict(const char *state, const char *what, const char *detail)
{
	printf("  %-4s %-18s %s\n", state, what, detail);
	if (strcmp(state, "FAIL") == 0)
		verdicts_failed++;
}

/* The clip: espeak-ng speaking CLIP_TEXT, decoded to 16 kHz; else a tone. */
static bool make_clip(struct pcm *pcm, bool *speech)
{
	char dir[] = "/tmp/parley-check-XXXXXX";
	*speech = false;
	memset(pcm, 0, sizeof(*pcm));
	if (mkdtemp(dir)) {
		char wav[64], cmd[256];
		snprintf(wav, sizeof(wav), "%s/clip.wav", dir);
		snprintf(cmd, sizeof(cmd), "espeak-ng -v en-us -s 150 -w %s '%s' >/dev/null 2>&1", wav,
			 CLIP_TEXT);
		if (system(cmd) == 0) {
			struct audio_decode_params p = audio_decode_default_params();
			struct parley_error err = {0};
			if (audio_decode_file(wav, &p, pcm, &err) == PARLEY_OK)
				*speech = true;
		}
		unlink(wav);
		rmdir(dir);
	}
	if (*speech)
		return true;
	pcm->rate = 16000;
	pcm->n = 16000 * 3;
	pcm->samples = calloc(pcm->n, sizeof(*pcm->samples));
	if (!pcm->samples)
		return false;
	for (size_t i = 0; i < pcm->n; i++)
		pcm->samples[i] = (int16_t)(6000 * sin(2 * M_PI * 440 * (double)i / 16000));
	return true;
}

static int check_stt(const struct check_opts *o)
{
	struct pcm pcm;
	bool speech;
	if (!make_clip(&pcm, &speech)) {
		fprintf(stderr, "parley engines: out of memory\n");
		return 1;
	}
	printf("speech to text: %s\n", o->engine);
	verdict("info", "clip", speech ? "espeak-ng, \"" CLIP_TEXT "\"" : "a 3 s tone (no espeak-ng)");
	struct asr_open_params p = asr_open_default_params();
	p.engine = o->engine;
	p.model = o->model;
	p.api_key_env = o->key_env;
	p.timeout = o->timeout;
	p.concurrency = 1;
	p.retries = 1; /* a check reports failures, it does not wait them out */
	struct asr_engine eng;
	struct parley_error err = {0};
	char line[1024];
	if (asr_open(&p, &eng, &err) != PARLEY_OK) {
		verdict("FAIL", "open", err.msg);
		pcm_release(&pcm);
		return 1;
	}
	verdict("info", "engine", asr_engine_version(&eng));
	struct asr_params ap = asr_default_params();
	ap.language = o->language;
	ap.prompt = "walao, lah";
	struct asr_segment seg = {.samples = pcm.samples, .n = pcm.n, .offset = 0};
	double t0 = time_mono();
	enum parley_err rc = asr_engine_transcribe_many(&eng, &ap, &seg, 1, pcm.rate, &err);
	double dt = time_mono() - t0;
	if (rc) {
		verdict("FAIL", "answer", err.msg);
		goto out;
	}
	snprintf(line, sizeof(line), "in %.2f s for %.1f s of audio", dt, (double)pcm.n / pcm.rate);
	verdict("ok", "answer", line);
	if (seg.nwords == 0) {
		verdict(speech ? "FAIL" : "info", "words", "none");
		goto out;
	}
	size_t o2 = 0;
	line[0] = '\0';
	for (size_t i = 0; i < seg.nwords && o2 + ASR_WORD_MAX + 2 < sizeof(line); i++)
		o2 += (size_t)snprintf(line + o2, sizeof(line) - o2, "%s%s", i ? " " : "",
				       seg.words[i].text);
	verdict("ok", "words", line);
	size_t approx = 0, bad = 0, found = 0, expected = 0;
	double dur = (double)pcm.n / pcm.rate;
	for (size_t i = 0; i < seg.nwords; i++) {
		approx += seg.words[i].approximate;
		if (seg.words[i].start < 0 || seg.words[i].end > dur + 0.01 ||
		    seg.words[i].end < seg.words[i].start ||
		    (i && seg.words[i].start < seg.words[i - 1].start))
			bad++;
	}
	if (approx)
		verdict("FAIL", "word timestamps",
			"none from the engine: segment times spread over the words (approximate)");
	else
		verdict("ok", "word timestamps", "one start and end per word");
	snprintf(line, sizeof(line), "%zu of %zu words outside the clip or out of order", bad,
		 seg.nwords);
	verdict(bad ? "FAIL" : "ok", "word times", bad ? line : "inside the clip, in order");
	if (speech) {
		char script[] = CLIP_TEXT;
		char *save = NULL;
		for (char *w = strtok_r(script, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
			expected++;
			for (size_t i = 0; i < seg.nwords; i++)
				if (strcmp(seg.words[i].text, w) == 0) {
					found++;
					break;
				}
		}
		snprintf(line, sizeof(line), "%zu of %zu words of the script heard", found, expected);
		verdict(found * 2 >= expected ? "ok" : "warn", "recognition", line);
	}
	if (seg.language[0]) {
		snprintf(line, sizeof(line), "reported as \"%s\"%s", seg.language,
			 strcmp(seg.language, "en") == 0 ? "" : " (expected en)");
		verdict(strcmp(seg.language, "en") == 0 ? "ok" : "warn", "language", line);
	} else {
		verdict("info", "language", "not reported");
	}
out:
	asr_segments_clear(&seg, 1);
	asr_engine_close(&eng);
	pcm_release(&pcm);
	return verdicts_failed ? 1 : 0;
}

static const char check_schema[] =
	"{\"type\":\"object\",\"properties\":{"
	"\"language\":{\"type\":\"string\",\"enum\":[\"en\",\"ms\",\"zh\",\"ta\"]},"
	"\"greeting\":{\"type\":\"boolean\"},"
	"\"confidence\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1}},"
	"\"required\":[\"language\",\"greeting\",\"confidence\"],\"additionalProperties\":false}";

static int check_llm(const struct check_opts *o)
{
	printf("LLM: %s\n", o->llm);
	struct llm_open_params p = llm_open_default_params();
	p.engine = o->llm;
	p.model = o->model;
	p.api_key_env = o->key_env;
	p.timeout = o->timeout;
	p.retries = 1;
	struct llm_engine eng;
	struct parley_error err = {0};
	char line[1024];
	if (llm_open(&p, &eng, &err) != PARLEY_OK) {
		verdict("FAIL", "open", err.msg);
		return 1;
	}
	verdict("info", "engine", llm_engine_version(&eng));
	json_error_t je;
	json_t *schema = json_loads(check_schema, 0, &je);
	struct llm_request q[2] = {
		{.system = "You classify short utterances. Answer in JSON only.",
		 .user = "Utterance: \"Good morning, how are you today?\" Give its language code, "
			 "whether it is a greeting, and your confidence from 0 to 1.",
		 .schema = schema, .schema_name = "utterance"},
	};
	q[1] = q[0];
	struct llm_answer a[2];
	double t0 = time_mono();
	enum parley_err rc = llm_ask_many(&eng, NULL, q, 2, a, &err);
	double dt = time_mono() - t0;
	if (rc) {
		verdict("FAIL", "answer", err.msg);
		goto out;
	}
	snprintf(line, sizeof(line), "2 requests in %.2f s, model \"%s\"", dt,
		 a[0].model[0] ? a[0].model : "(not named)");
	verdict("ok", "answer", line);
	if (a[0].valid && a[0].attempts == 1) {
		verdict("ok", "schema enforced", "the first reply matched the JSON schema");
	} else if (a[0].valid) {
		snprintf(line, sizeof(line),
			 "no: the first reply did not match; the retry with the error did");
		verdict("warn", "schema enforced", line);
	} else {
		snprintf(line, sizeof(line), "no: both replies failed validation: %s", a[0].error);
		verdict("FAIL", "schema enforced", line);
	}
	if (a[0].valid) {
		json_t *lang = json_object_get(a[0].json, "language");
		snprintf(line, sizeof(line), "language \"%s\"", json_string_value(lang) ? json_string_value(lang) : "?");
		verdict(json_string_value(lang) && strcmp(json_string_value(lang), "en") == 0 ? "ok" : "warn",
			"content", line);
	}
	bool same = a[0].text && a[1].text && strcmp(a[0].text, a[1].text) == 0;
	verdict(same ? "ok" : "warn", "repeatable",
		same ? "the same prompt gave the same reply (temperature 0, seed sent)"
		     : "the same prompt gave different replies");
	snprintf(line, sizeof(line), "prompt %.16s…, schema %.16s…", a[0].prompt_hash, a[0].schema_hash);
	verdict("info", "hashes", line);
	llm_answer_release(&a[0]);
	llm_answer_release(&a[1]);
out:
	json_decref(schema);
	llm_engine_close(&eng);
	return verdicts_failed ? 1 : 0;
}

static void list_table(const char *kind, const struct engine_scheme *t, size_t n)
{
	printf("%s:\n", kind);
	for (size_t i = 0; i < n; i++)
		printf("  %-42s %s\n", t[i].syntax, t[i].summary);
}

int cmd_engines(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(engines_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "list") == 0) {
		list_table("speech to text (stt.engine)", asr_scheme_list, asr_scheme_count);
		list_table("LLM (llm.engine)", llm_scheme_list, llm_scheme_count);
		printf("diarization (diarize.engine):\n  %-42s %s\n", "builtin",
		       "parley's own (MFCC statistics, clustering)");
		return 0;
	}
	if (strcmp(argv[1], "check") != 0) {
		fprintf(stderr, "parley engines: unknown subcommand '%s'\n\n%s", argv[1], engines_usage);
		return 2;
	}
	static const struct option longopts[] = {
		{"llm", required_argument, NULL, 'l'},
		{"model", required_argument, NULL, 'm'},
		{"api-key-env", required_argument, NULL, 'k'},
		{"language", required_argument, NULL, 'L'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct check_opts o = {.language = "en", .timeout = 60};
	int c;
	optind = 1;
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': o.llm = optarg; break;
		case 'm': o.model = optarg; break;
		case 'k': o.key_env = optarg; break;
		case 'L': o.language = optarg; break;
		case 't': {
			char *end;
			o.timeout = strtod(optarg, &end);
			if (*end || !(o.timeout > 0)) {
				fprintf(stderr, "parley engines: --timeout wants seconds > 0\n");
				return 2;
			}
			break;
		}
		case 'h': fputs(engines_usage, stdout); return 0;
		default: fputs(engines_usage, stderr); return 2;
		}
	}
	if (optind < argc)
		o.engine = argv[optind++];
	if (optind < argc || (!o.engine && !o.llm) || (o.engine && o.llm)) {
		fprintf(stderr, "parley engines check: give one ENGINE, or --llm ENGINE\n\n%s",
			engines_usage);
		return 2;
	}
	verdicts_failed = 0;
	int rc = o.llm ? check_llm(&o) : check_stt(&o);
	printf("%s\n", rc ? "result: NOT usable as configured (see FAIL lines)" : "result: usable");
	return rc;
}
