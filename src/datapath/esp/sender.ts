/** Outbound ESP (RFC 4303 §3.3): sequence numbers, IVs, padding, TFC padding, dummies. */
import { GkmError } from '../../ikev2/errors.ts';
import { SnId } from '../../ikev2/registry/transform.ts';
import { ESP_HEADER_LENGTH, type EspCipher } from './cipher.ts';
import { MAX_SEQ64 } from './esn.ts';
import { CounterIv, SequenceIv, type IvGenerator } from './iv.ts';
import { resolveParams, type EspSaParams, type SnValue } from './params.ts';
import { NH_DUMMY, padLength, writeTrailer } from './trailer.ts';

export interface EspSenderOptions extends EspSaParams {
  /** This sender's Sender-ID (required with senderIdBits). */
  readonly senderId?: number;
  /** First sequence number to send (default 1, RFC 4303 §3.3.3). */
  readonly seqStart?: number;
  /** First IV counter value for Sender-ID / counter IVs (default 1). */
  readonly ivStart?: bigint;
  /** TFC padding (RFC 4303 §2.7): pad every payload up to this length. Tunnel/BEET-safe only. */
  readonly tfcPadTo?: number;
  /** Overrides the IV construction (tests, providers with their own IV policy). */
  readonly iv?: IvGenerator;
}

const ZEROS = Buffer.alloc(65536);
const TWO32 = 0x1_0000_0000;

export class EspSender {
  readonly spi: number;
  readonly sn: SnValue;
  private readonly cipher: EspCipher;
  private readonly iv: IvGenerator | null;
  private readonly ivLength: number;
  private readonly icvLength: number;
  private readonly align: number;
  private readonly tfcPadTo: number;
  /** Last sequence number used (64-bit for ESN). */
  private seq: number;

  constructor(opts: EspSenderOptions) {
    const p = resolveParams(opts);
    const suite = p.cipher.suite;
    this.spi = p.spi;
    this.sn = p.sn;
    this.cipher = p.cipher;
    this.ivLength = suite.ivLength;
    this.icvLength = suite.icvLength;
    this.align = suite.align;
    this.tfcPadTo = opts.tfcPadTo ?? 0;
    if (!Number.isInteger(this.tfcPadTo) || this.tfcPadTo < 0 || this.tfcPadTo > 65000) {
      throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'tfcPadTo', detail: String(opts.tfcPadTo) });
    }
    if (p.senderIdBits !== 0 && opts.senderId === undefined && opts.iv === undefined) {
      throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'senderId', detail: 'required with senderIdBits' });
    }
    this.iv = !suite.counterIv
      ? null
      : (opts.iv ??
        (p.senderIdBits !== 0 || p.sn === SnId.UNSPECIFIED32
          ? new CounterIv(p.senderIdBits, opts.senderId ?? 0, opts.ivStart)
          : new SequenceIv()));
    this.seq = 0;
    this.setNextSeq(opts.seqStart ?? 1);
  }

  /** Next sequence number that will be sent (sequence-number sync, RFC 6311). */
  get nextSeq(): number {
    return this.seq + 1;
  }

  setNextSeq(next: number): void {
    const max = this.sn === SnId.ESN64 ? MAX_SEQ64 : 0xffff_ffff;
    if (!Number.isInteger(next) || next < 1 || next > max) {
      throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'seqStart', detail: String(next) });
    }
    this.seq = next - 1;
  }

  private advance(): number {
    const s = this.seq;
    if (this.sn === SnId.UNSPECIFIED32) {
      // 32-bit Unspecified: the number is not used for replay, it may wrap (skipping 0).
      this.seq = s === 0xffff_ffff ? 1 : s + 1;
      return this.seq;
    }
    // RFC 4303 §3.3.3: never cycle; the SA must be rekeyed first.
    if (s >= (this.sn === SnId.ESN64 ? MAX_SEQ64 : 0xffff_ffff)) {
      throw new GkmError('GKM_ESP_SEQ_EXHAUSTED', { field: 'esp.seq', detail: `SPI ${this.spi}` });
    }
    this.seq = s + 1;
    return this.seq;
  }

  /** Wire length of a packet carrying `payloadLength` bytes (before headroom). */
  packetLength(payloadLength: number): number {
    const body = Math.max(payloadLength, this.tfcPadTo) + 2;
    return ESP_HEADER_LENGTH + this.ivLength + body + padLength(body, this.align) + this.icvLength;
  }

  /**
   * Builds one ESP packet. Returns a fresh buffer with `headroom` bytes (for an outer
   * header) in front of the SPI.
   */
  encapsulate(payload: Buffer, nextHeader: number, headroom = 0): Buffer {
    const seq = this.advance();
    const tfc = this.tfcPadTo > payload.length ? this.tfcPadTo - payload.length : 0;
    const body = payload.length + tfc + 2;
    const ptStart = ESP_HEADER_LENGTH + this.ivLength;
    const ptEnd = ptStart + body + padLength(body, this.align);
    const buf = Buffer.allocUnsafe(headroom + ptEnd + this.icvLength);
    const pkt = headroom === 0 ? buf : buf.subarray(headroom);
    pkt.writeUInt32BE(this.spi, 0);
    pkt.writeUInt32BE(seq >>> 0, 4);
    this.iv?.next(pkt, ESP_HEADER_LENGTH, seq);
    payload.copy(pkt, ptStart);
    if (tfc > 0) ZEROS.copy(pkt, ptStart + payload.length, 0, tfc);
    writeTrailer(pkt, ptStart + payload.length + tfc, ptEnd - ptStart - body, nextHeader);
    this.cipher.seal(pkt, ptEnd, this.sn === SnId.ESN64 ? Math.floor(seq / TWO32) : -1);
    return buf;
  }

  /** A dummy packet (Next Header 59, RFC 4303 §2.6) with `length` payload bytes. */
  dummy(length: number, headroom = 0): Buffer {
    if (!Number.isInteger(length) || length < 0 || length > ZEROS.length) {
      throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'dummy.length', detail: String(length) });
    }
    return this.encapsulate(ZEROS.subarray(0, length), NH_DUMMY, headroom);
  }
}
