#!/usr/bin/env bash
# Runs the spreg command against a real spregd (sample registry, 26
# vendors) and checks its output and exit codes: every command, JSON and
# table forms, and each exit status (0 ok, 1 usage, 2 not found, 3 server
# error, 4 cannot connect). Under AddressSanitizer a leak turns an exit
# status into 23, so the exit-code checks also catch leaks.
set -euo pipefail

: "${SPREGD:?path of spregd}" "${SPREG_BUILD:?build root}"
: "${SPREG_SOURCE:?source root}"
. "$SPREG_SOURCE/tests/support/cli.sh"

spregd_start main
spregd_use main	# SPREG_SERVER, and the admin token it wrote

# ---- help and usage -----------------------------------------------------

spreg --help
check "--help documents the exit codes and JSON Lines" \
	'[ $rc -eq 0 ] && out_has "^  4  cannot connect" && out_has "JSON Lines" && out_has "^  changes "'
spreg list --help
check "list --help shows the command's options" \
	'[ $rc -eq 0 ] && out_has "usage: spreg list" && out_has "--page-size N"'
spreg --version
check "--version" '[ $rc -eq 0 ] && out_has "^spreg [0-9]"'
spreg list --bogus
check "unknown option exits 1" '[ $rc -eq 1 ] && err_has "--bogus" && [ ! -s "$tmp/out" ]'
spreg list --page-size 12x
check "--page-size 12x exits 1" '[ $rc -eq 1 ] && err_has "12x"'
spreg changes --since -3
check "negative --since exits 1" '[ $rc -eq 1 ] && err_has "since"'
spreg get
check "get without an id exits 1" '[ $rc -eq 1 ] && err_has "missing argument"'
spreg frobnicate
check "unknown command exits 1" '[ $rc -eq 1 ] && err_has "frobnicate"'
spreg retire stripe --effective-until 2026-02-30
check "retire with an impossible date exits 1" '[ $rc -eq 1 ] && err_has "effective-until"'

# ---- info -----------------------------------------------------------------

spreg info
check "info shows the sample's 26 vendors (an admin sees a customer's own choice too)" \
	'[ $rc -eq 0 ] && out_has "^subprocessors: 26$" && out_has "^active_subprocessors: 24$"'
check "info says where it publishes, and how often it beats" \
	'out_has "^publish: ipc://$tmp/main-pub.ipc$" && out_has "^heartbeat_ms: [1-9]"'
spreg --json info
check "info --json is one object with the counts" \
	'[ $rc -eq 0 ] && /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"subprocessors\"] == 26 and d[\"data_categories\"] > 0" "$tmp/out"'
# The seq before our writes; the changes checks count from it.
base_seq=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["last_seq"])' \
	"$tmp/out" 2>/dev/null) || base_seq=27

# ---- get and list -------------------------------------------------------

spreg get stripe
check "get stripe" \
	'[ $rc -eq 0 ] && out_has "^name: Stripe$" && out_has "^status: active$" && out_has "^location: IE "'
spreg get stripe --json
check "get --json is the proto JSON form" \
	'[ $rc -eq 0 ] && /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"id\"] == \"stripe\" and d[\"status\"] == \"active\" and d[\"revision\"] == 1" "$tmp/out"'
spreg get no-such-vendor
check "get an unknown id exits 2" '[ $rc -eq 2 ] && err_has "NOT_FOUND" && [ ! -s "$tmp/out" ]'
spreg get Not_A_Slug
check "get a malformed id exits 3" '[ $rc -eq 3 ] && err_has "^spreg: INVALID_ARGUMENT: id"'
# Several ids: one GetSubprocessors call, in the order given.
spreg get stripe aws
check "get stripe aws prints both, in that order" \
	'[ $rc -eq 0 ] && [ "$(grep -c "^name: " "$tmp/out")" -eq 2 ] && [ "$(grep "^name: " "$tmp/out" | head -1)" = "name: Stripe" ]'
spreg get aws stripe --json
check "get aws stripe --json: one object a line" \
	'[ $rc -eq 0 ] && [ "$(out_lines)" -eq 2 ] && /usr/bin/python3 -c "import json,sys; ids=[json.loads(l)[\"id\"] for l in open(sys.argv[1])]; assert ids == [\"aws\", \"stripe\"], ids" "$tmp/out"'
spreg get aws no-such-vendor stripe
check "get with one unknown id prints the others, names it and exits 2" \
	'[ $rc -eq 2 ] && [ "$(grep -c "^name: " "$tmp/out")" -eq 2 ] && err_has "NOT_FOUND: id: no subprocessor .no-such-vendor."'
spreg get aws stripe --revision 1
check "get --revision with several ids exits 1" '[ $rc -eq 1 ] && err_has "one ID only"'
spreg get aws Not_A_Slug
check "get with a malformed id among several exits 3" '[ $rc -eq 3 ] && err_has "INVALID_ARGUMENT: ids\[1\]"'

spreg list
check "list: a header and 26 rows" \
	'[ $rc -eq 0 ] && [ "$(out_lines)" -eq 27 ] && out_has "^ID  *NAME  *STATUS  *COUNTRIES  *CATEGORIES  *MECHANISMS$" && has_id ovhcloud && has_id mailchimp'
spreg list --json --page-size 5
check "list --json pages through: 26 JSON lines in id order" \
	'[ $rc -eq 0 ] && [ "$(out_lines)" -eq 26 ] && /usr/bin/python3 -c "import json,sys; ids=[json.loads(l)[\"id\"] for l in open(sys.argv[1])]; assert ids == sorted(ids) and len(set(ids)) == 26" "$tmp/out"'
