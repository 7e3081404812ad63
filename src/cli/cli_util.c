/* cli_util.c — option parsing helpers shared by the commands; see cli.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "audit/questionnaire.h"
#include "audit/rules.h"
#include "core/call_metadata.h"
#include "store/store_audit.h"
#include "core/config.h"
#include "core/engines_info.h"
#include "core/pipeline.h"
#include "stages/pipeline_config.h"
#include "queue/queue.h"
#include "store/db.h"
#include "store/store.h"
#include "util/fs.h"

int cli_parse_int(const char *flag, const char *value, int min, int max, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (errno || end == value || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "parley: %s wants a whole number from %d to %d, not '%s'\n", flag, min,
			max, value);
		return -1;
	}
	*out = (int)v;
	return 0;
}

int cli_engine_opt(struct cli_engine_opts *eo, int c, const char *key, const char *value)
{
	static const struct {
		int letter;
		const char *key;
	} letters[] = {{'S', "store"}, {'Q', "queue"}, {'P', "queue_prefix"}, {'A', "data"}};
	if (c == 'C') {
		eo->config = value;
		return 0;
	}
	for (size_t i = 0; !key && i < sizeof(letters) / sizeof(letters[0]); i++)
		if (letters[i].letter == c)
			key = letters[i].key;
	if (!key || eo->n >= CLI_ENGINE_SETS_MAX) {
		fprintf(stderr, "parley: too many options\n");
		return 2;
	}
	eo->set[eo->n].key = key;
	eo->set[eo->n++].value = value;
	return 0;
}

int cli_engine_config(const char *who, const struct cli_engine_opts *eo, struct parley_config *cfg)
{
	struct parley_error err = {0};
	*cfg = config_defaults();
	const char *file = eo->config ? eo->config : getenv("PARLEY_CONFIG");
	if (config_load(file, cfg, &err) || config_from_env(cfg, &err)) {
		fprintf(stderr, "%s: %s\n", who, err.msg);
		return 2;
	}
	for (int i = 0; i < eo->n; i++) {
		if (config_set(cfg, eo->set[i].key, eo->set[i].value, &err)) {
			fprintf(stderr, "%s: %s\n", who, err.msg);
			return 2;
		}
	}
	return 0;
}

int cli_pipeline_opt(struct cli_pipeline_opts *po, int c, const char *value)
{
	if (c == 2000) {
		po->file = value;
		return 0;
	}
	if (po->n >= CLI_PIPELINE_SETS_MAX) {
		fprintf(stderr, "parley: too many pipeline options\n");
		return 2;
	}
	po->set[po->n].c = c;
	po->set[po->n++].value = value;
	return 0;
}

bool cli_pipeline_given(const struct cli_pipeline_opts *po)
{
	return po->file || po->n > 0;
}

/* The flags that set one key. */
static const struct {
	int c;
	const char *flag, *key;
} pipeline_flags[] = {
	{2001, "--speakers", "diarize.speakers"},
	{2002, "--min-speakers", "diarize.min_speakers"},
	{2003, "--max-speakers", "diarize.max_speakers"},
	{2004, "--overlap", "diarize.overlap"},
	{2005, "--diarizer", "diarize.method"},
	{2006, "--lexicon", "lexicon.path"},
	{2007, "--model", "stt.engine"},
	{2009, "--stt", "stt.engine"},
	{2010, "--stt-unit", "stt.unit"},
	{2011, "--api-key-env", "stt.api_key_env"},
	{2012, "--preset", "preset"},
	{2013, "--denoise", "denoise.enabled"},
};

/* Apply one recorded flag; fills err with a message naming the flag. */
static enum parley_err pipeline_flag_apply(struct pipeline_config *cfg, int c, const char *value,
					   struct parley_error *err)
{
	if (c == 2008) { /* --set KEY=VALUE */
		const char *eq = strchr(value, '=');
		char key[64];
		if (!eq || eq == value || (size_t)(eq - value) >= sizeof(key))
			return parley_error_set(err, PARLEY_ERR_INVALID, "--set wants KEY=VALUE, not '%s'",
						value);
		snprintf(key, sizeof(key), "%.*s", (int)(eq - value), value);
		enum parley_err rc = pipeline_config_set(cfg, key, eq + 1, err);
		if (rc == PARLEY_OK && strcmp(key, "lexicon.path") == 0) {
			free(cfg->lexicon.text); /* the file is read again */
			cfg->lexicon.text = NULL;
		}
		if (rc)
			parley_error_prefix(err, "--set");
		return rc;
	}
	for (size_t i = 0; i < sizeof(pipeline_flags) / sizeof(pipeline_flags[0]); i++) {
		if (pipeline_flags[i].c != c)
			continue;
		const char *key = pipeline_flags[i].key;
		char model[PC_ENGINE_MAX];
		if (c == 2004 || c == 2013)
			value = "true";
		if (c == 2007) {
			snprintf(model, sizeof(model), "pocketsphinx:%s", value);
			value = model;
		}
		struct parley_error e = {0};
		enum parley_err rc = pipeline_config_set(cfg, key, value, &e);
		if (rc) {
			/* "diarize.speakers wants …" → "--speakers wants …" */
			size_t n = strlen(key);
			const char *rest = strncmp(e.msg, key, n) == 0 ? e.msg + n : NULL;
			if (rest)
				return parley_error_set(err, rc, "%s%s", pipeline_flags[i].flag, rest);
			return parley_error_set(err, rc, "%s: %s", pipeline_flags[i].flag, e.msg);
		}
		if (c == 2006) {
			free(cfg->lexicon.text);
			cfg->lexicon.text = NULL;
		}
		return PARLEY_OK;
	}
	return parley_error_set(err, PARLEY_ERR_INTERNAL, "unknown pipeline option %d", c);
}

