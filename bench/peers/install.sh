#!/usr/bin/env bash
# bench/peers/install.sh — install the Node.js peers of `make bench-queue`
# (BullMQ, graphile-worker) into build/peers-node/, at exactly the versions
# pinned in the committed package.json (and package-lock.json).
#
# Why build/peers-node and not bench/peers/node_modules: build/ is ignored
# and thrown away by `make clean`, and the source tree stays free of
# node_modules. The bench scripts load their modules from there (see
# peersRequire in bullmq_bench.js / graphile_bench.js).
#
# How: `npm ci` against the committed lock (exact and reproducible). The
# lock lists every optional platform package of msgpackr's prebuilt
# extension (regenerated 2026-12 against registry.npmjs.org, which serves
# them all). Should a registry refuse that lock (npm ci answers that
# package.json and the lock disagree, e.g. a mirror without some optional
# package), the fallback is `npm install` of the same pins. Either way the
# result is checked: each direct dependency must be installed at exactly its
# pinned version and must load, or this script fails with the reason — it
# never leaves a peer missing quietly.
#
# Idempotent: when the installed package.json and lock equal the committed
# ones and the check passes, nothing is done. Exit status: 0 installed, 1 not.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DEST=${PARLEY_PEERS_NODE:-$ROOT/build/peers-node}

fail() { echo "install.sh: $*" >&2; rm -f "$DEST/package-lock.json"; exit 1; }
command -v node >/dev/null 2>&1 || { echo "install.sh: node not found (scripts/install-deps.sh installs nodejs)" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "install.sh: npm not found (scripts/install-deps.sh installs npm)" >&2; exit 1; }

# Every dependency at its pinned version, loadable: prints what is wrong.
check_pins() {
  node - "$DEST" <<'JS'
const path = require('path');
const { createRequire } = require('module');
const dest = process.argv[2];
const want = require(path.join(dest, 'package.json')).dependencies;
const req = createRequire(path.join(dest, 'package.json'));
let bad = 0;
for (const [name, version] of Object.entries(want)) {
  let got = null;
  try { got = require(path.join(dest, 'node_modules', name, 'package.json')).version; } catch (e) { }
  if (got !== version) { console.error(`${name}: pinned ${version}, installed ${got || 'nothing'}`); bad++; continue; }
  try { req(name); } catch (e) { console.error(`${name} ${version} does not load: ${e.message}`); bad++; }
}
process.exit(bad ? 1 : 0);
JS
}

if [ -d "$DEST/node_modules" ] && cmp -s "$HERE/package-lock.json" "$DEST/package-lock.json" \
   && cmp -s "$HERE/package.json" "$DEST/package.json" && check_pins 2>/dev/null; then
  echo "peers: already installed in $DEST"
  exit 0
fi

mkdir -p "$DEST"
rm -rf "$DEST/node_modules"
cp "$HERE/package.json" "$HERE/package-lock.json" "$DEST/"
# --ignore-scripts: no package here needs an install script (msgpackr's
# native extension ships prebuilt in an optional package, and msgpackr falls
# back to plain JavaScript without it); it also keeps npm from running code
# at install time.
echo "peers: installing into $DEST (npm ci, exact lock)"
npm_flags=(--prefix "$DEST" --ignore-scripts --no-audit --no-fund --loglevel=error)
if ! npm ci "${npm_flags[@]}" >"$DEST/npm.log" 2>&1; then
  if ! grep -q 'can only install packages when your package.json and package-lock.json' "$DEST/npm.log"; then
    tail -30 "$DEST/npm.log" >&2
    fail "npm ci failed (log above, whole log in $DEST/npm.log)"
  fi
  echo "peers: this registry disagrees with the committed lock; npm install of the pinned versions instead"
  rm -rf "$DEST/node_modules"
  npm install "${npm_flags[@]}" >>"$DEST/npm.log" 2>&1 || {
    tail -30 "$DEST/npm.log" >&2
    fail "npm install failed (log above, whole log in $DEST/npm.log)"
  }
  # what the registry served differs from the lock: say so, keep the lock
  # committed as the reference (the check below is what must hold)
  cmp -s "$HERE/package-lock.json" "$DEST/package-lock.json" ||
    echo "peers: note: npm rewrote the lock ($(diff "$HERE/package-lock.json" "$DEST/package-lock.json" | grep -c '^[<>]') lines differ); regenerate bench/peers/package-lock.json with: npm install --package-lock-only --prefix bench/peers"
  cp "$HERE/package-lock.json" "$DEST/package-lock.json"
fi
check_pins || fail "the installed peers are not the pinned ones (above)"
echo "peers: installed $(node -p "Object.entries(require('$DEST/package.json').dependencies).map(([k, v]) => k + ' ' + v).join(', ')")"
