#!/usr/bin/env python3
"""test_multihost.py - the examples across real network hops, in network namespaces.

Three namespaces stand for three hosts, named after this process's pid so that runs never
meet: mpx<pid>m runs mpx-manager, mpx<pid>a and mpx<pid>b run the examples. A bridge in
the manager's namespace joins them through one veth pair per worker namespace, on a
private /24 (10.213.X.0/24, X picked from the pid, skipping subnets the host already
uses; nothing is added to the host's own namespace):

    mpx<pid>m: br0 10.213.X.1 -- va <-veth-> eth0 10.213.X.2 :mpx<pid>a
                              -- vb <-veth-> eth0 10.213.X.3 :mpx<pid>b

The manager listens on tcp://10.213.X.1:PORT and tls://10.213.X.1:PORT only (its
certificate made here for that address); the cases check that a worker namespace cannot
reach it on 127.0.0.1, that the veths carried the traffic, then run remote_queue (put from
a, get from b, once more over tls://) and barrier_phases (two workers in each of a and b),
kill a worker in b to see the barrier break for the workers in a, and run the pool
examples monte_carlo_pi and word_count with worker programs in a and b, whose results
must equal a single-process run's.

Adding a case: write `def case_NAME(hosts):` and append it to CASES. `hosts` is the one
Hosts object every case shares (same namespaces, same manager), so give your objects
names of their own (--name). It offers
    hosts.manager_address            tcp://10.213.X.1:PORT
    hosts.connect_args()             ["--connect", ADDR, "--authkey-file", KEYFILE]
    hosts.run(ns, argv, timeout=20)  a CompletedProcess (text stdout/stderr) of argv run
                                     in namespace ns ("m", "a" or "b")
    hosts.spawn(ns, argv)            a Popen started in ns, for programs that run at once;
    hosts.finish(proc, timeout=20)   its (returncode, stdout, stderr)
    example(NAME)                    the path of a built example
for instance
    def case_monte_carlo_pi(hosts):
        ws = [hosts.spawn(ns, [example("monte_carlo_pi"), "work"] + hosts.connect_args())
              for ns in "aabb"]
        ...
Every case runs under an alarm (CASE_SECONDS); whatever it spawned and left running is
killed after it. Cleanup (processes by pid, veths, bridge, namespaces, the temp dir) runs
in a finally and at exit, also after a failure or SIGTERM.

Where namespaces cannot be made (not root, no `ip`, `ip netns add` refused, no veth or
bridge), prints "SKIP: <why>" and exits 77, which CMake counts as skipped.
Otherwise prints "N passed, M failed" last; exits non-zero on any failure.
"""
import atexit
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mpxtest  # noqa: E402

EXAMPLES = os.environ.get("MPX_EXAMPLES_DIR", "")
SKIP = 77
CASE_SECONDS = 30
IP_SECONDS = 10


def example(name):
    return os.path.join(EXAMPLES, name)


class Skip(Exception):
    """The machine cannot make the namespaces: the test is skipped, not failed."""


