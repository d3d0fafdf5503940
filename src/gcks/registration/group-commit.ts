/**
 * Group commit for registrations: the registrations handled in one event-loop turn share
 * one SQLite commit (a commit costs far more than the rows of one registration). Each
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

export class GroupCommit {
  readonly #store: Store;
  readonly #onLost: (e: unknown) => void;
  #batch: StoreBatch | undefined;
  #waiters: Waiter[] = [];

  constructor(store: Store, onLost: (e: unknown) => void) {
    this.#store = store;
    this.#onLost = onLost;
  }

  /** Run `fn` (synchronous, store writes in a store.transaction()) in the current batch; resolves once committed. */
  run<T>(fn: () => T): Promise<T> {
    if (!this.#batch) {
      this.#batch = this.#store.beginBatch();
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
    const batch = this.#batch!;
    const waiters = this.#waiters;
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
