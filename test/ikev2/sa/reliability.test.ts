import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExchangeType, PayloadType } from '../../../src/ikev2/registry/index.ts';
import { decodeMessage } from '../../../src/ikev2/wire/index.ts';
import { Id } from '../../../src/ikev2/sa/identity.ts';
import { ep, eventsOf, pair, type Packet } from './support/harness.ts';

const exchangeOf = (p: Packet) => decodeMessage(p.datagram).header.exchangeType;
const isResp = (p: Packet) => (decodeMessage(p.datagram).header.flags & 0x20) !== 0;

test('lost IKE_AUTH response: the initiator retransmits the same bytes, the responder answers from its cache', async () => {
  const { world, i, r, start } = pair();
  let dropped = 0;
  world.net.filter = (p) => (exchangeOf(p) === ExchangeType.IKE_AUTH && isResp(p) && dropped++ === 0 ? false : p);
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'keyed', 'waiting for the IKE_AUTH response');
  await world.advance(4000); // first retransmission after 4 s
  assert.equal(sa.phase, 'established');
  const requests = world.net.sent.filter((p) => exchangeOf(p) === ExchangeType.IKE_AUTH && !isResp(p));
  const responses = world.net.sent.filter((p) => exchangeOf(p) === ExchangeType.IKE_AUTH && isResp(p));
  assert.equal(requests.length, 2);
  assert.ok(requests[0]!.datagram.equals(requests[1]!.datagram), 'retransmission is byte-identical');
  assert.equal(responses.length, 2);
  assert.ok(responses[0]!.datagram.equals(responses[1]!.datagram), 'cached response, not reprocessed');
  assert.equal(eventsOf(r, 'ike_up').length, 1);
  assert.equal(r.sink.installed.length, 1, 'the Child SA is installed once');
  assert.equal(i.sink.installed.length, 1);
});

test('retransmission back-off 4 s x 1.8^n, 5 tries, then the SA is torn down (~165 s)', async () => {
  const { world, i, start } = pair();
  world.net.filter = (p) => (p.to.ip === i.ip ? false : p); // the responder is unreachable on the way back
  const sa = start();
  await world.advance();
  const times: number[] = [];
  const origin = world.clock.now();
  world.net.filter = (p) => {
    if (p.from.ip === i.ip) times.push(world.clock.now() - origin);
    return p.to.ip === i.ip ? false : p;
  };
  await world.advance(164_000);
  assert.equal(sa.phase, 'init-sent');
  await world.advance(2_000);
  assert.equal(sa.phase, 'closed');
  assert.deepEqual(times.map((t) => Math.round(t)), [4000, 11200, 24160, 47488, 89478]);
  assert.equal(eventsOf(i, 'error').at(-1)?.code, 'GKM_IKE_TIMEOUT');
  assert.deepEqual(eventsOf(i, 'deleted').map((e) => e.reason), ['timeout']);
});

test('duplicate IKE_SA_INIT request gets the cached response and creates no second SA', async () => {
  const { world, r, start } = pair();
  world.net.filter = (p) => {
    if (exchangeOf(p) === ExchangeType.IKE_SA_INIT && !isResp(p)) world.net.inject(p); // deliver twice
    world.net.filter = undefined;
    return p;
  };
  start();
  await world.advance();
  const initResponses = world.net.sent.filter((p) => exchangeOf(p) === ExchangeType.IKE_SA_INIT && isResp(p));
  assert.equal(initResponses.length, 2);
  assert.ok(initResponses[0]!.datagram.equals(initResponses[1]!.datagram));
  assert.equal(r.engine.list().length, 1);
});

test('liveness: a quiet SA is probed with an empty INFORMATIONAL, answered, and stays up', async () => {
  const { world, i, r, start } = pair({ options: { livenessIntervalMs: 30_000 } });
  const sa = start();
  await world.advance();
  const before = world.net.sent.length;
  await world.advance(31_000);
  const probes = world.net.sent.slice(before).filter((p) => exchangeOf(p) === ExchangeType.INFORMATIONAL);
  assert.ok(probes.length >= 2, 'request and response');
  assert.equal(sa.phase, 'established');
  assert.equal(r.engine.list()[0]?.phase, 'established');
  assert.equal(eventsOf(i, 'error').length, 0);
});

test('liveness: a dead peer is detected when the probe runs out of retransmissions', async () => {
  const { world, i, start } = pair({ options: { livenessIntervalMs: 30_000 } });
  const sa = start();
  await world.advance();
  world.net.filter = () => false; // the peer is gone
  await world.advance(30_000 + 166_000);
  assert.equal(sa.phase, 'closed');
  assert.equal(eventsOf(i, 'deleted').find((e) => e.what === 'ike')?.reason, 'timeout');
  assert.equal(i.sink.removed.length, 1, 'Child SAs go with it');
});

test('delete the IKE SA from the initiator: D(IKE), empty answer, both sides clean', async () => {
  const { world, i, r, start } = pair();
  const sa = start();
  await world.advance();
  i.engine.deleteIkeSa(sa.id);
  assert.equal(sa.phase, 'deleting');
  await world.advance();
  assert.equal(sa.phase, 'closed');
  assert.equal(r.engine.list().length, 0);
  assert.equal(i.sink.removed.length, 1);
  assert.equal(r.sink.removed.length, 1);
  assert.deepEqual(eventsOf(r, 'deleted').filter((e) => e.what === 'ike').map((e) => e.reason), ['peer']);
  const last = world.net.sent.at(-2)!;
  const inner = decodeMessage(last.datagram);
  assert.equal(inner.header.exchangeType, ExchangeType.INFORMATIONAL);
});

