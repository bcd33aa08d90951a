#!/usr/bin/env bash
# spreg import against real spregd processes: the sample registry
# exported as the import CSV and as a Fides data map, imported into empty
# servers, gives back the same registry field by field; a CSV quoted the
# way LibreOffice writes it; --dry-run changes nothing; each bad input
# (unknown column, bad country, renamed and unknown fideslang keys, a
# file that is not what its name says, a vendor the server refuses) is
# listed with its file and line, and nothing is imported (the change
# log's last seq does not move). Under AddressSanitizer a leak turns an
# exit status into 23, so the exit-code checks also catch leaks.
set -euo pipefail

. "$SPREG_SOURCE/tests/support/cli.sh"
PY=/usr/bin/python3
# on NAME: the following spreg calls go to server NAME.
on() { spregd_use "$1"; }
last_seq() { "$SPREG_BIN" info --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("last_seq", 0))'; }
# start NAME [spregd options]: a server in its own folder, on ipc://.
start() { SPREGD_WAIT=20 spregd_start "$@"; }

start sample
start empty1 --no-sample
start empty2 --no-sample
start empty3 --no-sample

# same A B: the registries of servers A and B hold the same vendors with
# the same fields (all but those the server sets on each write).
same() {
	"$SPREG_BIN" --server "ipc://$tmp/$1.ipc" --token-file "$tmp/$1/admin.token" \
		list --json >"$tmp/$1.jsonl"
	"$SPREG_BIN" --server "ipc://$tmp/$2.ipc" --token-file "$tmp/$2/admin.token" \
		list --json >"$tmp/$2.jsonl"
	"$PY" - "$tmp/$1.jsonl" "$tmp/$2.jsonl" "${SAME_MIN:-20}" >>"$tmp/err" 2>&1 <<'EOF'
import json, sys
def load(path):
    vendors = {}
    for line in open(path):
        v = json.loads(line)
        for server_set in ("revision", "updated_at", "updated_by"):
            v.pop(server_set, None)
        vendors[v["id"]] = v
    return vendors
a, b = load(sys.argv[1]), load(sys.argv[2])
assert len(a) >= int(sys.argv[3]), "only %d vendors" % len(a)
assert a.keys() == b.keys(), sorted(set(a) ^ set(b))
for vid in a:
    for field in set(a[vid]) | set(b[vid]):
        assert a[vid].get(field) == b[vid].get(field), \
            "%s.%s: %r != %r" % (vid, field, a[vid].get(field), b[vid].get(field))
EOF
}

# ---- round trips ----------------------------------------------------------

on sample
spreg export --format registry-csv --output "$tmp/registry.csv"
check "export --format registry-csv writes the import CSV" \
	'[ $rc -eq 0 ] && head -n 1 "$tmp/registry.csv" | grep -q "^\"id\",\"name\",\"legal_entity\""'
spreg import --csv-template
check "--csv-template prints the header the export writes" \
	'[ $rc -eq 0 ] && [ "$(tr -d "\"" <"$tmp/registry.csv" | head -n 1)" = "$(head -n 1 "$tmp/out")" ]'
spreg export --format fides --output "$tmp/registry.yaml"
check "export --format fides writes fideslang systems" \
	'[ $rc -eq 0 ] && head -n 1 "$tmp/registry.yaml" | grep -q "^system:" && grep -q "privacy_declarations:" "$tmp/registry.yaml" && grep -q "data_use: essential.service" "$tmp/registry.yaml"'
check "the Fides systems name their countries for Fides tools (alpha-3)" \
	'grep -q "^  third_country_transfers: \[USA, IRL\]" "$tmp/registry.yaml"'

# The sample's customer-selected vendor (openai) needs its customer
# (northwind) where it goes: the customer first, as the sample has it.
/usr/bin/python3 -c 'import json, sys; json.dump(json.load(open(sys.argv[1]))[0], sys.stdout)' \
	"$SPREG_SOURCE/data/sample-customers.json" >"$tmp/northwind.json"
on empty1
spreg import "$tmp/registry.csv"
check "without the sample's customer, its customer-selected vendor is refused naming the field" \
	'[ $rc -eq 3 ] && err_has "subprocessor .openai.: INVALID_ARGUMENT: customer: no customer .northwind." && [ "$(last_seq)" = 0 ]'
