// SPDX-License-Identifier: BSD-3-Clause
// ioredis and node-redis against a password-protected server (HELLO 3 AUTH
// in RESP3, AUTH in RESP2), and their automatic resubscription after the
// server kills a subscriber connection (CLIENT KILL TYPE pubsub).

'use strict';

const assert = require('node:assert/strict');
const Redis = require('ioredis');
const { createClient } = require('redis');
const { test, run, waitUntil, collector } = require('./harness');

const PASSWORD = 's3cret';
const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';
const NOAUTH = {
  2: 'NOAUTH Authentication required.',
  3: 'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH ' +
    '<user> <pass> option can be used to authenticate the client and select the RESP protocol version ' +
    'at the same time',
};

async function protect(ctx) {
  const admin = new Redis({ host: ctx.host, port: ctx.port, retryStrategy: () => null });
  assert.equal(await admin.config('SET', 'requirepass', PASSWORD), 'OK');
  return admin;
}

// Connects with ioredis and returns the first error event's message, or null.
async function ioredisConnectError(ctx, protocol, password) {
  const client = new Redis({ host: ctx.host, port: ctx.port, protocol, password, lazyConnect: true,
    retryStrategy: () => null, maxRetriesPerRequest: 0 });
  const firstError = new Promise((resolve) => client.once('error', (e) => resolve(e.message)));
  await client.connect().catch(() => {});
  const message = await Promise.race([firstError, new Promise((resolve) => setTimeout(() => resolve(null), 3000))]);
  client.disconnect();
  return message;
}

// Connects with node-redis and sends PING; returns the error message, or null.
// In RESP2 without a password the connection opens and the PING fails.
async function nodeRedisConnectError(ctx, RESP, password) {
  const client = createClient({ socket: { host: ctx.host, port: ctx.port, reconnectStrategy: false }, RESP, password });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    if (client.isOpen) client.destroy();
    return e.message;
  }
  await client.close();
  return null;
}

for (const protocol of [2, 3]) {
  test(`resp${protocol}_ioredis_password`, async (ctx) => {
    const admin = await protect(ctx);
    const options = { host: ctx.host, port: ctx.port, protocol, password: PASSWORD, retryStrategy: () => null };
    const sub = new Redis(options);
    const pub = new Redis(options);
    const got = collector(1);
    sub.on('message', (channel, message) => got.push(message));
    assert.equal(await sub.subscribe('secure'), 1);
    assert.equal(await pub.publish('secure', 'hi'), 1);
    assert.deepEqual(await got.done, ['hi']);
    assert.equal(await ioredisConnectError(ctx, protocol, 'wrong'), WRONGPASS);
    assert.equal(await ioredisConnectError(ctx, protocol, undefined), NOAUTH[protocol]);
    sub.disconnect();
    pub.disconnect();
    admin.disconnect();
  });

  test(`resp${protocol}_node_redis_password`, async (ctx) => {
    const admin = await protect(ctx);
    const options = { socket: { host: ctx.host, port: ctx.port, reconnectStrategy: false }, RESP: protocol,
      password: PASSWORD };
    const pub = createClient(options);
    await pub.connect();
    const sub = pub.duplicate();
    await sub.connect();
    const got = collector(1);
    await sub.pSubscribe('secure.*', (message) => got.push(message));
    assert.equal(await pub.publish('secure.x', 'hi'), 1);
    assert.deepEqual(await got.done, ['hi']);
    assert.equal(await nodeRedisConnectError(ctx, protocol, 'wrong'), WRONGPASS);
    assert.equal(await nodeRedisConnectError(ctx, protocol, undefined), NOAUTH[protocol]);
    await sub.close();
    await pub.close();
    admin.disconnect();
  });

  test(`resp${protocol}_ioredis_resubscribes_after_kill`, async (ctx) => {
    const admin = new Redis({ host: ctx.host, port: ctx.port, retryStrategy: () => null });
    // At most 20 reconnection attempts, 50 ms apart.
    const sub = new Redis({ host: ctx.host, port: ctx.port, protocol,
      retryStrategy: (times) => (times > 20 ? null : 50) });
    const got = [];
    sub.on('message', (channel, message) => got.push([channel, message]));
    sub.on('pmessage', (pattern, channel, message) => got.push([pattern, message]));
    sub.on('error', () => {});
    await sub.subscribe('jobs');
    await sub.psubscribe('alerts.*');
    const firstId = await admin.client('LIST').then((l) => l.match(/id=(\d+) .* sub=1 psub=1 /)[1]);

    assert.equal(await admin.client('KILL', 'TYPE', 'pubsub'), 1);
    await waitUntil(async () => {
      const list = await admin.client('LIST');
      const m = list.match(/id=(\d+) .* sub=1 psub=1 /);
      return m && m[1] !== firstId;
    }, { timeoutMs: 5000, what: 'ioredis to reconnect and resubscribe' });

    assert.equal(await admin.publish('jobs', 'j1'), 1);
    assert.equal(await admin.publish('alerts.cpu', 'a1'), 1);
    await waitUntil(() => got.length === 2, { what: 'messages after resubscription' });
    assert.deepEqual(got, [['jobs', 'j1'], ['alerts.*', 'a1']]);
    sub.disconnect();
    admin.disconnect();
  });

  test(`resp${protocol}_node_redis_resubscribes_after_kill`, async (ctx) => {
    const admin = new Redis({ host: ctx.host, port: ctx.port, retryStrategy: () => null });
    const sub = createClient({ socket: { host: ctx.host, port: ctx.port,
      reconnectStrategy: (retries) => (retries > 20 ? false : 50) }, RESP: protocol });
    sub.on('error', () => {});
    await sub.connect();
    const got = [];
    await sub.subscribe('jobs', (message, channel) => got.push([channel, message]));
    await sub.sSubscribe('shard', (message, channel) => got.push([channel, message]));

    assert.equal(await admin.client('KILL', 'TYPE', 'pubsub'), 1);
    await waitUntil(async () => {
      const [, jobs] = await admin.pubsub('NUMSUB', 'jobs');
      const [, shard] = await admin.pubsub('SHARDNUMSUB', 'shard');
      const list = await admin.client('LIST');
      return jobs === 1 && shard === 1 && (list.match(/ sub=1 /g) || []).length === 1;
    }, { timeoutMs: 5000, what: 'node-redis to reconnect and resubscribe' });

    assert.equal(await admin.publish('jobs', 'j1'), 1);
    assert.equal(await admin.spublish('shard', 's1'), 1);
    await waitUntil(() => got.length === 2, { what: 'messages after resubscription' });
    assert.deepEqual(got, [['jobs', 'j1'], ['shard', 's1']]);
    await sub.close();
    admin.disconnect();
  });
}

run();
