/** The store: persistence across restarts, secrets at rest, master key checks, transactions, repositories. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { loadMigrations, openStore, type Store } from '../../src/store/index.ts';
import { gkmError, keyIdIdentity, memoryStore, newMasterKey, tempDir } from './helpers.ts';

/** Every byte SQLite keeps for the database: the file, its WAL and shared memory. */
function rawDatabaseBytes(path: string): Buffer {
  return Buffer.concat([path, `${path}-wal`, `${path}-shm`].filter(existsSync).map((p) => readFileSync(p)));
}

function seed(store: Store, psk: Buffer, tek: Buffer, leafSecret = randomBytes(32)) {
  return store.transaction(() => {
    const group = store.groups.create({ name: 'g1', identity: keyIdIdentity('group-1'), memberCap: 10 });
    store.policies.put(group.id, { any: 'document' });
    const member = store.members.create(keyIdIdentity('member-1'), { kind: 'psk', psk });
    store.members.authorize(group.id, member.id, { role: 'both', maxSenderIds: 2 });
    const key = store.keys.add({ groupId: group.id, kind: 'tek', secret: tek, spi: Buffer.from('0a0b0c0d', 'hex'), saName: 'data', expiresAt: 10_000 });
    store.groupSecrets.add(group.id, 'lkh-leaf-keys', leafSecret);
    return { group, member, key };
  });
}

test('a new database file is 0600 in a 0700 directory, WAL, foreign keys on', () => {
  const dir = join(tempDir(), 'nested', 'data');
  const path = join(dir, 'gcks.db');
  const store = openStore({ path, masterKey: newMasterKey() });
  try {
    assert.equal(store.created, true);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(store.schemaVersion, loadMigrations().length);
    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
    store.groups.create({ name: 'g', identity: keyIdIdentity('g') });
    assert.equal(statSync(`${path}-wal`).mode & 0o777, 0o600, 'the WAL inherits the mode');
    assert.throws(
      () => store.members.authorize(999, 998, { role: 'both', maxSenderIds: 0 }),
      gkmError('GKM_STORE_NOT_FOUND'),
      'foreign keys are enforced',
    );
  } finally {
    store.close();
  }
});

test('restart keeps groups, policies, members, authorizations, keys and counters', () => {
  const path = join(tempDir(), 'gcks.db');
  const key = newMasterKey();
  const psk = randomBytes(24);
  const tek = randomBytes(36);
  let ids: ReturnType<typeof seed>;
  {
    const store = openStore({ path, masterKey: key });
    ids = seed(store, psk, tek);
    store.senderIds.allocate(ids.group.id, 3, 8);
    store.registrations.put({ groupId: ids.group.id, memberId: ids.member.id, ikeSpi: randomBytes(16), peer: '192.0.2.1:500', senderIds: [0, 1, 2] });
    store.close();
  }
  const store = openStore({ path, masterKey: key });
  try {
    assert.equal(store.created, false);
    assert.deepEqual(store.groups.require(ids.group.id), ids.group);
    assert.deepEqual(store.policies.get(ids.group.id)?.document, { any: 'document' });
    assert.deepEqual(store.members.credential(ids.member.id), { kind: 'psk', psk });
    assert.equal(store.members.authorization(ids.group.id, ids.member.id)?.role, 'both');
    assert.deepEqual(store.keys.open(ids.key.id).secret, tek);
    assert.equal(store.senderIds.next(ids.group.id), 3);
    assert.deepEqual(store.registrations.get(ids.group.id, ids.member.id)?.senderIds, [0, 1, 2]);
  } finally {
    store.close();
  }
});

test('secrets are not stored in plaintext: PSK and key bytes absent from the raw database', () => {
  const path = join(tempDir(), 'gcks.db');
  const psk = Buffer.from(`psk-${randomBytes(16).toString('hex')}`);
  const tek = randomBytes(36);
  const leafSecret = randomBytes(32);
  const store = openStore({ path, masterKey: newMasterKey() });
  const { member } = seed(store, psk, tek, leafSecret);
  const spki = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004' + 'ab'.repeat(64), 'hex');
  store.members.create(keyIdIdentity('pk-member'), { kind: 'public-key', spki });
  const check = (bytes: Buffer) => {
    assert.equal(bytes.indexOf(psk), -1, 'PSK in clear');
    assert.equal(bytes.indexOf(tek.subarray(0, 16)), -1, 'key material in clear');
    assert.equal(bytes.indexOf(leafSecret.subarray(0, 16)), -1, 'the leaf-key secret in clear');
    assert.notEqual(bytes.indexOf(Buffer.from('member-1')), -1, 'identities are in clear (sanity check of the search)');
    assert.notEqual(bytes.indexOf(spki), -1, 'public keys are not secrets');
  };
  check(rawDatabaseBytes(path)); // while open: the WAL holds the recent pages
  assert.deepEqual(store.members.credential(member.id), { kind: 'psk', psk });
  store.close();
  check(rawDatabaseBytes(path));
});