spreg list --json --page-size 2 --limit 3
check "list --limit 3 stops after 3 rows" '[ $rc -eq 0 ] && [ "$(out_lines)" -eq 3 ]'
spreg list --category user.financial
check "list --category user.financial finds credit_card vendors" \
	'[ $rc -eq 0 ] && has_id stripe && has_id fastspring && ! has_id aws'
spreg list --country US
check "list --country US" \
	'[ $rc -eq 0 ] && has_id aws && has_id zoom && ! has_id ovhcloud && ! has_id hetzner'
spreg list --country XX
check "list --country XX exits 3 naming the field" '[ $rc -eq 3 ] && err_has "INVALID_ARGUMENT: country"'

# ---- categories -----------------------------------------------------------

spreg categories
check "categories marks user.health_and_medical special" \
	'[ $rc -eq 0 ] && out_has "^KEY  *NAME  *SPECIAL  *CUSTOM$" && grep -q "^user.health_and_medical .* yes" "$tmp/out" && ! grep -q "^user.contact .* yes" "$tmp/out"'
spreg categories --json --parent user.financial
check "categories --json --parent: JSON Lines under the parent" \
	'[ $rc -eq 0 ] && [ "$(out_lines)" -ge 2 ] && /usr/bin/python3 -c "import json,sys; ks=[json.loads(l)[\"key\"] for l in open(sys.argv[1])]; assert \"user.financial\" in ks and all(k.startswith(\"user.financial\") for k in ks)" "$tmp/out"'

# ---- put ------------------------------------------------------------------

cat >"$tmp/plausible.yaml" <<'EOF'
# A vendor that is not in the sample registry.
id: plausible
name: Plausible Analytics
legal_entity: Plausible Insights OÜ
purpose: Cookie-free analytics of the marketing site
website: https://plausible.io
services: [website]
data_categories:
  - user.device.ip_address
  - user.behavior.browsing_history
locations:
  - country: DE
    role: hosting
  - country: US
    role: support
    data_categories: [user.device.ip_address]
safeguards:
  - mechanism: eu-scc-2021-m3
    regime: EU
    signed_on: "2024-01-10"
    document_ref: PLAUSIBLE-DPA-2024
    tia_ref: TIA-2024-001
status: active
effective_from: "2024-01-15"
EOF

sed 's/country: US/country: XX/' "$tmp/plausible.yaml" >"$tmp/bad-country.yaml"
spreg put "$tmp/bad-country.yaml"
check "put with an invalid country exits 3 naming the field" \
	'[ $rc -eq 3 ] && err_has "^spreg: INVALID_ARGUMENT: locations\[1\].country"'

spreg put "$tmp/plausible.yaml"
check "put a new vendor from YAML: created" \
	'[ $rc -eq 0 ] && out_has "^created plausible revision 1 (change seq $((base_seq + 1)))$"'

spreg get plausible --json
check "get it back: the fields match the YAML file" \
	'[ $rc -eq 0 ] && /usr/bin/python3 - "$tmp/out" "$tmp/plausible.yaml" <<"PY"
import json, sys
got = json.load(open(sys.argv[1]))
want = {
    "id": "plausible", "name": "Plausible Analytics",
    "legal_entity": "Plausible Insights OÜ",
    "purpose": "Cookie-free analytics of the marketing site",
    "website": "https://plausible.io", "services": ["website"],
    "data_categories": ["user.device.ip_address",
                        "user.behavior.browsing_history"],
    "locations": [{"country": "DE", "role": "hosting"},
                  {"country": "US", "role": "support",
                   "data_categories": ["user.device.ip_address"]}],
    "safeguards": [{"mechanism": "eu-scc-2021-m3", "regime": "EU",
                    "signed_on": "2024-01-10",
                    "document_ref": "PLAUSIBLE-DPA-2024",
                    "tia_ref": "TIA-2024-001"}],
    "status": "active", "effective_from": "2024-01-15", "revision": 1,
}
for key, value in want.items():
    assert got.get(key) == value, (key, got.get(key), value)
assert got["updated_by"] and got["updated_at"]
PY'

spreg put "$tmp/plausible.yaml"
check "put the same file again: unchanged" \
	'[ $rc -eq 0 ] && out_has "^unchanged plausible revision 1$"'

spreg put --expected-revision 7 "$tmp/plausible.yaml"
check "put with a wrong --expected-revision exits 3 FAILED_PRECONDITION" \
	'[ $rc -eq 3 ] && err_has "^spreg: FAILED_PRECONDITION: "'

spreg put --create-only "$tmp/plausible.yaml"
check "put --create-only on an existing id exits 3 ALREADY_EXISTS" \
	'[ $rc -eq 3 ] && err_has "ALREADY_EXISTS"'

# What get --json prints is what put reads back: edit it, send it on stdin
# with the revision it was read at.
"$SPREG_BIN" get plausible --json |
	/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); d["purpose"]="Analytics"; print(json.dumps(d))' \
	>"$tmp/plausible.json" || true
set +e
"$SPREG_BIN" put - --expected-revision 1 <"$tmp/plausible.json" >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
check "put JSON from stdin with --expected-revision: updated" \
	'[ $rc -eq 0 ] && out_has "^updated plausible revision 2 (change seq $((base_seq + 2)))$"'

spreg put "$tmp/missing.yaml"
check "put a missing file exits 1 naming it" '[ $rc -eq 1 ] && err_has "missing.yaml"'
printf 'id: x\nname: [unclosed\n' >"$tmp/syntax.yaml"
spreg put "$tmp/syntax.yaml"
check "put a YAML syntax error exits 1 with the line" \
	'[ $rc -eq 1 ] && err_has "syntax.yaml" && err_has "line [0-9]"'
