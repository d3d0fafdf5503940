/**
 * Anti-replay (RFC 4303 §3.4.3, Appendix A). The receiver runs `check` before the ICV
 * and `update` only after the ICV verified, so forged packets never move the window.
 *
 * Sequence numbers are JS numbers: 32-bit values, or 64-bit ESN values below 2^53
 * (docs/decisions.md). 0 is never a valid sequence number (the sender starts at 1).
 */
import { GkmError } from '../ikev2/errors.ts';

export interface ReplayWindow {
  /** Usable window W: numbers more than W-1 below the top are rejected. */
  readonly size: number;
  /** Highest authenticated sequence number (0 before the first packet). */
  readonly top: number;
  /** True when `seq` is new and inside the window. */
  check(seq: number): boolean;
  /** Marks `seq` as received (call after the ICV verified). */
  update(seq: number): void;
  /** Forgets everything and restarts below `top` (SA sync / resync, RFC 6311). */
  reset(top: number): void;
}

/** RFC 4303 Appendix A: a bitmap that shifts as the top advances; bit i = top - i. */
export class ShiftWindow implements ReplayWindow {
  private readonly words: Uint32Array;
  top = 0;

  constructor(readonly size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  check(seq: number): boolean {
    if (seq === 0) return false;
    if (seq > this.top) return true;
    const diff = this.top - seq;
    if (diff >= this.size) return false;
    return (this.words[diff >>> 5]! & (1 << (diff & 31))) === 0;
  }

  update(seq: number): void {
    if (seq > this.top) {
      this.shift(seq - this.top);
      this.top = seq;
    }
    const diff = this.top - seq;
    if (diff < this.size) this.words[diff >>> 5]! |= 1 << (diff & 31);
  }

  private shift(d: number): void {
    const w = this.words;
    if (d >= this.size) {
      w.fill(0);
      return;
    }
    const wordShift = d >>> 5;
    const bitShift = d & 31;
    for (let k = w.length - 1; k >= 0; k--) {
      const s = k - wordShift;
      const cur = s >= 0 ? w[s]! : 0;
      const below = s >= 1 ? w[s - 1]! : 0;
      w[k] = bitShift === 0 ? cur : ((cur << bitShift) | (below >>> (32 - bitShift))) >>> 0;
    }
  }

  reset(top: number): void {
    this.words.fill(0);
    this.top = top;
  }
}

/**
 * RFC 6479: N 32-bit words used as a ring, no shifting. bit = seq mod 32,
 * word = (seq / 32) mod N; usable window (N-1)*32.
 */
export class RingWindow implements ReplayWindow {
  private readonly words: Uint32Array;
  private readonly mask: number;
  readonly size: number;
  top = 0;

  constructor(wordCount: number) {
    if (!Number.isInteger(wordCount) || wordCount < 2 || (wordCount & (wordCount - 1)) !== 0 || wordCount > 1 << 20) {
      throw new GkmError('GKM_ESP_BAD_CONFIG', {
        field: 'replay.words',
        detail: `${wordCount}: a power of two from 2 to 2^20`,
      });
    }
    this.words = new Uint32Array(wordCount);
    this.mask = wordCount - 1;
    this.size = (wordCount - 1) * 32;
  }

  check(seq: number): boolean {
    if (seq === 0) return false;
    if (seq > this.top) return true;
    if (seq + this.size <= this.top) return false;
    return (this.words[Math.floor(seq / 32) & this.mask]! & (1 << (seq & 31))) === 0;
  }

  update(seq: number): void {
    if (seq > this.top) {
      const topIdx = Math.floor(this.top / 32);
      const clear = Math.min(Math.floor(seq / 32) - topIdx, this.words.length);
      for (let i = 1; i <= clear; i++) this.words[(topIdx + i) & this.mask] = 0;
      this.top = seq;
    } else if (seq + this.size <= this.top) {
      return;
    }
    this.words[Math.floor(seq / 32) & this.mask]! |= 1 << (seq & 31);
  }

  reset(top: number): void {
    this.words.fill(0);
    this.top = top;
  }
}

export type ReplayKind = 'rfc4303' | 'rfc6479';

export interface ReplayOptions {
  /** Requested window (sequence numbers); 0 disables anti-replay. RFC 4303: 64 by default. */
  readonly size: number;
  /** 'rfc4303' keeps exactly `size`; 'rfc6479' rounds up to (N-1)*32 with N a power of two. */
  readonly kind?: ReplayKind;
}

/** Builds a window of at least `size`; throws GKM_ESP_BAD_CONFIG for a bad size. */
export function createReplayWindow(opts: ReplayOptions): ReplayWindow {
  const { size } = opts;
  if (!Number.isInteger(size) || size < 1 || size > 32 * (1 << 20)) {
    throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'replay.size', detail: String(size) });
  }
  if (opts.kind === 'rfc4303') return new ShiftWindow(size);
  let words = 2;
  while ((words - 1) * 32 < size) words *= 2;
  return new RingWindow(words);
}

/**
 * Per-sender windows for a multi-sender group SA (RFC 9838 §2.6, RFC 5374 §3.3), keyed
 * by the Sender-ID of the RFC 6054 IV. Entries appear only after an authenticated packet;
 * at `maxSenders`, packets from further senders are treated as replays.
 */
export class PerSenderReplay {
  private readonly windows = new Map<number, ReplayWindow>();

  constructor(
    private readonly opts: ReplayOptions,
    readonly maxSenders = 4096,
  ) {
    createReplayWindow(opts); // validate once
  }

  get senders(): number {
    return this.windows.size;
  }

  window(senderId: number): ReplayWindow | undefined {
    return this.windows.get(senderId);
  }

  check(senderId: number, seq: number): boolean {
    const w = this.windows.get(senderId);
    if (w !== undefined) return w.check(seq);
    return seq !== 0 && this.windows.size < this.maxSenders;
  }

  update(senderId: number, seq: number): void {
    let w = this.windows.get(senderId);
    if (w === undefined) {
      if (this.windows.size >= this.maxSenders) return;
      w = createReplayWindow(this.opts);
      this.windows.set(senderId, w);
    }
    w.update(seq);
  }
}
