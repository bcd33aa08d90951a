#!/usr/bin/env bash
# Damage and old stores: a byte flipped inside stored records, straight
# in LMDB behind the running server, is reported as DATA_LOSS naming the
# record, never served, and turns the server read-only; a store written
# by schema version 2 (tests/fixtures/store-v2, made by main at f7e6141)
# is migrated in place, a copy kept, nothing lost.
set -euo pipefail
: "${SPREG_SOURCE:?}"
. "$SPREG_SOURCE/tests/support/cli.sh"
tamper="$SPREG_BUILD/tests/tamper_tool"
fixture="$SPREG_SOURCE/tests/fixtures/store-v2"
# One server at a time, "s", on the data folder DIR, logging to LOG.
start() {	# start DIR LOG
	SPREGD_DATA=$1 SPREGD_LOG=$2 SPREGD_LOG_LEVEL=info spregd_try s
}
stop() { spregd_stop s; }
export SPREG_SERVER="ipc://$tmp/s.ipc"

# ---- a byte flipped in a stored record --------------------------------------
start "$tmp/var" "$tmp/server.log"
export SPREG_TOKEN_FILE="$tmp/var/admin.token"
run get stripe
check "stripe is served before the damage" '[ $rc -eq 0 ] && grep -q "^legal_entity: Stripe, Inc." <<<"$out"'

# "Stripe, Inc." becomes "Rtripe, Inc." in the current record.
"$tamper" "$tmp/var" sp stripe "Stripe, Inc."
run get stripe
check "the damaged record: DATA_LOSS naming it, exit 3" \
	'[ $rc -eq 3 ] && grep -q "DATA_LOSS" <<<"$out" && grep -q "subprocessor '"'"'stripe'"'"'" <<<"$out"'
check "no flipped byte is returned by get" '! grep -q "Rtripe" <<<"$out"'
run get stripe --json
check "nor by get --json" '[ $rc -eq 3 ] && ! grep -q "Rtripe" <<<"$out"'
run list
check "a page holding it: DATA_LOSS naming it, never an unreadable reply" \
	'[ $rc -eq 3 ] && grep -q "DATA_LOSS" <<<"$out" && grep -q "'"'"'stripe'"'"'" <<<"$out" && ! grep -q "not a ListSubprocessorsResponse" <<<"$out" && ! grep -q Rtripe <<<"$out"'
run list --as-of 2026-01-01 --json
check "the as-of listing too" '[ $rc -eq 3 ] && grep -q "'"'"'stripe'"'"'" <<<"$out" && ! grep -q Rtripe <<<"$out"'
run get aws
check "other records are still served" '[ $rc -eq 0 ] && grep -q "^id: aws" <<<"$out"'
run list --country AU
check "a page without it is still served" '[ $rc -eq 0 ] && grep -q "^atlassian " <<<"$out"'
cat >"$tmp/deepl.yaml" <<'YAML'
id: deepl
name: DeepL
legal_entity: DeepL SE
purpose: Machine translation of support tickets
website: https://www.deepl.com
services: [support]
data_categories: [user.content.private, user.contact.email]
locations:
  - {country: DE, role: processing}
status: active
effective_from: "2026-12-01"
YAML
run put "$tmp/deepl.yaml"
check "writes are refused: FAILED_PRECONDITION, read-only, the damage named" \
	'[ $rc -eq 3 ] && grep -q "FAILED_PRECONDITION" <<<"$out" && grep -q "read-only" <<<"$out" && grep -q "'"'"'stripe'"'"'" <<<"$out"'
run retire aws
check "every write" '[ $rc -eq 3 ] && grep -q "read-only" <<<"$out"'
run info
check "ServerInfo says read-only and why" \
	'[ $rc -eq 0 ] && grep -q "^read_only: .*subprocessor '"'"'stripe'"'"'" <<<"$out"'
run info --json
check "in JSON too" '[ $rc -eq 0 ] && grep -q "\"read_only\": *true" <<<"$out"'
check "the server logged it loudly" 'grep -q "STORE DAMAGED: subprocessor '"'"'stripe'"'"'.*READ-ONLY" "$tmp/server.log"'

# History and the change log are checked as well.
"$tamper" "$tmp/var" sp_hist hist:aws:1
run get aws --as-of 2000-01-01T00:00:00Z
check "a damaged history revision: DATA_LOSS naming it" \
	'[ $rc -eq 3 ] && grep -q "subprocessor '"'"'aws'"'"' revision 1" <<<"$out"'
