#!/usr/bin/env python3
"""test_mpx_cli.py - mpx, the command-line client, and the admin calls it makes.

A real mpx-manager with an admin key file: without the admin key the admin calls are
refused; with it, ls, info, get, call (Python-literal arguments), del and shutdown work,
in Python repr and in JSON; commands read from a pipe run one per line; every failure has
its exit code (1 refused, 2 usage, 3 connection) and a one-line reason. A manager started
with --allow-admin needs no admin key.
"""
import json
import os
import secrets
import subprocess
import sys
import tempfile

from mpxtest import Manager, py_address, run_cases

CLI = os.environ.get("MPX_CLI_BIN")
EXAMPLES = os.environ.get("MPX_EXAMPLES_DIR")
CASE_SECONDS = 30
M = None
ADMIN = None  # the admin key file


def key_file(text=None):
    fd, path = tempfile.mkstemp(prefix="mpx-cli-", dir="/tmp")
    os.write(fd, (text or secrets.token_hex(16)).encode())
    os.close(fd)
    os.chmod(path, 0o600)
    return path


def mpx(*args, admin=True, manager=None, stdin=None):
    manager = manager or M
    argv = [CLI, "-a", manager.tcp, "-k", manager.keyfile]
    if admin:
        argv += ["--admin-key-file", ADMIN]
    out = subprocess.run(argv + list(args), capture_output=True, text=True, timeout=20,
                         input=stdin)
    return out.returncode, out.stdout, out.stderr


def ok(*args, **kw):
    rc, out, err = mpx(*args, **kw)
    assert rc == 0, (args, rc, out, err)
    return out


def fill_counts():
    out = subprocess.run([os.path.join(EXAMPLES, "dict_worker"), "--connect", M.tcp,
                          "--name", "counts", "--worker", "a", "--count", "3"],
                         capture_output=True, text=True, timeout=20,
                         env=dict(os.environ, MPX_AUTHKEY=M.key.decode()))
    assert out.returncode == 0, out.stderr


def case_admin_needs_the_key():
    rc, out, err = mpx("ls", admin=False)
    assert rc == 1 and "AuthenticationError" in err and "admin key" in err, (rc, err)
    wrong = key_file()
    try:
        argv = [CLI, "-a", M.tcp, "-k", M.keyfile, "--admin-key-file", wrong, "info"]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        assert out.returncode == 1 and "wrong admin key" in out.stderr, out
    finally:
        os.unlink(wrong)
    assert ok("ping", admin=False).strip() == "pong"  # not an admin call


def case_ls_get_call_del():
    fill_counts()
    out = ok("ls")
    assert "counts" in out and "counts.log" in out and "dict" in out, out
    assert ok("get", "counts").strip() == "{'a': 3}"
    assert ok("call", "counts", "__getitem__", "a").strip() == "3"
    ok("call", "counts", "update", "{'b': [1, 2], 'c': 'x y'}")
    ok("call", "counts", "__setitem__", "word", "plain text")  # a word that is no literal
    assert ok("get", "counts").strip() == \
        "{'a': 3, 'b': [1, 2], 'c': 'x y', 'word': 'plain text'}"
    rows = json.loads(ok("--json", "ls"))
    names = {r[2]: r for r in rows}
    assert names["counts"][1] == "dict" and names["counts"][4] == 4, rows
    assert json.loads(ok("--json", "call", "counts", "copy"))["b"] == [1, 2]
    rc, out, err = mpx("call", "counts", "__getitem__", "zz")
    assert rc == 1 and err.strip() == "(error) KeyError: 'zz'", (rc, err)
    rc, out, err = mpx("get", "nothing")
    assert rc == 1 and "KeyError" in err, (rc, err)
    assert ok("del", "counts").strip() == "True"
    assert ok("del", "counts").strip() == "False"
    assert "counts.log" in ok("ls") and " counts " not in ok("ls")


def case_info():
    info = json.loads(ok("--json", "info"))
    for field in ("pid", "uptime_s", "connections", "objects", "parked", "rss_bytes",
                  "calls_total", "calls"):
        assert field in info, (field, info)
    assert info["pid"] == M.proc.pid and info["rss_bytes"] > 0, info
    assert info["calls"].get("manager.info", 0) >= 0 and info["calls_total"] > 0, info


def case_commands_from_a_pipe():
    fill_counts()
    rc, out, err = mpx(stdin="ping\ncall counts keys\nbogus\nget counts\n")
    lines = out.strip().splitlines()
    assert lines[0] == "pong" and lines[1] == "['a']" and lines[2] == "{'a': 3}", out
    assert "unknown command 'bogus'" in err and rc == 0, (rc, err)
    rc, out, err = mpx(stdin="quit\nping\n")
    assert rc == 0 and out == "", (rc, out)


def case_exit_codes():
    rc, out, err = mpx("call", "counts")
    assert rc == 2 and "wrong number of arguments" in err, (rc, err)
    rc, out, err = mpx("frobnicate")
    assert rc == 2 and "unknown command" in err, (rc, err)
    out = subprocess.run([CLI, "ls"], capture_output=True, text=True, timeout=20,
                         env={k: v for k, v in os.environ.items() if k != "MPX_ADDRESS"})
    assert out.returncode == 2 and "-a ADDR is required" in out.stderr, out
    wrong = key_file()
    try:
        out = subprocess.run([CLI, "-a", M.tcp, "-k", wrong, "ping"], capture_output=True,
                             text=True, timeout=20)
        assert out.returncode == 3 and out.stderr.startswith("mpx: "), out
    finally:
        os.unlink(wrong)
    out = subprocess.run([CLI, "-a", "tcp://127.0.0.1:1", "-k", M.keyfile, "ping"],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 3, out


def case_allow_admin_and_shutdown():
    own = Manager(["--allow-admin"])
    try:
        assert "objects" in ok("info", admin=False, manager=own)
        assert ok("shutdown", admin=False, manager=own).strip() == "None"
        assert own.proc.wait(10) == 0
        rc, out, err = mpx("ping", admin=False, manager=own)
        assert rc == 3, (rc, err)
    finally:
        own.stop()


def main():
    global M, ADMIN
    ADMIN = key_file()
    try:
        M = Manager(["--admin-key-file", ADMIN])
        cases = [case_admin_needs_the_key, case_ls_get_call_del, case_info,
                 case_commands_from_a_pipe, case_exit_codes, case_allow_admin_and_shutdown]
        return run_cases(cases, CASE_SECONDS, M)
    finally:
        os.unlink(ADMIN)


if __name__ == "__main__":
    sys.exit(main())
