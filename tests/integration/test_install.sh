#!/usr/bin/env bash
# make install / uninstall (issue 17 item 1): the DESTDIR tree, --version with
# the git revision (and from a git-archive tarball), the man pages made from
# --help render with man -l, systemd-analyze verify on the units (skipped,
# saying so, without systemd-analyze), the example settings load, and the
# alert rules name only metrics a running `parley serve` exports.
# Installs the build under test (PARLEY_BIN's folder); compiles nothing.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/lib/serve.sh"
cd "$ROOT" || exit 1
B=$(cd "$(dirname "$PARLEY")" && pwd)
SAN=0; [ "$(basename "$B")" = build-san ] && SAN=1
MK=(make -s --no-print-directory BUILD="$B" SAN=$SAN)
SERVER_PID=
trap 'serve_stop; cleanup' EXIT

# ---- DESTDIR install: the tree -----------------------------------------------
PKG=$TMP/pkg
"${MK[@]}" install PREFIX=/usr/local DESTDIR="$PKG" >"$TMP/install.log" 2>&1
check "make install DESTDIR=… PREFIX=/usr/local succeeds" test $? -eq 0 || cat "$TMP/install.log"
(cd "$PKG" && find . -type f | sed 's|^\./|/|' | sort) >"$TMP/tree"
cmds=$("$PARLEY" --help | sed -n 's/^  \([a-z]\+\)  .*/\1/p')
{
  echo /usr/local/bin/parley
  echo /usr/local/etc/parley/parley.conf
  echo /usr/local/lib/systemd/system/parley-serve.service
  echo /usr/local/lib/systemd/system/parley-worker@.service
  echo /usr/local/lib/sysusers.d/parley.conf
  echo /usr/local/share/doc/parley/README.md
  echo /usr/local/share/doc/parley/api.md
  echo /usr/local/share/doc/parley/operations.md
  echo /usr/local/share/doc/parley/examples/parley.conf
  echo /usr/local/share/doc/parley/examples/parley-alerts.yml
  echo /usr/local/share/man/man1/parley.1
  for c in $cmds; do echo "/usr/local/share/man/man1/parley-$c.1"; done
} | sort >"$TMP/want"
check "the installed tree is exactly the expected $(wc -l <"$TMP/want") files" diff "$TMP/want" "$TMP/tree"
check "a man page per command ($(echo $cmds | wc -w) commands)" test "$(echo $cmds | wc -w)" -ge 10
check "the binary is executable" test -x "$PKG/usr/local/bin/parley"

# ---- --version: the git revision, baked in -----------------------------------
ver=$("$PKG/usr/local/bin/parley" --version)
rev=$(sh scripts/revision.sh)
check "parley --version names the git revision ($ver)" \
  bash -c "[[ '$ver' =~ ^parley\ [0-9]+\.[0-9]+\.[0-9]+\ \(git\ [0-9a-f]{7,}(-dirty)?\)$ ]] && [[ '$ver' == *'(git $rev)' ]]"
if git -C "$ROOT" rev-parse --show-toplevel >/dev/null 2>&1 && git -C "$ROOT" cat-file -e HEAD:.git-revision 2>/dev/null; then
  mkdir -p "$TMP/tarball"
  git -C "$ROOT" archive HEAD .git-revision scripts/revision.sh | tar -x -C "$TMP/tarball"
  head=$(git -C "$ROOT" rev-parse HEAD)
  got=$(sh "$TMP/tarball/scripts/revision.sh")
  check "a git-archive tarball (make dist) knows its revision without .git ($got)" \
    bash -c "[ -n '$got' ] && [ '$got' != unknown ] && [[ '$head' == '$got'* ]]"
  printf '$Format:%%h$\n' >"$TMP/tarball/.git-revision"
  check "a copy without git or a filled-in .git-revision says unknown" \
    test "$(sh "$TMP/tarball/scripts/revision.sh")" = unknown
else
  ok "# SKIP tarball revision: not a git checkout with .git-revision committed"
fi

