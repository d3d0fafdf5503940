/**
 * Values many SAs hold identically (traffic selectors, Child SA suites), shared: one frozen
 * object per distinct value in a bounded table instead of a copy per SA. What an SA keeps
 * for its lifetime must not be a view into a received message (it would pin the message);
 * values that do not fit a full table are returned as copies of their own.
 */
import type { AddressRangeSelector } from '../wire/sub/traffic-selector.ts';
import type { ChildSuite } from './child-sa.ts';
import { retained } from './retained.ts';

class SharedTable<T> {
  readonly #values = new Map<string, T>();
  constructor(readonly max: number) {}

  get(key: string, make: () => T): T {
    const known = this.#values.get(key);
    if (known !== undefined) return known;
    const v = make();
    if (this.#values.size < this.max) this.#values.set(key, Object.freeze(v));
    return v;
  }
}

/** Distinct selector lists: per configuration, or per peer address with host selectors. */
const selectorLists = new SharedTable<readonly AddressRangeSelector[]>(4096);
const childSuites = new SharedTable<ChildSuite>(256);
const numberLists = new SharedTable<readonly number[]>(256);

const selectorKey = (s: AddressRangeSelector): string => `${s.tsType},${s.ipProtocol},${s.startPort},${s.endPort},${s.startAddress.toString('hex')},${s.endAddress.toString('hex')}`;

const ownSelector = (s: AddressRangeSelector): AddressRangeSelector => {
  const [startAddress, endAddress] = retained(s.startAddress, s.endAddress);
  return Object.freeze({ tsType: s.tsType, ipProtocol: s.ipProtocol, startPort: s.startPort, endPort: s.endPort, startAddress: startAddress!, endAddress: endAddress! });
};

export function sharedSelectors(list: readonly AddressRangeSelector[]): readonly AddressRangeSelector[] {
  return selectorLists.get(list.map(selectorKey).join('|'), () => list.map(ownSelector));
}

export function sharedChildSuite(s: ChildSuite): ChildSuite {
  return childSuites.get(`${s.encrId},${s.keyLengthBits},${s.integId},${s.esn}`, () => ({ ...s }));
}

/** A short list of numbers (e.g. the peer's RFC 7427 hash IDs), shared. */
export function sharedNumbers(list: readonly number[]): readonly number[] {
  return list.length > 16 ? list : numberLists.get(list.join(','), () => [...list]);
}

/** KE methods of a Child SA created without PFS. */
export const NO_KE_METHODS: readonly number[] = Object.freeze([]);
