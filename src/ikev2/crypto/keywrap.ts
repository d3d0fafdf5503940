/**
 * Key Wrap Algorithms for G-IKEv2 (RFC 9838 transform type 13, KWA).
 *
 *   1 KW_5649_128, 2 KW_5649_192, 3 KW_5649_256  AES Key Wrap with Padding, RFC 5649
 *   4 KW_ARX                                      ARX-KW-8-2-4-GX (Satō, IACR ePrint 2020/059)
 *
 * RFC 9838 §4 requires every KWA to wrap at least 256 bytes; this module accepts plaintexts of
 * 1..4096 bytes. Every unwrap failure (bad length, bad integrity/padding) is the same
 * GKM_CRYPTO_KEY_UNWRAP_FAILED with no detail, so a caller can't learn which check failed.
 */
import { createCipheriv, createDecipheriv, timingSafeEqual } from 'node:crypto';
import { GkmError } from '../errors.ts';
import { KwaId } from '../registry/transform.ts';
import { chachaXor, xchachaXor } from './chacha.ts';
import { ikeNativeKeyWrap, NATIVE_KEY_WRAP, type IkeNativeKeyWrap } from './native.ts';
import { siphash24_128 } from './siphash.ts';

export type KwaIdValue = (typeof KwaId)[keyof typeof KwaId];

/** Smallest and largest plaintext accepted by wrap (and produced by unwrap). */
export const KEY_WRAP_MIN_PLAINTEXT = 1;
export const KEY_WRAP_MAX_PLAINTEXT = 4096;

export interface KeyWrap {
  readonly id: KwaIdValue;
  readonly name: string;
  /** KEK length in bytes (the length of GSK_w for this KWA, RFC 9838 §3.1.1). */
  readonly keyLength: number;
  /** Fixed expansion in bytes, when the wrapped length is always plaintext + overhead. */
  readonly overhead?: number;
  /** Length of wrap(kek, p) for a plaintext of `plaintextLength` bytes. */
  wrappedLength(plaintextLength: number): number;
  wrap(kek: Uint8Array, plaintext: Uint8Array): Buffer;
  /** Throws GKM_CRYPTO_KEY_UNWRAP_FAILED on any integrity or format failure. */
  unwrap(kek: Uint8Array, wrapped: Uint8Array): Buffer;
}

function checkKek(kw: KeyWrap, kek: Uint8Array): void {
  if (kek.length !== kw.keyLength) {
    throw new GkmError('GKM_CRYPTO_BAD_KEY_LENGTH', {
      field: 'kek',
      detail: `${kw.name} needs a ${kw.keyLength}-byte KEK, got ${kek.length}`,
    });
  }
}

function checkPlaintext(kw: KeyWrap, plaintext: Uint8Array): void {
  if (plaintext.length < KEY_WRAP_MIN_PLAINTEXT || plaintext.length > KEY_WRAP_MAX_PLAINTEXT) {
    throw new GkmError('GKM_CRYPTO_BAD_KEY_LENGTH', {
      field: 'plaintext',
      detail: `${kw.name} wraps ${KEY_WRAP_MIN_PLAINTEXT}..${KEY_WRAP_MAX_PLAINTEXT} bytes, got ${plaintext.length}`,
    });
  }
}

function unwrapFailed(): GkmError {
  return new GkmError('GKM_CRYPTO_KEY_UNWRAP_FAILED');
}

// ---------------------------------------------------------------------------------------------
// KW_5649: AES Key Wrap with Padding (RFC 5649), on the native addon (ike_keywrap.cc: OpenSSL's
// CRYPTO_128_wrap_pad over AES-NI, one call per key, no cipher object) when it is there, else
// through node:crypto's id-aes*-wrap-pad ciphers. Both give the same octets; both were checked
// against RFC 5649 §6 and Wycheproof. node:crypto's cipher IV is the 4-byte constant half of the
// AIV (RFC 5649 §3: A65959A6 ‖ MLI); OpenSSL appends the 32-bit length itself, and for a padded
// plaintext of 8 bytes it uses the single AES-ECB block of §4.1.

