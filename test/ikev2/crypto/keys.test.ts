import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createHmacPrf, getPrf, prfPlus } from '../../../src/ikev2/crypto/prf.ts';
import {
  childKeySizes,
  childKeymat,
  deriveChildKeys,
  deriveIkeKeys,
  deriveIkeKeysAfterAdditionalKe,
  deriveInitialIkeKeys,
  deriveRekeyedIkeKeys,
  gskW,
  ikeKeySizes,
  intAuthStep,
  intAuthValue,
  keSeed,
  pskAuth,
  rekeyIkeSkeyseed,
  signedOctets,
  skeyseed,
} from '../../../src/ikev2/crypto/keys.ts';
import { EncrId, IntegId, PrfId } from '../../../src/ikev2/registry/transform.ts';
import { isGkmError } from '../../../src/ikev2/errors.ts';
import { hex, loadVectors } from './vectors.ts';

interface Cavs {
  prfId: number;
  prfLength: number;
  dkmLengthBits: number;
  ni: string;
  nr: string;
  gir: string;
  girNew: string;
  spiI: string;
  spiR: string;
  skeyseed: string;
  dkm: string;
  dkmChild: string;
  dkmChildDh: string;
  skeyseedRekey: string;
}

const cavs = loadVectors<Cavs>('ikev2-kdf-cavs-sha1.json');
// The CAVS sample uses PRF_HMAC_SHA1, which getPrf() does not offer: build it for the test.
const sha1 = createHmacPrf(cavs.prfId, 'sha1', cavs.prfLength);
const ni = hex(cavs.ni);
const nr = hex(cavs.nr);
const dkmLength = cavs.dkmLengthBits / 8;

const hmac = (hash: string, key: Buffer, ...parts: Buffer[]): Buffer => {
  const h = createHmac(hash, key);
  for (const p of parts) h.update(p);
  return h.digest();
};

test('SP 800-135 IKEv2 KDF (CAVS sample): SKEYSEED = prf(Ni | Nr, g^ir)', () => {
  assert.equal(skeyseed(sha1, ni, nr, hex(cavs.gir)).toString('hex'), cavs.skeyseed);
});

test('SP 800-135 IKEv2 KDF (CAVS sample): DKM = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr), split in RFC 7296 order', () => {
  // 132 octets = 3 x 20 (SK_d, SK_pi, SK_pr) + 2 x 20 (HMAC-SHA1-96 keys) + 2 x 16 (AES-128 keys)
  const sizes = { prf: 20, integ: 20, encr: 16 };
  const k = deriveIkeKeys(sha1, hex(cavs.skeyseed), ni, nr, hex(cavs.spiI), hex(cavs.spiR), sizes);
  const joined = Buffer.concat([k.skD, k.skAi, k.skAr, k.skEi, k.skEr, k.skPi, k.skPr]);
  assert.equal(joined.length, dkmLength);
  assert.equal(joined.toString('hex'), cavs.dkm);
  const initial = deriveInitialIkeKeys(sha1, ni, nr, hex(cavs.gir), hex(cavs.spiI), hex(cavs.spiR), sizes);
  assert.deepEqual(initial, k);
});

test('SP 800-135 IKEv2 KDF (CAVS sample): Child SA KEYMAT without and with g^ir (new)', () => {
  const skD = hex(cavs.dkm).subarray(0, cavs.prfLength);
  assert.equal(childKeymat(sha1, skD, ni, nr, dkmLength).toString('hex'), cavs.dkmChild);
  assert.equal(childKeymat(sha1, skD, ni, nr, dkmLength, hex(cavs.girNew)).toString('hex'), cavs.dkmChildDh);
});

test('SP 800-135 IKEv2 KDF (CAVS sample): rekey SKEYSEED = prf(SK_d(old), g^ir(new) | Ni | Nr)', () => {
  const skD = hex(cavs.dkm).subarray(0, cavs.prfLength);
  assert.equal(rekeyIkeSkeyseed(sha1, skD, hex(cavs.girNew), ni, nr).toString('hex'), cavs.skeyseedRekey);
});

test('keSeed puts the additional secrets after the nonces (RFC 9370 §2.2.4)', () => {
  const [s0, s1, s2] = [Buffer.from('S0'), Buffer.from('S1'), Buffer.from('S2')];
  assert.deepEqual(keSeed(undefined, ni, nr), [ni, nr]);
  assert.deepEqual(keSeed([], ni, nr), [ni, nr]);
  assert.deepEqual(keSeed(s0, ni, nr), [s0, ni, nr]);
  assert.deepEqual(keSeed([s0, s1, s2], ni, nr), [s0, ni, nr, s1, s2]);
});