test('a wrong master key is a clear start-up error, and changes nothing', () => {
  const path = join(tempDir(), 'gcks.db');
  const key = newMasterKey();
  const store = openStore({ path, masterKey: key });
  seed(store, randomBytes(20), randomBytes(36));
  store.close();
  assert.throws(() => openStore({ path, masterKey: newMasterKey() }), (e: unknown) => {
    assert.ok(gkmError('GKM_STORE_MASTER_KEY_MISMATCH')(e));
    assert.match((e as Error).message, /master key this database was created with/);
    assert.match((e as Error).message, /GCKS_MASTER_KEY_FILE/);
    return true;
  });
  const again = openStore({ path, masterKey: key });
  assert.equal(again.groups.list().length, 1);
  again.close();
});

test('a master key of the wrong size is refused', () => {
  assert.throws(() => openStore({ path: ':memory:', masterKey: randomBytes(16) }), gkmError('GKM_STORE_MASTER_KEY_INVALID'));
});

test('AAD binding: a sealed value copied to another row or column does not open', () => {
  const path = join(tempDir(), 'gcks.db');
  const store = openStore({ path, masterKey: newMasterKey() });
  const g = store.groups.create({ name: 'g', identity: keyIdIdentity('g') });
  const a = store.members.create(keyIdIdentity('a'), { kind: 'psk', psk: Buffer.from('secret-of-member-a') });
  const b = store.members.create(keyIdIdentity('b'), { kind: 'psk', psk: Buffer.from('secret-of-member-b') });
  const k1 = store.keys.add({ groupId: g.id, kind: 'kek', secret: randomBytes(32) });
  const k2 = store.keys.add({ groupId: g.id, kind: 'kek', secret: randomBytes(32) });
  // Tamper through a second connection, as someone with write access to the file could.
  const db = new Database(path);
  try {
    db.prepare('UPDATE members SET psk_enc = (SELECT psk_enc FROM members WHERE id = ?) WHERE id = ?').run(a.id, b.id);
    assert.throws(() => store.members.credential(b.id), gkmError('GKM_STORE_SECRET_CORRUPT', /members\.psk_enc/));
    assert.deepEqual(store.members.credential(a.id), { kind: 'psk', psk: Buffer.from('secret-of-member-a') });
    db.prepare('UPDATE key_material SET secret_enc = (SELECT secret_enc FROM key_material WHERE id = ?) WHERE id = ?').run(k1.id, k2.id);
    assert.throws(() => store.keys.open(k2.id), gkmError('GKM_STORE_SECRET_CORRUPT'));
    db.prepare('UPDATE key_material SET secret_enc = (SELECT psk_enc FROM members WHERE id = ?) WHERE id = ?').run(a.id, k1.id);
    assert.throws(() => store.keys.open(k1.id), gkmError('GKM_STORE_SECRET_CORRUPT'), 'another column');
    store.groupSecrets.add(g.id, 'lkh-leaf-keys', randomBytes(32));
    db.prepare("UPDATE group_secrets SET secret_enc = (SELECT secret_enc FROM key_material WHERE id = ?) WHERE group_id = ?").run(k1.id, g.id);
    assert.throws(() => store.groupSecrets.get(g.id, 'lkh-leaf-keys'), gkmError('GKM_STORE_SECRET_CORRUPT'), 'a key row copied over the leaf-key secret');
  } finally {
    db.close();
    store.close();
  }
});

