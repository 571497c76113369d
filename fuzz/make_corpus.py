#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets: fuzz/corpus/<target>/<name>, one input each.

Every seed is a small input that means something to its target: valid requests and replies
of each kind (protobuf bytes written here by hand, as protobuf-c packs them: fields in
number order, proto3 defaults left out), framed streams, handshakes as Python's
multiprocessing.connection makes them, CPython's pickles from tests/unit/pickle_cases.h,
and call sequences on every type. Seeds whose names start with "edge_" are the hostile or
odd inputs the codec documents (deep nesting, bad UTF-8, fields out of order). The files
libFuzzer adds later (`make fuzz FUZZ_MERGE=1`) have hashes for names; this script leaves
them alone, as it does the "crash_" inputs that once crashed a target (kept as regression
tests), and rewrites only its own. Run it from anywhere and commit the output:

    python3 fuzz/make_corpus.py
"""
import hmac
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
PICKLE_CASES = os.path.join(HERE, "..", "tests", "unit", "pickle_cases.h")


# ---- protobuf, by hand (protocol/mpx.proto) ---------------------------------------------

class Ref:
    def __init__(self, id, type):
        self.id, self.type = id, type


class Slice:
    def __init__(self, start=None, stop=None, step=None):
        self.parts = (start, stop, step)


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def zigzag(n):
    return ((n << 1) ^ (n >> 63)) & ((1 << 64) - 1)


def f_varint(field, n):
    return varint(field << 3) + varint(n)


def f_bytes(field, data):
    return varint(field << 3 | 2) + varint(len(data)) + data


def f_double(field, d):
    return varint(field << 3 | 1) + struct.pack("<d", d)


def value(v):
    """The body of a Value message."""
    if v is None:
        return f_varint(1, 1)
    if isinstance(v, bool):
        return f_varint(2, int(v))
    if isinstance(v, int):
        return f_varint(3, zigzag(v))
    if isinstance(v, float):
        return f_double(4, v)
    if isinstance(v, str):
        return f_bytes(5, v.encode("utf-8", "surrogatepass"))
    if isinstance(v, (bytes, bytearray)):
        return f_bytes(6, bytes(v))
    if isinstance(v, list):
        return f_bytes(7, b"".join(f_bytes(1, value(x)) for x in v))
    if isinstance(v, tuple):
        return f_bytes(8, b"".join(f_bytes(1, value(x)) for x in v))
    if isinstance(v, dict):
        keys = b"".join(f_bytes(1, value(k)) for k in v)
        vals = b"".join(f_bytes(2, value(x)) for x in v.values())
        return f_bytes(9, keys + vals)
    if isinstance(v, Ref):
        body = (f_varint(1, v.id) if v.id else b"") + \
               (f_bytes(2, v.type.encode()) if v.type else b"")
        return f_bytes(10, body)
    if isinstance(v, Slice):
        body = b""
        for i, part in enumerate(v.parts):
            if part is not None:
                body += f_varint(2 * i + 1, 1)
                if part:
                    body += f_varint(2 * i + 2, zigzag(part))
        return f_bytes(11, body)
    raise TypeError(type(v))


def request(method, args=(), call_id=1, object_id=0, timeout=None):
    out = b""
    if call_id:
        out += f_varint(1, call_id)
    if object_id:
        out += f_varint(2, object_id)
    if method:
        out += f_bytes(3, method.encode())
    for a in args:
        out += f_bytes(4, value(a))
    if timeout is not None:
        out += f_varint(5, 1)
        if timeout:
            out += f_double(6, timeout)
    return out


def reply(call_id, error=0, message="", val=None):
    out = f_varint(1, call_id) if call_id else b""
    if error:
        out += f_varint(2, -error)  # the positive value of a negative mpx_err code
    if message:
        out += f_bytes(3, message.encode())
    if error == 0 and val is not None:
        out += f_bytes(4, value(val))
    return out


def nested(depth):
    v = []
    for _ in range(depth - 1):
        v = [v]
    return v


# ---- the seeds ----------------------------------------------------------------------------

ALL_KINDS = [None, True, False, 0, -1, 2**63 - 1, -2**63, 0.25, -0.0, float("inf"),
             "", "h\u00e9llo \U0001f600", b"", b"\x00\xff", [], (), {}, [1, (2, "x")],
             {"a": 1, 2: [3], (1, "b"): None, 1.5: b"v"}, Ref(42, "dict"), Ref(0, ""),
             Slice(1, None, 2), Slice(None, -5), Slice(0, 0, 0)]

REQUESTS = {
    "ping": request("ping", object_id=0),
    "create_dict": request("create", ["dict"]),
    "open_queue": request("open", ["jobs", "Queue", 10]),
    "incref": request("incref", [7], call_id=3),
    "methods": request("methods", ["Lock"]),
    "dict_setitem": request("__setitem__", ["k", {"nested": [1, 2.5, None]}], 9, 1),
    "dict_get": request("get", ["k", None], 10, 1),
    "list_append": request("append", [[1, 2, 3]], 11, 2),
    "list_getitem_slice": request("__getitem__", [Slice(1, None, 2)], 12, 2),
    "queue_put_timeout": request("put", ["item", True, 1.5], 13, 3, timeout=1.5),
    "queue_get_wait": request("get", [], 14, 3, timeout=0),
    "lock_acquire": request("acquire", [True, 2.0], 15, 4, timeout=2.0),
    "update_with_ref": request("update", [[("p", Ref(5, "list"))]], 16, 1),
    "all_kinds": request("echo", ALL_KINDS, 2**64 - 1, 2**63),
    "many_args": request("many", list(range(20)), 17, 1),
    "long_method": request("m" * 127, [], 18, 1),
    "empty": b"",
}

# What the codec documents, and protobuf layouts other encoders may send.
EDGES = {
    "edge_depth_63": request("append", [nested(63)]),
    "edge_depth_64": request("append", [nested(64)]),
    "edge_depth_65": request("append", [nested(65)]),
    "edge_bad_utf8": request("x") + f_bytes(4, f_bytes(5, b"\xc3\x28")),
    "edge_surrogate": request("x", ["\ud800"]),
    "edge_unhashable_key": request("x", []) + f_bytes(4, f_bytes(9, f_bytes(1, value([]))
                                                             + f_bytes(2, value(1)))),
    "edge_more_keys": request("x", []) + f_bytes(4, f_bytes(9, f_bytes(1, value(1)))),
    "edge_interleaved_map": request("x", []) + f_bytes(4, f_bytes(9, f_bytes(1, value(1)) +
                                                              f_bytes(2, value(2)) +
                                                              f_bytes(1, value(3)) +
                                                              f_bytes(2, value(4)))),
    "edge_equal_keys": request("x", [{1: "a", 2: "b"}])
    + f_bytes(4, f_bytes(9, f_bytes(1, value(1)) + f_bytes(1, value(1.0)) +
                         f_bytes(2, value("a")) + f_bytes(2, value("b")))),
    "edge_oneof_twice": request("x") + f_bytes(4, f_varint(3, 2) + f_bytes(5, b"last")),
    "edge_bad_then_good": request("x") + f_bytes(4, f_bytes(5, b"\xff") + f_varint(3, 2)),
    "edge_method_twice": f_bytes(3, b"a\x00b") + f_bytes(3, b"get"),
    "edge_method_nul": f_bytes(3, b"ge\x00t"),
    "edge_method_128": request("m" * 128),
    "edge_unknown_fields": f_varint(15, 5) + f_double(14, 1.0) + f_bytes(13, b"zz") +
    varint(12 << 3 | 5) + b"\x01\x02\x03\x04" + request("get", ["k"]),
    "edge_out_of_order": f_double(6, 1.5) + f_bytes(4, value(3)) + f_bytes(3, b"get") +
    f_varint(2, 7) + f_varint(1, 9) + f_varint(5, 1),
    "edge_long_varint": varint(1 << 3) + b"\xff" * 9 + b"\x01",
    "edge_bool_overflow": request("x") + f_bytes(4, varint(2 << 3) + b"\x80" * 9 + b"\x02"),
    "edge_ref_type_63": request("x", [Ref(1, "t" * 63)]),
    "edge_ref_type_64": request("x", [Ref(1, "t" * 64)]),
    "edge_ref_type_nul": request("x") + f_bytes(4, f_bytes(10, f_varint(1, 1) +
                                                           f_bytes(2, b"di\x00ct"))),
    "edge_empty_value": request("x") + f_bytes(4, b""),
    "edge_nan": request("x", [float("nan"), {float("nan"): 1}]),
    "edge_group": request("x") + varint(20 << 3 | 3) + varint(20 << 3 | 4),
    "edge_field_zero": b"\x00\x01",
    "edge_truncated": request("get", ["key"])[:-2],
}

REPLIES = {
    "ok_none": reply(1),
    "ok_int": reply(2, val=42),
    "ok_all_kinds": reply(3, val=ALL_KINDS),
    "ok_ref": reply(4, val=Ref(9, "Queue")),
    "key_error": reply(5, -3, "'missing'"),
    "timeout": reply(6, -10, "timed out"),
    "error_with_value": reply(7, -6, "bad") + f_bytes(4, value(1)),
    "long_message": reply(8, -5, "x" * 300),
    "bad_code": f_varint(1, 9) + f_varint(2, 99),
    "negative_code": f_varint(1, 9) + f_varint(2, (1 << 64) - 3),
    "value_twice": reply(10, val=1) + f_bytes(4, value("two")),
    "deep": reply(11, val=nested(63)),
}


def frame(payload):
    return struct.pack(">i", len(payload)) + payload


def frame_long(payload):
    return b"\xff\xff\xff\xff" + struct.pack(">Q", len(payload)) + payload


def frame_seed(max_code, sizes, stream):
    return bytes([max_code, len(sizes)]) + bytes(sizes) + stream


FRAMES = {
    "one_request": frame_seed(100, [], frame(REQUESTS["dict_get"])),
    "three_in_pieces": frame_seed(200, [1, 3, 0x85, 7],
                                  frame(b"a") + frame(b"") + frame(REQUESTS["ping"] * 3)),
    "byte_by_byte": frame_seed(60, [1], frame(b"hello") + frame(b"world")),
    "long_header": frame_seed(90, [0x82, 5], frame_long(b"x" * 40) + frame(b"y")),
    "too_big": frame_seed(3, [2], frame(b"four")),
    "negative": frame_seed(10, [], b"\xff\xff\xff\xfe" + b"abc"),
    "announce_64mib": frame_seed(0xff, [0xff, 0x7f], struct.pack(">i", 64 << 20) + b"z" * 600),
    "empty_frames": frame_seed(0, [0x84], frame(b"") * 5),
    "incomplete": frame_seed(50, [4], frame(b"x" * 30)[:20]),
}

KEY = b"fuzz-authkey"
# the fixed challenge fuzz_handshake.c sends
OUR_CHALLENGE = b"#CHALLENGE#{sha256}0123456789abcdefghijABCDEFGHIJ0123456789"


def answer(key, challenge_frame):
    """Python 3.12's answer_challenge: {digest} + HMAC over the message, or legacy MD5."""
    msg = challenge_frame[len(b"#CHALLENGE#"):]
    m = re.match(rb"\{(\w+)\}", msg)
    if m is None:
        return hmac.new(key, msg, "md5").digest()
    return m.group(0) + hmac.new(key, msg, m.group(1).decode()).digest()


