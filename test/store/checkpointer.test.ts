/**
 * WAL checkpoints on a thread of their own (src/store/checkpointer.ts): the thread copies
 * committed frames into the database file while the writer only raises its own
 * autocheckpoint; stop() gives checkpoints back to the writer; a thread that cannot run
 * leaves the writer as SQLite's default has it, with a warning.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { DEFAULT_WRITER_CHECKPOINT_PAGES, SQLITE_AUTOCHECKPOINT_PAGES, WalCheckpointer } from '../../src/store/checkpointer.ts';
import { openStore } from '../../src/store/index.ts';
import { newMasterKey, tempDir } from './helpers.ts';

const autocheckpoint = (db: Database.Database): number => db.pragma('wal_autocheckpoint', { simple: true }) as number;

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function walDatabase(): { db: Database.Database; path: string } {
  const path = join(tempDir('gkm-ckpt-'), 'test.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)');
  db.pragma('wal_checkpoint(TRUNCATE)'); // the table is in the database file, the WAL empty
  return { db, path };
}

test('checkpointer: the thread copies committed frames into the database file; the writer only raises its autocheckpoint', async () => {
  const { db, path } = walDatabase();
  const sizeBefore = statSync(path).size;
  const warnings: string[] = [];
  const c = new WalCheckpointer(db, { path, busyTimeoutMs: 1000, intervalMs: 20, warn: (m) => warnings.push(m) });
  await until('the thread runs', () => c.running);
  assert.equal(autocheckpoint(db), DEFAULT_WRITER_CHECKPOINT_PAGES);
  // ~60 pages in 20 commits: far below either autocheckpoint, so only the thread copies them.
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
  for (let i = 0; i < 20; i++) db.transaction(() => { for (let j = 0; j < 3; j++) insert.run(Buffer.alloc(3000, i)); })();
  await until('the database file holds the rows', () => statSync(path).size >= sizeBefore + 60 * 3000);
  // What the thread copied is what was committed.
  const reader = new Database(path, { readonly: true });
  assert.equal((reader.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 60);
  reader.close();
  c.stop();
  assert.equal(c.running, false);
  assert.equal(autocheckpoint(db), SQLITE_AUTOCHECKPOINT_PAGES, 'checkpoints are the writer\'s again');
  db.close();
  assert.equal(existsSync(`${path}-wal`), false, 'the writer closed last: its close checkpointed and removed the WAL');
  assert.deepEqual(warnings, []);
});

test('checkpointer: a database not in WAL mode: the thread does not run, the writer keeps SQLite\'s default, a warning says why', async () => {
  const path = join(tempDir('gkm-ckpt-'), 'rollback.db');
  const db = new Database(path);
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
  const warnings: string[] = [];
  const c = new WalCheckpointer(db, { path, busyTimeoutMs: 1000, intervalMs: 20, warn: (m) => warnings.push(m) });
  await until('a warning', () => warnings.length > 0);
  assert.match(warnings[0]!, /cannot run: the database is not in WAL mode; the store checkpoints on its own connection again/);
  assert.equal(c.running, false);
  assert.equal(autocheckpoint(db), SQLITE_AUTOCHECKPOINT_PAGES);
  c.stop(); // harmless once fallen back
  db.close();
});

test('store: backgroundCheckpoints runs the thread for a database file, never for ":memory:"; close() stops it first', async () => {
  const path = join(tempDir('gkm-ckpt-'), 'gcks.db');
  const store = openStore({ path, masterKey: newMasterKey(), backgroundCheckpoints: { intervalMs: 20 } });
  await until('the thread runs', () => store.backgroundCheckpoints);
  store.audit.append({ actor: 'test', action: 'test.write' });
  store.close();
  assert.equal(existsSync(`${path}-wal`), false, 'the store\'s connection closed last');
  const memory = openStore({ path: ':memory:', masterKey: newMasterKey(), backgroundCheckpoints: true });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(memory.backgroundCheckpoints, false);
  memory.close();
  const inline = openStore({ path: join(tempDir('gkm-ckpt-'), 'gcks.db'), masterKey: newMasterKey() });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(inline.backgroundCheckpoints, false, 'off unless asked for');
  inline.close();
});
