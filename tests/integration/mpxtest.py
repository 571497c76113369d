"""mpxtest.py - what the Python integration scripts share.

A real mpx-manager in its own temp dir (a 0600 key file, TCP and unix listeners, its
addresses read from --ready-fd, its log kept for failures), address conversion for
Python's sockets, and the case runner: each case bounded by an alarm, a line per case,
and the closing "N passed, M failed" line CI reads.
"""
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

BIN = os.environ.get("MPX_MANAGER_BIN")


def py_address(addr):
    """tcp://HOST:PORT -> (host, port); unix:///path -> /path."""
    if addr.startswith("tcp://"):
        host, _, port = addr[len("tcp://"):].rpartition(":")
        return (host.strip("[]"), int(port))
    if addr.startswith("unix://"):
        return addr[len("unix://"):]
    raise ValueError("unknown address " + addr)


def read_ready(fd, timeout):
    """Reads '<addr>\\n...\\n\\n' from fd; the addresses, or None on EOF or timeout."""
    data = b""
    deadline = time.monotonic() + timeout
    while b"\n\n" not in data and data != b"\n":
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            return None
        chunk = os.read(fd, 4096)
        if not chunk:
            return None
        data += chunk
    return [line for line in data.decode().split("\n") if line]


class Manager:
    """mpx-manager on a TCP port and a unix socket, with a 0600 key file, in a temp dir."""

    def __init__(self, extra=(), bin=None):
        """bin: another program with mpx-manager's command line (mpx_server_main)."""
        self.dir = tempfile.mkdtemp(prefix="mpx-it-", dir="/tmp")
        self.key = secrets.token_hex(16).encode()
        self.keyfile = os.path.join(self.dir, "authkey")
        fd = os.open(self.keyfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(self.key)
        self.logpath = os.path.join(self.dir, "manager.log")
        rfd, wfd = os.pipe()
        argv = [bin or BIN, "--listen", "tcp://127.0.0.1:0",
                "--listen", "unix://" + os.path.join(self.dir, "m.sock"),
                "--authkey-file", self.keyfile,
                "--log-level", "debug", "--ready-fd", str(wfd)] + list(extra)
        env = dict(os.environ)
        env.pop("MPX_AUTHKEY", None)
        with open(self.logpath, "wb") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=log, pass_fds=(wfd,),
                                         env=env)
        os.close(wfd)
        try:
            self.addresses = read_ready(rfd, 10)
        finally:
            os.close(rfd)
        if not self.addresses or len(self.addresses) < 2:
            log = self.log()
            self.stop()
            raise RuntimeError("mpx-manager did not come up:\n" + log)
        self.tcp, self.unix = self.addresses[:2]  # then those extra's --listen added

    def log(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode(errors="replace")

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """SIGTERM and wait (10 s); returns the exit status, None if it had to be killed."""
        st = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            st = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        if st != 0 or os.environ.get("MPX_TEST_VERBOSE"):
            print(self.log(), file=sys.stderr)
        shutil.rmtree(self.dir, ignore_errors=True)
        return st


class CaseTimeout(Exception):
    pass


def run_cases(cases, case_seconds, manager=None):
    """Runs the cases (or those named on the command line), each within case_seconds.
    With a manager: it must still be alive after them and exit 0 on SIGTERM. Returns the
    exit code, after printing "N passed, M failed"."""
    if not BIN:
        print("set MPX_MANAGER_BIN to the mpx-manager binary", file=sys.stderr)
        return 1

    def on_alarm(signum, frame):
        raise CaseTimeout("case ran over %d s" % case_seconds)

    signal.signal(signal.SIGALRM, on_alarm)
    passed = failed = 0
    only = sys.argv[1:]
    try:
        for case in cases:
            if only and case.__name__ not in only:
                continue
            t0 = time.monotonic()
            signal.alarm(case_seconds)
            try:
                case()
            except Exception:
                signal.alarm(0)
                failed += 1
                print("FAIL %s" % case.__name__)
                traceback.print_exc()
            else:
                signal.alarm(0)
                passed += 1
                print("ok   %s (%d ms)" % (case.__name__, (time.monotonic() - t0) * 1000))
            sys.stdout.flush()
        if manager is not None and not manager.alive():
            failed += 1
            print("FAIL manager died during the run")
    finally:
        st = manager.stop() if manager is not None else 0
    if manager is not None:
        if st == 0:
            passed += 1
            print("ok   manager exits 0 on SIGTERM")
        else:
            failed += 1
            print("FAIL manager exit status %r on SIGTERM" % st)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1
