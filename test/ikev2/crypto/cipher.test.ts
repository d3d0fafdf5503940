import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import {
  createIntegrity,
  createIvSource,
  createSkCipher,
  openSkBody,
  padSkPlaintext,
  sealSkBody,
  skBodyLength,
  unpadSkPlaintext,
  type SkCipher,
} from '../../../src/ikev2/crypto/cipher.ts';
import { suiteKeySizes, type ProtectionSuite } from '../../../src/ikev2/crypto/algorithms.ts';
import { EncrId, IntegId } from '../../../src/ikev2/registry/transform.ts';
import { isGkmError, type ErrorCode } from '../../../src/ikev2/errors.ts';
import { hex, loadVectors, type WycheproofFile } from './vectors.ts';

const fails = (code: ErrorCode) => (e: unknown) => isGkmError(e, code);

// --- RFC 7634 Appendix A ------------------------------------------------------------------

interface Rfc7634 {
  esp: { key: string; salt: string; iv: string; aad: string; plaintext: string; ciphertextAndTag: string };
  ike: {
    key: string;
    salt: string;
    iv: string;
    spiI: string;
    spiR: string;
    exchangeType: number;
    flags: number;
    messageId: number;
    firstInnerPayload: number;
    aad: string;
    innerPayloads: string;
    plaintext: string;
    ciphertextAndTag: string;
  };
}
const rfc7634 = loadVectors<Rfc7634>('rfc7634-chacha20-poly1305.json');
const chacha = (v: { key: string; salt: string }): SkCipher =>
  createSkCipher({ encrId: EncrId.CHACHA20_POLY1305 }, Buffer.concat([hex(v.key), hex(v.salt)]));

test('RFC 7634 A.1 (ESP): ChaCha20-Poly1305 with nonce = salt | IV', () => {
  const v = rfc7634.esp;
  const c = chacha(v);
  assert.equal(c.seal(hex(v.iv), hex(v.aad), hex(v.plaintext)).toString('hex'), v.ciphertextAndTag);
  assert.equal(c.open(hex(v.iv), hex(v.aad), hex(v.ciphertextAndTag)).toString('hex'), v.plaintext);
});

test('RFC 7634 A.2 (IKEv2): raw SkCipher byte for byte', () => {
  const v = rfc7634.ike;
  const c = chacha(v);
  assert.equal(c.seal(hex(v.iv), hex(v.aad), hex(v.plaintext)).toString('hex'), v.ciphertextAndTag);
  assert.equal(c.open(hex(v.iv), hex(v.aad), hex(v.ciphertextAndTag)).toString('hex'), v.plaintext);
});

test('RFC 7634 A.2 (IKEv2): SK-style seal with header lengths from skBodyLength', () => {
  const v = rfc7634.ike;
  const c = chacha(v);
  const inner = hex(v.innerPayloads);
  assert.deepEqual(padSkPlaintext(inner, c.blockSize), hex(v.plaintext));
  const skLength = 4 + skBodyLength(c, inner.length);
  const header = Buffer.alloc(28);
  hex(v.spiI).copy(header, 0);
  hex(v.spiR).copy(header, 8);
  header.writeUInt8(46, 16); // Next Payload: SK
  header.writeUInt8(0x20, 17); // version 2.0
  header.writeUInt8(v.exchangeType, 18);
  header.writeUInt8(v.flags, 19);
  header.writeUInt32BE(v.messageId, 20);
  header.writeUInt32BE(28 + skLength, 24);
  const skHeader = Buffer.alloc(4);
  skHeader.writeUInt8(v.firstInnerPayload, 0);
  skHeader.writeUInt16BE(skLength, 2);
  const aad = Buffer.concat([header, skHeader]);
  assert.equal(aad.toString('hex'), v.aad);
  const body = sealSkBody(c, hex(v.iv), aad, inner);
  assert.equal(body.toString('hex'), v.iv + v.ciphertextAndTag);
  assert.equal(body.length, skBodyLength(c, inner.length));
  assert.deepEqual(openSkBody(c, aad, body), inner);
});

