/**
 * Finds the fields worth mutating in a *valid* encoded message or payload chain: the IKE
 * header Length, every generic payload header (Next Payload, flags, Length), and inside the
 * payloads the proposal / transform / attribute / traffic selector / group substructure
 * lengths, counts (SPI Size, Num Transforms, Number of TSs, Num SPIs, Last Substruc) and type
 * octets, plus where each top-level payload starts. A lenient walker over raw bytes, independent of the decoders it helps to test: it
 * never throws and stops at the first inconsistency.
 */
import { IKE_HEADER_LENGTH } from '../../src/ikev2/registry/exchange.ts';
import { PayloadType } from '../../src/ikev2/registry/payload.ts';

export type FieldKind = 'length' | 'count' | 'type';

export interface WireField {
  readonly offset: number;
  readonly width: 1 | 2 | 4;
  readonly kind: FieldKind;
  /** For a length field: the bytes it counts, [start, end). Resizing inside must adjust it. */
  readonly span?: { readonly start: number; readonly end: number };
}

/** A generic payload of the top-level chain. */
export interface PayloadSpan {
  readonly type: number;
  readonly start: number;
  /** Offset of the octet naming this payload's type (previous Next Payload), or -1 for a chain's first. */
  readonly typeAt: number;
}

export interface WireLayout {
  readonly fields: WireField[];
  readonly payloads: PayloadSpan[];
}
const AF = 0x8000;

class Walker {
  readonly out: WireLayout = { fields: [], payloads: [] };

  constructor(private readonly buf: Buffer) {}

  has(at: number, n: number, end: number): boolean {
    return at >= 0 && at + n <= end && end <= this.buf.length;
  }
  u8(at: number): number {
    return this.buf[at] ?? 0;
  }
  u16(at: number): number {
    return this.buf.readUInt16BE(at);
  }
  add(offset: number, width: 1 | 2 | 4, kind: FieldKind): void {
    this.out.fields.push({ offset, width, kind });
  }
  /** A length field counting the bytes from `start` on (its value is the span's size plus a constant). */
  addLength(offset: number, width: 2 | 4, start: number, size: number): void {
    this.out.fields.push({ offset, width, kind: 'length', span: { start, end: start + size } });
  }

  /** Generic payloads from `at` to `end`; SK/SKF end the walk. */
  chain(at: number, end: number, first: number, firstTypeAt: number): void {
    let type = first;
    let typeAt = firstTypeAt;
    while (type !== PayloadType.NONE && this.has(at, 4, end)) {
      const len = this.u16(at + 2);
      this.out.payloads.push({ type, start: at, typeAt });
      this.add(at, 1, 'type');
      this.add(at + 1, 1, 'type');
      this.addLength(at + 2, 2, at, len);
      if (len < 4 || at + len > end) return;
      this.body(type, at + 4, at + len);
      if (type === PayloadType.SK || type === PayloadType.SKF) return;
      type = this.u8(at);
      typeAt = at;
      at += len;
    }
  }

  private body(type: number, s: number, e: number): void {
    switch (type) {
      case PayloadType.SA:
        return this.proposals(s, e);
      case PayloadType.TSi:
      case PayloadType.TSr:
        if (!this.has(s, 4, e)) return;
        this.add(s, 1, 'count');
        for (let at = s + 4; at < e; ) at = this.selector(at, e);
        return;
      case PayloadType.GSA:
      case PayloadType.KD:
        return this.groupSubstructures(type, s, e);
      case PayloadType.NOTIFY:
        if (!this.has(s, 4, e)) return;
        this.add(s, 1, 'type');
        this.add(s + 1, 1, 'count');
        this.add(s + 2, 2, 'type');
        return;
      case PayloadType.DELETE:
        if (!this.has(s, 4, e)) return;
        this.add(s + 1, 1, 'count');
        this.add(s + 2, 2, 'count');
        return;
      case PayloadType.CP:
        if (!this.has(s, 4, e)) return;
        this.add(s, 1, 'type');
        return this.tlvList(s + 4, e, false);
      case PayloadType.KE:
        if (this.has(s, 2, e)) this.add(s, 2, 'type');
        return;
      case PayloadType.SKF:
        if (!this.has(s, 4, e)) return;
        this.add(s, 2, 'count');
        this.add(s + 2, 2, 'count');
        return;
      case PayloadType.IDi:
      case PayloadType.IDr:
      case PayloadType.IDg:
      case PayloadType.AUTH:
      case PayloadType.CERT:
      case PayloadType.CERTREQ:
        if (this.has(s, 1, e)) this.add(s, 1, 'type');
        return;
      default:
        return;
    }
  }

