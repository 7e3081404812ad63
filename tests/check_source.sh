#!/usr/bin/env bash
# Source hygiene: unbounded or unchecked C functions are banned in parley's code.
cd "$(dirname "$0")/.."
files=$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 2>/dev/null; ls src/*/*.c src/*/*.h 2>/dev/null)
hits=$(grep -nE '\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|gets)\s*\(' $(echo "$files" | sort -u) 2>/dev/null)
if [ -n "$hits" ]; then echo "not ok - banned functions used:"; echo "$hits"; else echo "ok - no banned functions (strcpy strcat sprintf vsprintf strtok atoi atol gets)"; fi
