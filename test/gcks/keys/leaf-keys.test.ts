/** LKH leaf keys derived from a group secret and the Key ID (src/gcks/keys/leaf-keys.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { derivedLeafKeys, KeyTree, LEAF_SECRET_LENGTH } from '../../../src/gcks/keys/index.ts';
import { KwaId } from '../../../src/ikev2/registry/index.ts';

/** The construction written out with node:crypto, independently of the module. */
const reference = (secret: Buffer, keyId: number, length: number): Buffer => {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(keyId);
  return createHmac('sha256', secret).update('gkm-ikev2 LKH leaf').update(id).digest().subarray(0, length);
};

test('a leaf key is the first L octets of HMAC-SHA-256(secret, label | Key ID) for L = 16, 24, 32', () => {
  const secret = Buffer.alloc(32, 0x2a);
  const leaf = derivedLeafKeys(secret);
  for (const length of [16, 24, 32]) {
    for (const keyId of [1, 2, 255, 0x10000, 0xffffffff]) assert.deepEqual(leaf(keyId, length), reference(secret, keyId, length), `Key ID ${keyId}, ${length} octets`);
  }
  // The label's octets spelled out, so that a change of the construction cannot pass unnoticed.
  assert.equal(leaf(1, 32).toString('hex'), reference(secret, 1, 32).toString('hex'));
  assert.equal(leaf(1, 16).toString('hex'), createHmac('sha256', secret).update(Buffer.from('676b6d2d696b657632204c4b48206c65616600000001', 'hex')).digest('hex').slice(0, 32));
});

test('distinct Key IDs and distinct group secrets give distinct keys; each key has an allocation of its own', () => {
  const a = derivedLeafKeys(randomBytes(32));
  const b = derivedLeafKeys(randomBytes(32));
  const seen = new Set<string>();
  for (let id = 1; id <= 2000; id++) seen.add(a(id, 16).toString('hex'));
  assert.equal(seen.size, 2000);
  assert.notDeepEqual(a(7, 32), b(7, 32));
  const k = a(7, 16);
  assert.equal(k.byteOffset, 0);
  assert.equal(k.buffer.byteLength, 16, 'not a view into a shared pool or a longer digest');
});

test('bad input is refused: secret size, Key ID 0 or beyond 32 bits, key length', () => {
  assert.throws(() => derivedLeafKeys(randomBytes(16)), { code: 'GKM_KEYS_BAD_INPUT' });
  const leaf = derivedLeafKeys(randomBytes(LEAF_SECRET_LENGTH));
  for (const id of [0, -1, 1.5, 2 ** 32]) assert.throws(() => leaf(id, 16), { code: 'GKM_KEYS_BAD_INPUT' }, String(id));
  for (const length of [0, 33]) assert.throws(() => leaf(1, length), { code: 'GKM_KEYS_BAD_INPUT' }, String(length));
});

test('a key tree with derived leaf keys: every leaf key is derived from its Key ID, inner keys are not', () => {
  const leaf = derivedLeafKeys(randomBytes(32));
  const tree = new KeyTree({ kwaId: KwaId.KW_5649_128, degree: 2, leafKeys: leaf });
  assert.equal(tree.derivesLeafKeys, true);
  for (let m = 1; m <= 9; m++) {
    if (!tree.canJoin) tree.commit();
    tree.join(m);
  }
  const nodes = tree.snapshot().nodes;
  const leaves = nodes.filter((n) => n.member !== undefined);
  assert.equal(leaves.length, 9);
  for (const n of leaves) assert.deepEqual(n.key, leaf(n.keyId, 16), `leaf of member ${String(n.member)}`);
  for (const n of nodes.filter((x) => x.member === undefined)) assert.notDeepEqual(n.key, leaf(n.keyId, 16), `inner node ${n.position} is random`);
  assert.equal(new KeyTree({ kwaId: KwaId.KW_5649_128 }).derivesLeafKeys, false);
});
