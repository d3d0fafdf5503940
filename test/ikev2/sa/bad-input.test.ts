/**
 * Malformed, out-of-window and unauthenticated input (RFC 7296 §2.3, §2.5, §2.21): each case
 * is answered with the right notify or dropped silently, and never changes state; where the
 * SA survives, the genuine exchange still completes afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createInitiatorKe } from '../../../src/ikev2/crypto/ke.ts';
import { protectMessage, unprotectMessage } from '../../../src/ikev2/crypto/encrypted-message.ts';
import { ExchangeType, HeaderFlag, IdType, KeId, NotifyType, PayloadType, ProtocolId } from '../../../src/ikev2/registry/index.ts';
import { decodeMessage, encodeMessage, notify, type IkeHeader, type Payload } from '../../../src/ikev2/wire/index.ts';
import { buildProposal, natDetectionHash, NotifyData, type ProposalSpec } from '../../../src/ikev2/wire/payloads/index.ts';
import type { IkeSa } from '../../../src/ikev2/sa/ike-sa.ts';
import { AES128GCM, child, ep, esp, eventsOf, mirror, pair, range, type Packet } from './support/harness.ts';

type Stage = 'fresh' | 'keyed' | 'established';
type Expect = { readonly notify: number; readonly data?: Buffer } | 'silent';

interface Ctx {
  readonly isa: IkeSa | undefined;
  /** The initiator's next request MID (the responder's window). */
  readonly nextMid: number;
  /** A protected request from the initiator (its keys), MID and flags adjustable. */
  protect(exchangeType: number, messageId: number, payloads: Payload[], flags?: number): Buffer;
  /** A fresh IKE_SA_INIT request, its payloads passed through `edit`. */
  init(edit?: (p: Payload[]) => Payload[], header?: Partial<IkeHeader>): Buffer;
}

interface Case {
  readonly name: string;
  readonly stage: Stage;
  craft(ctx: Ctx): Buffer;
  readonly expect: Expect;
  /** 'same': the SA (if any) is unchanged and the real exchange completes; 'closed': no SA left. */
  readonly after: 'same' | 'closed';
  readonly options?: Parameters<typeof pair>[0];
  /** Runs once the SA is established, before the crafted message (e.g. a first rekey). */
  readonly prepare?: (p: ReturnType<typeof pair>, isa: IkeSa) => Promise<void>;
  /** The responder's error event must match: the refusal has the intended reason. */
  readonly reason?: RegExp;
}

const I = '10.0.0.1';
const R = '10.0.0.2';

function initPayloads(spiI: Buffer): Payload[] {
  const ke = createInitiatorKe(KeId.CURVE25519);
  return [
    { type: PayloadType.SA, proposals: [buildProposal({ ...AES128GCM, number: 1 })] },
    { type: PayloadType.KE, method: KeId.CURVE25519, data: ke.publicData() },
    { type: PayloadType.NONCE, nonce: randomBytes(32) },
    notify(NotifyType.NAT_DETECTION_SOURCE_IP, natDetectionHash(spiI, Buffer.alloc(8), I, 500)),
    notify(NotifyType.NAT_DETECTION_DESTINATION_IP, natDetectionHash(spiI, Buffer.alloc(8), R, 500)),
  ];
}

const without = (type: number) => (p: Payload[]) => p.filter((x) => x.type !== type);
const replace = (type: number, by: Payload) => (p: Payload[]) => p.map((x) => (x.type === type ? by : x));
const unknownPayload = (critical: boolean): Payload => ({ type: 'unknown', wireType: 200, critical, body: Buffer.from('hello') });
const idi: Payload = { type: PayloadType.IDi, idType: IdType.ID_FQDN, data: Buffer.from('member.example') };
const auth: Payload = { type: PayloadType.AUTH, method: 2, data: randomBytes(32) };

/** Rewrites bytes of an encoded message (header offsets are fixed; RFC 7296 §3.1). */
function patch(d: Buffer, fn: (b: Buffer) => void): Buffer {
  const b = Buffer.from(d);
  fn(b);
  return b;
}

const randomSpi = (): Buffer => Buffer.concat([Buffer.of(0x10), randomBytes(3)]);

/** Established with optimized rekey negotiated and the Child SA rekeyed once. */
const OPTIMIZED = { stage: 'established', options: { options: { optimizedRekey: true } }, prepare: rekeyFirstChild, after: 'same' } as const;

