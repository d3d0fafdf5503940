/**
 * Where the GCKS's fresh secrets and identifiers come from. Everything in src/gcks/keys takes
 * a RandomSource so tests can be deterministic; production uses the OS CSPRNG, read 4 KiB at
 * a time (the engine's pooled source, src/ikev2/sa/random-pool.ts): a join draws a fresh key
 * for its leaf and for each path node it rekeys, and one randomBytes() call per 16-32 octet
 * key cost about as much as the draw of 4 KiB. Every value is copied into an allocation of
 * its own (keys live in the tree for long: no view into the pool) and the pool octets it used
 * are zeroed at once, so no octet is ever handed out twice or kept after it is drawn.
 */
import { pooledRandomSource } from '../../ikev2/sa/random-pool.ts';

/** `n` fresh random octets. */
export type RandomSource = (n: number) => Buffer;

export const secureRandom: RandomSource = pooledRandomSource();
