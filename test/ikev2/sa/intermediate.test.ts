/**
 * IKE_INTERMEDIATE (RFC 9242) with RFC 9370 additional key exchanges, ours to ours: hybrid
 * X25519 + ML-KEM-768 (PSK and signatures), two rounds, ML-KEM alone, optional rounds and
 * peers without support, fragmentation at 1280, IntAuth coverage, GSA_AUTH after
 * IKE_INTERMEDIATE, and byte-level recomputation of A|P, IntAuth, keys(n) and AUTH.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createInitiatorKeForTest } from '../../../src/ikev2/crypto/ke.ts';
import { protectMessage, unprotectMessage } from '../../../src/ikev2/crypto/encrypted-message.ts';
import { EncrId, ExchangeType, KeId, NotifyType, PayloadType, PrfId, TransformType } from '../../../src/ikev2/registry/index.ts';
import { decodeMessage, notify, type AuthPayload, type IdiPayload, type IdrPayload, type KePayload, type Payload, type SaPayload } from '../../../src/ikev2/wire/index.ts';
import { additionalKeHooks, DEFAULT_IKE_PROPOSALS } from '../../../src/ikev2/sa/additional-ke.ts';
import { localAuthPayloads, verifyPeerAuth } from '../../../src/ikev2/sa/auth.ts';
import { DEFAULT_SIGNATURE_HASHES, type PeerConfig } from '../../../src/ikev2/sa/config.ts';
import { idPayload, identityOf } from '../../../src/ikev2/sa/identity.ts';
import { numberedProposals, selectProposal } from '../../../src/ikev2/sa/proposals.ts';
import type { IkeSaKeys } from '../../../src/ikev2/crypto/keys.ts';
import type { IkeSa } from '../../../src/ikev2/sa/ike-sa.ts';
import type { InitiatorTask, ResponderHandler, TaskContext } from '../../../src/ikev2/sa/task.ts';
import { AES128GCM, authAt, ep, eventsOf, ike, pair, PSK, pskInitiator, pskResponder, World, type Packet } from './support/harness.ts';
import { aAndP, copyKeys, exchanges, GCM128, hmac, hybrid, isExchange, keysFrom, openGcm } from './support/intermediate.ts';

const X25519_MLKEM768 = hybrid([KeId.ML_KEM_768]);
const hybridPair = (extra: Parameters<typeof pair>[0] = {}, proposals = [X25519_MLKEM768]) =>
  pair({ ...extra, initiator: { proposals, ...extra.initiator }, responder: { proposals, ...extra.responder }, responderInit: { proposals, ...extra.responderInit } });

const keOf = (p: readonly Payload[]) => p.find((x): x is KePayload => x.type === PayloadType.KE);
const hasIntermediateNotify = (d: Buffer) => decodeMessage(d).payloads.some((p) => p.type === PayloadType.NOTIFY && p.notifyType === NotifyType.INTERMEDIATE_EXCHANGE_SUPPORTED);

test('hybrid X25519 + ML-KEM-768 with PSK: IKE_SA_INIT, IKE_INTERMEDIATE (MID 1), IKE_AUTH (MID 2)', async () => {
  const { world, i, r, start } = hybridPair();
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'established');
  assert.deepEqual([...eventsOf(i, 'error'), ...eventsOf(r, 'error')], []);
  // The 1,249-octet request exceeds the default fragment size (1200): two SKF fragments.
  assert.deepEqual(exchanges(world.net), ['34/0/q', '34/0/r', '43/1/q', '43/1/q', '43/1/r', '35/2/q', '35/2/r']);
  const [initReq, initRes] = world.net.sent;
  assert.ok(hasIntermediateNotify(initReq!.datagram) && hasIntermediateNotify(initRes!.datagram), 'INTERMEDIATE_EXCHANGE_SUPPORTED both ways');
  const chosen = (decodeMessage(initRes!.datagram).payloads.find((p) => p.type === PayloadType.SA) as SaPayload).proposals[0]!;
  assert.deepEqual(chosen.transforms.filter((t) => t.transformType === TransformType.ADDKE1).map((t) => t.transformId), [KeId.ML_KEM_768]);
  assert.equal(eventsOf(i, 'ike_up')[0]?.ike.suite?.['ke'], 'CURVE25519+ML_KEM_768');
  const rsa = r.engine.get(sa.spiR.toString('hex'))!;
  assert.deepEqual(sa.requireCrypto().keys, rsa.requireCrypto().keys);
  assert.deepEqual(authAt(i, sa).keys, authAt(r, rsa).keys);
  assert.equal(sa.additionalKeRounds, 1);
  assert.equal(rsa.additionalKeRounds, 1);
  assert.deepEqual(authAt(i, sa).intAuthValue, authAt(r, rsa).intAuthValue);
  assert.ok(authAt(i, sa).intAuthValue);
  assert.equal(authAt(i, sa).intAuth?.ikeAuthMessageId, 2);
  assert.equal(sa.intAuth, undefined, 'IntAuth forgotten once authenticated');
  assert.throws(() => sa.requireInit(), /no IKE_SA_INIT record/, 'so is the IKE_SA_INIT record');
  assert.equal(sa.requireCrypto().keys.skPi.length + sa.requireCrypto().keys.skPr.length, 0, 'and SK_pi/SK_pr');
  // The Child SA of IKE_AUTH is keyed from the final SK_d.
  assert.ok(i.sink.installed[0]!.outbound.encKey.equals(r.sink.installed[0]!.inbound.encKey));
});

test('hybrid X25519 + ML-KEM-768 with RFC 7427 signatures (Ed25519 raw keys)', async () => {
  const a = generateKeyPairSync('ed25519');
  const b = generateKeyPairSync('ed25519');
  const { world, r, start } = hybridPair({
    initiator: { localAuth: { method: 'signature', privateKey: a.privateKey }, remoteAuth: { method: 'signature', publicKeys: [b.publicKey] } },
    responder: { localAuth: { method: 'signature', privateKey: b.privateKey }, remoteAuth: { method: 'signature', publicKeys: [a.publicKey] } },
  });
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'established');
  assert.equal(eventsOf(r, 'ike_up').length, 1);
  assert.ok(exchanges(world.net).includes('43/1/r'));
});

test('two additional rounds (ADDKE1 ML-KEM-768, ADDKE2 ECP-384): IKE_INTERMEDIATE MIDs 1 and 2, IKE_AUTH MID 3', async () => {
  const { world, i, r, start } = hybridPair({}, [hybrid([KeId.ML_KEM_768, KeId.ECP384])]);
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'established');
  assert.deepEqual(exchanges(world.net), ['34/0/q', '34/0/r', '43/1/q', '43/1/q', '43/1/r', '43/2/q', '43/2/r', '35/3/q', '35/3/r']);
  assert.equal(eventsOf(i, 'ike_up')[0]?.ike.suite?.['ke'], 'CURVE25519+ML_KEM_768+ECP384');
  assert.equal(authAt(i, sa).intAuth?.ikeAuthMessageId, 3);
  assert.deepEqual(sa.requireCrypto().keys, r.engine.get(sa.spiR.toString('hex'))!.requireCrypto().keys);
});

test('hybrid after a COOKIE round and an INVALID_KE_PAYLOAD round: AUTH signs the last IKE_SA_INIT request', async () => {
  // The initiator sends ECP-256 first; the responder accepts only X25519 and wants a cookie.
  const offer = [ike(GCM128, [KeId.ECP256, KeId.CURVE25519], PrfId.HMAC_SHA2_256, { addke: [KeId.ML_KEM_768] })];
  const { world, i, r, start } = pair({
    initiator: { proposals: offer },
    responder: { proposals: [X25519_MLKEM768] },
    responderInit: { proposals: [X25519_MLKEM768] },
    responderOptions: { halfOpenThreshold: 0 },
  });
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'established');
  assert.deepEqual(exchanges(world.net), ['34/0/q', '34/0/r', '34/0/q', '34/0/r', '34/0/q', '34/0/r', '43/1/q', '43/1/q', '43/1/r', '35/2/q', '35/2/r']);
  assert.ok(authAt(i, sa).init?.requestBytes.equals(world.net.sent[4]!.datagram), 'RealMessage1 is the third request');
  assert.equal(eventsOf(r, 'ike_up')[0]?.ike.suite?.['ke'], 'CURVE25519+ML_KEM_768');
});

test('lost datagrams: fragment 2 of the IKE_INTERMEDIATE request, then the response; retransmissions complete the round once', async () => {
  const { world, r, start } = hybridPair();
  const sa = start();
  let droppedFragment = false;
  let droppedResponse = false;
  world.net.filter = (p) => {
    if (!droppedFragment && isExchange(p, ExchangeType.IKE_INTERMEDIATE, false) && p.datagram.readUInt16BE(32) === 2) return (droppedFragment = true) && false;
    if (!droppedResponse && isExchange(p, ExchangeType.IKE_INTERMEDIATE, true)) return (droppedResponse = true) && false;
    return p;
  };
  await world.advance(20_000);
  assert.ok(droppedFragment && droppedResponse);
  assert.equal(sa.phase, 'established');
  const rsa = r.engine.get(sa.spiR.toString('hex'))!;
  assert.equal(rsa.additionalKeRounds, 1, 'the responder answered the retransmission from its cache, no second round');
  assert.deepEqual(sa.requireCrypto().keys, rsa.requireCrypto().keys);
});

test('ML-KEM-768 alone in IKE_SA_INIT (type 4 = 36): no IKE_INTERMEDIATE', async () => {
  const proposals = [ike(GCM128, KeId.ML_KEM_768)];
  const { world, i, start } = hybridPair({}, proposals);
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'established');
  assert.deepEqual(exchanges(world.net), ['34/0/q', '34/0/r', '35/1/q', '35/1/r']);
  const [req, res] = world.net.sent.map((p) => decodeMessage(p.datagram));
  assert.equal(keOf(req!.payloads)?.data.length, 1184, 'KEi = ek');
  assert.equal(keOf(res!.payloads)?.data.length, 1088, 'KEr = ciphertext');
  assert.ok(!hasIntermediateNotify(world.net.sent[0]!.datagram) && !hasIntermediateNotify(world.net.sent[1]!.datagram));
  assert.equal(eventsOf(i, 'ike_up')[0]?.ike.suite?.['ke'], 'ML_KEM_768');
  assert.equal(authAt(i, sa).intAuthValue, undefined);
});

test('optional round declined: ADDKE1 {ML-KEM-768, NONE} against a responder choosing NONE', async () => {
  const { world, start } = pair({
    initiator: { proposals: [hybrid([[KeId.ML_KEM_768, KeId.NONE]])] },
    responder: { proposals: [hybrid([KeId.NONE])] },
    responderInit: { proposals: [hybrid([KeId.NONE])] },
  });
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'established');
  assert.deepEqual(exchanges(world.net), ['34/0/q', '34/0/r', '35/1/q', '35/1/r']);
  const chosen = (decodeMessage(world.net.sent[1]!.datagram).payloads.find((p) => p.type === PayloadType.SA) as SaPayload).proposals[0]!;
  assert.deepEqual(chosen.transforms.filter((t) => t.transformType === TransformType.ADDKE1).map((t) => t.transformId), [KeId.NONE]);
  assert.ok(hasIntermediateNotify(world.net.sent[0]!.datagram), 'offered');
  assert.ok(!hasIntermediateNotify(world.net.sent[1]!.datagram), 'not selected: not announced (strongSwan behaviour)');
  assert.equal(sa.extensions.intermediate, false);
});

test('peer without RFC 9370: optional round falls back to a plain IKE SA, a required one gets NO_PROPOSAL_CHOSEN', async () => {
  const classic = { responder: { proposals: [AES128GCM] }, responderInit: { proposals: [AES128GCM] } };
  const optional = pair({ ...classic, initiator: { proposals: [hybrid([[KeId.ML_KEM_768, KeId.NONE]])] } });
  const sa = optional.start();
  await optional.world.advance();
  assert.equal(sa.phase, 'established');
  assert.deepEqual(exchanges(optional.world.net), ['34/0/q', '34/0/r', '35/1/q', '35/1/r']);
  assert.equal(eventsOf(optional.i, 'ike_up')[0]?.ike.suite?.['ke'], 'CURVE25519');

  const required = pair({ ...classic, initiator: { proposals: [X25519_MLKEM768] } });
  const failed = required.start();
  await required.world.advance();
  assert.equal(failed.phase, 'closed');
  assert.equal(eventsOf(required.i, 'error')[0]?.notify, NotifyType.NO_PROPOSAL_CHOSEN);
  assert.equal(required.r.engine.list().length, 0);
});

test('default member proposals: hybrid with a peer that agrees, plain X25519 with one that does not', async () => {
  const agree = pair({ initiator: { proposals: DEFAULT_IKE_PROPOSALS }, responder: { proposals: DEFAULT_IKE_PROPOSALS }, responderInit: { proposals: DEFAULT_IKE_PROPOSALS } });
  agree.start();
  await agree.world.advance();
  assert.deepEqual(eventsOf(agree.i, 'ike_up')[0]?.ike.suite, { encr: 'AES_GCM_16/256', prf: 'HMAC_SHA2_384', ke: 'CURVE25519+ML_KEM_768' });
  const plain = [ike({ id: EncrId.AES_GCM_16, keyLength: 256 }, KeId.CURVE25519, PrfId.HMAC_SHA2_384)];
  const legacy = pair({ initiator: { proposals: DEFAULT_IKE_PROPOSALS }, responder: { proposals: plain }, responderInit: { proposals: plain } });
  legacy.start();
  await legacy.world.advance();
  assert.deepEqual(eventsOf(legacy.i, 'ike_up')[0]?.ike.suite, { encr: 'AES_GCM_16/256', prf: 'HMAC_SHA2_384', ke: 'CURVE25519' });
  assert.ok(!exchanges(legacy.world.net).some((e) => e.startsWith('43/')));
});

test('responder selection (RFC 9370 §2.2.1): one ID per ADDKE type; without the initiator\'s INTERMEDIATE_EXCHANGE_SUPPORTED only NONE', () => {
  const ours = numberedProposals([hybrid([[KeId.ML_KEM_768, KeId.NONE]])]);
  const offered = numberedProposals([hybrid([[KeId.ML_KEM_1024, KeId.ML_KEM_768, KeId.NONE]])]);
  const pick = (o: typeof offered, additionalKe?: boolean) =>
    selectProposal(o, ours, { protocolId: 1, ...(additionalKe === undefined ? {} : { additionalKe }) }).transforms.filter((t) => t.transformType === TransformType.ADDKE1).map((t) => t.transformId);
  assert.deepEqual(pick(offered), [KeId.ML_KEM_768]);
  assert.deepEqual(pick(offered, false), [KeId.NONE]);
  const mandatory = numberedProposals([X25519_MLKEM768]);
  assert.throws(() => selectProposal(mandatory, ours, { protocolId: 1, additionalKe: false }), { code: 'GKM_IKE_NO_PROPOSAL_CHOSEN' });
});

test('fragmentation at 1280: the IKE_INTERMEDIATE request carrying the ML-KEM-768 ek (strongSwan: ~1250 B)', async () => {
  // 1280-octet IPv4 packets on 4500: IP 20 + UDP 8 + non-ESP marker 4 leave 1248 for IKE.
  const IKE_BUDGET = 1280 - 20 - 8 - 4;
  const { world, start } = hybridPair({ initiator: { natTraversal: 'always' }, options: { fragmentSize: IKE_BUDGET } });
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'established');
  assert.equal(sa.remote.port, 4500);
  const request = world.net.sent.filter((p) => isExchange(p, ExchangeType.IKE_INTERMEDIATE, false));
  assert.equal(request.length, 2, 'two SKF fragments');
  for (const f of request) {
    assert.equal(f.datagram[16], PayloadType.SKF);
    assert.ok(f.datagram.length <= IKE_BUDGET, `${f.datagram.length} <= ${IKE_BUDGET}`);
  }
  // Unfragmented it would be: header 28 + SK header 4 + IV 8 + KE (8 + 1184) + Pad Length 1 + ICV 16.
  assert.equal(28 + 4 + 8 + 8 + 1184 + 1 + 16, 1249);
  assert.ok(1249 > IKE_BUDGET);
  const response = world.net.sent.filter((p) => isExchange(p, ExchangeType.IKE_INTERMEDIATE, true));
  assert.equal(response.length, 1, 'the 1088-octet ciphertext fits');
});

/**
 * A man in the middle who broke keys(0) re-encrypts the first IKE_INTERMEDIATE message in one
 * direction with one extra status notify. The receiver still holds keys(0) when the message
 * arrives, and its inbound cipher is the sender's outbound one.
 */
