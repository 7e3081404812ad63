#!/usr/bin/env bash
# bench/peers/install.sh — install the Node.js peers of `make bench-queue`
# (BullMQ, graphile-worker) into build/peers-node/, from the committed
# package.json and package-lock.json, with `npm ci` (exact, reproducible).
#
# Why build/peers-node and not bench/peers/node_modules: build/ is ignored
# and thrown away by `make clean`, and the source tree stays free of
# node_modules. The bench scripts load their modules from there (see
# peers_require in bullmq_bench.js / graphile_bench.js).
#
# Idempotent: when the installed lock file equals the committed one and
# node_modules is present, nothing is done.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DEST=${PARLEY_PEERS_NODE:-$ROOT/build/peers-node}

command -v node >/dev/null 2>&1 || { echo "install.sh: node not found (scripts/install-deps.sh installs nodejs)" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "install.sh: npm not found (scripts/install-deps.sh installs npm)" >&2; exit 1; }

if [ -d "$DEST/node_modules" ] && cmp -s "$HERE/package-lock.json" "$DEST/package-lock.json" \
   && cmp -s "$HERE/package.json" "$DEST/package.json"; then
  echo "peers: already installed in $DEST"
  exit 0
fi

mkdir -p "$DEST"
cp "$HERE/package.json" "$HERE/package-lock.json" "$DEST/"
# --ignore-scripts: no package here needs an install script (msgpackr's
# native extension ships prebuilt in an optional package, and msgpackr falls
# back to plain JavaScript without it); it also keeps npm from running code
# at install time.
# `npm ci` is tried first. It refuses a lock file that lacks any optional
# platform package (here msgpackr's prebuilt extensions for macOS, Windows
# and 32-bit ARM, which the package registry we reach does not carry, so
# `npm install` left them out of the lock). The fallback is `npm install`
# against the same lock, which installs exactly the locked versions and
# skips the absent optional ones; the lock must come out unchanged.
echo "peers: installing into $DEST"
npm_flags=(--prefix "$DEST" --ignore-scripts --no-audit --no-fund --loglevel=error)
if ! npm ci "${npm_flags[@]}" >"$DEST/npm-ci.log" 2>&1; then
  if ! grep -q 'can only install packages when your package.json and package-lock.json' "$DEST/npm-ci.log" \
     || ! npm install "${npm_flags[@]}" >>"$DEST/npm-ci.log" 2>&1; then
    echo "install.sh: npm failed; log tail:" >&2
    tail -30 "$DEST/npm-ci.log" >&2
    # leave no half-installed tree that the idempotence check could mistake
    rm -f "$DEST/package-lock.json"
    exit 1
  fi
  if ! cmp -s "$HERE/package-lock.json" "$DEST/package-lock.json"; then
    echo "install.sh: npm install changed the lock file: bench/peers/package-lock.json is out of date" >&2
    diff "$HERE/package-lock.json" "$DEST/package-lock.json" | head -20 >&2
    rm -f "$DEST/package-lock.json"
    exit 1
  fi
fi
node -e 'for (const m of ["bullmq", "ioredis", "graphile-worker", "pg"]) require.resolve(m, { paths: [process.argv[1]] })' "$DEST" \
  || { echo "install.sh: modules missing after npm ci" >&2; rm -f "$DEST/package-lock.json"; exit 1; }
echo "peers: installed $(node -p "Object.entries(require('$DEST/package.json').dependencies).map(([k, v]) => k + ' ' + v).join(', ')")"
