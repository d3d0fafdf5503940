/**
 * Minimal X.509 v3 certificates (RFC 5280 §4.1) built in the test with the project's DER
 * helpers and signed with ECDSA P-256 / SHA-256: a CA (basicConstraints CA) and end
 * entities with a subjectAltName dNSName. Node can parse X.509 but not issue it.
 */
import { generateKeyPairSync, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { explicitTag, integer, oid, sequence, tlv } from '../../../../src/ikev2/crypto/asn1-der.ts';
import { publicKeyToSpki } from '../../../../src/ikev2/crypto/spki.ts';

const ECDSA_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));

const name = (cn: string): Buffer => sequence(tlv(0x31, sequence(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn)))));

function utcTime(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, '0');
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(s));
}

const extension = (id: string, critical: boolean, value: Buffer): Buffer =>
  sequence(oid(id), ...(critical ? [tlv(0x01, Buffer.of(0xff))] : []), tlv(0x04, value));

export interface Issued {
  readonly cert: X509Certificate;
  readonly key: KeyObject;
}

export interface CertOptions {
  readonly subject: string;
  readonly issuer?: Issued;
  readonly ca?: boolean;
  readonly dns?: string;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly serial?: number;
}

let serials = 1;

export function makeCert(o: CertOptions): Issued {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const issuerName = o.issuer ? name(o.issuer.cert.subject.replace(/^CN=/, '')) : name(o.subject);
  const exts = [extension('2.5.29.19', true, o.ca ? sequence(tlv(0x01, Buffer.of(0xff))) : sequence())];
  if (o.dns) exts.push(extension('2.5.29.17', false, sequence(tlv(0x82, Buffer.from(o.dns)))));
  const now = Date.now();
  const tbs = sequence(
    explicitTag(0, integer(2)),
    integer(o.serial ?? serials++),
    ECDSA_SHA256,
    issuerName,
    sequence(utcTime(o.notBefore ?? new Date(now - 3600_000)), utcTime(o.notAfter ?? new Date(now + 86400_000))),
    name(o.subject),
    publicKeyToSpki(publicKey),
    explicitTag(3, sequence(...exts)),
  );
  const signature = sign('sha256', tbs, { key: o.issuer?.key ?? privateKey, dsaEncoding: 'der' });
  const der = sequence(tbs, ECDSA_SHA256, tlv(0x03, Buffer.concat([Buffer.of(0), signature])));
  return { cert: new X509Certificate(der), key: privateKey };
}
