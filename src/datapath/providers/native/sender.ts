/**
 * Outbound ESP through the native addon: one call seals a burst (RFC 4303 §3.3). Sequence
 * numbers and IVs follow EspSender exactly (IV = sequence number, or RFC 6054 Sender-ID ||
 * counter for multi-sender SAs and SN value 2), so the wire bytes are identical.
 */
import { GkmError } from '../../../ikev2/errors.ts';
import { SnId } from '../../../ikev2/registry/transform.ts';
import { ESP_HEADER_LENGTH } from '../../esp/cipher.ts';
import { MAX_SEQ64 } from '../../esp/esn.ts';
import { CounterIv } from '../../esp/iv.ts';
import { resolveParams, type SnValue } from '../../esp/params.ts';
import type { EspSenderOptions } from '../../esp/sender.ts';
import type { EspSuite } from '../../esp/suite.ts';
import { padLength } from '../../esp/trailer.ts';
import { loadNativeAddon, type BurstInput, type NativeAddon, type NativeSaHandle, type SlabBurst } from './addon.ts';

/** EspSender's options, less the pluggable IV generator (the IV is built in C). */
export type NativeSenderOptions = Omit<EspSenderOptions, 'iv'>;

const IV_MODE_SEQUENCE = 0;
const IV_MODE_COUNTER = 1;
const IV_EXHAUSTED = 1n;

export const isSlab = (b: BurstInput): b is SlabBurst => !Array.isArray(b);

/** The addon's parameter block: [spi, sn, ivMode, senderIdBits, senderId, tfcPadTo, icvLength, gmac]. */
export function nativeParams(spi: number, sn: SnValue, suite: EspSuite, o: { counter: boolean; senderIdBits: number; senderId: number; tfcPadTo: number }): Uint32Array {
  return Uint32Array.of(
    spi,
    sn,
    o.counter ? IV_MODE_COUNTER : IV_MODE_SEQUENCE,
    o.senderIdBits,
    o.senderIdBits === 0 ? 0 : o.senderId,
    o.tfcPadTo,
    suite.icvLength,
    suite.kind === 'gmac' ? 1 : 0,
  );
}

/** The native suites: counter-IV AEADs and GMAC; CBC+HMAC stays in userspace. */
export function nativeSuite(suite: EspSuite): EspSuite {
  if (!suite.counterIv) {
    throw new GkmError('GKM_CRYPTO_UNSUPPORTED', { field: 'esp.algorithms', detail: `${suite.cipher} is not in the native provider` });
  }
  return suite;
}

export class NativeSender {
  readonly spi: number;
  readonly sn: SnValue;
  readonly suite: EspSuite;
  /** [last sequence number used, next IV counter, flags], read and written by the addon. */
  readonly state = new BigUint64Array(3);
  private readonly handle: NativeSaHandle;
  private readonly tfcPadTo: number;
  private readonly ivBits: number;
  private readonly counter: boolean;

  constructor(opts: NativeSenderOptions, private readonly addon: NativeAddon = loadNativeAddon()) {
    const p = resolveParams(opts);
    this.suite = nativeSuite(p.cipher.suite);
    this.spi = p.spi;
    this.sn = p.sn;
    this.tfcPadTo = opts.tfcPadTo ?? 0;
    if (!Number.isInteger(this.tfcPadTo) || this.tfcPadTo < 0 || this.tfcPadTo > 65000) {
      throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'tfcPadTo', detail: String(opts.tfcPadTo) });
    }
    if (p.senderIdBits !== 0 && opts.senderId === undefined) {
      throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'senderId', detail: 'required with senderIdBits' });
    }
    // Same choice as EspSender: counter IVs for Sender-ID SAs and SN value 2.
    this.counter = p.senderIdBits !== 0 || p.sn === SnId.UNSPECIFIED32;
    this.ivBits = p.senderIdBits;
    if (this.counter) {
      new CounterIv(p.senderIdBits, opts.senderId ?? 0, opts.ivStart); // validates Sender-ID and start
      this.state[1] = opts.ivStart ?? 1n;
    }
    const params = nativeParams(p.spi, p.sn, this.suite, {
      counter: this.counter,
      senderIdBits: p.senderIdBits,
      senderId: opts.senderId ?? 0,
      tfcPadTo: this.tfcPadTo,
    });
    this.handle = addon.createSa(this.suite.cipher, opts.keys.encr, params, true);
    this.setNextSeq(opts.seqStart ?? 1);
  }

  get nextSeq(): number {
    return Number(this.state[0]) + 1;
  }

  setNextSeq(next: number): void {
    const max = this.sn === SnId.ESN64 ? MAX_SEQ64 : 0xffff_ffff;
    if (!Number.isInteger(next) || next < 1 || next > max) {
      throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'seqStart', detail: String(next) });
    }
    this.state[0] = BigInt(next - 1);
  }

  /** How many more packets the sequence and IV spaces allow (RFC 4303 §3.3.3, RFC 6054). */
  capacity(): number {
    const seq = Number(this.state[0]);
    const seqLeft =
      this.sn === SnId.UNSPECIFIED32 ? Infinity : (this.sn === SnId.ESN64 ? MAX_SEQ64 : 0xffff_ffff) - seq;
    if (!this.counter) return seqLeft;
    if ((this.state[2]! & IV_EXHAUSTED) !== 0n) return 0;
    return Math.min(seqLeft, Number((1n << BigInt(64 - this.ivBits)) - this.state[1]!));
  }

  /** The error EspSender raises when the SA cannot send any more. */
  exhausted(): GkmError {
    return new GkmError('GKM_ESP_SEQ_EXHAUSTED', { field: 'esp.seq', detail: `SPI ${this.spi}` });
  }

  /** Wire length of a packet carrying `payloadLength` bytes (as EspSender.packetLength). */
  packetLength(payloadLength: number): number {
    const body = Math.max(payloadLength, this.tfcPadTo) + 2;
    return ESP_HEADER_LENGTH + this.suite.ivLength + body + padLength(body, this.suite.align) + this.suite.icvLength;
  }

  /** Back-to-back output offsets (each after `headroom` bytes) for `count` payloads; returns the bytes needed. */
  layout(input: BurstInput, count: number, outOff: Uint32Array, headroom = 0): number {
    let at = 0;
    for (let i = 0; i < count; i++) {
      const n = isSlab(input) ? input.lengths[i]! : input[i]!.length;
      outOff[i] = at + headroom;
      at += headroom + this.packetLength(n);
    }
    return at;
  }

  /**
   * Seals `count` payloads in one native call: payload i gets next header nh[i] and lands at
   * out[outOff[i]..). res[i] = wire length or a negative NativeStatus; returns how many were built.
   */
  encapBurst(input: BurstInput, nh: Uint8Array, out: Uint8Array, outOff: Uint32Array, res: Int32Array, count: number): number {
    return isSlab(input)
      ? this.addon.encap(this.handle, this.state, input.buffer, input.offsets, input.lengths, nh, out, outOff, res, count)
      : this.addon.encap(this.handle, this.state, input, null, null, nh, out, outOff, res, count);
  }

  /** Frees the cipher context now (otherwise when collected). */
  close(): void {
    this.addon.destroySa(this.handle);
  }
}
