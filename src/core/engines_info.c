/* engines_info.c — see engines_info.h. */
#include "core/engines_info.h"

#include <jansson.h>
#include <libavcodec/version.h>
#include <libavformat/version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/engines.h"
#include "engines/pocketsphinx.h"
#include "engines/remote.h"
#include "stages/env.h"
#include "text/lexicon.h"
#include "util/fs.h"

static const char *model_dir_of(const struct pipeline_config *cfg)
{
	const char *dir = stage_config_model_dir(cfg);
	return dir ? dir : ASR_POCKETSPHINX_MODEL_DIR;
}

static bool stt_external(const struct pipeline_config *cfg)
{
	return asr_engine_is_external(cfg->stt.engine);
}

/* The API key variable is not checked here: the workers need it, and they
 * may run elsewhere (a worker without it fails the recording, naming it). */
enum parley_err engines_check_config(const struct pipeline_config *cfg, struct parley_error *err)
{
	enum parley_err rc = asr_engine_check(cfg->stt.engine, err);
	if (rc) {
		parley_error_prefix(err, "stt.engine");
		return rc;
	}
	if (strcmp(cfg->diarize.engine, "builtin") != 0 &&
	    !(strncmp(cfg->diarize.engine, "exec:", 5) == 0 && cfg->diarize.engine[5]))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"diarize.engine '%s': builtin or exec:COMMAND (printing RTTM)",
					cfg->diarize.engine);
	struct lexicon *lex = NULL;
	rc = stage_config_lexicon(cfg, &lex, err);
	lexicon_free(lex);
	if (rc || stt_external(cfg))
		return rc;
	const char *dir = model_dir_of(cfg);
	static const char *const needed[] = {"en-us", "en-us.lm.bin", "cmudict-en-us.dict"};
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		char path[PARLEY_PATH_MAX];
		if ((rc = fs_path_join(path, sizeof(path), dir, needed[i], err)))
			return rc;
		if (!fs_exists(path))
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"speech model folder %s has no %s (install pocketsphinx-en-us, or pass --model DIR)",
						dir, needed[i]);
	}
	return PARLEY_OK;
}

enum parley_err engines_describe(const struct pipeline_config *cfg, char **json,
				 struct parley_error *err)
{
	char decode[128], stt[PARLEY_PATH_MAX + 64], lexicon[PARLEY_PATH_MAX + 32];
	snprintf(decode, sizeof(decode), "FFmpeg %s / %s", LIBAVFORMAT_IDENT, LIBAVCODEC_IDENT);
	if (stt_external(cfg))
		snprintf(stt, sizeof(stt), "%s%s%s", cfg->stt.engine,
			 cfg->stt.model[0] ? ", model " : "", cfg->stt.model);
	else
		snprintf(stt, sizeof(stt), "pocketsphinx 5prealpha, model %s, keyword LM interpolation",
			 model_dir_of(cfg));
	snprintf(lexicon, sizeof(lexicon), "%s",
		 cfg->lexicon.path[0] ? cfg->lexicon.path : cfg->lexicon.text ? "inline" : "built-in singlish");
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "parley", PARLEY_VERSION, "decode", decode,
			      "vad", "WebRTC VAD (webrtc-audio-processing 0.3), mode 2, hangover smoothing",
			      "diarize",
			      strncmp(cfg->diarize.engine, "exec:", 5) == 0
				      ? cfg->diarize.engine
				      : "parley built-in (MFCC statistics, clustering)",
			      "stt", stt,
			      "lexicon", lexicon);
	if (!o)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory describing engines");
	/* the speech-to-text engine as configured: never a key (the configuration
	 * holds only the variable's name, and that is not written here either) */
	const char *e = cfg->stt.engine;
	const char *name = strncmp(e, "openai+", 7) == 0       ? "openai"
			   : strncmp(e, "whispercpp+", 11) == 0 ? "whispercpp"
			   : strncmp(e, "exec:", 5) == 0        ? "exec"
								: "pocketsphinx";
	bool exec = strcmp(name, "exec") == 0;
	const char *where = !stt_external(cfg) ? model_dir_of(cfg)
			    : exec               ? e + 5
						 : strchr(e, '+') + 1;
	const char *model = cfg->stt.model[0]              ? cfg->stt.model
			    : strcmp(name, "openai") == 0       ? "whisper-1"
			    : strcmp(name, "pocketsphinx") == 0 ? "en-us"
								: "";
	const char *version = exec ? "" : stt_external(cfg) ? remote_library_version()
							    : "pocketsphinx 5prealpha";
	json_t *se = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", name,
			       exec ? "command" : stt_external(cfg) ? "url" : "model_dir", where,
			       "model", model, "version", version, "unit",
			       cfg->stt.unit == PC_UNIT_FILE ? "file" : "turn", "language",
			       cfg->stt.language);
	if (!se || json_object_set_new(o, "stt_engine", se)) {
		json_decref(o);
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory describing engines");
	}
	*json = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
	json_decref(o);
	return *json ? PARLEY_OK : parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
}
