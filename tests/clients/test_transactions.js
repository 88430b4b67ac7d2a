// SPDX-License-Identifier: BSD-3-Clause
// ioredis multi(): PUBLISH plus XADD in one MULTI/EXEC, in RESP2 and RESP3,
// delivered once; a WATCHed key changed by another client makes exec()
// resolve to null without running anything.

'use strict';

const assert = require('node:assert/strict');
const Redis = require('ioredis');
const { test, run, collector } = require('./harness');

function connect(ctx, protocol) {
  // retryStrategy null: a dropped connection fails the test instead of reconnecting forever.
  return new Redis({ host: ctx.host, port: ctx.port, protocol, retryStrategy: () => null, maxRetriesPerRequest: 0 });
}

for (const protocol of [2, 3]) {
  const name = (s) => `resp${protocol}_${s}`;

  test(name('multi_publish_xadd'), async (ctx) => {
    const sub = connect(ctx, protocol);
    const r = connect(ctx, protocol);
    const got = collector(2);
    sub.on('message', (channel, message) => got.push([channel, message]));
    assert.equal(await sub.subscribe('orders'), 1);

    const results = await r.multi()
      .publish('orders', 'created')
      .xadd('orders:log', 'MAXLEN', '=', '100', '1-1', 'event', 'created')
      .publish('orders', 'paid')
      .xlen('orders:log')
      .exec();
    assert.deepEqual(results, [[null, 1], [null, '1-1'], [null, 1], [null, 1]]);
    assert.deepEqual(await got.done, [['orders', 'created'], ['orders', 'paid']]);
    assert.deepEqual(await r.xrange('orders:log', '-', '+'), [['1-1', ['event', 'created']]]);
    sub.disconnect();
    r.disconnect();
  });

  test(name('watch_conflict_exec_null'), async (ctx) => {
    const r = connect(ctx, protocol);
    const other = connect(ctx, protocol);
    await r.xadd('stock', '1-1', 'n', '10');
    assert.equal(await r.watch('stock'), 'OK');
    await other.xadd('stock', '2-1', 'n', '9');
    const results = await r.multi().xadd('stock', '3-1', 'n', '8').exec();
    assert.equal(results, null);
    assert.equal(await r.xlen('stock'), 2);
    r.disconnect();
    other.disconnect();
  });
}

run();
