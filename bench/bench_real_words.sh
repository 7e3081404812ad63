#!/usr/bin/env bash
# bench/bench_real_words.sh — words on real speech: WER per source and
# Singlish-target false alarms per hour per source, with the shipped
# defaults (built-in lexicon, its verification threshold).
#
# Runs `parley run` over every real English recording in ../shared/data in
# which nobody says a target (bench/real_asr_sets.sh: the single-speaker read
# sets with transcripts, plus the meetings, the 2-speaker stereo clip and the
# spoken keyword list, which have none), and, when the package is installed,
# over Debian's asterisk-core-sounds-en-wav IVR prompts (8 kHz, one speaker;
# held out: the verification threshold was not chosen on them). WER comes
# from `parley eval` (src/eval/wer.c) on the files with a transcript.
#
# WER NORMALISATION (wer.h): lower case; ASCII punctuation removed, '-' and
# '_' split words (so "don't" is "dont" on both sides); numbers are NOT
# spelled out (a reference "1865" against "eighteen sixty five" counts as
# errors; the only affected references are listed at the end); no other
# mapping (no British/US spellings, no compound splitting). Hypothesis: the
# final transcript (after the spelling corrections). Per source:
# (substitutions + insertions + deletions) / reference words, pooled.
#
# False alarms: every counted target (summary counts, i.e. after the
# confidence threshold and the verifier) on these recordings is one, since
# none holds a target.
#
# Called at the end of `make bench-real` (bench/bench_real.sh); runs alone as
# `bash bench/bench_real_words.sh` or `make bench-real-words`.
#
# Environment:
#   PARLEY_SHARED_DATA ($(dirname repo)/shared/data)   the real recordings
#   RW_JOBS (nproc)        parley workers
#   RW_ASTERISK (1)        0 skips the asterisk prompts
#   RW_ASTERISK_DIR (/usr/share/asterisk/sounds/en_US_f_Allison)
#   RW_OUT (build/bench-real-words.json)
#   RW_ARGS                more `parley run` arguments, e.g. "--set stt.denoise_below=0"
#   RW_KEEP (0)            1 keeps the work folder and prints where
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PARLEY=${PARLEY_BIN:-$ROOT/build/parley}
DATA=${PARLEY_SHARED_DATA:-$(dirname "$ROOT")/shared/data}
JOBS=${RW_JOBS:-$(nproc 2>/dev/null || echo 2)}
AST_DIR=${RW_ASTERISK_DIR:-/usr/share/asterisk/sounds/en_US_f_Allison}
OUT_JSON=${RW_OUT:-$ROOT/build/bench-real-words.json}
# shellcheck source=bench/real_asr_sets.sh
. "$ROOT/bench/real_asr_sets.sh"

if [ ! -d "$DATA" ]; then
  echo "bench-real-words: skipped, no $DATA (only the project's own machines have the real recordings)"
  exit 0
fi
W=$(mktemp -d "${TMPDIR:-/tmp}/parley-rw.XXXXXX")
if [ "${RW_KEEP:-0}" = 1 ]; then trap 'echo "work folder kept: $W"' EXIT; else trap 'rm -rf "$W"' EXIT; fi
mkdir -p "$(dirname "$OUT_JSON")"
T0=$(date +%s)

# Transcribed set (with references) and the rest of the target-free set.
real_asr_sets "$DATA" "$W/in" "$W/ref" >"$W/list"
real_free_sets "$DATA" "$W/free" | while IFS=$'\t' read -r n s; do
  grep -q "^$n	" "$W/list" && continue
  mv "$W"/free/"$n".* "$W/in/"
  printf '%s\t%s\n' "$n" "$s" >>"$W/list"
done
if [ "${RW_ASTERISK:-1}" = 1 ] && [ -d "$AST_DIR" ]; then
  asterisk_sets "$AST_DIR" "$W/in" >>"$W/list"
elif [ "${RW_ASTERISK:-1}" = 1 ]; then
  echo "bench-real-words: no $AST_DIR (apt-get install asterisk-core-sounds-en-wav); held-out prompts skipped"
fi
echo "bench-real-words: $(wc -l <"$W/list") recordings, $JOBS jobs"
read -r -a EXTRA <<<"${RW_ARGS:-}"
"$PARLEY" run "$W/in" -o "$W/out" -j "$JOBS" -q --no-progress "${EXTRA[@]}" >"$W/run.log" 2>&1 \
  || { echo "parley run failed:"; tail -20 "$W/run.log"; exit 1; }
