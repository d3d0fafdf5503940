/**
 * A Map for the few entries an IKE SA keeps per kind (its Child SAs: one or two almost
 * always). A `Map` costs ~380 bytes even when it holds one entry (its hash table is sized
 * for four); this keeps the entries in one exact-size array, [key0, value0, key1, ...],
 * replaced on every write (writes are rare: a Child SA created, rekeyed or deleted), and
 * shares one empty array when there are none. Lookups are linear: fine up to some tens.
 *
 * Iteration follows `Map`'s rules (ECMA-262 §24.1.3.5: insertion order; entries deleted
 * before they are reached are skipped, entries added during iteration are visited), so it
 * is a drop-in replacement for a `Map` (keys compared with SameValueZero), except that a key
 * deleted and set again during an iteration that already visited it is not visited again.
 */
const NONE: readonly unknown[] = Object.freeze([]);

export class SmallMap<K, V> implements Map<K, V> {
  /** Flat key/value pairs; never mutated in place (iterators hold on to it). */
  #pairs: readonly unknown[] = NONE;

  get size(): number {
    return this.#pairs.length >>> 1;
  }

  get [Symbol.toStringTag](): string {
    return 'SmallMap';
  }

  #indexOf(key: K, pairs: readonly unknown[] = this.#pairs): number {
    for (let i = 0; i < pairs.length; i += 2) if (sameValueZero(pairs[i], key)) return i;
    return -1;
  }

  get(key: K): V | undefined {
    const i = this.#indexOf(key);
    return i < 0 ? undefined : (this.#pairs[i + 1] as V);
  }

  has(key: K): boolean {
    return this.#indexOf(key) >= 0;
  }

  set(key: K, value: V): this {
    const pairs = this.#pairs;
    const i = this.#indexOf(key);
    // concat and slice allocate exactly what they hold (a spread or push reserves 17 slots).
    const next = i < 0 ? pairs.concat([key, value]) : pairs.slice();
    if (i >= 0) next[i + 1] = value;
    this.#pairs = next;
    return this;
  }

  delete(key: K): boolean {
    const pairs = this.#pairs;
    const i = this.#indexOf(key);
    if (i < 0) return false;
    this.#pairs = pairs.length === 2 ? NONE : pairs.slice(0, i).concat(pairs.slice(i + 2));
    return true;
  }

  clear(): void {
    this.#pairs = NONE;
  }

  forEach(fn: (value: V, key: K, map: Map<K, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }

  /**
   * Walks the current array; when a write replaced it, resumes in the new one after the
   * entries already visited (writes keep the order of the entries that stay and append new
   * ones, so those are a prefix of the new array).
   */
  *entries(): MapIterator<[K, V]> {
    let pairs = this.#pairs;
    let i = 0;
    for (;;) {
      const now = this.#pairs;
      if (now !== pairs) {
        let j = 0;
        while (j < now.length && this.#indexOf(now[j] as K, pairs.slice(0, i)) >= 0) j += 2;
        pairs = now;
        i = j;
      }
      if (i >= pairs.length) return;
      const k = pairs[i] as K;
      const v = pairs[i + 1] as V;
      i += 2;
      yield [k, v];
    }
  }

  *keys(): MapIterator<K> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }
}

function sameValueZero(a: unknown, b: unknown): boolean {
  return a === b || (a !== a && b !== b);
}
