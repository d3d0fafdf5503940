/**
 * Inbound ESP (RFC 4303 §3.4). Order: length/alignment checks, sequence number (ESN
 * inference), replay pre-check, ICV + decryption, window update, trailer checks.
 */
import { GkmError } from '../../ikev2/errors.ts';
import { SnId } from '../../ikev2/registry/transform.ts';
import { createReplayWindow, PerSenderReplay, type ReplayOptions, type ReplayWindow } from '../replay.ts';
import { ESP_HEADER_LENGTH, type EspCipher } from './cipher.ts';
import { inferSeqHi, MAX_SEQ64, seq64 } from './esn.ts';
import { senderIdFromIv } from './iv.ts';
import { resolveParams, type EspSaParams, type SnValue } from './params.ts';
import { checkTrailer, NH_DUMMY } from './trailer.ts';

export interface EspReceiverOptions extends EspSaParams {
  /** Anti-replay window; size 0 turns the check off (RFC 4303 §3.4.3). Default size 64. */
  readonly replay?: ReplayOptions;
  /**
   * Multi-sender group SAs: keep one window per Sender-ID (RFC 9838 §2.6). With SN value 2
   * and no per-sender state there is no replay check at all.
   */
  readonly perSenderReplay?: boolean;
  readonly maxSenders?: number;
}

export interface EspPayload {
  readonly nextHeader: number;
  /** Decrypted payload (TFC padding included, if any). */
  readonly payload: Buffer;
  /** 64-bit sequence number (ESN) or the 32-bit one. */
  readonly seq: number;
  /** Sender-ID from the IV, or -1. */
  readonly senderId: number;
}

const malformed = (detail: string): GkmError => new GkmError('GKM_ESP_MALFORMED', { field: 'esp', detail });
const replayed = (seq: number): GkmError => new GkmError('GKM_ESP_REPLAY', { field: 'esp.seq', detail: String(seq) });

export class EspReceiver {
  readonly spi: number;
  readonly sn: SnValue;
  /** The SA's window (null: no check); for ESN it also drives SeqHi inference. */
  readonly window: ReplayWindow | null;
  readonly perSender: PerSenderReplay | null;
  private readonly checkReplay: boolean;
  private readonly cipher: EspCipher;
  private readonly senderIdBits: number;
  private readonly overhead: number;
  private readonly align: number;

  constructor(opts: EspReceiverOptions) {
    const p = resolveParams(opts);
    this.spi = p.spi;
    this.sn = p.sn;
    this.cipher = p.cipher;
    this.senderIdBits = p.senderIdBits;
    this.overhead = ESP_HEADER_LENGTH + p.cipher.suite.ivLength + p.cipher.suite.icvLength;
    this.align = p.cipher.suite.align;
    const replay = opts.replay ?? { size: 64 };
    if (opts.perSenderReplay) {
      if (p.senderIdBits === 0) {
        throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'perSenderReplay', detail: 'needs senderIdBits' });
      }
      this.perSender = new PerSenderReplay(replay.size > 0 ? replay : { size: 64 }, opts.maxSenders);
      this.window = null;
      this.checkReplay = true;
    } else {
      this.perSender = null;
      const wanted = replay.size > 0 && p.sn !== SnId.UNSPECIFIED32;
      // ESN needs a window to infer SeqHi even when the check itself is off.
      this.window =
        wanted || p.sn === SnId.ESN64 ? createReplayWindow(replay.size > 0 ? replay : { size: 64 }) : null;
      this.checkReplay = wanted;
    }
  }

  /**
   * Processes one ESP packet (SPI at offset 0). Returns the payload, or null for a dummy
   * packet (silently discarded). Throws GkmError only.
   */
  decapsulate(pkt: Buffer): EspPayload | null {
    const ctLength = pkt.length - this.overhead;
    if (ctLength < 2) throw malformed(`${pkt.length} byte(s) is too short`);
    if (ctLength % this.align !== 0) throw malformed(`ciphertext of ${ctLength} not aligned to ${this.align}`);
    if (pkt.readUInt32BE(0) !== this.spi) throw new GkmError('GKM_ESP_NO_SA', { field: 'esp.spi' });
    const seqLo = pkt.readUInt32BE(4);
    let seq = seqLo;
    let seqHi = -1;
    if (this.sn === SnId.ESN64) {
      const w = this.window!;
      seqHi = inferSeqHi(seqLo, w.top, w.size);
      if (seqHi < 0) throw replayed(seqLo);
      seq = seq64(seqHi, seqLo);
      if (seq > MAX_SEQ64) throw new GkmError('GKM_ESP_SEQ_EXHAUSTED', { field: 'esp.seq' });
    }
    const senderId = this.senderIdBits === 0 ? -1 : senderIdFromIv(pkt, ESP_HEADER_LENGTH, this.senderIdBits);
    if (this.perSender !== null) {
      if (!this.perSender.check(senderId, seq)) throw replayed(seq);
    } else if (this.checkReplay && !this.window!.check(seq)) {
      throw replayed(seq);
    }
    const pt = this.cipher.open(pkt, seqHi);
    if (this.perSender !== null) this.perSender.update(senderId, seq);
    else this.window?.update(seq);
    const payloadLength = checkTrailer(pt);
    const nextHeader = pt[pt.length - 1]!;
    if (nextHeader === NH_DUMMY) return null;
    return { nextHeader, payload: pt.subarray(0, payloadLength), seq, senderId };
  }
}
