import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PayloadType } from '../../../src/ikev2/registry/payload.ts';
import { TsType } from '../../../src/ikev2/registry/misc.ts';
import type { TsiPayload, TsrPayload } from '../../../src/ikev2/wire/payloads/index.ts';
import { bodyHex, decodeBody, encodeError, hex, patch, wireError } from './payload-helpers.ts';

/*
 * TSi with one IPv4 range (RFC 7296 §3.13, §3.13.1):
 *   01 000000                        Number of TSs = 1, RESERVED
 *   07 00 0010 0000 ffff             TS_IPV4_ADDR_RANGE, any protocol, length 16, ports 0..65535
 *   0a000000 0a0000ff                10.0.0.0 .. 10.0.0.255
 */
const V4_BODY = '01000000 07000010 0000ffff 0a000000 0a0000ff';
const v4 = {
  tsType: TsType.TS_IPV4_ADDR_RANGE,
  ipProtocol: 0,
  startPort: 0,
  endPort: 0xffff,
  startAddress: hex('0a000000'),
  endAddress: hex('0a0000ff'),
} as const;
const tsi: TsiPayload = { type: PayloadType.TSi, selectors: [v4] };

test('TSi golden bytes', () => {
  assert.equal(bodyHex(tsi), hex(V4_BODY).toString('hex'));
  assert.deepEqual(decodeBody(PayloadType.TSi, V4_BODY), tsi);
});

test('TSr with IPv4, IPv6 and an opaque (security label) selector round-trips', () => {
  const tsr: TsrPayload = {
    type: PayloadType.TSr,
    selectors: [
      v4,
      { tsType: TsType.TS_IPV6_ADDR_RANGE, ipProtocol: 17, startPort: 500, endPort: 500, startAddress: Buffer.alloc(16, 0x20), endAddress: Buffer.alloc(16, 0x21) },
      { tsType: TsType.TS_SECLABEL, octet1: 0, body: Buffer.from('system_u:object_r:ipsec_spd_t:s0') },
    ],
  };
  const body = bodyHex(tsr);
  assert.equal(body.slice(0, 8), '03000000');
  assert.deepEqual(decodeBody(PayloadType.TSr, body), tsr);
});

test('reserved octets are ignored on receipt', () => {
  assert.deepEqual(decodeBody(PayloadType.TSi, patch(V4_BODY, 1, 'ffffff')), tsi);
});

test('TS malformed: Number of TSs', () => {
  assert.throws(() => decodeBody(PayloadType.TSi, patch(V4_BODY, 0, '00')), wireError('GKM_WIRE_BAD_COUNT', /TSi\.numTs$/));
  // claims two, holds one: the second selector is missing
  assert.throws(() => decodeBody(PayloadType.TSi, patch(V4_BODY, 0, '02')), wireError('GKM_WIRE_TRUNCATED', /ts\[1\]/));
  // claims one, holds two
  assert.throws(() => decodeBody(PayloadType.TSr, Buffer.concat([hex(V4_BODY), hex(V4_BODY).subarray(4)])), wireError('GKM_WIRE_BAD_COUNT', /TSr\.numTs$/));
  // a stray byte after the selectors
  assert.throws(() => decodeBody(PayloadType.TSi, Buffer.concat([hex(V4_BODY), hex('00')])), wireError('GKM_WIRE_BAD_COUNT', /numTs$/));
  assert.throws(() => decodeBody(PayloadType.TSi, '010000'), wireError('GKM_WIRE_TRUNCATED', /reserved$/));
});

test('TS malformed: selector lengths', () => {
  assert.throws(() => decodeBody(PayloadType.TSi, patch(V4_BODY, 6, '0003')), wireError('GKM_WIRE_BAD_LENGTH', /ts\[0\]\.selectorLength$/));
  // IPv4 range with the IPv6 length (runs past the payload)
  assert.throws(() => decodeBody(PayloadType.TSi, patch(V4_BODY, 6, '0028')), wireError('GKM_WIRE_TRUNCATED'));
  // IPv6 type with an IPv4-sized selector
  assert.throws(() => decodeBody(PayloadType.TSi, patch(V4_BODY, 4, '08')), wireError('GKM_WIRE_BAD_LENGTH', /selectorLength$/));
});

test('TS encode refuses an empty list', () => {
  assert.throws(() => bodyHex({ type: PayloadType.TSi, selectors: [] }), encodeError(/TSi\.numTs$/));
});
