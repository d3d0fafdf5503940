/**
 * The per-SA burst path, for SAs whose mode the fast path (engine.ts) leaves to TypeScript
 * (BEET): SAD lookup, mode handler and selectors in TypeScript, ESP sealed and opened by the
 * addon in one call per SA per burst, anti-replay on the userspace receiver's windows.
 */
import { GkmError, isGkmError } from '../../../ikev2/errors.ts';
import type { EspSender } from '../../esp/sender.ts';
import { flowOf, parseIp } from '../../modes/ip.ts';
import type { EspFrame } from '../../modes/types.ts';
import type { InboundFrame, SaConfig } from '../../provider.ts';
import type { SadEntry } from '../../sad.ts';
import { matchesAny } from '../../selector.ts';
import type { UserspaceProvider, UserspaceSa } from '../../userspace.ts';
import type { NativeAddon } from './addon.ts';
import { BurstSender, type SlabPool } from './burst-sender.ts';
import { NativeReceiver, type DecapResults } from './receiver.ts';
import { NativeSender } from './sender.ts';
import { NativeStatus as S, statusError } from './status.ts';

export type Entry = SadEntry<UserspaceSa>;

/** Per-SA state next to the userspace entry that owns SAD and replay state. */
interface SlowSa {
  readonly tx: BurstSender | null;
  readonly rx: NativeReceiver | null;
  /** Per burst: frame/packet index and byte count of each queued job. */
  readonly frames: number[];
  readonly bytes: number[];
  readonly jobs: Buffer[];
  outOff: Uint32Array;
  plain: Buffer;
  result: DecapResults | null;
}

export const noSa = (detail: string): GkmError => new GkmError('GKM_ESP_NO_SA', { field: 'sad', detail });

export class SlowPath {
  /** Keyed by the SAD payload: the state goes when the SAD drops the entry. */
  private readonly state = new WeakMap<UserspaceSa, SlowSa>();

  constructor(
    private readonly base: UserspaceProvider,
    private readonly addon: NativeAddon,
    private readonly pool: SlabPool,
  ) {}

  add(entry: Entry, c: SaConfig): void {
    const params = { spi: c.spi, algorithms: c.algorithms, keys: c.keys, sn: c.sn, senderIdBits: c.senderIdBits };
    const tx =
      c.direction === 'out'
        ? new BurstSender(new NativeSender({ ...params, senderId: c.senderId, seqStart: c.seqStart, tfcPadTo: c.tfcPadTo }, this.addon), this.pool)
        : null;
    const rx =
      c.direction === 'in'
        ? new NativeReceiver({ ...params, replay: c.replay, perSenderReplay: c.perSenderReplay, maxSenders: c.maxSenders }, this.addon, entry.sa.receiver!)
        : null;
    this.state.set(entry.sa, { tx, rx, frames: [], bytes: [], jobs: [], outOff: new Uint32Array(32), plain: Buffer.alloc(0), result: null });
  }

  has(entry: Entry): boolean {
    return this.state.has(entry.sa);
  }

  sender(entry: Entry): BurstSender | null {
    return this.get(entry).tx;
  }

  close(entry: Entry): void {
    const n = this.state.get(entry.sa);
    n?.tx?.tx.close();
    n?.rx?.close();
    this.state.delete(entry.sa);
  }

  /** Packets[i] for the listed indexes, in order: SAD, mode and selectors here, ESP in one call per SA. */
  encrypt(packets: readonly Buffer[], indexes: readonly number[], out: Array<EspFrame | GkmError>): void {
    const touched: Entry[] = [];
    try {
      for (const i of indexes) out[i] = this.queue(packets[i]!, i, touched);
      for (const entry of touched) this.seal(entry, out);
    } finally {
      for (const entry of touched) this.reset(this.get(entry)); // a throw must not strand queued jobs
    }
  }

  private queue(packet: Buffer, i: number, touched: Entry[]): EspFrame | GkmError {
    const sad = this.base.sad;
    let entry: Entry | undefined;
    try {
      const info = parseIp(packet, true);
      entry = sad.selectOutbound(flowOf(packet, info));
      if (entry === undefined) throw noSa('no outbound SA matches');
      const n = this.get(entry);
      const q = n.tx!;
      const k = q.pending;
      let frame: EspFrame;
      try {
        frame = entry.sa.mode.output(packet, info, q);
      } catch (e) {
        q.truncate(k);
        throw e;
      }
      if (k === 0) touched.push(entry);
      n.frames.push(i);
      n.bytes.push(info.length);
      sad.account(entry, info.length); // now, so a hard lifetime stops the SA mid-burst as in userspace
      return frame;
    } catch (e) {
      if (!isGkmError(e)) throw e;
      entry?.countError(e.code);
      return e;
    }
  }

