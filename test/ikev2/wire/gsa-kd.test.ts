/** GSA (51) and KD (52) payload codecs, RFC 9838 §4.4, §4.5; IDg (50) properties. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isGkmError } from '../../../src/ikev2/errors.ts';
import { IdType, ProtocolId } from '../../../src/ikev2/registry/misc.ts';
import { NotifyType } from '../../../src/ikev2/registry/notify.ts';
import { PayloadType } from '../../../src/ikev2/registry/payload.ts';
import { GroupKeyBagAttr, GwpAttr } from '../../../src/ikev2/registry/group.ts';
import { tlvAttr, tvAttr, u32Data } from '../../../src/ikev2/wire/attributes.ts';
import { decodePayloadChain, encodeChain, type Payload } from '../../../src/ikev2/wire/payload.ts';
import { notify } from '../../../src/ikev2/wire/payloads/notify.ts';
import type { GsaPayload } from '../../../src/ikev2/wire/payloads/gsa.ts';
import type { KdPayload } from '../../../src/ikev2/wire/payloads/kd.ts';
import { bodyHex, decodeBody, encodeError, hex, payloadHex, wireError } from './payload-helpers.ts';
import { gsaPayloadArb, idgPayloadArb, kdPayloadArb } from './group-arbitraries.ts';
import { ESP_BAG_HEX, ESP_POLICY, ESP_POLICY_HEX, GW_POLICY, GW_POLICY_HEX, KEK_POLICY, KEK_POLICY_HEX, KW48, MEMBER_BAG, MEMBER_BAG_HEX, wrapped } from './group-fixtures.ts';

const NUM_RUNS = 300;

test('golden: digest §2 ESP TEK policy', () => {
  const gsa: GsaPayload = { type: PayloadType.GSA, policies: [ESP_POLICY] };
  assert.equal(bodyHex(gsa), hex(ESP_POLICY_HEX).toString('hex'));
  assert.deepEqual(decodeBody(PayloadType.GSA, ESP_POLICY_HEX), gsa);
});

test('golden: Rekey SA policy with a 16-octet SPI, GCAUTH signature and GSA attributes', () => {
  const gsa: GsaPayload = { type: PayloadType.GSA, policies: [KEK_POLICY] };
  assert.equal(hex(KEK_POLICY_HEX).length, 0x7f);
  assert.equal(bodyHex(gsa), hex(KEK_POLICY_HEX).toString('hex'));
  assert.deepEqual(decodeBody(PayloadType.GSA, KEK_POLICY_HEX), gsa);
});

test('golden: GW policy next to SA policies, in any order', () => {
  const gsa: GsaPayload = { type: PayloadType.GSA, policies: [GW_POLICY, KEK_POLICY, ESP_POLICY] };
  const body = `${GW_POLICY_HEX} ${KEK_POLICY_HEX} ${ESP_POLICY_HEX}`;
  assert.equal(bodyHex(gsa), hex(body).toString('hex'));
  assert.deepEqual(decodeBody(PayloadType.GSA, body), gsa);
});

test('golden: digest §2 group key bag and a Member Key Bag', () => {
  const kd: KdPayload = {
    type: PayloadType.KD,
    bags: [{ protocolId: ProtocolId.ESP, spi: hex('11223344'), attributes: [tlvAttr(GroupKeyBagAttr.SA_KEY, wrapped(0, 0, KW48))] }, MEMBER_BAG],
  };
  const body = `${ESP_BAG_HEX} ${MEMBER_BAG_HEX}`;
  assert.equal(hex(ESP_BAG_HEX).length, 0x44);
  assert.equal(hex(MEMBER_BAG_HEX).length, 0xa4);
  assert.equal(bodyHex(kd), hex(body).toString('hex'));
  assert.deepEqual(decodeBody(PayloadType.KD, body), kd);
});

test('golden: TV and TLV attribute examples (digest §0.1) and GROUP_SENDER notify (digest §2)', () => {
  const gw = { type: PayloadType.GSA, policies: [{ protocolId: ProtocolId.NONE, attributes: [tvAttr(GwpAttr.GWP_ATD, 5)] }, ESP_POLICY] } as const;
  assert.ok(bodyHex(gw).startsWith('000000088001000503'));
  assert.ok(bodyHex({ type: PayloadType.GSA, policies: [ESP_POLICY] }).endsWith('0001000400000e10'));
  const n = notify(NotifyType.GROUP_SENDER, u32Data(2));
  assert.equal(payloadHex(n), '0000000c0000402d00000002');
  assert.deepEqual(decodeBody(PayloadType.NOTIFY, '0000402d00000002'), n);
});

test('GSA and KD ride in a message chain with IDg', () => {
  const payloads: Payload[] = [
    { type: PayloadType.IDg, idType: IdType.ID_KEY_ID, data: Buffer.from('group-1') },
    { type: PayloadType.GSA, policies: [KEK_POLICY, ESP_POLICY, GW_POLICY] },
    { type: PayloadType.KD, bags: [MEMBER_BAG] },
  ];
  const { first, bytes } = encodeChain(payloads);
  assert.equal(first, PayloadType.IDg);
  assert.deepEqual(decodePayloadChain(first, bytes).payloads, payloads);
});

// --- malformed input ---------------------------------------------------------------------------

const gsaError = (body: string | Buffer, code: Parameters<typeof wireError>[0], field?: RegExp) =>
  assert.throws(() => decodeBody(PayloadType.GSA, body), wireError(code, field));
const kdError = (body: string | Buffer, code: Parameters<typeof wireError>[0], field?: RegExp) =>
  assert.throws(() => decodeBody(PayloadType.KD, body), wireError(code, field));

const TS_ANY = '07 00 00 10 0000 ffff 00000000 ffffffff';
/** A policy / key bag: `first2` (Protocol, SPI Size) + Length (computed) + `rest`. */
const sub = (first2: string, rest: string): string => {
  const n = 4 + hex(rest).length;
  return `${first2} ${n.toString(16).padStart(4, '0')} ${rest}`;
};
const ENCR_LAST = '00 00 00 0c 01 00 00 14 80 0e 01 00';

