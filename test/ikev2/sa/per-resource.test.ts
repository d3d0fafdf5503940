/**
 * RFC 9611 per-resource Child SAs (digest §C), ours to ours: a fallback SA with
 * N(SA_RESOURCE_INFO) without data in IKE_AUTH, then one CREATE_CHILD_SA per resource with
 * identical TS and N(SA_RESOURCE_INFO, 4-octet id) both ways; resource ids in the sink and
 * events; TS_MAX_QUEUE at the responder's cap (and no retry until the group shrinks);
 * rekeys inherit the binding without the notify; a peer without support creates plain
 * duplicate-TS SAs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { protectMessage } from '../../../src/ikev2/crypto/encrypted-message.ts';
import { ExchangeType, HeaderFlag, NotifyType, PayloadType, ProtocolId } from '../../../src/ikev2/registry/index.ts';
import type { NotifyPayload, Payload } from '../../../src/ikev2/wire/index.ts';
import { buildProposal, NotifyData } from '../../../src/ikev2/wire/payloads/index.ts';
import { CreateChildSaTask } from '../../../src/ikev2/sa/exchanges/create-child-sa.ts';
import type { IkeSa } from '../../../src/ikev2/sa/ike-sa.ts';
import { resourceIdOf } from '../../../src/ikev2/sa/per-resource.ts';
import { child, ep, esp, eventsOf, mirror, range, type Packet, type Peer } from './support/harness.ts';
import { assertChildrenAgree, assertKeysMatch, establishedPair, liveSa, openPacket, payloadTypes } from './support/rekey.ts';

const RI = `N(${NotifyType.SA_RESOURCE_INFO})`;
const resourceInfo = (payloads: readonly Payload[]): NotifyPayload | undefined =>
  payloads.find((p): p is NotifyPayload => p.type === PayloadType.NOTIFY && p.notifyType === NotifyType.SA_RESOURCE_INFO);
const idsOf = (sa: IkeSa): (string | undefined)[] => [...sa.children.values()].map((c) => c.resourceId?.toString('hex'));
const sinkIds = (p: Peer): (string | undefined)[] => p.sink.installed.map((s) => s.resourceId?.toString('hex'));

/** Every protected packet so far, opened with the keys of the given SAs. */
function opened(world: { net: { sent: readonly Packet[] } }, sas: readonly IkeSa[]) {
  return world.net.sent.map((p) => openPacket(p, sas)).filter((o) => o !== undefined);
}

test('RFC 9611: a fallback SA in IKE_AUTH, then one CREATE_CHILD_SA per resource with identical TS; ids in sink and events', async () => {
  const c = child({ perResource: 3 });
  const { world, i, r, isa } = await establishedPair({ initiator: { children: [c] }, responder: { children: [mirror(c)] } });
  const rsa = liveSa(r);
  assert.equal(isa.children.size, 4, 'fallback + 3');
  assert.deepEqual(idsOf(isa), ['', '00000000', '00000001', '00000002']);
  assert.deepEqual(idsOf(rsa), ['', '00000000', '00000001', '00000002'], "the responder's own ids: lowest free index");
  assertChildrenAgree(i, r);
  for (const sa of isa.children.values()) assertKeysMatch(i, r, sa.inboundSpi.readUInt32BE());
  const first = [...isa.children.values()][0]!;
  for (const sa of isa.children.values()) {
    assert.deepEqual(sa.localTs, first.localTs, 'identical TS');
    assert.deepEqual(sa.remoteTs, first.remoteTs);
  }
  assert.deepEqual(sinkIds(i), ['', '00000000', '00000001', '00000002']);
  assert.deepEqual(sinkIds(r), ['', '00000000', '00000001', '00000002']);
  assert.deepEqual(eventsOf(i, 'child_up').map((e) => e.child.resourceId), ['', '00000000', '00000001', '00000002']);

  const packets = opened(world, [isa, rsa]);
  const auth = packets.filter((o) => o.exchangeType === ExchangeType.IKE_AUTH);
  for (const o of auth) {
    const n = resourceInfo(o.payloads);
    assert.ok(n, `SA_RESOURCE_INFO in the IKE_AUTH ${o.response ? 'response' : 'request'}`);
    assert.equal(n.protocolId, 0);
    assert.equal(n.spi.length, 0);
    assert.equal(n.data.length, 0, 'the fallback SA: no data');
  }
  const ccsa = packets.filter((o) => o.exchangeType === ExchangeType.CREATE_CHILD_SA);
  assert.equal(ccsa.length, 6);
  ccsa.forEach((o, k) => {
    // {SA, Ni, TSi, TSr, N(SA_RESOURCE_INFO)} --> {SA, Nr, TSi, TSr, N(SA_RESOURCE_INFO)}
    assert.deepEqual(payloadTypes(o.payloads), [PayloadType.SA, PayloadType.NONCE, PayloadType.TSi, PayloadType.TSr, RI]);
    const n = resourceInfo(o.payloads)!;
    assert.deepEqual([n.protocolId, n.spi.length], [0, 0]);
    assert.equal(n.data.toString('hex'), resourceIdOf(Math.floor(k / 2)).toString('hex'), '4-octet resource id');
    // Raw bytes of the notify: generic header, Protocol 0, SPI size 0, type 16444, 4-octet id.
    const raw = o.innerBytes!;
    const tail = raw.subarray(raw.length - 12);
    assert.equal(tail.toString('hex'), `0000000c0000403c${n.data.toString('hex')}`);
  });
  assert.deepEqual([...eventsOf(i, 'error'), ...eventsOf(r, 'error')], []);
});

