import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CertEncoding } from '../../../src/ikev2/registry/misc.ts';
import { PayloadType } from '../../../src/ikev2/registry/payload.ts';
import { caHashesOf, certReqPayload, type CertPayload, type CertReqPayload } from '../../../src/ikev2/wire/payloads/index.ts';
import { bodyHex, decodeBody, encodeError, hex, wireError } from './payload-helpers.ts';

const H1 = Buffer.alloc(20, 0xaa);
const H2 = Buffer.alloc(20, 0xbb);

test('CERT golden bytes: encoding octet then the DER certificate', () => {
  const der = hex('3082000130');
  const cert: CertPayload = { type: PayloadType.CERT, encoding: CertEncoding.X509_SIGNATURE, data: der };
  assert.equal(bodyHex(cert), '04' + '3082000130');
  assert.deepEqual(decodeBody(PayloadType.CERT, '043082000130'), cert);
});

test('CERT malformed', () => {
  assert.throws(() => decodeBody(PayloadType.CERT, ''), wireError('GKM_WIRE_TRUNCATED', /CERT\.encoding$/));
  assert.throws(() => decodeBody(PayloadType.CERT, '04'), wireError('GKM_WIRE_BAD_LENGTH', /CERT\.data$/));
  // Hash and URL: 20-octet hash and a non-empty URL (RFC 7296 §3.6)
  const hashOnly = Buffer.concat([hex('0c'), H1]);
  assert.throws(() => decodeBody(PayloadType.CERT, hashOnly), wireError('GKM_WIRE_BAD_LENGTH', /CERT\.data$/));
  const url: CertPayload = { type: PayloadType.CERT, encoding: CertEncoding.HASH_AND_URL_X509, data: Buffer.concat([H1, Buffer.from('http://ca/c.der')]) };
  assert.deepEqual(decodeBody(PayloadType.CERT, bodyHex(url)), url);
  assert.throws(() => bodyHex({ ...url, data: H1 }), encodeError(/CERT\.data$/));
});

test('CERTREQ golden bytes: X.509 with two CA hashes', () => {
  const req = certReqPayload([H1, H2]);
  assert.equal(bodyHex(req), '04' + H1.toString('hex') + H2.toString('hex'));
  const d = decodeBody(PayloadType.CERTREQ, bodyHex(req)) as CertReqPayload;
  assert.deepEqual(d, req);
  assert.deepEqual(caHashesOf(d), [H1, H2]);
});

test('CERTREQ: empty CA list allowed, non-multiple of 20 refused for X.509 encodings only', () => {
  assert.deepEqual(caHashesOf(decodeBody(PayloadType.CERTREQ, '04') as CertReqPayload), []);
  for (const enc of ['04', '0c', '0d']) {
    assert.throws(() => decodeBody(PayloadType.CERTREQ, enc + H1.toString('hex') + 'cc'), wireError('GKM_WIRE_BAD_LENGTH', /CERTREQ\.authorities$/));
  }
  const raw = decodeBody(PayloadType.CERTREQ, '0f0102') as CertReqPayload; // RAW_PUBLIC_KEY: opaque
  assert.deepEqual(raw.authorities, hex('0102'));
  assert.throws(() => caHashesOf(raw), wireError('GKM_WIRE_BAD_VALUE'));
  assert.throws(() => decodeBody(PayloadType.CERTREQ, ''), wireError('GKM_WIRE_TRUNCATED'));
});

test('CERTREQ encode checks hash sizes', () => {
  assert.throws(() => certReqPayload([Buffer.alloc(19)]), encodeError(/caHash\[0\]$/));
  assert.throws(() => bodyHex({ type: PayloadType.CERTREQ, encoding: 4, authorities: Buffer.alloc(21) }), encodeError(/authorities$/));
});
