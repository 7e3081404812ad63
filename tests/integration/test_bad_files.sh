#!/usr/bin/env bash
# A folder of good files and bad ones: empty, 0-byte, truncated, corrupt,
# non-audio and wrong-extension. The good ones finish; each bad one fails
# alone with a sentence naming it; the exit status says some failed. A WAV
# cut in half (its header promises twice what is there) is processed with a
# warning in transcript.json, warnings.csv and the run's summary.
# Runs the ASan/UBSan build, so the error paths are checked for memory bugs.
. "$(dirname "$0")/lib.sh"
BIN=$PARLEY_SAN
[ -x "$BIN" ] || BIN=$PARLEY

$GEN --out "$TMP/gen" --name good --speakers 2 --turns 4 --seed 11 --quiet || { notok "generate"; exit 1; }
in="$TMP/in"; mkdir -p "$in"
cp "$TMP/gen/good.wav" "$in/good.wav"
ffmpeg -loglevel error -i "$TMP/gen/good.wav" -b:a 64k "$TMP/gen/good.mp3"
cp "$TMP/gen/good.mp3" "$in/mp3-named.wav"                  # wrong extension: still audio
: >"$in/zero.wav"                                            # 0 bytes
sox -n -r 16000 -c 1 -b 16 "$in/header-only.wav" trim 0 0    # a WAV with no samples
head -c 44 "$TMP/gen/good.wav" >"$in/header-cut.wav"         # a header and nothing more
wsize=$(stat -c %s "$TMP/gen/good.wav")
head -c $((wsize / 2)) "$TMP/gen/good.wav" >"$in/half.wav"    # header promises twice what is there
size=$(stat -c %s "$TMP/gen/good.mp3")
head -c $((size / 2)) "$TMP/gen/good.mp3" >"$in/truncated.mp3"   # cut in half: decodes what is there
python3 -c 'import random,sys; r=random.Random(7); sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(2000)))' >"$in/corrupt.wav"  # random bytes named .wav
{ printf 'RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00'; python3 -c 'import random,sys; r=random.Random(8); sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(3000)))'; } >"$in/broken-header.wav"
printf 'meeting notes\nnot audio at all\n' >"$in/notes.txt"
printf '\x89PNG\r\n\x1a\n' >"$in/picture.png"; python3 -c 'import random,sys; r=random.Random(9); sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(500)))' >>"$in/picture.png"

out="$TMP/out"
limit 900 "$BIN" run "$in" -o "$out" -j 2 --no-progress >"$TMP/run.log" 2>&1
status=$?
check "a run with bad files exits 1 (status $status)" test $status -eq 1
for good in good mp3-named truncated half; do
  check "$good finished despite the bad files" test -s "$out/$good/transcript.json"
done
expect_error() {  # file, text in its error line
  if grep -F "$1:" "$TMP/run.log" | grep -qiE "$2"; then ok "$1 fails with '$2'"; else notok "$1 fails with '$2'"; grep -F "$1" "$TMP/run.log"; fi
}
expect_error zero.wav "empty \\(0 bytes\\)"
expect_error header-only.wav "no audio samples"
expect_error header-cut.wav "wav"
expect_error corrupt.wav "not an audio file|damaged|corrupt"
expect_error broken-header.wav "ffmpeg"
expect_error notes.txt "not an audio file"
expect_error picture.png "not"
failed=$(sed -n '/recordings failed:/,$p' "$TMP/run.log" | grep -c '^  /')
check "the error list names each of the 7 bad files ($failed listed)" test "$failed" -eq 7
check "the run reports 4 of 11 done" grep -q "4 of 11 recordings done" "$TMP/run.log"
# Honest inputs: the WAV cut in half is processed, and says so everywhere.
check "half.wav: transcript.json carries the decode warning" python3 -c '
import json, sys
w = json.load(open(sys.argv[1]))["warnings"]
assert len(w) == 1 and w[0]["stage"] == "decode", w
assert "WAV header promises" in w[0]["message"] and "half.wav" in w[0]["message"], w
' "$out/half/transcript.json"
check "good.wav: transcript.json has no warnings" python3 -c '
import json, sys; assert json.load(open(sys.argv[1]))["warnings"] == []' "$out/good/transcript.json"
check "the run's summary lists the warning" bash -c "grep -A3 'processed with warnings' '$TMP/run.log' | grep -q 'half.wav: the WAV header promises'"
check "warnings.csv has the row for half" grep -q '^half,decode,.*WAV header promises' "$out/warnings.csv"
check "the cut mp3 (its Xing tag states the whole length) is reported too" grep -q '^truncated,decode,.*mp3 header promises' "$out/warnings.csv"
check "warnings.csv names no other recording" test "$(tail -n +2 "$out/warnings.csv" | cut -d, -f1 | sort | tr '\n' ' ')" = "half truncated "
check "summary.csv lists only finished recordings" bash -c "! grep -q '^zero,' '$out/summary.csv'"
check "no sanitizer report" bash -c "! grep -q 'Sanitizer' '$TMP/run.log'"
