# lib.sh — shared helpers for the integration tests (sourced).
# Each check prints one TAP line: "ok - what" or "not ok - what".
set -u
ROOT=${PARLEY_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PARLEY=${PARLEY_BIN:-$ROOT/build/parley}
PARLEY_SAN=${PARLEY_SAN_BIN:-$ROOT/build-san/parley}
# parley plus test-only hooks (PARLEY_TEST_FAULTS for the tick stages;
# tests/support/parley_test.c), from the same build as PARLEY
PARLEY_TEST=${PARLEY_TEST_BIN:-$(dirname "$PARLEY")/tests/parley-test}
GEN="python3 $ROOT/tests/gen/gen_conversation.py"
export PARLEY_GEN_CACHE=${PARLEY_GEN_CACHE:-$ROOT/build/gen-cache}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp:print_suppressions=0}
mkdir -p "$PARLEY_GEN_CACHE"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/parley-it.XXXXXX")
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; }
check() {  # description, command...
  local what=$1; shift
  if "$@"; then ok "$what"; else notok "$what"; fi
}
# Run a command with a time limit; returns its status (124 on timeout).
limit() { timeout --kill-after=10 "$@"; }
