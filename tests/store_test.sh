#!/usr/bin/env bash
# The data folder as a bad night in operations leaves it: an empty, short
# or missing data.mdb; two servers on one folder; 20 first starts at once;
# a data file truncated under the running server; a full file system (a
# small tmpfs) at a first start and under a write load. Each must end in a
# clear refusal naming the file, never a first start on top of a store,
# never a SIGBUS, never a lost acknowledged write.
set -euo pipefail
: "${SPREG_SOURCE:?source root}"
. "$SPREG_SOURCE/tests/support/cli.sh"
pids=()
mnt=
store_cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ -n "$mnt" ] && mountpoint -q "$mnt"; then umount "$mnt" || true; fi
	cleanup
}
trap store_cleanup EXIT

skipped=0
check() {
	if eval "$2"; then
		echo "ok - $1"; passed=$((passed + 1))
	else
		echo "not ok - $1"; failed=$((failed + 1))
		[ -n "${log:-}" ] && [ -f "$log" ] && tail -n 5 "$log" | sed 's/^/#   log: /'
		true
	fi
}
skip() { echo "ok - $1 # SKIP $2"; skipped=$((skipped + 1)); }

# start DIR NAME [spregd options]: starts spregd on DIR, its URLs, ready
# file and log named NAME (the log new each time, at level info); true
# once it serves, false if it exited first. Sets pid and log.
start() {
	local dir=$1 name=$2 started=0
	shift 2
	log="$tmp/$name.log"
	: >"$log"
	SPREGD_DATA=$dir SPREGD_LOG_LEVEL=info SPREGD_WAIT=20 \
		spregd_try "$name" "$@" || started=1
	pid=${spregd_pids[$name]}
	pids+=("$pid")
	return $started
}
# Waits (bounded) for pid to end by itself; its exit status in rc.
reap() {
	for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -9 "$pid" 2>/dev/null || true
	rc=0; wait "$pid" || rc=$?
}
stop() { kill "$pid" 2>/dev/null || true; rc=0; wait "$pid" || rc=$?; }
# A start that must be refused: true when spregd exited non-zero
# without serving (a server that did start is stopped).
refused() {
	if start "$@"; then stop; rc=0; return 1; fi
	reap
	[ "$rc" -ne 0 ] && [ "$rc" -lt 128 ]
}
# call NAME DIR ARGS...: spreg against server NAME with DIR's admin token.
call() {
	local name=$1 dir=$2
	shift 2
	out=$(SPREG_SERVER="ipc://$tmp/$name.ipc" SPREG_TOKEN_FILE="$dir/admin.token" \
		timeout 60 "$SPREG_BIN" "$@" 2>&1) && crc=0 || crc=$?
}
# What a refused start must not change: the token, the data file, the
# names in the folder (spregd.lock aside: it holds the last pid).
fingerprint() {
	(cd "$1" && for f in admin.token data.mdb; do
		if [ -e "$f" ]; then sha256sum "$f"; else echo "no $f"; fi
	done; ls -1 | grep -vx spregd.lock) || true
}
# damaged NAME WHAT PATTERN: with $var's data.mdb damaged, a start is
# refused with a line matching PATTERN, and the folder left as it was.
damaged() {
	local before pattern=$3
	before=$(fingerprint "$var")
	refused "$var" "$1" && rrc=0 || rrc=1
	check "$2 is refused, naming the file (exit $rc)" \
		'[ $rrc -eq 0 ] && grep -q "$pattern" "$log"'
	check "... the folder unchanged: admin.token not rewritten, no sample" \
		'[ "$(fingerprint "$var")" = "$before" ] && ! grep -q "loaded" "$log"'
}
vendor_yaml() {	# vendor_yaml ID PURPOSE_BYTES > FILE
	printf 'id: %s\nname: Vendor %s\nlegal_entity: Vendor GmbH\npurpose: %s\n' \
		"$1" "$1" "$(head -c "$2" /dev/zero | tr '\0' x)"
	printf 'website: https://example.com\nservices: [support]\n'
	printf 'data_categories: [user.contact.email]\nlocations:\n'
	printf '  - {country: DE, role: processing}\nstatus: active\n'
	printf 'effective_from: "2026-01-01"\n'
}

# ---- a store to damage ---------------------------------------------------
var="$tmp/var"
if ! start "$var" a; then cat "$log"; echo "spregd did not start"; exit 1; fi
vendor_yaml acme 100 >"$tmp/acme.yaml"
call a "$var" put "$tmp/acme.yaml"
check "first start: sample loaded, token written, a write acknowledged" \
	'[ $crc -eq 0 ] && grep -q "loaded 26 subprocessor(s) and 1 customer(s)" "$log" && [ -s "$var/admin.token" ]'
