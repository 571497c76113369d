#!/usr/bin/env python3
"""test_python_auth.py - Python's multiprocessing.connection authenticates against mpx-manager.

The proof of wire compatibility: the python3 here (3.11: the legacy HMAC-MD5 client) runs
its own unmodified multiprocessing.connection.Client against mpx-manager over TCP and a unix
socket; the right key gets in, a wrong one raises AuthenticationError. The 3.12+ branch
(sha256 with "{digest}" prefixes, mutual) is exercised by a port of 3.12's
answer_challenge / deliver_challenge below over multiprocessing.connection.Connection
framing on a raw socket. Prints "N passed, M failed" last; exits non-zero on failure.
"""
import hmac
import multiprocessing.connection as mpc
import os
import socket
import sys
import time

from mpxtest import Manager, py_address, run_cases

CASE_SECONDS = 20

CHALLENGE = b"#CHALLENGE#"
WELCOME = b"#WELCOME#"
FAILURE = b"#FAILURE#"


# ---- Python 3.12's handshake (Lib/multiprocessing/connection.py), ported ----------------
# Same constants and the same decisions as 3.12: a 40-byte random message prefixed with
# "{sha256}"; a reply of 16 or 20 bytes is legacy HMAC-MD5 without a prefix; otherwise the
# reply must be "{digest}mac" with an allowed digest, the MAC covering the whole message.

MESSAGE_LENGTH_312 = 40
_MD5ONLY_MESSAGE_LENGTH = 20
_MD5_DIGEST_LEN = 16
_LEGACY_LENGTHS = (_MD5ONLY_MESSAGE_LENGTH, _MD5_DIGEST_LEN)
_ALLOWED_DIGESTS = frozenset({b"md5", b"sha256", b"sha384", b"sha3_256", b"sha3_384"})
_MAX_DIGEST_LEN = max(len(d) for d in _ALLOWED_DIGESTS)


def _get_digest_name_and_payload(message):
    if len(message) in _LEGACY_LENGTHS:
        return "", message
    if message.startswith(b"{"):
        curly = message.find(b"}", 1, _MAX_DIGEST_LEN + 2)
        if curly > 0:
            digest = message[1:curly]
            if digest in _ALLOWED_DIGESTS:
                return digest.decode("ascii"), message[curly + 1:]
    raise mpc.AuthenticationError(
        "unsupported message length, missing digest prefix, "
        f"or unsupported digest: {message=}")


def _create_response(authkey, message):
    digest_name = _get_digest_name_and_payload(message)[0]
    if not digest_name:
        return hmac.new(authkey, message, "md5").digest()
    response = hmac.new(authkey, message, digest_name).digest()
    return b"{%s}%s" % (digest_name.encode("ascii"), response)


def _verify_challenge(authkey, message, response):
    response_digest, response_mac = _get_digest_name_and_payload(response)
    response_digest = response_digest or "md5"
    try:
        expected = hmac.new(authkey, message, response_digest).digest()
    except ValueError:
        raise mpc.AuthenticationError(f"{response_digest=} unsupported")
    if len(expected) != len(response_mac):
        raise mpc.AuthenticationError(
            f"expected {response_digest!r} of length {len(expected)} "
            f"got {len(response_mac)}")
    if not hmac.compare_digest(expected, response_mac):
        raise mpc.AuthenticationError("digest received was wrong")


def deliver_challenge_312(connection, authkey, digest_name="sha256"):
    message = os.urandom(MESSAGE_LENGTH_312)
    message = b"{%s}%s" % (digest_name.encode("ascii"), message)
    connection.send_bytes(CHALLENGE + message)
    response = connection.recv_bytes(256)
    try:
        _verify_challenge(authkey, message, response)
    except mpc.AuthenticationError:
        connection.send_bytes(FAILURE)
        raise
    else:
        connection.send_bytes(WELCOME)


def answer_challenge_312(connection, authkey):
    message = connection.recv_bytes(256)
    if not message.startswith(CHALLENGE):
        raise mpc.AuthenticationError(f"Protocol error, expected challenge: {message=}")
    message = message[len(CHALLENGE):]
    if len(message) < _MD5ONLY_MESSAGE_LENGTH:
        raise mpc.AuthenticationError(f"challenge too short: {len(message)} bytes")
    digest = _create_response(authkey, message)
    connection.send_bytes(digest)
    response = connection.recv_bytes(256)
    if response != WELCOME:
        raise mpc.AuthenticationError("digest sent was rejected")


def client_312(address, authkey):
    """What 3.12's multiprocessing.connection.Client does: answer, then challenge."""
    conn = raw_connection(address)
    try:
        answer_challenge_312(conn, authkey)
        deliver_challenge_312(conn, authkey)
    except BaseException:
        conn.close()
        raise
    return conn


# ---- a manager process -----------------------------------------------------------------

def raw_connection(address, timeout=5.0):
    """A multiprocessing.connection.Connection over a fresh socket to address."""
    a = py_address(address)
    s = socket.socket(socket.AF_UNIX if isinstance(a, str) else socket.AF_INET)
    s.settimeout(timeout)
    s.connect(a)
    s.settimeout(None)
    return mpc.Connection(s.detach())


