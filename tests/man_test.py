#!/usr/bin/python3
"""The man pages say what --help says: doc/spregd.8's OPTIONS are the
options of 'spregd --help'; doc/spreg.1's COMMANDS and GLOBAL OPTIONS are
those of 'spreg --help'. Both render without groff warnings."""
import os
import re
import subprocess
import sys

src = os.environ["SPREG_SOURCE"]
build = os.environ["SPREG_BUILD"]
failed = 0


def report(good, what, detail=""):
    global failed
    print(("ok - " if good else "not ok - ") + what)
    if not good:
        failed += 1
        if detail:
            print("  " + detail)


def help_text(exe):
    r = subprocess.run([exe, "--help"], capture_output=True, text=True,
                       timeout=30)
    return r.stdout + r.stderr


def man_section(page, title):
    """The roff source of section title, with \\- made - and no font
    changes."""
    text = re.sub(r"\\f[A-Z]", "", open(page).read().replace("\\-", "-"))
    m = re.search(r"^\.SH \"?" + re.escape(title) + r"\"?\n(.*?)(?=^\.SH |\Z)",
                  text, re.M | re.S)
    return m.group(1) if m else ""


def help_section(text, heading):
    """The lines after a line starting with heading, to a blank line."""
    m = re.search(r"^" + re.escape(heading) + r".*\n((?:.+\n)*)", text, re.M)
    return m.group(1) if m else ""


def options(text):
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*[a-z0-9]", text))


def compare(what, page, in_help, in_man):
    name = os.path.basename(page)
    report(in_help == in_man, "%s: %s matches --help" % (name, what),
           "in --help, not in %s: %s; in %s, not in --help: %s" % (
               name, sorted(in_help - in_man) or "-", name,
               sorted(in_man - in_help) or "-"))


# spregd(8)
page = os.path.join(src, "doc", "spregd.8")
text = help_text(os.path.join(build, "src", "spregd"))
compare("OPTIONS", page, options(text), options(man_section(page, "OPTIONS")))

# spreg(1)
page = os.path.join(src, "doc", "spreg.1")
text = help_text(os.path.join(build, "src", "spreg"))
cmds_help = set(re.findall(r"^  ([a-z][a-z-]*)(?:\s|$)",
                           help_section(text, "Commands"), re.M))
cmds_man = set(re.findall(r"^\.TP\n\.B[IR]? \"?([a-z][a-z-]*)",
                          man_section(page, "COMMANDS"), re.M))
report(len(cmds_help) > 5, "spreg --help lists its commands (%d)" % len(cmds_help))
compare("COMMANDS", page, cmds_help, cmds_man)
compare("GLOBAL OPTIONS", page, options(help_section(text, "Global options")),
        options(man_section(page, "GLOBAL OPTIONS")))

# Both render cleanly (groff -ww: all warnings).
for page in ("spreg.1", "spregd.8"):
    r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z",
                        os.path.join(src, "doc", page)],
                       capture_output=True, text=True, timeout=30)
    report(r.returncode == 0 and r.stderr == "", page + " renders without "
           "groff warnings", r.stderr.strip())

print("failed %d" % failed)
sys.exit(1 if failed else 0)