stop
cp "$var/data.mdb" "$tmp/good.mdb"
size=$(stat -c %s "$tmp/good.mdb")

: >"$var/data.mdb"
damaged empty "an empty data.mdb" "$var/data.mdb is empty"
head -c 5000 "$tmp/good.mdb" >"$var/data.mdb"
damaged short1 "a 5000-byte data.mdb" "$var/data.mdb is 5000 bytes.*truncated"
head -c $((size / 2)) "$tmp/good.mdb" >"$var/data.mdb"
damaged short2 "a data.mdb shorter than its meta pages say (no SIGBUS)" \
	"$var/data.mdb is $((size / 2)) bytes, but the store in it ends at byte"
rm "$var/data.mdb"
damaged missing "a missing data.mdb beside admin.token" \
	"$var/data.mdb is missing, but the folder held a store"

cp "$tmp/good.mdb" "$var/data.mdb"
start "$var" a && src=0 || src=1
call a "$var" get acme
check "the restored file serves again, with the first admin token" \
	'[ $src -eq 0 ] && [ $crc -eq 0 ] && grep -q "^id: acme" <<<"$out"'

# ---- two servers on one folder ------------------------------------------
first=$pid
refused "$var" second && rrc=0 || rrc=1
check "a second spregd on the folder is refused, naming it and the holder's pid" \
	'[ $rrc -eq 0 ] && grep -q "data folder $var is in use by another spregd (pid $first" "$log"'
pid=$first
vendor_yaml beta 100 >"$tmp/beta.yaml"
call a "$var" put "$tmp/beta.yaml"
check "... the first keeps serving writes" '[ $crc -eq 0 ] && grep -q "created beta" <<<"$out"'
stop

# An existing store, however empty, never gets the sample.
start "$tmp/nosample" ns --no-sample && stop
start "$tmp/nosample" ns && src=0 || src=1
call ns "$tmp/nosample" info
check "a store made with --no-sample stays empty when restarted without it" \
	'[ $src -eq 0 ] && grep -q "^subprocessors: 0" <<<"$out"'
stop

# ---- 20 first starts at once, in pairs ----------------------------------
wins=0
for i in $(seq 20); do
	d="$tmp/race$i"
	for n in x y; do
		rm -f "$tmp/r$i$n.ready"
		"$SPREGD" --http none --data "$d" --listen "ipc://$tmp/r$i$n.ipc" \
			--publish "ipc://$tmp/r$i$n.pub" --ready-file "$tmp/r$i$n.ready" \
			2>"$tmp/r$i$n.log" &
		eval "p$n=\$!"
		pids+=("$!")
	done
	# Each either serves or exits; wait (bounded) until both have.
	for _ in $(seq 400); do
		done_=0
		for n in x y; do
			eval "p=\$p$n"
			if [ -s "$tmp/r$i$n.ready" ] || ! kill -0 "$p" 2>/dev/null; then done_=$((done_ + 1)); fi
		done
		[ $done_ -eq 2 ] && break
		sleep 0.05
	done
	serving=0 winner=
	for n in x y; do
		eval "p=\$p$n"
		if kill -0 "$p" 2>/dev/null; then serving=$((serving + 1)); winner=$n
		elif ! grep -q "is in use by another spregd" "$tmp/r$i$n.log"; then
			serving=9	# exited for another reason
		fi
	done
	if [ $serving -eq 1 ]; then
		call "r$i$winner" "$d" info
		[ $crc -eq 0 ] && wins=$((wins + 1))
	fi
	for n in x y; do eval "p=\$p$n"; kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
done
check "20 pairs of first starts: each time one serves, one is refused, and the token on disk is the winner's ($wins of 20)" \
	'[ $wins -eq 20 ]'

# ---- a data file truncated under the running server ---------------------
cp -r "$var" "$tmp/bus"
start "$tmp/bus" bus && src=0 || src=1
truncate -s 8192 "$tmp/bus/data.mdb"
(SPREG_SERVER="ipc://$tmp/bus.ipc" SPREG_TOKEN_FILE="$tmp/bus/admin.token" \
	timeout 20 "$SPREG_BIN" list >/dev/null 2>&1 || true) &
client=$!
reap
check "data.mdb truncated under the server: one line naming it, exit 1, not a bare SIGBUS (exit $rc)" \
	'[ $src -eq 0 ] && [ $rc -eq 1 ] && grep -q "SIGBUS reading $tmp/bus/data.mdb" "$log"'
wait "$client"

