/**
 * The store's own transactions (src/store/transactions.ts) and the writes a group-commit batch
 * defers to its COMMIT: audit entries wait in memory inside a batch and are written as
 * multi-row INSERTs just before it commits, numbered as SQLite would number them; a savepoint
 * that rolls back drops its own, a batch that rolls back drops all, and a restart finds every
 * committed one. Repositories that read then write once (Sender-IDs, a capped registration)
 * open no savepoint inside a transaction and still roll back with it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { loadMigrations, openStore, type Store } from '../../src/store/index.ts';
import { Transactions } from '../../src/store/transactions.ts';
import { keyIdIdentity, memoryStore, newMasterKey, tempDir } from './helpers.ts';

const boom = new Error('boom');

function groupWithMember(store: Store) {
  const g = store.groups.create({ name: 'g', identity: keyIdIdentity('g') });
  const m = store.members.create(keyIdIdentity('m'), { kind: 'psk', psk: randomBytes(16) });
  store.members.authorize(g.id, m.id, { role: 'both', maxSenderIds: 4 });
  return { g, m };
}

test('audit entries of a batch: listed before the commit, stored with the ids append returned, dropped with their savepoint', () => {
  const store = memoryStore({ now: () => 77 });
  const { g, m } = groupWithMember(store);
  const before = store.audit.append({ actor: 'admin:t', action: 'before' });
  const batch = store.beginBatch();
  const kept = store.transaction(() => store.audit.append({ actor: 'gcks', action: 'member.register', groupId: g.id, memberId: m.id, detail: { n: 1 } }));
  assert.throws(() =>
    store.transaction(() => {
      store.audit.append({ actor: 'gcks', action: 'dropped', groupId: g.id });
      throw boom;
    }),
  );
  const more = Array.from({ length: 90 }, (_, i) => store.transaction(() => store.audit.append({ actor: 'gcks', action: 'member.register', groupId: g.id, detail: { n: i + 2 } })));
  assert.deepEqual(more.map((e) => e.id), Array.from({ length: 90 }, (_, i) => kept.id + 1 + i), 'numbered on from the dropped one');
  assert.deepEqual(store.audit.list({ groupId: g.id }), [kept, ...more], 'waiting entries are listed, by group too');
  assert.equal(store.audit.list({ afterId: before.id }).length, 91, 'the waiting entries, not the dropped one');
  batch.commit();
  const stored = store.audit.list({ afterId: before.id });
  assert.deepEqual(stored, [kept, ...more], 'stored as appended, with the same ids');
  assert.equal(stored.some((e) => e.action === 'dropped'), false);
  // Outside a batch: written at once.
  const after = store.audit.append({ actor: 'admin:t', action: 'after' });
  assert.equal(after.id, more.at(-1)!.id + 1);
  assert.deepEqual(store.audit.list().at(-1), after);
});

test('a batch that rolls back drops its audit entries; a failed COMMIT writes none of them', () => {
  const store = memoryStore();
  const batch = store.beginBatch();
  store.transaction(() => store.audit.append({ actor: 'gcks', action: 'a' }));
  batch.rollback();
  assert.deepEqual(store.audit.list(), []);
  const next = store.beginBatch();
  const e = store.transaction(() => store.audit.append({ actor: 'gcks', action: 'b' }));
  next.commit();
  assert.deepEqual(store.audit.list(), [e]);
  assert.equal(e.id, 1, 'numbering starts again after the rolled-back batch');
});

test('restart keeps every audit entry and registration a batch committed', () => {
  const path = join(tempDir(), 'gcks.db');
  const key = newMasterKey();
  let entries;
  let spi: Buffer;
  {
    const store = openStore({ path, masterKey: key });
    const { g, m } = groupWithMember(store);
    spi = randomBytes(16);
    const batch = store.beginBatch();
    entries = Array.from({ length: 21 }, (_, i) =>
      store.transaction(() => {
        if (i === 0) store.registrations.put({ groupId: g.id, memberId: m.id, ikeSpi: spi, peer: '192.0.2.1:500' }, { memberCap: 10 });
        return store.audit.append({ actor: 'gcks', action: 'member.register', groupId: g.id, detail: { i } });
      }),
    );
    batch.commit();
    store.close();
  }
  const store = openStore({ path, masterKey: key });
  try {
    assert.deepEqual(store.audit.list({ afterId: entries[0]!.id - 1 }), entries);
    assert.equal(store.registrations.listForIkeSa(spi).length, 1, 'found by IKE SA without the dropped index');
    assert.equal(store.schemaVersion, loadMigrations().length);
  } finally {
    store.close();
  }
});

test('store.transaction: a promise is refused and rolled back; Sender-IDs and capped registrations roll back with the outer transaction', () => {
  const store = memoryStore();
  const { g, m } = groupWithMember(store);
  assert.throws(
    () =>
      store.transaction(() => {
        store.audit.append({ actor: 't', action: 'x' });
        return Promise.resolve(1) as unknown as number;
      }),
    TypeError,
  );
  assert.deepEqual(store.audit.list().filter((e) => e.action === 'x'), []);
  assert.deepEqual(store.senderIds.allocate(g.id, 2, 8), [0, 1], 'alone: a transaction of its own');
  assert.throws(() =>
    store.transaction(() => {
      assert.deepEqual(store.senderIds.allocate(g.id, 2, 8), [2, 3]);
      store.registrations.put({ groupId: g.id, memberId: m.id, ikeSpi: randomBytes(16), peer: 'p' }, { memberCap: 1 });
      throw boom;
    }),
  );
  assert.equal(store.senderIds.next(g.id), 2);
  assert.equal(store.registrations.get(g.id, m.id), undefined);
  assert.equal(store.registrations.has(g.id, m.id), false);
  store.registrations.put({ groupId: g.id, memberId: m.id, ikeSpi: randomBytes(16), peer: 'p' });
  assert.equal(store.registrations.has(g.id, m.id), true);
  assert.equal(store.registrations.remove(g.id, m.id), true);
  // Inside a batch, a failing registration's savepoint takes its Sender-IDs with it.
  const batch = store.beginBatch();
  assert.throws(() =>
    store.transaction(() => {
      store.senderIds.allocate(g.id, 1, 8);
      throw boom;
    }),
  );
  store.transaction(() => store.senderIds.allocate(g.id, 1, 8));
  batch.commit();
  assert.equal(store.senderIds.next(g.id), 3);
});

test('a batch SQLite rolled back on its own: COMMIT fails and nothing deferred is written outside it', () => {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (x INTEGER)');
  const tx = new Transactions(db);
  const flushed: number[] = [];
  let pending: number[] = [];
  tx.defer({ mark: () => pending.length, dropTo: (m) => void (pending = pending.slice(0, m)), flush: () => void flushed.push(...pending.splice(0)) });
  tx.beginBatch();
  assert.equal(tx.inBatch, true);
  tx.run(() => {
    db.prepare('INSERT INTO t VALUES (1)').run();
    pending.push(1);
  });
  db.exec('ROLLBACK'); // as SQLite does after SQLITE_FULL or an I/O error
  assert.equal(tx.inBatch, false);
  assert.throws(() => tx.commit(), /rolled the transaction back/);
  assert.deepEqual(flushed, []);
  assert.deepEqual(pending, []);
  tx.beginBatch();
  tx.run(() => pending.push(2));
  tx.commit();
  assert.deepEqual(flushed, [2], 'the next batch flushes its own');
  db.close();
});