"$tamper" "$tmp/var" changes seq:4
run changes
check "a damaged change-log entry: DATA_LOSS naming its seq" \
	'[ $rc -eq 3 ] && grep -q "DATA_LOSS" <<<"$out" && grep -q "change seq 4" <<<"$out"'
run verify
check "verify names the first damage (exit 6)" '[ $rc -eq 6 ] && grep -q "'"'"'aws'"'"' revision 1" <<<"$out"'
stop
check "the server did not crash" '! grep -q "AddressSanitizer" "$tmp/server.log"'

# ---- a version 2 store is migrated in place ---------------------------------
# started_on FIXTURE DIR LOG: spregd on a copy of FIXTURE's store in DIR,
# its log in LOG and in $out, SPREG_TOKEN_FILE its admin token.
started_on() {
	mkdir "$2"
	cp "$1/data.mdb" "$1/admin.token" "$2/"
	chmod 600 "$2/data.mdb" "$2/admin.token"
	start "$2" "$3"
	export SPREG_TOKEN_FILE="$2/admin.token"
	out=$(cat "$3")
}
started_on "$fixture" "$tmp/old" "$tmp/migrate.log"
check "started, and said what it did" 'grep -q "migrated the store in .* to schema version 5: [0-9]* values checksummed, 25 records indexed; the version 2 store is kept in .*data.mdb.v2.bak" <<<"$out"'
check "the old store is kept beside it" '[ -s "$tmp/old/data.mdb.v2.bak" ]'
run info
check "schema version 5" '[ $rc -eq 0 ] && grep -q "^schema_version: 5" <<<"$out"'
run verify
check "verify is clean: every entry and record" '[ $rc -eq 0 ] && grep -q "^ok: 28 log entries, 25 records checked" <<<"$out"'
run changes --json
check "the change log is intact" '[ $rc -eq 0 ] && diff <(echo "$out") "$fixture/changes.jsonl" >/dev/null'
run list --json
check "every record is intact" '[ $rc -eq 0 ] && diff <(echo "$out") "$fixture/list.jsonl" >/dev/null'
run list --customer acme
check "customers too" '[ $rc -eq 0 ] && grep -q "^stripe " <<<"$out" && grep -q "^fastspring " <<<"$out"'
run token list
check "and tokens" '[ $rc -eq 0 ] && grep -q "^dashboard " <<<"$out"'
run categories
check "and user categories" '[ $rc -eq 0 ] && grep -q "user.contact.email.work" <<<"$out"'
sed 's/^id: deepl/id: deepl2/' "$tmp/deepl.yaml" >"$tmp/deepl2.yaml"
run put "$tmp/deepl2.yaml"
check "it takes writes, continuing the chain" '[ $rc -eq 0 ] && grep -q "change seq 29" <<<"$out"'
stop
start "$tmp/old" "$tmp/migrate2.log"
check "a second start migrates nothing" '! grep -q "migrat" "$tmp/migrate2.log"'
run verify
check "and verifies" '[ $rc -eq 0 ] && grep -q "^ok: 29 log entries" <<<"$out"'
stop

# migrated V RECORDS ENTRIES: starts on a copy of tests/fixtures/store-vV
# (made by the make.sh beside it) and checks the migration to the
# current schema: said in the log, the old store kept, verify clean
# (ENTRIES log entries, RECORDS records), the log, every record, a
# customer, an objection and a token intact. Leaves the server running
# with SPREG_TOKEN_FILE set; "$fx" is the fixture.
migrated() {
	local v=$1 records=$2 entries=$3
	fx="$SPREG_SOURCE/tests/fixtures/store-v$v"
	started_on "$fx" "$tmp/v$v" "$tmp/v$v.log"
	check "v$v: migrated in place, said so" 'grep -q "migrated the store in .* to schema version 5: 0 values checksummed, $records records indexed; the version $v store is kept in .*data.mdb.v$v.bak" <<<"$out"'
	check "v$v: the old store is kept beside it" '[ -s "$tmp/v$v/data.mdb.v$v.bak" ]'
	run verify
	check "v$v: verify is clean: every entry and record" '[ $rc -eq 0 ] && grep -q "^ok: $entries log entries, $records records checked" <<<"$out"'
	run changes --json
	check "v$v: the change log is intact" '[ $rc -eq 0 ] && diff <(echo "$out") "$fx/changes.jsonl" >/dev/null'
	run list --json
	check "v$v: every record is intact" '[ $rc -eq 0 ] && diff <(echo "$out") "$fx/list.jsonl" >/dev/null'
	run list --customer acme
	check "v$v: customers too" '[ $rc -eq 0 ] && grep -q "^stripe " <<<"$out"'
	run objections --customer acme
	check "v$v: and objections" '[ $rc -eq 0 ] && grep -q "not in our DPA" <<<"$out"'
	run token list
	check "v$v: and tokens" '[ $rc -eq 0 ] && grep -q "^dashboard " <<<"$out"'
}
# restarted V: a second start on the migrated store migrates nothing.
restarted() {
	stop
	start "$tmp/v$1" "$tmp/v$1b.log"
	check "v$1: a second start migrates nothing" '! grep -q "migrat" "$tmp/v$1b.log"'
	stop
}

