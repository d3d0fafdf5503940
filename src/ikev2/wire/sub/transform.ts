/**
 * Transform substructure (RFC 7296 §3.3.2), shared by SA proposals and G-IKEv2 GSA
 * policies (RFC 9838 §4.4.2): `Last(1) | RESERVED(1) | Length(2) | Type(1) | RESERVED(1) | ID(2) | Attributes`.
 * Last Substruc is 3 on every transform but the final one, which has 0.
 */
import { decodeAttributes, encodeAttributes, type Attribute } from '../attributes.ts';
import type { Reader } from '../reader.ts';
import type { Writer } from '../writer.ts';

export interface Transform {
  readonly transformType: number;
  readonly transformId: number;
  readonly attributes: readonly Attribute[];
}

const MORE = 3;
const LAST = 0;
const TRANSFORM_HEADER = 8;

function decodeTransform(r: Reader, field: string, index: number): { t: Transform; last: boolean } {
  const lastFlag = r.u8(field, index, 'last');
  if (lastFlag !== MORE && lastFlag !== LAST) r.fail('GKM_WIRE_BAD_VALUE', `${field}[${index}].last`, `${lastFlag}`);
  r.skip(1, field, index, 'reserved');
  const length = r.u16(field, index, 'length');
  if (length < TRANSFORM_HEADER) r.fail('GKM_WIRE_BAD_LENGTH', `${field}[${index}].length`, `${length} < ${TRANSFORM_HEADER}`);
  const body = r.item(length - 4, field, index);
  const transformType = body.u8('type');
  body.skip(1, 'reserved');
  const transformId = body.u16('id');
  const attributes = decodeAttributes(body);
  return { t: { transformType, transformId, attributes }, last: lastFlag === LAST };
}

/**
 * Decode transforms until one is marked last. With `count` (a proposal's Num Transforms)
 * the marks must agree with the count exactly.
 */
export function decodeTransforms(r: Reader, field: string, count?: number): Transform[] {
  const out: Transform[] = [];
  if (count === 0) return out;
  for (;;) {
    const { t, last } = decodeTransform(r, field, out.length);
    out.push(t);
    if (count !== undefined && (last ? out.length !== count : out.length === count)) {
      r.fail('GKM_WIRE_BAD_COUNT', `${field}.count`, `Num Transforms ${count} disagrees with Last Substruc marks`);
    }
    if (last) return out;
  }
}

export function encodeTransforms(w: Writer, transforms: readonly Transform[]): void {
  for (let i = 0; i < transforms.length; i++) {
    const t = transforms[i]!;
    const start = w.length;
    w.u8(i === transforms.length - 1 ? LAST : MORE).u8(0);
    const lenAt = w.reserveU16();
    w.u8(t.transformType, 'transform.type').u8(0).u16(t.transformId, 'transform.id');
    encodeAttributes(w, t.attributes);
    w.patchU16(lenAt, w.length - start, 'transform.length');
  }
}
