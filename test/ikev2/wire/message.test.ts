import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage, notify, payloadBody, type IkeMessage } from '../../../src/ikev2/wire/index.ts';
import { ExchangeType, HeaderFlag, NotifyType, PayloadType } from '../../../src/ikev2/registry/index.ts';
import { isGkmError } from '../../../src/ikev2/errors.ts';

const msg: IkeMessage = {
  header: {
    spiI: Buffer.from('0102030405060708', 'hex'),
    spiR: Buffer.alloc(8),
    exchangeType: ExchangeType.IKE_SA_INIT,
    flags: HeaderFlag.INITIATOR,
    messageId: 0,
  },
  payloads: [
    { type: PayloadType.KE, method: 31, data: Buffer.alloc(32, 7) },
    { type: PayloadType.NONCE, nonce: Buffer.alloc(32, 9) },
    notify(NotifyType.NAT_DETECTION_SOURCE_IP, Buffer.alloc(20, 1)),
    { type: PayloadType.IDi, idType: 11, data: Buffer.from('gm-1') },
  ],
};

test('message round-trips and keeps raw bytes', () => {
  const raw = encodeMessage(msg);
  assert.equal(raw.readUInt32BE(24), raw.length);
  const d = decodeMessage(raw);
  assert.equal(d.header.nextPayload, PayloadType.KE);
  assert.deepEqual(d.payloads, msg.payloads);
  assert.equal(d.raw, raw);
  assert.equal(d.encryptedOffset, -1);
  assert.deepEqual(payloadBody(d.payloads[3]!), Buffer.from('0b000000676d2d31', 'hex'));
});

test('every truncated prefix fails with a typed error', () => {
  const raw = encodeMessage(msg);
  for (let n = 0; n < raw.length; n++) {
    assert.throws(() => decodeMessage(raw.subarray(0, n)), (e) => isGkmError(e) && e.notify === NotifyType.INVALID_SYNTAX);
  }
});

test('trailing bytes are refused', () => {
  const raw = Buffer.concat([encodeMessage(msg), Buffer.from([0])]);
  assert.throws(() => decodeMessage(raw), (e) => isGkmError(e, 'GKM_WIRE_TRAILING_BYTES'));
});

test('unknown critical payload raises UNSUPPORTED_CRITICAL_PAYLOAD with its type', () => {
  const raw = encodeMessage({ ...msg, payloads: [{ type: 'unknown', wireType: 200, critical: true, body: Buffer.from([1, 2]) }] });
  assert.throws(
    () => decodeMessage(raw),
    (e) => isGkmError(e, 'GKM_WIRE_UNSUPPORTED_CRITICAL_PAYLOAD') && e.notify === 1 && e.notifyData?.[0] === 200,
  );
});

test('unknown non-critical payload is kept as opaque', () => {
  const payloads = [{ type: 'unknown' as const, wireType: 200, body: Buffer.from([1, 2]) }, { type: PayloadType.NONCE, nonce: Buffer.alloc(16) } as const];
  const d = decodeMessage(encodeMessage({ ...msg, payloads }));
  assert.deepEqual(d.payloads, payloads);
});

test('wrong major version maps to INVALID_MAJOR_VERSION', () => {
  const raw = encodeMessage(msg);
  raw[17] = 0x30;
  assert.throws(() => decodeMessage(raw), (e) => isGkmError(e, 'GKM_WIRE_INVALID_MAJOR_VERSION') && e.notify === 5);
});
