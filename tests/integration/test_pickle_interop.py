#!/usr/bin/env python3
"""test_pickle_interop.py - the manager's pickles read by a stock Python.

protocol/pickle.c writes the replies of Python's manager protocol. Each value here is
written by it (`test_pickle --dump LITERAL`, the unit test binary) and read back with this
interpreter's own pickle.loads: the result must equal the literal, with the same types
(an mpx int is a Python int, a tuple stays a tuple, bytes stay bytes, 1 and True and 1.0
keep their types). No manager is started: this is the wire format alone.
"""
import math
import os
import pickle
import subprocess
import sys

from mpxtest import run_cases

DUMP = os.environ.get("MPX_TEST_PICKLE_BIN")

LITERALS = [
    "None", "True", "False", "0", "255", "256", "65535", "65536", "-1", "-129",
    "2147483647", "-2147483648", "2147483648", "9223372036854775807", "-9223372036854775808",
    "1.5", "-0.0", "1e300", "''", "'x'", "'\u00e9\u20ac\U0001f600'", "b''",
    "b'\\x00\\xff'", "()", "(1,)", "(1, 2)", "(1, 2, 3)", "(1, 2, 3, 4)", "[]",
    "[1, 'a', None]", "{}", "{'a': 1, 2: [3], (1, 'b'): None}", "[[[[]]]]",
    "{1: True, 2: 1.0, 3: 1}", "set()", "{1, 'a', (2, 3)}", "frozenset()",
    "frozenset({1, 2})", "{frozenset({1}): {2}}",
]


def dump(literal):
    out = subprocess.run([DUMP, "--dump", literal], capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, (literal, out.stderr)
    return bytes.fromhex(out.stdout.strip())


def same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


def literal_value(text):
    """The literal's value; set() and frozenset(...) are calls literal_eval refuses, and
    these literals are this file's own."""
    return eval(text, {"__builtins__": {}, "set": set, "frozenset": frozenset})


def case_values_read_back():
    for literal in LITERALS:
        want = literal_value(literal)
        got = pickle.loads(dump(literal))
        assert same(got, want), (literal, got, want)


def case_large_containers():
    # past the batches of 1000 that APPENDS and SETITEMS are written in
    items = list(range(2500))
    assert pickle.loads(dump(repr(items))) == items
    d = {i: str(i) for i in range(1500)}
    assert pickle.loads(dump(repr(d))) == d
    s = "x" * 70000
    assert pickle.loads(dump(repr(s))) == s


def case_round_trip_through_python():
    # what Python writes back of what we wrote is what we read (protocols 2 to 5)
    for literal in LITERALS:
        value = pickle.loads(dump(literal))
        for proto in range(2, pickle.HIGHEST_PROTOCOL + 1):
            assert same(pickle.loads(pickle.dumps(value, proto)), value), (literal, proto)


if __name__ == "__main__":
    if not DUMP:
        print("set MPX_TEST_PICKLE_BIN to the test_pickle binary", file=sys.stderr)
        sys.exit(1)
    sys.exit(run_cases([case_values_read_back, case_large_containers,
                        case_round_trip_through_python], 60))
