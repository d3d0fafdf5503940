/**
 * IP addresses as raw network-order bytes (4 for IPv4, 16 for IPv6): what the packet
 * path compares, without string conversions per packet.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { GkmError } from '../ikev2/errors.ts';

export type Address = Buffer;

const badAddress = (s: string): GkmError => new GkmError('GKM_ESP_BAD_CONFIG', { field: 'address', detail: s });

/** Parses dotted IPv4 or RFC 4291 IPv6 text (with "::" and an embedded IPv4 tail). */
export function parseAddress(text: string): Address {
  if (isIPv4(text)) return Buffer.from(text.split('.').map(Number));
  if (!isIPv6(text) || text.includes('%')) throw badAddress(text);
  let s = text;
  const out = Buffer.alloc(16);
  const v4 = /:(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    parseAddress(v4[1]!).copy(out, 12);
    s = `${s.slice(0, v4.index)}:0:0`;
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const groups = (part: string | undefined): number[] => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  all.forEach((g, i) => {
    if (!(v4 && i >= 6)) out.writeUInt16BE(g, i * 2);
  });
  return out;
}

/** Text form (IPv6 without zero compression: for logs and tests). */
export function formatAddress(a: Address): string {
  if (a.length === 4) return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(a.readUInt16BE(i).toString(16));
  return g.join(':');
}

export function sameAddress(a: Address, b: Address): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Byte-wise order within one family; callers compare same-length addresses only. */
export function compareAddress(a: Address, b: Address): number {
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

export function isMulticast(a: Address): boolean {
  return a.length === 4 ? (a[0]! & 0xf0) === 0xe0 : a[0] === 0xff;
}
