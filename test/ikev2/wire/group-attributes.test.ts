/** Typed views over GSA / GW policy / key bag attributes and the RFC 9838 §5 presence table. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolId } from '../../../src/ikev2/registry/misc.ts';
import { PayloadType } from '../../../src/ikev2/registry/payload.ts';
import { GroupKeyBagAttr, GsaAttr, GwpAttr, MemberKeyBagAttr } from '../../../src/ikev2/registry/group.ts';
import { tlvAttr, tvAttr, u32Data, type Attribute } from '../../../src/ikev2/wire/attributes.ts';
import {
  buildGroupKeyBag,
  buildGroupWidePolicy,
  buildGsaPolicyAttributes,
  buildMemberKeyBag,
  decodeWrappedKey,
  encodeWrappedKey,
  parseGroupKeyBag,
  parseGroupWidePolicy,
  parseGsaPolicyAttributes,
  parseMemberKeyBag,
  registrationContext,
  type GroupExchangeContext,
} from '../../../src/ikev2/wire/group-attributes.ts';
import { decodePayloadChain, encodeChain } from '../../../src/ikev2/wire/payload.ts';
import type { GsaPayload, GsaPolicy } from '../../../src/ikev2/wire/payloads/gsa.ts';
import type { GroupKeyBag, KdPayload, MemberKeyBag } from '../../../src/ikev2/wire/payloads/kd.ts';
import type { GroupSaProtocol } from '../../../src/ikev2/wire/sub/group-substructure.ts';
import { encodeError, hex, wireError } from './payload-helpers.ts';
import {
  groupKeyBagAttributesArb,
  groupSaProtocolArb,
  groupSpiArb,
  groupWidePolicyAttributesArb,
  gsaPolicyAttributesArb,
  memberKeyBagAttributesArb,
} from './group-arbitraries.ts';
import { ESP_POLICY, GW_POLICY, KEK_POLICY, MEMBER_BAG, SPKI, WRAP40, wrapped } from './group-fixtures.ts';

const NUM_RUNS = 300;
const ALL: readonly GroupExchangeContext[] = ['registration', 'rekey', 'registration-inband', 'inband'];
type Code = Parameters<typeof wireError>[0];

const withAttrs = <T extends { attributes: readonly Attribute[] }>(s: T, attributes: Attribute[]): T => ({ ...s, attributes });
const lifetime = tlvAttr(GsaAttr.GSA_KEY_LIFETIME, u32Data(3600));
const KW24 = Buffer.alloc(24, 0x42);
const saKey = (kwkId: number, keyId = 0) => tlvAttr(GroupKeyBagAttr.SA_KEY, wrapped(keyId, kwkId, KW24));
const wrapKey = (keyId: number, kwkId: number) => tlvAttr(MemberKeyBagAttr.WRAP_KEY, wrapped(keyId, kwkId, KW24));
const senderId = (data: string) => tlvAttr(MemberKeyBagAttr.GM_SENDER_ID, hex(data));
const espBag = (attributes: Attribute[]): GroupKeyBag => ({ protocolId: ProtocolId.ESP, spi: hex('11223344'), attributes });
const kekBag = (attributes: Attribute[]): GroupKeyBag => ({ protocolId: ProtocolId.GIKE_UPDATE, spi: KEK_POLICY.spi, attributes });
const memberBag = (attributes: Attribute[]): MemberKeyBag => ({ protocolId: ProtocolId.NONE, attributes });

// --- GSA policy attributes -------------------------------------------------------------------

test('GSA attributes: typed view of the fixtures', () => {
  assert.deepEqual(parseGsaPolicyAttributes(KEK_POLICY, 'registration'), {
    keyLifetime: 86400,
    initialMessageId: 5,
    nextSpis: [hex('1112131415161718 b1b2b3b4b5b6b7b8')],
    unknown: [],
  });
  assert.deepEqual(parseGsaPolicyAttributes(ESP_POLICY, 'rekey'), { keyLifetime: 3600, nextSpis: [], unknown: [] });
  // In-band groups: the lifetime is optional.
  assert.deepEqual(parseGsaPolicyAttributes(withAttrs(ESP_POLICY, []), 'inband'), { nextSpis: [], unknown: [] });
});

test('GSA attributes: presence per context and policy kind', () => {
  const bad = (p: GsaPolicy, ctx: GroupExchangeContext, code: Code, field: RegExp) =>
    assert.throws(() => parseGsaPolicyAttributes(p, ctx), wireError(code, field));
  // GSA_KEY_LIFETIME: S with multicast rekey.
  bad(withAttrs(ESP_POLICY, []), 'registration', 'GKM_WIRE_BAD_COUNT', /GSA_KEY_LIFETIME/);
  bad(withAttrs(ESP_POLICY, []), 'rekey', 'GKM_WIRE_BAD_COUNT', /GSA_KEY_LIFETIME/);
  bad(withAttrs(ESP_POLICY, [lifetime, lifetime]), 'inband', 'GKM_WIRE_BAD_COUNT', /attribute\[1\]\(GSA_KEY_LIFETIME\)/);
  // GSA_INITIAL_MESSAGE_ID: Rekey SA policy only, not in-band.
  const initial = tlvAttr(GsaAttr.GSA_INITIAL_MESSAGE_ID, u32Data(1));
  bad(withAttrs(ESP_POLICY, [lifetime, initial]), 'registration', 'GKM_WIRE_BAD_VALUE', /GSA_INITIAL_MESSAGE_ID/);
  bad(withAttrs(KEK_POLICY, [lifetime, initial]), 'inband', 'GKM_WIRE_BAD_VALUE', /GSA_INITIAL_MESSAGE_ID/);
  bad(withAttrs(KEK_POLICY, [lifetime, initial, initial]), 'rekey', 'GKM_WIRE_BAD_COUNT', /GSA_INITIAL_MESSAGE_ID/);
  // GSA_NEXT_SPI: repeatable, not in-band, the policy's SPI size, non-zero.
  const next = (spi: string) => tlvAttr(GsaAttr.GSA_NEXT_SPI, hex(spi));
  assert.deepEqual(parseGsaPolicyAttributes(withAttrs(ESP_POLICY, [lifetime, next('00000101'), next('00000102')]), 'rekey').nextSpis, [hex('00000101'), hex('00000102')]);
  bad(withAttrs(ESP_POLICY, [next('00000101')]), 'registration-inband', 'GKM_WIRE_BAD_VALUE', /GSA_NEXT_SPI/);
  bad(withAttrs(ESP_POLICY, [lifetime, next('0000000101')]), 'rekey', 'GKM_WIRE_BAD_LENGTH', /GSA_NEXT_SPI/);
  bad(withAttrs(KEK_POLICY, [lifetime, next('00000101')]), 'rekey', 'GKM_WIRE_BAD_LENGTH', /GSA_NEXT_SPI/);
  bad(withAttrs(ESP_POLICY, [lifetime, next('00000000')]), 'rekey', 'GKM_WIRE_BAD_VALUE', /GSA_NEXT_SPI/);
});

test('GSA attributes: form, size and type errors', () => {
  const bad = (attrs: Attribute[], code: Code, field: RegExp) =>
    assert.throws(() => parseGsaPolicyAttributes(withAttrs(KEK_POLICY, attrs), 'registration'), wireError(code, field));
  bad([tvAttr(GsaAttr.GSA_KEY_LIFETIME, 3600)], 'GKM_WIRE_BAD_VALUE', /GSA_KEY_LIFETIME/);
  bad([tlvAttr(GsaAttr.GSA_KEY_LIFETIME, hex('000e10'))], 'GKM_WIRE_BAD_LENGTH', /GSA_KEY_LIFETIME/);
  bad([lifetime, tlvAttr(GsaAttr.GSA_INITIAL_MESSAGE_ID, hex('0000000001'))], 'GKM_WIRE_BAD_LENGTH', /GSA_INITIAL_MESSAGE_ID/);
  bad([lifetime, tlvAttr(0, hex('00'))], 'GKM_WIRE_BAD_VALUE', /attribute\[1\]\.type/);
  bad([lifetime, tlvAttr(4, hex('00'))], 'GKM_WIRE_BAD_VALUE', /attribute\[1\]\.type/);
  bad([lifetime, tvAttr(16383, 1)], 'GKM_WIRE_BAD_VALUE', /attribute\[1\]\.type/);
  // Private use is kept.
  const priv = [tvAttr(16384, 1), tlvAttr(32767, hex('aa'))];
  assert.deepEqual(parseGsaPolicyAttributes(withAttrs(KEK_POLICY, [lifetime, ...priv]), 'registration').unknown, priv);
});

// --- GW policy attributes --------------------------------------------------------------------

test('GW policy attributes: typed view, TV only, Sender-ID bits only at registration', () => {
  assert.deepEqual(parseGroupWidePolicy(GW_POLICY, 'registration'), { activationTimeDelay: 5, deactivationTimeDelay: 10, senderIdBits: 8, unknown: [] });
  assert.deepEqual(parseGroupWidePolicy(withAttrs(GW_POLICY, []), 'rekey'), { unknown: [] });
  const bad = (attrs: Attribute[], ctx: GroupExchangeContext, code: Code, field: RegExp) =>
    assert.throws(() => parseGroupWidePolicy(withAttrs(GW_POLICY, attrs), ctx), wireError(code, field));
  for (const type of [GwpAttr.GWP_ATD, GwpAttr.GWP_DTD, GwpAttr.GWP_SENDER_ID_BITS]) {
    bad([tlvAttr(type, hex('0005'))], 'registration', 'GKM_WIRE_BAD_VALUE', /attribute\[0\]\(GWP_/);
  }
  assert.throws(() => parseGroupWidePolicy(withAttrs(GW_POLICY, [tlvAttr(GwpAttr.GWP_ATD, hex('0005'))]), 'registration'), /must be TV/);
  bad([tvAttr(GwpAttr.GWP_SENDER_ID_BITS, 8)], 'rekey', 'GKM_WIRE_BAD_VALUE', /GWP_SENDER_ID_BITS/);
  bad([tvAttr(GwpAttr.GWP_SENDER_ID_BITS, 8)], 'inband', 'GKM_WIRE_BAD_VALUE', /GWP_SENDER_ID_BITS/);
  bad([tvAttr(GwpAttr.GWP_SENDER_ID_BITS, 0)], 'registration', 'GKM_WIRE_BAD_VALUE', /GWP_SENDER_ID_BITS/);
  bad([tvAttr(GwpAttr.GWP_SENDER_ID_BITS, 64)], 'registration', 'GKM_WIRE_BAD_VALUE', /GWP_SENDER_ID_BITS/);
  bad([tvAttr(GwpAttr.GWP_DTD, 1), tvAttr(GwpAttr.GWP_DTD, 2)], 'inband', 'GKM_WIRE_BAD_COUNT', /GWP_DTD/);
  bad([tvAttr(4, 1)], 'inband', 'GKM_WIRE_BAD_VALUE', /attribute\[0\]\.type/);
});

// --- Group Key Bag ---------------------------------------------------------------------------

test('Group Key Bag: one SA_KEY (0,0) for a Data-Security SA in every exchange', () => {
  for (const ctx of ALL) {
    assert.deepEqual(parseGroupKeyBag(espBag([saKey(0)]), ctx), { saKeys: [{ keyId: 0, kwkId: 0, encryptedKey: KW24 }], unknown: [] });
    assert.throws(() => parseGroupKeyBag(espBag([saKey(0), saKey(0)]), ctx), wireError('GKM_WIRE_BAD_COUNT', /attribute\[1\]\(SA_KEY\)/));
    assert.throws(() => parseGroupKeyBag(espBag([]), ctx), wireError('GKM_WIRE_BAD_COUNT', /SA_KEY/));
  }
  assert.throws(() => parseGroupKeyBag(espBag([saKey(5)]), 'registration'), wireError('GKM_WIRE_BAD_VALUE', /SA_KEY/));
  assert.throws(() => parseGroupKeyBag(espBag([saKey(0, 9)]), 'registration'), wireError('GKM_WIRE_BAD_VALUE', /SA_KEY/));
});

test('Group Key Bag: Rekey SA bags carry several SA_KEYs only in GSA_REKEY, under distinct KWKs', () => {
  const view = parseGroupKeyBag(kekBag([saKey(1), saKey(15)]), 'rekey');
  assert.deepEqual(view.saKeys.map((k) => k.kwkId), [1, 15]);
  for (const ctx of ['registration', 'registration-inband', 'inband'] as const) {
    assert.throws(() => parseGroupKeyBag(kekBag([saKey(1), saKey(15)]), ctx), wireError('GKM_WIRE_BAD_COUNT', /SA_KEY/));
    assert.equal(parseGroupKeyBag(kekBag([saKey(7)]), ctx).saKeys[0]?.kwkId, 7);
  }
  assert.throws(() => parseGroupKeyBag(kekBag([saKey(1), saKey(1)]), 'rekey'), wireError('GKM_WIRE_BAD_VALUE', /KD\.groupKeyBag$/));
});

test('wrapped keys: layout, too short, wrong form', () => {
  const k = decodeWrappedKey(wrapped(3, 7, KW24));
  assert.deepEqual(k, { keyId: 3, kwkId: 7, encryptedKey: KW24 });
  assert.deepEqual(encodeWrappedKey(k), wrapped(3, 7, KW24));
  assert.throws(() => decodeWrappedKey(wrapped(3, 7, Buffer.alloc(8))), wireError('GKM_WIRE_BAD_LENGTH', /wrappedKey/));
  assert.throws(() => decodeWrappedKey(hex('0000000300')), wireError('GKM_WIRE_BAD_LENGTH'));
  assert.deepEqual(decodeWrappedKey(wrapped(3, 7, Buffer.alloc(9))).encryptedKey.length, 9);
  assert.throws(() => encodeWrappedKey({ keyId: 3, kwkId: 7, encryptedKey: Buffer.alloc(0) }), encodeError(/wrappedKey/));
  assert.throws(() => parseGroupKeyBag(espBag([tlvAttr(GroupKeyBagAttr.SA_KEY, Buffer.alloc(16))]), 'registration'), wireError('GKM_WIRE_BAD_LENGTH', /SA_KEY/));
  assert.throws(() => parseGroupKeyBag(espBag([tvAttr(GroupKeyBagAttr.SA_KEY, 0)]), 'registration'), wireError('GKM_WIRE_BAD_VALUE', /SA_KEY/));
  assert.throws(() => parseMemberKeyBag(memberBag([tlvAttr(MemberKeyBagAttr.WRAP_KEY, wrapped(3, 7, Buffer.alloc(4)))]), 'registration'), wireError('GKM_WIRE_BAD_LENGTH', /WRAP_KEY/));
});

// --- Member Key Bag --------------------------------------------------------------------------

test('Member Key Bag: typed view of the fixture', () => {
  assert.deepEqual(parseMemberKeyBag(MEMBER_BAG, 'registration'), {
    wrapKeys: [
      { keyId: 1, kwkId: 3, encryptedKey: WRAP40(0xa1) },
      { keyId: 3, kwkId: 0, encryptedKey: WRAP40(0xa3) },
    ],
    authKey: SPKI,
    senderIds: [7],
    unknown: [],
  });
});

test('Member Key Bag: presence per context (digest §12 item 3, §15 #1)', () => {
  const auth = tlvAttr(MemberKeyBagAttr.AUTH_KEY, SPKI);
  const bad = (attrs: Attribute[], ctx: GroupExchangeContext, code: Code, field: RegExp) =>
    assert.throws(() => parseMemberKeyBag(memberBag(attrs), ctx), wireError(code, field));
  // GSA_REKEY: WRAP_KEY and AUTH_KEY only.
  assert.deepEqual(parseMemberKeyBag(memberBag([wrapKey(6, 15), auth]), 'rekey'), {
    wrapKeys: [{ keyId: 6, kwkId: 15, encryptedKey: KW24 }],
    authKey: SPKI,
    senderIds: [],
    unknown: [],
  });
  bad([senderId('00000001')], 'rekey', 'GKM_WIRE_BAD_VALUE', /GM_SENDER_ID/);
  // In-band mode: no WRAP_KEY / AUTH_KEY; Sender-IDs at registration only; no bag at all in GSA_INBAND_REKEY.
  bad([wrapKey(1, 0)], 'registration-inband', 'GKM_WIRE_BAD_VALUE', /WRAP_KEY/);
  bad([auth], 'registration-inband', 'GKM_WIRE_BAD_VALUE', /AUTH_KEY/);
  assert.deepEqual(parseMemberKeyBag(memberBag([senderId('00000002')]), 'registration-inband').senderIds, [2]);
  bad([], 'inband', 'GKM_WIRE_BAD_VALUE', /KD\.memberKeyBag$/);
  // At most one AUTH_KEY; it must be one DER SEQUENCE.
  bad([auth, auth], 'registration', 'GKM_WIRE_BAD_COUNT', /AUTH_KEY/);
  bad([tlvAttr(MemberKeyBagAttr.AUTH_KEY, SPKI.subarray(0, 40))], 'registration', 'GKM_WIRE_BAD_VALUE', /AUTH_KEY/);
  bad([tlvAttr(MemberKeyBagAttr.AUTH_KEY, Buffer.concat([SPKI, hex('00')]))], 'registration', 'GKM_WIRE_BAD_VALUE', /AUTH_KEY/);
  bad([tlvAttr(MemberKeyBagAttr.AUTH_KEY, hex('3081050102030405'))], 'registration', 'GKM_WIRE_BAD_VALUE', /AUTH_KEY/); // non-minimal length
  // WRAP_KEY: Key ID != 0, not wrapped under itself.
  bad([wrapKey(0, 3)], 'registration', 'GKM_WIRE_BAD_VALUE', /WRAP_KEY/);
  bad([wrapKey(3, 3)], 'registration', 'GKM_WIRE_BAD_VALUE', /WRAP_KEY/);
  bad([tvAttr(MemberKeyBagAttr.WRAP_KEY, 1)], 'registration', 'GKM_WIRE_BAD_VALUE', /WRAP_KEY/);
});

test('GM_SENDER_ID: 1-8 octets accepted (digest §15 #3), 4 sent', () => {
  const ids = (data: string) => parseMemberKeyBag(memberBag([senderId(data)]), 'registration').senderIds;
  assert.deepEqual(ids('07'), [7]);
  assert.deepEqual(ids('0102'), [0x102]);
  assert.deepEqual(ids('000000000000ffff'), [0xffff]);
  assert.deepEqual(ids('001fffffffffffff'), [Number.MAX_SAFE_INTEGER]);
  assert.throws(() => ids(''), wireError('GKM_WIRE_BAD_LENGTH', /GM_SENDER_ID/));
  assert.throws(() => ids('000000000000000001'), wireError('GKM_WIRE_BAD_LENGTH', /GM_SENDER_ID/));
  assert.throws(() => ids('0020000000000000'), wireError('GKM_WIRE_BAD_VALUE', /GM_SENDER_ID/));
  const bag = buildMemberKeyBag({ wrapKeys: [], senderIds: [7, 0xffffffff] }, 'registration');
  assert.deepEqual(bag.attributes, [senderId('00000007'), senderId('ffffffff')]);
  assert.throws(() => buildMemberKeyBag({ wrapKeys: [], senderIds: [2 ** 32] }, 'registration'), encodeError(/GM_SENDER_ID/));
});

// --- builders --------------------------------------------------------------------------------

test('builders produce the fixtures and refuse what parsing refuses', () => {
  assert.deepEqual(
    buildGsaPolicyAttributes({ keyLifetime: 86400, initialMessageId: 5, nextSpis: [hex('1112131415161718 b1b2b3b4b5b6b7b8')] }, ProtocolId.GIKE_UPDATE, 'registration'),
    KEK_POLICY.attributes,
  );
  assert.deepEqual(buildGroupWidePolicy({ activationTimeDelay: 5, deactivationTimeDelay: 10, senderIdBits: 8 }, 'registration'), GW_POLICY);
  assert.deepEqual(
    buildMemberKeyBag(
      { wrapKeys: [{ keyId: 1, kwkId: 3, encryptedKey: WRAP40(0xa1) }, { keyId: 3, kwkId: 0, encryptedKey: WRAP40(0xa3) }], authKey: SPKI, senderIds: [7] },
      'registration',
    ),
    MEMBER_BAG,
  );
  assert.throws(() => buildGsaPolicyAttributes({ nextSpis: [] }, ProtocolId.ESP, 'rekey'), encodeError(/GSA_KEY_LIFETIME/));
  assert.throws(() => buildGsaPolicyAttributes({ keyLifetime: 1, initialMessageId: 1, nextSpis: [] }, ProtocolId.ESP, 'rekey'), encodeError(/GSA_INITIAL_MESSAGE_ID/));
  assert.throws(() => buildGsaPolicyAttributes({ keyLifetime: 1, nextSpis: [hex('0000000001')] }, ProtocolId.ESP, 'rekey'), encodeError(/GSA_NEXT_SPI/));
  assert.throws(() => buildGsaPolicyAttributes({ keyLifetime: 2 ** 32, nextSpis: [] }, ProtocolId.ESP, 'rekey'), encodeError(/GSA_KEY_LIFETIME/));
  assert.throws(() => buildGroupWidePolicy({ senderIdBits: 8 }, 'rekey'), encodeError(/GWP_SENDER_ID_BITS/));
  assert.throws(() => buildGroupWidePolicy({ activationTimeDelay: 0x10000 }, 'rekey'), encodeError(/GWP_ATD/));
  assert.throws(() => buildGroupWidePolicy({ unknown: [tvAttr(9, 1)] }, 'rekey'), encodeError(/unknown/));
  const k = { keyId: 0, kwkId: 1, encryptedKey: KW24 };
  assert.throws(() => buildGroupKeyBag(ProtocolId.ESP, hex('11223344'), { saKeys: [k] }, 'registration'), encodeError(/SA_KEY/));
  assert.throws(() => buildGroupKeyBag(ProtocolId.GIKE_UPDATE, KEK_POLICY.spi, { saKeys: [k, { ...k, kwkId: 2 }] }, 'registration'), encodeError(/SA_KEY/));
  assert.throws(() => buildGroupKeyBag(ProtocolId.GIKE_UPDATE, KEK_POLICY.spi, { saKeys: [k, k] }, 'rekey'), encodeError(/KD\.groupKeyBag/));
  assert.throws(() => buildGroupKeyBag(ProtocolId.ESP, hex('1122'), { saKeys: [{ ...k, kwkId: 0 }] }, 'rekey'), encodeError(/spi/));
  assert.throws(() => buildMemberKeyBag({ wrapKeys: [], senderIds: [] }, 'inband'), encodeError(/memberKeyBag/));
  assert.throws(() => buildMemberKeyBag({ wrapKeys: [{ keyId: 0, kwkId: 1, encryptedKey: KW24 }], senderIds: [] }, 'rekey'), encodeError(/WRAP_KEY/));
});

test('registrationContext: a Rekey SA policy means multicast rekeying', () => {
  const gsa = (policies: GsaPayload['policies']): GsaPayload => ({ type: PayloadType.GSA, policies });
  assert.equal(registrationContext(gsa([ESP_POLICY, KEK_POLICY])), 'registration');
  assert.equal(registrationContext(gsa([ESP_POLICY, GW_POLICY])), 'registration-inband');
  assert.equal(registrationContext([ESP_POLICY]), 'registration-inband');
});

/** Build → encode in a KD/GSA payload → decode → parse gives the input back. */
test('property: typed views round-trip through the builders and the wire', () => {
  const context = fc.constantFrom<GroupExchangeContext>(...ALL);
  const viaKd = (bag: GroupKeyBag | MemberKeyBag) => {
    const kd: KdPayload = { type: PayloadType.KD, bags: [bag] };
    const { first, bytes } = encodeChain([kd]);
    return (decodePayloadChain(first, bytes).payloads[0] as KdPayload).bags[0]!;
  };
  const gsaRun = fc.tuple(context, groupSaProtocolArb).chain(([ctx, proto]) =>
    fc.tuple(fc.constant(ctx), fc.constant(proto), gsaPolicyAttributesArb(proto, ctx), groupSpiArb(proto)),
  );
  fc.assert(
    fc.property(gsaRun, ([ctx, protocolId, attrs, spi]) => {
      const policy: GsaPolicy = { ...ESP_POLICY, protocolId, spi, attributes: buildGsaPolicyAttributes(attrs, protocolId, ctx) };
      const { first, bytes } = encodeChain([{ type: PayloadType.GSA, policies: [policy] }]);
      const back = (decodePayloadChain(first, bytes).payloads[0] as GsaPayload).policies[0] as GsaPolicy;
      assert.deepEqual(parseGsaPolicyAttributes(back, ctx), attrs);
    }),
    { numRuns: NUM_RUNS },
  );
  fc.assert(
    fc.property(context.chain((ctx) => fc.tuple(fc.constant(ctx), groupWidePolicyAttributesArb(ctx))), ([ctx, attrs]) => {
      const policy = buildGroupWidePolicy(attrs, ctx);
      const { first, bytes } = encodeChain([{ type: PayloadType.GSA, policies: [policy, ESP_POLICY] }]);
      const back = (decodePayloadChain(first, bytes).payloads[0] as GsaPayload).policies[0]!;
      assert.ok(back.protocolId === ProtocolId.NONE);
      assert.deepEqual(parseGroupWidePolicy(back, ctx), attrs);
    }),
    { numRuns: NUM_RUNS },
  );
  const bagRun = fc
    .tuple(context, groupSaProtocolArb)
    .chain(([ctx, proto]: [GroupExchangeContext, GroupSaProtocol]) =>
      fc.tuple(fc.constant(ctx), fc.constant(proto), groupSpiArb(proto), groupKeyBagAttributesArb(proto, ctx)),
    );
  fc.assert(
    fc.property(bagRun, ([ctx, proto, spi, attrs]) => {
      const back = viaKd(buildGroupKeyBag(proto, spi, attrs, ctx));
      assert.ok(back.protocolId !== ProtocolId.NONE);
      assert.deepEqual(parseGroupKeyBag(back, ctx), attrs);
    }),
    { numRuns: NUM_RUNS },
  );
  const memberContext = fc.constantFrom('registration', 'rekey', 'registration-inband' as const);
  fc.assert(
    fc.property(memberContext.chain((ctx) => fc.tuple(fc.constant(ctx), memberKeyBagAttributesArb(ctx))), ([ctx, attrs]) => {
      const back = viaKd(buildMemberKeyBag(attrs, ctx));
      assert.ok(back.protocolId === ProtocolId.NONE);
      assert.deepEqual(parseMemberKeyBag(back, ctx), attrs);
    }),
    { numRuns: NUM_RUNS },
  );
});

