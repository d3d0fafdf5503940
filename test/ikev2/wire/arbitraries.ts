/**
 * fast-check arbitraries for every RFC 7296 payload the wire layer knows, for payload
 * chains and whole messages. Every value generated is valid: `decode(encode(x))` must
 * deep-equal `x`. Shared with the fuzz benchmark; G-IKEv2 payloads live in
 * group-arbitraries.ts.
 *
 * Decoded payloads carry `critical` only when the bit is set, so the arbitraries either
 * omit the key or set it to true.
 */
import fc from 'fast-check';
import { ExchangeType } from '../../../src/ikev2/registry/exchange.ts';
import { CertEncoding, IdType, ProtocolId, TsType } from '../../../src/ikev2/registry/misc.ts';
import { PayloadType } from '../../../src/ikev2/registry/payload.ts';
import type { Attribute } from '../../../src/ikev2/wire/attributes.ts';
import type { IkeHeader } from '../../../src/ikev2/wire/header.ts';
import type { IkeMessage } from '../../../src/ikev2/wire/message.ts';
import type { Payload, UnknownPayload } from '../../../src/ikev2/wire/payload.ts';
import type {
  AuthPayload,
  CertPayload,
  CertReqPayload,
  CpAttribute,
  CpPayload,
  DeletePayload,
  EapPayload,
  IdPayload,
  KePayload,
  NoncePayload,
  NotifyPayload,
  Proposal,
  SaPayload,
  SkfPayload,
  SkPayload,
  TsPayload,
  VendorIdPayload,
} from '../../../src/ikev2/wire/payloads/index.ts';
import { CpAttrType, payloadCodecs } from '../../../src/ikev2/wire/payloads/index.ts';
import type { AddressRangeSelector, TrafficSelector } from '../../../src/ikev2/wire/sub/traffic-selector.ts';
import type { Transform } from '../../../src/ikev2/wire/sub/transform.ts';

// ---------- primitives ----------

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.integer({ min: 0, max: 0xffffffff });

export const bytes = (minLength: number, maxLength: number): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ minLength, maxLength }).map((u) => Buffer.from(u));

/**
 * fc.record building ordinary objects: fast-check 4 defaults to null-prototype objects,
 * which deepStrictEqual tells apart from what the decoders return.
 */
export const record = ((model: never, constraints?: object) =>
  fc.record(model, { ...constraints, noNullPrototype: true })) as unknown as typeof fc.record;

/** Either the payload as is or with `critical: true`. */
export function maybeCritical<P extends object>(arb: fc.Arbitrary<P>): fc.Arbitrary<P & { critical?: true }> {
  return fc.tuple(arb, fc.boolean()).map(([p, c]) => (c ? { ...p, critical: true as const } : p));
}

// ---------- substructures ----------

export const arbAttribute: fc.Arbitrary<Attribute> = fc.oneof(
  record({ type: fc.integer({ min: 0, max: 0x7fff }), tv: fc.constant(true as const), value: u16 }),
  record({ type: fc.integer({ min: 0, max: 0x7fff }), tv: fc.constant(false as const), data: bytes(0, 12) }),
);

export const arbTransform: fc.Arbitrary<Transform> = record({
  transformType: u8,
  transformId: u16,
  attributes: fc.array(arbAttribute, { maxLength: 3 }),
});

/** Protocol ID and an SPI of a size the SA codec accepts for it. */
const arbProtocolAndSpi: fc.Arbitrary<{ protocolId: number; spi: Buffer }> = fc.oneof(
  record({ protocolId: fc.constant(ProtocolId.IKE as number), spi: fc.constantFrom(0, 8).chain((n) => bytes(n, n)) }),
  record({ protocolId: fc.constantFrom<number>(ProtocolId.AH, ProtocolId.ESP), spi: fc.constantFrom(0, 4).chain((n) => bytes(n, n)) }),
  record({ protocolId: u8.filter((p) => p < 1 || p > 3), spi: bytes(0, 16) }),
);

/** 1..n proposals numbered 1, then the same or one more each time. */
export const arbProposals: fc.Arbitrary<Proposal[]> = fc
  .array(fc.tuple(fc.boolean(), arbProtocolAndSpi, fc.array(arbTransform, { minLength: 1, maxLength: 5 })), { minLength: 1, maxLength: 4 })
  .map((list) => {
    let number = 0;
    return list.map(([step, { protocolId, spi }, transforms], i) => {
      number = i === 0 ? 1 : number + (step ? 1 : 0);
      return { number, protocolId, spi, transforms };
    });
  });

