#!/usr/bin/env python3
"""test_python_dialect.py - unmodified Python programs use mpx-manager.

Stock multiprocessing.managers clients (SyncManager.connect, BaseManager.register) drive a
real mpx-manager over TCP and a unix socket: every SyncManager typeid with its exposed
methods, keyword arguments, errors as the classes Python raises, the documentation's
remote-manager example, C programs and Python sharing one Queue and one dict, a Lock
whose SIGKILLed holder hands it to a waiting process, and hostile pickles refused with
the session kept and nothing run. Run by this interpreter, and again (the cases that need
only Python) by every other python3.X found here, 3.12 included where the machine has it.
"""
import gc
import glob
import multiprocessing
import os
import pickle
import queue
import subprocess
import sys
import threading
import time
from multiprocessing import connection
from multiprocessing.managers import BaseManager, RemoteError, SyncManager

from mpxtest import Manager, py_address, run_cases

CASE_SECONDS = 30
EXAMPLES = os.environ.get("MPX_EXAMPLES_DIR")
M = None  # the manager every case shares (started in main)


def sync_manager(addr=None):
    sm = SyncManager(address=py_address(addr or M.tcp), authkey=M.key)
    sm.connect()
    return sm


def expect(exc_type, fn, *args, **kwds):
    try:
        fn(*args, **kwds)
    except exc_type as e:
        return e
    raise AssertionError("%s did not raise %s" % (fn, exc_type.__name__))


# ---- every typeid ---------------------------------------------------------------------

def case_dict_and_list():
    sm = sync_manager()
    d = sm.dict({"a": 1}, b=2)
    d["x"] = [1, 2]
    assert d.copy() == {"a": 1, "b": 2, "x": [1, 2]}, d.copy()
    assert d.keys() == ["a", "b", "x"] and len(d) == 3 and "a" in d
    assert d.get("zz", 5) == 5 and d.setdefault("s", 0) == 0 and d.pop("s") == 0
    d.update({"c": 3}, e=5)
    assert d["c"] == 3 and d["e"] == 5
    assert str(d) == repr(d.copy()), str(d)
    assert list(d) == ["a", "b", "x", "c", "e"] and sorted(iter(d)) == sorted(d.keys())
    it = iter(d)
    d["late"] = 1  # the iterator walks the keys as they were
    assert list(it) == ["a", "b", "x", "c", "e"] and next(it, "end") == "end"
    d["s"] = {1, 2, "x"}
    d[frozenset({1})] = frozenset({(1, 2)})
    assert d["s"] == {1, 2, "x"} and type(d["s"]) is set
    assert d[frozenset({1})] == frozenset({(1, 2)}) and type(d[frozenset({1})]) is frozenset
    del d["s"], d[frozenset({1})]
    e = expect(KeyError, d.__getitem__, "nope")
    assert e.args == ("nope",), e.args
    e = expect(KeyError, d.__getitem__, (1, "t"))
    assert e.args == ((1, "t"),), e.args
    lst = sm.list([3, 1, 2])
    lst.sort(reverse=True)
    lst.append(9)
    lst.extend([0])
    assert lst[:] == [3, 2, 1, 9, 0] and lst[0:2] == [3, 2] and len(lst) == 5
    lst.sort()
    assert str(lst) == "[0, 1, 2, 3, 9]", str(lst)
    assert lst.index(9) == 4 and lst.count(1) == 1 and lst.pop() == 9
    expect(IndexError, lst.__getitem__, 10)
    assert lst + [7] == [0, 1, 2, 3, 7] and lst * 2 == [0, 1, 2, 3] * 2
    assert 2 * lst == [0, 1, 2, 3] * 2 and list(reversed(lst)) == [3, 2, 1, 0]
    lst *= 2
    assert lst[:] == [0, 1, 2, 3, 0, 1, 2, 3]
    del lst[4:]
    expect(ValueError, lst.index, 42)
    e = expect(TypeError, lst.sort, key=None, reverse=True, bogus=1)
    assert "unexpected keyword argument 'bogus'" in str(e), e


