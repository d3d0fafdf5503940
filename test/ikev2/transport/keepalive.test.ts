import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { isGkmError } from '../../../src/ikev2/errors.ts';
import { NatKeepalives, type AddressPort } from '../../../src/ikev2/transport/index.ts';

const via: AddressPort = { address: '127.0.0.1', port: 4500 };
const peer: AddressPort = { address: '127.0.0.2', port: 4500 };
const other: AddressPort = { address: '127.0.0.3', port: 4500 };

/** Advance mocked time in 1 s steps (a single big tick would run each timer once only). */
function advance(t: TestContext, ms: number): void {
  for (let left = ms; left > 0; left -= 1000) t.mock.timers.tick(Math.min(1000, left));
}

function harness(): { k: NatKeepalives; sent: string[] } {
  const sent: string[] = [];
  const k = new NatKeepalives((remote, from) => sent.push(`${from.port}>${remote.address}:${remote.port}`));
  return { k, sent };
}

test('one keepalive per idle interval (default 20 s, RFC 3948 §4), until stopped', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const { k, sent } = harness();
  k.start(peer, via);
  t.mock.timers.tick(19_999);
  assert.equal(sent.length, 0);
  t.mock.timers.tick(1);
  assert.deepEqual(sent, ['4500>127.0.0.2:4500']);
  advance(t, 40_000);
  assert.equal(sent.length, 3);
  assert.equal(k.stop(peer, via), true);
  assert.equal(k.stop(peer, via), false);
  advance(t, 100_000);
  assert.equal(sent.length, 3);
  assert.equal(k.active, 0);
});

test('traffic on the path postpones the keepalive; traffic elsewhere does not', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const { k, sent } = harness();
  k.start(peer, via, 10);
  k.start(other, via, 10);
  t.mock.timers.tick(6_000);
  k.noteSent(via, peer); // e.g. an ESP packet at t = 6 s
  t.mock.timers.tick(4_000); // t = 10 s: only `other` was idle for 10 s
  assert.deepEqual(sent, ['4500>127.0.0.3:4500']);
  t.mock.timers.tick(6_000); // t = 16 s: peer idle since 6 s
  assert.deepEqual(sent, ['4500>127.0.0.3:4500', '4500>127.0.0.2:4500']);
  k.stopAll();
  assert.equal(k.active, 0);
});

test('restart replaces the interval; bad intervals are refused', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const { k, sent } = harness();
  k.start(peer, via, 30);
  k.start(peer, via, 5);
  assert.equal(k.active, 1);
  t.mock.timers.tick(5_000);
  assert.equal(sent.length, 1);
  advance(t, 25_000);
  assert.equal(sent.length, 6, 'only the 5 s timer runs');
  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 86_401]) {
    assert.throws(() => k.start(other, via, bad), (e) => isGkmError(e, 'GKM_TRANSPORT_CONFIG'), String(bad));
  }
  k.stopAll();
});

test('a failing send does not end the keepalives', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  let calls = 0;
  const k = new NatKeepalives(() => {
    calls++;
    if (calls === 1) throw new Error('boom');
  });
  k.start(peer, via, 1);
  assert.throws(() => t.mock.timers.tick(1_000), /boom/);
  t.mock.timers.tick(1_000);
  assert.equal(calls, 2);
  k.stopAll();
});
