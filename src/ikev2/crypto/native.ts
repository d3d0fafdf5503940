/**
 * The IKE SA crypto of the native addon (native/esp-burst/src/ike_crypto.cc, ike_aead.cc,
 * ike_keywrap.cc): X25519/X448 key pairs and shared secrets (RFC 7748), HMAC / prf+ (RFC 7296
 * §2.13), the SK payload AEADs (RFC 5282, RFC 7634) and AES key wrap (RFC 3394 / RFC 5649, the
 * KW_5649 KWAs) on the OpenSSL inside Node, without node:crypto's
 * per-call KeyObject, cipher object and algorithm look-ups (figures in docs/performance.md,
 * "IKE SA crypto on the native addon").
 *
 * Optional: ke-dh.ts, prf.ts, cipher.ts and keywrap.ts use node:crypto when the addon is not built, fails
 * to load, predates these functions, or GKM_NATIVE_CRYPTO=0 (A/B comparisons). The addon is the same
 * .node file as the datapath's (src/datapath/providers/native/addon.ts takes its path from
 * here); GKM_NATIVE_ADDON may point at a prebuilt one.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { HashName } from './algorithms.ts';

/** Where `node scripts/build-native.mjs` puts the addon. */
export const DEFAULT_NATIVE_ADDON_PATH = fileURLToPath(
  new URL('../../../native/esp-burst/build/Release/gkm_native.node', import.meta.url),
);

/** The addon file to load: GKM_NATIVE_ADDON, else the build output. */
export function nativeAddonPath(env: NodeJS.ProcessEnv = process.env): string {
  return env['GKM_NATIVE_ADDON'] ?? DEFAULT_NATIVE_ADDON_PATH;
}

/** Loads the addon at `path` (Node caches it per path, so every loader shares one instance). */
export function requireNativeAddon(path: string): unknown {
  return createRequire(import.meta.url)(path);
}

/** Curve ids of the xdh* functions. */
export type XdhCurve = 25519 | 448;

/** The `hash` argument of hmac/prfPlus. */
export const NATIVE_HASH: Readonly<Record<HashName, number>> = { sha1: 0, sha256: 1, sha384: 2, sha512: 3 };

/** At most this many parts in one hmac/prfPlus `data` array. */
export const NATIVE_MAX_PARTS = 16;

/** The functions ikev2 uses. Every length is checked natively (TypeError ERR_GKM_NATIVE_ARGS). */
export interface IkeNativeCrypto {
  /** A fresh private key (RAND_priv_bytes, clamped per RFC 7748 §5) and its public value. */
  xdhGenerate(curve: XdhCurve, outPrivate: Uint8Array, outPublic: Uint8Array): void;
  /** The public value of a given private key (known-answer tests). */
  xdhPublic(curve: XdhCurve, privateKey: Uint8Array, outPublic: Uint8Array): void;
  /** X25519/X448(private, peer) into outSecret; false, with outSecret zeroed, for an all-zero result. */
  xdhDerive(curve: XdhCurve, privateKey: Uint8Array, peerPublic: Uint8Array, outSecret: Uint8Array): boolean;
  /** out (exactly the digest size) = HMAC(key, data parts concatenated). */
  hmac(hash: number, key: Uint8Array, data: Uint8Array | readonly Uint8Array[], out: Uint8Array): void;
  /** out = the first out.length octets of prf+(key, seed) over HMAC (at most 255 blocks). */
  prfPlus(hash: number, key: Uint8Array, seed: Uint8Array | readonly Uint8Array[], out: Uint8Array): void;
  /** Whether X25519/X448 run OpenSSL's functions directly (else through EVP_PKEY); HMAC digests found. */
  ikeCryptoInfo(): { x25519Direct: boolean; x448Direct: boolean; hmac: boolean };
}

const FUNCTIONS = ['xdhGenerate', 'xdhPublic', 'xdhDerive', 'hmac', 'prfPlus', 'ikeCryptoInfo'] as const;

/**
 * The addon's IKE functions, or undefined (never throws) when GKM_NATIVE_CRYPTO=0, the file is
 * missing or does not load, or it lacks a function (an older build). Not cached: see ikeNativeCrypto().
 */
export function loadIkeNativeCrypto(env: NodeJS.ProcessEnv = process.env): IkeNativeCrypto | undefined {
  if (env['GKM_NATIVE_CRYPTO'] === '0') return undefined;
  const path = nativeAddonPath(env);
  if (!existsSync(path)) return undefined;
  try {
    const addon = requireNativeAddon(path) as Partial<IkeNativeCrypto>;
    if (!FUNCTIONS.every((f) => typeof addon[f] === 'function')) return undefined;
    return addon.ikeCryptoInfo!().hmac ? (addon as IkeNativeCrypto) : undefined;
  } catch {
    return undefined;
  }
}

let cached: { crypto: IkeNativeCrypto | undefined } | undefined;

