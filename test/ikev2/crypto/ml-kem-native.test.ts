/**
 * ML-KEM on OpenSSL's SHA3 (ml-kem-native.ts) against @noble/post-quantum: same ek, ciphertext
 * and shared key for random seeds and messages, same implicit-rejection key for altered
 * ciphertexts, every parameter set. The ACVP / Wycheproof known answers run through
 * ke-mlkem.test.ts, which now uses this implementation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ml_kem512, ml_kem768, ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import { nativeMlKem } from '../../../src/ikev2/crypto/ml-kem-native.ts';

const SETS = [
  [512, ml_kem512, 800, 768],
  [768, ml_kem768, 1184, 1088],
  [1024, ml_kem1024, 1568, 1568],
] as const;

for (const [size, noble, ekLength, ctLength] of SETS) {
  test(`ML-KEM-${size}: native and noble agree on keygen, encapsulation, decapsulation and implicit rejection`, () => {
    const native = nativeMlKem[size];
    assert.equal(native.encapsulationKeyLength, ekLength);
    assert.equal(native.ciphertextLength, ctLength);
    for (let t = 0; t < 20; t++) {
      const seed = randomBytes(64);
      const theirs = noble.keygen(seed);
      const ours = native.keygen(seed);
      assert.ok(ours.encapsulationKey.equals(theirs.publicKey), 'ek');
      const m = randomBytes(32);
      const a = noble.encapsulate(theirs.publicKey, m);
      const b = native.encapsulate(ours.encapsulationKey, m);
      assert.ok(b.ciphertext.equals(a.cipherText), 'ciphertext');
      assert.ok(b.sharedKey.equals(a.sharedSecret), 'K');
      assert.ok(ours.decapsulate(b.ciphertext).equals(b.sharedKey), 'round trip');
      const altered = Buffer.from(b.ciphertext);
      altered[(t * 97) % altered.length]! ^= 1 << t % 8;
      const rejected = ours.decapsulate(altered);
      assert.ok(rejected.equals(noble.decapsulate(altered, theirs.secretKey)), 'implicit rejection K̄ = J(z ‖ c)');
      assert.ok(!rejected.equals(b.sharedKey));
      ours.dispose();
      assert.throws(() => ours.decapsulate(b.ciphertext));
    }
  });
}
