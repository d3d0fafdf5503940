/**
 * SkCipherPair: both SK directions of an IKE SA over one key allocation (prefix | SK_e(i) |
 * SK_e(r) | SK_a(i) | SK_a(r)). The same bytes as createSkCipher over the same keys, on both
 * AEAD providers and for AES-CBC + HMAC; role picks the outbound direction; dispose() wipes the
 * one shared buffer; a bad layout (or a pooled slice) throws and wipes what the pair adopted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSkCipher, openSkBody, sealSkBody, SkCipherPair } from '../../../src/ikev2/crypto/cipher.ts';
import { ikeNativeAead } from '../../../src/ikev2/crypto/native.ts';
import { suiteKeySizes, type ProtectionSuite } from '../../../src/ikev2/crypto/algorithms.ts';
import { EncrId, IntegId } from '../../../src/ikev2/registry/transform.ts';
import { isGkmError } from '../../../src/ikev2/errors.ts';

const SUITES: readonly ProtectionSuite[] = [
  { encrId: EncrId.AES_GCM_16, keyLengthBits: 256 },
  { encrId: EncrId.AES_GCM_8, keyLengthBits: 128 },
  { encrId: EncrId.CHACHA20_POLY1305 },
  { encrId: EncrId.AES_CBC, keyLengthBits: 128, integId: IntegId.HMAC_SHA2_256_128 },
  { encrId: EncrId.AES_CBC, keyLengthBits: 256, integId: IntegId.HMAC_SHA1_96 },
];
const PROVIDERS = ikeNativeAead() === undefined ? (['node'] as const) : (['node', 'native'] as const);
const PREFIX = 48; // SK_d of prfsha384

interface Keys {
  readonly skD: Buffer;
  readonly eI: Buffer;
  readonly eR: Buffer;
  readonly aI: Buffer | undefined;
  readonly aR: Buffer | undefined;
}

function keysFor(suite: ProtectionSuite): Keys {
  const { encr, integ } = suiteKeySizes(suite);
  const a = (): Buffer | undefined => (integ === 0 ? undefined : randomBytes(integ));
  return { skD: randomBytes(PREFIX), eI: randomBytes(encr), eR: randomBytes(encr), aI: a(), aR: a() };
}

/** prefix | SK_e(i) | SK_e(r) | SK_a(i) | SK_a(r) in an allocation of its own (never pooled). */
function materialOf(k: Keys): Buffer {
  const parts = [k.skD, k.eI, k.eR, k.aI ?? Buffer.alloc(0), k.aR ?? Buffer.alloc(0)];
  const own = Buffer.allocUnsafeSlow(parts.reduce((n, p) => n + p.length, 0));
  Buffer.concat(parts).copy(own);
  return own;
}

test('SkCipherPair seals and opens byte for byte as createSkCipher over the same keys, both roles and providers', () => {
  for (const suite of SUITES) {
    for (const aeadProvider of PROVIDERS) {
      const k = keysFor(suite);
      const single = { adoptKey: false, aeadProvider } as const;
      const ci = createSkCipher(suite, k.eI, k.aI, single);
      const cr = createSkCipher(suite, k.eR, k.aR, single);
      for (const responder of [false, true]) {
        const pair = new SkCipherPair(suite, materialOf(k), PREFIX, responder, { aeadProvider });
        const [out, inn] = responder ? [cr, ci] : [ci, cr];
        assert.deepEqual(pair.prefix, k.skD);
        for (const len of [0, 1, 17, 300]) {
          const inner = randomBytes(len);
          const aad = randomBytes(28);
          const iv = pair.next();
          assert.equal(iv.length, out.ivLength);
          const body = sealSkBody(pair.outbound, iv, aad, inner);
          assert.deepEqual(body, sealSkBody(out, iv, aad, inner), `outbound ${suite.encrId} ${aeadProvider} responder=${responder}`);
          assert.deepEqual(openSkBody(out, aad, body), inner);
          const peer = sealSkBody(inn, iv, aad, inner);
          assert.deepEqual(openSkBody(pair.inbound, aad, peer), inner, 'inbound opens the peer direction');
          assert.throws(() => openSkBody(pair.inbound, aad, body), (e: unknown) => isGkmError(e, 'GKM_CRYPTO_AUTH_FAILED'), 'not with the outbound key');
        }
        pair.dispose();
      }
      ci.dispose();
      cr.dispose();
    }
  }
});

