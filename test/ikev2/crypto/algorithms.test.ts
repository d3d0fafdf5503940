import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ENCR_TABLE,
  encrKeyMaterialLength,
  integIcvLength,
  integKeyLength,
  isAead,
  suiteKeySizes,
} from '../../../src/ikev2/crypto/algorithms.ts';
import { EncrId, IntegId } from '../../../src/ikev2/registry/transform.ts';
import { isGkmError } from '../../../src/ikev2/errors.ts';

const unsupported = (e: unknown): boolean => isGkmError(e, 'GKM_CRYPTO_UNSUPPORTED');

test('ENCR key material: key plus salt (GCM/GMAC/CTR/ChaCha +4, CCM +3, CBC plain)', () => {
  for (const bits of [128, 192, 256]) {
    assert.equal(encrKeyMaterialLength(EncrId.AES_CBC, bits), bits / 8);
    assert.equal(encrKeyMaterialLength(EncrId.AES_CTR, bits), bits / 8 + 4);
    for (const id of [EncrId.AES_GCM_8, EncrId.AES_GCM_12, EncrId.AES_GCM_16]) {
      assert.equal(encrKeyMaterialLength(id, bits), bits / 8 + 4);
    }
    for (const id of [EncrId.AES_CCM_8, EncrId.AES_CCM_12, EncrId.AES_CCM_16]) {
      assert.equal(encrKeyMaterialLength(id, bits), bits / 8 + 3);
    }
    assert.equal(encrKeyMaterialLength(EncrId.NULL_AUTH_AES_GMAC, bits, true), bits / 8 + 4);
  }
  assert.equal(encrKeyMaterialLength(EncrId.CHACHA20_POLY1305), 36);
  assert.equal(encrKeyMaterialLength(EncrId.CHACHA20_POLY1305, 256), 36);
  assert.equal(encrKeyMaterialLength(EncrId.CHACHA20_POLY1305_IIV, undefined, true), 36);
  assert.equal(encrKeyMaterialLength(EncrId.NULL, undefined, true), 0);
});

test('Key Length attribute: required for AES, refused when wrong', () => {
  assert.throws(() => encrKeyMaterialLength(EncrId.AES_CBC), unsupported);
  assert.throws(() => encrKeyMaterialLength(EncrId.AES_GCM_16, 64), unsupported);
  assert.throws(() => encrKeyMaterialLength(EncrId.CHACHA20_POLY1305, 128), unsupported);
  assert.throws(() => encrKeyMaterialLength(EncrId['3DES'], 192), unsupported);
});

test('ESP/AH-only transforms are refused for IKE', () => {
  for (const id of [EncrId.NULL, EncrId.NULL_AUTH_AES_GMAC, EncrId.AES_GCM_16_IIV, EncrId.CHACHA20_POLY1305_IIV]) {
    assert.throws(() => encrKeyMaterialLength(id, 128), unsupported, `ENCR ${id}`);
  }
  assert.throws(() => integKeyLength(IntegId.AES_128_GMAC), unsupported);
  assert.equal(integKeyLength(IntegId.AES_256_GMAC, true), 36);
});

test('INTEG key and ICV lengths (RFC 4868 §2.1, RFC 2404)', () => {
  const expect: [number, number, number][] = [
    [IntegId.NONE, 0, 0],
    [IntegId.HMAC_SHA1_96, 20, 12],
    [IntegId.AES_XCBC_96, 16, 12],
    [IntegId.HMAC_SHA2_256_128, 32, 16],
    [IntegId.HMAC_SHA2_384_192, 48, 24],
    [IntegId.HMAC_SHA2_512_256, 64, 32],
  ];
  for (const [id, key, icv] of expect) {
    assert.equal(integKeyLength(id), key);
    assert.equal(integIcvLength(id), icv);
  }
  assert.throws(() => integKeyLength(77), unsupported);
});

test('isAead and the table agree on combined modes', () => {
  assert.ok(isAead(EncrId.AES_GCM_16));
  assert.ok(isAead(EncrId.CHACHA20_POLY1305));
  assert.ok(isAead(EncrId.AES_CCM_12));
  assert.ok(!isAead(EncrId.AES_CBC));
  assert.ok(!isAead(EncrId.AES_CTR));
  assert.ok(!isAead(1234));
  for (const e of ENCR_TABLE.values()) assert.equal(e.aead, e.icvLength > 0, `ENCR ${e.id}`);
});

test('suiteKeySizes: AEAD takes no INTEG, other ciphers need one', () => {
  assert.deepEqual(suiteKeySizes({ encrId: EncrId.AES_GCM_16, keyLengthBits: 256 }), { encr: 36, integ: 0 });
  assert.deepEqual(suiteKeySizes({ encrId: EncrId.AES_GCM_16, keyLengthBits: 256, integId: IntegId.NONE }), {
    encr: 36,
    integ: 0,
  });
  assert.deepEqual(
    suiteKeySizes({ encrId: EncrId.AES_CBC, keyLengthBits: 192, integId: IntegId.HMAC_SHA2_384_192 }),
    { encr: 24, integ: 48 },
  );
  assert.throws(
    () => suiteKeySizes({ encrId: EncrId.AES_GCM_16, keyLengthBits: 128, integId: IntegId.HMAC_SHA2_256_128 }),
    unsupported,
  );
  assert.throws(() => suiteKeySizes({ encrId: EncrId.AES_CBC, keyLengthBits: 128 }), unsupported);
  assert.throws(() => suiteKeySizes({ encrId: EncrId.NULL, integId: IntegId.NONE }, true), unsupported);
});
