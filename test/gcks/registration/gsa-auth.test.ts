/**
 * GSA_AUTH against the GCKS (RFC 9838 §2.3.1), on the engine's in-memory network: the GM
 * unwraps every key it gets (src/member/keys), and every error path answers as §2.3/§4.7 say.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSigningKey } from '../../../src/gcks/groups/index.ts';
import { EncrId, GcauthId, KeId, KwaId, NotifyType, PayloadType, ProtocolId, SnId } from '../../../src/ikev2/registry/index.ts';
import { parseGroupWidePolicy, parseGsaPolicyAttributes } from '../../../src/ikev2/wire/group-attributes.ts';
import { groupSaKeyLayout } from '../../../src/ikev2/wire/group-policy.ts';
import { isGroupWidePolicy, isGsaPolicy } from '../../../src/ikev2/wire/payloads/gsa.ts';
import { eventsOf } from '../../ikev2/sa/support/harness.ts';
import { gmIkeProposal, SAG_GCM_256, type Outcome } from './support/gm.ts';
import { cbcTransportPolicy, GcksWorld, gcmPolicy, inbandPolicy } from './support/world.ts';

function registered(o: Outcome): Extract<Outcome, { kind: 'registered' }> {
  assert.equal(o.kind, 'registered', o.kind === 'refused' ? `refused with notify ${o.notify}` : o.kind);
  return o as Extract<Outcome, { kind: 'registered' }>;
}

function refusedWith(o: Outcome, n: number): void {
  assert.equal(o.kind, 'refused');
  assert.equal((o as Extract<Outcome, { kind: 'refused' }>).notify, n);
  // IDr and AUTH still come first: the IKE SA is established (§2.3.1, digest §11).
  assert.deepEqual(o.payloads.map((p) => p.type).slice(0, 2), [PayloadType.IDr, PayloadType.AUTH]);
}

test('PSK member registers: GSA (Rekey SA, ESP, GW policy) and KD; every key unwraps with the policy length', async () => {
  const w = new GcksWorld();
  const g = w.group('g1', gcmPolicy(1));
  const m = w.pskMember('gm-1', [g]);
  const gm = w.gm(m);
  const o = registered(await gm.register({ group: 'g1', sag: SAG_GCM_256 }));
  assert.equal(gm.sa?.phase, 'established');
  assert.equal(o.result.excluded, false);
  assert.deepEqual(o.result.failures, []);
  assert.equal(o.transportMode, false);
  const policies = o.gsa.policies.filter(isGsaPolicy);
  assert.deepEqual(policies.map((p) => p.protocolId), [ProtocolId.GIKE_UPDATE, ProtocolId.ESP]);
  // Lengths: TEK = AES-256 + 4-octet salt; KEK = GSK_e (36) | GSK_a (0) | GSK_w (32).
  const tek = o.result.dataSecurity[0]!;
  assert.equal(tek.keymat.length, groupSaKeyLayout(tek.policy).total);
  assert.equal(tek.keymat.length, 36);
  assert.equal(o.result.rekeySa!.keymat.length, 68);
  assert.equal(o.keys.workingKeyPath.length >= 1, true, 'LKH path keys as WRAP_KEY');
  for (const k of o.keys.workingKeyPath.keyIds) assert.ok(k > 0);
  // Same keys as the GCKS holds; AUTH_KEY is the group's signing key.
  const ks = w.registrar.groupKeys(g)!;
  assert.deepEqual(tek.keymat, ks.keys.dataSecurity[0]!.keymat);
  assert.deepEqual(o.result.rekeySa!.keymat, (ks.keys.pendingRekeySa ?? ks.keys.rekeySa)!.keymat);
  assert.deepEqual(o.keys.authKey, loadSigningKey(w.store, g)!.spki);
  // No GROUP_SENDER: no Sender-IDs, no GWP_SENDER_ID_BITS.
  assert.deepEqual(o.keys.senderIds, []);
  const gw = o.gsa.policies.find(isGroupWidePolicy)!;
  assert.deepEqual(parseGroupWidePolicy(gw, 'registration').senderIdBits, undefined);
  // Persisted: registration row, audit entry, IKE SA up on both ends.
  const reg = w.store.registrations.get(g, m.memberId)!;
  assert.equal(reg.leafKeyId, ks.keys.tree!.leafOf(m.memberId).keyId);
  assert.deepEqual(reg.ikeSpi, Buffer.concat([gm.sa!.spiI, gm.sa!.spiR]));
  assert.equal(w.store.audit.list({ groupId: g }).filter((a) => a.action === 'member.register').length, 1);
  assert.equal(eventsOf(w.gcks, 'ike_up').length, 1);
});

test('GROUP_SENDER: count 2 gets 2 Sender-IDs, 0 counts as 1, the member cap limits, IDs are never reused', async () => {
  const w = new GcksWorld();
  const g = w.group('g1', gcmPolicy(1));
  const a = w.pskMember('sender-a', [g], 'both', 3);
  const first = registered(await w.gm(a).register({ group: 'g1', groupSender: 2 }));
  assert.deepEqual(first.keys.senderIds, [0, 1]);
  assert.equal(first.keys.senderIdBits, 8);
  const zero = registered(await w.gm(a).register({ group: 'g1', groupSender: 0 }));
  assert.deepEqual(zero.keys.senderIds, [2]);
  const capped = registered(await w.gm(a).register({ group: 'g1', groupSender: 50 }));
  assert.deepEqual(capped.keys.senderIds, [3, 4, 5], 'at most the member cap (3)');
  assert.deepEqual(w.store.registrations.get(g, a.memberId)!.senderIds, [3, 4, 5]);
  // A receiver asking to send is not authorized for that.
  const r = w.pskMember('receiver', [g], 'receiver');
  refusedWith(await w.gm(r).register({ group: 'g1', groupSender: 1 }), NotifyType.AUTHORIZATION_FAILED);
  // A malformed GROUP_SENDER (not 4 octets) is INVALID_SYNTAX and no IKE SA (RFC 7296 §2.21.2).
  await assert.rejects(w.gm(a).register({ group: 'g1', groupSenderData: Buffer.of(1) }), (e: Error & { notify?: number }) => e.notify === NotifyType.INVALID_SYNTAX);
});

test('Sender-ID space used up: REGISTRATION_FAILED (RFC 9838 §2.5.1)', async () => {
  const w = new GcksWorld();
  const g = w.group('tiny', gcmPolicy(2, { senderIdBits: 1 }));
  const a = w.pskMember('s', [g], 'sender', 2);
  assert.deepEqual(registered(await w.gm(a).register({ group: 'tiny', groupSender: 2 })).keys.senderIds, [0, 1]);
  refusedWith(await w.gm(a).register({ group: 'tiny', groupSender: 1 }), NotifyType.REGISTRATION_FAILED);
});

test('errors with the IKE SA up: INVALID_GROUP_ID, AUTHORIZATION_FAILED, REGISTRATION_FAILED (member cap)', async () => {
  const w = new GcksWorld();
  const g = w.group('capped', gcmPolicy(1), 1);
  const other = w.group('other', gcmPolicy(2));
  const a = w.pskMember('a', [g]);
  const b = w.pskMember('b', [g, other]);
  const gmA = w.gm(a);
  refusedWith(await gmA.register({ group: 'no-such-group' }), NotifyType.INVALID_GROUP_ID);
  assert.equal(gmA.sa?.phase, 'established');
  refusedWith(await w.gm(a).register({ group: 'other' }), NotifyType.AUTHORIZATION_FAILED);
  registered(await w.gm(a).register({ group: 'capped' }));
  registered(await w.gm(a).register({ group: 'capped' }), ); // re-registration is not a new member
  refusedWith(await w.gm(b).register({ group: 'capped' }), NotifyType.REGISTRATION_FAILED);
  assert.equal(w.store.registrations.countForGroup(g), 1);
  assert.equal(w.registrar.groupKeys(g)!.keys.tree!.size, 1, 'the refused member never entered the key tree');
});

test('AUTHENTICATION_FAILED: wrong PSK and unknown member; no IKE SA on the GCKS', async () => {
  const w = new GcksWorld();
  const g = w.group('g1', gcmPolicy(1));
  const m = w.pskMember('gm', [g]);
  const wrong = { ...m, localAuth: { method: 'psk' as const, psk: Buffer.alloc(32, 7) } };
  const isAuthFailed = (e: Error & { notify?: number }) => e.notify === NotifyType.AUTHENTICATION_FAILED;
  await assert.rejects(w.gm(wrong).register({ group: 'g1' }), isAuthFailed);
  const stranger = { ...m, id: { type: 11, data: Buffer.from('stranger') } };
  await assert.rejects(w.gm(stranger).register({ group: 'g1' }), isAuthFailed);
  assert.equal(w.gcks.engine.list().length, 0);
  assert.equal(w.store.registrations.countForGroup(g), 0);
});

test('NO_PROPOSAL_CHOSEN: SAg without the group KWA or cipher; IKE SA KWA unlike the key tree; no KWA at all in IKE_SA_INIT', async () => {
  const w = new GcksWorld();
  const g = w.group('g1', gcmPolicy(1));
  const m = w.pskMember('gm', [g]);
  const rekey128Only = [{ ...SAG_GCM_256[0]!, kwa: KwaId.KW_5649_128 }, SAG_GCM_256[1]!];
  refusedWith(await w.gm(m).register({ group: 'g1', sag: rekey128Only }), NotifyType.NO_PROPOSAL_CHOSEN);
  const cbcOnly = [SAG_GCM_256[0]!, { number: 1, protocolId: ProtocolId.ESP, encr: { id: EncrId.AES_CBC, keyLength: 256 }, sn: SnId.UNSPECIFIED32 }];
  refusedWith(await w.gm(m).register({ group: 'g1', sag: cbcOnly }), NotifyType.NO_PROPOSAL_CHOSEN);
  // Proposal Num groups: the GCM ESP proposal is number 2, the Rekey SA one number 1: no number covers both.
  const split = [SAG_GCM_256[0]!, { ...SAG_GCM_256[1]!, number: 2 }];
  refusedWith(await w.gm(m).register({ group: 'g1', sag: split }), NotifyType.NO_PROPOSAL_CHOSEN);
  // An alternative number that fits is enough.
  registered(await w.gm(m).register({ group: 'g1', sag: [...cbcOnly, ...SAG_GCM_256.map((p) => ({ ...p, number: 2 }))] }));
  // The IKE SA's KWA must be the key tree's (digest §15 #8).
  refusedWith(await w.gm(m).register({ group: 'g1' }, gmIkeProposal({ kwa: KwaId.KW_5649_128 })), NotifyType.NO_PROPOSAL_CHOSEN);
  // Without a KWA the IKE_SA_INIT itself fails (RFC 9838 §2.2).
  const noKwa = w.gm(m);
  await assert.rejects(noKwa.register({ group: 'g1' }, gmIkeProposal({ kwa: 0 })));
  assert.equal(eventsOf(noKwa.peer, 'error').some((e) => e.notify === NotifyType.NO_PROPOSAL_CHOSEN), true);
});

test('transport mode group: N(USE_TRANSPORT_MODE); Implicit GCAUTH: no AUTH_KEY; CBC+HMAC keys have the policy lengths', async () => {
  const w = new GcksWorld();
  const g = w.group('cbc', cbcTransportPolicy());
  const m = w.pskMember('gm', [g]);
  const o = registered(await w.gm(m).register({ group: 'cbc' }));
  assert.equal(o.transportMode, true);
  assert.equal(o.keys.authKey, undefined);
  const rekey = o.gsa.policies.filter(isGsaPolicy).find((p) => p.protocolId === ProtocolId.GIKE_UPDATE)!;
  assert.equal(rekey.transforms.find((t) => t.transformType === 14)!.transformId, GcauthId.IMPLICIT);
  assert.equal(o.result.dataSecurity[0]!.keymat.length, 16 + 32, 'AES-128 key then HMAC-SHA2-256 key');
  assert.equal(o.result.rekeySa!.keymat.length, 16 + 32 + 32, 'GSK_e | GSK_a | GSK_w');
  // No counter-mode cipher: GROUP_SENDER gets no Sender-IDs and no GWP_SENDER_ID_BITS (§5 note).
  const sender = registered(await w.gm(m).register({ group: 'cbc', groupSender: 2 }));
  assert.deepEqual(sender.keys.senderIds, []);
  assert.equal(sender.keys.senderIdBits, undefined);
});

test('signature member (Ed25519, RFC 7427) registers; the GCKS signs with its own key', async () => {
  const w = new GcksWorld();
  const g = w.group('g1', gcmPolicy(1));
  const m = w.keyMember('signer', [g]);
  const o = registered(await w.gm(m).register({ group: 'g1' }));
  assert.equal(o.payloads.some((p) => p.type === PayloadType.CERT), true, 'GCKS raw public key in CERT');
  assert.equal(o.result.excluded, false);
});

test('hybrid IKE SA: X25519 + ML-KEM-768 in IKE_INTERMEDIATE before GSA_AUTH (RFC 9242, RFC 9370)', async () => {
  const w = new GcksWorld();
  const g = w.group('g1', gcmPolicy(1));
  const m = w.pskMember('gm', [g]);
  const gm = w.gm(m);
  registered(await gm.register({ group: 'g1' }, gmIkeProposal({ mlkem: true })));
  assert.deepEqual(gm.sa!.requireCrypto().suite.additionalKes, [KeId.ML_KEM_768]);
  const exchanges = w.world.net.sent.map((p) => p.datagram[18]).filter((t, i, all) => t !== all[i - 1]);
  assert.deepEqual(exchanges, [34, 43, 39], 'IKE_SA_INIT, IKE_INTERMEDIATE (ML-KEM, fragmented), GSA_AUTH');
});

test('in-band group: no Rekey SA, no WRAP_KEY; keys under GSK_w of the IKE SA', async () => {
  const w = new GcksWorld({ lingerMs: 1000 });
  const g = w.group('inband', inbandPolicy());
  const m = w.pskMember('gm', [g]);
  const gm = w.gm(m);
  const o = registered(await gm.register({ group: 'inband' }));
  assert.equal(o.result.rekeySa, undefined);
  assert.equal(o.keys.workingKeyPath.length, 0);
  assert.equal(o.result.dataSecurity.length, 1);
  await w.world.advance(5000);
  assert.equal(gm.sa?.phase, 'established', 'the IKE SA of an in-band group is kept (§2.4.2)');
});

test('linger: the GCKS closes a registration IKE SA after its last request (multicast rekey groups)', async () => {
  const w = new GcksWorld({ lingerMs: 1000 });
  const g = w.group('g1', gcmPolicy(1));
  const gm = w.gm(w.pskMember('gm', [g]));
  registered(await gm.register({ group: 'g1' }));
  await w.world.advance(500);
  assert.equal(gm.sa?.phase, 'established');
  await w.world.advance(1000);
  assert.equal(gm.sa, undefined, 'deleted by the GCKS');
  assert.equal(w.gcks.engine.list().length, 0);
  assert.equal(w.store.registrations.countForGroup(g), 1, 'the registration itself stays');
});

test('GSA_INITIAL_MESSAGE_ID: sent with the current Rekey SA once rekeys went out, never 0', async () => {
  const w = new GcksWorld();
  const g = w.group('g1', gcmPolicy(1));
  const m = w.pskMember('gm', [g]);
  const attr = (o: Outcome) => parseGsaPolicyAttributes(registered(o).gsa.policies.filter(isGsaPolicy)[0]!, 'registration').initialMessageId;
  assert.equal(attr(await w.gm(m).register({ group: 'g1' })), undefined, 'joiner gets the batch Rekey SA: no rekey on it yet');
  assert.ok(w.registrar.commit(g), 'the joins of the batch are committed');
  w.registrar.groupKeys(g)!.setRekeyMessageId(5);
  assert.equal(attr(await w.gm(m).register({ group: 'g1' })), 5);
});
