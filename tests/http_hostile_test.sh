#!/usr/bin/env bash
# Hostile HTTP peers against a real spregd (issue 13: "slow clients
# holding connections: clear errors, limits enforced, the RPC port keeps
# serving"). Peers come from 127.0.0.N, each another address to the
# server (tests/support/httppeer.py). With long timeouts: a peer over
# --http-max-connections-per-peer and everyone over --http-max-connections
# are closed unanswered and cost no file descriptor, while other peers,
# and the RPC port, are answered; so is everyone beside a peer that never
# reads its answers. With 2 s timeouts: headers sent a byte at a time, a
# body sent a byte at a time, a silent connection and a peer that never
# reads are each closed by their deadline, the RPC port and other peers
# answered meanwhile, and a quick client still keeps its connection
# alive. Nothing here is decided by a timing: each wait is bounded only
# to end a hang.
set -euo pipefail

: "${SPREG_SOURCE:?source root}"
. "$SPREG_SOURCE/tests/support/cli.sh"

peer() { /usr/bin/python3 "$SPREG_SOURCE/tests/support/httppeer.py" "$1" 127.0.0.1 "$port" "${@:2}"; }
log="$tmp/main.log"

start_main() {
	SPREGD_HTTP=http://127.0.0.1:0 spregd_start main "$@"
	http=$(sed -n 's/^http //p' "$tmp/main.ready" | head -n 1)
	port=${http##*:}
	pid=${spregd_pids[main]}
	spregd_use main
}
fds() { ls "/proc/$pid/fd" | wc -l; }
# wait_until CONDITION: polls it up to 60 s; its status is the answer.
wait_until() {
	for _ in $(seq 300); do
		eval "$1" && return 0
		sleep 0.2
	done
	return 1
}
# unread SRC NAME: a peer from SRC pipelining 2000 pages and reading
# none, in the background ($unreader); echo read (or close) >$tmp/NAME.go
# ends it, and it reports to $tmp/NAME.out.
unread() {
	peer unread "$1" 2000 "$tmp/$2.ready" "$tmp/$2.go" >"$tmp/$2.out" &
	unreader=$!
	wait_until "[ -s \"$tmp/$2.ready\" ]" || true
}
# log_has TEXT: the server logged TEXT (it warns at most once a second
# per kind, so the line is awaited, bounded).
log_has() { wait_until "grep -qF -- \"$1\" \"$log\""; }

# ---- connection limits (every timeout an hour: only the limits act) --------

start_main --http-max-connections 24 --http-max-connections-per-peer 8 \
	--http-header-timeout 3600 --http-body-timeout 3600 --http-send-timeout 3600
spreg info --json
check "ServerInfo reports the HTTP connection limits" \
	'[ $rc -eq 0 ] && out_has "\"max_http_connections\": *24" && out_has "\"max_http_connections_per_peer\": *8" && out_has "\"http_send_timeout_ms\": *3600000"'
base=$(fds)

peer hold 127.0.0.1 300 "$tmp/a.state" "$tmp/a.stop" &
holder_a=$!
wait_until '[ -s "$tmp/a.state" ]' || true
check "a peer opening 300 connections: 8 served and held, 292 closed unanswered" \
	'[ "$(cat "$tmp/a.state")" = "served 8 closed 292" ]'
check "... logged, naming the peer and --http-max-connections-per-peer" \
	'log_has "HTTP connection from 127.0.0.1 refused: it has 8 open (--http-max-connections-per-peer)"'
check "... the refused ones hold no file descriptor ($base before)" \
	'wait_until "[ \$(fds) -le $((base + 8 + 4)) ]"'
check "... another peer is answered (127.0.0.2: 200)" \
	'[ "$(peer once 127.0.0.2)" = 200 ]'
spreg info
check "... the RPC port answers" '[ $rc -eq 0 ] && out_has "^last_seq: "'

# Three peers hold 8 each: 24 open, the cap for everyone.
# (retry: until the server has dropped the connections closed before.)
peer hold 127.0.0.3 8 "$tmp/b.state" "$tmp/b.stop" retry &
holder_b=$!
peer hold 127.0.0.4 8 "$tmp/c.state" "$tmp/c.stop" retry &
holder_c=$!
wait_until '[ -s "$tmp/b.state" ] && [ -s "$tmp/c.state" ]' || true
check "two more peers hold 8 each (24 open)" \
	'grep -q "^served 8 " "$tmp/b.state" && grep -q "^served 8 " "$tmp/c.state"'
check "... a fourth peer is closed unanswered: --http-max-connections" \
	'[ "$(peer once 127.0.0.5)" = closed ] && log_has "refused: 24 connections open (--http-max-connections)"'
touch "$tmp/c.stop"
wait "$holder_c" || true
check "... once 8 are let go, the fourth peer is answered" \
	'wait_until "[ \"\$(peer once 127.0.0.5)\" = 200 ]"'

# A peer pipelining 2000 pages and reading none: the others go on.
unread 127.0.0.6 u
check "beside a peer that never reads 2000 pages, another is answered" \
	'[ -s "$tmp/u.ready" ] && [ "$(peer once 127.0.0.2)" = 200 ]'
spreg info
check "... and the RPC port too" '[ $rc -eq 0 ] && out_has "^last_seq: "'
echo close >"$tmp/u.go"
touch "$tmp/a.stop" "$tmp/b.stop"
wait "$unreader" "$holder_a" "$holder_b" || true

# ---- deadlines (2 s each) ------------------------------------------------

spregd_stop main
check "spregd stops cleanly (no leak under ASan)" '[ "$spregd_status" = 0 ]'
start_main --http-header-timeout 2 --http-body-timeout 2 --http-send-timeout 2
spreg info --json
check "ServerInfo reports the HTTP timeouts" \
	'[ $rc -eq 0 ] && out_has "\"http_header_timeout_ms\": *2000" && out_has "\"http_body_timeout_ms\": *2000" && out_has "\"max_http_connections_per_peer\": *16"'

peer trickle 127.0.0.1 5 headers 127.0.0.2 >"$tmp/t.out" &
trickler=$!
spreg info
check "slowloris (headers a byte at a time): the RPC port answers meanwhile" \
	'[ $rc -eq 0 ] && out_has "^last_seq: "'
wait "$trickler" || true
check "... all 5 closed by the header deadline, unanswered; another peer answered" \
	'[ "$(cat "$tmp/t.out")" = "closed 5 of 5 answered 0 other 200" ]'
check "... logged, naming --http-header-timeout" \
	'log_has "HTTP connection from 127.0.0.1 closed: its request headers took longer than 2 s (--http-header-timeout)"'

seq_before=$("$SPREG_BIN" info | sed -n 's/^last_seq: //p')
peer trickle 127.0.0.1 3 body 127.0.0.2 >"$tmp/t.out"
check "a body sent a byte at a time: closed by the body deadline; another peer answered" \
	'[ "$(cat "$tmp/t.out")" = "closed 3 of 3 answered 0 other 200" ]'
check "... logged, naming --http-body-timeout" \
	'log_has "closed: its request body took longer than 2 s (--http-body-timeout)"'
spreg info
check "... and nothing was written" \
	'[ $rc -eq 0 ] && [ -n "$seq_before" ] && out_has "^last_seq: $seq_before\$"'

peer trickle 127.0.0.1 2 idle 127.0.0.2 >"$tmp/t.out"
check "connections that send nothing: closed by the header deadline" \
	'[ "$(cat "$tmp/t.out")" = "closed 2 of 2 answered 0 other 200" ]'

unread 127.0.0.1 v
check "a peer that never reads its 2000 pages: another is answered" \
	'[ "$(peer once 127.0.0.2)" = 200 ]'
check "... it is closed by the send deadline, logged" \
	'log_has "HTTP connection from 127.0.0.1 closed: it did not take its response within 2 s (--http-send-timeout)"'
echo read >"$tmp/v.go"
wait "$unreader" || true
read -r _ responses _ end <"$tmp/v.out" || true
check "... what it reads then ends early ($responses of 2000 answers, then $end)" \
	'[ "${responses:-2000}" -lt 2000 ] && [ "$end" != timeout ]'

curl -sS --max-time 60 -v -o /dev/null -o /dev/null "$http/spreg.css" \
	"$http/changes.atom" 2>"$tmp/curl.err" || true
check "a quick client keeps its connection alive for a second request" \
	'grep -q "Re-using existing connection" "$tmp/curl.err" && [ "$(grep -c "< HTTP/1.1 200" "$tmp/curl.err")" = 2 ]'

spregd_stop main
check "spregd stops cleanly (no leak under ASan)" '[ "$spregd_status" = 0 ]'
finish
