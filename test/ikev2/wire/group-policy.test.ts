/** GSA policy transform rules (RFC 9838 §4.4.2.1), key material sizes (§3.4, §3.5), cross-substructure rules (§5). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isGkmError } from '../../../src/ikev2/errors.ts';
import { ProtocolId } from '../../../src/ikev2/registry/misc.ts';
import { EncrId, GcauthId, IntegId, KwaId, PrfId, SnId, TransformAttr, TransformType } from '../../../src/ikev2/registry/transform.ts';
import { getKeyWrap } from '../../../src/ikev2/crypto/keywrap.ts';
import { tlvAttr, tvAttr } from '../../../src/ikev2/wire/attributes.ts';
import type { GroupExchangeContext } from '../../../src/ikev2/wire/group-attributes.ts';
import {
  checkAuthKeyPresence,
  checkSenderIdGrant,
  groupSaKeyLayout,
  groupSaKeyMaterialLength,
  isMulticastSelector,
  usesCounterMode,
  validateGsaPolicyTransforms,
} from '../../../src/ikev2/wire/group-policy.ts';
import type { GsaPolicy } from '../../../src/ikev2/wire/payloads/gsa.ts';
import type { Transform } from '../../../src/ikev2/wire/sub/transform.ts';
import { hex, wireError } from './payload-helpers.ts';
import { ESP_POLICY, KEK_POLICY, SPKI, anyV4, transform, v4 } from './group-fixtures.ts';

type Code = Parameters<typeof wireError>[0];
const T = TransformType;
const keyLength = (bits: number) => tvAttr(TransformAttr.KEY_LENGTH, bits);
const gcm256 = transform(T.ENCR, EncrId.AES_GCM_16, [keyLength(256)]);
const cbc256 = transform(T.ENCR, EncrId.AES_CBC, [keyLength(256)]);
const sha256 = transform(T.INTEG, IntegId.HMAC_SHA2_256_128);
const kw256 = transform(T.KWA, KwaId.KW_5649_256);
const implicit = transform(T.GCAUTH, GcauthId.IMPLICIT);
const sig = transform(T.GCAUTH, GcauthId.DIGITAL_SIGNATURE, [tlvAttr(TransformAttr.SIGNATURE_ALGORITHM_IDENTIFIER, hex('300506032b6570'))]);
const sn = (id: number) => transform(T.SN, id);

const kek = (...transforms: Transform[]): GsaPolicy => ({ ...KEK_POLICY, transforms });
const esp = (...transforms: Transform[]): GsaPolicy => ({ ...ESP_POLICY, transforms });
const ah = (...transforms: Transform[]): GsaPolicy => ({ ...ESP_POLICY, protocolId: ProtocolId.AH, transforms });

const ok = (p: GsaPolicy, ctx: GroupExchangeContext = 'registration') => validateGsaPolicyTransforms(p, ctx);
const bad = (p: GsaPolicy, ctx: GroupExchangeContext, code: Code, field: RegExp = /GSA\.policy/) =>
  assert.throws(() => validateGsaPolicyTransforms(p, ctx), wireError(code, field));

test('Rekey SA policy: ENCR, INTEG iff not AEAD, KWA, GCAUTH at registration only', () => {
  assert.deepEqual(ok(KEK_POLICY), {
    encrId: EncrId.AES_GCM_16,
    keyLengthBits: 256,
    kwaId: KwaId.KW_5649_256,
    gcauthId: GcauthId.DIGITAL_SIGNATURE,
    signatureAlgorithm: hex('300506032b6570'),
  });
  assert.deepEqual(ok(kek(gcm256, kw256), 'rekey'), { encrId: EncrId.AES_GCM_16, keyLengthBits: 256, kwaId: KwaId.KW_5649_256 });
  ok(kek(cbc256, sha256, kw256, implicit), 'registration-inband');
  ok(kek(gcm256, transform(T.INTEG, IntegId.NONE), kw256), 'inband');
  for (const ctx of ['rekey', 'inband'] as const) bad(KEK_POLICY, ctx, 'GKM_WIRE_BAD_VALUE', /transform\[2\]/);
  bad(kek(gcm256, kw256), 'registration', 'GKM_WIRE_BAD_COUNT', /transforms/);
  bad(kek(gcm256, implicit), 'registration', 'GKM_WIRE_BAD_COUNT', /transforms/);
  bad(kek(kw256, implicit), 'registration', 'GKM_WIRE_BAD_COUNT', /transforms/);
  bad(kek(cbc256, kw256), 'rekey', 'GKM_WIRE_BAD_COUNT', /transforms/);
  bad(kek(cbc256, transform(T.INTEG, IntegId.NONE), kw256), 'rekey', 'GKM_WIRE_BAD_COUNT', /transforms/);
  bad(kek(gcm256, sha256, kw256), 'rekey', 'GKM_WIRE_BAD_VALUE', /transforms/);
  bad(kek(gcm256, kw256, gcm256), 'rekey', 'GKM_WIRE_BAD_COUNT', /transform\[2\]/);
  // No PRF since -22, no SN for GIKE_UPDATE.
  bad(kek(gcm256, kw256, transform(T.PRF, PrfId.HMAC_SHA2_256)), 'rekey', 'GKM_WIRE_BAD_VALUE', /transform\[2\]/);
  bad(kek(gcm256, kw256, sn(SnId.SEQ32)), 'rekey', 'GKM_WIRE_BAD_VALUE', /transform\[2\]/);
  // Implicit-IV ciphers never carry G-IKEv2 messages.
  bad(kek(transform(T.ENCR, EncrId.AES_GCM_16_IIV, [keyLength(256)]), kw256), 'rekey', 'GKM_WIRE_BAD_VALUE', /transforms/);
});

test('GCAUTH: Signature Algorithm Identifier with Digital Signature only', () => {
  bad(kek(gcm256, kw256, transform(T.GCAUTH, GcauthId.DIGITAL_SIGNATURE)), 'registration', 'GKM_WIRE_BAD_COUNT', /transform\[2\]/);
  bad(kek(gcm256, kw256, transform(T.GCAUTH, GcauthId.IMPLICIT, sig.attributes)), 'registration', 'GKM_WIRE_BAD_VALUE', /transform\[2\]\.attribute\[0\]/);
  const alg = (a: ReturnType<typeof tlvAttr> | ReturnType<typeof tvAttr>) => kek(gcm256, kw256, transform(T.GCAUTH, GcauthId.DIGITAL_SIGNATURE, [a]));
  bad(alg(tvAttr(TransformAttr.SIGNATURE_ALGORITHM_IDENTIFIER, 1)), 'registration', 'GKM_WIRE_BAD_VALUE', /attribute\[0\]/);
  bad(alg(tlvAttr(TransformAttr.SIGNATURE_ALGORITHM_IDENTIFIER, hex('0605 2b65700000'))), 'registration', 'GKM_WIRE_BAD_VALUE', /attribute\[0\]/);
  bad(alg(tlvAttr(TransformAttr.SIGNATURE_ALGORITHM_IDENTIFIER, hex('300506032b657000'))), 'registration', 'GKM_WIRE_BAD_VALUE', /attribute\[0\]/);
});

test('transform attributes: Key Length on ENCR only, TV, once; nothing unknown', () => {
  bad(kek(gcm256, kw256, transform(T.GCAUTH, GcauthId.IMPLICIT, [keyLength(128)])), 'registration', 'GKM_WIRE_BAD_VALUE', /transform\[2\]\.attribute\[0\]/);
  bad(esp(transform(T.ENCR, EncrId.AES_GCM_16, [tlvAttr(TransformAttr.KEY_LENGTH, hex('0100'))]), sn(0)), 'rekey', 'GKM_WIRE_BAD_VALUE', /attribute\[0\]/);
  bad(esp(transform(T.ENCR, EncrId.AES_GCM_16, [keyLength(128), keyLength(256)]), sn(0)), 'rekey', 'GKM_WIRE_BAD_COUNT', /attribute\[1\]/);
  bad(esp(transform(T.ENCR, EncrId.AES_GCM_16, [keyLength(128), tvAttr(99, 1)]), sn(0)), 'rekey', 'GKM_WIRE_BAD_VALUE', /attribute\[1\]/);
});

test('Data-Security SA policies: ESP ENCR+SN (INTEG optional), AH INTEG+SN', () => {
  assert.deepEqual(ok(ESP_POLICY, 'rekey'), { encrId: EncrId.AES_GCM_16, keyLengthBits: 256, snId: SnId.UNSPECIFIED32 });
  ok(esp(cbc256, sha256, sn(0)));
  ok(esp(cbc256, sn(0))); // INTEG is optional for ESP
  ok(esp(transform(T.ENCR, EncrId.NULL), sha256, sn(2)));
  bad(esp(transform(T.ENCR, EncrId.NULL), sn(2)), 'rekey', 'GKM_WIRE_BAD_COUNT', /transforms/);
  bad(esp(gcm256), 'rekey', 'GKM_WIRE_BAD_COUNT', /transforms/);
  bad(esp(sn(0)), 'rekey', 'GKM_WIRE_BAD_COUNT', /transforms/);
  bad(esp(gcm256, sn(0), kw256), 'rekey', 'GKM_WIRE_BAD_VALUE', /transform\[2\]/);
  bad(esp(gcm256, sn(0), transform(T.KE, 31)), 'rekey', 'GKM_WIRE_BAD_VALUE', /transform\[2\]/);
  bad(esp(gcm256, sha256, sn(0)), 'rekey', 'GKM_WIRE_BAD_VALUE', /transforms/);
  bad(esp(gcm256, sn(0), sn(2)), 'rekey', 'GKM_WIRE_BAD_COUNT', /transform\[2\]/);
  ok(ah(transform(T.INTEG, IntegId.AES_128_GMAC), sn(2)));
  bad(ah(sha256), 'rekey', 'GKM_WIRE_BAD_COUNT', /transforms/);
  bad(ah(gcm256, sha256, sn(0)), 'rekey', 'GKM_WIRE_BAD_VALUE', /transform\[0\]/);
  bad(ah(transform(T.INTEG, IntegId.NONE), sn(0)), 'rekey', 'GKM_WIRE_BAD_VALUE', /transforms/);
});

test('SN rules: no ESN on multicast SAs; implicit IV only with SN 0', () => {
  bad(esp(gcm256, sn(SnId.ESN64)), 'registration', 'GKM_WIRE_BAD_VALUE', /transforms/);
  bad({ ...ah(sha256, sn(SnId.ESN64)), destination: { ...anyV4, startAddress: hex('ff020000'.padEnd(32, '0')), endAddress: hex('ff02'.padEnd(32, 'f')), tsType: 8 } }, 'registration', 'GKM_WIRE_BAD_VALUE');
  ok({ ...esp(gcm256, sn(SnId.ESN64)), destination: v4('c0000202') }); // unicast destination
  const iiv = transform(T.ENCR, EncrId.AES_GCM_16_IIV, [keyLength(256)]);
  ok(esp(iiv, sn(SnId.SEQ32)));
  bad(esp(iiv, sn(SnId.UNSPECIFIED32)), 'registration', 'GKM_WIRE_BAD_VALUE', /transforms/);
  assert.equal(isMulticastSelector(v4('e0000001')), true);
  assert.equal(isMulticastSelector(anyV4), false);
  assert.equal(isMulticastSelector({ tsType: 10, octet1: 0, body: Buffer.alloc(4) }), false);
});

test('keying material sizes (digest §5)', () => {
  assert.deepEqual(groupSaKeyLayout(KEK_POLICY), { encr: 36, integ: 0, wrap: 32, total: 68 });
  assert.equal(groupSaKeyMaterialLength(ESP_POLICY), 36);
  // Digest example: AES-CBC-256 + HMAC-SHA2-256-128 + KW_5649_256 → 96 → 104-octet wrap → 116-octet SA_KEY attribute.
  const cbcKek = kek(cbc256, sha256, kw256, implicit);
  assert.deepEqual(groupSaKeyLayout(cbcKek), { encr: 32, integ: 32, wrap: 32, total: 96 });
  assert.equal(4 + 8 + getKeyWrap(KwaId.KW_5649_256).wrappedLength(96), 116);
  assert.equal(groupSaKeyMaterialLength(kek(transform(T.ENCR, EncrId.CHACHA20_POLY1305), transform(T.KWA, KwaId.KW_ARX))), 36 + 32);
  assert.equal(groupSaKeyMaterialLength(kek(transform(T.ENCR, EncrId.AES_CCM_16, [keyLength(128)]), transform(T.KWA, KwaId.KW_5649_128))), 19 + 16);
  assert.equal(groupSaKeyMaterialLength(esp(transform(T.ENCR, EncrId.AES_CTR, [keyLength(192)]), transform(T.INTEG, IntegId.HMAC_SHA2_512_256), sn(0))), 28 + 64);
  assert.equal(groupSaKeyMaterialLength(esp(transform(T.ENCR, EncrId.NULL), transform(T.INTEG, IntegId.HMAC_SHA1_96), sn(0))), 20);
  assert.equal(groupSaKeyMaterialLength(esp(transform(T.ENCR, EncrId.AES_GCM_16_IIV, [keyLength(128)]), sn(0))), 20);
  assert.equal(groupSaKeyMaterialLength(ah(transform(T.INTEG, IntegId.AES_256_GMAC), sn(2))), 36);
  assert.equal(groupSaKeyMaterialLength(ah(transform(T.INTEG, IntegId.HMAC_SHA2_384_192), sn(0))), 48);
  assert.throws(() => groupSaKeyMaterialLength(esp(sn(0))), wireError('GKM_WIRE_BAD_COUNT', /transforms/));
  assert.throws(() => groupSaKeyMaterialLength(kek(gcm256)), wireError('GKM_WIRE_BAD_COUNT', /transforms/));
  assert.throws(() => groupSaKeyMaterialLength(esp(transform(T.ENCR, 99), sn(0))), (e) => isGkmError(e, 'GKM_CRYPTO_UNSUPPORTED'));
  assert.throws(() => groupSaKeyMaterialLength(esp(transform(T.ENCR, EncrId.AES_CBC), sn(0))), (e) => isGkmError(e, 'GKM_CRYPTO_UNSUPPORTED'));
  assert.throws(() => groupSaKeyMaterialLength(kek(gcm256, transform(T.KWA, 77))), (e) => isGkmError(e, 'GKM_CRYPTO_UNSUPPORTED'));
});

test('AUTH_KEY against GCAUTH', () => {
  checkAuthKeyPresence(GcauthId.DIGITAL_SIGNATURE, SPKI, 'registration');
  checkAuthKeyPresence(GcauthId.DIGITAL_SIGNATURE, undefined, 'rekey');
  checkAuthKeyPresence(GcauthId.IMPLICIT, undefined, 'registration');
  assert.throws(() => checkAuthKeyPresence(GcauthId.DIGITAL_SIGNATURE, undefined, 'registration'), wireError('GKM_WIRE_BAD_COUNT', /AUTH_KEY/));
  assert.throws(() => checkAuthKeyPresence(GcauthId.IMPLICIT, SPKI, 'rekey'), wireError('GKM_WIRE_BAD_VALUE', /AUTH_KEY/));
});

test('Sender-IDs: present iff GROUP_SENDER and a counter-mode SA; no more than asked; fitting the bits', () => {
  const cbc = esp(cbc256, sha256, sn(0));
  assert.equal(usesCounterMode(ESP_POLICY), true);
  assert.equal(usesCounterMode(cbc), false);
  assert.equal(usesCounterMode(ah(transform(T.INTEG, IntegId.AES_128_GMAC), sn(2))), true);
  assert.equal(usesCounterMode(KEK_POLICY), false);
  const member = (senderIds: number[]) => ({ wrapKeys: [], senderIds, unknown: [] });
  const gw = (senderIdBits?: number) => (senderIdBits === undefined ? { unknown: [] } : { senderIdBits, unknown: [] });
  checkSenderIdGrant({ policies: [ESP_POLICY], groupWide: gw(8), member: member([0, 1]), requested: 2 });
  checkSenderIdGrant({ policies: [ESP_POLICY], requested: 0 });
  checkSenderIdGrant({ policies: [cbc], requested: 3 });
  const fails = (g: Parameters<typeof checkSenderIdGrant>[0], code: Code, field: RegExp) => assert.throws(() => checkSenderIdGrant(g), wireError(code, field));
  fails({ policies: [ESP_POLICY], member: member([1]), requested: 0 }, 'GKM_WIRE_BAD_COUNT', /GM_SENDER_ID/);
  fails({ policies: [cbc], member: member([1]), requested: 1 }, 'GKM_WIRE_BAD_COUNT', /GM_SENDER_ID/);
  fails({ policies: [ESP_POLICY], groupWide: gw(), member: member([1]), requested: 1 }, 'GKM_WIRE_BAD_COUNT', /GWP_SENDER_ID_BITS/);
  fails({ policies: [ESP_POLICY], groupWide: gw(8), member: member([]), requested: 1 }, 'GKM_WIRE_BAD_COUNT', /GM_SENDER_ID/);
  fails({ policies: [ESP_POLICY], groupWide: gw(8), member: member([1, 2]), requested: 1 }, 'GKM_WIRE_BAD_COUNT', /GM_SENDER_ID/);
  fails({ policies: [ESP_POLICY], groupWide: gw(8), member: member([3, 3]), requested: 2 }, 'GKM_WIRE_BAD_VALUE', /GM_SENDER_ID/);
  fails({ policies: [ESP_POLICY], groupWide: gw(8), member: member([256]), requested: 1 }, 'GKM_WIRE_BAD_VALUE', /GM_SENDER_ID/);
});

test('unknown protocol is refused', () => {
  assert.throws(() => validateGsaPolicyTransforms({ ...ESP_POLICY, protocolId: 1 as never }, 'rekey'), wireError('GKM_WIRE_BAD_VALUE', /protocol/));
});
