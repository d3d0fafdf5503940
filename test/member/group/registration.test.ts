import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExchangeType, NotifyType, PayloadType, ProtocolId } from '../../../src/ikev2/registry/index.ts';
import { decodeMessage } from '../../../src/ikev2/wire/index.ts';
import type { SaPayload } from '../../../src/ikev2/wire/payloads/index.ts';
import { keyFingerprint } from '../../../src/member/keys/fingerprint.ts';
import { cbcTemplate, gcmTemplate, keyIdGroup, rekeySaTemplate } from './support/scripted-gcks.ts';
import { groupWorld } from './support/world.ts';

const G1 = keyIdGroup('group-1');

test('GSA_AUTH registration: every key unwrapped and checked, policy summary, fingerprints, SAs handed to the SA database inbound only', async () => {
  const w = groupWorld();
  w.gcks.groups.set('group-1', { rekeySa: rekeySaTemplate(), dataSecurity: [gcmTemplate(1), cbcTemplate(2)], activationDelay: 5, deactivationDelay: 10 });
  w.member.join(G1);
  await w.world.advance();

  const [reg] = w.of('registered');
  assert.ok(reg, JSON.stringify(w.events));
  const sent = w.gcks.sent[0]!;
  assert.equal(sent.exchange, 'GSA_AUTH');
  assert.equal(sent.sag, true);
  assert.equal(sent.requestedSenders, undefined);
  // The member holds exactly the keys the GCKS sent (compared by fingerprint).
  const state = w.member.group(G1)!;
  for (const sa of state.dataSecuritySas) assert.deepEqual(sa.keymat, sent.keymats.get(sa.policy.spi.toString('hex')));
  const rekeySpi = sent.policies.find((p) => p.protocolId === ProtocolId.GIKE_UPDATE)!.spi.toString('hex');
  assert.deepEqual(state.registration!.keys.rekeySa!.keymat, sent.keymats.get(rekeySpi));
  assert.deepEqual(
    reg.fingerprints.map((f) => f.sha256).sort(),
    [...sent.keymats.values()].map(keyFingerprint).sort(),
  );
  assert.ok(reg.fingerprints.every((f) => /^(ESP SA 0x[0-9a-f]{8}|Rekey SA 0x[0-9a-f]{32})$/.test(f.label)));
  // Policy summary.
  assert.equal(reg.policy.context, 'registration');
  assert.equal(reg.policy.rekeySa?.spi, rekeySpi);
  assert.equal(reg.policy.rekeySa?.destination, '239.192.0.100/32[udp/848]');
  assert.deepEqual(reg.policy.rekeySa?.algorithms, { encr: 'AES_GCM_16/256', kwa: 'KW_5649_256', gcauth: 'DIGITAL_SIGNATURE' });
  assert.deepEqual(
    reg.policy.dataSecuritySas.map((s) => [s.protocol, s.algorithms.encr, s.algorithms.sn, s.destination, s.mode, s.counterMode, s.lifetimeSeconds]),
    [
      ['esp', 'AES_GCM_16/256', 'UNSPECIFIED32', '239.192.0.1/32[udp]', 'tunnel', true, 3600],
      ['esp', 'AES_CBC/128', 'SEQ32', '239.192.1.2/32', 'tunnel', false, 3600],
    ],
  );
  assert.equal(reg.policy.activationDelaySeconds, 5);
  assert.equal(reg.policy.deactivationDelaySeconds, 10);
  assert.deepEqual(reg.policy.senderIds, []);
  // Receive-only: inbound only; the Rekey SA never goes to the ESP SA database.
  assert.equal(reg.installed, 2);
  assert.deepEqual(w.db.installed.map((i) => [i.role, i.mode]), [['receiver', 'tunnel'], ['receiver', 'tunnel']]);
  // GSA_REKEY replay state starts at GSA_INITIAL_MESSAGE_ID (absent = 0).
  assert.equal(state.rekeyMessageIds?.next, 0);
  // The IKE SA stays up (the GCKS closes it by convention).
  assert.equal(w.gmPeer.engine.get(w.member.ikeSaId!)?.phase, 'established');
  // On the wire: IKE_SA_INIT, then GSA_AUTH; the request carries IDg and SAg (SPI size 0, one Proposal Num).
  const types = w.world.net.sent.map((p) => decodeMessage(p.datagram).header.exchangeType);
  assert.deepEqual(types, [ExchangeType.IKE_SA_INIT, ExchangeType.IKE_SA_INIT, ExchangeType.GSA_AUTH, ExchangeType.GSA_AUTH]);
});