function tamperIntermediate(world: World, response: boolean, receiver: () => IkeSa): void {
  let done = false;
  world.net.filter = (p: Packet) => {
    if (done || !isExchange(p, ExchangeType.IKE_INTERMEDIATE, response)) return p;
    done = true;
    const m = decodeMessage(p.datagram);
    const { inbound, ivs } = receiver().requireCrypto();
    const inner = unprotectMessage(m, inbound).inner;
    return { ...p, datagram: protectMessage(m.header, [...inner, notify(40000)], inbound, ivs) };
  };
}

test('a tampered IKE_INTERMEDIATE (attacker holding keys(0)) makes AUTH fail: IntAuth covers it', async () => {
  for (const response of [false, true]) {
    const { world, i, r, start } = hybridPair({ options: { fragmentSize: 4000 } });
    const sa = start();
    tamperIntermediate(world, response, () => (response ? sa : r.engine.list()[0]!));
    await world.advance();
    assert.equal(sa.phase, 'closed', `tampered ${response ? 'response' : 'request'}`);
    assert.equal(r.engine.list().length, 0);
    // Both signed octets carry IntAuth_i | IntAuth_r: the responder, checking first, fails
    // either way and answers AUTHENTICATION_FAILED.
    assert.equal(eventsOf(r, 'error')[0]?.code, 'GKM_IKE_AUTHENTICATION_FAILED');
    assert.equal(eventsOf(i, 'error')[0]?.notify, NotifyType.AUTHENTICATION_FAILED);
    assert.ok(exchanges(world.net).includes('43/1/r'), 'the IKE_INTERMEDIATE itself was accepted');
  }
});

