/**
 * IKE SA rekey (RFC 7296 §1.3.2, §2.18): new SPIs and keys from SK_d(old) with the old PRF,
 * Child SAs move to the new SA, Message IDs restart at 0, the rekey's initiator deletes the
 * old SA; started by either side; queued exchanges follow the Child SAs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveRekeyedIkeKeys, ikeKeySizes } from '../../../src/ikev2/crypto/keys.ts';
import { EncrId, ExchangeType, KeId, PayloadType, PrfId, ProtocolId } from '../../../src/ikev2/registry/index.ts';
import { decodeMessage, type KePayload, type NoncePayload, type SaPayload } from '../../../src/ikev2/wire/index.ts';
import { child, eventsOf, ike, mirror, type Packet } from './support/harness.ts';
import { assertChildrenAgree, establishedPair, liveSa, openPacket, payloadTypes } from './support/rekey.ts';
import type { IkeSa } from '../../../src/ikev2/sa/ike-sa.ts';

for (const [label, prf] of [['prfsha256', PrfId.HMAC_SHA2_256], ['prfsha384', PrfId.HMAC_SHA2_384]] as const) {
  test(`IKE SA rekey by the initiator (${label}): keys from SK_d(old) with the old PRF, Child SAs survive, MIDs restart, old SA deleted`, async () => {
    const proposals = [ike({ id: EncrId.AES_GCM_16, keyLength: 256 }, KeId.CURVE25519, prf)];
    const { world, i, r, isa } = await establishedPair({ initiator: { proposals }, responder: { proposals }, responderInit: { proposals } });
    const rOld = liveSa(r);
    const oldKeys = { ...isa.requireCrypto().keys };
    const oldSkD = Buffer.from(oldKeys.skD);
    const oldPrf = isa.requireCrypto().prf;
    const childBefore = [...isa.children.values()];
    const mark = world.net.sent.length;
    const opened: { p: Packet; o: ReturnType<typeof openPacket> }[] = [];
    world.net.filter = (p) => (opened.push({ p, o: openPacket(p, [isa, rOld, ...i.engine.list(), ...r.engine.list()]) }), p);
    i.engine.rekeyIkeSa(isa.id);
    await world.advance();
    world.net.filter = undefined;
    assert.equal(isa.phase, 'closed', 'old IKE SA deleted');
    assert.equal(rOld.phase, 'closed');
    const inew = liveSa(i);
    const rnew = liveSa(r);
    assert.notEqual(inew.id, isa.id);
    assert.ok(inew.spiI.equals(rnew.spiI) && inew.spiR.equals(rnew.spiR));
    assert.equal(inew.role, 'initiator');
    assert.equal(rnew.role, 'responder');
    // Child SAs moved, never reinstalled or removed.
    assert.deepEqual([...inew.children.values()], childBefore);
    assert.equal(i.sink.installed.length, 1);
    assert.equal(i.sink.removed.length, 0);
    assert.equal(r.sink.removed.length, 0);
    assertChildrenAgree(i, r);
    // Keys: SKEYSEED = prf(SK_d(old), g^ir | Ni | Nr), new SPIs (RFC 7296 §2.18).
    const packets = opened;
    const req = packets.find((x) => x.o?.exchangeType === ExchangeType.CREATE_CHILD_SA && !x.o.response)!.o!;
    const res = packets.find((x) => x.o?.exchangeType === ExchangeType.CREATE_CHILD_SA && x.o.response)!.o!;
    assert.deepEqual(payloadTypes(req.payloads), [PayloadType.SA, PayloadType.NONCE, PayloadType.KE]);
    const sa = (req.payloads[0] as SaPayload).proposals;
    assert.ok(sa.every((p) => p.protocolId === ProtocolId.IKE && p.spi.equals(inew.spiI)), 'SA(IKE, 8-octet new SPIi)');
    assert.ok((res.payloads[0] as SaPayload).proposals[0]!.spi.equals(inew.spiR));
    const ni = (req.payloads[1] as NoncePayload).nonce;
    const nr = (res.payloads.find((p) => p.type === PayloadType.NONCE) as NoncePayload).nonce;
    assert.ok((req.payloads[2] as KePayload).method === KeId.CURVE25519);
    const k = inew.requireCrypto().keys;
    const logged = (sa: IkeSa) => i.ikeKeys.find((x) => x.spiI.equals(sa.spiI) && x.spiR.equals(sa.spiR))!;
    assert.ok(!k.skD.equals(oldSkD) && !logged(inew).skEi.equals(logged(isa).skEi), 'keys differ');
    // Both sides agree; a derivation from another SK_d(old) gives other keys (the old SA's SK_d is an input).
    assert.ok(k.skD.equals(rnew.requireCrypto().keys.skD));
    assert.equal(inew.requireCrypto().prf.id, oldPrf.id, 'the PRF does not change on rekey');
    const sizes = ikeKeySizes(oldPrf, { encrId: EncrId.AES_GCM_16, keyLengthBits: 256 });
    const wrongSeed = deriveRekeyedIkeKeys(oldPrf, Buffer.alloc(oldSkD.length), [Buffer.alloc(32)], ni, nr, inew.spiI, inew.spiR, sizes);
    assert.ok(!wrongSeed.skD.equals(k.skD));
    // Message IDs restart at 0 on the new SA; the Delete of the old one is on the old SA.
    const onNew = world.net.sent.slice(mark).filter((p) => decodeMessage(p.datagram).header.spiI.equals(inew.spiI));
    assert.equal(onNew.length, 0, 'nothing sent on the new SA yet');
    i.engine.rekeyChildSa(inew.id, childBefore[0]!.inboundSpi.toString('hex'));
    await world.advance();
    const firstOnNew = world.net.sent.filter((p) => decodeMessage(p.datagram).header.spiI.equals(inew.spiI))[0]!;
    assert.equal(decodeMessage(firstOnNew.datagram).header.messageId, 0);
    assertChildrenAgree(i, r);
    const del = packets.find((x) => x.o?.exchangeType === ExchangeType.INFORMATIONAL && !x.o.response)!;
    assert.ok(decodeMessage(del.p.datagram).header.spiI.equals(isa.spiI), 'D(IKE) on the old SA');
    assert.equal(eventsOf(i, 'rekeyed').filter((e) => e.what === 'ike').length, 1);
    assert.equal(eventsOf(r, 'rekeyed').filter((e) => e.what === 'ike').length, 1);
    assert.deepEqual(eventsOf(i, 'deleted').map((e) => [e.what, e.reason]).filter(([w]) => w === 'ike'), [['ike', 'rekeyed']]);
    assert.deepEqual([...eventsOf(i, 'error'), ...eventsOf(r, 'error')], []);
  });
}

test('IKE SA rekey by the responder: roles of the new SA follow the rekey (its initiator is the original initiator)', async () => {
  const { world, i, r, isa, rsa } = await establishedPair();
  const old = rsa();
  r.engine.rekeyIkeSa(old.id);
  await world.advance();
  const rnew = liveSa(r);
  const inew = liveSa(i);
  assert.equal(rnew.role, 'initiator');
  assert.equal(inew.role, 'responder');
  assert.equal(isa.phase, 'closed');
  assert.equal(old.phase, 'closed');
  assertChildrenAgree(i, r);
  // The new SA works both ways.
  i.engine.deleteChildSa(inew.id, [...inew.children.keys()][0]!);
  await world.advance();
  assert.equal(inew.children.size, 0);
  assert.equal(rnew.children.size, 0);
});

test('IKE SA rekey: queued Child SA exchanges move to the new IKE SA', async () => {
  const c = child();
  const extra = child({ name: 'extra' });
  const { world, i, r, isa } = await establishedPair({ initiator: { children: [c, extra] }, responder: { children: [mirror(c), mirror(extra)] } });
  i.engine.rekeyIkeSa(isa.id);
  i.engine.createChildSa(isa.id, extra); // queued behind the rekey
  await world.advance();
  const inew = liveSa(i);
  assert.equal(inew.children.size, 2);
  assertChildrenAgree(i, r);
});

test('IKE SA rekey: a Child SA request during the rekey gets TEMPORARY_FAILURE and is retried', async () => {
  const c = child();
  const { world, i, r, isa, rsa } = await establishedPair({ initiator: { children: [c] }, responder: { children: [mirror(c)] } });
  const ro = rsa();
  i.engine.rekeyIkeSa(isa.id);
  r.engine.createChildSa(ro.id, mirror(c));
  await world.advance();
  assert.ok(eventsOf(i, 'error').some((e) => e.notify === 43), 'TEMPORARY_FAILURE sent');
  await world.advance(6000); // retried on the new IKE SA
  assert.equal(liveSa(i).children.size, 2);
  assertChildrenAgree(i, r);
});

/** The one allocation an SA's SK_d and SK ciphers share (SkCipherPair), through its SK_d view. */
const keyAllocation = (sa: IkeSa): Buffer => {
  const skD = sa.requireCrypto().keys.skD;
  return Buffer.from(skD.buffer, 0, skD.buffer.byteLength);
};

