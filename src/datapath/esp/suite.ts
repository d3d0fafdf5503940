/**
 * ESP cipher suites: what the datapath needs to know about an (ENCR, INTEG) pair.
 * Sizes: RFC 4106 (GCM), RFC 7634 (ChaCha20-Poly1305), RFC 4543 (GMAC), RFC 3602 (CBC),
 * RFC 4868 (HMAC-SHA2 for IPsec). KEYMAT layout: RFC 7296 §2.17 (encryption key first,
 * then integrity key; the AEAD salt is the tail of the encryption key, RFC 4106 §8.1).
 */
import { GkmError } from '../../ikev2/errors.ts';
import { EncrId, IntegId } from '../../ikev2/registry/transform.ts';

export type EspSuiteKind = 'aead' | 'gmac' | 'cbc-hmac';

export interface EspAlgorithms {
  /** ENCR transform ID (EncrId). */
  readonly encr: number;
  /** Key Length attribute in bits (AES variants); ChaCha20 is fixed at 256. */
  readonly keyBits?: number;
  /** INTEG transform ID (IntegId); NONE / absent for AEAD and GMAC. */
  readonly integ?: number;
}

export interface EspSuite {
  readonly kind: EspSuiteKind;
  /** node:crypto cipher name. */
  readonly cipher: string;
  /** Cipher key length in bytes, without the salt. */
  readonly keyLength: number;
  /** Salt taken from the end of the encryption KEYMAT (4 for the AEADs and GMAC). */
  readonly saltLength: number;
  /** Explicit IV on the wire. */
  readonly ivLength: number;
  /** ICV length. */
  readonly icvLength: number;
  /** Payload | Padding | PadLength | NH must be a multiple of this (RFC 4303 §2.4). */
  readonly align: number;
  /** node:crypto hash for the HMAC of cbc-hmac suites. */
  readonly hmac: string | null;
  readonly integKeyLength: number;
  /** IV is a per-key counter (RFC 6054 applies), as opposed to random (CBC). */
  readonly counterIv: boolean;
}

const unsupported = (detail: string): GkmError =>
  new GkmError('GKM_CRYPTO_UNSUPPORTED', { field: 'esp.algorithms', detail });

function aesBits(alg: EspAlgorithms): number {
  const bits = alg.keyBits ?? 128;
  if (bits !== 128 && bits !== 192 && bits !== 256) throw unsupported(`AES key length ${bits}`);
  return bits;
}

const HMACS: Readonly<Record<number, { hash: string; key: number; icv: number }>> = {
  [IntegId.HMAC_SHA2_256_128]: { hash: 'sha256', key: 32, icv: 16 },
  [IntegId.HMAC_SHA2_384_192]: { hash: 'sha384', key: 48, icv: 24 },
  [IntegId.HMAC_SHA2_512_256]: { hash: 'sha512', key: 64, icv: 32 },
};

const GCM_ICV: Readonly<Record<number, number>> = {
  [EncrId.AES_GCM_8]: 8,
  [EncrId.AES_GCM_12]: 12,
  [EncrId.AES_GCM_16]: 16,
};

/** Resolves negotiated transforms to a suite; throws GKM_CRYPTO_UNSUPPORTED. */
export function espSuite(alg: EspAlgorithms): EspSuite {
  const integ = alg.integ ?? IntegId.NONE;
  const gcmIcv = GCM_ICV[alg.encr];
  if (gcmIcv !== undefined || alg.encr === EncrId.NULL_AUTH_AES_GMAC) {
    if (integ !== IntegId.NONE) throw unsupported('combined-mode ENCR with an INTEG transform');
    const bits = aesBits(alg);
    return {
      kind: gcmIcv === undefined ? 'gmac' : 'aead',
      cipher: `aes-${bits}-gcm`,
      keyLength: bits / 8,
      saltLength: 4,
      ivLength: 8,
      icvLength: gcmIcv ?? 16,
      align: 4,
      hmac: null,
      integKeyLength: 0,
      counterIv: true,
    };
  }
  if (alg.encr === EncrId.CHACHA20_POLY1305) {
    if (integ !== IntegId.NONE) throw unsupported('combined-mode ENCR with an INTEG transform');
    if (alg.keyBits !== undefined && alg.keyBits !== 256) throw unsupported('ChaCha20 key length');
    return {
      kind: 'aead',
      cipher: 'chacha20-poly1305',
      keyLength: 32,
      saltLength: 4,
      ivLength: 8,
      icvLength: 16,
      align: 4,
      hmac: null,
      integKeyLength: 0,
      counterIv: true,
    };
  }
  if (alg.encr === EncrId.AES_CBC) {
    const h = HMACS[integ];
    if (h === undefined) throw unsupported(`INTEG ${integ} with AES-CBC`);
    const bits = aesBits(alg);
    return {
      kind: 'cbc-hmac',
      cipher: `aes-${bits}-cbc`,
      keyLength: bits / 8,
      saltLength: 0,
      ivLength: 16,
      icvLength: h.icv,
      align: 16,
      hmac: h.hash,
      integKeyLength: h.key,
      counterIv: false,
    };
  }
  throw unsupported(`ENCR ${alg.encr}`);
}

/** Keying material for one direction of an ESP SA. */
export interface EspKeys {
  /** Encryption key including the salt for AEAD/GMAC suites. */
  readonly encr: Buffer;
  /** Integrity key (cbc-hmac suites only). */
  readonly integ?: Buffer;
}

/** KEYMAT bytes one direction of the suite consumes (RFC 7296 §2.17). */
export function keymatLength(suite: EspSuite): number {
  return suite.keyLength + suite.saltLength + suite.integKeyLength;
}

/** Splits one direction's KEYMAT: encryption key (with salt) first, then integrity key. */
export function splitKeymat(suite: EspSuite, keymat: Buffer): EspKeys {
  if (keymat.length !== keymatLength(suite)) {
    throw new GkmError('GKM_CRYPTO_BAD_KEY_LENGTH', {
      field: 'esp.keymat',
      detail: `${keymat.length} byte(s), expected ${keymatLength(suite)}`,
    });
  }
  const encLen = suite.keyLength + suite.saltLength;
  return suite.integKeyLength === 0
    ? { encr: keymat.subarray(0, encLen) }
    : { encr: keymat.subarray(0, encLen), integ: keymat.subarray(encLen) };
}
