/*
 * call_metadata.h — per-file call metadata from a CSV (issue 13 roles and
 * language, issue 14 `file,trade_id,agent,customer,…`).
 *
 * The file: RFC 4180 CSV (fields separated by ',', records by LF or CRLF,
 * a field in double quotes may hold ',', '"' doubled, and line breaks),
 * UTF-8 (a leading byte-order mark is skipped), a header row of unique,
 * non-empty column names that must include `file`. Empty lines are skipped.
 * Every row has as many fields as the header and a non-empty, unique `file`.
 * Columns with a meaning (an empty value = not given):
 *   agent_channel  which channel is the agent: 0..CALL_METADATA_CHANNELS_MAX-1
 *                  (every other channel is the customer);
 *   roles          the role of each channel in order, "customer,agent"
 *                  (names of a-z 0-9 _ -, at most CALL_METADATA_CHANNELS_MAX);
 *                  with agent_channel too, roles' entry there must be "agent";
 *   language       the conversation's language code: "en", "ms", "zh-Hant"
 *                  (2-3 letters, then "-" parts of 1-8 letters or digits).
 * Every other column (trade_id, agent, customer, …) is kept as a string.
 * Bounds: CALL_METADATA_FILE_MAX bytes, CALL_METADATA_COLUMNS_MAX columns,
 * CALL_METADATA_FIELD_MAX bytes per field, CALL_METADATA_ROWS_MAX rows.
 * Every failure (PARLEY_ERR_INVALID, PARLEY_ERR_TOO_LARGE, NOMEM) is one
 * sentence "NAME:LINE: what is wrong" (LINE = the line a record starts on;
 * a duplicate file names both lines).
 *
 * Matching an input file to its row (call_metadata_find): the row whose
 * `file` equals the path as given on the command line; else the row whose
 * `file`'s base name (after the last '/') equals the input's base name.
 *
 * A row as JSON (call_metadata_row_json) is an object of every column in
 * header order, each value a string — what the store keeps per recording
 * (store_recording_metadata_put) and transcript.json shows as "metadata".
 * Stages read their meaning from that object with the helpers at the end.
 */
#ifndef PARLEY_CORE_CALL_METADATA_H
#define PARLEY_CORE_CALL_METADATA_H

#include <jansson.h>
#include <stddef.h>

#include "util/error.h"

#define CALL_METADATA_FILE_MAX (64u << 20)
#define CALL_METADATA_COLUMNS_MAX 64
#define CALL_METADATA_FIELD_MAX 4096
#define CALL_METADATA_ROWS_MAX 1000000
#define CALL_METADATA_CHANNELS_MAX 8
#define CALL_METADATA_ROLE_MAX 48

struct call_metadata;

/* Parse text[0..len) named name (for messages). *out NULL on failure. */
enum parley_err call_metadata_parse(const char *name, const char *text, size_t len,
				    struct call_metadata **out, struct parley_error *err);
/* Read and parse the file at path (messages name the path). */
enum parley_err call_metadata_load(const char *path, struct call_metadata **out,
				   struct parley_error *err);
void call_metadata_free(struct call_metadata *md);

/* The name it was parsed under (the path for call_metadata_load). */
const char *call_metadata_name(const struct call_metadata *md);
size_t call_metadata_row_count(const struct call_metadata *md);
/* The row's `file` and the line it starts on. */
const char *call_metadata_row_file(const struct call_metadata *md, size_t row);
size_t call_metadata_row_line(const struct call_metadata *md, size_t row);
/* A column's value in a row; NULL when there is no such column. */
const char *call_metadata_value(const struct call_metadata *md, size_t row, const char *column);
/* The row of an input path (rule at the top), or -1. */
long call_metadata_find(const struct call_metadata *md, const char *path);
/* The row as a JSON object (new reference; NULL on out-of-memory). */
json_t *call_metadata_row_json(const struct call_metadata *md, size_t row);

/* From a stored row object (NULL = none): the role of channel ch into
 * out[n] ("" when the metadata does not say: no roles/agent_channel, or
 * more channels than roles). */
void call_metadata_role(const json_t *row, int ch, char *out, size_t n);
/* The row's language code, NULL when not given. */
const char *call_metadata_language(const json_t *row);

#endif
