/**
 * Growable big-endian byte writer with length back-patching. Values out of range for
 * their field raise GKM_WIRE_ENCODE instead of being silently truncated.
 */
import { GkmError } from '../errors.ts';

export class Writer {
  private buf: Buffer;
  private pos = 0;
  private finished = false;

  constructor(initialCapacity = 256) {
    this.buf = Buffer.allocUnsafe(initialCapacity);
  }

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length && !this.finished) return;
    if (this.finished) throw new GkmError('GKM_WIRE_ENCODE', { field: 'writer', detail: 'written after finish()' });
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private check(v: number, max: number, field: string): void {
    if (!Number.isInteger(v) || v < 0 || v > max) {
      throw new GkmError('GKM_WIRE_ENCODE', { field, detail: `value ${v} out of range 0..${max}` });
    }
  }

  u8(v: number, field = 'u8'): this {
    this.check(v, 0xff, field);
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }
  u16(v: number, field = 'u16'): this {
    this.check(v, 0xffff, field);
    this.ensure(2);
    this.buf[this.pos] = v >>> 8;
    this.buf[this.pos + 1] = v & 0xff;
    this.pos += 2;
    return this;
  }
  u32(v: number, field = 'u32'): this {
    this.check(v, 0xffffffff, field);
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  zeros(n: number): this {
    this.ensure(n);
    for (let i = 0; i < n; i++) this.buf[this.pos + i] = 0; // short runs (RESERVED octets): no fill() call
    this.pos += n;
    return this;
  }

  /** Reserve a 16-bit length field; returns its offset for patchU16(). */
  reserveU16(): number {
    const at = this.pos;
    this.u16(0);
    return at;
  }
  patchU16(at: number, v: number, field = 'length'): void {
    this.check(v, 0xffff, field);
    this.buf[at] = v >>> 8;
    this.buf[at + 1] = v & 0xff;
  }
  reserveU32(): number {
    const at = this.pos;
    this.u32(0);
    return at;
  }
  patchU32(at: number, v: number, field = 'length'): void {
    this.check(v, 0xffffffff, field);
    this.buf.writeUInt32BE(v, at);
  }
  patchU8(at: number, v: number, field = 'u8'): void {
    this.check(v, 0xff, field);
    this.buf[at] = v;
  }

  /**
   * Write a structure whose 16-bit length field sits `lengthOffset` bytes after the
   * structure's start and covers the whole structure (the usual IKEv2 layout).
   */
  withLength16(lengthOffset: number, body: () => void, field = 'length'): void {
    const start = this.pos;
    body();
    this.patchU16(start + lengthOffset, this.pos - start, field);
  }

  /**
   * The written bytes: a view of the writer's buffer, not a copy (one allocation and copy
   * less per message); the writer refuses further writes. Patching after finish() is a bug.
   */
  finish(): Buffer {
    this.finished = true;
    return this.buf.subarray(0, this.pos);
  }
}

/** Encode with a fresh writer. */
export function encodeWith(fn: (w: Writer) => void, initialCapacity?: number): Buffer {
  const w = new Writer(initialCapacity);
  fn(w);
  return w.finish();
}
