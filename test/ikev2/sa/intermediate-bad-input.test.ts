/**
 * Bad input around IKE_INTERMEDIATE (RFC 9242, RFC 9370 §2.2.2, RFC 7296 §2.3, §2.21): each
 * request is answered with the right notify or dropped silently. Dropped input changes no
 * state (keys, IntAuth, rounds) and the genuine exchange completes afterwards; an
 * authenticated but malformed request before IKE_AUTH is answered, then the half-open SA is
 * deleted (§2.21.2). The initiator side gets the same treatment for responses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createInitiatorKe } from '../../../src/ikev2/crypto/ke.ts';
import { protectMessage, unprotectMessage } from '../../../src/ikev2/crypto/encrypted-message.ts';
import { ExchangeType, HeaderFlag, IdType, KeId, NotifyType, PayloadType } from '../../../src/ikev2/registry/index.ts';
import { decodeMessage, notify, type KePayload, type Payload } from '../../../src/ikev2/wire/index.ts';
import type { IkeSa } from '../../../src/ikev2/sa/ike-sa.ts';
import { AES128GCM, ep, eventsOf, pair, type Packet } from './support/harness.ts';
import { exchanges, hybrid, isExchange } from './support/intermediate.ts';

const I = '10.0.0.1';
const R = '10.0.0.2';

type Stage =
  /** Hybrid: IKE_SA_INIT done, the IKE_INTERMEDIATE request held back. */
  | 'round-1'
  /** Hybrid: IKE_INTERMEDIATE done, IKE_AUTH held back. */
  | 'rounds-done'
  | 'established'
  /** Plain X25519 (no IKE_INTERMEDIATE negotiated), IKE_AUTH held back. */
  | 'classic';

type Expect = { readonly notify: number } | 'silent';

interface Ctx {
  readonly isa: IkeSa;
  readonly nextMid: number;
  protect(exchangeType: number, messageId: number, payloads: Payload[], flags?: number): Buffer;
}

interface Case {
  readonly name: string;
  readonly stage: Stage;
  craft(ctx: Ctx): Buffer;
  readonly expect: Expect;
  readonly after: 'same' | 'closed';
}

const ek = (): Buffer => createInitiatorKe(KeId.ML_KEM_768).publicData();
const ke = (method: number, data: Buffer): KePayload => ({ type: PayloadType.KE, method, data });
/** FIPS 203 §7.2: the first 12-bit coefficient 0xfff ≥ q = 3329 fails the modulus check. */
const overflowEk = (): Buffer => {
  const b = ek();
  b[0] = 0xff;
  b[1] = 0x0f | (b[1]! & 0xf0);
  return b;
};
const flip = (d: Buffer, at: number): Buffer => {
  const b = Buffer.from(d);
  b[at]! ^= 1;
  return b;
};
const idi: Payload = { type: PayloadType.IDi, idType: IdType.ID_FQDN, data: Buffer.from('member.example') };
const auth: Payload = { type: PayloadType.AUTH, method: 2, data: randomBytes(32) };
const INT = ExchangeType.IKE_INTERMEDIATE;

