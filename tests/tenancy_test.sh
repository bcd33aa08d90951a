#!/usr/bin/env bash
# A customer-selected vendor (kind customer_selected) belongs to its
# customer alone (issue 15). Two customers, acme and beta, use the same
# service; acme chooses a vendor of its own, which is then changed and
# announced. beta must meet it nowhere: not in its list, get, change log,
# announcements, objections, assessment, export, private Atom feed,
# webhook or e-mail; nor may the public page, public feed or public
# announcements show it. acme sees it everywhere. A later change that
# concerns both is the barrier for the asynchronous channels (webhooks,
# mail): once beta has it, beta has had every earlier change it will get.
# Waits are bounded, only to end a run that went wrong.
set -euo pipefail

: "${SPREG_SOURCE:?source root}"
. "$SPREG_SOURCE/tests/support/cli.sh"

/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null ||
	{ echo "python3-aiosmtpd not installed (tools/debian-packages.txt)"; exit 77; }

sink_pid= hook_pid=
trap 'for p in $sink_pid $hook_pid; do kill "$p" 2>/dev/null || true; done; cleanup' EXIT
/usr/bin/python3 "$SPREG_SOURCE/tests/support/smtp_sink.py" \
	--port-file "$tmp/smtp.port" --log "$tmp/mail.jsonl" &
sink_pid=$!
/usr/bin/python3 -c 'import base64,os; print("whsec_" + base64.b64encode(os.urandom(32)).decode())' >"$tmp/secret"
/usr/bin/python3 "$SPREG_SOURCE/tests/support/webhook_receiver.py" serve \
	--secret-file "$tmp/secret" --log "$tmp/hooks.jsonl" --port-file "$tmp/hook.port" &
hook_pid=$!
for _ in $(seq 400); do [ -s "$tmp/smtp.port" ] && [ -s "$tmp/hook.port" ] && break; sleep 0.05; done
smtp_port=$(cat "$tmp/smtp.port")
hook_port=$(cat "$tmp/hook.port")

SPREGD_HTTP=http://127.0.0.1:0 spregd_start main --smtp "smtp://127.0.0.1:$smtp_port" \
	--smtp-from registry@example.test --webhook-retry-max 1 --log-level info
http=$(sed -n 's/^http //p' "$tmp/main.ready" | head -n 1)
export SPREG_SERVER="ipc://$tmp/main.ipc"
export SPREG_TOKEN_FILE="$tmp/main/admin.token"
today=$("$SPREG_BIN" info --json | /usr/bin/python3 -c \
	'import json,sys; print(json.load(sys.stdin)["started_at"][:10])')
day() { date -u -d "$today + $1 days" +%F; }

# beta is owed the longer notice: a rule that looked at services alone
# would name it as the customer of acme's announcement.
printf '%s\n' 'id: acme' 'name: Acme' 'services: [app]' 'regime: EU' 'notice_days: 30' \
	'contacts: [dpo@acme.test]' >"$tmp/acme.yaml"
printf '%s\n' 'id: beta' 'name: Beta' 'services: [app]' 'regime: EU' 'notice_days: 45' \
	'contacts: [dpo@beta.test]' >"$tmp/beta.yaml"
spreg customer put "$tmp/acme.yaml"
spreg customer put "$tmp/beta.yaml"
check "two customers of the same service" '[ $rc -eq 0 ]'
spreg token create --role customer:acme --name acme-dpo
cp "$tmp/out" "$tmp/acme.token"
spreg token create --role customer:beta --name beta-dpo
cp "$tmp/out" "$tmp/beta.token"
acme=(--token-file "$tmp/acme.token")
beta=(--token-file "$tmp/beta.token")
spreg webhook add --customer acme "http://127.0.0.1:$hook_port/ok" --secret-file "$tmp/secret"
acme_hook=$(awk '{print $3}' "$tmp/err")
spreg webhook add --customer beta "http://127.0.0.1:$hook_port/ok" --secret-file "$tmp/secret"
beta_hook=$(awk '{print $3}' "$tmp/err")
check "a webhook for each" '[ $rc -eq 0 ] && [ -n "$acme_hook" ] && [ "$acme_hook" != "$beta_hook" ]'
for _ in $(seq 600); do
	grep -q "notices to dpo@beta.test for customer beta start" "$tmp/main.log" &&
		grep -q "notices to dpo@acme.test for customer acme start" "$tmp/main.log" && break
	sleep 0.1
done
check "the mail sender follows both contacts" \
	'grep -q "notices to dpo@beta.test" "$tmp/main.log" && grep -q "notices to dpo@acme.test" "$tmp/main.log"'

# ---- acme's own vendor: created, changed, announced ---------------------------

printf '%s\n' 'id: llm-provider' 'name: LLM Provider' 'services: [app]' \
	'data_categories: [user.content.private]' 'locations: [{country: US, role: processing}]' \
	'kind: customer_selected' 'customer: acme' >"$tmp/llm.yaml"
