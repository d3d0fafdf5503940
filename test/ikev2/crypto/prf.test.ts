import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { ikeNativeCrypto } from '../../../src/ikev2/crypto/native.ts';
import { createHmacPrf, getPrf, prfPlus } from '../../../src/ikev2/crypto/prf.ts';
import { PrfId } from '../../../src/ikev2/registry/transform.ts';
import { isGkmError } from '../../../src/ikev2/errors.ts';
import { hex, loadVectors, type WycheproofFile } from './vectors.ts';

interface Rfc4868 {
  prf: { case: string; prfId: number; key: string; data: string; out: string }[];
}
interface PrfPlusVector {
  prfId: number;
  key: string;
  seed: string;
  chunks: string[];
  maxBlocks: number;
}

const rfc4868 = loadVectors<Rfc4868>('rfc4868-hmac-sha2.json');

test('RFC 4868 §2.7.1 PRF test cases (HMAC-SHA-256/384/512)', () => {
  assert.equal(rfc4868.prf.length, 15);
  for (const v of rfc4868.prf) {
    assert.equal(getPrf(v.prfId).compute(hex(v.key), hex(v.data)).toString('hex'), v.out, `${v.case} prf ${v.prfId}`);
  }
});

test('PRF metadata: preferred key size = output size (RFC 7296 §2.13)', () => {
  for (const [id, len] of [
    [PrfId.HMAC_SHA2_256, 32],
    [PrfId.HMAC_SHA2_384, 48],
    [PrfId.HMAC_SHA2_512, 64],
  ] as const) {
    const prf = getPrf(id);
    assert.equal(prf.id, id);
    assert.equal(prf.keyLength, len);
    assert.equal(prf.outputLength, len);
  }
});

test('compute() over parts equals compute() over the concatenation', () => {
  const prf = getPrf(PrfId.HMAC_SHA2_384);
  const key = Buffer.from('k');
  const parts = [Buffer.from('ab'), Buffer.alloc(0), Buffer.from('cdef')];
  assert.deepEqual(prf.compute(key, parts), prf.compute(key, Buffer.concat(parts)));
});

test('getPrf refuses other PRFs with GKM_CRYPTO_UNSUPPORTED', () => {
  for (const id of [PrfId.HMAC_MD5, PrfId.HMAC_SHA1, PrfId.AES128_XCBC, PrfId.AES128_CMAC, 0, 99]) {
    assert.throws(() => getPrf(id), (e) => isGkmError(e, 'GKM_CRYPTO_UNSUPPORTED'));
  }
});

test('prf+ known answer (strongSwan test_prf_plus.c, HMAC-SHA-256): every prefix', () => {
  const v = loadVectors<PrfPlusVector>('prf-plus-hmac-sha256.json');
  const prf = getPrf(v.prfId);
  const full = v.chunks.join('');
  let length = 0;
  for (const chunk of v.chunks) {
    length += chunk.length / 2;
    assert.equal(prfPlus(prf, hex(v.key), hex(v.seed), length).toString('hex'), full.slice(0, 2 * length));
  }
  assert.equal(length, 122);
});

test('prf+ follows RFC 7296 §2.13 for each PRF (T1 = prf(K, S|1), Tn = prf(K, Tn-1|S|n))', () => {
  for (const id of [PrfId.HMAC_SHA2_256, PrfId.HMAC_SHA2_384, PrfId.HMAC_SHA2_512]) {
    const prf = getPrf(id);
    const key = Buffer.alloc(prf.keyLength, 7);
    const seed = Buffer.from('seed octets');
    const hash = ['sha256', 'sha384', 'sha512'][id - PrfId.HMAC_SHA2_256]!;
    let t = Buffer.alloc(0);
    const blocks: Buffer[] = [];
    for (let n = 1; n <= 3; n++) {
      t = createHmac(hash, key).update(t).update(seed).update(Buffer.of(n)).digest();
      blocks.push(t);
    }
    const expected = Buffer.concat(blocks).subarray(0, 3 * prf.outputLength - 5);
    assert.deepEqual(prfPlus(prf, key, [seed.subarray(0, 4), seed.subarray(4)], expected.length), expected);
  }
});

