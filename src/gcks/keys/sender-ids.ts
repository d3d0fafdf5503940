/**
 * Sender-ID allocation for counter-mode Data-Security SAs (RFC 9838 §2.5.1, RFC 6054;
 * digest §8):
 *  - one counter per group, starting at 0, incremented for each ID handed out;
 *  - fresh IDs on every registration (no memory of earlier grants is needed);
 *  - a sender asks with N(GROUP_SENDER) carrying a count; one ID is granted anyway, so a
 *    count of 0 is treated as 1 (digest §15 #4); never more than asked for, never more than
 *    the group's policy cap (SHOULD grant what was asked, MAY grant fewer);
 *  - every ID must fit GWP_SENDER_ID_BITS and the 4 octets GM_SENDER_ID is sent in;
 *  - when the space runs out the GCKS MUST exclude every GM (D(ESP/AH, 0) + D(GIKE_UPDATE,
 *    0)) and only then hand out IDs again, with new Data-Security SAs: `grant` says so with
 *    `{ kind: 'exhausted' }`, and `restart()` starts over once that has been done.
 *
 * The counter itself sits behind SenderIdCounter so the store can hold it.
 */
import { GkmError } from '../../ikev2/errors.ts';
import { SENDER_ID_OCTETS } from '../../ikev2/wire/group-attributes.ts';
import { usesCounterMode } from '../../ikev2/wire/group-policy.ts';
import { isGsaPolicy, type GroupPolicy } from '../../ikev2/wire/payloads/gsa.ts';

/** Most IDs one registration gets unless the group policy says otherwise. */
export const DEFAULT_SENDER_ID_CAP = 8;
/** GWP_SENDER_ID_BITS range accepted by the codec (group-attributes.ts). */
const MIN_BITS = 1;
const MAX_BITS = 63;

/** The group's Sender-ID counter. */
export interface SenderIdCounter {
  /** The next ID that would be granted. */
  next(): number;
  /** Move the counter forward to `next` (only ever forward, except by restart). */
  advance(next: number): void;
  restart(): void;
}

export class MemorySenderIdCounter implements SenderIdCounter {
  #next: number;
  constructor(next = 0) {
    this.#next = next;
  }
  next(): number {
    return this.#next;
  }
  advance(next: number): void {
    this.#next = next;
  }
  restart(): void {
    this.#next = 0;
  }
}

export type SenderIdGrantResult =
  /** `exhausted`: the space is now used up; exclude all GMs before the next grant. */
  | { readonly kind: 'granted'; readonly ids: readonly number[]; readonly exhausted: boolean }
  /** Nothing left: exclude all GMs and rekey the group (RFC 9838 §2.5.1), then restart(). */
  | { readonly kind: 'exhausted' };

export interface SenderIdAllocatorOptions {
  /** GWP_SENDER_ID_BITS of the group (1..63). */
  readonly bits: number;
  /** Policy cap per registration (≥ 1). */
  readonly cap?: number;
  readonly counter?: SenderIdCounter;
}

export class SenderIdAllocator {
  readonly bits: number;
  readonly cap: number;
  /** Number of distinct IDs: 2^bits, limited to what 4-octet GM_SENDER_ID can carry. */
  readonly space: number;
  readonly #counter: SenderIdCounter;

  constructor(opts: SenderIdAllocatorOptions) {
    const cap = opts.cap ?? DEFAULT_SENDER_ID_CAP;
    if (!Number.isInteger(opts.bits) || opts.bits < MIN_BITS || opts.bits > MAX_BITS) {
      throw new GkmError('GKM_KEYS_BAD_INPUT', { field: 'GWP_SENDER_ID_BITS', detail: `${opts.bits} not in ${MIN_BITS}..${MAX_BITS}` });
    }
    if (!Number.isInteger(cap) || cap < 1) throw new GkmError('GKM_KEYS_BAD_INPUT', { field: 'senderIdCap', detail: `${cap}` });
    this.bits = opts.bits;
    this.cap = cap;
    this.space = 2 ** Math.min(opts.bits, SENDER_ID_OCTETS * 8);
    this.#counter = opts.counter ?? new MemorySenderIdCounter();
  }

  /** IDs left before the group must be excluded and restarted. */
  get remaining(): number {
    return Math.max(0, this.space - this.#counter.next());
  }

  /**
   * Grant IDs to a registering sender.
   * @param groupSenderCount the count in its N(GROUP_SENDER) (0 is treated as 1)
   */
  grant(groupSenderCount: number): SenderIdGrantResult {
    if (!Number.isInteger(groupSenderCount) || groupSenderCount < 0 || groupSenderCount > 0xffffffff) {
      throw new GkmError('GKM_KEYS_BAD_INPUT', { field: 'GROUP_SENDER', detail: `count ${groupSenderCount}` });
    }
    const wanted = Math.min(Math.max(groupSenderCount, 1), this.cap);
    const start = this.#counter.next();
    const count = Math.min(wanted, this.space - start);
    if (count < 1) return { kind: 'exhausted' };
    this.#counter.advance(start + count);
    return { kind: 'granted', ids: Array.from({ length: count }, (_, i) => start + i), exhausted: start + count >= this.space };
  }

  /** After every GM was excluded and new Data-Security SAs were created: count from 0 again. */
  restart(): void {
    this.#counter.restart();
  }
}

/**
 * Whether a registering GM gets Sender-IDs: it sent N(GROUP_SENDER) and a Data-Security SA
 * of the group uses a counter mode (RFC 9838 §5 table note; digest §15 #10).
 */
export function needsSenderIds(groupSenderSent: boolean, policies: readonly GroupPolicy[]): boolean {
  return groupSenderSent && policies.some((p) => isGsaPolicy(p) && usesCounterMode(p));
}
