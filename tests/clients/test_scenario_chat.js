// SPDX-License-Identifier: BSD-3-Clause
// Scenario: a chat room on `chat:<room>`, written as an app would with
// node-redis (the same app as test_scenario_chat.py). Members join (subscribe,
// then announce), talk and leave (unsubscribe, then announce). A room logger
// records the order the server gave the events, and every member must see
// exactly the slice of that log from its join to its leave, even while all
// members talk at once. Runs in RESP2 and RESP3.

'use strict';

const assert = require('node:assert/strict');
const { createClient } = require('redis');
const { test, run, waitUntil } = require('./harness');

// ---- application code -------------------------------------------------------

class ChatMember {
  constructor(options, room, user) {
    this.options = options;
    this.channel = `chat:${room}`;
    this.user = user;
    this.log = [];
    this.sequence = 0;
  }

  async connect() {
    this.publisher = createClient(this.options);
    this.publisher.on('error', (e) => process.stderr.write(`${this.user}: ${e.message}\n`));
    await this.publisher.connect();
    this.subscriber = this.publisher.duplicate();
    this.subscriber.on('error', (e) => process.stderr.write(`${this.user} subscriber: ${e.message}\n`));
    await this.subscriber.connect();
  }

  async join() {
    await this.connect();
    // subscribe() resolves once the server has confirmed the subscription.
    await this.subscriber.subscribe(this.channel, (message) => this.log.push(JSON.parse(message)));
    return this.send('join');
  }

  say(text) {
    return this.send('message', text);
  }

  async leave() {
    await this.subscriber.unsubscribe(this.channel);
    await this.send('leave');
    await this.subscriber.close();
    await this.publisher.close();
  }

  // Returns how many clients received the event.
  send(type, text) {
    this.sequence += 1;
    const event = { type, user: this.user, seq: this.sequence };
    if (text !== undefined) event.text = text;
    return this.publisher.publish(this.channel, JSON.stringify(event));
  }
}

// ---- the scenario -----------------------------------------------------------

async function chatter(member, count) {
  for (let i = 0; i < count; i++) await member.say(`${member.user} line ${i}`);
}

for (const RESP of [2, 3]) {
  test(`resp${RESP}_chat_room_members_see_same_order`, async (ctx) => {
    const options = { socket: { host: ctx.host, port: ctx.port, reconnectStrategy: false }, RESP };
    const room = 'lobby';
    const logger = new ChatMember(options, room, 'logger');
    await logger.connect();
    await logger.subscriber.subscribe(logger.channel, (message) => logger.log.push(JSON.parse(message)));

    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((u) => new ChatMember(options, room, u));
    for (const member of [alice, bob, carol]) await member.join();
    assert.equal(await alice.say('hi all'), 4); // three members and the logger
    await bob.say('hello alice');

    await Promise.all([chatter(alice, 30), chatter(bob, 30), chatter(carol, 30)]);

    await bob.leave();
    assert.equal(await carol.say('bob left'), 3);
    const dave = new ChatMember(options, room, 'dave');
    await dave.join();
    await dave.say('hi, I am new');
    await Promise.all([chatter(alice, 10), chatter(dave, 10)]);

    // 3 joins, 2 greetings, 90 lines, bob's leave, "bob left", dave's join and greeting, 20 lines.
    const total = 3 + 2 + 90 + 1 + 1 + 2 + 20;
    await waitUntil(() => logger.log.length >= total, { timeoutMs: 10000, what: `${total} events at the logger` });
    assert.equal(logger.log.length, total);
    const events = logger.log.map((e) => `${e.user}#${e.seq}`);

    for (const user of ['alice', 'bob', 'carol', 'dave']) {
      const seqs = logger.log.filter((e) => e.user === user).map((e) => e.seq);
      assert.deepEqual(seqs, seqs.map((_, i) => i + 1), `${user}'s events out of order`);
    }

    for (const member of [alice, carol, dave, bob]) {
      const start = events.indexOf(`${member.user}#1`);
      // bob unsubscribed before announcing his leave.
      const end = member === bob ? events.indexOf(`bob#${bob.sequence}`) : events.length;
      await waitUntil(() => member.log.length >= end - start, { what: `${member.user}'s events` });
      assert.deepEqual(member.log.map((e) => `${e.user}#${e.seq}`), events.slice(start, end),
        `${member.user} saw a different stream than the room log`);
    }

    for (const member of [alice, carol, dave]) await member.leave();
    await logger.subscriber.unsubscribe();
    assert.deepEqual({ ...(await logger.publisher.pubSubNumSub(logger.channel)) }, { [logger.channel]: 0 });
    await logger.subscriber.close();
    await logger.publisher.close();
  }, { timeout: 40 });
}

run();
