/**
 * Diffie-Hellman groups on OpenSSL: Curve25519/Curve448 (RFC 8031) through the native addon
 * when it is loaded (native.ts; node:crypto otherwise), ECP-256/384/521 (RFC 5903) and
 * MODP-2048 (RFC 3526 group 14) through node:crypto.
 *
 * Each group turns a private key into a key pair whose public value is already in IKE
 * KE-payload form, and derives the shared secret g^ir from the peer's KE data. Every
 * invalid peer value maps to GKM_CRYPTO_INVALID_KE. Lengths are checked by the caller (ke.ts).
 */
import {
  createDiffieHellman,
  createDiffieHellmanGroup,
  createECDH,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { GkmError } from '../errors.ts';
import { keyPairPool, type AheadSecret, type DeriveRecipe, type KdfInput, type KeyPairPool, type KeyPairSource } from './keypair-pool.ts';
import { ikeNativeCrypto, nativeAddonPath, type IkeNativeCrypto } from './native.ts';
import { isLowOrder } from './xdh-low-order.ts';
import { wipe } from './zeroize.ts';

export interface DhKeyPair {
  /** Our public value as carried in the KE payload. */
  readonly publicData: Buffer;
  /** g^ir from the peer's KE data; throws GKM_CRYPTO_INVALID_KE on an invalid peer value. */
  derive(peerData: Buffer): Buffer;
  /**
   * g^ir computed later, off the event loop when possible (X25519/X448 on the addon with the
   * key-pair pool's worker): invalid peer values are refused now (GKM_CRYPTO_INVALID_KE), the
   * secret is taken once with DeferredSecret.take(). The pair must not be disposed before
   * that: the DeferredSecret owns it (take() and dispose() dispose the pair).
   */
  deriveLater?(peerData: Buffer, kdf?: SecretKdf): DeferredSecret;
  /** Drops the private key (OpenSSL keeps its own copy until the object is collected). */
  dispose(): void;
}

/**
 * Keys instead of the secret: prf+(prf(key, g^ir), seed) of `length` octets with the addon's
 * HMAC `hash` (`digestSize` its output): RFC 7296 §2.14 SKEYSEED and SK_* when key = Ni | Nr
 * and seed = Ni | Nr | SPIi | SPIr. g^ir then never leaves the worker (or this module).
 */
export interface SecretKdf {
  readonly hash: number;
  readonly digestSize: number;
  readonly length: number;
  readonly key: Buffer;
  readonly seed: Buffer;
}

/** A shared secret to take once, when the keys are needed (DhKeyPair.deriveLater). */
export interface DeferredSecret {
  /** take() returns the SecretKdf output rather than the secret. */
  readonly derivedKeys: boolean;
  /** The secret, or the keys (the caller wipes them); throws GKM_CRYPTO_INVALID_KE like derive(). Once. */
  take(): Buffer;
  /** Not needed: wipes what is held. Idempotent; implied by take(). */
  dispose(): void;
}

export interface DhGroup {
  readonly publicLength: number;
  readonly secretLength: number;
  /** A fresh key pair, or (known-answer tests only) the pair for a given private key. */
  generate(privateKey?: Buffer): DhKeyPair;
}

const invalidKe = (detail: string, cause?: unknown): GkmError =>
  new GkmError('GKM_CRYPTO_INVALID_KE', { field: 'KE.data', detail, cause });

// --- Curve25519 / Curve448 (RFC 7748, RFC 8031) ---------------------------------------

export type XdhCurveName = 'x25519' | 'x448';

const XDH = {
  x25519: { size: 32, oidLastByte: 0x6e, id: 25519 },
  x448: { size: 56, oidLastByte: 0x6f, id: 448 },
} as const;

/** RFC 7748 §6, RFC 8031 §2: an all-zero shared secret MUST be rejected. */
const allZero = (curve: XdhCurveName): GkmError => invalidKe(`${curve} shared secret is all zero`);

/**
 * X25519 / X448 on the native addon (one call per key pair and one per shared secret). The
 * private key lives in a Buffer of its own (not Node's shared pool) that dispose() wipes.
 * A fresh pair comes from `pairs` (the key-pair pool's worker, keypair-pool.ts) when it has
 * one ready, else from the addon here. Exported for tests; dhGroups picks it when the addon
 * is loaded.
 */
export function nativeXdhGroup(curve: XdhCurveName, native: IkeNativeCrypto, pairs?: KeyPairSource, ahead?: DeriveAhead): DhGroup {
  const { size, id } = XDH[curve];
  const secretRecipe: DeriveRecipe | undefined = ahead && { addon: ahead.addon, curve: id, size };
  const check = (peerData: Buffer): void => {
    if (peerData.length !== size) throw invalidKe(`${curve} public value of ${peerData.length} octets`);
  };
  const deriveWith = (privateKey: Buffer, peerData: Buffer): Buffer => {
    const secret = Buffer.alloc(size);
    if (!native.xdhDerive(id, privateKey, peerData, secret)) throw allZero(curve);
    return secret;
  };
  /** SecretKdf on the event loop (wipes `secret`). */
  const keysFrom = (secret: Buffer, kdf: SecretKdf): Buffer => {
    const seed = Buffer.allocUnsafeSlow(kdf.digestSize);
    try {
      native.hmac(kdf.hash, kdf.key, secret, seed);
      const keys = Buffer.allocUnsafeSlow(kdf.length);
      native.prfPlus(kdf.hash, seed, kdf.seed, keys);
      return keys;
    } finally {
      wipe(secret);
      wipe(seed);
    }
  };
  const fresh = (): { privateKey: Buffer; publicData: Buffer } => {
    const pooled = pairs?.take();
    if (pooled) return pooled;
    const pair = { privateKey: Buffer.alloc(size), publicData: Buffer.allocUnsafe(size) };
    native.xdhGenerate(id, pair.privateKey, pair.publicData);
    return pair;
  };
  return {
    publicLength: size,
    secretLength: size,
    generate(privateKeyRaw) {
      let privateKey: Buffer | undefined;
      let publicData: Buffer;
      if (privateKeyRaw) {
        if (privateKeyRaw.length !== size) {
          throw new GkmError('GKM_CRYPTO_BAD_KEY_LENGTH', { detail: `${curve} private key of ${privateKeyRaw.length} octets` });
        }
        privateKey = Buffer.alloc(size);
        privateKeyRaw.copy(privateKey);
        publicData = Buffer.allocUnsafe(size);
        native.xdhPublic(id, privateKey, publicData);
      } else {
        ({ privateKey, publicData } = fresh());
      }
      const disposed = (): GkmError => new GkmError('GKM_CRYPTO_INTERNAL', { detail: 'key pair already disposed' });
      const pair: DhKeyPair = {
        publicData,
        derive(peerData) {
          if (!privateKey) throw disposed();
          check(peerData);
          return deriveWith(privateKey, peerData);
        },
        deriveLater(peerData, kdf) {
          if (!privateKey) throw disposed();
          check(peerData);
          if (isLowOrder(curve, peerData)) throw allZero(curve); // RFC 7748 §6, refused now
          const key = privateKey;
          const recipe: DeriveRecipe = kdf ? { ...secretRecipe!, kdf: { hash: kdf.hash, digestSize: kdf.digestSize, length: kdf.length } } : secretRecipe!;
          const job = ahead!.start(recipe, key, peerData, kdf && { key: kdf.key, seed: kdf.seed });
          let done = false;
          return {
            derivedKeys: kdf !== undefined,
            take() {
              if (done) throw disposed();
              done = true;
              try {
                const ready = job?.take(); // the worker refused an all-zero secret: derived (and refused) here
                if (ready) return ready;
                const secret = deriveWith(key, peerData);
                return kdf ? keysFrom(secret, kdf) : secret;
              } finally {
                pair.dispose();
              }
            },
            dispose() {
              job?.cancel();
              done = true;
              pair.dispose();
            },
          };
        },
        dispose() {
          wipe(privateKey);
          privateKey = undefined;
        },
      };
      return ahead ? pair : { publicData, derive: pair.derive, dispose: pair.dispose };
    },
  };
}

/**
 * X25519 / X448 on node:crypto (without the addon). Raw public values are JWK `x` members
 * (RFC 8037 §2); a fixed private key (known-answer
 * tests) is wrapped in the PKCS#8 prefix for id-X25519 (1.3.101.110) / id-X448
 * (1.3.101.111), RFC 8410 §7.
 */
export function nodeXdhGroup(curve: XdhCurveName): DhGroup {
  const { size, oidLastByte } = XDH[curve];
  const algId = Buffer.from([0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, oidLastByte]);
  const pkcs8Prefix = Buffer.concat([
    Buffer.of(0x30, size + 14, 0x02, 0x01, 0x00),
    algId,
    Buffer.of(0x04, size + 2, 0x04, size),
  ]);
  // Raw public values go through JWK (RFC 8037 OKP): with OpenSSL 3.0, DER export and import
  // take ~0.3 ms each here (decoder/encoder look-ups), JWK a few microseconds.
  const crv = curve === 'x25519' ? 'X25519' : 'X448';
  const rawPublic = (key: KeyObject): Buffer => Buffer.from(key.export({ format: 'jwk' }).x ?? '', 'base64url');
  const peerPublic = (raw: Buffer): KeyObject => createPublicKey({ key: { kty: 'OKP', crv, x: raw.toString('base64url') }, format: 'jwk' });

  return {
    publicLength: size,
    secretLength: size,
    generate(privateKeyRaw) {
      let privateKey: KeyObject | undefined;
      let publicData: Buffer;
      if (privateKeyRaw) {
        const der = Buffer.concat([pkcs8Prefix, privateKeyRaw]);
        privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
        wipe(der);
        publicData = rawPublic(createPublicKey(privateKey));
      } else {
        // The public key is encoded by the key generation itself: exporting a generated
        // KeyObject to JWK afterwards can deadlock Node 20.20 (ExportJWKEdKey holds the key's
        // mutex while allocating; a GC then destroys the KeyGenJob, which takes the same mutex).
        // (@types/node has no overload for a JWK public key with a KeyObject private key.)
        const pair = (generateKeyPairSync as unknown as (type: string, options: object) => { privateKey: KeyObject; publicKey: JsonWebKey })(
          curve,
          { publicKeyEncoding: { format: 'jwk' } },
        );
        privateKey = pair.privateKey;
        publicData = Buffer.from(pair.publicKey.x ?? '', 'base64url');
      }
      return {
        publicData,
        derive(peerData) {
          if (!privateKey) throw new GkmError('GKM_CRYPTO_INTERNAL', { detail: 'key pair already disposed' });
          let secret: Buffer;
          try {
            secret = diffieHellman({ privateKey, publicKey: peerPublic(peerData) });
          } catch (e) {
            // OpenSSL refuses an all-zero result itself (low-order point).
            throw invalidKe(`${curve} derivation failed`, e);
          }
          if (secret.every((b) => b === 0)) throw allZero(curve);
          return secret;
        },
        dispose() {
          privateKey = undefined;
        },
      };
    },
  };
}

/** The key-pair pool's worker computing X25519/X448 secrets ahead with an addon. */
export interface DeriveAhead {
  readonly addon: string;
  start(recipe: DeriveRecipe, privateKey: Buffer, peer: Buffer, kdf?: KdfInput): AheadSecret | undefined;
}

function poolDeriveAhead(pool: KeyPairPool | undefined): DeriveAhead | undefined {
  return pool && { addon: nativeAddonPath(), start: (recipe, privateKey, peer, kdf) => pool.deriveAhead(recipe, privateKey, peer, kdf) };
}

/** Fresh X25519/X448 pairs made ahead by the key-pair pool's worker with the same addon (undefined: GKM_KEYGEN_POOL=0). */
function pooledXdhPairs(curve: XdhCurveName): KeyPairSource | undefined {
  const { size, id } = XDH[curve];
  return keyPairPool()?.source({ name: curve, publicLength: size, privateLength: size, recipe: { type: 'xdh', addon: nativeAddonPath(), curve: id } });
}

/**
 * The native group when the addon is loaded (GKM_NATIVE_CRYPTO=0: never) and `native` is not
 * null, else node:crypto. The process's own addon draws fresh pairs from the key-pair pool.
 */
export function xdhGroup(curve: XdhCurveName, native: IkeNativeCrypto | null = ikeNativeCrypto() ?? null): DhGroup {
  if (!native) return nodeXdhGroup(curve);
  const own = native === ikeNativeCrypto();
  return nativeXdhGroup(curve, native, own ? pooledXdhPairs(curve) : undefined, own ? poolDeriveAhead(keyPairPool()) : undefined);
}

/** What dhGroups.x25519 / x448 run on (GKM_NATIVE_CRYPTO=0 or no addon: node:crypto). */
export const xdhPath: 'native addon' | 'node:crypto' = ikeNativeCrypto() ? 'native addon' : 'node:crypto';

// --- ECP groups (RFC 5903) ------------------------------------------------------------

/**
 * KE data = x || y, each coordinate left-padded to the field size, without the X9.62
 * 0x04 prefix (RFC 5903 §7); the shared secret is the x coordinate of g^ir (RFC 5903 §9).
 * OpenSSL's point decoding rejects points off the curve, coordinates >= p and the point
 * at infinity (which has no x || y encoding), i.e. the RFC 6989 §2.3 checks.
 */
function ecpGroup(opensslCurve: string, coordinateLength: number): DhGroup {
  return {
    publicLength: 2 * coordinateLength,
    secretLength: coordinateLength,
    generate(privateKey) {
      let ecdh: ReturnType<typeof createECDH> | undefined = createECDH(opensslCurve);
      if (privateKey) ecdh.setPrivateKey(privateKey);
      else ecdh.generateKeys();
      const publicData = ecdh.getPublicKey(null, 'uncompressed').subarray(1);
      return {
        publicData,
        derive(peerData) {
          if (!ecdh) throw new GkmError('GKM_CRYPTO_INTERNAL', { detail: 'key pair already disposed' });
          try {
            return ecdh.computeSecret(Buffer.concat([Buffer.of(0x04), peerData]));
          } catch (e) {
            throw invalidKe(`point is not on ${opensslCurve}`, e);
          }
        },
        dispose() {
          ecdh = undefined;
        },
      };
    },
  };
}

// --- MODP-2048 (RFC 3526 §3, group 14) ---------------------------------------------------

const MODP_LENGTH = 256;

/** Left-pads a big-endian value to the modulus length (RFC 7296 §3.4, §2.14). */
function padToModulus(value: Buffer): Buffer {
  if (value.length === MODP_LENGTH) return value;
  const out = Buffer.alloc(MODP_LENGTH);
  value.copy(out, MODP_LENGTH - value.length);
  wipe(value);
  return out;
}

function modp2048Group(): DhGroup {
  const group = createDiffieHellmanGroup('modp14');
  const prime = group.getPrime();
  const generator = group.getGenerator();
  const primeMinusOne = Buffer.from(prime);
  primeMinusOne.writeUInt8(primeMinusOne.readUInt8(MODP_LENGTH - 1) - 1, MODP_LENGTH - 1); // p is odd: no borrow
  const one = Buffer.alloc(MODP_LENGTH);
  one[MODP_LENGTH - 1] = 1;

  return {
    publicLength: MODP_LENGTH,
    secretLength: MODP_LENGTH,
    generate(privateKey) {
      let dh: ReturnType<typeof createDiffieHellman> | undefined = createDiffieHellman(prime, generator);
      if (privateKey) dh.setPrivateKey(privateKey);
      dh.generateKeys(); // computes only the public value when a private key is set
      return {
        publicData: padToModulus(dh.getPublicKey()),
        derive(peerData) {
          if (!dh) throw new GkmError('GKM_CRYPTO_INTERNAL', { detail: 'key pair already disposed' });
          // RFC 6989 §2.1 (via RFC 8247): 1 < y < p-1.
          if (Buffer.compare(peerData, one) <= 0 || Buffer.compare(peerData, primeMinusOne) >= 0) {
            throw invalidKe('MODP public value out of range');
          }
          try {
            return padToModulus(dh.computeSecret(peerData));
          } catch (e) {
            throw invalidKe('MODP derivation failed', e);
          }
        },
        dispose() {
          dh = undefined;
        },
      };
    },
  };
}

export const dhGroups = {
  x25519: xdhGroup('x25519'),
  x448: xdhGroup('x448'),
  ecp256: ecpGroup('prime256v1', 32),
  ecp384: ecpGroup('secp384r1', 48),
  ecp521: ecpGroup('secp521r1', 66),
  modp2048: modp2048Group(),
} as const;
