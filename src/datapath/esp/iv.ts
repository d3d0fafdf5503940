/**
 * Explicit IVs for the counter-based suites (GCM, ChaCha20-Poly1305, GMAC), which must
 * never repeat under one key (RFC 4106 §3.1, RFC 7634 §2, RFC 4543 §4).
 *
 * - Unicast / single sender: IV = the 64-bit sequence number.
 * - Group SA with several senders (RFC 6054 §3, RFC 9838 §2.5): IV = Sender-ID in the
 *   top `bits` bits (right-aligned in that field) || per-sender counter in the rest.
 */
import { GkmError } from '../../ikev2/errors.ts';

export interface IvGenerator {
  /** Writes the next 8-byte IV at `offset`; `seq` is the packet's 64-bit sequence number. */
  next(pkt: Buffer, offset: number, seq: number): void;
}

const TWO32 = 0x1_0000_0000;

/** IV = 64-bit sequence number (unique while the SA's sequence numbers do not repeat). */
export class SequenceIv implements IvGenerator {
  next(pkt: Buffer, offset: number, seq: number): void {
    pkt.writeUInt32BE(Math.floor(seq / TWO32), offset);
    pkt.writeUInt32BE(seq >>> 0, offset + 4);
  }
}

/** Checks a Sender-ID field width and value; the GM must re-register on failure (RFC 9838 §2.5). */
export function checkSenderId(bits: number, senderId?: number): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > 32) {
    throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'senderIdBits', detail: `${bits} (1-32 supported)` });
  }
  if (senderId !== undefined && (!Number.isInteger(senderId) || senderId < 0 || senderId >= 2 ** bits)) {
    throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'senderId', detail: `${senderId} does not fit ${bits} bits` });
  }
}

/** The Sender-ID carried in the top `bits` bits of the IV at `offset`. */
export function senderIdFromIv(pkt: Buffer, offset: number, bits: number): number {
  const hi = pkt.readUInt32BE(offset);
  return bits === 32 ? hi : hi >>> (32 - bits);
}

/**
 * RFC 6054 IV: Sender-ID || counter (`bits` = 0: a plain 64-bit counter). The counter is
 * kept as two uint32 halves, so it can start anywhere (e.g. resync) and is independent of
 * the sequence number, which may wrap for SN value 2. Exhaustion at 2^(64-bits) is fatal
 * for this sender on this SA.
 */
export class CounterIv implements IvGenerator {
  private hi: number;
  private lo: number;
  private readonly prefix: number;
  private readonly hiLimit: number;

  constructor(
    readonly bits: number,
    readonly senderId: number,
    start: bigint = 1n,
  ) {
    if (bits !== 0) checkSenderId(bits, senderId);
    this.hiLimit = 2 ** (32 - bits);
    this.prefix = senderId * this.hiLimit;
    const max = 1n << BigInt(64 - bits);
    if (start < 0n || start >= max) {
      throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'ivStart', detail: 'outside the counter field' });
    }
    this.hi = Number(start >> 32n);
    this.lo = Number(start & 0xffff_ffffn);
  }

  next(pkt: Buffer, offset: number): void {
    if (this.hi >= this.hiLimit) throw exhausted();
    pkt.writeUInt32BE(this.prefix + this.hi, offset);
    pkt.writeUInt32BE(this.lo, offset + 4);
    if (this.lo === 0xffff_ffff) {
      this.lo = 0;
      this.hi += 1;
    } else {
      this.lo += 1;
    }
  }
}

const exhausted = (): GkmError =>
  new GkmError('GKM_ESP_SEQ_EXHAUSTED', { field: 'iv', detail: 'Sender-ID counter space used up' });