const cases: Case[] = [
  // --- round 1 pending ---
  { name: 'IKE_INTERMEDIATE above the window (MID 2)', stage: 'round-1', craft: (c) => c.protect(INT, 2, [ke(KeId.ML_KEM_768, ek())]), expect: 'silent', after: 'same' },
  { name: 'IKE_INTERMEDIATE below the window (MID 0)', stage: 'round-1', craft: (c) => c.protect(INT, 0, [ke(KeId.ML_KEM_768, ek())]), expect: 'silent', after: 'same' },
  { name: 'IKE_INTERMEDIATE with a corrupted ICV', stage: 'round-1', craft: (c) => flip(c.protect(INT, 1, [ke(KeId.ML_KEM_768, ek())]), 60), expect: 'silent', after: 'same' },
  { name: 'IKE_INTERMEDIATE flagged as a response', stage: 'round-1', craft: (c) => c.protect(INT, 1, [ke(KeId.ML_KEM_768, ek())], HeaderFlag.INITIATOR | HeaderFlag.RESPONSE), expect: 'silent', after: 'same' },
  { name: 'IKE_INTERMEDIATE with the I flag cleared', stage: 'round-1', craft: (c) => c.protect(INT, 1, [ke(KeId.ML_KEM_768, ek())], 0), expect: { notify: NotifyType.INVALID_IKE_SPI }, after: 'same' },
  {
    name: 'KE of another method than the round (X25519 for ML-KEM-768): INVALID_SYNTAX, not INVALID_KE_PAYLOAD',
    stage: 'round-1',
    craft: (c) => c.protect(INT, 1, [ke(KeId.CURVE25519, createInitiatorKe(KeId.CURVE25519).publicData())]),
    expect: { notify: NotifyType.INVALID_SYNTAX },
    after: 'closed',
  },
  { name: 'KE method NONE', stage: 'round-1', craft: (c) => c.protect(INT, 1, [ke(KeId.NONE, ek())]), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'closed' },
  { name: 'truncated ek (1183 of 1184 octets)', stage: 'round-1', craft: (c) => c.protect(INT, 1, [ke(KeId.ML_KEM_768, ek().subarray(1))]), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'closed' },
  { name: 'over-long ek (1185 octets)', stage: 'round-1', craft: (c) => c.protect(INT, 1, [ke(KeId.ML_KEM_768, Buffer.concat([ek(), Buffer.of(0)]))]), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'closed' },
  { name: 'ek failing the FIPS 203 modulus check (digest B.3)', stage: 'round-1', craft: (c) => c.protect(INT, 1, [ke(KeId.ML_KEM_768, overflowEk())]), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'closed' },
  { name: 'IKE_INTERMEDIATE without KE', stage: 'round-1', craft: (c) => c.protect(INT, 1, [notify(40000)]), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'closed' },
  { name: 'IKE_INTERMEDIATE with two KE payloads', stage: 'round-1', craft: (c) => c.protect(INT, 1, [ke(KeId.ML_KEM_768, ek()), ke(KeId.ML_KEM_768, ek())]), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'closed' },
  {
    name: 'IKE_INTERMEDIATE with an unknown critical payload',
    stage: 'round-1',
    craft: (c) => c.protect(INT, 1, [ke(KeId.ML_KEM_768, ek()), { type: 'unknown', wireType: 200, critical: true, body: Buffer.from('x') }]),
    expect: { notify: NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD },
    after: 'closed',
  },
  { name: 'IKE_AUTH skipping the additional key exchange (downgrade)', stage: 'round-1', craft: (c) => c.protect(ExchangeType.IKE_AUTH, 1, [idi, auth]), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'closed' },
  // --- every round done, IKE_AUTH awaited ---
  { name: 'a KE in an IKE_INTERMEDIATE beyond the negotiated rounds', stage: 'rounds-done', craft: (c) => c.protect(INT, 2, [ke(KeId.ML_KEM_768, ek())]), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'closed' },
  { name: 'IKE_INTERMEDIATE replayed with new content (MID 1)', stage: 'rounds-done', craft: (c) => c.protect(INT, 1, [ke(KeId.ML_KEM_768, ek())]), expect: 'silent', after: 'same' },
  // --- no IKE_INTERMEDIATE negotiated ---
  { name: 'IKE_INTERMEDIATE on an SA that did not negotiate it', stage: 'classic', craft: (c) => c.protect(INT, 1, [ke(KeId.ML_KEM_768, ek())]), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'closed' },
  // --- established ---
  { name: 'IKE_INTERMEDIATE after IKE_AUTH (INVALID_SYNTAX, SA kept)', stage: 'established', craft: (c) => c.protect(INT, c.nextMid, [ke(KeId.ML_KEM_768, ek())]), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'same' },
];

function setup(stage: Stage) {
  const proposals = stage === 'classic' ? [AES128GCM] : [hybrid([KeId.ML_KEM_768])];
  return pair({ initiator: { proposals }, responder: { proposals }, responderInit: { proposals } });
}

const holdBack: Record<Stage, ((p: Packet) => boolean) | undefined> = {
  'round-1': (p) => isExchange(p, INT, false),
  'rounds-done': (p) => isExchange(p, ExchangeType.IKE_AUTH, false),
  classic: (p) => isExchange(p, ExchangeType.IKE_AUTH, false),
  established: undefined,
};

/** What must not change: phase, keys, IntAuth, rounds. */
const snapshot = (sa: IkeSa | undefined) =>
  sa && { phase: sa.phase, skD: Buffer.from(sa.requireCrypto().keys.skD), intAuth: sa.intAuthValue(), rounds: sa.additionalKeRounds };

