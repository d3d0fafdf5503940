/** Stored group policy → wire GSA policies (RFC 9838 §4.4), checked with the codec's own rules. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { signatureAlgorithmIdentifier } from '../../../src/ikev2/crypto/sig.ts';
import { ProtocolId, TsType } from '../../../src/ikev2/registry/misc.ts';
import { PayloadType } from '../../../src/ikev2/registry/payload.ts';
import { EncrId, GcauthId, IntegId, KwaId, SnId, TransformAttr, TransformType } from '../../../src/ikev2/registry/transform.ts';
import { parseGroupWidePolicy, parseGsaPolicyAttributes } from '../../../src/ikev2/wire/group-attributes.ts';
import { groupSaKeyMaterialLength, validateGsaPolicyTransforms } from '../../../src/ikev2/wire/group-policy.ts';
import { decodePayloadChain, encodeChain } from '../../../src/ikev2/wire/payload.ts';
import type { GsaPayload, GsaPolicy } from '../../../src/ikev2/wire/payloads/gsa.ts';
import { groupPolicyShape, groupWidePolicy, gsaPolicyTemplate, gsaPolicyWithSpi, needsSenderIds, validateGroupPolicy } from '../../../src/gcks/policy/index.ts';
import { basePolicy, changed } from './fixtures.ts';

const policy = validateGroupPolicy(basePolicy());
const shape = groupPolicyShape(policy);

function withSpis(context: 'registration' | 'rekey'): GsaPolicy[] {
  return [
    gsaPolicyWithSpi(shape.rekeySa!, randomBytes(16), context, { initialMessageId: 5, nextSpis: [randomBytes(16)] }),
    ...shape.dataSecuritySas.map((s) => gsaPolicyWithSpi(s, randomBytes(4), context)),
  ];
}

test('shapes: one Rekey SA, the Data-Security SAs by name, registration context, tunnel mode', () => {
  assert.equal(shape.context, 'registration');
  assert.equal(shape.rekeySa?.name, 'rekey');
  assert.deepEqual(shape.dataSecuritySas.map((s) => s.name), ['video', 'control']);
  assert.equal(shape.useTransportMode, false);
  assert.equal(needsSenderIds(policy), true);
});

test('every wire policy passes validateGsaPolicyTransforms and has a key size, at registration and in rekeys', () => {
  for (const context of ['registration', 'rekey'] as const) {
    for (const p of withSpis(context)) {
      const suite = validateGsaPolicyTransforms(p, context);
      assert.ok(groupSaKeyMaterialLength(p) > 0);
      parseGsaPolicyAttributes(p, context);
      if (p.protocolId === ProtocolId.GIKE_UPDATE) assert.equal(suite.gcauthId, context === 'registration' ? GcauthId.DIGITAL_SIGNATURE : undefined, 'GCAUTH only at registration');
    }
  }
});

test('transforms and attributes, field by field', () => {
  const [rekey, video, control] = withSpis('registration');
  assert.deepEqual(validateGsaPolicyTransforms(rekey!, 'registration'), {
    encrId: EncrId.AES_GCM_16,
    keyLengthBits: 256,
    kwaId: KwaId.KW_5649_256,
    gcauthId: GcauthId.DIGITAL_SIGNATURE,
    signatureAlgorithm: signatureAlgorithmIdentifier('ed25519'),
  });
  assert.equal(groupSaKeyMaterialLength(rekey!), 36 + 32, 'GSK_e (key + salt) | GSK_w');
  const rekeyAttrs = parseGsaPolicyAttributes(rekey!, 'registration');
  assert.equal(rekeyAttrs.keyLifetime, 86400);
  assert.equal(rekeyAttrs.initialMessageId, 5);
  assert.equal(rekeyAttrs.nextSpis.length, 1);
  assert.deepEqual(rekey!.destination, { tsType: TsType.TS_IPV4_ADDR_RANGE, ipProtocol: 17, startPort: 848, endPort: 848, startAddress: Buffer.from([239, 1, 1, 100]), endAddress: Buffer.from([239, 1, 1, 100]) });

  assert.deepEqual(validateGsaPolicyTransforms(video!, 'registration'), { encrId: EncrId.AES_GCM_16, keyLengthBits: 256, snId: SnId.UNSPECIFIED32 });
  assert.equal(parseGsaPolicyAttributes(video!, 'registration').keyLifetime, 3600);
  assert.deepEqual(video!.source, { tsType: TsType.TS_IPV4_ADDR_RANGE, ipProtocol: 17, startPort: 0, endPort: 65535, startAddress: Buffer.from([0, 0, 0, 0]), endAddress: Buffer.from([255, 255, 255, 255]) });

  assert.deepEqual(validateGsaPolicyTransforms(control!, 'registration'), { encrId: EncrId.AES_CBC, keyLengthBits: 128, integId: IntegId.HMAC_SHA2_256_128, snId: SnId.SEQ32 });
  assert.equal(groupSaKeyMaterialLength(control!), 16 + 32);
  assert.deepEqual([control!.destination.tsType, (control as { destination: { endAddress: Buffer } }).destination.endAddress], [TsType.TS_IPV4_ADDR_RANGE, Buffer.from([239, 1, 2, 255])]);
  const keyLength = control!.transforms.find((t) => t.transformType === TransformType.ENCR)?.attributes[0];
  assert.deepEqual(keyLength, { type: TransformAttr.KEY_LENGTH, tv: true, value: 128 });
});

test('a GSA payload of these policies encodes and decodes back', () => {
  const gw = groupWidePolicy(policy, 'registration', { senderIdsGranted: true })!;
  const gsa: GsaPayload = { type: PayloadType.GSA, policies: [...withSpis('registration'), gw] };
  const { first, bytes } = encodeChain([gsa]);
  const { payloads } = decodePayloadChain(first, bytes);
  assert.deepEqual(payloads[0], gsa);
});

test('GW policy: ATD and DTD; Sender-ID bits only with a grant; nothing when empty', () => {
  const granted = parseGroupWidePolicy(groupWidePolicy(policy, 'registration', { senderIdsGranted: true })!, 'registration');
  assert.deepEqual([granted.activationTimeDelay, granted.deactivationTimeDelay, granted.senderIdBits], [3, 6, 12]);
  const receiver = parseGroupWidePolicy(groupWidePolicy(policy, 'registration', { senderIdsGranted: false })!, 'registration');
  assert.equal(receiver.senderIdBits, undefined);
  const rekey = parseGroupWidePolicy(groupWidePolicy(policy, 'rekey', { senderIdsGranted: false })!, 'rekey');
  assert.equal(rekey.activationTimeDelay, 3);
  const empty = validateGroupPolicy(changed('groupWide', { senderIdBits: 8 }));
  assert.equal(groupWidePolicy(empty, 'registration', { senderIdsGranted: false }), undefined);
});

test('transport mode and in-band rekeying: no Rekey SA, registration-inband, USE_TRANSPORT_MODE', () => {
  const doc = changed('rekey', { method: 'inband' });
  for (const sa of doc.dataSecuritySas as Record<string, unknown>[]) sa.mode = 'transport';
  const inband = groupPolicyShape(validateGroupPolicy(doc));
  assert.equal(inband.context, 'registration-inband');
  assert.equal(inband.rekeySa, undefined);
  assert.equal(inband.useTransportMode, true);
  for (const s of inband.dataSecuritySas) {
    const p = gsaPolicyWithSpi(s, randomBytes(4), 'registration-inband');
    validateGsaPolicyTransforms(p, 'registration-inband');
    parseGsaPolicyAttributes(p, 'registration-inband');
  }
});

test('implicit rekey authentication: GCAUTH 1 without Signature Algorithm Identifier', () => {
  const implicit = groupPolicyShape(validateGroupPolicy(changed('rekey.sa.authentication', { method: 'implicit' })));
  const p = gsaPolicyWithSpi(implicit.rekeySa!, randomBytes(16), 'registration');
  assert.equal(validateGsaPolicyTransforms(p, 'registration').gcauthId, GcauthId.IMPLICIT);
  assert.equal(p.transforms.find((t) => t.transformType === TransformType.GCAUTH)?.attributes.length, 0);
});

test('templates (no SPI) for the key engine: GCAUTH and GSA_KEY_LIFETIME per exchange', () => {
  const reg = gsaPolicyTemplate(shape.rekeySa!, 'registration');
  const rekey = gsaPolicyTemplate(shape.rekeySa!, 'rekey');
  assert.equal('spi' in reg, false);
  assert.equal(reg.transforms.length, rekey.transforms.length + 1);
  const spi = randomBytes(16);
  assert.deepEqual({ ...rekey, spi }, gsaPolicyWithSpi(shape.rekeySa!, spi, 'rekey'));
});