def case_namespace_value_array():
    sm = sync_manager()
    ns = sm.Namespace(x=1)
    ns.y = "b"
    assert (ns.x, ns.y) == (1, "b") and str(ns) == "Namespace(x=1, y='b')", str(ns)
    del ns.x
    expect(AttributeError, getattr, ns, "x")
    v = sm.Value("i", 3)
    v.value = 7
    assert v.value == 7 and v.get() == 7
    w = sm.Value("d", 1.5, lock=False)
    assert w.value == 1.5
    a = sm.Array("i", [1, 2, 3])
    a[0] = 5
    assert len(a) == 3 and a[0] == 5 and list(a[:]) == [5, 2, 3]


def case_locks_and_semaphores():
    sm = sync_manager()
    lk = sm.Lock()
    assert lk.acquire() is True
    assert lk.acquire(False) is False and lk.acquire(timeout=0.05) is False
    lk.release()
    expect(RuntimeError, lk.release)
    rl = sm.RLock()
    with rl:
        with rl:
            pass
    expect(RuntimeError, rl.release)
    s = sm.Semaphore(2)
    assert s.acquire() and s.acquire() and s.acquire(timeout=0.05) is False
    s.release()
    assert s.acquire(blocking=False) is True
    bs = sm.BoundedSemaphore(1)
    expect(ValueError, bs.release)


def case_condition_event_barrier():
    sm = sync_manager()
    c = sm.Condition()
    with c:
        assert c.wait(0.05) is False
        c.notify()
        c.notify_all()
    e = sm.Event()
    assert e.wait(0.01) is False
    e.set()
    assert e.is_set() and e.wait() is True
    e.clear()
    assert not e.is_set()
    b = sm.Barrier(2, timeout=0.2)
    assert (b.parties, b.n_waiting, b.broken) == (2, 0, False)
    expect(threading.BrokenBarrierError, b.wait)
    assert b.broken is True
    b.reset()
    one = sm.Barrier(1)
    assert one.wait() == 0


def case_queues():
    sm = sync_manager()
    for q in (sm.Queue(), sm.JoinableQueue()):
        q.put(1)
        q.put(item=2)
        q.put_nowait(3)
        assert (q.get(), q.get(timeout=1), q.get_nowait()) == (1, 2, 3)
        assert q.empty() and q.qsize() == 0 and not q.full()
        expect(queue.Empty, q.get, timeout=0.05)
        expect(queue.Empty, q.get, block=False)
        for _ in range(3):
            q.task_done()
        q.join()
        q.put("acked")
        ticket, item = q.get_acked(timeout=1)
        assert item == "acked" and q.ack(ticket) is None
        expect(ValueError, q.ack, ticket)
    small = sm.Queue(maxsize=1)
    small.put("x")
    expect(queue.Full, small.put, "y", timeout=0.05)
    expect(queue.Full, small.put_nowait, "y")
    e = expect(TypeError, small.get, wait=1)
    assert "unexpected keyword argument 'wait'" in str(e), e


def case_server_functions():
    sm = sync_manager()
    d = sm.dict()
    conn = connection.Client(py_address(M.tcp), authkey=M.key)
    conn.send((None, "number_of_objects", (), {}))
    kind, n = conn.recv()
    assert kind == "#RETURN" and n >= 1, (kind, n)
    conn.send((None, "debug_info", (), {}))
    kind, text = conn.recv()
    assert kind == "#RETURN" and "refcount=" in text, (kind, text)
    conn.send((None, "get_methods", (d._token,), {}))
    kind, names = conn.recv()
    assert kind == "#RETURN" and "__getitem__" in names, (kind, names)
    conn.send((None, "shutdown", (), {}))
    kind, text = conn.recv()
    assert kind == "#TRACEBACK" and "--allow-shutdown" in text, (kind, text)
    conn.send((None, "bogus", (), {}))
    kind, text = conn.recv()
    assert kind == "#TRACEBACK" and "'bogus' unrecognized" in text, (kind, text)
    conn.send(("ffffff", "__len__", (), {}))
    kind, text = conn.recv()
    assert kind == "#TRACEBACK" and "KeyError" in text, (kind, text)
    conn.send((d._token.id, "not_exposed", (), {}))
    kind, text = conn.recv()
    assert kind == "#TRACEBACK" and "not exposed" in text, (kind, text)
    conn.send((None, "dummy", (), {}))
    assert conn.recv() == ("#RETURN", None)
    conn.close()
    e = expect(RemoteError, sm.Pool)
    assert "runs no code" in str(e), e


