#!/usr/bin/python3
"""Hostile and plain HTTP peers for tests/http_hostile_test.sh, on raw
sockets bound to a chosen source address (127.0.0.N: each is another peer
address to the server on loopback). Every wait is bounded: a bound only
ends a hang, and what is printed then says so; the test decides.

  httppeer.py once HOST PORT SRC
      One GET /spreg.css from SRC. Prints its status ("200"), "closed"
      (the server ended the connection before any answer) or "timeout".
  httppeer.py hold HOST PORT SRC N STATE STOP [retry]
      N connections from SRC, one after the other, each sending a GET and
      reading its answer, the answered ones kept open. Writes "served S
      closed C" to STATE, then holds them until the file STOP exists
      (at most HOLD s, or until its folder is gone).
      With retry, a connection closed unanswered is tried again (every
      0.1 s, at most 600 times) until N are served.
  httppeer.py trickle HOST PORT SRC N MODE OTHER
      N connections from SRC that never finish their request: MODE
      "headers" sends a request line and then a header a byte every
      0.2 s; "body" sends a POST's headers (Content-Length: 1000) and then
      the body a byte every 0.2 s; "idle" sends nothing. Once they are
      under way, one GET from OTHER. Until the server has closed all (at
      most 60 s), then prints "closed C of N answered A other STATUS".
  httppeer.py unread HOST PORT SRC N READY GO
      Sends N pipelined GET / and reads nothing. Writes READY, waits for
      the file GO; if GO holds "read", reads to the end and prints
      "responses R end eof|reset|timeout", else closes.
"""
import os
import select
import socket
import sys
import time

HANG = 60  # seconds: the bound of one wait
HOLD = 600  # seconds: how long a peer holds its connections at most,
            # longer than the test waits for anything meanwhile


def connect(host, port, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(HANG)
    s.connect((host, port))
    return s


def request(path="/spreg.css", extra=b""):
    return (b"GET " + path.encode() + b" HTTP/1.1\r\nHost: spreg\r\n" +
            extra + b"\r\n")


def answer(s):
    """The status of one response read whole, "closed" or "timeout"."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                return "closed"
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = s.recv(65536)
            if not chunk:
                return "closed"
            body += chunk
        return head.split(b" ")[1].decode()
    except socket.timeout:
        return "timeout"
    except OSError:
        return "closed"


def once(host, port, src):
    try:
        s = connect(host, port, src)
        s.sendall(request())
    except OSError:
        return "closed"
    status = answer(s)
    s.close()
    return status


def wait_for(path, seconds=HANG):
    """True once path exists; False after seconds, or once its folder
    is gone (the test ended)."""
    for _ in range(seconds * 10):
        if os.path.exists(path):
            return True
        if not os.path.isdir(os.path.dirname(path) or "."):
            return False
        time.sleep(0.1)
    return False


def write_atomic(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def hold(host, port, src, n, state, stop, retry):
    held, closed = [], 0
    for attempt in range(600 if retry else n):
        if len(held) == n:
            break
        if retry and attempt > 0:
            time.sleep(0.1)
        try:
            s = connect(host, port, src)
            s.sendall(request())
        except OSError:
            closed += 1
            continue
        if answer(s) == "200":
            held.append(s)
        else:
            s.close()
            closed += 1
    write_atomic(state, "served %d closed %d\n" % (len(held), closed))
    wait_for(stop, HOLD)
    for s in held:
        s.close()


def trickle(host, port, src, n, mode, other):
    socks = []
    for _ in range(n):
        s = connect(host, port, src)
        if mode == "headers":
            s.sendall(b"GET / HTTP/1.1\r\nHost: spreg\r\nX-Slow: ")
        elif mode == "body":
            s.sendall(b"POST /v1/changes/1/objections HTTP/1.1\r\n"
                      b"Host: spreg\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 1000\r\n\r\n")
        socks.append(s)
    other_status = once(host, port, other)
    open_socks, closed, answered = list(socks), 0, 0
    for _ in range(HANG * 5):
        if not open_socks:
            break
        readable, _, _ = select.select(open_socks, [], [], 0.2)
        for s in list(open_socks):
            ended = False
            if s in readable:
                try:
                    if s.recv(65536):
                        answered += 1
                except OSError:
                    pass
                ended = True
            elif mode != "idle":
                try:
                    s.send(b"a")
                except OSError:
                    ended = True
            if ended:
                open_socks.remove(s)
                s.close()
                closed += 1
    print("closed %d of %d answered %d other %s" %
          (closed, n, answered, other_status))


def unread(host, port, src, n, ready, go):
    s = connect(host, port, src)
    s.sendall(request("/") * n)
    write_atomic(ready, "sent\n")
    wait_for(go, HOLD)
    if open(go).read().strip() != "read":
        s.close()
        return
    mark, tail, count, end = b"HTTP/1.1 200", b"", 0, "eof"
    try:
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            joined = tail + chunk
            count += joined.count(mark) - tail.count(mark)
            tail = joined[-(len(mark) - 1):]
    except socket.timeout:
        end = "timeout"
    except OSError:
        end = "reset"
    print("responses %d end %s" % (count, end))


def main(argv):
    cmd, host, port, src = argv[1], argv[2], int(argv[3]), argv[4]
    if cmd == "once":
        print(once(host, port, src))
    elif cmd == "hold":
        hold(host, port, src, int(argv[5]), argv[6], argv[7],
             argv[8:] == ["retry"])
    elif cmd == "trickle":
        trickle(host, port, src, int(argv[5]), argv[6], argv[7])
    elif cmd == "unread":
        unread(host, port, src, int(argv[5]), argv[6], argv[7])
    else:
        sys.exit("httppeer.py: unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
