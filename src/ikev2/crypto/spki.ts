/**
 * DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) for public keys carried as data, e.g. the
 * G-IKEv2 AUTH_KEY attribute (RFC 9838 §4.5.3.2) and raw public keys (RFC 7670).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { GkmError } from '../errors.ts';
import { readElement } from './asn1-der.ts';

/** Key types accepted from the wire (the signature key types of sig.ts). */
const ACCEPTED_KEY_TYPES = new Set(['ed25519', 'ed448', 'ec', 'rsa', 'rsa-pss']);

const badSpki = (detail: string, cause?: unknown): GkmError =>
  new GkmError('GKM_WIRE_BAD_VALUE', { field: 'SubjectPublicKeyInfo', detail, cause });

/** DER SubjectPublicKeyInfo of a public key (a private key yields its public half). */
export function publicKeyToSpki(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ format: 'der', type: 'spki' });
}

/**
 * Parses a DER SubjectPublicKeyInfo strictly: it must re-encode to the same bytes (no BER,
 * no trailing data; OpenSSL keeps a compressed EC point compressed, RFC 5480 §2.2) and be
 * a supported signature key type.
 */
export function spkiToPublicKey(der: Buffer): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch (e) {
    throw badSpki('not a DER SubjectPublicKeyInfo', e);
  }
  if (!key.export({ format: 'der', type: 'spki' }).equals(der)) throw badSpki('not in canonical DER');
  const type = key.asymmetricKeyType ?? 'unknown';
  if (!ACCEPTED_KEY_TYPES.has(type)) {
    throw new GkmError('GKM_CRYPTO_UNSUPPORTED', { field: 'SubjectPublicKeyInfo', detail: `${type} key` });
  }
  return key;
}

/** The `algorithm` AlgorithmIdentifier inside a SubjectPublicKeyInfo, as encoded. */
export function spkiAlgorithmIdentifier(spki: Buffer): Buffer {
  const outer = readElement(spki, 0);
  const alg = outer && outer.tag === 0x30 ? readElement(spki, outer.contentStart) : null;
  if (!outer || !alg || alg.tag !== 0x30 || alg.end > outer.end) throw badSpki('no AlgorithmIdentifier');
  return spki.subarray(outer.contentStart, alg.end);
}
