/**
 * RFC 7427 Digital Signature authentication (Auth Method 14):
 *   AUTH data = ASN.1 Length (1 octet) | AlgorithmIdentifier (DER) | Signature Value
 * ECDSA signatures are DER Ecdsa-Sig-Value here (RFC 7427 §3), RSASSA-PSS uses MGF1 with
 * the same hash and salt = hash length, EdDSA is PureEdDSA over the signed octets
 * (RFC 8420). Also the G-IKEv2 checks that an AlgorithmIdentifier fits a key
 * (RFC 9838 §4.4.2.1.1; digest g-ikev2.md §12 item 2) and the signature sizes the
 * fixed-length GSA_REKEY signing procedure needs (g-ikev2.md §6, §15 #13).
 */
import { constants, sign, verify, type KeyObject } from 'node:crypto';
import { GkmError } from '../errors.ts';
import {
  schemeByAlgorithmIdentifier,
  schemeInfo,
  SCHEMES,
  type SchemeInfo,
  type SignatureScheme,
} from './sig-schemes.ts';
import { spkiAlgorithmIdentifier, publicKeyToSpki } from './spki.ts';

export type { SignatureScheme } from './sig-schemes.ts';

const MIN_RSA_BITS = 2048;
const EDDSA_SIGNATURE_LENGTH: Readonly<Record<string, number>> = { ed25519: 64, ed448: 114 };
/** Bit length of the group order n of the supported curves (FIPS 186-5 / SEC 2). */
const EC_ORDER_BITS: Readonly<Record<string, number>> = { prime256v1: 256, secp384r1: 384, secp521r1: 521 };
/** Default scheme for an EC key, by curve (strength-matched hash). */
const EC_DEFAULT_SCHEME: Readonly<Record<string, SignatureScheme>> = {
  prime256v1: 'ecdsa-sha256',
  secp384r1: 'ecdsa-sha384',
  secp521r1: 'ecdsa-sha512',
};
/** Signing attempts when an ECDSA signature must have an exact DER length. */
const MAX_SIGNING_ATTEMPTS = 256;

const authError = (detail: string): GkmError =>
  new GkmError('GKM_CRYPTO_BAD_SIGNATURE', { field: 'AUTH.data', detail });
const malformed = (detail: string): GkmError => new GkmError('GKM_WIRE_BAD_VALUE', { field: 'AUTH.data', detail });

/** Why `key` cannot make or check `info` signatures, or null if it can. */
function keyMismatch(key: KeyObject, info: SchemeInfo): string | null {
  const type = key.asymmetricKeyType ?? 'unknown';
  if (!info.keyTypes.includes(type)) return `a ${type} key does not fit ${info.scheme}`;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'ec' && EC_ORDER_BITS[details.namedCurve ?? ''] === undefined) {
    return `unsupported curve ${details.namedCurve ?? '?'}`;
  }
  if ((type === 'rsa' || type === 'rsa-pss') && (details.modulusLength ?? 0) < MIN_RSA_BITS) {
    return `RSA modulus below ${MIN_RSA_BITS} bits`;
  }
  // An id-RSASSA-PSS key restricts its use (RFC 4055 §3.1): hash and MGF1 hash must match,
  // and its saltLength is the minimum.
  if (type === 'rsa-pss' && details.hashAlgorithm !== undefined) {
    if (details.hashAlgorithm !== info.hash || (details.mgf1HashAlgorithm ?? info.hash) !== info.hash) {
      return `RSASSA-PSS key restricted to ${details.hashAlgorithm}`;
    }
    if ((details.saltLength ?? 0) > info.saltLength) return 'RSASSA-PSS key requires a longer salt';
  }
  return null;
}

function requireKeyFits(key: KeyObject, info: SchemeInfo, onMismatch: (detail: string) => GkmError): void {
  const problem = keyMismatch(key, info);
  if (problem) throw onMismatch(problem);
}

/** Node sign/verify options for a scheme. */
function cryptoOptions(key: KeyObject, info: SchemeInfo) {
  switch (info.family) {
    case 'eddsa':
      return { key };
    case 'ecdsa':
      return { key, dsaEncoding: 'der' as const };
    case 'rsa-pss':
      return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: info.saltLength };
    case 'rsa-pkcs1':
      return { key, padding: constants.RSA_PKCS1_PADDING };
  }
}

/**
 * Signature Value length: fixed for EdDSA (RFC 8032) and RSA (modulus octets); for ECDSA
 * the MAXIMUM DER length, SEQUENCE { INTEGER r, INTEGER s } with both integers one octet
 * longer than the order (sign pad): P-256 72, P-384 104, P-521 139. Actual ECDSA
 * signatures vary; signAuth({signatureLength}) produces exactly this length if asked.
 */
