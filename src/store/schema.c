/* schema.c — see schema.h. */
#include "store/schema.h"

#include <string.h>

const char *const store_migrations[] = {
	/* 1: the foundation */
	"CREATE TABLE batches ("
	"  id @ID@,"
	"  name TEXT NOT NULL UNIQUE,"
	"  kind TEXT NOT NULL DEFAULT 'batch',"
	"  config TEXT NOT NULL DEFAULT '{}',"
	"  status TEXT NOT NULL DEFAULT 'pending',"
	"  created_at @REAL@ NOT NULL,"
	"  updated_at @REAL@ NOT NULL);"
	"CREATE TABLE recordings ("
	"  id @ID@,"
	"  batch_id @BIGINT@ NOT NULL REFERENCES batches(id),"
	"  name TEXT NOT NULL,"
	"  source TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL,"
	"  duration @REAL@ NOT NULL DEFAULT 0,"
	"  status TEXT NOT NULL DEFAULT 'pending',"
	"  error_code TEXT,"
	"  error TEXT,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  lease_owner TEXT,"
	"  lease_expires @REAL@,"
	"  created_at @REAL@ NOT NULL,"
	"  updated_at @REAL@ NOT NULL,"
	"  UNIQUE (batch_id, name));"
	"CREATE INDEX recordings_status ON recordings(batch_id, status);"
	"CREATE TABLE stage_runs ("
	"  recording_id @BIGINT@ NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,"
	"  stage TEXT NOT NULL,"
	"  status TEXT NOT NULL DEFAULT 'pending',"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  started_at @REAL@,"
	"  finished_at @REAL@,"
	"  cpu_seconds @REAL@,"
	"  wall_seconds @REAL@,"
	"  error TEXT,"
	"  PRIMARY KEY (recording_id, stage));"
	"CREATE TABLE events ("
	"  id @ID@,"
	"  batch_id @BIGINT@,"
	"  recording_id @BIGINT@,"
	"  stage TEXT,"
	"  type TEXT NOT NULL,"
	"  message TEXT,"
	"  time @REAL@ NOT NULL);"
	"CREATE INDEX events_batch ON events(batch_id, id);"
	"CREATE TABLE segments ("
	"  recording_id @BIGINT@ NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL,"
	"  idx INTEGER NOT NULL,"
	"  start_s @REAL@ NOT NULL,"
	"  end_s @REAL@ NOT NULL,"
	"  speaker INTEGER NOT NULL,"
	"  PRIMARY KEY (recording_id, kind, idx));"
	"CREATE TABLE stt_words ("
	"  recording_id @BIGINT@ NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL,"
	"  start_s @REAL@ NOT NULL,"
	"  end_s @REAL@ NOT NULL,"
	"  word TEXT NOT NULL,"
	"  confidence @REAL@ NOT NULL,"
	"  speaker INTEGER NOT NULL,"
	"  PRIMARY KEY (recording_id, idx));"
	"CREATE TABLE words ("
	"  recording_id @BIGINT@ NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL,"
	"  start_s @REAL@ NOT NULL,"
	"  end_s @REAL@ NOT NULL,"
	"  word TEXT NOT NULL,"
	"  confidence @REAL@ NOT NULL,"
	"  speaker INTEGER NOT NULL,"
	"  PRIMARY KEY (recording_id, idx));"
	"CREATE TABLE speakers ("
	"  recording_id @BIGINT@ NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,"
	"  speaker INTEGER NOT NULL,"
	"  talk_time @REAL@ NOT NULL,"
	"  turns INTEGER NOT NULL,"
	"  sample_start @REAL@ NOT NULL DEFAULT 0,"
	"  sample_end @REAL@ NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (recording_id, speaker));"
	"CREATE TABLE word_counts ("
	"  recording_id @BIGINT@ NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,"
	"  speaker INTEGER NOT NULL,"
	"  word TEXT NOT NULL,"
	"  count INTEGER NOT NULL,"
	"  PRIMARY KEY (recording_id, speaker, word));",

	/* 2: the durable engine (issue 4): a batch's pipeline, each recording's
	 * next stage (queue routing), per-batch stage start/complete marks for
	 * the execution log, the finished counter behind progress events, and
	 * the effects table of the countable test stages. */
	"ALTER TABLE batches ADD COLUMN pipeline TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE batches ADD COLUMN finished @BIGINT@ NOT NULL DEFAULT 0;"
	"ALTER TABLE recordings ADD COLUMN next_stage TEXT NOT NULL DEFAULT '';"
	/* the lease query walks only unfinished recordings, oldest first */
	"CREATE INDEX recordings_todo ON recordings(id) WHERE status IN ('pending', 'running');"
	"CREATE TABLE batch_stages ("
	"  batch_id @BIGINT@ NOT NULL REFERENCES batches(id),"
	"  stage TEXT NOT NULL,"
	"  started_at @REAL@ NOT NULL,"
	"  completed_at @REAL@,"
	"  PRIMARY KEY (batch_id, stage));"
	"CREATE TABLE test_effects ("
	"  recording_id @BIGINT@ NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,"
	"  stage TEXT NOT NULL,"
	"  owner TEXT NOT NULL,"
	"  time @REAL@ NOT NULL);"
	"CREATE INDEX test_effects_rec ON test_effects(recording_id, stage);",

	/* 3: sessions behind `parley serve` (src/session/): users with hashed
	 * tokens, live sessions, their participants, uploaded chunks and the
	 * speakers people claim. A session's recording is an ordinary recording
	 * of a batch of kind 'session'. */
	"CREATE TABLE users ("
	"  id @ID@,"
	"  name TEXT NOT NULL UNIQUE,"
	"  token_hash TEXT NOT NULL UNIQUE,"
	"  admin INTEGER NOT NULL DEFAULT 0,"
	"  created_at @REAL@ NOT NULL);"
	"CREATE TABLE sessions ("
	"  id TEXT PRIMARY KEY,"
	"  owner_id @BIGINT@ NOT NULL REFERENCES users(id),"
	"  title TEXT NOT NULL DEFAULT '',"
	"  join_code TEXT NOT NULL,"
	"  batch_id @BIGINT@ REFERENCES batches(id),"
	"  recording_id @BIGINT@ REFERENCES recordings(id),"
	"  created_at @REAL@ NOT NULL,"
	"  ended_at @REAL@,"
	"  gaps TEXT NOT NULL DEFAULT '[]');"
	"CREATE INDEX sessions_owner ON sessions(owner_id, created_at);"
	/* the leaderboard's window: sessions ended at or after `since` */
	"CREATE INDEX sessions_ended ON sessions(ended_at);"
	"CREATE TABLE session_members ("
	"  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	"  user_id @BIGINT@ NOT NULL REFERENCES users(id),"
	"  joined_at @REAL@ NOT NULL,"
	"  PRIMARY KEY (session_id, user_id));"
	"CREATE INDEX session_members_user ON session_members(user_id);"
	"CREATE TABLE chunks ("
	"  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  bytes @BIGINT@ NOT NULL,"
	"  sha256 TEXT NOT NULL,"
	"  duration @REAL@ NOT NULL,"
	"  created_at @REAL@ NOT NULL,"
	"  PRIMARY KEY (session_id, seq));"
	"CREATE TABLE claims ("
	"  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	"  speaker INTEGER NOT NULL,"
	"  user_id @BIGINT@ NOT NULL REFERENCES users(id),"
	"  created_at @REAL@ NOT NULL,"
	"  PRIMARY KEY (session_id, speaker),"
	"  UNIQUE (session_id, user_id));"
	/* the leaderboard walks claims per user */
	"CREATE INDEX claims_user ON claims(user_id, session_id);",

	/* 4: words whose times a remote engine did not give (issue 11): the
	 * segment's time spread over its words; 1 = approximate. */
	"ALTER TABLE stt_words ADD COLUMN approximate INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE words ADD COLUMN approximate INTEGER NOT NULL DEFAULT 0;",

	/* 5: call analysis (issue 13, src/store/store_call.h): events found in
	 * the audio (DTMF, tones, hold music, IVR prompts), speakers' roles and
	 * channels, the conversation's language, call metrics (flat, for
	 * queries) and their instances (silences, interruptions, overlaps). */
	"CREATE TABLE call_events ("
	"  recording_id @BIGINT@ NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  start_s @REAL@ NOT NULL,"
	"  end_s @REAL@ NOT NULL,"
	"  channel INTEGER NOT NULL DEFAULT -1,"
	"  detail TEXT NOT NULL DEFAULT '{}',"
	"  PRIMARY KEY (recording_id, idx));"
	"CREATE TABLE speaker_roles ("
	"  recording_id @BIGINT@ NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,"
	"  speaker INTEGER NOT NULL,"
	"  role TEXT NOT NULL,"
	"  channel INTEGER NOT NULL DEFAULT -1,"
	"  source TEXT NOT NULL DEFAULT '',"
	"  PRIMARY KEY (recording_id, speaker));"
	"CREATE TABLE call_language ("
	"  recording_id @BIGINT@ NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,"
	"  code TEXT NOT NULL,"
	"  source TEXT NOT NULL,"
	"  confidence @REAL@ NOT NULL DEFAULT 0,"
	"  expected INTEGER NOT NULL DEFAULT 1,"
	"  PRIMARY KEY (recording_id));"
	"CREATE TABLE call_metrics ("
	"  recording_id @BIGINT@ NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,"
	"  scope TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  value @REAL@ NOT NULL,"
	"  PRIMARY KEY (recording_id, scope, name));"
	"CREATE INDEX call_metrics_name ON call_metrics(name, scope);"
	"CREATE TABLE call_spans ("
	"  recording_id @BIGINT@ NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL,"
	"  idx INTEGER NOT NULL,"
	"  start_s @REAL@ NOT NULL,"
	"  end_s @REAL@ NOT NULL,"
	"  who TEXT NOT NULL DEFAULT '',"
	"  other TEXT NOT NULL DEFAULT '',"
	"  PRIMARY KEY (recording_id, kind, idx));",
	/* 6: per-file call metadata (a JSON object of the metadata CSV's row) */
	"ALTER TABLE recordings ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';",
	/* 7: call audits (store/store_audit.h): the versions of a batch's
	 * questionnaire and rules, answers and verdicts per version, webhooks
	 * with their outbox of deliveries and every attempt */
	"ALTER TABLE batches ADD COLUMN audit_version INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE audit_versions ("
	"  batch_id @BIGINT@ NOT NULL REFERENCES batches(id) ON DELETE CASCADE,"
	"  version INTEGER NOT NULL,"
	"  questionnaire TEXT NOT NULL DEFAULT '',"
	"  rules TEXT NOT NULL DEFAULT '',"
	"  from_stage TEXT NOT NULL DEFAULT '',"
	"  created_at @REAL@ NOT NULL,"
	"  PRIMARY KEY (batch_id, version));"
	"CREATE TABLE answers ("
	"  recording_id @BIGINT@ NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,"
	"  version INTEGER NOT NULL,"
	"  idx INTEGER NOT NULL,"
	"  question TEXT NOT NULL,"
	"  answer TEXT NOT NULL DEFAULT 'null',"
	"  source TEXT NOT NULL DEFAULT '',"
	"  na INTEGER NOT NULL DEFAULT 0,"
	"  score @REAL@ NOT NULL DEFAULT 0,"
	"  max_score @REAL@ NOT NULL DEFAULT 0,"
	"  weight @REAL@ NOT NULL DEFAULT 1,"
	"  auto_fail INTEGER NOT NULL DEFAULT 0,"
	"  valid INTEGER NOT NULL DEFAULT 1,"
	"  error TEXT NOT NULL DEFAULT '',"
	"  evidence TEXT NOT NULL DEFAULT '[]',"
	"  PRIMARY KEY (recording_id, version, question));"
	"CREATE TABLE verdicts ("
	"  recording_id @BIGINT@ NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,"
	"  version INTEGER NOT NULL,"
	"  verdict TEXT NOT NULL,"
	"  score @REAL@ NOT NULL DEFAULT 0,"
	"  max_score @REAL@ NOT NULL DEFAULT 0,"
	"  auto_fail INTEGER NOT NULL DEFAULT 0,"
	"  reasons TEXT NOT NULL DEFAULT '[]',"
	"  PRIMARY KEY (recording_id, version));"
	"CREATE INDEX verdicts_version ON verdicts(version, verdict);"
	"CREATE TABLE webhooks ("
	"  batch_id @BIGINT@ NOT NULL PRIMARY KEY REFERENCES batches(id) ON DELETE CASCADE,"
	"  url TEXT NOT NULL,"
	"  secret TEXT NOT NULL,"
	"  events TEXT NOT NULL DEFAULT 'batch',"
	"  schedule TEXT NOT NULL DEFAULT '',"
	"  disabled INTEGER NOT NULL DEFAULT 0,"
	"  created_at @REAL@ NOT NULL);"
	"CREATE TABLE webhook_deliveries ("
	"  id @ID@,"
	"  event_id TEXT NOT NULL UNIQUE,"
	"  batch_id @BIGINT@ NOT NULL REFERENCES batches(id) ON DELETE CASCADE,"
	"  type TEXT NOT NULL,"
	"  payload TEXT NOT NULL,"
	"  status TEXT NOT NULL DEFAULT 'pending',"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_at @REAL@ NOT NULL,"
	"  lease_owner TEXT,"
	"  lease_expires @REAL@,"
	"  last_status INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT NOT NULL DEFAULT '',"
	"  created_at @REAL@ NOT NULL,"
	"  updated_at @REAL@ NOT NULL);"
	"CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_at);"
	"CREATE TABLE webhook_attempts ("
	"  delivery_id @BIGINT@ NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,"
	"  attempt INTEGER NOT NULL,"
	"  at @REAL@ NOT NULL,"
	"  status_code INTEGER NOT NULL DEFAULT 0,"
	"  error TEXT NOT NULL DEFAULT '',"
	"  seconds @REAL@ NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (delivery_id, attempt));",
	/* 8: batches over HTTP (core/batches.h): the operator role of users
	 * (may create and manage batches; admins may too). A batch created by
	 * `POST /v1/batches` or `parley batch create` has status 'created' and
	 * its recordings status 'held' (never leased) until it is started. */
	"ALTER TABLE users ADD COLUMN operator INTEGER NOT NULL DEFAULT 0;",
	/* 9: accounts without an operator (issue 16, session/session.h): a
	 * token may expire, a user may be removed (the row stays: the name is
	 * not reused and owned sessions keep their owner), and how the user was
	 * made ('cli': parley user add, 'signup': the page). */
	"ALTER TABLE users ADD COLUMN token_expires @REAL@;"
	"ALTER TABLE users ADD COLUMN removed_at @REAL@;"
	"ALTER TABLE users ADD COLUMN origin TEXT NOT NULL DEFAULT 'cli';",
	/* 10: priorities and fair share (issue 17, store.h): a batch's priority
	 * (sessions 50, batches 0), copied on its recordings with their turn
	 * (tag; the id for recordings made before); the lease query walks
	 * unfinished recordings in hand-out order. */
	"ALTER TABLE batches ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;"
	"UPDATE batches SET priority = 50 WHERE kind = 'session';"
	"ALTER TABLE recordings ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE recordings ADD COLUMN tag @BIGINT@ NOT NULL DEFAULT 0;"
	"UPDATE recordings SET tag = id,"
	" priority = (SELECT b.priority FROM batches b WHERE b.id = recordings.batch_id);"
	"DROP INDEX recordings_todo;"
	"CREATE INDEX recordings_todo ON recordings(priority DESC, tag, id)"
	" WHERE status IN ('pending', 'running');"
	"CREATE INDEX recordings_batch_tag ON recordings(batch_id, tag);",
	/* 11: a recording's warnings (store_warning_each) by its id, for the
	 * recording view and each row of a batch's results: few rows, so a
	 * partial index. */
	"CREATE INDEX events_warning ON events(recording_id, id) WHERE type = 'file_warning';",
};

