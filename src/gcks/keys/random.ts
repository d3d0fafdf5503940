/**
 * Where the GCKS's fresh secrets and identifiers come from. Everything in src/gcks/keys takes
 * a RandomSource so tests can be deterministic; production uses the OS CSPRNG.
 */
import { randomBytes } from 'node:crypto';

/** `n` fresh random octets. */
export type RandomSource = (n: number) => Buffer;

export const secureRandom: RandomSource = (n) => randomBytes(n);