printf '{"id": "x", "nmae": "X"}\n' >"$tmp/field.json"
spreg put "$tmp/field.json"
check "put an unknown field exits 1 naming the field" \
	'[ $rc -eq 1 ] && err_has "field.json" && err_has "nmae"'

# ---- retire -----------------------------------------------------------

spreg retire plausible --effective-until 2025-12-31
check "retire: retired with a new revision" \
	'[ $rc -eq 0 ] && out_has "^retired plausible revision 3 (change seq $((base_seq + 3)))$"'
spreg get plausible
check "get after retire shows status retired" \
	'[ $rc -eq 0 ] && out_has "^status: retired$" && out_has "^effective_until: 2025-12-31$"'
spreg get plausible --revision 1
check "get --revision 1 shows the first revision" \
	'[ $rc -eq 0 ] && out_has "^revision: 1$" && out_has "^status: active$"'
spreg retire plausible
check "retire again exits 3" '[ $rc -eq 3 ] && err_has "^spreg: FAILED_PRECONDITION: "'
spreg retire nobody-here
check "retire an unknown id exits 2" '[ $rc -eq 2 ]'
spreg list --status retired
check "list --status retired" \
	'[ $rc -eq 0 ] && [ "$(out_lines)" -eq 3 ] && has_id plausible && has_id skype'

# ---- changes ------------------------------------------------------------

spreg changes --since "$base_seq" --json
check "changes --since: the three new changes in order (JSON Lines)" \
	'[ $rc -eq 0 ] && [ "$(out_lines)" -eq 3 ] && /usr/bin/python3 - "$tmp/out" "$base_seq" <<"PY"
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
base = int(sys.argv[2])
assert [r["seq"] for r in rows] == [base + 1, base + 2, base + 3], rows
assert [r["kind"] for r in rows] == ["created", "updated", "retired"], rows
assert all(r["subprocessor_id"] == "plausible" for r in rows), rows
PY'
spreg changes --since "$base_seq"
check "changes table: SEQ ... REVISION old->new" \
	'[ $rc -eq 0 ] && out_has "^SEQ  *TIME  *KIND  *SUBPROCESSOR  *REVISION  *ACTOR$" && grep -q "^$((base_seq + 2)) .* updated  *plausible  *1->2 " "$tmp/out"'
spreg changes
check "changes without --since pages through the whole log" \
	'[ $rc -eq 0 ] && [ "$(out_lines)" -eq $((base_seq + 4)) ]'
spreg changes --limit 2 --json
check "changes --limit 2" '[ $rc -eq 0 ] && [ "$(out_lines)" -eq 2 ]'

# ---- assess and rules -------------------------------------------------

spreg assess
check "assess: table, summary, exit 5 (mailchimp is INVALID today)" \
	'[ $rc -eq 5 ] && out_has "^SUBPROCESSOR  *COUNTRY  *CATEGORY  *VERDICT  *REASON$" && grep -q "^mailchimp  *US  .* INVALID " "$tmp/out" && out_has "^EU transfers as of " && out_has "^  failing [1-9]" && out_has "^SUBPROCESSOR  *NO_TRANSFER  *ADEQUATE "'
spreg assess --subprocessor ovhcloud
check "assess --subprocessor ovhcloud: lawful, exit 0" \
	'[ $rc -eq 0 ] && grep -q "^ovhcloud  *FR  .* NO_TRANSFER " "$tmp/out" && out_has "^  failing 0$"'
spreg assess --subprocessor mailchimp --as-of 2020-01-01
check "assess --as-of 2020-01-01: Privacy Shield was adequate, exit 0" \
	'[ $rc -eq 0 ] && grep -q "^mailchimp  *US  .* ADEQUATE " "$tmp/out" && out_has "as of 2020-01-01"'
spreg assess --subprocessor mailchimp --json
check "assess --json: JSON Lines with the documented keys, exit 5" \
	'[ $rc -eq 5 ] && /usr/bin/python3 - "$tmp/out" <<"PY"
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
assert rows, rows
for r in rows:
    for k in ("subprocessor", "regime", "country", "data_category", "verdict", "reason", "reference"):
        assert k in r, (k, r)
    assert r["subprocessor"] == "mailchimp" and r["verdict"] == "invalid", r
PY'
spreg assess --suppose-invalid eu-us-dpf
check "assess --suppose-invalid eu-us-dpf: google-ads affected, no fallback" \
	'[ $rc -eq 5 ] && out_has "^Affected if eu-us-dpf ceased on " && grep -q "^google-ads  *US  .* INVALID  *none$" "$tmp/out" && grep -q "^stripe  *US  .* SAFEGUARDED  *eu-scc-2021-m3 signed on" "$tmp/out"'
spreg assess --subprocessor ovhcloud --suppose-invalid eu-us-dpf@2026-01-01
check "assess: a supposition that touches nothing keeps exit 0" \
	'[ $rc -eq 0 ] && out_has "ceased on 2026-01-01: 0 transfer(s) fail"'
spreg assess --as-of 2020-13-01
check "assess --as-of 2020-13-01 exits 3 naming as_of" \
	'[ $rc -eq 3 ] && err_has "^spreg: INVALID_ARGUMENT: as_of: " && [ ! -s "$tmp/out" ]'
spreg assess --regime US
check "assess --regime US exits 3 naming regime" \
	'[ $rc -eq 3 ] && err_has "INVALID_ARGUMENT: regime: "'
spreg assess --customer nobody
check "assess --customer nobody exits 2 naming customer" \
	'[ $rc -eq 2 ] && err_has "NOT_FOUND: customer: "'
