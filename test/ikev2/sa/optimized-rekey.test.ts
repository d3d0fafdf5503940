/**
 * Optimized rekey (draft-ietf-ipsecme-ikev2-sa-ts-payloads-opt; digest §D), ours to ours:
 * negotiation in IKE_AUTH (on / off / one-sided / per peer), Child SA rekeys with and
 * without PFS and the IKE SA rekey without SA/TS payloads, byte-checked against the digest
 * layouts (OPTIMIZED_REKEY: Protocol 0, SPI size 0, data = new SPI); the first rekey of the
 * IKE_AUTH Child SA is regular; fallback to a regular rekey after NO_PROPOSAL_CHOSEN;
 * collisions; hybrid X25519 + ML-KEM-768 through IKE_FOLLOWUP_KE; configurable notify types.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isGkmError } from '../../../src/ikev2/errors.ts';
import { EncrId, ExchangeType, KeId, NotifyType, PayloadType, ProtocolId } from '../../../src/ikev2/registry/index.ts';
import type { DeletePayload, KePayload, NoncePayload, NotifyPayload, Payload } from '../../../src/ikev2/wire/index.ts';
import { IkeEngine } from '../../../src/ikev2/sa/engine.ts';
import type { ChildSa } from '../../../src/ikev2/sa/child-sa.ts';
import type { ChildConfig, EngineOptions, PeerConfig } from '../../../src/ikev2/sa/config.ts';
import type { IkeSa } from '../../../src/ikev2/sa/ike-sa.ts';
import { child, esp, eventsOf, ike, mirror, type Packet } from './support/harness.ts';
import { assertChildrenAgree, assertKeysMatch, establishedPair, liveSa, openPacket, payloadTypes, type RekeyPair } from './support/rekey.ts';

const SUPPORTED = NotifyType.OPTIMIZED_REKEY_SUPPORTED; // 50400
const OPT = NotifyType.OPTIMIZED_REKEY; // 50401
const N = (t: number): string => `N(${t})`;
const ON: Partial<EngineOptions> = { optimizedRekey: true };
const HYBRID_ESP = esp({ id: EncrId.AES_GCM_16, keyLength: 256 }, { ke: KeId.CURVE25519, addke: [KeId.ML_KEM_768] });
const HYBRID_IKE = ike({ id: EncrId.AES_GCM_16, keyLength: 256 }, KeId.CURVE25519, undefined, { addke: [KeId.ML_KEM_768] });

// --- wire layouts (RFC 7296 §3.2, §3.4, §3.9, §3.10) ---------------------------------------

const u16 = (n: number): Buffer => Buffer.of(n >> 8, n & 0xff);
const generic = (next: number, body: Buffer): Buffer => Buffer.concat([Buffer.of(next, 0), u16(4 + body.length), body]);
const notifyBytes = (next: number, type: number, data: Buffer, protocolId = 0, spi: Buffer = Buffer.alloc(0)): Buffer => generic(next, Buffer.concat([Buffer.of(protocolId, spi.length), u16(type), spi, data]));
const nonceBytes = (next: number, nonce: Buffer): Buffer => generic(next, nonce);
const keBytes = (next: number, method: number, data: Buffer): Buffer => generic(next, Buffer.concat([u16(method), u16(0), data]));

const notifyOf = (payloads: readonly Payload[], type: number): NotifyPayload | undefined =>
  payloads.find((p): p is NotifyPayload => p.type === PayloadType.NOTIFY && p.notifyType === type);
const nonceOf = (payloads: readonly Payload[]): Buffer => (payloads.find((p) => p.type === PayloadType.NONCE) as NoncePayload).nonce;
const keOf = (payloads: readonly Payload[]): KePayload | undefined => payloads.find((p): p is KePayload => p.type === PayloadType.KE);

type Opened = NonNullable<ReturnType<typeof openPacket>>;

/** Records every packet from now on, opened with the SAs both peers hold at the time. */
function recorder(pair: RekeyPair): { log: Opened[]; exchanges: string[] } {
  const log: Opened[] = [];
  const exchanges: string[] = [];
  pair.world.net.filter = (p: Packet) => {
    exchanges.push(`${p.datagram[18]}${p.datagram[19]! & 0x20 ? 'r' : ''}`);
    const o = openPacket(p, [...pair.i.engine.list(), ...pair.r.engine.list()]);
    if (o) log.push(o);
    return p;
  };
  return { log, exchanges };
}

