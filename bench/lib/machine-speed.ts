/**
 * How fast this machine is right now: a fixed single-core workload (X25519 shared secrets
 * through node:crypto, the GCKS's and the GMs' own main cost) timed around a benchmark run.
 * This VM's speed drifts by ±20% within an hour (docs/performance.md), so a rate means more
 * beside the speed it was measured at. Median of several short rounds, so that one
 * preemption does not decide it.
 */
import { diffieHellman, generateKeyPairSync } from 'node:crypto';

const ROUNDS = 7;
const PER_ROUND = 150;

/** X25519 derivations per second on one core (median of ROUNDS rounds). */
export function x25519PerSecond(): number {
  const a = generateKeyPairSync('x25519');
  const b = generateKeyPairSync('x25519');
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < PER_ROUND; i++) diffieHellman({ privateKey: a.privateKey, publicKey: b.publicKey });
    rates.push(PER_ROUND / ((performance.now() - t0) / 1000));
  }
  rates.sort((x, y) => x - y);
  return rates[Math.floor(ROUNDS / 2)]!;
}
