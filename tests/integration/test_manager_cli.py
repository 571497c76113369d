#!/usr/bin/env python3
"""test_manager_cli.py - the mpx-manager command line: options, key handling, signals.

Starts the real binary ($MPX_MANAGER_BIN) with each kind of key source and checks what it
does: --help/--version exit 0, an insecure or missing key file is refused, no key makes a
fresh 0600 key file whose path is printed, $MPX_AUTHKEY works, SIGTERM/SIGINT exit 0.
Every process is waited for with a deadline; only processes started here are signalled.
Prints "N passed, M failed" last and exits non-zero on any failure.
"""
import multiprocessing.connection as mpc
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

from mpxtest import BIN, py_address, read_ready, run_cases

CASE_SECONDS = 20


# ---- a manager process -------------------------------------------------------------------

class Manager:
    """One mpx-manager run in its own temp dir; output goes to a log file there."""

    def __init__(self, args, env=None, ready=True):
        self.dir = tempfile.mkdtemp(prefix="mpx-cli-", dir="/tmp")
        self.logpath = os.path.join(self.dir, "manager.log")
        self.addresses = None
        self.args = args
        self.env = env
        self.want_ready = ready

    def path(self, name):
        return os.path.join(self.dir, name)

    def start(self):
        rfd, wfd = os.pipe()
        argv = [BIN] + [a.replace("@DIR@", self.dir) for a in self.args]
        if self.want_ready:
            argv += ["--ready-fd", str(wfd)]
        env = dict(os.environ)
        env.pop("MPX_AUTHKEY", None)
        env["TMPDIR"] = self.dir
        if self.env:
            env.update(self.env)
        with open(self.logpath, "wb") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=log, pass_fds=(wfd,),
                                         env=env, close_fds=True)
        os.close(wfd)
        try:
            if self.want_ready:
                self.addresses = read_ready(rfd, 10)
        finally:
            os.close(rfd)
        return self

    def log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def wait(self, timeout=10):
        """Exit status, or None when it is still running after timeout."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Sends sig, waits; returns the exit status (kills it and returns None on timeout)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        st = self.wait(timeout)
        if st is None:
            self.proc.kill()
            self.proc.wait(5)
        return st

    def cleanup(self):
        if getattr(self, "proc", None) is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


def write_key(path, key, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    os.chmod(path, mode)


def run_bin(args, env=None, timeout=10):
    """Runs mpx-manager to completion; returns (status, stdout, stderr)."""
    full_env = dict(os.environ)
    full_env.pop("MPX_AUTHKEY", None)
    if env:
        full_env.update(env)
    p = subprocess.run([BIN] + args, capture_output=True, timeout=timeout, env=full_env)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def authenticates(address, key):
    """True when multiprocessing.connection.Client gets in with key; False when refused."""
    try:
        conn = mpc.Client(py_address(address), authkey=key)
    except mpc.AuthenticationError:
        return False
    conn.close()
    return True


# ---- cases ---------------------------------------------------------------------------------

def case_help():
    st, out, err = run_bin(["--help"])
    assert st == 0, (st, out, err)
    assert "usage" in (out + err).lower(), out + err
    assert "--listen" in out + err, out + err


def case_version():
    st, out, err = run_bin(["--version"])
    assert st == 0, (st, out, err)
    assert re.search(r"\d+\.\d+", out + err), out + err


def case_bad_option_exits_nonzero():
    st, out, err = run_bin(["--no-such-option"])
    assert st != 0, (st, out, err)
    assert err.strip(), "no message on stderr"


def case_insecure_key_file_refused():
    m = Manager(["--listen", "tcp://127.0.0.1:0", "--authkey-file", "@DIR@/key"], ready=False)
    try:
        write_key(m.path("key"), b"secret-key", mode=0o644)
        m.start()
        st = m.wait(10)
        assert st is not None, "mpx-manager kept running with a 0644 key file"
        assert st != 0, "exit status 0 with a 0644 key file"
        log = m.log()
        assert re.search(r"mode|permission|readable|insecure|group|others|0644",
                         log, re.I), "unclear message: " + log
    finally:
        m.cleanup()


def case_group_writable_key_file_refused():
    m = Manager(["--listen", "tcp://127.0.0.1:0", "--authkey-file", "@DIR@/key"], ready=False)
    try:
        write_key(m.path("key"), b"secret-key", mode=0o620)
        m.start()
        st = m.wait(10)
        assert st is not None and st != 0, st
    finally:
        m.cleanup()


def case_missing_key_file_refused():
    m = Manager(["--listen", "tcp://127.0.0.1:0", "--authkey-file", "@DIR@/nosuch"],
                ready=False)
    try:
        m.start()
        st = m.wait(10)
        assert st is not None and st != 0, st
        assert m.log().strip(), "no message"
    finally:
        m.cleanup()


def case_empty_key_file_refused():
    m = Manager(["--listen", "tcp://127.0.0.1:0", "--authkey-file", "@DIR@/key"], ready=False)
    try:
        write_key(m.path("key"), b"")
        m.start()
        st = m.wait(10)
        assert st is not None and st != 0, st
    finally:
        m.cleanup()


def case_key_file_trailing_newline_ignored():
    m = Manager(["--listen", "tcp://127.0.0.1:0", "--authkey-file", "@DIR@/key"])
    try:
        write_key(m.path("key"), b"line-key\n")
        m.start()
        assert m.addresses, m.log()
        assert authenticates(m.addresses[0], b"line-key")
        assert not authenticates(m.addresses[0], b"line-key\n")
        assert m.stop() == 0, m.log()
    finally:
        m.cleanup()


def case_generated_key():
    m = Manager(["--listen", "tcp://127.0.0.1:0"])
    try:
        m.start()
        assert m.addresses, m.log()
        log = m.log()
        # The printed path: any absolute path in the output naming an existing file.
        paths = [p for p in re.findall(r"(/[^\s'\"]+)", log) if os.path.isfile(p)]
        assert paths, "no key file path printed: " + log
        keyfile = paths[0]
        mode = stat.S_IMODE(os.stat(keyfile).st_mode)
        assert mode == 0o600, "generated key file mode %o" % mode
        with open(keyfile, "rb") as f:
            key = f.read()
        if key.endswith(b"\n"):
            key = key[:-1]
        assert len(key) >= 16, key
        assert authenticates(m.addresses[0], key)
        assert not authenticates(m.addresses[0], key + b"x")
        assert m.stop() == 0, m.log()
    finally:
        m.cleanup()


def case_env_authkey():
    m = Manager(["--listen", "tcp://127.0.0.1:0"], env={"MPX_AUTHKEY": "env-secret"})
    try:
        m.start()
        assert m.addresses, m.log()
        assert authenticates(m.addresses[0], b"env-secret")
        assert not authenticates(m.addresses[0], b"env-wrong")
        assert m.stop() == 0, m.log()
    finally:
        m.cleanup()


def case_key_file_beats_env():
    m = Manager(["--listen", "tcp://127.0.0.1:0", "--authkey-file", "@DIR@/key"],
                env={"MPX_AUTHKEY": "env-secret"})
    try:
        write_key(m.path("key"), b"file-secret")
        m.start()
        assert m.addresses, m.log()
        assert authenticates(m.addresses[0], b"file-secret")
        assert not authenticates(m.addresses[0], b"env-secret")
        assert m.stop() == 0, m.log()
    finally:
        m.cleanup()


def case_sigterm_exits_zero():
    m = Manager(["--listen", "tcp://127.0.0.1:0"], env={"MPX_AUTHKEY": "k"})
    try:
        m.start()
        assert m.addresses, m.log()
        # An authenticated connection still open must not keep it from exiting.
        conn = mpc.Client(py_address(m.addresses[0]), authkey=b"k")
        t0 = time.monotonic()
        st = m.stop(signal.SIGTERM)
        assert st == 0, "SIGTERM: exit status %r; log:\n%s" % (st, m.log())
        assert time.monotonic() - t0 < 5
        conn.close()
    finally:
        m.cleanup()


def case_sigint_exits_zero():
    m = Manager(["--listen", "tcp://127.0.0.1:0"], env={"MPX_AUTHKEY": "k"})
    try:
        m.start()
        assert m.addresses, m.log()
        st = m.stop(signal.SIGINT)
        assert st == 0, "SIGINT: exit status %r; log:\n%s" % (st, m.log())
    finally:
        m.cleanup()


def case_ready_fd_lists_every_address():
    m = Manager(["--listen", "tcp://127.0.0.1:0", "--listen", "unix://@DIR@/m.sock"],
                env={"MPX_AUTHKEY": "k"})
    try:
        m.start()
        assert m.addresses is not None and len(m.addresses) == 2, (m.addresses, m.log())
        tcp, unix = m.addresses
        assert re.fullmatch(r"tcp://127\.0\.0\.1:\d+", tcp), tcp
        assert int(tcp.rsplit(":", 1)[1]) > 0, tcp
        assert unix == "unix://" + m.path("m.sock"), unix
        assert authenticates(tcp, b"k")
        assert authenticates(unix, b"k")
        assert m.stop() == 0, m.log()
    finally:
        m.cleanup()


def case_bad_listen_address():
    for addr in ("nonsense", "tcp://127.0.0.1:99999", "udp://127.0.0.1:5"):
        st, out, err = run_bin(["--listen", addr], env={"MPX_AUTHKEY": "k"})
        assert st != 0, (addr, st, out, err)
        assert err.strip(), (addr, "no message")


def case_port_in_use():
    a = Manager(["--listen", "tcp://127.0.0.1:0"], env={"MPX_AUTHKEY": "k"})
    try:
        a.start()
        assert a.addresses, a.log()
        st, out, err = run_bin(["--listen", a.addresses[0]], env={"MPX_AUTHKEY": "k"})
        assert st != 0, (st, out, err)
        assert a.stop() == 0, a.log()
    finally:
        a.cleanup()


def case_bad_numbers_refused():
    for opt in ("--max-message", "--max-connections", "--auth-timeout-ms", "--turn-frames",
                "--turn-budget-us", "--output-limit-hard", "--output-limit-soft",
                "--output-limit-soft-seconds"):
        for bad in ("abc", "-5", "0"):
            st, out, err = run_bin(["--listen", "tcp://127.0.0.1:0", opt, bad],
                                   env={"MPX_AUTHKEY": "k"})
            assert st != 0, (opt, bad, st)
    st, out, err = run_bin(["--log-level", "loud"], env={"MPX_AUTHKEY": "k"})
    assert st != 0, st


def case_sizes_take_redis_suffixes():
    """--max-memory and the other byte options read 512mb, 1gb, 64k...; a bad one is
    refused with a message; --max-memory 0 (the default) is no budget."""
    for bad in ("abc", "-5", "5x", "1.5gb", "mb"):
        st, out, err = run_bin(["--listen", "tcp://127.0.0.1:0", "--max-memory", bad],
                               env={"MPX_AUTHKEY": "k"})
        assert st == 2 and "--max-memory must be a size" in err, (bad, st, err)
    for good in (["--max-memory", "512mb"], ["--max-memory", "1GB"], ["--max-memory", "0"],
                 ["--max-message", "64k", "--output-limit-hard", "1gb"]):
        st, out, err = run_bin(good + ["--version"], env={"MPX_AUTHKEY": "k"})
        assert st == 0, (good, st, err)


def case_bad_expose_and_admin_key_refused():
    for spec, says in (("nonsense", "is not typeid=Type:name"), ("q=Queue:", "is not"),
                       ("q=Nope:jobs", "unknown type 'Nope'")):
        st, out, err = run_bin(["--listen", "tcp://127.0.0.1:0", "--expose", spec],
                               env={"MPX_AUTHKEY": "k"})
        assert st == 2 and says in err, (spec, st, err)
    st, out, err = run_bin(["--listen", "tcp://127.0.0.1:0", "--admin-key-file",
                            "/nonexistent/admin"], env={"MPX_AUTHKEY": "k"})
    assert st == 1 and "--admin-key-file" in err, (st, err)


def case_logs_connection_events():
    m = Manager(["--listen", "tcp://127.0.0.1:0", "--log-level", "info"],
                env={"MPX_AUTHKEY": "k"})
    try:
        m.start()
        assert m.addresses, m.log()
        before = len(m.log().splitlines())
        assert authenticates(m.addresses[0], b"k")
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and len(m.log().splitlines()) == before:
            time.sleep(0.05)
        assert len(m.log().splitlines()) > before, "no log line for a connection"
        assert m.stop() == 0, m.log()
    finally:
        m.cleanup()


CASES = [v for k, v in sorted(globals().items()) if k.startswith("case_")]


if __name__ == "__main__":
    sys.exit(run_cases(CASES, CASE_SECONDS))
