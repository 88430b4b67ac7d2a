// SPDX-License-Identifier: BSD-3-Clause
// Scenario: per-user JSON notifications, written as an app would with ioredis
// (the same app as test_scenario_notifications.py). The app publishes JSON to
// `notifications:<user>` and logs the receiver count that PUBLISH returns;
// devices subscribe per user; a monitor subscribes to `notifications:*` and
// takes the user from the channel name. Runs in RESP2 and RESP3.

'use strict';

const assert = require('node:assert/strict');
const Redis = require('ioredis');
const { test, run, waitUntil } = require('./harness');

const PREFIX = 'notifications:';

// ---- application code -------------------------------------------------------

async function notify(redis, user, event) {
  return redis.publish(PREFIX + user, JSON.stringify(event));
}

class Device {
  constructor(options, user) {
    this.events = [];
    this.redis = new Redis(options);
    this.redis.on('message', (channel, message) => this.events.push(JSON.parse(message)));
    this.ready = this.redis.subscribe(PREFIX + user);
  }

  logout() {
    this.redis.disconnect();
  }
}

class Monitor {
  constructor(options) {
    this.seen = [];
    this.redis = new Redis(options);
    this.redis.on('pmessage', (pattern, channel, message) => {
      const user = channel.slice(channel.indexOf(':') + 1);
      this.seen.push([user, JSON.parse(message)]);
    });
    this.ready = this.redis.psubscribe(PREFIX + '*');
  }

  stop() {
    this.redis.disconnect();
  }
}

// ---- the scenario -----------------------------------------------------------

for (const protocol of [2, 3]) {
  test(`resp${protocol}_notifications_reach_devices_and_monitor`, async (ctx) => {
    const options = { host: ctx.host, port: ctx.port, protocol, retryStrategy: () => null };
    const app = new Redis(options);
    const monitor = new Monitor(options);
    const alicePhone = new Device(options, 'alice');
    const aliceLaptop = new Device(options, 'alice');
    const bob = new Device(options, 'bob');
    await Promise.all([monitor.ready, alicePhone.ready, aliceLaptop.ready, bob.ready]);

    const events = [
      ['alice', { kind: 'mention', by: 'bob', text: 'see the report \u2705' }],
      ['bob', { kind: 'like', post: 17 }],
      ['carol', { kind: 'invite', room: 'general' }],
      ['alice', { kind: 'reply', thread: [1, 2, 3] }],
    ];
    const receivers = [];
    for (const [user, event] of events) receivers.push(await notify(app, user, event));
    // Devices of the user plus the monitor; carol is offline, so only the monitor.
    assert.deepEqual(receivers, [3, 2, 1, 3]);

    await waitUntil(() => monitor.seen.length === 4 && alicePhone.events.length === 2 &&
      aliceLaptop.events.length === 2 && bob.events.length === 1, { what: 'all notifications delivered' });
    const forAlice = events.filter(([user]) => user === 'alice').map(([, e]) => e);
    assert.deepEqual(alicePhone.events, forAlice);
    assert.deepEqual(aliceLaptop.events, forAlice);
    assert.deepEqual(bob.events, [events[1][1]]);
    assert.deepEqual(monitor.seen, events);

    bob.logout();
    await waitUntil(async () => (await app.pubsub('NUMSUB', PREFIX + 'bob'))[1] === 0, { what: 'bob logged out' });
    assert.equal(await notify(app, 'bob', { kind: 'digest' }), 1);
    await waitUntil(() => monitor.seen.length === 5, { what: 'monitor to see the digest' });
    assert.deepEqual(monitor.seen[4], ['bob', { kind: 'digest' }]);

    alicePhone.logout();
    aliceLaptop.logout();
    monitor.stop();
    await waitUntil(async () => (await app.pubsub('NUMPAT')) === 0 && (await app.pubsub('CHANNELS')).length === 0,
      { what: 'all subscriptions gone' });
    app.disconnect();
  });
}

run();
