/**
 * Inbound ESP through the native addon (RFC 4303 §3.4). One native call verifies and decrypts
 * a burst; anti-replay stays in TypeScript, on the very windows of the userspace receiver
 * (an EspReceiver), in three passes that give the same verdicts as packet-at-a-time:
 *
 *  1. per packet: length/alignment, SPI, ESN SeqHi inference, replay pre-check against the
 *     window as it stands at the start of the burst (rejects never become accepts later: the
 *     window only moves up, RFC 4303 A.2 / RFC 6479);
 *  2. one native call for the survivors;
 *  3. per packet, in order: the replay check again (it comes before the ICV verdict), then the
 *     window update if the ICV verified. An ESN packet whose SeqHi, inferred again at its turn,
 *     differs from pass 1 is redone alone.
 */
import { SnId } from '../../../ikev2/registry/transform.ts';
import type { PerSenderReplay, ReplayWindow } from '../../replay.ts';
import { ESP_HEADER_LENGTH } from '../../esp/cipher.ts';
import { inferSeqHi, MAX_SEQ64, seq64 } from '../../esp/esn.ts';
import { senderIdFromIv } from '../../esp/iv.ts';
import { resolveParams, type SnValue } from '../../esp/params.ts';
import { EspReceiver, type EspReceiverOptions } from '../../esp/receiver.ts';
import type { EspSuite } from '../../esp/suite.ts';
import { loadNativeAddon, type BurstInput, type NativeAddon, type NativeSaHandle } from './addon.ts';
import { nativeParams, nativeSuite, isSlab } from './sender.ts';
import { NativeStatus as S, verified } from './status.ts';

/** Per-packet results of the last decapBurst; valid until the next call. */
export interface DecapResults {
  /** Three slots per packet: [NativeStatus, payload length, next header]. */
  readonly res: Int32Array;
  /** 64-bit (ESN) or 32-bit sequence number. */
  readonly seq: Float64Array;
  /** Sender-ID from the IV, or -1. */
  readonly senderId: Int32Array;
}

export class NativeReceiver {
  readonly spi: number;
  readonly sn: SnValue;
  readonly suite: EspSuite;
  readonly window: ReplayWindow | null;
  readonly perSender: PerSenderReplay | null;
  private readonly handle: NativeSaHandle;
  private readonly esn: boolean;
  private readonly checkReplay: boolean;
  private readonly senderIdBits: number;
  private readonly overhead: number;
  private res = new Int32Array(96);
  /** Pass-1 verdict per packet (res[3i] is overwritten by the addon). */
  private pre = new Int32Array(32);
  private seq = new Float64Array(32);
  private senderId = new Int32Array(32);
  private seqLo = new Uint32Array(32);
  private seqHi = new Uint32Array(32);
  /** SeqHi used in pass 1, or -1 (ESN only). */
  private usedHi = new Int32Array(32);

  /** `replay`: the receiver whose windows to use (the userspace provider's), or a new one. */
  constructor(
    opts: EspReceiverOptions,
    private readonly addon: NativeAddon = loadNativeAddon(),
    replay: EspReceiver = new EspReceiver(opts),
  ) {
    const p = resolveParams(opts);
    this.suite = nativeSuite(p.cipher.suite);
    this.spi = p.spi;
    this.sn = p.sn;
    this.esn = p.sn === SnId.ESN64;
    this.senderIdBits = p.senderIdBits;
    this.window = replay.window;
    this.perSender = replay.perSender;
    // As EspReceiver: ESN keeps a window for SeqHi inference even when the check is off.
    this.checkReplay = this.perSender !== null || (this.esn ? (opts.replay?.size ?? 64) > 0 : this.window !== null);
    this.overhead = ESP_HEADER_LENGTH + this.suite.ivLength + this.suite.icvLength;
    const params = nativeParams(p.spi, p.sn, this.suite, { counter: false, senderIdBits: 0, senderId: 0, tfcPadTo: 0 });
    this.handle = addon.createSa(this.suite.cipher, opts.keys.encr, params, false);
  }

  /** Back-to-back plaintext offsets for `count` packets from `base`; returns the bytes needed. */
  layout(input: BurstInput, count: number, outOff: Uint32Array, base = 0): number {
    let at = base;
    for (let i = 0; i < count; i++) {
      outOff[i] = at;
      at += Math.max(0, (isSlab(input) ? input.lengths[i]! : input[i]!.length) - this.overhead);
    }
    return at - base;
  }

  /** Verifies, decrypts and replay-checks `count` packets; plaintext i at out[outOff[i]..). */
  decapBurst(input: BurstInput, count: number, out: Uint8Array, outOff: Uint32Array): DecapResults {
    this.reserve(count);
    const res = this.res;
    for (let i = 0; i < count; i++) {
      const s = this.prepare(input, i);
      this.pre[i] = s;
      res[3 * i] = s; // nonzero: the addon skips it
    }
    this.native(input, count, out, outOff, 0);
    for (let i = 0; i < count; i++) this.finish(input, i, out, outOff);
    return { res, seq: this.seq, senderId: this.senderId };
  }

