#!/usr/bin/env python3
"""redis_fill.py - writes N Redis SET commands in RESP to stdout, for `redis-cli --pipe`.

The data is what `mpx-bench -t fill -n N` stores in mpx: N distinct 16-byte str keys
"key:%012d" and 16-byte str values (not digits only, so Redis cannot store them as
integers). redis-benchmark cannot load it: its -r keys repeat.
Usage: redis_fill.py N | redis-cli -h 127.0.0.1 -p PORT --pipe
"""
import sys


def main():
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit("usage: redis_fill.py N | redis-cli -p PORT --pipe")
    n = int(sys.argv[1])
    out = sys.stdout.buffer
    batch = []
    for i in range(n):
        k = b"key:%012d" % i
        v = b"value:%010d" % i
        batch.append(b"*3\r\n$3\r\nSET\r\n$16\r\n%s\r\n$16\r\n%s\r\n" % (k, v))
        if len(batch) == 10000:
            out.write(b"".join(batch))
            batch.clear()
    out.write(b"".join(batch))
    out.flush()


if __name__ == "__main__":
    main()