test('malformed GSA: SPI size must match the protocol', () => {
  gsaError(sub('03 10', `${'11'.repeat(16)} ${TS_ANY} ${TS_ANY} ${ENCR_LAST}`), 'GKM_WIRE_BAD_LENGTH', /policy\[0\]\.spiSize/);
  gsaError(sub('06 04', `11223344 ${TS_ANY} ${TS_ANY} ${ENCR_LAST}`), 'GKM_WIRE_BAD_LENGTH', /spiSize/);
  gsaError(sub('02 00', `${TS_ANY} ${TS_ANY} ${ENCR_LAST}`), 'GKM_WIRE_BAD_LENGTH', /spiSize/);
});

test('malformed GSA: unknown protocol, zero SPI', () => {
  gsaError(sub('01 08', `${'11'.repeat(8)} ${TS_ANY} ${TS_ANY}`), 'GKM_WIRE_BAD_VALUE', /policy\[0\]\.protocol/);
  gsaError(sub('04 04', `11223344 ${TS_ANY} ${TS_ANY} ${ENCR_LAST}`), 'GKM_WIRE_BAD_VALUE', /protocol/);
  gsaError(sub('03 04', `00000000 ${TS_ANY} ${TS_ANY} ${ENCR_LAST}`), 'GKM_WIRE_BAD_VALUE', /policy\[0\]\.spi$/);
  gsaError(sub('06 10', `${'00'.repeat(8)}${'11'.repeat(8)} ${TS_ANY} ${TS_ANY} ${ENCR_LAST}`), 'GKM_WIRE_BAD_VALUE', /policy\[0\]\.spi$/);
});

test('malformed GSA: Length must cover the policy exactly', () => {
  const body = hex(ESP_POLICY_HEX);
  // Length beyond the payload body.
  const longer = Buffer.from(body);
  longer.writeUInt16BE(0x45, 2);
  gsaError(longer, 'GKM_WIRE_TRUNCATED', /policy\[0\]/);
  // Length shorter: the last attribute overruns the policy.
  const shorter = Buffer.from(body);
  shorter.writeUInt16BE(0x42, 2);
  gsaError(shorter, 'GKM_WIRE_TRUNCATED', /policy\[0\]\.attribute\[0\]/);
  // Length below the header.
  gsaError('03 04 00 03', 'GKM_WIRE_BAD_LENGTH', /policy\[0\]\.length/);
  // Length past the end of the attributes: two bytes that are no attribute.
  gsaError(Buffer.concat([Buffer.from([0x03, 0x04, 0x00, 0x46]), body.subarray(4), hex('0001')]), 'GKM_WIRE_TRUNCATED', /attribute\[1\]/);
});

