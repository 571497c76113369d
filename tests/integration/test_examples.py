#!/usr/bin/env python3
"""test_examples.py - the examples README shows, run for real.

shared_dict, queue_hello, value_array and pool_squares must print the Python
documentation's lines (pool_squares: the squares in order, then in any order, 400, pids
of the pool's workers, and the TimeoutError line, without waiting out the 10 s task);
lock_counter's workers must add up exactly; task_queue runs as Python's remote-manager
example does, its workers as separate programs, one of them joining after the tasks were
put; dict_worker is run as the two-hosts example runs it: an mpx-manager on a TCP port,
three workers started as separate programs at once, then --report, which must find every
update from every worker. remote_queue puts from one program and gets from another, and a
get on an empty queue must give up after its --timeout with a message; three
barrier_phases workers started at once must each find the log consistent, and a lone one
must report the broken barrier. monte_carlo_pi and word_count print the same from one
process, a local pool, and three worker programs on a manager; a map shows its progress
on a terminal, and only there.
Prints "N passed, M failed" last; exits non-zero on any failure.
"""
import os
import pty
import signal
import subprocess
import sys
import tempfile
import time

BIN = os.environ["MPX_MANAGER_BIN"]
EXAMPLES = os.environ["MPX_EXAMPLES_DIR"]
TIMEOUT = 60


def case_shared_dict():
    out = subprocess.run([os.path.join(EXAMPLES, "shared_dict")], capture_output=True,
                         text=True, timeout=TIMEOUT)
    assert out.returncode == 0, out.stderr
    assert out.stdout == ("{0.25: None, 1: '1', '2': 2}\n"
                          "[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]\n"), out.stdout


def case_value_array():
    out = subprocess.run([os.path.join(EXAMPLES, "value_array")], capture_output=True,
                         text=True, timeout=TIMEOUT)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "3.1415927\n[0, -1, -2, -3, -4, -5, -6, -7, -8, -9]\n", out.stdout


def case_pool_squares():
    start = time.monotonic()
    out = subprocess.run([os.path.join(EXAMPLES, "pool_squares")], capture_output=True,
                         text=True, timeout=TIMEOUT)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 17, out.stdout
    squares = [i * i for i in range(10)]
    assert lines[0] == str(squares), lines[0]
    assert sorted(int(x) for x in lines[1:11]) == squares, lines[1:11]
    assert lines[11] == "400", lines[11]
    pid = int(lines[12])
    pids = [int(x) for x in lines[13].strip("[]").split(", ")]
    assert len(pids) == 4 and all(p > 0 for p in [pid] + pids), lines[12:14]
    assert lines[14:] == ["We lacked patience and got a multiprocessing.TimeoutError",
                          "For the moment, the pool remains available for more work",
                          "Now the pool has been terminated"], lines[14:]
    assert time.monotonic() - start < 9, time.monotonic() - start  # not the 10 s sleep


def case_custom_type():
    """The demo: its own manager with TokenBucket(20/s, burst 5, 2 slots), 4 workers."""
    start = time.monotonic()
    out = subprocess.run([os.path.join(EXAMPLES, "custom_type")], capture_output=True,
                         text=True, timeout=TIMEOUT)
    assert out.returncode == 0, out.stderr
    lines = [l for l in out.stdout.splitlines() if not l.startswith("mpx-manager:")]
    workers = [l for l in lines if l.startswith("worker ")]
    assert len(workers) == 4, out.stdout
    for line in workers:
        most = int(line.split("at most ")[1].split()[0])
        assert line.split(": ")[1].startswith("10 tokens") and 1 <= most <= 2, line
    assert lines[-1].startswith("40 tokens in "), lines
    # the rate is the point: 35 tokens after the burst at 20 a second take 1.75 s
    assert time.monotonic() - start >= 1.6, time.monotonic() - start


def case_lock_counter():
    out = subprocess.run([os.path.join(EXAMPLES, "lock_counter"), "--workers", "4",
                          "--increments", "250"], capture_output=True, text=True,
                         timeout=TIMEOUT)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "counter = 1000 (expected 1000)\n", out.stdout


def case_queue_hello():
    out = subprocess.run([os.path.join(EXAMPLES, "queue_hello")], capture_output=True,
                         text=True, timeout=TIMEOUT)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "[42, None, 'hello']\n", out.stdout


def start_manager(tmp):
    key = os.path.join(tmp, "key")
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, os.urandom(16).hex().encode() + b"\n")
    os.close(fd)
    rfd, wfd = os.pipe()
    proc = subprocess.Popen([BIN, "--listen", "tcp://127.0.0.1:0", "--authkey-file", key,
                             "--log-level", "warn", "--ready-fd", str(wfd)],
                            pass_fds=(wfd,), stdout=subprocess.DEVNULL)
    os.close(wfd)
    with os.fdopen(rfd) as ready:
        address = ready.readline().strip()
    assert address.startswith("tcp://127.0.0.1:"), address
    return proc, address, key


