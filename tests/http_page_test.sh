#!/usr/bin/env bash
# The subprocessor page (GET /) in a real browser: headless Chromium
# loads it from a spregd with the sample registry, a vendor whose name is
# HTML, and an announced vendor; --dump-dom must show the vendors grouped
# by service, the upcoming change with its dates and countries by name,
# and the HTML name as
# text with no script element; screenshots (desktop and phone width) are
# kept in the build folder (http-page.png, http-page-phone.png). With
# curl: ?as_of, a customer's view with its token, bad input, the
# stylesheet, and --http-public off.
set -euo pipefail

: "${SPREG_SOURCE:?source root}"
. "$SPREG_SOURCE/tests/support/cli.sh"

chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || { echo "chromium not found (tools/debian-packages.txt)"; exit 77; }

start_main() {
	SPREGD_HTTP=http://127.0.0.1:0 spregd_start main "$@"
	http=$(sed -n 's/^http //p' "$tmp/main.ready" | head -n 1)
}
start_main
export SPREG_SERVER="ipc://$tmp/main.ipc"
export SPREG_TOKEN_FILE="$tmp/main/admin.token"

status=0
get() {	# PATH [curl options]: body $tmp/body, headers $tmp/hdr, $status
	local path=$1
	shift
	status=$(curl -sS --max-time 60 -o "$tmp/body" -D "$tmp/hdr" \
		-w '%{http_code}' "$@" "$http$path")
}
body_has() { grep -qF -- "$1" "$tmp/body"; }
hdr_has() { grep -qi -- "$1" "$tmp/hdr"; }
# browser FILE [chromium options] URL: --dump-dom into FILE. The timeout
# bounds a hang; it decides nothing.
browser() {
	local out=$1
	shift
	timeout 180 "$chromium" --headless --no-sandbox --disable-gpu \
		--disable-dev-shm-usage --no-first-run \
		--user-data-dir="$tmp/chrome" "$@" >"$out" 2>>"$tmp/chrome.log" || true
}

# ---- the registry: a vendor named in HTML, a customer, an announcement ----

today=$("$SPREG_BIN" info --json | /usr/bin/python3 -c \
	'import json,sys; print(json.load(sys.stdin)["started_at"][:10])')
effective=$(date -u -d "$today + 40 days" +%F)
deadline=$(date -u -d "$today + 39 days" +%F)
cat >"$tmp/html.yaml" <<'EOF'
id: htmlco
name: '<script>alert("x")</script> & <b>Co</b>'
legal_entity: Angle & Brackets <Ltd>
purpose: Shows that text is text
website: 'https://example.com/?q="><i>x</i>'
services: [support]
data_categories: [user.contact.email]
locations:
  - {country: DE, role: processing}
status: active
effective_from: "2020-01-01"
EOF
spreg put "$tmp/html.yaml"
put_rc=$rc
printf 'id: acme\nname: ACME Corp\nservices: [billing]\nregime: EU\nnotice_days: 30\n' >"$tmp/acme.yaml"
spreg customer put "$tmp/acme.yaml"
spreg token create --role customer:acme --name acme-dpo
acme=$(cat "$tmp/out")
spreg token create --role reader --name reader
reader=$(cat "$tmp/out")
printf 'id: deepl\nname: DeepL\nlegal_entity: DeepL SE\npurpose: Machine translation\nservices: [support]\ndata_categories: [user.contact.email]\nlocations:\n  - {country: DE, role: processing}\nstatus: active\n' >"$tmp/deepl.yaml"
spreg announce "$tmp/deepl.yaml" --effective "$effective"
seq=$(sed -n 's/.*change seq \([0-9]*\).*/\1/p' "$tmp/out")
check "a vendor named in HTML is stored, DeepL announced" \
	'[ "$put_rc" -eq 0 ] && [ -n "$seq" ]'

# ---- the page in Chromium --------------------------------------------------

browser "$tmp/dom.html" --dump-dom "$http/"
/usr/bin/python3 - "$tmp/dom.html" "$tmp/dom.txt" <<'PY'
# The DOM as Chromium built it: element counts, headings, the text of
# each table cell, the upcoming section's text.
import json, sys
from html.parser import HTMLParser

class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.cells, self.h2, self.stack = {}, [], [], []
        self.upcoming, self.text = "", None
    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        a = dict(attrs)
        if tag == "section" and a.get("id") == "upcoming":
            self.upcoming = " "
        if tag in ("td", "h2"):
            self.text = ""
        self.stack.append(tag)
    def handle_endtag(self, tag):
        if tag in ("td", "h2") and self.text is not None:
            (self.cells if tag == "td" else self.h2).append(self.text)
            self.text = None
        if tag == "section" and self.upcoming and not self.upcoming.endswith("\0"):
            self.upcoming += "\0"
    def handle_data(self, data):
        if self.text is not None:
            self.text += data
        if self.upcoming and not self.upcoming.endswith("\0"):
            self.upcoming += data