/** Who runs KW_5649: the native addon (default when it loads) or node:crypto. */
export type KeyWrapProvider = 'native' | 'node';

const AIV_CONSTANT = Buffer.from('a65959a6', 'hex');

/** The RFC 5649 wrap and unwrap of one AES key size (length checks are the caller's). */
interface Aes5649 {
  wrap(kek: Uint8Array, plaintext: Uint8Array, wrappedLength: number): Buffer;
  /** undefined when any check fails. */
  unwrap(kek: Uint8Array, wrapped: Uint8Array): Buffer | undefined;
}

function nodeAes5649(bits: 128 | 192 | 256): Aes5649 {
  const cipher = `id-aes${bits}-wrap-pad`;
  return {
    wrap(kek, plaintext) {
      const c = createCipheriv(cipher, kek, AIV_CONSTANT);
      return Buffer.concat([c.update(plaintext), c.final()]);
    },
    unwrap(kek, wrapped) {
      try {
        const d = createDecipheriv(cipher, kek, AIV_CONSTANT);
        return Buffer.concat([d.update(wrapped), d.final()]);
      } catch {
        return undefined; // AIV, MLI or padding check failed (§3); OpenSSL doesn't say which
      }
    },
  };
}

function nativeAes5649(native: IkeNativeKeyWrap): Aes5649 {
  const mode = NATIVE_KEY_WRAP.rfc5649;
  return {
    wrap(kek, plaintext, wrappedLength) {
      const out = Buffer.allocUnsafe(wrappedLength);
      native.keyWrap(mode, kek, plaintext, out);
      return out;
    },
    unwrap(kek, wrapped) {
      const out = Buffer.alloc(wrapped.length); // OpenSSL needs room for the whole input
      const n = native.keyUnwrap(mode, kek, wrapped, out);
      return n < 0 ? undefined : out.subarray(0, n);
    },
  };
}

function kw5649(id: KwaIdValue, bits: 128 | 192 | 256, aes: Aes5649): KeyWrap {
  const kw: KeyWrap = {
    id,
    name: `KW_5649_${bits}`,
    keyLength: bits / 8,
    wrappedLength: (n) => 8 + 8 * Math.ceil(n / 8), // RFC 5649 §4.1
    wrap(kek, plaintext) {
      checkKek(kw, kek);
      checkPlaintext(kw, plaintext);
      try {
        return aes.wrap(kek, plaintext, kw.wrappedLength(plaintext.length));
      } catch (cause) {
        throw new GkmError('GKM_CRYPTO_INTERNAL', { detail: `${kw.name} wrap`, cause });
      }
    },
    unwrap(kek, wrapped) {
      checkKek(kw, kek);
      // RFC 5649 §4.2: at least two semiblocks, a whole number of them.
      const n = wrapped.length;
      if (n < 16 || n % 8 !== 0 || n > kw.wrappedLength(KEY_WRAP_MAX_PLAINTEXT)) throw unwrapFailed();
      const out = aes.unwrap(kek, wrapped);
      if (!out || out.length < KEY_WRAP_MIN_PLAINTEXT) throw unwrapFailed();
      return out;
    },
  };
  return kw;
}

// ---------------------------------------------------------------------------------------------
// KW_ARX: ARX-KW-8-2-4-GX (ePrint 2020/059), output T ‖ C.
//   K1 (16) ‖ K2 (32) = first 48 bytes of ChaCha8(K), original layout, counter 0, nonce 0
//   T = SipHash-2-4-128(K1, P)
//   C = P ⊕ XChaCha8(K2, "arbitrGX" ‖ T)   (HChaCha8 over nonce[0..16], then ChaCha8 with
//                                          64-bit counter from 0 and nonce[16..24])
// RFC 9838 does not fix the byte order of T and C (spec digest §15 #6). We send T ‖ C, the
// blob form of the reference implementation of the paper (mcaveniathor/arx-kw,
// ArxKW::encrypt_blob: tag, then ciphertext). See docs/decisions.md, "Key wrap".

const ARX_TAG = 16;
const GX_PREFIX = Buffer.from('arbitrGX', 'ascii');
const ZERO_NONCE8 = new Uint8Array(8);

