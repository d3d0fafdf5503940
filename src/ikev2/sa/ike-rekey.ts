/**
 * IKE SA rekey specifics (RFC 7296 §1.3.2, §2.18): the proposals we offer or accept, and the
 * keys of the new IKE SA.
 *
 * - A new key exchange is mandatory: KE NONE is never offered nor accepted (§2.18).
 * - The PRF does not change: SKEYSEED uses the old SA's PRF (§2.18) while the RFC and
 *   strongSwan disagree on the PRF of the prf+ that follows (digest §H.1), so our offers and
 *   acceptable proposals carry only the current PRF and the question never arises.
 */
import { GkmError } from '../errors.ts';
import { deriveRekeyedIkeKeys, ikeKeySizes } from '../crypto/keys.ts';
import { KeId } from '../registry/transform.ts';
import type { Proposal, ProposalSpec } from '../wire/payloads/index.ts';
import type { IkeCrypto, IkeSuite, Role } from './ike-sa.ts';
import { numberedProposals } from './proposals.ts';
import { ikeCryptoFromKeys } from './additional-ke.ts';

const listOf = <T>(v: T | readonly T[] | undefined): readonly T[] => (v === undefined ? [] : Array.isArray(v) ? (v as readonly T[]) : [v as T]);

/** Configured IKE proposals narrowed to the current PRF and a mandatory KE; numbered, with `spi`. */
export function ikeRekeyProposals(specs: readonly ProposalSpec[], current: IkeSuite, spi?: Buffer): Proposal[] {
  const usable: ProposalSpec[] = [];
  for (const s of specs) {
    const ke = listOf(s.ke).filter((m) => m !== KeId.NONE);
    if (!listOf(s.prf).includes(current.prfId) || ke.length === 0) continue;
    usable.push({ ...s, prf: current.prfId, ke });
  }
  if (usable.length === 0) throw new GkmError('GKM_IKE_NO_PROPOSAL_CHOSEN', { field: 'SA', detail: 'no IKE proposal with the current PRF and a key exchange' });
  return numberedProposals(usable, spi);
}

export interface RekeyedIkeKeyInput {
  readonly old: IkeCrypto;
  readonly suite: IkeSuite;
  /** Our role in the new SA: the rekey's initiator is its original initiator. */
  readonly role: Role;
  /** SK(0) | ... | SK(n), in round order (RFC 9370 §2.2.4). */
  readonly secrets: readonly Buffer[];
  readonly ni: Buffer;
  readonly nr: Buffer;
  readonly spiI: Buffer;
  readonly spiR: Buffer;
}

/**
 * SKEYSEED = prf(SK_d(old), SK(0) | Ni | Nr | SK(1) | ...) with the old PRF, then SK_* with
 * the new SPIs (RFC 7296 §2.18, RFC 9370 §2.2.4); the SK ciphers of our role.
 */
export function rekeyedIkeCrypto(k: RekeyedIkeKeyInput): IkeCrypto {
  const prf = k.old.prf;
  const protection = { encrId: k.suite.encrId, keyLengthBits: k.suite.keyLengthBits, integId: k.suite.integId };
  const keys = deriveRekeyedIkeKeys(prf, k.old.keys.skD, k.secrets, k.ni, k.nr, k.spiI, k.spiR, ikeKeySizes(prf, protection));
  return ikeCryptoFromKeys(k.role, k.suite, prf, keys);
}
