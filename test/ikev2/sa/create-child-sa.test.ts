/**
 * CREATE_CHILD_SA (RFC 7296 §1.3): new Child SAs and Child SA rekeys, with and without PFS,
 * for several suites, started by either side; the sink sees the new SA before the old one
 * goes, the old pair is deleted with D(ESP, own inbound SPI), and events carry SPIs only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EncrId, ExchangeType, KeId, NotifyType, PayloadType, ProtocolId } from '../../../src/ikev2/registry/index.ts';
import type { DeletePayload, NotifyPayload, SaPayload } from '../../../src/ikev2/wire/index.ts';
import { child, esp, eventsOf, mirror, range } from './support/harness.ts';
import { assertChildrenAgree, assertKeysMatch, establishedPair, liveSa, openPacket, payloadTypes } from './support/rekey.ts';

const SUITES = [
  { name: 'aes128gcm16', encr: { id: EncrId.AES_GCM_16, keyLength: 128 }, ke: KeId.CURVE25519 },
  { name: 'aes256gcm16', encr: { id: EncrId.AES_GCM_16, keyLength: 256 }, ke: KeId.ECP384 },
  { name: 'chacha20poly1305', encr: { id: EncrId.CHACHA20_POLY1305 }, ke: KeId.ECP256 },
] as const;

for (const s of SUITES) {
  for (const pfs of [false, true]) {
    const label = `${s.name}${pfs ? `-${KeId.CURVE25519 === s.ke ? 'x25519' : s.ke}` : ''}`;
    test(`CREATE_CHILD_SA: a second Child SA (${label}, ${pfs ? 'PFS' : 'no PFS'})`, async () => {
      const c = child({ proposals: [esp(s.encr, pfs ? { ke: s.ke } : {})] });
      const extra = child({ name: 'extra', proposals: c.proposals, localTs: [range('10.3.0.0', '10.3.0.255')], remoteTs: [range('10.4.0.0', '10.4.0.255')] });
      const { world, i, r, isa } = await establishedPair({ initiator: { children: [c, extra] }, responder: { children: [mirror(c), mirror(extra)] } });
      const mark = world.net.sent.length;
      i.engine.createChildSa(isa.id, extra);
      await world.advance();
      assert.equal(isa.children.size, 2);
      assertChildrenAgree(i, r);
      const newest = i.sink.installed.at(-1)!;
      assert.equal(newest.name, 'extra');
      assert.equal(newest.suite.encrId, s.encr.id);
      assertKeysMatch(i, r, newest.inbound.spi);
      const [req] = world.net.sent.slice(mark).map((p) => openPacket(p, [isa]));
      assert.equal(req?.exchangeType, ExchangeType.CREATE_CHILD_SA);
      // RFC 7296 §1.3.1: {SA, Ni, [KEi], TSi, TSr}
      assert.deepEqual(payloadTypes(req!.payloads), pfs ? [PayloadType.SA, PayloadType.NONCE, PayloadType.KE, PayloadType.TSi, PayloadType.TSr] : [PayloadType.SA, PayloadType.NONCE, PayloadType.TSi, PayloadType.TSr]);
      assert.deepEqual([...isa.children.values()].at(-1)?.keMethods, pfs ? [s.ke] : []);
      assert.deepEqual([...eventsOf(i, 'error'), ...eventsOf(r, 'error')], []);
    });

    test(`CREATE_CHILD_SA: Child SA rekey (${label}, ${pfs ? 'PFS' : 'no PFS'}) by the initiator`, async () => {
      const c = child({ proposals: [esp(s.encr, pfs ? { ke: s.ke } : {})] });
      const { world, i, r, isa } = await establishedPair({ initiator: { children: [c] }, responder: { children: [mirror(c)] } });
      const old = [...isa.children.values()][0]!;
      const oldInstalled = i.sink.installed[0]!;
      const mark = world.net.sent.length;
      const sinkLog: string[] = [];
      const origInstall = i.sink.install.bind(i.sink);
      const origRemove = i.sink.remove.bind(i.sink);
      i.sink.install = (x) => (sinkLog.push(`install ${x.inbound.spi}`), origInstall(x));
      i.sink.remove = (x) => (sinkLog.push(`remove ${x.inboundSpi}`), origRemove(x));
      i.engine.rekeyChildSa(isa.id, old.inboundSpi.toString('hex'));
      await world.advance();
      assert.equal(isa.children.size, 1);
      const fresh = [...isa.children.values()][0]!;
      assert.ok(!fresh.inboundSpi.equals(old.inboundSpi));
      assertChildrenAgree(i, r);
      assert.deepEqual(fresh.localTs, old.localTs, 'TS inherited');
      assert.deepEqual(fresh.keMethods, pfs ? [s.ke] : []);
      const installed = i.sink.installed.at(-1)!;
      assertKeysMatch(i, r, installed.inbound.spi);
      assert.ok(!installed.inbound.encKey.equals(oldInstalled.inbound.encKey), 'fresh keys');
      assert.deepEqual(sinkLog, [`install ${installed.inbound.spi}`, `remove ${old.inboundSpi.readUInt32BE()}`], 'new SA installed before the old one is removed');
      const packets = world.net.sent.slice(mark).map((p) => openPacket(p, [isa]));
      const [req, res, del, delRes] = packets;
      const rekeySa = req!.payloads[0] as NotifyPayload;
      assert.equal(rekeySa.notifyType, NotifyType.REKEY_SA);
      assert.equal(rekeySa.protocolId, ProtocolId.ESP);
      assert.ok(rekeySa.spi.equals(old.inboundSpi), 'REKEY_SA carries our inbound SPI of the old SA');
      assert.equal(payloadTypes(req!.payloads).includes(PayloadType.KE), pfs);
      assert.equal(payloadTypes(res!.payloads).includes(PayloadType.KE), pfs);
      assert.equal(((res!.payloads.find((p) => p.type === PayloadType.SA) as SaPayload).proposals[0]!.spi).readUInt32BE(), fresh.outboundSpi.readUInt32BE());
      assert.equal(del?.exchangeType, ExchangeType.INFORMATIONAL);
      const d = del!.payloads[0] as DeletePayload;
      assert.equal(d.protocolId, ProtocolId.ESP);
      assert.deepEqual(d.spis, [old.inboundSpi], 'D(ESP, own inbound SPI)');
      assert.deepEqual((delRes!.payloads[0] as DeletePayload).spis, [old.outboundSpi], 'the peer answers with its inbound SPI');
      const rekeyed = eventsOf(i, 'rekeyed');
      assert.equal(rekeyed.length, 1);
      assert.deepEqual([rekeyed[0]!.old, rekeyed[0]!.new], [old.inboundSpi.toString('hex'), fresh.inboundSpi.toString('hex')]);
      assert.equal(eventsOf(r, 'rekeyed').length, 1);
      assert.deepEqual(eventsOf(i, 'deleted').map((e) => e.reason), ['rekeyed']);
      const text = JSON.stringify([...i.events, ...r.events]);
      assert.ok(!text.includes(installed.inbound.encKey.toString('hex')), 'no keys in events');
      assert.deepEqual([...eventsOf(i, 'error'), ...eventsOf(r, 'error')], []);
    });
  }
}

test('CREATE_CHILD_SA: the responder rekeys a Child SA; the old one carries inbound traffic until deleted', async () => {
  const c = child({ proposals: [esp(undefined, { ke: KeId.CURVE25519 })] });
  const { world, i, r, isa, rsa } = await establishedPair({ initiator: { children: [c] }, responder: { children: [mirror(c)] } });
  const rsaNow = rsa();
  const old = [...rsaNow.children.values()][0]!;
  let seenOldDuringRekey = false;
  world.net.filter = (p) => {
    const o = openPacket(p, [isa]);
    if (o?.exchangeType === ExchangeType.CREATE_CHILD_SA && o.response) {
      // The initiator answered: it holds old and new; nothing is removed on either side yet.
      seenOldDuringRekey = isa.children.size === 2 && isa.children.get(old.outboundSpi.toString('hex'))?.state === 'rekeyed' && r.sink.removed.length === 0 && i.sink.removed.length === 0;
    }
    return p;
  };
  r.engine.rekeyChildSa(rsaNow.id, old.inboundSpi.toString('hex'));
  await world.advance();
  assert.ok(seenOldDuringRekey);
  assert.equal(rsaNow.children.size, 1);
  assertChildrenAgree(i, r);
  assert.equal(eventsOf(r, 'rekeyed').length, 1);
  assert.equal(eventsOf(i, 'rekeyed').length, 1);
  assert.deepEqual(eventsOf(i, 'deleted').map((e) => [e.what, e.reason]), [['child', 'peer']]);
});

test('CREATE_CHILD_SA: a rekey without the Child SA config inherits the old suite and PFS method', async () => {
  const c = child({ proposals: [esp({ id: EncrId.AES_GCM_16, keyLength: 256 }, { ke: KeId.ECP256 })] });
  const { world, i, r, isa } = await establishedPair({ initiator: { children: [c] }, responder: { children: [mirror(c)] } });
  const first = [...isa.children.values()][0]!;
  i.engine.createChildSa(isa.id, c); // a second one, with PFS
  await world.advance();
  const second = [...isa.children.values()].find((x) => x !== first)!;
  assert.deepEqual(second.keMethods, [KeId.ECP256]);
  i.engine.rekeyChildSa(isa.id, second.inboundSpi.toString('hex'));
  await world.advance();
  assert.equal(isa.children.size, 2);
  assertChildrenAgree(i, r);
  const rekeyed = [...isa.children.values()].find((x) => x !== first)!;
  assert.deepEqual(rekeyed.keMethods, [KeId.ECP256]);
  assert.equal(rekeyed.suite.keyLengthBits, 256);
  assert.equal(liveSa(r).children.size, 2);
});
