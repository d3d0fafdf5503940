/**
 * Pure helpers over SA proposals (RFC 7296 §3.3): build one from algorithm IDs, and read
 * the transforms of a (chosen) proposal by type. No negotiation logic lives here.
 */
import { GkmError } from '../../errors.ts';
import { TransformAttr, TransformType } from '../../registry/transform.ts';
import { tvAttr, type Attribute } from '../attributes.ts';
import type { Transform } from '../sub/transform.ts';
import type { Proposal } from './sa.ts';

type OneOrMany<T> = T | readonly T[];

/** An encryption algorithm, with its Key Length in bits for variable-key ciphers (AES). */
export interface EncrChoice {
  readonly id: number;
  readonly keyLength?: number;
}

/** Algorithm IDs per transform type; several IDs of one type are alternatives. */
export interface ProposalSpec {
  /** Proposal Num, default 1. */
  readonly number?: number;
  readonly protocolId: number;
  /** Default empty (SPI Size 0). */
  readonly spi?: Buffer;
  readonly encr?: OneOrMany<number | EncrChoice>;
  /** Key Length in bits for `encr` entries given as bare IDs. */
  readonly keyLength?: number;
  readonly prf?: OneOrMany<number>;
  readonly integ?: OneOrMany<number>;
  readonly ke?: OneOrMany<number>;
  /** `addke[i]` is ADDKE(i+1), transform type 6+i (RFC 9370); at most 7 rounds. */
  readonly addke?: readonly OneOrMany<number>[];
  readonly sn?: OneOrMany<number>;
  readonly kwa?: OneOrMany<number>;
  readonly gcauth?: OneOrMany<number>;
  /** Transforms the fields above cannot express (e.g. GCAUTH with attributes). */
  readonly extra?: readonly Transform[];
}

const MAX_ADDKE_ROUNDS = TransformType.ADDKE7 - TransformType.ADDKE1 + 1;

/** The Key Length transform attribute (RFC 7296 §3.3.5): always TV, in bits. */
export const keyLengthAttr = (bits: number): Attribute => tvAttr(TransformAttr.KEY_LENGTH, bits);

/** Append one transform per ID (a lone ID or a list of alternatives). */
function pushPlain(out: Transform[], transformType: number, ids: OneOrMany<number> | undefined): void {
  if (ids === undefined) return;
  if (typeof ids === 'number') out.push({ transformType, transformId: ids, attributes: [] });
  else for (const transformId of ids) out.push({ transformType, transformId, attributes: [] });
}

function pushEncr(out: Transform[], spec: ProposalSpec): void {
  const encr = spec.encr;
  if (encr === undefined) return;
  for (const e of typeof encr === 'number' || !Array.isArray(encr) ? [encr as number | EncrChoice] : (encr as readonly (number | EncrChoice)[])) {
    const { id, keyLength } = typeof e === 'number' ? { id: e, keyLength: spec.keyLength } : e;
    out.push({ transformType: TransformType.ENCR, transformId: id, attributes: keyLength === undefined ? [] : [keyLengthAttr(keyLength)] });
  }
}

/**
 * Build a proposal; transforms come out ordered by transform type (stable within a type).
 * Called per negotiation: the fields are appended in transform type order, so only
 * `extra` transforms need a sort.
 */
export function buildProposal(spec: ProposalSpec): Proposal {
  const addke = spec.addke ?? [];
  if (addke.length > MAX_ADDKE_ROUNDS) {
    throw new GkmError('GKM_WIRE_ENCODE', { field: 'proposal.addke', detail: `${addke.length} rounds > ${MAX_ADDKE_ROUNDS}` });
  }
  const transforms: Transform[] = [];
  pushEncr(transforms, spec);
  pushPlain(transforms, TransformType.PRF, spec.prf);
  pushPlain(transforms, TransformType.INTEG, spec.integ);
  pushPlain(transforms, TransformType.KE, spec.ke);
  pushPlain(transforms, TransformType.SN, spec.sn);
  for (let i = 0; i < addke.length; i++) pushPlain(transforms, TransformType.ADDKE1 + i, addke[i]);
  pushPlain(transforms, TransformType.KWA, spec.kwa);
  pushPlain(transforms, TransformType.GCAUTH, spec.gcauth);
  if (spec.extra !== undefined && spec.extra.length > 0) {
    transforms.push(...spec.extra);
    transforms.sort((a, b) => a.transformType - b.transformType); // stable (ES2019)
  }
  return { number: spec.number ?? 1, protocolId: spec.protocolId, spi: spec.spi ?? NO_SPI, transforms };
}

const NO_SPI: Buffer = Buffer.alloc(0);

export function transformsOfType(p: Proposal, transformType: number): Transform[] {
  return p.transforms.filter((t) => t.transformType === transformType);
}

/**
 * The single transform of a type in a chosen proposal (RFC 7296 §3.3.6: a responder
 * returns exactly one per type), or undefined when the type is absent.
 */
export function chosenTransform(p: Proposal, transformType: number): Transform | undefined {
  const ts = transformsOfType(p, transformType);
  if (ts.length > 1) {
    throw new GkmError('GKM_WIRE_BAD_COUNT', { field: `proposal[${p.number}].transform(type ${transformType})`, detail: `${ts.length} transforms in a chosen proposal` });
  }
  return ts[0];
}

/** Key Length in bits, or undefined when the transform has none (RFC 7296 §3.3.5: TV only, at most once). */
export function keyLengthOf(t: Transform): number | undefined {
  // Runs for every transform compared in proposal matching: no allocation unless it throws.
  let found: Attribute | undefined;
  let count = 0;
  for (const a of t.attributes) {
    if (a.type !== TransformAttr.KEY_LENGTH) continue;
    found ??= a;
    count++;
  }
  if (found === undefined) return undefined;
  const field = (): string => `transform(type ${t.transformType}, id ${t.transformId}).keyLength`;
  if (count > 1) throw new GkmError('GKM_WIRE_BAD_COUNT', { field: field(), detail: `${count} Key Length attributes` });
  if (!found.tv) throw new GkmError('GKM_WIRE_BAD_VALUE', { field: field(), detail: 'Key Length must be a TV attribute' });
  return found.value;
}
