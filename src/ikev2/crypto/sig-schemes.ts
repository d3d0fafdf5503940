/**
 * Signature schemes for RFC 7427 Digital Signature authentication (Auth Method 14) and
 * G-IKEv2 GCAUTH Digital Signature (RFC 9838 §4.4.2.1.1), with their AlgorithmIdentifier
 * DER built from the OIDs below (the exact bytes are pinned in the tests):
 *
 *   id-Ed25519 1.3.101.112, id-Ed448 1.3.101.113           RFC 8410 §3, parameters absent
 *   ecdsa-with-SHA256/384/512 1.2.840.10045.4.3.2/.3/.4     RFC 5758 §3.2, parameters absent
 *   id-RSASSA-PSS 1.2.840.113549.1.1.10, id-mgf1 ...1.1.8   RFC 4055 §3.1 (RSASSA-PSS-params)
 *   id-sha256/384/512 2.16.840.1.101.3.4.2.1/.2/.3          RFC 4055 §2.1, parameters NULL
 *   sha256/384/512WithRSAEncryption 1.2.840.113549.1.1.11/.12/.13  RFC 4055 §5, NULL
 *
 * RSASSA-PSS is sent with explicit hash, MGF1 with the same hash and salt = hash length,
 * the hash AlgorithmIdentifiers carrying NULL: RFC 7427 Appendix A.4.3 (SHA-256, 67
 * octets), as strongSwan (signature_params.c) and OpenSSL's rsa-pss SPKI encode it.
 * RFC 4055 §2.1 makes "parameters absent" an equivalent hash encoding, so that variant
 * is accepted on receipt as a second known encoding.
 */
import { HashAlgorithm } from '../registry/misc.ts';
import { derNull, explicitTag, integer, oid, sequence } from './asn1-der.ts';

export type SignatureScheme =
  | 'ed25519'
  | 'ed448'
  | 'ecdsa-sha256'
  | 'ecdsa-sha384'
  | 'ecdsa-sha512'
  | 'rsa-pss-sha256'
  | 'rsa-pss-sha384'
  | 'rsa-pss-sha512'
  | 'rsa-pkcs1-sha256'
  | 'rsa-pkcs1-sha384'
  | 'rsa-pkcs1-sha512';

export type SignatureFamily = 'eddsa' | 'ecdsa' | 'rsa-pss' | 'rsa-pkcs1';
export type SignatureHash = 'sha256' | 'sha384' | 'sha512';

export interface SchemeInfo {
  readonly scheme: SignatureScheme;
  readonly family: SignatureFamily;
  /** Digest for node:crypto sign/verify; null for EdDSA (PureEdDSA hashes internally). */
  readonly hash: SignatureHash | null;
  /** RFC 7427 §7 / RFC 8420 hash ID for N(SIGNATURE_HASH_ALGORITHMS). */
  readonly hashAlgorithm: number;
  /** KeyObject.asymmetricKeyType values that can make this signature. */
  readonly keyTypes: readonly string[];
  /** The AlgorithmIdentifier we send. */
  readonly algorithmIdentifier: Buffer;
  /** Other encodings accepted on receipt. */
  readonly alternateEncodings: readonly Buffer[];
  /** RSASSA-PSS salt length (= hash length). */
  readonly saltLength: number;
}

/** Per hash: its OID, RFC 7427 hash ID, length, and the RSA / ECDSA signature OIDs. */
const HASHES = {
  sha256: {
    oid: '2.16.840.1.101.3.4.2.1',
    id: HashAlgorithm.SHA2_256,
    length: 32,
    rsa: '1.2.840.113549.1.1.11',
    ecdsa: '1.2.840.10045.4.3.2',
  },
  sha384: {
    oid: '2.16.840.1.101.3.4.2.2',
    id: HashAlgorithm.SHA2_384,
    length: 48,
    rsa: '1.2.840.113549.1.1.12',
    ecdsa: '1.2.840.10045.4.3.3',
  },
  sha512: {
    oid: '2.16.840.1.101.3.4.2.3',
    id: HashAlgorithm.SHA2_512,
    length: 64,
    rsa: '1.2.840.113549.1.1.13',
    ecdsa: '1.2.840.10045.4.3.4',
  },
} as const;

