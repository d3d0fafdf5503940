/**
 * X25519/X448 shared secrets derived ahead on the key-pair pool's worker (keypair-pool.ts
 * deriveAhead, ke-dh.ts deriveLater, ke.ts respondKeLater, xdh-low-order.ts):
 * - the low-order list is exactly the set of peer values with an all-zero secret (every
 *   Wycheproof X25519 case, each listed value against the addon; the list's derivation is in
 *   xdh-low-order.ts and matches test/ikev2/crypto/ke-dh.test.ts), so a responder still refuses
 *   them at once;
 * - the worker's secret equals the synchronous one; a take() before it has arrived, a failed
 *   worker or derive ahead turned off derive synchronously; nothing is handed out twice;
 *   cancel() and dispose() leave nothing behind;
 * - an IKE SA with pending keys derives them on first use, and a SA closed first never does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { KeyPairPool } from '../../../src/ikev2/crypto/keypair-pool.ts';
import { ikeNativeCrypto, nativeAddonPath } from '../../../src/ikev2/crypto/native.ts';
import { nativeXdhGroup, type DeferredSecret, type DeriveAhead, type DhKeyPair, type XdhCurveName } from '../../../src/ikev2/crypto/ke-dh.ts';
import { createInitiatorKe, respondKeLater } from '../../../src/ikev2/crypto/ke.ts';
import { isLowOrder, lowOrderValues } from '../../../src/ikev2/crypto/xdh-low-order.ts';
import { isGkmError } from '../../../src/ikev2/errors.ts';
import { KeId, PrfId } from '../../../src/ikev2/registry/transform.ts';
import { getPrf } from '../../../src/ikev2/crypto/prf.ts';
import { deriveInitialIkeKeys, ikeKeymatLength, splitIkeKeys } from '../../../src/ikev2/crypto/keys.ts';

const native = ikeNativeCrypto();
const skip = !native && 'the native addon is not loaded (node scripts/build-native.mjs)';
const SIZE = { x25519: 32, x448: 56 } as const;
const CURVE_ID = { x25519: 25519, x448: 448 } as const;
const isInvalidKe = (e: unknown): boolean => isGkmError(e) && e.code === 'GKM_CRYPTO_INVALID_KE';

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function aheadOf(pool: KeyPairPool): DeriveAhead {
  return { addon: nativeAddonPath(), start: (recipe, privateKey, peer, kdf) => pool.deriveAhead(recipe, privateKey, peer, kdf) };
}

test('X25519: the low-order list agrees with every Wycheproof case (all-zero secret iff listed)', () => {
  const file = JSON.parse(readFileSync(new URL('../../vectors/wycheproof-x25519.json', import.meta.url), 'utf8')) as { tests: { tcId: number; public: string; shared: string }[] };
  let zero = 0;
  for (const t of file.tests) {
    const pub = Buffer.from(t.public, 'hex');
    if (pub.length !== 32) continue;
    const allZero = /^0+$/.test(t.shared);
    if (allZero) zero++;
    assert.equal(isLowOrder('x25519', pub), allZero, `tcId ${t.tcId}`);
  }
  assert.ok(zero >= 1, `${zero} all-zero cases`);
});

test('every low-order value gives an all-zero secret on the addon (bit 255 masked for X25519); random values are not on the list', { skip }, () => {
  for (const curve of ['x25519', 'x448'] as const) {
    const group = nativeXdhGroup(curve, native!);
    const values = lowOrderValues(curve);
    assert.equal(values.length, curve === 'x25519' ? 7 : 5);
    for (const u of values) {
      const forms = curve === 'x25519' ? [u, Buffer.from(u.map((b, i) => (i === 31 ? b | 0x80 : b)))] : [u];
      for (const form of forms) {
        assert.equal(isLowOrder(curve, form), true);
        const pair = group.generate();
        assert.throws(() => pair.derive(form), isInvalidKe, `${curve} ${form.toString('hex')}`);
        pair.dispose();
      }
    }
    for (let i = 0; i < 200; i++) assert.equal(isLowOrder(curve, randomBytes(SIZE[curve])), false);
    assert.equal(isLowOrder(curve, Buffer.alloc(SIZE[curve] - 1)), false, 'wrong length: not on the list');
  }
});

for (const curve of ['x25519', 'x448'] as const satisfies readonly XdhCurveName[]) {
  test(`${curve}: secrets derived ahead on the worker equal the synchronous ones and are taken once`, { skip }, async () => {
    const pool = new KeyPairPool({ deriveAhead: true });
    try {
      const group = nativeXdhGroup(curve, native!, undefined, aheadOf(pool));
      const peers = Array.from({ length: 40 }, () => nativeXdhGroup(curve, native!).generate());
      const deferred = peers.map((peer) => {
        const pair = group.generate();
        return { pair, peer, secret: pair.deriveLater!(peer.publicData) };
      });
      await until(() => pool.stats().worker === 'running');
      await new Promise((r) => setTimeout(r, 300)); // the batch goes out after its window and comes back
      for (const { pair, peer, secret } of deferred) {
        const got = secret.take();
        assert.deepEqual(got, peer.derive(pair.publicData));
        assert.throws(() => secret.take(), /already/);
        assert.throws(() => pair.derive(peer.publicData), /disposed/, 'take() disposed the pair');
      }
      const { ahead, fallback } = pool.stats().derive;
      assert.equal(ahead + fallback, 40);
      assert.ok(ahead >= 30, `${ahead} of 40 from the worker`);
    } finally {
      await pool.close();
    }
  });
}

/** One X25519 secret deferred on a fresh pool (closed afterwards). */
async function withDeferred(fn: (d: { pool: KeyPairPool; secret: DeferredSecret; pair: DhKeyPair; peer: DhKeyPair }) => Promise<void>): Promise<void> {
  const pool = new KeyPairPool({ deriveAhead: true });
  try {
    const peer = nativeXdhGroup('x25519', native!).generate();
    const pair = nativeXdhGroup('x25519', native!, undefined, aheadOf(pool)).generate();
    await fn({ pool, pair, peer, secret: pair.deriveLater!(peer.publicData) });
  } finally {
    await pool.close();
  }
}