class Hosts:
    """Three network namespaces joined by a bridge, mpx-manager running in the first."""

    def __init__(self, tag=None):
        tag = tag if tag is not None else "mpx%d" % os.getpid()
        self.ns = {h: tag + h for h in "mab"}
        self.made = []        # namespaces created, in order
        self.procs = []       # every Popen started, manager included
        self.manager = None
        self.manager_address = None
        self.dir = None
        self.keyfile = None
        self.logpath = None
        self.subnet = None

    # ---- setting up -------------------------------------------------------------------

    def _ip(self, args, skip_reason=None):
        """Runs ip ARGS (bounded); raises Skip(skip_reason: stderr) or RuntimeError."""
        try:
            out = subprocess.run(["ip"] + args, capture_output=True, text=True,
                                 timeout=IP_SECONDS)
        except subprocess.TimeoutExpired:
            raise RuntimeError("ip %s: no answer in %d s" % (" ".join(args), IP_SECONDS))
        if out.returncode != 0:
            why = "ip %s: %s" % (" ".join(args), out.stderr.strip())
            raise Skip("%s: %s" % (skip_reason, why)) if skip_reason else RuntimeError(why)
        return out.stdout

    def _pick_subnet(self):
        """10.213.X: X from the pid, skipping subnets the host's own namespace uses."""
        used = self._ip(["-4", "-o", "addr", "show"]) + self._ip(["-4", "route", "show"])
        for k in range(250):
            x = (os.getpid() + k) % 250 + 1
            if "10.213.%d." % x not in used:
                return "10.213.%d" % x
        raise Skip("no free 10.213.X.0/24 subnet")

    def address(self, host):
        """The IPv4 address of host ("m", "a" or "b")."""
        return "%s.%d" % (self.subnet, {"m": 1, "a": 2, "b": 3}[host])

    def up(self):
        """Makes the namespaces and links, then starts the manager. Raises Skip."""
        if shutil.which("ip") is None:
            raise Skip("no ip binary (iproute2)")
        if os.geteuid() != 0:
            raise Skip("network namespaces need root")
        if not mpxtest.BIN or not EXAMPLES:
            raise RuntimeError("set MPX_MANAGER_BIN and MPX_EXAMPLES_DIR")
        self.subnet = self._pick_subnet()
        for h in "mab":
            self._ip(["netns", "add", self.ns[h]], "cannot make a network namespace")
            self.made.append(self.ns[h])
        m = self.ns["m"]
        self._ip(["-n", m, "link", "add", "br0", "type", "bridge"], "no bridge support")
        for h, veth in (("a", "va"), ("b", "vb")):
            self._ip(["-n", m, "link", "add", veth, "type", "veth", "peer", "name", "eth0",
                      "netns", self.ns[h]], "no veth support")
            self._ip(["-n", m, "link", "set", veth, "master", "br0", "up"])
            self._ip(["-n", self.ns[h], "addr", "add", self.address(h) + "/24", "dev", "eth0"])
            self._ip(["-n", self.ns[h], "link", "set", "eth0", "up"])
        self._ip(["-n", m, "addr", "add", self.address("m") + "/24", "dev", "br0"])
        self._ip(["-n", m, "link", "set", "br0", "up"])
        for h in "mab":
            self._ip(["-n", self.ns[h], "link", "set", "lo", "up"])
        probe = self.run("a", ["true"], timeout=IP_SECONDS)
        if probe.returncode != 0:
            raise Skip("ip netns exec fails: " + probe.stderr.strip())
        self._start_manager()

    def _start_manager(self):
        self.dir = tempfile.mkdtemp(prefix="mpx-multihost-", dir="/tmp")
        self.keyfile = os.path.join(self.dir, "authkey")
        fd = os.open(self.keyfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_hex(16).encode())
        self.logpath = os.path.join(self.dir, "manager.log")
        self._make_certificate()
        rfd, wfd = os.pipe()
        argv = [mpxtest.BIN, "--listen", "tcp://%s:0" % self.address("m"),
                "--listen", "tls://%s:0" % self.address("m"),
                "--tls-cert", os.path.join(self.dir, "m.pem"),
                "--tls-key", os.path.join(self.dir, "m.key"),
                "--authkey-file", self.keyfile, "--log-level", "info",
                "--ready-fd", str(wfd)]
        env = dict(os.environ)
        env.pop("MPX_AUTHKEY", None)
        with open(self.logpath, "wb") as log:
            self.manager = subprocess.Popen(["ip", "netns", "exec", self.ns["m"]] + argv,
                                            stdout=log, stderr=log, pass_fds=(wfd,),
                                            env=env)
        self.procs.append(self.manager)
        os.close(wfd)
        try:
            addresses = mpxtest.read_ready(rfd, 10)
        finally:
            os.close(rfd)
        if not addresses or len(addresses) != 2:
            raise RuntimeError("mpx-manager did not come up:\n" + self.log())
        self.manager_address, self.tls_address = addresses
        assert self.manager_address.startswith("tcp://%s:" % self.address("m")), addresses

    def _make_certificate(self):
        """A CA (ca.pem, for the workers) and the manager's certificate for its address."""
        def openssl(*args):
            subprocess.run(["openssl"] + list(args), cwd=self.dir, check=True,
                           capture_output=True, timeout=60)
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
                "-out", "ca.pem", "-days", "1", "-subj", "/CN=multihost-ca")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "m.key", "-out", "m.csr",
                "-subj", "/CN=manager")
        with open(os.path.join(self.dir, "san.ext"), "w") as f:
            f.write("subjectAltName=IP:%s\n" % self.address("m"))
        openssl("x509", "-req", "-in", "m.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "1", "-extfile", "san.ext", "-out", "m.pem")

    # ---- running programs on the hosts -------------------------------------------------

    def connect_args(self, tls=False):
        address = self.tls_address if tls else self.manager_address
        return ["--connect", address, "--authkey-file", self.keyfile]

    def _argv(self, host, argv):
        return ["ip", "netns", "exec", self.ns[host]] + list(argv)

    def run(self, host, argv, timeout=20, env=None):
        """Runs argv in host's namespace to its end (killed after timeout seconds), with
        env added to the environment."""
        return subprocess.run(self._argv(host, argv), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL,
                              env=dict(os.environ, **(env or {})))

    def spawn(self, host, argv):
        """Starts argv in host's namespace; finish() it. (ip netns exec execs argv, so the
        Popen's pid is the program's.)"""
        p = subprocess.Popen(self._argv(host, argv), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        self.procs.append(p)
        return p

    def finish(self, proc, timeout=20):
        """Waits for a spawned program: (returncode, stdout, stderr); kills it on timeout."""
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate(timeout=5)
            raise AssertionError("%s ran over %d s: %s" % (proc.args, timeout, err))
        return proc.returncode, out, err

    def counters(self, host, dev="eth0"):
        """(rx_packets, tx_packets) of dev in host's namespace."""
        out = self.run(host, ["cat", "/sys/class/net/%s/statistics/rx_packets" % dev,
                              "/sys/class/net/%s/statistics/tx_packets" % dev],
                       timeout=IP_SECONDS)
        assert out.returncode == 0, out.stderr
        rx, tx = out.stdout.split()
        return int(rx), int(tx)

    def reap(self):
        """Kills (by pid) and waits for every program started, but the manager."""
        for p in self.procs:
            if p is not self.manager and p.poll() is None:
                p.kill()
            if p is not self.manager:
                try:
                    p.communicate(timeout=5)
                except (subprocess.TimeoutExpired, ValueError, OSError):
                    pass
        self.procs = [p for p in self.procs if p is self.manager]

    # ---- what mpxtest.run_cases asks of a manager --------------------------------------

    def log(self):
        if not self.logpath or not os.path.exists(self.logpath):
            return ""
        with open(self.logpath, "rb") as f:
            return f.read().decode(errors="replace")

    def alive(self):
        return self.manager is not None and self.manager.poll() is None

    def stop(self):
        """SIGTERM to the manager and wait (10 s): its exit status, None if killed."""
        if self.manager is None:
            return None
        st = None
        if self.manager.poll() is None:
            self.manager.send_signal(signal.SIGTERM)
        try:
            st = self.manager.wait(10)
        except subprocess.TimeoutExpired:
            self.manager.kill()
            self.manager.wait(5)
        if st != 0 or os.environ.get("MPX_TEST_VERBOSE"):
            print(self.log(), file=sys.stderr)
        return st

    # ---- tearing down ------------------------------------------------------------------

    def close(self):
        """Stops every program, deletes the links and namespaces made and the temp dir.
        Safe to call twice and after a half-done up()."""
        self.reap()
        if self.manager is not None and self.manager.poll() is None:
            self.manager.kill()
            try:
                self.manager.wait(5)
            except subprocess.TimeoutExpired:
                pass
        if self.ns["m"] in self.made:
            for link in ("va", "vb", "br0"):
                subprocess.run(["ip", "-n", self.ns["m"], "link", "del", link],
                               capture_output=True, timeout=IP_SECONDS)
        for ns in reversed(self.made):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True,
                           timeout=IP_SECONDS)
        self.made = []
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                              timeout=IP_SECONDS).stdout if shutil.which("ip") else ""
        for ns in self.ns.values():
            if re.search(r"^%s\b" % re.escape(ns), left, re.M):
                print("cleanup: namespace %s is still there" % ns, file=sys.stderr)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