  /** SA proposals: Last | RESERVED | Length | Num | Protocol | SPI Size | Num Transforms | SPI | transforms. */
  private proposals(at: number, end: number): void {
    while (this.has(at, 8, end)) {
      const len = this.u16(at + 2);
      this.add(at, 1, 'count');
      this.addLength(at + 2, 2, at, len);
      this.add(at + 4, 1, 'count');
      this.add(at + 5, 1, 'type');
      this.add(at + 6, 1, 'count');
      this.add(at + 7, 1, 'count');
      if (len < 8 || at + len > end) return;
      this.transforms(at + 8 + this.u8(at + 6), at + len);
      at += len;
    }
  }

  /** Transforms until one is marked last (0); returns where the next structure starts. */
  private transforms(at: number, end: number): number {
    while (this.has(at, 8, end)) {
      const len = this.u16(at + 2);
      this.add(at, 1, 'count');
      this.addLength(at + 2, 2, at, len);
      this.add(at + 4, 1, 'type');
      this.add(at + 6, 2, 'type');
      if (len < 8 || at + len > end) return end;
      this.tlvList(at + 8, at + len, true);
      const last = this.u8(at) === 0;
      at += len;
      if (last) return at;
    }
    return end;
  }

  /** Data attributes (with the AF/TV form when `af`) or CP attributes (always TLV). */
  private tlvList(at: number, end: number, af: boolean): void {
    while (this.has(at, 4, end)) {
      const head = this.u16(at);
      this.add(at, 2, 'type');
      if (af && head & AF) {
        at += 4;
        continue;
      }
      this.addLength(at + 2, 2, at + 4, this.u16(at + 2));
      at += 4 + this.u16(at + 2);
    }
  }

  /** One traffic selector; returns the offset after it (or `end`). */
  private selector(at: number, end: number): number {
    if (!this.has(at, 4, end)) return end;
    const len = this.u16(at + 2);
    this.add(at, 1, 'type');
    this.add(at + 1, 1, 'type');
    this.addLength(at + 2, 2, at, len);
    return len < 4 || at + len > end ? end : at + len;
  }

  /** GSA policies / KD key bags: Protocol | SPI Size | Length | SPI | ... */
  private groupSubstructures(type: number, at: number, end: number): void {
    while (this.has(at, 4, end)) {
      const len = this.u16(at + 2);
      const protocol = this.u8(at);
      this.add(at, 1, 'type');
      this.add(at + 1, 1, 'count');
      this.addLength(at + 2, 2, at, len);
      if (len < 4 || at + len > end) return;
      const stop = at + len;
      let x = at + 4 + (protocol === 0 ? 0 : this.u8(at + 1));
      if (type === PayloadType.GSA && protocol !== 0) {
        x = this.selector(x, stop);
        x = this.selector(x, stop);
        x = this.transforms(x, stop);
      }
      this.tlvList(x, stop, true);
      at = stop;
    }
  }
}

/** Layout of an encoded IKE message. */
export function messageLayout(msg: Buffer): WireLayout {
  const w = new Walker(msg);
  if (msg.length < IKE_HEADER_LENGTH) return w.out;
  w.add(16, 1, 'type');
  w.add(17, 1, 'type');
  w.addLength(24, 4, 0, msg.readUInt32BE(24));
  w.chain(IKE_HEADER_LENGTH, msg.length, msg[16]!, 16);
  return w.out;
}

/** Layout of an encoded payload chain whose first payload is `first`. */
export function chainLayout(chain: Buffer, first: number): WireLayout {
  const w = new Walker(chain);
  w.chain(0, chain.length, first, -1);
  return w.out;
}
