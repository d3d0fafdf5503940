/**
 * Group commit for registrations: the registrations handled in one event-loop turn (or, with
 * `windowMs`, within that many milliseconds of the batch's first one, up to `maxBatch`)
 * share one SQLite commit (a commit costs far more than the rows of one registration). Each
 * registration still runs in its own store.transaction(), which nests as a savepoint: a
 * failing one rolls back alone. Replies wait for the commit, so nothing is answered before
 * it is on disk (WAL); if the commit fails, every registration of the batch fails and
 * `onLost` lets the caller drop in-memory state that ran ahead of the store.
 *
 * Writes that only the batch's last state needs (a per-group row every registration would
 * rewrite) go to `beforeCommit(fn)`: `fn` runs once, inside the batch, just before its
 * COMMIT; if it throws, the batch rolls back as if the COMMIT had failed. `doom(e)` makes
 * the open batch roll back at its end (a write the batch's consistency needed has failed).
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
  #beforeCommit = new Set<() => void>();
  #doomed: { readonly error: unknown } | undefined;

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
    if (this.#doomed) return Promise.reject(this.#doomed.error); // the batch rolls back: add nothing to it
    let value: T;
    try {
      value = fn();
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<T>((resolve, reject) => this.#waiters.push({ resolve: () => resolve(value), reject }));
  }

  /** Run `fn` once just before the open batch's COMMIT (the same function twice: once); at once if no batch is open. */
  beforeCommit(fn: () => void): void {
    if (this.#batch) this.#beforeCommit.add(fn);
    else fn();
  }

  /** Roll the open batch back at its end and reject all of its registrations with `error`. */
  doom(error: unknown): void {
    if (this.#batch) this.#doomed ??= { error };
  }

  #flush(): void {
    const batch = this.#batch;
    if (!batch) return;
    const waiters = this.#waiters;
    const hooks = this.#beforeCommit;
    const doomed = this.#doomed;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#waiters = [];
    this.#beforeCommit = new Set();
    this.#doomed = undefined;
    try {
      if (doomed) throw doomed.error;
      for (const fn of hooks) fn();
      this.#batch = undefined;
      batch.commit();
    } catch (e) {
      this.#batch = undefined;
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
