#!/usr/bin/env bash
# Talks to a real spregd with no code of ours on the client side: requests
# are built with `protoc --encode` from the .proto files, sent with
# `nngcat`, and replies read with `protoc --decode`. If this passes, the
# wire format is the documented protobuf and nothing private.
set -euo pipefail

: "${SPREG_SOURCE:?source root}"
. "$SPREG_SOURCE/tests/support/cli.sh"
PROTO="$SPREG_SOURCE/proto"

spregd_start var --listen tcp://127.0.0.1:0
ipc_url=$(spregd_url var ipc://)
tcp_url=$(spregd_url var tcp://)
token=$(cat "$tmp/var/admin.token")	# written by spregd on first start

# Protobuf text format takes \xHH escapes in a bytes literal.
escape() { od -An -tx1 -v | tr -d ' \n' | sed 's/\(..\)/\\x\1/g'; }

# call METHOD REQUEST_TYPE TEXT [URL]: prints the decoded spreg.v1.Reply.
# The bearer token is $token (none when empty).
call() {
	local payload
	payload=$(printf '%s' "$3" | protoc -I"$PROTO" --encode="spreg.v1.$2" spreg/v1/registry.proto | escape)
	printf 'method: "spreg.v1.Registry/%s"\nrequest_id: %d\npayload: "%s"\ntoken: "%s"\n' "$1" "$RANDOM$RANDOM" "$payload" "$token" |
		protoc -I"$PROTO" --encode=spreg.v1.Request spreg/v1/rpc.proto >"$tmp/req.bin"
	nngcat --req --connect "${4:-$ipc_url}" --file "$tmp/req.bin" --raw --recv-timeout 5 >"$tmp/rep.bin"
	protoc -I"$PROTO" --decode=spreg.v1.Reply spreg/v1/rpc.proto <"$tmp/rep.bin"
}

# payload_of TYPE: decodes the payload of the reply on stdin as TYPE.
payload_of() {
	/usr/bin/python3 -c '
import ast, re, sys
m = re.search(r"^payload: (\".*\")$", sys.stdin.read(), re.M)
sys.stdout.buffer.write(ast.literal_eval("b" + m.group(1)) if m else b"")' |
		protoc -I"$PROTO" --decode="spreg.v1.$1" spreg/v1/registry.proto
}

reply=$(token='' call GetSubprocessor GetSubprocessorRequest 'id: "stripe"')
if grep -q '^code: UNAUTHENTICATED' <<<"$reply" && ! grep -q '^payload' <<<"$reply"; then
	ok "a request without a token: code UNAUTHENTICATED, no payload"
else
	not_ok "a request without a token"; echo "$reply"
fi

reply=$(call GetSubprocessor GetSubprocessorRequest 'id: "stripe"')
if ! grep -q '^code:' <<<"$reply" && payload_of GetSubprocessorResponse <<<"$reply" | grep -q 'name: "Stripe"'; then
	ok "GetSubprocessor over ipc: code OK, record decodes with protoc"
else
	not_ok "GetSubprocessor over ipc"; echo "$reply"
fi

reply=$(call GetSubprocessor GetSubprocessorRequest 'id: "zoom"' "$tcp_url")
if payload_of GetSubprocessorResponse <<<"$reply" | grep -q 'country: "US"'; then
	ok "GetSubprocessor over tcp"
else
	not_ok "GetSubprocessor over tcp"; echo "$reply"
fi

put='subprocessor { id: "wire-vendor" name: "Wire Vendor" data_categories: "user.contact.email"
  locations { country: "DE" role: "hosting" } effective_from: "2026-01-01" }'
reply=$(call PutSubprocessor PutSubprocessorRequest "$put")
if payload_of PutSubprocessorResponse <<<"$reply" | grep -q 'kind: CHANGE_KIND_CREATED'; then
	ok "PutSubprocessor creates a record and returns its Change"
else
	not_ok "PutSubprocessor"; echo "$reply"
fi

reply=$(call ListSubprocessors ListSubprocessorsRequest 'data_category: "user.financial" page_size: 100')
n=$(payload_of ListSubprocessorsResponse <<<"$reply" | grep -c '^subprocessors {' || true)
if [ "$n" -ge 2 ]; then
	ok "ListSubprocessors by a parent category finds $n vendors"
else
	not_ok "ListSubprocessors by category ($n)"; echo "$reply"
fi

reply=$(call PutSubprocessor PutSubprocessorRequest 'subprocessor { id: "bad" name: "B" effective_from: "2026-01-01" locations { country: "XX" role: "hosting" } }')
if grep -q '^code: INVALID_ARGUMENT' <<<"$reply" && grep -q 'locations\[0\].country' <<<"$reply"; then
	ok "invalid country: INVALID_ARGUMENT naming the field"
else
	not_ok "invalid country"; echo "$reply"
fi

printf 'method: "spreg.v1.Registry/Teleport"\ntoken: "%s"\n' "$token" | protoc -I"$PROTO" --encode=spreg.v1.Request spreg/v1/rpc.proto >"$tmp/req.bin"
nngcat --req --connect "$ipc_url" --file "$tmp/req.bin" --raw --recv-timeout 5 >"$tmp/rep.bin"
if protoc -I"$PROTO" --decode=spreg.v1.Reply spreg/v1/rpc.proto <"$tmp/rep.bin" | grep -q '^code: UNIMPLEMENTED'; then
	ok "unknown method: UNIMPLEMENTED"
else
	not_ok "unknown method"
fi

printf 'not a protobuf at all \377\377\377' >"$tmp/junk.bin"
nngcat --req --connect "$ipc_url" --file "$tmp/junk.bin" --raw --recv-timeout 5 >"$tmp/rep.bin"
if protoc -I"$PROTO" --decode=spreg.v1.Reply spreg/v1/rpc.proto <"$tmp/rep.bin" | grep -q '^code: INVALID_ARGUMENT'; then
	ok "malformed bytes: INVALID_ARGUMENT, server still serving"
else
	not_ok "malformed bytes"
fi

reply=$(call ServerInfo ServerInfoRequest '')
expected=$(/usr/bin/python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))) + 1)' "$SPREG_SOURCE/data/sample-registry.json")
if payload_of ServerInfoResponse <<<"$reply" | grep -q "^subprocessors: $expected\$"; then
	ok "ServerInfo counts the sample plus the new vendor"
else
	not_ok "ServerInfo"; echo "$reply" | payload_of ServerInfoResponse
fi

finish
