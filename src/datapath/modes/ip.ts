/**
 * Minimal strict IPv4 (RFC 791) / IPv6 (RFC 8200) header codec for the datapath: enough
 * to find where ESP goes (RFC 4303 §3.1), build outer headers and derive flows.
 * Every length is checked against the buffer; errors are GKM_IP_MALFORMED.
 */
import { GkmError } from '../../ikev2/errors.ts';
import type { Address } from '../address.ts';
import type { Flow } from '../selector.ts';

export const Proto = {
  HOPOPTS: 0,
  IPV4: 4,
  TCP: 6,
  UDP: 17,
  IPV6: 41,
  ROUTING: 43,
  FRAGMENT: 44,
  ESP: 50,
  NONE: 59,
  DSTOPTS: 60,
  BEETPH: 94,
  SCTP: 132,
  UDPLITE: 136,
} as const;

export interface IpInfo {
  readonly version: 4 | 6;
  /** Packet length per the header (IPv4 Total Length; IPv6 40 + Payload Length). */
  readonly length: number;
  /** Fixed header length (IPv4 IHL*4 with options; IPv6 40). */
  readonly headerLength: number;
  /** Where ESP goes in transport mode: after the IPv4 header / IPv6 HbH, Routing, Fragment. */
  readonly payloadOffset: number;
  /** Protocol of the data at payloadOffset. */
  readonly protocol: number;
  /** Offset of the byte that holds `protocol` (patched to 50 in transport mode). */
  readonly protocolField: number;
  /** IPv4 TOS / IPv6 Traffic Class. */
  readonly tos: number;
  /** IPv4 TTL / IPv6 Hop Limit. */
  readonly ttl: number;
  /** IPv4 Identification (0 for IPv6). */
  readonly id: number;
  /** IPv4 flags | fragment offset (0 for IPv6). */
  readonly fragment: number;
  /** IPv6 Flow Label (0 for IPv4). */
  readonly flowLabel: number;
  /** Views into the packet. */
  readonly src: Address;
  readonly dst: Address;
}

const malformed = (field: string, detail: string): GkmError => new GkmError('GKM_IP_MALFORMED', { field, detail });

