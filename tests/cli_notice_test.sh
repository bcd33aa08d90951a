#!/usr/bin/env bash
# The notice workflow of GDPR Art. 28(2) from the spreg command, against
# a real spregd: a customer owed 45 days' notice, made from the command
# line with its own token; an announcement refused too early (naming the
# customer and the earliest date) and accepted at day 45; the customer's
# objection; the withdrawal; a second announcement (an emergency, dated
# today) taking effect when the server restarts; a third crossing its
# date on the server's test clock, restarted on day 44 and 45; a put
# that would skip
# the notice refused with nothing changed; and the bad input of each
# command with its exit code. Under AddressSanitizer a leak turns an
# exit status into 23, so the exit-code checks also catch leaks.
set -euo pipefail

: "${SPREG_SOURCE:?source root}"
. "$SPREG_SOURCE/tests/support/cli.sh"

spregd_start main
spregd_use main	# SPREG_SERVER, and the admin token it wrote
acme=(--token-file "$tmp/acme.token")

# Dates counted from the server's today (UTC).
today=$("$SPREG_BIN" info --json | /usr/bin/python3 -c \
	'import json,sys; print(json.load(sys.stdin)["started_at"][:10])')
day() { date -u -d "$today + $1 days" +%F; }
last_seq() {
	"$SPREG_BIN" info --json | /usr/bin/python3 -c \
		'import json,sys; print(json.load(sys.stdin)["last_seq"])'
}
base_seq=$(last_seq)

# ---- a customer, from the command line -------------------------------------

cat >"$tmp/acme.yaml" <<'EOF'
id: acme
name: ACME Corp
services: [support]
regime: eu
notice_days: 45
contacts: [dpo@acme.example]
EOF
spreg customer put "$tmp/acme.yaml"
check "customer put: created, with its change seq" \
	'[ $rc -eq 0 ] && out_has "^customer-updated acme revision 1 (change seq $((base_seq + 1)))$"'
spreg customer get acme
check "customer get: notice_days 45, regime upper-cased" \
	'[ $rc -eq 0 ] && out_has "^notice_days: 45$" && out_has "^regime: EU$" && out_has "^contact: dpo@acme.example$"'
spreg customer get acme --json
check "customer get --json: the proto JSON form" \
	'[ $rc -eq 0 ] && json_ok && out_has "\"notice_days\": 45"'
spreg customer get acme --yaml
cp "$tmp/out" "$tmp/acme-back.yaml"
check "customer get --yaml" '[ $rc -eq 0 ] && out_has "^id: acme$" && out_has "^services: \[support\]$"'
spreg customer list
check "customer list: ACME with its notice and services" \
	'[ $rc -eq 0 ] && grep -q "^acme  *ACME Corp  *EU  *45  *support$" "$tmp/out"'
spreg customer get nobody
check "customer get of an unknown id: exit 2" '[ $rc -eq 2 ] && err_has "NOT_FOUND"'
printf 'id: x\nname: X\nservices: [support]\nnotice: 3\n' >"$tmp/typo.yaml"
spreg customer put "$tmp/typo.yaml"
check "customer put with an unknown field: exit 1 naming it" '[ $rc -eq 1 ] && err_has "notice"'
spreg customer put
check "customer put without a file: exit 1" '[ $rc -eq 1 ] && err_has "missing argument"'

spreg token create --role customer:acme --name acme-dpo
cp "$tmp/out" "$tmp/acme.token"
check "token create --role customer:acme, for a customer made from the CLI" \
	'[ $rc -eq 0 ] && out_has "^spreg_" && err_has "customer:acme"'
spreg token create --role customer:nobody --name ghost
check "a token for an unknown customer: exit 2" '[ $rc -eq 2 ] && err_has "customer"'
spreg whoami "${acme[@]}"
check "whoami with it: customer:acme" '[ $rc -eq 0 ] && out_has "^role: customer:acme$"'
spreg list --service support
cp "$tmp/out" "$tmp/support"
spreg list "${acme[@]}"
check "list as the customer: the vendors of its services, nothing else" \
	'[ $rc -eq 0 ] && [ "$(ids)" = "$(tail -n +2 "$tmp/support" | awk "{print \$1}")" ] && has_id zoom && ! has_id stripe'
spreg get stripe "${acme[@]}"
check "get of a vendor the customer does not use: exit 2, as if absent" '[ $rc -eq 2 ]'
spreg customer list "${acme[@]}"
check "customer list as the customer: itself" '[ $rc -eq 0 ] && has_id acme && [ "$(out_lines)" -eq 2 ]'
spreg retire zoom "${acme[@]}"
check "the customer cannot write: exit 7" '[ $rc -eq 7 ]'

