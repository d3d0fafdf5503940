/**
 * Group Security Association payload (GSA, 51; RFC 9838 §4.4): a list of group policies.
 * The first octet of each policy tells them apart:
 *
 *   0      GW (group-wide) policy (§4.4.3): `0 | RESERVED(1) | Length(2) | GW attributes`
 *   other  GSA policy (§4.4.2): `Protocol(1) | SPI Size(1) | Length(2) | SPI | Source TS |
 *          Destination TS | Transforms (Last Substruc 3…3,0) | GSA attributes`
 *
 * Composition (§4.4): at most one GIKE_UPDATE (Rekey SA) policy, any number of ESP/AH
 * (Data-Security SA) policies, at most one GW policy, and at least one GIKE_UPDATE/ESP/AH
 * policy. Attribute semantics: ../group-attributes.ts; transform rules: ../group-policy.ts.
 */
import { GkmError } from '../../errors.ts';
import { ProtocolId } from '../../registry/misc.ts';
import { PayloadType } from '../../registry/payload.ts';
import { decodeAttributes, encodeAttributes, type Attribute } from '../attributes.ts';
import type { PayloadCodec } from '../payload.ts';
import { beginGroupSubstructure, decodeGroupSubstructures, endGroupSubstructure, NO_SPI, type GroupSaProtocol } from '../sub/group-substructure.ts';
import { decodeTrafficSelector, encodeTrafficSelector, type TrafficSelector } from '../sub/traffic-selector.ts';
import { decodeTransforms, encodeTransforms, type Transform } from '../sub/transform.ts';

/** Policy of one group SA: the Rekey SA (GIKE_UPDATE) or a Data-Security SA (ESP/AH). */
export interface GsaPolicy {
  readonly protocolId: GroupSaProtocol;
  /** 16 bytes (rekey IKE header SPIi||SPIr) for GIKE_UPDATE, 4 for ESP/AH. */
  readonly spi: Buffer;
  readonly source: TrafficSelector;
  readonly destination: TrafficSelector;
  /** At least one. */
  readonly transforms: readonly Transform[];
  /** GSA attributes (RFC 9838 §4.4.2.2). */
  readonly attributes: readonly Attribute[];
}

/** Policy that applies to the whole group rather than to one SA (RFC 9838 §4.4.3). */
export interface GroupWidePolicy {
  readonly protocolId: typeof ProtocolId.NONE;
  /** GW policy attributes (RFC 9838 §4.4.3.1). */
  readonly attributes: readonly Attribute[];
}

export type GroupPolicy = GsaPolicy | GroupWidePolicy;

export interface GsaPayload {
  readonly type: typeof PayloadType.GSA;
  readonly critical?: boolean;
  readonly policies: readonly GroupPolicy[];
}

export const isGroupWidePolicy = (p: GroupPolicy): p is GroupWidePolicy => p.protocolId === ProtocolId.NONE;
export const isGsaPolicy = (p: GroupPolicy): p is GsaPolicy => p.protocolId !== ProtocolId.NONE;

/** Why a policy list breaks the §4.4 composition rules, or null. */
export function gsaCompositionProblem(policies: readonly GroupPolicy[]): string | null {
  let rekey = 0;
  let groupWide = 0;
  for (const p of policies) {
    if (p.protocolId === ProtocolId.GIKE_UPDATE) rekey++;
    else if (isGroupWidePolicy(p)) groupWide++;
  }
  if (rekey > 1) return 'more than one GIKE_UPDATE policy';
  if (groupWide > 1) return 'more than one GW policy';
  if (groupWide === policies.length) return 'no GIKE_UPDATE, ESP or AH policy';
  return null;
}

export const gsaCodec: PayloadCodec<GsaPayload> = {
  type: PayloadType.GSA,
  name: 'GSA',
  decode(r) {
    const policies = decodeGroupSubstructures<GroupPolicy>(r, 'policy', ({ protocolId, spi, body }) => {
      if (protocolId === ProtocolId.NONE) return { protocolId, attributes: decodeAttributes(body) };
      return {
        protocolId: protocolId as GroupSaProtocol,
        spi,
        source: decodeTrafficSelector(body, 'source'),
        destination: decodeTrafficSelector(body, 'destination'),
        transforms: decodeTransforms(body, 'transform'),
        attributes: decodeAttributes(body),
      };
    });
    const problem = gsaCompositionProblem(policies);
    if (problem) r.fail('GKM_WIRE_BAD_COUNT', 'policies', problem);
    return { type: PayloadType.GSA, policies };
  },
  encode(w, p) {
    const problem = gsaCompositionProblem(p.policies);
    if (problem) throw new GkmError('GKM_WIRE_ENCODE', { field: 'GSA.policies', detail: problem });
    for (let i = 0; i < p.policies.length; i++) {
      const policy = p.policies[i]!;
      if (isGroupWidePolicy(policy)) {
        const start = beginGroupSubstructure(w, policy.protocolId, NO_SPI, 'GSA.policy', i);
        encodeAttributes(w, policy.attributes);
        endGroupSubstructure(w, start, 'GSA.policy', i);
        continue;
      }
      if (policy.transforms.length === 0) throw new GkmError('GKM_WIRE_ENCODE', { field: `GSA.policy[${i}].transforms`, detail: 'at least one transform' });
      const start = beginGroupSubstructure(w, policy.protocolId, policy.spi, 'GSA.policy', i);
      encodeTrafficSelector(w, policy.source);
      encodeTrafficSelector(w, policy.destination);
      encodeTransforms(w, policy.transforms);
      encodeAttributes(w, policy.attributes);
      endGroupSubstructure(w, start, 'GSA.policy', i);
    }
  },
};