/** loadIkeNativeCrypto() once per process (the environment as it was at the first call). */
export function ikeNativeCrypto(): IkeNativeCrypto | undefined {
  cached ??= { crypto: loadIkeNativeCrypto() };
  return cached.crypto;
}

/** The `alg` argument of aeadSeal/aeadOpen. */
export const NATIVE_AEAD = { aesGcm: 0, chacha20Poly1305: 1 } as const;

/**
 * The SK payload AEADs (ike_aead.cc), stateless: the key travels with every call. `material`
 * is SK_e, i.e. key | salt(4) (RFC 5282 §7.1, RFC 7634 §2); the nonce is salt | IV. `body` is
 * IV(8) | data | ICV(icvLength) (RFC 7296 §3.14); `aad` the message up to the SK/SKF body.
 * Lengths and types are checked natively (TypeError ERR_GKM_NATIVE_ARGS).
 */
export interface IkeNativeAead {
  /** Encrypts body's data in place and writes the ICV after it (the IV is already in place). */
  aeadSeal(alg: number, material: Uint8Array, icvLength: number, aad: Uint8Array, body: Uint8Array): void;
  /** out (exactly the data's length) = the plaintext; false, with out zeroed, when the ICV does not verify. */
  aeadOpen(alg: number, material: Uint8Array, icvLength: number, aad: Uint8Array, body: Uint8Array, out: Uint8Array): boolean;
}

let cachedAead: { aead: IkeNativeAead | undefined } | undefined;

/**
 * The addon's AEAD functions once per process, or undefined (GKM_NATIVE_CRYPTO=0, no addon,
 * or an addon built before them: the other IKE functions may still load).
 */
export function ikeNativeAead(env: NodeJS.ProcessEnv = process.env): IkeNativeAead | undefined {
  if (env !== process.env) return loadAead(env);
  cachedAead ??= { aead: loadAead(env) };
  return cachedAead.aead;
}

function loadAead(env: NodeJS.ProcessEnv): IkeNativeAead | undefined {
  return loadPart<IkeNativeAead>(env, ['aeadSeal', 'aeadOpen']);
}

/** The addon when the IKE functions load and it has every one of `names` (a later part of the addon). */
function loadPart<T>(env: NodeJS.ProcessEnv, names: readonly (keyof T & string)[]): T | undefined {
  if (loadIkeNativeCrypto(env) === undefined) return undefined;
  const addon = requireNativeAddon(nativeAddonPath(env)) as Record<string, unknown>;
  return names.every((f) => typeof addon[f] === 'function') ? (addon as T) : undefined;
}

/** The `mode` argument of keyWrap/keyUnwrap. */
export const NATIVE_KEY_WRAP = { rfc3394: 0, rfc5649: 1 } as const;

/**
 * AES key wrap (ike_keywrap.cc): RFC 3394 with its default IV, RFC 5649 with the AIV
 * A65959A6 | MLI (a padded 8-octet plaintext is one AES-ECB block, §4.1), through OpenSSL's
 * wrap code over AES-NI (else its portable AES). Stateless; KEK 16/24/32 octets; lengths and
 * types are checked natively (TypeError ERR_GKM_NATIVE_ARGS).
 */
export interface IkeNativeKeyWrap {
  /**
   * out (exactly the wrapped length: RFC 5649 8 + 8·⌈n/8⌉ for 1 ≤ n; RFC 3394 n + 8 for
   * n ≥ 16, n a multiple of 8) = wrap(kek, plaintext); out must not overlap plaintext.
   */
  keyWrap(mode: number, kek: Uint8Array, plaintext: Uint8Array, out: Uint8Array): void;
  /**
   * Unwraps into out (at least wrapped.length octets); returns the plaintext length (at the
   * start of out), or -1 with out zeroed when the integrity/padding check or the length fails.
   */
  keyUnwrap(mode: number, kek: Uint8Array, wrapped: Uint8Array, out: Uint8Array): number;
  /** Whether the wrap symbols were found in this process, and whether AES-NI runs it. */
  keyWrapInfo(): { available: boolean; aesni: boolean };
}

let cachedKeyWrap: { kw: IkeNativeKeyWrap | undefined } | undefined;

/**
 * The addon's key wrap functions once per process, or undefined (GKM_NATIVE_CRYPTO=0, no
 * addon, an addon built before them, or OpenSSL's wrap/AES symbols missing from this node):
 * keywrap.ts then uses node:crypto.
 */
export function ikeNativeKeyWrap(env: NodeJS.ProcessEnv = process.env): IkeNativeKeyWrap | undefined {
  if (env !== process.env) return loadKeyWrap(env);
  cachedKeyWrap ??= { kw: loadKeyWrap(env) };
  return cachedKeyWrap.kw;
}

function loadKeyWrap(env: NodeJS.ProcessEnv): IkeNativeKeyWrap | undefined {
  const kw = loadPart<IkeNativeKeyWrap>(env, ['keyWrap', 'keyUnwrap', 'keyWrapInfo']);
  return kw?.keyWrapInfo().available ? kw : undefined;
}