test('RFC 9611: a responder at its per-TS cap answers TS_MAX_QUEUE; the initiator stops asking until the group shrinks', async () => {
  const c = child({ perResource: 4 });
  const { world, i, r, isa } = await establishedPair({ initiator: { children: [c] }, responder: { children: [{ ...mirror(c), perResource: undefined, perResourceCap: 2 }] } });
  const rsa = liveSa(r);
  assert.deepEqual(idsOf(isa), ['', '00000000', '00000001'], 'fallback + 2; the third refused, the fourth never asked');
  const requests = opened(world, [isa]).filter((o) => o.exchangeType === ExchangeType.CREATE_CHILD_SA && !o.response);
  assert.equal(requests.length, 3);
  const refused = opened(world, [isa, rsa]).filter((o) => o.exchangeType === ExchangeType.CREATE_CHILD_SA && o.response).at(-1)!;
  assert.deepEqual(payloadTypes(refused.payloads), [`N(${NotifyType.TS_MAX_QUEUE})`]);
  assert.deepEqual(eventsOf(i, 'error').map((e) => e.notify), [NotifyType.TS_MAX_QUEUE]);
  assert.equal(rsa.children.size, 3);
  assertChildrenAgree(i, r);

  // While the group is at the size it had, a further per-resource request is dropped unsent.
  let mark = world.net.sent.length;
  i.engine.queueTask(isa.id, new CreateChildSaTask({ kind: 'new-child', config: c, resource: resourceIdOf(7) }));
  await world.advance();
  assert.equal(world.net.sent.length, mark, 'no retry at the cap');

  // One per-resource SA goes: asking again is allowed, and the responder has room.
  const bound = [...isa.children.values()].find((x) => x.resourceId?.length)!;
  i.engine.deleteChildSa(isa.id, bound.inboundSpi.toString('hex'));
  await world.advance();
  mark = world.net.sent.length;
  i.engine.queueTask(isa.id, new CreateChildSaTask({ kind: 'new-child', config: c, resource: resourceIdOf(7) }));
  await world.advance();
  assert.ok(world.net.sent.length > mark);
  assert.equal(isa.children.size, 3);
  assert.ok(idsOf(isa).includes('00000007'));
  assert.deepEqual(idsOf(rsa).sort(), ['', '00000000', '00000001'], "the responder reuses its freed index");
  assertChildrenAgree(i, r);
});

test('RFC 9611: a per-resource Child SA rekey sends no SA_RESOURCE_INFO; both sides inherit the binding', async () => {
  const c = child({ perResource: 2, proposals: [esp(undefined, { ke: 31 })] });
  const { world, i, r, isa } = await establishedPair({ initiator: { children: [c] }, responder: { children: [mirror(c)] } });
  const rsa = liveSa(r);
  const target = [...isa.children.values()].find((x) => x.resourceId?.toString('hex') === '00000001')!;
  const peerId = [...rsa.children.values()].find((x) => x.outboundSpi.equals(target.inboundSpi))!.resourceId;
  const mark = world.net.sent.length;
  i.engine.rekeyChildSa(isa.id, target.inboundSpi.toString('hex'));
  await world.advance();
  const [req, res] = world.net.sent.slice(mark).map((p) => openPacket(p, [isa, rsa])!);
  assert.deepEqual(payloadTypes(req!.payloads), [`N(${NotifyType.REKEY_SA})`, PayloadType.SA, PayloadType.NONCE, PayloadType.KE, PayloadType.TSi, PayloadType.TSr]);
  assert.deepEqual(payloadTypes(res!.payloads), [PayloadType.SA, PayloadType.NONCE, PayloadType.KE, PayloadType.TSi, PayloadType.TSr]);
  const fresh = [...isa.children.values()].find((x) => !x.inboundSpi.equals(target.inboundSpi) && x.resourceId?.toString('hex') === '00000001');
  assert.ok(fresh, 'the new SA keeps resource id 00000001');
  assert.ok(!isa.children.has(target.inboundSpi.toString('hex')));
  const rFresh = [...rsa.children.values()].find((x) => x.outboundSpi.equals(fresh.inboundSpi))!;
  assert.deepEqual(rFresh.resourceId, peerId, "the responder keeps its own id");
  assert.equal(i.sink.installed.at(-1)!.resourceId?.toString('hex'), '00000001');
  const rekeyed = eventsOf(i, 'rekeyed').at(-1)!;
  assert.equal(rekeyed.what === 'child' ? rekeyed.child?.resourceId : undefined, '00000001');
  assertChildrenAgree(i, r);
});

