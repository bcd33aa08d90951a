#!/usr/bin/env bash
# meson install gives a usable system: a plain build of this source into a
# temporary prefix (tests off, so only what is installed is built), then,
# from an empty folder with nothing of the source tree on any path:
# the installed spregd serves the installed reference data, the installed
# spreg talks to it, and a tiny C program built with `pkg-config` alone
# (installed headers, spreg.pc, libspreg-client.so) talks to it too.
set -euo pipefail

: "${SPREG_SOURCE:?source root}"
tmp=$(mktemp -d)
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $1"; failed=$((failed + 1)); }

prefix="$tmp/prefix"
# Plain: no sanitizer, so an outside program links the library as is;
# warnings are the default build's concern (-O0 warns differently).
meson setup "$tmp/build" "$SPREG_SOURCE" --prefix "$prefix" \
	--buildtype=plain -Dwerror=false -Dtests=false >"$tmp/setup.log" 2>&1 ||
	{ cat "$tmp/setup.log"; exit 1; }
meson install -C "$tmp/build" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; exit 1; }
rm -rf "$tmp/build"	# nothing of the build tree is left to find

libdir=$(dirname "$(find "$prefix" -name spreg.pc -path '*/pkgconfig/*')")
libdir=${libdir%/pkgconfig}
for f in sbin/spregd bin/spreg include/spreg/client.h include/spreg/status.h \
	include/spreg/watch.h include/spreg/v1/registry.pb-c.h \
	include/spreg/v1/rpc.pb-c.h share/spreg/proto/spreg/v1/registry.proto \
	share/spreg/countries.csv share/spreg/data_categories.csv \
	share/spreg/regimes.csv share/spreg/sample-registry.json \
	share/spreg/sample-customers.json \
	share/man/man1/spreg.1 share/man/man8/spregd.8; do
	[ -e "$prefix/$f" ] || not_ok "installed: $f"