spreg put "$tmp/llm.yaml"
check "acme's customer-selected vendor: written at once (acme chose it: no notice owed)" '[ $rc -eq 0 ]'
sed -i 's/^name: LLM Provider/name: LLM Provider Inc/' "$tmp/llm.yaml"
spreg put "$tmp/llm.yaml"
check "... renamed" '[ $rc -eq 0 ] && out_has "revision 2"'
sed 's/^locations: .*/locations: [{country: US, role: processing}, {country: JP, role: processing}]/' \
	"$tmp/llm.yaml" >"$tmp/llm-jp.yaml"
spreg announce "$tmp/llm-jp.yaml" --effective "$(day 60)"
llm_seq=$(grep -o 'seq [0-9]*' "$tmp/out" | awk '{print $2}' | head -n 1)
check "... and a change to it announced" '[ $rc -eq 0 ] && [ -n "$llm_seq" ]'
spreg changes --subprocessor llm-provider --json
llm_seqs=$(/usr/bin/python3 -c 'import json,sys; print(" ".join(str(json.loads(l)["seq"]) for l in open(sys.argv[1]) if l.strip()))' "$tmp/out")
check "three changes to it in the log" '[ "$(echo $llm_seqs | wc -w)" -eq 3 ]'

# The barrier: a public vendor of the same service, announced to both.
printf '%s\n' 'id: barrier' 'name: Barrier' 'services: [app]' 'data_categories: [user.name]' \
	'locations: [{country: DE, role: processing}]' >"$tmp/barrier.yaml"
spreg announce "$tmp/barrier.yaml" --effective "$(day 60)"
bar_seq=$(grep -o 'seq [0-9]*' "$tmp/out" | awk '{print $2}' | head -n 1)
check "a public vendor announced to both" '[ $rc -eq 0 ] && [ -n "$bar_seq" ]'

# hooked ID SEQ: the webhook ID received SEQ. mailed TO ID: a notice to TO names ID.
hooked() { grep -q "\"id\": \"$1_$2\"" "$tmp/hooks.jsonl" 2>/dev/null; }
mailed() {
	/usr/bin/python3 - "$tmp/mail.jsonl" "$1" "$2" <<'PY'
import json, sys
try:
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
except FileNotFoundError:
    rows = []
sys.exit(0 if any(r["to"] == sys.argv[2] and sys.argv[3] in r["body"] for r in rows) else 1)
PY
}
for _ in $(seq 600); do
	hooked "$beta_hook" "$bar_seq" && hooked "$acme_hook" "$bar_seq" &&
		mailed dpo@beta.test barrier && mailed dpo@acme.test barrier && break
	sleep 0.1
done
check "the barrier reached both webhooks and both contacts" \
	'hooked "$beta_hook" "$bar_seq" && hooked "$acme_hook" "$bar_seq" && mailed dpo@beta.test barrier && mailed dpo@acme.test barrier'

# ---- beta meets it nowhere ------------------------------------------------------

spreg list "${beta[@]}"
check "beta's list: not there (the sample's app vendors are)" \
	'[ $rc -eq 0 ] && ! has_id llm-provider && has_id google-workspace'
spreg list --customer beta
check "beta's list, asked by the admin: not there" '[ $rc -eq 0 ] && ! has_id llm-provider'
spreg get llm-provider "${beta[@]}"
check "beta's get: not found, as if absent" '[ $rc -eq 2 ]'
spreg get llm-provider --revision 1 "${beta[@]}"
check "beta's get of an old revision: not found" '[ $rc -eq 2 ]'
spreg changes "${beta[@]}" --json
check "beta's change log: none of its changes (the barrier is there)" \
	'[ $rc -eq 0 ] && ! out_has llm-provider && out_has barrier'
spreg changes --customer beta --json
check "beta's change log, asked by the admin: none either" \
	'[ $rc -eq 0 ] && ! out_has llm-provider && out_has barrier'
spreg announcements "${beta[@]}"
check "beta's announcements: not its announcement" \
	'[ $rc -eq 0 ] && ! out_has llm-provider && out_has barrier'
spreg object "$llm_seq" --reason "not ours" "${beta[@]}"
check "beta cannot object to it" '[ $rc -eq 3 ] && err_has FAILED_PRECONDITION'
spreg assess "${beta[@]}"
check "beta's assessment: none of its transfers" \
	'[ $rc -eq 0 -o $rc -eq 5 ] && ! out_has llm-provider && out_has google-workspace'
spreg assess --customer beta
check "beta's assessment, asked by the admin: none either" \
	'[ $rc -eq 0 -o $rc -eq 5 ] && ! out_has llm-provider'