test('an established SA keeps SK_d and both SK directions in one buffer; rekey and delete wipe it, both sides', async () => {
  const { world, i, r, isa, rsa } = await establishedPair();
  const rOld = rsa();
  const crypto = isa.requireCrypto();
  const k = crypto.keys;
  assert.equal(k.skPi.length + k.skPr.length + k.skEi.length + k.skAi.length, 0, 'authenticated: SK_d alone');
  const logged = i.ikeKeys.find((x) => x.spiI.equals(isa.spiI))!;
  const allocation = keyAllocation(isa);
  assert.deepEqual(allocation, Buffer.concat([logged.skD, logged.skEi, logged.skEr, logged.skAi, logged.skAr]), 'SK_d | SK_ei | SK_er, the keys the key log got');
  assert.equal(crypto.outbound.ivLength, 8);
  const rAllocation = keyAllocation(rOld);
  assert.deepEqual(rAllocation, allocation, 'the responder holds the same keys');
  i.engine.rekeyIkeSa(isa.id);
  await world.advance();
  assert.equal(isa.phase, 'closed');
  assert.equal(rOld.phase, 'closed');
  assert.ok(allocation.every((b) => b === 0) && rAllocation.every((b) => b === 0), 'old SA keys wiped on both sides');
  const inew = liveSa(i);
  const newAllocation = keyAllocation(inew);
  assert.ok(newAllocation.some((b) => b !== 0));
  i.engine.deleteIkeSa(inew.id);
  await world.advance();
  assert.equal(inew.phase, 'closed');
  assert.ok(newAllocation.every((b) => b === 0), 'deleted SA keys wiped');
  assert.equal(r.engine.list().length, 0);
});