const ccsa = (log: readonly Opened[]): Opened[] => log.filter((o) => o.exchangeType === ExchangeType.CREATE_CHILD_SA);

/** A second Child SA, created through CREATE_CHILD_SA (so its KE methods were negotiated). */
async function secondChild(pair: RekeyPair, c: ChildConfig): Promise<ChildSa> {
  const before = new Set(pair.isa.children.keys());
  pair.i.engine.createChildSa(pair.isa.id, c);
  await pair.world.advance();
  const made = [...pair.isa.children.entries()].find(([k]) => !before.has(k));
  assert.ok(made, 'second Child SA created');
  return made[1];
}

const peerOf = (sa: IkeSa, c: ChildSa): ChildSa => [...sa.children.values()].find((x) => x.outboundSpi.equals(c.inboundSpi))!;

function pairWith(c: ChildConfig, extra: { initiator?: Partial<PeerConfig>; responder?: Partial<PeerConfig>; options?: Partial<EngineOptions>; responderOptions?: Partial<EngineOptions> } = {}) {
  return establishedPair({ initiator: { children: [c], ...extra.initiator }, responder: { children: [mirror(c)], ...extra.responder }, options: { ...ON, ...extra.options }, ...(extra.responderOptions ? { responderOptions: extra.responderOptions } : {}) });
}

// --- negotiation -----------------------------------------------------------------------------

for (const [iOn, rOn] of [[true, true], [true, false], [false, true], [false, false]] as const) {
  test(`negotiation: initiator ${iOn ? 'on' : 'off'}, responder ${rOn ? 'on' : 'off'}`, async () => {
    const pair = await establishedPair({ options: { optimizedRekey: iOn }, responderOptions: { optimizedRekey: rOn } });
    const rsa = pair.rsa();
    const auth = pair.world.net.sent.map((p) => openPacket(p, [pair.isa, rsa])).filter((o) => o?.exchangeType === ExchangeType.IKE_AUTH) as Opened[];
    const [req, res] = auth;
    assert.equal(notifyOf(req!.payloads, SUPPORTED) !== undefined, iOn, 'in the IKE_AUTH request when enabled');
    assert.equal(notifyOf(res!.payloads, SUPPORTED) !== undefined, iOn && rOn, 'in the response only when both');
    for (const o of auth.filter((x) => notifyOf(x.payloads, SUPPORTED))) {
      // Protocol 0, SPI size 0, no data; last payload of the message.
      assert.ok(o.innerBytes!.subarray(-8).equals(notifyBytes(0, SUPPORTED, Buffer.alloc(0))));
    }
    assert.equal(pair.isa.extensions.optimizedRekey, iOn && rOn);
    assert.equal(rsa.extensions.optimizedRekey, iOn && rOn);
    // Whatever was negotiated, rekeys work (regular ones when not negotiated).
    const c = [...pair.isa.children.values()][0]!;
    pair.i.engine.rekeyChildSa(pair.isa.id, c.inboundSpi.toString('hex'));
    await pair.world.advance();
    const fresh = [...pair.isa.children.values()][0]!;
    pair.i.engine.rekeyChildSa(pair.isa.id, fresh.inboundSpi.toString('hex'));
    const { log } = recorder(pair);
    await pair.world.advance();
    assert.equal(payloadTypes(ccsa(log)[0]!.payloads).includes(PayloadType.SA), !(iOn && rOn), 'second rekey optimized only when negotiated');
    assertChildrenAgree(pair.i, pair.r);
  });
}

test('negotiation: PeerConfig.optimizedRekey overrides the engine default on each side', async () => {
  const pair = await establishedPair({ initiator: { optimizedRekey: true }, responder: { optimizedRekey: true } });
  assert.equal(pair.isa.extensions.optimizedRekey, true);
  assert.equal(pair.rsa().extensions.optimizedRekey, true);
  const off = await establishedPair({ options: ON, responder: { optimizedRekey: false } });
  assert.equal(off.isa.extensions.optimizedRekey, false);
});

