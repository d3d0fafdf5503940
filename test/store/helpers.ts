/** Shared helpers for store tests: temporary directories, keys, stores. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { isGkmError, type ErrorCode } from '../../src/ikev2/errors.ts';
import { openStore, type Store, type StoreOptions } from '../../src/store/index.ts';

/** A fresh directory, removed when the test file ends. */
export function tempDir(prefix = 'gkm-store-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const newMasterKey = (): Buffer => randomBytes(32);

/** An in-memory store with a random master key. */
export function memoryStore(opts: Partial<StoreOptions> = {}): Store {
  const store = openStore({ path: ':memory:', masterKey: newMasterKey(), ...opts });
  after(() => store.close());
  return store;
}

/** assert.throws predicate for a GkmError of `code` (and notify/http when given). */
export const gkmError =
  (code: ErrorCode, message?: RegExp) =>
  (e: unknown): boolean =>
    isGkmError(e, code) && (message === undefined || message.test(e.message));

export const keyIdIdentity = (text: string) => ({ idType: 11, data: Buffer.from(text) });