const cases: Case[] = [
  // --- no SA yet: IKE_SA_INIT and stray messages ---
  { name: 'datagram shorter than the IKE header', stage: 'fresh', craft: (c) => c.init().subarray(0, 20), expect: 'silent', after: 'same' },
  { name: 'IKE_SA_INIT with Length beyond the datagram', stage: 'fresh', craft: (c) => patch(c.init(), (b) => b.writeUInt32BE(b.length + 8, 24)), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'same' },
  { name: 'IKE_SA_INIT with trailing bytes after Length', stage: 'fresh', craft: (c) => Buffer.concat([c.init(), Buffer.alloc(4)]), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'same' },
  { name: 'major version 3 (RFC 7296 §2.5)', stage: 'fresh', craft: (c) => patch(c.init(), (b) => (b[17] = 0x30)), expect: { notify: NotifyType.INVALID_MAJOR_VERSION, data: Buffer.of(0x20) }, after: 'same' },
  { name: 'IKE_SA_INIT request with Message ID 1', stage: 'fresh', craft: (c) => c.init(undefined, { messageId: 1 }), expect: 'silent', after: 'same' },
  { name: 'IKE_SA_INIT request with SPIi zero', stage: 'fresh', craft: (c) => c.init(undefined, { spiI: Buffer.alloc(8) }), expect: 'silent', after: 'same' },
  { name: 'IKE_SA_INIT request without the I flag', stage: 'fresh', craft: (c) => c.init(undefined, { flags: 0 }), expect: 'silent', after: 'same' },
  { name: 'IKE_SA_INIT response for no SA of ours', stage: 'fresh', craft: (c) => c.init(undefined, { flags: HeaderFlag.RESPONSE }), expect: 'silent', after: 'same' },
  { name: 'IKE_SA_INIT without SA', stage: 'fresh', craft: (c) => c.init(without(PayloadType.SA)), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'same' },
  { name: 'IKE_SA_INIT without KE', stage: 'fresh', craft: (c) => c.init(without(PayloadType.KE)), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'same' },
  { name: 'IKE_SA_INIT without Nonce', stage: 'fresh', craft: (c) => c.init(without(PayloadType.NONCE)), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'same' },
  { name: 'IKE_SA_INIT with an 8-octet nonce', stage: 'fresh', craft: (c) => shrinkNonce(c), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'same' },
  { name: 'two SA payloads', stage: 'fresh', craft: (c) => c.init((p) => [p[0]!, ...p]), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'same' },
  { name: 'unknown critical payload', stage: 'fresh', craft: (c) => c.init((p) => [...p, unknownPayload(true)]), expect: { notify: NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, data: Buffer.of(200) }, after: 'same' },
  {
    name: 'proposal numbers 1, 1 (strict +1 rule)',
    stage: 'fresh',
    craft: (c) => c.init(replace(PayloadType.SA, { type: PayloadType.SA, proposals: [buildProposal({ ...AES128GCM, number: 1 }), buildProposal({ ...AES128GCM, number: 1 })] })),
    expect: { notify: NotifyType.INVALID_SYNTAX },
    after: 'same',
  },
  {
    name: 'no acceptable proposal',
    stage: 'fresh',
    craft: (c) => c.init(replace(PayloadType.SA, { type: PayloadType.SA, proposals: [buildProposal({ ...AES128GCM, number: 1, encr: { id: 12, keyLength: 128 }, integ: 12 })] })),
    expect: { notify: NotifyType.NO_PROPOSAL_CHOSEN },
    after: 'same',
  },
  {
    name: 'KE data of the wrong length for X25519',
    stage: 'fresh',
    craft: (c) => c.init(replace(PayloadType.KE, { type: PayloadType.KE, method: KeId.CURVE25519, data: randomBytes(31) })),
    expect: { notify: NotifyType.INVALID_SYNTAX },
    after: 'same',
  },
  {
    name: 'X25519 low-order point (all-zero shared secret, RFC 8031 §2)',
    stage: 'fresh',
    craft: (c) => c.init(replace(PayloadType.KE, { type: PayloadType.KE, method: KeId.CURVE25519, data: Buffer.alloc(32) })),
    expect: { notify: NotifyType.INVALID_SYNTAX },
    after: 'same',
  },
  {
    name: 'KE method other than the selected one',
    stage: 'fresh',
    craft: (c) => c.init(replace(PayloadType.KE, { type: PayloadType.KE, method: KeId.ECP256, data: createInitiatorKe(KeId.ECP256).publicData() })),
    expect: { notify: NotifyType.INVALID_KE_PAYLOAD, data: Buffer.of(0, KeId.CURVE25519) },
    after: 'same',
  },
  {
    name: 'payload length running past the message',
    stage: 'fresh',
    craft: (c) => patch(c.init(), (b) => b.writeUInt16BE(0xfff0, 28 + 2)),
    expect: { notify: NotifyType.INVALID_SYNTAX },
    after: 'same',
  },
  {
    name: 'protected request for an unknown IKE SA (RFC 7296 §2.21.4)',
    stage: 'fresh',
    craft: () => encodeMessage({ header: { spiI: randomBytes(8), spiR: randomBytes(8), exchangeType: ExchangeType.INFORMATIONAL, flags: HeaderFlag.INITIATOR, messageId: 3 }, payloads: [{ type: PayloadType.SK, innerFirstPayload: 0, body: randomBytes(40) }] }),
    expect: { notify: NotifyType.INVALID_IKE_SPI },
    after: 'same',
  },
  {
    name: 'response for an unknown IKE SA',
    stage: 'fresh',
    craft: () => encodeMessage({ header: { spiI: randomBytes(8), spiR: randomBytes(8), exchangeType: ExchangeType.INFORMATIONAL, flags: HeaderFlag.RESPONSE, messageId: 3 }, payloads: [{ type: PayloadType.SK, innerFirstPayload: 0, body: randomBytes(40) }] }),
    expect: 'silent',
    after: 'same',
  },
  // --- IKE_SA_INIT done, IKE_AUTH awaited ---
  { name: 'IKE_AUTH with a corrupted ICV', stage: 'keyed', craft: (c) => patch(c.protect(ExchangeType.IKE_AUTH, 1, [idi, auth]), (b) => (b[b.length - 1]! ^= 1)), expect: 'silent', after: 'same' },
  { name: 'IKE_AUTH above the window (MID 2)', stage: 'keyed', craft: (c) => c.protect(ExchangeType.IKE_AUTH, 2, [idi, auth]), expect: 'silent', after: 'same' },
  { name: 'IKE_AUTH below the window (MID 0) with new content', stage: 'keyed', craft: (c) => c.protect(ExchangeType.IKE_AUTH, 0, [idi, auth]), expect: 'silent', after: 'same' },
  {
    name: 'IKE_AUTH without the SK payload',
    stage: 'keyed',
    craft: (c) => encodeMessage({ header: { spiI: c.isa!.spiI, spiR: c.isa!.spiR, exchangeType: ExchangeType.IKE_AUTH, flags: HeaderFlag.INITIATOR, messageId: 1 }, payloads: [idi, auth] }),
    expect: 'silent',
    after: 'same',
  },
  { name: 'IKE_AUTH with the I flag cleared', stage: 'keyed', craft: (c) => c.protect(ExchangeType.IKE_AUTH, 1, [idi, auth], 0), expect: { notify: NotifyType.INVALID_IKE_SPI }, after: 'same' },
  { name: 'unprotected IKE_SA_INIT inside the SA', stage: 'keyed', craft: (c) => c.init(undefined, { spiI: c.isa!.spiI, spiR: c.isa!.spiR }), expect: 'silent', after: 'same' },
  { name: 'IKE_AUTH without AUTH (authentic, malformed)', stage: 'keyed', craft: (c) => c.protect(ExchangeType.IKE_AUTH, 1, [idi]), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'closed' },
  { name: 'IKE_AUTH with two IDi', stage: 'keyed', craft: (c) => c.protect(ExchangeType.IKE_AUTH, 1, [idi, idi, auth]), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'closed' },
  { name: 'IKE_AUTH with an unknown critical inner payload', stage: 'keyed', craft: (c) => c.protect(ExchangeType.IKE_AUTH, 1, [idi, auth, unknownPayload(true)]), expect: { notify: NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, data: Buffer.of(200) }, after: 'closed' },
  { name: 'IKE_AUTH with a forged AUTH', stage: 'keyed', craft: (c) => c.protect(ExchangeType.IKE_AUTH, 1, [idi, auth]), expect: { notify: NotifyType.AUTHENTICATION_FAILED }, after: 'closed' },
  { name: 'CREATE_CHILD_SA before authentication', stage: 'keyed', craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, 1, []), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'closed' },
  // --- established ---
  { name: 'INFORMATIONAL with a corrupted ICV', stage: 'established', craft: (c) => patch(c.protect(ExchangeType.INFORMATIONAL, c.nextMid, []), (b) => (b[b.length - 3]! ^= 0x40)), expect: 'silent', after: 'same' },
  { name: 'INFORMATIONAL far above the window', stage: 'established', craft: (c) => c.protect(ExchangeType.INFORMATIONAL, 1000, []), expect: 'silent', after: 'same' },
  { name: 'IKE_AUTH replayed after authentication (MID 1, new bytes)', stage: 'established', craft: (c) => c.protect(ExchangeType.IKE_AUTH, 1, [idi, auth]), expect: 'silent', after: 'same' },
  { name: 'IKE_AUTH again with a new MID (INVALID_SYNTAX, SA kept)', stage: 'established', craft: (c) => c.protect(ExchangeType.IKE_AUTH, c.nextMid, [idi, auth]), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'same' },
  { name: 'private exchange type 240', stage: 'established', craft: (c) => c.protect(240, c.nextMid, []), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'same' },
  {
    name: 'INFORMATIONAL with a truncated inner payload',
    stage: 'established',
    craft: (c) => c.protect(ExchangeType.INFORMATIONAL, c.nextMid, [{ type: 'unknown', wireType: PayloadType.NONCE, body: randomBytes(4) }]),
    expect: { notify: NotifyType.INVALID_SYNTAX },
    after: 'same',
  },
  {
    name: 'Delete of an unknown Child SA SPI',
    stage: 'established',
    craft: (c) => c.protect(ExchangeType.INFORMATIONAL, c.nextMid, [{ type: PayloadType.DELETE, protocolId: ProtocolId.ESP, spiSize: 4, spis: [Buffer.from('deadbeef', 'hex')] }]),
    expect: 'silent-protected' as never,
    after: 'same',
  },
  // --- established: CREATE_CHILD_SA and IKE_FOLLOWUP_KE (RFC 7296 §1.3, §2.25; RFC 9370 §2.2.4) ---
  { name: 'CREATE_CHILD_SA far above the window', stage: 'established', craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid + 5, newChild()), expect: 'silent', after: 'same' },
  {
    name: 'CREATE_CHILD_SA rekey of an unknown Child SA (REKEY_SA)',
    stage: 'established',
    craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, [NotifyData.REKEY_SA.build({ protocolId: ProtocolId.ESP, spi: Buffer.from('0badc0de', 'hex') }), ...newChild()]),
    expect: { notify: NotifyType.CHILD_SA_NOT_FOUND },
    after: 'same',
  },
  { name: 'CREATE_CHILD_SA without a nonce', stage: 'established', craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, newChild().filter((p) => p.type !== PayloadType.NONCE)), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'same' },
  { name: 'CREATE_CHILD_SA with SA but no TS', stage: 'established', craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, newChild().slice(0, 2)), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'same' },
  {
    name: 'CREATE_CHILD_SA with selectors the responder does not accept',
    stage: 'established',
    craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, newChild(undefined, [range('192.168.0.0', '192.168.0.255')])),
    expect: { notify: NotifyType.TS_UNACCEPTABLE },
    after: 'same',
  },
  {
    name: 'CREATE_CHILD_SA with a KE group other than the chosen one (PFS)',
    stage: 'established',
    options: { responder: { children: [mirror(child({ proposals: [esp(undefined, { ke: KeId.CURVE25519 })] }))] } },
    craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, newChild({ ke: [KeId.CURVE25519, KeId.ECP256] }, undefined, KeId.ECP256)),
    expect: { notify: NotifyType.INVALID_KE_PAYLOAD, data: Buffer.of(0, KeId.CURVE25519) },
    after: 'same',
  },
  {
    name: 'CREATE_CHILD_SA with X25519 KE data of the wrong length',
    stage: 'established',
    options: { responder: { children: [mirror(child({ proposals: [esp(undefined, { ke: KeId.CURVE25519 })] }))] } },
    craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, newChild({ ke: KeId.CURVE25519 }, undefined, KeId.CURVE25519, randomBytes(31))),
    expect: { notify: NotifyType.INVALID_SYNTAX },
    after: 'same',
  },
  { name: 'IKE SA rekey without KE', stage: 'established', craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, ikeRekey().filter((p) => p.type !== PayloadType.KE)), expect: { notify: NotifyType.INVALID_KE_PAYLOAD, data: Buffer.of(0, KeId.CURVE25519) }, after: 'same' },
  { name: 'IKE SA rekey with a zero SPI', stage: 'established', craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, ikeRekey(Buffer.alloc(8))), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'same' },
  { name: 'IKE SA rekey carrying TS', stage: 'established', craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, [...ikeRekey(), ...newChild().slice(-2)]), expect: { notify: NotifyType.INVALID_SYNTAX }, after: 'same' },
  {
    name: 'IKE_FOLLOWUP_KE for no pending exchange (STATE_NOT_FOUND)',
    stage: 'established',
    craft: (c) => c.protect(ExchangeType.IKE_FOLLOWUP_KE, c.nextMid, [{ type: PayloadType.KE, method: KeId.ML_KEM_768, data: randomBytes(1184) }, NotifyData.ADDITIONAL_KEY_EXCHANGE.build(Buffer.of(1))]),
    expect: { notify: NotifyType.STATE_NOT_FOUND },
    after: 'same',
  },
  {
    name: 'IKE_FOLLOWUP_KE without N(ADDITIONAL_KEY_EXCHANGE)',
    stage: 'established',
    craft: (c) => c.protect(ExchangeType.IKE_FOLLOWUP_KE, c.nextMid, [{ type: PayloadType.KE, method: KeId.CURVE25519, data: createInitiatorKe(KeId.CURVE25519).publicData() }]),
    expect: { notify: NotifyType.INVALID_SYNTAX },
    after: 'same',
  },
  // --- optimized rekey (digest §D) and RFC 9611 (digest §C) ---
  { name: 'optimized rekey: OPTIMIZED_REKEY with a 5-octet SPI', ...OPTIMIZED, craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, optimizedChild(c, { notify: notify(NotifyType.OPTIMIZED_REKEY, randomBytes(5)) })), expect: { notify: NotifyType.NO_PROPOSAL_CHOSEN }, reason: /5 octet/ },
  { name: 'optimized rekey: a Child SA SPI of 8 octets', ...OPTIMIZED, craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, optimizedChild(c, { data: randomBytes(8) })), expect: { notify: NotifyType.NO_PROPOSAL_CHOSEN }, reason: /expected 4/ },
  { name: 'optimized rekey: reserved Child SA SPI 255', ...OPTIMIZED, craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, optimizedChild(c, { data: Buffer.from('000000ff', 'hex') })), expect: { notify: NotifyType.NO_PROPOSAL_CHOSEN }, reason: /reserved SPI/ },
  {
    name: 'optimized rekey when it was not negotiated',
    stage: 'established',
    prepare: rekeyFirstChild,
    craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, optimizedChild(c)),
    expect: { notify: NotifyType.NO_PROPOSAL_CHOSEN },
    after: 'same',
    reason: /not negotiated/,
  },
  {
    name: 'optimized rekey as the first rekey of the IKE_AUTH Child SA',
    stage: 'established',
    options: { options: { optimizedRekey: true } },
    craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, optimizedChild(c)),
    expect: { notify: NotifyType.NO_PROPOSAL_CHOSEN },
    after: 'same',
    reason: /first rekey/,
  },
  { name: 'optimized rekey with an SA payload as well', ...OPTIMIZED, craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, [...optimizedChild(c), ...newChild().filter((p) => p.type === PayloadType.SA)]), expect: { notify: NotifyType.NO_PROPOSAL_CHOSEN }, reason: /together with an SA/ },
  { name: 'optimized rekey carrying TSi/TSr', ...OPTIMIZED, craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, [...optimizedChild(c), ...newChild().slice(-2)]), expect: { notify: NotifyType.NO_PROPOSAL_CHOSEN }, reason: /SA or TS payloads/ },
  { name: 'optimized rekey with USE_TRANSPORT_MODE', ...OPTIMIZED, craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, optimizedChild(c, { extra: [NotifyData.USE_TRANSPORT_MODE.build()] })), expect: { notify: NotifyType.NO_PROPOSAL_CHOSEN }, reason: /notify 16391/ },
  { name: 'optimized rekey with SA_RESOURCE_INFO', ...OPTIMIZED, craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, optimizedChild(c, { extra: [NotifyData.SA_RESOURCE_INFO.build(Buffer.of(0, 0, 0, 1))] })), expect: { notify: NotifyType.NO_PROPOSAL_CHOSEN }, reason: /notify 16444/ },
  { name: 'optimized rekey with KEi for a Child SA without PFS', ...OPTIMIZED, craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, optimizedChild(c, { ke: true })), expect: { notify: NotifyType.NO_PROPOSAL_CHOSEN }, reason: /no PFS/ },
  { name: 'optimized rekey with two OPTIMIZED_REKEY notifies', ...OPTIMIZED, craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, optimizedChild(c, { extra: [NotifyData.OPTIMIZED_REKEY.build(randomSpi())] })), expect: { notify: NotifyType.NO_PROPOSAL_CHOSEN }, reason: /2 OPTIMIZED_REKEY/ },
  {
    name: 'optimized rekey with the new SPI in the SPI field (Protocol ESP, SPI size 4)',
    ...OPTIMIZED,
    craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, optimizedChild(c, { notify: notify(NotifyType.OPTIMIZED_REKEY, Buffer.alloc(0), ProtocolId.ESP, randomSpi()) })),
    expect: { notify: NotifyType.NO_PROPOSAL_CHOSEN },
  },
  {
    name: 'optimized rekey of an unknown Child SA',
    ...OPTIMIZED,
    craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, optimizedChild(c, { rekeySpi: Buffer.from('0badc0de', 'hex') })),
    expect: { notify: NotifyType.CHILD_SA_NOT_FOUND },
  },
  { name: 'optimized rekey without a nonce', ...OPTIMIZED, craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, optimizedChild(c).filter((p) => p.type !== PayloadType.NONCE)), expect: { notify: NotifyType.INVALID_SYNTAX } },
  { name: 'optimized IKE SA rekey with a 4-octet SPI', ...OPTIMIZED, craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, optimizedIke(randomSpi())), expect: { notify: NotifyType.NO_PROPOSAL_CHOSEN }, reason: /expected 8/ },
  { name: 'optimized IKE SA rekey with a zero SPI', ...OPTIMIZED, craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, optimizedIke(Buffer.alloc(8))), expect: { notify: NotifyType.NO_PROPOSAL_CHOSEN }, reason: /reserved SPI/ },
  { name: 'optimized IKE SA rekey without KEi', ...OPTIMIZED, craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, optimizedIke().filter((p) => p.type !== PayloadType.KE)), expect: { notify: NotifyType.NO_PROPOSAL_CHOSEN }, reason: /KE missing/ },
  {
    name: 'optimized IKE SA rekey with KEi of another method',
    ...OPTIMIZED,
    craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, [...optimizedIke().filter((p) => p.type !== PayloadType.KE), { type: PayloadType.KE, method: KeId.ECP256, data: createInitiatorKe(KeId.ECP256).publicData() }]),
    expect: { notify: NotifyType.NO_PROPOSAL_CHOSEN },
    reason: /KE 19/,
  },
  {
    name: 'RFC 9611: a per-resource Child SA above the responder\'s cap (TS_MAX_QUEUE)',
    stage: 'established',
    options: { responder: { children: [{ ...mirror(child()), perResourceCap: 0 }] } },
    craft: (c) => c.protect(ExchangeType.CREATE_CHILD_SA, c.nextMid, [...newChild(), NotifyData.SA_RESOURCE_INFO.build(Buffer.of(0, 0, 0, 1))]),
    expect: { notify: NotifyType.TS_MAX_QUEUE },
    after: 'same',
  },
];