  /** One native call for the SA's queue; failures replace their frames. */
  private seal(entry: Entry, out: Array<EspFrame | GkmError>): void {
    const n = this.get(entry);
    const res = n.tx!.flush();
    for (let j = 0; j < n.frames.length; j++) {
      if (res[j]! > 0) continue;
      const err = statusError(res[j]!, entry.spi);
      out[n.frames[j]!] = err;
      entry.counters.packets--; // accounted when queued; this one never left
      entry.counters.bytes -= n.bytes[j]!;
      entry.countError(err.code);
    }
  }

  private reset(n: SlowSa): void {
    n.tx?.truncate(0);
    n.frames.length = 0;
    n.bytes.length = 0;
    n.jobs.length = 0;
    n.result = null;
  }

  decrypt(frames: readonly InboundFrame[]): Array<Buffer | GkmError | null> {
    const out: Array<Buffer | GkmError | null> = new Array(frames.length);
    const entries: Array<Entry | undefined> = new Array(frames.length);
    const job = new Int32Array(frames.length);
    const touched: Entry[] = [];
    const sad = this.base.sad;
    for (let i = 0; i < frames.length; i++) {
      const { esp, outer } = frames[i]!;
      if (esp.length < 8) {
        out[i] = new GkmError('GKM_ESP_MALFORMED', { field: 'esp', detail: 'shorter than the header' });
        continue;
      }
      const entry = sad.lookupInbound(esp.readUInt32BE(0), outer.dst, outer.src);
      if (entry === undefined) {
        out[i] = noSa(`SPI ${esp.readUInt32BE(0)}`);
        continue;
      }
      const n = this.get(entry);
      if (n.jobs.length === 0) touched.push(entry);
      job[i] = n.jobs.length;
      n.jobs.push(esp);
      entries[i] = entry;
    }
    const orphans: number[] = [];
    try {
      for (const entry of touched) this.open(this.get(entry));
      for (let i = 0; i < frames.length; i++) {
        const entry = entries[i];
        if (entry === undefined) continue;
        // A hard lifetime removed the SA earlier in this burst: look the frame up afresh below.
        if (sad.get(entry.id) !== entry) orphans.push(i);
        else out[i] = this.deliver(entry, job[i]!, frames[i]!);
      }
    } finally {
      for (const entry of touched) this.reset(this.get(entry));
    }
    if (orphans.length > 0) {
      const again = this.decrypt(orphans.map((i) => frames[i]!));
      orphans.forEach((i, k) => (out[i] = again[k]!));
    }
    return out;
  }

  private open(n: SlowSa): void {
    const count = n.jobs.length;
    const rx = n.rx!;
    if (n.outOff.length < count) n.outOff = new Uint32Array(Math.max(count, 2 * n.outOff.length));
    const at = this.pool.take(rx.layout(n.jobs, count, n.outOff));
    n.plain = this.pool.slab;
    rx.layout(n.jobs, count, n.outOff, at);
    n.result = rx.decapBurst(n.jobs, count, n.plain, n.outOff);
  }

  /** Mode, selectors and counters for job j, as UserspaceProvider.decrypt does them. */
  private deliver(entry: Entry, j: number, frame: InboundFrame): Buffer | GkmError | null {
    const n = this.get(entry);
    const r = n.result!;
    const status = r.res[3 * j]!;
    if (status === S.DUMMY) {
      entry.counters.dummies++;
      return null;
    }
    if (status !== S.OK) return countedError(entry, statusError(status, entry.spi, r.seq[j]));
    const start = n.outOff[j]!;
    const payload = n.plain.subarray(start, start + r.res[3 * j + 1]!);
    return finishInput(this.base, entry, r.res[3 * j + 2]!, payload, r.seq[j]!, r.senderId[j]!, frame);
  }

  private get(entry: Entry): SlowSa {
    const n = this.state.get(entry.sa);
    if (n === undefined) throw noSa(`SPI ${entry.spi} has no native state`);
    return n;
  }
}

export function countedError(entry: Entry, e: GkmError): GkmError {
  entry.countError(e.code);
  return e;
}

/** The mode's input, selectors (RFC 4301 §5.2) and counters, as UserspaceProvider.decrypt. */
export function finishInput(
  base: UserspaceProvider,
  entry: Entry,
  nextHeader: number,
  payload: Buffer,
  seq: number,
  senderId: number,
  frame: InboundFrame,
): Buffer | GkmError {
  try {
    const inner = entry.sa.mode.input({ nextHeader, payload, seq, senderId }, frame.outer);
    if (!matchesAny(entry.selectors, flowOf(inner.packet, inner.info))) {
      throw new GkmError('GKM_ESP_POLICY_MISMATCH', { field: 'selectors', detail: `SPI ${entry.spi}` });
    }
    base.sad.account(entry, inner.info.length);
    return inner.packet;
  } catch (e) {
    if (!isGkmError(e)) throw e;
    return countedError(entry, e);
  }
}