test('transactions roll back every repository change when the function throws', () => {
  const store = memoryStore();
  const boom = new Error('boom');
  assert.throws(
    () =>
      store.transaction(() => {
        const g = store.groups.create({ name: 'g', identity: keyIdIdentity('g') });
        const m = store.members.create(keyIdIdentity('m'), { kind: 'psk', psk: randomBytes(16) });
        store.members.authorize(g.id, m.id, { role: 'receiver', maxSenderIds: 0 });
        store.keys.add({ groupId: g.id, kind: 'tek', secret: randomBytes(20) });
        store.senderIds.allocate(g.id, 2, 8);
        store.audit.append({ actor: 'test', action: 'evict', groupId: g.id });
        throw boom;
      }),
    (e) => e === boom,
  );
  assert.deepEqual(store.groups.list(), []);
  assert.deepEqual(store.members.list(), []);
  assert.deepEqual(store.audit.list(), []);
  // A nested transaction that fails rolls back to its savepoint only.
  store.transaction(() => {
    store.groups.create({ name: 'kept', identity: keyIdIdentity('kept') });
    assert.throws(() =>
      store.transaction(() => {
        store.groups.create({ name: 'dropped', identity: keyIdIdentity('dropped') });
        throw boom;
      }),
    );
  });
  assert.deepEqual(store.groups.list().map((g) => g.name), ['kept']);
});

test('master key rotation re-encrypts every secret in one go; only the new key opens the store', () => {
  const path = join(tempDir(), 'gcks.db');
  const oldKey = newMasterKey();
  const newKey = newMasterKey();
  const psk = randomBytes(20);
  const tek = randomBytes(36);
  const store = openStore({ path, masterKey: oldKey });
  const leafSecret = randomBytes(32);
  const ids = seed(store, psk, tek, leafSecret);
  const before = sealedKey(path, ids.key.id);
  assert.deepEqual(store.rotateMasterKey(newKey), { reencrypted: 3 });
  assert.deepEqual(store.keys.open(ids.key.id).secret, tek, 'the open store uses the new key at once');
  store.close();
  assert.throws(() => openStore({ path, masterKey: oldKey }), gkmError('GKM_STORE_MASTER_KEY_MISMATCH'));
  const reopened = openStore({ path, masterKey: newKey });
  try {
    assert.deepEqual(reopened.members.credential(ids.member.id), { kind: 'psk', psk });
    assert.deepEqual(reopened.groupSecrets.get(ids.group.id, 'lkh-leaf-keys'), leafSecret);
    assert.notDeepEqual(sealedKey(path, ids.key.id), before);
  } finally {
    reopened.close();
  }
});

/** The sealed bytes of a key_material row, read through a second connection. */
function sealedKey(path: string, id: number): Buffer {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare<[number], { s: Buffer }>('SELECT secret_enc AS s FROM key_material WHERE id = ?').get(id)!.s;
  } finally {
    db.close();
  }
}

test('a failed rotation leaves the old key in force', () => {
  const path = join(tempDir(), 'gcks.db');
  const key = newMasterKey();
  const store = openStore({ path, masterKey: key });
  const ids = seed(store, randomBytes(20), randomBytes(36));
  const db = new Database(path);
  db.prepare('UPDATE key_material SET secret_enc = ? WHERE id = ?').run(Buffer.alloc(40, 1), ids.key.id);
  db.close();
  assert.throws(() => store.rotateMasterKey(newMasterKey()), gkmError('GKM_STORE_SECRET_CORRUPT'));
  assert.ok(store.members.credential(ids.member.id));
  store.close();
  openStore({ path, masterKey: key }).close();
});

test('groups: unique name and IDg, lookup by identity, update, cascade on removal', () => {
  const store = memoryStore();
  const { group, member, key } = seed(store, randomBytes(16), randomBytes(20));
  assert.deepEqual(store.groups.findByIdentity(keyIdIdentity('group-1')), group);
  assert.equal(store.groups.findByIdentity(keyIdIdentity('group-2')), undefined);
  assert.throws(() => store.groups.create({ name: 'g1', identity: keyIdIdentity('other') }), gkmError('GKM_STORE_CONFLICT'));
  assert.throws(() => store.groups.create({ name: 'other', identity: keyIdIdentity('group-1') }), gkmError('GKM_STORE_CONFLICT'));
  assert.equal(store.groups.update(group.id, { memberCap: null, name: 'renamed' }).memberCap, null);
  assert.equal(store.policies.put(group.id, { v: 2 }).version, 2);
  store.registrations.put({ groupId: group.id, memberId: member.id, ikeSpi: randomBytes(16), peer: '[2001:db8::1]:4500' });
  assert.equal(store.groups.remove(group.id), true);
  assert.equal(store.policies.get(group.id), undefined);
  assert.equal(store.keys.get(key.id), undefined);
  assert.equal(store.registrations.countForGroup(group.id), 0);
  assert.ok(store.members.get(member.id), 'members outlive a group');
  assert.throws(() => store.groups.require(group.id), gkmError('GKM_STORE_NOT_FOUND'));
});