// --- Child SA rekeys -------------------------------------------------------------------------

test('Child SA: the IKE_AUTH Child SA is rekeyed regularly first, then optimized {N(REKEY_SA), N(OPTIMIZED_REKEY), Ni} --> {N(OPTIMIZED_REKEY), Nr}', async () => {
  const pair = await pairWith(child());
  const { world, i, r, isa } = pair;
  const rsa = pair.rsa();
  const first = [...isa.children.values()][0]!;
  assert.equal(first.initial, true);
  const { log } = recorder(pair);
  i.engine.rekeyChildSa(isa.id, first.inboundSpi.toString('hex'));
  await world.advance();
  assert.deepEqual(payloadTypes(ccsa(log)[0]!.payloads), [N(NotifyType.REKEY_SA), PayloadType.SA, PayloadType.NONCE, PayloadType.TSi, PayloadType.TSr], 'first rekey: regular');
  const second = [...isa.children.values()][0]!;
  assert.ok(!second.initial);
  log.length = 0;
  i.engine.rekeyChildSa(isa.id, second.inboundSpi.toString('hex'));
  await world.advance();
  const [req, res] = ccsa(log);
  const fresh = [...isa.children.values()][0]!;
  assert.ok(!fresh.inboundSpi.equals(second.inboundSpi));
  // Request: N(REKEY_SA; ESP, SPI size 4, old inbound SPI), N(OPTIMIZED_REKEY; 0, 0, new SPIi), Ni.
  const ni = nonceOf(req!.payloads);
  const expectedReq = Buffer.concat([
    notifyBytes(PayloadType.NOTIFY, NotifyType.REKEY_SA, Buffer.alloc(0), ProtocolId.ESP, second.inboundSpi),
    notifyBytes(PayloadType.NONCE, OPT, fresh.inboundSpi),
    nonceBytes(0, ni),
  ]);
  assert.equal(req!.innerBytes!.toString('hex'), expectedReq.toString('hex'));
  // Response: N(OPTIMIZED_REKEY; 0, 0, new SPIr), Nr; no SA, no TS.
  const expectedRes = Buffer.concat([notifyBytes(PayloadType.NONCE, OPT, fresh.outboundSpi), nonceBytes(0, nonceOf(res!.payloads))]);
  assert.equal(res!.innerBytes!.toString('hex'), expectedRes.toString('hex'));
  // Everything but SPIs and keys inherited.
  assert.deepEqual([fresh.name, fresh.mode, fresh.suite, fresh.keMethods, fresh.localTs, fresh.remoteTs], [second.name, second.mode, second.suite, second.keMethods, second.localTs, second.remoteTs]);
  assertChildrenAgree(i, r);
  assertKeysMatch(i, r, fresh.inboundSpi.readUInt32BE());
  const rFresh = peerOf(rsa, fresh);
  assert.deepEqual([rFresh.suite, rFresh.localTs, rFresh.mode], [peerOf(rsa, fresh).suite, second.remoteTs, second.mode]);
  // The old pair is deleted as after any rekey.
  const del = log.find((o) => o.exchangeType === ExchangeType.INFORMATIONAL && !o.response)!;
  assert.deepEqual((del.payloads[0] as DeletePayload).spis, [second.inboundSpi]);
  assert.equal(eventsOf(i, 'rekeyed').length, 2);
  assert.deepEqual([...eventsOf(i, 'error'), ...eventsOf(r, 'error')], []);
});