test('malformed GSA: missing destination TS, missing transforms, bad Last marks', () => {
  gsaError(sub('03 04', `11223344 ${TS_ANY}`), 'GKM_WIRE_TRUNCATED', /destination/);
  gsaError(sub('03 04', `11223344 ${TS_ANY} ${TS_ANY}`), 'GKM_WIRE_TRUNCATED', /transform\[0\]/);
  // The only transform marked "more": the decoder looks for the next one and runs out of bytes.
  gsaError(sub('03 04', `11223344 ${TS_ANY} ${TS_ANY} 03 00 00 0c 01 00 00 14 80 0e 01 00`), 'GKM_WIRE_TRUNCATED', /transform\[1\]/);
  // "Last" on the first of two transforms: the second is read as attributes and is garbage.
  gsaError(sub('03 04', `11223344 ${TS_ANY} ${TS_ANY} ${ENCR_LAST} 00 00 00 08 05 00 00 02`), 'GKM_WIRE_TRUNCATED', /attribute\[0\]/);
  // A Last Substruc value other than 0 or 3.
  gsaError(sub('03 04', `11223344 ${TS_ANY} ${TS_ANY} 02 00 00 0c 01 00 00 14 80 0e 01 00`), 'GKM_WIRE_BAD_VALUE', /transform\[0\]\.last/);
  // A transform length that overruns the policy.
  gsaError(sub('03 04', `11223344 ${TS_ANY} ${TS_ANY} 00 00 00 0d 01 00 00 14 80 0e 01 00`), 'GKM_WIRE_TRUNCATED', /transform\[0\]/);
  // A bad selector length for the address family.
  gsaError(sub('03 04', `11223344 07 00 00 14 0000 ffff 00000000 ffffffff 00000000 ${TS_ANY} ${ENCR_LAST}`), 'GKM_WIRE_BAD_LENGTH', /source\.selectorLength/);
});

test('malformed GSA: attribute overrun, composition', () => {
  gsaError(sub('03 04', `11223344 ${TS_ANY} ${TS_ANY} ${ENCR_LAST} 00 01 00 05 00 00 0e 10`), 'GKM_WIRE_TRUNCATED', /attribute\[0\]\.value/);
  gsaError('', 'GKM_WIRE_BAD_COUNT', /policy/);
  gsaError(GW_POLICY_HEX, 'GKM_WIRE_BAD_COUNT', /policies/);
  gsaError(`${GW_POLICY_HEX} ${ESP_POLICY_HEX} ${GW_POLICY_HEX}`, 'GKM_WIRE_BAD_COUNT', /policies/);
  gsaError(`${KEK_POLICY_HEX} ${KEK_POLICY_HEX}`, 'GKM_WIRE_BAD_COUNT', /policies/);
  // Two ESP policies are fine.
  assert.equal((decodeBody(PayloadType.GSA, `${ESP_POLICY_HEX} ${ESP_POLICY_HEX}`) as GsaPayload).policies.length, 2);
});

test('GW policy RESERVED octet is ignored on receipt', () => {
  const gsa = decodeBody(PayloadType.GSA, `00 ff 00 08 80 01 00 05 ${ESP_POLICY_HEX}`) as GsaPayload;
  assert.deepEqual(gsa.policies[0], { protocolId: 0, attributes: [tvAttr(GwpAttr.GWP_ATD, 5)] });
});

test('malformed KD: SPI size, protocol, Length, composition', () => {
  const saKey = `00 01 00 38 ${'00'.repeat(8)} ${KW48.toString('hex')}`;
  kdError(sub('03 10', `${'11'.repeat(16)} ${saKey}`), 'GKM_WIRE_BAD_LENGTH', /bag\[0\]\.spiSize/);
  kdError(sub('06 04', `11223344 ${saKey}`), 'GKM_WIRE_BAD_LENGTH', /spiSize/);
  kdError(sub('05 04', `11223344 ${saKey}`), 'GKM_WIRE_BAD_VALUE', /bag\[0\]\.protocol/);
  kdError(sub('02 04', `00000000 ${saKey}`), 'GKM_WIRE_BAD_VALUE', /bag\[0\]\.spi$/);
  const bag = hex(ESP_BAG_HEX);
  const short = Buffer.from(bag);
  short.writeUInt16BE(0x43, 2);
  kdError(short, 'GKM_WIRE_TRUNCATED', /bag\[0\]\.attribute\[0\]/);
  const long = Buffer.from(bag);
  long.writeUInt16BE(0x45, 2);
  kdError(long, 'GKM_WIRE_TRUNCATED', /bag\[0\]/);
  kdError('', 'GKM_WIRE_BAD_COUNT', /bag/);
  kdError(`${MEMBER_BAG_HEX} ${MEMBER_BAG_HEX}`, 'GKM_WIRE_BAD_COUNT', /bags/);
  // A Member Key Bag alone is fine (e.g. a GSA_REKEY carrying only a new AUTH_KEY next to no TEK).
  assert.equal((decodeBody(PayloadType.KD, MEMBER_BAG_HEX) as KdPayload).bags.length, 1);
});

