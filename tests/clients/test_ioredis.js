// SPDX-License-Identifier: BSD-3-Clause
// ioredis (version pinned in package.json) against the server, in RESP2 and
// RESP3. ioredis 6 sends HELLO 3, CLIENT SETINFO and CLIENT
// MAINT_NOTIFICATIONS on connect, then INFO for its ready check, and continues
// when the CLIENT subcommands fail. Every test runs once per protocol.

'use strict';

const assert = require('node:assert/strict');
const net = require('node:net');
const Redis = require('ioredis');
const { test, run, waitUntil, collector, Skip } = require('./harness');

function connect(ctx, protocol, extra = {}) {
  // retryStrategy null: a dropped connection fails the test instead of reconnecting forever.
  return new Redis({
    host: ctx.host, port: ctx.port, protocol, retryStrategy: () => null,
    maxRetriesPerRequest: 0, ...extra,
  });
}

for (const protocol of [2, 3]) {
  const name = (s) => `resp${protocol}_${s}`;

  test(name('connect_commands'), async (ctx) => {
    const r = connect(ctx, protocol, { connectionName: `io-${protocol}` });
    assert.equal(await r.ping(), 'PONG');
    assert.equal(await r.echo('hello'), 'hello');
    assert.equal(await r.client('GETNAME'), `io-${protocol}`);
    const rows = (await r.client('LIST')).trim().split('\n');
    assert.equal(rows.length, 1, rows.join('\n'));
    assert.match(rows[0], new RegExp(` name=io-${protocol} `));
    assert.match(await r.info('server'), /^redis_version:/m);
    r.disconnect();
  });

  test(name('subscribe_message'), async (ctx) => {
    const sub = connect(ctx, protocol);
    const pub = connect(ctx, protocol);
    const got = collector(3);
    sub.on('message', (channel, message) => got.push([channel, message]));
    assert.equal(await sub.subscribe('a', 'b'), 2);
    assert.equal(await pub.publish('a', 'one'), 1);
    assert.equal(await pub.publish('b', 'two'), 1);
    assert.equal(await pub.publish('a', 'three'), 1);
    assert.deepEqual(await got.done, [['a', 'one'], ['b', 'two'], ['a', 'three']]);
    sub.disconnect();
    pub.disconnect();
  });

  test(name('psubscribe_pmessage'), async (ctx) => {
    const sub = connect(ctx, protocol);
    const pub = connect(ctx, protocol);
    const got = collector(2);
    sub.on('pmessage', (pattern, channel, message) => got.push([pattern, channel, message]));
    assert.equal(await sub.psubscribe('user.*', 'h?llo'), 2);
    assert.equal(await pub.publish('user.42', 'login'), 1);
    assert.equal(await pub.publish('user', 'no match'), 0);
    assert.equal(await pub.publish('hello', 'hi'), 1);
    assert.deepEqual(await got.done, [['user.*', 'user.42', 'login'], ['h?llo', 'hello', 'hi']]);
    sub.disconnect();
    pub.disconnect();
  });

  test(name('ssubscribe_smessage'), async (ctx) => {
    const sub = connect(ctx, protocol);
    const pub = connect(ctx, protocol);
    const got = collector(2);
    sub.on('smessage', (channel, message) => got.push([channel, message]));
    assert.equal(await sub.ssubscribe('cart{7}', 'cart{8}'), 2);
    assert.equal(await pub.spublish('cart{7}', 'add'), 1);
    assert.equal(await pub.publish('cart{7}', 'plain publish'), 0);
    assert.equal(await pub.spublish('cart{8}', 'remove'), 1);
    assert.deepEqual(await got.done, [['cart{7}', 'add'], ['cart{8}', 'remove']]);
    assert.deepEqual((await pub.pubsub('SHARDCHANNELS')).sort(), ['cart{7}', 'cart{8}']);
    assert.deepEqual(await pub.pubsub('SHARDCHANNELS', 'cart{7*'), ['cart{7}']);
    assert.deepEqual(await pub.pubsub('SHARDNUMSUB', 'cart{7}', 'none'), ['cart{7}', 1, 'none', 0]);
    assert.equal(await sub.sunsubscribe('cart{7}'), 1);
    assert.equal(await sub.sunsubscribe(), 0);
    assert.deepEqual(await pub.pubsub('SHARDCHANNELS'), []);
    sub.disconnect();
    pub.disconnect();
  });

  test(name('unsubscribe_variants'), async (ctx) => {
    const sub = connect(ctx, protocol);
    const pub = connect(ctx, protocol);
    assert.equal(await sub.subscribe('a', 'b', 'c'), 3);
    assert.equal(await sub.psubscribe('p*', 'q*'), 5);
    assert.equal(await sub.unsubscribe('b'), 4);
    assert.equal(await pub.publish('b', 'x'), 0);
    assert.equal(await sub.punsubscribe('p*'), 3);
    // Without arguments ioredis resolves with the count of the last reply.
    assert.equal(await sub.unsubscribe(), 1);
    assert.equal(await sub.punsubscribe(), 0);
    assert.deepEqual(await pub.pubsub('CHANNELS'), []);
    assert.equal(await pub.pubsub('NUMPAT'), 0);
    sub.disconnect();
    pub.disconnect();
  });

  test(name('pubsub_introspection'), async (ctx) => {
    const subs = [connect(ctx, protocol), connect(ctx, protocol)];
    const pub = connect(ctx, protocol);
    await subs[0].subscribe('news', 'sport');
    await subs[1].subscribe('news');
    await subs[1].psubscribe('n*', 's*');
    assert.deepEqual((await pub.pubsub('CHANNELS')).sort(), ['news', 'sport']);
    assert.deepEqual(await pub.pubsub('CHANNELS', 'n*'), ['news']);
    assert.deepEqual(await pub.pubsub('NUMSUB', 'news', 'sport', 'none'), ['news', 2, 'sport', 1, 'none', 0]);
    assert.deepEqual(await pub.pubsub('NUMSUB'), []);
    assert.equal(await pub.pubsub('NUMPAT'), 2);
    // Two channel subscribers and one matching pattern.
    assert.equal(await pub.publish('news', 'x'), 3);
    for (const s of subs) s.disconnect();
    await waitUntil(async () => (await pub.pubsub('NUMPAT')) === 0, { what: 'patterns gone after disconnect' });
    pub.disconnect();
  });

  test(name('binary_payloads'), async (ctx) => {
    const sub = connect(ctx, protocol);
    const pub = connect(ctx, protocol);
    const payloads = [Buffer.alloc(0), Buffer.from([0, 255, 13, 10, 36, 45, 49]), Buffer.alloc(512 * 1024, 7)];
    const got = collector(payloads.length);
    sub.on('messageBuffer', (channel, message) => got.push([channel, message]));
    await sub.subscribe('bin');
    for (const p of payloads) assert.equal(await pub.publish('bin', p), 1);
    const received = await got.done;
    for (let i = 0; i < payloads.length; i++) {
      assert.ok(received[i][0].equals(Buffer.from('bin')));
      assert.ok(received[i][1].equals(payloads[i]), `payload ${i} differs (${received[i][1].length} bytes)`);
    }
    sub.disconnect();
    pub.disconnect();
  });

  test(name('many_messages_in_order'), async (ctx) => {
    const count = 5000;
    const sub = connect(ctx, protocol);
    const pub = connect(ctx, protocol);
    const got = collector(count, { timeoutMs: 15000 });
    sub.on('message', (channel, message) => got.push(message));
    await sub.subscribe('seq');
    const pipeline = pub.pipeline();
    for (let i = 0; i < count; i++) pipeline.publish('seq', String(i));
    const results = await pipeline.exec();
    assert.ok(results.every(([err, n]) => err === null && n === 1), 'a pipelined PUBLISH did not return 1');
    const received = await got.done;
    for (let i = 0; i < count; i++) assert.equal(received[i], String(i));
    sub.disconnect();
    pub.disconnect();
  }, { timeout: 30 });
}