test('SAg lists KWAs, ciphers and SN values, SPI size 0, all Proposal Num 1', async () => {
  const { sagPayload } = await import('../../../src/member/group/request.ts');
  const sag: SaPayload = sagPayload();
  assert.ok(sag.proposals.every((p) => p.spi.length === 0 && p.number === 1));
  assert.deepEqual([...new Set(sag.proposals.map((p) => p.protocolId))], [ProtocolId.GIKE_UPDATE, ProtocolId.ESP]);
  const kwas = sag.proposals.filter((p) => p.protocolId === ProtocolId.GIKE_UPDATE).flatMap((p) => p.transforms.filter((t) => t.transformType === 13).map((t) => t.transformId));
  assert.deepEqual([...new Set(kwas)].sort(), [1, 2, 3, 4]);
  const sns = sag.proposals.filter((p) => p.protocolId === ProtocolId.ESP).flatMap((p) => p.transforms.filter((t) => t.transformType === 5).map((t) => t.transformId));
  assert.deepEqual([...new Set(sns)].sort(), [0, 2]);
  assert.equal(PayloadType.SA, 33);
});

test('sender: N(GROUP_SENDER, n), Sender-IDs granted and within GWP_SENDER_ID_BITS, SAs installed in both directions with the first Sender-ID', async () => {
  const w = groupWorld({ role: 'both', senderIds: 3 });
  w.gcks.groups.set('group-1', { rekeySa: rekeySaTemplate(), dataSecurity: [gcmTemplate(1)], senderIdBits: 12, maxSenderIds: 2, activationDelay: 4 });
  w.member.join(G1);
  await w.world.advance();
  const [reg] = w.of('registered');
  assert.ok(reg, JSON.stringify(w.events));
  assert.equal(w.gcks.sent[0]!.requestedSenders, 3);
  assert.deepEqual(reg.policy.senderIds, w.gcks.sent[0]!.senderIds);
  assert.equal(reg.policy.senderIds.length, 2);
  assert.equal(reg.policy.senderIdBits, 12);
  const [install] = w.db.installed;
  assert.equal(install!.role, 'both');
  assert.equal(install!.senderId, reg.policy.senderIds[0]);
  assert.equal(install!.senderIdBits, 12);
  assert.equal(install!.activationDelayMs, 4000);
});

test('N(USE_TRANSPORT_MODE) puts every Data-Security SA of the registration in transport mode', async () => {
  const w = groupWorld();
  w.gcks.groups.set('group-1', { rekeySa: rekeySaTemplate(), dataSecurity: [gcmTemplate(1), cbcTemplate(2)], transportMode: true });
  w.member.join(G1);
  await w.world.advance();
  const [reg] = w.of('registered');
  assert.ok(reg);
  assert.deepEqual(reg.policy.dataSecuritySas.map((s) => s.mode), ['transport', 'transport']);
  assert.deepEqual(w.db.installed.map((i) => i.mode), ['transport', 'transport']);
});

