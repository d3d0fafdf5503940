/**
 * Metadata of the symmetric transforms: one table per transform type, and the key-size
 * helpers every key schedule uses. Sizes: RFC 7296 §3.3.5 (Key Length attribute),
 * RFC 3602 (CBC), RFC 3686 / RFC 5930 (CTR), RFC 4106 / RFC 5282 (GCM, CCM), RFC 4309 (CCM),
 * RFC 4543 (GMAC), RFC 7634 (ChaCha20-Poly1305), RFC 8750 (IIV), RFC 4868 (HMAC-SHA2).
 */
import { GkmError } from '../errors.ts';
import { EncrId, IntegId, PrfId, TransformType } from '../registry/transform.ts';
import { nameOf } from '../registry/names.ts';

export type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

export type EncrMode = 'null' | 'cbc' | 'ctr' | 'ccm' | 'gcm' | 'gmac' | 'chacha20-poly1305';

export interface EncrInfo {
  readonly id: number;
  readonly mode: EncrMode;
  /** Allowed key sizes in bits (without salt). */
  readonly keyBits: readonly number[];
  /** Whether the Key Length attribute must be present (true) or absent (false, fixed size). */
  readonly keyLengthAttr: boolean;
  /** Salt / nonce taken from the end of the keying material (RFC 5282 §7.1, RFC 3686). */
  readonly saltLength: number;
  /** Explicit IV carried on the wire (0 for the implicit-IV transforms of RFC 8750). */
  readonly ivLength: number;
  /** ICV (authentication tag) length for the combined-mode transforms; 0 otherwise. */
  readonly icvLength: number;
  /** Block size for SK payload padding (RFC 7296 §3.14): the cipher block, 1 for AEADs. */
  readonly blockSize: number;
  /** Combined mode: no separate INTEG transform (RFC 5282 §8). */
  readonly aead: boolean;
  /** False for transforms defined for ESP/AH only (NULL, GMAC, IIV). */
  readonly ike: boolean;
}

const encr = (
  id: number,
  mode: EncrMode,
  keyBits: readonly number[],
  salt: number,
  iv: number,
  icv: number,
  ike = true,
): EncrInfo => ({
  id,
  mode,
  keyBits,
  keyLengthAttr: mode !== 'chacha20-poly1305' && mode !== 'null',
  saltLength: salt,
  ivLength: iv,
  icvLength: icv,
  blockSize: mode === 'cbc' ? 16 : 1,
  aead: mode !== 'cbc' && mode !== 'ctr' && mode !== 'null',
  ike,
});

const AES = [128, 192, 256] as const;

export const ENCR_TABLE: ReadonlyMap<number, EncrInfo> = new Map(
  [
    encr(EncrId.NULL, 'null', [0], 0, 0, 0, false),
    encr(EncrId.AES_CBC, 'cbc', AES, 0, 16, 0),
    encr(EncrId.AES_CTR, 'ctr', AES, 4, 8, 0),
    encr(EncrId.AES_CCM_8, 'ccm', AES, 3, 8, 8),
    encr(EncrId.AES_CCM_12, 'ccm', AES, 3, 8, 12),
    encr(EncrId.AES_CCM_16, 'ccm', AES, 3, 8, 16),
    encr(EncrId.AES_GCM_8, 'gcm', AES, 4, 8, 8),
    encr(EncrId.AES_GCM_12, 'gcm', AES, 4, 8, 12),
    encr(EncrId.AES_GCM_16, 'gcm', AES, 4, 8, 16),
    encr(EncrId.NULL_AUTH_AES_GMAC, 'gmac', AES, 4, 8, 16, false),
    encr(EncrId.CHACHA20_POLY1305, 'chacha20-poly1305', [256], 4, 8, 16),
    encr(EncrId.AES_CCM_8_IIV, 'ccm', AES, 3, 0, 8, false),
    encr(EncrId.AES_GCM_16_IIV, 'gcm', AES, 4, 0, 16, false),
    encr(EncrId.CHACHA20_POLY1305_IIV, 'chacha20-poly1305', [256], 4, 0, 16, false),
  ].map((e) => [e.id, e]),
);

export interface IntegInfo {
  readonly id: number;
  readonly keyLength: number;
  readonly icvLength: number;
  /** HMAC hash, when the transform is an HMAC. */
  readonly hash?: HashName;
  readonly ike: boolean;
}

const integ = (id: number, keyLength: number, icvLength: number, hash?: HashName, ike = true): IntegInfo =>
  hash === undefined ? { id, keyLength, icvLength, ike } : { id, keyLength, icvLength, hash, ike };

export const INTEG_TABLE: ReadonlyMap<number, IntegInfo> = new Map(
  [
    integ(IntegId.NONE, 0, 0),
    integ(IntegId.HMAC_MD5_96, 16, 12),
    integ(IntegId.HMAC_SHA1_96, 20, 12, 'sha1'),
    integ(IntegId.AES_XCBC_96, 16, 12),
    integ(IntegId.AES_CMAC_96, 16, 12),
    integ(IntegId.AES_128_GMAC, 20, 16, undefined, false), // key + 4 salt (RFC 4543)
    integ(IntegId.AES_192_GMAC, 28, 16, undefined, false),
    integ(IntegId.AES_256_GMAC, 36, 16, undefined, false),
    integ(IntegId.HMAC_SHA2_256_128, 32, 16, 'sha256'), // RFC 4868 §2.1.1
    integ(IntegId.HMAC_SHA2_384_192, 48, 24, 'sha384'),
    integ(IntegId.HMAC_SHA2_512_256, 64, 32, 'sha512'),
  ].map((i) => [i.id, i]),
);