# ---- announce: too early, then at day 45 ------------------------------------

cat >"$tmp/deepl.yaml" <<'EOF'
id: deepl
name: DeepL
legal_entity: DeepL SE
purpose: Machine translation of support tickets
website: https://www.deepl.com
services: [support]
data_categories: [user.content.private, user.contact.email]
locations:
  - {country: de, role: processing}
status: active
EOF
before=$(last_seq)
spreg announce "$tmp/deepl.yaml" --effective "$(day 44)"
check "announce at day 44: refused (exit 3), naming acme, 45 days and the earliest date" \
	'[ $rc -eq 3 ] && err_has "FAILED_PRECONDITION" && err_has "acme" && err_has "45" && err_has "$(day 45)"'
check "... and nothing was logged" '[ "$(last_seq)" = "$before" ]'
spreg announce "$tmp/deepl.yaml" --effective "$(day 45)"
check "announce at day 45: accepted" \
	'[ $rc -eq 0 ] && out_has "^announced deepl effective $(day 45) (change seq [0-9]*)$"'
# A new vendor is recorded as proposed, then announced: two changes.
s1=$(sed -n 's/.*change seq \([0-9]*\).*/\1/p' "$tmp/out")
check "... the announcement is the newest change" '[ "$s1" = "$(last_seq)" ]'

spreg announcements --pending
check "announcements --pending: the announcement, pending" \
	'[ $rc -eq 0 ] && grep -q "^$s1  *$(day 45)  *deepl  *active  *pending" "$tmp/out"'
spreg announcements --customer acme --json
check "announcements --customer acme --json: JSON Lines with the seq" \
	'[ $rc -eq 0 ] && json_ok && out_has "\"seq\": *$s1"'
spreg announcements "${acme[@]}"
check "the customer sees it with its own token" '[ $rc -eq 0 ] && grep -q "^$s1 .* deepl " "$tmp/out"'
spreg list --status proposed
check "until its date the new vendor is listed as proposed" '[ $rc -eq 0 ] && has_id deepl'

# ---- objection, by the customer's own token ---------------------------------

spreg object "$s1" --reason "DeepL is not on our approved list" "${acme[@]}"
check "object with the customer's token: for acme" \
	'[ $rc -eq 0 ] && out_has "^objected to change $s1 for acme (change seq $((s1 + 1)))$"'
spreg object "$s1" --reason "again" "${acme[@]}"
check "objecting twice: exit 3, ALREADY_EXISTS" '[ $rc -eq 3 ] && err_has "ALREADY_EXISTS"'
spreg object "$s1" --reason "no customer named"
check "an admin must name the customer: exit 3 naming customer_id" '[ $rc -eq 3 ] && err_has "customer_id"'
spreg object 999999 --reason x --customer acme
check "object to an unknown seq: exit 2" '[ $rc -eq 2 ]'
spreg object 0 --reason x --customer acme
check "object to seq 0: exit 1" '[ $rc -eq 1 ] && err_has "SEQ"'
spreg objections --change "$s1"
check "objections --change: acme's, with its reason" \
	'[ $rc -eq 0 ] && grep -q "^$((s1 + 1))  *$s1  *acme .*DeepL is not on our approved list$" "$tmp/out"'
spreg objections "${acme[@]}"
check "objections with the customer's token: its own" '[ $rc -eq 0 ] && grep -q " acme " "$tmp/out"'
spreg objections
check "objections without --change or --customer: refused" '[ $rc -eq 3 ]'
spreg changes --since "$before"
check "changes shows the announcement's date and the objection's customer and reason" \
	'[ $rc -eq 0 ] && out_has "CUSTOMER  *EFFECTIVE  *REASON" && grep -q "^$s1 .* announced .*$(day 45)" "$tmp/out" && grep -q "^$((s1 + 1)) .* objection .* acme .*(to seq $s1) DeepL" "$tmp/out"'

# ---- withdrawal --------------------------------------------------------------

spreg withdraw "$s1"
check "withdraw without --reason: exit 1" '[ $rc -eq 1 ] && err_has "reason"'
spreg withdraw "$s1" --reason "we chose another vendor" "${acme[@]}"
check "the customer cannot withdraw: exit 7" '[ $rc -eq 7 ]'
spreg withdraw 999999 --reason x
check "withdraw an unknown seq: exit 2" '[ $rc -eq 2 ] && err_has "NOT_FOUND"'
spreg withdraw "$((s1 + 1))" --reason x
check "withdraw a seq that is no announcement: exit 2" '[ $rc -eq 2 ]'
spreg withdraw "$s1" --reason "we chose another vendor"
check "withdraw: logged as a change" \
	'[ $rc -eq 0 ] && out_has "^withdrew announcement $s1 (change seq $((s1 + 2)))$"'