test('a take() before the worker answered derives synchronously; the late secret is wiped, not handed out', { skip }, () =>
  withDeferred(async ({ pool, pair, peer, secret }) => {
    const early = secret.take(); // still queued: the window has not even passed
    assert.deepEqual(early, peer.derive(pair.publicData));
    assert.deepEqual(pool.stats().derive, { ahead: 0, fallback: 1 });
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(pool.stats().derive, { ahead: 0, fallback: 1 });
  }));

test('dispose() before take() cancels: nothing is derived on the event loop and the pair is gone', { skip }, () =>
  withDeferred(async ({ pool, pair, peer, secret }) => {
    secret.dispose();
    secret.dispose(); // idempotent
    assert.throws(() => secret.take(), /disposed/);
    assert.throws(() => pair.derive(peer.publicData), /disposed/);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(pool.stats().derive, { ahead: 0, fallback: 0 });
  }));

test('low-order and wrong-length peer values are refused at once, before any work is queued', { skip }, async () => {
  const pool = new KeyPairPool({ deriveAhead: true });
  try {
    const group = nativeXdhGroup('x25519', native!, undefined, aheadOf(pool));
    for (const bad of [...lowOrderValues('x25519'), Buffer.alloc(31)]) {
      const pair = group.generate();
      assert.throws(() => pair.deriveLater!(bad), isInvalidKe);
      pair.dispose();
    }
    assert.equal(pool.stats().worker, 'not started');
  } finally {
    await pool.close();
  }
});

test('derive ahead off (the default), a closed pool or a failed worker: secrets are derived synchronously', { skip }, async () => {
  const peer = nativeXdhGroup('x25519', native!).generate();
  const check = (pool: KeyPairPool): void => {
    const pair = nativeXdhGroup('x25519', native!, undefined, aheadOf(pool)).generate();
    const expected = peer.derive(pair.publicData);
    assert.deepEqual(pair.deriveLater!(peer.publicData).take(), expected);
  };
  const off = new KeyPairPool();
  check(off);
  assert.equal(off.stats().worker, 'not started');
  await off.close();

  const closed = new KeyPairPool({ deriveAhead: true });
  await closed.close();
  check(closed);

  const warnings: string[] = [];
  const failing = new KeyPairPool({ deriveAhead: true, workerUrl: new URL('data:text/javascript,throw new Error("boom")'), warn: (m) => warnings.push(m) });
  const pair = nativeXdhGroup('x25519', native!, undefined, aheadOf(failing)).generate();
  const secret = pair.deriveLater!(peer.publicData);
  const expected = peer.derive(pair.publicData);
  await until(() => failing.stats().worker === 'failed');
  assert.deepEqual(secret.take(), expected);
  assert.equal(warnings.length, 1);
  check(failing);
  await failing.close();
});