function arxSubkeys(kek: Uint8Array): { k1: Buffer; k2: Buffer } {
  const g = chachaXor(kek, ZERO_NONCE8, new Uint8Array(48), 8, 0);
  const k1 = Buffer.from(g.subarray(0, 16));
  const k2 = Buffer.from(g.subarray(16, 48));
  g.fill(0);
  return { k1, k2 };
}

function arxKeystreamXor(k2: Uint8Array, tag: Uint8Array, data: Uint8Array): Buffer {
  return xchachaXor(k2, Buffer.concat([GX_PREFIX, tag]), data, 8);
}

const kwArx: KeyWrap = {
  id: KwaId.KW_ARX,
  name: 'KW_ARX',
  keyLength: 32,
  overhead: ARX_TAG,
  wrappedLength: (n) => n + ARX_TAG,
  wrap(kek, plaintext) {
    checkKek(kwArx, kek);
    checkPlaintext(kwArx, plaintext);
    const { k1, k2 } = arxSubkeys(kek);
    try {
      const tag = siphash24_128(k1, plaintext);
      return Buffer.concat([tag, arxKeystreamXor(k2, tag, plaintext)]);
    } finally {
      k1.fill(0);
      k2.fill(0);
    }
  },
  unwrap(kek, wrapped) {
    checkKek(kwArx, kek);
    const n = wrapped.length - ARX_TAG;
    if (n < KEY_WRAP_MIN_PLAINTEXT || n > KEY_WRAP_MAX_PLAINTEXT) throw unwrapFailed();
    const { k1, k2 } = arxSubkeys(kek);
    try {
      const tag = wrapped.subarray(0, ARX_TAG);
      const p = arxKeystreamXor(k2, tag, wrapped.subarray(ARX_TAG));
      const expected = siphash24_128(k1, p);
      if (!timingSafeEqual(expected, tag)) {
        p.fill(0);
        throw unwrapFailed();
      }
      return p;
    } finally {
      k1.fill(0);
      k2.fill(0);
    }
  },
};

// ---------------------------------------------------------------------------------------------

function keyWraps(aes: (bits: 128 | 192 | 256) => Aes5649): ReadonlyMap<number, KeyWrap> {
  return new Map<number, KeyWrap>([
    [KwaId.KW_5649_128, kw5649(KwaId.KW_5649_128, 128, aes(128))],
    [KwaId.KW_5649_192, kw5649(KwaId.KW_5649_192, 192, aes(192))],
    [KwaId.KW_5649_256, kw5649(KwaId.KW_5649_256, 256, aes(256))],
    [KwaId.KW_ARX, kwArx],
  ]);
}

const NODE_KEY_WRAPS = keyWraps(nodeAes5649);
const NATIVE = ikeNativeKeyWrap();
const NATIVE_KEY_WRAPS = NATIVE ? keyWraps(() => nativeAes5649(NATIVE)) : undefined;

/** The provider getKeyWrap(id) uses by default in this process. */
export const defaultKeyWrapProvider: KeyWrapProvider = NATIVE_KEY_WRAPS ? 'native' : 'node';

/**
 * The KWA for a transform ID; GKM_CRYPTO_UNSUPPORTED for anything else. `provider` picks who
 * runs KW_5649 (tests compare the two); 'native' without the addon's key wrap is
 * GKM_CRYPTO_UNSUPPORTED too.
 */
export function getKeyWrap(id: number, provider: KeyWrapProvider = defaultKeyWrapProvider): KeyWrap {
  const kw = (provider === 'native' ? NATIVE_KEY_WRAPS : NODE_KEY_WRAPS)?.get(id);
  if (!kw) throw new GkmError('GKM_CRYPTO_UNSUPPORTED', { field: 'KWA', detail: `key wrap algorithm ${id}${provider === 'native' ? ' (native)' : ''}` });
  return kw;
}

/** True if getKeyWrap(id) would succeed. */
export function isSupportedKeyWrap(id: number): boolean {
  return NODE_KEY_WRAPS.has(id);
}