# ---- a full file system --------------------------------------------------
mnt="$tmp/mnt"
mkdir "$mnt"
if ! mount -t tmpfs -o size=64k tmpfs "$mnt" 2>/dev/null; then
	mnt=
	skip "first start on a full file system" "cannot mount a tmpfs here"
	skip "writes under load on a full file system" "cannot mount a tmpfs here"
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit
fi
umount "$mnt"
bad=0 tried=0
for s in 8k 16k 64k 128k 176k 200k 224k; do
	mount -t tmpfs -o "size=$s" tmpfs "$mnt"
	tried=$((tried + 1))
	if start "$mnt/var" full; then
		stop
	else
		reap
		# A clear refusal: exit 1, the disk named as full, no I/O error.
		if [ "$rc" -ne 1 ] || ! grep -q "disk.*full" "$log" ||
			grep -qi "input/output\|SIGBUS" "$log"; then
			echo "# size $s: exit $rc"; sed 's/^/#   log: /' "$log"
			bad=$((bad + 1))
		fi
		# Space freed, the cut-short first start starts over.
		mount -o remount,size=1m "$mnt"
		if ! start "$mnt/var" full; then
			echo "# size $s: no first start after freeing space"; sed 's/^/#   log: /' "$log"
			bad=$((bad + 1))
		else
			call full "$mnt/var" info
			[ $crc -eq 0 ] && grep -q "^subprocessors: 26" <<<"$out" || bad=$((bad + 1))
			stop
		fi
	fi
	umount "$mnt"
done
check "first start on a full tmpfs: a clear disk-full refusal, then a whole first start once space is freed ($bad bad of $tried)" \
	'[ $bad -eq 0 ]'

# Writes under load: four writers fill the disk, then go on.
mount -t tmpfs -o size=4m tmpfs "$mnt"
start "$mnt/var" load --max-string 100000 && src=0 || src=1
avail=$(df -k --output=avail "$mnt" | tail -n 1)
head -c $(((avail - 700) * 1024)) /dev/zero >"$mnt/ballast" 2>/dev/null || true
t0=$(date +%s)
writers=()
for w in 1 2 3 4; do
	(for i in $(seq 12); do
		vendor_yaml "w$w-$i" 60000 >"$tmp/w$w.yaml"
		r=0
		o=$(SPREG_SERVER="ipc://$tmp/load.ipc" SPREG_TOKEN_FILE="$mnt/var/admin.token" \
			timeout 60 "$SPREG_BIN" put "$tmp/w$w.yaml" 2>&1) || r=$?
		echo "w$w-$i $r $o"
	done >"$tmp/w$w.out") &
	writers+=("$!")
done
wait "${writers[@]}"
elapsed=$(($(date +%s) - t0))
cat "$tmp"/w?.out >"$tmp/writes"
acked=$(awk '$2 == 0' "$tmp/writes" | wc -l)
full=$(grep -c " 3 spreg: RESOURCE_EXHAUSTED: commit: the disk holding the store is full" "$tmp/writes" || true)
lines=$(grep -c "refus" "$log" || true)
check "a full disk: every refused write is RESOURCE_EXHAUSTED, nothing else ($acked acked, $full refused)" \
	'[ $src -eq 0 ] && [ $full -ge 10 ] && [ $((acked + full)) -eq 48 ] && ! grep -q "INTERNAL\|I/O\|nput/output" "$tmp/writes"'
check "... the log says so in at most one line per 10 s ($lines lines for $full refusals in ${elapsed}s)" \
	'[ $lines -ge 1 ] && [ $lines -le $((2 + elapsed / 10)) ]'
rm "$mnt/ballast"
ok=0
for i in 1 2 3; do
	vendor_yaml "after-$i" 60000 >"$tmp/after.yaml"
	call load "$mnt/var" put "$tmp/after.yaml"
	[ $crc -eq 0 ] && ok=$((ok + 1)) && echo "after-$i 0" >>"$tmp/writes"
done
check "space freed: writes succeed again ($ok of 3)" '[ $ok -eq 3 ]'
stop
start "$mnt/var" load && src=0 || src=1
lost=0
for id in $(awk '$2 == 0 {print $1}' "$tmp/writes"); do
	call load "$mnt/var" get "$id"
	[ $crc -eq 0 ] || { lost=$((lost + 1)); echo "# lost $id"; }
done
call load "$mnt/var" verify
check "after a restart every acknowledged write is there and the log verifies ($lost lost)" \
	'[ $src -eq 0 ] && [ $lost -eq 0 ] && [ $crc -eq 0 ]'
stop
umount "$mnt"
mnt=

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
