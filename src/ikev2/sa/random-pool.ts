/**
 * The engine's default RandomSource: node:crypto's CSPRNG read 4 KiB at a time. An IKE SA
 * draws a dozen small values (SPIs, nonces, Child SPIs, lifetime jitter, IV counter starts)
 * and one randomBytes() call costs about as much for 4 octets as for 4 KiB. Each value is
 * copied into an allocation of its own (SAs keep SPIs and nonces: no view into the pool) and
 * the pool octets it used are zeroed at once, so no drawn value stays in the pool.
 */
import { randomBytes } from 'node:crypto';
import type { RandomSource } from './types.ts';

const POOL_OCTETS = 4096;
/** Larger requests go to randomBytes directly. */
const POOLED_MAX = 256;

export function pooledRandomSource(): RandomSource {
  let pool = randomBytes(POOL_OCTETS);
  let at = 0;
  return (length) => {
    if (length > POOLED_MAX) return randomBytes(length);
    if (at + length > POOL_OCTETS) {
      pool = randomBytes(POOL_OCTETS);
      at = 0;
    }
    const out = Buffer.allocUnsafeSlow(length);
    pool.copy(out, 0, at, at + length);
    pool.fill(0, at, at + length);
    at += length;
    return out;
  };
}
