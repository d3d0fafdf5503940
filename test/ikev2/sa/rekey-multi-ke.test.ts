/**
 * RFC 9370 in CREATE_CHILD_SA: hybrid X25519 + ML-KEM-768 for Child SA creation/rekey and for
 * IKE SA rekey through IKE_FOLLOWUP_KE; STATE_NOT_FOUND; plus INVALID_KE_PAYLOAD retry,
 * CHILD_SA_NOT_FOUND, NO_ADDITIONAL_SAS and scheduled rekeys by lifetimes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EncrId, ExchangeType, KeId, NotifyType, PayloadType } from '../../../src/ikev2/registry/index.ts';
import type { KePayload, NotifyPayload } from '../../../src/ikev2/wire/index.ts';
import { NotifyData } from '../../../src/ikev2/wire/payloads/index.ts';
import { child, esp, eventsOf, ike, mirror } from './support/harness.ts';
import { assertChildrenAgree, assertKeysMatch, establishedPair, liveSa, openPacket } from './support/rekey.ts';

const HYBRID_ESP = esp({ id: EncrId.AES_GCM_16, keyLength: 256 }, { ke: KeId.CURVE25519, addke: [KeId.ML_KEM_768] });
const HYBRID_IKE = ike({ id: EncrId.AES_GCM_16, keyLength: 256 }, KeId.CURVE25519, undefined, { addke: [KeId.ML_KEM_768] });

test('RFC 9370: hybrid X25519 + ML-KEM-768 Child SA rekey runs one IKE_FOLLOWUP_KE round; keys derived once, after it', async () => {
  const c = child({ proposals: [HYBRID_ESP] });
  const { world, i, r, isa, rsa } = await establishedPair({ initiator: { children: [c] }, responder: { children: [mirror(c)] } });
  const ro = rsa();
  const old = [...isa.children.values()][0]!;
  const log: { exchangeType: number; response: boolean; payloads: readonly unknown[] }[] = [];
  const headers: string[] = [];
  world.net.filter = (p) => {
    headers.push(`${p.datagram[18]}${p.datagram[19]! & 0x20 ? 'r' : ''}`);
    const o = openPacket(p, [isa, ro]); // KEi(1) (1184-octet ek) travels as SKF fragments and is not opened here
    if (o) log.push(o);
    return p;
  };
  const installsBefore = i.sink.installed.length;
  i.engine.rekeyChildSa(isa.id, old.inboundSpi.toString('hex'));
  await world.advance();
  assert.deepEqual([...new Set(headers)].slice(0, 4), ['36', '36r', '44', '44r']);
  const ccsRes = log[1]!.payloads as NotifyPayload[];
  assert.ok(ccsRes.some((p) => p.type === PayloadType.NOTIFY && p.notifyType === NotifyType.ADDITIONAL_KEY_EXCHANGE), 'N(ADDITIONAL_KEY_EXCHANGE) in the response');
  const followRes = log.find((o) => o.exchangeType === ExchangeType.IKE_FOLLOWUP_KE && o.response)!.payloads as KePayload[];
  assert.equal(followRes.length, 1, 'last round: KEr only, no further link');
  assert.equal(followRes[0]!.method, KeId.ML_KEM_768);
  assert.equal(followRes[0]!.data.length, 1088, 'ML-KEM-768 ciphertext');
  assert.equal(i.sink.installed.length, installsBefore + 1, 'installed once');
  const fresh = [...isa.children.values()][0]!;
  assert.deepEqual(fresh.keMethods, [KeId.CURVE25519, KeId.ML_KEM_768]);
  assertChildrenAgree(i, r);
  assertKeysMatch(i, r, fresh.inboundSpi.readUInt32BE());
  assert.deepEqual([...eventsOf(i, 'error'), ...eventsOf(r, 'error')], []);
});

test('RFC 9370: a new hybrid Child SA through CREATE_CHILD_SA + IKE_FOLLOWUP_KE', async () => {
  const c = child({ proposals: [HYBRID_ESP] });
  const { world, i, r, isa } = await establishedPair({ initiator: { children: [c] }, responder: { children: [mirror(c)] } });
  i.engine.createChildSa(isa.id, c);
  await world.advance();
  assert.equal(isa.children.size, 2);
  assertChildrenAgree(i, r);
  const fresh = [...isa.children.values()][1]!;
  assertKeysMatch(i, r, fresh.inboundSpi.readUInt32BE());
});

test('RFC 9370: hybrid IKE SA rekey ours-to-ours (IKE_INTERMEDIATE at setup, IKE_FOLLOWUP_KE at rekey)', async () => {
  const proposals = [HYBRID_IKE];
  const { world, i, r, isa } = await establishedPair({ initiator: { proposals }, responder: { proposals }, responderInit: { proposals } });
  assert.deepEqual(isa.requireCrypto().suite.additionalKes, [KeId.ML_KEM_768]);
  const exchanges: number[] = [];
  world.net.filter = (p) => (exchanges.push(p.datagram[18]!), p);
  i.engine.rekeyIkeSa(isa.id);
  await world.advance();
  assert.deepEqual(exchanges.slice(0, 4), [ExchangeType.CREATE_CHILD_SA, ExchangeType.CREATE_CHILD_SA, ExchangeType.IKE_FOLLOWUP_KE, ExchangeType.IKE_FOLLOWUP_KE]);
  const inew = liveSa(i);
  const rnew = liveSa(r);
  assert.notEqual(inew.id, isa.id);
  assert.deepEqual(inew.requireCrypto().suite.additionalKes, [KeId.ML_KEM_768]);
  assert.ok(inew.requireCrypto().keys.skD.equals(rnew.requireCrypto().keys.skD));
  assert.equal(isa.phase, 'closed');
  assertChildrenAgree(i, r);
  // The new SA works: a Child SA rekey over it.
  i.engine.rekeyChildSa(inew.id, [...inew.children.keys()][0]!);
  await world.advance();
  assertChildrenAgree(i, r);
  assert.deepEqual([...eventsOf(i, 'error'), ...eventsOf(r, 'error')], []);
});

test('RFC 9370: a lost IKE_FOLLOWUP_KE state is answered with STATE_NOT_FOUND; the initiator gives up cleanly', async () => {
  const c = child({ proposals: [HYBRID_ESP] });
  const { world, i, r, isa, rsa } = await establishedPair({ initiator: { children: [c] }, responder: { children: [mirror(c)] } });
  const ro = rsa();
  const old = [...isa.children.values()][0]!;
  // The responder loses its state (a restart) just before the IKE_FOLLOWUP_KE request arrives.
  const { rekeyStateOf } = await import('../../../src/ikev2/sa/rekey-state.ts');
  world.net.filter = (p) => {
    if (p.datagram[18] === ExchangeType.IKE_FOLLOWUP_KE && p.to.ip === r.ip) rekeyStateOf(ro).abortFollowups();
    return p;
  };
  i.engine.rekeyChildSa(isa.id, old.inboundSpi.toString('hex'));
  await world.advance();
  const err = eventsOf(i, 'error').find((e) => e.notify === NotifyType.STATE_NOT_FOUND);
  assert.ok(err, 'STATE_NOT_FOUND reported');
  assert.equal(isa.children.size, 1, 'the old Child SA stays');
  assert.equal(old.state, 'installed', 'and can be rekeyed again');
  assert.equal(ro.children.size, 1, 'the responder released the half-made SA');
  world.net.filter = undefined;
  i.engine.rekeyChildSa(isa.id, old.inboundSpi.toString('hex'));
  await world.advance();
  assertChildrenAgree(i, r);
});

test('INVALID_KE_PAYLOAD in CREATE_CHILD_SA: retried with the requested group in a new exchange', async () => {
  const ic = child({ proposals: [esp(undefined, { ke: [KeId.CURVE25519, KeId.ECP256] })] });
  const rc = mirror(child({ proposals: [esp(undefined, { ke: KeId.ECP256 })] }));
  const { world, i, r, isa, rsa } = await establishedPair({ initiator: { children: [ic] }, responder: { children: [rc] } });
  const ro = rsa();
  const kes: number[] = [];
  world.net.filter = (p) => {
    const o = openPacket(p, [isa, ro]);
    const ke = o?.payloads.find((x) => x.type === PayloadType.KE) as KePayload | undefined;
    if (o && !o.response && ke) kes.push(ke.method);
    return p;
  };
  i.engine.rekeyChildSa(isa.id, [...isa.children.keys()][0]!);
  await world.advance();
  assert.deepEqual(kes, [KeId.CURVE25519, KeId.ECP256]);
  assert.deepEqual([...isa.children.values()][0]!.keMethods, [KeId.ECP256]);
  assertChildrenAgree(i, r);
});

test('CHILD_SA_NOT_FOUND: the peer has no such Child SA; ours is dropped locally', async () => {
  const { world, i, isa, rsa } = await establishedPair();
  const ro = rsa();
  const rChild = [...ro.children.values()][0]!;
  // The responder silently lost the Child SA (e.g. the datapath expired it).
  ro.children.delete(rChild.inboundSpi.toString('hex'));
  i.engine.rekeyChildSa(isa.id, [...isa.children.keys()][0]!);
  await world.advance();
  assert.ok(eventsOf(i, 'error').some((e) => e.notify === NotifyType.CHILD_SA_NOT_FOUND));
  assert.equal(isa.children.size, 0);
  assert.equal(eventsOf(i, 'deleted').at(-1)?.reason, 'peer');
});

test('NO_ADDITIONAL_SAS above the responder\'s Child SA limit', async () => {
  const c = child();
  const { world, i, isa } = await establishedPair({ initiator: { children: [c] }, responderOptions: { maxChildSas: 1 } });
  i.engine.createChildSa(isa.id, c);
  await world.advance();
  assert.ok(eventsOf(i, 'error').some((e) => e.notify === NotifyType.NO_ADDITIONAL_SAS));
  assert.equal(isa.children.size, 1);
});

test('lifetimes: a Child SA is rekeyed at its soft lifetime and the new one gets fresh deadlines', async () => {
  const c = child({ lifetime: { lifetimeMs: 60_000, rekeyMarginMs: 10_000, jitterMs: 0 } });
  const { world, i, r, isa } = await establishedPair({ initiator: { children: [c] }, responder: { children: [mirror(c)], } });
  const first = [...isa.children.values()][0]!;
  await world.advance(49_000);
  assert.equal(eventsOf(i, 'rekeyed').length, 0);
  await world.advance(1_500);
  // Both sides schedule (jitter 0 on both): a collision is possible and resolved; one SA remains.
  assert.ok(eventsOf(i, 'rekeyed').length >= 1);
  assert.ok(!isa.children.has(first.inboundSpi.toString('hex')));
  assert.equal(isa.children.size, 1);
  assertChildrenAgree(i, r);
  await world.advance(50_000);
  assert.ok(eventsOf(i, 'rekeyed').length >= 2, 'rekeyed again 50 s later');
  assertChildrenAgree(i, r);
});

test('lifetimes: a Child SA whose rekey keeps failing is deleted at its hard lifetime', async () => {
  // Our rekey offer needs PFS the peer refuses (IKE_AUTH strips KE, so the first SA exists).
  const ic = child({ proposals: [esp(undefined, { ke: KeId.CURVE25519 })], lifetime: { lifetimeMs: 30_000, rekeyMarginMs: 10_000, jitterMs: 0 } });
  const { world, i, r, isa } = await establishedPair({ initiator: { children: [ic] }, responder: { children: [mirror(child())] } });
  await world.advance(20_500);
  assert.ok(eventsOf(i, 'error').some((e) => e.notify === NotifyType.NO_PROPOSAL_CHOSEN));
  assert.equal(isa.children.size, 1);
  await world.advance(10_000);
  assert.equal(isa.children.size, 0);
  assert.deepEqual(eventsOf(i, 'deleted').map((e) => e.reason), ['expired']);
  assert.equal(liveSa(r).children.size, 0);
});

test('lifetimes: the IKE SA is rekeyed at its soft lifetime; Child SAs follow', async () => {
  const l = { lifetimeMs: 100_000, rekeyMarginMs: 20_000, jitterMs: 0 };
  const { world, i, r, isa } = await establishedPair({ initiator: { ikeLifetime: l } });
  await world.advance(79_000);
  assert.equal(isa.phase, 'established');
  await world.advance(2_000);
  assert.equal(isa.phase, 'closed');
  const inew = liveSa(i);
  assert.equal(inew.children.size, 1);
  assertChildrenAgree(i, r);
  await world.advance(80_000);
  assert.equal(inew.phase, 'closed', 'the new SA has its own lifetime');
  assertChildrenAgree(i, r);
});