test('multi-KE CREATE_CHILD_SA: SKEYSEED and KEYMAT over SK(0) | Ni | Nr | SK(1) | SK(2)', () => {
  const prf = getPrf(PrfId.HMAC_SHA2_256);
  const skD = Buffer.alloc(32, 0x11);
  const secrets = [Buffer.alloc(32, 1), Buffer.alloc(32, 2), Buffer.alloc(32, 3)] as const;
  const seed = Buffer.concat([secrets[0], ni, nr, secrets[1], secrets[2]]);
  assert.deepEqual(rekeyIkeSkeyseed(prf, skD, secrets, ni, nr), hmac('sha256', skD, seed));
  assert.deepEqual(childKeymat(prf, skD, ni, nr, 100, secrets), prfPlus(prf, skD, seed, 100));
});

test('RFC 9370 §2.2.2 update after an additional KE = SKEYSEED(n) then prf+ with the IKE_SA_INIT values', () => {
  const prf = getPrf(PrfId.HMAC_SHA2_512);
  const sizes = ikeKeySizes(prf, { encrId: EncrId.AES_GCM_16, keyLengthBits: 256 });
  const spiI = Buffer.alloc(8, 0xaa);
  const spiR = Buffer.alloc(8, 0xbb);
  const prev = deriveInitialIkeKeys(prf, ni, nr, Buffer.alloc(32, 9), spiI, spiR, sizes);
  const addSecret = Buffer.alloc(32, 0x5c);
  const seedN = hmac('sha512', prev.skD, addSecret, ni, nr);
  const expected = deriveIkeKeys(prf, seedN, ni, nr, spiI, spiR, sizes);
  assert.deepEqual(deriveIkeKeysAfterAdditionalKe(prf, prev.skD, addSecret, ni, nr, spiI, spiR, sizes), expected);
  assert.notDeepEqual(expected.skD, prev.skD);
});

test('IKE SA rekey: new keys from SK_d(old), the new nonces and the new SPIs', () => {
  const prf = getPrf(PrfId.HMAC_SHA2_256);
  const sizes = ikeKeySizes(prf, { encrId: EncrId.AES_CBC, keyLengthBits: 128, integId: IntegId.HMAC_SHA2_256_128 });
  const oldSkD = Buffer.alloc(32, 0x42);
  const [nI, nR, sI, sR] = [Buffer.alloc(32, 1), Buffer.alloc(32, 2), Buffer.alloc(8, 3), Buffer.alloc(8, 4)];
  const g = Buffer.alloc(32, 5);
  const k = deriveRekeyedIkeKeys(prf, oldSkD, g, nI, nR, sI, sR, sizes);
  assert.deepEqual(k, deriveIkeKeys(prf, hmac('sha256', oldSkD, g, nI, nR), nI, nR, sI, sR, sizes));
});

test('deriveIkeKeys: sizes follow the suite (AEAD: empty SK_a; GCM and ChaCha keys carry a salt)', () => {
  const prf = getPrf(PrfId.HMAC_SHA2_384);
  const spi = Buffer.alloc(8, 1);
  const lengths = (suite: Parameters<typeof ikeKeySizes>[1]) =>
    Object.values(deriveIkeKeys(prf, Buffer.alloc(48), ni, nr, spi, spi, ikeKeySizes(prf, suite))).map((b) => b.length);
  assert.deepEqual(lengths({ encrId: EncrId.AES_GCM_16, keyLengthBits: 128 }), [48, 0, 0, 20, 20, 48, 48]);
  assert.deepEqual(lengths({ encrId: EncrId.CHACHA20_POLY1305 }), [48, 0, 0, 36, 36, 48, 48]);
  assert.deepEqual(
    lengths({ encrId: EncrId.AES_CBC, keyLengthBits: 256, integId: IntegId.HMAC_SHA2_512_256 }),
    [48, 64, 64, 32, 32, 48, 48],
  );
});

test('deriveIkeKeys splits one prf+ stream in the order SK_d, SK_ai, SK_ar, SK_ei, SK_er, SK_pi, SK_pr', () => {
  const prf = getPrf(PrfId.HMAC_SHA2_256);
  const sizes = { prf: 32, integ: 32, encr: 16 };
  const [seed, spiI, spiR] = [Buffer.alloc(32, 9), Buffer.alloc(8, 1), Buffer.alloc(8, 2)];
  const k = deriveIkeKeys(prf, seed, ni, nr, spiI, spiR, sizes);
  const stream = prfPlus(prf, seed, Buffer.concat([ni, nr, spiI, spiR]), 32 * 3 + 32 * 2 + 16 * 2);
  assert.deepEqual(Buffer.concat([k.skD, k.skAi, k.skAr, k.skEi, k.skEr, k.skPi, k.skPr]), stream);
  // Keys are independent copies: wiping one leaves the others intact.
  k.skD.fill(0);
  assert.deepEqual(k.skAi, stream.subarray(32, 64));
  assert.throws(
    () => deriveIkeKeys(prf, seed, ni, nr, Buffer.alloc(4), spiR, sizes),
    (e) => isGkmError(e, 'GKM_CRYPTO_INTERNAL'),
  );
});

