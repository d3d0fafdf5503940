/**
 * Traffic selectors of group SAs: the JSON form (`address` as one address, "a/len" or
 * "first-last", or "any"; `protocol` a number or udp/tcp/any; `port` or `ports`), its
 * canonical form, and the RFC 7296 §3.13.1 address-range selector the GSA policy carries
 * (RFC 9838 §4.4.2).
 */
import { TsType } from '../../ikev2/registry/misc.ts';
import type { AddressRangeSelector } from '../../ikev2/wire/sub/traffic-selector.ts';
import type { InputReader } from '../config/input.ts';
import { familyOf, ipText, isMulticast, parseIp, prefixRange, rangePrefixLength, type IpFamily } from './address.ts';
import type { PortRange, Selector } from './types.ts';

export const ANY_PORTS: PortRange = { start: 0, end: 65535 };
const PROTOCOL_NAMES: Readonly<Record<string, number>> = { any: 0, tcp: 6, udp: 17 };
export const UDP = 17;

export interface AddressRange {
  readonly start: Buffer;
  readonly end: Buffer;
}

/** Parse "a", "a/len", "a-b" (same family, a <= b); undefined when malformed. */
export function parseAddressRange(text: string): AddressRange | undefined {
  const slash = text.indexOf('/');
  if (slash >= 0) {
    const addr = parseIp(text.slice(0, slash));
    const lenText = text.slice(slash + 1);
    if (!addr || !/^\d{1,3}$/.test(lenText) || Number(lenText) > addr.length * 8) return undefined;
    const [start, end] = prefixRange(addr, Number(lenText));
    return { start, end };
  }
  const dash = text.indexOf('-');
  if (dash >= 0) {
    const start = parseIp(text.slice(0, dash).trim());
    const end = parseIp(text.slice(dash + 1).trim());
    if (!start || !end || start.length !== end.length || Buffer.compare(start, end) > 0) return undefined;
    return { start, end };
  }
  const addr = parseIp(text);
  return addr && { start: addr, end: addr };
}

/** Canonical text of a range: one address, "a/len" when it is a prefix, else "a-b". */
export function rangeText(r: AddressRange): string {
  if (r.start.equals(r.end)) return ipText(r.start);
  const len = rangePrefixLength(r.start, r.end);
  return len === undefined ? `${ipText(r.start)}-${ipText(r.end)}` : `${ipText(r.start)}/${len}`;
}

const anyAddress = (family: IpFamily): string => (family === 4 ? '0.0.0.0/0' : '::/0');

/** The range of a canonical selector (always parses: it was validated when stored). */
export const selectorRange = (s: Selector): AddressRange => parseAddressRange(s.address)!;
export const selectorFamily = (s: Selector): IpFamily => familyOf(selectorRange(s).start);
export const isMulticastSelector = (s: Selector): boolean => {
  const r = selectorRange(s);
  return isMulticast(r.start) && isMulticast(r.end);
};
export const isSingleAddress = (s: Selector): boolean => {
  const r = selectorRange(s);
  return r.start.equals(r.end);
};

/**
 * Parse a selector. "any" as address needs `family` (the other selector's); `defaults`
 * fill an absent protocol.
 */
export function parseSelector(v: unknown, r: InputReader, field: string, opts: { readonly family?: IpFamily; readonly protocol?: number } = {}): Selector {
  const o = r.object(v, field, ['address', 'protocol', 'port', 'ports']);
  const text = r.string(o.address, `${field}.address`, { max: 100 });
  let address: string;
  if (text === 'any') {
    if (opts.family === undefined) r.fail(`${field}.address`, '"any" is only allowed for a source selector');
    address = anyAddress(opts.family!);
  } else {
    const range = parseAddressRange(text);
    if (!range) r.fail(`${field}.address`, `${JSON.stringify(text)} is not an address, "address/prefix-length" or "first-last"`);
    address = rangeText(range!);
  }
  const protocol =
    o.protocol === undefined
      ? (opts.protocol ?? 0)
      : typeof o.protocol === 'string'
        ? (PROTOCOL_NAMES[r.oneOf(o.protocol, `${field}.protocol`, Object.keys(PROTOCOL_NAMES))] ?? 0)
        : r.integer(o.protocol, `${field}.protocol`, 0, 255);
  if (o.port !== undefined && o.ports !== undefined) r.fail(field, 'give port or ports, not both');
  let ports = ANY_PORTS;
  if (o.port !== undefined) {
    const p = r.integer(o.port, `${field}.port`, 0, 65535);
    ports = { start: p, end: p };
  } else if (o.ports !== undefined) {
    const pr = r.object(o.ports, `${field}.ports`, ['start', 'end']);
    ports = { start: r.integer(pr.start, `${field}.ports.start`, 0, 65535), end: r.integer(pr.end, `${field}.ports.end`, 0, 65535) };
    if (ports.start > ports.end) r.fail(`${field}.ports`, 'start is after end');
  }
  if (protocol === 0 && (ports.start !== 0 || ports.end !== 65535)) r.fail(field, 'ports need a protocol (udp or tcp)');
  return { address, protocol, ports };
}

/** The RFC 7296 §3.13.1 address-range selector for the GSA policy. */
export function toTrafficSelector(s: Selector): AddressRangeSelector {
  const range = selectorRange(s);
  return {
    tsType: range.start.length === 4 ? TsType.TS_IPV4_ADDR_RANGE : TsType.TS_IPV6_ADDR_RANGE,
    ipProtocol: s.protocol,
    startPort: s.ports.start,
    endPort: s.ports.end,
    startAddress: range.start,
    endAddress: range.end,
  };
}
