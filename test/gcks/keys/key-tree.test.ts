/** KeyTree (RFC 9838 App. A, RFC 2627 §5.4): layout, joins, evictions, commits, persistence. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyIdAllocator } from '../../../src/gcks/keys/key-ids.ts';
import { KeyTree, type KeyTreeOptions } from '../../../src/gcks/keys/key-tree.ts';
import { isGkmError, type ErrorCode } from '../../../src/ikev2/errors.ts';
import { KwaId } from '../../../src/ikev2/registry/transform.ts';
import { seededRandom } from './support.ts';

const code = (c: ErrorCode) => (e: unknown) => isGkmError(e, c);
const opts = (seed: string, degree = 2, keyIds = new KeyIdAllocator()): KeyTreeOptions => ({ kwaId: KwaId.KW_5649_256, degree, keyIds, random: seededRandom(seed) });
const pathIds = (tree: KeyTree, m: string) => tree.pathKeyIds(m);

test('build: the App. A tree, Key IDs breadth-first, heap positions, 32-octet node keys', () => {
  const tree = KeyTree.build(['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'], opts('build'));
  assert.equal(tree.size, 8);
  assert.equal(tree.height, 3);
  assert.deepEqual(pathIds(tree, 'A'), [1, 3, 7]);
  assert.deepEqual(pathIds(tree, 'F'), [2, 5, 12]);
  assert.deepEqual(tree.leafOf('H'), { position: 14, keyId: 14 });
  assert.ok(tree.path('C').every((k) => k.key.length === 32));
  assert.equal(tree.hasPendingChanges, false);
  assert.equal(tree.commit(), null);
  const odd = KeyTree.build(['a', 'b', 'c', 'd', 'e'], opts('odd', 4));
  assert.deepEqual(odd.snapshot().nodes.map((n) => n.position), [1, 2, 3, 4, 5, 6], '2+1+1+1 under the root');
});

test('join into an empty tree: slots first, then leaves of committed members are split', () => {
  const tree = new KeyTree(opts('grow', 2));
  tree.join('a');
  tree.join('b');
  assert.equal(tree.canJoin, false, 'only the batch’s joiners are left to split');
  assert.throws(() => tree.join('c'), code('GKM_KEYS_TREE_STATE'));
  const c0 = tree.commit()!;
  assert.deepEqual([c0.rekeySaUnder.length, c0.wrapKeys.length, c0.joined], [0, 0, 2], 'nobody from before needs a message');
  const c = tree.join('c'); // splits a: new KWK above a
  assert.equal(c.length, 2);
  assert.deepEqual(tree.leafOf('a').position, 3, 'a moved one level down');
  const commit = tree.commit()!;
  // The new node is wrapped under a's leaf; the new Rekey SA under it and under b.
  assert.deepEqual(commit.rekeySaUnder.map((k) => k.keyId).sort(), [c[0]!.keyId, tree.leafOf('b').keyId].sort());
  assert.deepEqual(commit.wrapKeys.map((w) => [w.keyId, w.under.keyId]), [[c[0]!.keyId, tree.leafOf('a').keyId]]);
});

test('a burst of joins keeps the tree balanced: a leaf is split at most once per batch', () => {
  for (const degree of [2, 3, 4]) {
    const tree = new KeyTree(opts(`burst-${degree}`, degree));
    let commits = 0;
    for (let i = 0; i < 1000; i++) {
      if (!tree.canJoin) {
        tree.commit();
        commits++;
      }
      tree.join(`m${i}`);
    }
    tree.commit();
    assert.ok(tree.height <= Math.ceil(Math.log(1000) / Math.log(degree)) + 1, `degree ${degree}: height ${tree.height}`);
    assert.ok(commits <= Math.ceil(Math.log(1000) / Math.log(degree)) + 2, `degree ${degree}: ${commits} forced commits`);
  }
});

test('evict: empty inner nodes go away, one-child nodes stay as slots, the path gets new Key IDs top-down', () => {
  const keyIds = new KeyIdAllocator();
  const tree = KeyTree.build(['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'], opts('evict', 2, keyIds));
  tree.evict('F');
  assert.deepEqual(pathIds(tree, 'E'), [15, 16, 11]);
  tree.evict('E'); // node 5 (16) is now empty and removed; node 2 (15) is already new in this batch
  assert.deepEqual(pathIds(tree, 'G'), [15, 6, 13]);
  const commit = tree.commit()!;
  assert.deepEqual(commit.wrapKeys.map((w) => [w.keyId, w.under.keyId]), [[15, 6]]);
  assert.deepEqual(commit.rekeySaUnder.map((k) => k.keyId), [1, 15]);
  assert.equal(commit.evicted, 2);
  tree.join('I'); // takes the freed slot under node 2 (depth 2) rather than splitting a depth-3 leaf
  assert.deepEqual(tree.leafOf('I').position, 5);
  assert.equal(tree.height, 3);
  assert.throws(() => tree.evict('E'), code('GKM_KEYS_UNKNOWN_MEMBER'));
  assert.throws(() => tree.join('A'), code('GKM_KEYS_TREE_STATE'));
  assert.throws(() => tree.evict('I'), code('GKM_KEYS_TREE_STATE'), 'I holds keys of the pending batch');
});

test('Key IDs are never reused over many joins and evictions', () => {
  const tree = new KeyTree(opts('ids', 3));
  const retired = new Set<number>();
  for (let round = 0; round < 30; round++) {
    for (let i = 0; i < 5; i++) if (tree.canJoin) tree.join(`m${round}-${i}`);
    tree.commit();
    for (const m of [...tree.members()].slice(0, 2)) tree.evict(m);
    tree.commit();
    const changes = tree.takeChanges();
    for (const u of changes.upserts) assert.ok(!retired.has(u.keyId), `Key ID ${u.keyId} reused`);
    for (const id of changes.retiredKeyIds) retired.add(id);
  }
  assert.ok(tree.size > 0 && retired.size > 100);
  for (const n of tree.snapshot().nodes) assert.ok(!retired.has(n.keyId));
});

test('snapshot/restore: same paths, same pending batch, same commit', () => {
  const keyIds = new KeyIdAllocator();
  const tree = KeyTree.build(Array.from({ length: 20 }, (_, i) => `m${i}`), opts('snap', 4, keyIds));
  tree.evict('m3');
  tree.join('new');
  const snap = tree.snapshot();
  const restored = KeyTree.restore(snap, { keyIds: new KeyIdAllocator(keyIds.snapshot()), random: seededRandom('other') });
  assert.deepEqual(restored.snapshot(), snap);
  for (const m of tree.members()) assert.deepEqual(restored.path(m), tree.path(m));
  assert.equal(restored.isFresh('new'), true);
  assert.deepEqual(restored.commit(), tree.commit());
  assert.throws(() => KeyTree.restore(snap, { keyIds: new KeyIdAllocator() }), code('GKM_KEYS_BAD_INPUT'), 'Key ID allocator behind the tree');
  const orphan = { ...snap, nodes: snap.nodes.filter((n) => n.position !== 1) };
  assert.throws(() => KeyTree.restore(orphan, { keyIds: new KeyIdAllocator(keyIds.snapshot()) }), code('GKM_KEYS_BAD_INPUT'));
  const shortKey = { ...snap, nodes: snap.nodes.map((n, i) => (i === 0 ? { ...n, key: n.key.subarray(1) } : n)) };
  assert.throws(() => KeyTree.restore(shortKey, { keyIds: new KeyIdAllocator(keyIds.snapshot()) }), code('GKM_KEYS_BAD_INPUT'));
});

test('takeChanges: new and moved nodes, retired Key IDs, for incremental persistence', () => {
  const tree = KeyTree.build(['A', 'B', 'C', 'D'], opts('changes'));
  assert.equal(tree.takeChanges().upserts.length, 6);
  tree.evict('D');
  const evict = tree.takeChanges();
  assert.deepEqual([...evict.retiredKeyIds].sort((a, b) => a - b), [2, 6], 'D’s leaf (6) and its parent’s old key (2)');
  assert.deepEqual(evict.upserts.map((u) => [u.position, u.keyId]), [[2, 7]]);
  tree.commit();
  tree.join('E'); // the vacancy under node 2 at depth 1
  const join = tree.takeChanges();
  assert.deepEqual(join.upserts.map((u) => u.member ?? 'inner'), ['inner', 'E']);
});

test('options and wipe', () => {
  assert.throws(() => new KeyTree({ kwaId: KwaId.KW_5649_256, degree: 1 }), code('GKM_KEYS_BAD_INPUT'));
  assert.throws(() => new KeyTree({ kwaId: 99 }), code('GKM_CRYPTO_UNSUPPORTED'));
  assert.equal(new KeyTree({ kwaId: KwaId.KW_5649_128 }).keyLength, 16);
  const tree = KeyTree.build(['A', 'B'], opts('wipe'));
  const key = tree.path('A')[0]!.key;
  tree.wipe();
  assert.ok(key.every((b) => b === 0));
});
