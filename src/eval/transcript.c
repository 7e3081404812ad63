/* transcript.c — see transcript.h. */
#include "eval/transcript.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"
#include "util/json_nomem.h"

void eval_transcript_release(struct eval_transcript *t)
{
	if (!t)
		return;
	free(t->text);
	kw_counts_release(&t->counts);
	memset(t, 0, sizeof(*t));
}

static enum parley_err parse_words(const json_t *words, const char *path, size_t max_text,
				   char **text, struct parley_error *err)
{
	if (!json_is_array(words))
		return parley_error_set(err, PARLEY_ERR_INVALID, "%s: \"words\" is not an array",
					path);
	struct strbuf sb;
	strbuf_init(&sb, max_text);
	enum parley_err rc = PARLEY_OK;
	size_t i;
	json_t *w;
	json_array_foreach(words, i, w) {
		const char *word = json_string_value(json_object_get(w, "word"));
		if (!word) {
			rc = parley_error_set(err, PARLEY_ERR_INVALID,
					      "%s: words[%zu] has no \"word\" string", path, i);
			goto out;
		}
		const json_t *approx = json_object_get(w, "approximate");
		if (approx && !json_is_boolean(approx)) {
			rc = parley_error_set(err, PARLEY_ERR_INVALID,
					      "%s: words[%zu] \"approximate\" is not a boolean", path,
					      i);
			goto out;
		}
		if ((rc = strbuf_adds(&sb, word)) || (rc = strbuf_adds(&sb, " "))) {
			rc = parley_error_set(err, rc, "%s: transcript longer than %zu bytes", path,
					      max_text);
			goto out;
		}
	}
	*text = strbuf_detach(&sb, NULL);
out:
	strbuf_release(&sb);
	return rc;
}

static enum parley_err parse_counts(const json_t *counts, const char *path, struct kw_counts *c,
				    struct parley_error *err)
{
	if (!json_is_object(counts))
		return parley_error_set(err, PARLEY_ERR_INVALID, "%s: \"counts\" is not an object",
					path);
	const char *spk;
	json_t *per;
	json_object_foreach((json_t *)counts, spk, per) {
		const char *word;
		json_t *n;
		if (!json_is_object(per))
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"%s: counts of \"%.64s\" is not an object", path, spk);
		json_object_foreach(per, word, n) {
			if (!json_is_integer(n) || json_integer_value(n) < 0)
				return parley_error_set(err, PARLEY_ERR_INVALID,
							"%s: count of \"%.64s\"/\"%.64s\" is not a "
							"non-negative integer",
							path, spk, word);
			enum parley_err rc =
				kw_counts_add(c, spk, word, (long)json_integer_value(n), err);
			if (rc) {
				parley_error_prefix(err, "%s", path);
				return rc;
			}
		}
	}
	return PARLEY_OK;
}

enum parley_err eval_transcript_parse(const char *data, size_t len, const char *path,
				      size_t max_text, struct eval_transcript *t,
				      struct parley_error *err)
{
	memset(t, 0, sizeof(*t));
	json_error_t jerr;
	json_nomem_reset();
	json_t *root = json_loadb(data, len, 0, &jerr);
	if (json_load_nomem(root, &jerr))
		return parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory reading it", path);
	if (!root || !json_is_object(root)) {
		json_decref(root);
		return parley_error_set(err, PARLEY_ERR_INVALID, "%s:%d: %s", path,
					root ? 1 : jerr.line, root ? "not a JSON object" : jerr.text);
	}
	enum parley_err rc = PARLEY_OK;
	json_t *words = json_object_get(root, "words"), *counts = json_object_get(root, "counts");
	json_t *transcribed = json_object_get(root, "transcribed");
	if (transcribed && !json_is_boolean(transcribed)) {
		rc = parley_error_set(err, PARLEY_ERR_INVALID,
				      "%s: \"transcribed\" is not true or false", path);
		goto out;
	}
	if (json_is_false(transcribed))
		goto out; /* no recogniser ran: nothing to score */
	if (words && (rc = parse_words(words, path, max_text, &t->text, err)))
		goto out;
	if (counts) {
		if ((rc = parse_counts(counts, path, &t->counts, err)))
			goto out;
		t->have_counts = true;
	}
out:
	json_decref(root);
	if (rc)
		eval_transcript_release(t);
	return rc;
}
