#!/usr/bin/env python3
"""test_bad_clients.py - misbehaving raw sockets are dropped; the manager serves on.

Each bad client (garbage, a huge length header, silence past the auth timeout, a frame that
is not protobuf after a good handshake, a frame over --max-message, more connections than
--max-connections) must see EOF within a bounded time, and afterwards a correct
multiprocessing.connection.Client still authenticates, a hand-made protobuf "ping" still gets
"pong", and the manager is alive and exits 0 on SIGTERM. Every socket has a timeout and
every loop a bound. Prints "N passed, M failed" last; exits non-zero on failure.
"""
import hmac
import multiprocessing.connection as mpc
import os
import signal
import socket
import struct
import sys
import time

from mpxtest import Manager, py_address, run_cases

CASE_SECONDS = 20
MAX_MESSAGE = 65536
AUTH_TIMEOUT_MS = 500
LIMITS = ["--auth-timeout-ms", str(AUTH_TIMEOUT_MS), "--max-message", str(MAX_MESSAGE)]

CHALLENGE = b"#CHALLENGE#"
WELCOME = b"#WELCOME#"
FAILURE = b"#FAILURE#"


# ---- a manager process -----------------------------------------------------------------

# ---- raw sockets ------------------------------------------------------------------------

def connect(address, timeout=5.0):
    a = py_address(address)
    s = socket.socket(socket.AF_UNIX if isinstance(a, str) else socket.AF_INET)
    s.settimeout(timeout)
    s.connect(a)
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def send_frame(s, payload):
    s.sendall(struct.pack("!i", len(payload)) + payload)


def recv_frame(s):
    (n,) = struct.unpack("!i", recv_exact(s, 4))
    if n == -1:
        (n,) = struct.unpack("!Q", recv_exact(s, 8))
    return recv_exact(s, n)