def handshake_seed(key, frames):
    return bytes([len(key)]) + key + b"".join(frame(f) for f in frames)


CLIENT_CHALLENGE = b"#CHALLENGE#{sha256}" + bytes(range(40))
LEGACY_CHALLENGE = b"#CHALLENGE#" + bytes(range(100, 120))
HANDSHAKES = {
    "python312": handshake_seed(KEY, [answer(KEY, OUR_CHALLENGE), CLIENT_CHALLENGE,
                                      b"#WELCOME#"]),
    "legacy_md5_answer": handshake_seed(KEY, [hmac.new(KEY, OUR_CHALLENGE[11:], "md5")
                                              .digest(), LEGACY_CHALLENGE, b"#WELCOME#"]),
    "sha384_answer": handshake_seed(KEY, [b"{sha384}" + hmac.new(KEY, OUR_CHALLENGE[11:],
                                                                 "sha384").digest()]),
    "sha3_challenge": handshake_seed(KEY, [b"", b"#CHALLENGE#{sha3_384}" + b"q" * 40]),
    "md5_challenge": handshake_seed(b"", [b"#CHALLENGE#{md5}" + b"r" * 40]),
    "wrong_key": handshake_seed(b"other", [answer(KEY, OUR_CHALLENGE)]),
    "failure": handshake_seed(KEY, [b"#FAILURE#"]),
    "unknown_digest": handshake_seed(KEY, [b"{sha1}" + b"s" * 20,
                                           b"#CHALLENGE#{blake2b}" + b"t" * 40]),
    "oversized": handshake_seed(KEY, [b"#CHALLENGE#" + b"u" * 300]),
}


