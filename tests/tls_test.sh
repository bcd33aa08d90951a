#!/usr/bin/env bash
# TLS end to end: a throwaway CA and certificates made with openssl at
# run time; spregd on tls+tcp:// (and ipc://), the spreg command as the
# client, and curl for https:// (the HTTP API). Server-only TLS first (any client that trusts the CA), then
# client certificates required (--tls-ca on spregd). A plain-TCP client
# and a refused TLS client must not harm the server.
set -euo pipefail

: "${SPREG_SOURCE:?source root}"
. "$SPREG_SOURCE/tests/support/cli.sh"
command -v openssl >/dev/null || { echo "openssl not found"; exit 77; }

# Calls give up after 3 s: a refused handshake must not stall the test.
spreg() {
	set +e
	"$SPREG_BIN" --timeout 3000 "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	set -e
}

# ---- throwaway PKI ------------------------------------------------------
pki="$tmp/pki"
mkdir "$pki"
ssl() { openssl "$@" 2>>"$tmp/openssl.log"; }
new_ca() {	# NAME
	ssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$pki/$1-key.pem" -out "$pki/$1.pem" -days 2 \
		-subj "/CN=spreg test $1"
}
new_cert() {	# NAME CA EXTENSION
	ssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$pki/$1-key.pem" -out "$pki/$1.csr" -subj "/CN=$1"
	printf '%s\n' "$3" >"$pki/$1.ext"
	ssl x509 -req -in "$pki/$1.csr" -CA "$pki/$2.pem" \
		-CAkey "$pki/$2-key.pem" -CAcreateserial -days 2 \
		-extfile "$pki/$1.ext" -out "$pki/$1.pem"
}
new_ca ca
new_ca other
# mbedTLS (nng's engine) matches the name against DNS entries only.
new_cert server ca "subjectAltName=DNS:localhost,DNS:127.0.0.1,IP:127.0.0.1"
new_cert client ca "extendedKeyUsage=clientAuth"
new_cert rogue other "extendedKeyUsage=clientAuth"