spreg withdraw "$s1" --reason "again"
check "withdraw twice: exit 3" '[ $rc -eq 3 ] && err_has "FAILED_PRECONDITION"'
spreg announcements
check "announcements: withdrawn" '[ $rc -eq 0 ] && grep -q "^$s1 .* withdrawn" "$tmp/out"'
spreg announcements --pending
check "announcements --pending: not any more" '[ $rc -eq 0 ] && ! grep -q "^$s1 " "$tmp/out"'
spreg objections --change "$s1"
check "the objection stays on record" '[ $rc -eq 0 ] && grep -q " acme " "$tmp/out"'
spreg changes --since "$((s1 + 1))"
check "changes: withdrawn, with its reason" \
	'[ $rc -eq 0 ] && grep -q "^$((s1 + 2)) .* withdrawn .*we chose another vendor" "$tmp/out"'

# ---- a second announcement, taking effect on its date -----------------------

spreg announce "$tmp/deepl.yaml" --effective "$today"
check "announce for today without an emergency: refused" '[ $rc -eq 3 -o $rc -eq 1 ]'
spreg announce "$tmp/deepl.yaml" --effective "$today" --emergency "translation vendor breached"
check "an emergency announcement for today, with its reason: accepted" \
	'[ $rc -eq 0 ] && out_has "^announced deepl effective $today (change seq [0-9]*), an emergency$"'
s2=$(sed -n 's/.*change seq \([0-9]*\).*/\1/p' "$tmp/out")
spregd_stop main
check "spregd stops cleanly" '[ $spregd_status -eq 0 ]'
spregd_start main	# applies due changes at start
spreg get deepl
check "after the restart the announced vendor is active, country upper-cased" \
	'[ $rc -eq 0 ] && out_has "^status: active$" && out_has "^location: DE processing"'
spreg changes --since "$s2" --json
check "the change log says it took effect, from announcement s2" \
	'[ $rc -eq 0 ] && grep -q "\"kind\": *\"took_effect\"" "$tmp/out" && grep -q "\"ref_seq\": *$s2" "$tmp/out"'
spreg announcements
check "the emergency announcement is applied, its reason shown" \
	'[ $rc -eq 0 ] && grep -q "^$s2  *$today  *deepl .* applied  *translation vendor breached" "$tmp/out"'
spreg withdraw "$s2" --reason "too late"
check "withdraw an announcement that took effect: exit 3, nothing changed" \
	'[ $rc -eq 3 ] && err_has "FAILED_PRECONDITION"'
spreg object "$s2" --reason "too late" "${acme[@]}"
check "object after the effective date: exit 3" \
	'[ $rc -eq 3 ] && err_has "FAILED_PRECONDITION"'
spreg watch --customer acme --since "$base_seq" --count 3 --pub "ipc://$tmp/main-pub.ipc" "${acme[@]}"
check "watch as the customer: its changes from the log" \
	'[ $rc -eq 0 ] && [ "$(out_lines)" -eq 3 ] && out_has "acme"'
spreg assess "${acme[@]}" --subprocessor deepl
check "assess as the customer: deepl's transfers are in its view" \
	'[ $rc -eq 0 -o $rc -eq 5 ] && grep -q "^deepl  *DE " "$tmp/out"'

# ---- a retirement, announced ---------------------------------------------------

spreg announce --retire crisp --effective "$(day 45)"
check "announce --retire: accepted" \
	'[ $rc -eq 0 ] && out_has "^announced the retirement of crisp effective $(day 45) "'
spreg announcements --pending
check "... pending, as retired" '[ $rc -eq 0 ] && grep -q " crisp  *retired  *pending" "$tmp/out"'
spreg get crisp
check "... and crisp is still active until then" '[ $rc -eq 0 ] && out_has "^status: active$"'
spreg announce --retire nobody-here --effective "$(day 45)"
check "announce --retire of an unknown vendor: exit 2" '[ $rc -eq 2 ]'
spreg announce "$tmp/deepl.yaml" --retire crisp --effective "$(day 45)"
check "announce FILE with --retire: exit 1" '[ $rc -eq 1 ]'
spreg announce "$tmp/deepl.yaml"
check "announce without --effective: exit 1" '[ $rc -eq 1 ] && err_has "effective"'
spreg announce "$tmp/deepl.yaml" --effective 2027-02-30
check "announce with an impossible date: exit 1" '[ $rc -eq 1 ] && err_has "YYYY-MM-DD"'
spreg announce "$tmp/deepl.yaml" --effective "$(day 50)" --effective "$(day 51)"
check "announce with --effective twice: exit 1" '[ $rc -eq 1 ] && err_has "given twice"'

