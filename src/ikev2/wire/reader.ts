/**
 * Cursor over an untrusted byte string. Every read is bounds-checked and names the
 * field it was reading; sub-readers are bounded windows, so a length field can never
 * make a decoder read (or allocate) past the datagram. Returned byte slices are views.
 */
import { GkmError } from '../errors.ts';

export class Reader {
  private pos = 0;

  constructor(
    private readonly buf: Buffer,
    /** Path of the structure being decoded, used in error messages ("SA.proposal[0]"). */
    readonly path: string = 'message',
  ) {}

  get offset(): number {
    return this.pos;
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  get length(): number {
    return this.buf.length;
  }
  /** The whole underlying window, regardless of position. */
  get bytesAll(): Buffer {
    return this.buf;
  }

  private need(n: number, field: string): void {
    if (n > this.buf.length - this.pos) {
      throw new GkmError('GKM_WIRE_TRUNCATED', {
        field: `${this.path}.${field}`,
        detail: `need ${n} byte(s) at offset ${this.pos}, ${this.remaining} left`,
      });
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++]!;
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  peekU8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos]!;
  }
  /** n bytes as a view into the input. */
  bytes(n: number, field: string): Buffer {
    if (!Number.isInteger(n) || n < 0) {
      throw new GkmError('GKM_WIRE_BAD_LENGTH', { field: `${this.path}.${field}`, detail: `length ${n}` });
    }
    this.need(n, field);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** Everything that is left, as a view. */
  rest(): Buffer {
    const v = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return v;
  }
  skip(n: number, field: string): void {
    this.bytes(n, field);
  }
  /** Consume n bytes and return a reader bounded to them. */
  sub(n: number, field: string, path = `${this.path}.${field}`): Reader {
    return new Reader(this.bytes(n, field), path);
  }
  /** Refuse trailing bytes: call when a structure must be fully consumed. */
  end(what = 'end'): void {
    if (this.pos !== this.buf.length) {
      throw new GkmError('GKM_WIRE_TRAILING_BYTES', {
        field: `${this.path}.${what}`,
        detail: `${this.remaining} unexpected byte(s) at offset ${this.pos}`,
      });
    }
  }
  /** Fail with a typed error about a field of this structure. */
  fail(code: 'GKM_WIRE_BAD_LENGTH' | 'GKM_WIRE_BAD_COUNT' | 'GKM_WIRE_BAD_VALUE' | 'GKM_WIRE_TOO_LARGE', field: string, detail?: string): never {
    throw new GkmError(code, detail === undefined ? { field: `${this.path}.${field}` } : { field: `${this.path}.${field}`, detail });
  }
}