for (const c of cases) {
  test(`IKE_INTERMEDIATE bad input: ${c.name}`, async () => {
    const { world, r, start } = setup(c.stage);
    const isa = start();
    const hold = holdBack[c.stage];
    world.net.filter = hold && ((p) => (hold(p) ? false : p));
    await world.advance();
    world.net.filter = undefined;
    const rsa = r.engine.get(isa.spiR.toString('hex'));
    const before = snapshot(rsa);
    const ctx: Ctx = {
      isa,
      nextMid: isa.requester.nextMessageId,
      protect(exchangeType, messageId, payloads, flags = HeaderFlag.INITIATOR) {
        const crypto = isa.requireCrypto();
        return protectMessage({ spiI: isa.spiI, spiR: isa.spiR, exchangeType, flags, messageId }, payloads, crypto.outbound, crypto.ivs);
      },
    };
    const mark = world.net.sent.length;
    world.net.filter = (p) => (p.to.ip === I ? false : p); // replies are inspected, not delivered
    world.net.inject({ datagram: c.craft(ctx), from: ep(I), to: ep(R) });
    await world.net.flush();
    world.net.filter = undefined;
    const replies = world.net.sent.slice(mark).filter((p) => p.from.ip === R);
    if (c.expect === 'silent') {
      assert.equal(replies.length, 0, 'dropped silently');
    } else {
      assert.equal(replies.length, 1, 'one answer');
      const m = decodeMessage(replies[0]!.datagram);
      assert.ok(m.header.flags & HeaderFlag.RESPONSE);
      const payloads = m.payloads.at(-1)?.type === PayloadType.SK ? unprotectMessage(m, isa.requireCrypto().inbound).inner : m.payloads;
      assert.equal(payloads.length, 1);
      assert.ok(payloads[0]!.type === PayloadType.NOTIFY);
      assert.equal(payloads[0]!.notifyType, c.expect.notify);
    }
    if (c.after === 'closed') {
      assert.equal(r.engine.list().length, 0, 'the half-open SA is deleted');
      return;
    }
    assert.deepEqual(snapshot(rsa), before, 'no state change');
    // The genuine request held back is retransmitted and the SA comes up.
    await world.advance(4000);
    assert.equal(isa.phase, 'established');
    assert.equal(rsa!.phase, 'established');
    assert.deepEqual(isa.requireCrypto().keys, rsa!.requireCrypto().keys);
  });
}

// --- the initiator's side: IKE_INTERMEDIATE responses ---------------------------------------

interface ResponseCase {
  readonly name: string;
  readonly payloads: () => Payload[];
  readonly corrupt?: boolean;
  /** 'fails': the IKE SA closes with an error; 'ignored': the genuine response still works. */
  readonly outcome: 'fails' | 'ignored';
}

const responseCases: ResponseCase[] = [
  { name: 'KEr of another method', payloads: () => [ke(KeId.CURVE25519, createInitiatorKe(KeId.CURVE25519).publicData())], outcome: 'fails' },
  { name: 'truncated ciphertext (1087 of 1088 octets)', payloads: () => [ke(KeId.ML_KEM_768, randomBytes(1087))], outcome: 'fails' },
  { name: 'no KEr', payloads: () => [], outcome: 'fails' },
  { name: 'an error notify (NO_PROPOSAL_CHOSEN, as strongSwan answers a bad ek)', payloads: () => [notify(NotifyType.NO_PROPOSAL_CHOSEN)], outcome: 'fails' },
  { name: 'a corrupted ICV', payloads: () => [ke(KeId.ML_KEM_768, randomBytes(1088))], corrupt: true, outcome: 'ignored' },
];

for (const c of responseCases) {
  test(`IKE_INTERMEDIATE bad response: ${c.name}`, async () => {
    const { world, i, start } = setup('round-1');
    const isa = start();
    world.net.filter = (p) => (isExchange(p, INT, true) ? false : p);
    await world.advance();
    world.net.filter = undefined;
    assert.equal(isa.additionalKeRounds, 0);
    // The responder already moved to keys(1); the initiator still opens keys(0): its inbound
    // cipher is the responder's old outbound one.
    const { inbound, ivs } = isa.requireCrypto();
    const header = { spiI: isa.spiI, spiR: isa.spiR, exchangeType: INT, flags: HeaderFlag.RESPONSE, messageId: 1 };
    let forged = protectMessage(header, c.payloads(), inbound, ivs);
    if (c.corrupt) forged = flip(forged, forged.length - 2);
    world.net.inject({ datagram: forged, from: ep(R), to: ep(I) });
    await world.net.flush();
    if (c.outcome === 'fails') {
      assert.equal(isa.phase, 'closed');
      assert.ok(eventsOf(i, 'error').length > 0);
      return;
    }
    assert.equal(isa.phase, 'keyed');
    assert.equal(isa.additionalKeRounds, 0);
    assert.equal(isa.intAuth, undefined);
    await world.advance(4000); // our retransmission gets the cached genuine response
    assert.equal(isa.phase, 'established');
    assert.deepEqual(exchanges(world.net).filter((e) => e.startsWith('43/')), ['43/1/q', '43/1/q', '43/1/r', '43/1/q', '43/1/q', '43/1/r']);
  });
}
