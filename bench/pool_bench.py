#!/usr/bin/env python3
"""pool_bench.py - Python's multiprocessing.Pool doing the map bench/pool_bench.c times.

Pool(processes=P).map(f, range(N)) with f(x) = x * x and map's default chunksize, after a
warm-up map; prints the best of R maps as "python_pool_map_seconds=S" (bench/pool_bench
reads that line). --floats maps over 0.0, 1.0, ... instead of range(N).
Usage: pool_bench.py [--tasks N] [--processes P] [--repeat R] [--floats]
"""
import argparse
import multiprocessing
import time


def f(x):
    return x * x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=100000)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--floats", action="store_true")
    a = ap.parse_args()
    items = [float(i) for i in range(a.tasks)] if a.floats else range(a.tasks)
    with multiprocessing.Pool(processes=a.processes) as pool:
        pool.map(f, range(1000))  # the workers are up and have run once
        best = None
        for _ in range(max(1, a.repeat)):
            start = time.perf_counter()
            out = pool.map(f, items)
            took = time.perf_counter() - start
            assert len(out) == a.tasks and out[-1] == (a.tasks - 1) ** 2
            best = took if best is None or took < best else best
    print(f"python_pool_map_seconds={best:.6f}")


if __name__ == "__main__":
    main()
