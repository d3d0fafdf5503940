import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EncrId, KeId, KwaId, PrfId, ProtocolId, SnId, TransformAttr, TransformType } from '../../../src/ikev2/registry/index.ts';
import { PayloadType } from '../../../src/ikev2/registry/payload.ts';
import { tlvAttr } from '../../../src/ikev2/wire/attributes.ts';
import { buildProposal, chosenTransform, keyLengthOf, transformsOfType, type SaPayload } from '../../../src/ikev2/wire/payloads/index.ts';
import { bodyHex, decodeBody, encodeError, hex, patch, payloadHex, wireError } from './payload-helpers.ts';

/*
 * One IKE proposal: AES-GCM-16 with a 256-bit key, PRF_HMAC_SHA2_256, X25519 (RFC 7296 §3.3).
 *   proposal   00 00 0024 | 01 01 00 03      last=0, len=36, #1, IKE, SPI size 0, 3 transforms
 *   transform  03 00 000c | 01 00 0014 | 800e 0100   more, len=12, ENCR 20, Key Length (TV, AF|14) = 256
 *   transform  03 00 0008 | 02 00 0005               more, len=8, PRF 5
 *   transform  00 00 0008 | 04 00 001f               last, len=8, KE 31
 * 8 + 12 + 8 + 8 = 36 octets of proposal; with the generic header the payload is 40 (0x28).
 */
const GOLDEN_BODY = '00000024 01010003 0300000c 01000014 800e0100 03000008 02000005 00000008 0400001f';
const ikeProposal = buildProposal({
  protocolId: ProtocolId.IKE,
  encr: EncrId.AES_GCM_16,
  keyLength: 256,
  prf: PrfId.HMAC_SHA2_256,
  ke: KeId.CURVE25519,
});
const golden: SaPayload = { type: PayloadType.SA, proposals: [ikeProposal] };

test('SA golden bytes: AES-GCM-16/256 + HMAC-SHA2-256 + X25519', () => {
  assert.equal(bodyHex(golden), hex(GOLDEN_BODY).toString('hex'));
  assert.equal(payloadHex(golden), '00000028' + hex(GOLDEN_BODY).toString('hex'));
  assert.deepEqual(decodeBody(PayloadType.SA, GOLDEN_BODY), golden);
});

const espProposal = buildProposal({
  number: 2,
  protocolId: ProtocolId.ESP,
  spi: hex('c0ffee01'),
  encr: [{ id: EncrId.AES_GCM_16, keyLength: 128 }, EncrId.CHACHA20_POLY1305],
  sn: SnId.SEQ32,
});
const twoProposals: SaPayload = { type: PayloadType.SA, proposals: [ikeProposal, espProposal] };
const TWO = bodyHex(twoProposals);

test('SA with two proposals round-trips; marks are 2 then 0', () => {
  const b = hex(TWO);
  assert.equal(b[0], 2);
  assert.equal(b[36], 0);
  // ESP proposal: #2, protocol 3, SPI size 4, 3 transforms, then the SPI.
  assert.equal(b.subarray(40, 48).toString('hex'), '02030403c0ffee01');
  assert.deepEqual(decodeBody(PayloadType.SA, TWO), twoProposals);
});

test('SAg grouping: equal proposal numbers are accepted', () => {
  const p = (protocolId: number) => buildProposal({ protocolId, encr: EncrId.AES_GCM_16, keyLength: 256, kwa: KwaId.KW_5649_256 });
  const sag: SaPayload = { type: PayloadType.SA, proposals: [p(ProtocolId.GIKE_UPDATE), p(ProtocolId.ESP), { ...p(ProtocolId.ESP), number: 2 }] };
  assert.deepEqual(decodeBody(PayloadType.SA, bodyHex(sag)), sag);
});

