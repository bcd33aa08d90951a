#!/usr/bin/env bash
# One spregd follows another's public list (GET /subprocessors.json)
# with `spreg vendor follow`: a vendor added upstream becomes a fourth
# party of the followed vendor downstream, as a change in our log; a
# vendor retired upstream leaves it; fourth parties entered by hand stay.
# Following a URL that does not answer, answers 404, or serves something
# other than the list fails naming url and changes nothing; an upstream
# that goes away later is a warning and the last list is kept.
set -euo pipefail

: "${SPREG_SOURCE:?source root}"
. "$SPREG_SOURCE/tests/support/cli.sh"

SPREGD_HTTP=http://127.0.0.1:0 spregd_start up
SPREGD_HTTP=http://127.0.0.1:0 spregd_start gone
spregd_start down
up=$(sed -n 's/^http //p' "$tmp/up.ready" | head -n 1)
dead=$(sed -n 's/^http //p' "$tmp/gone.ready" | head -n 1)
spregd_stop gone	# its port now answers nothing
list="$up/subprocessors.json"

# fp EXPR: EXPR holds over fps, acme-crm's fourth parties downstream by
# id (each as `spreg get --json` gives it).
fp() {
	"$SPREG_BIN" get acme-crm --json >"$tmp/acme.json"
	/usr/bin/python3 -c "import json,sys; fps={f['id']: f for f in json.load(open(sys.argv[1])).get('fourth_parties', [])}; sys.exit(0 if ($1) else 1)" "$tmp/acme.json"
}
# wait_fp EXPR: until fp EXPR holds (bounded; the follower fetches each
# second).
wait_fp() {
	for _ in $(seq 600); do fp "$1" && return 0; sleep 0.1; done
	return 1
}
last_seq() { "$SPREG_BIN" info | sed -n 's/^last_seq: //p'; }

