#!/usr/bin/env python3
"""python_bench.py - Python's SyncManager under the load mpx-bench puts on mpx-manager.

One multiprocessing.managers.SyncManager on 127.0.0.1 holds a dict, a Queue and a Lock
(or, with --connect, mpx-manager does: the same Python clients, unchanged, on its pickle
dialect);
CLIENTS worker processes, each with its own connection to the manager, make REQUESTS calls
in all and time each one with time.perf_counter. Workers connect and warm up before a
shared start event, so the rate covers only the calls. Pair tests (queue put+get, lock
acquire+release) count one pair as one op, as mpx-bench does. "create" makes a new
manager.dict() per op: Python's create, incref and decref, each on a connection of its
own. Python's proxies are synchronous: there is no pipelining, so only -P 1 is accepted.

Prints mpx-bench's CSV: test,clients,pipeline,requests,ops_per_sec,p50_ms,p99_ms,p999_ms
"""
import argparse
import multiprocessing as mp
import os
import random
import sys
import time
from multiprocessing.managers import SyncManager

KEYSPACE = 100000
TESTS = ("set", "get", "queue", "lock", "create")
HEADER = "test,clients,pipeline,requests,ops_per_sec,p50_ms,p99_ms,p999_ms"


def key(i):
    return "key:%012d" % i  # 16 bytes, as mpx-bench and redis-benchmark -r use


def worker(test, count, value, objs, ready, start, results):
    """Runs `count` ops of `test`; puts (first start, last end, latencies) on results."""
    d, q, lock, manager = objs
    rng = random.Random(os.getpid())
    # the first call on each proxy opens this process's connection to the manager
    d.get(key(0))
    q.qsize()
    lock.acquire()
    lock.release()
    ready.release()
    start.wait()
    lat = []
    clock = time.perf_counter
    t0 = clock()
    if test == "set":
        for _ in range(count):
            k = key(rng.randrange(KEYSPACE))
            t = clock()
            d[k] = value
            lat.append(clock() - t)
    elif test == "get":
        for _ in range(count):
            k = key(rng.randrange(KEYSPACE))
            t = clock()
            d[k]
            lat.append(clock() - t)
    elif test == "queue":
        for _ in range(count):
            t = clock()
            q.put(value)
            q.get()
            lat.append(clock() - t)
    elif test == "lock":
        for _ in range(count):
            t = clock()
            lock.acquire()
            lock.release()
            lat.append(clock() - t)
    elif test == "create":
        for _ in range(count):
            t = clock()
            manager.dict()  # created, then given back when the proxy goes
            lat.append(clock() - t)
    results.put((t0, clock(), lat))


def percentile(sorted_lat, p):
    if not sorted_lat:
        return 0.0
    i = int(p * (len(sorted_lat) - 1) + 0.5)
    return sorted_lat[min(max(i, 0), len(sorted_lat) - 1)]


def run(test, args, objs, value):
    ctx = mp.get_context("fork")
    ready, start, results = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    shares = [args.requests // args.clients + (1 if i < args.requests % args.clients else 0)
              for i in range(args.clients)]
    procs = [ctx.Process(target=worker, args=(test, n, value, objs, ready, start, results),
                         daemon=True) for n in shares]
    for p in procs:
        p.start()
    deadline = time.monotonic() + args.time_limit
    try:
        for _ in procs:
            if not ready.acquire(timeout=max(deadline - time.monotonic(), 0.1)):
                raise TimeoutError("workers did not connect")
        start.set()
        got = []
        for _ in procs:
            got.append(results.get(timeout=max(deadline - time.monotonic(), 0.1)))
    except Exception as e:  # queue.Empty or TimeoutError: report, stop our workers
        for p in procs:
            p.terminate()
        raise SystemExit("python_bench: %s: %s (%s), limit %.0f s"
                         % (test, type(e).__name__, e, args.time_limit))
    for p in procs:
        p.join(timeout=10)
    begin = min(g[0] for g in got)
    end = max(g[1] for g in got)
    lat = sorted(x for g in got for x in g[2])
    rate = len(lat) / (end - begin)
    return "%s,%d,1,%d,%.0f,%.3f,%.3f,%.3f" % (
        test, args.clients, len(lat), rate, percentile(lat, 0.5) * 1e3,
        percentile(lat, 0.99) * 1e3, percentile(lat, 0.999) * 1e3)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-c", "--clients", type=int, default=50)
    ap.add_argument("-n", "--requests", type=int, default=20000)
    ap.add_argument("-P", "--pipeline", type=int, default=1)
    ap.add_argument("-t", "--tests", default=",".join(TESTS))
    ap.add_argument("-d", "--data-size", type=int, default=16)
    ap.add_argument("-T", "--time-limit", type=float, default=120,
                    help="seconds allowed for each test")
    ap.add_argument("--csv", action="store_true", help="print the CSV header too")
    ap.add_argument("--connect", metavar="tcp://HOST:PORT",
                    help="use this running manager (mpx-manager) instead of starting one")
    ap.add_argument("--authkey-file", help="its key (for --connect)")
    args = ap.parse_args()
    tests = [t for t in args.tests.split(",") if t]
    bad = [t for t in tests if t not in TESTS]
    if bad or args.pipeline != 1 or args.clients < 1 or args.requests < args.clients:
        ap.error("tests are %s; -P must be 1 (Python has no pipelining); -n >= -c"
                 % ",".join(TESTS))

    if args.connect:
        host, _, port = args.connect[len("tcp://"):].rpartition(":")
        with open(args.authkey_file, "rb") as f:
            authkey = f.read().rstrip(b"\n")
        manager = SyncManager(address=(host, int(port)), authkey=authkey)
        manager.connect()
        mp.current_process().authkey = authkey  # the workers' connections use it
    else:
        manager = SyncManager(address=("127.0.0.1", 0), authkey=os.urandom(16))
        manager.start()
    try:
        d, q, lock = manager.dict(), manager.Queue(), manager.Lock()
        value = "x" * args.data_size
        # get reads keys set before: fill the whole keyspace in one call
        d.update({key(i): value for i in range(KEYSPACE)})
        if args.csv:
            print(HEADER, flush=True)
        for test in tests:
            print(run(test, args, (d, q, lock, manager), value), flush=True)
    finally:
        if not args.connect:
            manager.shutdown()


if __name__ == "__main__":
    main()
