#!/usr/bin/env python3
"""test_tls.py - tls:// managers, with certificates this test makes with the openssl CLI.

A manager listening on tcp://, unix:// and tls:// (--tls-cert, --tls-key) is reached over
tls:// by the sync client (dict_worker and its report, the mpx CLI), the pipelined client
(word_count's mpx_proxy_append), the async client (mpx-bench, P16) and a pool's worker
programs (monte_carlo_pi, word_count). A client without the CA, a certificate naming
another host, a plain client on the TLS port and a TLS client on the plain port each fail
with a one-line reason on both sides, and the manager goes on serving.
With --tls-ca the manager requires a client certificate that CA signed (mutual TLS).
`openssl s_client` sees the manager's #CHALLENGE# inside TLS.
"""
import os
import subprocess
import tempfile
import time

from mpxtest import Manager, run_cases

CLI = os.environ.get("MPX_CLI_BIN")
BENCH = os.environ.get("MPX_BENCH_BIN")
EXAMPLES = os.environ.get("MPX_EXAMPLES_DIR")
CASE_SECONDS = 60
PKI = tempfile.mkdtemp(prefix="mpx-tls-", dir="/tmp")
M = None


def openssl(*args):
    out = subprocess.run(["openssl"] + list(args), capture_output=True, text=True,
                         timeout=60, cwd=PKI)
    assert out.returncode == 0, (args, out.stderr)


def make_ca(name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key",
            "-out", name + ".pem", "-days", "2", "-subj", "/CN=" + name)


def make_cert(name, ca, san):
    """A certificate for san ("DNS:localhost,IP:127.0.0.1"), signed by ca."""
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out",
            name + ".csr", "-subj", "/CN=" + name)
    with open(os.path.join(PKI, name + ".ext"), "w") as f:
        f.write("subjectAltName=%s\n" % san)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
            "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext")


def pki(name):
    return os.path.join(PKI, name)


def tls_manager(cert="server", extra=()):
    return Manager(["--listen", "tls://127.0.0.1:0", "--tls-cert", pki(cert + ".pem"),
                    "--tls-key", pki(cert + ".key")] + list(extra))


def tls_address(m, host="127.0.0.1"):
    return m.addresses[2].replace("127.0.0.1", host)


def run(argv, env=None, timeout=30):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


def trusted(**more):
    return dict({"MPX_TLS_CA": pki("ca.pem")}, **more)


def ping(address, env, m=None):
    return run([CLI, "-a", address, "-k", (m or M).keyfile, "ping"], env=env)


def case_sync_client_round_trip():
    prog = os.path.join(EXAMPLES, "dict_worker")
    common = ["--connect", tls_address(M), "--authkey-file", M.keyfile, "--name", "tls"]
    for who in ("a", "b"):
        out = run([prog] + common + ["--worker", who, "--count", "50"], env=trusted())
        assert out.returncode == 0, out.stderr
    out = run([prog] + common + ["--report"], env=trusted())
    assert out.returncode == 0 and "'a': 50" in out.stdout and "'b': 50" in out.stdout, out
    # by name as well as by address, and the same objects over tcp://
    out = ping(tls_address(M, "localhost"), trusted())
    assert out.returncode == 0 and out.stdout.strip() == "pong", out
    out = run([prog, "--connect", M.tcp, "--authkey-file", M.keyfile, "--name", "tls",
               "--report"])
    assert "'a': 50" in out.stdout, out


def case_pipelined_client():
    # word_count's manager side pipelines its dict updates (mpx_proxy_append)
    prog = os.path.join(EXAMPLES, "word_count")
    with tempfile.TemporaryDirectory(prefix="mpx-tls-wc-") as tmp:
        path = os.path.join(tmp, "a.txt")
        with open(path, "w") as f:
            for i in range(600):
                f.write("the %d words, and THE word%d; the end.\n" % (i % 7, i % 13))
        single = run([prog, "--single", "--top", "5", path]).stdout
        common = ["--connect", tls_address(M), "--authkey-file", M.keyfile, "--pool", "tls.wc"]
        workers = [subprocess.Popen([prog, "worker"] + common + ["--processes", "1"],
                                    stderr=subprocess.PIPE, text=True,
                                    env=dict(os.environ, **trusted())) for _ in range(2)]
        out = run([prog, "--close", "--top", "5"] + common + [path], env=trusted(), timeout=60)
        assert out.returncode == 0 and out.stdout == single, (out, single)
        for w in workers:
            _, err = w.communicate(timeout=60)
            assert w.returncode == 0, err


