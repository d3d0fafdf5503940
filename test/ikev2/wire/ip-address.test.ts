import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isGkmError } from '../../../src/ikev2/errors.ts';
import { ipAddressBytes, unmapIpv4 } from '../../../src/ikev2/wire/ip-address.ts';

test('IPv4 and the RFC 4291 §2.2 IPv6 text forms', () => {
  const cases: [string, string][] = [
    ['192.0.2.1', 'c0000201'],
    ['::', '00'.repeat(16)],
    ['::1', '00'.repeat(15) + '01'],
    ['1::', '0001' + '00'.repeat(14)],
    ['2001:db8:0:0:1:0:0:1', '20010db8000000000001000000000001'],
    ['2001:db8::1:0:0:1', '20010db8000000000001000000000001'],
    ['fe80::1%eth0', 'fe80' + '00'.repeat(13) + '01'],
    ['::ffff:192.0.2.1', '00'.repeat(10) + 'ffff' + 'c0000201'],
    ['64:ff9b::198.51.100.7', '0064ff9b' + '00'.repeat(8) + 'c6336407'],
  ];
  for (const [text, hex] of cases) assert.equal(ipAddressBytes(text).toString('hex'), hex, text);
});

test('invalid addresses are refused; IPv4-mapped addresses unmap', () => {
  for (const bad of ['', '1.2.3', '1.2.3.256', '::g', 'example.org']) {
    assert.throws(() => ipAddressBytes(bad), (e) => isGkmError(e, 'GKM_WIRE_ENCODE'), bad);
  }
  assert.equal(unmapIpv4(ipAddressBytes('::ffff:10.0.0.1')).toString('hex'), '0a000001');
  assert.equal(unmapIpv4(ipAddressBytes('::10.0.0.1')).length, 16);
});