test('Child SA with PFS: optimized rekey carries KEi/KEr of the same method; no KE without PFS', async () => {
  // KE optional (NONE) on both sides: one SA with PFS, one without, under the same configuration.
  const pfs = child({ proposals: [esp(undefined, { ke: [KeId.ECP256, KeId.CURVE25519, KeId.NONE] })] });
  const pair = await pairWith(pfs);
  const { world, i, r, isa } = pair;
  const withPfs = await secondChild(pair, pfs);
  assert.deepEqual(withPfs.keMethods, [KeId.ECP256]);
  const { log } = recorder(pair);
  i.engine.rekeyChildSa(isa.id, withPfs.inboundSpi.toString('hex'));
  await world.advance();
  const [req, res] = ccsa(log);
  assert.deepEqual(payloadTypes(req!.payloads), [N(NotifyType.REKEY_SA), N(OPT), PayloadType.NONCE, PayloadType.KE]);
  assert.deepEqual(payloadTypes(res!.payloads), [N(OPT), PayloadType.NONCE, PayloadType.KE]);
  const kei = keOf(req!.payloads)!;
  const ker = keOf(res!.payloads)!;
  assert.deepEqual([kei.method, ker.method], [KeId.ECP256, KeId.ECP256], 'the SA\'s method, not the first configured');
  const fresh = [...isa.children.values()].at(-1)!;
  const expectedReq = Buffer.concat([
    notifyBytes(PayloadType.NOTIFY, NotifyType.REKEY_SA, Buffer.alloc(0), ProtocolId.ESP, withPfs.inboundSpi),
    notifyBytes(PayloadType.NONCE, OPT, fresh.inboundSpi),
    nonceBytes(PayloadType.KE, nonceOf(req!.payloads)),
    keBytes(0, KeId.ECP256, kei.data),
  ]);
  assert.equal(req!.innerBytes!.toString('hex'), expectedReq.toString('hex'));
  assert.equal(res!.innerBytes!.toString('hex'), Buffer.concat([notifyBytes(PayloadType.NONCE, OPT, fresh.outboundSpi), nonceBytes(PayloadType.KE, nonceOf(res!.payloads)), keBytes(0, KeId.ECP256, ker.data)]).toString('hex'));
  assert.deepEqual(fresh.keMethods, [KeId.ECP256]);
  assertKeysMatch(i, r, fresh.inboundSpi.readUInt32BE());
  assertChildrenAgree(i, r);
  // And the same without PFS: no KE payload at all.
  const noPfs = await secondChild(pair, { ...pfs, proposals: [esp()] });
  assert.deepEqual(noPfs.keMethods, []);
  log.length = 0;
  i.engine.rekeyChildSa(isa.id, noPfs.inboundSpi.toString('hex'));
  await world.advance();
  assert.deepEqual(payloadTypes(ccsa(log)[0]!.payloads), [N(NotifyType.REKEY_SA), N(OPT), PayloadType.NONCE]);
  assert.deepEqual(payloadTypes(ccsa(log)[1]!.payloads), [N(OPT), PayloadType.NONCE]);
  assertChildrenAgree(i, r);
  assert.deepEqual([...eventsOf(i, 'error'), ...eventsOf(r, 'error')], []);
});

test('Child SA in transport mode: the optimized rekey sends no USE_TRANSPORT_MODE and keeps the mode', async () => {
  const c = child({ mode: 'transport' });
  const pair = await pairWith(c);
  const second = await secondChild(pair, c);
  assert.equal(second.mode, 'transport');
  const { log } = recorder(pair);
  pair.i.engine.rekeyChildSa(pair.isa.id, second.inboundSpi.toString('hex'));
  await pair.world.advance();
  for (const o of ccsa(log)) {
    for (const t of [NotifyType.USE_TRANSPORT_MODE, NotifyType.ESP_TFC_PADDING_NOT_SUPPORTED, NotifyType.USE_AGGFRAG, NotifyType.SA_RESOURCE_INFO]) assert.equal(notifyOf(o.payloads, t), undefined);
    assert.ok(notifyOf(o.payloads, OPT));
  }
  const fresh = [...pair.isa.children.values()].at(-1)!;
  assert.equal(fresh.mode, 'transport');
  assert.equal(peerOf(pair.rsa(), fresh).mode, 'transport');
  assertChildrenAgree(pair.i, pair.r);
});