/** Rekeys the IKE_AUTH Child SA (a regular rekey), so that the next one may be optimized. */
async function rekeyFirstChild(p: ReturnType<typeof pair>, isa: IkeSa): Promise<void> {
  p.i.engine.rekeyChildSa(isa.id, [...isa.children.keys()][0]!);
  await p.world.advance();
  assert.equal(isa.children.size, 1);
}

/** {N(REKEY_SA, the Child SA), N(OPTIMIZED_REKEY, new SPIi), Ni, [KEi], extra} (digest §D). */
function optimizedChild(c: Ctx, o: { data?: Buffer; ke?: boolean; extra?: Payload[]; notify?: Payload; rekeySpi?: Buffer } = {}): Payload[] {
  const spi = o.rekeySpi ?? [...c.isa!.children.values()].at(-1)!.inboundSpi; // the initiator's inbound SPI
  const payloads: Payload[] = [NotifyData.REKEY_SA.build({ protocolId: ProtocolId.ESP, spi }), o.notify ?? NotifyData.OPTIMIZED_REKEY.build(o.data ?? randomSpi()), { type: PayloadType.NONCE, nonce: randomBytes(32) }];
  if (o.ke) payloads.push({ type: PayloadType.KE, method: KeId.CURVE25519, data: createInitiatorKe(KeId.CURVE25519).publicData() });
  return [...payloads, ...(o.extra ?? [])];
}