spreg assess --subprocessor llm-provider "${beta[@]}"
check "beta's assessment of it by name: not found, as if absent" '[ $rc -eq 2 ]'
spreg export --subprocessors --output "$tmp/beta.csv" "${beta[@]}"
check "beta's export: not there" '[ $rc -eq 0 ] && ! grep -q llm-provider "$tmp/beta.csv" && grep -q google-workspace "$tmp/beta.csv"'
# feed_of ID: ID's private Atom feed in $tmp/ID.atom.
feed_of() {
	spreg customer feed-key "$1"
	curl -sS --max-time 60 -o "$tmp/$1.atom" "$http$(sed -n 's/^feed: //p' "$tmp/out")"
}
feed_of beta
check "beta's Atom feed: none of its changes" \
	'grep -q barrier "$tmp/beta.atom" && ! grep -qi "llm" "$tmp/beta.atom"'
check "beta's webhook: none of its changes" \
	'! grep "\"id\": \"${beta_hook}_" "$tmp/hooks.jsonl" | grep -q llm-provider'
check "beta's e-mail: no notice of it" '! mailed dpo@beta.test llm-provider && ! mailed dpo@beta.test "LLM Provider"'

# ---- nor the public --------------------------------------------------------------

curl -sS --max-time 60 -o "$tmp/public.atom" "$http/changes.atom"
check "the public Atom feed: none of its changes" \
	'grep -q barrier "$tmp/public.atom" && ! grep -qi "llm" "$tmp/public.atom"'
curl -sS --max-time 60 -o "$tmp/page.html" "$http/"
check "the public page: not there, nor its announcement" \
	'grep -q Barrier "$tmp/page.html" && ! grep -qi "llm" "$tmp/page.html"'
spreg export --subprocessors --output "$tmp/public.csv"
check "the public list (export): not there" '[ $rc -eq 0 ] && ! grep -q llm-provider "$tmp/public.csv"'

# ---- the sample's own case: openai, northwind's choice (data/SAMPLE.md) --------

curl -sS --max-time 60 -o "$tmp/public.json" "$http/subprocessors.json"
curl -sS --max-time 60 -o "$tmp/public-feed.json" "$http/changes.json"
check "the sample: its affiliate is public, northwind's openai on no public list, page or feed" \
	'grep -q "\"pm-group-us\"" "$tmp/public.json" && grep -q "PM Group US" "$tmp/page.html" &&
	! grep -qi openai "$tmp/public.json" "$tmp/page.html" "$tmp/public.atom" "$tmp/public-feed.json" "$tmp/public.csv"'
spreg list "${acme[@]}"
check "... nor in another customer's list" '[ $rc -eq 0 ] && ! has_id openai && has_id google-workspace'
spreg list --customer northwind
check "... but in northwind's" '[ $rc -eq 0 ] && has_id openai'
feed_of northwind
check "... and in northwind's feed" 'grep -q "OpenAI API" "$tmp/northwind.atom"'

# ---- acme sees it everywhere --------------------------------------------------------

spreg list "${acme[@]}"
check "acme's list: there" '[ $rc -eq 0 ] && has_id llm-provider'
spreg get llm-provider "${acme[@]}"
check "acme's get: there" '[ $rc -eq 0 ] && out_has "^name: LLM Provider Inc$"'
spreg changes "${acme[@]}" --json
check "acme's change log: its three changes" \
	'[ $rc -eq 0 ] && [ "$(grep -c "\"llm-provider\"" "$tmp/out")" -eq 3 ]'
spreg announcements "${acme[@]}"
check "acme's announcements: there" '[ $rc -eq 0 ] && out_has llm-provider'
spreg assess "${acme[@]}"
check "acme's assessment: its transfers" '[ $rc -eq 0 -o $rc -eq 5 ] && grep -q "^llm-provider  *US " "$tmp/out"'
spreg export --subprocessors --output "$tmp/acme.csv" "${acme[@]}"
check "acme's export: there" '[ $rc -eq 0 ] && grep -q llm-provider "$tmp/acme.csv"'
feed_of acme
check "acme's Atom feed: its changes" 'grep -q "LLM Provider" "$tmp/acme.atom"'
all_hooked() {
	local s
	for s in $llm_seqs; do hooked "$acme_hook" "$s" || return 1; done
}
check "acme's webhook: each of its changes" all_hooked
check "acme's e-mail: the notice of its announcement" 'mailed dpo@acme.test "LLM Provider"'
spreg announcements --customer acme --json
check "the announcement names acme as the customer owed notice" \
	'[ $rc -eq 0 ] && out_has llm-provider'
spreg changes --subprocessor llm-provider --json
check "... and so does the announced change" \
	'/usr/bin/python3 -c "import json,sys; r=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]; sys.exit(0 if [x.get(\"customer_id\") for x in r if x[\"kind\"]==\"announced\"]==[\"acme\"] else 1)" "$tmp/out"'
spreg verify
check "the log verifies" '[ $rc -eq 0 ]'

finish
