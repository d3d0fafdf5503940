/**
 * IKE_AUTH / GSA_AUTH authentication (RFC 7296 §2.15, RFC 7427, RFC 7670, RFC 9242 §3.3):
 * our AUTH (and CERT) payloads, and the check of the peer's. Shared by every exchange that
 * authenticates an IKE SA, so G-IKEv2's GSA_AUTH computes AUTH exactly as IKE_AUTH does
 * (RFC 9838 §2.3.1).
 */
import { X509Certificate, timingSafeEqual, type KeyObject } from 'node:crypto';
import { GkmError, isGkmError } from '../errors.ts';
import { pskAuth, signedOctets } from '../crypto/keys.ts';
import { defaultSchemeForKey, schemesForKey, signAuth, verifyAuth, type SignatureScheme } from '../crypto/sig.ts';
import { schemeInfo } from '../crypto/sig-schemes.ts';
import { publicKeyToSpki, spkiToPublicKey } from '../crypto/spki.ts';
import { AuthMethod, CertEncoding } from '../registry/misc.ts';
import { PayloadType } from '../registry/payload.ts';
import { payloadBody } from '../wire/payload.ts';
import type { AuthPayload, CertPayload, IdPayload } from '../wire/payloads/index.ts';
import type { LocalAuth, PeerAuth } from './config.ts';
import { requireAdditionalKesDone } from './additional-ke.ts';
import { verifyCertificateChain } from './certificates.ts';
import { certificateMatchesIdentity, identityOf, sameIdentity, type Identity } from './identity.ts';
import type { IkeSa } from './ike-sa.ts';

const authFailed = (detail: string, cause?: unknown): GkmError =>
  new GkmError('GKM_IKE_AUTHENTICATION_FAILED', cause === undefined ? { detail } : { detail, cause });

/**
 * InitiatorSignedOctets / ResponderSignedOctets of this SA for the ID payload `id` sent by
 * `signer` (RFC 7296 §2.15), with IntAuth appended after IKE_INTERMEDIATE (RFC 9242 §3.3.2).
 */
export function authOctets(sa: IkeSa, signer: 'initiator' | 'responder', id: IdPayload): Buffer {
  requireAdditionalKesDone(sa); // RFC 9370 §2.2.2: AUTH only with the final keys and IntAuth
  const init = sa.requireInit();
  const { prf, keys } = sa.requireCrypto();
  const idBody = payloadBody(id);
  const intAuth = sa.intAuthValue();
  return signer === 'initiator'
    ? signedOctets(init.requestBytes, init.nr, prf, keys.skPi, idBody, intAuth)
    : signedOctets(init.responseBytes, init.ni, prf, keys.skPr, idBody, intAuth);
}

/** Our scheme: the configured one, else the key's default, else one whose hash the peer listed (RFC 7427 §4). */
function pickScheme(key: KeyObject, configured: SignatureScheme | undefined, peerHashes: readonly number[] | undefined): SignatureScheme {
  if (configured) return configured;
  const fits = (s: SignatureScheme): boolean => peerHashes === undefined || peerHashes.includes(schemeInfo(s).hashAlgorithm);
  const preferred = defaultSchemeForKey(key);
  if (fits(preferred)) return preferred;
  const other = schemesForKey(key).find(fits);
  if (!other) throw new GkmError('GKM_IKE_CONFIG', { field: 'localAuth', detail: 'no signature scheme the peer accepts' });
  return other;
}

export interface LocalAuthPayloads {
  readonly certs: CertPayload[];
  readonly auth: AuthPayload;
}

/** CERT payloads and AUTH for our ID payload `id`, signed as `signer`. */
export function localAuthPayloads(sa: IkeSa, auth: LocalAuth, signer: 'initiator' | 'responder', id: IdPayload): LocalAuthPayloads {
  const octets = authOctets(sa, signer, id);
  if (auth.method === 'psk') {
    const { prf } = sa.requireCrypto();
    return { certs: [], auth: { type: PayloadType.AUTH, method: AuthMethod.PSK, data: pskAuth(prf, auth.psk, octets) } };
  }
  const scheme = pickScheme(auth.privateKey, auth.scheme, sa.extensions.peerSignatureHashes);
  const certs: CertPayload[] = auth.certificates?.length
    ? auth.certificates.map((c) => ({ type: PayloadType.CERT, encoding: CertEncoding.X509_SIGNATURE, data: c.raw }))
    : [{ type: PayloadType.CERT, encoding: CertEncoding.RAW_PUBLIC_KEY, data: publicKeyToSpki(auth.privateKey) }];
  const data = signAuth(auth.privateKey, octets, scheme);
  return { certs, auth: { type: PayloadType.AUTH, method: AuthMethod.DIGITAL_SIGNATURE, data } };
}

