/**
 * RFC 9611 per-resource Child SAs (digest §C): several Child SAs with identical TS, each
 * pinned to a resource (CPU, queue) with its own sequence counter and replay window.
 *
 * - N(SA_RESOURCE_INFO) (status 16444, Protocol 0, SPI size 0) goes in the request and the
 *   response of the exchange creating such an SA. Its data is an opaque resource id of local
 *   meaning only: we send the index as 4 octets (like strongSwan's CPU number) and never
 *   interpret the peer's. The first SA of a group, the fallback, carries it without data.
 * - A rekeyed SA inherits the property: the notify is not sent on rekeys, and one received
 *   on a rekey is ignored (the old SA's id stays).
 * - TS_MAX_QUEUE (error 48): the responder takes no more SAs for this TS set; the initiator
 *   asks again only once the group has shrunk.
 *
 * The group of an SA: same Child SA name and same TS (the responder's view after narrowing).
 */
import { NotifyType } from '../registry/notify.ts';
import type { Payload } from '../wire/payload.ts';
import type { NotifyPayload } from '../wire/payloads/index.ts';
import { NotifyData } from '../wire/payloads/index.ts';
import type { AddressRangeSelector } from '../wire/sub/traffic-selector.ts';
import type { ChildSa, NegotiatedChild } from './child-sa.ts';
import type { ChildConfig } from './config.ts';
import type { IkeSa } from './ike-sa.ts';
import { findNotify } from './messages.ts';

/** The resource id of a fallback SA: SA_RESOURCE_INFO without data (strongSwan). */
export const FALLBACK_RESOURCE: Buffer = Buffer.alloc(0);

const RESOURCE_ID_SIZE = 4;

/** Resource `index` as we send it: 4 octets, network order. */
export function resourceIdOf(index: number): Buffer {
  const b = Buffer.alloc(RESOURCE_ID_SIZE);
  b.writeUInt32BE(index);
  return b;
}

/** Per-resource SAs the initiator asks for after the fallback; 0 = feature off. */
export const perResourceCount = (c: ChildConfig): number => Math.max(0, Math.floor(c.perResource ?? 0));

/** Responder: this child takes part in RFC 9611 (echoes SA_RESOURCE_INFO). */
export const supportsPerResource = (c: ChildConfig): boolean => c.perResource !== undefined || c.perResourceCap !== undefined;

export const resourceInfoNotify = (id: Buffer): NotifyPayload => NotifyData.SA_RESOURCE_INFO.build(id);

/** The resource id a request or response carries (empty = fallback), undefined without the notify. */
export function resourceInfoOf(payloads: readonly Payload[]): Buffer | undefined {
  const n = findNotify(payloads, NotifyType.SA_RESOURCE_INFO);
  return n ? NotifyData.SA_RESOURCE_INFO.parse(n) : undefined;
}

function sameSelectors(a: readonly AddressRangeSelector[], b: readonly AddressRangeSelector[]): boolean {
  return (
    a.length === b.length &&
    a.every((x, i) => {
      const y = b[i]!;
      return x.tsType === y.tsType && x.ipProtocol === y.ipProtocol && x.startPort === y.startPort && x.endPort === y.endPort && x.startAddress.equals(y.startAddress) && x.endAddress.equals(y.endAddress);
    })
  );
}

const live = (c: ChildSa): boolean => c.state === 'installed' || c.state === 'rekeying';
const boundToResource = (c: ChildSa): boolean => (c.resourceId?.length ?? 0) > 0;

/** Live resource-bound SAs (fallback excluded) of the group `c` would join. */
function groupOf(sa: IkeSa, c: Pick<NegotiatedChild, 'name' | 'localTs' | 'remoteTs'>): ChildSa[] {
  return [...sa.children.values()].filter((x) => live(x) && boundToResource(x) && x.name === c.name && sameSelectors(x.localTs, c.localTs) && sameSelectors(x.remoteTs, c.remoteTs));
}

export type ResponderResource = { readonly kind: 'none' } | { readonly kind: 'accept'; readonly resourceId: Buffer } | { readonly kind: 'full' };

/**
 * Responder: what to do with a new Child SA whose request carried `requested` (the
 * SA_RESOURCE_INFO data, undefined without the notify). Our id is the lowest index free in
 * the group; a fallback request gets a fallback answer; above the cap: TS_MAX_QUEUE.
 */
export function responderResource(sa: IkeSa, config: ChildConfig, child: NegotiatedChild, requested: Buffer | undefined): ResponderResource {
  if (requested === undefined || !supportsPerResource(config)) return { kind: 'none' };
  if (requested.length === 0) return { kind: 'accept', resourceId: FALLBACK_RESOURCE };
  const group = groupOf(sa, child);
  if (config.perResourceCap !== undefined && group.length >= config.perResourceCap) return { kind: 'full' };
  const taken = new Set(group.map((x) => x.resourceId!.toString('hex')));
  let index = 0;
  while (taken.has(resourceIdOf(index).toString('hex'))) index++;
  return { kind: 'accept', resourceId: resourceIdOf(index) };
}

/**
 * Initiator: TS_MAX_QUEUE received for a group (by Child SA name). RFC 9611: do not ask
 * again until the group shrinks below the size it had then.
 */
const caps = new WeakMap<IkeSa, Map<string, number>>();

export function noteTsMaxQueue(sa: IkeSa, name: string): void {
  const m = caps.get(sa) ?? new Map<string, number>();
  m.set(name, ownGroupSize(sa, name));
  caps.set(sa, m);
}

const ownGroupSize = (sa: IkeSa, name: string): number => [...sa.children.values()].filter((x) => live(x) && boundToResource(x) && x.name === name).length;

/** The caps follow the Child SAs to a rekeyed IKE SA (RFC 7296 §2.18). */
export function moveTsMaxQueue(from: IkeSa, to: IkeSa): void {
  const m = caps.get(from);
  if (m) caps.set(to, m);
  caps.delete(from);
}

/** Initiator: a per-resource request for this group would hit the peer's cap again. */
export function groupCapped(sa: IkeSa, name: string): boolean {
  const m = caps.get(sa);
  const at = m?.get(name);
  if (at === undefined) return false;
  if (ownGroupSize(sa, name) < at) {
    m!.delete(name);
    return false;
  }
  return true;
}
