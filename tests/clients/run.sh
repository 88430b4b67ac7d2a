#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Entry point of the real-client suite: installs the node client libraries
# from package-lock.json when node_modules is missing, then runs run.py with
# the same arguments (for example: run.sh --server redis).
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/node_modules" ]; then
    echo "tests/clients: node_modules is missing; running npm ci" >&2
    # run.py reports every node test as failed if this does not succeed.
    (cd "$here" && timeout 300 npm ci --no-audit --no-fund) >&2 ||
        echo "tests/clients: npm ci failed; the node tests will fail" >&2
fi
exec /usr/bin/python3 "$here/run.py" "$@"