export function signatureLength(scheme: SignatureScheme, key: KeyObject): number {
  const info = schemeInfo(scheme);
  requireKeyFits(key, info, (d) => new GkmError('GKM_CRYPTO_UNSUPPORTED', { detail: d }));
  const details = key.asymmetricKeyDetails ?? {};
  switch (info.family) {
    case 'eddsa':
      return EDDSA_SIGNATURE_LENGTH[info.scheme]!;
    case 'rsa-pss':
    case 'rsa-pkcs1':
      return Math.ceil(details.modulusLength! / 8);
    case 'ecdsa': {
      const integerLength = Math.floor(EC_ORDER_BITS[details.namedCurve!]! / 8) + 1;
      const content = 2 * (2 + integerLength);
      return content + (content < 0x80 ? 2 : 3);
    }
  }
}

export interface SignOptions {
  /**
   * Required Signature Value length (GSA_REKEY signs a message whose AUTH payload already
   * has its final size). ECDSA re-signs with fresh nonces until the DER encoding has this
   * length: use signatureLength() (about 4 attempts on average) or up to 2 octets less.
   */
  signatureLength?: number;
}

function signOnce(privateKey: KeyObject, octets: Buffer, info: SchemeInfo): Buffer {
  return sign(info.hash, octets, cryptoOptions(privateKey, info));
}

function signExactLength(privateKey: KeyObject, octets: Buffer, info: SchemeInfo, wanted: number): Buffer {
  const max = signatureLength(info.scheme, privateKey);
  const attempts = info.family === 'ecdsa' && wanted <= max && wanted >= max - 2 ? MAX_SIGNING_ATTEMPTS : 1;
  for (let i = 0; i < attempts; i++) {
    const signature = signOnce(privateKey, octets, info);
    if (signature.length === wanted) return signature;
  }
  throw new GkmError('GKM_CRYPTO_INTERNAL', { detail: `cannot produce a ${wanted}-octet ${info.scheme} signature` });
}

/** Signs the AUTH octets; returns the RFC 7427 AUTH data (method 14). */
export function signAuth(
  privateKey: KeyObject,
  octets: Buffer,
  scheme: SignatureScheme,
  options: SignOptions = {},
): Buffer {
  const info = schemeInfo(scheme);
  if (privateKey.type !== 'private') {
    throw new GkmError('GKM_CRYPTO_UNSUPPORTED', { detail: 'signing needs a private key' });
  }
  requireKeyFits(privateKey, info, (d) => new GkmError('GKM_CRYPTO_UNSUPPORTED', { detail: d }));
  const signature =
    options.signatureLength === undefined
      ? signOnce(privateKey, octets, info)
      : signExactLength(privateKey, octets, info, options.signatureLength);
  const algId = info.algorithmIdentifier;
  return Buffer.concat([Buffer.of(algId.length), algId, signature]);
}

export interface ParsedSignatureAuth {
  readonly scheme: SignatureScheme;
  /** The AlgorithmIdentifier exactly as received (G-IKEv2 compares it with attribute 18). */
  readonly algorithmIdentifier: Buffer;
  readonly signature: Buffer;
}

/**
 * Splits method-14 AUTH data strictly: the length octet must cover a complete DER
 * SEQUENCE, which must be one of the known AlgorithmIdentifiers byte for byte.
 * Malformed framing is GKM_WIRE_BAD_VALUE; an unknown algorithm is
 * GKM_CRYPTO_BAD_SIGNATURE (RFC 7427 §3: AUTHENTICATION_FAILED).
 */
export function parseSignatureAuth(authData: Buffer): ParsedSignatureAuth {
  if (authData.length < 1) throw malformed('empty AUTH data');
  const algIdLength = authData[0]!;
  const algorithmIdentifier = authData.subarray(1, 1 + algIdLength);
  if (algIdLength < 2 || algorithmIdentifier.length !== algIdLength) {
    throw malformed('ASN.1 length does not fit the AUTH data');
  }
  // One SEQUENCE with a short-form length exactly filling the announced length.
  if (algorithmIdentifier[0] !== 0x30 || algorithmIdentifier[1]! + 2 !== algIdLength) {
    throw malformed('ASN.1 length is inconsistent with the AlgorithmIdentifier');
  }
  const signature = authData.subarray(1 + algIdLength);
  if (signature.length === 0) throw malformed('no signature value');
  const info = schemeByAlgorithmIdentifier(algorithmIdentifier);
  if (!info) throw authError(`unsupported signature AlgorithmIdentifier ${algorithmIdentifier.toString('hex')}`);
  return { scheme: info.scheme, algorithmIdentifier, signature };
}