# ---- cases ----------------------------------------------------------------------------


def case_worker_cannot_reach_manager_on_loopback(hosts):
    port = hosts.manager_address.rpartition(":")[2]
    loop = hosts.run("a", [example("remote_queue"), "get", "--connect",
                           "tcp://127.0.0.1:" + port, "--authkey-file", hosts.keyfile,
                           "--timeout", "0.3"])
    assert loop.returncode == 1, loop
    assert "127.0.0.1:" + port in loop.stderr and "queue.Empty" not in loop.stderr, loop
    # And the manager's own address is not one of a's: a reaches it through eth0 only.
    addrs = hosts.run("a", ["ip", "-4", "-o", "addr", "show"], timeout=IP_SECONDS)
    assert addrs.returncode == 0 and hosts.address("m") + "/" not in addrs.stdout, addrs


def case_remote_queue_put_on_a_get_on_b(hosts):
    prog = example("remote_queue")
    before = hosts.counters("a"), hosts.counters("b")
    put = hosts.run("a", [prog, "put"] + hosts.connect_args() +
                    ["--name", "hello", "hello", "from a"])
    assert put.returncode == 0, put.stderr
    get = hosts.run("b", [prog, "get"] + hosts.connect_args() +
                    ["--name", "hello", "--count", "2", "--timeout", "10"])
    assert get.returncode == 0, get.stderr
    assert get.stdout == "'hello'\n'from a'\n", get.stdout
    after = hosts.counters("a"), hosts.counters("b")
    for host, b, a in zip("ab", before, after):
        assert a[0] > b[0] and a[1] > b[1], "%s's eth0 carried nothing: %s -> %s" % (host, b, a)
    empty = hosts.run("b", [prog, "get"] + hosts.connect_args() +
                      ["--name", "hello", "--timeout", "0.3"])
    assert empty.returncode == 1 and "queue.Empty" in empty.stderr, empty


