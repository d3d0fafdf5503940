/**
 * From a stored group policy to the GSA payload's policies (RFC 9838 §4.4): everything but
 * the SPIs and keys, which the key engine (src/gcks/keys) attaches with `gsaPolicyWithSpi`.
 *
 *   Rekey SA         GIKE_UPDATE: ENCR(+Key Length), INTEG unless AEAD, KWA, and at
 *                    registration GCAUTH (+Signature Algorithm Identifier) (§4.4.2.1)
 *   Data-Security    ESP: ENCR(+Key Length), INTEG if any, SN (§4.4.2.1)
 *   GW policy        GWP_ATD, GWP_DTD when non-zero; GWP_SENDER_ID_BITS only when the
 *                    member is granted Sender-IDs (§5 note, digest §15 #10)
 *
 * The mode is not in the GSA payload: transport mode is N(USE_TRANSPORT_MODE) in the
 * registration reply (§2.3.4), given here as `useTransportMode`.
 */
import { signatureAlgorithmIdentifier } from '../../ikev2/crypto/sig.ts';
import { ProtocolId } from '../../ikev2/registry/misc.ts';
import { GcauthId, SnId, TransformAttr, TransformType } from '../../ikev2/registry/transform.ts';
import { tlvAttr, tvAttr, type Attribute } from '../../ikev2/wire/attributes.ts';
import { buildGroupWidePolicy, buildGsaPolicyAttributes, isRegistrationContext, type GroupExchangeContext } from '../../ikev2/wire/group-attributes.ts';
import { usesCounterMode } from '../../ikev2/wire/group-policy.ts';
import type { GroupWidePolicy, GsaPolicy } from '../../ikev2/wire/payloads/gsa.ts';
import type { GroupSaProtocol } from '../../ikev2/wire/sub/group-substructure.ts';
import type { TrafficSelector } from '../../ikev2/wire/sub/traffic-selector.ts';
import type { Transform } from '../../ikev2/wire/sub/transform.ts';
import { ENCR, INTEG, KWA, type IntegName } from './algorithms.ts';
import { toTrafficSelector } from './selector.ts';
import type { DataSecuritySaPolicy, EncryptionSpec, GroupPolicy, RekeyAuthentication, RekeySaPolicy, SequenceNumbers } from './types.ts';

/** A GSA policy without its SPI: what the policy layer decides. */
export interface GsaPolicyShape {
  /** "rekey" for the Rekey SA, else the Data-Security SA's name. */
  readonly name: string;
  readonly protocolId: GroupSaProtocol;
  readonly source: TrafficSelector;
  readonly destination: TrafficSelector;
  /** Registration form: the Rekey SA's include GCAUTH, dropped for rekeys by gsaPolicyWithSpi. */
  readonly transforms: readonly Transform[];
  /** GSA_KEY_LIFETIME, seconds. */
  readonly keyLifetime?: number;
}

export interface GroupPolicyShape {
  /** The registration column of the §5 table this group uses. */
  readonly context: 'registration' | 'registration-inband';
  readonly rekeySa?: GsaPolicyShape;
  readonly dataSecuritySas: readonly GsaPolicyShape[];
  /** Send N(USE_TRANSPORT_MODE) with the registration reply. */
  readonly useTransportMode: boolean;
}

export const REKEY_SA_NAME = 'rekey';

const SN_ID: Readonly<Record<SequenceNumbers, number>> = {
  'sequential-32': SnId.SEQ32,
  'esn-64': SnId.ESN64,
  'unspecified-32': SnId.UNSPECIFIED32,
};

const transform = (transformType: number, transformId: number, attributes: readonly Attribute[] = []): Transform => ({ transformType, transformId, attributes });

function cipherTransforms(enc: EncryptionSpec, integ: IntegName | null): Transform[] {
  const keyLength = enc.keyBits === undefined ? [] : [tvAttr(TransformAttr.KEY_LENGTH, enc.keyBits)];
  const out = [transform(TransformType.ENCR, ENCR.id(enc.algorithm), keyLength)];
  if (integ !== null) out.push(transform(TransformType.INTEG, INTEG.id(integ)));
  return out;
}

function gcauthTransform(auth: RekeyAuthentication): Transform {
  if (auth.method === 'implicit') return transform(TransformType.GCAUTH, GcauthId.IMPLICIT);
  return transform(TransformType.GCAUTH, GcauthId.DIGITAL_SIGNATURE, [tlvAttr(TransformAttr.SIGNATURE_ALGORITHM_IDENTIFIER, signatureAlgorithmIdentifier(auth.algorithm))]);
}

function rekeySaShape(sa: RekeySaPolicy): GsaPolicyShape {
  return {
    name: REKEY_SA_NAME,
    protocolId: ProtocolId.GIKE_UPDATE,
    source: toTrafficSelector(sa.source),
    destination: toTrafficSelector(sa.destination),
    transforms: [...cipherTransforms(sa.encryption, sa.integrity), transform(TransformType.KWA, KWA.id(sa.keyWrap)), gcauthTransform(sa.authentication)],
    keyLifetime: sa.lifetimeSeconds,
  };
}

