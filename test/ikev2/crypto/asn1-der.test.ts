import { test } from 'node:test';
import assert from 'node:assert/strict';
import { integer, oid, readElement, sequence, tlv } from '../../../src/ikev2/crypto/asn1-der.ts';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

test('DER encoding: OIDs, minimal INTEGERs, short and long lengths (X.690 §8.1.3, §8.3, §8.19)', () => {
  assert.equal(oid('1.2.840.113549.1.1.10').toString('hex'), '06092a864886f70d01010a');
  assert.equal(oid('2.16.840.1.101.3.4.2.1').toString('hex'), '0609608648016503040201');
  assert.equal(oid('1.3.101.112').toString('hex'), '06032b6570');
  assert.deepEqual([0, 32, 127, 128, 256].map((n) => integer(n).toString('hex')), [
    '020100',
    '020120',
    '02017f',
    '02020080',
    '02020100',
  ]);
  assert.equal(tlv(0x04, Buffer.alloc(200)).subarray(0, 3).toString('hex'), '0481c8');
  assert.equal(tlv(0x04, Buffer.alloc(300)).subarray(0, 4).toString('hex'), '0482012c');
  assert.equal(sequence().toString('hex'), '3000');
});

test('DER reading: well-formed elements only', () => {
  assert.deepEqual(readElement(hex('3003020101ff'), 0), { tag: 0x30, contentStart: 2, end: 5 });
  assert.deepEqual(readElement(tlv(0x04, Buffer.alloc(200)), 0), { tag: 0x04, contentStart: 3, end: 203 });
  for (const bad of ['', '30', '3004020101', '3080', '308103020101', '30820003020101', '1f0100', '3084000000010000']) {
    assert.equal(readElement(hex(bad), 0), null, bad);
  }
});
