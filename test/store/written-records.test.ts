/**
 * Writes return their record without reading the row back (keys.add, registrations.put,
 * audit.append): what they return must be exactly what a later read returns. And the
 * one-statement retire paths (retire, retireByKeyId) behave as the read-then-write ones did.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { gkmError, keyIdIdentity, memoryStore } from './helpers.ts';

test('keys.add, registrations.put and audit.append return what reading the row returns', () => {
  const store = memoryStore({ now: () => 1234 });
  const g = store.groups.create({ name: 'g', identity: keyIdIdentity('g') });
  const m = store.members.create(keyIdIdentity('m'), { kind: 'psk', psk: randomBytes(16) });
  store.members.authorize(g.id, m.id, { role: 'both', maxSenderIds: 2 });
  const rows = [
    store.keys.add({ groupId: g.id, kind: 'lkh-node', keyId: 5, treeNode: 7, memberId: m.id, algorithm: 'KW_5649_256', secret: randomBytes(32) }),
    store.keys.add({ groupId: g.id, kind: 'tek', spi: randomBytes(4), saName: 'data', secret: randomBytes(36), expiresAt: 99_999, activatesAt: 2000 }),
    store.keys.add({ groupId: g.id, kind: 'signing-key', publicKey: randomBytes(44), secret: randomBytes(48) }),
  ];
  for (const r of rows) assert.deepEqual(r, store.keys.get(r.id));
  for (const cap of [null, 10]) {
    const reg = store.registrations.put({ groupId: g.id, memberId: m.id, ikeSpi: randomBytes(16), peer: '192.0.2.1:500', senderIds: [3, 4], leafKeyId: 5 }, { memberCap: cap });
    assert.deepEqual(reg, store.registrations.get(g.id, m.id));
  }
  const e = store.audit.append({ actor: 'gcks:registration', action: 'member.register', groupId: g.id, memberId: m.id, detail: { peer: '192.0.2.1:500', senderIds: [3, 4], nested: { a: null, b: true } } });
  assert.deepEqual(e, store.audit.list({ groupId: g.id }).at(-1));
  const bare = store.audit.append({ actor: 'admin:x', action: 'group.touch' });
  assert.deepEqual(bare, store.audit.list().at(-1));
});

test('retire: silent on a retired row, GKM_STORE_NOT_FOUND on a missing one; retireByKeyId retires the live Key ID only', () => {
  let now = 10;
  const store = memoryStore({ now: () => now });
  const g = store.groups.create({ name: 'g', identity: keyIdIdentity('g') });
  const k = store.keys.add({ groupId: g.id, kind: 'lkh-node', keyId: 9, treeNode: 1, secret: randomBytes(32) });
  store.keys.retire(k.id);
  now = 20;
  store.keys.retire(k.id);
  assert.equal(store.keys.get(k.id)?.retiredAt, 10, 'the first retirement stands');
  assert.throws(() => store.keys.retire(k.id + 100), gkmError('GKM_STORE_NOT_FOUND'));
  const k2 = store.keys.add({ groupId: g.id, kind: 'lkh-node', keyId: 9, treeNode: 2, secret: randomBytes(32) });
  assert.equal(store.keys.retireByKeyId(g.id, 9), true);
  assert.equal(store.keys.get(k2.id)?.retiredAt, 20);
  assert.equal(store.keys.retireByKeyId(g.id, 9), false, 'no live row left');
});