spreg assess --suppose-invalid no-such-mechanism
check "assess --suppose-invalid unknown exits 3 naming suppose_invalid[0].id" \
	'[ $rc -eq 3 ] && err_has "suppose_invalid\[0\].id: "'
spreg assess --horizon 0
check "assess --horizon 0 exits 1" '[ $rc -eq 1 ] && err_has "--horizon"'
spreg assess extra
check "assess with an operand exits 1" '[ $rc -eq 1 ] && err_has "extra"'
spreg assess --help
check "assess --help documents exit 5" \
	'[ $rc -eq 0 ] && out_has "usage: spreg assess" && out_has "Exit status 5"'
spreg rules
check "rules: version, checksum, rules with sources" \
	'[ $rc -eq 0 ] && out_has "^version: [0-9-]*$" && grep -Eq "^checksum: [0-9a-f]{64}$" "$tmp/out" && out_has "^ID  *REGIME  *KIND  *SUBJECT  *FROM  *UNTIL  *CONDITION  *SOURCE$" && out_has "^mechanism:eu-us-dpf  *EU  *framework "'
spreg rules --regime ch --json
check "rules --regime ch --json: only CH rules" \
	'[ $rc -eq 0 ] && /usr/bin/python3 - "$tmp/out" <<"PY"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["version"] and len(r["checksum"]) == 64, r
assert r["rules"] and all(x["regime"] == "CH" for x in r["rules"]), r
assert all(x.get("source") for x in r["rules"]), r
PY'
spreg rules --regime XX
check "rules --regime XX exits 3 naming regime" \
	'[ $rc -eq 3 ] && err_has "regime: "'

# ---- the registry at a date, and diff --------------------------------------
# Facts from data/sample-registry.json: skype was retired on 2025-05-05,
# brevo is proposed from 2027-01-15, hetzner starts on 2020-06-01.

spreg list --as-of 2020-01-01
check "list --as-of 2020-01-01 has skype, not hetzner or brevo" \
	'[ $rc -eq 0 ] && has_id skype && ! has_id hetzner && ! has_id brevo'
spreg get brevo --as-of 2027-01-15
check "get --as-of on brevo's date shows it active" \
	'[ $rc -eq 0 ] && out_has "^status: active$"'
spreg get brevo --as-of 2027-01-14
check "get --as-of the day before: not in effect, exit 2" \
	'[ $rc -eq 2 ] && err_has "as_of: "'
spreg diff 2020-01-01 2027-02-01
check "diff lists brevo added and skype removed" \
	'[ $rc -eq 0 ] && out_has "^added  *brevo " && out_has "^removed  *skype "'
spreg diff 2020-01-01 yesterday-ish
check "diff with a bad date exits 3 naming as_of" \
	'[ $rc -eq 3 ] && err_has "as_of: "'
spreg verify
check "verify on an untouched store: exit 0" '[ $rc -eq 0 ] && out_has "^ok: "'

# ---- tokens ---------------------------------------------------------------

check "spregd wrote the admin token readable by its owner only" \
	'[ "$(stat -c %a "$tmp/main/admin.token")" = 600 ]'
spreg whoami
check "whoami with the admin token: admin" \
	'[ $rc -eq 0 ] && out_has "^token: admin$" && out_has "^role: admin$"'
SPREG_TOKEN_FILE= "$SPREG_BIN" list >"$tmp/out" 2>"$tmp/err" && rc=0 || rc=$?
check "no token: exit 7, UNAUTHENTICATED, and how to give one" \
	'[ $rc -eq 7 ] && err_has "UNAUTHENTICATED" && err_has "token-file"'
spreg token create --role reader --name ci-reader
check "token create prints only the secret on stdout" \
	'[ $rc -eq 0 ] && [ "$(out_lines)" = 1 ] && out_has "^spreg_[0-9a-f]\{16\}\." && err_has "shown this once"'
cp "$tmp/out" "$tmp/reader.token"
spreg token create --role editor --name ci-reader
check "a second token of the same name: ALREADY_EXISTS (exit 3)" \
	'[ $rc -eq 3 ] && err_has "ALREADY_EXISTS"'
spreg token create --role auditor --name x
check "token create with an unknown role: exit 1" \
	'[ $rc -eq 1 ] && err_has "reader, editor, admin or customer:ID"'
spreg --token-file "$tmp/reader.token" get stripe
check "the reader reads" '[ $rc -eq 0 ] && out_has "^name: Stripe$"'
spreg --token-file "$tmp/reader.token" retire stripe
check "the reader cannot write: exit 7, PERMISSION_DENIED naming editor" \
	'[ $rc -eq 7 ] && err_has "PERMISSION_DENIED" && err_has "editor"'
spreg --token-file "$tmp/reader.token" token list
check "the reader cannot list tokens: exit 7" '[ $rc -eq 7 ]'
spreg token list
check "token list: admin and ci-reader, no secret or hash" \
	'[ $rc -eq 0 ] && has_id admin && has_id ci-reader && ! grep -q "$(cut -d. -f2 "$tmp/reader.token")" "$tmp/out"'
spreg token revoke ci-reader
check "token revoke" '[ $rc -eq 0 ] && out_has "^revoked token .ci-reader. at "'
spreg --token-file "$tmp/reader.token" get stripe
check "the revoked token is refused on its next call: exit 7" \
	'[ $rc -eq 7 ] && err_has "revoked"'
spreg token list
check "token list hides revoked tokens" '[ $rc -eq 0 ] && ! has_id ci-reader'
spreg token list --all
check "token list --all shows them" '[ $rc -eq 0 ] && has_id ci-reader'
spreg token revoke admin
check "the last admin token cannot be revoked" \
	'[ $rc -eq 3 ] && err_has "last admin token"'