def case_dict_workers_on_separate_programs():
    with tempfile.TemporaryDirectory(prefix="mpx-examples-") as tmp:
        proc, address, key = start_manager(tmp)
        try:
            worker = os.path.join(EXAMPLES, "dict_worker")
            common = ["--connect", address, "--authkey-file", key, "--name", "counts"]
            workers = [subprocess.Popen([worker] + common + ["--worker", w, "--count", n],
                                        stdout=subprocess.PIPE, text=True)
                       for w, n in (("a", "300"), ("b", "200"), ("c", "100"))]
            for w in workers:
                out, _ = w.communicate(timeout=TIMEOUT)
                assert w.returncode == 0, out
            report = subprocess.run([worker] + common + ["--report"], capture_output=True,
                                    text=True, timeout=TIMEOUT)
            assert report.returncode == 0, report.stderr
            assert "'a': 300" in report.stdout and "'b': 200" in report.stdout, report.stdout
            assert "'c': 100" in report.stdout, report.stdout
            assert "600 entries" in report.stdout and "consistent" in report.stdout, \
                report.stdout
            bad = subprocess.run([worker] + common[:2] + ["--authkey-file", "/nonexistent",
                                  "--name", "x", "--report"], capture_output=True, text=True,
                                 timeout=TIMEOUT)
            assert bad.returncode != 0 and bad.stderr, bad
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=TIMEOUT) == 0


def case_task_queue_workers_on_separate_programs():
    with tempfile.TemporaryDirectory(prefix="mpx-examples-") as tmp:
        proc, address, key = start_manager(tmp)
        try:
            prog = os.path.join(EXAMPLES, "task_queue")
            common = ["--connect", address, "--authkey-file", key]
            early = subprocess.Popen([prog, "work"] + common + ["--worker", "early"],
                                     stdout=subprocess.PIPE, text=True)
            submit = subprocess.Popen([prog, "submit"] + common + ["--tasks", "400",
                                      "--stop", "2"], stdout=subprocess.PIPE, text=True)
            late = subprocess.Popen([prog, "work"] + common + ["--worker", "late"],
                                    stdout=subprocess.PIPE, text=True)
            out, _ = submit.communicate(timeout=TIMEOUT)
            assert submit.returncode == 0, out
            assert out.startswith("400 tasks done by "), out
            assert "every result checked" in out, out
            done = 0
            for w in (early, late):
                wout, _ = w.communicate(timeout=TIMEOUT)
                assert w.returncode == 0, wout
                done += int(wout.split(": ")[1].split()[0])
            assert done == 400, done
            bad = subprocess.run([prog, "juggle"] + common, capture_output=True, text=True,
                                 timeout=TIMEOUT)
            assert bad.returncode == 2 and "work or submit" in bad.stderr, bad
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=TIMEOUT) == 0


def run_ok(argv):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 0, (argv, out.stdout, out.stderr)
    return out.stdout


def case_monte_carlo_pi_same_everywhere():
    prog = os.path.join(EXAMPLES, "monte_carlo_pi")
    size = ["--tasks", "24", "--samples", "20000"]
    single = run_ok([prog, "--single"] + size)
    assert single.startswith("pi is about 3.1"), single
    local = run_ok([prog, "--processes", "3"] + size)
    assert local.splitlines()[0] == single.strip(), (local, single)
    assert "(equal to the map's sum)" in local, local
    with tempfile.TemporaryDirectory(prefix="mpx-examples-") as tmp:
        proc, address, key = start_manager(tmp)
        try:
            common = ["--connect", address, "--authkey-file", key, "--pool", "pi"]
            workers = [subprocess.Popen([prog, "worker"] + common + ["--processes", "1"],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True) for _ in range(3)]
            dist = run_ok([prog, "--close"] + common + size)
            assert dist.splitlines()[0] == single.strip(), (dist, single)
            for w in workers:
                out, err = w.communicate(timeout=TIMEOUT)
                assert w.returncode == 0, err
            again = subprocess.run([prog] + common + size, capture_output=True, text=True,
                                   timeout=TIMEOUT)
            assert again.returncode == 1 and "Pool not running" in again.stderr, again
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=TIMEOUT) == 0
    bad = subprocess.run([prog, "--tasks", "0"], capture_output=True, text=True,
                         timeout=TIMEOUT)
    assert bad.returncode == 2 and "--tasks needs a number" in bad.stderr, bad


def case_pool_progress_only_on_a_terminal():
    prog = os.path.join(EXAMPLES, "monte_carlo_pi")
    argv = [prog, "--processes", "2", "--tasks", "30", "--samples", "1000"]
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave, text=True)
        os.close(slave)
        out, _ = proc.communicate(timeout=TIMEOUT)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal closed with the program
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
    assert proc.returncode == 0, out
    assert b"30/30 done" in seen and b"/s, " in seen and b"s left" in seen, seen
    piped = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)
    assert piped.returncode == 0 and "done" not in piped.stderr, piped.stderr


