/**
 * Opening the GCKS's SQLite database (better-sqlite3): directories created 0700, the file
 * 0600 (it holds encrypted secrets and member identities), WAL journal, foreign keys on,
 * and a busy timeout so that a second process (gkmctl) waits instead of failing.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { GkmError } from '../ikev2/errors.ts';

export type SqliteDatabase = Database.Database;

export const DEFAULT_DB_PATH = './data/gcks.db';
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;
export const IN_MEMORY = ':memory:';

export interface OpenDatabaseOptions {
  /** File path, or ":memory:" (tests). Default ./data/gcks.db. */
  readonly path?: string;
  readonly busyTimeoutMs?: number;
}

export interface OpenedDatabase {
  readonly db: SqliteDatabase;
  /** Absolute path, or ":memory:". */
  readonly path: string;
  /** Whether the file did not exist before. */
  readonly created: boolean;
}

/** Create the file (and its directories) with owner-only permissions before SQLite opens it. */
function prepareFile(path: string): boolean {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const created = !existsSync(path);
  if (created) closeSync(openSync(path, 'a', 0o600));
  // SQLite gives the -wal and -shm files the database file's mode.
  chmodSync(path, 0o600);
  return created;
}

export function openDatabase(opts: OpenDatabaseOptions = {}): OpenedDatabase {
  const requested = opts.path ?? DEFAULT_DB_PATH;
  const path = requested === IN_MEMORY ? IN_MEMORY : resolve(requested);
  try {
    const created = path === IN_MEMORY ? true : prepareFile(path);
    const db = new Database(path, { timeout: opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
    if (path !== IN_MEMORY) db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    // Statement and savepoint journals in memory, not in temporary files: every registration
    // is a savepoint inside its group-commit batch, and each page it changes is journalled
    // for that savepoint's rollback (in a file: ~20 µs per key row here, in memory ~15). They
    // hold the pages of one registration and live until its RELEASE.
    db.pragma('temp_store = MEMORY');
    db.pragma('synchronous = NORMAL'); // safe with WAL: a crash loses at most the last commits, never consistency
    db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS}`);
    return { db, path, created };
  } catch (e) {
    if (e instanceof GkmError) throw e;
    throw new GkmError('GKM_STORE_OPEN', { field: path, detail: (e as Error).message, cause: e });
  }
}