spreg changes --json --limit 1000
check "changes record the token that made them" \
	'[ $rc -eq 0 ] && grep -q "\"token\": *\"admin\"" "$tmp/out"'
"$SPREGD" --insecure-local --listen tcp://0.0.0.0:0 --data "$tmp/var2" \
	>"$tmp/out" 2>"$tmp/err" && rc=0 || rc=$?
check "--insecure-local refuses a non-loopback URL" \
	'[ $rc -eq 1 ] && err_has "loopback"'

# ---- connecting -----------------------------------------------------------

spreg --server "ipc://$tmp/nobody.ipc" info
check "--server with no server there exits 4" \
	'[ $rc -eq 4 ] && err_has "^spreg: cannot reach server at ipc://$tmp/nobody.ipc: "'
spreg info --server "ipc://$tmp/nobody.ipc"
check "global options are accepted after the command" '[ $rc -eq 4 ]'
SPREG_SERVER="ipc://$tmp/nobody.ipc" "$SPREG_BIN" --server "ipc://$tmp/main.ipc" get zoom \
	>"$tmp/out" 2>"$tmp/err" && rc=0 || rc=$?
check "--server overrides SPREG_SERVER" '[ $rc -eq 0 ] && out_has "^name: Zoom$"'

# ---- one framework: options anywhere, once each ----------------------------

"$SPREG_BIN" get stripe --yaml >"$tmp/stripe.yaml" 2>/dev/null || true
printf 'spreg_0000000000000000.nottherealsecret\n' >"$tmp/bad.token"
: >"$tmp/ca.pem"
commands=(
	"get stripe" "list" "changes --limit 1" "categories" "info" "verify"
	"assess --subprocessor ovhcloud" "rules" "export --format jsonl"
	"diff 2020-01-01 2021-01-01" "whoami" "token list"
	"put $tmp/stripe.yaml" "retire nobody-here" "edit stripe"
	"customer list" "customer get nobody" "announcements"
	"objections --change 1" "withdraw 999999 --reason x"
	"object 999999 --reason x --customer nobody"
	"announce --retire nobody-here --effective 2030-01-01"
	"category put user.contact.pager --name Pager"
	"watch --count 1 --pub ipc://$tmp/main-pub.ipc"
)
for cmd in "${commands[@]}"; do
	# shellcheck disable=SC2086
	EDITOR=true spreg $cmd
	base=$rc
	EDITOR=true spreg $cmd --timeout 20000
	check "$cmd --timeout: accepted after the command" '[ $rc -eq $base ]'
	EDITOR=true spreg $cmd --wide
	check "$cmd --wide: accepted after the command" '[ $rc -eq $base ]'
	EDITOR=true spreg $cmd --tls-ca "$tmp/ca.pem"
	check "$cmd --tls-ca: accepted after the command" '[ $rc -eq $base ]'
	EDITOR=true spreg $cmd --json
	check "$cmd --json: JSON after the command" '[ $rc -eq $base ] && json_ok'
	EDITOR=true spreg $cmd --token-file "$tmp/bad.token"
	check "$cmd --token-file: that token is used (exit 7)" '[ $rc -eq 7 ]'
	if [ "${cmd%% *}" != watch ]; then	# watch waits for a server
		EDITOR=true spreg $cmd --server "ipc://$tmp/nobody.ipc"
		check "$cmd --server: that server is used (exit 4)" '[ $rc -eq 4 ]'
	fi
	EDITOR=true spreg $cmd --timeout 1000 --timeout 2000
	check "$cmd: an option given twice exits 1" \
		'[ $rc -eq 1 ] && err_has "given twice" && [ ! -s "$tmp/out" ]'
done
spreg --json list --json
check "a global option before and after the command is given twice: exit 1" \
	'[ $rc -eq 1 ] && err_has "'"'"'--json'"'"' given twice"'
spreg list --country US --country DE
check "a command option given twice: exit 1, naming it" \
	'[ $rc -eq 1 ] && err_has "'"'"'--country'"'"' given twice"'
spreg list --country=US
check "--option=value works too" '[ $rc -eq 0 ] && has_id aws'
spreg list --customer
check "an option without its value: exit 1" '[ $rc -eq 1 ] && err_has "needs an argument"'
spreg --limit 3 list
check "a command option before the command: exit 1" '[ $rc -eq 1 ] && err_has "limit"'
spreg help list
check "spreg help list is list --help" '[ $rc -eq 0 ] && out_has "^usage: spreg list"'
spreg customer --help
check "a group's --help lists its commands" \
	'[ $rc -eq 0 ] && out_has "customer put" && out_has "customer delete"'
spreg token
check "a group without its command: exit 1" '[ $rc -eq 1 ] && err_has "token create"'
spreg token frob
check "an unknown command of a group: exit 1" '[ $rc -eq 1 ] && err_has "frob"'

# Country codes in any case, the same everywhere.
spreg list --country us
cp "$tmp/out" "$tmp/lower"
spreg list --country US
check "list --country us is list --country US" '[ $rc -eq 0 ] && cmp -s "$tmp/out" "$tmp/lower" && has_id aws'
spreg assess --country us --subprocessor aws --json
check "assess --country us: upper-cased, not refused" \
	'[ $rc -eq 0 -o $rc -eq 5 ] && grep -q "\"country\": *\"US\"" "$tmp/out"'
spreg export --country jp --format jsonl
check "export --country jp: upper-cased, not refused" '[ $rc -eq 0 ]'
spreg list --country usa
check "list --country usa: exit 1, not a two-letter code" '[ $rc -eq 1 ] && err_has "two-letter"'
sed -e 's/^id: plausible/id: lowercase-cc/' -e 's/country: DE/country: de/' \
	-e 's/^status: active/status: proposed/' "$tmp/plausible.yaml" >"$tmp/lower.yaml"