test('SA malformed: Last Substruc marks', () => {
  assert.throws(() => decodeBody(PayloadType.SA, patch(GOLDEN_BODY, 0, '01')), wireError('GKM_WIRE_BAD_VALUE', /proposal\[0\]\.last$/));
  // "more" on the only proposal
  assert.throws(() => decodeBody(PayloadType.SA, patch(GOLDEN_BODY, 0, '02')), wireError('GKM_WIRE_BAD_VALUE', /proposal\[0\]\.last$/));
  // "last" on the first of two
  assert.throws(() => decodeBody(PayloadType.SA, patch(TWO, 0, '00')), wireError('GKM_WIRE_BAD_VALUE', /proposal\[0\]\.last$/));
  // transform marks: invalid value, "more" on the final one, "last" too early
  assert.throws(() => decodeBody(PayloadType.SA, patch(GOLDEN_BODY, 8, '01')), wireError('GKM_WIRE_BAD_VALUE', /transform\[0\]\.last$/));
  assert.throws(() => decodeBody(PayloadType.SA, patch(GOLDEN_BODY, 28, '03')), wireError('GKM_WIRE_BAD_COUNT', /transform\.count$/));
  assert.throws(() => decodeBody(PayloadType.SA, patch(GOLDEN_BODY, 20, '00')), wireError('GKM_WIRE_BAD_COUNT', /transform\.count$/));
});

test('SA malformed: no proposal', () => {
  assert.throws(() => decodeBody(PayloadType.SA, ''), wireError('GKM_WIRE_BAD_COUNT', /SA\.proposals$/));
});

test('SA malformed: Proposal Length', () => {
  assert.throws(() => decodeBody(PayloadType.SA, patch(GOLDEN_BODY, 2, '0007')), wireError('GKM_WIRE_BAD_LENGTH', /proposal\[0\]\.length$/));
  // longer than the SA payload
  assert.throws(() => decodeBody(PayloadType.SA, patch(GOLDEN_BODY, 2, '0025')), wireError('GKM_WIRE_TRUNCATED'));
  // longer than its transforms (the SA payload grows with it)
  assert.throws(() => decodeBody(PayloadType.SA, Buffer.concat([patch(GOLDEN_BODY, 2, '0025'), hex('00')])), wireError('GKM_WIRE_BAD_LENGTH', /proposal\[0\]\.length$/));
  // shorter than its transforms: the last transform runs past the proposal
  assert.throws(() => decodeBody(PayloadType.SA, Buffer.concat([patch(GOLDEN_BODY, 2, '0020')])), wireError('GKM_WIRE_TRUNCATED', /transform\[2\]/));
  // SPI Size larger than the proposal
  const spiOverrun = '00000008 010108 01';
  assert.throws(() => decodeBody(PayloadType.SA, spiOverrun), wireError('GKM_WIRE_TRUNCATED', /proposal\[0\]\.spi$/));
});

test('SA malformed: Num Transforms', () => {
  assert.throws(() => decodeBody(PayloadType.SA, patch(GOLDEN_BODY, 7, '00')), wireError('GKM_WIRE_BAD_COUNT', /numTransforms$/));
  assert.throws(() => decodeBody(PayloadType.SA, patch(GOLDEN_BODY, 7, '04')), wireError('GKM_WIRE_BAD_COUNT', /transform\.count$/));
  assert.throws(() => decodeBody(PayloadType.SA, patch(GOLDEN_BODY, 7, '02')), wireError('GKM_WIRE_BAD_COUNT', /transform\.count$/));
});

test('SA malformed: transform length and attribute overrun', () => {
  assert.throws(() => decodeBody(PayloadType.SA, patch(GOLDEN_BODY, 10, '0007')), wireError('GKM_WIRE_BAD_LENGTH', /transform\[0\]\.length$/));
  // transform length 10: the TV attribute (4 octets) is cut after 2
  assert.throws(() => decodeBody(PayloadType.SA, patch(GOLDEN_BODY, 10, '000a')), wireError('GKM_WIRE_TRUNCATED', /attribute\[0\]/));
  // the attribute turned TLV (AF=0) with a length of 256: runs past the transform
  assert.throws(() => decodeBody(PayloadType.SA, patch(GOLDEN_BODY, 16, '000e')), wireError('GKM_WIRE_TRUNCATED', /attribute\[0\]\.value$/));
});

