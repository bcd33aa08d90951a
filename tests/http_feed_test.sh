#!/usr/bin/env bash
# The Atom feed (GET /changes.atom) read by a real feed reader library,
# Debian's python3-feedparser: well-formed Atom 1.0, its entries the
# public changes of `spreg changes` newest first with ids from their
# seqs; a second request with the ETag (or Last-Modified) gets 304;
# after a write the feed has a new ETag and the change on top; a
# customer's objection and customer records never reach it. The JSON
# Feed beside each (changes.json), read by Python's json, holds the same
# entries, with the same ETag and 304.
set -euo pipefail

: "${SPREG_SOURCE:?source root}"
. "$SPREG_SOURCE/tests/support/cli.sh"

/usr/bin/python3 -c 'import feedparser' 2>/dev/null ||
	{ echo "python3-feedparser not installed (tools/debian-packages.txt)"; exit 77; }

SPREGD_HTTP=http://127.0.0.1:0 spregd_start main
http=$(sed -n 's/^http //p' "$tmp/main.ready" | head -n 1)
export SPREG_SERVER="ipc://$tmp/main.ipc"
export SPREG_TOKEN_FILE="$tmp/main/admin.token"

# reader [URL-PATH] [etag=E] [modified=M]: feedparser: the feed's facts as
# JSON in $tmp/feed.json (status, etag, modified, version, bozo, ids,
# titles, categories, the whole text).
reader() {
	local path=/changes.atom
	if [ $# -gt 0 ] && [[ $1 == /* ]]; then
		path=$1
		shift
	fi
	/usr/bin/python3 - "$http$path" "$tmp/feed.json" "$@" <<'PY'
import json, sys
import feedparser
url, out = sys.argv[1], sys.argv[2]
kw = {}
for arg in sys.argv[3:]:
    k, v = arg.split("=", 1)
    kw[k] = v
d = feedparser.parse(url, **kw)
json.dump({
    "status": d.get("status"), "etag": d.get("etag"),
    "modified": d.get("modified"), "version": d.get("version"),
    "bozo": d.get("bozo"), "feed_id": d.feed.get("id"),
    "updated": d.feed.get("updated"),
    "ids": [e.get("id") for e in d.entries],
    "titles": [e.get("title") for e in d.entries],
    "terms": [e.tags[0].term if e.get("tags") else "" for e in d.entries],
    "text": json.dumps(d.entries),
}, open(out, "w"))
PY
}
feed() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" "$tmp/feed.json"; }
fval() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$tmp/feed.json"; }

# jfeed PATH [ETAG]: the JSON Feed beside an Atom feed, by curl (with
# If-None-Match: ETAG): its body in $tmp/jbody, headers in $tmp/jhdr,
# status in $jstatus. jcheck EXPR: EXPR holds over d, the JSON Feed read
# by Python's json, and a, the facts of the Atom feed reader read last.
jfeed() {
	local inm=()
	[ -z "${2:-}" ] || inm=(-H "If-None-Match: $2")
	rm -f "$tmp/jbody"	# curl writes no file for an empty body
	jstatus=$(curl -sS --max-time 60 -o "$tmp/jbody" -D "$tmp/jhdr" \
		-w '%{http_code}' "${inm[@]}" "$http$1")
}
jcheck() {
	/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); a=json.load(open(sys.argv[2])); sys.exit(0 if ($1) else 1)" \
		"$tmp/jbody" "$tmp/feed.json"
}
# The JSON Feed holds the Atom feed's entries: ids, titles, kinds.
same_as_atom='d["version"] == "https://jsonfeed.org/version/1.1" and [i["id"] for i in d["items"]] == a["ids"] and [i["title"] for i in d["items"]] == a["titles"] and [i["tags"][0] for i in d["items"]] == a["terms"] and all(i["content_text"] and i["date_published"] for i in d["items"])'

