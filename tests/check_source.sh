#!/usr/bin/env bash
# Source hygiene: unbounded or unchecked C functions are banned in parley's code.
cd "$(dirname "$0")/.."
files=$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 2>/dev/null; ls src/*/*.c src/*/*.h 2>/dev/null)
files=$(echo "$files" | grep -v "^src/util/banned.h$")
hits=$(grep -nE '\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|gets)\s*\(' $(echo "$files" | sort -u) 2>/dev/null)
if [ -n "$hits" ]; then echo "not ok - banned functions used:"; echo "$hits"; else echo "ok - no banned functions (strcpy strcat sprintf vsprintf strtok atoi atol gets)"; fi
# ... and the compiler refuses them: every compile force-includes src/util/banned.h.
for f in 'strcpy(d, s)' 'sprintf(d, "%s", s)' 'atoi(s)' 'strtok(d, s)'; do
  if printf '#include <string.h>\nint f(char *d, const char *s) { return (int)(long)%s; }\n' "$f" |
     ${CC:-cc} -std=c17 -D_GNU_SOURCE -include src/util/banned.h -fsyntax-only -x c - 2>/dev/null; then
    echo "not ok - banned.h lets '$f' compile"
  else
    echo "ok - banned.h makes '$f' a compile error"
  fi
done
if grep -q -- '-include src/util/banned.h' Makefile; then echo "ok - the Makefile force-includes banned.h"; else echo "not ok - the Makefile does not force-include banned.h"; fi