test('Child SA: a per-resource SA keeps its resource id through an optimized rekey', async () => {
  const c = child({ perResource: 1 });
  const pair = await pairWith(c);
  const bound = [...pair.isa.children.values()].find((x) => x.resourceId?.length)!;
  const { log } = recorder(pair);
  pair.i.engine.rekeyChildSa(pair.isa.id, bound.inboundSpi.toString('hex'));
  await pair.world.advance();
  assert.equal(notifyOf(ccsa(log)[0]!.payloads, NotifyType.SA_RESOURCE_INFO), undefined);
  assert.ok(notifyOf(ccsa(log)[0]!.payloads, OPT));
  const fresh = [...pair.isa.children.values()].find((x) => x.resourceId?.length)!;
  assert.ok(!fresh.inboundSpi.equals(bound.inboundSpi));
  assert.equal(fresh.resourceId!.toString('hex'), '00000000');
  assert.equal(pair.i.sink.installed.at(-1)!.resourceId!.toString('hex'), '00000000');
  assertChildrenAgree(pair.i, pair.r);
});

// --- fallback ------------------------------------------------------------------------------

test('fallback: NO_PROPOSAL_CHOSEN to an optimized rekey is followed by a regular rekey that succeeds', async () => {
  const both = [esp({ id: EncrId.AES_GCM_16, keyLength: 128 }), esp({ id: EncrId.AES_GCM_16, keyLength: 256 })];
  const c = child({ proposals: both });
  const pair = await pairWith(c);
  const { world, i, r, isa } = pair;
  const rsa = pair.rsa();
  const second = await secondChild(pair, c);
  assert.equal(second.suite.keyLengthBits, 128);
  // The responder's configuration changed: AES-GCM-128 is no longer allowed, so the SA's
  // parameters cannot be inherited (draft §3) but a regular rekey can pick AES-GCM-256.
  rsa.config = { ...rsa.config!, children: [mirror(child({ proposals: [both[1]!] }))] };
  const { log } = recorder(pair);
  i.engine.rekeyChildSa(isa.id, second.inboundSpi.toString('hex'));
  await world.advance();
  const [optReq, refusal, regReq, regRes] = ccsa(log);
  assert.ok(notifyOf(optReq!.payloads, OPT));
  assert.deepEqual(payloadTypes(refusal!.payloads), [N(NotifyType.NO_PROPOSAL_CHOSEN)]);
  assert.deepEqual(payloadTypes(regReq!.payloads), [N(NotifyType.REKEY_SA), PayloadType.SA, PayloadType.NONCE, PayloadType.TSi, PayloadType.TSr]);
  assert.equal(regRes!.response, true);
  const fresh = [...isa.children.values()].at(-1)!;
  assert.equal(fresh.suite.keyLengthBits, 256);
  assert.ok(!isa.children.has(second.inboundSpi.toString('hex')));
  assertChildrenAgree(i, r);
  assert.deepEqual(eventsOf(i, 'error'), [], 'the fallback is silent at the initiator');
  assert.deepEqual(eventsOf(r, 'error').map((e) => e.notify), [NotifyType.NO_PROPOSAL_CHOSEN]);
  assert.equal(eventsOf(i, 'rekeyed').length, 1);
});

test('fallback: when our own configuration no longer allows the SA\'s parameters, the rekey is regular at once', async () => {
  const c = child({ proposals: [esp(undefined, { ke: KeId.CURVE25519 })] });
  const pair = await pairWith(c, { responder: { children: [mirror(child({ proposals: [esp(undefined, { ke: [KeId.CURVE25519, KeId.ECP256] })] }))] } });
  const second = await secondChild(pair, c);
  pair.isa.config = { ...pair.isa.config!, children: [child({ proposals: [esp(undefined, { ke: KeId.ECP256 })] })] };
  const { log } = recorder(pair);
  pair.i.engine.rekeyChildSa(pair.isa.id, second.inboundSpi.toString('hex'));
  await pair.world.advance();
  assert.equal(ccsa(log).length, 2);
  assert.ok(payloadTypes(ccsa(log)[0]!.payloads).includes(PayloadType.SA));
  assert.deepEqual([...pair.isa.children.values()].at(-1)!.keMethods, [KeId.ECP256]);
  assertChildrenAgree(pair.i, pair.r);
});

