/**
 * Typed notify data (RFC 7296 §3.10.1 and extensions), table-driven: one codec per notify
 * type, `NotifyData.X.parse(n)` (strict; GkmError → INVALID_SYNTAX) and
 * `NotifyData.X.build(value)` (a ready NotifyPayload).
 *
 * SPI-less notifies ignore the Protocol ID and SPI on receipt (RFC 7296 §3.10). Notifies
 * defined without data ignore any data they carry (RFC 9838 §4.7 says so for its own;
 * we apply it to all, see docs/decisions.md "Notify data").
 */
import { hash } from 'node:crypto';
import { GkmError } from '../../errors.ts';
import { ProtocolId } from '../../registry/misc.ts';
import { NotifyType } from '../../registry/notify.ts';
import { ipAddressBytes, unmapIpv4 } from '../ip-address.ts';
import { Reader } from '../reader.ts';
import { encodeWith, type Writer } from '../writer.ts';
import { notify, type NotifyPayload } from './notify.ts';

export interface NotifyDataCodec<T> {
  readonly notifyType: number;
  readonly name: string;
  /** The typed value of a received notify of this type. */
  parse(n: NotifyPayload): T;
  /** A notify of this type carrying `value`. */
  build(value: T): NotifyPayload;
}

function checkType(n: NotifyPayload, notifyType: number, name: string): void {
  if (n.notifyType !== notifyType) {
    throw new GkmError('GKM_WIRE_BAD_VALUE', { field: `N(${name}).notifyType`, detail: `${n.notifyType}, expected ${notifyType}` });
  }
}

/** Notify whose value lives in its data only; `decode` reads a reader bounded to the data. */
function dataCodec<T>(
  notifyType: number,
  name: string,
  decode: (r: Reader) => T,
  encode: (w: Writer, v: T) => void,
): NotifyDataCodec<T> {
  const path = `N(${name})`; // once per codec, not per parse
  return {
    notifyType,
    name,
    parse(n) {
      checkType(n, notifyType, name);
      const r = new Reader(n.data, path);
      const v = decode(r);
      r.end('data');
      return v;
    },
    build(v) {
      return notify(notifyType, encodeWith((w) => encode(w, v), 16));
    },
  };
}

/** Allowed data lengths: a list, or an inclusive range. */
type Sizes = readonly number[] | { readonly min: number; readonly max: number };

const sizeOk = (s: Sizes, n: number): boolean => ('min' in s ? n >= s.min && n <= s.max : s.includes(n));
const sizeText = (s: Sizes): string => ('min' in s ? `${s.min}..${s.max === Infinity ? '' : s.max}` : s.join(' or '));

function requireSize(r: Reader, sizes: Sizes): void {
  if (!sizeOk(sizes, r.remaining)) r.fail('GKM_WIRE_BAD_LENGTH', 'data', `${r.remaining} octet(s), expected ${sizeText(sizes)}`);
}

function encodeSizeCheck(name: string, sizes: Sizes, n: number): void {
  if (!sizeOk(sizes, n)) throw new GkmError('GKM_WIRE_ENCODE', { field: `N(${name}).data`, detail: `${n} octet(s), expected ${sizeText(sizes)}` });
}

/** Opaque data of a constrained length. */
function octets(notifyType: number, name: string, sizes: Sizes): NotifyDataCodec<Buffer> {
  return dataCodec(
    notifyType,
    name,
    (r) => (requireSize(r, sizes), r.rest()),
    (w, v) => (encodeSizeCheck(name, sizes, v.length), w.bytes(v)),
  );
}

/** A big-endian unsigned integer filling the data exactly. */
function uint(notifyType: number, name: string, width: 1 | 2 | 4): NotifyDataCodec<number> {
  const read = { 1: 'u8', 2: 'u16', 4: 'u32' } as const;
  return dataCodec(
    notifyType,
    name,
    (r) => (requireSize(r, [width]), r[read[width]]('data')),
    (w, v) => w[read[width]](v, `N(${name}).data`),
  );
}

/** A non-empty list of 2-octet values. */
function u16List(notifyType: number, name: string): NotifyDataCodec<readonly number[]> {
  return dataCodec(
    notifyType,
    name,
    (r) => {
      if (r.remaining === 0 || r.remaining % 2 !== 0) r.fail('GKM_WIRE_BAD_LENGTH', 'data', `${r.remaining} octet(s), expected a non-zero even count`);
      const out: number[] = [];
      while (r.remaining > 0) out.push(r.u16(`data[${out.length}]`));
      return out;
    },
    (w, v) => {
      if (v.length === 0) throw new GkmError('GKM_WIRE_ENCODE', { field: `N(${name}).data`, detail: 'empty list' });
      for (const x of v) w.u16(x, `N(${name}).data`);
    },
  );
}