int cli_pipeline_config(const char *who, const struct cli_pipeline_opts *po,
			struct pipeline_config *cfg)
{
	struct parley_error err = {0};
	pipeline_config_init(cfg);
	enum parley_err rc = po->file ? pipeline_config_load(po->file, cfg, &err) : PARLEY_OK;
	/* --preset first: the other flags override what it sets (channels.mode) */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; rc == PARLEY_OK && i < po->n; i++)
			if ((po->set[i].c == 2012) == (pass == 0))
				rc = pipeline_flag_apply(cfg, po->set[i].c, po->set[i].value, &err);
	if (rc == PARLEY_OK)
		rc = pipeline_config_lexicon_resolve(cfg, &err);
	if (rc == PARLEY_OK)
		rc = pipeline_config_check(cfg, &err);
	if (rc == PARLEY_OK)
		rc = engines_check_config(cfg, &err);
	if (rc == PARLEY_OK)
		return 0;
	fprintf(stderr, "%s: %s\n", who, err.msg);
	pipeline_config_release(cfg);
	pipeline_config_init(cfg);
	return 2;
}

static bool target_is_url(const char *t)
{
	return strstr(t, "://") != NULL;
}

int cli_serve_defaults(const char *who, struct parley_config *cfg)
{
	if (*cfg->store)
		return 0;
	if (!*cfg->data)
		snprintf(cfg->data, sizeof(cfg->data), "parley-data");
	if (snprintf(cfg->store, sizeof(cfg->store), "%s/parley.db", cfg->data) >=
	    (int)sizeof(cfg->store)) {
		fprintf(stderr, "%s: --data %s: path too long\n", who, cfg->data);
		return 2;
	}
	return 0;
}

int cli_store_usage(const char *who, const struct parley_config *cfg)
{
	if (!*cfg->store) {
		fprintf(stderr, "%s: no store given: use --store PATH|URL, PARLEY_STORE, or store = … "
			"in the config file\n", who);
		return 2;
	}
	if (target_is_url(cfg->store) && !*cfg->data) {
		fprintf(stderr, "%s: with a %s store, give the stage data directory every worker "
			"shares: --data DIR or PARLEY_DATA\n", who, "server");
		return 2;
	}
	return 0;
}

int cli_store_open(const char *who, const struct parley_config *cfg, bool create,
		   struct store **st, char *data_dir, size_t size)
{
	struct parley_error err = {0};
	*st = NULL;
	const char *target = cfg->store;
	if (!*target)
		return cli_store_usage(who, cfg);
	const char *path = strncmp(target, "sqlite:", 7) == 0 ? target + 7 : target;
	bool url = target_is_url(target);
	if (!url && !create && !fs_exists(path)) {
		fprintf(stderr, "%s: no store at %s (add recordings with `parley submit` first)\n", who,
			path);
		return 1;
	}
	if (cli_store_usage(who, cfg))
		return 2;
	char dir[PARLEY_PATH_MAX];
	if (!url) {
		/* the SQLite file's folder: created on submit, default home of the data */
		snprintf(dir, sizeof(dir), "%s", path);
		char *slash = strrchr(dir, '/');
		if (!slash)
			snprintf(dir, sizeof(dir), ".");
		else if (slash == dir)
			dir[1] = '\0';
		else
			*slash = '\0';
		if (create && fs_mkdir_p(dir, &err)) {
			fprintf(stderr, "%s: %s: %s\n", who, path, err.msg);
			return 1;
		}
	}
	if (*cfg->data) {
		snprintf(data_dir, size, "%s", cfg->data);
	} else if (fs_path_join(data_dir, size, dir, "data", &err)) {
		fprintf(stderr, "%s: %s: %s\n", who, path, err.msg);
		return 1;
	}
	if ((create && fs_mkdir_p(data_dir, &err)) || store_open(target, st, &err)) {
		/* a server's messages already name it (password removed) */
		if (url)
			fprintf(stderr, "%s: %s\n", who, err.msg);
		else
			fprintf(stderr, "%s: %s: %s\n", who, path, err.msg);
		store_close(*st);
		*st = NULL;
		return 1;
	}
	return 0;
}

