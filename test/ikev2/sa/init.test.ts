import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EncrId, ExchangeType, KeId, KwaId, NotifyType, PayloadType, PrfId, ProtocolId } from '../../../src/ikev2/registry/index.ts';
import { decodeMessage, type NotifyPayload, type Payload } from '../../../src/ikev2/wire/index.ts';
import { buildProposal } from '../../../src/ikev2/wire/payloads/index.ts';
import { CookieJar } from '../../../src/ikev2/sa/cookies.ts';
import { checkChosenProposal, numberedProposals, selectProposal } from '../../../src/ikev2/sa/proposals.ts';
import { randomBytes } from 'node:crypto';
import { AES128GCM, child, ep, esp, eventsOf, FakeClock, ike, mirror, pair, range, type Packet } from './support/harness.ts';

const initMessages = (sent: readonly Packet[]) => sent.map((p) => decodeMessage(p.datagram)).filter((m) => m.header.exchangeType === ExchangeType.IKE_SA_INIT);
const notifyTypes = (payloads: readonly Payload[]) => payloads.filter((p): p is NotifyPayload => p.type === PayloadType.NOTIFY).map((n) => n.notifyType);

test('stateless cookie above the half-open threshold (RFC 7296 §2.6)', async () => {
  const { world, i, r, start } = pair({ responderOptions: { halfOpenThreshold: 0 } });
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'established');
  const init = initMessages(world.net.sent);
  assert.equal(init.length, 4);
  const [req1, cookieReply, req2, resp] = init as [typeof init[0], typeof init[0], typeof init[0], typeof init[0]];
  assert.deepEqual(notifyTypes(cookieReply.payloads), [NotifyType.COOKIE]);
  assert.ok(cookieReply.header.spiR.equals(Buffer.alloc(8)), 'stateless reply keeps SPIr zero');
  // The retry: COOKIE first, then the very same payloads (same SPIi, KE and Ni).
  assert.equal(req2.payloads[0]?.type, PayloadType.NOTIFY);
  assert.equal((req2.payloads[0] as NotifyPayload).notifyType, NotifyType.COOKIE);
  assert.ok(req2.header.spiI.equals(req1.header.spiI));
  assert.equal(req2.header.messageId, 0);
  assert.ok(req2.raw.subarray(req2.raw.length - req1.raw.length + 28).equals(req1.raw.subarray(28)), 'rest of the request unchanged');
  assert.equal(resp.payloads[0]?.type, PayloadType.SA);
  assert.equal(eventsOf(r, 'ike_up').length, 1);
  assert.equal(i.sink.installed.length, 1);
});

test('a wrong cookie is answered with a fresh challenge, never an SA', async () => {
  const { world, i, r, start } = pair({ responderOptions: { halfOpenThreshold: 0 } });
  let tampered = 0;
  world.net.filter = (p) => {
    const m = decodeMessage(p.datagram);
    const n = m.payloads[0];
    if (p.to.ip === i.ip && tampered === 0 && n?.type === PayloadType.NOTIFY && n.notifyType === NotifyType.COOKIE) {
      tampered++;
      const d = Buffer.from(p.datagram);
      d[d.length - 1]! ^= 1; // last cookie octet
      return { ...p, datagram: d };
    }
    return p;
  };
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'established');
  const init = initMessages(world.net.sent);
  const challenges = init.filter((m) => notifyTypes(m.payloads)[0] === NotifyType.COOKIE && m.header.flags & 0x20);
  assert.equal(challenges.length, 2, 'the forged cookie drew a second challenge');
  assert.equal(eventsOf(r, 'ike_up').length, 1);
  assert.equal(r.engine.list().length, 1);
});

