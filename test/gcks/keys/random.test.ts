import { test } from 'node:test';
import assert from 'node:assert/strict';
import { secureRandom } from '../../../src/gcks/keys/random.ts';
import { KeyTree } from '../../../src/gcks/keys/key-tree.ts';
import { KwaId } from '../../../src/ikev2/registry/transform.ts';

test('secureRandom: fresh octets in allocations of their own, never handed out twice', () => {
  const seen = new Set<string>();
  let total = 0;
  // Enough draws to cross several 4 KiB pool refills, at the sizes the GCKS draws.
  for (let i = 0; i < 3000; i++) {
    for (const n of [32, 16, 24, 4, 36]) {
      const b = secureRandom(n);
      assert.equal(b.length, n);
      assert.equal(b.byteOffset, 0, 'not a view into a pool');
      assert.equal(b.buffer.byteLength, n, 'an allocation of its own');
      if (n >= 16) {
        const h = b.toString('hex');
        assert.ok(!seen.has(h), 'a value came twice');
        seen.add(h);
      }
      total += n;
    }
  }
  assert.ok(total > 10 * 4096);
  // Large requests are served too (straight from the CSPRNG).
  assert.equal(secureRandom(5000).length, 5000);
});

test('key tree keys drawn from the pool are distinct and independent of each other', () => {
  const tree = KeyTree.build([], { kwaId: KwaId.KW_5649_256 });
  const keys = new Set<string>();
  for (let m = 0; m < 500; m++) {
    if (!tree.canJoin) tree.commit();
    for (const k of tree.join(m)) keys.add(`${k.keyId}:${k.key.toString('hex')}`);
  }
  const byKey = new Map<string, number>();
  for (const e of keys) {
    const [id, key] = e.split(':') as [string, string];
    assert.notEqual(key, '0'.repeat(64));
    const other = byKey.get(key);
    assert.ok(other === undefined || String(other) === id, `Key IDs ${other} and ${id} share a key`);
    byKey.set(key, Number(id));
  }
});