# The public list: every vendor of the sample, as JSON, with an ETag.
run_curl() { curl -s -D "$tmp/hdr" -o "$tmp/body" -w '%{http_code}' "$@"; }
status=$(run_curl "$list")
check "GET /subprocessors.json is the public list as JSON" \
	'[ "$status" = 200 ] && grep -qi "^content-type: application/json" "$tmp/hdr" &&
	 /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); ids=[s[\"subprocessor_id\"] for s in d[\"subprocessors\"]]; sys.exit(0 if \"aws\" in ids and d[\"at_seq\"] else 1)" "$tmp/body"'
etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: //p' "$tmp/hdr" | tr -d '\r')
status=$(run_curl -H "If-None-Match: $etag" "$list")
check "its ETag answers 304" '[ -n "$etag" ] && [ "$status" = 304 ]'

spregd_use down
printf '%s\n' '{"id": "acme-crm", "name": "Acme CRM", "fourth_parties": [' \
	'{"id": "hand-made", "name": "Hand Made", "countries": ["DE"],' \
	' "source": "https://acme.example/dpa.pdf", "confirmed_on": "2026-01-02"}]}' \
	>"$tmp/acme-crm.json"
run put "$tmp/acme-crm.json"
check "downstream has acme-crm" '[ $rc -eq 0 ]'
seq0=$(last_seq)

# Bad URLs: a typed error naming url, nothing written.
# refused WHAT URL PATTERN: following URL fails, its message PATTERN.
refused() {
	run vendor follow acme-crm "$2" --once
	want=$3
	check "$1" '[ $rc -ne 0 ] && grep -q "^spreg: $want" <<<"$out"'
}
refused "a URL that does not answer: UNAVAILABLE naming url" \
	"$dead/subprocessors.json" "UNAVAILABLE: url: "
refused "a URL answering 404: UNAVAILABLE naming url and the status" \
	"$up/no-such-list.json" "UNAVAILABLE: url: .*HTTP 404"
refused "a URL serving something other than JSON: INVALID_ARGUMENT naming url" \
	"$up/spreg.css" "INVALID_ARGUMENT: url: .*not JSON"
refused "JSON that is not the list: INVALID_ARGUMENT naming url" \
	"$up/changes.json" "INVALID_ARGUMENT: url: .*not a spreg public list"
refused "a URL that is not http(s): INVALID_ARGUMENT naming url" \
	"ftp://127.0.0.1/x" "INVALID_ARGUMENT: url: "
check "nothing was written by any of them" \
	'[ "$(last_seq)" = "$seq0" ] && fp "list(fps) == [\"hand-made\"]"'

# The follow itself, fetching each second.
"$SPREG_BIN" vendor follow acme-crm "$list" --every 1 \
	>"$tmp/follow.out" 2>"$tmp/follow.err" &
follower=$!
stop_follower() { kill "$follower" 2>/dev/null || true; wait "$follower" 2>/dev/null || true; }
trap 'stop_follower; cleanup' EXIT
wait_fp '"aws" in fps' || true
today=$(date -u +%F)
check "upstream's vendors became acme-crm's fourth parties" \
	'fp "fps[\"aws\"][\"source\"] == \"$list\" and fps[\"aws\"][\"confirmed_on\"] == \"$today\" and \"IE\" in fps[\"aws\"][\"countries\"] and fps[\"aws\"][\"name\"] == \"Amazon Web Services\""'
check "the fourth party entered by hand stays" 'fp "\"hand-made\" in fps"'
seq1=$(last_seq)
check "as one change in our log" '[ "$seq1" -eq $((seq0 + 1)) ]'

spregd_use up
printf '%s\n' '{"id": "newco", "name": "NewCo Analytics", "legal_entity": "NewCo Oy",' \
	' "purpose": "Product analytics", "locations": [{"country": "FI", "role": "processing"}]}' \
	>"$tmp/newco.json"
run put "$tmp/newco.json"
check "upstream adds newco" '[ $rc -eq 0 ]'
spregd_use down
t0=$(date +%s.%N)
wait_fp '"newco" in fps' || true
echo "# newco downstream after $(echo "$(date +%s.%N) - $t0" | bc) s (a figure, not a check)"
check "newco appears downstream as a fourth party of acme-crm" \
	'fp "fps[\"newco\"][\"legal_entity\"] == \"NewCo Oy\" and fps[\"newco\"][\"countries\"] == [\"FI\"] and fps[\"newco\"][\"purpose\"] == \"Product analytics\""'
run changes --subprocessor acme-crm
check "in our change log, as an update of acme-crm" \
	'[ $rc -eq 0 ] && [ "$(last_seq)" -gt "$seq1" ] && grep -Eq "^$(last_seq) .* updated +acme-crm " <<<"$out"'
run changes --since "$seq1"
check "and nothing else was written" \
	'[ $rc -eq 0 ] && [ "$(tail -n +2 <<<"$out" | awk "{print \$4}" | sort -u)" = acme-crm ]'

spregd_use up
run retire newco
check "upstream retires newco" '[ $rc -eq 0 ]'
spregd_use down
wait_fp '"newco" not in fps' || true
check "newco leaves acme-crm's fourth parties downstream" \
	'fp "\"newco\" not in fps and \"aws\" in fps and \"hand-made\" in fps"'

# Upstream goes away: warnings, the last list kept.
seq2=$(last_seq)
spregd_stop up
for _ in $(seq 600); do grep -q "warning" "$tmp/follow.err" && break; sleep 0.1; done
check "a failed fetch later is a warning naming url" \
	'grep -q "^spreg: warning: UNAVAILABLE: url: " "$tmp/follow.err"'
check "and the last list is kept" \
	'[ "$(last_seq)" = "$seq2" ] && fp "\"aws\" in fps and \"hand-made\" in fps"'
check "the follower is still running" 'kill -0 "$follower"'
stop_follower
finish
