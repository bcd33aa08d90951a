#!/usr/bin/env bash
# spreg export against a real spregd (sample registry): every format read
# back with readers we did not write (Python's csv, json and openpyxl),
# hostile text round-tripping exactly and never becoming a formula,
# byte-identical exports for the same as_of and seq, the log head hash they
# name (the one `spreg verify` reports), and the typed errors
# (exit 1 usage, 3 server error). Under AddressSanitizer a leak turns an
# exit status into 23, so the exit-code checks also catch leaks.
set -euo pipefail

: "${SPREG_SOURCE:?source root}"
. "$SPREG_SOURCE/tests/support/cli.sh"

# Debian's python3 with python3-openpyxl (another python3 may come first
# on PATH).
PY=/usr/bin/python3
"$PY" -c 'import openpyxl' || { echo "python3-openpyxl is not installed"; exit 1; }

# py CODE ARGS...: runs Python code with the arguments; fails the check
# on any exception.
py() { local code=$1; shift; "$PY" -c "$code" "$@" >>"$tmp/err" 2>&1; }

spregd_start var
spregd_use var

# The registry as the tests know it, for comparing with the exports.
"$SPREG_BIN" list --json >"$tmp/registry.jsonl"

# ---- a vendor with hostile text -------------------------------------------

cat >"$tmp/hostile.json" <<'EOF'
{
  "id": "zz-hostile",
  "name": "=HYPERLINK(\"http://x\",\"y\")",
  "legal_entity": "+Müller, \"Trust\" & Söhne GmbH",
  "purpose": "Tokyo 東京, \"quoted\", commas,\nsecond line ü; -1+2 @user",
  "website": "https://example.com",
  "services": ["app"],
  "data_categories": ["user.contact.email", "user.name"],
  "locations": [{"country": "JP", "role": "hosting",
    "out_of_adequacy_scope": true}],
  "safeguards": [{"mechanism": "eu-scc-2021-m2", "regime": "EU",
    "signed_on": "2024-01-10", "document_ref": "@DPA-1",
    "tia_ref": "-TIA,1"}],
  "status": "active",
  "effective_from": "2024-01-01"
}
EOF
spreg put "$tmp/hostile.json"
check "put the hostile vendor" '[ $rc -eq 0 ]'
"$SPREG_BIN" list --json >"$tmp/registry.jsonl"

# ---- CSV --------------------------------------------------------------------

spreg export --as-of 2026-11-23 --output "$tmp/t.csv"
check "export csv exits 0 and writes FILE and FILE.meta.json, nothing else" \
	'[ $rc -eq 0 ] && [ -s "$tmp/t.csv" ] && [ -s "$tmp/t.csv.meta.json" ] && [ -z "$(ls "$tmp" | grep tmp-)" ]'
