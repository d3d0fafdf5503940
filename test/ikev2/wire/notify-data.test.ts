import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotifyType, ProtocolId } from '../../../src/ikev2/registry/index.ts';
import { checkNotifyData, natDetectionHash, notify, NotifyData, notifyDataCodec, type NotifyPayload } from '../../../src/ikev2/wire/payloads/index.ts';
import { decodeBody, encodeError, hex, payloadHex, wireError } from './payload-helpers.ts';
import { PayloadType } from '../../../src/ikev2/registry/payload.ts';

const withData = (type: number, data: string | Buffer): NotifyPayload => notify(type, typeof data === 'string' ? hex(data) : data);

test('GROUP_SENDER golden bytes (RFC 9838 §4.7.4): <gen.hdr> 00 00 40 2d 00 00 00 02', () => {
  const n = NotifyData.GROUP_SENDER.build(2);
  assert.equal(payloadHex(n), '0000000c' + '0000402d' + '00000002');
  assert.equal(NotifyData.GROUP_SENDER.parse(decodeBody(PayloadType.NOTIFY, '0000402d00000002') as NotifyPayload), 2);
  assert.equal(NotifyData.GROUP_SENDER.parse(withData(NotifyType.GROUP_SENDER, '00000000')), 0, 'returned as sent; the GCKS maps 0 to 1');
  for (const bad of ['', '000002', '0000000002']) {
    assert.throws(() => NotifyData.GROUP_SENDER.parse(withData(NotifyType.GROUP_SENDER, bad)), wireError('GKM_WIRE_BAD_LENGTH', /^N\(GROUP_SENDER\)\.data$/));
  }
});

test('COOKIE: 1..64 octets', () => {
  const c = Buffer.alloc(64, 7);
  assert.deepEqual(NotifyData.COOKIE.parse(NotifyData.COOKIE.build(c)), c);
  assert.deepEqual(NotifyData.COOKIE.parse(withData(NotifyType.COOKIE, '01')), hex('01'));
  assert.throws(() => NotifyData.COOKIE.parse(withData(NotifyType.COOKIE, '')), wireError('GKM_WIRE_BAD_LENGTH', /COOKIE\)\.data$/));
  assert.throws(() => NotifyData.COOKIE.parse(withData(NotifyType.COOKIE, Buffer.alloc(65))), wireError('GKM_WIRE_BAD_LENGTH'));
  assert.throws(() => NotifyData.COOKIE.build(Buffer.alloc(65)), encodeError(/COOKIE\)\.data$/));
});

test('NAT_DETECTION_*: 20 octets, SHA-1(SPIi | SPIr | IP | Port)', () => {
  const spiI = hex('0102030405060708');
  // Expected values computed with Python hashlib over the same concatenation.
  const h4 = natDetectionHash(spiI, Buffer.alloc(8), '192.0.2.1', 500);
  assert.equal(h4.toString('hex'), '644b4575455bd6fcc1efe2be8162a9218e448e5f');
  assert.deepEqual(natDetectionHash(spiI, Buffer.alloc(8), '::ffff:192.0.2.1', 500), h4, 'IPv4-mapped address hashes as IPv4');
  const h6 = natDetectionHash(spiI, hex('1112131415161718'), '2001:db8::1:2', 4500);
  assert.equal(h6.toString('hex'), '482d18eff826faefaf16fe4f4e34fa935cdfe34a');
  for (const codec of [NotifyData.NAT_DETECTION_SOURCE_IP, NotifyData.NAT_DETECTION_DESTINATION_IP]) {
    assert.deepEqual(codec.parse(codec.build(h4)), h4);
    assert.throws(() => codec.parse(withData(codec.notifyType, h4.subarray(1))), wireError('GKM_WIRE_BAD_LENGTH'));
  }
  assert.throws(() => natDetectionHash(spiI, Buffer.alloc(4), '192.0.2.1', 500), encodeError());
  assert.throws(() => natDetectionHash(spiI, Buffer.alloc(8), 'not-an-ip', 500), encodeError());
  assert.throws(() => natDetectionHash(spiI, Buffer.alloc(8), '192.0.2.1', 70000), encodeError());
});

test('fixed-width integers: INVALID_KE_PAYLOAD, SET_WINDOW_SIZE, UNSUPPORTED_CRITICAL_PAYLOAD', () => {
  assert.deepEqual(NotifyData.INVALID_KE_PAYLOAD.build(31).data, hex('001f'));
  assert.equal(NotifyData.INVALID_KE_PAYLOAD.parse(withData(NotifyType.INVALID_KE_PAYLOAD, '0024')), 36);
  assert.throws(() => NotifyData.INVALID_KE_PAYLOAD.parse(withData(NotifyType.INVALID_KE_PAYLOAD, '00')), wireError('GKM_WIRE_BAD_LENGTH'));
  assert.equal(NotifyData.SET_WINDOW_SIZE.parse(withData(NotifyType.SET_WINDOW_SIZE, '00000010')), 16);
  assert.throws(() => NotifyData.SET_WINDOW_SIZE.parse(withData(NotifyType.SET_WINDOW_SIZE, '0010')), wireError('GKM_WIRE_BAD_LENGTH'));
  assert.equal(NotifyData.UNSUPPORTED_CRITICAL_PAYLOAD.parse(withData(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, 'c8')), 200);
  assert.throws(() => NotifyData.UNSUPPORTED_CRITICAL_PAYLOAD.parse(withData(1, 'c800')), wireError('GKM_WIRE_BAD_LENGTH'));
  assert.throws(() => NotifyData.INVALID_KE_PAYLOAD.build(0x10000), encodeError());
});

