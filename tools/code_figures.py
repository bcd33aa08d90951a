#!/usr/bin/python3
"""Figures for a code-health report (issue 11), reproducible from a tree.

  tools/code_figures.py [--top N] [--min-lines N] [--shape] DIR...

Prints, over the C files (.c, .h) and shell scripts (.sh) below each DIR:

- repeated code: lines that stand in a run of MIN (6) or more
  significant lines found again elsewhere (another file or another
  place in the same file). A line is significant unless it is blank, a
  comment, lone punctuation or an #include; white space is folded. With
  --shape, names, numbers and strings are folded too (lines alike but
  for them count as the same). Reported: the repeated runs (distinct
  windows of MIN lines that occur more than once), the places they
  stand in, and the lines those places cover.
- the N (15) longest C functions: a definition is a line starting in
  column 0 with NAME( (the house style puts the return type on its own
  line) whose body opens with "{" in column 0; its length runs from
  that line to the "}" in column 0 that closes it.
"""
import argparse
import os
import re
import signal
import sys

SOURCE = (".c", ".h", ".sh")
COMMENT = re.compile(r"^(//|/\*|\*|\*/|#(?!\s*(if|el|end|def|un|pragma)))")
PUNCT = re.compile(r"^[{}()\[\];,]*$")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"' + r"|'(?:[^'\\]|\\.)*'")
NUMBER = re.compile(r"\b(0x[0-9a-fA-F]+|\d+(\.\d+)?)[uUlL]*\b")
NAME = re.compile(r"\b[A-Za-z_]\w*\b")
KEYWORDS = set("""if else for while do switch case default return break
continue goto sizeof static const struct union enum typedef void int char
bool true false NULL unsigned long short double float size_t inline
local then fi done esac in function""".split())
FUNC = re.compile(r"^([A-Za-z_]\w*)\(")


def files(dirs):
    for top in dirs:
        for root, subdirs, names in os.walk(top):
            subdirs[:] = sorted(d for d in subdirs
                                if not d.startswith(".") and d != "build")
            for name in sorted(names):
                if name.endswith(SOURCE):
                    yield os.path.join(root, name)


def significant(path):
    """(line number, folded text, shape) of each significant line."""
    out = []
    in_comment = False
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, raw in enumerate(f, 1):
            text = " ".join(raw.split())
            if in_comment:
                if "*/" in text:
                    in_comment = False
                continue
            if text.startswith("/*") and "*/" not in text:
                in_comment = True
                continue
            if (not text or COMMENT.match(text) or PUNCT.match(text)
                    or text.startswith("#include")
                    or (path.endswith(".sh") and text.startswith("#"))):
                continue
            shape = STRING.sub("S", text)
            shape = NUMBER.sub("N", shape)
            shape = NAME.sub(lambda m: m.group(0) if m.group(0) in KEYWORDS
                             else "x", shape)
            out.append((number, text, shape))
    return out


def repeated(paths, min_lines, use_shape):
    where = {}
    lines = {}
    for path in paths:
        sig = significant(path)
        lines[path] = sig
        key_of = (lambda s: s[2]) if use_shape else (lambda s: s[1])
        for i in range(len(sig) - min_lines + 1):
            key = tuple(key_of(s) for s in sig[i:i + min_lines])
            where.setdefault(key, []).append((path, i))
    covered = set()
    runs = places = 0
    listing = []
    for key, at in where.items():
        if len(at) < 2:
            continue
        runs += 1
        places += len(at)
        listing.append(["%s:%d" % (path, lines[path][i][0]) for path, i in at])
        for path, i in at:
            for s in lines[path][i:i + min_lines]:
                covered.add((path, s[0]))
    return runs, places, len(covered), listing


def functions(paths):
    found = []
    for path in paths:
        if not path.endswith((".c", ".h")):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read().split("\n")
        name = start = None
        for number, line in enumerate(text, 1):
            m = FUNC.match(line)
            if m and not line.rstrip().endswith(";"):
                name, start = m.group(1), number
                if name == "START_TEST":	# Check: START_TEST(test_name)
                    name = line[len("START_TEST("):].split(")")[0]
            elif line == "{" and name is not None:
                pass
            elif line.startswith("}") and name is not None and start:
                found.append((number - start + 1, name, path, start))
                name = start = None
            elif line and not line[0].isspace() and line[0] not in "{}" \
                    and name is not None and line.endswith(";"):
                name = start = None
    found.sort(key=lambda f: (-f[0], f[2], f[3]))
    return found


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--min-lines", type=int, default=6)
    ap.add_argument("--shape", action="store_true")
    ap.add_argument("--list", type=int, default=0, metavar="N",
                    help="also list N repeated runs, most places first")
    args = ap.parse_args()
    paths = list(files(args.dirs))
    total = sum(len(significant(p)) for p in paths)
    runs, places, covered, listing = repeated(paths, args.min_lines,
                                              args.shape)
    print(f"files: {len(paths)}; significant lines: {total}")
    print(f"repeated code ({'alike in shape' if args.shape else 'identical'}"
          f", runs of {args.min_lines}+ lines): {runs} repeated runs in "
          f"{places} places covering {covered} lines "
          f"({100.0 * covered / max(total, 1):.1f}%)")
    listing.sort(key=lambda at: (-len(at), at))
    for at in listing[:args.list]:
        print("  " + " ~ ".join(at))
    fns = functions(paths)
    print(f"functions: {len(fns)}; the {args.top} longest (lines):")
    for length, name, path, start in fns[:args.top]:
        print(f"  {length:5d}  {name}  {path}:{start}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
