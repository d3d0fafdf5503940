/**
 * Data attributes (RFC 7296 §3.3.5), also used by G-IKEv2 GSA, GW-policy and key-bag
 * attributes (RFC 9838 §4.4.2.2, §4.4.3.1, §4.5): `AF(1 bit) | Type(15)` then either a
 * 2-byte value (TV, AF=1) or a 2-byte length and that many bytes (TLV, AF=0).
 */
import type { Reader } from './reader.ts';
import type { Writer } from './writer.ts';

export type Attribute =
  | { readonly type: number; readonly tv: true; readonly value: number }
  | { readonly type: number; readonly tv: false; readonly data: Buffer };

const AF = 0x8000;

/** One attribute, named `field` (or `field[index]` in errors). */
export function decodeAttribute(r: Reader, field = 'attribute', index?: number): Attribute {
  const head = r.u16(field, index, 'type');
  const type = head & 0x7fff;
  if (head & AF) return { type, tv: true, value: r.u16(field, index, 'value') };
  const len = r.u16(field, index, 'length');
  return { type, tv: false, data: r.bytes(len, field, index, 'value') };
}

/** Decode attributes until the reader is exhausted. */
export function decodeAttributes(r: Reader, field = 'attribute'): Attribute[] {
  const out: Attribute[] = [];
  while (r.remaining > 0) out.push(decodeAttribute(r, field, out.length));
  return out;
}

export function encodeAttribute(w: Writer, a: Attribute): void {
  if (a.type > 0x7fff || a.type < 0) w.u16(-1, 'attribute.type'); // raises GKM_WIRE_ENCODE
  if (a.tv) {
    w.u16(AF | a.type).u16(a.value, 'attribute.value');
  } else {
    w.u16(a.type).u16(a.data.length, 'attribute.length').bytes(a.data);
  }
}

export function encodeAttributes(w: Writer, attrs: readonly Attribute[]): void {
  for (const a of attrs) encodeAttribute(w, a);
}

export const tvAttr = (type: number, value: number): Attribute => ({ type, tv: true, value });
export const tlvAttr = (type: number, data: Buffer): Attribute => ({ type, tv: false, data });

export function u32Data(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
}