/** {N(OPTIMIZED_REKEY, new SPIi), Ni, KEi} (digest §D). */
function optimizedIke(data: Buffer = randomBytes(8)): Payload[] {
  return [NotifyData.OPTIMIZED_REKEY.build(data), { type: PayloadType.NONCE, nonce: randomBytes(32) }, { type: PayloadType.KE, method: KeId.CURVE25519, data: createInitiatorKe(KeId.CURVE25519).publicData() }];
}

/** A CREATE_CHILD_SA request for a new Child SA: {SA, Ni, [KEi], TSi, TSr}. */
function newChild(extra: Partial<ProposalSpec> = {}, tsi = [range('10.1.0.0', '10.1.255.255')], keMethod?: number, keData?: Buffer): Payload[] {
  const payloads: Payload[] = [
    { type: PayloadType.SA, proposals: [buildProposal({ ...esp(), ...extra, number: 1, spi: Buffer.from('0000a001', 'hex') })] },
    { type: PayloadType.NONCE, nonce: randomBytes(32) },
  ];
  if (keMethod !== undefined) payloads.push({ type: PayloadType.KE, method: keMethod, data: keData ?? createInitiatorKe(keMethod).publicData() });
  payloads.push({ type: PayloadType.TSi, selectors: tsi }, { type: PayloadType.TSr, selectors: [range('10.2.0.0', '10.2.255.255')] });
  return payloads;
}

