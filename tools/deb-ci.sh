#!/usr/bin/env bash
# The Debian packages: dpkg-buildpackage -us -uc -b on a copy of this
# tree, then (as root) installed with apt from the .deb files, checked
# (the installed spregd serves, the installed spreg and a program built
# with the system's pkg-config talk to it, the unit verifies), and
# purged again. Used by .ci/run; DEB_KEEP=1 leaves them installed.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
tmp=$(mktemp -d)
server_pid=
installed=
cleanup() {
	if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
	if [ -n "$installed" ] && [ "${DEB_KEEP:-0}" != 1 ]; then
		apt-get purge -y -q spregd spreg libspreg-client-dev libspreg-client0 >/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "deb: FAIL: $*"; exit 1; }

# A clean copy: no build folders, no .git.
mkdir "$tmp/spreg"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$src" ls-files -z --cached --others --exclude-standard |
		grep -zv '^build' | (cd "$src" && xargs -0 cp --parents -t "$tmp/spreg")
else
	tar -C "$src" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$tmp/spreg" -xf -
fi
(cd "$tmp/spreg" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1 ||
	{ tail -40 "$tmp/build.log"; fail "dpkg-buildpackage"; }
ls "$tmp"/*.deb
for p in spregd spreg libspreg-client0 libspreg-client-dev; do
	ls "$tmp/${p}_"*.deb >/dev/null 2>&1 || fail "no $p package"
done
# What each holds, for the log.
for d in "$tmp"/*.deb; do echo "== $(basename "$d")"; dpkg-deb -c "$d" | awk '{print $6}' | grep -v '/$'; done

if [ "$(id -u)" != 0 ]; then
	echo "deb: built; not root, so not installed"
	exit 0
fi
# apt resolves the runtime dependencies (${shlibs:Depends}) as on a
# clean machine; with no running systemd the unit is enabled, not started.
debs=()
for p in spregd spreg libspreg-client0 libspreg-client-dev; do debs+=("$tmp/${p}_"*.deb); done
apt-get install -y -q "${debs[@]}" >"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log"; fail "apt-get install"; }
installed=1
[ -x /usr/sbin/spregd ] && [ -x /usr/bin/spreg ] || fail "binaries not installed"
[ -f /usr/share/spreg/sample-registry.json ] || fail "reference data not installed"
systemd-analyze verify /lib/systemd/system/spregd.service || fail "systemd-analyze verify"
man -w spregd >/dev/null && man -w spreg >/dev/null || fail "man pages"

cd "$tmp"
mkdir run
/usr/sbin/spregd --data "$tmp/run/var" --listen "ipc://$tmp/run/s.ipc" \
	--publish "ipc://$tmp/run/p.ipc" --ready-file "$tmp/run/ready" 2>"$tmp/run/log" &
server_pid=$!
for _ in $(seq 200); do [ -s "$tmp/run/ready" ] && break; sleep 0.05; done
[ -s "$tmp/run/ready" ] || { cat "$tmp/run/log"; fail "installed spregd did not start"; }
grep -q "reference data from /usr/share/spreg$" "$tmp/run/log" || { cat "$tmp/run/log"; fail "reference data not from /usr/share/spreg"; }
export SPREG_TOKEN_FILE="$tmp/run/var/admin.token"
spreg --server "ipc://$tmp/run/s.ipc" info | grep -q '^subprocessors: [1-9]' || fail "spreg info"
cp "$src/tests/install/tiny.c" "$tmp/run/"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Wpedantic -Werror -o "$tmp/run/tiny" "$tmp/run/tiny.c" \
	$(pkg-config --cflags --libs spreg) || fail "building against libspreg-client-dev"
"$tmp/run/tiny" "ipc://$tmp/run/s.ipc" aws | grep -q '^name: Amazon Web Services$' || fail "tiny"
echo "deb: built, installed, served, talked to: ok"
