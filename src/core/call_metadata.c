/* call_metadata.c — see call_metadata.h. */
#include "core/call_metadata.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"

struct md_key {
	const char *key; /* into vals */
	size_t row;
};

struct call_metadata {
	char *name; /* for messages */
	char **cols; /* header names */
	size_t ncols;
	size_t file_col;
	char **vals; /* nrows * ncols */
	size_t *lines;
	size_t nrows, cap;
	struct md_key *by_file; /* rows sorted by file */
	struct md_key *by_base; /* rows sorted by the file's base name */
};

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* Length of the valid UTF-8 prefix of s[0..n). */
static size_t utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t k;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			k = 1;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			k = 2;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			k = 3;
			cp = c & 0x07;
		} else {
			return i;
		}
		if (i + k >= n)
			return i;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + j] & 0x3F);
		}
		static const uint32_t min[4] = {0, 0x80, 0x800, 0x10000};
		if (cp < min[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return i;
		i += k + 1;
	}
	return n;
}

static size_t line_at(const char *text, size_t off)
{
	size_t line = 1;
	for (size_t i = 0; i < off; i++)
		line += text[i] == '\n';
	return line;
}

void call_metadata_free(struct call_metadata *md)
{
	if (!md)
		return;
	free(md->name);
	for (size_t i = 0; i < md->ncols; i++)
		free(md->cols[i]);
	for (size_t i = 0; i < md->nrows * md->ncols; i++)
		free(md->vals[i]);
	free(md->cols);
	free(md->vals);
	free(md->lines);
	free(md->by_file);
	free(md->by_base);
	free(md);
}

/* One record: fields into rec[] (new strings), *nrec of them. */
struct reader {
	const char *name, *text;
	size_t len, pos, line;
	char buf[CALL_METADATA_FIELD_MAX + 1];
};

static enum parley_err read_record(struct reader *r, char **rec, size_t *nrec, size_t *start_line,
				   struct parley_error *err)
{
	*nrec = 0;
	*start_line = r->line;
	for (;;) {
		size_t n = 0;
		bool quoted = false;
		size_t field_line = r->line;
		if (r->pos < r->len && r->text[r->pos] == '"') {
			quoted = true;
			r->pos++;
		}
		for (;;) {
			if (r->pos >= r->len) {
				if (quoted)
					return parley_error_set(err, PARLEY_ERR_INVALID,
								"%s:%zu: a quoted field is not closed",
								r->name, field_line);
				break;
			}
			char c = r->text[r->pos];
			if (quoted) {
				if (c == '"') {
					if (r->pos + 1 < r->len && r->text[r->pos + 1] == '"') {
						r->pos += 2;
					} else {
						r->pos++;
						quoted = false;
						if (r->pos < r->len && r->text[r->pos] != ',' &&
						    r->text[r->pos] != '\n' && r->text[r->pos] != '\r')
							return parley_error_set(
								err, PARLEY_ERR_INVALID,
								"%s:%zu: text after a closing quote",
								r->name, r->line);
						continue;
					}
				} else {
					r->pos++;
					if (c == '\n')
						r->line++;
				}
			} else {
				if (c == ',' || c == '\n' || c == '\r')
					break;
				if (c == '"')
					return parley_error_set(err, PARLEY_ERR_INVALID,
								"%s:%zu: a quote inside an unquoted field",
								r->name, r->line);
				r->pos++;
			}
			if (n >= CALL_METADATA_FIELD_MAX)
				return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
							"%s:%zu: a field is longer than %d bytes", r->name,
							field_line, CALL_METADATA_FIELD_MAX);
			if (c == '\0')
				return parley_error_set(err, PARLEY_ERR_INVALID,
							"%s:%zu: a NUL byte", r->name, r->line);
			r->buf[n++] = c;
		}
		if (*nrec >= CALL_METADATA_COLUMNS_MAX)
			return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
						"%s:%zu: more than %d fields", r->name, *start_line,
						CALL_METADATA_COLUMNS_MAX);
		rec[*nrec] = strndup(r->buf, n);
		if (!rec[*nrec])
			return parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory", r->name);
		(*nrec)++;
		if (r->pos >= r->len)
			return PARLEY_OK;
		char c = r->text[r->pos++];
		if (c == ',')
			continue;
		if (c == '\r') {
			if (r->pos < r->len && r->text[r->pos] == '\n')
				r->pos++;
			else
				return parley_error_set(err, PARLEY_ERR_INVALID,
							"%s:%zu: a carriage return not followed by a line feed",
							r->name, r->line);
		}
		r->line++;
		return PARLEY_OK;
	}
}