test('respondKeLater: X25519 secret matches the initiator, low-order KE throws GKM_CRYPTO_INVALID_KE; other methods answer at once', () => {
  for (const method of [KeId.CURVE25519, KeId.CURVE448, KeId.ECP256, KeId.MODP2048, KeId.ML_KEM_768]) {
    const initiator = createInitiatorKe(method);
    const r = respondKeLater(method, initiator.publicData());
    assert.deepEqual(r.secret.take(), initiator.complete(r.publicData), `method ${method}`);
  }
  assert.throws(() => respondKeLater(KeId.CURVE25519, Buffer.alloc(32)), isInvalidKe);
  assert.throws(() => respondKeLater(KeId.CURVE25519, Buffer.alloc(33)), isInvalidKe);
  const r = respondKeLater(KeId.ECP256, createInitiatorKe(KeId.ECP256).publicData());
  r.secret.dispose();
  assert.throws(() => r.secret.take(), /already taken/);
});

test('deriveAhead refuses inputs of the wrong length (nothing queued)', { skip }, async () => {
  const pool = new KeyPairPool({ deriveAhead: true });
  try {
    const ahead = pool.deriveAhead({ addon: nativeAddonPath(), curve: CURVE_ID.x25519, size: 32 }, Buffer.alloc(31), Buffer.alloc(32));
    assert.equal(ahead, undefined, 'inputs of the wrong length are not queued');
  } finally {
    await pool.close();
  }
});

test('with a SecretKdf the worker returns RFC 7296 §2.14 SKEYSEED/SK_* key material, equal to the TypeScript derivation, also when taken before the worker answered', { skip }, async () => {
  const pool = new KeyPairPool({ deriveAhead: true });
  try {
    const prf = getPrf(PrfId.HMAC_SHA2_256);
    const sizes = { prf: 32, integ: 0, encr: 36 };
    const length = ikeKeymatLength(sizes);
    const group = nativeXdhGroup('x25519', native!, undefined, aheadOf(pool));
    const runs = Array.from({ length: 20 }, () => {
      const peer = nativeXdhGroup('x25519', native!).generate();
      const pair = group.generate();
      const [ni, nr, spiI, spiR] = [randomBytes(32), randomBytes(32), randomBytes(8), randomBytes(8)];
      const expected = deriveInitialIkeKeys(prf, ni, nr, peer.derive(pair.publicData), spiI, spiR, sizes);
      const key = Buffer.concat([ni, nr]);
      const secret = pair.deriveLater!(peer.publicData, { hash: prf.nativeHash!, digestSize: prf.outputLength, length, key, seed: Buffer.concat([key, spiI, spiR]) });
      assert.equal(secret.derivedKeys, true);
      return { expected, secret };
    });
    runs[0]!.secret.dispose(); // one cancelled: its output is wiped, the others unaffected
    await new Promise((r) => setTimeout(r, 300));
    for (const { expected, secret } of runs.slice(1)) assert.deepEqual(splitIkeKeys(secret.take(), sizes), expected);
    // and synchronously, when taken before the worker answered
    const peer = nativeXdhGroup('x25519', native!).generate();
    const pair = group.generate();
    const key = Buffer.concat([randomBytes(32), randomBytes(32)]);
    const seed = Buffer.concat([key, randomBytes(16)]);
    const expected = deriveInitialIkeKeys(prf, key.subarray(0, 32), key.subarray(32), peer.derive(pair.publicData), seed.subarray(64, 72), seed.subarray(72), sizes);
    assert.deepEqual(splitIkeKeys(pair.deriveLater!(peer.publicData, { hash: prf.nativeHash!, digestSize: 32, length, key, seed }).take(), sizes), expected);
    assert.ok(pool.stats().derive.ahead >= 15, JSON.stringify(pool.stats()));
  } finally {
    await pool.close();
  }
});

test('useDeriveAhead turns it on and off for a pool (the GCKS turns it on)', { skip }, async () => {
  const pool = new KeyPairPool();
  try {
    const recipe = { addon: nativeAddonPath(), curve: CURVE_ID.x25519, size: 32 } as const;
    assert.equal(pool.deriveAhead(recipe, randomBytes(32), randomBytes(32)), undefined, 'off by default');
    pool.useDeriveAhead(true);
    const job = pool.deriveAhead(recipe, randomBytes(32), randomBytes(32));
    assert.ok(job);
    job.cancel();
    pool.useDeriveAhead(false);
    assert.equal(pool.deriveAhead(recipe, randomBytes(32), randomBytes(32)), undefined);
  } finally {
    await pool.close();
  }
});