test('auto_pipelined_publishes_in_order', async (ctx) => {
  const count = 5000;
  const sub = connect(ctx, 3);
  // enableAutoPipelining batches the commands issued in one event-loop tick into one write.
  const pub = connect(ctx, 3, { enableAutoPipelining: true });
  const got = collector(count, { timeoutMs: 15000 });
  sub.on('message', (channel, message) => got.push(message));
  await sub.subscribe('auto');
  const results = await Promise.all(Array.from({ length: count }, (_, i) => pub.publish('auto', String(i))));
  assert.ok(results.every((n) => n === 1), 'an auto-pipelined PUBLISH did not return 1');
  const received = await got.done;
  for (let i = 0; i < count; i++) assert.equal(received[i], String(i));
  sub.disconnect();
  pub.disconnect();
}, { timeout: 30 });

test('resp2_subscriber_mode_limits_commands', async (ctx) => {
  const sub = connect(ctx, 2);
  await sub.subscribe('x');
  assert.deepEqual(await sub.ping(), ['pong', '']);
  await assert.rejects(sub.echo('x'), /subscriber mode/);
  sub.disconnect();
});

test('resp3_commands_while_subscribed', async (ctx) => {
  const sub = connect(ctx, 3);
  const got = collector(1);
  sub.on('message', (channel, message) => got.push(message));
  await sub.subscribe('x');
  // RESP3 allows any command on a subscribed connection.
  assert.equal(await sub.ping(), 'PONG');
  assert.equal(await sub.echo('still here'), 'still here');
  assert.equal(await sub.publish('x', 'to myself'), 1);
  assert.deepEqual(await got.done, ['to myself']);
  assert.deepEqual(await sub.pubsub('NUMSUB', 'x'), ['x', 1]);
  sub.disconnect();
});

// Resolves true if this machine can listen on ::1.
function hasIpv6Loopback() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => server.close(() => resolve(true)));
  });
}

test('ipv6_loopback', async (ctx) => {
  if (!(await hasIpv6Loopback())) throw new Skip('this machine has no IPv6 loopback');
  const sub = new Redis({ host: '::1', port: ctx.port, retryStrategy: () => null });
  const pub = connect(ctx, 3);
  const got = collector(1);
  sub.on('message', (channel, message) => got.push(message));
  await sub.subscribe('dual');
  assert.equal(await pub.publish('dual', 'v4 to v6'), 1);
  assert.deepEqual(await got.done, ['v4 to v6']);
  sub.disconnect();
  pub.disconnect();
}, { serverArgs: ['--bind', '127.0.0.1 -::1'] });  // "-": optional, see hasIpv6Loopback

run();