int cli_queue_push_leasable(const char *who, const struct parley_config *cfg, struct store *st)
{
	struct parley_error err = {0};
	struct queue *q = NULL;
	if (queue_open(cfg->queue, cfg->queue_prefix, &q, &err) || queue_push_leasable(q, st, &err)) {
		fprintf(stderr, "%s: %s\n", who, err.msg);
		queue_close(q);
		return 1;
	}
	queue_close(q);
	return 0;
}

int cli_metadata_load(const char *who, const char *path, struct call_metadata **md)
{
	struct parley_error err = {0};
	if (call_metadata_load(path, md, &err)) {
		fprintf(stderr, "%s: %s\n", who, err.msg);
		return 2;
	}
	return 0;
}

int cli_audit_opt(struct cli_audit_opts *ao, int c, const char *arg)
{
	if (c == 2100)
		ao->rules = arg;
	else if (c == 2101)
		ao->questionnaire = arg;
	return 0;
}

bool cli_audit_given(const struct cli_audit_opts *ao)
{
	return ao->rules != NULL || ao->questionnaire != NULL;
}

int cli_audit_check_stages(const char *who, const struct cli_audit_opts *ao,
			   const struct pipeline *pl)
{
	static const struct {
		const char *what, *stage;
	} need[] = {{"--questionnaire", "answers"}, {"--rules", "verdicts"}};
	const char *given[] = {ao->questionnaire, ao->rules};
	for (size_t i = 0; i < 2; i++)
		if (given[i] && (!pl || !pipeline_has(pl, need[i].stage))) {
			fprintf(stderr, "%s: %s needs the %s stage (--preset audit, or --stages …,%s)\n",
				who, need[i].what, need[i].stage, need[i].stage);
			return 2;
		}
	return 0;
}

int cli_audit_load(const char *who, const struct cli_audit_opts *ao,
		   const struct pipeline_config *cfg, struct cli_audit *a)
{
	struct parley_error err = {0};
	memset(a, 0, sizeof(*a));
	size_t len = 0;
	struct questionnaire *q = NULL;
	const char **ids = NULL;
	int status = 2;
	if (ao->questionnaire) {
		if (fs_read_file(ao->questionnaire, QN_DOC_MAX, &a->questionnaire, &len, &err) ||
		    questionnaire_parse(a->questionnaire, len, ao->questionnaire, &q, &err)) {
			fprintf(stderr, "%s: %s\n", who, err.msg);
			goto out;
		}
		for (size_t i = 0; i < q->n; i++)
			if (q->q[i].how == QN_BY_LLM && !cfg->llm.engine[0]) {
				fprintf(stderr,
					"%s: %s:%d: question \"%s\" is answered by the LLM: configure "
					"one (--set llm.engine=openai+http://HOST/v1, README "
					"\"Questionnaires\")\n",
					who, ao->questionnaire, q->q[i].line, q->q[i].id);
				goto out;
			}
	}
	if (ao->rules) {
		struct rules_known known = {0};
		if (q) {
			ids = calloc(q->n, sizeof(*ids));
			if (!ids) {
				fprintf(stderr, "%s: out of memory\n", who);
				goto out;
			}
			for (size_t i = 0; i < q->n; i++)
				ids[i] = q->q[i].id;
			known = (struct rules_known){ids, q->n, true};
		}
		struct rules *r = NULL;
		if (fs_read_file(ao->rules, RULES_TEXT_MAX, &a->rules, &len, &err) ||
		    rules_parse(a->rules, len, ao->rules, q ? &known : NULL, &r, &err)) {
			fprintf(stderr, "%s: %s\n", who, err.msg);
			goto out;
		}
		rules_free(r);
	}
	status = 0;
out:
	free(ids);
	questionnaire_free(q);
	if (status)
		cli_audit_release(a);
	return status;
}

static bool text_differs(const char *given, const char *stored)
{
	return given && strcmp(given, stored ? stored : "") != 0;
}

enum parley_err cli_audit_store(struct store *st, int64_t batch_id, const struct cli_audit *a,
				struct parley_error *err)
{
	if (!a->rules && !a->questionnaire)
		return PARLEY_OK;
	struct store_audit cur = {0};
	enum parley_err rc = store_audit_get(st, batch_id, 0, &cur, err);
	if (rc == PARLEY_ERR_NOT_FOUND) {
		parley_error_clear(err);
		int version;
		return store_audit_add(st, batch_id, a->questionnaire ? a->questionnaire : "",
				       a->rules ? a->rules : "", "", &version, err);
	}
	if (!rc && (text_differs(a->rules, cur.rules) || text_differs(a->questionnaire, cur.questionnaire)))
		rc = parley_error_set(err, PARLEY_ERR_CONFLICT,
				      "the batch is audited with %s (audit version %d); a batch's "
				      "questionnaire and rules change by reaudit only",
				      text_differs(a->questionnaire, cur.questionnaire)
					      ? "another questionnaire" : "other rules",
				      cur.version);
	store_audit_release(&cur);
	return rc;
}

void cli_audit_release(struct cli_audit *a)
{
	free(a->rules);
	free(a->questionnaire);
	a->rules = NULL;
	a->questionnaire = NULL;
}
