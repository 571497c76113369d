#!/usr/bin/env python3
"""test_tools.py - mpx-bench and bench/parked against a real manager, briefly.

parked parks 500 queue gets on 100 connections and checks that 500 puts wake each once,
in FIFO order. For mpx-bench, every test runs with several clients and a pipeline and
reports a positive rate and ordered percentiles in its CSV line; the plain table has a
line per test; bad arguments, an unknown test and a wrong key fail with a message. The
loads are small: this checks that the tool works, it measures nothing.
"""
import os
import subprocess
import sys

from mpxtest import Manager, run_cases

BENCH = os.environ.get("MPX_BENCH_BIN")
M = None
TESTS = ["set", "get", "append", "queue", "lock", "incr", "barrier", "fill"]


def bench(*args, key=None):
    argv = [BENCH, "-q", "-k", key or M.keyfile] + list(args)
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def case_every_test_in_csv():
    out = bench("-a", M.tcp, "-c", "4", "-P", "4", "-n", "2000", "-t", ",".join(TESTS),
                "--csv")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "test,clients,pipeline,requests,ops_per_sec,p50_ms,p99_ms,p999_ms", lines
    assert [line.split(",")[0] for line in lines[1:]] == TESTS, lines
    for line in lines[1:]:
        name, clients, pipeline, requests, ops, p50, p99, p999 = line.split(",")
        assert (clients, pipeline) == ("4", "4"), line
        # barrier runs whole rounds of clients x pipeline
        assert int(requests) == (2000 if name != "barrier" else 2000 // 16 * 16), line
        assert float(ops) > 0, line
        assert 0 <= float(p50) <= float(p99) <= float(p999), line


def case_table_over_unix_socket():
    out = bench("-a", M.unix, "-c", "2", "-n", "500", "-t", "set,get", "-d", "100")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:4] == ["test", "clients", "pipeline", "requests"], lines
    assert lines[1].split()[:4] == ["set", "2", "1", "500"], lines
    assert lines[2].split()[0] == "get", lines


def case_bad_arguments():
    for args, needle in ((["-c", "0", "-a", M.tcp], "-c needs"),
                         (["-t", "set,nosuch", "-a", M.tcp], "unknown test 'nosuch'"),
                         (["-n", "10"], "-a ADDR is required")):
        out = bench(*args)
        assert out.returncode == 2 and needle in out.stderr, (args, out.stderr)
    wrong = os.path.join(M.dir, "wrong.key")
    fd = os.open(wrong, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"not the key")
    os.close(fd)
    out = bench("-a", M.tcp, "-n", "10", key=wrong)
    assert out.returncode == 1 and "AuthenticationError" in out.stderr, out.stderr


def case_parked_gets_wake_in_fifo_order():
    parked = os.environ.get("MPX_PARKED_BIN")
    assert parked, "set MPX_PARKED_BIN"
    out = subprocess.run([parked, os.environ["MPX_MANAGER_BIN"], "100", "5", "0"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "500 puts woke 500 gets: 0 out of FIFO order, 0 not answered exactly once, " \
           "0 items left: ok" in out.stdout, out.stdout
    bad = subprocess.run([parked, os.environ["MPX_MANAGER_BIN"], "0"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "CONNECTIONS 1..10000" in bad.stderr, bad


def main():
    global M
    if not BENCH:
        print("set MPX_BENCH_BIN to the mpx-bench binary", file=sys.stderr)
        return 1
    M = Manager()
    return run_cases([case_every_test_in_csv, case_table_over_unix_socket,
                      case_bad_arguments, case_parked_gets_wake_in_fifo_order], 60, M)


if __name__ == "__main__":
    sys.exit(main())
