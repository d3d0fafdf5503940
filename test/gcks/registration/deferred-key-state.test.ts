/**
 * The group key state document under group commit (src/gcks/registration/group-key-store.ts,
 * registrar.ts): written once per batch instead of once per join, and still the state after
 * the batch's last join at every COMMIT. A registrar opened afresh on the store (what a
 * restart does) finds the same tree. A join that fails after touching the keys while the
 * batch holds a deferred state rolls the whole batch back (the state to write would include
 * it, the one on disk lacks the batch's earlier joins): afterwards everything reloads
 * consistently and the same members join again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createGroup } from '../../../src/gcks/groups/index.ts';
import { Registrar } from '../../../src/gcks/registration/registrar.ts';
import { IdType, KwaId } from '../../../src/ikev2/registry/index.ts';
import type { MemberRecord, Store } from '../../../src/store/index.ts';
import { memoryStore } from '../../store/helpers.ts';
import { gcmPolicy, silentLog } from './support/world.ts';

const idg = { idType: IdType.ID_KEY_ID, data: Buffer.from('g1') };

interface Fixture {
  readonly store: Store;
  readonly group: number;
  readonly members: MemberRecord[];
  /** groupKeyState.put calls so far. */
  readonly stateWrites: () => number;
  /** Make the audit append of this member's next registration fail (after the key engine ran). */
  readonly failAuditOf: (memberId: number) => void;
}

function fixture(n: number): Fixture {
  const real = memoryStore();
  let writes = 0;
  let failFor: number | undefined;
  const store: Store = {
    ...real,
    groupKeyState: { get: (g) => real.groupKeyState.get(g), put: (g, s) => (writes++, real.groupKeyState.put(g, s)) },
    audit: {
      list: (q) => real.audit.list(q),
      append: (e) => {
        if (failFor !== undefined && e.memberId === failFor) throw new Error('disk trouble');
        return real.audit.append(e);
      },
    },
  };
  const group = createGroup(store, { name: 'g1', identity: idg, memberCap: null, policy: gcmPolicy(1) }, 'test').group.id;
  const members = store.transaction(() =>
    Array.from({ length: n }, (_, i) => {
      const m = store.members.create({ idType: IdType.ID_KEY_ID, data: Buffer.from(`gm-${i}`) }, { kind: 'psk', psk: randomBytes(32) });
      store.members.authorize(group, m.id, { role: 'both', maxSenderIds: 1 });
      return m;
    }),
  );
  return { store, group, members, stateWrites: () => writes, failAuditOf: (id) => (failFor = id) };
}

const registrar = (store: Store, leafKeys?: 'stored'): Registrar =>
  new Registrar({ store, log: silentLog, treeDegree: 4, commit: { windowMs: 1_000, maxBatch: 1_000 }, ...(leafKeys ? { leafKeys } : {}) });
const join = (r: Registrar, member: MemberRecord, i: number) =>
  r.join({ member, idg, ike: { spi: randomBytes(16), peer: `127.0.0.1:${2000 + i}`, channel: { kwaId: KwaId.KW_5649_256, gskW: randomBytes(32) } } });
const treeOf = (r: Registrar, group: number) => r.groupKeys(group)!.keys.tree!.snapshot().nodes.map((n) => [n.position, n.keyId, n.member ?? null]);
const keysOf = (r: Registrar, group: number) => r.groupKeys(group)!.keys.tree!.snapshot().nodes.map((n) => `${n.keyId}:${n.key.toString('hex')}`);

test('one group key state write per batch; a registrar opened afresh finds the tree the joins built', async () => {
  const f = fixture(41);
  const r = registrar(f.store);
  await join(r, f.members[0]!, 0); // opens the group's keys (and writes the initial state)
  const before = f.stateWrites();
  await Promise.all(f.members.slice(1).map((m, i) => join(r, m, i + 1)));
  assert.equal(f.stateWrites() - before, 1, '40 joins in one batch, one state write');
  const fresh = registrar(f.store);
  await join(fresh, f.members[0]!, 99); // re-registration: no new leaf
  assert.deepEqual(treeOf(fresh, f.group), treeOf(r, f.group));
  assert.equal(f.store.registrations.countForGroup(f.group), 41);
});

test('a join failing after the key engine ran, with a deferred state in the batch: the batch rolls back and reloads consistently', async () => {
  const f = fixture(12);
  const r = registrar(f.store);
  await join(r, f.members[0]!, 0);
  const committed = treeOf(r, f.group);
  f.failAuditOf(f.members[5]!.id);
  const outcomes = await Promise.allSettled(f.members.slice(1, 9).map((m, i) => join(r, m, i + 1)));
  // The joins before the failing one were in the doomed batch, the later ones found it doomed.
  assert.deepEqual(outcomes.map((o) => o.status), Array(8).fill('rejected'));
  assert.equal(f.store.registrations.countForGroup(f.group), 1, 'nothing of the batch is on disk');
  const fresh = registrar(f.store);
  await join(fresh, f.members[0]!, 50);
  assert.deepEqual(treeOf(fresh, f.group), committed, 'the store holds the tree of the last committed batch');
  f.failAuditOf(-1);
  await Promise.all(f.members.slice(1).map((m, i) => join(r, m, i + 1)));
  const again = registrar(f.store);
  await join(again, f.members[0]!, 51);
  assert.deepEqual(treeOf(again, f.group), treeOf(r, f.group));
  assert.equal(again.groupKeys(f.group)!.keys.tree!.size, 12);
});

