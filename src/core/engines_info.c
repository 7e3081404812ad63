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
#include "text/lexicon.h"
#include "util/fs.h"

static const char *model_dir_of(const struct stage_config *cfg)
{
	const char *e = cfg->stt.engine;
	if (strncmp(e, "pocketsphinx:", 13) == 0 && e[13])
		return e + 13;
	return cfg->model_dir[0] ? cfg->model_dir : ASR_POCKETSPHINX_MODEL_DIR;
}

static bool stt_external(const struct stage_config *cfg)
{
	return asr_engine_is_external(cfg->stt.engine);
}

enum parley_err engines_check_config(const struct stage_config *cfg, struct parley_error *err)
{
	struct lexicon *lex = NULL;
	enum parley_err rc = cfg->lexicon_path[0] ? lexicon_load_file(cfg->lexicon_path, &lex, err)
						  : lexicon_default(&lex, err);
	lexicon_free(lex);
	if (rc || (rc = asr_engine_check(cfg->stt.engine, err)))
		return rc;
	if (cfg->stt.api_key_env[0] && !getenv(cfg->stt.api_key_env))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"the API key variable %s (--api-key-env) is not set",
					cfg->stt.api_key_env);
	if (stt_external(cfg))
		return PARLEY_OK;
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

enum parley_err engines_describe(const struct stage_config *cfg, char **json,
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
	snprintf(lexicon, sizeof(lexicon), "%s", cfg->lexicon_path[0] ? cfg->lexicon_path : "built-in singlish");
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "parley", PARLEY_VERSION, "decode", decode,
			      "vad", "WebRTC VAD (webrtc-audio-processing 0.3), mode 2, hangover smoothing",
			      "diarize", "parley built-in (MFCC statistics, clustering)", "stt", stt,
			      "lexicon", lexicon);
	if (!o)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory describing engines");
	/* the speech-to-text engine as configured (never its API key, only the
	 * variable's name is configuration, and that is not written either) */
	const char *name = !cfg->stt.engine[0] ? "pocketsphinx"
			   : strncmp(cfg->stt.engine, "openai+", 7) == 0 ? "openai"
			   : strncmp(cfg->stt.engine, "whispercpp+", 11) == 0 ? "whispercpp"
			   : strncmp(cfg->stt.engine, "exec:", 5) == 0 ? "exec"
								       : "pocketsphinx";
	const char *where = !stt_external(cfg) ? model_dir_of(cfg)
			    : strchr(cfg->stt.engine, '+') ? strchr(cfg->stt.engine, '+') + 1
							   : cfg->stt.engine + 5;
	const char *model = cfg->stt.model[0] ? cfg->stt.model
			    : strcmp(name, "openai") == 0 ? "whisper-1"
			    : strcmp(name, "pocketsphinx") == 0 ? "en-us" : "";
	json_t *se = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", name,
			       strcmp(name, "exec") == 0 ? "command" : stt_external(cfg) ? "url" : "model_dir",
			       where, "model", model, "version",
			       strcmp(name, "exec") == 0 ? ""
			       : stt_external(cfg)       ? remote_library_version()
							 : "pocketsphinx 5prealpha",
			       "unit", cfg->stt.unit == STAGE_STT_FILE ? "file" : "turn", "language",
			       cfg->stt.language);
	if (!se || json_object_set_new(o, "stt_engine", se)) {
		json_decref(o);
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory describing engines");
	}
	*json = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
	json_decref(o);
	return *json ? PARLEY_OK : parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
}