/** A stand-in for the member's GSA_AUTH task (RFC 9838 §2.3): the same authOctets as IKE_AUTH. */
class GsaAuthTask implements InitiatorTask {
  readonly name = 'GSA_AUTH';
  readonly exchangeType = ExchangeType.GSA_AUTH;
  readonly phases = ['keyed'] as const;
  readonly critical = true;
  constructor(private readonly config: PeerConfig) {}
  buildRequest(ctx: TaskContext): Payload[] {
    const idi = idPayload(PayloadType.IDi, this.config.localId);
    return [idi, localAuthPayloads(ctx.sa, this.config.localAuth, 'initiator', idi).auth];
  }
  processResponse(ctx: TaskContext, res: { payloads: readonly Payload[] }) {
    const idr = res.payloads.find((p): p is IdrPayload => p.type === PayloadType.IDr)!;
    const auth = res.payloads.find((p): p is AuthPayload => p.type === PayloadType.AUTH)!;
    verifyPeerAuth(ctx.sa, this.config.remoteAuth, 'responder', { id: idr, auth, certs: [], acceptedHashes: DEFAULT_SIGNATURE_HASHES, at: new Date() });
    ctx.establish({ config: this.config, localId: this.config.localId, remoteId: identityOf(idr) });
    return 'done' as const;
  }
}

