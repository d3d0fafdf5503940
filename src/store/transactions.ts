/**
 * Transactions of the store, as better-sqlite3's `db.transaction(fn)()` runs them (a
 * transaction at the top, a savepoint when nested, everything `fn` changed rolled back when it
 * throws, no promises), without building a wrapper function with four variants per call: a
 * registration runs one per join, and the wrapper cost more than its SAVEPOINT. The six
 * statements are prepared once.
 *
 * Work deferred to the COMMIT (`Deferred`, e.g. audit rows written as one multi-row INSERT per
 * group-commit batch) follows the same rollback: what a savepoint deferred is dropped when the
 * savepoint rolls back, and everything is written just before the outermost COMMIT.
 */
import type { SqliteDatabase } from './database.ts';

/** Writes kept in memory until the outermost COMMIT. */
export interface Deferred {
  /** How much is deferred now (restored by `dropTo`). */
  mark(): number;
  /** Drop what was deferred since `mark` (its savepoint or transaction rolled back). */
  dropTo(mark: number): void;
  /** Write everything deferred (inside the transaction, just before its COMMIT). */
  flush(): void;
}

export class Transactions {
  readonly #db: SqliteDatabase;
  readonly #begin;
  readonly #beginImmediate;
  readonly #commit;
  readonly #rollback;
  readonly #savepoint;
  readonly #release;
  readonly #rollbackTo;
  readonly #deferred: Deferred[] = [];
  #batch = false;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#begin = db.prepare('BEGIN');
    this.#beginImmediate = db.prepare('BEGIN IMMEDIATE');
    this.#commit = db.prepare('COMMIT');
    this.#rollback = db.prepare('ROLLBACK');
    this.#savepoint = db.prepare('SAVEPOINT gkm_store');
    this.#release = db.prepare('RELEASE gkm_store');
    this.#rollbackTo = db.prepare('ROLLBACK TO gkm_store');
  }

  /** Whether a transaction is open (ours or anyone's on this connection). */
  get open(): boolean {
    return this.#db.inTransaction;
  }

  /**
   * Whether a group-commit batch is open: a transaction that holds SQLite's write lock from its
   * BEGIN IMMEDIATE to its COMMIT, so no other connection writes in between (deferred writes
   * may number their rows).
   */
  get inBatch(): boolean {
    return this.#batch && this.#db.inTransaction;
  }

  /** Register writes to flush before every outermost COMMIT (and to drop on rollbacks). */
  defer(d: Deferred): void {
    this.#deferred.push(d);
  }

  /** Run `fn` atomically: a transaction, or a savepoint inside an open one. */
  run<T>(fn: () => T): T {
    const nested = this.#db.inTransaction;
    (nested ? this.#savepoint : this.#begin).run();
    const marks = this.#deferred.map((d) => d.mark());
    try {
      const result = fn();
      if (result && typeof (result as { then?: unknown }).then === 'function') throw new TypeError('Transaction function cannot return a promise');
      if (nested) this.#release.run();
      else this.commit();
      return result;
    } catch (e) {
      this.#deferred.forEach((d, i) => d.dropTo(marks[i]!));
      if (this.#db.inTransaction) {
        if (nested) {
          this.#rollbackTo.run();
          this.#release.run();
        } else this.#rollback.run();
      }
      if (!nested) this.#batch = false;
      throw e;
    }
  }

  /** Open a group-commit batch: the outermost transaction, with the write lock taken at once. */
  beginBatch(): void {
    this.#beginImmediate.run();
    this.#batch = true;
  }

  /** Write what was deferred, then COMMIT the outermost transaction. */
  commit(): void {
    if (!this.#db.inTransaction) {
      // SQLite rolled the transaction back on its own (an I/O error, a full disk): what was
      // deferred must not go in outside of it.
      this.rollback();
      throw new Error('cannot commit: SQLite rolled the transaction back before its COMMIT');
    }
    for (const d of this.#deferred) d.flush();
    this.#commit.run();
    this.#batch = false;
  }

  /** Roll the outermost transaction back (if one is open) and drop what was deferred. */
  rollback(): void {
    this.#batch = false;
    for (const d of this.#deferred) d.dropTo(0);
    if (this.#db.inTransaction) this.#rollback.run();
  }
}
