#!/usr/bin/env python3
"""test_python_memory.py - a stock Python client against mpx-manager --max-memory.

The manager's MPX_ENOMEM reaches SyncManager proxies as MemoryError with its message: a
list grown by appends until the budget says no, an extend by a 4 MiB str refused at once;
reads, pops and deletes run meanwhile, and once the list is emptied the append that failed
works. A refused create (Array('b', 2**30), a list whose argument would cross the budget)
is a RemoteError saying MemoryError: Python's own server answers a failed create with
#TRACEBACK, and mpx-manager answers as it does.
"""
import sys
import time
from multiprocessing.managers import RemoteError, SyncManager

from mpxtest import Manager, py_address, run_cases

CASE_SECONDS = 30
BUDGET = 32 << 20
CHUNK = "x" * (256 << 10)
M = None


def sync_manager():
    sm = SyncManager(address=py_address(M.tcp), authkey=M.key)
    sm.connect()
    return sm


def memory_error(fn, *args):
    try:
        fn(*args)
    except MemoryError as e:
        assert "OOM command not allowed" in str(e), str(e)
        return
    raise AssertionError("%s did not raise MemoryError" % fn)


def create_refused(fn, *args):
    try:
        fn(*args)
    except RemoteError as e:
        assert "MemoryError: OOM command not allowed" in str(e), str(e)
        return
    raise AssertionError("%s did not fail" % fn)


def case_known_growth_refused_at_once():
    sm = sync_manager()
    lst = sm.list()
    t0 = time.monotonic()
    memory_error(lst.extend, "y" * (4 << 20))  # 4 Mi one-character strs: 192 MiB
    for _ in range(3):  # the three Array('b', 2**30)
        create_refused(sm.Array, "b", 2 ** 30)
    assert time.monotonic() - t0 < 2, time.monotonic() - t0
    assert len(lst) == 0


def case_full_then_reads_pops_deletes():
    sm = sync_manager()
    lst = sm.list()
    appended = 0
    try:
        while appended < 4 * BUDGET // len(CHUNK):  # bounded: the budget stops it first
            lst.append(CHUNK)
            appended += 1
        raise AssertionError("no MemoryError after %d appends" % appended)
    except MemoryError as e:
        assert "OOM command not allowed when used memory > 'max-memory'" in str(e), str(e)
    assert appended > BUDGET // 2 // len(CHUNK), appended
    memory_error(lst.append, CHUNK)
    create_refused(sm.list, [CHUNK])
    other = sync_manager()
    assert len(lst) == appended and lst[0] == CHUNK
    assert lst.pop() == CHUNK and lst.count("nope") == 0
    del lst[0]
    del lst[:]
    lst.append(CHUNK)
    assert len(lst) == 1 and other.list([CHUNK])[0] == CHUNK


def main():
    global M
    M = Manager(["--max-memory", str(BUDGET)])
    return run_cases([case_known_growth_refused_at_once, case_full_then_reads_pops_deletes],
                     CASE_SECONDS, M)


if __name__ == "__main__":
    sys.exit(main())