// --- IKE SA rekey --------------------------------------------------------------------------

test('IKE SA: {N(OPTIMIZED_REKEY, 8-octet SPIi), Ni, KEi} --> {N(OPTIMIZED_REKEY, 8-octet SPIr), Nr, KEr}; suite inherited, Child SAs moved', async () => {
  const pair = await pairWith(child());
  const { world, i, r, isa } = pair;
  const oldSuite = isa.requireCrypto().suite;
  const children = [...isa.children.values()];
  const { log } = recorder(pair);
  i.engine.rekeyIkeSa(isa.id);
  await world.advance();
  const inew = liveSa(i);
  const rnew = liveSa(r);
  assert.notEqual(inew.id, isa.id);
  assert.equal(isa.phase, 'closed');
  const [req, res] = ccsa(log);
  const kei = keOf(req!.payloads)!;
  const ker = keOf(res!.payloads)!;
  assert.equal(kei.method, oldSuite.keMethod);
  assert.equal(req!.innerBytes!.toString('hex'), Buffer.concat([notifyBytes(PayloadType.NONCE, OPT, inew.spiI), nonceBytes(PayloadType.KE, nonceOf(req!.payloads)), keBytes(0, kei.method, kei.data)]).toString('hex'));
  assert.equal(res!.innerBytes!.toString('hex'), Buffer.concat([notifyBytes(PayloadType.NONCE, OPT, inew.spiR), nonceBytes(PayloadType.KE, nonceOf(res!.payloads)), keBytes(0, ker.method, ker.data)]).toString('hex'));
  assert.ok(inew.spiI.equals(rnew.spiI) && inew.spiR.equals(rnew.spiR));
  const s = inew.requireCrypto().suite;
  assert.deepEqual([s.encrId, s.keyLengthBits, s.integId, s.prfId, s.keMethod, s.additionalKes], [oldSuite.encrId, oldSuite.keyLengthBits, oldSuite.integId, oldSuite.prfId, oldSuite.keMethod, oldSuite.additionalKes]);
  assert.ok(inew.requireCrypto().keys.skD.equals(rnew.requireCrypto().keys.skD));
  assert.deepEqual([...inew.children.values()], children);
  assert.equal(inew.extensions.optimizedRekey, true, 'the new IKE SA keeps the negotiated extension');
  assertChildrenAgree(i, r);
  // The next IKE rekey over the new SA is optimized too.
  log.length = 0;
  i.engine.rekeyIkeSa(inew.id);
  await world.advance();
  assert.ok(notifyOf(ccsa(log)[0]!.payloads, OPT));
  assertChildrenAgree(i, r);
  assert.deepEqual([...eventsOf(i, 'error'), ...eventsOf(r, 'error')], []);
});

test('IKE SA: the responder rekeys the IKE SA the optimized way', async () => {
  const pair = await pairWith(child());
  const rsa = pair.rsa();
  const { log } = recorder(pair);
  pair.r.engine.rekeyIkeSa(rsa.id);
  await pair.world.advance();
  assert.deepEqual(payloadTypes(ccsa(log)[0]!.payloads), [N(OPT), PayloadType.NONCE, PayloadType.KE]);
  const inew = liveSa(pair.i);
  assert.equal(inew.role, 'responder', 'the rekey initiator is the new SA\'s original initiator');
  assertChildrenAgree(pair.i, pair.r);
});

// --- collisions ------------------------------------------------------------------------------

const nonce = (first: number): Buffer => Buffer.alloc(32, first);

