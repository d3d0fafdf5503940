/**
 * The native AES key wrap (native/esp-burst/src/ike_keywrap.cc through src/ikev2/crypto/native.ts):
 * RFC 3394 §4 and RFC 5649 §6 published vectors, the Wycheproof KWP subset, agreement with
 * node:crypto's id-aes*-wrap(-pad) at every length and KEK size, hostile arguments, the
 * portable-AES path (no AES-NI) and the fallback. keywrap.test.ts runs the KWA contract on both
 * providers. Like native.test.ts, these run where the addon has its key wrap (or must: CI,
 * GKM_REQUIRE_NATIVE=1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { defaultKeyWrapProvider, getKeyWrap } from '../../../src/ikev2/crypto/keywrap.ts';
import { ikeNativeKeyWrap, NATIVE_KEY_WRAP, nativeAddonPath } from '../../../src/ikev2/crypto/native.ts';
import { isGkmError } from '../../../src/ikev2/errors.ts';
import { KwaId } from '../../../src/ikev2/registry/transform.ts';
import { hex, loadVectors } from './vectors.ts';

const native = ikeNativeKeyWrap();
const required = process.env['GKM_REQUIRE_NATIVE'] === '1' || process.env['CI'] !== undefined;
const skip = !native && !required && 'native key wrap not in the addon (node scripts/build-native.mjs)';
const { rfc3394: KW, rfc5649: KWP } = NATIVE_KEY_WRAP;

/** Deterministic test bytes: SHA-256 in counter mode over a label. */
function bytes(n: number, label: string): Buffer {
  const out = Buffer.alloc(n + 32);
  for (let off = 0, i = 0; off < n; off += 32, i++) createHash('sha256').update(`${label}/${i}`).digest().copy(out, off);
  return out.subarray(0, n);
}

/** node:crypto's RFC 3394 / RFC 5649 wrap (OpenSSL's id-aes*-wrap and id-aes*-wrap-pad ciphers). */
function nodeWrap(mode: number, kek: Buffer, p: Buffer): Buffer {
  const bits = kek.length * 8;
  const c = mode === KW ? createCipheriv(`id-aes${bits}-wrap`, kek, Buffer.from('a6a6a6a6a6a6a6a6', 'hex')) : createCipheriv(`id-aes${bits}-wrap-pad`, kek, Buffer.from('a65959a6', 'hex'));
  return Buffer.concat([c.update(p), c.final()]);
}

const wrappedLength = (mode: number, n: number): number => (mode === KW ? n + 8 : 8 + 8 * Math.ceil(n / 8));

function wrap(mode: number, kek: Buffer, p: Buffer): Buffer {
  const out = Buffer.alloc(wrappedLength(mode, p.length));
  native!.keyWrap(mode, kek, p, out);
  return out;
}

/** The plaintext, or null when the native unwrap refuses (then out must be all zero). */
function unwrap(mode: number, kek: Buffer, w: Buffer): Buffer | null {
  const out = Buffer.alloc(w.length, 0xee);
  const n = native!.keyUnwrap(mode, kek, w, out);
  if (n < 0) {
    assert.ok(out.every((b) => b === 0), 'a refused unwrap leaves no output');
    return null;
  }
  return out.subarray(0, n);
}

// RFC 3394 §4.1-4.6 (KEK 000102…, key data 00112233…).
const KEK_256 = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
const DATA_256 = hex('00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f');
const RFC3394: readonly { section: string; kek: number; data: number; ct: string }[] = [
  { section: '4.1', kek: 16, data: 16, ct: '1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5' },
  { section: '4.2', kek: 24, data: 16, ct: '96778b25ae6ca435f92b5b97c050aed2468ab8a17ad84e5d' },
  { section: '4.3', kek: 32, data: 16, ct: '64e8c3f9ce0f5ba263e9777905818a2a93c8191e7d6e8ae7' },
  { section: '4.4', kek: 24, data: 24, ct: '031d33264e15d33268f24ec260743edce1c6c7ddee725a936ba814915c6762d2' },
  { section: '4.5', kek: 32, data: 24, ct: 'a8f9bc1612c68b3ff6e6f4fbe30e71e4769c8b80a32cb8958cd5d17d6b254da1' },
  { section: '4.6', kek: 32, data: 32, ct: '28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21' },
];

test('the addon has its key wrap where CI requires it; keywrap.ts uses it by default then', { skip }, () => {
  assert.ok(native, 'GKM_REQUIRE_NATIVE=1 but the addon has no key wrap');
  assert.equal(native.keyWrapInfo().available, true);
  assert.equal(defaultKeyWrapProvider, 'native');
});