const size_t store_migration_count = sizeof(store_migrations) / sizeof(store_migrations[0]);

/* The words each dialect spells differently, by token. */
static const struct {
	const char *token;
	const char *sqlite;
	const char *postgres;
} schema_tokens[] = {
	{"@ID@", "INTEGER PRIMARY KEY", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"},
	{"@REAL@", "REAL", "DOUBLE PRECISION"},
	{"@BIGINT@", "INTEGER", "BIGINT"},
};

enum parley_err schema_render(const char *migration, enum db_dialect dialect, struct strbuf *out,
			      struct parley_error *err)
{
	const char *p = migration;
	while (*p) {
		size_t i, n = sizeof(schema_tokens) / sizeof(schema_tokens[0]);
		for (i = 0; i < n; i++)
			if (strncmp(p, schema_tokens[i].token, strlen(schema_tokens[i].token)) == 0)
				break;
		enum parley_err rc;
		if (i < n) {
			rc = strbuf_adds(out, dialect == DB_POSTGRES ? schema_tokens[i].postgres
								     : schema_tokens[i].sqlite);
			p += strlen(schema_tokens[i].token);
		} else {
			rc = strbuf_add(out, p, 1);
			p++;
		}
		if (rc)
			return parley_error_set(err, rc, rc == PARLEY_ERR_NOMEM
							  ? "out of memory rendering a schema migration"
							  : "schema migration text too large");
	}
	return PARLEY_OK;
}
