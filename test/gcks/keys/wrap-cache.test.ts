/**
 * Shared registration wraps (src/gcks/keys/wrap-cache.ts): a KD built with the cache is the
 * same bytes as one built without it, wraps under GSK_w are never cached, a rekeyed node
 * (new Buffer) never hits an old entry, and the cache stays within its bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupKeys } from '../../../src/gcks/keys/group-keys.ts';
import { buildKeyDownload, pathWraps, type KeyChannel } from '../../../src/gcks/keys/key-download.ts';
import { KeyTree } from '../../../src/gcks/keys/key-tree.ts';
import { WrapCache } from '../../../src/gcks/keys/wrap-cache.ts';
import { getKeyWrap } from '../../../src/ikev2/crypto/keywrap.ts';
import { KwaId } from '../../../src/ikev2/registry/transform.ts';
import { gcmTemplate, ikeSa, kekTemplate, overTheWire, seededRandom } from './support.ts';

test('KDs with shared wraps are byte-identical to KDs without, for every joiner', () => {
  const random = seededRandom('wrap-cache');
  const keys = new GroupKeys({ rekeySa: kekTemplate(), dataSecurity: [gcmTemplate(1)], random });
  const cache = new WrapCache();
  let cached = 0;
  for (let m = 1; m <= 300; m++) {
    const channel = ikeSa(random);
    const reg = keys.register({ member: m, ikeSa: channel });
    // Rebuild the same KD without a cache from what the tree holds now: same bytes.
    const path = keys.tree!.path(m);
    const wraps = pathWraps(path);
    const rekeySa = keys.pendingRekeySa ?? keys.rekeySa!;
    const kc: KeyChannel = { context: 'registration', kwaId: channel.kwaId, gskW: channel.gskW };
    const content = { rekeySa: { ...rekeySa, under: wraps.rekeySaUnder }, dataSecurity: keys.dataSecurity, member: { wrapKeys: wraps.wrapKeys } };
    const plain = buildKeyDownload(kc, content);
    const withCache = buildKeyDownload(kc, content, cache);
    assert.deepEqual(overTheWire(withCache.kd), overTheWire(plain.kd));
    assert.deepEqual(overTheWire(reg.kd), overTheWire(plain.kd), `member ${m}`);
    assert.equal(withCache.wraps, plain.wraps, 'cached wraps still count');
    cached = cache.hits;
    if (m % 64 === 0) keys.commit(); // new Rekey SA and batch: nothing stale may hit
  }
  assert.ok(cached > 300, `shared wraps were served from the cache (${cached})`);
});

test('entries hit only for the very key Buffers they were made from; GSK_w wraps are not cached', () => {
  const kw = getKeyWrap(KwaId.KW_5649_256);
  const cache = new WrapCache(2);
  const a = Buffer.alloc(32, 1);
  const kek = Buffer.alloc(32, 2);
  let computed = 0;
  const wrap = (p: Buffer, k: Buffer) => cache.wrap(7, p, 9, k, () => (computed++, kw.wrap(k, p)));
  const first = wrap(a, kek);
  assert.equal(wrap(a, kek), first);
  assert.equal(computed, 1);
  const rekeyed = Buffer.from(a); // same Key ID, same bytes, new Buffer: recomputed
  wrap(rekeyed, kek);
  assert.equal(computed, 2);
  cache.wrap(1, a, 2, kek, () => kw.wrap(kek, a));
  cache.wrap(3, a, 4, kek, () => kw.wrap(kek, a));
  assert.equal(cache.size, 2, 'bounded');
  // A channel's GSK_w (KWK ID 0) never goes through the cache.
  const tree = KeyTree.build(Array.from({ length: 20 }, (_, i) => i), { kwaId: KwaId.KW_5649_256, random: seededRandom('t') });
  const path = tree.join('m');
  const c2 = new WrapCache();
  const channel: KeyChannel = { context: 'registration', kwaId: KwaId.KW_5649_256, gskW: Buffer.alloc(32, 5) };
  buildKeyDownload(channel, { member: { wrapKeys: pathWraps(path).wrapKeys } }, c2);
  assert.ok(path.length >= 3);
  assert.equal(c2.size, path.length - 2, 'every wrap but the leaf under GSK_w and its parent under the leaf');
});

test('one entry per KWK: another key under the same KWK replaces it; personal wraps are not kept', () => {
  const kw = getKeyWrap(KwaId.KW_5649_256);
  const cache = new WrapCache();
  const kek = Buffer.alloc(32, 2);
  const p1 = Buffer.alloc(32, 3);
  const p2 = Buffer.alloc(32, 4);
  const w1 = cache.wrap(1, p1, 9, kek, () => kw.wrap(kek, p1));
  const w2 = cache.wrap(2, p2, 9, kek, () => kw.wrap(kek, p2));
  assert.equal(cache.size, 1);
  assert.notDeepEqual(w1, w2);
  assert.deepEqual(cache.wrap(2, p2, 9, kek, () => assert.fail('cached')), w2);
  assert.deepEqual(cache.wrap(1, p1, 9, kek, () => kw.wrap(kek, p1)), w1, 'recomputed, same bytes');
  // The wrap under a joiner's own leaf is personal (only that member could reuse it).
  const random = seededRandom('personal');
  const keys = new GroupKeys({ rekeySa: kekTemplate(), dataSecurity: [gcmTemplate(1)], random });
  for (let m = 1; m <= 40; m++) keys.register({ member: m, ikeSa: ikeSa(random) });
  const path = keys.tree!.path(40);
  const wraps = pathWraps(path).wrapKeys;
  assert.deepEqual(wraps.map((w) => w.personal === true), path.map((_, i) => i === path.length - 2));
  assert.equal(wraps.at(-1)!.under.keyId, 0, 'the leaf under GSK_w');
});
