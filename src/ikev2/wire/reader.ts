/**
 * Cursor over an untrusted byte string. Every read is bounds-checked and names the
 * field it was reading; sub-readers are bounded windows, so a length field can never
 * make a decoder read (or allocate) past the datagram. Returned byte slices are views.
 *
 * Hot-path costs: a sub-reader is a window over the same Buffer (no slice is made until
 * someone asks for `bytesAll`), and paths and field names are only turned into strings
 * when an error needs them. A field is named `field`, or `field[index].part` when an
 * index is given (`proposal[0].last`), so decoders of repeated structures pass the pieces
 * instead of building the name per item.
 */
import { GkmError } from '../errors.ts';

/** `field`, `field[index]`, `field.part` or `field[index].part` (only built for error messages). */
function fieldName(field: string, index: number | undefined, part: string | undefined): string {
  const item = index === undefined ? field : `${field}[${index}]`;
  return part === undefined ? item : `${item}.${part}`;
}

/** What a zero-length read returns (a view of nothing: nobody can write into it). */
const EMPTY = Buffer.alloc(0);

export class Reader {
  private buf: Buffer;
  private pos = 0;
  private start = 0;
  private end_: number;
  /** Rendered path, or undefined until an error (or a caller) needs it. */
  private path_: string | undefined;
  /** Sub-readers: the reader they were cut from, their field name and index. */
  private parent: Reader | undefined;
  private label = '';
  private index: number | undefined;
  /** Path style `parent[index]label` (payload chains: `payloads[0]SA`) instead of `parent.label[index]`. */
  private chain = false;

  constructor(
    buf: Buffer,
    /** Path of the structure being decoded, used in error messages ("SA.proposal[0]"). */
    path = 'message',
  ) {
    this.buf = buf;
    this.end_ = buf.length;
    this.path_ = path;
  }

  /** A window [at, at + n) of this reader's buffer, named lazily after this reader. */
  private window(at: number, n: number, label: string, index: number | undefined, chain: boolean): Reader {
    const r = new Reader(this.buf);
    r.pos = at;
    r.start = at;
    r.end_ = at + n;
    r.path_ = undefined;
    r.parent = this;
    r.label = label;
    r.index = index;
    r.chain = chain;
    return r;
  }

  /** Path of the structure being decoded, used in error messages ("SA.proposal[0]"). */
  get path(): string {
    if (this.path_ !== undefined) return this.path_;
    const base = this.parent!.path;
    this.path_ = this.chain
        ? `${base}[${this.index}]${this.label}`
        : `${base}.${fieldName(this.label, this.index, undefined)}`;
    return this.path_;
  }

  /** Position relative to the start of this reader's window. */
  get offset(): number {
    return this.pos - this.start;
  }
  get remaining(): number {
    return this.end_ - this.pos;
  }
  get length(): number {
    return this.end_ - this.start;
  }
  /** The whole underlying window, regardless of position (a view). */
  get bytesAll(): Buffer {
    return this.start === 0 && this.end_ === this.buf.length ? this.buf : this.buf.subarray(this.start, this.end_);
  }

  private need(n: number, field: string, index?: number, part?: string): void {
    if (n > this.end_ - this.pos) {
      throw new GkmError('GKM_WIRE_TRUNCATED', {
        field: `${this.path}.${fieldName(field, index, part)}`,
        detail: `need ${n} byte(s) at offset ${this.offset}, ${this.remaining} left`,
      });
    }
  }

  u8(field: string, index?: number, part?: string): number {
    if (this.pos >= this.end_) this.need(1, field, index, part);
    return this.buf[this.pos++]!;
  }
  u16(field: string, index?: number, part?: string): number {
    if (this.pos + 2 > this.end_) this.need(2, field, index, part);
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }
  u32(field: string, index?: number, part?: string): number {
    if (this.pos + 4 > this.end_) this.need(4, field, index, part);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  peekU8(field: string, index?: number, part?: string): number {
    if (this.pos >= this.end_) this.need(1, field, index, part);
    return this.buf[this.pos]!;
  }
  private advance(n: number, field: string, index?: number, part?: string): number {
    if (!Number.isInteger(n) || n < 0) {
      throw new GkmError('GKM_WIRE_BAD_LENGTH', { field: `${this.path}.${fieldName(field, index, part)}`, detail: `length ${n}` });
    }
    if (n > this.end_ - this.pos) this.need(n, field, index, part);
    const at = this.pos;
    this.pos += n;
    return at;
  }
  /** n bytes as a view into the input. */
  bytes(n: number, field: string, index?: number, part?: string): Buffer {
    const at = this.advance(n, field, index, part);
    return n === 0 ? EMPTY : this.buf.subarray(at, at + n);
  }
  /** Everything that is left, as a view. */
  rest(): Buffer {
    const at = this.pos;
    this.pos = this.end_;
    return at === 0 && this.end_ === this.buf.length ? this.buf : this.buf.subarray(at, this.end_);
  }
  skip(n: number, field: string, index?: number, part?: string): void {
    this.advance(n, field, index, part);
  }
  /** Consume n bytes and return a reader bounded to them (path `<this path>.<field>` unless given). */
  sub(n: number, field: string, path?: string): Reader {
    const at = this.advance(n, field);
    const r = this.window(at, n, field, undefined, false);
    if (path !== undefined) r.path_ = path;
    return r;
  }
  /** `sub` for the index-th of repeated structures: path `<this path>.<field>[<index>]`. */
  item(n: number, field: string, index: number): Reader {
    const at = this.advance(n, field, index);
    return this.window(at, n, field, index, false);
  }
  /** `sub` for the index-th payload of a chain: path `<this path>[<index>]<name>`. */
  chainItem(n: number, name: string, index: number): Reader {
    const at = this.pos;
    if (n > this.end_ - at) this.need(n, `[${index}]${name}.body`);
    this.pos += n;
    return this.window(at, n, name, index, true);
  }
  /** Refuse trailing bytes: call when a structure must be fully consumed. */
  end(what = 'end'): void {
    if (this.pos !== this.end_) {
      throw new GkmError('GKM_WIRE_TRAILING_BYTES', {
        field: `${this.path}.${what}`,
        detail: `${this.remaining} unexpected byte(s) at offset ${this.offset}`,
      });
    }
  }
  /** Fail with a typed error about a field of this structure. */
  fail(code: 'GKM_WIRE_BAD_LENGTH' | 'GKM_WIRE_BAD_COUNT' | 'GKM_WIRE_BAD_VALUE' | 'GKM_WIRE_TOO_LARGE', field: string, detail?: string): never {
    throw new GkmError(code, detail === undefined ? { field: `${this.path}.${field}` } : { field: `${this.path}.${field}`, detail });
  }
}
