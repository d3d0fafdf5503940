/**
 * Rekey bookkeeping of one IKE SA, kept in a side table next to it (RFC 7296 §2.8, §2.8.1,
 * §2.18, §2.25; RFC 9370 §2.2.4):
 *
 * - our rekeys in flight (one per Child SA, at most one of the IKE SA), so that a rekey
 *   request from the peer for the same SA is recognised as a collision;
 * - CREATE_CHILD_SA exchanges we answered that still wait for IKE_FOLLOWUP_KE rounds, by
 *   their ADDITIONAL_KEY_EXCHANGE link;
 * - the nonce rule that decides a collision.
 */
import type { ChildSa } from './child-sa.ts';
import type { IkeSa } from './ike-sa.ts';
import type { TaskContext } from './task.ts';

/** The nonces of one CREATE_CHILD_SA exchange (Ni from its initiator). */
export interface ExchangeNonces {
  readonly ni: Buffer;
  readonly nr: Buffer;
}

/** strongSwan's memcmp over the shorter length (child_rekey.c, ike_rekey.c). */
function compareNonces(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  return Buffer.compare(a.subarray(0, n), b.subarray(0, n));
}

const lowerNonce = (x: ExchangeNonces): Buffer => (compareNonces(x.ni, x.nr) < 0 ? x.ni : x.nr);

/**
 * RFC 7296 §2.8.1: of two simultaneous rekeys of the same SA, the one holding the lowest of
 * the four nonces created the redundant SA. true: ours is the survivor.
 */
export function ourRekeyWins(ours: ExchangeNonces, theirs: ExchangeNonces): boolean {
  return compareNonces(lowerNonce(ours), lowerNonce(theirs)) > 0;
}

/** Our rekey in flight, told about the peer's rekey of the same SA. */
export interface OwnRekey {
  /** The peer's CREATE_CHILD_SA for the same SA was answered (nonces known). */
  peerRekeyStarted(nonces: ExchangeNonces): void;
  /** The peer's exchange completed on our side (after its last IKE_FOLLOWUP_KE). */
  peerRekeyCompleted(created: PeerCreated): void;
}

/** What the peer's colliding rekey created on our side. */
export type PeerCreated = { readonly kind: 'child'; readonly child: ChildSa } | { readonly kind: 'ike'; readonly ctx: TaskContext };

/** A CREATE_CHILD_SA we answered, waiting for IKE_FOLLOWUP_KE rounds (RFC 9370 §2.2.4). */
export interface PendingFollowup {
  /** An IKE SA rekey (else a new or rekeyed Child SA). */
  readonly ikeRekey: boolean;
  /** KEr(n) for KEi(n); after the last round, `complete` derives the keys and installs. */
  answer(method: number, initiatorData: Buffer): { readonly data: Buffer; readonly complete: (() => void) | undefined };
  readonly nextMethod: number | undefined;
  /** Gives up: releases the SPI and any secrets. */
  abort(): void;
}

/** An exchange to start again later (after TEMPORARY_FAILURE), at scheduler time `at`. */
export interface PendingRetry<T> {
  readonly request: T;
  readonly at: number;
}

export class RekeyState {
  /** Retries waiting for their time; they follow the Child SAs to a rekeyed IKE SA. */
  readonly retries = new Set<PendingRetry<unknown>>();
  /** Our IKE SA rekey, from its request until it completes or fails. */
  ikeRekey: OwnRekey | undefined;
  /** Our Child SA rekeys in flight, by the old SA's inbound SPI (hex). */
  readonly childRekeys = new Map<string, OwnRekey>();
  /** Our CREATE_CHILD_SA exchanges (new or rekeyed Child SAs) not finished yet. */
  ownChildExchanges = 0;
  /** Exchanges we answer that wait for IKE_FOLLOWUP_KE, by link (hex). */
  readonly followups = new Map<string, PendingFollowup>();

  #pendingFollowups(ikeRekey: boolean): boolean {
    for (const f of this.followups.values()) if (f.ikeRekey === ikeRekey) return true;
    return false;
  }

  /** RFC 7296 §2.25: no Child SA exchange may start while the IKE SA is being rekeyed. */
  get ikeRekeyInProgress(): boolean {
    return this.ikeRekey !== undefined || this.#pendingFollowups(true);
  }

  /** Half-open Child SA exchanges either way: an IKE SA rekey must wait (strongSwan). */
  get childExchangesInProgress(): boolean {
    return this.ownChildExchanges > 0 || this.childRekeys.size > 0 || this.#pendingFollowups(false);
  }

  abortFollowups(): void {
    for (const f of this.followups.values()) f.abort();
    this.followups.clear();
  }
}

const states = new WeakMap<IkeSa, RekeyState>();

export function rekeyStateOf(sa: IkeSa): RekeyState {
  let s = states.get(sa);
  if (!s) {
    s = new RekeyState();
    states.set(sa, s);
  }
  return s;
}
