#!/usr/bin/env bash
# E-mail notices (issue 14): spregd --smtp sends each contact of a
# customer one notice per announced change, with the vendor, countries,
# data categories, the effective date and how and until when to object;
# the customer's non-ASCII name is RFC 2047-encoded in To:. The sink
# (tests/support/smtp_sink.py, Debian's python3-aiosmtpd) first refuses
# recipients ("451 try again later"): the notices come once it accepts.
# A withdrawal is told too; a change that concerns no customer is not.
# With --mail-digest, changes within the period come as one message.
# Waits are bounded, only to end a run that went wrong.
set -euo pipefail

: "${SPREG_SOURCE:?source root}"
. "$SPREG_SOURCE/tests/support/cli.sh"

sink_pid=
trap 'if [ -n "$sink_pid" ]; then kill "$sink_pid" 2>/dev/null || true; fi; cleanup' EXIT
/usr/bin/python3 "$SPREG_SOURCE/tests/support/smtp_sink.py" \
	--port-file "$tmp/smtp.port" --log "$tmp/mail.jsonl" --refuse 3 &
sink_pid=$!
for _ in $(seq 400); do [ -s "$tmp/smtp.port" ] && break; sleep 0.05; done
port=$(cat "$tmp/smtp.port")

# The credentials file must be readable: a missing one stops the start.
set +e
"$SPREGD" --http none --data "$tmp/nocred" --listen "ipc://$tmp/nocred.ipc" \
	--publish "ipc://$tmp/nocred-pub.ipc" --smtp "smtp://127.0.0.1:$port" \
	--smtp-credentials "$tmp/no-such-file" >/dev/null 2>"$tmp/err"
rc=$?
set -e
check "an unreadable --smtp-credentials stops spregd, naming the file" \
	'[ $rc -eq 1 ] && err_has "no-such-file"'

printf 'spreg:secret\n' >"$tmp/cred"
spregd_start main --smtp "smtp://127.0.0.1:$port" --smtp-credentials "$tmp/cred" \
	--smtp-from registry@example.test --webhook-retry-max 1 --log-level info
export SPREG_SERVER="ipc://$tmp/main.ipc"
export SPREG_TOKEN_FILE="$tmp/main/admin.token"
today=$("$SPREG_BIN" info --json | /usr/bin/python3 -c \
	'import json,sys; print(json.load(sys.stdin)["started_at"][:10])')
day() { date -u -d "$today + $1 days" +%F; }

cat >"$tmp/acme.yaml" <<'EOF'
id: acme
name: Acme Zürich GmbH
services: [support]
regime: eu
notice_days: 30
contacts: [dpo@acme.example, legal@acme.example]
EOF
spreg customer put "$tmp/acme.yaml"
check "customer with two contacts" '[ $rc -eq 0 ]'
# A contact's notices start with the changes after the sender first saw
# it, which it logs.
for _ in $(seq 600); do
	grep -q "notices to legal@acme.example for customer acme start" "$tmp/main.log" && break
	sleep 0.1
done
check "the sender follows both contacts" \
	'grep -q "notices to dpo@acme.example for customer acme start" "$tmp/main.log" && grep -q "notices to legal@acme.example" "$tmp/main.log"'

cat >"$tmp/deepl.yaml" <<'EOF'
id: deepl
name: DeepL
legal_entity: DeepL SE
purpose: Machine translation of support tickets
services: [support]
data_categories: [user.content.private, user.contact.email]
locations:
  - {country: de, role: processing}
status: active
EOF
spreg announce "$tmp/deepl.yaml" --effective "$(day 30)"
check "announce" '[ $rc -eq 0 ]'
seq_announced=$(sed -n 's/.*change seq \([0-9]*\).*/\1/p' "$tmp/out")

# A vendor of another service concerns no customer: no mail.
sed 's/^id: deepl/id: other/; s/\[support\]/[hr]/' "$tmp/deepl.yaml" >"$tmp/other.yaml"
spreg put "$tmp/other.yaml"
check "a change for no customer" '[ $rc -eq 0 ]'

