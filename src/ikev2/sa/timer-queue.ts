/**
 * The engine's per-SA timers on one scheduler timer. RFC 7296 leaves timing to the
 * implementation (§2.1 retransmission, §2.4 liveness, §2.8 lifetimes); what matters here is
 * the cost with many IKE SAs: each armed timer is one small entry of a binary min-heap
 * ordered by (due, arming order), not a Node Timeout with its closures. A handler is a
 * function shared by all SAs (`handler(owner, a, b)`), so arming allocates no closure.
 *
 * An entry fires only while its owner is open; cancelled entries and entries of closed
 * owners are dropped when they reach the top, or all at once when they outnumber the live
 * ones. Entries armed while the queue fires wait for the next turn (as setTimeout(0) would).
 */
import type { Scheduler, Timer } from './types.ts';

export interface TimerOwner {
  readonly isOpen: boolean;
  /** Entries of this owner that may still fire: on close, pass it to noteDead(). */
  armedTimers: number;
}

export type TimerHandler<O> = (owner: O, a: unknown, b: unknown) => void;

export class TimerEntry<O extends TimerOwner> implements Timer {
  constructor(
    readonly queue: TimerQueue<O>,
    readonly due: number,
    readonly seq: number,
    public handler: TimerHandler<O> | undefined,
    readonly owner: O,
    readonly a: unknown,
    readonly b: unknown,
  ) {}

  cancel(): void {
    if (this.handler === undefined) return;
    this.handler = undefined;
    this.owner.armedTimers--;
    this.queue.noteDead(1);
  }
}

const before = <O extends TimerOwner>(x: TimerEntry<O>, y: TimerEntry<O>): boolean => x.due < y.due || (x.due === y.due && x.seq < y.seq);

export class TimerQueue<O extends TimerOwner> {
  readonly #scheduler: Scheduler;
  readonly #heap: TimerEntry<O>[] = [];
  #seq = 0;
  /** Cancelled entries and entries of closed owners still in the heap (an upper bound). */
  #dead = 0;
  #armed: Timer | undefined;
  #armedDue = Infinity;
  readonly #fire = (): void => this.#run();

  constructor(scheduler: Scheduler) {
    this.#scheduler = scheduler;
  }

  /** Live and dead entries in the heap. */
  get size(): number {
    return this.#heap.length;
  }

  /** Calls `handler(owner, a, b)` in `delayMs` unless cancelled or the owner closed by then. */
  add(owner: O, delayMs: number, handler: TimerHandler<O>, a?: unknown, b?: unknown): Timer {
    const e = new TimerEntry(this, this.#scheduler.now() + Math.max(0, delayMs), this.#seq++, handler, owner, a, b);
    owner.armedTimers++;
    this.#push(e);
    if (e.due < this.#armedDue) this.#arm();
    return e;
  }

  /** `n` entries will never fire (cancelled, or their owner closed): compact when they dominate. */
  noteDead(n: number): void {
    this.#dead += n;
    if (this.#dead > 64 && this.#dead * 2 > this.#heap.length) this.#compact();
  }

  #run(): void {
    this.#armed = undefined;
    this.#armedDue = Infinity;
    const now = this.#scheduler.now();
    const limit = this.#seq;
    const later: TimerEntry<O>[] = [];
    try {
      for (let top = this.#heap[0]; top && top.due <= now; top = this.#heap[0]) {
        this.#pop();
        if (top.seq >= limit) {
          later.push(top);
          continue;
        }
        const h = top.handler;
        if (h === undefined || !top.owner.isOpen) {
          this.#dead = Math.max(0, this.#dead - 1);
          continue;
        }
        top.handler = undefined;
        top.owner.armedTimers--;
        h(top.owner, top.a, top.b);
      }
    } finally {
      for (const e of later) this.#push(e);
      this.#arm();
    }
  }

  #arm(): void {
    const top = this.#heap[0];
    if (this.#armed) {
      if (top && top.due >= this.#armedDue) return;
      this.#armed.cancel();
      this.#armed = undefined;
      this.#armedDue = Infinity;
    }
    if (!top) return;
    this.#armedDue = top.due;
    this.#armed = this.#scheduler.setTimer(Math.max(0, top.due - this.#scheduler.now()), this.#fire);
  }

  #compact(): void {
    const live = this.#heap.filter((e) => e.handler !== undefined && e.owner.isOpen);
    this.#heap.length = 0;
    this.#dead = 0;
    for (const e of live) this.#push(e);
  }

  #push(e: TimerEntry<O>): void {
    const h = this.#heap;
    let i = h.push(e) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(e, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop();
    if (!last || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const c = l + 1 < h.length && before(h[l + 1]!, h[l]!) ? l + 1 : l;
      if (!before(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}
