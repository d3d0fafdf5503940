/**
 * Just enough DER (ITU-T X.690 §10) to build AlgorithmIdentifiers and to split a
 * SubjectPublicKeyInfo: definite lengths only, single-byte tags only.
 */

/** Encodes a definite length (X.690 §8.1.3): short form below 128, long form above. */
function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.of(tag), encodeLength(body.length), body]);
}

export const sequence = (...content: Buffer[]): Buffer => tlv(0x30, ...content);
export const derNull = (): Buffer => Buffer.of(0x05, 0x00);
/** Constructed context-specific tag [n] (EXPLICIT tagging, as in RFC 4055's RSASSA-PSS-params). */
export const explicitTag = (n: number, inner: Buffer): Buffer => tlv(0xa0 | n, inner);

/** Non-negative INTEGER (X.690 §8.3), minimal encoding. */
export function integer(value: number): Buffer {
  const bytes: number[] = [];
  for (let v = value; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  if (bytes.length === 0 || (bytes[0]! & 0x80) !== 0) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

/** OBJECT IDENTIFIER from dotted notation (X.690 §8.19): base-128 arcs, first two merged. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const [first = 0, second = 0, ...rest] = arcs;
  const out: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const groups = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) groups.unshift(0x80 | (v & 0x7f));
    out.push(...groups);
  }
  return tlv(0x06, Buffer.from(out));
}

export interface DerElement {
  readonly tag: number;
  /** Offset of the first content octet. */
  readonly contentStart: number;
  /** Offset just past the element. */
  readonly end: number;
}

/**
 * Reads one TLV at `offset`, or returns null if it is not well-formed DER within `buf`
 * (indefinite or non-minimal length, multi-byte tag, overrun).
 */
export function readElement(buf: Buffer, offset: number): DerElement | null {
  if (offset + 2 > buf.length) return null;
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) return null;
  let lengthByte = buf[offset + 1]!;
  let pos = offset + 2;
  let length = lengthByte;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    if (count === 0 || count > 3 || pos + count > buf.length) return null;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[pos + i]!;
    lengthByte = buf[pos]!;
    if (length < 0x80 || lengthByte === 0) return null; // not minimal
    pos += count;
  }
  const end = pos + length;
  return end > buf.length ? null : { tag, contentStart: pos, end };
}