for (const initiatorLoses of [true, false]) {
  test(`collision: simultaneous optimized Child SA rekeys, ${initiatorLoses ? "the initiator's" : "the responder's"} exchange holds the lowest nonce`, async () => {
    const c = child();
    const pair = await pairWith(c);
    const { world, i, r, isa, iRandom, rRandom } = pair;
    const ro = pair.rsa();
    const iOld = await secondChild(pair, c);
    const rOld = peerOf(ro, iOld);
    iRandom.forced.push(initiatorLoses ? nonce(0x01) : nonce(0x80), nonce(0x90));
    rRandom.forced.push(initiatorLoses ? nonce(0x80) : nonce(0x01), nonce(0xa0));
    const { log } = recorder(pair);
    i.engine.rekeyChildSa(isa.id, iOld.inboundSpi.toString('hex'));
    r.engine.rekeyChildSa(ro.id, rOld.inboundSpi.toString('hex'));
    await world.advance();
    assert.equal(ccsa(log).filter((o) => !o.response && notifyOf(o.payloads, OPT)).length, 2, 'both rekeys optimized');
    assert.equal(isa.children.size, 2);
    assert.equal(ro.children.size, 2);
    assert.ok(!isa.children.has(iOld.inboundSpi.toString('hex')));
    assertChildrenAgree(i, r);
    assert.equal(eventsOf(i, 'rekeyed').length, 1);
    assert.equal(eventsOf(r, 'rekeyed').length, 1);
    assert.deepEqual([...eventsOf(i, 'error'), ...eventsOf(r, 'error')], []);
  });

  test(`collision: simultaneous optimized IKE SA rekeys, ${initiatorLoses ? "the initiator's" : "the responder's"} exchange holds the lowest nonce`, async () => {
    const pair = await pairWith(child());
    const { world, i, r, isa, iRandom, rRandom } = pair;
    const ro = pair.rsa();
    iRandom.forced.push(initiatorLoses ? nonce(0x01) : nonce(0x80), nonce(0x90));
    rRandom.forced.push(initiatorLoses ? nonce(0x80) : nonce(0x01), nonce(0xa0));
    const { log } = recorder(pair);
    i.engine.rekeyIkeSa(isa.id);
    r.engine.rekeyIkeSa(ro.id);
    await world.advance();
    assert.equal(ccsa(log).filter((o) => !o.response && notifyOf(o.payloads, OPT)).length, 2);
    assert.equal(i.engine.list().length, 1);
    assert.equal(r.engine.list().length, 1);
    const inew = liveSa(i);
    assert.equal(inew.role, initiatorLoses ? 'responder' : 'initiator');
    assertChildrenAgree(i, r);
    assert.deepEqual([...eventsOf(i, 'error'), ...eventsOf(r, 'error')], []);
  });
}

// --- RFC 9370 ------------------------------------------------------------------------------

test('RFC 9370: hybrid X25519 + ML-KEM-768 Child SA optimized rekey; the ADDKE round follows in IKE_FOLLOWUP_KE', async () => {
  const c = child({ proposals: [HYBRID_ESP] });
  const pair = await pairWith(c);
  const { world, i, r, isa } = pair;
  const second = await secondChild(pair, c);
  assert.deepEqual(second.keMethods, [KeId.CURVE25519, KeId.ML_KEM_768]);
  const { log, exchanges } = recorder(pair);
  const installs = i.sink.installed.length;
  i.engine.rekeyChildSa(isa.id, second.inboundSpi.toString('hex'));
  await world.advance();
  assert.deepEqual([...new Set(exchanges)].slice(0, 4), ['36', '36r', '44', '44r']);
  const [req, res] = ccsa(log);
  assert.deepEqual(payloadTypes(req!.payloads), [N(NotifyType.REKEY_SA), N(OPT), PayloadType.NONCE, PayloadType.KE]);
  assert.deepEqual(payloadTypes(res!.payloads), [N(OPT), PayloadType.NONCE, PayloadType.KE, N(NotifyType.ADDITIONAL_KEY_EXCHANGE)]);
  assert.equal(keOf(req!.payloads)!.method, KeId.CURVE25519);
  const followRes = log.find((o) => o.exchangeType === ExchangeType.IKE_FOLLOWUP_KE && o.response)!;
  assert.equal(keOf(followRes.payloads)!.method, KeId.ML_KEM_768);
  assert.equal(i.sink.installed.length, installs + 1, 'installed once, after the last round');
  const fresh = [...isa.children.values()].at(-1)!;
  assert.deepEqual(fresh.keMethods, [KeId.CURVE25519, KeId.ML_KEM_768]);
  assertKeysMatch(i, r, fresh.inboundSpi.readUInt32BE());
  assertChildrenAgree(i, r);
  assert.deepEqual([...eventsOf(i, 'error'), ...eventsOf(r, 'error')], []);
});