export interface PeerAuthInput {
  readonly id: IdPayload;
  readonly auth: AuthPayload;
  readonly certs: readonly CertPayload[];
  /** The identity the peer must have, if configured. */
  readonly expectedId?: Identity | undefined;
  /** Hash IDs we announced (RFC 7427 §4): the peer's signature must use one. */
  readonly acceptedHashes: readonly number[];
  /** Wall-clock time for certificate validity. */
  readonly at: Date;
}

function parseCertificate(c: CertPayload): X509Certificate {
  try {
    return new X509Certificate(c.data);
  } catch (cause) {
    throw authFailed('undecodable certificate', cause);
  }
}

/** Candidate public keys for the peer's signature, after chain and identity checks. */
function peerKeys(auth: Extract<PeerAuth, { method: 'signature' }>, input: PeerAuthInput): KeyObject[] {
  const x509 = input.certs.filter((c) => c.encoding === CertEncoding.X509_SIGNATURE);
  const raw = input.certs.filter((c) => c.encoding === CertEncoding.RAW_PUBLIC_KEY);
  if (x509.length > 0 && auth.trustedCas?.length) {
    const [ee, ...rest] = x509.map(parseCertificate) as [X509Certificate, ...X509Certificate[]];
    verifyCertificateChain(ee, rest, auth.trustedCas, input.at);
    if (!certificateMatchesIdentity(ee, identityOf(input.id))) throw authFailed('certificate does not carry the peer identity');
    return [ee.publicKey];
  }
  const configured = auth.publicKeys ?? [];
  if (raw.length > 0) {
    const sent = raw.map((c) => publicKeyToSpki(spkiToPublicKey(c.data)));
    return configured.filter((k) => sent.some((s) => s.equals(publicKeyToSpki(k))));
  }
  return [...configured];
}

/** Throws GKM_IKE_AUTHENTICATION_FAILED unless the peer proved `input.id` as `signer`. */
export function verifyPeerAuth(sa: IkeSa, auth: PeerAuth, signer: 'initiator' | 'responder', input: PeerAuthInput): void {
  if (input.expectedId && !sameIdentity(input.expectedId, identityOf(input.id))) throw authFailed('unexpected peer identity');
  const octets = authOctets(sa, signer, input.id);
  if (auth.method === 'psk') {
    if (input.auth.method !== AuthMethod.PSK) throw authFailed(`auth method ${input.auth.method}, expected PSK`);
    const expected = pskAuth(sa.requireCrypto().prf, auth.psk, octets);
    if (expected.length !== input.auth.data.length || !timingSafeEqual(expected, input.auth.data)) throw authFailed('PSK AUTH mismatch');
    return;
  }
  if (input.auth.method !== AuthMethod.DIGITAL_SIGNATURE) throw authFailed(`auth method ${input.auth.method}, expected digital signature`);
  let keys: KeyObject[];
  try {
    keys = peerKeys(auth, input);
  } catch (e) {
    throw isGkmError(e, 'GKM_IKE_AUTHENTICATION_FAILED') ? e : authFailed('unusable peer credentials', e);
  }
  for (const key of keys) {
    try {
      const scheme = verifyAuth(key, octets, input.auth.data);
      if (!input.acceptedHashes.includes(schemeInfo(scheme).hashAlgorithm)) throw authFailed(`hash of ${scheme} not accepted`);
      return;
    } catch (e) {
      if (isGkmError(e, 'GKM_IKE_AUTHENTICATION_FAILED')) throw e;
    }
  }
  throw authFailed(keys.length === 0 ? 'no trusted key for the peer' : 'signature does not verify');
}