/** An IKE SA rekey request: {SA(IKE, new SPIi), Ni, KEi}. */
function ikeRekey(spi = randomBytes(8)): Payload[] {
  return [
    { type: PayloadType.SA, proposals: [buildProposal({ ...AES128GCM, number: 1, spi })] },
    { type: PayloadType.NONCE, nonce: randomBytes(32) },
    { type: PayloadType.KE, method: KeId.CURVE25519, data: createInitiatorKe(KeId.CURVE25519).publicData() },
  ];
}

function shrinkNonce(c: Ctx): Buffer {
  // Nonce payloads shorter than 16 octets do not even decode (RFC 7296 §3.9).
  const d = c.init();
  const m = decodeMessage(d);
  const payloads = m.payloads.map((x) => (x.type === PayloadType.NONCE ? ({ type: 'unknown', wireType: PayloadType.NONCE, body: randomBytes(8) } as Payload) : x));
  return encodeMessage({ header: m.header, payloads });
}

async function setup(stage: Stage, options: Parameters<typeof pair>[0] = {}, prepare?: Case['prepare']) {
  const p = pair({ ...options, options: { invalidSpiPerSecond: 100, ...options.options } });
  if (stage === 'fresh') return { ...p, isa: undefined };
  if (stage === 'keyed') p.world.net.filter = (x) => (decodeMessage(x.datagram).header.exchangeType === ExchangeType.IKE_AUTH ? false : x);
  const isa = p.start();
  await p.world.advance();
  p.world.net.filter = undefined;
  await prepare?.(p, isa);
  return { ...p, isa };
}

