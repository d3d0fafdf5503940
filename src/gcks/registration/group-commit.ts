/**
 * Group commit for registrations: the registrations handled in one event-loop turn (or, with
 * `windowMs`, within that many milliseconds of the batch's first one, up to `maxBatch`)
 * share one SQLite commit (a commit costs far more than the rows of one registration). Each
 * registration still runs in its own store.transaction(), which nests as a savepoint: a
 * failing one rolls back alone. Replies wait for the commit, so nothing is answered before
 * it is on disk (WAL); if the commit fails, every registration of the batch fails and
 * `onLost` lets the caller drop in-memory state that ran ahead of the store.
 */
import type { Store, StoreBatch } from '../../store/index.ts';

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

export interface GroupCommitOptions {
  /** How long a batch stays open for more registrations; 0: until the end of the event-loop turn. */
  readonly windowMs?: number;
  /** A batch this large commits at the end of the turn, whatever the window. */
  readonly maxBatch?: number;
}

export const DEFAULT_COMMIT_WINDOW_MS = 2;
export const DEFAULT_MAX_BATCH = 256;

export class GroupCommit {
  readonly #store: Store;
  readonly #onLost: (e: unknown) => void;
  readonly #windowMs: number;
  readonly #maxBatch: number;
  #batch: StoreBatch | undefined;
  #timer: NodeJS.Timeout | undefined;
  #waiters: Waiter[] = [];

  constructor(store: Store, onLost: (e: unknown) => void, opts: GroupCommitOptions = {}) {
    this.#store = store;
    this.#onLost = onLost;
    this.#windowMs = opts.windowMs ?? DEFAULT_COMMIT_WINDOW_MS;
    this.#maxBatch = opts.maxBatch ?? DEFAULT_MAX_BATCH;
  }

  /** Run `fn` (synchronous, store writes in a store.transaction()) in the current batch; resolves once committed. */
  run<T>(fn: () => T): Promise<T> {
    if (!this.#batch) {
      this.#batch = this.#store.beginBatch();
      if (this.#windowMs > 0) this.#timer = setTimeout(() => this.#flush(), this.#windowMs);
      else setImmediate(() => this.#flush());
    } else if (this.#timer && this.#waiters.length + 1 >= this.#maxBatch) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      setImmediate(() => this.#flush());
    }
    let value: T;
    try {
      value = fn();
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<T>((resolve, reject) => this.#waiters.push({ resolve: () => resolve(value), reject }));
  }

  #flush(): void {
    const batch = this.#batch;
    if (!batch) return;
    const waiters = this.#waiters;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#batch = undefined;
    this.#waiters = [];
    try {
      batch.commit();
    } catch (e) {
      try {
        batch.rollback();
      } catch {
        // the database is gone (closed): nothing left to roll back
      }
      this.#onLost(e);
      for (const w of waiters) w.reject(e);
      return;
    }
    for (const w of waiters) w.resolve();
  }
}
