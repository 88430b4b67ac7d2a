// SPDX-License-Identifier: BSD-3-Clause
// node-redis (the npm "redis" package, version pinned in package.json)
// against the server, in RESP2 and RESP3. On connect it sends HELLO 3 (RESP3
// only), CLIENT SETINFO LIB-VER and LIB-NAME, and CLIENT MAINT_NOTIFICATIONS,
// and continues when the CLIENT subcommands fail. Every test runs once per
// protocol.

'use strict';

const assert = require('node:assert/strict');
const { createClient } = require('redis');
const { test, run, waitUntil, collector } = require('./harness');

async function connect(ctx, RESP, extra = {}) {
  // reconnectStrategy false: a dropped connection fails the test instead of reconnecting.
  const client = createClient({ socket: { host: ctx.host, port: ctx.port, reconnectStrategy: false }, RESP, ...extra });
  client.on('error', (e) => process.stderr.write(`node-redis client error: ${e.message}\n`));
  await client.connect();
  return client;
}

async function closeAll(...clients) {
  for (const c of clients) {
    if (c.isOpen) await c.close();
  }
}

for (const RESP of [2, 3]) {
  const name = (s) => `resp${RESP}_${s}`;

  test(name('connect_commands'), async (ctx) => {
    const c = await connect(ctx, RESP, { name: `nr-${RESP}` });
    assert.equal(await c.ping(), 'PONG');
    assert.equal(await c.echo('hello'), 'hello');
    assert.equal(await c.clientGetName(), `nr-${RESP}`);
    const list = await c.clientList();
    assert.equal(list.length, 1, JSON.stringify(list));
    assert.equal(list[0].name, `nr-${RESP}`);
    assert.equal(list[0].sub, 0);
    assert.match(await c.info('server'), /^redis_version:/m);
    assert.match(await c.info('clients'), /^connected_clients:1\r?$/m);
    await closeAll(c);
  });

  test(name('subscribe_message'), async (ctx) => {
    const pub = await connect(ctx, RESP);
    const sub = await connect(ctx, RESP);
    const got = collector(3);
    await sub.subscribe(['a', 'b'], (message, channel) => got.push([channel, message]));
    assert.equal(await pub.publish('a', 'one'), 1);
    assert.equal(await pub.publish('b', 'two'), 1);
    assert.equal(await pub.publish('a', 'three'), 1);
    assert.deepEqual(await got.done, [['a', 'one'], ['b', 'two'], ['a', 'three']]);
    await closeAll(sub, pub);
  });

  test(name('psubscribe_pmessage'), async (ctx) => {
    const pub = await connect(ctx, RESP);
    const sub = await connect(ctx, RESP);
    const got = collector(2);
    await sub.pSubscribe('order.*', (message, channel) => got.push([channel, message]));
    assert.equal(await pub.publish('order.1', 'created'), 1);
    assert.equal(await pub.publish('orders', 'no match'), 0);
    assert.equal(await pub.publish('order.2', 'paid'), 1);
    assert.deepEqual(await got.done, [['order.1', 'created'], ['order.2', 'paid']]);
    assert.equal(await pub.pubSubNumPat(), 1);
    await closeAll(sub, pub);
  });

  test(name('ssubscribe_smessage'), async (ctx) => {
    const pub = await connect(ctx, RESP);
    const sub = await connect(ctx, RESP);
    const got = collector(2);
    await sub.sSubscribe(['stock{1}', 'stock{2}'], (message, channel) => got.push([channel, message]));
    assert.equal(await pub.sPublish('stock{1}', 'low'), 1);
    assert.equal(await pub.publish('stock{1}', 'plain'), 0);
    assert.equal(await pub.sPublish('stock{2}', 'out'), 1);
    assert.deepEqual(await got.done, [['stock{1}', 'low'], ['stock{2}', 'out']]);
    assert.deepEqual((await pub.pubSubShardChannels()).sort(), ['stock{1}', 'stock{2}']);
    assert.deepEqual(await pub.pubSubShardChannels('stock{2*'), ['stock{2}']);
    assert.deepEqual({ ...(await pub.pubSubShardNumSub(['stock{1}', 'none'])) }, { 'stock{1}': 1, none: 0 });
    await sub.sUnsubscribe('stock{1}');
    assert.deepEqual(await pub.pubSubShardChannels(), ['stock{2}']);
    await sub.sUnsubscribe();
    assert.deepEqual(await pub.pubSubShardChannels(), []);
    await closeAll(sub, pub);
  });

  test(name('unsubscribe_variants'), async (ctx) => {
    const pub = await connect(ctx, RESP);
    const sub = await connect(ctx, RESP);
    const seen = [];
    const listener = (message, channel) => seen.push([channel, message]);
    await sub.subscribe(['a', 'b', 'c'], listener);
    await sub.pSubscribe(['p*', 'q*'], listener);
    await sub.unsubscribe('b');
    assert.equal(await pub.publish('b', 'x'), 0);
    assert.deepEqual({ ...(await pub.pubSubNumSub(['a', 'b', 'c'])) }, { a: 1, b: 0, c: 1 });
    await sub.pUnsubscribe('p*');
    assert.equal(await pub.pubSubNumPat(), 1);
    await sub.unsubscribe();
    assert.deepEqual(await pub.pubSubChannels(), []);
    await sub.pUnsubscribe();
    assert.equal(await pub.pubSubNumPat(), 0);
    assert.deepEqual(seen, []);
    await closeAll(sub, pub);
  });

  test(name('pubsub_introspection'), async (ctx) => {
    const pub = await connect(ctx, RESP);
    const s1 = await connect(ctx, RESP);
    const s2 = await connect(ctx, RESP);
    const ignore = () => {};
    await s1.subscribe(['news', 'sport'], ignore);
    await s2.subscribe('news', ignore);
    await s2.pSubscribe(['n*', 's*'], ignore);
    assert.deepEqual((await pub.pubSubChannels()).sort(), ['news', 'sport']);
    assert.deepEqual(await pub.pubSubChannels('n*'), ['news']);
    assert.deepEqual({ ...(await pub.pubSubNumSub(['news', 'sport', 'none'])) }, { news: 2, sport: 1, none: 0 });
    assert.equal(await pub.pubSubNumPat(), 2);
    assert.equal(await pub.publish('news', 'x'), 3);
    await closeAll(s1, s2);
    await waitUntil(async () => (await pub.pubSubNumPat()) === 0, { what: 'patterns gone after close' });
    await closeAll(pub);
  });

  test(name('binary_payloads'), async (ctx) => {
    const pub = await connect(ctx, RESP);
    const sub = await connect(ctx, RESP);
    const payloads = [Buffer.from([0, 255, 13, 10, 42, 49]), Buffer.alloc(256 * 1024, 9)];
    const got = collector(payloads.length);
    await sub.subscribe('bin', (message, channel) => got.push([channel, message]), true);
    for (const p of payloads) assert.equal(await pub.publish('bin', p), 1);
    const received = await got.done;
    for (let i = 0; i < payloads.length; i++) {
      assert.ok(Buffer.from(received[i][0]).equals(Buffer.from('bin')));
      assert.ok(received[i][1].equals(payloads[i]), `payload ${i} differs (${received[i][1].length} bytes)`);
    }
    await closeAll(sub, pub);
  });

  test(name('many_messages_in_order'), async (ctx) => {
    const count = 5000;
    const pub = await connect(ctx, RESP);
    const sub = await connect(ctx, RESP);
    const got = collector(count, { timeoutMs: 15000 });
    await sub.subscribe('seq', (message) => got.push(message));
    const multi = pub.multi();
    for (let i = 0; i < count; i++) multi.publish('seq', String(i));
    // execAsPipeline sends the commands back to back, without MULTI/EXEC.
    const results = await multi.execAsPipeline();
    assert.ok(results.every((n) => n === 1), 'a pipelined PUBLISH did not return 1');
    const received = await got.done;
    for (let i = 0; i < count; i++) assert.equal(received[i], String(i));
    await closeAll(sub, pub);
  }, { timeout: 30 });
}

test('resp2_subscribed_connection_rejects_commands', async (ctx) => {
  const sub = await connect(ctx, 2);
  await sub.subscribe('x', () => {});
  assert.equal(await sub.ping(), 'pong');
  await assert.rejects(sub.echo('x'), /only \(P\|S\)SUBSCRIBE \/ \(P\|S\)UNSUBSCRIBE \/ PING \/ QUIT \/ RESET/);
  await closeAll(sub);
});

test('resp3_commands_while_subscribed', async (ctx) => {
  const c = await connect(ctx, 3);
  const got = collector(1);
  await c.subscribe('self', (message) => got.push(message));
  // RESP3 allows any command on a subscribed connection.
  assert.equal(await c.ping(), 'PONG');
  assert.equal(await c.echo('still here'), 'still here');
  assert.equal(await c.publish('self', 'to myself'), 1);
  assert.deepEqual(await got.done, ['to myself']);
  await closeAll(c);
});

run();