d = Dom()
d.feed(open(sys.argv[1]).read())
json.dump({"tags": d.tags, "cells": d.cells, "h2": d.h2,
           "upcoming": d.upcoming.rstrip("\0")}, open(sys.argv[2], "w"))
PY
dom() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" "$tmp/dom.txt"; }
check "Chromium renders the page: vendors in their service groups" \
	'dom "\"Stripe\" in d[\"cells\"] and \"Amazon Web Services\" in d[\"cells\"] and \"billing\" in d[\"h2\"] and \"support\" in d[\"h2\"] and \"Upcoming changes\" in d[\"h2\"]"'
check "... the upcoming change: DeepL, new, effective $effective, object by $deadline" \
	'dom "\"DeepL\" in d[\"upcoming\"] and \"New subprocessor\" in d[\"upcoming\"] and \"$effective\" in d[\"upcoming\"] and \"$deadline\" in d[\"upcoming\"] and \"/v1/changes/$seq/objections\" in d[\"upcoming\"]"'
check "... its country by name (Germany), as the list above names them" \
	'dom "\"Germany\" in d[\"upcoming\"]"'
check "... the HTML name is shown as text, and nothing runs: no script element, no b" \
	'dom "d[\"tags\"].get(\"script\", 0) == 0 and d[\"tags\"].get(\"b\", 0) == 0 and \"<script>alert(\\\"x\\\")</script> & <b>Co</b>\" in d[\"cells\"] and \"Angle & Brackets <Ltd>\" in d[\"cells\"]"'
check "... the website's quotes stay inside its href: no i element" \
	'dom "d[\"tags\"].get(\"i\", 0) == 0"'

shot="$SPREG_BUILD/http-page.png"
phone="$SPREG_BUILD/http-page-phone.png"
rm -f "$shot" "$phone"
browser /dev/null --screenshot="$shot" --window-size=1280,2400 "$http/"
browser /dev/null --screenshot="$phone" --window-size=390,2400 "$http/"
png() { [ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }
check "screenshots kept: $shot and $phone" 'png "$shot" && png "$phone"'

# ---- the page over curl ------------------------------------------------------

get /
check "GET /: 200 HTML, a CSP allowing no script, cached as public" \
	'[ "$status" = 200 ] && hdr_has "^Content-Type: text/html" && hdr_has "^Content-Security-Policy: default-src .none." && ! hdr_has "script-src" && hdr_has "^Cache-Control: public"'
check "... it links its Atom feed" 'body_has "href=\"/changes.atom\""'
check "... escaped in the markup itself" \
	'body_has "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;Co&lt;/b&gt;" && ! body_has "<script"'
get "/?as_of=2020-01-01"
check "?as_of=2020-01-01: the list that day, no upcoming section" \
	'[ "$status" = 200 ] && body_has "2020-01-01" && body_has ">Stripe<" && ! body_has "DeepL" && ! body_has "id=\"upcoming\""'
get "/?as_of=yesterday"
check "?as_of=yesterday: 400, an HTML page naming as_of" \
	'[ "$status" = 400 ] && hdr_has "^Content-Type: text/html" && body_has "as_of"'
get "/?bogus=1"
check "an unknown parameter: 400 naming it" '[ "$status" = 400 ] && body_has "bogus"'
get / -X POST
check "POST /: 405, Allow: GET" '[ "$status" = 405 ] && hdr_has "^Allow: GET"'
get /spreg.css
check "the stylesheet: 200 text/css, with a print rule" \
	'[ "$status" = 200 ] && hdr_has "^Content-Type: text/css" && body_has "@media print"'

get / -H "Authorization: Bearer $acme"
check "a customer's token: its own vendors (billing: Stripe), not others' (Mailchimp), not cached publicly" \
	'[ "$status" = 200 ] && body_has "Subprocessors of acme" && body_has ">Stripe<" && ! body_has "Mailchimp" && hdr_has "^Cache-Control: private"'
get / -H "Authorization: Bearer spreg_nobody.x"
check "a bad token: 401, not the public page" \
	'[ "$status" = 401 ] && hdr_has "^WWW-Authenticate: Bearer" && ! body_has "Stripe"'
get /v1/subprocessors
check "the JSON API still needs a token" '[ "$status" = 401 ]'

# ---- --http-public off --------------------------------------------------------

spregd_stop main
start_main --http-public off
get /
check "--http-public off: the page needs a token (401)" \
	'[ "$status" = 401 ] && ! body_has "Stripe"'
get /changes.atom
check "... and so does the feed (401)" '[ "$status" = 401 ]'
get / -H "Authorization: Bearer $reader"
check "... a reader's token gets the whole list" '[ "$status" = 200 ] && body_has ">Stripe<" && body_has ">Mailchimp<"'

spregd_stop main
check "spregd stops cleanly (no leak under ASan)" '[ "$spregd_status" = 0 ]'
finish