test('REKEY_SA / CHILD_SA_NOT_FOUND: protocol AH or ESP, SPI size 4', () => {
  const ref = { protocolId: ProtocolId.ESP, spi: hex('c0ffee01') };
  const n = NotifyData.REKEY_SA.build(ref);
  assert.equal(payloadHex(n), '0000000c' + '03044009' + 'c0ffee01');
  assert.deepEqual(NotifyData.REKEY_SA.parse(n), ref);
  assert.deepEqual(NotifyData.CHILD_SA_NOT_FOUND.parse({ ...n, notifyType: NotifyType.CHILD_SA_NOT_FOUND }), ref);
  assert.throws(() => NotifyData.REKEY_SA.parse({ ...n, protocolId: ProtocolId.IKE }), wireError('GKM_WIRE_BAD_VALUE', /REKEY_SA\)\.protocolId$/));
  assert.throws(() => NotifyData.REKEY_SA.parse({ ...n, spi: Buffer.alloc(8) }), wireError('GKM_WIRE_BAD_LENGTH', /REKEY_SA\)\.spiSize$/));
  assert.throws(() => NotifyData.REKEY_SA.build({ protocolId: 0, spi: ref.spi }), encodeError(/protocolId$/));
});

test('SIGNATURE_HASH_ALGORITHMS: non-empty list of 2-octet IDs', () => {
  const n = NotifyData.SIGNATURE_HASH_ALGORITHMS.build([2, 3, 4, 5]);
  assert.deepEqual(n.data, hex('0002000300040005'));
  assert.deepEqual(NotifyData.SIGNATURE_HASH_ALGORITHMS.parse(n), [2, 3, 4, 5]);
  for (const bad of ['', '000200']) {
    assert.throws(() => NotifyData.SIGNATURE_HASH_ALGORITHMS.parse(withData(NotifyType.SIGNATURE_HASH_ALGORITHMS, bad)), wireError('GKM_WIRE_BAD_LENGTH'));
  }
  assert.throws(() => NotifyData.SIGNATURE_HASH_ALGORITHMS.build([]), encodeError());
});

test('IPCOMP_SUPPORTED: CPI(2) + transform(1)', () => {
  const n = NotifyData.IPCOMP_SUPPORTED.build({ cpi: 0x1234, transformId: 2 });
  assert.deepEqual(n.data, hex('123402'));
  assert.deepEqual(NotifyData.IPCOMP_SUPPORTED.parse(n), { cpi: 0x1234, transformId: 2 });
  assert.throws(() => NotifyData.IPCOMP_SUPPORTED.parse(withData(NotifyType.IPCOMP_SUPPORTED, '1234')), wireError('GKM_WIRE_BAD_LENGTH'));
  assert.throws(() => NotifyData.IPCOMP_SUPPORTED.parse(withData(NotifyType.IPCOMP_SUPPORTED, '12340200')), wireError('GKM_WIRE_BAD_LENGTH'));
});

test('opaque data: ADDITIONAL_KEY_EXCHANGE, SA_RESOURCE_INFO (may be empty), OPTIMIZED_REKEY (4 or 8)', () => {
  assert.deepEqual(NotifyData.ADDITIONAL_KEY_EXCHANGE.parse(withData(NotifyType.ADDITIONAL_KEY_EXCHANGE, '2a')), hex('2a'));
  assert.deepEqual(NotifyData.SA_RESOURCE_INFO.parse(withData(NotifyType.SA_RESOURCE_INFO, '')), Buffer.alloc(0));
  assert.deepEqual(NotifyData.SA_RESOURCE_INFO.parse(withData(NotifyType.SA_RESOURCE_INFO, '00000003')), hex('00000003'));
  for (const ok of ['01020304', '0102030405060708']) assert.deepEqual(NotifyData.OPTIMIZED_REKEY.parse(withData(NotifyType.OPTIMIZED_REKEY, ok)), hex(ok));
  for (const bad of ['', '010203', '0102030405']) {
    assert.throws(() => NotifyData.OPTIMIZED_REKEY.parse(withData(NotifyType.OPTIMIZED_REKEY, bad)), wireError('GKM_WIRE_BAD_LENGTH', /OPTIMIZED_REKEY\)\.data$/));
  }
});

test('notifies defined without data: build sends none, parse ignores extra data', () => {
  const n = NotifyData.INITIAL_CONTACT.build();
  assert.equal(payloadHex(n), '00000008' + '00004000');
  assert.doesNotThrow(() => NotifyData.USE_TRANSPORT_MODE.parse(withData(NotifyType.USE_TRANSPORT_MODE, 'ff')));
  assert.doesNotThrow(() => NotifyData.REGISTRATION_FAILED.parse(withData(NotifyType.REGISTRATION_FAILED, '0102')));
});

test('parse refuses a notify of another type; table lookup and checkNotifyData', () => {
  assert.throws(() => NotifyData.COOKIE.parse(withData(NotifyType.INITIAL_CONTACT, '01')), wireError('GKM_WIRE_BAD_VALUE', /notifyType$/));
  assert.equal(notifyDataCodec(NotifyType.COOKIE), NotifyData.COOKIE);
  assert.equal(notifyDataCodec(12345), undefined);
  assert.doesNotThrow(() => checkNotifyData(withData(12345, 'ff')));
  assert.throws(() => checkNotifyData(withData(NotifyType.GROUP_SENDER, '01')), wireError('GKM_WIRE_BAD_LENGTH'));
  for (const c of Object.values(NotifyData)) assert.equal(notifyDataCodec(c.notifyType), c, c.name);
});