for (const c of cases) {
  test(`bad input: ${c.name}`, async () => {
    const { world, i, r, isa } = await setup(c.stage, c.options, c.prepare);
    const ctx: Ctx = {
      isa,
      nextMid: isa?.requester.nextMessageId ?? 0,
      protect(exchangeType, messageId, payloads, flags = HeaderFlag.INITIATOR) {
        const crypto = isa!.requireCrypto();
        return protectMessage({ spiI: isa!.spiI, spiR: isa!.spiR, exchangeType, flags, messageId }, payloads, crypto.outbound, crypto.ivs);
      },
      init(edit = (p) => p, header = {}) {
        const spiI = header.spiI ?? randomBytes(8);
        return encodeMessage({
          header: { spiI, spiR: Buffer.alloc(8), exchangeType: ExchangeType.IKE_SA_INIT, flags: HeaderFlag.INITIATOR, messageId: 0, ...header },
          payloads: edit(initPayloads(spiI)),
        });
      },
    };
    const phasesBefore = r.engine.list().map((s) => s.phase);
    const childrenBefore = r.engine.list().map((s) => [...s.children.keys()]);
    const [iRemoved, rRemoved, iChildren] = [i.sink.removed.length, r.sink.removed.length, isa?.children.size ?? 0];
    const mark = world.net.sent.length;
    world.net.filter = (p) => (p.to.ip === I ? false : p); // replies are inspected, not delivered
    world.net.inject({ datagram: c.craft(ctx), from: ep(I), to: ep(R) });
    await world.net.flush();
    world.net.filter = undefined;
    const replies: Packet[] = world.net.sent.slice(mark).filter((p) => p.from.ip === R);
    const silentProtected = (c.expect as unknown) === 'silent-protected';
    if (c.expect === 'silent') {
      assert.equal(replies.length, 0, 'dropped silently');
    } else if (silentProtected) {
      assert.equal(replies.length, 1);
      const opened = unprotectMessage(decodeMessage(replies[0]!.datagram), isa!.requireCrypto().inbound);
      assert.deepEqual(opened.inner, [], 'empty response: nothing to delete');
    } else {
      assert.equal(replies.length, 1, 'one answer');
      const m = decodeMessage(replies[0]!.datagram);
      assert.ok(m.header.flags & HeaderFlag.RESPONSE);
      const payloads = m.payloads.at(-1)?.type === PayloadType.SK ? unprotectMessage(m, isa!.requireCrypto().inbound).inner : m.payloads;
      assert.equal(payloads.length, 1);
      const n = payloads[0]!;
      assert.ok(n.type === PayloadType.NOTIFY);
      assert.equal(n.notifyType, c.expect.notify);
      if (c.expect.data) assert.deepEqual(n.data, c.expect.data);
    }
    if (c.after === 'closed') {
      assert.equal(r.engine.list().length, 0, 'the half-open SA is deleted');
      return;
    }
    assert.deepEqual(r.engine.list().map((s) => s.phase), phasesBefore, 'no state change');
    assert.deepEqual(r.engine.list().map((s) => [...s.children.keys()]), childrenBefore, 'no Child SA change');
    if (c.reason) assert.ok(eventsOf(r, 'error').some((e) => c.reason!.test(e.message)), `reason ${c.reason}: ${eventsOf(r, 'error').map((e) => e.message).join('; ')}`);
    if (c.stage === 'keyed') {
      await world.advance(4000); // the genuine IKE_AUTH is retransmitted and still works
      assert.equal(isa!.phase, 'established');
      assert.equal(eventsOf(r, 'ike_up').length, 1);
    }
    if (c.stage === 'established') {
      assert.equal(r.sink.removed.length, rRemoved);
      // The responder's own exchanges still work (our forged request used the initiator's next MID).
      r.engine.deleteIkeSa(isa!.spiR.toString('hex'));
      await world.advance();
      assert.equal(r.engine.list().length, 0);
      assert.equal(isa!.phase, 'closed');
      assert.equal(i.sink.removed.length, iRemoved + iChildren);
    }
  });
}

