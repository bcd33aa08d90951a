#!/usr/bin/python3
"""Checks the layering that ARCHITECTURE.md describes, from the tree.

  tools/layers.py [--objects BUILD]

- each folder of src/ includes only the folders its row of the table
  in ARCHITECTURE.md allows (LAYERS below mirrors it);
- src/rpc/'s private headers are included from src/rpc/ only (main.c
  may use auth.h);
- <lmdb.h> is included by src/db/ alone, nng by src/net/, src/client/
  and spregd's command line (config.c);
- src/db/'s headers declare no callback type but db_record_fn, db's
  own iterator: the write path takes none from the layers above;
- with --objects BUILD (a meson build folder), the files of src/rpc/
  call one another without a cycle (read with nm from the objects).

Prints each breach and exits 1 if there is one, else prints "ok".
"""
import argparse
import collections
import glob
import os
import re
import subprocess
import sys

LAYERS = {
    "core": {"core"},
    "db": {"core", "db"},
    "assess": {"core", "assess"},
    "rpc": {"core", "db", "assess", "rpc"},
    "net": {"core", "rpc", "net"},
    "http": {"core", "rpc", "net", "http"},
    "deliver": {"core", "db", "deliver"},
    "follow": {"core", "rpc", "follow"},
    "client": {"core", "client"},
    "cli": {"core", "client", "cli", "export"},
    "export": {"core", "export"},
}
EXCEPTIONS = {("src/client/client.c", "rpc/local.h")}
RPC_PRIVATE = {"rpc/internal.h", "rpc/handlers.h", "rpc/reassess.h",
               "rpc/auth.h"}
RPC_PRIVATE_USERS = {("src/main.c", "rpc/auth.h")}
NNG_ALLOWED = ("src/net/", "src/client/", "src/config.c")
DB_CALLBACKS = {"db_record_fn"}
INCLUDE = re.compile(r'^\s*#\s*include\s+([<"])([^">]+)[">]')
CALLBACK = re.compile(r"\(\s*\*\s*(\w+)\s*\)\s*\(")


def sources(root):
    for path in sorted(glob.glob(os.path.join(root, "src", "**", "*.[ch]"),
                                 recursive=True)):
        yield os.path.relpath(path, root)


def check_includes(root, breaches):
    for rel in sources(root):
        parts = rel.split(os.sep)
        folder = parts[1] if len(parts) > 2 else None
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if m is None:
                    continue
                system, name = m.group(1) == "<", m.group(2)
                where = "%s:%d" % (rel, number)
                if system and name == "lmdb.h" and folder != "db":
                    breaches.append("%s: <lmdb.h> outside src/db/" % where)
                if system and name.startswith("nng/") and \
                        not rel.startswith(NNG_ALLOWED):
                    breaches.append("%s: <%s> outside src/net/ and "
                                    "src/client/" % (where, name))
                if system or "/" not in name:
                    continue
                top = name.split("/")[0]
                if name in RPC_PRIVATE and folder != "rpc" and \
                        (rel, name) not in RPC_PRIVATE_USERS:
                    breaches.append("%s: %s is private to src/rpc/"
                                    % (where, name))
                if folder not in LAYERS or top not in LAYERS or \
                        (rel, name) in EXCEPTIONS:
                    continue    # main.c and config.c may use all
                if top not in LAYERS[folder]:
                    breaches.append("%s: %s/ includes %s" %
                                    (where, folder, name))


def check_db_callbacks(root, breaches):
    for path in sorted(glob.glob(os.path.join(root, "src", "db", "*.h"))):
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                for name in CALLBACK.findall(line):
                    if name not in DB_CALLBACKS:
                        breaches.append("%s:%d: callback type %s in db/"
                                        % (os.path.relpath(path, root),
                                           number, name))


def check_rpc_cycles(build, breaches):
    objects = sorted(glob.glob(os.path.join(build, "src",
                                            "libspreg_rpc.a.p", "*.o")))
    if not objects:
        breaches.append("%s: no src/libspreg_rpc.a.p/*.o (build first)"
                        % build)
        return
    defined, used = {}, collections.defaultdict(set)
    for obj in objects:
        name = os.path.basename(obj).replace("rpc_", "", 1)
        name = name.replace(".c.o", ".c")
        out = subprocess.run(["nm", obj], capture_output=True, text=True,
                             check=True).stdout
        for line in out.splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in "TDBR":
                defined[f[2]] = name
            elif len(f) == 2 and f[0] == "U":
                used[name].add(f[1])
    calls = {n: {defined[s] for s in syms if s in defined and
                 defined[s] != n}
             for n, syms in used.items()}
    state = {}

    def visit(node, stack):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(calls.get(node, ())):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                breaches.append("src/rpc/: a cycle: " + " -> ".join(cycle))
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(calls):
        if node not in state:
            visit(node, [])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--objects", metavar="BUILD",
                    help="a meson build folder, for the cycle check")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    breaches = []
    check_includes(root, breaches)
    check_db_callbacks(root, breaches)
    if args.objects:
        check_rpc_cycles(args.objects, breaches)
    for b in breaches:
        print(b)
    if breaches:
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
