/**
 * IKEv2 pseudorandom functions (RFC 7296 §2.13; HMAC-SHA2 PRFs of RFC 4868 §2.1.2) and prf+.
 *
 * HMAC runs on the native addon when it is loaded (native.ts: one call per prf and one per
 * prf+ output, ~0.7 us per HMAC against ~3-5 us for createHmac, which looks the digest up in
 * OpenSSL 3.0's provider store every time), on node:crypto otherwise.
 */
import { createHmac } from 'node:crypto';
import { GkmError } from '../errors.ts';
import { PRF_TABLE, type HashName } from './algorithms.ts';
import { ikeNativeCrypto, NATIVE_HASH, NATIVE_MAX_PARTS, type IkeNativeCrypto } from './native.ts';
import { wipe } from './zeroize.ts';

/** Input that is hashed as the concatenation of its parts (avoids copying into one buffer). */
export type Octets = Buffer | readonly Buffer[];

export interface Prf {
  readonly id: number;
  /** Preferred key size (RFC 7296 §2.13): the size of SK_d, SK_pi and SK_pr. */
  readonly keyLength: number;
  readonly outputLength: number;
  /** prf(key, data); `data` may be given as parts to be concatenated. */
  compute(key: Buffer, data: Octets): Buffer;
  /** prf+(key, seed) of `length` octets in one step, when the PRF has a faster way than prfPlus' loop. */
  expand?(key: Buffer, seed: Octets, length: number): Buffer;
  /** HMAC on the native addon: its `hash` argument (hmac/prfPlus), for work done elsewhere (keypair-pool.ts). */
  readonly nativeHash?: number;
}

/** The parts of `data`, in order. */
export function octetParts(data: Octets): readonly Buffer[] {
  return Buffer.isBuffer(data) ? [data] : data;
}

/** Parts for the addon: a Buffer, an array short enough, or else their concatenation. */
const nativeParts = (data: Octets): Octets =>
  Buffer.isBuffer(data) || data.length <= NATIVE_MAX_PARTS - 2 ? data : Buffer.concat(data);

/**
 * An HMAC-based PRF (outputLength = the digest size), native unless `native` is null.
 * Exported for tests with other hashes and paths; use getPrf() for negotiated IDs.
 */
export function createHmacPrf(
  id: number,
  hash: HashName,
  outputLength: number,
  keyLength = outputLength,
  native: IkeNativeCrypto | null = ikeNativeCrypto() ?? null,
): Prf {
  if (native) {
    const h = NATIVE_HASH[hash];
    return {
      id,
      keyLength,
      outputLength,
      nativeHash: h,
      // Outputs get an allocation of their own, like digest()'s: no pool slab kept by a key.
      compute(key, data) {
        const out = Buffer.allocUnsafeSlow(outputLength);
        native.hmac(h, key, nativeParts(data), out);
        return out;
      },
      expand(key, seed, length) {
        const out = Buffer.allocUnsafeSlow(length);
        native.prfPlus(h, key, nativeParts(seed), out);
        return out;
      },
    };
  }
  return {
    id,
    keyLength,
    outputLength,
    compute(key, data) {
      const h = createHmac(hash, key);
      for (const p of octetParts(data)) h.update(p);
      return h.digest();
    },
  };
}

const PRFS: ReadonlyMap<number, Prf> = new Map(
  [...PRF_TABLE.values()].map((p) => [p.id, createHmacPrf(p.id, p.hash, p.outputLength, p.keyLength)]),
);

/** The PRF for a negotiated PRF transform ID; GKM_CRYPTO_UNSUPPORTED for anything but 5/6/7. */
export function getPrf(id: number): Prf {
  const prf = PRFS.get(id);
  if (!prf) throw new GkmError('GKM_CRYPTO_UNSUPPORTED', { field: `PRF(${id})` });
  return prf;
}

/**
 * prf+(K, S) = T1 | T2 | ..., T1 = prf(K, S | 0x01), Tn = prf(K, T(n-1) | S | n), truncated to
 * `length` octets (RFC 7296 §2.13). The counter is one octet, so at most 255 blocks.
 */
export function prfPlus(prf: Prf, key: Buffer, seed: Octets, length: number): Buffer {
  const max = 255 * prf.outputLength;
  if (!Number.isInteger(length) || length < 0 || length > max) {
    throw new GkmError('GKM_CRYPTO_BAD_KEY_LENGTH', { detail: `prf+ output of ${length} octets (max ${max})` });
  }
  if (prf.expand) return prf.expand(key, seed, length);
  const seedParts = octetParts(seed);
  const out = Buffer.allocUnsafe(length);
  let t: Buffer = Buffer.alloc(0);
  for (let n = 1, off = 0; off < length; n++) {
    const next = prf.compute(key, [t, ...seedParts, Buffer.of(n)]);
    wipe(t);
    t = next;
    off += t.copy(out, off, 0, Math.min(t.length, length - off));
  }
  wipe(t);
  return out;
}
