/**
 * Encoded messages and payload chains sampled, deterministically by seed, from the codec
 * property tests' fast-check arbitraries (test/ikev2/wire/arbitraries.ts for RFC 7296,
 * group-arbitraries.ts for IDg/GSA/KD). Their notify data and G-IKEv2 attributes are
 * random, so a share of notifies, GSA and KD payloads is built from typed values instead:
 * the second-level parsers then see valid input too.
 */
import fc from 'fast-check';
import { buildGroupKeyBag, buildGroupWidePolicy, buildGsaPolicyAttributes, buildMemberKeyBag } from '../../src/ikev2/wire/group-attributes.ts';
import { encodeMessage } from '../../src/ikev2/wire/message.ts';
import { encodeChain, type Payload } from '../../src/ikev2/wire/payload.ts';
import { PayloadType } from '../../src/ikev2/registry/payload.ts';
import { ProtocolId } from '../../src/ikev2/registry/misc.ts';
import {
  isGroupWidePolicy,
  isMemberKeyBag,
  NotifyData,
  type GroupPolicy,
  type GsaPayload,
  type KdPayload,
  type KeyBag,
  type NotifyPayload,
} from '../../src/ikev2/wire/payloads/index.ts';
import { arbChainOf, arbMessageOf, arbPlainPayload, bytes, u16, u32 } from '../../test/ikev2/wire/arbitraries.ts';
import {
  groupKeyBagAttributesArb,
  groupWidePolicyAttributesArb,
  gsaPayloadArb,
  gsaPolicyAttributesArb,
  idgPayloadArb,
  kdPayloadArb,
  memberKeyBagAttributesArb,
} from '../../test/ikev2/wire/group-arbitraries.ts';

export interface EncodedChainSample {
  readonly first: number;
  readonly bytes: Buffer;
}

/** GSA with valid registration attributes on every policy. */
const gsaWithValidAttributes: fc.Arbitrary<GsaPayload> = gsaPayloadArb.chain((gsa) =>
  fc
    .tuple(
      ...gsa.policies.map((p): fc.Arbitrary<GroupPolicy> =>
        isGroupWidePolicy(p)
          ? groupWidePolicyAttributesArb('registration').map((v) => buildGroupWidePolicy(v, 'registration'))
          : gsaPolicyAttributesArb(p.protocolId, 'registration').map((v) => ({ ...p, attributes: buildGsaPolicyAttributes(v, p.protocolId, 'registration') })),
      ),
    )
    .map((policies) => ({ type: PayloadType.GSA, policies })),
);

/** KD with valid registration attributes in every bag. */
const kdWithValidAttributes: fc.Arbitrary<KdPayload> = kdPayloadArb.chain((kd) =>
  fc
    .tuple(
      ...kd.bags.map((b): fc.Arbitrary<KeyBag> =>
        isMemberKeyBag(b)
          ? memberKeyBagAttributesArb('registration').map((v) => buildMemberKeyBag(v, 'registration'))
          : groupKeyBagAttributesArb(b.protocolId, 'registration').map((v) => buildGroupKeyBag(b.protocolId, b.spi, v, 'registration')),
      ),
    )
    .map((bags) => ({ type: PayloadType.KD, bags })),
);

/** Notifies with well-formed typed data. */
const typedNotify: fc.Arbitrary<NotifyPayload> = fc.oneof(
  bytes(20, 20).map((h) => NotifyData.NAT_DETECTION_SOURCE_IP.build(h)),
  bytes(20, 20).map((h) => NotifyData.NAT_DETECTION_DESTINATION_IP.build(h)),
  bytes(1, 64).map((c) => NotifyData.COOKIE.build(c)),
  u32.map((n) => NotifyData.GROUP_SENDER.build(n)),
  u32.map((n) => NotifyData.SET_WINDOW_SIZE.build(n)),
  u16.map((n) => NotifyData.INVALID_KE_PAYLOAD.build(n)),
  fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 5 }).map((l) => NotifyData.SIGNATURE_HASH_ALGORITHMS.build(l)),
  bytes(4, 4).map((spi) => NotifyData.REKEY_SA.build({ protocolId: ProtocolId.ESP, spi })),
  fc.constant(NotifyData.IKEV2_FRAGMENTATION_SUPPORTED.build()),
  fc.constant(NotifyData.REGISTRATION_FAILED.build()),
);

/** Any plain payload, G-IKEv2 ones included. */
const anyPlainPayload: fc.Arbitrary<Payload> = fc.oneof(
  { arbitrary: arbPlainPayload, weight: 6 },
  { arbitrary: typedNotify, weight: 1 },
  { arbitrary: idgPayloadArb, weight: 1 },
  { arbitrary: gsaPayloadArb, weight: 1 },
  { arbitrary: gsaWithValidAttributes, weight: 1 },
  { arbitrary: kdPayloadArb, weight: 1 },
  { arbitrary: kdWithValidAttributes, weight: 1 },
);

const chainArb = arbChainOf(anyPlainPayload);

export function sampleArbitraryMessages(seed: number, count: number): Buffer[] {
  if (count <= 0) return [];
  return fc.sample(arbMessageOf(chainArb), { numRuns: count, seed }).map(encodeMessage);
}

export function sampleArbitraryChains(seed: number, count: number): EncodedChainSample[] {
  if (count <= 0) return [];
  return fc.sample(chainArb, { numRuns: count, seed: seed + 1 }).map(encodeChain);
}