spreg put "$tmp/lower.yaml"
check "put a file with country: de: stored as DE" '[ $rc -eq 0 ] && out_has "^created lowercase-cc "'
spreg get lowercase-cc
check "get it back: location DE" '[ $rc -eq 0 ] && out_has "^location: DE hosting"'

# Tables: cut at 40 characters in a pipe, whole with --wide.
spreg assess --subprocessor ovhcloud
check "assess in a pipe: reasons cut with an ellipsis" '[ $rc -eq 0 ] && out_has "…$"'
spreg assess --subprocessor ovhcloud --wide
check "assess --wide: reasons whole" \
	'[ $rc -eq 0 ] && ! out_has "…" && [ "$(awk "{ print length }" "$tmp/out" | sort -n | tail -1)" -gt 90 ]'
# On a terminal (script(1) gives one), the table fits its width.
if command -v script >/dev/null; then
	spreg_tty() {	# COLUMNS ARGS...: spreg on a terminal that wide
		local cols=$1
		shift
		script -qec "stty cols $cols; $SPREG_BIN $*" /dev/null | tr -d '\r' >"$tmp/out"
	}
	spreg_tty 250 assess --subprocessor ovhcloud
	check "assess on a wide terminal: reasons whole" '! out_has "…" && out_has "^ovhcloud  *FR "'
	spreg_tty 80 assess --subprocessor ovhcloud
	check "assess on an 80-column terminal: rows fit it (80 characters; … is 3 bytes)" \
		'out_has "…" && [ "$(grep "^ovhcloud" "$tmp/out" | head -1 | wc -c)" -le 83 ]'
fi
spreg assess --subprocessor onfido
check "assess marks special-category data and counts it" \
	'grep -q "^onfido .*user.biometric[a-z_.]* (special)" "$tmp/out" && out_has "^  special-category data (Art. 9/10): [1-9]"'
spreg assess --horizon 3650
check "assess lists the transfers whose basis lapses within the horizon" \
	'[ $rc -eq 5 ] && out_has "^Lapsing within 3650 days: [1-9]" && out_has "LAPSES_ON"'

# ---- round trip: get --yaml, put, edit ------------------------------------

spreg get stripe --yaml
check "get --yaml: YAML with quoted dates" \
	'[ $rc -eq 0 ] && out_has "^id: stripe$" && out_has "^effective_from: \"2018-05-01\"$" && out_has "^services: \[billing\]$"'
spreg put "$tmp/stripe.yaml"
check "put what get --yaml printed: unchanged" '[ $rc -eq 0 ] && out_has "^unchanged stripe revision 1$"'
spreg get stripe --yaml --json
check "get --yaml --json: exit 1" '[ $rc -eq 1 ]'