test('RFC 3394 §4 vectors: wrap and unwrap, and node:crypto agrees', { skip }, () => {
  for (const v of RFC3394) {
    const kek = KEK_256.subarray(0, v.kek);
    const data = DATA_256.subarray(0, v.data);
    assert.equal(wrap(KW, kek, data).toString('hex'), v.ct, `§${v.section}`);
    assert.equal(nodeWrap(KW, kek, data).toString('hex'), v.ct, `§${v.section} (node:crypto)`);
    assert.deepEqual(unwrap(KW, kek, hex(v.ct)), data, `§${v.section}`);
    const bad = hex(v.ct);
    bad[3] = bad[3]! ^ 0x10;
    assert.equal(unwrap(KW, kek, bad), null, `§${v.section} tampered`);
  }
});

test('RFC 5649 §6 vectors and the Wycheproof KWP subset', { skip }, () => {
  const rfc = loadVectors<{ tests: { comment: string; kek: string; key: string; wrap: string }[] }>('rfc5649.json');
  for (const t of rfc.tests) {
    assert.equal(wrap(KWP, hex(t.kek), hex(t.key)).toString('hex'), t.wrap, t.comment);
    assert.equal(unwrap(KWP, hex(t.kek), hex(t.wrap))?.toString('hex'), t.key, t.comment);
  }
  const w = loadVectors<{ testGroups: { tests: { tcId: number; key: string; msg: string; ct: string; result: string }[] }[] }>('wycheproof_aes_kwp.json');
  let cases = 0;
  for (const t of w.testGroups.flatMap((g) => g.tests)) {
    const got = unwrap(KWP, hex(t.key), hex(t.ct));
    if (t.result === 'valid') {
      assert.equal(got?.toString('hex'), t.msg, `tcId ${t.tcId}`);
      assert.equal(wrap(KWP, hex(t.key), hex(t.msg)).toString('hex'), t.ct, `tcId ${t.tcId}`);
    } else if (t.result === 'invalid') {
      assert.equal(got, null, `tcId ${t.tcId} must not unwrap`);
    } else if (got !== null) {
      assert.equal(got.toString('hex'), t.msg, `tcId ${t.tcId}`);
    }
    cases++;
  }
  assert.ok(cases >= 100);
});

test('native = node:crypto for every KEK size, RFC 5649 at 1..520 octets, RFC 3394 at 16..520', { skip }, () => {
  for (const kekLength of [16, 24, 32]) {
    const kek = bytes(kekLength, `eq-kek-${kekLength}`);
    for (let n = 1; n <= 520; n++) {
      const p = bytes(n, `eq-p-${n}`);
      const w = wrap(KWP, kek, p);
      assert.deepEqual(w, nodeWrap(KWP, kek, p), `KWP kek ${kekLength} n=${n}`);
      assert.deepEqual(unwrap(KWP, kek, w), p);
      if (n >= 16 && n % 8 === 0) {
        const w3394 = wrap(KW, kek, p);
        assert.deepEqual(w3394, nodeWrap(KW, kek, p), `KW kek ${kekLength} n=${n}`);
        assert.deepEqual(unwrap(KW, kek, w3394), p);
        assert.equal(unwrap(KWP, kek, w3394), null, 'an RFC 3394 wrap is not an RFC 5649 one');
      }
    }
  }
});

test('getKeyWrap: the native and node:crypto KW_5649 give the same octets', { skip }, () => {
  for (const id of [KwaId.KW_5649_128, KwaId.KW_5649_192, KwaId.KW_5649_256]) {
    const n = getKeyWrap(id, 'native');
    const o = getKeyWrap(id, 'node');
    const kek = bytes(n.keyLength, `gk-${id}`);
    for (const len of [1, 7, 8, 9, 16, 32, 36, 96, 4096]) {
      const p = bytes(len, `gk-p-${len}`);
      assert.deepEqual(n.wrap(kek, p), o.wrap(kek, p));
      assert.deepEqual(o.unwrap(kek, n.wrap(kek, p)), p);
      assert.deepEqual(n.unwrap(kek, o.wrap(kek, p)), p);
    }
  }
});