static void free_fields(char **rec, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rec[i]);
		rec[i] = NULL;
	}
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool language_valid(const char *s)
{
	size_t n = 0;
	while (is_alpha(s[n]))
		n++;
	if (n < 2 || n > 3)
		return false;
	s += n;
	while (*s == '-') {
		s++;
		n = 0;
		while (is_alpha(s[n]) || (s[n] >= '0' && s[n] <= '9'))
			n++;
		if (n < 1 || n > 8)
			return false;
		s += n;
	}
	return *s == '\0';
}

/* roles "customer,agent": count into *n, *agent = index of "agent" or -1. */
static bool roles_valid(const char *s, int *n, int *agent)
{
	*n = 0;
	*agent = -1;
	for (;;) {
		size_t k = 0;
		while (is_name_char(s[k]))
			k++;
		if (k == 0 || k >= CALL_METADATA_ROLE_MAX || *n >= CALL_METADATA_CHANNELS_MAX)
			return false;
		if (k == 5 && strncmp(s, "agent", 5) == 0 && *agent < 0)
			*agent = *n;
		(*n)++;
		s += k;
		if (*s == '\0')
			return true;
		if (*s != ',')
			return false;
		s++;
	}
}

static long col_index(const struct call_metadata *md, const char *name)
{
	for (size_t i = 0; i < md->ncols; i++)
		if (strcmp(md->cols[i], name) == 0)
			return (long)i;
	return -1;
}

static enum parley_err check_row(const struct call_metadata *md, const char *name, size_t row,
				 struct parley_error *err)
{
	size_t line = md->lines[row];
	const char *file = md->vals[row * md->ncols + md->file_col];
	if (!file[0])
		return parley_error_set(err, PARLEY_ERR_INVALID, "%s:%zu: the file column is empty",
					name, line);
	const char *ac = call_metadata_value(md, row, "agent_channel");
	long agent = -1;
	if (ac && ac[0]) {
		char *end;
		agent = strtol(ac, &end, 10);
		if (*end || !(ac[0] >= '0' && ac[0] <= '9') || agent < 0 ||
		    agent >= CALL_METADATA_CHANNELS_MAX)
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"%s:%zu: agent_channel \"%.40s\" is not a channel number 0..%d",
						name, line, ac, CALL_METADATA_CHANNELS_MAX - 1);
	}
	const char *ro = call_metadata_value(md, row, "roles");
	if (ro && ro[0]) {
		int n, ra;
		if (!roles_valid(ro, &n, &ra))
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"%s:%zu: roles \"%.80s\" is not a list of at most %d role names"
						" (a-z 0-9 _ -) separated by commas",
						name, line, ro, CALL_METADATA_CHANNELS_MAX);
		if (agent >= 0 && (agent >= n || ra != agent))
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"%s:%zu: agent_channel %ld and roles \"%.80s\" disagree",
						name, line, agent, ro);
	}
	const char *lang = call_metadata_value(md, row, "language");
	if (lang && lang[0] && !language_valid(lang))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"%s:%zu: language \"%.40s\" is not a language code (\"en\", \"ms\", \"zh-Hant\")",
					name, line, lang);
	return PARLEY_OK;
}

static int cmp_key(const void *a, const void *b)
{
	const struct md_key *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : (x->row > y->row) - (x->row < y->row);
}