cat >"$tmp/purpose-editor" <<'EOF2'
#!/bin/sh
sed -i 's/^purpose: .*/purpose: Payments, edited/' "$1"
EOF2
cat >"$tmp/rename-editor" <<'EOF2'
#!/bin/sh
sed -i 's/^id: stripe$/id: stripe-two/' "$1"
EOF2
# Someone else writes while the editor is open.
cat >"$tmp/racing-editor" <<EOF2
#!/bin/sh
"$SPREG_BIN" get stripe --yaml | sed 's/^website: .*/website: https:\/\/stripe.example/' >"$tmp/race.yaml"
"$SPREG_BIN" put "$tmp/race.yaml" >/dev/null
sed -i 's/^purpose: .*/purpose: Mine/' "\$1"
EOF2
chmod +x "$tmp"/*-editor
EDITOR=true spreg edit stripe
check "edit with nothing changed: exit 0, nothing written" \
	'[ $rc -eq 0 ] && err_has "no change" && [ ! -s "$tmp/out" ]'
EDITOR="$tmp/rename-editor" spreg edit stripe
check "edit that changes the id: exit 1, refused, the edit kept" \
	'[ $rc -eq 1 ] && err_has "stripe-two" && err_has "kept in"'
spreg get stripe-two
check "... and no stripe-two was made" '[ $rc -eq 2 ]'
EDITOR="$tmp/purpose-editor" spreg edit stripe
check "edit writes the change back with the revision read" \
	'[ $rc -eq 0 ] && out_has "^updated stripe revision 2 "'
spreg get stripe
check "... and get shows it" '[ $rc -eq 0 ] && out_has "^purpose: Payments, edited$"'
EDITOR="$tmp/racing-editor" spreg edit stripe
check "edit after someone else's write: FAILED_PRECONDITION, exit 3, the edit kept" \
	'[ $rc -eq 3 ] && err_has "FAILED_PRECONDITION" && err_has "kept in"'
spreg get stripe
check "... the other write stands, ours is not applied" \
	'[ $rc -eq 0 ] && out_has "^website: https://stripe.example$" && ! out_has "^purpose: Mine$" && out_has "^revision: 3$"'
EDITOR=false spreg edit stripe
check "an editor that fails: exit 1, nothing written" '[ $rc -eq 1 ] && err_has "editor"'

# ---- categories -------------------------------------------------------------

spreg category put user.biometric.gait --name "Gait pattern"
check "category put under a special parent" \
	'[ $rc -eq 0 ] && out_has "^put category user.biometric.gait under user.biometric (special category)$"'
spreg categories --parent user.biometric
check "... listed, special and custom" \
	'[ $rc -eq 0 ] && grep -q "^user.biometric.gait  *Gait pattern  *yes  *yes$" "$tmp/out"'
spreg category put user.nonexistent.thing --name X
check "category put under a missing parent: refused" '[ $rc -eq 3 -o $rc -eq 2 ] && err_has "parent"'
spreg category put user.contact.pager
check "category put without --name: exit 1" '[ $rc -eq 1 ] && err_has "name"'

# ---- purposes and kinds of recipient (issue 15) ----------------------------

printf '%s\n' 'id: ads-network' 'name: Ads Network' 'kind: controller' \
	'data_categories: [user.device.cookie_id]' 'data_uses: [marketing.advertising.third_party]' \
	'locations: [{country: US, role: processing}]' >"$tmp/ads.yaml"
printf '%s\n' 'id: mailer' 'name: Mailer' 'data_categories: [user.contact.email]' \
	'data_uses: [marketing.communications.email, essential.service.notifications.email]' \
	'locations: [{country: US, role: processing, data_uses: [marketing.communications.email]}]' >"$tmp/mailer.yaml"
spreg put "$tmp/ads.yaml"
check "put an ad network as an independent controller" '[ $rc -eq 0 ]'
spreg put "$tmp/mailer.yaml"
check "put a vendor with two purposes, narrower at its location" '[ $rc -eq 0 ]'
spreg list --purpose marketing
check "list --purpose marketing: its descendants' vendors (ads, email; the sample's too)" \
	'[ $rc -eq 0 ] && [ "$(ids | tr "\n" " ")" = "ads-network brevo google-ads intercom mailchimp mailer meta-ads " ]'
spreg list --purpose marketing.advertising.third_party
check "list --purpose of a leaf: only those vendors" \
	'[ $rc -eq 0 ] && has_id ads-network && ! has_id mailer'
spreg list --purpose essential.service.notifications
check "list --purpose of another branch" '[ $rc -eq 0 ] && has_id mailer && ! has_id ads-network'
spreg list --purpose marketing.nope
check "list --purpose unknown: exit 3 naming purpose" '[ $rc -eq 3 ] && err_has "INVALID_ARGUMENT: purpose: "'
spreg list --kind controller
check "list --kind controller: the ad networks (the sample's meta-ads too)" \
	'[ $rc -eq 0 ] && [ "$(ids | tr "\n" " ")" = "ads-network meta-ads " ]'
spreg list --kind subprocessor
check "list --kind subprocessor: the default, every other vendor" \
	'[ $rc -eq 0 ] && has_id mailer && has_id stripe && ! has_id ads-network'
spreg list --kind partner
check "list --kind unknown: exit 3 naming kind" '[ $rc -eq 3 ] && err_has "INVALID_ARGUMENT: kind: "'
spreg get ads-network
check "get shows kind and data_uses" \
	'[ $rc -eq 0 ] && out_has "^kind: controller$" && out_has "^data_uses: marketing.advertising.third_party$"'
printf 'id: leen\nname: Leen\nservices: [app]\nregime: EU\n' >"$tmp/leen.yaml"
printf 'id: other\nname: Other\nservices: [app]\nregime: EU\n' >"$tmp/other.yaml"
spreg customer put "$tmp/leen.yaml"
spreg customer put "$tmp/other.yaml"
printf '%s\n' 'id: llm-provider' 'name: LLM Provider' 'services: [app]' \
	'data_categories: [user.content.private]' 'data_uses: [essential.service.operations]' \
	'locations: [{country: US, role: processing, data_uses: [essential.service.operations.support]}]' \
	'kind: customer_selected' 'effective_from: "2026-01-01"' >"$tmp/llm.yaml"
spreg put "$tmp/llm.yaml"
check "customer_selected without customer: exit 3 naming customer" \
	'[ $rc -eq 3 ] && err_has "INVALID_ARGUMENT: customer: required"'
spreg get llm-provider
check "... and nothing written" '[ $rc -eq 2 ]'
echo "customer: nobody" >>"$tmp/llm.yaml"
spreg put "$tmp/llm.yaml"
check "customer_selected for an unknown customer: exit 3" '[ $rc -eq 3 ] && err_has "customer: no customer"'
sed -i 's/^customer: nobody/customer: leen/' "$tmp/llm.yaml"
spreg put "$tmp/llm.yaml"
check "customer_selected for leen: written, from today, without --emergency (owed no notice)" '[ $rc -eq 0 ]'
sed 's/^data_uses: .*/data_uses: [nonsense.use]/' "$tmp/llm.yaml" >"$tmp/bad-use.yaml"
spreg put "$tmp/bad-use.yaml"
check "an unknown data use: exit 3 naming data_uses[0]" '[ $rc -eq 3 ] && err_has "INVALID_ARGUMENT: data_uses\[0\]: "'
spreg list --customer leen
check "in its customer's view" '[ $rc -eq 0 ] && has_id llm-provider'
spreg list --customer other
check "never in another customer's view" '[ $rc -eq 0 ] && ! has_id llm-provider && has_id google-workspace'
spreg export --subprocessors --output "$tmp/pub.csv"
check "never on the public list, which carries kind and data_uses" \
	'[ $rc -eq 0 ] && ! grep -q llm-provider "$tmp/pub.csv" && head -1 "$tmp/pub.csv" | grep -q "\"kind\",\"data_uses\"" && grep -q "^\"ads-network\".*\"controller\",\"marketing.advertising.third_party\"" "$tmp/pub.csv"'
spreg export --subprocessors --customer leen --output "$tmp/pub-leen.csv"
check "but on its customer's own list" '[ $rc -eq 0 ] && grep -q llm-provider "$tmp/pub-leen.csv"'
spreg list --purpose essential.service.operations --kind customer_selected
check "filters combine: purpose and kind" '[ $rc -eq 0 ] && [ "$(out_lines)" -eq 2 ] && has_id llm-provider'