export const arbTrafficSelector: fc.Arbitrary<TrafficSelector> = fc.oneof(
  fc.constantFrom<[number, number]>([TsType.TS_IPV4_ADDR_RANGE, 4], [TsType.TS_IPV6_ADDR_RANGE, 16]).chain(([tsType, n]) =>
    record({
      tsType: fc.constant(tsType as AddressRangeSelector['tsType']),
      ipProtocol: u8,
      startPort: u16,
      endPort: u16,
      startAddress: bytes(n, n),
      endAddress: bytes(n, n),
    }),
  ),
  record({
    tsType: u8.filter((t) => t !== TsType.TS_IPV4_ADDR_RANGE && t !== TsType.TS_IPV6_ADDR_RANGE),
    octet1: u8,
    body: bytes(0, 24),
  }),
);

/** CP attribute value lengths the codec enforces (RFC 7296 §3.15.1), restated as the test oracle. */
const CP_KNOWN_LENGTHS: readonly [number, readonly number[]][] = [
  [CpAttrType.INTERNAL_IP4_ADDRESS, [0, 4]],
  [CpAttrType.INTERNAL_IP4_NETMASK, [0, 4]],
  [CpAttrType.INTERNAL_IP4_DNS, [0, 4]],
  [CpAttrType.INTERNAL_IP4_DHCP, [0, 4]],
  [CpAttrType.INTERNAL_IP6_ADDRESS, [0, 17]],
  [CpAttrType.INTERNAL_IP6_DNS, [0, 16]],
  [CpAttrType.INTERNAL_IP4_SUBNET, [0, 8]],
  [CpAttrType.INTERNAL_IP6_SUBNET, [0, 17]],
  [CpAttrType.SUPPORTED_ATTRIBUTES, [0, 2, 6]],
];
const CP_RULED_TYPES = new Set([1, 2, 3, 4, 5, 6, 8, 10, 11, 12, 13, 14, 15]);

export const arbCpAttribute: fc.Arbitrary<CpAttribute> = fc.oneof(
  fc.constantFrom(...CP_KNOWN_LENGTHS).chain(([type, lengths]) =>
    record({ type: fc.constant(type), value: fc.constantFrom(...lengths).chain((n) => bytes(n, n)) }),
  ),
  record({ type: fc.integer({ min: 0, max: 0x7fff }).filter((t) => !CP_RULED_TYPES.has(t)), value: bytes(0, 20) }),
);

// ---------- RFC 7296 payloads ----------

export const arbSaPayload: fc.Arbitrary<SaPayload> = maybeCritical(
  record({ type: fc.constant(PayloadType.SA), proposals: arbProposals }),
);

export const arbKePayload: fc.Arbitrary<KePayload> = maybeCritical(
  record({ type: fc.constant(PayloadType.KE), method: u16, data: bytes(1, 64) }),
);

/** ID data sizes the codec enforces: 4/16 octets for addresses, ID_NULL may be empty. */
const arbIdBody = fc.oneof(
  record({ idType: fc.constant<number>(IdType.ID_IPV4_ADDR), data: bytes(4, 4) }),
  record({ idType: fc.constant<number>(IdType.ID_IPV6_ADDR), data: bytes(16, 16) }),
  record({ idType: fc.constant<number>(IdType.ID_NULL), data: bytes(0, 8) }),
  record({ idType: u8.filter((t) => t !== IdType.ID_IPV4_ADDR && t !== IdType.ID_IPV6_ADDR && t !== IdType.ID_NULL), data: bytes(1, 32) }),
);

export const arbIdPayload: fc.Arbitrary<IdPayload> = maybeCritical(
  fc.tuple(fc.constantFrom(PayloadType.IDi, PayloadType.IDr, PayloadType.IDg), arbIdBody).map(([type, body]) => ({ type, ...body })),
);

export const arbCertPayload: fc.Arbitrary<CertPayload> = maybeCritical(
  u8.chain((encoding) => {
    const hashAndUrl = encoding === CertEncoding.HASH_AND_URL_X509 || encoding === CertEncoding.HASH_AND_URL_BUNDLE;
    return record({ type: fc.constant(PayloadType.CERT), encoding: fc.constant(encoding), data: bytes(hashAndUrl ? 21 : 1, 64) });
  }),
);

const X509_FAMILY = new Set<number>([CertEncoding.X509_SIGNATURE, CertEncoding.HASH_AND_URL_X509, CertEncoding.HASH_AND_URL_BUNDLE]);

export const arbCertReqPayload: fc.Arbitrary<CertReqPayload> = maybeCritical(
  fc.oneof(
    record({
      type: fc.constant(PayloadType.CERTREQ),
      encoding: fc.constantFrom(...X509_FAMILY),
      authorities: fc.array(bytes(20, 20), { maxLength: 3 }).map((hs) => Buffer.concat(hs)),
    }),
    record({ type: fc.constant(PayloadType.CERTREQ), encoding: u8.filter((e) => !X509_FAMILY.has(e)), authorities: bytes(0, 40) }),
  ),
);

export const arbAuthPayload: fc.Arbitrary<AuthPayload> = maybeCritical(
  record({ type: fc.constant(PayloadType.AUTH), method: u8, data: bytes(1, 64) }),
);

export const arbNoncePayload: fc.Arbitrary<NoncePayload> = maybeCritical(
  record({ type: fc.constant(PayloadType.NONCE), nonce: bytes(16, 256) }),
);

