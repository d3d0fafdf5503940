/**
 * fast-check arbitraries for the G-IKEv2 payloads (IDg, GSA, KD) and the typed attribute
 * views, shared by the property tests and the fuzz benchmark. Everything generated here
 * encodes, and decodes back to an equal value. RFC 7296 substructures come from
 * arbitraries.ts.
 */
import fc from 'fast-check';
import { IdType, ProtocolId } from '../../../src/ikev2/registry/misc.ts';
import { PayloadType } from '../../../src/ikev2/registry/payload.ts';
import type { Attribute } from '../../../src/ikev2/wire/attributes.ts';
import type { Payload } from '../../../src/ikev2/wire/payload.ts';
import type {
  GroupExchangeContext,
  GroupKeyBagAttributes,
  GroupWidePolicyAttributes,
  GsaPolicyAttributes,
  MemberKeyBagAttributes,
  WrappedKey,
} from '../../../src/ikev2/wire/group-attributes.ts';
import type { IdgPayload } from '../../../src/ikev2/wire/payloads/id.ts';
import type { GroupPolicy, GroupWidePolicy, GsaPayload, GsaPolicy } from '../../../src/ikev2/wire/payloads/gsa.ts';
import type { GroupKeyBag, KdPayload, KeyBag, MemberKeyBag } from '../../../src/ikev2/wire/payloads/kd.ts';
import type { GroupSaProtocol } from '../../../src/ikev2/wire/sub/group-substructure.ts';
import { arbAttribute, arbTrafficSelector, arbTransform, bytes, maybeCritical, record, u16, u32 } from './arbitraries.ts';

const SPI_SIZE: Record<GroupSaProtocol, number> = { [ProtocolId.GIKE_UPDATE]: 16, [ProtocolId.ESP]: 4, [ProtocolId.AH]: 4 };

export const groupSaProtocolArb: fc.Arbitrary<GroupSaProtocol> = fc.constantFrom(ProtocolId.GIKE_UPDATE, ProtocolId.ESP, ProtocolId.AH);

/** A valid SPI for the protocol: right size, non-zero (SPIi half non-zero for GIKE_UPDATE). */
export const groupSpiArb = (protocolId: GroupSaProtocol): fc.Arbitrary<Buffer> =>
  bytes(SPI_SIZE[protocolId], SPI_SIZE[protocolId]).filter((b) => b.subarray(0, Math.min(8, b.length)).some((x) => x !== 0));

/** An attribute of a type drawn from `type` (TV or TLV). */
const attributeOfType = (type: fc.Arbitrary<number>): fc.Arbitrary<Attribute> =>
  fc.oneof(
    record({ type, tv: fc.constant(true as const), value: u16 }),
    record({ type, tv: fc.constant(false as const), data: bytes(0, 40) }),
  );

// --- GSA -------------------------------------------------------------------------------------

export const gsaPolicyArb = (protocol: fc.Arbitrary<GroupSaProtocol> = groupSaProtocolArb): fc.Arbitrary<GsaPolicy> =>
  protocol.chain((protocolId) =>
    record({
      protocolId: fc.constant(protocolId),
      spi: groupSpiArb(protocolId),
      source: arbTrafficSelector,
      destination: arbTrafficSelector,
      transforms: fc.array(arbTransform, { minLength: 1, maxLength: 5 }),
      attributes: fc.array(arbAttribute, { maxLength: 4 }),
    }),
  );

export const groupWidePolicyArb: fc.Arbitrary<GroupWidePolicy> = record({
  protocolId: fc.constant(ProtocolId.NONE),
  attributes: fc.array(arbAttribute, { maxLength: 4 }),
});

/** 0-1 Rekey SA policy, 0-3 Data-Security SA policies (at least one SA policy in all), 0-1 GW policy, any order. */
export const gsaPayloadArb: fc.Arbitrary<GsaPayload> = maybeCritical(
  record({
    kek: fc.option(gsaPolicyArb(fc.constant(ProtocolId.GIKE_UPDATE)), { nil: undefined }),
    teks: fc.array(gsaPolicyArb(fc.constantFrom(ProtocolId.ESP, ProtocolId.AH)), { maxLength: 3 }),
    gw: fc.option(groupWidePolicyArb, { nil: undefined }),
  })
    .filter(({ kek, teks }) => kek !== undefined || teks.length > 0)
    .chain(({ kek, teks, gw }) => {
      const all: GroupPolicy[] = [...(kek ? [kek] : []), ...teks, ...(gw ? [gw] : [])];
      return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length });
    })
    .map((policies): GsaPayload => ({ type: PayloadType.GSA, policies })),
);

// --- KD --------------------------------------------------------------------------------------

export const groupKeyBagArb: fc.Arbitrary<GroupKeyBag> = groupSaProtocolArb.chain((protocolId) =>
  record({ protocolId: fc.constant(protocolId), spi: groupSpiArb(protocolId), attributes: fc.array(arbAttribute, { maxLength: 4 }) }),
);

export const memberKeyBagArb: fc.Arbitrary<MemberKeyBag> = record({
  protocolId: fc.constant(ProtocolId.NONE),
  attributes: fc.array(arbAttribute, { maxLength: 5 }),
});

