/**
 * SA negotiation (RFC 7296 §2.7, §3.3.6) for IKE and Child SA proposals.
 *
 * Responder: walk the offered proposals in the initiator's order; the first one that one of
 * our configured proposals accepts wins, and we return exactly one transform of every type
 * it carries, with its Proposal Num (and, for ESP, our SPI). A type both sides carry needs a
 * common transform (same ID and Key Length); a type only the offer carries is acceptable
 * only as an optional key exchange (ID NONE; RFC 9370 §2.2.1), which is then dropped.
 *
 * Initiator: the response must name one of our proposals and hold exactly one transform per
 * type, each one we offered, and every mandatory type of that proposal.
 */
import { GkmError } from '../errors.ts';
import { KeId, TransformType } from '../registry/transform.ts';
import type { Proposal } from '../wire/payloads/index.ts';
import { buildProposal, keyLengthOf, type ProposalSpec } from '../wire/payloads/index.ts';
import type { Transform } from '../wire/sub/transform.ts';

/** Transform types whose ID 0 (NONE) makes the type optional: KE and ADDKE1..7. */
const isKeType = (type: number): boolean => type === TransformType.KE || (type >= TransformType.ADDKE1 && type <= TransformType.ADDKE7);

const sameTransform = (a: Transform, b: Transform): boolean =>
  a.transformType === b.transformType && a.transformId === b.transformId && keyLengthOf(a) === keyLengthOf(b);

/** Whether `p` carries transform `t` (a loop, not some(): no closure per offered transform). */
function carries(p: Proposal, t: Transform): boolean {
  for (const mine of p.transforms) if (sameTransform(t, mine)) return true;
  return false;
}

/** The transform types of a proposal, each once, ascending (a plain insertion: a handful of types). */
function typesOf(p: Proposal): number[] {
  const types: number[] = [];
  for (const t of p.transforms) {
    const type = t.transformType;
    if (types.includes(type)) continue;
    let i = types.length;
    while (i > 0 && types[i - 1]! > type) i--;
    types.splice(i, 0, type);
  }
  return types;
}

/**
 * Our proposals numbered 1..n without SPI, built once per spec list (configurations are
 * long-lived and shared): frozen, so every negotiation can share their transforms.
 */
const numberedCache = new WeakMap<readonly ProposalSpec[], readonly Proposal[]>();

function numberedOnce(specs: readonly ProposalSpec[]): readonly Proposal[] {
  let ours = numberedCache.get(specs);
  if (ours === undefined) {
    ours = Object.freeze(specs.map((s, i) => freezeProposal(buildProposal({ ...s, number: i + 1 }))));
    numberedCache.set(specs, ours);
  }
  return ours;
}

function freezeProposal(p: Proposal): Proposal {
  Object.freeze(p.transforms);
  return Object.freeze(p);
}

/**
 * Our proposals numbered 1..n (RFC 7296 §3.3.1), with `spi` for Child SAs. The transforms are
 * shared (frozen) between calls; only the SPI differs per SA. A spec with an SPI of its own
 * keeps it when no `spi` is given.
 */
export function numberedProposals(specs: readonly ProposalSpec[], spi?: Buffer): Proposal[] {
  const ours = numberedOnce(specs);
  return spi === undefined ? ours.slice() : ours.map((p) => ({ number: p.number, protocolId: p.protocolId, spi, transforms: p.transforms }));
}

/** RFC 7296 §3.3.1: Proposal Nums start at 1 and grow by exactly one in IKE/Child offers. */
export function checkStrictNumbering(proposals: readonly Proposal[]): void {
  proposals.forEach((p, i) => {
    if (p.number !== i + 1) {
      throw new GkmError('GKM_IKE_INVALID_SYNTAX', { field: `SA.proposal[${i}].number`, detail: `${p.number}, expected ${i + 1}` });
    }
  });
}

export interface SelectOptions {
  readonly protocolId: number;
  /** Preferred transform per type when the offer lists several (e.g. the KE method of KEi). */
  readonly prefer?: ReadonlyMap<number, number>;
  /**
   * false: the initiator did not announce IKE_INTERMEDIATE, so ADDKE rounds cannot run
   * (RFC 9370 §2.2.1); only NONE can be chosen for ADDKE types. Default true.
   */
  readonly additionalKe?: boolean;
}

const isAddKeType = (type: number): boolean => type >= TransformType.ADDKE1 && type <= TransformType.ADDKE7;

/**
 * Match one offered proposal against one of ours; the chosen transforms, or undefined.
 * Plain loops, no per-type arrays: this runs for every IKE_SA_INIT and Child SA offer.
 */
