#!/usr/bin/env bash
# Edits a stored record behind the server's back, straight in LMDB from
# another process, and shows `spreg verify` pointing at it.
set -euo pipefail
: "${SPREGD:?}" "${SPREG_BUILD:?}"
spreg="$SPREG_BUILD/src/spreg"
tamper="$SPREG_BUILD/tests/tamper_tool"
tmp=$(mktemp -d)
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
passed=0 failed=0
check() { if eval "$2"; then echo "ok - $1"; passed=$((passed + 1)); else echo "not ok - $1"; echo "$out"; failed=$((failed + 1)); fi; }

"$SPREGD" --http none --data "$tmp/var" --listen "ipc://$tmp/s.ipc" --publish "ipc://$tmp/p.ipc" \
	--ready-file "$tmp/ready" --log-level warn 2>"$tmp/server.log" &
server_pid=$!
for _ in $(seq 200); do [ -s "$tmp/ready" ] && break; sleep 0.05; done
export SPREG_SERVER="ipc://$tmp/s.ipc"
# The admin token spregd wrote on its first start.
export SPREG_TOKEN_FILE="$tmp/var/admin.token"

rc=0; out=$("$spreg" verify 2>&1) || rc=$?
check "an untouched store verifies (exit 0)" '[ $rc -eq 0 ] && grep -q "^ok: " <<<"$out"'

"$tamper" "$tmp/var" sp stripe
rc=0; out=$("$spreg" verify 2>&1) || rc=$?
check "an edited record: exit 6, the record named" \
	'[ $rc -eq 6 ] && grep -q "ALTERED" <<<"$out" && grep -q "'"'"'stripe'"'"'" <<<"$out"'
"$tamper" "$tmp/var" sp stripe	# flip it back
rc=0; out=$("$spreg" verify 2>&1) || rc=$?
check "flipped back, it verifies again" '[ $rc -eq 0 ]'

rc=0; out=$("$spreg" verify --json 2>&1) || rc=$?
check "--json reports the head of the chain" \
	'[ $rc -eq 0 ] && python3 -c "import json,sys; d=json.loads(sys.stdin.read()); assert d[\"ok\"] and d[\"head_seq\"] > 0" <<<"$out"'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
