#!/usr/bin/env python3
"""Writes pickle_cases.h: pickles that CPython itself made, for test_pickle.c.

Each case is the bytes pickle.dumps wrote (for every protocol from 2 to 5 where the case
says so) and what mpx's decoder must make of them: the repr of the value, or the error
("ExceptionName: text" with the start of the message). Hostile pickles are made the way an
attacker would make them: a __reduce__ that names os.system, nesting past the limit, a
structure that contains itself, an announced LONG4 far larger than the data, a memo that
doubles at every step. Run it with the stock interpreter and commit the output:

    python3 tests/unit/pickle_cases.py > tests/unit/pickle_cases.h
"""
import os
import re
import pickle
import struct
import sys
from multiprocessing.managers import DictProxy, Token

ALL = (2, 3, 4, 5)


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def proxy_arg():
    token = Token("dict", ("127.0.0.1", 5000), "1f")
    return DictProxy(token, "pickle", authkey=b"k", incref=False)


def nested(depth):
    v = []
    for _ in range(depth):
        v = [v]
    return v


def recursive():
    v = []
    v.append(v)
    return v


def memo_bomb(levels):
    """A list, then again and again a tuple of the last thing twice: 2**levels cells."""
    out = bytearray(b"\x80\x04]\x940")  # PROTO 4, EMPTY_LIST, MEMOIZE 0, POP
    for i in range(levels):  # BINGET i twice, TUPLE2, MEMOIZE i + 1, POP
        out += b"h" + bytes([i]) + b"h" + bytes([i]) + b"\x86\x940"
    return bytes(out + b"h" + bytes([levels]) + b".")


CASES = [
    # (name, value or raw bytes, protocols, expected)
    ("none", None, ALL, "None"),
    ("bools", (True, False), ALL, "(True, False)"),
    ("small_ints", [0, 255, 256, 65535, 65536, -1], ALL, "[0, 255, 256, 65535, 65536, -1]"),
    ("int32", [2**31 - 1, -2**31, 2**31], ALL, "[2147483647, -2147483648, 2147483648]"),
    ("int64", [2**63 - 1, -2**63], ALL, "[9223372036854775807, -9223372036854775808]"),
    ("floats", [1.5, -0.0, float("inf"), 1e300], ALL, "[1.5, -0.0, inf, 1e+300]"),
    ("strs", ["", "x", "\u00e9\u20ac\U0001f600"], ALL, "['', 'x', '\u00e9\u20ac\U0001f600']"),
    ("long_str", "a" * 300, ALL, repr("a" * 300)),
    ("bytes", [b"", b"\x00\xff", b"z" * 300], (3, 4, 5), repr([b"", b"\x00\xff", b"z" * 300])),
    ("bytearray", bytearray(b"ab"), ALL, "b'ab'"),
    ("tuples", [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)], ALL,
     "[(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)]"),
    ("list_1001", list(range(1001)), (2, 4), repr(list(range(1001)))),
    ("dict", {"a": 1, 2: [3], (1, "b"): None}, ALL, "{'a': 1, 2: [3], (1, 'b'): None}"),
    ("dict_1001", {i: i for i in range(1001)}, (4,), repr({i: i for i in range(1001)})),
    ("slices", [slice(1, None, 2), slice(5)], ALL, "[slice(1, None, 2), slice(None, 5, None)]"),
    ("nested", nested(10), (4,), repr(nested(10))),
    ("shared_str", (lambda s: [s, s, {s: s}])("shared" * 3), ALL,
     repr((lambda s: [s, s, {s: s}])("shared" * 3))),
    ("shared_list", (lambda a: [a, a])([1, 2]), ALL, "[[1, 2], [1, 2]]"),
    ("request", ("7f", "get", (), {"timeout": 1.0}), ALL, "('7f', 'get', (), {'timeout': 1.0})"),
    ("request_kw", ("0", "acquire", (), {"blocking": False}), ALL,
     "('0', 'acquire', (), {'blocking': False})"),
    ("proxy_arg", ("2a", "update", (proxy_arg(),), {}), (2, 4, 5),
     "('2a', 'update', (<ref dict 31>,), {})"),
    # refused, the session kept
    ("set_of_list", b"\x80\x04\x8f(]\x90.", None, "ValueError: unhashable type: 'list'"),
    ("big_int", 2**64, ALL, "OverflowError: int of 9 bytes"),
    ("os_system", Evil(), ALL, "ValueError: global 'posix.system' is not allowed"),
    ("set", {1, 2}, ALL, "{1, 2}"),
    ("empty_set", set(), ALL, "set()"),
    ("frozenset", frozenset([3]), ALL, "frozenset({3})"),
    ("set_1001", set(range(1001)), (4,), repr(set(range(1001)))),
    ("frozenset_key", {frozenset([1]): "a"}, ALL, "{frozenset({1}): 'a'}"),
    ("set_of_tuples", {(1, "a")}, ALL, "{(1, 'a')}"),
    ("too_deep", nested(100), (4,), "ValueError: nested deeper than 64"),
    ("recursive", recursive(), (4,), "ValueError: a recursive structure"),
    ("huge_long4", b"\x80\x04\x8b\xff\xff\xff\x7f.", None,
     "ProtocolError: pickle data was truncated"),
    ("truncated", pickle.dumps([1, 2, 3], 4)[:-3], None,
     "ProtocolError: pickle data was truncated"),
    ("protocol0", pickle.dumps(1, 0), None, "ProtocolError: pickle opcode 0x49"),
    ("memo_bomb", memo_bomb(40), None, "ValueError: the pickle refers to its parts too often"),
    ("trailing", pickle.dumps(1, 4) + b"x", None, "ProtocolError: bytes after the pickle's STOP"),
    ("empty", b"", None, "ProtocolError: pickle data was truncated"),
    ("lone_surrogate", "\ud800", (4,), "ValueError: a str that is not valid UTF-8"),
]


def c_bytes(data):
    return "".join("\\x%02x" % b for b in data)


def main():
    out = sys.stdout
    out.write("/* pickle_cases.h - made by pickle_cases.py with Python %s; do not edit. */\n"
              % sys.version.split()[0])
    out.write("typedef struct pickle_case {\n    const char *name;\n    int protocol;\n"
              "    int refused; /* expect is the start of the error, not a repr */\n"
              "    const char *expect;\n    size_t len;\n    const char *data;\n"
              "} pickle_case;\n\n")
    out.write("static const pickle_case PICKLE_CASES[] = {\n")
    for name, value, protocols, expect in CASES:
        if protocols is None:
            blobs = [(0, value)]
        else:
            blobs = []
            for proto in protocols:
                try:
                    blob = pickle.dumps(value, proto)
                except (RecursionError, ValueError):
                    # a structure too deep for Python's own pickler at this protocol
                    continue
                blobs.append((proto, blob))
        for proto, blob in blobs:
            # long literals are split so that no line of the header passes 100 columns
            chunks = [c_bytes(blob[i:i + 21]) for i in range(0, len(blob), 21)] or [""]
            body = "\n        ".join('"%s"' % c for c in chunks)
            exp = expect.encode("utf-8")
            exp_chunks = [c_bytes(exp[i:i + 21]) for i in range(0, len(exp), 21)] or [""]
            exp_body = "\n        ".join('"%s"' % c for c in exp_chunks)
            refused = 1 if re.match(r"[A-Z][A-Za-z]*Error: ", expect) else 0
            out.write('    {"%s", %d, %d,\n        %s,\n        %d,\n        %s},\n'
                      % (name, proto, refused, exp_body, len(blob), body))
    out.write("};\n")


if __name__ == "__main__":
    main()
