/* batch_config.c — see batch_config.h. */
#include "core/batch_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "" and "{}" (the column's default): nothing stored yet. */
static bool config_unset(const char *text)
{
	return text[0] == '\0' || strcmp(text, "{}") == 0;
}

enum parley_err batch_config_load(struct store *st, int64_t batch_id, struct pipeline_config *out,
				  struct parley_error *err)
{
	pipeline_config_init(out);
	char *text = NULL;
	enum parley_err rc = store_batch_get_config(st, batch_id, &text, err);
	if (rc == PARLEY_OK) {
		char name[64];
		snprintf(name, sizeof(name), "batch %lld configuration", (long long)batch_id);
		rc = pipeline_config_parse(out, name, text, strlen(text), err);
	}
	free(text);
	if (rc) {
		pipeline_config_release(out);
		pipeline_config_init(out);
	}
	return rc;
}

enum parley_err batch_config_store(struct store *st, int64_t batch_id, const char *batch_name,
				   const struct pipeline_config *cfg, struct parley_error *err)
{
	char *stored = NULL, *json = NULL;
	struct pipeline_config old, defaults;
	pipeline_config_init(&old);
	pipeline_config_init(&defaults);
	enum parley_err rc = store_batch_get_config(st, batch_id, &stored, err);
	if (rc)
		goto out;
	if (!config_unset(stored)) {
		if (!cfg)
			goto out; /* nothing given: the batch keeps its own */
		if ((rc = batch_config_load(st, batch_id, &old, err)))
			goto out;
		const char *key = pipeline_config_diff(&old, cfg);
		if (key)
			rc = parley_error_set(err, PARLEY_ERR_CONFLICT,
					      "batch '%s' was submitted with another pipeline configuration "
					      "(%s differs; `parley config %s` shows it): add to a new "
					      "batch, or give the same options",
					      batch_name, key, batch_name);
		goto out;
	}
	if ((rc = pipeline_config_to_json(cfg ? cfg : &defaults, false, &json, err)))
		goto out;
	rc = store_batch_set_config(st, batch_id, json, err);
out:
	free(stored);
	free(json);
	pipeline_config_release(&old);
	pipeline_config_release(&defaults);
	return rc;
}