def case_word_count_same_everywhere():
    prog = os.path.join(EXAMPLES, "word_count")
    with tempfile.TemporaryDirectory(prefix="mpx-examples-") as tmp:
        files = []
        for name, lines in (("a.txt", 900), ("b.txt", 450)):
            path = os.path.join(tmp, name)
            with open(path, "w", encoding="utf-8") as f:
                for i in range(lines):
                    f.write("The café's %d words, and THE naïve word%d; the end.\n"
                            % (i % 7, i % 13))
            files.append(path)
        single = run_ok([prog, "--single", "--top", "5"] + files)
        assert single.startswith("1350 lines, "), single
        assert run_ok([prog, "--processes", "3", "--top", "5"] + files) == single
        proc, address, key = start_manager(tmp)
        try:
            common = ["--connect", address, "--authkey-file", key, "--pool", "wc"]
            workers = [subprocess.Popen([prog, "worker"] + common + ["--processes", "1"],
                                        stderr=subprocess.PIPE, text=True)
                       for _ in range(3)]
            assert run_ok([prog, "--close", "--top", "5"] + common + files) == single
            for w in workers:
                _, err = w.communicate(timeout=TIMEOUT)
                assert w.returncode == 0, err
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=TIMEOUT) == 0
        missing = subprocess.run([prog, os.path.join(tmp, "nope.txt")], capture_output=True,
                                 text=True, timeout=TIMEOUT)
        assert missing.returncode == 1 and "nope.txt" in missing.stderr, missing
def case_remote_queue_put_then_get():
    with tempfile.TemporaryDirectory(prefix="mpx-examples-") as tmp:
        proc, address, key = start_manager(tmp)
        try:
            prog = os.path.join(EXAMPLES, "remote_queue")
            common = ["--connect", address, "--authkey-file", key]
            put = subprocess.run([prog, "put"] + common + ["hello", "it's"],
                                 capture_output=True, text=True, timeout=TIMEOUT)
            assert put.returncode == 0, put.stderr
            get = subprocess.run([prog, "get"] + common + ["--count", "2", "--timeout", "5"],
                                 capture_output=True, text=True, timeout=TIMEOUT)
            assert get.returncode == 0, get.stderr
            assert get.stdout == "'hello'\n\"it's\"\n", get.stdout
            start = time.monotonic()
            empty = subprocess.run([prog, "get"] + common + ["--timeout", "0.3"],
                                   capture_output=True, text=True, timeout=TIMEOUT)
            assert empty.returncode == 1, empty
            assert "queue.Empty" in empty.stderr and empty.stdout == "", empty
            assert 0.25 <= time.monotonic() - start < 10, time.monotonic() - start
            bad = subprocess.run([prog, "put"] + common, capture_output=True, text=True,
                                 timeout=TIMEOUT)
            assert bad.returncode == 2 and "MESSAGE" in bad.stderr, bad
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=TIMEOUT) == 0


def case_barrier_phases_workers_at_once():
    with tempfile.TemporaryDirectory(prefix="mpx-examples-") as tmp:
        proc, address, key = start_manager(tmp)
        try:
            prog = os.path.join(EXAMPLES, "barrier_phases")
            common = ["--connect", address, "--authkey-file", key, "--parties", "3",
                      "--phases", "5", "--timeout", "20"]
            workers = [subprocess.Popen([prog] + common + ["--worker", w],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
                       for w in "abc"]
            for w, name in zip(workers, "abc"):
                out, err = w.communicate(timeout=TIMEOUT)
                assert w.returncode == 0, err
                assert out == f"worker {name}: 5 phases, log consistent (15 entries)\n", out
            lone = subprocess.run([prog] + common[:4] + ["--parties", "2", "--phases", "2",
                                  "--name", "lone", "--timeout", "0.3"],
                                  capture_output=True, text=True, timeout=TIMEOUT)
            assert lone.returncode == 1 and "broke in phase 0" in lone.stderr, lone
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=TIMEOUT) == 0


def main():
    cases = [case_shared_dict, case_queue_hello, case_value_array, case_pool_squares,
             case_custom_type, case_lock_counter,
             case_dict_workers_on_separate_programs,
             case_task_queue_workers_on_separate_programs,
             case_monte_carlo_pi_same_everywhere, case_pool_progress_only_on_a_terminal,
             case_word_count_same_everywhere,
             case_remote_queue_put_then_get, case_barrier_phases_workers_at_once]
    failed = 0
    for case in cases:
        start = time.monotonic()
        try:
            case()
            print(f"ok   {case.__name__} ({time.monotonic() - start:.2f}s)")
        except Exception as exc:  # report every case, then fail
            failed += 1
            print(f"FAIL {case.__name__}: {exc!r}")
    print(f"{len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