test('property: parsers fail only with typed errors on arbitrary attribute lists', () => {
  const attrs = fc.array(
    fc.oneof(
      fc.record({ type: fc.integer({ min: 0, max: 5 }), tv: fc.constant(true as const), value: fc.integer({ min: 0, max: 0xffff }) }),
      fc.record({ type: fc.integer({ min: 0, max: 5 }), tv: fc.constant(false as const), data: fc.uint8Array({ maxLength: 60 }).map((u) => Buffer.from(u)) }),
    ),
    { maxLength: 5 },
  );
  fc.assert(
    fc.property(fc.constantFrom(...ALL), attrs, (ctx, list) => {
      for (const parse of [
        () => parseGsaPolicyAttributes(withAttrs(KEK_POLICY, list), ctx),
        () => parseGsaPolicyAttributes(withAttrs(ESP_POLICY, list), ctx),
        () => parseGroupWidePolicy(withAttrs(GW_POLICY, list), ctx),
        () => parseGroupKeyBag(kekBag(list), ctx),
        () => parseGroupKeyBag(espBag(list), ctx),
        () => parseMemberKeyBag(memberBag(list), ctx),
      ]) {
        try {
          parse();
        } catch (e) {
          wireError((e as { code: Code }).code)(e);
        }
      }
    }),
    { numRuns: NUM_RUNS },
  );
});
