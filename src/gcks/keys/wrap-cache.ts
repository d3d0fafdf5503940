/**
 * Wrapped keys that registrations share (RFC 9838 §4.5.4, App. A "A joins"): a GM's KD
 * carries the Rekey SA key under the top key of its path and each path key under the next
 * one down. Only the wraps under its own leaf key and under GSK_w of its IKE SA are its
 * own; the others are the same bytes for every member of that subtree until either key is
 * replaced, because RFC 3394/5649 key wrap is deterministic (the default IV). Caching them
 * cuts a join at depth h from h + 2 wraps to ~3.
 *
 * Entries hold ciphertext only (a key wrapped under a tree key), never a plaintext key,
 * and only weak references to the two key Buffers they were made from: an entry is used
 * only when those very Buffers are asked for again (a tree node gets a new Buffer and Key
 * ID whenever it is rekeyed, an SA its own keymat), so a replaced key can never hit, and
 * the cache keeps no key alive. The ciphertext is copied out of Node's shared Buffer pool
 * (a 40-octet view would pin an 8 KiB slab per entry). Wraps under GSK_w (KWK ID 0) are per
 * IKE SA and never cached, nor are wraps under a joiner's own leaf key (only that member
 * could reuse them: they would push shared entries out). The cache is bounded (oldest entry
 * out first).
 *
 * Entries are found by KWK ID (a number: no string key per look-up). Under one tree key a
 * registration wraps one key only, the key of its parent (or the Rekey SA's under a top key),
 * so one entry per KWK ID suffices; another Key ID under the same KWK replaces it.
 */
export const WRAP_CACHE_ENTRIES = 4096;

interface Entry {
  readonly keyId: number;
  readonly plaintext: WeakRef<Buffer>;
  readonly kek: WeakRef<Buffer>;
  readonly wrapped: Buffer;
}

/** A copy in an allocation of its own (not a view into the shared pool). */
function own(b: Buffer): Buffer {
  if (b.byteOffset === 0 && b.buffer.byteLength === b.length) return b;
  const copy = Buffer.allocUnsafeSlow(b.length);
  b.copy(copy);
  return copy;
}

export class WrapCache {
  readonly #entries = new Map<number, Entry>();
  readonly #max: number;
  hits = 0;

  constructor(max = WRAP_CACHE_ENTRIES) {
    this.#max = max;
  }

  /** `plaintext` (Key ID `keyId`, 0 for an SA key) wrapped under `kek` (KWK ID `kwkId` > 0). */
  wrap(keyId: number, plaintext: Buffer, kwkId: number, kek: Buffer, compute: () => Buffer): Buffer {
    const e = this.#entries.get(kwkId);
    if (e !== undefined && e.keyId === keyId && e.plaintext.deref() === plaintext && e.kek.deref() === kek) {
      this.hits++;
      return e.wrapped;
    }
    const wrapped = own(compute());
    if (e !== undefined) this.#entries.delete(kwkId);
    else if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(kwkId, { keyId, plaintext: new WeakRef(plaintext), kek: new WeakRef(kek), wrapped });
    return wrapped;
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
  }
}
