#!/usr/bin/env bash
# spregd follows another spregd's public list (GET /subprocessors.json)
# by itself: `spreg vendor follow` stores the follow in the registry and
# the server's poller fetches it on its interval. A vendor added upstream
# becomes a fourth party of the followed vendor downstream, as a change
# in our log; the follow survives a kill -9; unfollowing stops it; a URL
# that does not give the list (nor one reached by a redirect, nor one
# over 4 MiB) is refused naming url with nothing stored;
# an upstream that goes away is the follow's last error and the last list
# is kept.
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

# fp VENDOR EXPR: EXPR holds over fps, VENDOR's fourth parties downstream
# by id (each as `spreg get --json` gives it).
fp() {
	"$SPREG_BIN" get "$1" --json >"$tmp/fp.json"
	/usr/bin/python3 -c "import json,sys; fps={f['id']: f for f in json.load(open(sys.argv[1])).get('fourth_parties', [])}; sys.exit(0 if ($2) else 1)" "$tmp/fp.json"
}
# follow VENDOR EXPR: EXPR holds over f, VENDOR's one follow downstream
# (as `spreg vendor follows --json` gives it; absent fields are 0 or "").
follow() {
	"$SPREG_BIN" vendor follows "$1" --json >"$tmp/follow.json"
	/usr/bin/python3 -c "import json,sys; ls=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]; f=ls[0] if len(ls)==1 else {}; g=lambda k: f.get(k, 0); sys.exit(0 if ($2) else 1)" "$tmp/follow.json"
}
# until_ok CMD...: until CMD succeeds (bounded: 60 s; the poller looks
# each second).
until_ok() {
	for _ in $(seq 600); do "$@" && return 0; sleep 0.1; done
	return 1
}
last_seq() { "$SPREG_BIN" info | sed -n 's/^last_seq: //p'; }
today=$(date -u +%F)

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
for v in acme-crm beta; do
	printf '%s\n' "{\"id\": \"$v\", \"name\": \"$v\", \"fourth_parties\": [" \
		'{"id": "hand-made", "name": "Hand Made", "countries": ["DE"],' \
		' "source": "https://acme.example/dpa.pdf", "confirmed_on": "2026-01-02"}]}' \
		>"$tmp/$v.json"
	run put "$tmp/$v.json"
	check "downstream has $v" '[ $rc -eq 0 ]'
done
seq0=$(last_seq)

# ---- bad follows: a typed error naming the field, nothing stored --------
# refused WHAT VENDOR URL PATTERN: following fails, its message PATTERN.
refused() {
	run vendor follow "$2" "$3" --every 1
	want=$4
	check "$1" '[ $rc -ne 0 ] && grep -q "^spreg: $want" <<<"$out"'
}
refused "a URL that does not answer: FAILED_PRECONDITION naming url" \
	acme-crm "$dead/subprocessors.json" "FAILED_PRECONDITION: url: $dead/subprocessors.json: "
refused "a URL answering 404: FAILED_PRECONDITION naming url and the status" \
	acme-crm "$up/no-such-list.json" "FAILED_PRECONDITION: url: .*HTTP 404"
refused "a URL serving something other than JSON: INVALID_ARGUMENT naming url" \
	acme-crm "$up/spreg.css" "INVALID_ARGUMENT: url: .*not JSON"
refused "JSON that is not the list: INVALID_ARGUMENT naming url" \
	acme-crm "$up/changes.json" "INVALID_ARGUMENT: url: .*not a spreg public list"
refused "a URL that is not http(s): INVALID_ARGUMENT naming url" \
	acme-crm "ftp://127.0.0.1/x" "INVALID_ARGUMENT: url: "
refused "a vendor we do not have: NOT_FOUND naming subprocessor_id" \
	nobody "$list" "NOT_FOUND: subprocessor_id: "
# A host that redirects to the real list (followed, the follow would
# succeed) and one that answers more than 4 MiB of a list's beginning.
timeout 300 /usr/bin/python3 -c '
import http.server, sys
target = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/moved.json":
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"{\"subprocessors\": [" + b" " * (5 << 20) + b"]}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
' "$list" >"$tmp/odd.port" &
odd=$!
until_ok test -s "$tmp/odd.port" || true
oddurl="http://127.0.0.1:$(head -n 1 "$tmp/odd.port")"
refused "a redirect, even to the list, is not followed: FAILED_PRECONDITION naming url" \
	acme-crm "$oddurl/moved.json" "FAILED_PRECONDITION: url: $oddurl/moved.json answered HTTP 302"
refused "an answer over 4 MiB: INVALID_ARGUMENT naming url" \
	acme-crm "$oddurl/big.json" "INVALID_ARGUMENT: url: $oddurl/big.json: the answer is larger than 4194304 bytes"
kill "$odd" 2>/dev/null || true
run vendor follows
check "no follow was stored by any of them" '[ $rc -eq 0 ] && [ "$(wc -l <<<"$out")" -eq 1 ]'
check "nothing was written: no change, the fourth parties as they were" \
	'[ "$(last_seq)" = "$seq0" ] && fp acme-crm "list(fps) == [\"hand-made\"]"'