def expect_eof(conn, timeout=3.0):
    """The peer closes conn within timeout (frames before the close are allowed)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "connection still open after %.1f s" % timeout
        if not conn.poll(left):
            continue
        try:
            conn.recv_bytes(1 << 20)
        except (EOFError, ConnectionResetError):
            return


# ---- cases ------------------------------------------------------------------------------
M = None  # the shared manager


def check_python_client(address):
    conn = mpc.Client(py_address(address), authkey=M.key)
    try:
        # Authenticated and idle: the manager sends nothing unasked.
        assert not conn.poll(0.2)
    finally:
        conn.close()


def check_python_client_wrong_key(address):
    try:
        conn = mpc.Client(py_address(address), authkey=b"not-the-key")
    except mpc.AuthenticationError:
        return
    conn.close()
    raise AssertionError("a wrong key was let in")


def case_stdlib_client_tcp():
    check_python_client(M.tcp)


def case_stdlib_client_unix():
    check_python_client(M.unix)


def case_stdlib_client_wrong_key_tcp():
    check_python_client_wrong_key(M.tcp)


def case_stdlib_client_wrong_key_unix():
    check_python_client_wrong_key(M.unix)


def case_stdlib_client_many_times():
    for i in range(20):
        check_python_client(M.tcp if i % 2 else M.unix)
        if i % 5 == 0:
            check_python_client_wrong_key(M.unix if i % 2 else M.tcp)


def case_server_challenge_format():
    for addr in (M.tcp, M.unix):
        conn = raw_connection(addr)
        try:
            msg = conn.recv_bytes(256)
            assert msg.startswith(CHALLENGE + b"{sha256}"), msg
            assert len(msg) == len(CHALLENGE) + len(b"{sha256}") + 40, len(msg)
        finally:
            conn.close()
    # Every challenge is fresh.
    seen = set()
    for _ in range(5):
        conn = raw_connection(M.tcp)
        try:
            seen.add(conn.recv_bytes(256))
        finally:
            conn.close()
    assert len(seen) == 5


def case_py312_client_tcp():
    client_312(M.tcp, M.key).close()


def case_py312_client_unix():
    client_312(M.unix, M.key).close()


def check_py312_wrong_key(addr):
    conn = raw_connection(addr)
    try:
        try:
            answer_challenge_312(conn, b"wrong")
        except mpc.AuthenticationError:
            pass
        else:
            raise AssertionError("a wrong sha256 answer was welcomed")
        expect_eof(conn)  # the manager closes after #FAILURE#
    finally:
        conn.close()


def case_py312_wrong_key_tcp():
    check_py312_wrong_key(M.tcp)


def case_py312_wrong_key_unix():
    check_py312_wrong_key(M.unix)


def case_py312_server_answer_is_sha256():
    """The manager answers a prefixed challenge with "{sha256}" + HMAC-SHA256."""
    for addr in (M.tcp, M.unix):
        conn = raw_connection(addr)
        try:
            answer_challenge_312(conn, M.key)
            message = b"{sha256}" + os.urandom(40)
            conn.send_bytes(CHALLENGE + message)
            response = conn.recv_bytes(256)
            assert response == b"{sha256}" + hmac.new(M.key, message, "sha256").digest(), \
                response
            conn.send_bytes(WELCOME)
            assert not conn.poll(0.1)
        finally:
            conn.close()


def case_legacy_server_answer_is_bare_md5():
    """A 3.11 client's challenge (20 bytes, no prefix) gets a bare HMAC-MD5 answer."""
    conn = raw_connection(M.tcp)
    try:
        msg = conn.recv_bytes(256)[len(CHALLENGE):]
        conn.send_bytes(hmac.new(M.key, msg, "md5").digest())
        assert conn.recv_bytes(256) == WELCOME
        message = os.urandom(20)
        conn.send_bytes(CHALLENGE + message)
        response = conn.recv_bytes(256)
        assert response == hmac.new(M.key, message, "md5").digest(), response
        conn.send_bytes(WELCOME)
    finally:
        conn.close()


def case_sha256_answer_then_legacy_challenge():
    conn = raw_connection(M.unix)
    try:
        answer_challenge_312(conn, M.key)
        message = os.urandom(20)
        conn.send_bytes(CHALLENGE + message)
        assert conn.recv_bytes(256) == hmac.new(M.key, message, "md5").digest()
        conn.send_bytes(WELCOME)
    finally:
        conn.close()


def case_md5_answer_with_wrong_key_refused():
    conn = raw_connection(M.tcp)
    try:
        msg = conn.recv_bytes(256)[len(CHALLENGE):]
        conn.send_bytes(hmac.new(b"wrong", msg, "md5").digest())
        assert conn.recv_bytes(256) == FAILURE
        expect_eof(conn)
    finally:
        conn.close()


def case_answer_over_payload_only_refused():
    """The MAC must cover the whole message including "{sha256}", not only the payload."""
    conn = raw_connection(M.tcp)
    try:
        msg = conn.recv_bytes(256)[len(CHALLENGE):]
        payload = msg[len(b"{sha256}"):]
        conn.send_bytes(b"{sha256}" + hmac.new(M.key, payload, "sha256").digest())
        assert conn.recv_bytes(256) == FAILURE
        expect_eof(conn)
    finally:
        conn.close()


def case_truncated_sha256_answer_refused():
    conn = raw_connection(M.tcp)
    try:
        msg = conn.recv_bytes(256)[len(CHALLENGE):]
        mac = hmac.new(M.key, msg, "sha256").digest()
        conn.send_bytes(b"{sha256}" + mac[:20])
        expect_eof(conn)
    finally:
        conn.close()


def case_stdlib_client_after_many_failures():
    for _ in range(10):
        check_python_client_wrong_key(M.tcp)
    check_python_client(M.tcp)
    check_python_client(M.unix)
    assert M.alive()


CASES = [v for k, v in sorted(globals().items()) if k.startswith("case_")]


def main():
    global M
    print("python %s" % sys.version.split()[0])
    M = Manager(["--auth-timeout-ms", "500"])
    return run_cases(CASES, CASE_SECONDS, M)


if __name__ == "__main__":
    sys.exit(main())