test('members: credentials, re-authorization, revocation ends the registration', () => {
  const store = memoryStore();
  const { group, member } = seed(store, Buffer.from('first-psk-0123456'), randomBytes(20));
  assert.equal(store.members.require(member.id).credentialKind, 'psk');
  assert.equal(store.members.require(member.id).publicKey, null);
  store.members.setCredential(member.id, { kind: 'public-key', spki: Buffer.from('3000', 'hex') });
  assert.deepEqual(store.members.credential(member.id), { kind: 'public-key', spki: Buffer.from('3000', 'hex') });
  assert.throws(() => store.members.create(keyIdIdentity('member-1'), { kind: 'psk', psk: randomBytes(16) }), gkmError('GKM_STORE_CONFLICT'));
  assert.equal(store.members.authorize(group.id, member.id, { role: 'sender', maxSenderIds: 4 }).maxSenderIds, 4);
  assert.equal(store.members.authorizationsForGroup(group.id).length, 1);
  assert.equal(store.members.authorizationsForMember(member.id)[0]?.role, 'sender');
  store.registrations.put({ groupId: group.id, memberId: member.id, ikeSpi: randomBytes(16), peer: '192.0.2.1:4500' });
  assert.equal(store.members.revoke(group.id, member.id), true);
  assert.equal(store.registrations.get(group.id, member.id), undefined);
  assert.throws(
    () => store.registrations.put({ groupId: group.id, memberId: member.id, ikeSpi: randomBytes(16), peer: 'x' }),
    gkmError('GKM_STORE_NOT_FOUND'),
    'registration needs an authorization',
  );
});

test('registrations: one per (group, member), replaced on re-registration, member cap', () => {
  const store = memoryStore();
  const g = store.groups.create({ name: 'g', identity: keyIdIdentity('g'), memberCap: 2 });
  const ms = ['a', 'b', 'c'].map((n) => {
    const m = store.members.create(keyIdIdentity(n), { kind: 'psk', psk: randomBytes(16) });
    store.members.authorize(g.id, m.id, { role: 'receiver', maxSenderIds: 0 });
    return m;
  });
  const spi1 = randomBytes(16);
  const reg = (i: number, spi = spi1) => store.registrations.put({ groupId: g.id, memberId: ms[i]!.id, ikeSpi: spi, peer: `192.0.2.${i}:500`, leafKeyId: 100 + i }, { memberCap: 2 });
  reg(0);
  reg(1);
  assert.throws(() => reg(2), (e: unknown) => gkmError('GKM_GCKS_GROUP_FULL')(e) && (e as { notify: number }).notify === 49);
  const spi2 = randomBytes(16);
  assert.deepEqual(reg(0, spi2).ikeSpi, spi2, 'a registered member may re-register at the cap');
  assert.equal(store.registrations.countForGroup(g.id), 2);
  assert.deepEqual(store.registrations.listForIkeSa(spi1).map((r) => r.memberId), [ms[1]!.id]);
  assert.equal(store.registrations.removeForIkeSa(spi1), 1);
  assert.equal(store.registrations.listForGroup(g.id).length, 1);
  assert.equal(store.registrations.countForGroup(g.id), 1);
  reg(2);
  assert.throws(() => reg(1), gkmError('GKM_GCKS_GROUP_FULL'), 'full again');
});

test('registration counts follow every way a registration comes and goes, other groups apart', () => {
  const store = memoryStore();
  const [g, h] = ['g', 'h'].map((n) => store.groups.create({ name: n, identity: keyIdIdentity(n) }));
  const ms = ['a', 'b', 'c'].map((n) => {
    const m = store.members.create(keyIdIdentity(n), { kind: 'psk', psk: randomBytes(16) });
    for (const x of [g!, h!]) store.members.authorize(x.id, m.id, { role: 'receiver', maxSenderIds: 0 });
    return m;
  });
  const spi = randomBytes(16);
  const count = () => [store.registrations.countForGroup(g!.id), store.registrations.countForGroup(h!.id)];
  assert.deepEqual(count(), [0, 0]);
  for (const m of ms) store.registrations.put({ groupId: g!.id, memberId: m.id, ikeSpi: spi, peer: '192.0.2.1:500' });
  store.registrations.put({ groupId: h!.id, memberId: ms[0]!.id, ikeSpi: randomBytes(16), peer: '192.0.2.1:500' });
  assert.deepEqual(count(), [3, 1]);
  store.registrations.put({ groupId: g!.id, memberId: ms[0]!.id, ikeSpi: randomBytes(16), peer: '192.0.2.9:500' });
  assert.deepEqual(count(), [3, 1], 'a re-registration replaces, it does not add');
  assert.equal(store.registrations.remove(g!.id, ms[0]!.id), true);
  assert.deepEqual(count(), [2, 1]);
  store.members.revoke(g!.id, ms[1]!.id); // the authorization goes, its registration by cascade
  assert.deepEqual(count(), [1, 1]);
  assert.equal(store.registrations.removeForIkeSa(spi), 1);
  assert.deepEqual(count(), [0, 1]);
  assert.throws(() => store.transaction(() => {
    store.registrations.put({ groupId: g!.id, memberId: ms[2]!.id, ikeSpi: spi, peer: '192.0.2.1:500' });
    throw new Error('rolled back');
  }), /rolled back/);
  assert.deepEqual(count(), [0, 1], 'a rolled-back registration is not counted');
  store.groups.remove(h!.id);
  assert.deepEqual(count(), [0, 0]);
});

