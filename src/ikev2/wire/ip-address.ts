/** Textual IP address → network-order bytes (4 for IPv4, 16 for IPv6). */
import { isIPv4, isIPv6 } from 'node:net';
import { GkmError } from '../errors.ts';

function ipv4Bytes(ip: string): number[] {
  return ip.split('.').map(Number);
}

/** RFC 4291 §2.2 text forms: `::` compression, an embedded IPv4 tail, a `%zone` suffix (dropped). */
function ipv6Bytes(ip: string): number[] {
  const text = ip.split('%')[0]!;
  const groups = (part: string): number[] => {
    if (part === '') return [];
    return part.split(':').flatMap((g) => {
      if (!g.includes('.')) return [parseInt(g, 16)];
      const [a, b, c, d] = ipv4Bytes(g) as [number, number, number, number];
      return [(a << 8) | b, (c << 8) | d];
    });
  };
  const [head, tail] = text.split('::') as [string, string | undefined];
  const front = groups(head);
  const back = tail === undefined ? [] : groups(tail);
  const all = [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

/** A validated dotted quad (no leading zeros, each 0..255: `isIPv4`) written digit by digit. */
function ipv4Buffer(ip: string): Buffer {
  const out = Buffer.allocUnsafe(4);
  let at = 0;
  let octet = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 0x2e) {
      out[at++] = octet;
      octet = 0;
    } else {
      octet = octet * 10 + (c - 0x30);
    }
  }
  out[at] = octet;
  return out;
}

export function ipAddressBytes(ip: string): Buffer {
  if (isIPv4(ip)) return ipv4Buffer(ip);
  if (isIPv6(ip)) return Buffer.from(ipv6Bytes(ip));
  throw new GkmError('GKM_WIRE_ENCODE', { field: 'ipAddress', detail: `not an IP address: ${JSON.stringify(ip)}` });
}

const V4_MAPPED_PREFIX = Buffer.from('00000000000000000000ffff', 'hex');

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) as its 4 IPv4 bytes; others unchanged. */
export function unmapIpv4(addr: Buffer): Buffer {
  return addr.length === 16 && addr.subarray(0, 12).equals(V4_MAPPED_PREFIX) ? addr.subarray(12) : addr;
}
