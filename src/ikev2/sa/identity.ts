/**
 * IKE identities (RFC 7296 §3.5) and their binding to certificates (RFC 4945 §3.1:
 * the ID must appear in the certificate's subject or subjectAltName).
 */
import type { X509Certificate } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { readElement } from '../crypto/asn1-der.ts';
import { IdType } from '../registry/misc.ts';
import { nameOf } from '../registry/names.ts';
import { PayloadType } from '../registry/payload.ts';
import type { IdiPayload, IdrPayload, IdPayload } from '../wire/payloads/index.ts';
import { ipAddressBytes } from '../wire/ip-address.ts';
import { retained } from './retained.ts';

export interface Identity {
  readonly type: number;
  readonly data: Buffer;
}

export const Id = {
  fqdn: (name: string): Identity => ({ type: IdType.ID_FQDN, data: Buffer.from(name, 'ascii') }),
  email: (addr: string): Identity => ({ type: IdType.ID_RFC822_ADDR, data: Buffer.from(addr, 'ascii') }),
  keyId: (id: string | Buffer): Identity => ({ type: IdType.ID_KEY_ID, data: Buffer.isBuffer(id) ? id : Buffer.from(id) }),
  ip: (addr: string): Identity => ({ type: isIPv6(addr) ? IdType.ID_IPV6_ADDR : IdType.ID_IPV4_ADDR, data: ipAddressBytes(addr) }),
  /** DER Name, e.g. `cert.subject` has no DER form in Node: use subjectDer(cert). */
  dn: (der: Buffer): Identity => ({ type: IdType.ID_DER_ASN1_DN, data: der }),
} as const;

export const sameIdentity = (a: Identity, b: Identity): boolean => a.type === b.type && a.data.equals(b.data);

/** For events and logs. */
export function identityText(id: Identity): string {
  switch (id.type) {
    case IdType.ID_FQDN:
    case IdType.ID_RFC822_ADDR:
      return id.data.toString('latin1');
    case IdType.ID_IPV4_ADDR:
      return [...id.data].join('.');
    case IdType.ID_KEY_ID:
      return /^[\x20-\x7e]+$/.test(id.data.toString('latin1')) ? id.data.toString('latin1') : `0x${id.data.toString('hex')}`;
    default:
      return `${nameOf(IdType, id.type)}:${id.data.toString('hex')}`;
  }
}

export function idPayload(type: typeof PayloadType.IDi, id: Identity): IdiPayload;
export function idPayload(type: typeof PayloadType.IDr, id: Identity): IdrPayload;
export function idPayload(type: typeof PayloadType.IDi | typeof PayloadType.IDr, id: Identity): IdPayload {
  return { type, idType: id.type, data: id.data };
}

/** The identity of an ID payload, its data copied out of the message (the SA keeps it). */
export const identityOf = (p: IdPayload): Identity => ({ type: p.idType, data: retained(p.data)[0]! });

/** The DER subject Name of a certificate (tbsCertificate field 6, RFC 5280 §4.1). */
export function subjectDer(cert: X509Certificate): Buffer | undefined {
  const raw = cert.raw;
  const outer = readElement(raw, 0);
  const tbs = outer && readElement(raw, outer.contentStart);
  if (!tbs) return undefined;
  let at = tbs.contentStart;
  const first = readElement(raw, at);
  if (first?.tag === 0xa0) at = first.end; // [0] version
  // serialNumber, signature, issuer, validity, then subject.
  for (let i = 0; i < 4; i++) {
    const e = readElement(raw, at);
    if (!e) return undefined;
    at = e.end;
  }
  const subject = readElement(raw, at);
  return subject && subject.tag === 0x30 ? raw.subarray(at, subject.end) : undefined;
}

/** Whether `cert` vouches for `id` (RFC 4945 §3.1). KEY_ID never binds to a certificate. */
export function certificateMatchesIdentity(cert: X509Certificate, id: Identity): boolean {
  const text = id.data.toString('latin1');
  switch (id.type) {
    case IdType.ID_FQDN:
      return cert.checkHost(text, { subject: 'never', wildcards: false }) !== undefined;
    case IdType.ID_RFC822_ADDR:
      return cert.checkEmail(text, { subject: 'never' }) !== undefined;
    case IdType.ID_IPV4_ADDR:
    case IdType.ID_IPV6_ADDR: {
      const ip = id.type === IdType.ID_IPV4_ADDR ? [...id.data].join('.') : ipv6Text(id.data);
      return (isIPv4(ip) || isIPv6(ip)) && cert.checkIP(ip) !== undefined;
    }
    case IdType.ID_DER_ASN1_DN:
      return subjectDer(cert)?.equals(id.data) ?? false;
    default:
      return false;
  }
}

function ipv6Text(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i + 1 < b.length; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(':');
}