function signatureLengthOk(info: SchemeInfo, key: KeyObject, length: number): boolean {
  const expected = signatureLength(info.scheme, key);
  // The shortest DER Ecdsa-Sig-Value is 30 06 02 01 rr 02 01 ss.
  return info.family === 'ecdsa' ? length >= 8 && length <= expected : length === expected;
}

/**
 * Verifies method-14 AUTH data over `octets` with the peer's public key; returns the
 * scheme used. Throws GKM_CRYPTO_BAD_SIGNATURE if the algorithm is unknown or does not
 * fit the key, or the signature does not verify; GKM_WIRE_BAD_VALUE if malformed.
 */
export function verifyAuth(publicKey: KeyObject, octets: Buffer, authData: Buffer): SignatureScheme {
  const { scheme, signature } = parseSignatureAuth(authData);
  const info = schemeInfo(scheme);
  requireKeyFits(publicKey, info, authError);
  if (!signatureLengthOk(info, publicKey, signature.length)) throw authError(`wrong ${scheme} signature length`);
  let ok: boolean;
  try {
    ok = verify(info.hash, octets, cryptoOptions(publicKey, info), signature);
  } catch {
    ok = false; // e.g. an undecodable DER signature
  }
  if (!ok) throw authError(`${scheme} signature does not verify`);
  return scheme;
}

/** Distinct RFC 7427 hash IDs for N(SIGNATURE_HASH_ALGORITHMS), in first-seen order. */
export function signatureHashAlgorithmsFor(schemes: Iterable<SignatureScheme>): number[] {
  return [...new Set([...schemes].map((s) => schemeInfo(s).hashAlgorithm))];
}

/** Every supported scheme the key can sign or verify with. */
export function schemesForKey(key: KeyObject): SignatureScheme[] {
  return [...SCHEMES.values()].filter((info) => keyMismatch(key, info) === null).map((info) => info.scheme);
}

/**
 * The scheme we sign with by default: EdDSA for Edwards keys, ECDSA with the curve's hash,
 * RSASSA-PSS with SHA-256 for RSA keys (or the hash an id-RSASSA-PSS key is bound to).
 */
export function defaultSchemeForKey(key: KeyObject): SignatureScheme {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  let scheme: SignatureScheme | undefined;
  if (type === 'ed25519' || type === 'ed448') scheme = type;
  else if (type === 'ec') scheme = EC_DEFAULT_SCHEME[details.namedCurve ?? ''];
  else if (type === 'rsa') scheme = 'rsa-pss-sha256';
  else if (type === 'rsa-pss') scheme = `rsa-pss-${(details.hashAlgorithm ?? 'sha256') as 'sha256'}`;
  if (!scheme || !SCHEMES.has(scheme) || keyMismatch(key, schemeInfo(scheme))) {
    throw new GkmError('GKM_CRYPTO_UNSUPPORTED', { detail: `no signature scheme for a ${type ?? '?'} key` });
  }
  return scheme;
}

/** The AlgorithmIdentifier we send for `scheme` (a copy). */
export function signatureAlgorithmIdentifier(scheme: SignatureScheme): Buffer {
  return Buffer.from(schemeInfo(scheme).algorithmIdentifier);
}

/**
 * The signature AlgorithmIdentifier a GCKS announces for its key, i.e. the G-IKEv2
 * SIGNATURE_ALGORITHM_IDENTIFIER transform attribute (18) with GCAUTH Digital Signature.
 */
export function algorithmIdentifierForKey(key: KeyObject): Buffer {
  return signatureAlgorithmIdentifier(defaultSchemeForKey(key));
}

/**
 * RFC 9838 AlgorithmIdentifier / AUTH_KEY consistency (digest §12 item 2): the algorithm
 * must be known and fit the key; where the key's own SubjectPublicKeyInfo algorithm is a
 * signature algorithm (Ed25519, Ed448, RSASSA-PSS with parameters) it must also match byte
 * for byte. For id-ecPublicKey and rsaEncryption keys only the key type can be checked.
 */
export function checkAlgorithmIdentifierFitsKey(algorithmIdentifier: Buffer, key: KeyObject): SignatureScheme {
  const info = schemeByAlgorithmIdentifier(algorithmIdentifier);
  if (!info) throw authError(`unsupported signature AlgorithmIdentifier ${algorithmIdentifier.toString('hex')}`);
  requireKeyFits(key, info, authError);
  const keyAlgId = spkiAlgorithmIdentifier(publicKeyToSpki(key));
  const keyAlgIsSignatureAlg = schemeByAlgorithmIdentifier(keyAlgId) !== undefined;
  if (keyAlgIsSignatureAlg && !keyAlgId.equals(algorithmIdentifier)) {
    throw authError('AlgorithmIdentifier does not match the key byte for byte');
  }
  return info.scheme;
}
