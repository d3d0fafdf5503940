/** What every repository gets from the store, and helpers they share. */
import { randomUUID } from 'node:crypto';
import { GkmError } from '../../ikev2/errors.ts';
import type { SqliteDatabase } from '../database.ts';
import type { SecretBox } from '../secret-box.ts';

export interface RepositoryContext {
  readonly db: SqliteDatabase;
  /** The current box (it changes when the master key is rotated). */
  readonly secrets: () => SecretBox;
  /** Milliseconds since the Unix epoch. */
  readonly now: () => number;
}

/** An identity as carried in ID payloads (RFC 7296 §3.5): ID Type and normalized data. */
export interface StoredIdentity {
  readonly idType: number;
  readonly data: Buffer;
}

export const newUid = (): string => randomUUID();

/** Run a statement, turning SQLite constraint failures into GKM_STORE_CONFLICT / NOT_FOUND. */
export function guarded<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT')) {
      const missing = code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
      throw new GkmError(missing ? 'GKM_STORE_NOT_FOUND' : 'GKM_STORE_CONFLICT', {
        field: what,
        detail: missing ? 'a referenced record does not exist' : (e as Error).message,
        cause: e,
      });
    }
    throw e;
  }
}

export function notFound(what: string, key: string | number): GkmError {
  return new GkmError('GKM_STORE_NOT_FOUND', { field: what, detail: String(key) });
}