// --- Wycheproof AEAD ------------------------------------------------------------------------

function runWycheproofAead(file: string, suiteOf: (keyBits: number) => ProtectionSuite): void {
  const data = loadVectors<WycheproofFile>(file);
  let valid = 0;
  let invalid = 0;
  for (const group of data.testGroups) {
    assert.equal(group.ivSize, 96);
    assert.equal(group.tagSize, 128);
    for (const t of group.tests) {
      // 12-octet nonce = salt(4) | IV(8): the salt is the tail of the SK_e keying material.
      const nonce = hex(t.iv!);
      const cipher = createSkCipher(suiteOf(group.keySize), Buffer.concat([hex(t.key), nonce.subarray(0, 4)]));
      const iv = nonce.subarray(4);
      const aad = hex(t.aad!);
      const ctAndTag = Buffer.concat([hex(t.ct!), hex(t.tag)]);
      const label = `${data.algorithm} tcId ${t.tcId}`;
      if (t.result === 'valid') {
        valid++;
        assert.deepEqual(cipher.seal(iv, aad, hex(t.msg)), ctAndTag, label);
        assert.deepEqual(cipher.open(iv, aad, ctAndTag), hex(t.msg), label);
      } else {
        invalid++;
        assert.throws(() => cipher.open(iv, aad, ctAndTag), fails('GKM_CRYPTO_AUTH_FAILED'), label);
      }
    }
  }
  assert.ok(valid >= 25 && invalid >= 25, `${file}: ${valid} valid, ${invalid} invalid`);
}

test('Wycheproof AES-GCM (96-bit IV, 128-bit tag) through ENCR_AES_GCM_16', () => {
  runWycheproofAead('wycheproof-aes-gcm.json', (bits) => ({ encrId: EncrId.AES_GCM_16, keyLengthBits: bits }));
});

test('Wycheproof ChaCha20-Poly1305 through ENCR_CHACHA20_POLY1305', () => {
  runWycheproofAead('wycheproof-chacha20-poly1305.json', () => ({ encrId: EncrId.CHACHA20_POLY1305 }));
});

// --- Integrity --------------------------------------------------------------------------------

test('RFC 4868 §2.7.2 authenticator test cases through createIntegrity', () => {
  const v = loadVectors<{ authenticator: { case: string; integId: number; key: string; data: string; icv: string }[] }>(
    'rfc4868-hmac-sha2.json',
  );
  assert.equal(v.authenticator.length, 9);
  for (const a of v.authenticator) {
    const integ = createIntegrity(a.integId, hex(a.key));
    assert.equal(integ.compute(hex(a.data)).toString('hex'), a.icv, `${a.case} integ ${a.integId}`);
    assert.ok(integ.verify(hex(a.data), hex(a.icv)));
  }
});

test('Wycheproof HMAC-SHA256 with 128-bit tags through AUTH_HMAC_SHA2_256_128', () => {
  const data = loadVectors<WycheproofFile>('wycheproof-hmac-sha256.json');
  const group = data.testGroups.find((g) => g.tagSize === 128)!;
  let invalid = 0;
  for (const t of group.tests) {
    const integ = createIntegrity(IntegId.HMAC_SHA2_256_128, hex(t.key));
    assert.equal(integ.verify(hex(t.msg), hex(t.tag)), t.result === 'valid', `tcId ${t.tcId}`);
    if (t.result === 'valid') assert.equal(integ.compute(hex(t.msg)).toString('hex'), t.tag);
    else invalid++;
  }
  assert.ok(invalid >= 20);
});

