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

const many = <T>(v: OneOrMany<T> | undefined): readonly T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v as T]);

/** The Key Length transform attribute (RFC 7296 §3.3.5): always TV, in bits. */
export const keyLengthAttr = (bits: number): Attribute => tvAttr(TransformAttr.KEY_LENGTH, bits);

const plain = (transformType: number, ids: OneOrMany<number> | undefined): Transform[] =>
  many(ids).map((transformId) => ({ transformType, transformId, attributes: [] }));

/** Build a proposal; transforms come out ordered by transform type (stable within a type). */
export function buildProposal(spec: ProposalSpec): Proposal {
  const addke = spec.addke ?? [];
  if (addke.length > MAX_ADDKE_ROUNDS) {
    throw new GkmError('GKM_WIRE_ENCODE', { field: 'proposal.addke', detail: `${addke.length} rounds > ${MAX_ADDKE_ROUNDS}` });
  }
  const encr = many(spec.encr).map((e): Transform => {
    const { id, keyLength } = typeof e === 'number' ? { id: e, keyLength: spec.keyLength } : e;
    return { transformType: TransformType.ENCR, transformId: id, attributes: keyLength === undefined ? [] : [keyLengthAttr(keyLength)] };
  });
  const transforms = [
    ...encr,
    ...plain(TransformType.PRF, spec.prf),
    ...plain(TransformType.INTEG, spec.integ),
    ...plain(TransformType.KE, spec.ke),
    ...plain(TransformType.SN, spec.sn),
    ...addke.flatMap((ids, i) => plain(TransformType.ADDKE1 + i, ids)),
    ...plain(TransformType.KWA, spec.kwa),
    ...plain(TransformType.GCAUTH, spec.gcauth),
    ...(spec.extra ?? []),
  ].sort((a, b) => a.transformType - b.transformType);
  return { number: spec.number ?? 1, protocolId: spec.protocolId, spi: spec.spi ?? Buffer.alloc(0), transforms };
}

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
  const attrs = t.attributes.filter((a) => a.type === TransformAttr.KEY_LENGTH);
  const field = `transform(type ${t.transformType}, id ${t.transformId}).keyLength`;
  if (attrs.length > 1) throw new GkmError('GKM_WIRE_BAD_COUNT', { field, detail: `${attrs.length} Key Length attributes` });
  const a = attrs[0];
  if (a === undefined) return undefined;
  if (!a.tv) throw new GkmError('GKM_WIRE_BAD_VALUE', { field, detail: 'Key Length must be a TV attribute' });
  return a.value;
}