test('RFC 9611: SA_RESOURCE_INFO in a peer\'s rekey request is ignored; the old binding stays', async () => {
  const c = child({ perResource: 1 });
  const { world, r, isa } = await establishedPair({ initiator: { children: [c] }, responder: { children: [mirror(c)] } });
  const rsa = liveSa(r);
  const target = [...isa.children.values()].find((x) => x.resourceId?.length)!;
  const rOld = [...rsa.children.values()].find((x) => x.outboundSpi.equals(target.inboundSpi))!;
  const payloads: Payload[] = [
    NotifyData.REKEY_SA.build({ protocolId: ProtocolId.ESP, spi: target.inboundSpi }),
    { type: PayloadType.SA, proposals: [buildProposal({ ...esp(), number: 1, spi: Buffer.from('0000c0de', 'hex') })] },
    { type: PayloadType.NONCE, nonce: randomBytes(32) },
    { type: PayloadType.TSi, selectors: target.localTs },
    { type: PayloadType.TSr, selectors: target.remoteTs },
    NotifyData.SA_RESOURCE_INFO.build(Buffer.from('ffffffff', 'hex')),
  ];
  const crypto = isa.requireCrypto();
  const datagram = protectMessage({ spiI: isa.spiI, spiR: isa.spiR, exchangeType: ExchangeType.CREATE_CHILD_SA, flags: HeaderFlag.INITIATOR, messageId: isa.requester.nextMessageId }, payloads, crypto.outbound, crypto.ivs);
  const mark = world.net.sent.length;
  world.net.filter = (p) => (p.to.ip === '10.0.0.1' ? false : p);
  world.net.inject({ datagram, from: ep('10.0.0.1'), to: ep(r.ip) });
  await world.net.flush();
  world.net.filter = undefined;
  const res = openPacket(world.net.sent.slice(mark)[0]!, [rsa])!;
  assert.deepEqual(payloadTypes(res.payloads), [PayloadType.SA, PayloadType.NONCE, PayloadType.TSi, PayloadType.TSr], 'no SA_RESOURCE_INFO in the answer');
  const created = [...rsa.children.values()].find((x) => x.outboundSpi.toString('hex') === '0000c0de')!;
  assert.deepEqual(created.resourceId, rOld.resourceId, 'inherited, not the requested id');
  assert.equal(rOld.state, 'rekeyed');
});

test('RFC 9611: a peer without support ignores SA_RESOURCE_INFO and creates plain duplicate-TS SAs', async () => {
  const c = child({ perResource: 2 });
  const { world, i, r, isa } = await establishedPair({ initiator: { children: [c] }, responder: { children: [mirror(child())] } });
  const rsa = liveSa(r);
  assert.equal(isa.children.size, 3);
  assert.deepEqual(idsOf(isa), ['', '00000000', '00000001'], 'our ids are local: kept');
  assert.deepEqual(idsOf(rsa), [undefined, undefined, undefined]);
  for (const o of opened(world, [isa, rsa]).filter((x) => x.response && x.exchangeType !== ExchangeType.IKE_SA_INIT)) assert.equal(resourceInfo(o.payloads), undefined);
  assertChildrenAgree(i, r);
  assert.deepEqual([...eventsOf(i, 'error'), ...eventsOf(r, 'error')], []);
});

test('RFC 9611: createChildSa with perResource makes its own fallback through CREATE_CHILD_SA first', async () => {
  const extra = child({ name: 'extra', perResource: 2, localTs: [range('10.3.0.0', '10.3.0.255')], remoteTs: [range('10.4.0.0', '10.4.0.255')] });
  const { world, i, r, isa } = await establishedPair({ initiator: { children: [child(), extra] }, responder: { children: [mirror(child()), mirror(extra)] } });
  i.engine.createChildSa(isa.id, extra);
  await world.advance();
  const ours = [...isa.children.values()].filter((x) => x.name === 'extra');
  assert.deepEqual(ours.map((x) => x.resourceId?.toString('hex')), ['', '00000000', '00000001']);
  assertChildrenAgree(i, r);
});

test('RFC 9611: the TS_MAX_QUEUE stop follows the Child SAs to a rekeyed IKE SA', async () => {
  const c = child({ perResource: 2 });
  const { world, i, isa } = await establishedPair({ initiator: { children: [c] }, responder: { children: [{ ...mirror(c), perResource: undefined, perResourceCap: 1 }] } });
  assert.deepEqual(idsOf(isa), ['', '00000000']);
  i.engine.rekeyIkeSa(isa.id);
  await world.advance();
  const inew = liveSa(i);
  assert.notEqual(inew.id, isa.id);
  const mark = world.net.sent.length;
  i.engine.queueTask(inew.id, new CreateChildSaTask({ kind: 'new-child', config: c, resource: resourceIdOf(5) }));
  await world.advance();
  assert.equal(world.net.sent.length, mark, 'still at the cap: not asked');
});