test('INVALID_KE_PAYLOAD: retry with the wanted method, same SPIi/Ni, full proposal list, cookie kept', async () => {
  const proposals = [ike({ id: EncrId.AES_GCM_16, keyLength: 128 }, [KeId.CURVE25519, KeId.ECP256])];
  const responderProposals = [ike({ id: EncrId.AES_GCM_16, keyLength: 128 }, KeId.ECP256)];
  const { world, r, start } = pair({
    initiator: { proposals },
    responder: { proposals: responderProposals },
    responderInit: { proposals: responderProposals },
    responderOptions: { halfOpenThreshold: 0 },
  });
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'established');
  const init = initMessages(world.net.sent);
  // request, COOKIE, request+cookie, INVALID_KE, request+cookie+ECP256, response
  assert.equal(init.length, 6);
  const invalidKe = init[3]!;
  assert.deepEqual(notifyTypes(invalidKe.payloads), [NotifyType.INVALID_KE_PAYLOAD]);
  assert.equal((invalidKe.payloads[0] as NotifyPayload).data.readUInt16BE(), KeId.ECP256);
  const last = init[4]!;
  assert.equal((last.payloads[0] as NotifyPayload).notifyType, NotifyType.COOKIE);
  const ke = last.payloads.find((p) => p.type === PayloadType.KE);
  assert.equal(ke?.type === PayloadType.KE && ke.method, KeId.ECP256);
  const nonces = [init[0]!, last].map((m) => m.payloads.find((p) => p.type === PayloadType.NONCE));
  assert.ok(nonces[0]?.type === PayloadType.NONCE && nonces[1]?.type === PayloadType.NONCE && nonces[0].nonce.equals(nonces[1].nonce));
  const sas = [init[0]!, last].map((m) => m.payloads.find((p) => p.type === PayloadType.SA));
  assert.deepEqual(sas[0], sas[1]);
  assert.equal(eventsOf(r, 'ike_up')[0]?.ike.suite?.['ke'], 'ECP256');
});

test('INVALID_KE_PAYLOAD naming a method we never offered is ignored', async () => {
  const { world, i, r, start } = pair({ responderOptions: { halfOpenThreshold: 1000 } });
  world.net.filter = (p) => {
    if (p.to.ip !== r.ip) return p;
    // Answer the first request ourselves with a forged INVALID_KE(ECP384).
    const m = decodeMessage(p.datagram);
    if (m.header.exchangeType === ExchangeType.IKE_SA_INIT && world.net.filter) {
      world.net.filter = undefined;
      const forged = Buffer.from(p.datagram.subarray(0, 28));
      forged[19] = 0x20;
      const body = Buffer.from([0, 0, 0, 10, 0, 0, 0, NotifyType.INVALID_KE_PAYLOAD, 0, KeId.ECP384]);
      body.writeUInt16BE(NotifyType.INVALID_KE_PAYLOAD, 6);
      body.writeUInt16BE(KeId.ECP384, 8);
      forged[16] = PayloadType.NOTIFY;
      forged.writeUInt32BE(28 + body.length, 24);
      world.net.inject({ datagram: Buffer.concat([forged, body]), from: p.to, to: p.from });
    }
    return p;
  };
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'established');
  assert.equal(eventsOf(i, 'error').length, 0);
});

test('NO_PROPOSAL_CHOSEN: the initiator fails, the responder keeps nothing', async () => {
  const aes256 = [ike({ id: EncrId.AES_GCM_16, keyLength: 256 })];
  const { world, i, r, start } = pair({ responder: { proposals: aes256 }, responderInit: { proposals: aes256 } });
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'closed');
  assert.equal(eventsOf(i, 'error')[0]?.notify, NotifyType.NO_PROPOSAL_CHOSEN);
  assert.equal(r.engine.list().length, 0);
});

test('responder picks from the first acceptable offered proposal, one transform per type', () => {
  const offered = numberedProposals([
    ike({ id: EncrId.AES_GCM_16, keyLength: 256 }, KeId.ECP384, PrfId.HMAC_SHA2_384),
    ike([{ id: EncrId.CHACHA20_POLY1305 }, { id: EncrId.AES_GCM_16, keyLength: 128 }], [KeId.ECP256, KeId.CURVE25519], [PrfId.HMAC_SHA2_512, PrfId.HMAC_SHA2_256]),
  ]);
  const ours = numberedProposals([ike({ id: EncrId.AES_GCM_16, keyLength: 128 }, [KeId.CURVE25519, KeId.ECP256], PrfId.HMAC_SHA2_256)]);
  const chosen = selectProposal(offered, ours, { protocolId: ProtocolId.IKE, prefer: new Map([[4, KeId.CURVE25519]]) });
  assert.equal(chosen.number, 2);
  assert.deepEqual(chosen.transforms.map((t) => [t.transformType, t.transformId]), [[1, EncrId.AES_GCM_16], [2, PrfId.HMAC_SHA2_256], [4, KeId.CURVE25519]]);
  assert.doesNotThrow(() => checkChosenProposal([chosen], offered, 0));
  // Strict numbering (RFC 7296 §3.3.1): 1, 1 is refused.
  const dup = [offered[0]!, { ...offered[1]!, number: 1 }];
  assert.throws(() => selectProposal(dup, ours, { protocolId: ProtocolId.IKE }), { code: 'GKM_IKE_INVALID_SYNTAX' });
  // Initiator checks: two transforms of one type, or one never offered, are refused.
  assert.throws(() => checkChosenProposal([offered[1]!], offered, 0), { code: 'GKM_IKE_BAD_RESPONSE' });
  const foreign = buildProposal({ protocolId: ProtocolId.IKE, number: 2, encr: { id: EncrId.AES_CBC, keyLength: 128 }, prf: PrfId.HMAC_SHA2_256, ke: KeId.ECP256 });
  assert.throws(() => checkChosenProposal([foreign], offered, 0), { code: 'GKM_IKE_BAD_RESPONSE' });
});