/** Notify defined without data: parse checks the type only, build sends no data. */
function flag(notifyType: number, name: string): NotifyDataCodec<void> {
  return {
    notifyType,
    name,
    parse(n) {
      checkType(n, notifyType, name);
    },
    build() {
      return notify(notifyType);
    },
  };
}

export interface ChildSaRef {
  /** AH (2) or ESP (3). */
  readonly protocolId: number;
  /** 4 octets. */
  readonly spi: Buffer;
}

const CHILD_SPI_SIZE = 4;
const childProtocols = new Set<number>([ProtocolId.AH, ProtocolId.ESP]);

/** Notify naming a Child SA by protocol and SPI, without data (RFC 7296 §3.10.1: REKEY_SA, CHILD_SA_NOT_FOUND). */
function childSa(notifyType: number, name: string): NotifyDataCodec<ChildSaRef> {
  const problem = (protocolId: number, spi: Buffer): { field: string; detail: string } | undefined =>
    !childProtocols.has(protocolId)
      ? { field: 'protocolId', detail: `${protocolId}, expected AH or ESP` }
      : spi.length !== CHILD_SPI_SIZE
        ? { field: 'spiSize', detail: `${spi.length}, expected ${CHILD_SPI_SIZE}` }
        : undefined;
  return {
    notifyType,
    name,
    parse(n) {
      checkType(n, notifyType, name);
      const p = problem(n.protocolId, n.spi);
      if (p) throw new GkmError(p.field === 'spiSize' ? 'GKM_WIRE_BAD_LENGTH' : 'GKM_WIRE_BAD_VALUE', { field: `N(${name}).${p.field}`, detail: p.detail });
      return { protocolId: n.protocolId, spi: n.spi };
    },
    build(v) {
      const p = problem(v.protocolId, v.spi);
      if (p) throw new GkmError('GKM_WIRE_ENCODE', { field: `N(${name}).${p.field}`, detail: p.detail });
      return notify(notifyType, Buffer.alloc(0), v.protocolId, v.spi);
    },
  };
}

export interface IpcompSupported {
  /** Compression Parameter Index. */
  readonly cpi: number;
  /** IPComp transform ID (RFC 7296 §3.10.1: 2 = DEFLATE). */
  readonly transformId: number;
}

/** SHA-1 output: NAT_DETECTION_* data (RFC 7296 §2.23). */
export const NAT_DETECTION_HASH_SIZE = 20;
/** RFC 7296 §2.6: cookies are 1..64 octets. */
export const COOKIE_MAX = 64;

const N = NotifyType;

/** Notify types of optimized rekey: unassigned (TBD1/TBD2), so configurable private-use values. */
export interface OptimizedRekeyTypes {
  readonly supported: number;
  readonly rekey: number;
}

/**
 * The optimized-rekey notifies under the given types (draft-ietf-ipsecme-ikev2-sa-ts-payloads-opt
 * §3, §6): OPTIMIZED_REKEY_SUPPORTED without data; OPTIMIZED_REKEY with the new SPI as data
 * (8 octets for an IKE SA, 4 for a Child SA), Protocol ID 0 and SPI size 0 in both.
 */
export function optimizedRekeyCodecs(types: OptimizedRekeyTypes): { readonly supported: NotifyDataCodec<void>; readonly rekey: NotifyDataCodec<Buffer> } {
  return {
    supported: flag(types.supported, 'OPTIMIZED_REKEY_SUPPORTED'),
    rekey: octets(types.rekey, 'OPTIMIZED_REKEY', [4, 8]),
  };
}

const optimizedDefaults = optimizedRekeyCodecs({ supported: N.OPTIMIZED_REKEY_SUPPORTED, rekey: N.OPTIMIZED_REKEY });