def expect_eof(s, timeout=3.0):
    """Reads and discards until the peer closes; fails if it stays open past timeout.
    Returns the seconds it took."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "connection still open after %.1f s" % timeout
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            raise AssertionError("connection still open after %.1f s" % timeout)
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - t0
        if not chunk:
            return time.monotonic() - t0


def send_ignoring_reset(s, data):
    """Sends data; the manager may already have closed (that is what we test)."""
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def handshake(s, key):
    """The client side of the 3.12 handshake on a raw socket (sha256, mutual)."""
    msg = recv_frame(s)
    assert msg.startswith(CHALLENGE + b"{sha256}"), msg
    body = msg[len(CHALLENGE):]
    send_frame(s, b"{sha256}" + hmac.new(key, body, "sha256").digest())
    assert recv_frame(s) == WELCOME
    mine = b"{sha256}" + os.urandom(40)
    send_frame(s, CHALLENGE + mine)
    assert recv_frame(s) == b"{sha256}" + hmac.new(key, mine, "sha256").digest()
    send_frame(s, WELCOME)


# ---- a little protobuf (protocol/mpx.proto), enough for ping ------------------------------

def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def read_varint(buf, i):
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def fields(buf):
    """{field_number: [values]} of one protobuf message (varint and length-delimited)."""
    out = {}
    i = 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(buf, i)
        elif wt == 2:
            n, i = read_varint(buf, i)
            v = buf[i:i + n]
            i += n
        elif wt == 1:
            v = buf[i:i + 8]
            i += 8
        elif wt == 5:
            v = buf[i:i + 4]
            i += 4
        else:
            raise ValueError("wire type %d" % wt)
        out.setdefault(num, []).append(v)
    return out


def ping_request(call_id):
    # Request{call_id=1, object_id=2 (0: the manager), method=3}
    return (varint(1 << 3 | 0) + varint(call_id) +
            varint(3 << 3 | 2) + varint(4) + b"ping")


def check_ping(s, call_id=7):
    send_frame(s, ping_request(call_id))
    reply = fields(recv_frame(s))
    assert reply.get(1) == [call_id], reply
    assert reply.get(2, [0]) == [0], reply                 # no error
    value = fields(reply[4][0])
    assert value.get(5) == [b"pong"], value                # Value.str_v


# ---- cases --------------------------------------------------------------------------------
M = None


def case_garbage_before_handshake():
    """Unframed noise: a length far over 256, a negative length, a zero-length answer."""
    garbage = [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\xff\xfe\xfd\xfc" + os.urandom(60),
        b"\x80\x00\x00\x00" + b"x" * 16,                # negative length
        b"\x00\x00\x00\x00",                            # empty answer
        b"\x00\x00\x00\x10" + os.urandom(16),           # a wrong 16-byte answer
        os.urandom(300),
    ]
    for i, junk in enumerate(garbage):
        for addr in (M.tcp, M.unix):
            s = connect(addr)
            try:
                recv_frame(s)                           # the server's challenge
                send_ignoring_reset(s, junk)
                expect_eof(s)
            except AssertionError as e:
                raise AssertionError("garbage #%d on %s: %s" % (i, addr, e))
            finally:
                s.close()


def case_garbage_without_reading_challenge():
    s = connect(M.tcp)
    try:
        send_ignoring_reset(s, os.urandom(1024))
        expect_eof(s)
    finally:
        s.close()


def case_huge_length_before_auth():
    for header in (struct.pack("!i", 2 ** 30), struct.pack("!i", 257),
                   struct.pack("!i", -1) + struct.pack("!Q", 2 ** 40)):
        s = connect(M.tcp)
        try:
            recv_frame(s)
            send_ignoring_reset(s, header)
            took = expect_eof(s, timeout=3.0)
            # Dropped at once, not after the auth timeout.
            assert took < AUTH_TIMEOUT_MS / 1000.0, "took %.2f s" % took
        finally:
            s.close()


def case_silent_client_closed_after_auth_timeout():
    for addr in (M.tcp, M.unix):
        s = connect(addr)
        try:
            t0 = time.monotonic()
            recv_frame(s)
            expect_eof(s, timeout=5.0)
            took = time.monotonic() - t0
            assert 0.3 <= took <= 3.0, "closed after %.2f s (auth timeout 0.5 s)" % took
        finally:
            s.close()


def case_slow_handshake_closed_after_auth_timeout():
    """Answering in time but never finishing the mutual part is still cut off."""
    s = connect(M.tcp)
    try:
        t0 = time.monotonic()
        msg = recv_frame(s)
        body = msg[len(CHALLENGE):]
        send_frame(s, b"{sha256}" + hmac.new(M.key, body, "sha256").digest())
        assert recv_frame(s) == WELCOME
        expect_eof(s, timeout=5.0)                      # never sends its own challenge
        took = time.monotonic() - t0
        assert took <= 3.0, "closed after %.2f s" % took
    finally:
        s.close()


def case_authenticated_connection_not_cut_by_auth_timeout():
    s = connect(M.tcp)
    try:
        handshake(s, M.key)
        time.sleep(AUTH_TIMEOUT_MS / 1000.0 * 2)
        check_ping(s)
    finally:
        s.close()


def case_not_protobuf_after_auth():
    bad_payloads = [
        b"\xff\xff\xff\xff\xff",                        # a truncated varint
        b"\x0a\x80",                                    # a length-delimited field cut short
        b"\x1a\x05ab",                                  # method field shorter than it says
        b"\x07\x00",                                    # wire type 7 does not exist
    ]
    for i, payload in enumerate(bad_payloads):
        for addr in (M.tcp, M.unix):
            s = connect(addr)
            try:
                handshake(s, M.key)
                send_ignoring_reset(s, struct.pack("!i", len(payload)) + payload)
                expect_eof(s)
            except AssertionError as e:
                raise AssertionError("payload #%d on %s: %s" % (i, addr, e))
            finally:
                s.close()


def case_frame_over_max_message_after_auth():
    for header in (struct.pack("!i", MAX_MESSAGE + 1), struct.pack("!i", 2 ** 30),
                   struct.pack("!i", -1) + struct.pack("!Q", 2 ** 40),
                   struct.pack("!i", -2)):
        s = connect(M.tcp)
        try:
            handshake(s, M.key)
            send_ignoring_reset(s, header + b"x" * 100)
            expect_eof(s)
        finally:
            s.close()


def case_frame_at_max_message_is_read():
    """A frame of exactly --max-message bytes is read (here: a protobuf with padding in an
    unknown field) and gets a reply or an error reply, not a dropped connection."""
    s = connect(M.tcp)
    try:
        handshake(s, M.key)
        body = ping_request(9)
        # unknown field 15, length-delimited, filling up to MAX_MESSAGE bytes in total
        head = varint(15 << 3 | 2)
        pad = MAX_MESSAGE - len(body) - len(head)
        pad -= len(varint(pad))
        payload = body + head + varint(pad) + b"\0" * pad
        assert len(payload) == MAX_MESSAGE, len(payload)
        send_frame(s, payload)
        reply = fields(recv_frame(s))
        assert reply.get(1) == [9], reply
        check_ping(s, 10)
    finally:
        s.close()


def case_pipelined_pings():
    s = connect(M.unix)
    try:
        handshake(s, M.key)
        s.sendall(b"".join(struct.pack("!i", len(p)) + p
                           for p in (ping_request(i) for i in range(1, 51))))
        ids = sorted(fields(recv_frame(s))[1][0] for _ in range(50))
        assert ids == list(range(1, 51)), ids
    finally:
        s.close()


def case_half_frame_then_close():
    """A peer that dies mid-frame does not disturb the manager."""
    for _ in range(5):
        s = connect(M.tcp)
        handshake(s, M.key)
        s.sendall(struct.pack("!i", 1000) + b"x" * 10)
        s.close()
    good = connect(M.tcp)
    try:
        handshake(good, M.key)
        check_ping(good)
    finally:
        good.close()


def case_many_bad_clients_at_once():
    socks = []
    try:
        for i in range(40):
            s = connect(M.tcp if i % 2 else M.unix)
            socks.append(s)
        for s in socks:
            recv_frame(s)
            send_ignoring_reset(s, os.urandom(64))
        for s in socks:
            expect_eof(s)
    finally:
        for s in socks:
            s.close()


def case_good_clients_after_the_bad():
    for addr in (M.tcp, M.unix):
        conn = mpc.Client(py_address(addr), authkey=M.key)
        conn.close()
        s = connect(addr)
        try:
            handshake(s, M.key)
            check_ping(s)
        finally:
            s.close()
    assert M.alive(), "the manager died"


def case_max_connections():
    m2 = Manager(LIMITS + ["--max-connections", "2", "--auth-timeout-ms", "5000"])
    try:
        a = connect(m2.tcp)
        b = connect(m2.unix)
        try:
            recv_frame(a)
            recv_frame(b)
            c = connect(m2.tcp)
            try:
                # accepted and closed at once: no challenge comes
                expect_eof(c, timeout=2.0)
            finally:
                c.close()
        finally:
            a.close()
            b.close()
        # once those are gone, a new client gets in (allow the manager to notice)
        deadline = time.monotonic() + 3
        while True:
            try:
                conn = mpc.Client(py_address(m2.tcp), authkey=m2.key)
                conn.close()
                break
            except (EOFError, ConnectionError, OSError):
                assert time.monotonic() < deadline, "no connection accepted after close"
                time.sleep(0.05)
        assert m2.alive()
    finally:
        assert m2.stop() == 0


CASES = [
    case_garbage_before_handshake,
    case_garbage_without_reading_challenge,
    case_huge_length_before_auth,
    case_silent_client_closed_after_auth_timeout,
    case_slow_handshake_closed_after_auth_timeout,
    case_authenticated_connection_not_cut_by_auth_timeout,
    case_not_protobuf_after_auth,
    case_frame_over_max_message_after_auth,
    case_frame_at_max_message_is_read,
    case_pipelined_pings,
    case_half_frame_then_close,
    case_many_bad_clients_at_once,
    case_good_clients_after_the_bad,   # keep after the bad ones
    case_max_connections,
]


def main():
    global M
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    M = Manager(LIMITS)
    return run_cases(CASES, CASE_SECONDS, M)


if __name__ == "__main__":
    sys.exit(main())