test('Sender-IDs: from 0, consecutive, never reused, fewer when few are left, exhaustion, reset', () => {
  const store = memoryStore();
  const g = store.groups.create({ name: 'g', identity: keyIdIdentity('g') });
  assert.deepEqual(store.senderIds.allocate(g.id, 1, 2), [0]);
  assert.deepEqual(store.senderIds.allocate(g.id, 2, 2), [1, 2]);
  assert.deepEqual(store.senderIds.allocate(g.id, 5, 2), [3], 'MAY grant fewer');
  assert.throws(() => store.senderIds.allocate(g.id, 1, 2), (e: unknown) => gkmError('GKM_GCKS_SENDER_IDS_EXHAUSTED')(e) && (e as { notify: number }).notify === 49);
  store.senderIds.reset(g.id);
  assert.deepEqual(store.senderIds.allocate(g.id, 1, 2), [0]);
});

test('key material: SPIs and Key IDs unique while live, retire, purge, filters', () => {
  let now = 1000;
  const store = memoryStore({ now: () => now });
  const g = store.groups.create({ name: 'g', identity: keyIdIdentity('g') });
  const spi = Buffer.from('11223344', 'hex');
  const tek = store.keys.add({ groupId: g.id, kind: 'tek', secret: randomBytes(20), spi, saName: 'video', algorithm: 'aes-gcm-16-128', expiresAt: 5000 });
  assert.deepEqual({ createdAt: tek.createdAt, activatesAt: tek.activatesAt, expiresAt: tek.expiresAt }, { createdAt: 1000, activatesAt: 1000, expiresAt: 5000 });
  assert.throws(() => store.keys.add({ groupId: g.id, kind: 'tek', secret: randomBytes(20), spi }), gkmError('GKM_STORE_CONFLICT'));
  const node = store.keys.add({ groupId: g.id, kind: 'lkh-node', keyId: 7, treeNode: 3, secret: randomBytes(32) });
  assert.throws(() => store.keys.add({ groupId: g.id, kind: 'lkh-node', keyId: 7, secret: randomBytes(32) }), gkmError('GKM_STORE_CONFLICT'));
  assert.equal(store.keys.findByKeyId(g.id, 7)?.id, node.id);
  assert.equal(store.keys.findBySpi(spi)?.saName, 'video');
  assert.deepEqual(store.keys.list(g.id, { kind: 'lkh-node' }).map((k) => k.id), [node.id]);
  now = 2000;
  store.keys.retire(tek.id);
  assert.equal(store.keys.findBySpi(spi), undefined);
  store.keys.add({ groupId: g.id, kind: 'tek', secret: randomBytes(20), spi }); // the SPI is free again
  assert.equal(store.keys.list(g.id, { kind: 'tek' }).length, 1);
  assert.equal(store.keys.list(g.id, { kind: 'tek', includeRetired: true }).length, 2);
  store.keys.setExpiry(node.id, 9000);
  assert.equal(store.keys.get(node.id)?.expiresAt, 9000);
  assert.equal(store.keys.purgeRetired(2000), 0);
  assert.equal(store.keys.purgeRetired(2001), 1);
  assert.throws(() => store.keys.add({ groupId: g.id, kind: 'lkh-node', keyId: 0, secret: randomBytes(32) }), gkmError('GKM_STORE_CONFLICT'), 'Key ID 0 is reserved');
});