# ---- man pages: made from --help, rendered by man -l --------------------------
MANDIR=$PKG/usr/local/share/man/man1
# groff (what man runs) on every page; man -l itself on four (it is slow).
for page in "$MANDIR"/*.1; do groff -k -ww -z -man "$page" 2>>"$TMP/groff.err"; done
check "groff reports no warnings on the $(ls "$MANDIR" | wc -l) pages" test ! -s "$TMP/groff.err" || cat "$TMP/groff.err"
bad= missing=
for name in parley parley-run parley-worker parley-serve; do
  MANWIDTH=200 man -l "$MANDIR/$name.1" >"$TMP/$name.txt" 2>"$TMP/man.err"
  if [ $? -ne 0 ] || [ -s "$TMP/man.err" ] || ! grep -q "^${name^^}(1)" "$TMP/$name.txt" ||
     ! grep -q "^NAME" "$TMP/$name.txt" || ! grep -q "^SYNOPSIS" "$TMP/$name.txt"; then bad="$bad $name"; fi
  [ "$name" = parley ] && continue
  for o in $("$PARLEY" "${name#parley-}" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    grep -q -- "$o" "$TMP/$name.txt" || missing="$missing $name:$o"
  done
done
check "man -l renders parley, parley-run, -worker, -serve with NAME and SYNOPSIS${bad:+ (bad:$bad)}" test -z "$bad"
check "every flag of run, worker and serve --help is in its man page${missing:+ (missing:$missing)}" test -z "$missing"
check "parley(1) lists every command" \
  bash -c "for c in $(echo $cmds); do grep -q \"parley-\$c(1)\" '$TMP/parley.txt' || exit 1; done"

# ---- the units ----------------------------------------------------------------
UNITS=$PKG/usr/local/lib/systemd/system
for u in parley-serve.service parley-worker@.service; do
  miss=
  for opt in 'ProtectSystem=strict' 'NoNewPrivileges=yes' 'PrivateTmp=yes' 'DynamicUser=yes' \
             'ReadWritePaths=/var/lib/parley' 'CapabilityBoundingSet=$' 'SystemCallFilter=@system-service' \
             'ExecStart=/usr/local/bin/parley ' 'Environment=PARLEY_CONFIG=/usr/local/etc/parley/parley.conf'; do
    grep -q "^$opt" "$UNITS/$u" || miss="$miss $opt"
  done
  check "$u: hardening options and install paths${miss:+ (missing:$miss)}" test -z "$miss"
done
if command -v systemd-analyze >/dev/null; then
  # Installed for real under a prefix (no DESTDIR), so ExecStart and the
  # Documentation= man pages exist where the units say.
  P=$TMP/prefix
  "${MK[@]}" install PREFIX="$P" >"$TMP/install2.log" 2>&1
  check "make install PREFIX=$P succeeds" test $? -eq 0
  MANPATH=$P/share/man systemd-analyze verify "$P/lib/systemd/system/parley-serve.service" \
    "$P/lib/systemd/system/parley-worker@.service" >"$TMP/verify.log" 2>&1
  status=$?
  check "systemd-analyze verify passes on both units (status $status, no complaints)" \
    bash -c "[ $status -eq 0 ] && [ ! -s '$TMP/verify.log' ]" || sed 's/^/# /' "$TMP/verify.log"
  echo "# changed settings are kept by uninstall" >>"$P/etc/parley/parley.conf"
  "${MK[@]}" uninstall PREFIX="$P" >"$TMP/uninstall2.log" 2>&1
  check "uninstall keeps a changed parley.conf and says so" \
    bash -c "[ \"\$(cd '$P' && find . -type f)\" = ./etc/parley/parley.conf ] && grep -q 'kept' '$TMP/uninstall2.log'"
else
  ok "# SKIP systemd-analyze verify: systemd-analyze is not installed (apt-get install systemd)"
fi

# ---- the example settings load --------------------------------------------------
sed "s|/var/lib/parley|$TMP/state|g" "$PKG/usr/local/etc/parley/parley.conf" >"$TMP/parley.conf"
mkdir -p "$TMP/state"
sox -n -r 16000 -c 1 -b 16 "$TMP/one.wav" trim 0 1
limit 60 "$PARLEY" submit --config "$TMP/parley.conf" "$TMP/one.wav" >"$TMP/status.log" 2>&1 &&
  limit 60 "$PARLEY" status --config "$TMP/parley.conf" >>"$TMP/status.log" 2>&1
check "the example parley.conf is accepted (submit and status --config: its store)" \
  bash -c "[ $? -eq 0 ] && [ -s '$TMP/state/parley.db' ]" || cat "$TMP/status.log"

# ---- alert rules: only metrics /metrics exports ---------------------------------
ALERTS=$PKG/usr/local/share/doc/parley/examples/parley-alerts.yml
check "the alert rules are YAML with an alert and expr per rule" python3 -c '
import sys, yaml
rules = yaml.safe_load(open(sys.argv[1]))["groups"][0]["rules"]
names = {r["alert"] for r in rules}
assert all(r.get("expr") for r in rules), rules
for want in ("ParleyQueueGrowing", "ParleyDeadLetters", "ParleyNoLiveWorkers", "ParleyStageSlow"):
    assert want in names, (want, names)
' "$ALERTS"
if command -v promtool >/dev/null; then
  check "promtool check rules" promtool check rules "$ALERTS"
fi
serve_start "$TMP/serve.log" --data "$TMP/serve" --workers 1
curl -s --max-time 30 "$BASE/metrics" >"$TMP/metrics"
serve_stop
used=$(grep -o 'parley_[a-z_]*' "$ALERTS" | grep -v '^parley_alerts' | sort -u)
absent=
for m in $used; do  # a summary's _sum/_count lines appear once a stage has run; its TYPE always
  grep -q "^$m[{ ]" "$TMP/metrics" || grep -q "^# TYPE ${m%_sum} \|^# TYPE ${m%_count} " "$TMP/metrics" ||
    absent="$absent $m"
done
check "every metric the rules use ($(echo $used | wc -w)) is exported by /metrics${absent:+ (absent:$absent)}" \
  bash -c "[ -s '$TMP/metrics' ] && [ -z '$absent' ]"

# ---- uninstall: nothing left -----------------------------------------------------
"${MK[@]}" uninstall PREFIX=/usr/local DESTDIR="$PKG" >"$TMP/uninstall.log" 2>&1
check "make uninstall DESTDIR=… removes every installed file" \
  bash -c "[ -z \"\$(find '$PKG' -type f)\" ]" || find "$PKG" -type f
