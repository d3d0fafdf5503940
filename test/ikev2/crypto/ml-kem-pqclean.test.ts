/**
 * ML-KEM through PQClean (ml-kem-pqclean.ts) against the vectors and against ml-kem-native.ts
 * / @noble/post-quantum: both directions of every parameter set, implicit rejection, and the
 * fallback when the addon is turned off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { ml_kem512, ml_kem768, ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import { mlKem } from '../../../src/ikev2/crypto/ke-mlkem.ts';
import { nativeMlKem } from '../../../src/ikev2/crypto/ml-kem-native.ts';
import { pqcleanMlKem } from '../../../src/ikev2/crypto/ml-kem-pqclean.ts';
import { isGkmError } from '../../../src/ikev2/errors.ts';

const vectors = JSON.parse(readFileSync(new URL('../../vectors/mlkem.json', import.meta.url), 'utf8'));
const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const NOBLE = { 512: ml_kem512, 768: ml_kem768, 1024: ml_kem1024 } as const;
const BY_METHOD: Record<number, 512 | 768 | 1024> = { 35: 512, 36: 768, 37: 1024 };
const SIZES = [512, 768, 1024] as const;

// npm ci builds the addon (package.json allowScripts); without it the product still works on
// ml-kem-native.ts, but this suite exists to check the fast path, so its absence is a failure.
const pq = pqcleanMlKem;
test('the PQClean addon is installed and loaded', () => {
  assert.ok(pq, 'pqclean did not load: run npm ci (it builds the addon), or GKM_PQCLEAN=0 is set');
});

test('decapsulation known answers (Wycheproof, incl. implicit rejection) with dk from the seed', { skip: !pq && 'pqclean not loaded (see the test above)' }, () => {
  for (const v of vectors.decaps) {
    const size = BY_METHOD[v.method]!;
    const dk = NOBLE[size].keygen(hex(v.seed)).secretKey;
    assert.equal(pq![size].decapsulateWith(dk, hex(v.c)).toString('hex'), v.K, `${v.parameterSet} tcId ${v.tcId}`);
  }
});

for (const size of SIZES) {
  test(`ML-KEM-${size}: PQClean and ml-kem-native.ts interoperate both ways, implicit rejection agrees`, { skip: !pq && 'pqclean not loaded' }, () => {
    const fast = pq![size];
    const slow = nativeMlKem[size];
    for (let i = 0; i < 10; i++) {
      // PQClean key pair, ml-kem-native encapsulation.
      const ours = fast.keygen();
      assert.equal(ours.encapsulationKey.length, slow.encapsulationKeyLength);
      const a = slow.encapsulate(ours.encapsulationKey, randomBytes(32));
      assert.equal(a.ciphertext.length, slow.ciphertextLength);
      assert.ok(ours.decapsulate(a.ciphertext).equals(a.sharedKey));
      ours.dispose();
      assert.throws(() => ours.decapsulate(a.ciphertext), (e: unknown) => isGkmError(e, 'GKM_CRYPTO_INTERNAL'));

      // ml-kem-native key pair, PQClean encapsulation.
      const seed = randomBytes(64);
      const theirs = slow.keygen(seed);
      const b = fast.encapsulate(theirs.encapsulationKey);
      assert.ok(theirs.decapsulate(b.ciphertext).equals(b.sharedKey));

      // A altered ciphertext: both give the same implicit-rejection key K̄ = J(z ‖ c).
      const altered = Buffer.from(b.ciphertext);
      altered[i % altered.length]! ^= 0x01;
      const dk = NOBLE[size].keygen(seed).secretKey;
      const rejected = fast.decapsulateWith(dk, altered);
      assert.ok(rejected.equals(theirs.decapsulate(altered)));
      assert.ok(!rejected.equals(b.sharedKey));
      theirs.dispose();
    }
  });
}

test('MlKem: fresh operations round trip; known-answer inputs still give the vectors', () => {
  for (const size of SIZES) {
    const pair = mlKem[size].keygen();
    const { ciphertext, sharedKey } = mlKem[size].encapsulate(pair.encapsulationKey);
    assert.ok(pair.decapsulate(ciphertext).equals(sharedKey));
    pair.dispose();
  }
  for (const v of vectors.acvpEncap) {
    const r = mlKem[BY_METHOD[v.method]!].encapsulate(hex(v.ek), hex(v.m));
    assert.equal(r.ciphertext.toString('hex'), v.c);
    assert.equal(r.sharedKey.toString('hex'), v.k);
  }
});

test('GKM_PQCLEAN=0 falls back to ml-kem-native.ts', () => {
  const script = [
    "const { pqcleanMlKem } = await import('./src/ikev2/crypto/ml-kem-pqclean.ts');",
    "const { mlKem } = await import('./src/ikev2/crypto/ke-mlkem.ts');",
    'const p = mlKem[768].keygen(); const r = mlKem[768].encapsulate(p.encapsulationKey);',
    'console.log(JSON.stringify({ loaded: pqcleanMlKem !== undefined, ok: p.decapsulate(r.ciphertext).equals(r.sharedKey) }));',
  ].join('\n');
  const root = new URL('../../../', import.meta.url).pathname;
  const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env: { ...process.env, GKM_PQCLEAN: '0' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(out.status, 0, out.stderr);
  assert.deepEqual(JSON.parse(out.stdout.trim().split('\n').at(-1)!), { loaded: false, ok: true });
});
