/**
 * The GCKS's signing key for a group's GSA_REKEY messages (GCAUTH Digital Signature,
 * RFC 9838 §4.4.2.1.1, §6.2): generated for the policy's signature algorithm, stored as
 * key material of kind "signing-key" (PKCS#8 sealed, SPKI in clear: it is the AUTH_KEY
 * members receive, §4.5.3.2).
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { checkAlgorithmIdentifierFitsKey, signatureAlgorithmIdentifier } from '../../ikev2/crypto/sig.ts';
import type { SignatureScheme } from '../../ikev2/crypto/sig-schemes.ts';
import { publicKeyToSpki } from '../../ikev2/crypto/spki.ts';
import type { KeyMaterialRecord, Store } from '../../store/index.ts';

export interface GroupSigningKey {
  readonly record: KeyMaterialRecord;
  readonly scheme: SignatureScheme;
  readonly privateKey: KeyObject;
  /** DER SubjectPublicKeyInfo: the AUTH_KEY attribute. */
  readonly spki: Buffer;
}

const EC_CURVE: Partial<Record<SignatureScheme, string>> = { 'ecdsa-sha256': 'P-256', 'ecdsa-sha384': 'P-384', 'ecdsa-sha512': 'P-521' };

function generate(scheme: SignatureScheme): KeyObject {
  if (scheme === 'ed25519') return generateKeyPairSync('ed25519').privateKey;
  if (scheme === 'ed448') return generateKeyPairSync('ed448').privateKey;
  const curve = EC_CURVE[scheme];
  if (curve) return generateKeyPairSync('ec', { namedCurve: curve }).privateKey;
  return generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey;
}

/** Generate and store a new signing key; the caller retires the previous one if any. */
export function createSigningKey(store: Store, groupId: number, scheme: SignatureScheme): GroupSigningKey {
  const privateKey = generate(scheme);
  checkAlgorithmIdentifierFitsKey(signatureAlgorithmIdentifier(scheme), privateKey);
  const spki = publicKeyToSpki(privateKey);
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  try {
    const record = store.keys.add({ groupId, kind: 'signing-key', secret: pkcs8, publicKey: spki, algorithm: scheme });
    return { record, scheme, privateKey, spki };
  } finally {
    pkcs8.fill(0);
  }
}

/** The group's live signing key, or undefined. */
export function loadSigningKey(store: Store, groupId: number): GroupSigningKey | undefined {
  const record = store.keys.list(groupId, { kind: 'signing-key' }).at(-1);
  if (!record) return undefined;
  const { secret } = store.keys.open(record.id);
  try {
    const privateKey = createPrivateKey({ key: secret, format: 'der', type: 'pkcs8' });
    return { record, scheme: record.algorithm as SignatureScheme, privateKey, spki: record.publicKey! };
  } finally {
    secret.fill(0);
  }
}

/** The live signing key for `scheme`, creating one (and retiring one of another scheme) when needed. */
export function ensureSigningKey(store: Store, groupId: number, scheme: SignatureScheme): GroupSigningKey {
  const current = loadSigningKey(store, groupId);
  if (current?.scheme === scheme) return current;
  if (current) store.keys.retire(current.record.id);
  return createSigningKey(store, groupId, scheme);
}
