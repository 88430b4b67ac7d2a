#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Builds ringpub three ways and runs the whole test suite:
#   build-test   optimised build: unit, integration (io_uring and epoll),
#                conformance against redis-server, real-client tests
#   build-asan   ASan+UBSan build: the same suites
#   build-fuzz   clang libFuzzer targets: each over its corpus, then for
#                FUZZ_SECONDS (default 60) of new inputs
# Needs the packages from scripts/install-deps.sh. Prints one summary line,
# "N passed, N failed", and exits non-zero if anything failed.
set -eu

cd "$(dirname "$0")/.."
root=$(pwd)
fuzz_seconds=${FUZZ_SECONDS:-60}
jobs=${JOBS:-2}
failed_stages=""

# Node.js clients for the real-client tests.
if [ -f tests/clients/package-lock.json ] && [ ! -d tests/clients/node_modules ]; then
    (cd tests/clients && npm ci --no-audit --no-fund --loglevel=error)
fi

setup() {  # setup DIR [meson options...]
    dir=$1
    shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$@" >/dev/null
    else
        meson setup "$dir" "$@" >/dev/null
    fi
    ninja -C "$dir" -j "$jobs" >/dev/null
}

run_suites() {  # run_suites DIR STAGE [meson test options...]
    dir=$1
    stage=$2
    shift 2
    echo "== $stage"
    if ! meson test -C "$dir" --print-errorlogs --num-processes 1 "$@"; then
        failed_stages="$failed_stages $stage"
    fi
    cp "$dir/meson-logs/testlog.json" "$root/$dir/testlog-$stage.json" 2>/dev/null || true
}

echo "== build (debugoptimized)"
setup build-test -Dtests=enabled
run_suites build-test normal

echo "== build (ASan+UBSan)"
setup build-asan -Dtests=enabled -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debug
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run_suites build-asan asan

echo "== build (libFuzzer, clang)"
CC=clang CXX=clang++ setup build-fuzz -Dfuzz=true -Dtests=disabled -Dbench=disabled \
    -Db_sanitize=address,undefined -Db_lundef=false
RP_FUZZ_SECONDS=$fuzz_seconds run_suites build-fuzz fuzz --suite fuzz --timeout-multiplier 4

# One line for people and CI: every test of every stage.
python_bin=/usr/bin/python3
[ -x "$python_bin" ] || python_bin=python3
"$python_bin" - "$root" <<'PY'
import json, pathlib, sys
passed = failed = skipped = 0
for log in sorted(pathlib.Path(sys.argv[1]).glob("build-*/testlog-*.json")):
    for line in log.read_text().splitlines():
        result = json.loads(line).get("result")
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY

if [ -n "$failed_stages" ]; then
    echo "failed stages:$failed_stages" >&2
    exit 1
fi
