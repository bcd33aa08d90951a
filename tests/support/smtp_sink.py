"""An SMTP sink for the e-mail test (Debian's python3-aiosmtpd).

  smtp_sink.py --port-file P --log L [--refuse N]

Listens on 127.0.0.1 (a port of its choosing, written to P). Refuses the
first N recipients with "451 try again later" (a relay that refuses,
then recovers); accepts the rest and appends one JSON line per message
and recipient to L: {"to", "header_to", "subject", "body"} with the
Subject and body decoded (RFC 2047, base64, UTF-8), and the raw
Subject and To headers as sent ("raw_subject", "raw_to").
"""
import argparse
import asyncio
import email
import email.policy
import json
import os

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, log, refuse):
        self.log = log
        self.refuse = refuse
        self.refused = 0

    async def handle_RCPT(self, server, session, envelope, address, options):
        if self.refused < self.refuse:
            self.refused += 1
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content,
                                       policy=email.policy.default)
        body = msg.get_content()
        for rcpt in envelope.rcpt_tos:
            raw = email.message_from_bytes(envelope.content)  # compat32
            line = json.dumps({"to": rcpt, "header_to": str(msg["To"]),
                               "subject": str(msg["Subject"]),
                               "raw_subject": str(raw["Subject"]),
                               "raw_to": str(raw["To"]),
                               "body": body})
            self.log.write(line + "\n")
        self.log.flush()
        return "250 Message accepted"


async def main(args):
    sink = Sink(open(args.log, "a"), args.refuse)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(port))
    os.rename(tmp, args.port_file)
    await server.serve_forever()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--refuse", type=int, default=0)
    asyncio.run(main(p.parse_args()))