test('createIntegrity refuses transforms without an HMAC and wrong key sizes', () => {
  assert.throws(() => createIntegrity(IntegId.AES_XCBC_96, Buffer.alloc(16)), fails('GKM_CRYPTO_UNSUPPORTED'));
  assert.throws(() => createIntegrity(IntegId.NONE, Buffer.alloc(0)), fails('GKM_CRYPTO_UNSUPPORTED'));
  assert.throws(() => createIntegrity(IntegId.HMAC_SHA2_256_128, Buffer.alloc(31)), fails('GKM_CRYPTO_BAD_KEY_LENGTH'));
  const integ = createIntegrity(IntegId.HMAC_SHA2_256_128, Buffer.alloc(32));
  assert.equal(integ.verify(Buffer.alloc(1), Buffer.alloc(15)), false);
});

// --- Every supported suite --------------------------------------------------------------------

const SUITES: ProtectionSuite[] = [
  ...[128, 192, 256].flatMap((bits) =>
    [EncrId.AES_GCM_8, EncrId.AES_GCM_12, EncrId.AES_GCM_16].map((encrId) => ({ encrId, keyLengthBits: bits })),
  ),
  { encrId: EncrId.CHACHA20_POLY1305 },
  ...[128, 192, 256].flatMap((bits) =>
    [IntegId.HMAC_SHA2_256_128, IntegId.HMAC_SHA2_384_192, IntegId.HMAC_SHA2_512_256, IntegId.HMAC_SHA1_96].map(
      (integId) => ({ encrId: EncrId.AES_CBC, keyLengthBits: bits, integId }),
    ),
  ),
];

function makeCipher(suite: ProtectionSuite): SkCipher {
  const sizes = suiteKeySizes(suite);
  return createSkCipher(suite, randomBytes(sizes.encr), sizes.integ > 0 ? randomBytes(sizes.integ) : undefined);
}

const name = (s: ProtectionSuite): string => `ENCR ${s.encrId}/${s.keyLengthBits ?? '-'} INTEG ${s.integId ?? 0}`;

test('round trip for every supported suite and several inner lengths', () => {
  for (const suite of SUITES) {
    const c = makeCipher(suite);
    const ivs = createIvSource(c);
    assert.equal(c.aead, suite.integId === undefined);
    assert.equal(c.blockSize, c.aead ? 1 : 16);
    assert.equal(c.ivLength, c.aead ? 8 : 16);
    for (const len of [0, 1, 15, 16, 17, 100]) {
      const inner = randomBytes(len);
      const aad = randomBytes(32);
      const body = sealSkBody(c, ivs.next(), aad, inner);
      assert.equal(body.length, skBodyLength(c, len), name(suite));
      assert.equal((body.length - c.ivLength - c.icvLength) % c.blockSize, 0);
      assert.deepEqual(openSkBody(c, aad, body), inner, name(suite));
    }
    c.dispose();
  }
});

test('changing any single octet of AAD, IV, ciphertext or ICV fails with GKM_CRYPTO_AUTH_FAILED', () => {
  for (const suite of SUITES) {
    const c = makeCipher(suite);
    const aad = randomBytes(32);
    const body = sealSkBody(c, createIvSource(c).next(), aad, randomBytes(20));
    const packet = Buffer.concat([aad, body]);
    for (let i = 0; i < packet.length; i++) {
      const tampered = Buffer.from(packet);
      tampered[i]! ^= 0x01 << (i % 8);
      assert.throws(
        () => openSkBody(c, tampered.subarray(0, aad.length), tampered.subarray(aad.length)),
        fails('GKM_CRYPTO_AUTH_FAILED'),
        `${name(suite)} octet ${i}`,
      );
    }
    // Truncated or extended bodies fail too.
    assert.throws(() => openSkBody(c, aad, body.subarray(0, body.length - 1)), fails('GKM_CRYPTO_AUTH_FAILED'));
    assert.throws(() => openSkBody(c, aad, Buffer.concat([body, Buffer.of(0)])), fails('GKM_CRYPTO_AUTH_FAILED'));
    assert.throws(() => openSkBody(c, aad, body.subarray(0, c.ivLength)), fails('GKM_CRYPTO_AUTH_FAILED'));
  }
});

