/**
 * Certificate payloads (RFC 7296 §3.6, §3.7):
 * CERT (37) `Cert Encoding(1) | Certificate Data`,
 * CERTREQ (38) `Cert Encoding(1) | Certification Authority`.
 * For the X.509 encodings (4, 12, 13) the CA field is a concatenation of 20-octet SHA-1
 * hashes of trusted CAs' public keys (possibly none); other encodings are opaque.
 */
import { GkmError } from '../../errors.ts';
import { CertEncoding } from '../../registry/misc.ts';
import { PayloadType } from '../../registry/payload.ts';
import type { PayloadCodec } from '../payload.ts';

export interface CertPayload {
  readonly type: typeof PayloadType.CERT;
  readonly critical?: boolean;
  readonly encoding: number;
  readonly data: Buffer;
}

export interface CertReqPayload {
  readonly type: typeof PayloadType.CERTREQ;
  readonly critical?: boolean;
  readonly encoding: number;
  /** Raw Certification Authority field; see caHashesOf() for the X.509 encodings. */
  readonly authorities: Buffer;
}

/** SHA-1 output size: CA hashes in CERTREQ and the hash of Hash and URL (RFC 7296 §3.6). */
export const CA_HASH_SIZE = 20;

const HASH_AND_URL = new Set<number>([CertEncoding.HASH_AND_URL_X509, CertEncoding.HASH_AND_URL_BUNDLE]);
/** Encodings whose CERTREQ CA field is a list of SHA-1 hashes (RFC 7296 §3.7). */
const HASHED_CA_ENCODINGS = new Set<number>([CertEncoding.X509_SIGNATURE, ...HASH_AND_URL]);

/** Hash and URL: a 20-octet hash then a non-empty URL; anything else: non-empty. */
const minCertData = (encoding: number): number => (HASH_AND_URL.has(encoding) ? CA_HASH_SIZE + 1 : 1);

export const certCodec: PayloadCodec<CertPayload> = {
  type: PayloadType.CERT,
  name: 'CERT',
  decode(r) {
    const encoding = r.u8('encoding');
    const min = minCertData(encoding);
    if (r.remaining < min) r.fail('GKM_WIRE_BAD_LENGTH', 'data', `${r.remaining} < ${min} for encoding ${encoding}`);
    return { type: PayloadType.CERT, encoding, data: r.rest() };
  },
  encode(w, p) {
    const min = minCertData(p.encoding);
    if (p.data.length < min) throw new GkmError('GKM_WIRE_ENCODE', { field: 'CERT.data', detail: `${p.data.length} < ${min}` });
    w.u8(p.encoding, 'CERT.encoding').bytes(p.data);
  },
};

const badHashList = (encoding: number, authorities: Buffer): boolean =>
  HASHED_CA_ENCODINGS.has(encoding) && authorities.length % CA_HASH_SIZE !== 0;

export const certReqCodec: PayloadCodec<CertReqPayload> = {
  type: PayloadType.CERTREQ,
  name: 'CERTREQ',
  decode(r) {
    const encoding = r.u8('encoding');
    const authorities = r.rest();
    if (badHashList(encoding, authorities)) {
      r.fail('GKM_WIRE_BAD_LENGTH', 'authorities', `${authorities.length} is not a multiple of ${CA_HASH_SIZE}`);
    }
    return { type: PayloadType.CERTREQ, encoding, authorities };
  },
  encode(w, p) {
    if (badHashList(p.encoding, p.authorities)) {
      throw new GkmError('GKM_WIRE_ENCODE', { field: 'CERTREQ.authorities', detail: `not a multiple of ${CA_HASH_SIZE}` });
    }
    w.u8(p.encoding, 'CERTREQ.encoding').bytes(p.authorities);
  },
};

/** The CA hashes of an X.509-family CERTREQ (views into the payload). */
export function caHashesOf(p: CertReqPayload): Buffer[] {
  if (!HASHED_CA_ENCODINGS.has(p.encoding)) {
    throw new GkmError('GKM_WIRE_BAD_VALUE', { field: 'CERTREQ.encoding', detail: `${p.encoding} has no CA hash list` });
  }
  const out: Buffer[] = [];
  for (let at = 0; at + CA_HASH_SIZE <= p.authorities.length; at += CA_HASH_SIZE) out.push(p.authorities.subarray(at, at + CA_HASH_SIZE));
  return out;
}

/** A CERTREQ listing trusted CAs by the SHA-1 hash of their public key (default X.509). */
export function certReqPayload(caHashes: readonly Buffer[], encoding: number = CertEncoding.X509_SIGNATURE): CertReqPayload {
  caHashes.forEach((h, i) => {
    if (h.length !== CA_HASH_SIZE) throw new GkmError('GKM_WIRE_ENCODE', { field: `CERTREQ.caHash[${i}]`, detail: `${h.length} != ${CA_HASH_SIZE}` });
  });
  return { type: PayloadType.CERTREQ, encoding, authorities: Buffer.concat(caHashes) };
}