done
if [ -e "$libdir/libspreg-client.a" ] &&
	[ "$(readelf -d "$libdir/libspreg-client.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')" = libspreg-client.so.0 ] &&
	[ -L "$libdir/libspreg-client.so" ] && [ -f "$libdir/libspreg-client.so.0.1.0" ]; then
	ok "libspreg-client.so.0.1.0 with SONAME libspreg-client.so.0, and libspreg-client.a"
else
	not_ok "shared library with SONAME and static archive"; ls -l "$libdir"
fi
# Only the API and the generated spreg__v1__ code are exported.
if nm -D --defined-only "$libdir/libspreg-client.so" | awk '{print $3}' | grep -v '^spreg_' | grep -q .; then
	not_ok "libspreg-client.so exports only spreg_*"
	nm -D --defined-only "$libdir/libspreg-client.so" | awk '{print $3}' | grep -v '^spreg_' | head
else
	ok "libspreg-client.so exports only spreg_* symbols"
fi

# No path into the source tree is compiled into what was installed (the
# reference data used to be the source checkout's data/). Only the
# constant strings: debug information names the sources, as it should.
leak=
for f in "$prefix/sbin/spregd" "$prefix/bin/spreg" "$libdir/libspreg-client.so"; do
	if readelf -p .rodata -p .data "$f" 2>/dev/null | grep -qF "$SPREG_SOURCE"; then
		leak="$leak $f"
	fi
done
[ -z "$leak" ] && ok "no source path in the installed binaries' strings" ||
	not_ok "source path compiled into:$leak"

# From an empty folder, with a scrubbed environment: the installed
# sample is the one served. Drop a vendor from the installed copy only,
# so a server reading the source's data/ would be caught.
mkdir "$tmp/empty"
cd "$tmp/empty"
/usr/bin/python3 - "$prefix/share/spreg/sample-registry.json" <<'PY'
import json, sys
p = sys.argv[1]
v = json.load(open(p))
v = [x for x in v if x["id"] != "stripe"]
json.dump(v, open(p, "w"))
print(len(v), file=open(p + ".count", "w"))
PY
expected=$(cat "$prefix/share/spreg/sample-registry.json.count")
env -i PATH=/usr/bin:/bin HOME="$tmp/empty" "$prefix/sbin/spregd" --http none --data var \
	--listen "ipc://$tmp/s.ipc" --publish "ipc://$tmp/p.ipc" \
	--ready-file "$tmp/ready" 2>"$tmp/server.log" &
server_pid=$!
for _ in $(seq 200); do [ -s "$tmp/ready" ] && break; sleep 0.05; done
[ -s "$tmp/ready" ] || { cat "$tmp/server.log"; echo "spregd did not start"; exit 1; }
if grep -qF "reference data from $prefix/share/spreg" "$tmp/server.log" &&
	grep -q "loaded $expected subprocessor(s) and 1 customer(s)" "$tmp/server.log"; then
	ok "installed spregd reads the installed reference data ($expected vendors)"
else
	not_ok "installed spregd reads the installed reference data"; cat "$tmp/server.log"
fi
export SPREG_TOKEN_FILE="$tmp/empty/var/admin.token"

out=$(env -i PATH=/usr/bin:/bin SPREG_TOKEN_FILE="$SPREG_TOKEN_FILE" \
	"$prefix/bin/spreg" --server "ipc://$tmp/s.ipc" info 2>&1) || true
if grep -q "^subprocessors: $expected\$" <<<"$out"; then
	ok "installed spreg talks to the installed spregd"
else
	not_ok "installed spreg talks to the installed spregd"; echo "$out"
fi

# The tiny program: pkg-config with the prefix's pkgconfig folder only.
cp "$SPREG_SOURCE/tests/install/tiny.c" "$tmp/empty/tiny.c"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
flags=$(pkg-config --cflags --libs spreg)
if grep -qF "$SPREG_SOURCE" <<<"$flags"; then
	not_ok "pkg-config flags name the source tree: $flags"
fi
# -Werror -pedantic: the installed headers compile cleanly from outside.
# shellcheck disable=SC2086
if cc -std=c11 -Wall -Wextra -Wpedantic -Werror -o tiny tiny.c $flags 2>"$tmp/cc.log"; then
	ok "a C program builds with \`pkg-config --cflags --libs spreg\` only"
else
	not_ok "a C program builds with pkg-config only ($flags)"; cat "$tmp/cc.log"
fi
if [ -x tiny ]; then
	if readelf -d tiny | grep -q 'NEEDED.*\[libspreg-client.so.0\]'; then
		ok "tiny needs libspreg-client.so.0 (the shared library)"
	else
		not_ok "tiny needs libspreg-client.so.0"; readelf -d tiny
	fi
	out=$(LD_LIBRARY_PATH="$libdir" ./tiny "ipc://$tmp/s.ipc" aws 2>&1) || true
	if grep -q "^subprocessors: $expected\$" <<<"$out" && grep -q '^name: Amazon Web Services$' <<<"$out"; then
		ok "tiny calls ServerInfo and GetSubprocessor through libspreg-client.so"
	else
		not_ok "tiny talks to spregd"; echo "$out"
	fi
	out=$(LD_LIBRARY_PATH="$libdir" ./tiny "ipc://$tmp/s.ipc" stripe 2>&1) && st=0 || st=$?
	if [ "$st" = 1 ] && grep -q NOT_FOUND <<<"$out"; then
		ok "the vendor dropped from the installed sample is not there"
	else
		not_ok "stripe should be NOT_FOUND (source data read?)"; echo "$out"
	fi
fi

# The systemd unit: installed with this prefix's spregd, and clean for
# systemd-analyze (any message fails: unknown keys only warn), with the
# installed spregd(8) for its Documentation=.
unit="$prefix/lib/systemd/system/spregd.service"
if [ -f "$unit" ] && grep -q "^ExecStart=$prefix/sbin/spregd --data /var/lib/spreg" "$unit"; then
	ok "spregd.service installed, running $prefix/sbin/spregd"
else
	not_ok "spregd.service installed with the prefix's spregd"; cat "$unit" || true
fi
if command -v systemd-analyze >/dev/null; then
	if out=$(MANPATH="$prefix/share/man" systemd-analyze verify "$unit" 2>&1) && [ -z "$out" ]; then
		ok "systemd-analyze verify spregd.service: no message"
	else
		not_ok "systemd-analyze verify spregd.service"; echo "$out"
	fi
	# Exposure 0 (locked down) to 10 (unprotected); 1.4 when written.
	exposure=$(systemd-analyze security --offline=yes "$unit" 2>/dev/null |
		sed -n 's/.*Overall exposure level for spregd.service: \([0-9.]*\).*/\1/p')
	if [ -n "$exposure" ] && awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'; then
		ok "systemd-analyze security: exposure $exposure (at most 2.0)"
	else
		not_ok "systemd-analyze security exposure '$exposure' above 2.0"
	fi
else
	not_ok "systemd-analyze missing (package systemd, tools/debian-packages.txt)"
fi

# Under systemd, stderr is the journal (JOURNAL_STREAM names it): lines
# carry a syslog priority and no time of their own. Elsewhere: a time.
: >"$tmp/journal.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$tmp/journal.log") "$prefix/sbin/spregd" \
	--data "$tmp/jvar" --reference "$tmp/none" 2>>"$tmp/journal.log" && st=0 || st=$?
if [ "$st" != 0 ] && grep -q "^<6>reference data from $tmp/none\$" "$tmp/journal.log" &&
	grep -q "^<3>reference data: " "$tmp/journal.log" && ! grep -qv '^<[0-7]>' "$tmp/journal.log"; then
	ok "with stderr on the journal: <6> info and <3> error lines, no time"
else
	not_ok "journal form"; cat "$tmp/journal.log"
fi
JOURNAL_STREAM=1:1 "$prefix/sbin/spregd" --data "$tmp/jvar" --reference "$tmp/none" \
	2>"$tmp/plain.log" || true
if grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z error reference data: ' "$tmp/plain.log"; then
	ok "stderr not the journal's stream: timed lines"
else
	not_ok "plain form"; cat "$tmp/plain.log"
fi

echo "passed $passed, failed $failed"
[ "$failed" -eq 0 ]
