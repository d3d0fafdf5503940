/**
 * SA lifetimes: when to rekey and when to give up on an SA (RFC 7296 §2.8: "each endpoint
 * chooses its own lifetime"; strongSwan's rekey_time = life_time - margin, minus rand_time).
 * Pure arithmetic; the exchanges arm the timers.
 */
import type { LifetimeConfig } from './config.ts';
import type { RandomSource } from './types.ts';

export interface LifetimeDeadlines {
  /** Soft lifetime: start a rekey (absolute, scheduler time). */
  readonly rekeyAt: number;
  /** Hard lifetime: delete (absolute, scheduler time). */
  readonly expireAt: number;
}

/** Deadlines of an SA created `now`; the soft one is lowered by a random jitter. */
export function lifetimeDeadlines(l: LifetimeConfig, now: number, random: RandomSource): LifetimeDeadlines {
  const jitter = Math.max(0, l.jitterMs ?? l.rekeyMarginMs / 10);
  const fraction = random(4).readUInt32BE() / 2 ** 32;
  const soft = Math.max(0, l.lifetimeMs - l.rekeyMarginMs - Math.floor(fraction * jitter));
  return { rekeyAt: now + soft, expireAt: now + Math.max(soft, l.lifetimeMs) };
}

/** A delay drawn from [min, min + spread) ms (retries after TEMPORARY_FAILURE). */
export function randomDelay(minMs: number, spreadMs: number, random: RandomSource): number {
  return minMs + Math.floor((random(4).readUInt32BE() / 2 ** 32) * spreadMs);
}
