#!/usr/bin/env bash
# The JSON API of spregd --http, driven with curl against a real spregd
# (sample registry): every endpoint answers what the spreg command's
# --json answers for the same query (proto3 forms aside), and what
# doc/openapi.json says; every error of issue 13 (unknown path 404,
# wrong method 405, missing, bad and revoked tokens 401 with one body,
# a role or customer not allowed 403, unparsable parameters, malformed
# and oversize bodies 400) changes nothing; and an objection acknowledged
# over HTTP survives a kill -9. Hostile peers (connection limits, slow
# and silent clients): tests/http_hostile_test.sh.
set -euo pipefail

: "${SPREG_SOURCE:?source root}"
. "$SPREG_SOURCE/tests/support/cli.sh"

spec="$SPREG_SOURCE/doc/openapi.json"
pycheck() { /usr/bin/python3 "$SPREG_SOURCE/tests/support/httpcheck.py" "$@"; }

start_main() {
	SPREGD_HTTP=http://127.0.0.1:0 spregd_start main
	http=$(sed -n 's/^http //p' "$tmp/main.ready" | head -n 1)
}
start_main
export SPREG_SERVER="ipc://$tmp/main.ipc"
export SPREG_TOKEN_FILE="$tmp/main/admin.token"
admin=$(head -n 1 "$tmp/main/admin.token")
check "the ready file names the HTTP URL with the port it got" \
	'[[ "$http" =~ ^http://127\.0\.0\.1:[0-9]+$ ]] && [ "${http##*:}" != 0 ]'
spreg info --json
check "ServerInfo reports the HTTP limits" \
	'[ $rc -eq 0 ] && out_has "\"max_http_body_bytes\": *65536" && out_has "\"max_http_requests\": *16"'

# req METHOD PATH [curl options]: the body in $tmp/body, the headers in
# $tmp/hdr, the status in $status. The admin token unless -H given.
status=0
req() {
	local method=(-X "$1") path=$2
	shift 2
	# curl -X HEAD would wait for the body Content-Length announces.
	[ "${method[1]}" = HEAD ] && method=(--head)
	# --max-time bounds a hang; it decides nothing.
	status=$(curl -sS --max-time 60 "${method[@]}" -o "$tmp/body" \
		-D "$tmp/hdr" -w '%{http_code}' "$@" "$http$path")
}
admin_req() { req "$@" -H "Authorization: Bearer $admin"; }
# The body is valid for METHOD TEMPLATE and $status in the spec.
schema_ok() { pycheck schema "$spec" "$1" "$2" "$status" "$tmp/body"; }
# The error body names the field and the gRPC status.
error_is() {
	[ "$(pycheck get "$tmp/body" 'body["error"]["status"]')" = "$1" ] &&
		[ "$(pycheck get "$tmp/body" 'body["error"].get("field")')" = "$2" ]
}
hdr_has() { grep -qi -- "$1" "$tmp/hdr"; }
last_seq() {
	"$SPREG_BIN" info --json | /usr/bin/python3 -c \
		'import json,sys; print(json.load(sys.stdin)["last_seq"])'
}

# ---- the same answers as the CLI ---------------------------------------------

