#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Installs what building and testing ringpub needs on Debian 12, as root.
# Build: meson, ninja, a C compiler, liburing. Tests: cmocka, Google
# Benchmark, clang with libFuzzer, redis-server as the reference server, and
# the real clients (redis-cli, python3-redis, FastAPI for the WebSocket
# scenario, Node.js and npm for ioredis and node-redis).
set -eu

packages="build-essential meson ninja-build pkg-config liburing-dev \
libcmocka-dev libbenchmark-dev libhiredis-dev clang libclang-rt-14-dev \
redis-server redis-tools python3 python3-redis python3-fastapi \
python3-uvicorn python3-websockets python3-httpx procps iproute2"
# Node.js may already come from another source (with its own npm); Debian's
# npm package would conflict with it, so add each only where it is missing.
command -v node >/dev/null 2>&1 || packages="$packages nodejs"
command -v npm >/dev/null 2>&1 || packages="$packages npm"

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: run as root (apt-get needs it), e.g. sudo $0" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $packages

# Debian starts redis-server as a service on port 6379 when it installs it.
# The tests start their own copies on free ports, and ringpub's quick start
# needs port 6379, so the packaged service is stopped.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
    systemctl stop redis-server
    systemctl disable redis-server >/dev/null 2>&1 || true
elif command -v service >/dev/null 2>&1; then
    service redis-server stop >/dev/null 2>&1 || true
fi