spreg customer put "$tmp/northwind.json"
spreg import "$tmp/registry.csv" --dry-run
check "with it, a dry run plans to create every vendor and writes nothing" \
	'[ $rc -eq 0 ] && out_has "dry run: 26 to create, 0 to change, 0 unchanged; nothing written" && [ "$(last_seq)" = 1 ]'
spreg import "$tmp/registry.csv"
check "the CSV imports into an empty server" \
	'[ $rc -eq 0 ] && out_has "^imported 26: 26 created, 0 changed, 0 unchanged"'
check "exported as CSV and imported, the registry is the same, field by field" \
	'same sample empty1'
spreg import "$tmp/registry.csv"
check "importing it again changes nothing" \
	'[ $rc -eq 0 ] && out_has "^imported 26: 0 created, 0 changed, 26 unchanged" && [ "$(last_seq)" = 27 ]'

on empty2
spreg customer put "$tmp/northwind.json"
spreg import "$tmp/registry.yaml"
check "the Fides data map imports into an empty server, data uses mapped" \
	'[ $rc -eq 0 ] && out_has "^imported 26: 26 created" && ! err_has "not mapped: privacy_declarations\[\].data_use" && err_has "not mapped: privacy_declarations\[\].data_subjects"'
check "exported as Fides and imported, the registry is the same, field by field" \
	'same sample empty2'