"$PARLEY" eval --ref "$W/ref" --hyp "$W/out" --json "$W/eval.json" >/dev/null 2>&1 || true
test -s "$W/eval.json" || { echo "parley eval wrote nothing"; exit 1; }

python3 - "$W/list" "$W/eval.json" "$W/out/parley.db" "$W/ref" "$OUT_JSON" <<'PY'
import collections, json, os, re, sqlite3, sys
lst, evj, dbp, refdir, outp = sys.argv[1:]
src = dict(l.rstrip("\n").split("\t") for l in open(lst))
ev = json.load(open(evj))
db = sqlite3.connect(dbp)
dur = dict(db.execute("select name, duration from recordings where status = 'done'"))
fa = collections.Counter()
for name, c in db.execute("select r.name, sum(c.count) from word_counts c join recordings r "
                          "on r.id = c.recording_id group by r.name"):
    fa[name] = c or 0
words = collections.Counter()
for name, w, c in db.execute("select r.name, c.word, c.count from word_counts c join recordings r "
                             "on r.id = c.recording_id where c.count > 0"):
    words[(src.get(name, "?"), w)] += c
agg = collections.defaultdict(lambda: collections.Counter())
for r in ev["recordings"]:
    w = r.get("wer")
    if not w:
        continue
    a = agg[src.get(r["name"], "?")]
    a["files"] += 1
    for k in ("ref_words", "substitutions", "insertions", "deletions"):
        a[k] += w[k]
bysrc = collections.defaultdict(lambda: {"files": 0, "seconds": 0.0, "fa": 0})
for n, s in src.items():
    if n not in dur:
        continue
    b = bysrc[s]
    b["files"] += 1
    b["seconds"] += dur[n]
    b["fa"] += fa[n]
rows = []
print("%-16s %5s %8s %9s %7s %7s  %s" % ("source", "files", "minutes", "ref words", "WER", "FA", "FA/hour"))
tot = collections.Counter()
free_s = free_fa = 0.0
for s in sorted(bysrc, key=lambda s: (s.startswith("asterisk"), s)):
    b = bysrc[s]; a = agg.get(s)
    wer = (a["substitutions"] + a["insertions"] + a["deletions"]) / a["ref_words"] if a and a["ref_words"] else None
    if a:
        for k in a:
            tot[k] += a[k]
    if not s.startswith("asterisk"):
        free_s += b["seconds"]; free_fa += b["fa"]
    print("%-16s %5d %8.2f %9s %7s %7d  %7.1f" % (s, b["files"], b["seconds"] / 60,
          a["ref_words"] if a else "-", "%.1f%%" % (100 * wer) if wer is not None else "-",
          b["fa"], b["fa"] / (b["seconds"] / 3600) if b["seconds"] else 0))
    rows.append({"source": s, "files": b["files"], "seconds": b["seconds"],
                 "ref_words": a["ref_words"] if a else 0, "wer": wer, "false_alarms": b["fa"],
                 "fa_per_hour": b["fa"] / (b["seconds"] / 3600) if b["seconds"] else None})
pooled = (tot["substitutions"] + tot["insertions"] + tot["deletions"]) / tot["ref_words"] if tot["ref_words"] else None
print("pooled WER (transcribed sets, %d words): %.1f%%" % (tot["ref_words"], 100 * (pooled or 0)))
print("target false alarms, ../shared/data (%.1f min): %d = %.1f per hour" % (
    free_s / 60, free_fa, free_fa / (free_s / 3600) if free_s else 0))
ast = [r for r in rows if r["source"].startswith("asterisk")]
if ast:
    print("target false alarms, asterisk prompts held out (%.1f min): %d = %.1f per hour" % (
        ast[0]["seconds"] / 60, ast[0]["false_alarms"], ast[0]["fa_per_hour"]))
if words:
    print("false alarms by source and word: " + ", ".join("%s %s %d" % (s, w, c) for (s, w), c in sorted(words.items())))
digits = sorted(f[:-4] for f in os.listdir(refdir) if f.endswith(".txt") and re.search(r"[0-9]", open(os.path.join(refdir, f)).read()))
print("references with digits (not spelled out, count as errors): %s" % (" ".join(digits) or "none"))
json.dump({"sources": rows, "pooled_wer": pooled, "free_fa": free_fa, "free_seconds": free_s,
           "normalisation": "lower case, ASCII punctuation removed, '-'/'_' split words, numbers not spelled out"},
          open(outp, "w"), indent=1)
PY
echo "bench-real-words took $(( $(date +%s) - T0 )) s; figures in $OUT_JSON"