def pickle_cases():
    """(name, protocol, bytes) of every case in tests/unit/pickle_cases.h."""
    text = open(PICKLE_CASES).read()
    entry = re.compile(r'\{"(\w+)", (\d+), \d,\s*((?:"[^"]*"\s*)+),\s*(\d+),'
                       r'\s*((?:"[^"]*"\s*)*)\}')
    for m in entry.finditer(text):
        data = b"".join(bytes.fromhex(part.replace("\\x", ""))
                        for part in re.findall(r'"([^"]*)"', m.group(5)))
        assert len(data) == int(m.group(4)), m.group(1)
        yield m.group(1), int(m.group(2)), data


TYPES = ["dict", "list", "Namespace", "Lock", "RLock", "Condition", "Semaphore",
         "BoundedSemaphore", "Event", "Barrier", "Queue", "JoinableQueue", "TaskPool",
         "Value", "Array"]


def invoke_seed(type_name, ctor, calls):
    """Type byte, then length-prefixed requests: the constructor's, then the calls'."""
    records = [request("", ctor, call_id=0)]
    records += [request(m, a, call_id=i + 1) for i, (m, a) in enumerate(calls)]
    return bytes([TYPES.index(type_name)]) + b"".join(
        struct.pack(">H", len(r)) + r for r in records)


