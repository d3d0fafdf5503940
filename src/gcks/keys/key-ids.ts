/**
 * Key IDs of a group (RFC 9838 §3.3, §4.5.4): 32-bit values chosen by the GCKS, 0 reserved
 * (as Key ID it marks SA keying material, as KWK ID the default KWK GSK_w).
 *
 * Allocation is a per-group counter from 1 that never goes back: an ID names one key version
 * for the group's whole life, so it is unique within the group and never reused while a GM
 * may still hold the key it named (digest §5 "Key IDs"). When the counter reaches 2^32 - 1
 * the group must be rebuilt (everyone re-registers under a new tree): GKM_KEYS_KEY_ID_EXHAUSTED.
 */
import { GkmError } from '../../ikev2/errors.ts';

export const KEY_ID_MAX = 0xffffffff;

export interface KeyIdAllocatorState {
  /** The next Key ID to hand out (1..2^32). */
  readonly next: number;
}

export class KeyIdAllocator {
  #next: number;

  constructor(state: KeyIdAllocatorState = { next: 1 }) {
    if (!Number.isInteger(state.next) || state.next < 1 || state.next > KEY_ID_MAX + 1) {
      throw new GkmError('GKM_KEYS_BAD_INPUT', { field: 'keyIds.next', detail: `${state.next}` });
    }
    this.#next = state.next;
  }

  /** A Key ID never handed out before in this group. */
  allocate(): number {
    if (this.#next > KEY_ID_MAX) throw new GkmError('GKM_KEYS_KEY_ID_EXHAUSTED', { detail: 'rebuild the group key tree' });
    return this.#next++;
  }

  /** IDs left before the group must be rebuilt. */
  get remaining(): number {
    return KEY_ID_MAX + 1 - this.#next;
  }

  snapshot(): KeyIdAllocatorState {
    return { next: this.#next };
  }
}