# The changes a feed must hold, newest first: of the newest 100 log
# entries, the vendor changes but a customer's own choice's (the public
# feed: the sample's openai is northwind's), or all those `spreg
# changes --customer ID` lists (ID's feed).
expected() {
	spreg changes --json
	cp "$tmp/out" "$tmp/all.jsonl"
	if [ -n "${1:-}" ]; then
		spreg changes --customer "$1" --json
	fi
	/usr/bin/python3 - "$tmp/all.jsonl" "$tmp/out" "$tmp/expected.json" "${1:-}" <<'PY'
import json, sys
public = {"created", "updated", "retired", "announced", "took-effect",
          "took_effect", "withdrawn"}
every = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rows = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
last = max(r["seq"] for r in every)
ids = ["urn:spreg:change:%d" % r["seq"] for r in sorted(rows, key=lambda r: -r["seq"])
       if r["seq"] > last - 100 and (sys.argv[4] or (r["kind"] in public and not r.get("selected_only")))]
json.dump(ids, open(sys.argv[3], "w"))
PY
}
same_as_cli() {
	expected "${1:-}"
	/usr/bin/python3 -c "import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))['ids'] == json.load(open(sys.argv[2])) else 1)" \
		"$tmp/feed.json" "$tmp/expected.json"
}

reader
check "feedparser reads well-formed Atom 1.0 (status 200, not bozo)" \
	'feed "d[\"status\"] == 200 and d[\"version\"] == \"atom10\" and not d[\"bozo\"] and d[\"feed_id\"] == \"urn:spreg:feed:changes\""'
check "... its entries are spreg changes' vendor changes, newest first, ids from seqs" \
	'same_as_cli && feed "len(d[\"ids\"]) == 25 and d[\"titles\"][0] == \"Added: Zoom\" and \"Added: PM Group US\" in d[\"titles\"] and not any(\"OpenAI\" in t for t in d[\"titles\"])"'