INVOKES = {
    "dict": invoke_seed("dict", [], [
        ("__setitem__", ["a", 1]), ("__setitem__", [(1, 2), [3]]), ("get", ["a"]),
        ("setdefault", ["b", []]), ("update", [{"c": 3}]), ("pop", ["a"]), ("keys", []),
        ("items", []), ("popitem", []), ("__contains__", [(1, 2)]), ("__len__", []),
        ("copy", []), ("__repr__", []), ("__delitem__", ["zz"]), ("clear", [])]),
    "dict_from_pairs": invoke_seed("dict", [[("x", 1), ("y", 2)]], [
        ("values", []), ("__getitem__", [1.0]), ("update", [[("z", 3)]])]),
    "list": invoke_seed("list", [[3, 1, 2]], [
        ("append", [4]), ("extend", ["ab"]), ("insert", [-1, None]), ("sort", []),
        ("__setitem__", [Slice(None, None, 2), [9, 9, 9]]), ("__getitem__", [Slice(1, -1)]),
        ("index", [9, 0, 10]), ("count", [9]), ("remove", [9]), ("reverse", []),
        ("pop", [0]), ("__delitem__", [Slice(None, None, -3)]), ("__contains__", [4]),
        ("__repr__", []), ("copy", []), ("clear", [])]),
    "list_sort_mixed": invoke_seed("list", [[1, 2.5, True, "x"]], [("sort", [True])]),
    "namespace": invoke_seed("Namespace", [], [
        ("__setattr__", ["x", 1]), ("__getattribute__", ["x"]), ("__dir__", []),
        ("__delattr__", ["x"]), ("__getattribute__", ["x"]), ("__repr__", []), ("copy", [])]),
    "lock": invoke_seed("Lock", [], [
        ("acquire", []), ("locked", []), ("acquire", [False]), ("acquire", [True, 0.5]),
        ("release", []), ("release", [])]),
    "rlock": invoke_seed("RLock", [], [
        ("acquire", []), ("acquire", [True, -1]), ("release", []), ("release", []),
        ("release", [])]),
    "condition": invoke_seed("Condition", [], [
        ("acquire", []), ("notify", [2]), ("notify_all", []), ("wait", [0]),
        ("locked", []), ("release", []), ("wait", [])]),
    "semaphore": invoke_seed("Semaphore", [2], [
        ("acquire", []), ("acquire", [False]), ("acquire", [True, 0]), ("release", [3]),
        ("get_value", [])]),
    "bounded_semaphore": invoke_seed("BoundedSemaphore", [1], [
        ("release", []), ("acquire", []), ("release", []), ("get_value", [])]),
    "event": invoke_seed("Event", [], [
        ("is_set", []), ("wait", [0]), ("set", []), ("wait", []), ("clear", [])]),
    "barrier": invoke_seed("Barrier", [1, None, 1.5], [
        ("wait", []), ("parties", []), ("n_waiting", []), ("abort", []), ("broken", []),
        ("reset", []), ("wait", [0])]),
    "queue": invoke_seed("Queue", [2], [
        ("put", ["a"]), ("put_nowait", [["b"]]), ("put", ["c", False]), ("full", []),
        ("qsize", []), ("get", []), ("get_many", [10]), ("put_many", [[1, 2, 3], False]),
        ("get", [False]), ("empty", []), ("get_nowait", [])]),
    "joinable_queue": invoke_seed("JoinableQueue", [], [
        ("put", [{"a": [1, (2, None)]}]), ("get", []), ("task_done", []), ("join", []),
        ("task_done", [])]),
    "task_pool": invoke_seed("TaskPool", [], [
        ("submit", [[("sq", (1,)), ("sq", (2,))]]), ("take", [1]), ("take", [5, 0]),
        ("finish", [[(1, 0, 1), (2, -3, "KeyError: 'k'"), (99, 0, "x")]]),
        ("stats", []), ("results", [10]), ("close", []), ("take", []), ("terminate", [])]),
    "value_int": invoke_seed("Value", ["i", 5], [
        ("get", []), ("set", [7]), ("add", [-2]), ("compare_and_swap", [5, 8]),
        ("typecode", []), ("__repr__", []), ("set", [2**40])]),
    "value_double": invoke_seed("Value", ["d", 1], [("add", [0.5]), ("get", [])]),
    "array_i": invoke_seed("Array", ["i", [1, 2, 3]], [
        ("__len__", []), ("__getitem__", [-1]), ("__setitem__", [0, 9]),
        ("__getitem__", [Slice(None, None, -1)]), ("add", [1, 5]),
        ("compare_and_swap", [2, 3, 4]), ("tolist", []), ("typecode", []), ("__repr__", [])]),
    "array_u": invoke_seed("Array", ["u", "a\u00e9\u20ac\U0001f600"], [
        ("tolist", []), ("__setitem__", [Slice(0, 2), "xy"])]),
    "array_c": invoke_seed("Array", ["c", b"ab"], [("__getitem__", [0]), ("tolist", [])]),
    "bad_ctor": invoke_seed("Barrier", ["two"], [("wait", [])]),
    "unknown_method": invoke_seed("dict", [], [("no_such_method", [1]), ("get", [])]),
}