def case_barrier_phases_two_workers_per_host(hosts):
    common = [example("barrier_phases")] + hosts.connect_args() + \
        ["--name", "phases4", "--parties", "4", "--phases", "5", "--timeout", "15"]
    workers = {w: hosts.spawn(w[0], common + ["--worker", w]) for w in ("a1", "a2", "b1", "b2")}
    for w, p in workers.items():
        rc, out, err = hosts.finish(p)
        assert rc == 0, (w, err)
        assert out == "worker %s: 5 phases, log consistent (20 entries)\n" % w, out


def case_barrier_breaks_when_a_worker_on_b_dies(hosts):
    common = [example("barrier_phases")] + hosts.connect_args() + \
        ["--name", "dies", "--parties", "4", "--phases", "2", "--timeout", "15"]
    survivors = [hosts.spawn("a", common + ["--worker", w]) for w in ("a1", "a2")]
    doomed = hosts.spawn("b", common + ["--worker", "b1"])
    time.sleep(1.0)  # all three are waiting for a fourth party by now
    assert doomed.poll() is None, hosts.finish(doomed)
    doomed.kill()
    killed = time.monotonic()
    for p in survivors:
        rc, out, err = hosts.finish(p)
        assert rc == 1 and "broke in phase 0" in err, (rc, out, err)
    assert time.monotonic() - killed < 10, "the barrier broke by timeout, not by the death"


def pool_workers(hosts, prog, pool, where):
    """Worker programs of a distributed pool, one per letter of where ("ab": one in a, one
    in b), each with one worker process."""
    return [hosts.spawn(ns, [prog, "worker"] + hosts.connect_args() +
                        ["--pool", pool, "--processes", "1"]) for ns in where]