# ---- a version 3 store (today's main before issue 15) is migrated ----------
# tests/fixtures/store-v3, made by make.sh beside it with main at 4138025:
# the sample, a customer, a user category, a token, an announcement, an
# objection, a retirement. Version 4 indexes purposes and kinds: a store
# opened without the migration would list no vendor under --kind.
migrated 3 25 29
run list --kind subprocessor --json
check "v3: every record is in the new kind index" '[ $rc -eq 0 ] && [ "$(wc -l <<<"$out")" -eq "$(wc -l <"$fx/list.jsonl")" ]'
restarted 3

# ---- a version 4 store (main before fourth parties) is migrated ------------
# tests/fixtures/store-v4, made by make.sh beside it with main at c3cda6c:
# the sample with its purposes, a customer and its own vendor (kind
# customer_selected), a user category, a token, an announcement, an
# objection, a retirement. Version 5 indexes fourth parties.
migrated 4 26 30
run list --kind customer_selected
check "v4: the kind index still holds" '[ $rc -eq 0 ] && grep -q "^llm-provider " <<<"$out"'
run list --customer acme
check "v4: the customer's own vendor is in its view" '[ $rc -eq 0 ] && grep -q "^llm-provider " <<<"$out"'
run list --fourth-party aws
check "v4: --fourth-party answers (the fixture's vendors have none)" '[ $rc -eq 0 ] && ! grep -q "^[a-z]" <<<"$(tail -n +2 <<<"$out")"'
restarted 4

# ---- a version 5 store of main before follows --------------------------------
# tests/fixtures/store-v5, made by make.sh beside it with main at a5a138e:
# as store-v4, on schema version 5, when spregd kept no follows. The
# follows table is made empty at open, as the delivery tables were: no
# migration and no version of its own (db/follow.h), and a server of
# that main still opens the store (it never looks at the new table).
fx="$SPREG_SOURCE/tests/fixtures/store-v5"
started_on "$fx" "$tmp/v5" "$tmp/v5.log"
check "v5: opens, nothing to migrate" '! grep -q "migrat" <<<"$out" && ! ls "$tmp/v5"/data.mdb.v*.bak >/dev/null 2>&1'
run vendor follows
check "v5: it follows nothing" '[ $rc -eq 0 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -q "^VENDOR " <<<"$out"'
run verify
check "v5: verify is clean: every entry and record" '[ $rc -eq 0 ] && grep -q "^ok: 30 log entries, 26 records checked" <<<"$out"'
run changes --json
check "v5: the change log is intact" '[ $rc -eq 0 ] && diff <(echo "$out") "$fx/changes.jsonl" >/dev/null'
run list --json
check "v5: every record is intact, fourth parties included" '[ $rc -eq 0 ] && diff <(echo "$out") "$fx/list.jsonl" >/dev/null && grep -q "\"fourth_parties\"" <<<"$out"'
run vendor follow intercom "http://127.0.0.1:1/subprocessors.json"
check "v5: a follow whose URL does not answer is refused, naming url" \
	'[ $rc -eq 3 ] && grep -q "^spreg: FAILED_PRECONDITION: url: " <<<"$out"'
run verify
check "v5: and wrote nothing" '[ $rc -eq 0 ] && grep -q "^ok: 30 log entries, 26 records checked" <<<"$out"'
stop

