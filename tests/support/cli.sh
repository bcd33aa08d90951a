# Plumbing for the shell tests, sourced by them: a temporary folder,
# spregd processes in it (started, waited for, stopped, restarted on the
# same data), the spreg command with its output captured, and TAP-like
# checks. A test file holds scenarios and assertions.
#
#   . "$SPREG_SOURCE/tests/support/cli.sh"
#   spregd_start main [spregd options]   # data in $tmp/main
#   spregd_use main                       # SPREG_SERVER, SPREG_TOKEN_FILE
#   spreg list; check "what" '[ $rc -eq 0 ] && out_has "^ID "'
#   run get stripe; check "what" '[ $rc -eq 0 ] && grep -q x <<<"$out"'
#   finish

: "${SPREGD:?path of spregd}" "${SPREG_BUILD:?build root}"
SPREG_BIN="${SPREG:-$SPREG_BUILD/src/spreg}"
tmp=$(mktemp -d)
declare -A spregd_pids=() spregd_datas=()

# spregd_try NAME [OPTIONS...]: a spregd with its data in $tmp/NAME,
# RPC on ipc://$tmp/NAME.ipc, PUB on ipc://$tmp/NAME-pub.ipc, its log
# appended to $tmp/NAME.log; true once it serves (its ready file
# $tmp/NAME.ready written), false when it exited first or wrote nothing
# in SPREGD_WAIT (10) s. The same NAME again restarts it on the same
# data. Set for one call (VAR=value spregd_try ...):
#   SPREGD_RUN        the binary instead of $SPREGD (e.g. spregd-test,
#                     whose clock a test sets)
#   SPREGD_DATA       the data folder instead of $tmp/NAME
#   SPREGD_LOG        the log instead of $tmp/NAME.log
#   SPREGD_LOG_LEVEL  instead of warn
#   SPREGD_WAIT       seconds to wait for it, instead of 10
#   SPREGD_HTTP       its --http URL instead of none (parallel tests never
#                     meet on the default port); the bound URL is the
#                     "http URL" line of $tmp/NAME.ready
spregd_try() {
	local name=$1
	shift
	local data=${SPREGD_DATA:-$tmp/$name}
	rm -f "$tmp/$name.ready"
	"${SPREGD_RUN:-$SPREGD}" --http "${SPREGD_HTTP:-none}" --data "$data" --listen "ipc://$tmp/$name.ipc" \
		--publish "ipc://$tmp/$name-pub.ipc" --ready-file "$tmp/$name.ready" \
		--log-level "${SPREGD_LOG_LEVEL:-warn}" "$@" \
		2>>"${SPREGD_LOG:-$tmp/$name.log}" &
	spregd_pids[$name]=$!
	spregd_datas[$name]=$data
	for _ in $(seq $((${SPREGD_WAIT:-10} * 10))); do
		[ -s "$tmp/$name.ready" ] && return 0
		kill -0 "${spregd_pids[$name]}" 2>/dev/null || break
		sleep 0.1
	done
	[ -s "$tmp/$name.ready" ]
}

# spregd_start NAME [OPTIONS...]: spregd_try, and the test ends (with
# the log shown) when it does not serve.
spregd_start() {
	spregd_try "$@" && return 0
	cat "${SPREGD_LOG:-$tmp/$1.log}"
	echo "spregd $1 did not start"
	exit 1
}

# spregd_url NAME [SCHEME]: its first RPC URL starting with SCHEME
# (ipc://, tcp://, tls+tcp://; default ipc://), from its ready file.
spregd_url() {
	grep -m 1 "^${2:-ipc://}" "$tmp/$1.ready"
}

# spregd_use NAME: the spreg command talks to NAME (its ipc:// URL) with
# the admin token it wrote on its first start.
spregd_use() {
	SPREG_SERVER=$(spregd_url "$1")
	SPREG_TOKEN_FILE="${spregd_datas[$1]}/admin.token"
	export SPREG_SERVER SPREG_TOKEN_FILE
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

# spregd_kill NAME: kill -9, as a crash would, and waits; spregd_start
# NAME then restarts it on the same data.
spregd_kill() {
	local pid=${spregd_pids[$1]:-}
	if [ -n "$pid" ]; then
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		unset "spregd_pids[$1]"
	fi
}

cleanup() {
	for name in "${!spregd_pids[@]}"; do
		spregd_stop "$name"
	done
	chmod -R u+w "$tmp" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() {
	echo "not ok - $1 (exit $rc)"
	failed=$((failed + 1))
	if [ -f "$tmp/out" ]; then head -n 20 "$tmp/out" | sed 's/^/#   out: /'; fi
	if [ -f "$tmp/err" ]; then head -n 20 "$tmp/err" | sed 's/^/#   err: /'; fi
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
# run ARGS...: runs the CLI; stdout and stderr together in $out (and
# $tmp/out), exit status in $rc.
out=
run() {
	rc=0
	out=$("$SPREG_BIN" "$@" 2>&1) || rc=$?
	printf '%s\n' "$out" >"$tmp/out"
	: >"$tmp/err"
}
# check DESCRIPTION CONDITION: CONDITION is shell code, run after spreg
# or run.
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