function dataSecuritySaShape(sa: DataSecuritySaPolicy): GsaPolicyShape {
  return {
    name: sa.name,
    protocolId: ProtocolId.ESP,
    source: toTrafficSelector(sa.source),
    destination: toTrafficSelector(sa.destination),
    transforms: [...cipherTransforms(sa.encryption, sa.integrity), transform(TransformType.SN, SN_ID[sa.sequenceNumbers])],
    ...(sa.lifetimeSeconds === null ? {} : { keyLifetime: sa.lifetimeSeconds }),
  };
}

/** The policy's GSA shapes. The policy must have passed validateGroupPolicy. */
export function groupPolicyShape(policy: GroupPolicy): GroupPolicyShape {
  return {
    context: policy.rekey.method === 'multicast' ? 'registration' : 'registration-inband',
    ...(policy.rekey.method === 'multicast' ? { rekeySa: rekeySaShape(policy.rekey.sa) } : {}),
    dataSecuritySas: policy.dataSecuritySas.map(dataSecuritySaShape),
    useTransportMode: policy.dataSecuritySas[0]?.mode === 'transport',
  };
}

export interface SpiBoundAttributes {
  /** GSA_INITIAL_MESSAGE_ID (Rekey SA; sent only when non-zero). */
  readonly initialMessageId?: number;
  /** GSA_NEXT_SPI values. */
  readonly nextSpis?: readonly Buffer[];
}

/** A GSA policy without its SPI: the form src/gcks/keys takes (its GsaPolicyTemplate). */
export type GsaPolicyTemplate = Omit<GsaPolicy, 'spi'>;

/**
 * The wire form of `shape` for an exchange `context`, all but the SPI: GCAUTH only at
 * registration (§4.4.2.1.1); attributes checked against the §5 table.
 */
export function gsaPolicyTemplate(shape: GsaPolicyShape, context: GroupExchangeContext, extra: SpiBoundAttributes = {}): GsaPolicyTemplate {
  const transforms = isRegistrationContext(context) ? shape.transforms : shape.transforms.filter((t) => t.transformType !== TransformType.GCAUTH);
  const initialMessageId = extra.initialMessageId ? { initialMessageId: extra.initialMessageId } : {};
  const keyLifetime = shape.keyLifetime === undefined ? {} : { keyLifetime: shape.keyLifetime };
  return {
    protocolId: shape.protocolId,
    source: shape.source,
    destination: shape.destination,
    transforms,
    attributes: buildGsaPolicyAttributes({ ...keyLifetime, ...initialMessageId, nextSpis: extra.nextSpis ?? [] }, shape.protocolId, context),
  };
}

/** The wire GSA policy for `shape` with its SPI (see gsaPolicyTemplate). */
export function gsaPolicyWithSpi(shape: GsaPolicyShape, spi: Buffer, context: GroupExchangeContext, extra: SpiBoundAttributes = {}): GsaPolicy {
  return { ...gsaPolicyTemplate(shape, context, extra), spi };
}

const dummySpi = (shape: GsaPolicyShape): Buffer => Buffer.alloc(shape.protocolId === ProtocolId.GIKE_UPDATE ? 16 : 4, 0x01);

/** The shape's transforms as a GsaPolicy (dummy SPI, no attributes), for transform-only checks. */
const transformsOnly = (shape: GsaPolicyShape): GsaPolicy => ({ ...shape, spi: dummySpi(shape), attributes: [] });

/** Whether some Data-Security SA has several senders and a counter mode, so senders need Sender-IDs (§2.5). */
export function needsSenderIds(policy: GroupPolicy): boolean {
  const shapes = groupPolicyShape(policy).dataSecuritySas;
  return policy.dataSecuritySas.some((sa, i) => sa.senders === 'multiple' && usesCounterMode(transformsOnly(shapes[i]!)));
}

/** Whether any Data-Security SA uses a counter mode (a sender asking GROUP_SENDER then gets Sender-IDs, §5). */
export function usesCounterModes(policy: GroupPolicy): boolean {
  return groupPolicyShape(policy).dataSecuritySas.some((s) => usesCounterMode(transformsOnly(s)));
}

/** A shape as the complete GsaPolicy of `context` with a dummy SPI, for the wire-level checks. */
export function placeholder(shape: GsaPolicyShape, context: GroupExchangeContext): GsaPolicy {
  return gsaPolicyWithSpi(shape, dummySpi(shape), context);
}

/**
 * The GW policy, or undefined when it would be empty. `senderIdsGranted`: the member asked
 * with GROUP_SENDER and gets GM_SENDER_IDs, so GWP_SENDER_ID_BITS goes along (§5).
 */
export function groupWidePolicy(policy: GroupPolicy, context: GroupExchangeContext, opts: { readonly senderIdsGranted: boolean }): GroupWidePolicy | undefined {
  const gw = policy.groupWide;
  const v = {
    ...(gw.activationTimeDelay ? { activationTimeDelay: gw.activationTimeDelay } : {}),
    ...(gw.deactivationTimeDelay ? { deactivationTimeDelay: gw.deactivationTimeDelay } : {}),
    ...(opts.senderIdsGranted && gw.senderIdBits !== null ? { senderIdBits: gw.senderIdBits } : {}),
  };
  return Object.keys(v).length === 0 ? undefined : buildGroupWidePolicy(v, context);
}