test('CBC + HMAC: the ICV is the truncated HMAC over aad | IV | ciphertext (RFC 7296 §3.14)', () => {
  const suite = { encrId: EncrId.AES_CBC, keyLengthBits: 128, integId: IntegId.HMAC_SHA2_256_128 };
  const skE = randomBytes(16);
  const skA = randomBytes(32);
  const c = createSkCipher(suite, skE, skA);
  const aad = randomBytes(32);
  const iv = randomBytes(16);
  const sealed = c.seal(iv, aad, padSkPlaintext(Buffer.from('inner payloads'), 16));
  const ciphertext = sealed.subarray(0, sealed.length - 16);
  const mac = createHmac('sha256', skA).update(aad).update(iv).update(ciphertext).digest().subarray(0, 16);
  assert.deepEqual(sealed.subarray(-16), mac);
  assert.throws(() => c.seal(iv, aad, Buffer.alloc(15)), fails('GKM_CRYPTO_INTERNAL'));
});

test('createSkCipher checks key sizes and refuses suites without an SK implementation', () => {
  const gcm = { encrId: EncrId.AES_GCM_16, keyLengthBits: 128 };
  assert.throws(() => createSkCipher(gcm, Buffer.alloc(16)), fails('GKM_CRYPTO_BAD_KEY_LENGTH')); // salt missing
  assert.throws(() => createSkCipher(gcm, Buffer.alloc(20), Buffer.alloc(32)), fails('GKM_CRYPTO_BAD_KEY_LENGTH'));
  const cbc = { encrId: EncrId.AES_CBC, keyLengthBits: 256, integId: IntegId.HMAC_SHA2_256_128 };
  assert.throws(() => createSkCipher(cbc, Buffer.alloc(32)), fails('GKM_CRYPTO_BAD_KEY_LENGTH'));
  assert.throws(() => createSkCipher(cbc, Buffer.alloc(24), Buffer.alloc(32)), fails('GKM_CRYPTO_BAD_KEY_LENGTH'));
  for (const suite of [
    { encrId: EncrId.AES_CCM_16, keyLengthBits: 128 },
    { encrId: EncrId.AES_CTR, keyLengthBits: 128, integId: IntegId.HMAC_SHA2_256_128 },
    { encrId: EncrId.AES_CBC, keyLengthBits: 128, integId: IntegId.AES_XCBC_96 },
    { encrId: EncrId.NULL_AUTH_AES_GMAC, keyLengthBits: 128 },
  ]) {
    const sizes = suiteKeySizes(suite, true);
    assert.throws(
      () => createSkCipher(suite, Buffer.alloc(sizes.encr), sizes.integ ? Buffer.alloc(sizes.integ) : undefined),
      fails('GKM_CRYPTO_UNSUPPORTED'),
      name(suite),
    );
  }
  const c = createSkCipher(gcm, Buffer.alloc(20));
  assert.throws(() => c.seal(Buffer.alloc(12), Buffer.alloc(0), Buffer.alloc(1)), fails('GKM_CRYPTO_INTERNAL'));
});

// --- IVs and padding ----------------------------------------------------------------------------

test('IV sources: AEAD counter IVs are unique and sequential; CBC IVs are random 16 octets', () => {
  const aead = createIvSource({ ivLength: 8, aead: true });
  const seen = new Set<string>();
  let previous: bigint | undefined;
  for (let i = 0; i < 1000; i++) {
    const iv = aead.next();
    assert.equal(iv.length, 8);
    const n = iv.readBigUInt64BE();
    if (previous !== undefined) assert.equal(n, previous + 1n);
    previous = n;
    seen.add(iv.toString('hex'));
  }
  assert.equal(seen.size, 1000);
  // Each source starts at a random point of the lower half of the 64-bit space.
  const starts = new Set(Array.from({ length: 50 }, () => createIvSource({ ivLength: 8, aead: true }).next().readBigUInt64BE()));
  assert.equal(starts.size, 50);
  for (const s of starts) assert.ok(s < 1n << 63n);
  assert.ok([...starts].some((s) => s >= 1n << 62n) && [...starts].some((s) => s % (1n << 32n) >= 1n << 31n), 'both halves random');
  const cbc = createIvSource({ ivLength: 16, aead: false });
  const a = cbc.next();
  assert.equal(a.length, 16);
  assert.notDeepEqual(a, cbc.next());
});