check "purposes and kinds travel in both: the CSV's columns, Fides' declarations" \
	'"$PY" -c "
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1], newline=\"\")) if r[\"id\"] == \"meta-ads\"]
assert len(rows) == 2, rows
for r in rows:
    assert r[\"data_uses\"] == \"marketing.advertising.third_party.targeted; analytics.reporting.ad_performance\", r
    assert (r[\"kind\"], r[\"customer\"]) == (\"controller\", \"\"), r
" "$tmp/registry.csv" >>"$tmp/err" 2>&1 && grep -q "data_use: marketing.advertising.third_party.targeted" "$tmp/registry.yaml" && grep -q "kind: controller" "$tmp/registry.yaml"'

# ---- a customer's own vendor, both ways ------------------------------------

# It needs its customer on the server it goes to (and no notice: no
# --emergency): the customer first, then the import.
start own --no-sample
start owncsv --no-sample
start ownfides --no-sample
printf 'id: leen\nname: Leen\nservices: [app]\nregime: EU\n' >"$tmp/leen.yaml"
cat >"$tmp/own.yaml" <<'YAML'
- id: llm-provider
  name: LLM Provider
  services: [app]
  data_categories: [user.content.private]
  data_uses: [essential.service.operations, train_ai_system]
  locations:
    - {country: US, role: processing, data_uses: [essential.service.operations]}
  kind: customer_selected
  customer: leen
- id: no-purpose
  name: No Purpose
  kind: affiliate
  locations: [{country: DE, role: hosting}]
YAML
for name in own owncsv ownfides; do
	on "$name"
	spreg customer put "$tmp/leen.yaml"
done
on own
spreg import "$tmp/own.yaml"
check "a customer-selected vendor and an affiliate without purposes import" '[ $rc -eq 0 ] && out_has "^imported 2: 2 created"'
spreg export --format registry-csv --output "$tmp/own.csv"
spreg export --format fides --output "$tmp/own-fides.yaml"
check "... and export as CSV and Fides" '[ $rc -eq 0 ] && grep -q "\"customer_selected\",\"leen\",\"essential.service.operations\"" "$tmp/own.csv" && grep -q "^\"no-purpose\",.*\"\",\"affiliate\",\"\",\"\"" "$tmp/own.csv"'
on owncsv
spreg import "$tmp/own.csv"
check "its CSV imports where its customer is" '[ $rc -eq 0 ] && out_has "^imported 2: 2 created"'
check "... the same, field by field: data uses (the location's too), kind, customer" 'SAME_MIN=2 same own owncsv'
on ownfides
spreg import "$tmp/own-fides.yaml"
check "its Fides map imports where its customer is" '[ $rc -eq 0 ] && out_has "^imported 2: 2 created"'
check "... the same, field by field (no purpose stays none)" 'SAME_MIN=2 same own ownfides'
on empty3
spreg import "$tmp/own.csv"
check "without its customer there, it is refused naming the field" \
	'[ $rc -eq 3 ] && err_has "customer: no customer .leen."'

# ---- any text in a cell of records, both ways -------------------------------

# Fields holding ';', line breaks, tabs, quotes (one leading), blanks at
# either end: the export quotes them, the import gives them back.
start odd --no-sample
start oddcsv --no-sample
on odd
cat >"$tmp/odd.json" <<'EOF'
[{"id": "odd", "name": "Odd", "locations": [{"country": "DE", "role": "hosting"}],
  "safeguards": [{"mechanism": "eu-scc-2021-m3", "regime": "EU", "signed_on": "2023-01-02",
    "document_ref": "DPA; rev. \"2\"", "tia_ref": "  TIA-7  "}],
  "fourth_parties": [
    {"id": "aws", "name": "Amazon; Web \"Services\"", "legal_entity": "\"Quoted\" Ltd ",
     "countries": ["US", "IE"], "purpose": "Hosting;\n\tsecond line; \"q\"\nthird ",
     "source": "https://example.com/list;v=2", "confirmed_on": "2026-11-02"},
    {"id": "plain", "name": "Plain", "countries": ["DE"], "source": "DPA annex 3", "confirmed_on": "2026-10-01"}]}]
EOF
spreg import "$tmp/odd.json"
check "a vendor whose fourth parties and safeguard hold ';', line breaks and quotes" '[ $rc -eq 0 ]'
spreg export --format registry-csv --output "$tmp/odd.csv"
check "... exports as the import CSV, the odd fields quoted in their cell" \
	'[ $rc -eq 0 ] && grep -qF "aws;\"\"Amazon; Web \"\"\"\"Services\"\"\"\"\"\";" "$tmp/odd.csv"'
on oddcsv
spreg import "$tmp/odd.csv"
check "... imports from it" '[ $rc -eq 0 ] && out_has "^imported 1: 1 created"'
check "... the same, field by field: every character of every field" 'SAME_MIN=1 same odd oddcsv'
printf 'id,name,fourth_parties\nodd,Odd,"aws;""Amazon;US"\nodd2,Odd,"""aws"" x;Amazon"\n' >"$tmp/open-quote.csv"
spreg import "$tmp/open-quote.csv"
check "a quote left open, or text after a closing one: refused naming the column" \
	'[ $rc -ne 0 ] && err_has "fourth_parties: a quoted field is not closed" && err_has "fourth_parties: text after a quoted field"'

# ---- the put form: a JSON array, a stream of YAML documents -----------------

on empty3
cat >"$tmp/two.json" <<'EOF'
[
  {"id": "deepl", "name": "DeepL", "data_categories": ["user.content.private"],
   "locations": [{"country": "de", "role": "processing"}]},
  {"id": "lokalise", "name": "Lokalise", "locations": [{"country": "US", "role": "processing"}]}
]
EOF
spreg import "$tmp/two.json"
check "a JSON array of subprocessors imports (country codes in any case)" \
	'[ $rc -eq 0 ] && out_has "^created deepl revision 1" && out_has "^created lokalise revision 1"'
cat >"$tmp/docs.yaml" <<'EOF'
id: deepl
name: DeepL SE
data_categories: [user.content.private]
locations: [{country: DE, role: processing}]
---
id: crowdin
name: Crowdin
locations: [{country: EE, role: processing}]
EOF
spreg import "$tmp/docs.yaml" --dry-run
check "a dry run says what would be created, changed or left alone" \
	'[ $rc -eq 0 ] && out_has "^would be changed: deepl" && out_has "^would be created: crowdin" && out_has "1 to create, 1 to change, 0 unchanged"'
seq_before=$(last_seq)
check "the dry run changed nothing (log seq unchanged, vendor not created)" \
	'[ "$seq_before" = 2 ] && ! "$SPREG_BIN" get crowdin >/dev/null 2>&1'

# ---- a CSV as LibreOffice writes it ----------------------------------------

# A BOM, CRLF line ends, quoted fields with commas, doubled quotes and a
# line break, lists with ", ", a blank row, the columns in another order.
printf '\xef\xbb\xbfname,id,purpose,country,location_role,data_categories,safeguards\r\n' >"$tmp/lo.csv"
printf '"Acme, ""the"" Corp.",acme,"Ticket triage,\r\nsecond line",FR,processing,"user.name, user.contact.email","eu-scc-2021-m3;EU;2023-01-02;;DOC ""7"", rev. 2"\r\n' >>"$tmp/lo.csv"
printf ',,,,,,\r\n' >>"$tmp/lo.csv"
printf ',acme,,US,support,,\r\n' >>"$tmp/lo.csv"
spreg import "$tmp/lo.csv"
check "a LibreOffice-quoted CSV imports" '[ $rc -eq 0 ] && out_has "^created acme revision 1"'
"$SPREG_BIN" get acme --json >"$tmp/acme.json"
check "its quoted commas, doubled quotes and line break arrive intact" \
	'"$PY" -c "
import json, sys
v = json.load(open(sys.argv[1]))
assert v[\"name\"] == \"Acme, \\\"the\\\" Corp.\", v[\"name\"]
assert v[\"purpose\"] == \"Ticket triage,\nsecond line\", repr(v[\"purpose\"])
assert v[\"data_categories\"] == [\"user.name\", \"user.contact.email\"], v
assert [(l[\"country\"], l[\"role\"]) for l in v[\"locations\"]] == [(\"FR\", \"processing\"), (\"US\", \"support\")], v
assert v[\"safeguards\"][0][\"document_ref\"] == \"DOC \\\"7\\\", rev. 2\", v
" "$tmp/acme.json" >>"$tmp/err" 2>&1'

# ---- bad input: every problem with its line, nothing imported --------------

seq_before=$(last_seq)
printf 'id,name,colour,country\r\nnewco,NewCo,red,DE\r\n' >"$tmp/unknown-column.csv"
spreg import "$tmp/unknown-column.csv"
check "an unknown column is refused naming file, line and column" \
	'[ $rc -eq 1 ] && err_has "unknown-column.csv:1: unknown column .colour." && err_has "nothing imported"'

printf 'id,name,country,location_role\r\nnewco,NewCo,DE,hosting\r\nnewco,NewCo,XX,hosting\r\nother,Other,USA,hosting\r\n' >"$tmp/bad-country.csv"
spreg import "$tmp/bad-country.csv"
check "rows with bad countries are each listed with their line" \
	'[ $rc -eq 1 ] && err_has "bad-country.csv:3: country: .XX. is not an ISO 3166-1 alpha-2 code" && err_has "bad-country.csv:4: country: .USA." && err_has "2 problems; nothing imported"'

cat >"$tmp/fides-old.yaml" <<'EOF'
system:
  - fides_key: old_mailer
    name: Old Mailer
    description: Newsletters
    egress:
      - fides_key: crm
        type: system
    privacy_declarations:
      - name: Mail
        data_use: marketing.communications
        data_categories:
          - user.provided.identifiable.contact.email
          - user.name
    third_country_transfers: [USA]
EOF
spreg import "$tmp/fides-old.yaml"
check "a renamed fideslang key is mapped through replaced_by and said" \
	'[ $rc -eq 0 ] && err_has "fides-old.yaml:12: data category .user.provided.identifiable.contact.email. is fideslang.s former key for .user.contact.email. (replaced_by)" && err_has "fides-old.yaml:[0-9]*: not mapped: egress" && out_has "^created old-mailer"'
"$SPREG_BIN" get old-mailer --json >"$tmp/old.json"
check "the Fides system arrives mapped (key, name, purpose, categories, data use, countries)" \
	'"$PY" -c "
import json, sys
v = json.load(open(sys.argv[1]))
assert v[\"name\"] == \"Old Mailer\" and v[\"purpose\"] == \"Newsletters\", v
assert v[\"data_categories\"] == [\"user.contact.email\", \"user.name\"], v
assert [l[\"country\"] for l in v[\"locations\"]] == [\"US\"], v
assert v[\"data_uses\"] == [\"marketing.communications\"], v
" "$tmp/old.json" >>"$tmp/err" 2>&1'

seq_before=$(last_seq)
cat >"$tmp/fides-unknown.yaml" <<'EOF'
system:
  - fides_key: newco
    name: NewCo
    privacy_declarations:
      - data_use: essential.service
        data_categories: [user.name]
  - fides_key: strange
    name: Strange
    privacy_declarations:
      - data_use: essential.service
        data_categories:
          - user.name
          - user.telepathy.thoughts
EOF
spreg import "$tmp/fides-unknown.yaml"
check "an unknown fideslang key is refused naming file, line and key; nothing imported" \
	'[ $rc -eq 1 ] && err_has "fides-unknown.yaml:13: unknown data category .user.telepathy.thoughts." && [ "$(last_seq)" = "$seq_before" ] && ! "$SPREG_BIN" get newco >/dev/null 2>&1'

cat >"$tmp/fides.json" <<'EOF'
{
  "system": [
    {"fides_key": "json_one", "name": "One",
     "privacy_declarations": [{"data_categories": ["user.name"], "data_use": "essential.service"}]},
    {"fides_key": "json_two", "name": "Two",
     "privacy_declarations": [{"data_categories": ["user.nope"], "data_use": "essential.service"}]}
  ]
}
EOF
spreg import "$tmp/fides.json"
check "a Fides map in JSON: a problem names the line of its system" \
	'[ $rc -eq 1 ] && err_has "fides.json:5: unknown data category .user.nope." && ! "$SPREG_BIN" get json-one >/dev/null 2>&1'
cat >"$tmp/commented.yaml" <<'EOF'
# Vendors, from the 2026 review, checked by legal
- id: commented
  name: Commented
EOF
spreg import "$tmp/commented.yaml" --dry-run
check "a YAML list after a comment with commas is YAML, not CSV" \
	'[ $rc -eq 0 ] && out_has "would be created: commented"'

cp "$tmp/registry.csv" "$tmp/not-json.json"
spreg import "$tmp/not-json.json"
check "a CSV named .json is refused" \
	'[ $rc -eq 1 ] && err_has "not-json.json:1: this is not JSON: it looks like CSV"'
cp "$tmp/registry.yaml" "$tmp/not-csv.csv"
spreg import "$tmp/not-csv.csv"
check "YAML named .csv is refused" \
	'[ $rc -eq 1 ] && err_has "not-csv.csv:1: this is not CSV: it looks like YAML"'
head -c 512 /dev/urandom >"$tmp/binary.csv"
printf '\xff\xfe' >>"$tmp/binary.csv"
spreg import "$tmp/binary.csv"
check "a binary file is refused" '[ $rc -eq 1 ] && err_has "binary.csv: not UTF-8 text"'
printf 'id,name\r\nx,y\r\n' >"$tmp/vendors.txt"
spreg import "$tmp/vendors.txt"
check "a name that tells no format is a usage error" \
	'[ $rc -eq 1 ] && err_has "must end in .json, .yaml, .yml or .csv"'

# Problems only the server sees: a mechanism it does not know, a notice
# it would not give. Each is listed with its line; nothing is written,
# not even the vendors that were fine.
printf 'id,name,country,location_role,safeguards\r\nfine-1,Fine,DE,hosting,\r\nbad-1,Bad,US,hosting,no-such-mechanism;EU\r\nbad-2,Bad,US,hosting,\r\nbad-2,Bad,FR,nowhere,\r\n' >"$tmp/server-refuses.csv"
spreg import "$tmp/server-refuses.csv"
check "vendors the server would refuse are each listed with their line (exit 3)" \
	'[ $rc -eq 3 ] && err_has "server-refuses.csv:3: subprocessor .bad-1.: INVALID_ARGUMENT: safeguards\[0\]" && err_has "server-refuses.csv:5: subprocessor .bad-2.: INVALID_ARGUMENT: locations\[1\].role" && err_has "would refuse 2 subprocessors; nothing imported"'
check "all or nothing: the vendor that was fine is not written, the log did not move" \
	'[ "$(last_seq)" = "$seq_before" ] && ! "$SPREG_BIN" get fine-1 >/dev/null 2>&1'

printf 'id,name\r\ntwice,One\r\ntwice,Two\r\n' >"$tmp/differs.csv"
spreg import "$tmp/differs.csv"
check "rows of one vendor that disagree are refused with both lines" \
	'[ $rc -eq 1 ] && err_has "differs.csv:3: name: differs from an earlier row of vendor .twice. (line 2)"'
printf 'id,name\r\n"open,quote\r\n' >"$tmp/unclosed.csv"
spreg import "$tmp/unclosed.csv"
check "a quote left open is refused with its line" \
	'[ $rc -eq 1 ] && err_has "unclosed.csv:2: CSV"'
printf '[{"id": "dup", "name": "A"},\n {"id": "dup", "name": "B"}]\n' >"$tmp/dup.json"
spreg import "$tmp/dup.json"
check "one id twice is refused with both lines" \
	'[ $rc -eq 1 ] && err_has "dup.json:2: id .dup. is given again (first on line 1)"'
check "after every refused file the log has not moved" '[ "$(last_seq)" = "$seq_before" ]'

spreg import --help
check "import --help" '[ $rc -eq 0 ] && out_has "usage: spreg import FILE"'

finish
