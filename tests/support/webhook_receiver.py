"""A webhook receiver for the tests, and the check of what it received.

  webhook_receiver.py serve --secret-file F --log L --port-file P [--port N]
                            [--delay-ms D]
      Serves HTTP on 127.0.0.1 (port N, 0: any; the port is written to P).
      POST /ok: checks the Standard Webhooks signature, appends one JSON
      line {"id", "timestamp", "sig_ok", "body"} to L (flushed), waits D
      ms, then answers 200, so an acknowledged delivery is always in L
      (and a sender killed meanwhile has one it must send again).
      /500 answers 500; /hang never answers; /redirect redirects to
      itself; /huge answers 500 with a 16 MiB body.

  webhook_receiver.py check --log L --expect E --hook ID
      E holds the seqs owed, one a line. Checks L: every signature good,
      every seq in E received (webhook-id "ID_<seq>"), nothing else
      received (seq 0, a test, aside), first deliveries in seq order,
      and every duplicate byte for byte the same body. Exit 0 when all
      hold; the failures on stdout otherwise.
"""
import argparse
import base64
import hashlib
import hmac
import http.server
import json
import os
import sys
import time


def key_of(secret):
    return base64.b64decode(secret.strip()[len("whsec_"):])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.path == "/hang":
            time.sleep(3600)
            return
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/redirect")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/huge":
            size = 16 << 20
            self.send_response(500)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(size // len(chunk)):
                    self.wfile.write(chunk)
            except OSError:
                pass
            return
        if self.path != "/ok":
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        msg_id = self.headers.get("webhook-id", "")
        ts = self.headers.get("webhook-timestamp", "")
        sigs = self.headers.get("webhook-signature", "").split()
        mac = hmac.new(self.server.key, f"{msg_id}.{ts}.".encode() + body,
                       hashlib.sha256).digest()
        want = "v1," + base64.b64encode(mac).decode()
        ok = any(hmac.compare_digest(s, want) for s in sigs)
        line = json.dumps({"id": msg_id, "timestamp": ts, "sig_ok": ok,
                           "body": body.decode("utf-8", "replace")})
        self.server.log.write(line + "\n")
        self.server.log.flush()
        time.sleep(self.server.delay)  # logged, not yet acknowledged
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()


def serve(args):
    with open(args.secret_file) as f:
        key = key_of(f.read())
    http.server.ThreadingHTTPServer.allow_reuse_address = True
    http.server.ThreadingHTTPServer.daemon_threads = True
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.key = key
    srv.delay = args.delay_ms / 1000.0
    srv.log = open(args.log, "a")
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    srv.serve_forever()


def check(args):
    with open(args.expect) as f:
        expect = [int(x) for x in f.read().split()]
    failures = []
    bodies = {}
    firsts = []
    lines = 0
    prefix = args.hook + "_"
    with open(args.log) as f:
        for raw in f:
            lines += 1
            d = json.loads(raw)
            if not d["sig_ok"]:
                failures.append(f"bad signature on {d['id']}")
            if not d["id"].startswith(prefix):
                failures.append(f"id {d['id']} is not {prefix}<seq>")
                continue
            seq = int(d["id"][len(prefix):])
            if seq == 0:
                continue  # a test delivery
            body = json.loads(d["body"])
            # proto3 JSON: a 64-bit integer is a decimal string, an
            # enum its full name.
            if not isinstance(body.get("seq"), str) or \
                    not str(body.get("kind", "")).startswith("CHANGE_KIND_"):
                failures.append(f"{d['id']}: not proto3 JSON: seq "
                                f"{body.get('seq')!r}, kind {body.get('kind')!r}")
            if int(body.get("seq", 0)) != seq:
                failures.append(f"{d['id']}: body of seq {body.get('seq')}")
            if seq in bodies:
                if bodies[seq] != d["body"]:
                    failures.append(f"{d['id']}: resent with another body")
            else:
                bodies[seq] = d["body"]
                firsts.append(seq)
    if firsts != sorted(firsts):
        bad = next(i for i in range(1, len(firsts))
                   if firsts[i] < firsts[i - 1])
        failures.append(f"out of order: seq {firsts[bad]} first came "
                        f"after {firsts[bad - 1]}")
    missing = sorted(set(expect) - set(bodies))
    extra = sorted(set(bodies) - set(expect))
    if missing:
        failures.append(f"{len(missing)} seqs never received, first "
                        f"{missing[:5]}")
    if extra:
        failures.append(f"{len(extra)} seqs received but not owed, first "
                        f"{extra[:5]}")
    dups = lines - len(bodies)
    print(f"# {lines} requests, {len(bodies)} seqs, {dups} resent or tests,"
          f" {len(expect)} owed")
    for m in failures[:20]:
        print(m)
    return 1 if failures else 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--secret-file", required=True)
    s.add_argument("--log", required=True)
    s.add_argument("--port-file", required=True)
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--delay-ms", type=int, default=0)
    c = sub.add_parser("check")
    c.add_argument("--log", required=True)
    c.add_argument("--expect", required=True)
    c.add_argument("--hook", required=True)
    args = p.parse_args()
    if args.cmd == "serve":
        serve(args)
    else:
        sys.exit(check(args))


if __name__ == "__main__":
    main()