def case_shutdown_when_allowed():
    own = Manager(["--allow-shutdown"])
    try:
        sm = SyncManager(address=py_address(own.tcp), authkey=own.key)
        sm.connect()
        conn = connection.Client(py_address(own.tcp), authkey=own.key)
        conn.send((None, "shutdown", (), {}))
        assert conn.recv() == ("#RETURN", None)
        assert own.proc.wait(10) == 0
    finally:
        own.stop()


def case_unix_socket():
    sm = sync_manager(M.unix)
    d = sm.dict(a=1)
    assert d["a"] == 1 and d._token.address == py_address(M.unix), d._token.address


def alive(ident):
    """Whether the object ident names still exists (asked on a connection of its own)."""
    conn = connection.Client(py_address(M.tcp), authkey=M.key)
    conn.send((ident, "__len__", (), {}))
    kind, result = conn.recv()
    conn.close()
    assert kind in ("#RETURN", "#TRACEBACK"), (kind, result)
    return kind == "#RETURN"


def case_nested_proxies():
    # Python rebuilds a nested proxy with its process's authkey, as its own server's
    # clients do (managers.RebuildProxy): here that is the manager's key.
    multiprocessing.current_process().authkey = M.key
    sm = sync_manager()
    d = sm.dict()
    d["inner"] = sm.list([1, 2])  # its only proxy dies at once: the dict keeps it alive
    d["ns"] = sm.Namespace(x=1)
    gc.collect()
    inner = d["inner"]
    ident = inner._token.id
    inner.append(3)
    assert d["inner"][:] == [1, 2, 3] and d["ns"].x == 1
    lst = sm.list([d["inner"], "plain"])
    assert lst[0][:] == [1, 2, 3]
    del d["inner"], d["ns"], lst
    gc.collect()
    assert alive(ident)  # the list lives while `inner` does
    del inner
    gc.collect()
    assert not alive(ident), "the list outlived its last reference"


# ---- across processes -----------------------------------------------------------------

FORK = multiprocessing.get_context("fork")  # the child runs Python's after-fork hooks:
# its proxies open connections of their own, as with any multiprocessing.Process


def hold_lock(lock, ready):
    lock.acquire()
    ready.set()
    time.sleep(60)


def case_killed_lock_holder():
    sm = sync_manager()
    lock, ready = sm.Lock(), sm.Event()
    holder = FORK.Process(target=hold_lock, args=(lock, ready))
    holder.start()
    assert ready.wait(20)
    assert lock.acquire(timeout=0.1) is False  # the child holds it
    holder.kill()
    holder.join(10)
    assert lock.acquire(timeout=10) is True, "the dead holder's lock was not released"
    lock.release()


def put_range(q, n):
    for i in range(n):
        q.put(i)


def case_queue_between_processes():
    sm = sync_manager()
    q = sm.Queue()
    producer = FORK.Process(target=put_range, args=(q, 100))
    producer.start()
    got = [q.get(timeout=10) for _ in range(100)]
    producer.join(10)
    assert producer.exitcode == 0 and got == list(range(100)), (producer.exitcode, got[:5])


def fill(d, lst, key):
    d[key] = os.getpid()
    lst.append(key)


def case_proxies_pickled_to_spawned_processes():
    # spawn pickles the arguments: each proxy goes as RebuildProxy(..., Token, ...) with
    # the authkey, and the child rebuilds it and increfs on its own connection
    sm = sync_manager()
    d, lst = sm.dict(), sm.list()
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=fill, args=(d, lst, "s%d" % i)) for i in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0, w.exitcode
    assert sorted(d.keys()) == ["s0", "s1"] and sorted(lst[:]) == ["s0", "s1"]