export const arbNotifyPayload: fc.Arbitrary<NotifyPayload> = maybeCritical(
  record({ type: fc.constant(PayloadType.NOTIFY), protocolId: u8, spi: bytes(0, 8), notifyType: u16, data: bytes(0, 32) }),
);

export const arbDeletePayload: fc.Arbitrary<DeletePayload> = maybeCritical(
  fc.oneof(
    record({ type: fc.constant(PayloadType.DELETE), protocolId: u8, spiSize: fc.constant(0), spis: fc.constant([]) }),
    fc.integer({ min: 1, max: 16 }).chain((spiSize) =>
      record({ type: fc.constant(PayloadType.DELETE), protocolId: u8, spiSize: fc.constant(spiSize), spis: fc.array(bytes(spiSize, spiSize), { maxLength: 4 }) }),
    ),
  ),
);

export const arbVendorIdPayload: fc.Arbitrary<VendorIdPayload> = maybeCritical(
  record({ type: fc.constant(PayloadType.VENDOR_ID), data: bytes(1, 32) }),
);

export const arbTsPayload: fc.Arbitrary<TsPayload> = maybeCritical(
  record({ type: fc.constantFrom(PayloadType.TSi, PayloadType.TSr), selectors: fc.array(arbTrafficSelector, { minLength: 1, maxLength: 4 }) }),
);

export const arbCpPayload: fc.Arbitrary<CpPayload> = maybeCritical(
  record({ type: fc.constant(PayloadType.CP), cfgType: u8, attributes: fc.array(arbCpAttribute, { maxLength: 5 }) }),
);

export const arbEapPayload: fc.Arbitrary<EapPayload> = maybeCritical(
  record({ type: fc.constant(PayloadType.EAP), data: bytes(4, 32) }),
);

export const arbSkPayload: fc.Arbitrary<SkPayload> = maybeCritical(
  record({ type: fc.constant(PayloadType.SK), innerFirstPayload: u8, body: bytes(1, 64) }),
);

export const arbSkfPayload: fc.Arbitrary<SkfPayload> = maybeCritical(
  fc.integer({ min: 1, max: 255 }).chain((totalFragments) =>
    record({
      type: fc.constant(PayloadType.SKF),
      innerFirstPayload: u8,
      fragmentNumber: fc.integer({ min: 1, max: totalFragments }),
      totalFragments: fc.constant(totalFragments),
      body: bytes(1, 64),
    }),
  ),
);

/** A non-critical payload of a type no codec knows (evaluated when generated, so it follows the codec table). */
export const arbUnknownPayload: fc.Arbitrary<UnknownPayload> = record({
  type: fc.constant('unknown' as const),
  wireType: fc.integer({ min: 1, max: 255 }).filter((t) => !payloadCodecs.has(t)),
  body: bytes(0, 32),
});

/** Every payload that may appear before the end of a chain (everything but SK/SKF). */
export const arbPlainPayload: fc.Arbitrary<Payload> = fc.oneof(
  arbSaPayload,
  arbKePayload,
  arbIdPayload,
  arbCertPayload,
  arbCertReqPayload,
  arbAuthPayload,
  arbNoncePayload,
  arbNotifyPayload,
  arbDeletePayload,
  arbVendorIdPayload,
  arbTsPayload,
  arbCpPayload,
  arbEapPayload,
  arbUnknownPayload,
);

export const arbEncryptedPayload: fc.Arbitrary<Payload> = fc.oneof(arbSkPayload, arbSkfPayload);

/** Any single payload. */
export const arbPayload: fc.Arbitrary<Payload> = fc.oneof(arbPlainPayload, arbEncryptedPayload);

/** A payload chain: plain payloads, optionally ended by SK or SKF. `plain` lets callers mix in more payload kinds. */
export function arbChainOf(plain: fc.Arbitrary<Payload>, maxLength = 6): fc.Arbitrary<Payload[]> {
  return fc
    .tuple(fc.array(plain, { maxLength }), fc.option(arbEncryptedPayload, { nil: undefined }))
    .map(([ps, enc]) => (enc ? [...ps, enc] : ps));
}

export const arbChain: fc.Arbitrary<Payload[]> = arbChainOf(arbPlainPayload);

export const arbHeader: fc.Arbitrary<IkeHeader> = record({
  spiI: bytes(8, 8),
  spiR: bytes(8, 8),
  exchangeType: fc.oneof(fc.constantFrom(...Object.values(ExchangeType)), u8),
  flags: u8,
  messageId: u32,
  minorVersion: fc.integer({ min: 0, max: 15 }),
});

export function arbMessageOf(chain: fc.Arbitrary<Payload[]>): fc.Arbitrary<IkeMessage> {
  return record({ header: arbHeader, payloads: chain });
}

export const arbMessage: fc.Arbitrary<IkeMessage> = arbMessageOf(arbChain);
