/**
 * The member's event stream (`--json`: one object per line on stdout): the engine's events
 * with a timestamp, the connection name and the Child SA's traffic selectors added, plus
 * the daemon's own `ready` and `stopped`. SPIs, identities and algorithm names only: the
 * engine's events carry no keys, and nothing here adds any.
 */
import type { ChildSaSummary, CloseReason, IkeEvent, IkeSaSummary } from '../ikev2/sa/events.ts';
import type { AddressRangeSelector } from '../ikev2/wire/sub/traffic-selector.ts';
import { protocolName } from './config/traffic-selectors.ts';

export interface ChildSaView extends ChildSaSummary {
  readonly localTs: readonly string[];
  readonly remoteTs: readonly string[];
}

type Stamped<T> = T & { readonly time: string };

export type MemberEvent = Stamped<
  | { readonly event: 'ready'; readonly sockets: readonly string[]; readonly control?: string; readonly connections: readonly string[] }
  | { readonly event: 'ike_up'; readonly ike: IkeSaSummary }
  | { readonly event: 'child_up'; readonly ikeSaId: string; readonly conn?: string; readonly child: ChildSaView }
  /** Child SA: old/new inbound SPIs and the new SA; IKE SA: old/new ids (`ikeSaId` is the new one). */
  | { readonly event: 'rekeyed'; readonly ikeSaId: string; readonly conn?: string; readonly what: 'ike' | 'child'; readonly old: string; readonly new: string; readonly child?: ChildSaSummary }
  | { readonly event: 'deleted'; readonly ikeSaId: string; readonly conn?: string; readonly what: 'ike' | 'child'; readonly reason: CloseReason; readonly child?: ChildSaSummary }
  | { readonly event: 'error'; readonly ikeSaId?: string; readonly conn?: string; readonly code: string; readonly notify?: number; readonly notifyName?: string; readonly message: string }
  | { readonly event: 'stopped' }
>;

export type MemberEventName = MemberEvent['event'];

/** What the daemon knows besides the event: the connection of an IKE SA, a Child SA's selectors. */
export interface EventContext {
  conn(ikeSaId: string): string | undefined;
  selectors(ikeSaId: string, inboundSpi: string): { readonly localTs: readonly AddressRangeSelector[]; readonly remoteTs: readonly AddressRangeSelector[] } | undefined;
}

const now = (): string => new Date().toISOString();
const withConn = (name: string | undefined): { conn?: string } => (name === undefined ? {} : { conn: name });

export function memberEvent(e: IkeEvent, ctx: EventContext): MemberEvent {
  const time = now();
  switch (e.type) {
    case 'ike_up':
      return { event: 'ike_up', time, ike: e.ike };
    case 'child_up': {
      const ts = ctx.selectors(e.ikeSaId, e.child.inboundSpi);
      const child: ChildSaView = { ...e.child, localTs: (ts?.localTs ?? []).map(selectorText), remoteTs: (ts?.remoteTs ?? []).map(selectorText) };
      return { event: 'child_up', time, ikeSaId: e.ikeSaId, ...withConn(ctx.conn(e.ikeSaId)), child };
    }
    case 'rekeyed':
      return { event: 'rekeyed', time, ikeSaId: e.ikeSaId, ...withConn(ctx.conn(e.ikeSaId)), what: e.what, old: e.old, new: e.new, ...(e.what === 'child' && e.child ? { child: e.child } : {}) };
    case 'deleted':
      return { event: 'deleted', time, ikeSaId: e.ikeSaId, ...withConn(ctx.conn(e.ikeSaId)), what: e.what, reason: e.reason, ...(e.what === 'child' ? { child: e.child } : {}) };
    case 'error': {
      const { type: _type, ...rest } = e;
      return { event: 'error', time, ...rest, ...withConn(e.ikeSaId === undefined ? undefined : ctx.conn(e.ikeSaId)) };
    }
  }
}

export const stamp = <T extends object>(e: T): T & { time: string } => ({ ...e, time: now() });

/** IPv4 dotted; IPv6 with the longest run of zero groups compressed (RFC 5952). */
function addressText(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  const groups = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  return best.at < 0 ? hex.join(':') : `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.length).join(':')}`;
}

const bit = (b: Buffer, i: number): number => (b[i >> 3]! >> (7 - (i & 7))) & 1;

/** The prefix length when [start, end] is exactly one CIDR block, else undefined. */
function prefixLength(start: Buffer, end: Buffer): number | undefined {
  const total = start.length * 8;
  let len = 0;
  while (len < total && bit(start, len) === bit(end, len)) len++;
  for (let i = len; i < total; i++) if (bit(start, i) !== 0 || bit(end, i) !== 1) return undefined;
  return len;
}

/** swanctl-style text of a selector: 10.1.0.0/16, 10.1.0.5-10.1.0.9, with [proto/ports] when narrowed. */
export function selectorText(ts: AddressRangeSelector): string {
  const len = prefixLength(ts.startAddress, ts.endAddress);
  const addr = len === undefined ? `${addressText(ts.startAddress)}-${addressText(ts.endAddress)}` : `${addressText(ts.startAddress)}/${len}`;
  const anyPort = ts.startPort === 0 && ts.endPort === 0xffff;
  if (ts.ipProtocol === 0 && anyPort) return addr;
  const ports = anyPort ? '' : ts.startPort === ts.endPort ? `/${ts.startPort}` : `/${ts.startPort}-${ts.endPort}`;
  return `${addr}[${protocolName(ts.ipProtocol)}${ports}]`;
}
