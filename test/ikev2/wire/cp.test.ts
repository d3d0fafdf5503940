import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CfgType } from '../../../src/ikev2/registry/misc.ts';
import { PayloadType } from '../../../src/ikev2/registry/payload.ts';
import { CpAttrType, type CpPayload } from '../../../src/ikev2/wire/payloads/index.ts';
import { bodyHex, decodeBody, encodeError, hex, patch, wireError } from './payload-helpers.ts';

/*
 * CFG_REQUEST asking for an IPv4 address and an IPv6 DNS server (RFC 7296 §3.15, §3.15.1):
 *   01 000000        CFG Type 1, RESERVED
 *   0001 0000        INTERNAL_IP4_ADDRESS, length 0
 *   000a 0000        INTERNAL_IP6_DNS, length 0
 */
const REQUEST = '01000000 00010000 000a0000';
const request: CpPayload = {
  type: PayloadType.CP,
  cfgType: CfgType.CFG_REQUEST,
  attributes: [
    { type: CpAttrType.INTERNAL_IP4_ADDRESS, value: Buffer.alloc(0) },
    { type: CpAttrType.INTERNAL_IP6_DNS, value: Buffer.alloc(0) },
  ],
};

test('CP golden bytes: request', () => {
  assert.equal(bodyHex(request), hex(REQUEST).toString('hex'));
  assert.deepEqual(decodeBody(PayloadType.CP, REQUEST), request);
});

test('CP golden bytes: reply with an address and a subnet', () => {
  const body = '02000000 00010004 0a010203 000d0008 0a000000 ffffff00';
  const reply: CpPayload = {
    type: PayloadType.CP,
    cfgType: CfgType.CFG_REPLY,
    attributes: [
      { type: CpAttrType.INTERNAL_IP4_ADDRESS, value: hex('0a010203') },
      { type: CpAttrType.INTERNAL_IP4_SUBNET, value: hex('0a000000ffffff00') },
    ],
  };
  assert.equal(bodyHex(reply), hex(body).toString('hex'));
  assert.deepEqual(decodeBody(PayloadType.CP, body), reply);
});

test('CP: the R bit is ignored and the type kept; unknown types are opaque; no attributes is fine', () => {
  assert.deepEqual(decodeBody(PayloadType.CP, patch(REQUEST, 4, '80')), request);
  const odd = decodeBody(PayloadType.CP, '03000000 4000 0003 616263') as CpPayload;
  assert.deepEqual(odd.attributes, [{ type: 0x4000, value: Buffer.from('abc') }]);
  assert.deepEqual(decodeBody(PayloadType.CP, '04000000'), { type: PayloadType.CP, cfgType: CfgType.CFG_ACK, attributes: [] });
});

test('CP malformed: attribute overruns and truncation', () => {
  assert.throws(() => decodeBody(PayloadType.CP, '010000'), wireError('GKM_WIRE_TRUNCATED', /CP\.reserved$/));
  assert.throws(() => decodeBody(PayloadType.CP, REQUEST + '0001'), wireError('GKM_WIRE_TRUNCATED', /attribute\[2\]\.length$/));
  // APPLICATION_VERSION claiming 5 octets, holding 2
  assert.throws(() => decodeBody(PayloadType.CP, '01000000 00070005 6869'), wireError('GKM_WIRE_TRUNCATED', /attribute\[0\]\.value$/));
});

test('CP malformed: value lengths of known attributes', () => {
  const cases: [number, number][] = [
    [CpAttrType.INTERNAL_IP4_ADDRESS, 5],
    [CpAttrType.INTERNAL_IP4_SUBNET, 4],
    [CpAttrType.INTERNAL_IP6_ADDRESS, 16],
    [CpAttrType.INTERNAL_IP6_DNS, 17],
    [CpAttrType.SUPPORTED_ATTRIBUTES, 3],
  ];
  for (const [type, len] of cases) {
    const attr = Buffer.alloc(4 + len);
    attr.writeUInt16BE(type, 0);
    attr.writeUInt16BE(len, 2);
    assert.throws(() => decodeBody(PayloadType.CP, Buffer.concat([hex('02000000'), attr])), wireError('GKM_WIRE_BAD_LENGTH', /attribute\[0\]\.length$/));
    assert.throws(() => bodyHex({ type: PayloadType.CP, cfgType: 2, attributes: [{ type, value: Buffer.alloc(len) }] }), encodeError(/length$/));
  }
});

test('CP encode refuses a type with the R bit', () => {
  assert.throws(() => bodyHex({ type: PayloadType.CP, cfgType: 1, attributes: [{ type: 0x8001, value: Buffer.alloc(0) }] }), encodeError(/type$/));
});