def case_proxies_passed_to_processes():
    sm = sync_manager()
    d, lst = sm.dict(), sm.list()
    workers = [FORK.Process(target=fill, args=(d, lst, "w%d" % i)) for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(20)
        assert w.exitcode == 0, w.exitcode
    assert sorted(d.keys()) == ["w0", "w1", "w2", "w3"] and sorted(lst[:]) == sorted(d.keys())
    assert {d[k] for k in d.keys()} == {w.pid for w in workers}


# ---- shared with C programs -----------------------------------------------------------

class QueueManager(BaseManager):
    pass


QueueManager.register("get_queue")
QueueManager.register("get_counts_log")


def run_example(*args):
    out = subprocess.run([os.path.join(EXAMPLES, args[0])] + list(args[1:]),
                         capture_output=True, text=True, timeout=20,
                         env=dict(os.environ, MPX_AUTHKEY=M.key.decode()))
    assert out.returncode == 0, (args, out.stdout, out.stderr)
    return out.stdout


def case_remote_manager_example():
    # The documentation's "Using a remote manager", unchanged but for the address.
    m = QueueManager(address=py_address(M.tcp), authkey=M.key)
    m.connect()
    q = m.get_queue()
    q.put("hello")
    assert run_example("remote_queue", "get", "--connect", M.tcp).strip() == "'hello'"
    run_example("remote_queue", "put", "--connect", M.tcp, "from C")
    assert q.get(timeout=10) == "from C"


def case_dict_shared_with_c():
    run_example("dict_worker", "--connect", M.tcp, "--name", "counts", "--worker", "c",
                "--count", "5")
    from multiprocessing.managers import DictProxy
    QueueManager.register("get_counts", proxytype=DictProxy)
    m = QueueManager(address=py_address(M.tcp), authkey=M.key)
    m.connect()
    counts = m.get_counts()
    assert counts["c"] == 5, counts.copy()
    counts["py"] = 1  # Python's update, read back by the C report, with its log entry
    log = m.get_counts_log()
    log.append("py")
    out = run_example("dict_worker", "--connect", M.tcp, "--name", "counts", "--report")
    assert "'py': 1" in out and "6 entries" in out and "INCONSISTENT" not in out, out


class BucketManager(BaseManager):
    pass


BucketManager.register("TokenBucket")  # no proxy type, no exposed list: AutoProxy asks
BucketManager.register("get_bucket")


def take_in_child(bucket, done):
    done.put(bucket.take())  # parks until the parent's done()


def case_custom_type_from_python():
    # examples/custom_type's own type, served by that program, used unchanged from Python
    # (BaseManager.register), and shared by name with its C workers.
    own = Manager(["--expose", "get_bucket=TokenBucket:api.limit"],
                  bin=os.path.join(EXAMPLES, "custom_type"))
    try:
        m = BucketManager(address=py_address(own.tcp), authkey=own.key)
        m.connect()
        b = m.TokenBucket(1000, 3, 1)
        assert b.take() is True and b.in_flight() == 1
        assert b.take(0.1) is False  # the one slot is held: the timeout answers False
        ctx = multiprocessing.get_context("fork")
        got = ctx.Queue()
        child = ctx.Process(target=take_in_child, args=(b, got))
        child.start()
        time.sleep(0.3)
        assert child.is_alive()  # parked on the manager
        b.done()
        assert got.get(timeout=10) is True
        child.join(10)
        assert child.exitcode == 0
        expect(RuntimeError, b.done)
        # a failed create is a RemoteError carrying the server's traceback, as in Python
        assert "expected at most 3 arguments" in str(expect(RemoteError, m.TokenBucket,
                                                            1, 2, 3, 4))
        assert "rate > 0" in str(expect(RemoteError, m.TokenBucket, 0, 1))
        out = subprocess.run([os.path.join(EXAMPLES, "custom_type"), "worker", "--connect",
                              own.tcp, "--authkey-file", own.keyfile, "--takes", "3"],
                             capture_output=True, text=True, timeout=20)
        assert out.returncode == 0 and "3 tokens" in out.stdout, (out.stdout, out.stderr)
        shared = m.get_bucket()  # the bucket the C worker made, by its name
        assert shared.in_flight() == 0 and shared.available() < 5, shared.available()
    finally:
        assert own.stop() == 0


# ---- hostile input --------------------------------------------------------------------

def raw_session():
    conn = connection.Client(py_address(M.tcp), authkey=M.key)
    return conn


def nested(depth):
    v = []
    for _ in range(depth):
        v = [v]
    return v


def case_hostile_pickles():
    marker = os.path.join(M.dir, "executed")

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + marker,))

    conn = raw_session()
    hostile = [
        pickle.dumps((None, "dummy", (Evil(),), {}), protocol=4),
        b"\x80\x04" + b"(" * 100000 + b".",        # marks without end
        b"\x80\x04" + b"]" * 200 + b".",           # a deep stack, never closed
        pickle.dumps((None, "dummy", (2 ** 100000,), {}), protocol=4),  # LONG4
        b"\x80\x04\x95garbage",
        pickle.dumps((None, "dummy", (nested(100),), {}), protocol=4),  # too deep
        pickle.dumps((None, "dummy", (), {}, "extra"), protocol=4),
    ]
    for frame in hostile:
        conn.send_bytes(frame)
        kind, text = conn.recv()
        assert kind == "#TRACEBACK" and "mpx-manager" in text, (frame[:20], kind, text)
        conn.send((None, "dummy", (), {}))  # the session is kept
        assert conn.recv() == ("#RETURN", None)
    conn.close()
    assert not os.path.exists(marker), "a pickle's code ran"