test('hostile arguments throw ERR_GKM_NATIVE_ARGS before any work', { skip }, () => {
  const n = native!;
  const code = (e: unknown): boolean => (e as { code?: string }).code === 'ERR_GKM_NATIVE_ARGS';
  const b = (len: number): Buffer => Buffer.alloc(len, 1);
  assert.throws(() => n.keyWrap(2, b(32), b(32), b(40)), code); // no such mode
  assert.throws(() => n.keyWrap(KWP, b(20), b(32), b(40)), code); // KEK size
  assert.throws(() => n.keyWrap(KWP, b(32), b(0), b(8)), code); // empty plaintext
  assert.throws(() => n.keyWrap(KWP, b(32), b(32), b(39)), code); // wrong out length
  assert.throws(() => n.keyWrap(KWP, b(32), b(32), b(48)), code);
  assert.throws(() => n.keyWrap(KW, b(32), b(20), b(28)), code); // RFC 3394: multiple of 8
  assert.throws(() => n.keyWrap(KW, b(32), b(8), b(16)), code); // RFC 3394: at least 16
  assert.throws(() => n.keyWrap(KWP, b(32), 'x' as unknown as Uint8Array, b(40)), code);
  assert.throws(() => n.keyWrap(KWP, b(32), b(32), new Uint16Array(20) as unknown as Uint8Array), code);
  assert.throws(() => (n.keyWrap as (...a: unknown[]) => void)(KWP, b(32), b(32)), code);
  const shared = Buffer.alloc(80);
  assert.throws(() => n.keyWrap(KWP, b(32), shared.subarray(0, 32), shared.subarray(24, 64)), code); // overlap
  assert.throws(() => n.keyUnwrap(KWP, b(32), b(40), b(39)), code); // out shorter than the input
  assert.throws(() => n.keyUnwrap(KWP, b(32), shared.subarray(0, 40), shared.subarray(8, 48)), code);
  assert.throws(() => n.keyUnwrap(KWP, b(32), b(2 << 20), b(2 << 20)), code); // over the bound
  // Impossible lengths are refusals, not errors.
  for (const len of [0, 1, 8, 15, 17, 23]) assert.equal(n.keyUnwrap(KWP, b(32), b(len), b(Math.max(len, 1))), -1, `KWP ${len}`);
  for (const len of [0, 8, 16, 20]) assert.equal(n.keyUnwrap(KW, b(32), b(len), b(Math.max(len, 1))), -1, `KW ${len}`);
});

test('the portable AES path (GKM_NATIVE_NO_AESNI_KW) gives the same octets', { skip }, () => {
  const script = `
    import { ikeNativeKeyWrap } from ${JSON.stringify(new URL('../../../src/ikev2/crypto/native.ts', import.meta.url).href)};
    const n = ikeNativeKeyWrap();
    const kek = Buffer.alloc(32, 7), p = Buffer.alloc(36, 9), out = Buffer.alloc(48), back = Buffer.alloc(48);
    n.keyWrap(1, kek, p, out);
    const len = n.keyUnwrap(1, kek, out, back);
    console.log(JSON.stringify({ info: n.keyWrapInfo(), wrapped: out.toString('hex'), back: back.subarray(0, len).toString('hex') }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, GKM_NATIVE_NO_AESNI_KW: '1', GKM_NATIVE_ADDON: nativeAddonPath() },
    encoding: 'utf8',
    cwd: fileURLToPath(new URL('../../..', import.meta.url)),
  });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout.trim()) as { info: { available: boolean; aesni: boolean }; wrapped: string; back: string };
  assert.deepEqual(got.info, { available: true, aesni: false });
  assert.equal(got.wrapped, nodeWrap(KWP, Buffer.alloc(32, 7), Buffer.alloc(36, 9)).toString('hex'));
  assert.equal(got.back, Buffer.alloc(36, 9).toString('hex'));
});

test('fallback: no native key wrap with GKM_NATIVE_CRYPTO=0 or without the addon; node:crypto serves KW_5649', () => {
  assert.equal(ikeNativeKeyWrap({ ...process.env, GKM_NATIVE_CRYPTO: '0' }), undefined);
  assert.equal(ikeNativeKeyWrap({ ...process.env, GKM_NATIVE_ADDON: '/nonexistent/gkm_native.node' }), undefined);
  const kw = getKeyWrap(KwaId.KW_5649_256, 'node');
  assert.equal(kw.wrap(KEK_256, DATA_256).length, 40);
  if (!native) {
    assert.equal(defaultKeyWrapProvider, 'node');
    assert.throws(() => getKeyWrap(KwaId.KW_5649_256, 'native'), (e) => isGkmError(e, 'GKM_CRYPTO_UNSUPPORTED'));
  }
});
