/**
 * What the GCKS accepts in IKE_SA_INIT (RFC 9838 §2.2): IKE proposals that must also
 * negotiate a Key Wrap Algorithm (type 13: a GM offering none gets NO_PROPOSAL_CHOSEN,
 * since registration keys are wrapped under GSK_w with it), and an optional additional key
 * exchange with ML-KEM (RFC 9370 ADDKE1, NONE allowed) run in IKE_INTERMEDIATE before
 * GSA_AUTH when the GM offers it. Within a transform type the GM's preference wins.
 */
import { EncrId, IntegId, KeId, KwaId, PrfId } from '../../ikev2/registry/transform.ts';
import { ProtocolId } from '../../ikev2/registry/misc.ts';
import type { IkeSaInitConfig } from '../../ikev2/sa/config.ts';
import type { ProposalSpec } from '../../ikev2/wire/payloads/index.ts';

export const GCKS_KWAS: readonly number[] = [KwaId.KW_5649_256, KwaId.KW_ARX, KwaId.KW_5649_192, KwaId.KW_5649_128];
const PRFS = [PrfId.HMAC_SHA2_256, PrfId.HMAC_SHA2_384, PrfId.HMAC_SHA2_512];
const KES = [KeId.CURVE25519, KeId.ECP256, KeId.ECP384, KeId.ECP521, KeId.ML_KEM_768, KeId.ML_KEM_1024, KeId.MODP2048];
/** RFC 9370: an optional post-quantum round, hybrid with the classic KE. */
const ADDKE1 = [KeId.ML_KEM_768, KeId.ML_KEM_1024, KeId.ML_KEM_512, KeId.NONE];

export function gcksIkeProposals(kwas: readonly number[] = GCKS_KWAS): ProposalSpec[] {
  const common = { protocolId: ProtocolId.IKE, prf: PRFS, ke: KES, addke: [ADDKE1], kwa: kwas };
  return [
    { ...common, encr: [{ id: EncrId.AES_GCM_16, keyLength: 256 }, { id: EncrId.AES_GCM_16, keyLength: 128 }, EncrId.CHACHA20_POLY1305] },
    { ...common, encr: [{ id: EncrId.AES_CBC, keyLength: 256 }, { id: EncrId.AES_CBC, keyLength: 128 }], integ: [IntegId.HMAC_SHA2_256_128, IntegId.HMAC_SHA2_384_192, IntegId.HMAC_SHA2_512_256] },
  ];
}

/** IKE_SA_INIT policy of the GCKS; GSA_AUTH has no Child SA (RFC 9838 §2.3.1). */
export function gcksInitConfig(kwas?: readonly number[]): IkeSaInitConfig {
  return { proposals: gcksIkeProposals(kwas), fragmentation: true, childless: true };
}
