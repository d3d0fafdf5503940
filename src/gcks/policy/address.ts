/** IP addresses in text and bytes, address ranges and CIDR prefixes, multicast tests. */
import { isIPv4, isIPv6 } from 'node:net';
import { ipAddressBytes } from '../../ikev2/wire/ip-address.ts';

export type IpFamily = 4 | 6;

/** Network-order bytes of an IPv4/IPv6 literal, or undefined. Zone suffixes are refused. */
export function parseIp(text: string): Buffer | undefined {
  if (text.includes('%')) return undefined;
  return isIPv4(text) || isIPv6(text) ? ipAddressBytes(text) : undefined;
}

export const familyOf = (addr: Buffer): IpFamily => (addr.length === 4 ? 4 : 6);

/** Canonical text: dotted quad, or RFC 5952 compressed IPv6 (via the WHATWG URL serializer). */
export function ipText(addr: Buffer): string {
  if (addr.length === 4) return [...addr].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(addr.readUInt16BE(i).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

/** IPv4 224.0.0.0/4 or IPv6 ff00::/8 (RFC 5771, RFC 4291 §2.7). */
export const isMulticast = (addr: Buffer): boolean => (addr.length === 4 ? addr[0]! >= 224 && addr[0]! <= 239 : addr[0] === 0xff);

/** First and last address of a prefix of `bits` bits. */
export function prefixRange(addr: Buffer, bits: number): [Buffer, Buffer] {
  const start = Buffer.from(addr);
  const end = Buffer.from(addr);
  for (let i = 0; i < addr.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    start[i] = start[i]! & mask;
    end[i] = (end[i]! & mask) | (~mask & 0xff);
  }
  return [start, end];
}

/** Whether a range is exactly one CIDR prefix; its length, or undefined. */
export function rangePrefixLength(start: Buffer, end: Buffer): number | undefined {
  for (let bits = 0; bits <= start.length * 8; bits++) {
    const [s, e] = prefixRange(start, bits);
    if (s.equals(start) && e.equals(end)) return bits;
  }
  return undefined;
}

export const compareAddresses = (a: Buffer, b: Buffer): number => Buffer.compare(a, b);
