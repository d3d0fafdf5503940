/** What every repository gets from the store, and helpers they share. */
import { randomUUID } from 'node:crypto';
import { GkmError } from '../../ikev2/errors.ts';
import type { SqliteDatabase } from '../database.ts';
import type { SecretBox } from '../secret-box.ts';
import type { Transactions } from '../transactions.ts';

export interface RepositoryContext {
  readonly db: SqliteDatabase;
  /** The current box (it changes when the master key is rotated). */
  readonly secrets: () => SecretBox;
  /** Milliseconds since the Unix epoch. */
  readonly now: () => number;
  /** The store's transactions (store.transaction, group-commit batches, deferred writes). */
  readonly tx: Transactions;
}

/** An identity as carried in ID payloads (RFC 7296 §3.5): ID Type and normalized data. */
export interface StoredIdentity {
  readonly idType: number;
  readonly data: Buffer;
}

/**
 * A row uid (the AAD of its sealed secrets, src/store/secret-box.ts): UUID version 7
 * (RFC 9562 §5.7: 48-bit Unix milliseconds, then 74 random bits). Time-ordered, so the
 * UNIQUE index on uid grows at its end instead of at a random page per insert (a
 * registration inserts ~2 key rows); 74 random bits keep uids unique within a millisecond.
 */
export function newUid(now = Date.now()): string {
  const r = randomUUID(); // xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx: its random parts
  const ms = now.toString(16).padStart(12, '0');
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7${r.slice(15, 18)}-${r.slice(19)}`;
}

/** A SQLite constraint failure as GKM_STORE_CONFLICT / NOT_FOUND; any other error as it is. */
export function storeError(what: string, e: unknown): unknown {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT')) {
    const missing = code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
    return new GkmError(missing ? 'GKM_STORE_NOT_FOUND' : 'GKM_STORE_CONFLICT', {
      field: what,
      detail: missing ? 'a referenced record does not exist' : (e as Error).message,
      cause: e,
    });
  }
  return e;
}

/** Run a statement, turning SQLite constraint failures into GKM_STORE_CONFLICT / NOT_FOUND. */
export function guarded<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw storeError(what, e);
  }
}

export function notFound(what: string, key: string | number): GkmError {
  return new GkmError('GKM_STORE_NOT_FOUND', { field: what, detail: String(key) });
}

