// SPDX-License-Identifier: BSD-3-Clause
// Subscription churn with ioredis: 40 connections subscribe and unsubscribe
// channels and patterns in a seeded random order while a publisher sends to
// the same channels. A steady subscriber must still receive every message in
// order, and once everyone has unsubscribed the server must report no
// channel and no pattern left.

'use strict';

const assert = require('node:assert/strict');
const Redis = require('ioredis');
const { test, run, waitUntil, collector } = require('./harness');

const CHURNERS = 40;
const ROUNDS = 40;
const MESSAGES = 2000;
const CHANNELS = Array.from({ length: 10 }, (_, i) => `churn:${i}`);
const PATTERNS = ['churn:*', 'churn:1*', 'churn:?', '*:5'];

// A small seeded generator (an LCG), so a failing run can be repeated.
function lcg(seed) {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
}

async function churn(connection, rounds, random) {
  for (let i = 0; i < rounds; i++) {
    switch (random(5)) {
      case 0: await connection.subscribe(CHANNELS[random(CHANNELS.length)], CHANNELS[random(CHANNELS.length)]); break;
      case 1: await connection.psubscribe(PATTERNS[random(PATTERNS.length)]); break;
      case 2: await connection.unsubscribe(CHANNELS[random(CHANNELS.length)]); break;
      case 3: await connection.punsubscribe(PATTERNS[random(PATTERNS.length)]); break;
      default: await connection.unsubscribe(); break;
    }
  }
}

for (const protocol of [2, 3]) {
  test(`resp${protocol}_churn_keeps_delivery_and_counts`, async (ctx) => {
    const options = { host: ctx.host, port: ctx.port, protocol, retryStrategy: () => null };
    const publisher = new Redis(options);
    const steady = new Redis(options);
    const received = collector(MESSAGES, { timeoutMs: 20000 });
    steady.on('message', (channel, message) => received.push(message));
    await steady.subscribe(...CHANNELS);

    const churners = Array.from({ length: CHURNERS }, () => new Redis(options));
    // Churners ignore what they receive: they only have to leave the server consistent.
    for (const c of churners) c.on('message', () => {}).on('pmessage', () => {});

    const publishing = (async () => {
      for (let i = 0; i < MESSAGES; i++) {
        const receivers = await publisher.publish(CHANNELS[i % CHANNELS.length], String(i));
        assert.ok(receivers >= 1, `PUBLISH ${i} reached ${receivers} clients, the steady subscriber missing`);
      }
    })();
    await Promise.all([publishing, ...churners.map((c, n) => churn(c, ROUNDS, lcg(n + 1)))]);

    const messages = await received.done;
    for (let i = 0; i < MESSAGES; i++) assert.equal(messages[i], String(i), `message ${i} out of order`);

    await Promise.all(churners.map(async (c) => {
      await c.unsubscribe();
      await c.punsubscribe();
    }));
    assert.equal(await publisher.pubsub('NUMPAT'), 0);
    assert.deepEqual((await publisher.pubsub('CHANNELS')).sort(), [...CHANNELS].sort());
    const numsub = await publisher.pubsub('NUMSUB', ...CHANNELS);
    for (let i = 0; i < CHANNELS.length; i++) assert.equal(numsub[2 * i + 1], 1, `${CHANNELS[i]} count`);

    for (const c of churners) c.disconnect();
    steady.disconnect();
    await waitUntil(async () => (await publisher.pubsub('CHANNELS')).length === 0,
      { what: 'channels gone after disconnect' });
    await waitUntil(async () => (await publisher.info('clients')).match(/connected_clients:(\d+)/)[1] === '1',
      { what: 'only the publisher left connected' });
    publisher.disconnect();
  }, { timeout: 40 });
}

run();