# ---- fourth parties: a vendor's own subprocessors ---------------------------

spreg list --fourth-party aws
check "list --fourth-party aws: the sample's vendors that depend on AWS" \
	'[ $rc -eq 0 ] && [ "$(ids | tr "\n" " ")" = "help-scout intercom " ]'
spreg list --fourth-party aws --as-of 2026-01-01
check "... as of a past day too (the records then)" '[ $rc -eq 0 ] && has_id help-scout && has_id intercom'
spreg list --fourth-party mailgun --service support
check "... combined with another filter" '[ $rc -eq 0 ] && [ "$(ids)" = help-scout ]'
spreg list --fourth-party 'AWS!'
check "list --fourth-party with a bad id: exit 3 naming fourth_party" \
	'[ $rc -eq 3 ] && err_has "INVALID_ARGUMENT: fourth_party: "'
spreg get help-scout
check "get shows each fourth party, its countries, source and date" \
	'[ $rc -eq 0 ] && out_has "^fourth_party: aws Amazon Web Services in US confirmed 2026-11-02 source https://www.helpscout.com/company/legal/subprocessors/$"'
spreg get intercom --yaml
cp "$tmp/out" "$tmp/intercom.yaml"
spreg put "$tmp/intercom.yaml"
check "get --yaml with fourth parties reads back unchanged" '[ $rc -eq 0 ] && out_has "^unchanged intercom"'
# bad_fp SED FIELD: intercom with SED applied to its fourth party is
# refused naming FIELD.
bad_fp() {
	local want=$2
	sed "$1" "$tmp/intercom.yaml" >"$tmp/bad-fp.yaml"
	spreg put "$tmp/bad-fp.yaml"
	check "a bad fourth party: exit 3 naming $want" '[ $rc -eq 3 ] && err_has "INVALID_ARGUMENT: $want"'
}
bad_fp 's|countries: \[IE, US\]|countries: [IE, XX]|' 'fourth_parties\[0\].countries\[1\]: .XX. is not an ISO'
bad_fp 's|confirmed_on: "2026-10-15"|confirmed_on: "2026-13-01"|' 'fourth_parties\[0\].confirmed_on: '
bad_fp 's|^- id: aws|- id: AWS|' 'fourth_parties\[0\].id: '
bad_fp 's|source: https://www.intercom.com/legal/security-third-parties|source: ""|' 'fourth_parties\[0\].source: required'
bad_fp 's|^  name: Amazon Web Services|  name: ""|' 'fourth_parties\[0\].name: required'
spreg get intercom --json
check "... and nothing changed" '[ $rc -eq 0 ] && grep -q "\"revision\": *\"*1\"*," "$tmp/out"'
spreg assess --subprocessor intercom
check "assess flags the onward transfers to the fourth parties' countries, not judged" \
	'[ $rc -eq 0 -o $rc -eq 5 ] && out_has "^Onward transfers" && grep -q "^intercom  *aws  *US  *yes  *2026-10-15" "$tmp/out" && grep -q "^intercom  *aws  *IE  *no " "$tmp/out"'

printf '%s\n' 'id: adnet' 'name: Ad Network' 'services: [app]' 'data_categories: [user.device.cookie_id]' \
	'data_uses: [marketing.advertising.third_party]' 'locations: [{country: US, role: processing}]' >"$tmp/adnet.yaml"
spreg put "$tmp/adnet.yaml"
check "a new subprocessor for app without notice: refused (notice owed)" '[ $rc -eq 3 ] && err_has "FAILED_PRECONDITION"'
echo "kind: controller" >>"$tmp/adnet.yaml"
spreg put "$tmp/adnet.yaml"
check "the same as an independent controller: no Art. 28(2) notice owed" '[ $rc -eq 0 ]'

# ---- the server's page size, never ours --------------------------------------

spregd_start small --max-page 50
spreg --server "ipc://$tmp/small.ipc" --token-file "$tmp/small/admin.token" list
check "list against --max-page 50: every vendor" '[ $rc -eq 0 ] && [ "$(out_lines)" -eq 27 ]'
spreg changes --server "ipc://$tmp/small.ipc" --token-file "$tmp/small/admin.token"
check "changes against --max-page 50: the whole log, 27 entries and a header" '[ $rc -eq 0 ] && [ "$(out_lines)" -ge 28 ]'
spreg assess --server "ipc://$tmp/small.ipc" --token-file "$tmp/small/admin.token"
check "assess against --max-page 50" '[ $rc -eq 5 ] && out_has "in 26 subprocessor(s)"'
spreg export --format jsonl --server "ipc://$tmp/small.ipc" --token-file "$tmp/small/admin.token"
check "export against --max-page 50" '[ $rc -eq 0 ] && [ "$(out_lines)" -gt 24 ]'
spregd_stop small
spregd_start tiny --max-page 5
spreg list --json --server "ipc://$tmp/tiny.ipc" --token-file "$tmp/tiny/admin.token"
check "list against --max-page 5: 26 vendors over six pages" '[ $rc -eq 0 ] && [ "$(out_lines)" -eq 26 ]'
spreg changes --json --server "ipc://$tmp/tiny.ipc" --token-file "$tmp/tiny/admin.token"
check "changes against --max-page 5: the whole log" '[ $rc -eq 0 ] && [ "$(out_lines)" -ge 27 ]'
spreg diff 2020-01-01 2027-02-01 --server "ipc://$tmp/tiny.ipc" --token-file "$tmp/tiny/admin.token"
check "diff against --max-page 5" '[ $rc -eq 0 ] && out_has "^added  *brevo "'
spregd_stop tiny

finish