function match(offered: Proposal, ours: Proposal, { prefer, additionalKe = true }: SelectOptions): Transform[] | undefined {
  const chosen: Transform[] = [];
  const types = typesOf(offered);
  for (const t of typesOf(ours)) if (!types.includes(t)) types.push(t);
  for (const type of types) {
    // Without IKE_INTERMEDIATE only NONE can be chosen for an ADDKE type (RFC 9370 §2.2.1).
    const noneOnly = !additionalKe && isAddKeType(type);
    const preferred = prefer?.get(type);
    let offeredCount = 0;
    let usable = 0;
    let offeredNone = false;
    let first: Transform | undefined;
    let preferredPick: Transform | undefined;
    for (const o of offered.transforms) {
      if (o.transformType !== type) continue;
      offeredCount++;
      if (noneOnly && o.transformId !== KeId.NONE) continue;
      usable++;
      if (o.transformId === KeId.NONE) offeredNone = true;
      if (!carries(ours, o)) continue;
      first ??= o;
      if (preferredPick === undefined && preferred !== undefined && o.transformId === preferred) preferredPick = o;
    }
    if (noneOnly && offeredCount > 0 && usable === 0) return undefined; // a round the initiator requires but cannot run
    if (usable === 0) {
      // Only we carry it: fine if NONE is among our choices for an optional KE type.
      if (isKeType(type) && ours.transforms.some((t) => t.transformType === type && t.transformId === KeId.NONE)) continue;
      return undefined;
    }
    const pick = preferredPick ?? first;
    if (pick) {
      chosen.push(pick);
      continue;
    }
    if (isKeType(type) && offeredNone) continue;
    return undefined;
  }
  return chosen;
}

/**
 * The responder's choice, still carrying the offered SPI (the peer's, for ESP; replace it
 * with ours in the answer). Throws GKM_IKE_NO_PROPOSAL_CHOSEN when nothing fits.
 */
export function selectProposal(offered: readonly Proposal[], ours: readonly Proposal[], opts: SelectOptions): Proposal {
  checkStrictNumbering(offered);
  for (const o of offered) {
    if (o.protocolId !== opts.protocolId) continue;
    for (const mine of ours) {
      if (mine.protocolId !== opts.protocolId) continue;
      const transforms = match(o, mine, opts);
      if (transforms) return { number: o.number, protocolId: o.protocolId, spi: o.spi, transforms };
    }
  }
  throw new GkmError('GKM_IKE_NO_PROPOSAL_CHOSEN', { field: 'SA' });
}

/**
 * Initiator side: checks the responder's single chosen proposal against what we offered
 * and returns it. Throws GKM_IKE_BAD_RESPONSE.
 */
export function checkChosenProposal(response: readonly Proposal[], offered: readonly Proposal[], spiSize: number): Proposal {
  const bad = (detail: string): GkmError => new GkmError('GKM_IKE_BAD_RESPONSE', { field: 'SA', detail });
  if (response.length !== 1) throw bad(`${response.length} proposals in a response`);
  const chosen = response[0]!;
  const ours = offered.find((p) => p.number === chosen.number && p.protocolId === chosen.protocolId);
  if (!ours) throw bad(`proposal ${chosen.number} was not offered`);
  if (chosen.spi.length !== spiSize) throw bad(`SPI of ${chosen.spi.length} octets`);
  const seen = new Set<number>();
  for (const t of chosen.transforms) {
    if (seen.has(t.transformType)) throw bad(`several transforms of type ${t.transformType}`);
    seen.add(t.transformType);
    if (!ours.transforms.some((o) => sameTransform(o, t))) throw bad(`transform ${t.transformType}/${t.transformId} was not offered`);
  }
  for (const type of typesOf(ours)) {
    const optional = isKeType(type) && ours.transforms.some((t) => t.transformType === type && t.transformId === KeId.NONE);
    if (!seen.has(type) && !optional) throw bad(`no transform of type ${type}`);
  }
  return chosen;
}

/** The ID of the single transform of `type`, or undefined (NONE counts as absent for KE types). */
export function chosenId(p: Proposal, type: number): number | undefined {
  const t = p.transforms.find((x) => x.transformType === type);
  if (t === undefined || (isKeType(type) && t.transformId === KeId.NONE)) return undefined;
  return t.transformId;
}

/** The ordered ADDKE methods chosen (RFC 9370: rounds run in increasing type order). */
export function chosenAdditionalKes(p: Proposal): number[] {
  const out: number[] = [];
  for (let type = TransformType.ADDKE1; type <= TransformType.ADDKE7; type++) {
    const id = chosenId(p, type);
    if (id !== undefined) out.push(id);
  }
  return out;
}

/**
 * The proposal without KE/ADDKE transforms: Child SAs created in IKE_AUTH have no key
 * exchange of their own (RFC 7296 §1.2: "SHOULD omit the whole transform substructure").
 */
export function withoutKeyExchanges(p: Proposal): Proposal {
  return { number: p.number, protocolId: p.protocolId, spi: p.spi, transforms: transformsWithoutKe(p.transforms) };
}

/** Filtered once per shared (frozen) transform list; other lists are filtered each time. */
const withoutKeCache = new WeakMap<readonly Transform[], readonly Transform[]>();

function transformsWithoutKe(transforms: readonly Transform[]): readonly Transform[] {
  const cached = withoutKeCache.get(transforms);
  if (cached !== undefined) return cached;
  const filtered = transforms.filter((t) => !isKeType(t.transformType));
  if (!Object.isFrozen(transforms)) return filtered;
  Object.freeze(filtered);
  withoutKeCache.set(transforms, filtered);
  return filtered;
}

/** Every KE method (type 4) offered, in order, without NONE. */
export function offeredKeMethods(proposals: readonly Proposal[]): number[] {
  return [...new Set(proposals.flatMap((p) => p.transforms.filter((t) => t.transformType === TransformType.KE && t.transformId !== KeId.NONE).map((t) => t.transformId)))];
}

export function offersAdditionalKe(proposals: readonly Proposal[]): boolean {
  return proposals.some((p) => p.transforms.some((t) => t.transformType >= TransformType.ADDKE1 && t.transformType <= TransformType.ADDKE7 && t.transformId !== KeId.NONE));
}