test('optional additional key exchange (ADDKE1 with NONE) is dropped by a responder without it', () => {
  const offered = numberedProposals([ike({ id: EncrId.AES_GCM_16, keyLength: 128 }, KeId.CURVE25519, PrfId.HMAC_SHA2_256, { addke: [[KeId.ML_KEM_768, KeId.NONE]] })]);
  const chosen = selectProposal(offered, numberedProposals([AES128GCM]), { protocolId: ProtocolId.IKE });
  assert.deepEqual(chosen.transforms.map((t) => t.transformType), [1, 2, 4]);
  const mandatory = numberedProposals([ike({ id: EncrId.AES_GCM_16, keyLength: 128 }, KeId.CURVE25519, PrfId.HMAC_SHA2_256, { addke: [KeId.ML_KEM_768] })]);
  assert.throws(() => selectProposal(mandatory, numberedProposals([AES128GCM]), { protocolId: ProtocolId.IKE }), { code: 'GKM_IKE_NO_PROPOSAL_CHOSEN' });
});

test('KWA transform (RFC 9838) negotiated in IKE_SA_INIT; a GCKS requiring it refuses plain IKE', async () => {
  const withKwa = [ike({ id: EncrId.AES_GCM_16, keyLength: 256 }, KeId.CURVE25519, PrfId.HMAC_SHA2_256, { kwa: [KwaId.KW_5649_256, KwaId.KW_ARX] })];
  const gcks = [ike({ id: EncrId.AES_GCM_16, keyLength: 256 }, KeId.CURVE25519, PrfId.HMAC_SHA2_256, { kwa: KwaId.KW_5649_256 })];
  const ok = pair({ initiator: { proposals: withKwa }, responder: { proposals: gcks }, responderInit: { proposals: gcks } });
  ok.start();
  await ok.world.advance();
  assert.equal(eventsOf(ok.i, 'ike_up')[0]?.ike.suite?.['kwa'], 'KW_5649_256');
  const no = pair({ initiator: { proposals: [ike({ id: EncrId.AES_GCM_16, keyLength: 256 })] }, responder: { proposals: gcks }, responderInit: { proposals: gcks } });
  no.start();
  await no.world.advance();
  assert.equal(eventsOf(no.i, 'error')[0]?.notify, NotifyType.NO_PROPOSAL_CHOSEN);
});

test('IKE_SA_INIT carries NAT-D, fragmentation, signature hashes and childless support both ways', async () => {
  const { world, start } = pair();
  start();
  await world.advance();
  const [req, resp] = initMessages(world.net.sent);
  for (const m of [req!, resp!]) {
    assert.deepEqual(notifyTypes(m.payloads), [
      NotifyType.NAT_DETECTION_SOURCE_IP,
      NotifyType.NAT_DETECTION_DESTINATION_IP,
      NotifyType.IKEV2_FRAGMENTATION_SUPPORTED,
      NotifyType.SIGNATURE_HASH_ALGORITHMS,
      NotifyType.CHILDLESS_IKEV2_SUPPORTED,
    ]);
  }
});

test('NAT detected on the initiator side: both float to 4500, the responder follows the mapped port, ESP is encapsulated', async () => {
  const { world, i, r, start } = pair();
  const PUBLIC = '203.0.113.9';
  // A NAPT in front of the initiator: 10.0.0.1:p <-> 203.0.113.9:p+10000.
  world.net.filter = (p) => {
    if (p.from.ip === i.ip) return { ...p, from: { ip: PUBLIC, port: p.from.port + 10000 } };
    if (p.to.ip === PUBLIC) return { ...p, to: { ip: i.ip, port: p.to.port - 10000 } };
    return p;
  };
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'established');
  assert.deepEqual(sa.extensions.nat, { local: true, remote: false });
  assert.deepEqual(sa.remote, ep(r.ip, 4500));
  const rsa = r.engine.get(sa.spiR.toString('hex'))!;
  assert.deepEqual(rsa.extensions.nat, { local: false, remote: true });
  assert.deepEqual(rsa.remote, ep(PUBLIC, 14500));
  assert.deepEqual(rsa.local, ep(r.ip, 4500));
  const auth = world.net.sent.filter((p) => decodeMessage(p.datagram).header.exchangeType === ExchangeType.IKE_AUTH);
  assert.deepEqual(auth.map((p) => [p.from.port, p.to.port]), [[4500, 4500], [4500, 14500]]);
  assert.ok(i.sink.installed[0]?.encapsulated && r.sink.installed[0]?.encapsulated);
  assert.equal(eventsOf(r, 'ike_up')[0]?.ike.natRemote, true);
});