test('delete the IKE SA from the responder', async () => {
  const { world, i, r, start } = pair();
  const sa = start();
  await world.advance();
  r.engine.deleteIkeSa(sa.spiR.toString('hex'));
  await world.advance();
  assert.equal(sa.phase, 'closed');
  assert.equal(r.engine.list().length, 0);
  assert.deepEqual(eventsOf(i, 'deleted').filter((e) => e.what === 'ike').map((e) => e.reason), ['peer']);
});

for (const side of ['initiator', 'responder'] as const) {
  test(`delete a Child SA from the ${side}: D(ESP, own inbound SPI) answered with the peer's`, async () => {
    const { world, i, r, start } = pair();
    const sa = start();
    await world.advance();
    const [by, peer] = side === 'initiator' ? [i, r] : [r, i];
    const saId = side === 'initiator' ? sa.id : sa.spiR.toString('hex');
    const inbound = by.sink.installed[0]!.inbound.spi.toString(16).padStart(8, '0');
    by.engine.deleteChildSa(saId, inbound);
    await world.advance();
    assert.equal(by.sink.removed.length, 1);
    assert.equal(peer.sink.removed.length, 1);
    assert.equal(peer.sink.removed[0]!.outboundSpi, parseInt(inbound, 16));
    assert.equal(eventsOf(peer, 'deleted')[0]?.what, 'child');
    assert.equal(sa.phase, 'established', 'the IKE SA stays');
    assert.equal(by.engine.list()[0]?.children.size, 0);
  });
}

test('simultaneous Child SA delete: each response leaves the SA out, both sides end clean', async () => {
  const { world, i, r, start } = pair();
  const sa = start();
  await world.advance();
  i.engine.deleteChildSa(sa.id, i.sink.installed[0]!.inbound.spi.toString(16).padStart(8, '0'));
  r.engine.deleteChildSa(sa.spiR.toString('hex'), r.sink.installed[0]!.inbound.spi.toString(16).padStart(8, '0'));
  await world.advance();
  assert.equal(i.sink.removed.length, 1);
  assert.equal(r.sink.removed.length, 1);
  const infos = world.net.sent.filter((p) => exchangeOf(p) === ExchangeType.INFORMATIONAL).length;
  assert.equal(infos, 4);
  assert.equal(eventsOf(i, 'error').length + eventsOf(r, 'error').length, 0);
});

test('INITIAL_CONTACT makes the responder drop older SAs of the same identity', async () => {
  const { world, i, r, start, config } = pair();
  const first = start();
  await world.advance();
  const second = i.engine.initiate({ ...config }, ep(r.ip), ep(i.ip));
  await world.advance();
  assert.equal(second.phase, 'established');
  assert.equal(r.engine.list().length, 1);
  assert.ok(eventsOf(r, 'deleted').some((e) => e.what === 'ike' && e.reason === 'initial-contact'));
  assert.equal(first.phase, 'established', 'the initiator only learns on its next exchange');
  void Id;
});

test('IKE fragmentation (RFC 7383): large IKE_AUTH split into SKF, reassembled; lost fragment retransmitted with all others', async () => {
  const { world, i, r, start } = pair({ options: { fragmentSize: 200 } });
  let dropOnce = true;
  world.net.filter = (p) => {
    const m = decodeMessage(p.datagram);
    const last = m.payloads.at(-1);
    if (dropOnce && last?.type === PayloadType.SKF && last.fragmentNumber === 2 && !isResp(p)) {
      dropOnce = false;
      return false;
    }
    return p;
  };
  const sa = start();
  await world.advance();
  const fragments = world.net.sent.filter((p) => decodeMessage(p.datagram).payloads.at(-1)?.type === PayloadType.SKF);
  assert.ok(fragments.length >= 2);
  assert.ok(fragments.every((p) => p.datagram.length <= 200));
  assert.equal(sa.phase, 'keyed', 'incomplete request: nothing processed');
  await world.advance(4000);
  assert.equal(sa.phase, 'established');
  assert.equal(eventsOf(r, 'ike_up').length, 1);
  assert.equal(i.sink.installed.length, 1);
});

test('no fragmentation when the peer did not announce it', async () => {
  const { world, start } = pair({ options: { fragmentSize: 200 }, responderInit: { fragmentation: false } });
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'established');
  assert.ok(world.net.sent.every((p) => decodeMessage(p.datagram).payloads.at(-1)?.type !== PayloadType.SKF));
});

test('half-open responder SAs are counted and expire each 30 s after its IKE_SA_INIT, one sweep for all', async () => {
  const { world, r, start } = pair();
  world.net.filter = (p) => (exchangeOf(p) === ExchangeType.IKE_AUTH ? false : p); // never authenticated
  start();
  await world.advance(10_000);
  start();
  await world.advance();
  assert.equal(r.engine.halfOpenCount, 2);
  await world.advance(20_001); // t = 30 s: the first one's time is up
  assert.equal(r.engine.halfOpenCount, 1);
  assert.equal(r.engine.list().length, 1);
  await world.advance(10_000);
  assert.equal(r.engine.halfOpenCount, 0);
  assert.deepEqual(eventsOf(r, 'deleted').map((e) => e.reason), ['half-open-timeout', 'half-open-timeout']);
});

test('an established SA is no longer half-open; INITIAL_CONTACT keeps SAs of other identities', async () => {
  const { world, i, r, start, config } = pair({ responder: { remoteId: undefined } });
  start();
  await world.advance();
  assert.equal(r.engine.halfOpenCount, 0);
  const other = i.engine.initiate({ ...config, localId: Id.fqdn('other.example') }, ep(r.ip), ep(i.ip));
  await world.advance();
  assert.equal(other.phase, 'established');
  assert.equal(r.engine.list().length, 2, 'another identity: not purged');
  assert.equal(eventsOf(r, 'deleted').length, 0);
});
