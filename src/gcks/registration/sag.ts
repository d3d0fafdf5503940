/**
 * Does the GM support the group's policy? (RFC 9838 §2.3.3, §4.3; digest §11.)
 *
 * The GCKS picks the policy; SAg only says what the GM can do. Proposals of one Proposal
 * Num belong together, so the GM supports the policy when some Proposal Num covers every
 * group SA: for each protocol the SAg mentions at all, each of the group's SAs of that
 * protocol must fit one proposal of that number and protocol. An SA fits a proposal when,
 * for every transform type the proposal lists, the SA's transform of that type is among
 * them (ID and Key Length); a type the proposal leaves out constrains nothing, nor does a
 * protocol the SAg leaves out. The KWA of the Rekey SA is checked like any transform: a GM
 * that lists KWAs must list the group's. SPIs in SAg are ignored (§4.3).
 *
 * Not supported: GKM_IKE_NO_PROPOSAL_CHOSEN (N(NO_PROPOSAL_CHOSEN), §2.3.3).
 */
import { GkmError } from '../../ikev2/errors.ts';
import { nameOf } from '../../ikev2/registry/names.ts';
import { ProtocolId } from '../../ikev2/registry/misc.ts';
import { keyLengthOf, type Proposal } from '../../ikev2/wire/payloads/index.ts';
import type { Transform } from '../../ikev2/wire/sub/transform.ts';

/** What matching needs of a group SA: its protocol and transforms. */
export interface GroupSaOffer {
  readonly protocolId: number;
  readonly transforms: readonly Transform[];
}

const sameTransform = (a: Transform, b: Transform): boolean => a.transformId === b.transformId && keyLengthOf(a) === keyLengthOf(b);

function fits(sa: GroupSaOffer, p: Proposal): boolean {
  if (p.protocolId !== sa.protocolId) return false;
  const listed = new Set(p.transforms.map((t) => t.transformType));
  for (const type of listed) {
    const ours = sa.transforms.filter((t) => t.transformType === type);
    if (ours.length === 0) continue; // a type the policy does not use (e.g. INTEG with AEAD)
    const theirs = p.transforms.filter((t) => t.transformType === type);
    if (!ours.every((o) => theirs.some((t) => sameTransform(o, t)))) return false;
  }
  return true;
}

/** Why the GM cannot support the policy, or null. No SAg: null (the GCKS decides). */
export function sagProblem(sas: readonly GroupSaOffer[], sag: readonly Proposal[] | undefined): string | null {
  if (!sag || sag.length === 0) return null;
  const mentioned = new Set(sag.map((p) => p.protocolId));
  const constrained = sas.filter((sa) => mentioned.has(sa.protocolId));
  if (constrained.length === 0) return null;
  const numbers = [...new Set(sag.map((p) => p.number))];
  for (const n of numbers) {
    const group = sag.filter((p) => p.number === n);
    if (constrained.every((sa) => group.some((p) => fits(sa, p)))) return null;
  }
  const missing = constrained.find((sa) => !sag.some((p) => fits(sa, p))) ?? constrained[0]!;
  return `no SAg proposal supports the group's ${nameOf(ProtocolId, missing.protocolId)} SA`;
}

export function requireSagSupport(sas: readonly GroupSaOffer[], sag: readonly Proposal[] | undefined): void {
  const problem = sagProblem(sas, sag);
  if (problem) throw new GkmError('GKM_IKE_NO_PROPOSAL_CHOSEN', { field: 'SAg', detail: problem });
}