test('encoders refuse what the decoders would refuse', () => {
  const enc = (p: Payload) => () => encodeChain([p]);
  assert.throws(enc({ type: PayloadType.GSA, policies: [] }), encodeError(/GSA\.policies/));
  assert.throws(enc({ type: PayloadType.GSA, policies: [GW_POLICY] }), encodeError(/GSA\.policies/));
  assert.throws(enc({ type: PayloadType.GSA, policies: [{ ...ESP_POLICY, spi: hex('1122') }] }), encodeError(/policy\[0\]\.spi/));
  assert.throws(enc({ type: PayloadType.GSA, policies: [{ ...ESP_POLICY, transforms: [] }] }), encodeError(/transforms/));
  assert.throws(enc({ type: PayloadType.GSA, policies: [{ ...ESP_POLICY, protocolId: 1 as never }] }), encodeError(/spi/));
  assert.throws(enc({ type: PayloadType.KD, bags: [] }), encodeError(/KD\.bags/));
  assert.throws(enc({ type: PayloadType.KD, bags: [MEMBER_BAG, MEMBER_BAG] }), encodeError(/KD\.bags/));
  assert.throws(enc({ type: PayloadType.KD, bags: [{ protocolId: ProtocolId.AH, spi: hex('00000000'), attributes: [] }] }), encodeError(/bag\[0\]\.spi/));
});

// --- properties ------------------------------------------------------------------------------

const roundTrip = (p: Payload): Payload => {
  const { first, bytes } = encodeChain([p]);
  const { payloads } = decodePayloadChain(first, bytes);
  assert.equal(payloads.length, 1);
  return payloads[0]!;
};

/** Every prefix of the body, with the generic header fixed up, decodes or fails with a GkmError. */
function prefixesFailTyped(type: number, p: Payload): void {
  const body = Buffer.from(bodyHex(p), 'hex');
  for (let n = 0; n < body.length; n++) {
    try {
      decodeBody(type, body.subarray(0, n));
    } catch (e) {
      assert.ok(isGkmError(e) && e.notify === NotifyType.INVALID_SYNTAX, `prefix ${n}: ${String(e)}`);
    }
  }
}

test('property: decode(encode(GSA)) = GSA; prefixes fail typed', () => {
  fc.assert(
    fc.property(gsaPayloadArb, (p) => {
      assert.deepEqual(roundTrip(p), p);
      prefixesFailTyped(PayloadType.GSA, p);
    }),
    { numRuns: NUM_RUNS },
  );
});

test('property: decode(encode(KD)) = KD; prefixes fail typed', () => {
  fc.assert(
    fc.property(kdPayloadArb, (p) => {
      assert.deepEqual(roundTrip(p), p);
      prefixesFailTyped(PayloadType.KD, p);
    }),
    { numRuns: NUM_RUNS },
  );
});

test('property: decode(encode(IDg)) = IDg', () => {
  fc.assert(
    fc.property(idgPayloadArb, (p) => {
      assert.deepEqual(roundTrip(p), p);
      prefixesFailTyped(PayloadType.IDg, p);
    }),
    { numRuns: NUM_RUNS },
  );
});

test('property: arbitrary bodies decode or fail with a typed error', () => {
  const body = fc.oneof(
    fc.uint8Array({ maxLength: 120 }),
    // Plausible headers so that the decoders get past the first field.
    fc.tuple(fc.constantFrom(0, 2, 3, 6), fc.constantFrom(0, 4, 16), fc.uint8Array({ maxLength: 100 })).map(([p, s, rest]) => {
      const b = Buffer.concat([Buffer.from([p, s, 0, 0]), rest]);
      b.writeUInt16BE(b.length, 2);
      return b;
    }),
  );
  fc.assert(
    fc.property(fc.constantFrom(PayloadType.GSA, PayloadType.KD), body, (type, b) => {
      try {
        decodeBody(type, Buffer.from(b));
      } catch (e) {
        assert.ok(isGkmError(e), String(e));
      }
    }),
    { numRuns: NUM_RUNS },
  );
});