export const NotifyData = {
  COOKIE: octets(N.COOKIE, 'COOKIE', { min: 1, max: COOKIE_MAX }),
  NAT_DETECTION_SOURCE_IP: octets(N.NAT_DETECTION_SOURCE_IP, 'NAT_DETECTION_SOURCE_IP', [NAT_DETECTION_HASH_SIZE]),
  NAT_DETECTION_DESTINATION_IP: octets(N.NAT_DETECTION_DESTINATION_IP, 'NAT_DETECTION_DESTINATION_IP', [NAT_DETECTION_HASH_SIZE]),
  /** The Key Exchange Method the responder wants (RFC 7296 §1.3). */
  INVALID_KE_PAYLOAD: uint(N.INVALID_KE_PAYLOAD, 'INVALID_KE_PAYLOAD', 2),
  /** The payload type that was not understood (RFC 7296 §3.10.1). */
  UNSUPPORTED_CRITICAL_PAYLOAD: uint(N.UNSUPPORTED_CRITICAL_PAYLOAD, 'UNSUPPORTED_CRITICAL_PAYLOAD', 1),
  SET_WINDOW_SIZE: uint(N.SET_WINDOW_SIZE, 'SET_WINDOW_SIZE', 4),
  /** Number of Sender-IDs wanted, exactly 4 octets (RFC 9838 §4.7.4); 0 is returned as sent. */
  GROUP_SENDER: uint(N.GROUP_SENDER, 'GROUP_SENDER', 4),
  REKEY_SA: childSa(N.REKEY_SA, 'REKEY_SA'),
  CHILD_SA_NOT_FOUND: childSa(N.CHILD_SA_NOT_FOUND, 'CHILD_SA_NOT_FOUND'),
  /** Hash algorithm IDs (RFC 7427 §4). */
  SIGNATURE_HASH_ALGORITHMS: u16List(N.SIGNATURE_HASH_ALGORITHMS, 'SIGNATURE_HASH_ALGORITHMS'),
  /** Opaque link data, echoed back by the initiator (RFC 9370 §2.2.4). */
  ADDITIONAL_KEY_EXCHANGE: octets(N.ADDITIONAL_KEY_EXCHANGE, 'ADDITIONAL_KEY_EXCHANGE', { min: 0, max: Infinity }),
  /** Optional opaque resource identifier; empty for the fallback SA (RFC 9611). */
  SA_RESOURCE_INFO: octets(N.SA_RESOURCE_INFO, 'SA_RESOURCE_INFO', { min: 0, max: Infinity }),
  /** The new SPI as data: 8 octets for an IKE SA, 4 for a Child SA; default type, see optimizedRekeyCodecs. */
  OPTIMIZED_REKEY: optimizedDefaults.rekey,
  IPCOMP_SUPPORTED: dataCodec<IpcompSupported>(
    N.IPCOMP_SUPPORTED,
    'IPCOMP_SUPPORTED',
    (r) => (requireSize(r, [3]), { cpi: r.u16('cpi'), transformId: r.u8('transformId') }),
    (w, v) => w.u16(v.cpi, 'N(IPCOMP_SUPPORTED).cpi').u8(v.transformId, 'N(IPCOMP_SUPPORTED).transformId'),
  ),
  // Defined without data.
  INITIAL_CONTACT: flag(N.INITIAL_CONTACT, 'INITIAL_CONTACT'),
  ADDITIONAL_TS_POSSIBLE: flag(N.ADDITIONAL_TS_POSSIBLE, 'ADDITIONAL_TS_POSSIBLE'),
  USE_TRANSPORT_MODE: flag(N.USE_TRANSPORT_MODE, 'USE_TRANSPORT_MODE'),
  HTTP_CERT_LOOKUP_SUPPORTED: flag(N.HTTP_CERT_LOOKUP_SUPPORTED, 'HTTP_CERT_LOOKUP_SUPPORTED'),
  ESP_TFC_PADDING_NOT_SUPPORTED: flag(N.ESP_TFC_PADDING_NOT_SUPPORTED, 'ESP_TFC_PADDING_NOT_SUPPORTED'),
  NON_FIRST_FRAGMENTS_ALSO: flag(N.NON_FIRST_FRAGMENTS_ALSO, 'NON_FIRST_FRAGMENTS_ALSO'),
  MOBIKE_SUPPORTED: flag(N.MOBIKE_SUPPORTED, 'MOBIKE_SUPPORTED'),
  MULTIPLE_AUTH_SUPPORTED: flag(N.MULTIPLE_AUTH_SUPPORTED, 'MULTIPLE_AUTH_SUPPORTED'),
  ANOTHER_AUTH_FOLLOWS: flag(N.ANOTHER_AUTH_FOLLOWS, 'ANOTHER_AUTH_FOLLOWS'),
  CHILDLESS_IKEV2_SUPPORTED: flag(N.CHILDLESS_IKEV2_SUPPORTED, 'CHILDLESS_IKEV2_SUPPORTED'),
  IKEV2_FRAGMENTATION_SUPPORTED: flag(N.IKEV2_FRAGMENTATION_SUPPORTED, 'IKEV2_FRAGMENTATION_SUPPORTED'),
  INTERMEDIATE_EXCHANGE_SUPPORTED: flag(N.INTERMEDIATE_EXCHANGE_SUPPORTED, 'INTERMEDIATE_EXCHANGE_SUPPORTED'),
  USE_PPK: flag(N.USE_PPK, 'USE_PPK'),
  IKE_SA_INIT_FULL_TRANSCRIPT_AUTH: flag(N.IKE_SA_INIT_FULL_TRANSCRIPT_AUTH, 'IKE_SA_INIT_FULL_TRANSCRIPT_AUTH'),
  USE_BEET_MODE: flag(N.USE_BEET_MODE, 'USE_BEET_MODE'),
  OPTIMIZED_REKEY_SUPPORTED: optimizedDefaults.supported,
  INVALID_SYNTAX: flag(N.INVALID_SYNTAX, 'INVALID_SYNTAX'),
  NO_PROPOSAL_CHOSEN: flag(N.NO_PROPOSAL_CHOSEN, 'NO_PROPOSAL_CHOSEN'),
  AUTHENTICATION_FAILED: flag(N.AUTHENTICATION_FAILED, 'AUTHENTICATION_FAILED'),
  SINGLE_PAIR_REQUIRED: flag(N.SINGLE_PAIR_REQUIRED, 'SINGLE_PAIR_REQUIRED'),
  NO_ADDITIONAL_SAS: flag(N.NO_ADDITIONAL_SAS, 'NO_ADDITIONAL_SAS'),
  INTERNAL_ADDRESS_FAILURE: flag(N.INTERNAL_ADDRESS_FAILURE, 'INTERNAL_ADDRESS_FAILURE'),
  FAILED_CP_REQUIRED: flag(N.FAILED_CP_REQUIRED, 'FAILED_CP_REQUIRED'),
  TS_UNACCEPTABLE: flag(N.TS_UNACCEPTABLE, 'TS_UNACCEPTABLE'),
  TEMPORARY_FAILURE: flag(N.TEMPORARY_FAILURE, 'TEMPORARY_FAILURE'),
  INVALID_GROUP_ID: flag(N.INVALID_GROUP_ID, 'INVALID_GROUP_ID'),
  AUTHORIZATION_FAILED: flag(N.AUTHORIZATION_FAILED, 'AUTHORIZATION_FAILED'),
  REGISTRATION_FAILED: flag(N.REGISTRATION_FAILED, 'REGISTRATION_FAILED'),
  STATE_NOT_FOUND: flag(N.STATE_NOT_FOUND, 'STATE_NOT_FOUND'),
  TS_MAX_QUEUE: flag(N.TS_MAX_QUEUE, 'TS_MAX_QUEUE'),
} as const;

