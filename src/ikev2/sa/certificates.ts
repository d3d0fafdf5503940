/**
 * X.509 path check against configured trust anchors (RFC 5280 §6, reduced to what IKE peers
 * need here): each link's issuer name matches, its signature verifies with the issuer's key,
 * every certificate is within its validity period, intermediates are CAs, and the path ends
 * at a configured anchor. Revocation is not checked (no CRL/OCSP source is configured).
 */
import { createHash, type X509Certificate } from 'node:crypto';
import { GkmError } from '../errors.ts';
import { publicKeyToSpki } from '../crypto/spki.ts';

export const MAX_CHAIN_DEPTH = 8;

const fail = (detail: string): GkmError => new GkmError('GKM_IKE_AUTHENTICATION_FAILED', { field: 'CERT', detail });

function checkValidity(cert: X509Certificate, at: Date): void {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (!(at.getTime() >= from && at.getTime() <= to)) throw fail(`certificate ${cert.serialNumber} not valid at ${at.toISOString()}`);
}

const signedBy = (cert: X509Certificate, issuer: X509Certificate): boolean => {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
};

/** Throws GKM_IKE_AUTHENTICATION_FAILED unless `endEntity` chains to one of `anchors`. */
export function verifyCertificateChain(
  endEntity: X509Certificate,
  intermediates: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
  at: Date,
): void {
  let current = endEntity;
  for (let depth = 0; depth <= MAX_CHAIN_DEPTH; depth++) {
    checkValidity(current, at);
    if (anchors.some((a) => a.raw.equals(current.raw))) return;
    const anchor = anchors.find((a) => a.ca && signedBy(current, a));
    if (anchor) {
      checkValidity(anchor, at);
      return;
    }
    const next = intermediates.find((i) => i.ca && i !== current && signedBy(current, i));
    if (!next) throw fail('no path to a trusted CA');
    current = next;
  }
  throw fail(`chain longer than ${MAX_CHAIN_DEPTH}`);
}

/** CERTREQ CA hash: SHA-1 of the CA's SubjectPublicKeyInfo (RFC 7296 §3.7). */
export function caHash(ca: X509Certificate): Buffer {
  return createHash('sha1').update(publicKeyToSpki(ca.publicKey)).digest();
}