  /** Pass 1 for packet i: returns OK or the status that rejects it. */
  private prepare(input: BurstInput, i: number): number {
    const slab = isSlab(input);
    const b = slab ? input.buffer : input[i]!;
    const o = slab ? input.offsets[i]! : 0;
    const n = slab ? input.lengths[i]! : b.length;
    if (o + n > b.length) throw new RangeError(`packet ${i} lies outside the input buffer`);
    const ct = n - this.overhead;
    if (ct < 2 || ct % this.suite.align !== 0) return S.MALFORMED;
    if (b.readUInt32BE(o) !== this.spi) return S.NO_SA;
    const lo = b.readUInt32BE(o + 4);
    this.seqLo[i] = lo;
    this.usedHi[i] = -1;
    let seq = lo;
    if (this.esn) {
      const w = this.window!;
      const hi = inferSeqHi(lo, w.top, w.size);
      this.usedHi[i] = hi;
      this.seq[i] = lo;
      if (hi < 0) return S.REPLAY;
      seq = seq64(hi, lo);
      this.seqHi[i] = hi;
      if (seq > MAX_SEQ64) return S.EXHAUSTED;
    }
    const sid = this.senderIdBits === 0 ? -1 : senderIdFromIv(b, o + ESP_HEADER_LENGTH, this.senderIdBits);
    this.seq[i] = seq;
    this.senderId[i] = sid;
    return this.replayOk(sid, seq) ? S.OK : S.REPLAY;
  }

  /** Pass 3 for packet i. */
  private finish(input: BurstInput, i: number, out: Uint8Array, outOff: Uint32Array): void {
    const res = this.res;
    const pre = this.pre[i]!;
    if (pre === S.MALFORMED || pre === S.NO_SA) {
      res[3 * i] = pre;
      return;
    }
    if (this.esn && inferSeqHi(this.seqLo[i]!, this.window!.top, this.window!.size) !== this.usedHi[i]) {
      this.redo(input, i, out, outOff);
      return;
    }
    if (pre !== S.OK) {
      res[3 * i] = pre;
      return;
    }
    // In turn, the replay check comes before the ICV verdict, as in EspReceiver.
    const seq = this.seq[i]!;
    if (!this.replayOk(this.senderId[i]!, seq)) res[3 * i] = S.REPLAY;
    else if (verified(res[3 * i]!)) this.advance(this.senderId[i]!, seq);
  }

  /** Packet i alone, against the window as it stands now (ESN SeqHi changed within the burst). */
  private redo(input: BurstInput, i: number, out: Uint8Array, outOff: Uint32Array): void {
    const res = this.res;
    const s = this.prepare(input, i);
    res[3 * i] = s;
    if (s !== S.OK) return;
    this.native(input, 1, out, outOff, i);
    if (verified(res[3 * i]!)) this.advance(this.senderId[i]!, this.seq[i]!);
  }

  /** One addon call over packets [from, from + count). */
  private native(input: BurstInput, count: number, out: Uint8Array, outOff: Uint32Array, from: number): void {
    const end = from + count;
    const hi = this.esn ? this.seqHi.subarray(from, end) : null;
    const res = this.res.subarray(3 * from, 3 * end);
    const off = outOff.subarray(from, end);
    if (isSlab(input)) {
      const { buffer, offsets, lengths } = input;
      this.addon.decap(this.handle, buffer, offsets.subarray(from, end), lengths.subarray(from, end), hi, out, off, res, count);
    } else {
      this.addon.decap(this.handle, from === 0 ? input : input.slice(from, end), null, null, hi, out, off, res, count);
    }
  }

  private replayOk(senderId: number, seq: number): boolean {
    if (this.perSender !== null) return this.perSender.check(senderId, seq);
    return !this.checkReplay || this.window!.check(seq);
  }

  private advance(senderId: number, seq: number): void {
    if (this.perSender !== null) this.perSender.update(senderId, seq);
    else this.window?.update(seq);
  }

  private reserve(count: number): void {
    if (this.seq.length >= count) return;
    const n = Math.max(count, this.seq.length * 2);
    this.res = new Int32Array(3 * n);
    this.pre = new Int32Array(n);
    this.seq = new Float64Array(n);
    this.senderId = new Int32Array(n);
    this.seqLo = new Uint32Array(n);
    this.seqHi = new Uint32Array(n);
    this.usedHi = new Int32Array(n);
  }

  close(): void {
    this.addon.destroySa(this.handle);
  }
}