const gsaAuthResponder: ResponderHandler = {
  exchangeType: ExchangeType.GSA_AUTH,
  phases: ['keyed'],
  handle(ctx, req) {
    const idi = req.payloads.find((p): p is IdiPayload => p.type === PayloadType.IDi)!;
    const auth = req.payloads.find((p): p is AuthPayload => p.type === PayloadType.AUTH)!;
    const config = ctx.responderPolicy!.resolvePeer({ id: identityOf(idi), remote: req.remote, local: req.local })!;
    verifyPeerAuth(ctx.sa, config.remoteAuth, 'initiator', { id: idi, auth, certs: [], acceptedHashes: DEFAULT_SIGNATURE_HASHES, at: new Date() });
    ctx.establish({ config, localId: config.localId, remoteId: identityOf(idi) });
    const idr = idPayload(PayloadType.IDr, config.localId);
    return { payloads: [idr, localAuthPayloads(ctx.sa, config.localAuth, 'responder', idr).auth] };
  },
};

test('GSA_AUTH (RFC 9838) after IKE_INTERMEDIATE: the pluggable task and handler sign the IntAuth chain like IKE_AUTH', async () => {
  const world = new World();
  const proposals = [X25519_MLKEM768];
  const gcks = world.engine('10.0.0.2', { responder: pskResponder({ proposals }, { proposals }), options: { livenessIntervalMs: 0 } });
  gcks.engine.registerResponder(gsaAuthResponder);
  const member = world.engine('10.0.0.1', { options: { livenessIntervalMs: 0 } });
  const config = pskInitiator({ proposals, children: [], authTask: () => new GsaAuthTask(config) });
  const sa = member.engine.initiate(config, ep('10.0.0.2'), ep('10.0.0.1'));
  await world.advance();
  assert.equal(sa.phase, 'established');
  assert.deepEqual(exchanges(world.net), ['34/0/q', '34/0/r', '43/1/q', '43/1/q', '43/1/r', '39/2/q', '39/2/r']);
  assert.equal(eventsOf(gcks, 'ike_up').length, 1);
  assert.equal(authAt(member, sa).intAuth?.ikeAuthMessageId, 2, 'IKE_AUTH_MID is the GSA_AUTH MID');
});