test('SA malformed: proposal numbering and SPI sizes', () => {
  // A lone proposal is a responder's choice: it keeps the accepted number (RFC 7296 §3.3.1).
  assert.deepEqual(decodeBody(PayloadType.SA, patch(GOLDEN_BODY, 4, '02')), { type: PayloadType.SA, proposals: [{ ...ikeProposal, number: 2 }] });
  assert.throws(() => decodeBody(PayloadType.SA, patch(TWO, 4, '02')), wireError('GKM_WIRE_BAD_VALUE', /proposal\[0\]\.number$/));
  assert.throws(() => decodeBody(PayloadType.SA, patch(GOLDEN_BODY, 4, '00')), wireError('GKM_WIRE_BAD_VALUE', /proposal\[0\]\.number$/));
  assert.throws(() => decodeBody(PayloadType.SA, patch(TWO, 40, '03')), wireError('GKM_WIRE_BAD_VALUE', /proposal\[1\]\.number$/));
  // IKE with a 4-octet SPI
  const ikeSpi4 = bodyHex({ type: PayloadType.SA, proposals: [{ ...espProposal, number: 1 }] });
  assert.throws(() => decodeBody(PayloadType.SA, patch(ikeSpi4, 5, '01')), wireError('GKM_WIRE_BAD_LENGTH', /proposal\[0\]\.spiSize$/));
  // ESP with SPI size 8 is refused, an unknown protocol may use any size
  const esp8 = { type: PayloadType.SA, proposals: [{ ...espProposal, number: 1, spi: Buffer.alloc(8, 1) }] } as const;
  assert.throws(() => bodyHex(esp8), encodeError(/proposal\[0\]\.spiSize$/));
  const other: SaPayload = { type: PayloadType.SA, proposals: [{ ...esp8.proposals[0], protocolId: 200 }] };
  assert.deepEqual(decodeBody(PayloadType.SA, bodyHex(other)), other);
});

test('SA encode refuses what decode would refuse', () => {
  assert.throws(() => bodyHex({ type: PayloadType.SA, proposals: [] }), encodeError(/SA\.proposals$/));
  assert.throws(() => bodyHex({ type: PayloadType.SA, proposals: [{ ...ikeProposal, number: 2 }, { ...ikeProposal, number: 3 }] }), encodeError(/proposal\[0\]\.number$/));
  assert.throws(() => bodyHex({ type: PayloadType.SA, proposals: [{ ...ikeProposal, number: 0 }] }), encodeError(/number$/));
  assert.throws(() => bodyHex({ type: PayloadType.SA, proposals: [{ ...ikeProposal, transforms: [] }] }), encodeError(/numTransforms$/));
  assert.throws(() => bodyHex({ type: PayloadType.SA, proposals: [ikeProposal, { ...ikeProposal, number: 3 }] }), encodeError(/proposal\[1\]\.number$/));
});

test('proposal helpers: build and read by type', () => {
  const p = buildProposal({
    protocolId: ProtocolId.IKE,
    encr: [{ id: EncrId.AES_CBC, keyLength: 128 }, { id: EncrId.AES_CBC, keyLength: 256 }],
    prf: [PrfId.HMAC_SHA2_384, PrfId.HMAC_SHA2_256],
    integ: 13,
    ke: KeId.CURVE25519,
    addke: [KeId.ML_KEM_768, [], [KeId.NONE, KeId.ML_KEM_1024]],
  });
  assert.deepEqual(
    p.transforms.map((t) => [t.transformType, t.transformId]),
    [[1, 12], [1, 12], [2, 6], [2, 5], [3, 13], [4, 31], [6, 36], [8, 0], [8, 37]],
  );
  assert.deepEqual(transformsOfType(p, TransformType.ENCR).map(keyLengthOf), [128, 256]);
  assert.equal(keyLengthOf(transformsOfType(p, TransformType.PRF)[0]!), undefined);
  assert.equal(chosenTransform(p, TransformType.KE)?.transformId, KeId.CURVE25519);
  assert.equal(chosenTransform(p, TransformType.SN), undefined);
  assert.throws(() => chosenTransform(p, TransformType.ENCR), wireError('GKM_WIRE_BAD_COUNT'));
  assert.throws(() => buildProposal({ protocolId: 1, addke: new Array(8).fill(36) }), encodeError(/addke/));
});

test('keyLengthOf refuses a TLV or repeated Key Length', () => {
  const base = { transformType: TransformType.ENCR, transformId: EncrId.AES_CBC };
  assert.throws(() => keyLengthOf({ ...base, attributes: [tlvAttr(TransformAttr.KEY_LENGTH, hex('0100'))] }), wireError('GKM_WIRE_BAD_VALUE', /keyLength$/));
  const twice = buildProposal({ protocolId: 1, encr: { id: EncrId.AES_CBC, keyLength: 128 } }).transforms[0]!;
  assert.throws(() => keyLengthOf({ ...twice, attributes: [...twice.attributes, ...twice.attributes] }), wireError('GKM_WIRE_BAD_COUNT'));
});
