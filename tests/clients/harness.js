// SPDX-License-Identifier: BSD-3-Clause
// Test registration and the command line shared by the node client tests,
// with the same interface as harness.py so that run.py drives both alike:
//
//   node test_x.js --list                      prints "name<TAB>timeout_seconds<TAB>server_args_json" lines
//   node test_x.js --port P --server KIND --test NAME
//
// A test is an async function of a context ({port, host, server}); it passes
// when its promise resolves. Exit status: 0 pass, 1 failure, 77 skip.

'use strict';

const SKIP_STATUS = 77;
const HOST = '127.0.0.1';
const tests = [];

class Skip extends Error {}

// Registers fn under name; timeout is in seconds, and run.py appends
// serverArgs to the server's command line.
function test(name, fn, { timeout = 20, serverArgs = [] } = {}) {
  tests.push({ name, fn, timeout, serverArgs });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Polls the async predicate until it returns a truthy value, which it returns;
// rejects after timeoutMs.
async function waitUntil(predicate, { timeoutMs = 5000, intervalMs = 10, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await predicate();
    if (last) return last;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last value ${JSON.stringify(last)})`);
}

// Returns a collector: its `done` promise resolves with the first `count`
// values given to push(), or rejects after timeoutMs listing the last arrivals.
function collector(count, { timeoutMs = 5000, what = 'messages' } = {}) {
  const items = [];
  let resolveFn;
  let rejectFn;
  const done = new Promise((resolve, reject) => {
    resolveFn = resolve;
    rejectFn = reject;
  });
  const timer = setTimeout(() => {
    rejectFn(new Error(`timed out after ${timeoutMs} ms: got ${items.length} of ${count} ${what}: ` +
      JSON.stringify(items.slice(-5))));
  }, timeoutMs);
  return {
    items,
    done,
    push(item) {
      items.push(item);
      if (items.length === count) {
        clearTimeout(timer);
        resolveFn(items);
      }
    },
  };
}

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    if (key === '--list') {
      args.list = true;
    } else if (key.startsWith('--') && i + 1 < argv.length) {
      args[key.slice(2)] = argv[++i];
    } else {
      throw new Error(`unexpected argument ${key}`);
    }
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.list) {
    for (const t of tests) process.stdout.write(`${t.name}\t${t.timeout}\t${JSON.stringify(t.serverArgs)}\n`);
    return 0;
  }
  if (!args.port || !args.test) {
    process.stderr.write('usage: --port P --test NAME [--server KIND], or --list\n');
    return 2;
  }
  const found = tests.find((t) => t.name === args.test);
  if (!found) {
    process.stderr.write(`no test named ${JSON.stringify(args.test)} in ${process.argv[1]}\n`);
    return 2;
  }
  const ctx = { port: Number(args.port), host: HOST, server: args.server || 'redis' };
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`test timed out after ${found.timeout}s`)), found.timeout * 1000);
  });
  try {
    await Promise.race([found.fn(ctx), timeout]);
    return 0;
  } catch (e) {
    if (e instanceof Skip) {
      process.stderr.write(`skipped: ${e.message}\n`);
      return SKIP_STATUS;
    }
    process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
    return 1;
  } finally {
    clearTimeout(timer);
  }
}

// Runs main and exits with its status, even if a failed test left sockets open.
function run() {
  main().then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
      process.exit(1);
    },
  );
}

module.exports = { test, run, sleep, waitUntil, collector, Skip, HOST };
