/** Migrations runner: apply from empty, idempotence, recorded versions, changed/newer refused. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/database.ts';
import { applyMigrations, appliedMigrations, DEFAULT_MIGRATIONS_DIR, loadMigrations, schemaVersion } from '../../src/store/migrations.ts';
import { openStore } from '../../src/store/index.ts';
import { gkmError, newMasterKey, tempDir } from './helpers.ts';

const memoryDb = () => openDatabase({ path: ':memory:' }).db;

test('the shipped migrations are numbered 1..n and load with checksums', () => {
  const ms = loadMigrations();
  assert.ok(ms.length >= 1);
  ms.forEach((m, i) => {
    assert.equal(m.version, i + 1);
    assert.match(m.checksum, /^[0-9a-f]{64}$/);
  });
  assert.equal(ms[0]!.name, 'init');
});

test('apply from empty: every table exists, versions recorded with name, checksum, time', () => {
  const db = memoryDb();
  const ms = loadMigrations();
  const r = applyMigrations(db, ms, () => new Date('2025-01-02T03:04:05Z'));
  assert.deepEqual(r.applied, ms.map((m) => m.version));
  assert.equal(r.version, ms.length);
  assert.equal(schemaVersion(db), ms.length);
  const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((t) => t.name);
  for (const t of ['audit_log', 'group_members', 'group_policies', 'group_secrets', 'groups', 'key_material', 'lkh_leaves', 'group_registration_counts', 'members', 'registrations', 'schema_migrations', 'sender_id_counters', 'store_meta']) {
    assert.ok(tables.includes(t), t);
  }
  const [first] = appliedMigrations(db);
  assert.deepEqual(first, { version: 1, name: 'init', checksum: ms[0]!.checksum, appliedAt: '2025-01-02T03:04:05.000Z' });
});

test('applying again changes nothing', () => {
  const db = memoryDb();
  const ms = loadMigrations();
  applyMigrations(db, ms);
  const before = appliedMigrations(db);
  const again = applyMigrations(db, ms);
  assert.deepEqual(again.applied, []);
  assert.deepEqual(appliedMigrations(db), before);
});

test('only the missing migrations run, in order, each recorded', () => {
  const dir = tempDir();
  writeFileSync(join(dir, '001_a.sql'), 'CREATE TABLE a (x INTEGER);');
  const db = memoryDb();
  applyMigrations(db, loadMigrations(dir));
  writeFileSync(join(dir, '002_b.sql'), 'CREATE TABLE b (y INTEGER); INSERT INTO a VALUES (1);');
  const r = applyMigrations(db, loadMigrations(dir));
  assert.deepEqual(r.applied, [2]);
  assert.deepEqual(appliedMigrations(db).map((m) => m.name), ['a', 'b']);
});

test('a failing migration rolls back whole: no table, no version row', () => {
  const dir = tempDir();
  writeFileSync(join(dir, '001_ok.sql'), 'CREATE TABLE a (x INTEGER);');
  writeFileSync(join(dir, '002_bad.sql'), 'CREATE TABLE b (y INTEGER); INSERT INTO nowhere VALUES (1);');
  const db = memoryDb();
  assert.throws(() => applyMigrations(db, loadMigrations(dir)), gkmError('GKM_STORE_MIGRATION', /migration 2 \(bad\)/));
  assert.equal(schemaVersion(db), 1);
  assert.equal(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'b'").get(), undefined);
});

/** A copy of the shipped migrations to tamper with. */
function copyOfMigrations(): string {
  const dir = join(tempDir(), 'migrations');
  cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

test('a changed migration file is refused at start-up', () => {
  const migrations = copyOfMigrations();
  const path = join(tempDir(), 'gcks.db');
  const key = newMasterKey();
  openStore({ path, masterKey: key, migrationsDir: migrations }).close();
  appendFileSync(join(migrations, '001_init.sql'), '\n-- edited after landing\n');
  assert.throws(() => openStore({ path, masterKey: key, migrationsDir: migrations }), gkmError('GKM_STORE_MIGRATION_CHANGED', /001_init\.sql/));
});

test('a database newer than the code is refused', () => {
  const newer = copyOfMigrations();
  const next = String(loadMigrations().length + 1).padStart(3, '0');
  writeFileSync(join(newer, `${next}_future.sql`), 'CREATE TABLE future (x INTEGER);');
  const path = join(tempDir(), 'gcks.db');
  const key = newMasterKey();
  openStore({ path, masterKey: key, migrationsDir: newer }).close();
  assert.throws(() => openStore({ path, masterKey: key }), gkmError('GKM_STORE_SCHEMA_TOO_NEW', /newer gkm-ikev2/));
});

test('migration files must be NNN_name.sql without gaps', () => {
  const gap = tempDir();
  writeFileSync(join(gap, '001_a.sql'), '');
  writeFileSync(join(gap, '003_c.sql'), '');
  assert.throws(() => loadMigrations(gap), gkmError('GKM_STORE_MIGRATION', /expected migration 2/));
  const badName = tempDir();
  writeFileSync(join(badName, '1-init.sql'), '');
  assert.throws(() => loadMigrations(badName), gkmError('GKM_STORE_MIGRATION', /NNN_name\.sql/));
});

test('006 counts the registrations a store already holds', () => {
  const db = memoryDb();
  const ms = loadMigrations();
  applyMigrations(db, ms.filter((m) => m.version < 6));
  db.exec(`INSERT INTO groups (id, name, id_type, id_data, created_at, updated_at) VALUES (1, 'g', 11, x'67', 0, 0), (2, 'h', 11, x'68', 0, 0), (3, 'i', 11, x'69', 0, 0);
    INSERT INTO members (id, uid, id_type, id_data, auth_kind, public_key, created_at, updated_at) VALUES (1, 'u1', 11, x'61', 'public-key', x'00', 0, 0), (2, 'u2', 11, x'62', 'public-key', x'00', 0, 0);
    INSERT INTO group_members (group_id, member_id, role, max_sender_ids, created_at) VALUES (1, 1, 'both', 0, 0), (1, 2, 'both', 0, 0), (2, 2, 'both', 0, 0);
    INSERT INTO registrations (group_id, member_id, ike_spi, peer, registered_at) VALUES (1, 1, x'01', 'p', 0), (1, 2, x'02', 'p', 0), (2, 2, x'02', 'p', 0);`);
  applyMigrations(db, ms);
  const counts = db.prepare<[], { group_id: number; registered: number }>('SELECT group_id, registered FROM group_registration_counts ORDER BY group_id').all();
  assert.deepEqual(counts.map((c) => ({ ...c })), [{ group_id: 1, registered: 2 }, { group_id: 2, registered: 1 }]);
});