// --- byte level -------------------------------------------------------------------------------

/** Deterministic private inputs for the ADDKE rounds, so the test can recompute SK(n). */
const PRIVATE_INPUT: Readonly<Record<number, Buffer>> = {
  [KeId.ML_KEM_768]: Buffer.alloc(64, 0x5a),
  [KeId.ECP384]: Buffer.alloc(48, 0x11),
};

for (const rounds of [[KeId.ML_KEM_768], [KeId.ML_KEM_768, KeId.ECP384]]) {
  test(`byte level, ${rounds.length} round(s): A|P, IntAuth chain, keys(n) and AUTH recomputed from the wire`, async () => {
    const saved = additionalKeHooks.createInitiatorKe;
    additionalKeHooks.createInitiatorKe = (m) => createInitiatorKeForTest(m, PRIVATE_INPUT[m]!);
    try {
      const { world, i, r, start } = hybridPair({}, [hybrid(rounds)]);
      const sa = start();
      // keys(n-1) as the initiator holds them when it sends round n (copies: old keys are wiped).
      const keysAtRound = new Map<number, IkeSaKeys>();
      world.net.filter = (p) => {
        const h = decodeMessage(p.datagram).header;
        if (isExchange(p, ExchangeType.IKE_INTERMEDIATE, false) && !keysAtRound.has(h.messageId)) keysAtRound.set(h.messageId, copyKeys(sa.requireCrypto().keys));
        return p;
      };
      await world.advance();
      assert.equal(sa.phase, 'established');
      const rsa = r.engine.get(sa.spiR.toString('hex'))!;
      const { ni, nr, requestBytes, responseBytes } = authAt(i, sa).init!;
      const of = (mid: number, response: boolean) => world.net.sent.filter((p) => isExchange(p, ExchangeType.IKE_INTERMEDIATE, response) && decodeMessage(p.datagram).header.messageId === mid).map((p) => p.datagram);

      let intAuthI: Buffer = Buffer.alloc(0);
      let intAuthR: Buffer = Buffer.alloc(0);
      let keys = keysAtRound.get(1)!;
      for (const [n, method] of rounds.entries()) {
        const mid = n + 1;
        assert.deepEqual(keysAtRound.get(mid), keys, `keys(${n}) in force for round ${mid}`);
        const req = openGcm(of(mid, false), keys.skEi);
        const res = openGcm(of(mid, true), keys.skEr);
        // A|P layout: lengths recomputed, SK (not SKF) for the reassembled request.
        const reqForm = aAndP(req);
        assert.equal(reqForm[16], PayloadType.SK);
        assert.equal(reqForm.readUInt32BE(24), reqForm.length);
        assert.equal(reqForm.readUInt16BE(30), reqForm.length - 28);
        assert.equal(reqForm[28], PayloadType.KE);
        intAuthI = hmac(keys.skPi, intAuthI, reqForm);
        intAuthR = hmac(keys.skPr, intAuthR, aAndP(res));
        // SK(n) from our deterministic private input and KEr(n), then keys(n) (RFC 9370 §2.2.2).
        const kei = keOf(req.payloads)!;
        const ker = keOf(res.payloads)!;
        assert.equal(kei.method, method);
        assert.equal(ker.method, method);
        const mine = createInitiatorKeForTest(method, PRIVATE_INPUT[method]!);
        assert.ok(mine.publicData().equals(kei.data));
        const secret = mine.complete(ker.data);
        keys = keysFrom(hmac(keys.skD, secret, ni, nr), ni, nr, sa.spiI, sa.spiR);
      }
      assert.deepEqual(authAt(i, sa).keys, keys, 'final keys');
      assert.deepEqual(authAt(r, rsa).keys, keys);
      const [ai, ar] = [authAt(i, sa).intAuth, authAt(r, rsa).intAuth];
      assert.ok(ai?.i?.equals(intAuthI) && ai.r?.equals(intAuthR));
      assert.ok(ar?.i?.equals(intAuthI) && ar.r?.equals(intAuthR));

      // AUTH (PSK, RFC 7296 §2.15 + RFC 9242 §3.3.2) with the final SK_p and IKE_AUTH_MID.
      const authMid = rounds.length + 1;
      const mid = Buffer.alloc(4);
      mid.writeUInt32BE(authMid);
      const intAuth = Buffer.concat([intAuthI, intAuthR, mid]);
      const authReq = openGcm(world.net.sent.filter((p) => isExchange(p, ExchangeType.IKE_AUTH, false)).map((p) => p.datagram), keys.skEi);
      const authRes = openGcm(world.net.sent.filter((p) => isExchange(p, ExchangeType.IKE_AUTH, true)).map((p) => p.datagram), keys.skEr);
      assert.equal(authReq.header.readUInt32BE(20), authMid);
      const idBody = (p: readonly Payload[], type: number) => {
        const id = p.find((x) => x.type === type) as IdiPayload;
        return Buffer.concat([Buffer.of(id.idType, 0, 0, 0), id.data]);
      };
      const pad = hmac(PSK, Buffer.from('Key Pad for IKEv2'));
      const authI = hmac(pad, requestBytes, nr, hmac(keys.skPi, idBody(authReq.payloads, PayloadType.IDi)), intAuth);
      const authR = hmac(pad, responseBytes, ni, hmac(keys.skPr, idBody(authRes.payloads, PayloadType.IDr)), intAuth);
      assert.ok((authReq.payloads.find((p) => p.type === PayloadType.AUTH) as AuthPayload).data.equals(authI));
      assert.ok((authRes.payloads.find((p) => p.type === PayloadType.AUTH) as AuthPayload).data.equals(authR));
    } finally {
      additionalKeHooks.createInitiatorKe = saved;
    }
  });
}
