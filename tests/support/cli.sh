# Plumbing for the shell tests of the spreg command, sourced by them:
# a temporary folder, spregd processes on ipc:// URLs in it (started,
# stopped, restarted on the same data), the spreg command with its
# output captured, and TAP-like checks. A test file holds scenarios and
# assertions.
#
#   . "$SPREG_SOURCE/tests/support/cli.sh"
#   spregd_start main [spregd options]   # data in $tmp/main
#   spreg list; check "what" '[ $rc -eq 0 ] && out_has "^ID "'
#   finish

: "${SPREGD:?path of spregd}" "${SPREG_BUILD:?build root}"
SPREG_BIN="$SPREG_BUILD/src/spreg"
tmp=$(mktemp -d)
declare -A spregd_pids=()

# spregd_start NAME [OPTIONS...]: a spregd with its data in $tmp/NAME,
# RPC on ipc://$tmp/NAME.ipc, PUB on ipc://$tmp/NAME-pub.ipc; waits until
# it serves. The same NAME again restarts it on the same data.
# SPREGD_RUN, when set, is the binary to run instead of $SPREGD (e.g.
# spregd-test, whose clock a test sets). SPREGD_HTTP is its --http URL
# (default none: parallel tests never meet on the default port); the
# bound URL is the "http URL" line of $tmp/NAME.ready.
spregd_start() {
	local name=$1
	shift
	rm -f "$tmp/$name.ready"
	"${SPREGD_RUN:-$SPREGD}" --http "${SPREGD_HTTP:-none}" --data "$tmp/$name" --listen "ipc://$tmp/$name.ipc" \
		--publish "ipc://$tmp/$name-pub.ipc" --ready-file "$tmp/$name.ready" \
		--log-level warn "$@" 2>>"$tmp/$name.log" &
	spregd_pids[$name]=$!
	for _ in $(seq 100); do
		[ -s "$tmp/$name.ready" ] && return 0
		kill -0 "${spregd_pids[$name]}" 2>/dev/null || break
		sleep 0.1
	done
	cat "$tmp/$name.log"
	echo "spregd $name did not start"
	exit 1
}

# spregd_stop NAME: SIGTERM, and waits; spregd_status is its exit status
# (under AddressSanitizer a leak makes it 23).
spregd_stop() {
	local pid=${spregd_pids[$1]:-}
	spregd_status=0
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || spregd_status=$?
		unset "spregd_pids[$1]"
	fi
}

cleanup() {
	for name in "${!spregd_pids[@]}"; do
		spregd_stop "$name"
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() {
	echo "not ok - $1 (exit $rc)"
	failed=$((failed + 1))
	head -n 20 "$tmp/out" | sed 's/^/#   out: /'
	head -n 20 "$tmp/err" | sed 's/^/#   err: /'
}

# spreg ARGS...: runs the CLI; stdout in $tmp/out, stderr in $tmp/err,
# exit status in $rc.
rc=0
spreg() {
	set +e
	"$SPREG_BIN" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	set -e
}
# check DESCRIPTION CONDITION: CONDITION is shell code, run after spreg.
check() {
	if eval "$2"; then ok "$1"; else not_ok "$1"; fi
}
out_has() { grep -q -- "$1" "$tmp/out"; }
err_has() { grep -q -- "$1" "$tmp/err"; }
out_lines() { wc -l <"$tmp/out" | tr -d ' '; }
# The first column of table rows (header dropped).
ids() { tail -n +2 "$tmp/out" | awk '{print $1}'; }
has_id() { ids | grep -qx -- "$1"; }
# json_lines_ok: stdout is JSON (one object, or JSON Lines).
json_ok() {
	/usr/bin/python3 - "$tmp/out" <<"PY"
import json, sys
text = open(sys.argv[1]).read()
try:
    json.loads(text)
except ValueError:
    for line in text.splitlines():
        json.loads(line)
PY
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