check "csv: RFC 4180 shape (CRLF, header), rows match the registry" 'py "
import csv, json, sys
raw = open(sys.argv[1], \"rb\").read()
assert raw.endswith(b\"\\r\\n\")
rows = list(csv.reader(open(sys.argv[1], newline=\"\", encoding=\"utf-8\")))
hdr = rows[0]
assert hdr[:4] == [\"subprocessor_id\", \"subprocessor_name\", \"legal_entity\", \"purpose\"], hdr
for col in (\"country\", \"country_name\", \"location_role\", \"data_category\", \"data_category_name\", \"special_category\", \"mechanism\", \"mechanism_name\", \"signed_on\", \"expires_on\", \"document_ref\", \"tia_ref\", \"verdict\", \"reason\", \"as_of\"):
    assert col in hdr, col
body = [dict(zip(hdr, r)) for r in rows[1:]]
meta = json.load(open(sys.argv[1] + \".meta.json\"))
assert meta[\"rows\"] == len(body), (meta[\"rows\"], len(body))
assert meta[\"as_of\"] == \"2026-11-23\" and meta[\"at_seq\"] > 0
import hashlib
assert meta[\"sha256\"] == hashlib.sha256(raw).hexdigest()
# deterministic order: id, country, category
keys = [(r[\"subprocessor_id\"], r[\"country\"], r[\"data_category\"]) for r in body]
assert keys == sorted(keys) and len(set(keys)) == len(keys)
reg = {json.loads(l)[\"id\"]: json.loads(l) for l in open(sys.argv[2])}
stripe = [r for r in body if r[\"subprocessor_id\"] == \"stripe\"]
assert stripe and all(r[\"subprocessor_name\"] == reg[\"stripe\"][\"name\"] for r in stripe)
assert {r[\"country\"] for r in stripe} == {l[\"country\"] for l in reg[\"stripe\"][\"locations\"]}
us = [r for r in stripe if r[\"country\"] == \"US\"][0]
assert us[\"country_name\"] == \"United States\" and us[\"verdict\"] in (\"ADEQUATE\", \"SAFEGUARDED\"), us
fs = [r for r in body if r[\"subprocessor_id\"] == \"fastspring\"]
assert fs and all(r[\"verdict\"] == \"INVALID\" for r in fs if r[\"country\"] == \"US\"), fs
onf = [r for r in body if r[\"data_category\"].startswith(\"user.biometric\")]
assert onf and all(r[\"special_category\"] == \"true\" for r in onf)
# vendors not in effect on the day have no rows
assert not [r for r in body if r[\"subprocessor_id\"] in (\"skype\", \"brevo\")]
" "$tmp/t.csv" "$tmp/registry.jsonl"'
check "csv: hostile text round-trips exactly after dropping the guard, never starts a formula" 'py "
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline=\"\", encoding=\"utf-8\")))
h = [r for r in rows if r[\"subprocessor_id\"] == \"zz-hostile\"]
assert len(h) == 2, h
src = json.load(open(sys.argv[2]))
def unguard(v):
    return v[1:] if v.startswith(\"\x27\") else v
for r in rows:
    for v in r.values():
        assert v == \"\" or v[0] not in \"=+-@\\t\\r\", v
for r in h:
    assert r[\"subprocessor_name\"] == \"\x27\" + src[\"name\"], r[\"subprocessor_name\"]
    assert unguard(r[\"subprocessor_name\"]) == src[\"name\"]
    assert unguard(r[\"legal_entity\"]) == src[\"legal_entity\"]
    assert r[\"purpose\"] == src[\"purpose\"]
    assert unguard(r[\"document_ref\"]) == \"@DPA-1\" and unguard(r[\"tia_ref\"]) == \"-TIA,1\"
    assert r[\"country_name\"] == \"Japan\"
" "$tmp/t.csv" "$tmp/hostile.json"'

# ---- JSON Lines -------------------------------------------------------------

spreg export --as-of 2026-11-23 --format jsonl --output "$tmp/t.jsonl"
check "jsonl: one object per row, same rows as csv, hostile text exact" '[ $rc -eq 0 ] && py "
import csv, json, sys
objs = [json.loads(l) for l in open(sys.argv[1], encoding=\"utf-8\")]
rows = list(csv.DictReader(open(sys.argv[2], newline=\"\", encoding=\"utf-8\")))
assert len(objs) == len(rows) > 0
assert [(o[\"subprocessor_id\"], o[\"country\"], o[\"data_category\"]) for o in objs] == [(r[\"subprocessor_id\"], r[\"country\"], r[\"data_category\"]) for r in rows]
assert isinstance(objs[0][\"special_category\"], bool) and isinstance(objs[0][\"services\"], list)
src = json.load(open(sys.argv[3]))
h = [o for o in objs if o[\"subprocessor_id\"] == \"zz-hostile\"]
assert h and all(o[\"subprocessor_name\"] == src[\"name\"] and o[\"purpose\"] == src[\"purpose\"] and o[\"legal_entity\"] == src[\"legal_entity\"] for o in h)
meta = json.load(open(sys.argv[1] + \".meta.json\"))
assert meta[\"rows\"] == len(objs) and meta[\"format\"] == \"jsonl\"
import hashlib
assert meta[\"sha256\"] == hashlib.sha256(open(sys.argv[1], \"rb\").read()).hexdigest()
" "$tmp/t.jsonl" "$tmp/t.csv" "$tmp/hostile.json"'

# ---- XLSX -------------------------------------------------------------------

spreg export --as-of 2026-11-23 --format xlsx --output "$tmp/t.xlsx"
check "xlsx: sheets, frozen header, filters, strings only, hostile text exact" '[ $rc -eq 0 ] && py "
import csv, json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
assert wb.sheetnames == [\"transfers\", \"subprocessors\", \"changes\", \"metadata\"], wb.sheetnames
rows = list(csv.reader(open(sys.argv[2], newline=\"\", encoding=\"utf-8\")))
ws = wb[\"transfers\"]
assert ws.max_row == len(rows), (ws.max_row, len(rows))
assert [c.value for c in ws[1]] == rows[0]
assert ws.freeze_panes == \"A2\" and ws.auto_filter.ref.startswith(\"A1:\")
for sheet in (\"transfers\", \"subprocessors\", \"changes\"):
    assert wb[sheet].freeze_panes == \"A2\" and wb[sheet].auto_filter.ref
src = json.load(open(sys.argv[3]))
hdr = rows[0]
found = 0
for row in ws.iter_rows(min_row=2):
    for c in row:
        assert c.value is None or c.data_type == \"s\", (c.coordinate, c.data_type, c.value)
    if row[0].value == \"zz-hostile\":
        found += 1
        assert row[hdr.index(\"subprocessor_name\")].value == src[\"name\"]
        assert row[hdr.index(\"purpose\")].value == src[\"purpose\"]
        assert row[hdr.index(\"legal_entity\")].value == src[\"legal_entity\"]
assert found == 2
# the same cells as the csv, apart from the csv guard
def unguard(v):
    return v[1:] if v.startswith(\"\x27\") else v
for i, row in enumerate(ws.iter_rows(min_row=2, max_row=30, values_only=True), start=1):
    assert [v or \"\" for v in row] == [unguard(v) for v in rows[i]], i
reg = [json.loads(l) for l in open(sys.argv[4])]
subs = wb[\"subprocessors\"]
ids = [r[0] for r in subs.iter_rows(min_row=2, values_only=True)]
assert \"stripe\" in ids and \"zz-hostile\" in ids and \"skype\" not in ids, ids
meta = {r[0]: r[1] for r in wb[\"metadata\"].iter_rows(min_row=2, values_only=True)}
m = json.load(open(sys.argv[1] + \".meta.json\"))
assert meta[\"as_of\"] == \"2026-11-23\" and int(meta[\"at_seq\"]) == m[\"at_seq\"]
assert meta[\"sha256\"] == json.load(open(sys.argv[2] + \".meta.json\"))[\"sha256\"]
assert meta[\"log_head_hash\"] == m[\"log_head_hash\"] and len(m[\"log_head_hash\"]) == 64, (meta, m)
ch = wb[\"changes\"]
assert ch.max_row - 1 == m[\"at_seq\"], (ch.max_row, m[\"at_seq\"])
assert wb.properties.title.startswith(\"spreg transfer records\")
" "$tmp/t.xlsx" "$tmp/t.csv" "$tmp/hostile.json" "$tmp/registry.jsonl"'

# ---- reproducible -----------------------------------------------------------

spreg export --as-of 2026-11-23 --output "$tmp/t2.csv" --page-size 1
check "same as_of and seq: byte-identical csv (other page size, later run)" \
	'[ $rc -eq 0 ] && cmp "$tmp/t.csv" "$tmp/t2.csv" && [ "$(py "import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); assert a[\"at_seq\"] == b[\"at_seq\"] and a[\"sha256\"] == b[\"sha256\"]" "$tmp/t.csv.meta.json" "$tmp/t2.csv.meta.json"; echo $?)" = 0 ]'
"$SPREG_BIN" export --as-of 2026-11-23 --format jsonl --page-size 7 >"$tmp/t2.jsonl"
check "same as_of and seq: byte-identical jsonl (to stdout)" 'cmp "$tmp/t.jsonl" "$tmp/t2.jsonl"'
spreg export --as-of 2020-01-15 --output "$tmp/old.csv"
check "another as_of gives other rows" \
	'[ $rc -eq 0 ] && ! cmp -s "$tmp/t.csv" "$tmp/old.csv" && grep -q "2020-01-15" "$tmp/old.csv" && ! grep -q "zz-hostile" "$tmp/old.csv"'

# ---- scopes -----------------------------------------------------------------

spreg export --as-of 2026-11-23 --regime UK --format jsonl
check "--regime UK: every row judged under UK" \
	'[ $rc -eq 0 ] && py "import json,sys; rs=[json.loads(l) for l in open(sys.argv[1])]; assert rs and all(r[\"regime\"] == \"UK\" for r in rs)" "$tmp/out"'
spreg export --as-of 2026-11-23 --country JP --format jsonl
check "--country JP: only vendors in Japan" \
	'[ $rc -eq 0 ] && py "import json,sys; rs=[json.loads(l) for l in open(sys.argv[1])]; assert {r[\"subprocessor_id\"] for r in rs} == {\"zz-hostile\"}, rs" "$tmp/out"'
spreg export --subprocessors --as-of 2026-11-23 --output "$tmp/public.csv"
check "--subprocessors: the public list, one row per vendor in effect" '[ $rc -eq 0 ] && py "
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline=\"\", encoding=\"utf-8\")))
ids = [r[\"subprocessor_id\"] for r in rows]
assert ids == sorted(ids) and \"stripe\" in ids and \"skype\" not in ids and \"brevo\" not in ids
for col in (\"name\", \"purpose\", \"countries\", \"data_categories\", \"safeguards\"):
    assert col in rows[0]
s = [r for r in rows if r[\"subprocessor_id\"] == \"stripe\"][0]
assert \"United States\" in s[\"country_names\"] and \"Ireland\" in s[\"country_names\"]
assert json.load(open(sys.argv[1] + \".meta.json\"))[\"kind\"] == \"subprocessors\"
m = [r for r in rows if r[\"subprocessor_id\"] == \"mailchimp\"]
assert not m or \"Privacy Shield\" not in m[0][\"safeguards\"], m
" "$tmp/public.csv"'

# ---- the log head -----------------------------------------------------------

# head_of VERIFY_OUT META...: every meta.json names the head `spreg verify`
# printed ("head: seq N hash HEX"), at the same seq, as 64 lowercase hex.
head_of='
import json, re, sys
line = [l for l in open(sys.argv[1]) if l.startswith("head: ")]
assert len(line) == 1, line
_, _, seq, _, head = line[0].split()
for f in sys.argv[2:]:
    meta = json.load(open(f))
    assert meta["at_seq"] == int(seq), (f, meta["at_seq"], seq)
    assert re.fullmatch("[0-9a-f]{64}", meta["log_head_hash"]), meta
    assert meta["log_head_hash"] == head, (f, meta["log_head_hash"], head)
'
# No write since the hostile vendor: every export above is at one seq.
spreg verify
cp "$tmp/out" "$tmp/verify.txt"
check "log_head_hash: the head spreg verify reports, the same in every export at that seq" \
	'[ $rc -eq 0 ] && py "$head_of" "$tmp/verify.txt" "$tmp/t.csv.meta.json" "$tmp/t2.csv.meta.json" "$tmp/t.jsonl.meta.json" "$tmp/t.xlsx.meta.json" "$tmp/old.csv.meta.json" "$tmp/public.csv.meta.json"'
head=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["log_head_hash"])' "$tmp/t.csv.meta.json")
check "log_head_hash is metadata only: not in the rows files" \
	'[ ${#head} -eq 64 ] && ! grep -q "$head" "$tmp/t.csv" "$tmp/t.jsonl"'
sed 's/"zz-hostile"/"zz-head"/' "$tmp/hostile.json" >"$tmp/head.json"
spreg put "$tmp/head.json"
check "put another vendor (a write)" '[ $rc -eq 0 ]'
spreg export --as-of 2026-11-23 --output "$tmp/t3.csv"
check "after a write, an export at the new seq" '[ $rc -eq 0 ]'
spreg verify
cp "$tmp/out" "$tmp/verify3.txt"
check "after a write: another seq and another head, the one spreg verify reports now" \
	'[ $rc -eq 0 ] && py "$head_of" "$tmp/verify3.txt" "$tmp/t3.csv.meta.json" && py "
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
assert b[\"at_seq\"] > a[\"at_seq\"] and b[\"log_head_hash\"] != a[\"log_head_hash\"], (a, b)
" "$tmp/t.csv.meta.json" "$tmp/t3.csv.meta.json"'

# ---- bad input ----------------------------------------------------------------

spreg export --format xml
check "unknown format exits 1 naming --format" '[ $rc -eq 1 ] && err_has "format" && [ ! -s "$tmp/out" ]'
spreg export --as-of 2026-02-30
check "as_of that does not parse exits 3 naming as_of" \
	'[ $rc -eq 3 ] && err_has "INVALID_ARGUMENT: as_of" && [ ! -s "$tmp/out" ]'
# As root a read-only folder is writable: /proc never is.
if [ "$(id -u)" -ne 0 ]; then
	mkdir "$tmp/ro"
	chmod a-w "$tmp/ro"
	spreg export --output "$tmp/ro/x.csv"
	check "unwritable folder exits 1 with a clear error and leaves no file" \
		'[ $rc -eq 1 ] && err_has "ro/x.csv" && [ -z "$(ls -A "$tmp/ro")" ]'
fi
spreg export --output /proc/spreg-export-test.csv
check "unwritable output exits 1 with a clear error" \
	'[ $rc -eq 1 ] && err_has "^spreg: --output /proc/spreg-export-test.csv: cannot create a file there: "'
mkdir "$tmp/adir"
spreg export --format xlsx --output "$tmp/adir"
check "failing to put the file in place exits 1 and leaves no temporary file" \
	'[ $rc -eq 1 ] && err_has "adir" && [ -z "$(ls "$tmp" | grep tmp-)" ] && [ -z "$(ls -A "$tmp/adir")" ]'
spreg export --output "$tmp/nodir/x.csv"
check "output in a missing folder exits 1" '[ $rc -eq 1 ] && err_has "nodir"'
spreg export --as-of 2026-02-30 --output "$tmp/bad.csv"
check "a server error leaves no file behind" \
	'[ $rc -eq 3 ] && [ -z "$(ls "$tmp" | grep -e "^bad\.csv")" ]'
spreg export --customer nobody-here
check "unknown customer exits 2" '[ $rc -eq 2 ] && err_has "NOT_FOUND"'
spreg export --customer a --regime EU
check "--customer with --regime exits 1" '[ $rc -eq 1 ]'
spreg export --format xlsx
check "xlsx without --output exits 1" '[ $rc -eq 1 ] && err_has "output"'
spreg export --regime XX
check "unknown regime exits 3 naming regime" '[ $rc -eq 3 ] && err_has "regime"'
spreg export --help
check "export --help" '[ $rc -eq 0 ] && grep -q "usage: spreg export" "$tmp/out"'

finish
