import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isGkmError } from '../../../src/ikev2/errors.ts';
import { KwaId } from '../../../src/ikev2/registry/transform.ts';
import {
  KEY_WRAP_MAX_PLAINTEXT,
  defaultKeyWrapProvider,
  getKeyWrap,
  isSupportedKeyWrap,
  type KeyWrap,
  type KeyWrapProvider,
} from '../../../src/ikev2/crypto/keywrap.ts';
import { chachaBlock, chachaXor, chachaXorIetf, hchacha, xchachaXor } from '../../../src/ikev2/crypto/chacha.ts';
import { siphash24_128 } from '../../../src/ikev2/crypto/siphash.ts';

// ---------------------------------------------------------------------------------------------
// helpers

function loadVectors<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../../vectors/${name}`, import.meta.url), 'utf8')) as T;
}

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

/** Deterministic test bytes: SHA-256 in counter mode over a label. */
function bytes(n: number, label: string): Buffer {
  const out = Buffer.alloc(n);
  for (let off = 0, i = 0; off < n; off += 32, i++) {
    createHash('sha256').update(`${label}/${i}`).digest().copy(out, off);
  }
  return out;
}

const unwrapFailed = (e: unknown): boolean => isGkmError(e, 'GKM_CRYPTO_KEY_UNWRAP_FAILED');

/** KW_5649 runs on node:crypto and, when the addon has its key wrap, natively: both are checked. */
const PROVIDERS: readonly KeyWrapProvider[] = defaultKeyWrapProvider === 'native' ? ['node', 'native'] : ['node'];

const ALL_KWAS: readonly KeyWrap[] = [
  getKeyWrap(KwaId.KW_5649_128),
  getKeyWrap(KwaId.KW_5649_192),
  getKeyWrap(KwaId.KW_5649_256),
  getKeyWrap(KwaId.KW_ARX),
];

/** Every KWA with each KW_5649 provider of this process (the contract tests below run on all). */
const KWAS_UNDER_TEST: readonly KeyWrap[] = [
  ...PROVIDERS.flatMap((p) => [KwaId.KW_5649_128, KwaId.KW_5649_192, KwaId.KW_5649_256].map((id) => getKeyWrap(id, p))),
  getKeyWrap(KwaId.KW_ARX),
];

// ---------------------------------------------------------------------------------------------
// primitives: ChaCha (round-parameterised), HChaCha, SipHash-2-4-128

interface ChachaVectors {
  block: { source: string; rounds: number; layout: 'ietf' | 'original'; key: string; nonce: string; counter: number; keystream: string }[];
  encrypt: { source: string; rounds: number; key: string; nonce: string; counter: number; plaintextAscii: string; ciphertext: string }[];
  hchacha: { source: string; rounds: number; key: string; input: string; subkey: string }[];
}
const chachaVectors = loadVectors<ChachaVectors>('chacha.json');

test('ChaCha block function: RFC 8439 §2.3.2 (20 rounds) and ChaCha8 TC1', () => {
  for (const v of chachaVectors.block) {
    const key = hex(v.key);
    const nonce = hex(v.nonce);
    const out =
      v.layout === 'ietf'
        ? chachaXorIetf(key, nonce, v.counter, Buffer.alloc(64), v.rounds)
        : chachaXor(key, nonce, Buffer.alloc(64), v.rounds, v.counter);
    assert.equal(out.toString('hex'), v.keystream, v.source);
  }
  // The same block through the raw block function (state words 12..15 given directly).
  const tc1 = chachaVectors.block.find((v) => v.rounds === 8);
  assert.ok(tc1);
  assert.equal(chachaBlock(hex(tc1.key), [0, 0, 0, 0], 8).toString('hex'), tc1.keystream);
});

test('ChaCha20 encryption: RFC 8439 §2.4.2 (multi-block, partial last block)', () => {
  for (const v of chachaVectors.encrypt) {
    const ct = chachaXorIetf(hex(v.key), hex(v.nonce), v.counter, Buffer.from(v.plaintextAscii, 'ascii'), v.rounds);
    assert.equal(ct.toString('hex'), v.ciphertext, v.source);
    const pt = chachaXorIetf(hex(v.key), hex(v.nonce), v.counter, ct, v.rounds);
    assert.equal(pt.toString('ascii'), v.plaintextAscii);
  }
});

test('ChaCha layouts agree while the counter fits 32 bits and nonce word 13 is zero', () => {
  const key = bytes(32, 'layout-key');
  const n8 = bytes(8, 'layout-nonce');
  const data = bytes(200, 'layout-data');
  const original = chachaXor(key, n8, data, 8, 3);
  const ietf = chachaXorIetf(key, Buffer.concat([Buffer.alloc(4), n8]), 3, data, 8);
  assert.deepEqual(original, ietf);
});

test('HChaCha20: draft-irtf-cfrg-xchacha-03 §2.2.1', () => {
  for (const v of chachaVectors.hchacha) {
    assert.equal(hchacha(hex(v.key), hex(v.input), v.rounds).toString('hex'), v.subkey, v.source);
  }
});

test('XChaCha = HChaCha subkey + ChaCha(counter 0, nonce[16..24]), same rounds', () => {
  const key = bytes(32, 'x-key');
  const nonce = bytes(24, 'x-nonce');
  const data = bytes(130, 'x-data');
  for (const rounds of [8, 20]) {
    const sub = hchacha(key, nonce.subarray(0, 16), rounds);
    assert.deepEqual(xchachaXor(key, nonce, data, rounds), chachaXor(sub, nonce.subarray(16), data, rounds, 0));
  }
});

test('ChaCha rejects bad parameters', () => {
  assert.throws(() => chachaBlock(Buffer.alloc(32), [0, 0, 0, 0], 7), RangeError);
  assert.throws(() => chachaBlock(Buffer.alloc(16), [0, 0, 0, 0], 8), RangeError);
  assert.throws(() => chachaXor(Buffer.alloc(32), Buffer.alloc(12), Buffer.alloc(1), 8), RangeError);
  assert.throws(() => chachaXorIetf(Buffer.alloc(32), Buffer.alloc(12), 0xffffffff, Buffer.alloc(65)), RangeError);
});

interface SipVectors {
  source: { repository: string; commit: string };
  key: string;
  tests: { length: number; out: string }[];
}

test('SipHash-2-4-128: reference vectors (veorq/SipHash vectors_sip128)', () => {
  const v = loadVectors<SipVectors>('siphash24_128.json');
  assert.ok(v.tests.length >= 10);
  for (const t of v.tests) {
    const msg = Buffer.from(Array.from({ length: t.length }, (_, i) => i));
    assert.equal(siphash24_128(hex(v.key), msg).toString('hex'), t.out, `length ${t.length}`);
  }
  assert.throws(() => siphash24_128(Buffer.alloc(8), Buffer.alloc(0)), RangeError);
});

// ---------------------------------------------------------------------------------------------
// KW_ARX (ARX-KW-8-2-4-GX)

interface ArxVectors {
  tests: { key: string; plaintext: string; tag: string; nonce: string; ciphertext: string; blob: string }[];
}

test('KW_ARX: ePrint 2020/059 vector, output T ‖ C', () => {
  const arx = getKeyWrap(KwaId.KW_ARX);
  for (const v of loadVectors<ArxVectors>('arx_kw.json').tests) {
    assert.equal(v.blob, v.tag + v.ciphertext);
    assert.equal(v.nonce, Buffer.from('arbitrGX', 'ascii').toString('hex') + v.tag);
    const wrapped = arx.wrap(hex(v.key), hex(v.plaintext));
    assert.equal(wrapped.toString('hex'), v.blob);
    assert.equal(arx.unwrap(hex(v.key), hex(v.blob)).toString('hex'), v.plaintext);
  }
});

// ---------------------------------------------------------------------------------------------
// KW_5649 (AES Key Wrap with Padding)

interface Rfc5649Vectors {
  tests: { comment: string; kek: string; key: string; wrap: string }[];
}

test('KW_5649: RFC 5649 §6 examples', () => {
  const v = loadVectors<Rfc5649Vectors>('rfc5649.json');
  assert.equal(v.tests.length, 2);
  for (const provider of PROVIDERS) {
    const kw = getKeyWrap(KwaId.KW_5649_192, provider);
    for (const t of v.tests) {
      assert.equal(kw.wrap(hex(t.kek), hex(t.key)).toString('hex'), t.wrap, `${provider}: ${t.comment}`);
      assert.equal(kw.unwrap(hex(t.kek), hex(t.wrap)).toString('hex'), t.key, `${provider}: ${t.comment}`);
    }
  }
});

interface WycheproofKwp {
  source: { repository: string; path: string; commit: string };
  numberOfTests: number;
  testGroups: {
    keySize: number;
    tests: { tcId: number; comment: string; flags: string[]; key: string; msg: string; ct: string; result: 'valid' | 'invalid' | 'acceptable' }[];
  }[];
}

const KWP_BY_KEY_SIZE: Record<number, number> = {
  128: KwaId.KW_5649_128,
  192: KwaId.KW_5649_192,
  256: KwaId.KW_5649_256,
};

for (const provider of PROVIDERS) test(`KW_5649 (${provider}): Wycheproof aes_kwp_test.json subset`, () => {
  const v = loadVectors<WycheproofKwp>('wycheproof_aes_kwp.json');
  let valid = 0;
  let invalid = 0;
  for (const g of v.testGroups) {
    const id = KWP_BY_KEY_SIZE[g.keySize];
    assert.ok(id !== undefined, `key size ${g.keySize}`);
    const kw = getKeyWrap(id, provider);
    for (const t of g.tests) {
      const name = `${provider} tcId ${t.tcId} (${t.comment})`;
      const kek = hex(t.key);
      let unwrapped: Buffer | null = null;
      try {
        unwrapped = kw.unwrap(kek, hex(t.ct));
      } catch (e) {
        assert.ok(unwrapFailed(e), `${name}: unexpected error ${String(e)}`);
      }
      if (t.result === 'valid') {
        valid++;
        assert.equal(unwrapped?.toString('hex'), t.msg, name);
        assert.equal(kw.wrap(kek, hex(t.msg)).toString('hex'), t.ct, name);
      } else if (t.result === 'invalid') {
        invalid++;
        assert.equal(unwrapped, null, `${name}: must not unwrap`);
      } else if (unwrapped !== null) {
        // "acceptable": either outcome is fine, but a success must yield the message.
        assert.equal(unwrapped.toString('hex'), t.msg, name);
      }
    }
  }
  assert.equal(valid + invalid, v.numberOfTests);
  assert.ok(valid >= 40 && invalid >= 40, `valid ${valid}, invalid ${invalid}`);
});

test('KW_5649: n ≤ 8 is one AES-ECB block of AIV ‖ padded P (RFC 5649 §4.1)', () => {
  for (const [bits, id, provider] of PROVIDERS.flatMap((p) => [[128, KwaId.KW_5649_128, p], [192, KwaId.KW_5649_192, p], [256, KwaId.KW_5649_256, p]] as const)) {
    const kw = getKeyWrap(id, provider);
    const kek = bytes(bits / 8, `ecb-kek-${bits}`);
    for (let n = 1; n <= 8; n++) {
      const p = bytes(n, `ecb-p-${n}`);
      const aiv = Buffer.from([0xa6, 0x59, 0x59, 0xa6, 0, 0, 0, n]);
      const block = Buffer.concat([aiv, p, Buffer.alloc(8 - n)]);
      const ecb = createCipheriv(`aes-${bits}-ecb`, kek, null).setAutoPadding(false);
      const expected = Buffer.concat([ecb.update(block), ecb.final()]);
      assert.deepEqual(kw.wrap(kek, p), expected, `AES-${bits}, n=${n}`);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// all KWAs: contract, round trips, tampering, errors

test('registry: ids, key lengths, overhead; unknown ids are unsupported', () => {
  assert.deepEqual(
    ALL_KWAS.map((k) => [k.id, k.name, k.keyLength]),
    [
      [1, 'KW_5649_128', 16],
      [2, 'KW_5649_192', 24],
      [3, 'KW_5649_256', 32],
      [4, 'KW_ARX', 32],
    ],
  );
  assert.equal(getKeyWrap(KwaId.KW_ARX).overhead, 16);
  for (const id of [0, 5, 1023, 1024, 65535, -1, 1.5]) {
    assert.equal(isSupportedKeyWrap(id), false);
    assert.throws(() => getKeyWrap(id), (e) => isGkmError(e, 'GKM_CRYPTO_UNSUPPORTED'));
  }
});

test('round trips for every KWA at sizes 1..300, plus 4096', () => {
  for (const kw of KWAS_UNDER_TEST) {
    const kek = bytes(kw.keyLength, `rt-kek-${kw.name}`);
    for (const n of [...Array.from({ length: 300 }, (_, i) => i + 1), KEY_WRAP_MAX_PLAINTEXT]) {
      const p = bytes(n, `rt-p-${n}`);
      const w = kw.wrap(kek, p);
      assert.equal(w.length, kw.wrappedLength(n), `${kw.name} n=${n}`);
      if (kw.overhead !== undefined) assert.equal(w.length, n + kw.overhead);
      assert.deepEqual(kw.unwrap(kek, w), p, `${kw.name} n=${n}`);
    }
  }
  // Example from the spec digest §5: 96 bytes of KEYMAT under KW_5649_256 become 104 bytes.
  assert.equal(getKeyWrap(KwaId.KW_5649_256).wrappedLength(96), 104);
});

test('tampering with any byte, truncating, extending or using another KEK fails unwrap', () => {
  for (const kw of KWAS_UNDER_TEST) {
    const kek = bytes(kw.keyLength, `tamper-kek-${kw.name}`);
    const otherKek = bytes(kw.keyLength, `tamper-other-${kw.name}`);
    for (const n of [1, 8, 9, 36, 256]) {
      const w = kw.wrap(kek, bytes(n, `tamper-p-${n}`));
      for (let i = 0; i < w.length; i++) {
        for (const mask of [0x01, 0x80]) {
          const t = Buffer.from(w);
          t[i] = t[i]! ^ mask;
          assert.throws(() => kw.unwrap(kek, t), unwrapFailed, `${kw.name} n=${n} byte ${i}`);
        }
      }
      assert.throws(() => kw.unwrap(kek, w.subarray(0, w.length - 1)), unwrapFailed);
      assert.throws(() => kw.unwrap(kek, w.subarray(0, w.length - 8)), unwrapFailed);
      assert.throws(() => kw.unwrap(kek, Buffer.concat([w, Buffer.alloc(8)])), unwrapFailed);
      assert.throws(() => kw.unwrap(otherKek, w), unwrapFailed);
    }
    for (const len of [0, 1, 8, 15, 16]) {
      assert.throws(() => kw.unwrap(kek, Buffer.alloc(len)), unwrapFailed, `${kw.name} len ${len}`);
    }
  }
});

test('unwrap failures all look the same', () => {
  for (const kw of KWAS_UNDER_TEST) {
    const kek = bytes(kw.keyLength, `same-${kw.name}`);
    const w = kw.wrap(kek, bytes(32, 'same-p'));
    const bad = Buffer.from(w);
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 1;
    const messages = new Set<string>();
    for (const input of [bad, w.subarray(0, 5), Buffer.alloc(w.length)]) {
      try {
        kw.unwrap(kek, input);
        assert.fail('unwrap should fail');
      } catch (e) {
        assert.ok(unwrapFailed(e));
        assert.ok(e instanceof Error);
        assert.equal((e as { field?: string }).field, undefined);
        messages.add(e.message);
      }
    }
    assert.equal(messages.size, 1, kw.name);
  }
});

test('KEK and plaintext length checks', () => {
  const badKey = (field: string) => (e: unknown) => isGkmError(e, 'GKM_CRYPTO_BAD_KEY_LENGTH') && e.field === field;
  for (const kw of KWAS_UNDER_TEST) {
    const kek = bytes(kw.keyLength, `len-${kw.name}`);
    for (const len of [0, kw.keyLength - 1, kw.keyLength + 1, 64]) {
      assert.throws(() => kw.wrap(Buffer.alloc(len), Buffer.alloc(16)), badKey('kek'), `${kw.name} kek ${len}`);
      assert.throws(() => kw.unwrap(Buffer.alloc(len), Buffer.alloc(40)), badKey('kek'), `${kw.name} kek ${len}`);
    }
    assert.throws(() => kw.wrap(kek, Buffer.alloc(0)), badKey('plaintext'));
    assert.throws(() => kw.wrap(kek, Buffer.alloc(KEY_WRAP_MAX_PLAINTEXT + 1)), badKey('plaintext'));
    // Over-long wrapped input is refused before any work is done.
    assert.throws(() => kw.unwrap(kek, Buffer.alloc(kw.wrappedLength(KEY_WRAP_MAX_PLAINTEXT) + 8)), unwrapFailed);
  }
});