/** 0-4 Group Key Bags and 0-1 Member Key Bag (at least one bag), any order. */
export const kdPayloadArb: fc.Arbitrary<KdPayload> = maybeCritical(
  record({ group: fc.array(groupKeyBagArb, { maxLength: 4 }), member: fc.option(memberKeyBagArb, { nil: undefined }) })
    .filter(({ group, member }) => group.length > 0 || member !== undefined)
    .chain(({ group, member }) => {
      const all: KeyBag[] = [...group, ...(member ? [member] : [])];
      return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length });
    })
    .map((bags): KdPayload => ({ type: PayloadType.KD, bags })),
);

// --- IDg -------------------------------------------------------------------------------------

/** IDg with the ID types RFC 9838 §4.2 expects (ID_KEY_ID MUST; IPv4, FQDN, RFC822, IPv6 SHOULD). */
export const idgPayloadArb: fc.Arbitrary<IdgPayload> = maybeCritical(
  fc.oneof(
    record({ idType: fc.constant<number>(IdType.ID_IPV4_ADDR), data: bytes(4, 4) }),
    record({ idType: fc.constant<number>(IdType.ID_IPV6_ADDR), data: bytes(16, 16) }),
    record({ idType: fc.constantFrom<number>(IdType.ID_KEY_ID, IdType.ID_FQDN, IdType.ID_RFC822_ADDR), data: bytes(1, 64) }),
  ).map(({ idType, data }): IdgPayload => ({ type: PayloadType.IDg, idType, data })),
);

/** Any G-IKEv2 payload, e.g. to mix into arbChainOf(). */
export const groupPayloadArb: fc.Arbitrary<Payload> = fc.oneof(idgPayloadArb, gsaPayloadArb, kdPayloadArb);

// --- Typed attribute views (valid for a given exchange context) -----------------------------

const optional = <T>(arb: fc.Arbitrary<T>, allowed: boolean): fc.Arbitrary<T | undefined> =>
  allowed ? fc.option(arb, { nil: undefined }) : fc.constant(undefined);
/** Drop keys whose value is undefined (parsed views omit absent attributes). */
const compact = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
const privateUse = fc.array(attributeOfType(fc.integer({ min: 16384, max: 32767 })), { maxLength: 2 });

const multicastRekey = (c: GroupExchangeContext): boolean => c === 'registration' || c === 'rekey';
const registration = (c: GroupExchangeContext): boolean => c === 'registration' || c === 'registration-inband';

export const wrappedKeyArb = (keyId: fc.Arbitrary<number> = u32, kwkId: fc.Arbitrary<number> = u32): fc.Arbitrary<WrappedKey> =>
  record({ keyId, kwkId, encryptedKey: bytes(9, 72) });

export const gsaPolicyAttributesArb = (protocolId: GroupSaProtocol, context: GroupExchangeContext): fc.Arbitrary<GsaPolicyAttributes> =>
  fc
    .record({
      keyLifetime: multicastRekey(context) ? u32 : optional(u32, true),
      initialMessageId: optional(u32, multicastRekey(context) && protocolId === ProtocolId.GIKE_UPDATE),
      nextSpis: multicastRekey(context) ? fc.array(groupSpiArb(protocolId), { maxLength: 3 }) : fc.constant([]),
      unknown: privateUse,
    })
    .map(compact);

export const groupWidePolicyAttributesArb = (context: GroupExchangeContext): fc.Arbitrary<GroupWidePolicyAttributes> =>
  fc
    .record({
      activationTimeDelay: optional(u16, true),
      deactivationTimeDelay: optional(u16, true),
      senderIdBits: optional(fc.integer({ min: 1, max: 63 }), registration(context)),
      unknown: privateUse,
    })
    .map(compact);

export const groupKeyBagAttributesArb = (protocolId: GroupSaProtocol, context: GroupExchangeContext): fc.Arbitrary<GroupKeyBagAttributes> => {
  const dataSa = protocolId !== ProtocolId.GIKE_UPDATE;
  const saKey = wrappedKeyArb(fc.constant(0), dataSa ? fc.constant(0) : u32);
  const several = context === 'rekey' && !dataSa;
  return record({
    saKeys: several ? fc.uniqueArray(saKey, { minLength: 1, maxLength: 4, selector: (k) => k.kwkId }) : saKey.map((k) => [k]),
    unknown: privateUse,
  });
};

/** Ed25519 SubjectPublicKeyInfo (RFC 8410): 12-octet prefix + 32-octet key. */
export const ed25519SpkiArb: fc.Arbitrary<Buffer> = bytes(32, 32).map((k) => Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), k]));

/** Contexts in which a Member Key Bag may appear (not GSA_INBAND_REKEY). */
export const memberKeyBagAttributesArb = (context: Exclude<GroupExchangeContext, 'inband'>): fc.Arbitrary<MemberKeyBagAttributes> => {
  const wrapKey = wrappedKeyArb(fc.integer({ min: 1, max: 0xffffffff }), u32).filter((k) => k.keyId !== k.kwkId);
  return fc
    .record({
      wrapKeys: multicastRekey(context) ? fc.array(wrapKey, { maxLength: 4 }) : fc.constant([]),
      authKey: optional(ed25519SpkiArb, multicastRekey(context)),
      senderIds: registration(context) ? fc.array(u32, { maxLength: 4 }) : fc.constant([]),
      unknown: privateUse,
    })
    .map(compact);
};
