/**
 * Configuration payload (RFC 7296 §3.15): `CFG Type(1) | RESERVED(3) | attributes`.
 * Configuration attributes (§3.15.1) are always `R(1 bit) + Attribute Type(15) | Length(2) |
 * Value`: unlike SA attributes there is no TV form, the top bit is reserved (ignored on
 * receipt, sent as 0). Known attribute types must have one of their defined value lengths.
 */
import { GkmError } from '../../errors.ts';
import { PayloadType } from '../../registry/payload.ts';
import type { PayloadCodec } from '../payload.ts';
import type { Reader } from '../reader.ts';

/** Configuration attribute types (RFC 7296 §3.15.1; 5 and 11 from RFC 4306; RFC 8598). */
export const CpAttrType = {
  INTERNAL_IP4_ADDRESS: 1,
  INTERNAL_IP4_NETMASK: 2,
  INTERNAL_IP4_DNS: 3,
  INTERNAL_IP4_NBNS: 4,
  INTERNAL_ADDRESS_EXPIRY: 5,
  INTERNAL_IP4_DHCP: 6,
  APPLICATION_VERSION: 7,
  INTERNAL_IP6_ADDRESS: 8,
  INTERNAL_IP6_DNS: 10,
  INTERNAL_IP6_NBNS: 11,
  INTERNAL_IP6_DHCP: 12,
  INTERNAL_IP4_SUBNET: 13,
  SUPPORTED_ATTRIBUTES: 14,
  INTERNAL_IP6_SUBNET: 15,
  INTERNAL_DNS_DOMAIN: 25,
  INTERNAL_DNSSEC_TA: 26,
} as const;

export interface CpAttribute {
  /** 15-bit attribute type (the reserved top bit is not part of it). */
  readonly type: number;
  /** Empty in a request that asks for "any value". */
  readonly value: Buffer;
}

export interface CpPayload {
  readonly type: typeof PayloadType.CP;
  readonly critical?: boolean;
  readonly cfgType: number;
  readonly attributes: readonly CpAttribute[];
}

const ATTR_TYPE_MASK = 0x7fff;

/** Value lengths per known type (RFC 7296 §3.15.1 table; the same set as strongSwan checks). */
type LengthRule = readonly number[] | { readonly multipleOf: number };
const T = CpAttrType;
const LENGTH_RULES: Readonly<Record<number, LengthRule>> = {
  [T.INTERNAL_IP4_ADDRESS]: [0, 4],
  [T.INTERNAL_IP4_NETMASK]: [0, 4],
  [T.INTERNAL_IP4_DNS]: [0, 4],
  [T.INTERNAL_IP4_NBNS]: [0, 4],
  [T.INTERNAL_ADDRESS_EXPIRY]: [0, 4],
  [T.INTERNAL_IP4_DHCP]: [0, 4],
  [T.INTERNAL_IP6_ADDRESS]: [0, 17], // address(16) | prefix length(1)
  [T.INTERNAL_IP6_DNS]: [0, 16],
  [T.INTERNAL_IP6_NBNS]: [0, 16],
  [T.INTERNAL_IP6_DHCP]: [0, 16],
  [T.INTERNAL_IP4_SUBNET]: [0, 8], // address(4) | netmask(4)
  [T.SUPPORTED_ATTRIBUTES]: { multipleOf: 2 },
  [T.INTERNAL_IP6_SUBNET]: [0, 17], // RFC says 17; an empty request value is accepted, as strongSwan does
};

/** Why `length` is invalid for attribute `type`, or undefined when it is fine. */
function lengthProblem(type: number, length: number): string | undefined {
  const rule = LENGTH_RULES[type];
  if (rule === undefined) return undefined;
  if ('multipleOf' in rule) return length % rule.multipleOf === 0 ? undefined : `${length} is not a multiple of ${rule.multipleOf}`;
  return rule.includes(length) ? undefined : `${length} for type ${type}, expected ${rule.join(' or ')}`;
}

function decodeCpAttribute(r: Reader, field: string): CpAttribute {
  const type = r.u16(`${field}.type`) & ATTR_TYPE_MASK; // drop the reserved R bit
  const length = r.u16(`${field}.length`);
  const problem = lengthProblem(type, length);
  if (problem) r.fail('GKM_WIRE_BAD_LENGTH', `${field}.length`, problem);
  return { type, value: r.bytes(length, `${field}.value`) };
}

export const cpCodec: PayloadCodec<CpPayload> = {
  type: PayloadType.CP,
  name: 'CP',
  decode(r) {
    const cfgType = r.u8('cfgType');
    r.skip(3, 'reserved');
    const attributes: CpAttribute[] = [];
    while (r.remaining > 0) attributes.push(decodeCpAttribute(r, `attribute[${attributes.length}]`));
    return { type: PayloadType.CP, cfgType, attributes };
  },
  encode(w, p) {
    w.u8(p.cfgType, 'CP.cfgType').zeros(3);
    p.attributes.forEach((a, i) => {
      const field = `CP.attribute[${i}]`;
      if ((a.type & ATTR_TYPE_MASK) !== a.type) throw new GkmError('GKM_WIRE_ENCODE', { field: `${field}.type`, detail: `${a.type} > ${ATTR_TYPE_MASK}` });
      const problem = lengthProblem(a.type, a.value.length);
      if (problem) throw new GkmError('GKM_WIRE_ENCODE', { field: `${field}.length`, detail: problem });
      w.u16(a.type, `${field}.type`).u16(a.value.length, `${field}.length`).bytes(a.value);
    });
  },
};