wait_lines() {	# wait_lines N: mail.jsonl has N lines, within 60 s
	for _ in $(seq 600); do
		[ "$(wc -l <"$tmp/mail.jsonl" 2>/dev/null || echo 0)" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
wait_lines 2 || true
check "one notice per contact, after the relay refused three times" \
	'[ "$(wc -l <"$tmp/mail.jsonl")" -eq 2 ] && grep -q "retrying" "$tmp/main.log"'

/usr/bin/python3 - "$tmp/mail.jsonl" "$(day 30)" "$seq_announced" >"$tmp/out" 2>&1 <<'PY' && rc=0 || rc=$?
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
day, seq = sys.argv[2], sys.argv[3]
assert sorted(m["to"] for m in lines) == ["dpo@acme.example", "legal@acme.example"], lines
for m in lines:
    assert "Acme Zürich GmbH" in m["header_to"], m["header_to"]
    assert "=?UTF-8?B?" in m["raw_to"], m["raw_to"]
    assert m["raw_subject"].isascii(), m["raw_subject"]
    assert "announced change: DeepL, effective " + day in m["subject"], m["subject"]
    b = m["body"]
    for want in ("DeepL (deepl), DeepL SE", "Countries: DE (processing)",
                 "user.content.private, user.contact.email",
                 "Effective: " + day, "before " + day,
                 "spreg object " + seq + " --customer acme"):
        assert want in b, (want, b)
print("ok")
PY
check "each notice: vendor, countries, categories, dates, how to object; To: encoded" \
	'[ $rc -eq 0 ]'

spreg withdraw "$seq_announced" --reason "chose another vendor"
check "withdraw" '[ $rc -eq 0 ]'
wait_lines 4 || true
check "the withdrawal is told to both contacts" \
	'[ "$(grep -c "announcement withdrawn" "$tmp/mail.jsonl")" -eq 2 ]'

# A restart sends nothing again: the positions are in the store. The
# next announcement's notices are the only ones after it (a resend of
# the old ones would come first: a contact's notices go in seq order).
spregd_stop main
spregd_start main --smtp "smtp://127.0.0.1:$port" --smtp-from registry@example.test
sed 's/^id: deepl/id: lingo/; s/^name: DeepL/name: Lingo/' "$tmp/deepl.yaml" >"$tmp/lingo.yaml"
spreg announce "$tmp/lingo.yaml" --effective "$(day 31)"
check "announce after a restart" '[ $rc -eq 0 ]'
wait_lines 6 || true
check "after a restart only the new change is sent" \
	'[ "$(wc -l <"$tmp/mail.jsonl")" -eq 6 ] && [ "$(tail -n 2 "$tmp/mail.jsonl" | grep -c "Lingo")" -eq 2 ]'
spregd_stop main
check "spregd stops cleanly" '[ "$spregd_status" -eq 0 ]'

# --mail-digest 1: a contact gets at most one message a minute. The first
# change goes at once; two more within the minute come together in one
# message per contact once it has passed (a wait of about a minute,
# bounded at three).
spregd_start main --smtp "smtp://127.0.0.1:$port" --smtp-from registry@example.test \
	--mail-digest 1
for v in alpha beta gamma; do
	sed "s/^id: deepl/id: $v/; s/^name: DeepL/name: Vendor-$v/" "$tmp/deepl.yaml" >"$tmp/$v.yaml"
done
spreg announce "$tmp/alpha.yaml" --effective "$(day 32)"
wait_lines 8 || true
check "digest: the first change is sent at once, alone" \
	'[ "$(wc -l <"$tmp/mail.jsonl")" -eq 8 ] && [ "$(tail -n 2 "$tmp/mail.jsonl" | grep -c "Vendor-alpha")" -eq 2 ]'
spreg announce "$tmp/beta.yaml" --effective "$(day 33)"
spreg announce "$tmp/gamma.yaml" --effective "$(day 34)"
for _ in $(seq 1800); do
	[ "$(wc -l <"$tmp/mail.jsonl")" -ge 10 ] && break
	sleep 0.1
done
sleep 1	# a third message, if the sender wrongly sent one per change
/usr/bin/python3 - "$tmp/mail.jsonl" >"$tmp/out" 2>&1 <<'PY' && rc=0 || rc=$?
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])][8:]
assert len(lines) == 2, [m["subject"] for m in lines]
assert sorted(m["to"] for m in lines) == ["dpo@acme.example", "legal@acme.example"]
for m in lines:
    assert m["subject"] == "[spreg] 2 changes to your subprocessors", m["subject"]
    assert "Vendor-beta" in m["body"] and "Vendor-gamma" in m["body"], m["body"]
print("ok")
PY
check "digest: the next two changes come as one message per contact" '[ $rc -eq 0 ]'
spregd_stop main

finish
