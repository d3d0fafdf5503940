/**
 * Traffic selectors (RFC 4301 §4.4.1, RFC 7296 §3.13.1): address ranges, protocol and
 * port ranges, matched against the flow of a packet.
 */
import { GkmError } from '../ikev2/errors.ts';
import { compareAddress, parseAddress, type Address } from './address.ts';

export interface AddressRange {
  readonly start: Address;
  readonly end: Address;
}

export interface TrafficSelector {
  readonly src: AddressRange;
  readonly dst: AddressRange;
  /** IP protocol; 0 = any. */
  readonly protocol?: number;
  /** Inclusive port ranges (TCP, UDP, SCTP, UDP-Lite); absent = any. */
  readonly srcPorts?: readonly [number, number];
  readonly dstPorts?: readonly [number, number];
}

/** What a selector is matched against; ports are -1 when the packet has none (or opaque). */
export interface Flow {
  readonly src: Address;
  readonly dst: Address;
  readonly protocol: number;
  readonly srcPort: number;
  readonly dstPort: number;
}

/** "10.0.0.0/24", "ff02::/16", or a single address. */
export function prefix(cidr: string): AddressRange {
  const [addr, len] = cidr.split('/') as [string, string | undefined];
  const start = parseAddress(addr);
  const bits = len === undefined ? start.length * 8 : Number(len);
  if (!Number.isInteger(bits) || bits < 0 || bits > start.length * 8) {
    throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'selector.prefix', detail: cidr });
  }
  const end = Buffer.from(start);
  for (let i = 0; i < start.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    const mask = (0xff << (8 - keep)) & 0xff;
    start[i] = start[i]! & mask;
    end[i] = (end[i]! & mask) | (~mask & 0xff);
  }
  return { start, end };
}

function inRange(a: Address, r: AddressRange): boolean {
  return a.length === r.start.length && compareAddress(a, r.start) >= 0 && compareAddress(a, r.end) <= 0;
}

function portIn(port: number, r: readonly [number, number] | undefined): boolean {
  if (r === undefined || (r[0] === 0 && r[1] === 0xffff)) return true;
  return port >= r[0] && port <= r[1];
}

export function matchesSelector(ts: TrafficSelector, f: Flow): boolean {
  if (!inRange(f.src, ts.src) || !inRange(f.dst, ts.dst)) return false;
  if (ts.protocol !== undefined && ts.protocol !== 0 && ts.protocol !== f.protocol) return false;
  return portIn(f.srcPort, ts.srcPorts) && portIn(f.dstPort, ts.dstPorts);
}

/** Any selector of the list matches; an absent list matches every flow. */
export function matchesAny(list: readonly TrafficSelector[] | undefined, f: Flow): boolean {
  if (list === undefined) return true;
  for (const ts of list) if (matchesSelector(ts, f)) return true;
  return false;
}