/* Sorted indexes; the first duplicate file (by its later line) is an error. */
static enum parley_err build_index(struct call_metadata *md, const char *name,
				   struct parley_error *err)
{
	size_t n = md->nrows ? md->nrows : 1;
	md->by_file = malloc(n * sizeof(*md->by_file));
	md->by_base = malloc(n * sizeof(*md->by_base));
	if (!md->by_file || !md->by_base)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory", name);
	for (size_t i = 0; i < md->nrows; i++) {
		const char *f = md->vals[i * md->ncols + md->file_col];
		md->by_file[i] = (struct md_key){f, i};
		md->by_base[i] = (struct md_key){base_name(f), i};
	}
	qsort(md->by_file, md->nrows, sizeof(*md->by_file), cmp_key);
	qsort(md->by_base, md->nrows, sizeof(*md->by_base), cmp_key);
	size_t dup = SIZE_MAX, first = 0;
	for (size_t i = 1; i < md->nrows; i++) {
		size_t a = md->by_file[i - 1].row, b = md->by_file[i].row;
		if (strcmp(md->by_file[i - 1].key, md->by_file[i].key) == 0 &&
		    (dup == SIZE_MAX || md->lines[b] < md->lines[dup])) {
			dup = b;
			first = a;
		}
	}
	if (dup != SIZE_MAX)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"%s:%zu: file \"%.200s\" again (first on line %zu)", name,
					md->lines[dup], md->vals[dup * md->ncols + md->file_col],
					md->lines[first]);
	return PARLEY_OK;
}

enum parley_err call_metadata_parse(const char *name, const char *text, size_t len,
				    struct call_metadata **out, struct parley_error *err)
{
	*out = NULL;
	if (len > CALL_METADATA_FILE_MAX)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "%s:1: larger than %u bytes",
					name, CALL_METADATA_FILE_MAX);
	size_t ok = utf8_valid((const unsigned char *)text, len);
	if (ok < len)
		return parley_error_set(err, PARLEY_ERR_INVALID, "%s:%zu: not UTF-8", name,
					line_at(text, ok));
	struct call_metadata *md = calloc(1, sizeof(*md));
	struct reader *r = calloc(1, sizeof(*r));
	char *rec[CALL_METADATA_COLUMNS_MAX] = {0};
	size_t nrec = 0, line;
	enum parley_err rc = PARLEY_OK;
	if (!md || !r) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory", name);
		goto out;
	}
	md->name = strdup(name);
	if (!md->name) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory", name);
		goto out;
	}
	*r = (struct reader){.name = name, .text = text, .len = len, .line = 1};
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		r->pos = 3;
	/* The header. */
	while (r->pos < r->len && (text[r->pos] == '\n' || text[r->pos] == '\r')) {
		if (text[r->pos] == '\n')
			r->line++;
		r->pos++;
	}
	if (r->pos >= r->len) {
		rc = parley_error_set(err, PARLEY_ERR_INVALID, "%s:%zu: no header row (file,…)", name,
				      r->line);
		goto out;
	}
	if ((rc = read_record(r, rec, &nrec, &line, err)))
		goto out;
	md->cols = calloc(nrec, sizeof(char *));
	if (!md->cols) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory", name);
		goto out;
	}
	md->ncols = nrec;
	for (size_t i = 0; i < nrec; i++) {
		md->cols[i] = rec[i];
		rec[i] = NULL;
	}
	nrec = 0;
	for (size_t i = 0; i < md->ncols; i++) {
		if (!md->cols[i][0]) {
			rc = parley_error_set(err, PARLEY_ERR_INVALID, "%s:%zu: column %zu has no name",
					      name, line, i + 1);
			goto out;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(md->cols[i], md->cols[j]) == 0) {
				rc = parley_error_set(err, PARLEY_ERR_INVALID,
						      "%s:%zu: column \"%.80s\" twice", name, line,
						      md->cols[i]);
				goto out;
			}
	}
	long fc = col_index(md, "file");
	if (fc < 0) {
		rc = parley_error_set(err, PARLEY_ERR_INVALID, "%s:%zu: the header has no file column",
				      name, line);
		goto out;
	}
	md->file_col = (size_t)fc;
	/* The rows. */
	while (r->pos < r->len) {
		char c = text[r->pos];
		if (c == '\n' || c == '\r') { /* an empty line */
			r->pos += (c == '\r' && r->pos + 1 < r->len && text[r->pos + 1] == '\n') ? 2 : 1;
			r->line++;
			continue;
		}
		if ((rc = read_record(r, rec, &nrec, &line, err)))
			goto out;
		if (nrec != md->ncols) {
			rc = parley_error_set(err, PARLEY_ERR_INVALID,
					      "%s:%zu: %zu fields, the header has %zu", name, line,
					      nrec, md->ncols);
			goto out;
		}
		if (md->nrows >= CALL_METADATA_ROWS_MAX) {
			rc = parley_error_set(err, PARLEY_ERR_TOO_LARGE, "%s:%zu: more than %d rows",
					      name, line, CALL_METADATA_ROWS_MAX);
			goto out;
		}
		if (md->nrows == md->cap) {
			size_t cap = md->cap ? md->cap * 2 : 64;
			char **v = realloc(md->vals, cap * md->ncols * sizeof(char *));
			if (v)
				md->vals = v;
			size_t *l = v ? realloc(md->lines, cap * sizeof(size_t)) : NULL;
			if (!v || !l) {
				rc = parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory", name);
				goto out;
			}
			md->lines = l;
			md->cap = cap;
		}
		for (size_t i = 0; i < nrec; i++) {
			md->vals[md->nrows * md->ncols + i] = rec[i];
			rec[i] = NULL;
		}
		nrec = 0;
		md->lines[md->nrows] = line;
		md->nrows++;
		if ((rc = check_row(md, name, md->nrows - 1, err)))
			goto out;
	}
	rc = build_index(md, name, err);
