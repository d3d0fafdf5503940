/**
 * Multiple key exchanges for the initial IKE SA (RFC 9370 §2.2.1, §2.2.2) and the IntAuth
 * chain of IKE_INTERMEDIATE (RFC 9242 §3.3): the state helpers the IKE_INTERMEDIATE task and
 * handler (exchanges/ike-intermediate.ts) share, and the check that keeps every
 * authentication exchange (IKE_AUTH, G-IKEv2 GSA_AUTH) from running before the last round.
 *
 *   IKE_SA_INIT  KE(type 4) ─▶ keys(0)
 *   IKE_INTERMEDIATE #n  {KEi(n)} ─▶ {KEr(n)}   (protected with keys(n-1))
 *       IntAuth_in = prf(SK_pi(n-1), IntAuth_i(n-1) | A|P of the request), same for r with SK_pr
 *       SKEYSEED(n) = prf(SK_d(n-1), SK(n) | Ni | Nr); keys(n) = prf+(SKEYSEED(n), Ni|Nr|SPIi|SPIr)
 *   IKE_AUTH / GSA_AUTH  (MID N+1) signs … | IntAuth_iN | IntAuth_rN | MID, with SK_p(N)
 */
import { GkmError } from '../errors.ts';
import { createInitiatorKe, type KeInitiator } from '../crypto/ke.ts';
import { deriveIkeKeysAfterAdditionalKe, ikeKeySizes, intAuthStep, type IkeSaKeys } from '../crypto/keys.ts';
import type { ProtectionSuite } from '../crypto/algorithms.ts';
import type { Prf } from '../crypto/prf.ts';
import { wipe } from '../crypto/zeroize.ts';
import { EncrId, KeId, PrfId } from '../registry/transform.ts';
import { ProtocolId } from '../registry/misc.ts';
import type { ProposalSpec } from '../wire/payloads/index.ts';
import { SaCrypto, type IkeCrypto, type IkeSa, type IkeSuite, type Role } from './ike-sa.ts';

/**
 * Default IKE proposals of a member connection: hybrid X25519 + ML-KEM-768 (strongSwan's
 * `aes256gcm16-prfsha384-x25519-ke1_mlkem768`) first, then the same without ADDKE for a
 * peer that does not agree. A separate proposal rather than ADDKE1 = {ML-KEM-768, NONE}:
 * a responder that predates RFC 9370 rejects a proposal holding transform types it does not
 * know (RFC 7296 §3.3.6), so the optional form would not reach it.
 */
export const DEFAULT_IKE_PROPOSALS: readonly ProposalSpec[] = [
  {
    protocolId: ProtocolId.IKE,
    encr: [{ id: EncrId.AES_GCM_16, keyLength: 256 }, { id: EncrId.AES_GCM_16, keyLength: 128 }],
    prf: [PrfId.HMAC_SHA2_384, PrfId.HMAC_SHA2_256],
    ke: KeId.CURVE25519,
    addke: [KeId.ML_KEM_768],
  },
  {
    protocolId: ProtocolId.IKE,
    encr: [{ id: EncrId.AES_GCM_16, keyLength: 256 }, { id: EncrId.AES_GCM_16, keyLength: 128 }],
    prf: [PrfId.HMAC_SHA2_384, PrfId.HMAC_SHA2_256],
    ke: KeId.CURVE25519,
  },
];

/**
 * Seam for byte-level tests: the initiator's KE of each ADDKE round. Tests swap in
 * createInitiatorKeForTest to recompute SK(n); nothing else may replace it.
 */
export const additionalKeHooks: { createInitiatorKe: (method: number) => KeInitiator } = { createInitiatorKe };

/** The SK protection transforms of an IKE suite. */
export const protectionOf = (suite: IkeSuite): ProtectionSuite => ({ encrId: suite.encrId, keyLengthBits: suite.keyLengthBits, integId: suite.integId });

/** The SK ciphers of `role` over `keys` (RFC 7296 §2.14): what protects our messages and the peer's. */
export function ikeCryptoFromKeys(role: Role, suite: IkeSuite, prf: Prf, keys: IkeSaKeys): IkeCrypto {
  return new SaCrypto(role, suite, prf, keys);
}

/**
 * The ADDKE method of the next IKE_INTERMEDIATE round, or undefined when none is left. Only
 * before authentication: an SA made by a rekey ran its rounds in IKE_FOLLOWUP_KE (§2.2.4).
 */
export function nextAdditionalKe(sa: IkeSa): number | undefined {
  return sa.phase === 'keyed' ? sa.suite?.additionalKes[sa.additionalKeRounds] : undefined;
}

/**
 * Authentication (IKE_AUTH, GSA_AUTH) may start only after every negotiated ADDKE round: the
 * keys and IntAuth would otherwise skip the post-quantum part (a downgrade). An out-of-order
 * exchange is a syntax error for us (RFC 7296 §2.21.2), which also ends the half-open SA.
 */
export function requireAdditionalKesDone(sa: IkeSa): void {
  const pending = nextAdditionalKe(sa);
  if (pending !== undefined) {
    throw new GkmError('GKM_IKE_INVALID_SYNTAX', { field: 'exchange', detail: `authentication before additional key exchange ${sa.additionalKeRounds + 1} (RFC 9370 §2.2.2)` });
  }
}

export interface IntermediateOutcome {
  /** A|P of the IKE_INTERMEDIATE request and of its response (RFC 9242 §3.1). */
  readonly requestForm: Buffer;
  readonly responseForm: Buffer;
  readonly messageId: number;
  /** SK(n) of the ADDKE round this exchange carried, if any; wiped here. */
  readonly secret?: Buffer | undefined;
}

/**
 * Both sides, once an IKE_INTERMEDIATE exchange is complete (initiator: response processed;
 * responder: response sent): extend the IntAuth chains with the SK_p that protected the two
 * messages (RFC 9242 §3.3.2; digest §H item 8), then, for an ADDKE round, move to keys(n)
 * (RFC 9370 §2.2.2). The next IKE_AUTH MID is this one plus one (§3.3.2: IKE_AUTH_MID).
 */
export function completeIntermediateExchange(sa: IkeSa, outcome: IntermediateOutcome): void {
  const { prf, keys, suite } = sa.requireCrypto();
  const previous = sa.intAuth;
  const i = intAuthStep(prf, keys.skPi, previous?.i, outcome.requestForm);
  const r = intAuthStep(prf, keys.skPr, previous?.r, outcome.responseForm);
  const secret = outcome.secret;
  if (secret) {
    try {
      const init = sa.requireInit();
      const sizes = ikeKeySizes(prf, protectionOf(suite));
      const next = deriveIkeKeysAfterAdditionalKe(prf, keys.skD, secret, init.ni, init.nr, sa.spiI, sa.spiR, sizes);
      sa.replaceCrypto(ikeCryptoFromKeys(sa.role, suite, prf, next));
      sa.additionalKeRounds++;
    } finally {
      wipe(secret);
    }
  }
  sa.intAuth = { i, r, ikeAuthMessageId: outcome.messageId + 1 };
}
