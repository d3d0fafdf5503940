/**
 * The mode handlers (src/datapath/modes) build packets by calling `sender.encapsulate()` once
 * per packet and then writing the outer header into the headroom. BurstSender stands in for
 * EspSender there: it hands out each packet's output slot at once (from a shared slab) and
 * queues the payload; `flush()` then seals the whole queue in one native call.
 */
import { GkmError } from '../../../ikev2/errors.ts';
import type { EspSender } from '../../esp/sender.ts';
import { NH_DUMMY } from '../../esp/trailer.ts';
import type { NativeSender } from './sender.ts';

/** Bump allocator over large slabs (Buffer's own pool is 8 KiB): one native call per slab. */
export class SlabPool {
  private current = Buffer.allocUnsafeSlow(0);
  private pos = 0;

  constructor(private readonly size = 256 * 1024) {}

  /** The slab the last `take` came from. */
  get slab(): Buffer {
    return this.current;
  }

  /** Bytes of `slab` in use: the fast path (engine.ts) writes from here and moves it on. */
  get used(): number {
    return this.pos;
  }

  set used(n: number) {
    this.pos = Math.max(this.pos, Math.min(n, this.current.length));
  }

  /** Starts a fresh slab of at least n bytes. */
  renew(n: number): void {
    this.current = Buffer.allocUnsafeSlow(Math.max(this.size, n));
    this.pos = 0;
  }

  /** Reserves n bytes; returns their offset in `slab`. */
  take(n: number): number {
    if (this.pos + n > this.current.length) this.renew(n);
    const at = this.pos;
    this.pos += (n + 7) & ~7;
    return at;
  }
}

const ZEROS = Buffer.alloc(65536);

export class BurstSender implements Pick<EspSender, keyof EspSender> {
  readonly spi: number;
  readonly sn: EspSender['sn'];
  private payloads: Buffer[] = [];
  private slabs: Buffer[] = [];
  private nh = new Uint8Array(32);
  private outOff = new Uint32Array(32);
  private res = new Int32Array(32);
  /** Packets the SA may still send, read at the start of each burst. */
  private capacity = 0;

  constructor(
    readonly tx: NativeSender,
    private readonly pool: SlabPool,
  ) {
    this.spi = tx.spi;
    this.sn = tx.sn;
  }

  get pending(): number {
    return this.payloads.length;
  }

  get nextSeq(): number {
    return this.tx.nextSeq;
  }

  setNextSeq(next: number): void {
    this.tx.setNextSeq(next);
  }

  packetLength(payloadLength: number): number {
    return this.tx.packetLength(payloadLength);
  }

  /** Queues one packet; returns its slot (headroom, then the ESP packet, sealed on flush). */
  encapsulate(payload: Buffer, nextHeader: number, headroom = 0): Buffer {
    const k = this.payloads.length;
    if (k === 0) this.capacity = this.tx.capacity();
    // Refused here, before the mode writes anything, as EspSender refuses (RFC 4303 §3.3.3).
    if (k >= this.capacity) throw this.tx.exhausted();
    const length = headroom + this.tx.packetLength(payload.length);
    const at = this.pool.take(length);
    if (k === this.nh.length) this.grow();
    this.payloads.push(payload);
    this.slabs.push(this.pool.slab);
    this.nh[k] = nextHeader;
    this.outOff[k] = at + headroom;
    return this.pool.slab.subarray(at, at + length);
  }

  dummy(length: number, headroom = 0): Buffer {
    if (!Number.isInteger(length) || length < 0 || length > ZEROS.length) {
      throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'dummy.length', detail: String(length) });
    }
    return this.encapsulate(ZEROS.subarray(0, length), NH_DUMMY, headroom);
  }

  /** Drops queued packets from index k on (their mode handler failed after queuing). */
  truncate(k: number): void {
    this.payloads.length = Math.min(k, this.payloads.length);
    this.slabs.length = this.payloads.length;
  }

  /**
   * Seals the queue: one native call per slab run (usually one). Returns per queued packet
   * its wire length or a negative NativeStatus (valid until the next encapsulate).
   */
  flush(): Int32Array {
    const n = this.payloads.length;
    for (let s = 0; s < n; ) {
      let e = s + 1;
      while (e < n && this.slabs[e] === this.slabs[s]) e++;
      const input = s === 0 && e === n ? this.payloads : this.payloads.slice(s, e);
      this.tx.encapBurst(input, this.nh.subarray(s, e), this.slabs[s]!, this.outOff.subarray(s, e), this.res.subarray(s, e), e - s);
      s = e;
    }
    this.truncate(0);
    return this.res;
  }

  private grow(): void {
    const n = this.nh.length * 2;
    const nh = new Uint8Array(n);
    const off = new Uint32Array(n);
    nh.set(this.nh);
    off.set(this.outOff);
    this.nh = nh;
    this.outOff = off;
    this.res = new Int32Array(n);
  }
}