# ---- the server ---------------------------------------------------------
# spregd "var" on tls+tcp:// (port 0) and ipc://, the server
# certificate; extra spregd options as given.
# spregd "var" on tls+tcp:// (port 0) and ipc://, HTTPS on port 0, the
# server certificate; extra spregd options as given.
tls_url= ipc_url="ipc://$tmp/var.ipc" https_url=
start_server() {
	SPREGD_HTTP=https://127.0.0.1:0 spregd_start var \
		--listen tls+tcp://127.0.0.1:0 \
		--tls-cert "$pki/server.pem" --tls-key "$pki/server-key.pem" "$@"
	tls_url=$(spregd_url var tls+tcp://)
	https_url=$(sed -n 's/^http //p' "$tmp/var.ready")
	export SPREG_TOKEN_FILE="$tmp/var/admin.token"
}
# https PATH [curl options]: the status in $tmp/out, curl's exit in $rc.
https() {
	local path=$1
	shift
	set +e
	curl -sS --max-time 30 -o /dev/null -w '%{http_code}' \
		-H "Authorization: Bearer $(cat "$tmp/var/admin.token")" \
		"$@" "$https_url$path" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	set -e
}
alive() {
	kill -0 "${spregd_pids[var]}" 2>/dev/null &&
		"$SPREG_BIN" --server "$ipc_url" info >/dev/null 2>&1
}

# ---- server certificate only ---------------------------------------------
start_server
spreg --server "$tls_url" --tls-ca "$pki/ca.pem" info
check "TLS: a client that trusts the CA is served" \
	'[ $rc -eq 0 ] && grep -q "^server: tls+tcp://127.0.0.1:" "$tmp/out"'
spreg --server "$tls_url" --tls-ca "$pki/ca.pem" assess --subprocessor ovhcloud
check "TLS: assess goes over TLS too (ovhcloud is lawful: exit 0)" \
	'[ $rc -eq 0 ] && grep -q "ovhcloud" "$tmp/out"'
spreg --server "$tls_url" --tls-ca "$pki/ca.pem" export --format jsonl \
	--output "$tmp/export.jsonl"
check "TLS: export goes over TLS too" \
	'[ $rc -eq 0 ] && [ -s "$tmp/export.jsonl" ]'
spreg --server "$tls_url" --tls-ca "$pki/ca.pem" watch --pub "ipc://$tmp/var-pub.ipc" \
	--count 3
check "TLS: watch reads the log over TLS with its token (3 changes)" \
	'[ $rc -eq 0 ] && [ "$(grep -c "^ *[0-9]" "$tmp/out")" -eq 3 ]'
spreg --server "$tls_url" info
check "TLS: a client without --tls-ca refuses the server (exit 4)" \
	'[ $rc -eq 4 ] && grep -q "TLS handshake failed" "$tmp/err"'
spreg --server "$tls_url" --tls-ca "$pki/other.pem" info
check "TLS: a client trusting another CA refuses the server (exit 4)" \
	'[ $rc -eq 4 ]'
spreg --server "${tls_url/#tls+tcp/tcp}" info
check "TLS: a plain tcp:// client is refused (exit 4), server unharmed" \
	'[ $rc -eq 4 ] && alive'
https /v1/subprocessors/stripe --cacert "$pki/ca.pem"
check "HTTPS: the JSON API with the same certificate (200)" \
	'[ $rc -eq 0 ] && [ "$(cat "$tmp/out")" = 200 ] && [[ "$https_url" == https://127.0.0.1:* ]]'
https /v1/subprocessors/stripe
check "HTTPS: curl without the CA refuses the server" '[ $rc -ne 0 ]'
set +e
curl -sS --max-time 30 -o /dev/null "${https_url/#https/http}/v1/subprocessors" \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
check "HTTPS: plain http to the https port fails, server unharmed" \
	'[ $rc -ne 0 ] && alive'
spregd_stop var
rc=$spregd_status
check "TLS: spregd stops cleanly" '[ $rc -eq 0 ]'

# ---- client certificates required ------------------------------------
start_server --tls-ca "$pki/ca.pem"
spreg --server "$tls_url" --tls-ca "$pki/ca.pem" \
	--tls-cert "$pki/client.pem" --tls-key "$pki/client-key.pem" list
check "mTLS: a client certificate signed by the CA is served" \
	'[ $rc -eq 0 ] && [ "$(wc -l <"$tmp/out")" -gt 1 ]'
spreg --server "$tls_url" --tls-ca "$pki/ca.pem" info
check "mTLS: a client without a certificate is refused (exit 4)" \
	'[ $rc -eq 4 ]'
SPREG_TLS_CA="$pki/ca.pem" SPREG_TLS_CERT="$pki/rogue.pem" \
	SPREG_TLS_KEY="$pki/rogue-key.pem" spreg --server "$tls_url" info
check "mTLS: a certificate from another CA is refused (exit 4), server unharmed" \
	'[ $rc -eq 4 ] && alive'
https /v1/subprocessors/stripe --cacert "$pki/ca.pem" \
	--cert "$pki/client.pem" --key "$pki/client-key.pem"
check "mHTTPS: a client certificate signed by the CA is served (200)" \
	'[ $rc -eq 0 ] && [ "$(cat "$tmp/out")" = 200 ]'
https /v1/subprocessors/stripe --cacert "$pki/ca.pem"
check "mHTTPS: no client certificate, no answer" '[ $rc -ne 0 ] && alive'
https /v1/subprocessors/stripe --cacert "$pki/ca.pem" \
	--cert "$pki/rogue.pem" --key "$pki/rogue-key.pem"
check "mHTTPS: a certificate from another CA, no answer" '[ $rc -ne 0 ] && alive'
spregd_stop var
rc=$spregd_status
check "mTLS: spregd stops cleanly" '[ $rc -eq 0 ]'

# ---- startup errors ---------------------------------------------------
# spregd_refused OPTIONS...: runs spregd, which must stop at once.
spregd_refused() {
	set +e
	"$SPREGD" --data "$tmp/var" --publish "ipc://$tmp/p.ipc" "$@" \
		>"$tmp/out" 2>"$tmp/err"
	rc=$?
	set -e
}
spregd_refused --http none --listen tls+tcp://127.0.0.1:0
check "spregd: a tls+tcp:// URL without --tls-cert is a startup error" \
	'[ $rc -eq 1 ] && grep -q -- "--tls-cert" "$tmp/err"'
spregd_refused --http https://127.0.0.1:0 --listen "$ipc_url"
check "spregd: an https:// URL without --tls-cert is a startup error" \
	'[ $rc -eq 1 ] && grep -q -- "https://127.0.0.1:0 needs --tls-cert" "$tmp/err"'
spregd_refused --http ftp://127.0.0.1:0 --listen "$ipc_url"
check "spregd: --http takes http:// and https:// only" \
	'[ $rc -eq 1 ] && grep -q -- "--http ftp://" "$tmp/err"'

finish