test("natTraversal 'always' floats to 4500 without a NAT (strongSwan behaviour)", async () => {
  const { world, i, start } = pair({ initiator: { natTraversal: 'always' } });
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'established');
  assert.equal(sa.remote.port, 4500);
  assert.equal(i.sink.installed[0]?.encapsulated, false);
});

test('childless IKE SA (RFC 6023)', async () => {
  const { world, i, r, start } = pair({ initiator: { children: [] } });
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'established');
  assert.equal(i.sink.installed.length + r.sink.installed.length, 0);
  assert.equal(eventsOf(r, 'ike_up').length, 1);
});

test('childless refused when the responder does not announce support', async () => {
  const { world, i, start } = pair({ initiator: { children: [] }, responderInit: { childless: false } });
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'closed');
  assert.equal(eventsOf(i, 'error')[0]?.code, 'GKM_IKE_CONFIG');
});

test('transport mode when both want it; tunnel when the responder does not', async () => {
  const t = pair({ initiator: { children: [child({ mode: 'transport' })] }, responder: { children: [mirror(child({ mode: 'transport' }))] } });
  t.start();
  await t.world.advance();
  assert.equal(t.i.sink.installed[0]?.mode, 'transport');
  assert.equal(t.r.sink.installed[0]?.mode, 'transport');
  const u = pair({ initiator: { children: [child({ mode: 'transport' })] } });
  u.start();
  await u.world.advance();
  assert.equal(u.i.sink.installed[0]?.mode, 'tunnel');
  assert.equal(u.r.sink.installed[0]?.mode, 'tunnel');
});

test('traffic selectors narrowed to the intersection', async () => {
  const responderChild = { ...mirror(child()), localTs: [range('10.2.1.0', '10.2.1.255', 6, 443, 443)] };
  const { world, i, r, start } = pair({ responder: { children: [responderChild] } });
  start();
  await world.advance();
  const ci = i.sink.installed[0];
  assert.ok(ci);
  assert.deepEqual(ci.remoteTs, [range('10.2.1.0', '10.2.1.255', 6, 443, 443)]);
  assert.deepEqual(ci.localTs, [range('10.1.0.0', '10.1.255.255')]);
  assert.deepEqual(r.sink.installed[0]?.localTs, ci.remoteTs);
});

test('TS_UNACCEPTABLE / NO_PROPOSAL_CHOSEN for the Child SA keep the IKE SA up', async () => {
  const noTs = pair({ responder: { children: [{ ...mirror(child()), localTs: [range('10.9.0.0', '10.9.255.255')] }] } });
  const a = noTs.start();
  await noTs.world.advance();
  assert.equal(a.phase, 'established');
  assert.equal(eventsOf(noTs.i, 'error')[0]?.notify, NotifyType.TS_UNACCEPTABLE);
  assert.equal(noTs.i.sink.installed.length, 0);
  const noProp = pair({ responder: { children: [{ ...mirror(child()), proposals: [esp({ id: EncrId.AES_GCM_16, keyLength: 256 })] }] } });
  const b = noProp.start();
  await noProp.world.advance();
  assert.equal(b.phase, 'established');
  assert.equal(eventsOf(noProp.i, 'error')[0]?.notify, NotifyType.NO_PROPOSAL_CHOSEN);
});

test('cookie secrets rotate; the previous secret is still honoured, older ones are not', () => {
  const clock = new FakeClock();
  const jar = new CookieJar(clock, randomBytes, 1000);
  const ni = randomBytes(32);
  const spi = randomBytes(8);
  const c1 = jar.make(ni, '192.0.2.1', spi);
  assert.ok(jar.verify(c1, ni, '192.0.2.1', spi));
  assert.ok(!jar.verify(c1, ni, '192.0.2.2', spi), 'bound to the address');
  assert.ok(!jar.verify(c1, randomBytes(32), '192.0.2.1', spi), 'bound to Ni');
  clock.set(1500);
  const c2 = jar.make(ni, '192.0.2.1', spi);
  assert.ok(!c2.equals(c1));
  assert.ok(jar.verify(c1, ni, '192.0.2.1', spi), 'previous secret still accepted');
  clock.set(3000);
  jar.make(ni, '192.0.2.1', spi);
  assert.ok(!jar.verify(c1, ni, '192.0.2.1', spi), 'two rotations later it is gone');
});
