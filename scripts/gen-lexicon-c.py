#!/usr/bin/env python3
"""Regenerate src/text/lexicon_singlish.c from data/lexicon/singlish.lex.

Run after editing the .lex file (`make lexicon`); tests/unit/test_lexicon.c
fails when the two differ. The .lex file must be plain ASCII.
"""
import os, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
src = os.path.join(root, "data", "lexicon", "singlish.lex")
dst = os.path.join(root, "src", "text", "lexicon_singlish.c")
text = open(src, "rb").read().decode("ascii")

def c_line(line):
    esc = line.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
    return '\t"%s\\n"' % esc

lines = text.split("\n")
if lines and lines[-1] == "":
    lines.pop()
    body = "\n".join(c_line(l) for l in lines)
else:
    sys.exit("singlish.lex must end with a newline")
out = '''/*
 * lexicon_singlish.c — the built-in Singlish lexicon. This text must stay
 * byte-identical to data/lexicon/singlish.lex (tests/unit/test_lexicon.c
 * checks it); edit the .lex file and run `make lexicon` (which runs
 * scripts/gen-lexicon-c.py) to regenerate this file.
 */
#include "text/lexicon.h"

static const char singlish_lex[] =
%s;

const char *lexicon_default_text(void)
{
	return singlish_lex;
}
''' % body
open(dst, "w").write(out)
print("wrote", os.path.relpath(dst, root))