test('prf+ produces up to 255 blocks and refuses more (RFC 7296 §2.13)', () => {
  const prf = getPrf(PrfId.HMAC_SHA2_256);
  const key = Buffer.alloc(20, 0x0b);
  assert.equal(prfPlus(prf, key, Buffer.from('Hi There'), 255 * 32).length, 255 * 32);
  assert.equal(prfPlus(prf, key, Buffer.from('x'), 0).length, 0);
  for (const bad of [255 * 32 + 1, -1, 1.5]) {
    assert.throws(
      () => prfPlus(prf, key, Buffer.from('Hi There'), bad),
      (e) => isGkmError(e, 'GKM_CRYPTO_BAD_KEY_LENGTH'),
    );
  }
});

test('Wycheproof HMAC-SHA256, 256-bit tags, through PRF_HMAC_SHA2_256', () => {
  const file = loadVectors<WycheproofFile>('wycheproof-hmac-sha256.json');
  const prf = getPrf(PrfId.HMAC_SHA2_256);
  const group = file.testGroups.find((g) => g.tagSize === 256)!;
  let valid = 0;
  let invalid = 0;
  for (const t of group.tests) {
    const match = prf.compute(hex(t.key), hex(t.msg)).equals(hex(t.tag));
    assert.equal(match, t.result === 'valid', `tcId ${t.tcId}`);
    if (match) valid++;
    else invalid++;
  }
  assert.ok(valid >= 20 && invalid >= 20);
});

// --- the native addon's HMAC / prf+ against node:crypto's ----------------------------------------

const native = ikeNativeCrypto();

test('native HMAC and prf+ equal node:crypto: SHA-1/256/384/512, short and long keys, parts, lengths', { skip: !native && 'addon not loaded' }, () => {
  const hashes = [['sha1', 20], ['sha256', 32], ['sha384', 48], ['sha512', 64]] as const;
  for (const [hash, size] of hashes) {
    const a = createHmacPrf(1000, hash, size, size, native!);
    const b = createHmacPrf(1000, hash, size, size, null);
    assert.ok(a.expand && !b.expand);
    // Keys shorter than, equal to and longer than the block (hashed first, RFC 2104 §2).
    for (const keyLength of [0, 1, 20, 64, 65, 128, 129, 300]) {
      const key = randomBytes(keyLength);
      for (const data of [Buffer.alloc(0), randomBytes(1), randomBytes(64), randomBytes(1500)]) {
        assert.deepEqual(a.compute(key, data), b.compute(key, data), `${hash} key ${keyLength} data ${data.length}`);
      }
      // More parts than one addon call takes are concatenated first.
      const parts = Array.from({ length: 20 }, (_, i) => randomBytes(i));
      for (const n of [0, 1, 2, 13, 14, 15, 16, 17, 20]) {
        assert.deepEqual(a.compute(key, parts.slice(0, n)), b.compute(key, parts.slice(0, n)), `${hash} ${n} parts`);
      }
      for (const length of [0, 1, size - 1, size, size + 1, 3 * size + 5, 255 * size]) {
        const seed = [randomBytes(32), randomBytes(32), randomBytes(8), randomBytes(8)];
        assert.deepEqual(prfPlus(a, key, seed, length), prfPlus(b, key, seed, length), `${hash} prf+ ${length}`);
      }
    }
    assert.throws(() => prfPlus(a, randomBytes(32), randomBytes(8), 255 * size + 1), (e) => isGkmError(e, 'GKM_CRYPTO_BAD_KEY_LENGTH'));
  }
});

test('getPrf uses the native addon when it is loaded (CI: GKM_REQUIRE_NATIVE=1)', () => {
  const required = process.env['GKM_REQUIRE_NATIVE'] === '1' || process.env['CI'] !== undefined;
  if (required) assert.ok(native, 'the addon (with its IKE functions) did not load');
  assert.equal(getPrf(PrfId.HMAC_SHA2_256).expand !== undefined, native !== undefined);
});