def case_monte_carlo_pi_across_hosts(hosts):
    prog = example("monte_carlo_pi")
    size = ["--tasks", "40", "--samples", "20000"]
    single = subprocess.run([prog, "--single"] + size, capture_output=True, text=True,
                            timeout=20)
    assert single.returncode == 0, single.stderr
    workers = pool_workers(hosts, prog, "pi-hosts", "aab")
    submit = hosts.run("b", [prog, "--close", "--pool", "pi-hosts"] + hosts.connect_args() +
                       size)
    assert submit.returncode == 0, submit.stderr
    assert submit.stdout.splitlines()[0] == single.stdout.strip(), (submit.stdout,
                                                                    single.stdout)
    assert "(equal to the map's sum)" in submit.stdout, submit.stdout
    for p in workers:
        rc, out, err = hosts.finish(p)
        assert rc == 0, err


def case_word_count_across_hosts(hosts):
    prog = example("word_count")
    path = os.path.join(hosts.dir, "words.txt")
    with open(path, "w", encoding="utf-8") as f:
        for i in range(1200):
            f.write("line %d of the text: the words, the café and %s\n"
                    % (i % 17, "naïve" if i % 3 else "plain"))
    single = subprocess.run([prog, "--single", "--top", "6", path], capture_output=True,
                            text=True, timeout=20)
    assert single.returncode == 0, single.stderr
    workers = pool_workers(hosts, prog, "wc-hosts", "abb")
    submit = hosts.run("a", [prog, "--close", "--top", "6", "--pool", "wc-hosts"] +
                       hosts.connect_args() + [path])
    assert submit.returncode == 0, submit.stderr
    assert submit.stdout == single.stdout, (submit.stdout, single.stdout)
    for p in workers:
        rc, out, err = hosts.finish(p)
        assert rc == 0, err


def case_remote_queue_over_tls(hosts):
    # the same hop over tls://, the manager's certificate checked against its address
    prog = example("remote_queue")
    ca = {"MPX_TLS_CA": os.path.join(hosts.dir, "ca.pem")}
    put = hosts.run("a", [prog, "put"] + hosts.connect_args(tls=True) +
                    ["--name", "tls.hello", "over", "tls"], env=ca)
    assert put.returncode == 0, put.stderr
    get = hosts.run("b", [prog, "get"] + hosts.connect_args(tls=True) +
                    ["--name", "tls.hello", "--count", "2", "--timeout", "10"], env=ca)
    assert get.returncode == 0 and get.stdout == "'over'\n'tls'\n", (get.stdout, get.stderr)
    refused = hosts.run("b", [prog, "get"] + hosts.connect_args(tls=True) +
                        ["--name", "tls.hello", "--timeout", "0.3"])  # no CA given
    assert refused.returncode != 0 and "certificate was refused" in refused.stderr, refused


CASES = [case_worker_cannot_reach_manager_on_loopback, case_remote_queue_put_on_a_get_on_b,
         case_remote_queue_over_tls,
         case_barrier_phases_two_workers_per_host, case_barrier_breaks_when_a_worker_on_b_dies,
         case_monte_carlo_pi_across_hosts, case_word_count_across_hosts]


def main():
    hosts = Hosts()
    atexit.register(hosts.close)

    def on_signal(signum, frame):
        sys.exit(128 + signum)  # unwinds through the finally below

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    start = time.monotonic()
    try:
        try:
            hosts.up()
        except Skip as why:
            print("SKIP: %s" % why)
            return SKIP

        def bound(case):
            def run():
                try:
                    case(hosts)
                finally:
                    hosts.reap()
            run.__name__ = case.__name__
            return run

        rc = mpxtest.run_cases([bound(c) for c in CASES], CASE_SECONDS, manager=hosts)
    finally:
        hosts.close()
    print("(%.1f s in namespaces %s)" % (time.monotonic() - start,
                                         " ".join(hosts.ns.values())), file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