test('in-band group (no Rekey SA): registration-inband context; excluded when the IKE SA closes, then re-registers', async () => {
  const w = groupWorld();
  w.gcks.groups.set('group-1', { dataSecurity: [gcmTemplate(1)] });
  w.member.join(G1);
  await w.world.advance();
  const [reg] = w.of('registered');
  assert.ok(reg);
  assert.equal(reg.policy.context, 'registration-inband');
  assert.equal(w.member.group(G1)!.rekeyMessageIds, undefined);
  // The GCKS closes the IKE SA: no GIKE_UPDATE policy → excluded, state wiped, re-register later.
  w.gcksPeer.engine.deleteIkeSa(w.gcksPeer.engine.list()[0]!.id);
  await w.world.advance();
  const [ex] = w.of('excluded');
  assert.ok(ex, JSON.stringify(w.events.map((e) => e.event)));
  assert.equal(w.db.live, 0);
  assert.equal(w.member.group(G1)!.registration, undefined);
  await w.world.advance(ex.reregisterInSeconds * 1000 + 1000);
  assert.equal(w.of('registered').length, 2);
  assert.equal(w.gcks.sent[1]!.exchange, 'GSA_AUTH');
});

test('multicast-rekey group: the GCKS closing the IKE SA after registration is not an error; the group keeps its state', async () => {
  const w = groupWorld();
  w.gcks.groups.set('group-1', { rekeySa: rekeySaTemplate(), dataSecurity: [gcmTemplate(1)] });
  w.member.join(G1);
  await w.world.advance();
  w.gcksPeer.engine.deleteIkeSa(w.gcksPeer.engine.list()[0]!.id);
  await w.world.advance();
  assert.equal(w.member.ikeSaId, undefined);
  assert.equal(w.of('excluded').length, 0);
  assert.equal(w.of('error').length, 0);
  assert.equal(w.member.status(G1), 'registered');
  assert.equal(w.db.live, 1);
});

test('GSA_INITIAL_MESSAGE_ID starts the Rekey SA replay state', async () => {
  const w = groupWorld();
  w.gcks.groups.set('group-1', { rekeySa: rekeySaTemplate({ initialMessageId: 7 }), dataSecurity: [gcmTemplate(1)] });
  w.member.join(G1);
  await w.world.advance();
  const ids = w.member.group(G1)!.rekeyMessageIds!;
  assert.equal(w.of('registered')[0]!.policy.rekeySa!.initialMessageId, 7);
  assert.equal(ids.accept(6), false);
  assert.equal(ids.accept(7), true);
  assert.equal(ids.accept(7), false);
  assert.equal(ids.accept(9), true);
  assert.equal(NotifyType.GROUP_SENDER, 16429);
});

test('IKE_INTERMEDIATE with ML-KEM-768 (RFC 9370) before GSA_AUTH: hybrid IKE SA, keys wrapped under its GSK_w', async () => {
  const { KeId, EncrId, PrfId, KwaId } = await import('../../../src/ikev2/registry/index.ts');
  const { ScriptedGcks } = await import('./support/scripted-gcks.ts');
  const hybrid = { protocolId: ProtocolId.IKE, encr: { id: EncrId.AES_GCM_16, keyLength: 256 }, prf: PrfId.HMAC_SHA2_256, ke: KeId.CURVE25519, addke: [[KeId.ML_KEM_768]], kwa: KwaId.KW_5649_256 };
  const w = groupWorld({ gcks: new ScriptedGcks(undefined, [hybrid]), peer: { proposals: [{ ...hybrid, kwa: [KwaId.KW_5649_256, KwaId.KW_ARX] }] } });
  w.gcks.groups.set('group-1', { rekeySa: rekeySaTemplate(), dataSecurity: [gcmTemplate(1)] });
  w.member.join(G1);
  await w.world.advance();
  assert.ok(w.of('registered')[0], JSON.stringify(w.events));
  // (ML-KEM messages are fragmented: one entry per exchange step)
  const types = w.world.net.sent.map((p) => decodeMessage(p.datagram).header.exchangeType).filter((t, i, all) => t !== all[i - 1]);
  assert.deepEqual(types, [ExchangeType.IKE_SA_INIT, ExchangeType.IKE_INTERMEDIATE, ExchangeType.GSA_AUTH]);
  assert.equal(w.gmPeer.engine.get(w.member.ikeSaId!)!.requireCrypto().suite.additionalKes[0], KeId.ML_KEM_768);
});
