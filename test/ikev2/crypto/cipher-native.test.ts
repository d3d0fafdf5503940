/**
 * The SK AEADs on both providers (native addon, node:crypto): RFC 7634 A.1/A.2 and Wycheproof
 * vectors through each, byte equality between them for every AEAD suite, in-place sealing, and
 * authentication failures. The native half is skipped when the addon is not built.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSkCipher, openSkBody, sealSkBody, sealSkBodyInto, skBodyLength, type SkCipher } from '../../../src/ikev2/crypto/cipher.ts';
import { ikeNativeAead } from '../../../src/ikev2/crypto/native.ts';
import { suiteKeySizes, type ProtectionSuite } from '../../../src/ikev2/crypto/algorithms.ts';
import { EncrId } from '../../../src/ikev2/registry/transform.ts';
import { isGkmError } from '../../../src/ikev2/errors.ts';
import { hex, loadVectors, type WycheproofFile } from './vectors.ts';

type Provider = 'native' | 'node';
const nativeMissing = ikeNativeAead() === undefined ? 'native addon (AEAD functions) not built' : false;
const providers: readonly Provider[] = ['node', 'native'];
const skipFor = (p: Provider): string | false => (p === 'native' ? nativeMissing : false);
const authFailed = (e: unknown): boolean => isGkmError(e, 'GKM_CRYPTO_AUTH_FAILED');

const make = (suite: ProtectionSuite, key: Buffer, p: Provider): SkCipher => createSkCipher(suite, key, undefined, { aeadProvider: p });

const AEAD_SUITES: readonly ProtectionSuite[] = [
  ...[EncrId.AES_GCM_8, EncrId.AES_GCM_12, EncrId.AES_GCM_16].flatMap((encrId) =>
    [128, 192, 256].map((keyLengthBits) => ({ encrId, keyLengthBits })),
  ),
  { encrId: EncrId.CHACHA20_POLY1305 },
];

interface Rfc7634Vector {
  key: string;
  salt: string;
  iv: string;
  aad: string;
  plaintext: string;
  ciphertextAndTag: string;
}
const rfc7634 = loadVectors<{ esp: Rfc7634Vector; ike: Rfc7634Vector & { innerPayloads: string } }>('rfc7634-chacha20-poly1305.json');

for (const p of providers) {
  test(`RFC 7634 A.1 / A.2 through the ${p} provider`, { skip: skipFor(p) }, () => {
    for (const v of [rfc7634.esp, rfc7634.ike]) {
      const c = make({ encrId: EncrId.CHACHA20_POLY1305 }, Buffer.concat([hex(v.key), hex(v.salt)]), p);
      assert.equal(c.seal(hex(v.iv), hex(v.aad), hex(v.plaintext)).toString('hex'), v.ciphertextAndTag);
      assert.equal(c.open(hex(v.iv), hex(v.aad), hex(v.ciphertextAndTag)).toString('hex'), v.plaintext);
    }
    // A.2 as an SK body: IV | ciphertext | ICV, sealed in place.
    const v = rfc7634.ike;
    const c = make({ encrId: EncrId.CHACHA20_POLY1305 }, Buffer.concat([hex(v.key), hex(v.salt)]), p);
    const inner = hex(v.innerPayloads);
    const body = Buffer.alloc(skBodyLength(c, inner.length), 0xee);
    sealSkBodyInto(c, hex(v.iv), hex(v.aad), inner, body);
    assert.equal(body.toString('hex'), v.iv + v.ciphertextAndTag);
    assert.deepEqual(openSkBody(c, hex(v.aad), body), inner);
  });

  for (const [file, suiteOf] of [
    ['wycheproof-aes-gcm.json', (bits: number): ProtectionSuite => ({ encrId: EncrId.AES_GCM_16, keyLengthBits: bits })],
    ['wycheproof-chacha20-poly1305.json', (): ProtectionSuite => ({ encrId: EncrId.CHACHA20_POLY1305 })],
  ] as const) {
    test(`${file} through the ${p} provider`, { skip: skipFor(p) }, () => {
      let checked = 0;
      for (const group of loadVectors<WycheproofFile>(file).testGroups) {
        for (const t of group.tests) {
          const nonce = hex(t.iv!);
          const c = make(suiteOf(group.keySize), Buffer.concat([hex(t.key), nonce.subarray(0, 4)]), p);
          const iv = nonce.subarray(4);
          const aad = hex(t.aad!);
          const body = Buffer.concat([iv, hex(t.ct!), hex(t.tag)]);
          const label = `tcId ${t.tcId}`;
          if (t.result === 'valid') {
            assert.deepEqual(c.openBody(aad, body), hex(t.msg), label);
            const sealed = Buffer.concat([iv, hex(t.msg), Buffer.alloc(16)]);
            c.sealBody(aad, sealed);
            assert.deepEqual(sealed, body, label);
          } else {
            assert.throws(() => c.openBody(aad, body), authFailed, label);
          }
          checked++;
        }
      }
      assert.ok(checked >= 50);
    });
  }
}

test('native and node:crypto seal byte-identical SK bodies and open each other', { skip: nativeMissing }, () => {
  for (const suite of AEAD_SUITES) {
    const key = randomBytes(suiteKeySizes(suite).encr);
    const n = make(suite, key, 'node');
    const x = make(suite, key, 'native');
    for (const length of [0, 1, 15, 16, 17, 255, 1400, 9000]) {
      const iv = randomBytes(8);
      const aad = randomBytes(32);
      const inner = randomBytes(length);
      const a = sealSkBody(n, iv, aad, inner);
      const b = sealSkBody(x, iv, aad, inner);
      const label = `${suite.encrId}/${suite.keyLengthBits ?? 256}/${length}`;
      assert.deepEqual(b, a, label);
      assert.deepEqual(openSkBody(x, aad, a), inner, label);
      assert.deepEqual(openSkBody(n, aad, b), inner, label);
      assert.deepEqual(x.open(iv, aad, a.subarray(8)), n.open(iv, aad, a.subarray(8)), label);
    }
  }
});

test('native: any changed octet of AAD, IV, ciphertext or ICV fails; short bodies fail', { skip: nativeMissing }, () => {
  for (const suite of AEAD_SUITES) {
    const c = make(suite, randomBytes(suiteKeySizes(suite).encr), 'native');
    const aad = randomBytes(20);
    const body = sealSkBody(c, randomBytes(8), aad, randomBytes(40));
    for (let i = 0; i < body.length; i++) {
      const bad = Buffer.from(body);
      bad[i]! ^= 0x01;
      assert.throws(() => openSkBody(c, aad, bad), authFailed);
    }
    const badAad = Buffer.from(aad);
    badAad[3]! ^= 0x80;
    assert.throws(() => openSkBody(c, badAad, body), authFailed);
    assert.throws(() => openSkBody(c, aad, body.subarray(0, 8 + c.icvLength - 1)), authFailed);
    assert.deepEqual(openSkBody(c, aad, sealSkBody(c, randomBytes(8), aad, Buffer.alloc(0))), Buffer.alloc(0));
  }
});

test('native: wrong argument types and lengths throw TypeError, never touch memory', { skip: nativeMissing }, () => {
  const a = ikeNativeAead()!;
  const key = randomBytes(20);
  const body = Buffer.alloc(8 + 16 + 4);
  assert.throws(() => a.aeadSeal(2, key, 16, Buffer.alloc(0), body), TypeError);
  assert.throws(() => a.aeadSeal(0, key, 10, Buffer.alloc(0), body), TypeError);
  assert.throws(() => a.aeadSeal(1, key, 8, Buffer.alloc(0), body), TypeError); // ChaCha ICV is 16
  assert.throws(() => a.aeadSeal(0, randomBytes(4), 16, Buffer.alloc(0), body), TypeError);
  assert.throws(() => a.aeadSeal(0, key, 16, Buffer.alloc(0), Buffer.alloc(23)), TypeError);
  assert.throws(() => a.aeadOpen(0, key, 16, Buffer.alloc(0), body, Buffer.alloc(3)), TypeError);
  assert.throws(() => a.aeadSeal(0, randomBytes(21), 16, Buffer.alloc(0), body)); // no AES-136
});

test('GKM_NATIVE_CRYPTO=0 turns the native AEADs off', () => {
  assert.equal(ikeNativeAead({ ...process.env, GKM_NATIVE_CRYPTO: '0' }), undefined);
});
