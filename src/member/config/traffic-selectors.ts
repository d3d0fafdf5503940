/**
 * Traffic selectors in swanctl syntax (`local_ts`, `remote_ts`):
 *
 *   10.1.0.0/16   2001:db8::/32   10.1.0.5   10.1.0.5-10.1.0.9   dynamic
 *   ...each optionally followed by [protocol/port]: [tcp/443], [udp/1000-2000], [17], [icmp]
 *
 * `dynamic` is the address the IKE SA runs on (resolved per SA), as in strongSwan.
 */
import { isIP } from 'node:net';
import { TsType } from '../../ikev2/registry/misc.ts';
import { ipAddressBytes } from '../../ikev2/wire/ip-address.ts';
import type { AddressRangeSelector } from '../../ikev2/wire/sub/traffic-selector.ts';

export interface AddressRange {
  readonly start: Buffer;
  readonly end: Buffer;
}

export interface TsSpec {
  /** The setting's text, for listings. */
  readonly text: string;
  readonly range: AddressRange | 'dynamic';
  /** 0 = any. */
  readonly ipProtocol: number;
  readonly startPort: number;
  readonly endPort: number;
}

const PROTOCOLS: Readonly<Record<string, number>> = { any: 0, icmp: 1, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, icmpv6: 58, 'ipv6-icmp': 58, sctp: 132 };
/** The protocol's name in selector text (tcp, udp, ...), else its number. */
export const protocolName = (n: number): string => Object.entries(PROTOCOLS).find(([, v]) => v === n)?.[0] ?? String(n);

const SELECTOR = /^([^[\]]+?)(?:\[([^\]]*)\])?$/;

/** Parses one selector; throws a plain Error with a message for the config reader. */
export function parseTrafficSelector(text: string): TsSpec {
  const m = SELECTOR.exec(text.trim());
  if (!m) throw new Error(`not a traffic selector: ${JSON.stringify(text)} (e.g. 10.1.0.0/16[tcp/443])`);
  const [proto, ports] = parsePortSpec(m[2]);
  const addr = m[1]!.trim();
  return { text, range: addr === 'dynamic' ? 'dynamic' : parseRange(addr), ipProtocol: proto, startPort: ports[0], endPort: ports[1] };
}

function parseRange(text: string): AddressRange {
  const dash = text.indexOf('-');
  if (dash >= 0) {
    const start = address(text.slice(0, dash).trim());
    const end = address(text.slice(dash + 1).trim());
    if (start.length !== end.length) throw new Error(`range ${text} mixes IPv4 and IPv6`);
    if (Buffer.compare(start, end) > 0) throw new Error(`range ${text} ends before it starts`);
    return { start, end };
  }
  const [base, len] = text.split('/') as [string, string | undefined];
  const start = address(base);
  const bits = len === undefined ? start.length * 8 : /^\d+$/.test(len) ? Number(len) : NaN;
  if (!(bits >= 0 && bits <= start.length * 8)) throw new Error(`bad prefix length in ${text}`);
  const end = Buffer.from(start);
  for (let i = 0; i < start.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    const mask = (0xff << (8 - keep)) & 0xff;
    start[i] = start[i]! & mask;
    end[i] = start[i]! | (~mask & 0xff);
  }
  return { start, end };
}

function address(text: string): Buffer {
  if (isIP(text) === 0) throw new Error(`not an IP address: ${JSON.stringify(text)}`);
  return ipAddressBytes(text);
}

/** `[proto/port]` → protocol and inclusive port range. */
function parsePortSpec(spec: string | undefined): [number, [number, number]] {
  if (spec === undefined) return [0, [0, 0xffff]];
  const [protoText, portText] = spec.split('/') as [string, string | undefined];
  const proto = protoText === '' ? 0 : (PROTOCOLS[protoText.toLowerCase()] ?? (/^\d+$/.test(protoText) && Number(protoText) <= 255 ? Number(protoText) : NaN));
  if (Number.isNaN(proto)) throw new Error(`unknown protocol ${JSON.stringify(protoText)} (a name like tcp or a number 0-255)`);
  if (portText === undefined || portText === '' || portText === '%any') return [proto, [0, 0xffff]];
  const [lo, hi = lo] = portText.split('-').map((p) => (/^\d+$/.test(p) ? Number(p) : NaN)) as [number, number?];
  if (!(lo >= 0 && hi <= 0xffff && lo <= hi)) throw new Error(`bad port or port range ${JSON.stringify(portText)}`);
  if (proto === 0) throw new Error('a port needs a protocol, e.g. [tcp/443]');
  return [proto, [lo, hi]];
}

/** The wire selector, with `dynamic` replaced by the IKE SA's address. */
export function resolveTrafficSelector(ts: TsSpec, dynamicAddress: string): AddressRangeSelector {
  const range = ts.range === 'dynamic' ? { start: ipAddressBytes(dynamicAddress), end: ipAddressBytes(dynamicAddress) } : ts.range;
  return {
    tsType: range.start.length === 4 ? TsType.TS_IPV4_ADDR_RANGE : TsType.TS_IPV6_ADDR_RANGE,
    ipProtocol: ts.ipProtocol,
    startPort: ts.startPort,
    endPort: ts.endPort,
    startAddress: Buffer.from(range.start),
    endAddress: Buffer.from(range.end),
  };
}