test('LKH leaves: one row per Key ID, moved in place, removed; group secrets: one per purpose, bound to their row', () => {
  const store = memoryStore();
  const g = store.groups.create({ name: 'g', identity: keyIdIdentity('g') });
  const other = store.groups.create({ name: 'h', identity: keyIdIdentity('h') });
  store.lkhLeaves.add({ groupId: g.id, keyId: 9, memberId: 3, treeNode: 5 });
  store.lkhLeaves.add({ groupId: g.id, keyId: 4, memberId: 2, treeNode: 2 });
  store.lkhLeaves.add({ groupId: other.id, keyId: 4, memberId: 2, treeNode: 1 }); // Key IDs are per group
  assert.throws(() => store.lkhLeaves.add({ groupId: g.id, keyId: 9, memberId: 7, treeNode: 6 }), gkmError('GKM_STORE_CONFLICT'));
  assert.throws(() => store.lkhLeaves.add({ groupId: g.id, keyId: 0, memberId: 7, treeNode: 6 }), gkmError('GKM_STORE_CONFLICT'), 'Key ID 0 is reserved');
  assert.throws(() => store.lkhLeaves.add({ groupId: 999, keyId: 1, memberId: 7, treeNode: 6 }), gkmError('GKM_STORE_NOT_FOUND'));
  assert.equal(store.lkhLeaves.move(g.id, 4, 7, 12), true);
  assert.equal(store.lkhLeaves.move(g.id, 5, 7, 12), false);
  assert.deepEqual(store.lkhLeaves.list(g.id), [
    { groupId: g.id, keyId: 4, memberId: 2, treeNode: 7, movedAtKeyId: 12 },
    { groupId: g.id, keyId: 9, memberId: 3, treeNode: 5, movedAtKeyId: null },
  ]);
  assert.equal(store.lkhLeaves.remove(g.id, 9), true);
  assert.equal(store.lkhLeaves.remove(g.id, 9), false);
  assert.deepEqual(store.lkhLeaves.list(g.id).map((l) => l.keyId), [4]);
  const secret = randomBytes(32);
  assert.equal(store.groupSecrets.get(g.id, 'lkh-leaf-keys'), undefined);
  store.groupSecrets.add(g.id, 'lkh-leaf-keys', secret);
  assert.deepEqual(store.groupSecrets.get(g.id, 'lkh-leaf-keys'), secret);
  assert.throws(() => store.groupSecrets.add(g.id, 'lkh-leaf-keys', randomBytes(32)), gkmError('GKM_STORE_CONFLICT'));
  store.groups.remove(g.id);
  assert.deepEqual(store.lkhLeaves.list(g.id), [], 'a group takes its leaves along');
  assert.equal(store.groupSecrets.get(g.id, 'lkh-leaf-keys'), undefined, 'and its secrets');
  assert.equal(store.lkhLeaves.list(other.id).length, 1);
});

test('audit log: append-only, ordered, filtered; secrets refused', () => {
  const path = join(tempDir(), 'gcks.db');
  const store = openStore({ path, masterKey: newMasterKey(), now: () => 42 });
  const g = store.groups.create({ name: 'g', identity: keyIdIdentity('g') });
  const e1 = store.audit.append({ actor: 'admin:alice', action: 'group.create', groupId: g.id, detail: { name: 'g', keyId: 3 } });
  store.audit.append({ actor: 'gcks', action: 'rekey.scheduled' });
  assert.deepEqual(e1, { id: e1.id, at: 42, actor: 'admin:alice', action: 'group.create', groupId: g.id, memberId: null, detail: { name: 'g', keyId: 3 } });
  assert.deepEqual(store.audit.list({ groupId: g.id }).map((e) => e.action), ['group.create']);
  assert.deepEqual(store.audit.list({ afterId: e1.id }).map((e) => e.action), ['rekey.scheduled']);
  const secretLooking: Record<string, never>[] = [{ psk: 'x' }, { nested: { privateKey: 'x' } }, { list: [{ Secret: 1 }] }, { blob: Buffer.from('x') }] as never;
  for (const detail of secretLooking) {
    assert.throws(() => store.audit.append({ actor: 'a', action: 'x', detail }), gkmError('GKM_STORE_AUDIT_SECRET'));
  }
  const db = new Database(path);
  try {
    assert.throws(() => db.prepare('UPDATE audit_log SET actor = ?').run('mallory'), /append-only/);
    assert.throws(() => db.prepare('DELETE FROM audit_log').run(), /append-only/);
  } finally {
    db.close();
    store.close();
  }
});