etag=$(fval 'd["etag"]')
modified=$(fval 'd["modified"]')
reader "etag=$etag"
check "a second request with its ETag: 304" 'feed "d[\"status\"] == 304 and not d[\"ids\"]"'
reader "modified=$modified"
check "... with its Last-Modified: 304" 'feed "d[\"status\"] == 304"'
status=$(curl -sS --max-time 60 -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' "$http/changes.atom")
check "headers: application/atom+xml, ETag, Last-Modified, Cache-Control public" \
	'[ "$status" = 200 ] && grep -qi "^Content-Type: application/atom+xml" "$tmp/hdr" && grep -qi "^ETag: \"[0-9a-f]\{32\}\"" "$tmp/hdr" && grep -qi "^Last-Modified: " "$tmp/hdr" && grep -qi "^Cache-Control: public, max-age=" "$tmp/hdr"'

reader
jfeed /changes.json
jetag=$(sed -n 's/^ETag: *//Ip' "$tmp/jhdr" | tr -d '\r')
check "JSON Feed 1.1 (/changes.json): the Atom feed's entries, read by Python's json" \
	'[ "$jstatus" = 200 ] && jcheck "$same_as_atom and d[\"title\"] == \"Subprocessor changes\" and len(d[\"items\"]) == 25"'
check "... application/feed+json, the same ETag as the Atom feed, Cache-Control public" \
	'grep -qi "^Content-Type: application/feed+json" "$tmp/jhdr" && [ "$jetag" = "$(fval "d[\"etag\"]")" ] && grep -qi "^Cache-Control: public, max-age=" "$tmp/jhdr"'
jfeed /changes.json "$jetag"
check "... a second request with its ETag: 304, no body" '[ "$jstatus" = 304 ] && [ ! -s "$tmp/jbody" ]'

# ---- after writes ------------------------------------------------------------

today=$("$SPREG_BIN" info --json | /usr/bin/python3 -c \
	'import json,sys; print(json.load(sys.stdin)["started_at"][:10])')
printf 'id: acme\nname: ACME Corp\nservices: [support]\nregime: EU\nnotice_days: 30\n' >"$tmp/acme.yaml"
spreg customer put "$tmp/acme.yaml"
printf 'id: deepl\nname: DeepL\nlegal_entity: DeepL SE\npurpose: Translation\nservices: [support]\ndata_categories: [user.contact.email]\nlocations:\n  - {country: DE, role: processing}\nstatus: active\n' >"$tmp/deepl.yaml"
effective=$(date -u -d "$today + 40 days" +%F)
spreg announce "$tmp/deepl.yaml" --effective "$effective"
seq=$(sed -n 's/.*change seq \([0-9]*\).*/\1/p' "$tmp/out")
spreg object "$seq" --customer acme --reason "not this one"
spreg retire fastspring
reader "etag=$etag"
check "after writes the old ETag gets the new feed (200, a new ETag)" \
	'feed "d[\"status\"] == 200" && [ "$(fval "d[\"etag\"]")" != "$etag" ]'
# A retired vendor is off the public list: the feed names it by its id.
check "... the retirement on top, then the announcement with its date" \
	'feed "d[\"titles\"][0] == \"Retired: fastspring\" and d[\"titles\"][1] == \"Announced: DeepL, effective $effective\" and d[\"terms\"][1] == \"CHANGE_KIND_ANNOUNCED\""'
check "... still exactly spreg changes' vendor changes" 'same_as_cli'
jfeed /changes.json "$jetag"
check "... and the JSON Feed too: 200 for the old ETag, the same new entries" \
	'[ "$jstatus" = 200 ] && jcheck "$same_as_atom"'
check "... no customer record, no objection, no actor reaches the public feed" \
	'! feed "\"acme\" in d[\"text\"] or \"not this one\" in d[\"text\"] or \"OBJECTION\" in d[\"text\"] or \"admin\" in d[\"text\"]"'

# ---- a customer's own feed, behind a key --------------------------------------

printf 'id: globex\nname: Globex\nservices: [marketing]\nregime: EU\n' >"$tmp/globex.yaml"
spreg customer put "$tmp/globex.yaml"
spreg customer feed-key acme
path=$(sed -n 's/^feed: //p' "$tmp/out")
key=$(sed -n 's/^key: //p' "$tmp/out")
check "spreg customer feed-key acme: a key and its feed's path" \
	'[ $rc -eq 0 ] && [ "$path" = "/customers/acme/changes.atom?key=$key" ] && [ ${#key} = 32 ]'
reader "$path"
check "acme's feed: exactly spreg changes --customer acme, its objection included" \
	'feed "d[\"status\"] == 200 and d[\"feed_id\"] == \"urn:spreg:feed:customer:acme\" and not d[\"bozo\"]" && same_as_cli acme && feed "\"not this one\" in d[\"text\"] and \"globex\" not in d[\"text\"]"'
check "... with its own ETag and Cache-Control, 304 on a repeat" \
	'etag2=$(fval "d[\"etag\"]") && reader "$path" "etag=$etag2" && feed "d[\"status\"] == 304"'
reader "$path"
jfeed "${path/changes.atom/changes.json}"
check "... and its JSON Feed: the same entries, titled for acme" \
	'[ "$jstatus" = 200 ] && jcheck "$same_as_atom and d[\"title\"] == \"Subprocessor changes for acme\""'
code() { curl -sS --max-time 60 -o "$tmp/body" -w '%{http_code}' "$http$1"; }
check "a wrong key, no key, or acme's key on globex's feed: 401" \
	'[ "$(code "/customers/acme/changes.atom?key=00000000000000000000000000000000")" = 401 ] && [ "$(code /customers/acme/changes.atom)" = 401 ] && [ "$(code "/customers/globex/changes.atom?key=$key")" = 401 ]'
check "... the same for the JSON Feed" \
	'[ "$(code "/customers/acme/changes.json?key=00000000000000000000000000000000")" = 401 ] && [ "$(code "/customers/globex/changes.json?key=$key")" = 401 ]'
check "... a feed key opens nothing else (the API answers 401)" \
	'[ "$(code "/v1/subprocessors?key=$key")" != 200 ]'
spreg customer feed-key acme --rotate
newpath=$(sed -n 's/^feed: //p' "$tmp/out")
check "--rotate: a new key; the old one is refused at once, the new one read" \
	'[ $rc -eq 0 ] && [ "$newpath" != "$path" ] && [ "$(code "$path")" = 401 ] && [ "$(code "$newpath")" = 200 ]'
spreg customer feed-key acme
check "... and feed-key shows the new one" '[ "$(sed -n "s/^feed: //p" "$tmp/out")" = "$newpath" ]'

status=$(curl -sS --max-time 60 -o "$tmp/body" -w '%{http_code}' "$http/changes.atom?x=1")
check "an unknown parameter: 400" '[ "$status" = 400 ]'
status=$(curl -sS --max-time 60 -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' -X POST "$http/changes.atom")
check "POST: 405" '[ "$status" = 405 ] && grep -qi "^Allow: GET" "$tmp/hdr"'

spregd_stop main
check "spregd stops cleanly (no leak under ASan)" '[ "$spregd_status" = 0 ]'
finish