out:
	free_fields(rec, nrec);
	free(r);
	if (rc) {
		call_metadata_free(md);
		return rc;
	}
	*out = md;
	return PARLEY_OK;
}

enum parley_err call_metadata_load(const char *path, struct call_metadata **out,
				   struct parley_error *err)
{
	char *text = NULL;
	size_t len = 0;
	*out = NULL;
	enum parley_err rc = fs_read_file(path, CALL_METADATA_FILE_MAX, &text, &len, err);
	if (!rc)
		rc = call_metadata_parse(path, text, len, out, err);
	free(text);
	return rc;
}

const char *call_metadata_name(const struct call_metadata *md)
{
	return md->name;
}

size_t call_metadata_row_count(const struct call_metadata *md)
{
	return md->nrows;
}

const char *call_metadata_row_file(const struct call_metadata *md, size_t row)
{
	return md->vals[row * md->ncols + md->file_col];
}

size_t call_metadata_row_line(const struct call_metadata *md, size_t row)
{
	return md->lines[row];
}

const char *call_metadata_value(const struct call_metadata *md, size_t row, const char *column)
{
	long c = col_index(md, column);
	return c < 0 ? NULL : md->vals[row * md->ncols + (size_t)c];
}

/* The row of the first index entry whose key equals key, or -1. */
static long search(const struct md_key *idx, size_t n, const char *key)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(idx[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && strcmp(idx[lo].key, key) == 0 ? (long)idx[lo].row : -1;
}

long call_metadata_find(const struct call_metadata *md, const char *path)
{
	long r = search(md->by_file, md->nrows, path);
	return r >= 0 ? r : search(md->by_base, md->nrows, base_name(path));
}

json_t *call_metadata_row_json(const struct call_metadata *md, size_t row)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < md->ncols; i++)
		if (json_object_set_new(o, md->cols[i],
					json_string(md->vals[row * md->ncols + i]))) {
			json_decref(o);
			o = NULL;
		}
	return o;
}

static const char *row_string(const json_t *row, const char *key)
{
	const char *s = json_string_value(json_object_get(row, key));
	return s && s[0] ? s : NULL;
}

void call_metadata_role(const json_t *row, int ch, char *out, size_t n)
{
	if (n)
		out[0] = '\0';
	const char *roles = row_string(row, "roles");
	if (roles) {
		for (int i = 0; *roles; i++) {
			size_t k = strcspn(roles, ",");
			if (i == ch) {
				snprintf(out, n, "%.*s", (int)k, roles);
				return;
			}
			roles += k + (roles[k] == ',');
		}
		return;
	}
	const char *ac = row_string(row, "agent_channel");
	if (ac && ch >= 0)
		snprintf(out, n, "%s", strtol(ac, NULL, 10) == ch ? "agent" : "customer");
}

const char *call_metadata_language(const json_t *row)
{
	return row_string(row, "language");
}
