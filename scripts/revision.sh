#!/bin/sh
# revision.sh — print the git revision parley is built from, for
# `parley --version` (the Makefile bakes it into build/gen/version.c).
#   in a git checkout: `git describe --always --dirty` of this tree
#   in a tarball made by `make dist` or `git archive`: .git-revision, which
#     git filled in when it wrote the archive (export-subst, .gitattributes)
#   otherwise: "unknown"
root=$(cd "$(dirname "$0")/.." && pwd)
top=$(git -C "$root" rev-parse --show-toplevel 2>/dev/null)
if [ "$top" = "$root" ] && rev=$(git -C "$root" describe --always --dirty --abbrev=12 2>/dev/null); then
  echo "$rev"
  exit 0
fi
rev=$(head -n 1 "$root/.git-revision" 2>/dev/null)
case "$rev" in
  ''|*'$Format'*) echo unknown ;;
  *) echo "$rev" ;;
esac
