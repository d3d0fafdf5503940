/**
 * Maps for the few entries an IKE SA keeps per kind (its Child SAs: one or two almost
 * always). A `Map` costs ~380 bytes even when it holds one entry (its hash table is sized
 * for four); these keep the entries in one exact-size array, replaced on every write (writes
 * are rare: a Child SA created, rekeyed or deleted), and share one empty array when there
 * are none. Lookups are linear: fine up to some tens.
 *
 * - SmallMap<K, V>: the array is [key0, value0, key1, ...].
 * - DerivedKeyMap<K, V>: the key is a function of the value (`keyOf`, a method of the
 *   subclass), so only values are kept, and one value without an array: for one Child SA
 *   no array, element store or key string at all.
 *
 * Iteration follows `Map`'s rules (ECMA-262 §24.1.3.5: insertion order; entries deleted
 * before they are reached are skipped, entries added during iteration are visited), so they
 * are drop-in replacements for a `Map` (keys compared with SameValueZero), except that a key
 * deleted and set again during an iteration that already visited it is not visited again.
 */
import { GkmError } from '../errors.ts';

const NONE: readonly unknown[] = Object.freeze([]);

/**
 * The storage and Map surface both share: `items` is a flat array of entries of `stride`
 * items each (or, for DerivedKeyMap, one entry without an array); a subclass says how an
 * entry's key and value are read and how an entry is made.
 */
abstract class FlatMap<K, V> implements Map<K, V> {
  /** Never mutated in place (iterators hold on to it). */
  #items: unknown = NONE;

  protected abstract get stride(): number;
  protected abstract keyAt(entries: readonly unknown[], i: number): K;
  protected abstract valueAt(entries: readonly unknown[], i: number): V;
  protected abstract entry(key: K, value: V): readonly unknown[];
  /** What to keep for `entries` (DerivedKeyMap keeps a single value without its array). */
  protected pack(entries: readonly unknown[]): unknown {
    return entries;
  }
  protected unpack(items: unknown): readonly unknown[] {
    return items as readonly unknown[];
  }

  abstract get [Symbol.toStringTag](): string;

  get size(): number {
    return this.unpack(this.#items).length / this.stride;
  }

  /** Index of `key` in `entries`, or -1 (a function of the map, not a `#method`: no brand slot per instance). */
  protected find(entries: readonly unknown[], key: unknown): number {
    for (let i = 0; i < entries.length; i += this.stride) if (sameValueZero(this.keyAt(entries, i), key)) return i;
    return -1;
  }

  get(key: K): V | undefined {
    const entries = this.unpack(this.#items);
    const i = this.find(entries, key);
    return i < 0 ? undefined : this.valueAt(entries, i);
  }

  has(key: K): boolean {
    return this.find(this.unpack(this.#items), key) >= 0;
  }

  set(key: K, value: V): this {
    const entries = this.unpack(this.#items);
    const i = this.find(entries, key);
    const entry = this.entry(key, value);
    // concat and slice allocate exactly what they hold (a spread or push reserves 17 slots).
    this.#items = this.pack(i < 0 ? entries.concat(entry) : entries.slice(0, i).concat(entry, entries.slice(i + this.stride)));
    return this;
  }

  delete(key: K): boolean {
    const entries = this.unpack(this.#items);
    const i = this.find(entries, key);
    if (i < 0) return false;
    this.#items = entries.length === this.stride ? NONE : this.pack(entries.slice(0, i).concat(entries.slice(i + this.stride)));
    return true;
  }

  clear(): void {
    this.#items = NONE;
  }

  forEach(fn: (value: V, key: K, map: Map<K, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }

  /**
   * Walks the current entries; when a write replaced them, resumes in the new ones after the
   * entries already visited (writes keep the order of the entries that stay and append new
   * ones, so those are a prefix of the new array).
   */
  *entries(): MapIterator<[K, V]> {
    const stride = this.stride;
    let items = this.#items;
    let entries = this.unpack(items);
    let i = 0;
    for (;;) {
      const now = this.#items;
      if (now !== items) {
        const visited = entries.slice(0, i);
        const next = this.unpack(now);
        let j = 0;
        while (j < next.length && this.find(visited, this.keyAt(next, j)) >= 0) j += stride;
        items = now;
        entries = next;
        i = j;
      }
      if (i >= entries.length) return;
      const k = this.keyAt(entries, i);
      const v = this.valueAt(entries, i);
      i += stride;
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

export class SmallMap<K, V> extends FlatMap<K, V> {
  protected get stride(): number {
    return 2;
  }
  protected keyAt(entries: readonly unknown[], i: number): K {
    return entries[i] as K;
  }
  protected valueAt(entries: readonly unknown[], i: number): V {
    return entries[i + 1] as V;
  }
  protected entry(key: K, value: V): readonly unknown[] {
    return [key, value];
  }
  get [Symbol.toStringTag](): string {
    return 'SmallMap';
  }
}

/** A SmallMap whose keys are `keyOf(value)`; `set(key, value)` requires that. V is never an array. */
export abstract class DerivedKeyMap<K, V extends object> extends FlatMap<K, V> {
  protected abstract keyOf(value: V): K;

  protected get stride(): number {
    return 1;
  }
  protected keyAt(entries: readonly unknown[], i: number): K {
    return this.keyOf(entries[i] as V);
  }
  protected valueAt(entries: readonly unknown[], i: number): V {
    return entries[i] as V;
  }
  protected entry(key: K, value: V): readonly unknown[] {
    if (!sameValueZero(this.keyOf(value), key)) throw new GkmError('GKM_IKE_INVALID_STATE', { detail: `${String(key)} is not the key of its value` });
    return [value];
  }
  protected override pack(entries: readonly unknown[]): unknown {
    return entries.length === 1 ? entries[0] : entries;
  }
  protected override unpack(items: unknown): readonly unknown[] {
    return Array.isArray(items) ? items : [items];
  }
  get [Symbol.toStringTag](): string {
    return 'DerivedKeyMap';
  }
}

function sameValueZero(a: unknown, b: unknown): boolean {
  return a === b || (a !== a && b !== b);
}
