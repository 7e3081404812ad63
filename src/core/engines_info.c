/* engines_info.c — see engines_info.h. */
#include "core/engines_info.h"

#include <jansson.h>
#include <libavcodec/version.h>
#include <libavformat/version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/pocketsphinx.h"
#include "text/lexicon.h"
#include "util/fs.h"

static const char *model_dir_of(const struct stage_config *cfg)
{
	return cfg->model_dir[0] ? cfg->model_dir : ASR_POCKETSPHINX_MODEL_DIR;
}

enum parley_err engines_check_config(const struct stage_config *cfg, struct parley_error *err)
{
	struct lexicon *lex = NULL;
	enum parley_err rc = cfg->lexicon_path[0] ? lexicon_load_file(cfg->lexicon_path, &lex, err)
						  : lexicon_default(&lex, err);
	lexicon_free(lex);
	if (rc)
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

enum parley_err engines_describe(const struct stage_config *cfg, char **json,
				 struct parley_error *err)
{
	char decode[128], stt[PARLEY_PATH_MAX + 64], lexicon[PARLEY_PATH_MAX + 32];
	snprintf(decode, sizeof(decode), "FFmpeg %s / %s", LIBAVFORMAT_IDENT, LIBAVCODEC_IDENT);
	snprintf(stt, sizeof(stt), "pocketsphinx 5prealpha, model %s, keyword LM interpolation",
		 model_dir_of(cfg));
	snprintf(lexicon, sizeof(lexicon), "%s", cfg->lexicon_path[0] ? cfg->lexicon_path : "built-in singlish");
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "parley", PARLEY_VERSION, "decode", decode,
			      "vad", "WebRTC VAD (webrtc-audio-processing 0.3), mode 2, hangover smoothing",
			      "diarize", "parley built-in (MFCC statistics, clustering)", "stt", stt,
			      "lexicon", lexicon);
	if (!o)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory describing engines");
	*json = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
	json_decref(o);
	return *json ? PARLEY_OK : parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
}