test('bad input: INVALID_IKE_SPI answers are rate-limited', async () => {
  const { world } = pair({ options: { invalidSpiPerSecond: 2 } });
  const stray = () => encodeMessage({ header: { spiI: randomBytes(8), spiR: randomBytes(8), exchangeType: ExchangeType.INFORMATIONAL, flags: HeaderFlag.INITIATOR, messageId: 3 }, payloads: [{ type: PayloadType.SK, innerFirstPayload: 0, body: randomBytes(40) }] });
  for (let n = 0; n < 10; n++) world.net.inject({ datagram: stray(), from: ep(I), to: ep(R) });
  await world.net.flush();
  assert.equal(world.net.sent.filter((p) => p.from.ip === R).length, 2);
  await world.advance(1000);
  world.net.inject({ datagram: stray(), from: ep(I), to: ep(R) });
  await world.net.flush();
  assert.equal(world.net.sent.filter((p) => p.from.ip === R).length, 3, 'budget refills over time');
});

test('bad input: a response for a Message ID not in flight is ignored', async () => {
  const { world, i, r, isa } = await setup('established');
  const rsa = r.engine.get(isa!.spiR.toString('hex'))!;
  const crypto = rsa.requireCrypto();
  const forged = protectMessage({ spiI: isa!.spiI, spiR: isa!.spiR, exchangeType: ExchangeType.INFORMATIONAL, flags: HeaderFlag.RESPONSE, messageId: 7 }, [], crypto.outbound, crypto.ivs);
  const mark = world.net.sent.length;
  world.net.inject({ datagram: forged, from: ep(R), to: ep(I) });
  await world.net.flush();
  assert.equal(world.net.sent.length, mark);
  assert.equal(isa!.phase, 'established');
  assert.equal(eventsOf(i, 'error').length, 0);
});