SPREG_TOKEN_FILE=$tmp/reader.token
"$SPREG_BIN" --token-file "${spregd_datas[down]}/admin.token" token create --name viewer --role reader >"$tmp/reader.token" 2>/dev/null
run --token-file "$tmp/reader.token" vendor follow acme-crm "$list"
check "a reader may not follow (exit 7), nothing stored" \
	'[ $rc -eq 7 ] && [ "$(last_seq)" = "$((seq0 + 0))" ]'
SPREG_TOKEN_FILE="${spregd_datas[down]}/admin.token"

# ---- the follow: stored, fetched at once and then every second --------
run vendor follow acme-crm "$list" --every 1
check "following: acme-crm follows the list, its fourth parties written" \
	'[ $rc -eq 0 ] && grep -q "^acme-crm follows $list every 1 s" <<<"$out" && grep -q "^updated acme-crm revision 2 " <<<"$out"'
check "upstream's vendors became acme-crm's fourth parties" \
	'fp acme-crm "fps[\"aws\"][\"source\"] == \"$list\" and fps[\"aws\"][\"confirmed_on\"] == \"$today\" and \"IE\" in fps[\"aws\"][\"countries\"] and fps[\"aws\"][\"name\"] == \"Amazon Web Services\""'
check "the fourth party entered by hand stays" 'fp acme-crm "\"hand-made\" in fps"'
seq1=$(last_seq)
run changes --since "$seq0" --wide
check "in our log: followed, then updated" \
	'[ "$seq1" -eq $((seq0 + 2)) ] && grep -Eq "^$((seq0 + 1)) .* followed +acme-crm " <<<"$out" && grep -Eq "^$seq1 .* updated +acme-crm " <<<"$out"'
run changes --since "$seq0" --json
check "the followed change names the URL, the interval and the token" \
	'grep "$list every 1 s" <<<"$out" | grep "\"kind\":\"followed\"" | grep -q "\"token\":\"admin\""'
run vendor follows
# Its last outcome: updated by the first fetch, or not-modified once the
# poller has been by (a 304 to the ETag).
check "vendor follows lists it with its last outcome" \
	'[ $rc -eq 0 ] && grep -Eq "^acme-crm +1 +[0-9T:.-]+Z +(updated|not-modified) +1 " <<<"$out"'
run get acme-crm
check "spreg get shows the follow" '[ $rc -eq 0 ] && grep -q "^follow: $list every 1 s, last fetch .*: " <<<"$out"'
run vendor follow acme-crm "$list" --every 5
check "following it again: ALREADY_EXISTS naming url" \
	'[ $rc -ne 0 ] && grep -q "^spreg: ALREADY_EXISTS: url: " <<<"$out" && [ "$(last_seq)" = "$seq1" ]'

# A vendor added upstream comes down by itself.
spregd_use up
printf '%s\n' '{"id": "newco", "name": "NewCo Analytics", "legal_entity": "NewCo Oy",' \
	' "purpose": "Product analytics", "locations": [{"country": "FI", "role": "processing"}]}' \
	>"$tmp/newco.json"
run put "$tmp/newco.json"
check "upstream adds newco" '[ $rc -eq 0 ]'
spregd_use down
t0=$(date +%s.%N)
until_ok fp acme-crm '"newco" in fps' || true
echo "# newco downstream after $(echo "$(date +%s.%N) - $t0" | bc) s (a figure, not a check)"
check "newco appears downstream as a fourth party of acme-crm" \
	'fp acme-crm "fps[\"newco\"][\"legal_entity\"] == \"NewCo Oy\" and fps[\"newco\"][\"countries\"] == [\"FI\"] and fps[\"newco\"][\"purpose\"] == \"Product analytics\""'
run changes --subprocessor acme-crm --wide
check "in our change log, as an update of acme-crm by the server's follow" \
	'[ $rc -eq 0 ] && [ "$(last_seq)" -gt "$seq1" ] && grep -Eq "^$(last_seq) .* updated +acme-crm .*spregd \(follow of $list\)" <<<"$out"'
run changes --since "$seq1"
check "and nothing else was written" \
	'[ $rc -eq 0 ] && [ "$(tail -n +2 <<<"$out" | awk "{print \$4}" | sort -u)" = acme-crm ]'
check "the follow counts it" 'until_ok follow acme-crm "g(\"changes\") == \"2\" or g(\"changes\") == 2"'

# ---- kill -9: the follow is in the store, and goes on ------------------
spregd_kill down
spregd_start down
run vendor follows --wide
check "after kill -9 and a restart the follow is still listed" \
	'[ $rc -eq 0 ] && grep -q "^acme-crm .*$list" <<<"$out"'