/** RFC 1071 one's-complement sum over [start, end) (even length). */
export function ipChecksum(buf: Buffer, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const IPV4_MF_OR_OFFSET = 0x3fff;

/**
 * Parses an IP packet at the start of `buf`. With `exact`, the buffer must end where the
 * header says; otherwise bytes after it (e.g. TFC padding) are allowed.
 */
export function parseIp(buf: Buffer, exact: boolean): IpInfo {
  if (buf.length < 1) throw malformed('ip', 'empty');
  const version = buf[0]! >>> 4;
  if (version === 4) return parseIpv4(buf, exact);
  if (version === 6) return parseIpv6(buf, exact);
  throw malformed('ip.version', String(version));
}

function parseIpv4(buf: Buffer, exact: boolean): IpInfo {
  if (buf.length < 20) throw malformed('ipv4', `${buf.length} byte(s)`);
  const hl = (buf[0]! & 0x0f) * 4;
  const length = buf.readUInt16BE(2);
  if (hl < 20) throw malformed('ipv4.ihl', String(hl / 4));
  if (length < hl || length > buf.length || (exact && length !== buf.length)) {
    throw malformed('ipv4.totalLength', `${length} for ${buf.length} byte(s), header ${hl}`);
  }
  if (ipChecksum(buf, 0, hl) !== 0) throw malformed('ipv4.checksum', 'mismatch');
  return {
    version: 4,
    length,
    headerLength: hl,
    payloadOffset: hl,
    protocol: buf[9]!,
    protocolField: 9,
    tos: buf[1]!,
    ttl: buf[8]!,
    id: buf.readUInt16BE(4),
    fragment: buf.readUInt16BE(6),
    flowLabel: 0,
    src: buf.subarray(12, 16),
    dst: buf.subarray(16, 20),
  };
}

function parseIpv6(buf: Buffer, exact: boolean): IpInfo {
  if (buf.length < 40) throw malformed('ipv6', `${buf.length} byte(s)`);
  const payloadLength = buf.readUInt16BE(4);
  const length = 40 + payloadLength;
  // Payload Length 0 means a jumbogram (RFC 2675): not supported.
  if (payloadLength === 0 || length > buf.length || (exact && length !== buf.length)) {
    throw malformed('ipv6.payloadLength', `${payloadLength} for ${buf.length} byte(s)`);
  }
  // ESP follows Hop-by-Hop, Routing and Fragment headers (RFC 4303 §3.1.1).
  let protocolField = 6;
  let off = 40;
  let nh = buf[6]!;
  while (nh === Proto.HOPOPTS || nh === Proto.ROUTING || nh === Proto.FRAGMENT) {
    if (nh === Proto.HOPOPTS && off !== 40) throw malformed('ipv6.hopByHop', 'not first');
    if (off + 8 > length) throw malformed('ipv6.extension', `truncated at ${off}`);
    const extLen = nh === Proto.FRAGMENT ? 8 : (buf[off + 1]! + 1) * 8;
    if (off + extLen > length) throw malformed('ipv6.extension', `length ${extLen} at ${off}`);
    protocolField = off;
    nh = buf[off]!;
    off += extLen;
  }
  const w0 = buf.readUInt32BE(0);
  return {
    version: 6,
    length,
    headerLength: 40,
    payloadOffset: off,
    protocol: nh,
    protocolField,
    tos: (w0 >>> 20) & 0xff,
    ttl: buf[7]!,
    id: 0,
    fragment: 0,
    flowLabel: w0 & 0xfffff,
    src: buf.subarray(8, 24),
    dst: buf.subarray(24, 40),
  };
}

/** True for an IPv4 fragment (MF set or a non-zero offset). */
export function isIpv4Fragment(info: IpInfo): boolean {
  return info.version === 4 && (info.fragment & IPV4_MF_OR_OFFSET) !== 0;
}

const PORTED = new Set<number>([Proto.TCP, Proto.UDP, Proto.SCTP, Proto.UDPLITE]);

/** The flow of a packet for selector matching; ports -1 when absent or unavailable. */
export function flowOf(buf: Buffer, info: IpInfo): Flow {
  const off = info.payloadOffset;
  const ported =
    PORTED.has(info.protocol) && (info.version === 6 || (info.fragment & 0x1fff) === 0) && off + 4 <= info.length;
  return {
    src: info.src,
    dst: info.dst,
    protocol: info.protocol,
    srcPort: ported ? buf.readUInt16BE(off) : -1,
    dstPort: ported ? buf.readUInt16BE(off + 2) : -1,
  };
}

export interface Ipv4Fields {
  readonly tos: number;
  readonly totalLength: number;
  readonly id: number;
  readonly fragment: number;
  readonly ttl: number;
  readonly protocol: number;
  readonly src: Address;
  readonly dst: Address;
  /** Options (length a multiple of 4, at most 40). */
  readonly options?: Buffer;
}

/** Writes an IPv4 header with its checksum at `off`; returns the header length. */
export function writeIpv4(buf: Buffer, off: number, f: Ipv4Fields): number {
  const optLen = f.options?.length ?? 0;
  if (optLen % 4 !== 0 || optLen > 40) throw malformed('ipv4.options', `${optLen} byte(s)`);
  if (f.totalLength > 0xffff) throw malformed('ipv4.totalLength', `${f.totalLength} exceeds 65535`);
  const hl = 20 + optLen;
  buf[off] = 0x40 | (hl / 4);
  buf[off + 1] = f.tos;
  buf.writeUInt16BE(f.totalLength, off + 2);
  buf.writeUInt16BE(f.id, off + 4);
  buf.writeUInt16BE(f.fragment, off + 6);
  buf[off + 8] = f.ttl;
  buf[off + 9] = f.protocol;
  buf.writeUInt16BE(0, off + 10);
  f.src.copy(buf, off + 12);
  f.dst.copy(buf, off + 16);
  f.options?.copy(buf, off + 20);
  buf.writeUInt16BE(ipChecksum(buf, off, off + hl), off + 10);
  return hl;
}

export interface Ipv6Fields {
  readonly trafficClass: number;
  readonly flowLabel: number;
  readonly payloadLength: number;
  readonly nextHeader: number;
  readonly hopLimit: number;
  readonly src: Address;
  readonly dst: Address;
}

export function writeIpv6(buf: Buffer, off: number, f: Ipv6Fields): number {
  if (f.payloadLength > 0xffff) throw malformed('ipv6.payloadLength', `${f.payloadLength} exceeds 65535`);
  buf.writeUInt32BE(((6 << 28) | (f.trafficClass << 20) | (f.flowLabel & 0xfffff)) >>> 0, off);
  buf.writeUInt16BE(f.payloadLength, off + 4);
  buf[off + 6] = f.nextHeader;
  buf[off + 7] = f.hopLimit;
  f.src.copy(buf, off + 8);
  f.dst.copy(buf, off + 24);
  return 40;
}

/** Rewrites IPv4 Total Length and checksum, or IPv6 Payload Length, after a size change. */
export function fixLengths(buf: Buffer, version: 4 | 6, headerLength: number): void {
  if (version === 4) {
    if (buf.length > 0xffff) throw malformed('ipv4.totalLength', `${buf.length} exceeds 65535`);
    buf.writeUInt16BE(buf.length, 2);
    buf.writeUInt16BE(0, 10);
    buf.writeUInt16BE(ipChecksum(buf, 0, headerLength), 10);
  } else {
    if (buf.length - 40 > 0xffff) throw malformed('ipv6.payloadLength', `${buf.length - 40} exceeds 65535`);
    buf.writeUInt16BE(buf.length - 40, 4);
  }
}