for filter in "country=US --country US" "data_category=user.biometric --category user.biometric" \
	"service=billing --service billing" "status=retired --status retired"; do
	q=${filter%% *}
	opts=${filter#* }
	admin_req GET "/v1/subprocessors?$q"
	cp "$tmp/body" "$tmp/http.json"
	spreg list $opts --json
	check "GET /v1/subprocessors?$q: spreg list $opts --json" \
		'[ "$status" = 200 ] && pycheck same "$tmp/http.json" subprocessors "$tmp/out"'
	cp "$tmp/http.json" "$tmp/body"
	check "... valid for the OpenAPI spec" 'schema_ok GET /v1/subprocessors'
done

# Paged: 5 at a time, following next_page_token, is the whole list.
token="" pages=0
echo '{"subprocessors": []}' >"$tmp/all.json"
for _ in $(seq 20); do
	admin_req GET "/v1/subprocessors?page_size=5&page_token=$token"
	[ "$status" = 200 ] || break
	pages=$((pages + 1))
	/usr/bin/python3 - "$tmp/all.json" "$tmp/body" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
a["subprocessors"] += json.load(open(sys.argv[2])).get("subprocessors", [])
json.dump(a, open(sys.argv[1], "w"))
PY
	token=$(pycheck get "$tmp/body" 'body.get("next_page_token", "")')
	[ -n "$token" ] || break
done
spreg list --json
check "paged by 5 ($pages pages): the whole of spreg list --json" \
	'[ "$pages" -ge 5 ] && pycheck same "$tmp/all.json" subprocessors "$tmp/out"'

admin_req GET /v1/subprocessors/stripe
cp "$tmp/body" "$tmp/http.json"
spreg get stripe --json
check "GET /v1/subprocessors/stripe: spreg get stripe --json" \
	'[ "$status" = 200 ] && pycheck same "$tmp/http.json" subprocessor "$tmp/out"'
cp "$tmp/http.json" "$tmp/body"
check "... valid for the spec; 64-bit revision a string, status by its full name" \
	'schema_ok GET "/v1/subprocessors/{id}" && grep -q "\"revision\":\"1\"" "$tmp/body" && grep -q "\"status\":\"SUBPROCESSOR_STATUS_ACTIVE\"" "$tmp/body"'

admin_req GET "/v1/changes?since_seq=10"
cp "$tmp/body" "$tmp/http.json"
spreg changes --since 10 --json
check "GET /v1/changes?since_seq=10: spreg changes --since 10 --json" \
	'[ "$status" = 200 ] && pycheck same "$tmp/http.json" changes "$tmp/out"'
cp "$tmp/http.json" "$tmp/body"
check "... valid for the spec" 'schema_ok GET /v1/changes'

admin_req GET "/v1/assessment?as_of=2020-01-01&regime=EU"
cp "$tmp/body" "$tmp/http.json"
spreg assess --as-of 2020-01-01 --regime EU --json
# The CLI adds "subprocessor" (its table column) to each transfer.
sed -i 's/,"subprocessor":"[^"]*"}$/}/' "$tmp/out"
check "GET /v1/assessment?as_of=2020-01-01: spreg assess --as-of 2020-01-01 --json" \
	'[ "$status" = 200 ] && pycheck same "$tmp/http.json" assessments "$tmp/out"'
cp "$tmp/http.json" "$tmp/body"
check "... valid for the spec" 'schema_ok GET /v1/assessment'

admin_req HEAD /v1/subprocessors/stripe
# (--head writes the headers where the body would go.)
check "HEAD: 200, no body" '[ "$status" = 200 ] && ! grep -q "{" "$tmp/body"'

# ---- bad input: typed errors naming the field, nothing changed ---------------

before=$(last_seq)
admin_req GET /v1/subprocessors/nobody
check "an unknown id: 404 NOT_FOUND naming id, valid for the spec" \
	'[ "$status" = 404 ] && error_is NOT_FOUND id && schema_ok GET "/v1/subprocessors/{id}"'
admin_req GET /v1/nothing
check "an unknown path under /v1: 404" '[ "$status" = 404 ] && error_is NOT_FOUND path'
admin_req GET /nothing/at/all
check "an unknown path: 404" '[ "$status" = 404 ] && error_is NOT_FOUND path'
admin_req DELETE /v1/subprocessors
check "DELETE /v1/subprocessors: 405, Allow: GET" \
	'[ "$status" = 405 ] && hdr_has "^Allow: GET" && error_is METHOD_NOT_ALLOWED method && schema_ok GET /v1/subprocessors'
admin_req GET /v1/changes/5/objections
check "GET on the objections path: 405, Allow: POST" \
	'[ "$status" = 405 ] && hdr_has "^Allow: POST"'
for bad in "page_size=abc page_size" "page_size=100000 page_size" \
	"since_seq=-1 since_seq" "bogus=1 bogus" "status=bogus status" \
	"country=US&country=DE country" "as_of=yesterday as_of" "page_size=%zz query"; do
	q=${bad% *}
	field=${bad#* }
	path=/v1/subprocessors
	[[ $q == since_seq* ]] && path=/v1/changes
	admin_req GET "$path?$q"
	check "GET $path?$q: 400 INVALID_ARGUMENT naming $field" \
		'[ "$status" = 400 ] && error_is INVALID_ARGUMENT "$field" && schema_ok GET "$path"'
done
long=$(printf 'x%.0s' $(seq 5000))
admin_req GET "/v1/subprocessors?country=$long"
check "a 5000-byte query: 400 naming path" '[ "$status" = 400 ] && error_is INVALID_ARGUMENT path'

# Tokens: none, unknown, malformed and revoked get one body.
req GET /v1/subprocessors
cp "$tmp/body" "$tmp/401-none"
check "no token: 401 UNAUTHENTICATED, WWW-Authenticate: Bearer" \
	'[ "$status" = 401 ] && hdr_has "^WWW-Authenticate: Bearer" && error_is UNAUTHENTICATED token && schema_ok GET /v1/subprocessors'
req GET /v1/subprocessors -H "Authorization: Bearer spreg_nobody.secret"
cp "$tmp/body" "$tmp/401-bad"
req GET /v1/subprocessors -H "Authorization: Basic YTpi"
cp "$tmp/body" "$tmp/401-basic"
spreg token create --role reader --name doomed
doomed=$(cat "$tmp/out")
spreg token revoke doomed
req GET /v1/subprocessors -H "Authorization: Bearer $doomed"
check "unknown, Basic and revoked tokens: 401 with the same body as none" \
	'[ "$status" = 401 ] && cmp -s "$tmp/body" "$tmp/401-none" && cmp -s "$tmp/401-bad" "$tmp/401-none" && cmp -s "$tmp/401-basic" "$tmp/401-none"'

# ---- objections: a customer's write, durable when acknowledged --------------

today=$("$SPREG_BIN" info --json | /usr/bin/python3 -c \
	'import json,sys; print(json.load(sys.stdin)["started_at"][:10])')
printf 'id: acme\nname: ACME Corp\nservices: [support]\nregime: EU\nnotice_days: 30\n' >"$tmp/acme.yaml"
spreg customer put "$tmp/acme.yaml"
spreg token create --role customer:acme --name acme-dpo
acme=$(cat "$tmp/out")
spreg token create --role reader --name reader
reader=$(cat "$tmp/out")
printf 'id: deepl\nname: DeepL\nlegal_entity: DeepL SE\npurpose: Translation\nservices: [support]\ndata_categories: [user.contact.email]\nlocations:\n  - {country: DE, role: processing}\nstatus: active\n' >"$tmp/deepl.yaml"
spreg announce "$tmp/deepl.yaml" --effective "$(date -u -d "$today + 40 days" +%F)"
seq=$(sed -n 's/.*change seq \([0-9]*\).*/\1/p' "$tmp/out")
check "an announcement to object to" '[ -n "$seq" ]'

before=$(last_seq)
req POST "/v1/changes/$seq/objections" -H "Authorization: Bearer $reader" \
	-H "Content-Type: application/json" -d '{"customer_id":"acme","reason":"no"}'
check "a reader token may not object: 403 PERMISSION_DENIED" \
	'[ "$status" = 403 ] && error_is PERMISSION_DENIED token && schema_ok POST "/v1/changes/{seq}/objections"'
req POST "/v1/changes/$seq/objections" -H "Authorization: Bearer $acme" \
	-H "Content-Type: application/json" -d '{"customer_id":"other","reason":"no"}'
check "a customer token objecting for another: 403 naming customer_id" \
	'[ "$status" = 403 ] && error_is PERMISSION_DENIED customer_id'
req GET "/v1/changes?customer_id=other" -H "Authorization: Bearer $acme"
check "a customer token reading another's changes: 403" '[ "$status" = 403 ]'
req POST "/v1/changes/$seq/objections" -H "Authorization: Bearer $acme" \
	-H "Content-Type: application/json" -d '{"reason": "no",'
check "malformed JSON: 400 naming body" '[ "$status" = 400 ] && error_is INVALID_ARGUMENT body'
req POST "/v1/changes/$seq/objections" -H "Authorization: Bearer $acme" \
	-H "Content-Type: text/plain" -d '{"reason":"no"}'
check "a body not application/json: 400 naming body" '[ "$status" = 400 ] && error_is INVALID_ARGUMENT body'
req POST "/v1/changes/$seq/objections" -H "Authorization: Bearer $acme" \
	-H "Content-Type: application/json" -d '{"reasons":"no"}'
check "an unknown field in the body: 400 naming it" '[ "$status" = 400 ] && error_is INVALID_ARGUMENT reasons'
req POST "/v1/changes/$seq/objections" -H "Authorization: Bearer $acme" \
	-H "Content-Type: application/json" -d "{\"change_seq\":\"1\"}"
check "change_seq in the body too: 400 naming it" '[ "$status" = 400 ] && error_is INVALID_ARGUMENT change_seq'
req POST "/v1/changes/abc/objections" -H "Authorization: Bearer $acme" \
	-H "Content-Type: application/json" -d '{"reason":"no"}'
check "a seq that is not a number: 400 naming change_seq" '[ "$status" = 400 ] && error_is INVALID_ARGUMENT change_seq'
head -c 70000 /dev/zero | tr '\0' ' ' >"$tmp/big"
req POST "/v1/changes/$seq/objections" -H "Authorization: Bearer $acme" \
	-H "Content-Type: application/json" --data-binary "@$tmp/big"
check "a body over 64 KiB: 400, refused before it is read" '[ "$status" = 400 ]'
check "... none of the refusals changed anything" '[ "$(last_seq)" = "$before" ]'

req POST "/v1/changes/$seq/objections" -H "Authorization: Bearer $acme" \
	-H "Content-Type: application/json" -d '{"reason":"we do not agree"}'
cp "$tmp/body" "$tmp/objected.json"
check "a customer objects over HTTP: 200, valid for the spec" \
	'[ "$status" = 200 ] && schema_ok POST "/v1/changes/{seq}/objections" && grep -q "\"customer_id\":\"acme\"" "$tmp/body"'
# Acknowledged means durable: kill -9 at once, and it is there after.
kill -9 "${spregd_pids[main]}"
wait "${spregd_pids[main]}" 2>/dev/null || true
unset "spregd_pids[main]"
start_main
spreg objections --change "$seq" --json
check "... it survives a kill -9 right after the reply" \
	'[ $rc -eq 0 ] && grep -q "we do not agree" "$tmp/out"'
req POST "/v1/changes/$seq/objections" -H "Authorization: Bearer $acme" \
	-H "Content-Type: application/json" -d '{"reason":"again"}'
check "objecting twice: 409 ALREADY_EXISTS" \
	'[ "$status" = 409 ] && [ "$(pycheck get "$tmp/body" "body[\"error\"][\"status\"]")" = ALREADY_EXISTS ]'

# ---- the list and the feeds beside the API, in the spec too ----------------

req GET /subprocessors.json
check "GET /subprocessors.json: 200, valid for the spec" \
	'[ "$status" = 200 ] && schema_ok GET /subprocessors.json && [ "$(pycheck get "$tmp/body" "len(body[\"subprocessors\"])")" -gt 20 ]'
req GET /changes.json
check "GET /changes.json (JSON Feed): 200, valid for the spec" \
	'[ "$status" = 200 ] && schema_ok GET /changes.json && [ "$(pycheck get "$tmp/body" "len(body[\"items\"])")" -gt 0 ]'
req GET "/changes.json?x=1"
check "... a parameter it does not take: 400 naming it, valid for the spec" \
	'[ "$status" = 400 ] && error_is INVALID_ARGUMENT x && schema_ok GET /changes.json'
spreg customer feed-key acme
key=$(sed -n 's/^feed: .*key=//p' "$tmp/out")
req GET "/customers/acme/changes.json?key=$key"
check "GET /customers/{id}/changes.json with its key: 200, valid for the spec" \
	'[ -n "$key" ] && [ "$status" = 200 ] && schema_ok GET "/customers/{id}/changes.json" && grep -q deepl "$tmp/body"'
req GET "/customers/acme/subprocessors.json?key=$key"
check "GET /customers/{id}/subprocessors.json: 200, valid for the spec" \
	'[ "$status" = 200 ] && schema_ok GET "/customers/{id}/subprocessors.json"'
req GET "/customers/acme/changes.json?key=wrong"
check "... a wrong key: 401, valid for the spec" \
	'[ "$status" = 401 ] && schema_ok GET "/customers/{id}/changes.json"'
# Every GET path of the spec is served (none answers 404), and every
# route above is in the spec (schema_ok fails on a path it lacks).
missing=""
for path in $(/usr/bin/python3 -c 'import json,sys; print(" ".join(p for p, o in json.load(open(sys.argv[1]))["paths"].items() if "get" in o))' "$spec"); do
	path=${path/#\/v1\/subprocessors\/\{id\}//v1/subprocessors/stripe}
	path=${path//\{id\}/acme}
	admin_req GET "${path}$([[ $path == /customers/* ]] && echo "?key=$key")"
	[ "$status" != 404 ] || missing="$missing $path"
done
check "every GET path of the spec is served${missing:+ (404:$missing)}" '[ -z "$missing" ]'

spregd_stop main
check "spregd stops cleanly (no leak under ASan)" '[ "$spregd_status" = 0 ]'
finish