# ---- a version 2 store's dated retirement is scheduled ----------------------
# Version 2 kept no schedule of dates (tests/fixtures/store-v2-dated, a
# vendor with effective_until 2027-06-30, its first day out, made by
# main at f7e6141 from dated.yaml beside it): the migration makes one,
# so the vendor retires on that day by itself. The days are reached
# with spregd-test's clock, never the machine's.
dated="$SPREG_SOURCE/tests/fixtures/store-v2-dated"
mkdir "$tmp/dated"
cp "$dated/data.mdb" "$dated/admin.token" "$tmp/dated/"
chmod 600 "$tmp/dated/data.mdb" "$tmp/dated/admin.token"
export SPREG_TOKEN_FILE="$tmp/dated/admin.token"
on_day() {	# on_day TIME: restart spregd-test with its clock at TIME
	stop
	echo $(( ($(date -u -d "$1" +%s) - $(date -u +%s)) * 1000 )) >"$tmp/clock"
	SPREGD_RUN="${SPREGD_TEST:?}" SPREG_TEST_CLOCK_FILE="$tmp/clock" \
		start "$tmp/dated" "$tmp/dated.log"
}
on_day 2027-06-29T23:30:00Z
run get dated
check "migrated: in use on its last day" '[ $rc -eq 0 ] && grep -q "^status: active" <<<"$out"'
on_day 2027-06-30T00:30:00Z
run get dated
check "retired on its effective_until with no one touching it" '[ $rc -eq 0 ] && grep -q "^status: retired" <<<"$out"'
run changes --json
check "and logged as a retirement dated 2027-06-30" '[ $rc -eq 0 ] && tail -1 <<<"$out" | grep -q "\"kind\":\"retired\".*\"effective_at\":\"2027-06-30\""'
stop

# ---- a restored older copy under a running watcher -------------------------
watch_pid=
stop_watch() { if [ -n "$watch_pid" ]; then kill "$watch_pid" 2>/dev/null || true; wait "$watch_pid" 2>/dev/null || true; fi; watch_pid=; }
trap 'stop_watch; cleanup' EXIT
put_vendor() {	# put_vendor ID
	sed "s/^id: deepl/id: $1/" "$tmp/deepl.yaml" >"$tmp/$1.yaml"
	run put "$tmp/$1.yaml"
	[ $rc -eq 0 ] || echo "put $1: $out"
}
wait_for() {	# wait_for PATTERN FILE
	for _ in $(seq 600); do grep -q "$1" "$2" 2>/dev/null && return 0; sleep 0.05; done
	return 1
}
store_id() { "$SPREG_BIN" info | sed -n 's/^store_id: //p'; }
start "$tmp/r" "$tmp/restore.log"
export SPREG_TOKEN_FILE="$tmp/r/admin.token"
id_first=$(store_id)
"$SPREG_BIN" watch --since 0 --pub "ipc://$tmp/s-pub.ipc" >"$tmp/watch.out" 2>"$tmp/watch.err" &
watch_pid=$!
wait_for "^27 " "$tmp/watch.out" || true	# the sample: 26 vendors, 1 customer
stop
start "$tmp/r" "$tmp/restore.log"
out=$(store_id)
check "the store's identity is stable across restarts" '[ -n "$id_first" ] && [ "$out" = "$id_first" ]'
put_vendor restore-a1	# seq 28
stop
cp "$tmp/r/data.mdb" "$tmp/copy.mdb"	# the copy restored below, at seq 28
start "$tmp/r" "$tmp/restore.log"
put_vendor restore-a2	# seq 29
put_vendor restore-a3	# seq 30
wait_for "restore-a3" "$tmp/watch.out" || true
stop
cp "$tmp/copy.mdb" "$tmp/r/data.mdb"
start "$tmp/r" "$tmp/restore.log"
id_restored=$(store_id)
check "a restored older copy has a new identity" '[ -n "$id_restored" ] && [ "$id_restored" != "$id_first" ]'
out=$(cat "$tmp/restore.log")
check "the server says the store was restored or replaced" 'grep -q "restored from an older copy or replaced" <<<"$out"'
put_vendor restore-b1	# seq 29 again
put_vendor restore-b2	# seq 30 again
put_vendor restore-b3	# seq 31
wait_for "restore-b3" "$tmp/watch.out" || true
stop_watch
out=$(cat "$tmp/watch.err")
check "the watcher reports the restore on stderr" 'grep -q "spreg: watch: the server.s store was restored from an older copy or replaced" <<<"$out"'
out=$(cat "$tmp/watch.out")
check "and prints every change written after the restore" \
	'grep -q "^29 .*restore-b1" <<<"$out" && grep -q "^30 .*restore-b2" <<<"$out" && grep -q "^31 .*restore-b3" <<<"$out"'
check "after the changes it had printed before" \
	'[ "$(grep -c "^28 .*restore-a1" <<<"$out")" -eq 1 ] && grep -q "^30 .*restore-a3" <<<"$out" && [ "$(grep -c "^2[3-7] " <<<"$out")" -eq 5 ]'
stop

finish