def by_index(type_name, calls):
    """Calls that pick methods by number (object_id = index + 1), names left empty."""
    records = [request("", [], call_id=0)]
    records += [request("", a, call_id=i + 1, object_id=m + 1) for i, (m, a) in
                enumerate(calls)]
    return bytes([TYPES.index(type_name)]) + b"".join(
        struct.pack(">H", len(r)) + r for r in records)


INVOKES["list_by_index"] = by_index("list", [(5, [1]), (5, [2]), (13, []), (0, [0])])


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    for name, data in {**REQUESTS, **EDGES}.items():
        write("fuzz_request", name, data)
        write("fuzz_codec_diff", name, data)
    for name, data in REQUESTS.items():
        write("fuzz_reply", "request_" + name, data)  # a request read as a reply
    for name, data in REPLIES.items():
        write("fuzz_reply", name, data)
    for name, data in FRAMES.items():
        write("fuzz_frame", name, data)
    for name, data in HANDSHAKES.items():
        write("fuzz_handshake", name, data)
    for name, proto, data in pickle_cases():
        write("fuzz_pickle", "%s_p%d" % (name, proto), data)
    for name, data in INVOKES.items():
        write("fuzz_invoke", name, data)
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(CORPUS)
                for f in fs)
    print("corpus: %d bytes" % total, file=sys.stderr)


if __name__ == "__main__":
    main()