test('RFC 9370: hybrid IKE SA optimized rekey (IKE_INTERMEDIATE at setup, IKE_FOLLOWUP_KE at rekey)', async () => {
  const proposals = [HYBRID_IKE];
  const pair = await establishedPair({ initiator: { proposals }, responder: { proposals }, responderInit: { proposals }, options: ON });
  const { world, i, r, isa } = pair;
  const { log, exchanges } = recorder(pair);
  i.engine.rekeyIkeSa(isa.id);
  await world.advance();
  assert.deepEqual(exchanges.slice(0, 2), ['36', '36r']);
  assert.ok(exchanges.includes('44') && exchanges.includes('44r'));
  const [req, res] = ccsa(log);
  assert.deepEqual(payloadTypes(req!.payloads), [N(OPT), PayloadType.NONCE, PayloadType.KE]);
  assert.deepEqual(payloadTypes(res!.payloads), [N(OPT), PayloadType.NONCE, PayloadType.KE, N(NotifyType.ADDITIONAL_KEY_EXCHANGE)]);
  const inew = liveSa(i);
  assert.deepEqual(inew.requireCrypto().suite.additionalKes, [KeId.ML_KEM_768]);
  assert.ok(inew.requireCrypto().keys.skD.equals(liveSa(r).requireCrypto().keys.skD));
  assertChildrenAgree(i, r);
  assert.deepEqual([...eventsOf(i, 'error'), ...eventsOf(r, 'error')], []);
});

// --- notify types ----------------------------------------------------------------------------

test('notify types: configurable private-use values on both sides', async () => {
  const types = { supported: 50500, rekey: 50501 };
  const pair = await pairWith(child(), { options: { optimizedRekeyNotifies: types } });
  const auth = pair.world.net.sent.map((p) => openPacket(p, [pair.isa, pair.rsa()])).filter((o) => o?.exchangeType === ExchangeType.IKE_AUTH) as Opened[];
  assert.ok(auth.every((o) => notifyOf(o.payloads, 50500) && !notifyOf(o.payloads, SUPPORTED)));
  const { log } = recorder(pair);
  pair.i.engine.rekeyIkeSa(pair.isa.id);
  await pair.world.advance();
  const [req, res] = ccsa(log);
  for (const o of [req!, res!]) {
    assert.ok(notifyOf(o.payloads, 50501));
    assert.equal(notifyOf(o.payloads, OPT), undefined);
  }
  assertChildrenAgree(pair.i, pair.r);
});

test('notify types: peers configured with different values do not negotiate; rekeys stay regular', async () => {
  const pair = await pairWith(child(), { responderOptions: { optimizedRekeyNotifies: { supported: 50500, rekey: 50501 } } });
  assert.equal(pair.isa.extensions.optimizedRekey, false);
  assert.equal(pair.rsa().extensions.optimizedRekey, false);
  const { log } = recorder(pair);
  pair.i.engine.rekeyIkeSa(pair.isa.id);
  await pair.world.advance();
  assert.ok(payloadTypes(ccsa(log)[0]!.payloads).includes(PayloadType.SA));
  assertChildrenAgree(pair.i, pair.r);
});

test('notify types: assigned, error-range, out-of-range or equal values are configuration errors', () => {
  const sender = { send: () => undefined };
  for (const t of [{ supported: NotifyType.REKEY_SA, rekey: 50401 }, { supported: 50400, rekey: 100 }, { supported: 50400, rekey: 70000 }, { supported: 50410, rekey: 50410 }, { supported: 50400.5, rekey: 50401 }]) {
    assert.throws(() => new IkeEngine({ sender, options: { optimizedRekeyNotifies: t } }), (e) => isGkmError(e, 'GKM_IKE_CONFIG'), JSON.stringify(t));
  }
  assert.ok(new IkeEngine({ sender, options: { optimizedRekeyNotifies: { supported: 65000, rekey: 65001 } } }));
});
