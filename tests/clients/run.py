# SPDX-License-Identifier: BSD-3-Clause
"""Run the real-client suite (redis-cli, redis-py, ioredis, node-redis and the
four app scenarios) against ringpub-server or redis-server.

Every test runs in its own process against a freshly started server, so a
crash or a leftover subscription cannot leak into the next test, and a server
that dies during a test is reported against that test. The last line printed
is "N passed, N failed" (", N skipped" when some were skipped); the exit
status is 1 if any test failed or did not run.

    run.py --server redis
    RINGPUB_SERVER=build/server/ringpub-server run.py --server ringpub --backend epoll
"""

import argparse
import fnmatch
import glob
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

import rpserver  # noqa: E402

PYTHON = "/usr/bin/python3"
NODE = "node"
SKIP_STATUS = 77
# Time run.py grants a test above its own timeout, for process start-up.
STARTUP_GRACE = 10
# After this many tests in a row whose server did not start, the rest are
# reported as not run instead of each waiting for the start timeout.
MAX_START_FAILURES = 3
START_FAILURE = "server did not start"


def command_for(path):
    if path.endswith(".py"):
        return [PYTHON, path]
    return [NODE, path]


def list_tests(path):
    """Return [(name, timeout, server_args)] for one test file, or raise RuntimeError."""
    proc = subprocess.run(command_for(path) + ["--list"], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise RuntimeError(f"--list failed with status {proc.returncode}:\n{proc.stderr}")
    tests = []
    for line in proc.stdout.splitlines():
        name, timeout, server_args = line.split("\t")
        tests.append((name, float(timeout), json.loads(server_args)))
    return tests


def tail(text, lines=40):
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run_one(path, name, timeout, server_args, args):
    """Run one test against a new server. Return (status, detail) with status
    one of "PASS", "FAIL", "SKIP"."""
    server = rpserver.Server(args.server, args=server_args)
    try:
        server.start()
    except Exception as e:  # a server that does not start fails the test, with its log
        server.__exit__(None, None, None)
        return "FAIL", f"{START_FAILURE}: {e}"

    status, detail = "FAIL", ""
    try:
        env = dict(os.environ, NODE_PATH=os.path.join(HERE, "node_modules"))
        cmd = command_for(path) + ["--port", str(server.port), "--server", args.server, "--test", name]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + STARTUP_GRACE,
                                  cwd=HERE, env=env)
            output = (proc.stdout + proc.stderr).strip()
            status = {0: "PASS", SKIP_STATUS: "SKIP"}.get(proc.returncode, "FAIL")
            if status != "PASS" or args.verbose:
                detail = tail(output)
        except subprocess.TimeoutExpired as e:
            status = "FAIL"
            out = (e.stdout or b"") + (e.stderr or b"")
            if isinstance(out, bytes):
                out = out.decode("utf-8", "replace")
            detail = f"killed after {timeout + STARTUP_GRACE:.0f}s\n{tail(out)}"

        if not server.alive():
            code = server.proc.returncode if server.proc else None
            status = "FAIL"
            detail += f"\nserver exited during the test with status {code}; server log:\n{tail(server.log())}"
    finally:
        exit_status = server.stop()
        if exit_status not in (0, None) and status == "PASS":
            status = "FAIL"
            detail += f"\nserver exited with status {exit_status} on SIGTERM; server log:\n{tail(server.log())}"
        server.__exit__(None, None, None)
    return status, detail


def main():
    parser = argparse.ArgumentParser(description="Run the real-client integration tests.")
    parser.add_argument("--server", required=True, choices=["ringpub", "redis"],
                        help="server to test; ringpub needs RINGPUB_SERVER set to the binary")
    parser.add_argument("--backend", choices=["uring", "epoll"],
                        help="ringpub I/O backend (sets RINGPUB_IO_BACKEND)")
    parser.add_argument("-k", dest="pattern", default="*",
                        help="run only tests whose 'file::name' matches this glob (default: all)")
    parser.add_argument("--deadline", type=float, default=170.0,
                        help="seconds after which no further test starts (default 170)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the output of passing tests too")
    args = parser.parse_args()

    if args.backend:
        os.environ["RINGPUB_IO_BACKEND"] = args.backend
    if args.server == "ringpub" and not os.environ.get("RINGPUB_SERVER"):
        parser.error("--server ringpub needs RINGPUB_SERVER set to the ringpub-server binary")

    started = time.monotonic()
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    node_ready = os.path.isdir(os.path.join(HERE, "node_modules"))
    start_failures = 0

    files = sorted(glob.glob(os.path.join(HERE, "test_*.py")) + glob.glob(os.path.join(HERE, "test_*.js")))
    for path in files:
        base = os.path.basename(path)
        if path.endswith(".js") and not node_ready:
            print(f"FAIL {base}: tests/clients/node_modules is missing (run.sh runs 'npm ci' to install it)",
                  flush=True)
            counts["FAIL"] += 1
            continue
        try:
            tests = list_tests(path)
        except (RuntimeError, subprocess.TimeoutExpired, ValueError) as e:
            print(f"FAIL {base}: cannot list its tests: {e}", flush=True)
            counts["FAIL"] += 1
            continue

        for name, timeout, server_args in tests:
            label = f"{base}::{name}"
            if not fnmatch.fnmatch(label, args.pattern) and not fnmatch.fnmatch(label, f"*{args.pattern}*"):
                continue
            if time.monotonic() - started > args.deadline:
                print(f"FAIL {label}: not run, the suite passed its {args.deadline:.0f}s deadline", flush=True)
                counts["FAIL"] += 1
                continue
            if start_failures >= MAX_START_FAILURES:
                print(f"FAIL {label}: not run, the server failed to start {start_failures} times in a row",
                      flush=True)
                counts["FAIL"] += 1
                continue
            t0 = time.monotonic()
            status, detail = run_one(path, name, timeout, server_args, args)
            start_failures = start_failures + 1 if detail.startswith(START_FAILURE) else 0
            counts[status] += 1
            print(f"{status} {label} ({time.monotonic() - t0:.1f}s)", flush=True)
            if detail:
                print("    " + detail.replace("\n", "\n    "), flush=True)

    summary = f"{counts['PASS']} passed, {counts['FAIL']} failed"
    if counts["SKIP"]:
        summary += f", {counts['SKIP']} skipped"
    print(f"clients ({args.server}, {time.monotonic() - started:.0f}s):")
    print(summary)
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