spregd_use up
run retire newco
check "upstream retires newco" '[ $rc -eq 0 ]'
spregd_use down
until_ok fp acme-crm '"newco" not in fps' || true
check "and it still works: newco leaves acme-crm's fourth parties" \
	'fp acme-crm "\"newco\" not in fps and \"aws\" in fps and \"hand-made\" in fps"'

# ---- --once: fetched and applied by the server, no follow kept --------
run vendor follow beta "$list" --once
check "--once writes beta's fourth parties" \
	'[ $rc -eq 0 ] && grep -q "^updated beta revision 2 " <<<"$out" && fp beta "\"aws\" in fps and \"hand-made\" in fps"'
run vendor follows beta
check "and keeps no follow" '[ $rc -eq 0 ] && [ "$(wc -l <<<"$out")" -eq 1 ]'

# ---- unfollow: no more updates ------------------------------------------
run vendor unfollow acme-crm
check "unfollow acme-crm" '[ $rc -eq 0 ] && grep -q "^acme-crm no longer follows $list" <<<"$out"'
run changes --subprocessor acme-crm
check "logged as unfollowed" '[ $rc -eq 0 ] && grep -Eq "^$(last_seq) .* unfollowed +acme-crm " <<<"$out"'
seq2=$(last_seq)
spregd_use up
printf '%s\n' '{"id": "laterco", "name": "LaterCo", "locations": [{"country": "SE", "role": "processing"}]}' >"$tmp/laterco.json"
run put "$tmp/laterco.json"
check "upstream adds laterco" '[ $rc -eq 0 ]'
spregd_use down
# The witness: beta follows the same list from now on. Once the poller
# has fetched it twice more, it has been through every follow due each
# second twice since laterco was added: acme-crm's too, were it still
# followed.
run vendor follow beta "$list" --every 1
check "beta follows the list (laterco comes with the first fetch)" \
	'[ $rc -eq 0 ] && fp beta "\"laterco\" in fps"'
until_ok follow beta '(int(g("fetches")) >= 3)' || true
check "the poller has fetched beta's list twice since" 'follow beta "int(g(\"fetches\")) >= 3"'
check "acme-crm did not get laterco: nothing written for it since unfollow" \
	'fp acme-crm "\"laterco\" not in fps" && ! "$SPREG_BIN" changes --since "$seq2" | awk "{print \$4}" | grep -qx acme-crm'
run vendor unfollow acme-crm
check "unfollowing what it no longer follows: NOT_FOUND (exit 2)" \
	'[ $rc -eq 2 ] && grep -q "^spreg: NOT_FOUND: subprocessor_id: " <<<"$out"'

# ---- upstream goes away: the error recorded, the last list kept --------
seq3=$(last_seq)
spregd_stop up
until_ok follow beta 'f.get("last_outcome") == "failed"' || true
check "the follow's last outcome is failed, its error naming the url" \
	'follow beta "f.get(\"last_outcome\") == \"failed\" and \"url: $list: \" in f.get(\"last_error\", \"\") and f.get(\"failing_since\")"'
run vendor follows beta --wide
check "vendor follows shows the failure and its error" \
	'[ $rc -eq 0 ] && grep -Eq "^beta .* failed .*url: $list: " <<<"$out"'
run get beta
check "spreg get shows the last error" \
	'[ $rc -eq 0 ] && grep -q "^follow: $list every 1 s, last fetch .*: failed (url: $list: .*; failing since " <<<"$out"'
check "and the last list is kept, nothing written" \
	'[ "$(last_seq)" = "$seq3" ] && fp beta "\"laterco\" in fps and \"aws\" in fps and \"hand-made\" in fps"'
spregd_stop down
check "downstream stops cleanly with a follow failing (exit 0, no leak)" '[ "$spregd_status" -eq 0 ]'

# ---- stopping while a first fetch hangs --------------------------------
# An upstream that accepts and never answers (bounded: it ends by itself).
timeout 120 /usr/bin/python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(5)
print(s.getsockname()[1], flush=True)
held = []
while True:
    c, _ = s.accept(); held.append(c); print("accepted", flush=True)
' >"$tmp/hang.txt" &
hang=$!
spregd_start down
until_ok test -s "$tmp/hang.txt" || true
hport=$(head -n 1 "$tmp/hang.txt")
"$SPREG_BIN" vendor follow acme-crm "http://127.0.0.1:$hport/list.json" >"$tmp/hang.out" 2>&1 &
caller=$!
until_ok grep -q accepted "$tmp/hang.txt" || true
spregd_stop down
wait "$caller" || true
kill "$hang" 2>/dev/null || true
check "spregd stops while a first fetch hangs: cleanly, the caller told" \
	'[ "$spregd_status" -eq 0 ] && grep -q "url: http://127.0.0.1:$hport/list.json: not fetched: the server is stopping" "$tmp/hang.out"'
spregd_start down
run vendor follows acme-crm
check "and nothing of it was stored" '[ $rc -eq 0 ] && [ "$(wc -l <<<"$out")" -eq 1 ]'
finish