# ---- a put cannot skip the notice -----------------------------------------------

sed -e 's/^id: deepl/id: lingo/' -e 's/^name: DeepL/name: Lingo/' "$tmp/deepl.yaml" >"$tmp/lingo.yaml"
before=$(last_seq)
spreg put "$tmp/lingo.yaml"
check "put of a new active vendor for acme's service: refused, naming acme" \
	'[ $rc -eq 3 ] && err_has "FAILED_PRECONDITION" && err_has "acme" && err_has "announce"'
spreg get lingo
check "... nothing stored" '[ $rc -eq 2 ]'
check "... nothing logged" '[ "$(last_seq)" = "$before" ]'
sed 's/^status: active/status: proposed/' "$tmp/lingo.yaml" >"$tmp/lingo-proposed.yaml"
spreg put "$tmp/lingo-proposed.yaml"
check "the same vendor written as proposed: accepted" '[ $rc -eq 0 ] && out_has "^created lingo "'
spreg put "$tmp/lingo.yaml" --emergency "the old vendor is gone"
check "put --emergency REASON: accepted, the reason recorded" '[ $rc -eq 0 ] && out_has "^updated lingo "'
spreg changes --since "$((before + 1))" --json
check "... the change is marked an emergency with its reason" \
	'[ $rc -eq 0 ] && grep -q "\"emergency\": *true" "$tmp/out" && grep -q "the old vendor is gone" "$tmp/out"'

# ---- a vendor with data but no location: never silently left out -----------

cat >"$tmp/nowhere.yaml" <<'EOF'
id: nowhere
name: Nowhere Inc
purpose: Somewhere
services: [analytics]
data_categories: [user.contact.email]
status: active
EOF
spreg put "$tmp/nowhere.yaml"
spreg assess --subprocessor nowhere
check "assess: a vendor without a location shows UNKNOWN_LOCATION and fails (exit 5)" \
	'[ $rc -eq 5 ] && grep -q "^nowhere .* UNKNOWN_LOCATION " "$tmp/out" && out_has "^  failing [1-9].*UNKNOWN_LOCATION"'

# ---- an announcement crossing its date, the server restarted ---------------
# spregd-test's clock (SPREG_TEST_CLOCK_FILE, an offset in ms) reaches
# the days; the machine's clock is never touched. Last but one, since the
# server's today moves on from here.
cat >"$tmp/nimbus.yaml" <<'EOF'
id: nimbus
name: Nimbus Billing
legal_entity: Nimbus Billing SAS
purpose: Invoice delivery
services: [billing]
data_categories: [user.contact.email]
locations:
  - {country: FR, role: processing}
status: active
EOF
spreg announce "$tmp/nimbus.yaml" --effective "$(day 45)"
check "announce nimbus for day 45: accepted" \
	'[ $rc -eq 0 ] && out_has "^announced nimbus effective $(day 45) "'
s3=$(sed -n 's/.*change seq \([0-9]*\).*/\1/p' "$tmp/out")
on_day() {	# on_day N: restart main as spregd-test, its clock N days on
	spregd_stop main
	echo $(( $1 * 86400000 + 3600000 )) >"$tmp/clock"
	SPREGD_RUN="${SPREGD_TEST:?}" SPREG_TEST_CLOCK_FILE="$tmp/clock" spregd_start main
}
on_day 44
spreg get nimbus
check "on day 44, after a restart: nimbus is still only proposed" \
	'[ $rc -eq 0 ] && out_has "^status: proposed$"'
on_day 45
spreg get nimbus
check "on day 45, after a restart: nimbus is active, no one touching it" \
	'[ $rc -eq 0 ] && out_has "^status: active$"'
spreg changes --since "$s3" --json
check "the log says announcement s3 took effect on day 45" \
	'[ $rc -eq 0 ] && grep "\"kind\": *\"took_effect\"" "$tmp/out" | grep "\"ref_seq\": *\"*$s3" | grep -q "$(day 45)"'
spreg announcements
check "announcement s3 is shown applied" '[ $rc -eq 0 ] && grep -q "^$s3  *$(day 45)  *nimbus .* applied" "$tmp/out"'

# ---- the end of a customer --------------------------------------------------------

spreg customer delete acme
check "customer delete" '[ $rc -eq 0 ] && out_has "^customer-deleted acme (change seq [0-9]*)$"'
spreg customer delete acme
check "customer delete again: exit 2" '[ $rc -eq 2 ]'
spreg list "${acme[@]}"
check "the deleted customer's token sees nothing it may not" '[ $rc -ne 0 -o "$(out_lines)" -le 1 ]'

finish
