/**
 * Traffic selector narrowing (RFC 7296 §2.9): the responder answers with the intersection
 * of what the initiator proposed and what its policy allows; the initiator accepts only a
 * subset of what it proposed. Address-range selectors only; other TS types never match.
 */
import { isAddressRange, type AddressRangeSelector, type TrafficSelector } from '../wire/sub/traffic-selector.ts';

const maxBuf = (a: Buffer, b: Buffer): Buffer => (Buffer.compare(a, b) >= 0 ? a : b);
const minBuf = (a: Buffer, b: Buffer): Buffer => (Buffer.compare(a, b) <= 0 ? a : b);

/** The intersection of two selectors, or undefined when empty. IP protocol 0 = any. */
export function intersect(a: AddressRangeSelector, b: AddressRangeSelector): AddressRangeSelector | undefined {
  if (a.tsType !== b.tsType) return undefined;
  if (a.ipProtocol !== 0 && b.ipProtocol !== 0 && a.ipProtocol !== b.ipProtocol) return undefined;
  const startPort = Math.max(a.startPort, b.startPort);
  const endPort = Math.min(a.endPort, b.endPort);
  const startAddress = maxBuf(a.startAddress, b.startAddress);
  const endAddress = minBuf(a.endAddress, b.endAddress);
  if (startPort > endPort || Buffer.compare(startAddress, endAddress) > 0) return undefined;
  return { tsType: a.tsType, ipProtocol: a.ipProtocol || b.ipProtocol, startPort, endPort, startAddress, endAddress };
}

/** Every non-empty pairwise intersection, without duplicates, in the proposer's order. */
export function narrow(proposed: readonly TrafficSelector[], allowed: readonly AddressRangeSelector[]): AddressRangeSelector[] {
  const out: AddressRangeSelector[] = [];
  for (const p of proposed) {
    if (!isAddressRange(p)) continue;
    for (const a of allowed) {
      const i = intersect(p, a);
      if (i && !out.some((o) => sameSelector(o, i))) out.push(i);
    }
  }
  return out;
}

export function sameSelector(a: AddressRangeSelector, b: AddressRangeSelector): boolean {
  return (
    a.tsType === b.tsType &&
    a.ipProtocol === b.ipProtocol &&
    a.startPort === b.startPort &&
    a.endPort === b.endPort &&
    a.startAddress.equals(b.startAddress) &&
    a.endAddress.equals(b.endAddress)
  );
}

/** `inner` lies within `outer`. */
export function contains(outer: AddressRangeSelector, inner: AddressRangeSelector): boolean {
  const i = intersect(outer, inner);
  return i !== undefined && sameSelector(i, { ...inner, ipProtocol: inner.ipProtocol || outer.ipProtocol }) && (outer.ipProtocol === 0 || inner.ipProtocol === outer.ipProtocol);
}

/** Every returned selector lies within one we proposed (initiator's check of TSi/TSr). */
export function withinProposed(returned: readonly TrafficSelector[], proposed: readonly AddressRangeSelector[]): returned is AddressRangeSelector[] {
  return returned.length > 0 && returned.every((r) => isAddressRange(r) && proposed.some((p) => contains(p, r)));
}
