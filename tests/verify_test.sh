#!/usr/bin/env bash
# Edits a stored record behind the server's back, straight in LMDB from
# another process, and shows `spreg verify` pointing at it.
set -euo pipefail
: "${SPREG_SOURCE:?source root}"
. "$SPREG_SOURCE/tests/support/cli.sh"
tamper="$SPREG_BUILD/tests/tamper_tool"

spregd_start var
spregd_use var

run verify
check "an untouched store verifies (exit 0)" '[ $rc -eq 0 ] && grep -q "^ok: " <<<"$out"'

"$tamper" "$tmp/var" sp stripe
run verify
check "an edited record: exit 6, the record named" \
	'[ $rc -eq 6 ] && grep -q "ALTERED" <<<"$out" && grep -q "'"'"'stripe'"'"'" <<<"$out"'
"$tamper" "$tmp/var" sp stripe	# flip it back
run verify
check "flipped back, it verifies again" '[ $rc -eq 0 ]'

run verify --json
check "--json reports the head of the chain" \
	'[ $rc -eq 0 ] && /usr/bin/python3 -c "import json,sys; d=json.loads(sys.stdin.read()); assert d[\"ok\"] and d[\"head_seq\"] > 0" <<<"$out"'

finish