export interface PrfInfo {
  readonly id: number;
  readonly hash: HashName;
  /** Preferred key size = output size (RFC 7296 §2.13, RFC 4868 §2.1.2); SK_d/SK_p* have it. */
  readonly keyLength: number;
  readonly outputLength: number;
}

export const PRF_TABLE: ReadonlyMap<number, PrfInfo> = new Map(
  (
    [
      [PrfId.HMAC_SHA2_256, 'sha256', 32],
      [PrfId.HMAC_SHA2_384, 'sha384', 48],
      [PrfId.HMAC_SHA2_512, 'sha512', 64],
    ] as const
  ).map(([id, hash, len]) => [id, { id, hash, keyLength: len, outputLength: len }]),
);

/** The ENCR, key length and INTEG of a negotiated proposal (IKE SA, Child SA or Rekey SA). */
export interface ProtectionSuite {
  readonly encrId: number;
  /** Key Length attribute in bits; required for AES, absent for ChaCha20-Poly1305. */
  readonly keyLengthBits?: number | undefined;
  /** INTEG transform; absent or NONE (0) with combined-mode ENCR. */
  readonly integId?: number | undefined;
}

function unsupported(type: number, id: number, detail?: string): GkmError {
  const field = `${nameOf(TransformType, type)}(${id})`;
  return new GkmError('GKM_CRYPTO_UNSUPPORTED', detail === undefined ? { field } : { field, detail });
}

/** ENCR metadata; `forEsp` admits the ESP/AH-only transforms. Throws GKM_CRYPTO_UNSUPPORTED. */
export function encrInfo(encrId: number, forEsp = false): EncrInfo {
  const e = ENCR_TABLE.get(encrId);
  if (!e) throw unsupported(TransformType.ENCR, encrId);
  if (!forEsp && !e.ike) throw unsupported(TransformType.ENCR, encrId, 'defined for ESP/AH only');
  return e;
}

/** INTEG metadata; `forEsp` admits the AH-only GMAC transforms. Throws GKM_CRYPTO_UNSUPPORTED. */
export function integInfo(integId: number, forEsp = false): IntegInfo {
  const i = INTEG_TABLE.get(integId);
  if (!i) throw unsupported(TransformType.INTEG, integId);
  if (!forEsp && !i.ike) throw unsupported(TransformType.INTEG, integId, 'defined for ESP/AH only');
  return i;
}

/** Cipher key size in bits after checking the Key Length attribute (RFC 7296 §3.3.5). */
export function encrKeyBits(e: EncrInfo, keyLengthBits?: number): number {
  if (!e.keyLengthAttr) {
    // Fixed-size cipher: the attribute must be absent; tolerate it when it states the size.
    if (keyLengthBits === undefined || keyLengthBits === e.keyBits[0]) return e.keyBits[0] ?? 0;
    throw unsupported(TransformType.ENCR, e.id, `Key Length ${keyLengthBits} not allowed`);
  }
  if (keyLengthBits === undefined) throw unsupported(TransformType.ENCR, e.id, 'Key Length attribute required');
  if (!e.keyBits.includes(keyLengthBits)) {
    throw unsupported(TransformType.ENCR, e.id, `Key Length ${keyLengthBits} not supported`);
  }
  return keyLengthBits;
}

/**
 * Bytes of keying material one direction takes for this ENCR: the cipher key plus the
 * salt/nonce of the combined modes and CTR (GCM/GMAC/CTR/ChaCha +4, CCM +3).
 */
export function encrKeyMaterialLength(encrId: number, keyLengthBits?: number, forEsp = false): number {
  const e = encrInfo(encrId, forEsp);
  return encrKeyBits(e, keyLengthBits) / 8 + e.saltLength;
}

export function integKeyLength(integId: number, forEsp = false): number {
  return integInfo(integId, forEsp).keyLength;
}

export function integIcvLength(integId: number, forEsp = false): number {
  return integInfo(integId, forEsp).icvLength;
}

/** True for combined-mode (AEAD) ENCR transforms. Unknown IDs are not AEAD. */
export function isAead(encrId: number): boolean {
  return ENCR_TABLE.get(encrId)?.aead ?? false;
}

export interface SuiteKeySizes {
  /** Encryption key material per direction, salt included. */
  readonly encr: number;
  /** Integrity key per direction (0 with AEAD). */
  readonly integ: number;
}

/**
 * Key sizes of a suite, after checking that AEAD comes without INTEG and a plain cipher
 * with one (RFC 5282 §8; RFC 7296 §3.3.3).
 */
export function suiteKeySizes(suite: ProtectionSuite, forEsp = false): SuiteKeySizes {
  const e = encrInfo(suite.encrId, forEsp);
  const integId = suite.integId ?? IntegId.NONE;
  if (e.aead && integId !== IntegId.NONE) {
    throw unsupported(TransformType.INTEG, integId, 'combined-mode ENCR takes no INTEG transform');
  }
  if (!e.aead && integId === IntegId.NONE) {
    throw unsupported(TransformType.INTEG, integId, `ENCR ${suite.encrId} needs an INTEG transform`);
  }
  return {
    encr: encrKeyBits(e, suite.keyLengthBits) / 8 + e.saltLength,
    integ: integInfo(integId, forEsp).keyLength,
  };
}