test('a join failing after the key engine ran, first of its group in the batch: it rolls back alone', async () => {
  const f = fixture(3);
  const r = registrar(f.store);
  await join(r, f.members[0]!, 0);
  f.failAuditOf(f.members[1]!.id);
  const failing = join(r, f.members[1]!, 1);
  const later = join(r, f.members[2]!, 2); // reloads the group's keys from the store, in the same batch
  await assert.rejects(failing, /disk trouble/);
  await later;
  assert.equal(f.store.registrations.countForGroup(f.group), 2);
  const fresh = registrar(f.store);
  await join(fresh, f.members[0]!, 3); // re-registration: reads, adds no leaf
  assert.deepEqual(treeOf(fresh, f.group), treeOf(r, f.group));
});

test('restart with a pending Rekey SA, then joins that force a commit: the next KEK gets a fresh SPI', async () => {
  const f = fixture(12);
  await join(registrar(f.store), f.members[0]!, 0); // leaves a pending KEK whose SPI the current one announced
  const r = registrar(f.store);
  await Promise.all(f.members.slice(1).map((m, i) => join(r, m, i + 1))); // degree 4: the full tree forces commits
  assert.equal(r.groupKeys(f.group)!.keys.tree!.size, 12);
  const again = registrar(f.store);
  await join(again, f.members[0]!, 20);
  assert.deepEqual(treeOf(again, f.group), treeOf(r, f.group));
});

test('leaves moved by a split are updated in place (no new row) and a restart finds them moved in the open batch', async () => {
  const f = fixture(10);
  const r = registrar(f.store);
  await Promise.all(f.members.slice(0, 4).map((m, i) => join(r, m, i))); // one LKH batch: four leaves under the root (degree 4)
  // The fifth join finds the tree full for this batch (a batch's joiners are not split):
  // it forces a commit and the new batch splits the first four leaves, moving them down.
  await Promise.all(f.members.slice(4).map((m, i) => join(r, m, i + 4)));
  const tree = r.groupKeys(f.group)!.keys.tree!;
  const moved = [...tree.snapshot().pending.moved].sort();
  assert.ok(moved.length > 0, 'the second batch moved leaves');
  const nodeRows = f.store.keys.list(f.group, { kind: 'lkh-node', includeRetired: true });
  const leaves = f.store.lkhLeaves.list(f.group);
  assert.ok(nodeRows.every((k) => k.memberId === null), 'leaf keys are derived: no key_material row names a member');
  assert.equal(leaves.length, 10, 'one lkh_leaves row per member');
  const keyIds = [...nodeRows.map((k) => k.keyId), ...leaves.map((l) => l.keyId)];
  assert.equal(new Set(keyIds).size, keyIds.length, 'one row per Key ID: a move adds none');
  for (const m of moved) {
    const leaf = leaves.find((l) => l.memberId === m)!;
    assert.ok(leaf.movedAtKeyId !== null, `leaf of member ${String(m)} marked as moved`);
    assert.equal(leaf.treeNode, tree.snapshot().nodes.find((n) => n.member === m)!.position, 'its row holds the new position');
  }
  const fresh = registrar(f.store);
  await join(fresh, f.members[0]!, 50); // re-registration: reads, adds no leaf
  const restored = fresh.groupKeys(f.group)!.keys.tree!.snapshot();
  assert.deepEqual([...restored.pending.moved].sort(), moved, 'the restart sees the same moved leaves');
  assert.deepEqual(treeOf(fresh, f.group), treeOf(r, f.group));
  assert.deepEqual(keysOf(fresh, f.group), keysOf(r, f.group), 'the derived leaf keys come back the same');
});

test('a store whose leaves are sealed key_material rows (before migration 005) restores, takes new derived leaves beside them, and restores again', async () => {
  const f = fixture(16);
  const r = registrar(f.store, 'stored');
  await Promise.all(f.members.slice(0, 4).map((m, i) => join(r, m, i)));
  await Promise.all(f.members.slice(4, 10).map((m, i) => join(r, m, i + 4))); // a second batch, leaves moved in it
  assert.equal(f.store.lkhLeaves.list(f.group).length, 0);
  assert.equal(f.store.keys.list(f.group, { kind: 'lkh-node' }).filter((k) => k.memberId !== null).length, 10, 'a sealed row per leaf');
  const moved = [...r.groupKeys(f.group)!.keys.tree!.snapshot().pending.moved].sort();
  const old = registrar(f.store);
  await join(old, f.members[0]!, 40);
  assert.deepEqual(treeOf(old, f.group), treeOf(r, f.group));
  assert.deepEqual(keysOf(old, f.group), keysOf(r, f.group), 'the sealed leaf keys are read as before');
  assert.deepEqual([...old.groupKeys(f.group)!.keys.tree!.snapshot().pending.moved].sort(), moved);
  // New members join beside the old leaves (some old ones move down again after a commit).
  await Promise.all(f.members.slice(10).map((m, i) => join(old, m, i + 10)));
  assert.ok(f.store.lkhLeaves.list(f.group).length >= 6, 'the new leaves are derived');
  const again = registrar(f.store);
  await join(again, f.members[1]!, 60);
  assert.deepEqual(treeOf(again, f.group), treeOf(old, f.group));
  assert.deepEqual(keysOf(again, f.group), keysOf(old, f.group));
  assert.equal(again.groupKeys(f.group)!.keys.tree!.size, 16);
});