const byType: ReadonlyMap<number, NotifyDataCodec<unknown>> = new Map(
  Object.values(NotifyData).map((c) => [c.notifyType, c as NotifyDataCodec<unknown>]),
);

/** The data codec for a notify type, if this module knows it. */
export function notifyDataCodec(notifyType: number): NotifyDataCodec<unknown> | undefined {
  return byType.get(notifyType);
}

/** Validate a received notify's data when its type is known (unknown types pass as opaque). */
export function checkNotifyData(n: NotifyPayload): void {
  byType.get(n.notifyType)?.parse(n);
}

/**
 * NAT_DETECTION_*_IP data (RFC 7296 §2.23): SHA-1(SPIi | SPIr | IP | Port), with SPIr all
 * zero in the first IKE_SA_INIT request. `ip` is textual; an IPv4-mapped IPv6 address (as
 * dual-stack sockets report IPv4 peers) is hashed as the IPv4 address it stands for.
 */
export function natDetectionHash(spiI: Buffer, spiR: Buffer, ip: string, port: number): Buffer {
  if (spiI.length !== 8 || spiR.length !== 8) {
    throw new GkmError('GKM_WIRE_ENCODE', { field: 'natDetectionHash.spi', detail: `SPI sizes ${spiI.length}/${spiR.length}, expected 8` });
  }
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new GkmError('GKM_WIRE_ENCODE', { field: 'natDetectionHash.port', detail: `value ${port} out of range 0..65535` });
  }
  // One buffer and a one-shot hash: four of these per IKE_SA_INIT exchange (a Hash object
  // with four updates cost several times more).
  const addr = unmapIpv4(ipAddressBytes(ip));
  const input = Buffer.allocUnsafe(18 + addr.length);
  spiI.copy(input, 0);
  spiR.copy(input, 8);
  addr.copy(input, 16);
  input.writeUInt16BE(port, 16 + addr.length);
  return hash('sha1', input, 'buffer');
}