const ID_RSASSA_PSS = '1.2.840.113549.1.1.10';
const ID_MGF1 = '1.2.840.113549.1.1.8';

/** RFC 4055 §3.1 RSASSA-PSS-params {hashAlgorithm [0], maskGenAlgorithm [1], saltLength [2]}. */
function pssAlgorithmIdentifier(hash: SignatureHash, hashParamsNull: boolean): Buffer {
  const h = HASHES[hash];
  const hashAlgId = hashParamsNull ? sequence(oid(h.oid), derNull()) : sequence(oid(h.oid));
  return sequence(
    oid(ID_RSASSA_PSS),
    sequence(
      explicitTag(0, hashAlgId),
      explicitTag(1, sequence(oid(ID_MGF1), hashAlgId)),
      explicitTag(2, integer(h.length)),
    ),
  );
}

function eddsa(scheme: 'ed25519' | 'ed448', oidText: string): SchemeInfo {
  return {
    scheme,
    family: 'eddsa',
    hash: null,
    hashAlgorithm: HashAlgorithm.IDENTITY,
    keyTypes: [scheme],
    algorithmIdentifier: sequence(oid(oidText)),
    alternateEncodings: [],
    saltLength: 0,
  };
}

function withHash(family: Exclude<SignatureFamily, 'eddsa'>, hash: SignatureHash): SchemeInfo {
  const h = HASHES[hash];
  const common = { family, hash, hashAlgorithm: h.id, saltLength: 0, alternateEncodings: [] };
  switch (family) {
    case 'ecdsa':
      return { ...common, scheme: `ecdsa-${hash}`, keyTypes: ['ec'], algorithmIdentifier: sequence(oid(h.ecdsa)) };
    case 'rsa-pkcs1':
      return {
        ...common,
        scheme: `rsa-pkcs1-${hash}`,
        keyTypes: ['rsa'],
        algorithmIdentifier: sequence(oid(h.rsa), derNull()),
      };
    case 'rsa-pss':
      return {
        ...common,
        scheme: `rsa-pss-${hash}`,
        keyTypes: ['rsa', 'rsa-pss'],
        algorithmIdentifier: pssAlgorithmIdentifier(hash, true),
        alternateEncodings: [pssAlgorithmIdentifier(hash, false)],
        saltLength: h.length,
      };
  }
}

const HASH_NAMES: readonly SignatureHash[] = ['sha256', 'sha384', 'sha512'];

export const SCHEMES: ReadonlyMap<SignatureScheme, SchemeInfo> = new Map(
  [
    eddsa('ed25519', '1.3.101.112'),
    eddsa('ed448', '1.3.101.113'),
    ...(['ecdsa', 'rsa-pss', 'rsa-pkcs1'] as const).flatMap((f) => HASH_NAMES.map((h) => withHash(f, h))),
  ].map((info) => [info.scheme, info]),
);

/** Exact AlgorithmIdentifier bytes (hex) -> scheme, for strict parsing. */
const BY_ENCODING: ReadonlyMap<string, SchemeInfo> = new Map(
  [...SCHEMES.values()].flatMap((info) =>
    [info.algorithmIdentifier, ...info.alternateEncodings].map((enc) => [enc.toString('hex'), info] as const),
  ),
);

export function schemeInfo(scheme: SignatureScheme): SchemeInfo {
  const info = SCHEMES.get(scheme);
  if (!info) throw new TypeError(`unknown signature scheme ${String(scheme)}`);
  return info;
}

export function schemeByAlgorithmIdentifier(algorithmIdentifier: Buffer): SchemeInfo | undefined {
  return BY_ENCODING.get(algorithmIdentifier.toString('hex'));
}