test('SkCipherPair: AEAD IVs are a counter, CBC IVs random 16 octets', () => {
  const gcm = new SkCipherPair(SUITES[0]!, materialOf(keysFor(SUITES[0]!)), PREFIX, false);
  const a = gcm.next().readBigUInt64BE();
  assert.equal(gcm.next().readBigUInt64BE(), a + 1n);
  assert.ok(a < 1n << 63n);
  const cbc = new SkCipherPair(SUITES[3]!, materialOf(keysFor(SUITES[3]!)), PREFIX, false);
  const x = cbc.next();
  assert.equal(x.length, 16);
  assert.notDeepEqual(x, cbc.next());
});

test('SkCipherPair: dispose() wipes the one shared key buffer (prefix and both directions); views read zeros', () => {
  for (const suite of SUITES) {
    const material = materialOf(keysFor(suite));
    const pair = new SkCipherPair(suite, material, PREFIX, true);
    const prefix = pair.prefix;
    const out = pair.outbound;
    out.sealBody(Buffer.alloc(8), Buffer.alloc(out.ivLength + 16 + out.icvLength)); // in use before
    pair.dispose();
    assert.ok(material.every((b) => b === 0), 'whole allocation zero');
    assert.ok(prefix.every((b) => b === 0), 'SK_d view zero');
    assert.ok(pair.prefix.every((b) => b === 0));
  }
});

test('SkCipherPair: disposing one direction wipes its keys only', () => {
  const suite = SUITES[3]!;
  const k = keysFor(suite);
  const material = materialOf(k);
  const pair = new SkCipherPair(suite, material, PREFIX, false);
  pair.outbound.dispose(); // initiator: SK_ei, SK_ai
  const { encr, integ } = suiteKeySizes(suite);
  assert.ok(material.subarray(PREFIX, PREFIX + encr).every((b) => b === 0));
  assert.ok(material.subarray(PREFIX + 2 * encr, PREFIX + 2 * encr + integ).every((b) => b === 0));
  assert.deepEqual(material.subarray(PREFIX + encr, PREFIX + 2 * encr), k.eR);
  assert.deepEqual(material.subarray(PREFIX + 2 * encr + integ), k.aR);
  assert.deepEqual(pair.prefix, k.skD);
});

test('SkCipherPair: wrong layout or unsupported suite throws, and the adopted buffer is wiped', () => {
  const bad = Buffer.alloc(PREFIX + 10, 0xab);
  assert.throws(() => new SkCipherPair(SUITES[0]!, bad, PREFIX, false), (e: unknown) => isGkmError(e, 'GKM_CRYPTO_BAD_KEY_LENGTH'));
  assert.ok(bad.every((b) => b === 0));
  const pooled = Buffer.from(materialOf(keysFor(SUITES[0]!))); // a slice of the shared pool
  assert.ok(pooled.byteLength < pooled.buffer.byteLength);
  assert.throws(() => new SkCipherPair(SUITES[0]!, pooled, PREFIX, false), (e: unknown) => isGkmError(e, 'GKM_CRYPTO_INTERNAL'));
  assert.ok(pooled.every((b) => b === 0));
  const ctr = Buffer.alloc(PREFIX + 2 * 20, 0xab);
  assert.throws(() => new SkCipherPair({ encrId: EncrId.AES_CTR, keyLengthBits: 128, integId: IntegId.HMAC_SHA2_256_128 }, ctr, PREFIX, false), (e: unknown) => isGkmError(e));
  assert.ok(ctr.every((b) => b === 0));
});