def case_async_client():
    # mpx-bench's connections are async clients (libuv), pipelining 16 calls each
    out = run([BENCH, "-a", tls_address(M), "-k", M.keyfile, "-c", "4", "-n", "4000", "-P",
               "16", "-t", "set,get", "-q", "--csv"], env=trusted(), timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("\n") == 3, out.stdout


def case_pool_worker_programs():
    prog = os.path.join(EXAMPLES, "monte_carlo_pi")
    size = ["--tasks", "12", "--samples", "20000"]
    single = run([prog, "--single"] + size).stdout.strip()
    common = ["--connect", tls_address(M), "--authkey-file", M.keyfile, "--pool", "tls.pi"]
    workers = [subprocess.Popen([prog, "worker"] + common + ["--processes", "1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, **trusted())) for _ in range(2)]
    dist = run([prog, "--close"] + common + size, env=trusted(), timeout=60)
    assert dist.returncode == 0 and dist.stdout.splitlines()[0] == single, (dist, single)
    for w in workers:
        _, err = w.communicate(timeout=60)
        assert w.returncode == 0, err


def case_verification_failures():
    out = ping(tls_address(M), {"MPX_TLS_CA": pki("other.pem")})
    assert out.returncode == 3, out
    assert "certificate was refused: unable to get local issuer certificate" in out.stderr, out
    wrong = tls_manager("wrongname")
    try:
        out = ping(tls_address(wrong), trusted(), wrong)
        assert out.returncode == 3 and "IP address mismatch" in out.stderr, out
        out = ping(tls_address(wrong, "localhost"), trusted(), wrong)
        assert out.returncode == 3 and "hostname mismatch" in out.stderr, out
        assert "tls-failed" in wrong.log() or "tls" in wrong.log()
        out = ping(tls_address(wrong), trusted(MPX_TLS_NO_VERIFY="1"), wrong)
        assert out.returncode == 0, out  # the check, switched off for tests only
    finally:
        assert wrong.stop() == 0
    assert ping(tls_address(M), trusted()).returncode == 0  # the manager goes on


def case_wrong_side_of_the_port():
    # a plain client on the TLS port: the manager waits for a hello, then says why
    out = ping(tls_address(M).replace("tls://", "tcp://"), {})
    assert out.returncode == 3 and "a tls:// port?" in out.stderr, out
    # a TLS client on the plain port
    out = ping(M.tcp.replace("tcp://", "tls://"), trusted())
    assert out.returncode == 3 and "does not speak TLS (a tcp:// port?)" in out.stderr, out
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        log = M.log()
        if "no TLS handshake in time" in log and "a TLS client on a tcp:// port" in log:
            break
        time.sleep(0.1)
    assert "no TLS handshake in time" in log and "a TLS client on a tcp:// port" in log, log
    assert ping(tls_address(M), trusted()).returncode == 0
    assert ping(M.tcp, {}).returncode == 0


def case_mutual_tls():
    mutual = tls_manager(extra=["--tls-ca", pki("clientca.pem")])
    try:
        out = ping(tls_address(mutual), trusted(), mutual)
        assert out.returncode == 3 and "tls" in out.stderr, out
        deadline = time.monotonic() + 10
        while "certificate was refused" not in mutual.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "the client's certificate was refused" in mutual.log(), mutual.log()
        out = ping(tls_address(mutual), trusted(MPX_TLS_CERT=pki("client.pem"),
                                                MPX_TLS_KEY=pki("client.key")), mutual)
        assert out.returncode == 0 and out.stdout.strip() == "pong", out
        # a certificate of a CA the manager does not trust
        out = ping(tls_address(mutual), trusted(MPX_TLS_CERT=pki("stranger.pem"),
                                                MPX_TLS_KEY=pki("stranger.key")), mutual)
        assert out.returncode == 3, out
    finally:
        assert mutual.stop() == 0


def case_openssl_s_client_sees_the_challenge():
    port = tls_address(M).rsplit(":", 1)[1]
    proc = subprocess.Popen(["openssl", "s_client", "-connect", "127.0.0.1:" + port,
                             "-CAfile", pki("ca.pem"), "-verify_return_error", "-quiet"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        out, _ = proc.communicate(timeout=5)  # the manager closes after its auth timeout
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    assert b"#CHALLENGE#{sha256}" in out, out


def main():
    global M
    make_ca("ca")
    make_ca("other")
    make_ca("clientca")
    make_cert("server", "ca", "DNS:localhost,IP:127.0.0.1")
    make_cert("wrongname", "ca", "DNS:elsewhere.example")
    make_cert("client", "clientca", "DNS:worker")
    make_cert("stranger", "other", "DNS:worker")
    M = tls_manager(extra=["--auth-timeout-ms", "1000"])
    cases = [case_sync_client_round_trip, case_pipelined_client, case_async_client,
             case_pool_worker_programs,
             case_verification_failures, case_wrong_side_of_the_port, case_mutual_tls,
             case_openssl_s_client_sees_the_challenge]
    try:
        return run_cases(cases, CASE_SECONDS, M)
    finally:
        subprocess.run(["rm", "-rf", PKI])


if __name__ == "__main__":
    raise SystemExit(main())
