/**
 * Simultaneous rekeys (RFC 7296 §2.8.1, §2.25): both peers rekey the same Child SA or the IKE
 * SA at once; the exchange holding the lowest of the four nonces is redundant and its
 * initiator deletes what it created, the other initiator deletes the old SA. Both nonce
 * orders end with exactly one SA. A rekey of an SA being deleted gets TEMPORARY_FAILURE.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ourRekeyWins } from '../../../src/ikev2/sa/rekey-state.ts';
import { ExchangeType } from '../../../src/ikev2/registry/index.ts';
import { eventsOf, type Packet } from './support/harness.ts';
import { assertChildrenAgree, establishedPair, liveSa, openPacket } from './support/rekey.ts';

const nonce = (first: number): Buffer => Buffer.alloc(32, first);

test('collision rule: lowest of the four nonces loses; memcmp over the shorter length', () => {
  assert.equal(ourRekeyWins({ ni: nonce(0x50), nr: nonce(0x60) }, { ni: nonce(0x10), nr: nonce(0x70) }), true);
  assert.equal(ourRekeyWins({ ni: nonce(0x50), nr: nonce(0x05) }, { ni: nonce(0x10), nr: nonce(0x70) }), false);
  // 16 vs 32 octets: only the first 16 are compared (strongSwan); equal prefixes do not win.
  assert.equal(ourRekeyWins({ ni: Buffer.alloc(16, 0x20), nr: nonce(0x90) }, { ni: Buffer.concat([Buffer.alloc(16, 0x20), Buffer.alloc(16, 0)]), nr: nonce(0x90) }), false);
});

for (const initiatorLoses of [true, false]) {
  test(`simultaneous Child SA rekey, ${initiatorLoses ? "the initiator's" : "the responder's"} exchange holds the lowest nonce: exactly one Child SA remains`, async () => {
    const { world, i, r, isa, rsa, iRandom, rRandom } = await establishedPair();
    const ro = rsa();
    const iOld = [...isa.children.values()][0]!;
    const rOld = [...ro.children.values()][0]!;
    // i draws Ni(EA) then Nr(EB); r draws Ni(EB) then Nr(EA).
    const low = nonce(0x01);
    iRandom.forced.push(initiatorLoses ? low : nonce(0x80), nonce(0x90));
    rRandom.forced.push(initiatorLoses ? nonce(0x80) : low, nonce(0xa0));
    i.engine.rekeyChildSa(isa.id, iOld.inboundSpi.toString('hex'));
    r.engine.rekeyChildSa(ro.id, rOld.inboundSpi.toString('hex'));
    await world.advance();
    assert.equal(isa.children.size, 1);
    assert.equal(ro.children.size, 1);
    assertChildrenAgree(i, r);
    const survivor = [...isa.children.values()][0]!;
    assert.ok(!survivor.inboundSpi.equals(iOld.inboundSpi));
    // The survivor was created by the winner's exchange: its initiator allocated the SPI in its offer.
    const [winner, winnerSa] = initiatorLoses ? [r, ro] : [i, isa];
    const winnerChild = [...winnerSa.children.values()][0]!;
    const winnerRekeyed = eventsOf(winner, 'rekeyed');
    assert.equal(winnerRekeyed.length, 1);
    assert.equal(winnerRekeyed[0]!.new, winnerChild.inboundSpi.toString('hex'));
    assert.equal(eventsOf(i, 'rekeyed').length, 1, 'one rekeyed event per side');
    assert.equal(eventsOf(r, 'rekeyed').length, 1);
    // Each side's sink: 3 installed (old, ours, theirs), 2 removed; nothing left half-open.
    assert.equal(i.sink.installed.length, 3);
    assert.equal(i.sink.removed.length, 2);
    assert.equal(r.sink.removed.length, 2);
    assert.deepEqual([...eventsOf(i, 'error'), ...eventsOf(r, 'error')], []);
    // Still usable: rekey the survivor.
    i.engine.rekeyChildSa(isa.id, survivor.inboundSpi.toString('hex'));
    await world.advance();
    assertChildrenAgree(i, r);
  });

  test(`simultaneous IKE SA rekey, ${initiatorLoses ? "the initiator's" : "the responder's"} exchange holds the lowest nonce: exactly one IKE SA remains with the Child SAs`, async () => {
    const { world, i, r, isa, rsa, iRandom, rRandom } = await establishedPair();
    const ro = rsa();
    const low = nonce(0x01);
    iRandom.forced.push(initiatorLoses ? low : nonce(0x80), nonce(0x90));
    rRandom.forced.push(initiatorLoses ? nonce(0x80) : low, nonce(0xa0));
    i.engine.rekeyIkeSa(isa.id);
    r.engine.rekeyIkeSa(ro.id);
    await world.advance();
    assert.equal(i.engine.list().length, 1, 'one IKE SA at the initiator');
    assert.equal(r.engine.list().length, 1, 'one IKE SA at the responder');
    const inew = liveSa(i);
    const rnew = liveSa(r);
    assert.ok(inew.spiI.equals(rnew.spiI) && inew.spiR.equals(rnew.spiR));
    // The survivor is the SA of the winning exchange: its initiator is the new SA's original initiator.
    assert.equal(inew.role, initiatorLoses ? 'responder' : 'initiator');
    assert.equal(inew.children.size, 1);
    assertChildrenAgree(i, r);
    assert.equal(i.sink.removed.length, 0, 'Child SAs were moved, never removed');
    assert.equal(r.sink.removed.length, 0);
    assert.equal(eventsOf(i, 'rekeyed').length, 1);
    assert.equal(eventsOf(r, 'rekeyed').length, 1);
    assert.deepEqual([...eventsOf(i, 'error'), ...eventsOf(r, 'error')], []);
    // The survivor works: a Child SA rekey over it.
    i.engine.rekeyChildSa(inew.id, [...inew.children.keys()][0]!);
    await world.advance();
    assertChildrenAgree(i, r);
  });
}

test('a Child SA rekey arriving while that Child SA is being deleted gets TEMPORARY_FAILURE', async () => {
  const { world, i, r, isa, rsa } = await establishedPair();
  const ro = rsa();
  const iChild = [...isa.children.values()][0]!;
  const rChild = [...ro.children.values()][0]!;
  i.engine.deleteChildSa(isa.id, iChild.inboundSpi.toString('hex'));
  r.engine.rekeyChildSa(ro.id, rChild.inboundSpi.toString('hex'));
  await world.advance(10_000);
  assert.ok(eventsOf(i, 'error').some((e) => e.notify === 43), 'TEMPORARY_FAILURE answered');
  assert.equal(isa.children.size, 0);
  assert.equal(ro.children.size, 0);
  assert.equal(eventsOf(r, 'rekeyed').length, 0);
  assert.equal(isa.phase, 'established');
});

test('a colliding rekey request that arrives after our own rekey completed gets TEMPORARY_FAILURE; one SA remains', async () => {
  const { world, i, r, isa, rsa } = await establishedPair();
  const ro = rsa();
  const iChild = [...isa.children.values()][0]!;
  const rChild = [...ro.children.values()][0]!;
  let held: Packet | undefined;
  world.net.filter = (p) => {
    const o = openPacket(p, [isa, ro]);
    if (!held && p.from.ip === r.ip && o?.exchangeType === ExchangeType.CREATE_CHILD_SA && !o.response) {
      held = p; // r's request is late: it reaches i only after i's own rekey completed
      return false;
    }
    if (held && p.from.ip === i.ip && o?.exchangeType === ExchangeType.INFORMATIONAL && !o.response) {
      world.net.inject(held); // ... while i is deleting the old Child SA
      world.net.filter = undefined;
    }
    return p;
  };
  i.engine.rekeyChildSa(isa.id, iChild.inboundSpi.toString('hex'));
  r.engine.rekeyChildSa(ro.id, rChild.inboundSpi.toString('hex'));
  await world.advance(10_000);
  assert.ok(eventsOf(i, 'error').some((e) => e.notify === 43), 'TEMPORARY_FAILURE answered');
  assert.equal(isa.children.size, 1);
  assertChildrenAgree(i, r);
  assert.equal(eventsOf(i, 'rekeyed').length, 1);
  assert.equal(eventsOf(r, 'rekeyed').length, 1);
});