def case_pipelined_call_closes_session():
    sm = sync_manager()
    q = sm.Queue()
    conn = raw_session()
    conn.send((None, "accept_connection", ("x",), {}))
    assert conn.recv() == ("#RETURN", None)
    conn.send((q._token.id, "get", (), {}))   # parks
    conn.send((q._token.id, "qsize", (), {}))  # a second call: Python never sends one
    expect(EOFError, conn.recv)
    assert q.qsize() == 0


def case_proxy_argument_must_exist():
    sm = sync_manager()
    d = sm.dict()
    from multiprocessing.managers import Token, ListProxy
    ghost = ListProxy(Token("list", py_address(M.tcp), "fffff0"), "pickle", authkey=M.key,
                      incref=False)
    e = expect(RemoteError, d.__setitem__, "g", ghost)
    assert "names no object" in str(e), e


PYTHON_ONLY = [
    case_dict_and_list, case_namespace_value_array, case_locks_and_semaphores,
    case_condition_event_barrier, case_queues, case_server_functions, case_unix_socket,
    case_nested_proxies,
    case_killed_lock_holder, case_queue_between_processes,
    case_proxies_passed_to_processes, case_proxies_pickled_to_spawned_processes,
    case_hostile_pickles,
    case_pipelined_call_closes_session, case_proxy_argument_must_exist,
]
PARENT_ONLY = [  # C programs, or a manager of their own
    case_remote_manager_example, case_dict_shared_with_c, case_shutdown_when_allowed,
    case_custom_type_from_python]


def other_pythons():
    """Every other python3.X this machine has (pyenv's included), by version."""
    me = (sys.version_info.major, sys.version_info.minor)
    found = {}
    candidates = glob.glob("/usr/bin/python3.*") + glob.glob(
        os.path.expanduser("~/.pyenv/versions/3.*/bin/python3"))
    for exe in sorted(candidates):
        if not os.access(exe, os.X_OK) or exe.endswith("-config"):
            continue
        try:
            out = subprocess.run([exe, "-c", "import sys; print(*sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=10)
            ver = tuple(int(x) for x in out.stdout.split())
        except (OSError, ValueError, subprocess.TimeoutExpired):
            continue
        if ver != me and ver >= (3, 8) and ver not in found:
            found[ver] = exe
    return [found[v] for v in sorted(found)]


def main():
    global M
    if os.environ.get("MPX_TEST_ADDRESSES"):  # a child run under another interpreter
        M = Manager.__new__(Manager)
        M.tcp, M.unix, M.dir = os.environ["MPX_TEST_ADDRESSES"].split("|")
        M.key = os.environ["MPX_TEST_KEY"].encode()
        return run_cases(PYTHON_ONLY, CASE_SECONDS)
    M = Manager(["--expose", "get_queue=Queue:remote", "--expose", "get_counts=dict:counts",
                 "--expose", "get_counts_log=list:counts.log"])
    cases = PYTHON_ONLY + (PARENT_ONLY if EXAMPLES else [])

    def case_other_interpreters():
        for exe in other_pythons():
            env = dict(os.environ, MPX_TEST_ADDRESSES="|".join([M.tcp, M.unix, M.dir]),
                       MPX_TEST_KEY=M.key.decode())
            out = subprocess.run([exe, os.path.abspath(__file__)], env=env,
                                 capture_output=True, text=True, timeout=120)
            print("   %s: %s" % (exe, out.stdout.strip().splitlines()[-1:]))
            assert out.returncode == 0, (exe, out.stdout, out.stderr)

    return run_cases(cases + [case_other_interpreters], 150, M)


if __name__ == "__main__":
    sys.exit(main())