test('Child SA keys: encr(i->r), integ(i->r), encr(r->i), integ(r->i) with ESP sizes', () => {
  const prf = getPrf(PrfId.HMAC_SHA2_256);
  const skD = Buffer.alloc(32, 0x33);
  for (const [suite, encr, integ] of [
    [{ encrId: EncrId.AES_GCM_16, keyLengthBits: 256 }, 36, 0],
    [{ encrId: EncrId.CHACHA20_POLY1305 }, 36, 0],
    [{ encrId: EncrId.AES_CCM_8, keyLengthBits: 128 }, 19, 0],
    [{ encrId: EncrId.AES_CTR, keyLengthBits: 192, integId: IntegId.HMAC_SHA2_384_192 }, 28, 48],
    [{ encrId: EncrId.AES_CBC, keyLengthBits: 128, integId: IntegId.HMAC_SHA2_256_128 }, 16, 32],
    [{ encrId: EncrId.NULL_AUTH_AES_GMAC, keyLengthBits: 128 }, 20, 0],
    [{ encrId: EncrId.AES_GCM_16_IIV, keyLengthBits: 128 }, 20, 0],
  ] as const) {
    const sizes = childKeySizes(suite);
    assert.deepEqual(sizes, { encr, integ }, `ENCR ${suite.encrId}`);
    const g = Buffer.alloc(32, 7);
    const keys = deriveChildKeys(prf, skD, ni, nr, sizes, g);
    const keymat = childKeymat(prf, skD, ni, nr, 2 * (encr + integ), g);
    assert.deepEqual(Buffer.concat([keys.encrI, keys.integI, keys.encrR, keys.integR]), keymat);
    assert.equal(keys.encrI.length, encr);
    assert.equal(keys.integR.length, integ);
  }
});

test('GSK_w = prf+(SK_d, "Key Wrap for G-IKEv2") with the KWA key size (RFC 9838 §3.1.1)', () => {
  const prf = getPrf(PrfId.HMAC_SHA2_256);
  const skD = Buffer.alloc(32, 0x77);
  const label = Buffer.from('Key Wrap for G-IKEv2', 'ascii');
  assert.equal(label.length, 20);
  for (const len of [16, 24, 32]) {
    const w = gskW(prf, skD, len);
    assert.equal(w.length, len);
    assert.deepEqual(w, hmac('sha256', skD, label, Buffer.of(1)).subarray(0, len));
  }
});

test('PSK AUTH = prf(prf(PSK, "Key Pad for IKEv2"), SignedOctets) (RFC 7296 §2.15)', () => {
  const prf = getPrf(PrfId.HMAC_SHA2_256);
  const psk = Buffer.from('correct horse battery staple');
  const octets = Buffer.from('signed octets');
  const pad = hmac('sha256', psk, Buffer.from('Key Pad for IKEv2'));
  assert.deepEqual(pskAuth(prf, psk, octets), hmac('sha256', pad, octets));
  assert.deepEqual(pskAuth(prf, psk, [octets.subarray(0, 3), octets.subarray(3)]), pskAuth(prf, psk, octets));
});

test('signed octets: RealMessage | NonceData | prf(SK_p, IDType|RES|IDdata) [| IntAuth]', () => {
  const prf = getPrf(PrfId.HMAC_SHA2_256);
  const real = Buffer.from('real IKE_SA_INIT message');
  const nonce = Buffer.alloc(32, 0xee);
  const skP = Buffer.alloc(32, 0x99);
  const idBody = Buffer.concat([Buffer.of(2, 0, 0, 0), Buffer.from('gcks.example')]);
  const macedId = hmac('sha256', skP, idBody);
  assert.deepEqual(signedOctets(real, nonce, prf, skP, idBody), Buffer.concat([real, nonce, macedId]));
  const intAuth = Buffer.from('IntAuth');
  assert.deepEqual(signedOctets(real, nonce, prf, skP, idBody, intAuth), Buffer.concat([real, nonce, macedId, intAuth]));
});

test('IntAuth chaining and final value (RFC 9242 §3.3.2)', () => {
  const prf = getPrf(PrfId.HMAC_SHA2_256);
  const [skPi1, skPi2, skPr1, skPr2] = [1, 2, 3, 4].map((n) => Buffer.alloc(32, n)) as [Buffer, Buffer, Buffer, Buffer];
  const [ai1, ai2, ar1, ar2] = ['i1', 'i2', 'r1', 'r2'].map((s) => Buffer.from(`A|P of ${s}`)) as [
    Buffer, Buffer, Buffer, Buffer,
  ];
  const i1 = intAuthStep(prf, skPi1, undefined, ai1);
  assert.deepEqual(i1, hmac('sha256', skPi1, ai1));
  const i2 = intAuthStep(prf, skPi2, i1, ai2);
  assert.deepEqual(i2, hmac('sha256', skPi2, i1, ai2));
  const r2 = intAuthStep(prf, skPr2, intAuthStep(prf, skPr1, undefined, ar1), ar2);
  const value = intAuthValue(i2, r2, 3);
  assert.deepEqual(value, Buffer.concat([i2, r2, Buffer.of(0, 0, 0, 3)]));
  assert.equal(intAuthValue(i2, r2, 0x01020304).subarray(-4).toString('hex'), '01020304');
});
