/**
 * What a GM asks for when it registers (RFC 9838 §2.3, §4.2, §4.3, §4.7.4):
 *
 *   IDg                 the group, in the IKEv2 ID payload layout
 *   SAg                 RECOMMENDED: the ciphers, Sequence Numbers values and (for the Rekey
 *                       SA) Key Wrap Algorithms this GM can run; SPI Size 0; all proposals
 *                       share Proposal Num 1, as none depends on another (§4.3)
 *   N(GROUP_SENDER)     a would-be sender: the number of Sender-IDs it wants (4 octets, §15 #4)
 */
import { EncrId, IntegId, KwaId, SnId } from '../../ikev2/registry/transform.ts';
import { ProtocolId } from '../../ikev2/registry/misc.ts';
import { PayloadType } from '../../ikev2/registry/payload.ts';
import type { Identity } from '../../ikev2/sa/identity.ts';
import type { Payload } from '../../ikev2/wire/payload.ts';
import { buildProposal, NotifyData, type IdgPayload, type ProposalSpec, type SaPayload } from '../../ikev2/wire/payloads/index.ts';

/** One registration request: the group, and whether (with how many Sender-IDs) we send. */
export interface GroupRequest {
  readonly group: Identity;
  /** Sender-IDs to ask for with N(GROUP_SENDER); undefined = receiver only. */
  readonly senderIds?: number;
  /** Send SAg (default true). */
  readonly sag?: boolean;
}

export const idgPayload = (group: Identity): IdgPayload => ({ type: PayloadType.IDg, idType: group.type, data: group.data });

const AES_BITS = [256, 128] as const;
const aes = (id: number) => AES_BITS.map((keyLength) => ({ id, keyLength }));
const HMACS = [IntegId.HMAC_SHA2_256_128, IntegId.HMAC_SHA2_384_192, IntegId.HMAC_SHA2_512_256];

/**
 * The group SAs this GM can run, as SAg proposals: what the userspace ESP datapath
 * (src/datapath/esp/suite.ts) and the IKE SK ciphers implement, and every KWA of
 * src/ikev2/crypto/keywrap.ts. Multi-sender SAs need SN 2, single-sender ones SN 0 (§2.6).
 */
export const SUPPORTED_GROUP_SAS: readonly ProposalSpec[] = [
  { protocolId: ProtocolId.GIKE_UPDATE, encr: [...aes(EncrId.AES_GCM_16), { id: EncrId.CHACHA20_POLY1305 }], kwa: [KwaId.KW_5649_256, KwaId.KW_5649_192, KwaId.KW_5649_128, KwaId.KW_ARX] },
  { protocolId: ProtocolId.GIKE_UPDATE, encr: aes(EncrId.AES_CBC), integ: HMACS, kwa: [KwaId.KW_5649_256, KwaId.KW_5649_192, KwaId.KW_5649_128, KwaId.KW_ARX] },
  { protocolId: ProtocolId.ESP, encr: [...aes(EncrId.AES_GCM_16), ...aes(EncrId.AES_GCM_12), ...aes(EncrId.AES_GCM_8), { id: EncrId.CHACHA20_POLY1305 }, ...aes(EncrId.NULL_AUTH_AES_GMAC)], sn: [SnId.UNSPECIFIED32, SnId.SEQ32] },
  { protocolId: ProtocolId.ESP, encr: aes(EncrId.AES_CBC), integ: HMACS, sn: [SnId.UNSPECIFIED32, SnId.SEQ32] },
];

export function sagPayload(specs: readonly ProposalSpec[] = SUPPORTED_GROUP_SAS): SaPayload {
  return { type: PayloadType.SA, proposals: specs.map((s) => buildProposal({ ...s, number: 1 })) };
}

/** IDg, [SAg], [N(GROUP_SENDER)]: the group part of GSA_AUTH and GSA_REGISTRATION requests. */
export function groupRequestPayloads(r: GroupRequest): Payload[] {
  const out: Payload[] = [idgPayload(r.group)];
  if (r.sag !== false) out.push(sagPayload());
  if (r.senderIds !== undefined) out.push(NotifyData.GROUP_SENDER.build(Math.max(1, r.senderIds)));
  return out;
}

/** GSA_REGISTRATION {IDg, N(REGISTRATION_FAILED | NO_PROPOSAL_CHOSEN)}: leave, or reject the policy (§2.3.3, §2.4.1). */
export function leavePayloads(group: Identity, reason: 'leave' | 'reject-policy'): Payload[] {
  const n = reason === 'leave' ? NotifyData.REGISTRATION_FAILED.build() : NotifyData.NO_PROPOSAL_CHOSEN.build();
  return [idgPayload(group), n];
}
