#!/usr/bin/env bash
# Per-file call metadata (`--metadata FILE.csv`, core/call_metadata.h) over a
# generated stereo call (tests/gen/gen_call.py, cached in build/calls-it/ like
# test_call_metrics.sh): the row says agent_channel=1 and language=ms → the
# diarize stage's roles are swapped (channel 0 customer, channel 1 agent,
# source "metadata", over channels.roles) and the lid stage's language is ms
# with source "metadata"; transcript.json carries the row; an input without a
# row and a row without an input are warnings naming the file and the CSV
# line; a malformed CSV (duplicate file) is a usage error naming both lines,
# for run and submit; submit stores each recording's row.
. "$(dirname "$0")/lib.sh"

CALLS=${PARLEY_CALLS_CACHE:-$ROOT/build/calls-it}
mkdir -p "$CALLS" "$TMP/in"
GENV=$(sha256sum "$ROOT/tests/gen/gen_call.py" "$ROOT/tests/gen/gen_conversation.py" | sha256sum | cut -c1-12)
args="--seed 31 --channels 2 --ringback 0 --minutes 0.5 --overlap 0.2 --crosstalk -25"
key=$(echo "$GENV $args" | sha256sum | cut -c1-12)
if [ ! -s "$CALLS/md1-$key.truth.json" ]; then
  # shellcheck disable=SC2086
  python3 "$ROOT/tests/gen/gen_call.py" --out "$CALLS" --name "md1-$key" --cache-dir "$PARLEY_GEN_CACHE" --quiet $args ||
    { notok "generate the stereo call"; exit 1; }
fi
cp "$CALLS/md1-$key.wav" "$TMP/in/md1.wav"
cp "$CALLS/md1-$key.wav" "$TMP/in/norow.wav"

cat >"$TMP/meta.csv" <<'CSV'
file,trade_id,agent,customer,agent_channel,language,desk
md1.wav,T-1001,"Tan, Ann",Bob,1,ms,fx
gone.wav,T-1002,Cat,Dan,0,en,rates
CSV

out="$TMP/out"
limit 600 "$PARLEY" run "$TMP/in" -o "$out" -j 1 --no-progress --stages decode,vad,diarize,lid \
  --set channels.mode=separate --set channels.roles=agent,customer --set lid.language=en \
  --metadata "$TMP/meta.csv" >"$TMP/run.log" 2>&1
status=$?
check "parley run --metadata exits 0 (status $status)" test $status -eq 0
[ $status -eq 0 ] || cat "$TMP/run.log"
q() { sqlite3 "$out/parley.db" "$1"; }
rec="(select id from recordings where name='md1')"
check "metadata agent_channel=1: channel 0 is the customer (source metadata)" \
  test "$(q "select role||'/'||source from speaker_roles where recording_id=$rec and channel=0")" = customer/metadata
check "metadata agent_channel=1: channel 1 is the agent (source metadata)" \
  test "$(q "select role||'/'||source from speaker_roles where recording_id=$rec and channel=1")" = agent/metadata
check "metadata language=ms wins over lid.language (call_language ms/metadata/1)" \
  test "$(q "select code||'/'||source||'/'||confidence from call_language where recording_id=$rec")" = ms/metadata/1.0
norow="(select id from recordings where name='norow')"
check "an input without a row keeps channels.roles (source channel)" \
  test "$(q "select group_concat(role||'/'||source, ' ') from (select * from speaker_roles where recording_id=$norow order by channel)")" = "agent/channel customer/channel"
check "an input without a row gets lid.language (source config)" \
  test "$(q "select code||'/'||source from call_language where recording_id=$norow")" = en/config
check "an input without a row is a warning naming it" \
  grep -q "parley run: warning: .*norow.wav: no row in .*meta.csv" "$TMP/run.log"
check "a row without an input is a warning naming the CSV line" \
  grep -q "parley run: warning: .*meta.csv:3: file \"gone.wav\" is not among the inputs" "$TMP/run.log"
check "transcript.json carries the row (trade_id, quoted agent, extra column)" python3 - "$out/md1/transcript.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
m = t["metadata"]
assert m["trade_id"] == "T-1001" and m["agent"] == "Tan, Ann" and m["desk"] == "fx", m
roles = {s["channel"]: s["role"] for s in t["speakers"]}
assert roles == {0: "customer", 1: "agent"}, roles
assert t["language"]["code"] == "ms" and t["language"]["source"] == "metadata", t["language"]
PY
check "transcript.json of an input without a row has no metadata" python3 -c \
  "import json,sys; sys.exit('metadata' in json.load(open('$out/norow/transcript.json')))"

# a malformed CSV: usage error (exit 2) naming both lines, nothing run
printf 'file,trade_id\nmd1.wav,1\nx.wav,2\nmd1.wav,3\n' >"$TMP/dup.csv"
limit 60 "$PARLEY" run "$TMP/in" -o "$TMP/out2" --no-progress --metadata "$TMP/dup.csv" >"$TMP/dup.log" 2>&1
status=$?
check "run with a duplicate row exits 2 (status $status)" test $status -eq 2
check "run names both lines of the duplicate" \
  grep -q "parley run: .*dup.csv:4: file \"md1.wav\" again (first on line 2)" "$TMP/dup.log"
check "nothing was processed" test ! -e "$TMP/out2/parley.db"
limit 60 "$PARLEY" submit --store "$TMP/s.db" --metadata "$TMP/dup.csv" "$TMP/in" >"$TMP/sdup.log" 2>&1
status=$?
check "submit with a duplicate row exits 2 (status $status)" test $status -eq 2
check "submit names both lines of the duplicate" \
  grep -q "parley submit: .*dup.csv:4: file \"md1.wav\" again (first on line 2)" "$TMP/sdup.log"
limit 60 "$PARLEY" submit --store "$TMP/s.db" --metadata "$TMP/meta.csv" "$TMP/in" >"$TMP/sub.log" 2>&1
status=$?
check "submit --metadata exits 0 (status $status)" test $status -eq 0
check "submit stores the row with the recording" \
  test "$(sqlite3 "$TMP/s.db" "select json_extract(metadata,'\$.trade_id') from recordings where name='md1'")" = T-1001
check "submit stores {} for an input without a row" \
  test "$(sqlite3 "$TMP/s.db" "select metadata from recordings where name='norow'")" = "{}"
check "submit warns about the row without an input" grep -q "meta.csv:3: file \"gone.wav\"" "$TMP/sub.log"
