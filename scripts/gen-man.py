#!/usr/bin/env python3
"""gen-man.py — parley's man pages, made from the same text as --help.

    python3 scripts/gen-man.py BINARY OUT_DIR

Runs `BINARY --help`, `BINARY --version` and `BINARY CMD --help` for every
command the first lists, and writes OUT_DIR/parley.1 and OUT_DIR/parley-CMD.1
in roff (man(7) macros). The help text is the one source: a flag documented
in --help is documented in the man page, in the same words.

How the help text is read (the layout every command's usage string keeps):
  "usage: ..." and the lines indented under it  -> SYNOPSIS
  a line ending in ':' at column 0 ("options:")  -> a subsection
  "  -x, --long ARG   text" / "      --long ARG  text" -> a tagged paragraph;
      lines indented further continue its text (deeper ones keep their breaks)
  "exit status: ..." paragraph                   -> EXIT STATUS
  anything else                                  -> paragraphs, as written
"""
import re
import subprocess
import sys

OPTION = re.compile(r"^ {1,8}(-[^ ].*?)(?: {2,}(\S.*))?$")
DESC_COL = 25  # where every usage string starts an option's text
HEADING = re.compile(r"^([A-Za-z][A-Za-z '()-]*):\s*$")


def run(binary, *args):
    out = subprocess.run([binary, *args], check=True, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"})
    return out.stdout.decode("utf-8")


def esc(text):
    """Escape running text for roff: backslashes, a leading . or ', and
    characters outside ASCII as groff/mandoc named code points."""
    text = text.replace("\\", "\\e")
    text = "".join(c if ord(c) < 128 else "\\[u%04X]" % ord(c) for c in text)
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def esc_opt(text):
    """An option tag: escaped, with its hyphens as real minus signs."""
    return esc(text).replace("-", "\\-")


def commands_of(top_help):
    cmds, inside = [], False
    for line in top_help.splitlines():
        if line.startswith("commands:"):
            inside = True
            continue
        if inside:
            m = re.match(r"^  (\S+)\s+(.*)$", line)
            if not m:
                break
            cmds.append((m.group(1), m.group(2)))
    return cmds


def split_usage(text):
    """The usage lines (without 'usage: ') and the rest."""
    lines = text.splitlines()
    usage, i = [], 0
    if lines and lines[0].startswith("usage:"):
        usage.append(lines[0][len("usage:"):].strip())
        i = 1
        while i < len(lines) and lines[i].strip() and lines[i].startswith(" "):
            usage.append(lines[i].strip())
            i += 1
        # further "parley ..." forms and a trailing note before the blank line
        while i < len(lines) and lines[i].strip():
            usage.append(lines[i].strip())
            i += 1
    return usage, lines[i:]


def body_roff(lines):
    """Description lines -> roff: paragraphs, subsections, tagged options."""
    out, para, exit_status = [], [], []
    in_option = False
    opt_indent = 0

    def flush():
        nonlocal para
        if para:
            out.append(".PP")
            out.extend(esc(p) for p in para)
            para = []

    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if line.startswith("exit status:"):
            flush()
            in_option = False
            exit_status.append(line[len("exit status:"):].strip())
            i += 1
            while i < len(lines) and lines[i].strip():
                exit_status.append(lines[i].strip())
                i += 1
            continue
        if not line.strip():
            flush()
            in_option = False
            i += 1
            continue
        m = OPTION.match(line)
        if m and not m.group(2) and len(line) > DESC_COL and line[DESC_COL - 1] == " ":
            # a tag that fills its column: the text starts at DESC_COL after one space
            m = OPTION.match(line[:DESC_COL - 1].rstrip() + "  " + line[DESC_COL:])
        if m and not para:
            flush()
            out.append(".TP")
            out.append(".B " + esc_opt(m.group(1).strip()))
            if m.group(2):
                out.append(esc(m.group(2)))
                opt_indent = line.index(m.group(2))
            else:
                opt_indent = DESC_COL
            in_option = True
            i += 1
            continue
        h = HEADING.match(line)
        if h:
            flush()
            in_option = False
            out.append(".SS " + esc(h.group(1)[0].upper() + h.group(1)[1:]))
            i += 1
            continue
        indent = len(line) - len(line.lstrip())
        if in_option and indent >= 8:
            if indent > opt_indent + 1:
                out.append(".br")
                out.append("\\ \\ " + esc(line.strip()))
            else:
                out.append(esc(line.strip()))
            i += 1
            continue
        in_option = False
        para.append(line.strip())
        i += 1
    flush()
    return out, exit_status


def page(name, section_title, summary, version, usage, body, see_also):
    roff = ['.\\" Generated by scripts/gen-man.py from `%s --help`; do not edit.' % name.replace("-", " ", 1),
            '.TH "%s" "1" "" "parley %s" "parley manual"' % (name.upper(), esc(version)),
            ".SH NAME",
            "%s \\- %s" % (esc_opt(name), esc(summary)),
            ".SH SYNOPSIS",
            ".nf"]
    roff.extend(esc(u) for u in usage)
    roff.append(".fi")
    text, exit_status = body_roff(body)
    roff.append(".SH DESCRIPTION")
    roff.extend(text)
    if exit_status:
        roff.append(".SH EXIT STATUS")
        roff.extend(esc(e) for e in exit_status)
    roff.append(".SH SEE ALSO")
    roff.append(",\n".join(".BR %s (1)" % esc_opt(s) for s in see_also))
    return "\n".join(roff) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: gen-man.py BINARY OUT_DIR")
    binary, out_dir = sys.argv[1], sys.argv[2]
    top = run(binary, "--help")
    version = run(binary, "--version").strip()
    version = version[len("parley "):] if version.startswith("parley ") else version
    cmds = commands_of(top)
    if not cmds:
        sys.exit("gen-man.py: no commands found in `%s --help`" % binary)
    names = ["parley-" + c for c, _ in cmds]

    # parley(1): the top-level help; its command rows become tagged paragraphs.
    usage, rest = split_usage(top)
    body = []
    for line in rest:
        m = re.match(r"^  (\S+)\s+(.*)$", line)
        if m and m.group(1) in dict(cmds):
            body.append("  --CMD-- %s  %s; see parley-%s(1)" % (m.group(1), m.group(2), m.group(1)))
        else:
            body.append(line)
    body += ["", "options:",
             "  -h, --help             this list of commands",
             "      --version          the version and the git revision parley was built from"]
    roff = page("parley", "", "a durable speech-analytics pipeline", version, usage, body, names)
    roff = roff.replace(".B \\-\\-CMD\\-\\- ", ".B ")
    with open("%s/parley.1" % out_dir, "w") as f:
        f.write(roff)

    for cmd, summary in cmds:
        usage, rest = split_usage(run(binary, cmd, "--help"))
        see = ["parley"] + [n for n in names if n != "parley-" + cmd]
        with open("%s/parley-%s.1" % (out_dir, cmd), "w") as f:
            f.write(page("parley-" + cmd, "", summary, version, usage, rest, see))


if __name__ == "__main__":
    main()