test('AEAD counter IV: carries across its 20/22/22-bit parts, refuses after 2^64 - 1', () => {
  const source = createIvSource({ ivLength: 8, aead: true });
  const parts = source as unknown as { hi: number; mid: number; lo: number };
  const starts: [number, number, number][] = [[0, 0x3fffff, 0x3ffffe], [0x7ffff, 0x3fffff, 0x3fffff], [0x12345, 0x3ff, 0x3fffff], [0xfffff, 0x3fffff, 0x3ffffd]];
  for (const [hi, mid, lo] of starts) {
    Object.assign(parts, { hi, mid, lo });
    let expected = (BigInt(hi) << 44n) | (BigInt(mid) << 22n) | BigInt(lo);
    for (let i = 0; i < 3; i++, expected++) assert.equal(source.next().readBigUInt64BE(), expected);
  }
  assert.throws(() => source.next(), fails('GKM_CRYPTO_INTERNAL'));
});

test('padSkPlaintext: shortest padding, Pad Length octet always present', () => {
  assert.deepEqual(padSkPlaintext(Buffer.alloc(0), 1), Buffer.of(0));
  assert.deepEqual(padSkPlaintext(Buffer.from('abc'), 1), Buffer.from('abc\x00', 'latin1'));
  for (let len = 0; len <= 40; len++) {
    const padded = padSkPlaintext(Buffer.alloc(len, 0xab), 16);
    assert.equal(padded.length % 16, 0);
    assert.ok(padded.length >= len + 1 && padded.length <= len + 16);
    assert.equal(padded.at(-1), padded.length - len - 1);
    assert.deepEqual(unpadSkPlaintext(padded), Buffer.alloc(len, 0xab));
  }
});

test('unpadSkPlaintext is strict: the Pad Length must fit', () => {
  assert.throws(() => unpadSkPlaintext(Buffer.alloc(0)), fails('GKM_CRYPTO_BAD_PADDING'));
  assert.throws(() => unpadSkPlaintext(Buffer.of(1)), fails('GKM_CRYPTO_BAD_PADDING'));
  assert.throws(() => unpadSkPlaintext(Buffer.of(0, 0, 3)), fails('GKM_CRYPTO_BAD_PADDING'));
  assert.deepEqual(unpadSkPlaintext(Buffer.of(9, 0, 0, 2)), Buffer.of(9));
  assert.deepEqual(unpadSkPlaintext(Buffer.of(0, 0, 2)), Buffer.alloc(0));
  // Padding longer than one block is legal (RFC 7296 §3.14: up to 255 octets).
  assert.deepEqual(unpadSkPlaintext(Buffer.concat([Buffer.of(7), Buffer.alloc(40), Buffer.of(40)])), Buffer.of(7));
});

test('a CBC message whose decrypted padding does not fit fails with GKM_CRYPTO_BAD_PADDING', () => {
  const suite = { encrId: EncrId.AES_CBC, keyLengthBits: 128, integId: IntegId.HMAC_SHA2_256_128 };
  const c = createSkCipher(suite, randomBytes(16), randomBytes(32));
  const block = Buffer.alloc(16);
  block[15] = 200; // Pad Length larger than the plaintext, authenticated by a valid ICV
  const iv = randomBytes(16);
  const aad = randomBytes(8);
  const body = Buffer.concat([iv, c.seal(iv, aad, block)]);
  assert.throws(() => openSkBody(c, aad, body), fails('GKM_CRYPTO_BAD_PADDING'));
});
