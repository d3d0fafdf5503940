/**
 * The `native` provider: the userspace provider's SAD, modes, selectors, counters, lifetimes
 * and replay windows, with ESP sealed and opened in bursts by the addon (one call per SA per
 * burst instead of one node:crypto object per packet). Packets come out byte-identical to
 * the userspace provider's (test/datapath/providers/native.test.ts).
 */
import { GkmError, isGkmError } from '../../../ikev2/errors.ts';
import { espSuite, type EspAlgorithms } from '../../esp/suite.ts';
import type { EspSender } from '../../esp/sender.ts';
import { flowOf, parseIp } from '../../modes/ip.ts';
import type { EspFrame } from '../../modes/types.ts';
import type {
  InboundFrame,
  OffloadProvider,
  ProviderCapabilities,
  SaConfig,
  SaHandle,
  SaStats,
  SaUpdate,
} from '../../provider.ts';
import type { Sad, SadEntry } from '../../sad.ts';
import { matchesAny } from '../../selector.ts';
import { UserspaceProvider, type UserspaceOptions, type UserspaceSa } from '../../userspace.ts';
import { loadNativeAddon, type NativeAddon } from './addon.ts';
import { BurstSender, SlabPool } from './burst-sender.ts';
import { NativeReceiver, type DecapResults } from './receiver.ts';
import { NativeSender } from './sender.ts';
import { NativeStatus as S, statusError } from './status.ts';

/** Native state of one SA, next to the userspace entry that owns SAD and replay state. */
interface NativeSa {
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

type Entry = SadEntry<UserspaceSa>;

const noSa = (detail: string): GkmError => new GkmError('GKM_ESP_NO_SA', { field: 'sad', detail });
const badHandle = (detail: string): GkmError => new GkmError('GKM_ESP_BAD_CONFIG', { field: 'handle', detail });

export class NativeProvider implements OffloadProvider {
  readonly name = 'native';
  private readonly base: UserspaceProvider;
  private readonly addon: NativeAddon;
  /** Keyed by the SAD payload: native state goes when the SAD drops the entry (sweep, expiry). */
  private readonly native = new WeakMap<UserspaceSa, NativeSa>();
  private readonly pool = new SlabPool();

  /** Throws ProviderUnavailableError (with the build command) when the addon is not built. */
  constructor(opts: UserspaceOptions = {}) {
    this.addon = loadNativeAddon();
    this.base = new UserspaceProvider(opts);
  }

  /** The SAD (sweep it for time lifetimes and DTD removal, as with the userspace provider). */
  get sad(): Sad<UserspaceSa> {
    return this.base.sad;
  }

  capabilities(): ProviderCapabilities {
    return { ...this.base.capabilities(), supports: isNativeSuite };
  }

  addSA(c: SaConfig): SaHandle {
    if (!isNativeSuite(c.algorithms)) {
      throw new GkmError('GKM_CRYPTO_UNSUPPORTED', { field: 'esp.algorithms', detail: 'not a native suite (AEAD or GMAC)' });
    }
    const handle = this.base.addSA(c); // validates everything the userspace provider validates
    const entry = this.entry(handle);
    try {
      const params = { spi: c.spi, algorithms: c.algorithms, keys: c.keys, sn: c.sn, senderIdBits: c.senderIdBits };
      const tx =
        c.direction === 'out'
          ? new BurstSender(new NativeSender({ ...params, senderId: c.senderId, seqStart: c.seqStart, tfcPadTo: c.tfcPadTo }, this.addon), this.pool)
          : null;
      const rx =
        c.direction === 'in'
          ? new NativeReceiver({ ...params, replay: c.replay, perSenderReplay: c.perSenderReplay, maxSenders: c.maxSenders }, this.addon, entry.sa.receiver!)
          : null;
      this.native.set(entry.sa, { tx, rx, frames: [], bytes: [], jobs: [], outOff: new Uint32Array(32), plain: Buffer.alloc(0), result: null });
    } catch (e) {
      this.base.deleteSA(handle);
      throw e;
    }
    return handle;
  }

  updateSA(handle: SaHandle, update: SaUpdate): void {
    this.base.updateSA(handle, update);
  }

  deleteSA(handle: SaHandle): void {
    const n = this.state(this.entry(handle));
    this.base.deleteSA(handle);
    n.tx?.tx.close();
    n.rx?.close();
  }

  encryptBurst(packets: readonly Buffer[]): Array<EspFrame | GkmError> {
    const out: Array<EspFrame | GkmError> = new Array(packets.length);
    const touched: Entry[] = [];
    try {
      for (let i = 0; i < packets.length; i++) out[i] = this.queue(packets[i]!, i, touched);
      for (const entry of touched) this.seal(entry, out);
    } finally {
      for (const entry of touched) this.reset(this.state(entry)); // a throw must not strand queued jobs
    }
    return out;
  }

  /** Runs packet i through SAD and mode; its ESP is queued for the SA's burst. */
  private queue(packet: Buffer, i: number, touched: Entry[]): EspFrame | GkmError {
    const sad = this.base.sad;
    let entry: Entry | undefined;
    try {
      const info = parseIp(packet, true);
      entry = sad.selectOutbound(flowOf(packet, info));
      if (entry === undefined) throw noSa('no outbound SA matches');
      const n = this.state(entry);
      const q = n.tx!;
      const k = q.pending;
      let frame: EspFrame;
      try {
        // Mode handlers only call encapsulate() on their sender (src/datapath/modes).
        frame = entry.sa.mode.output(packet, info, q as unknown as EspSender);
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
    const n = this.state(entry);
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

  /** Forgets the SA's per-burst state. */
  private reset(n: NativeSa): void {
    n.tx?.truncate(0);
    n.frames.length = 0;
    n.bytes.length = 0;
    n.jobs.length = 0;
    n.result = null;
  }

  decryptBurst(frames: readonly InboundFrame[]): Array<Buffer | GkmError | null> {
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
      const n = this.state(entry);
      if (n.jobs.length === 0) touched.push(entry);
      job[i] = n.jobs.length;
      n.jobs.push(esp);
      entries[i] = entry;
    }
    const orphans: number[] = [];
    try {
      for (const entry of touched) this.open(this.state(entry));
      for (let i = 0; i < frames.length; i++) {
        const entry = entries[i];
        if (entry === undefined) continue;
        // A hard lifetime removed the SA earlier in this burst: look the frame up afresh below.
        if (sad.get(entry.id) !== entry) orphans.push(i);
        else out[i] = this.deliver(entry, job[i]!, frames[i]!);
      }
    } finally {
      for (const entry of touched) this.reset(this.state(entry));
    }
    if (orphans.length > 0) {
      const again = this.decryptBurst(orphans.map((i) => frames[i]!));
      orphans.forEach((i, k) => (out[i] = again[k]!));
    }
    return out;
  }

  /** One native call for the SA's queued frames, into one run of a shared slab. */
  private open(n: NativeSa): void {
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
    const n = this.state(entry);
    const r = n.result!;
    const status = r.res[3 * j]!;
    try {
      if (status === S.DUMMY) {
        entry.counters.dummies++;
        return null;
      }
      if (status !== S.OK) throw statusError(status, entry.spi, r.seq[j]);
      const start = n.outOff[j]!;
      const payload = n.plain.subarray(start, start + r.res[3 * j + 1]!);
      const inner = entry.sa.mode.input({ nextHeader: r.res[3 * j + 2]!, payload, seq: r.seq[j]!, senderId: r.senderId[j]! }, frame.outer);
      // RFC 4301 §5.2: the decrypted packet must match the SA's selectors.
      if (!matchesAny(entry.selectors, flowOf(inner.packet, inner.info))) {
        throw new GkmError('GKM_ESP_POLICY_MISMATCH', { field: 'selectors', detail: `SPI ${entry.spi}` });
      }
      this.base.sad.account(entry, inner.info.length);
      return inner.packet;
    } catch (e) {
      if (!isGkmError(e)) throw e;
      entry.countError(e.code);
      return e;
    }
  }

  /** A dummy packet (RFC 4303 §2.6) on an outbound SA, as traffic-flow cover. */
  dummy(handle: SaHandle, length: number): Buffer {
    const entry = this.entry(handle);
    const q = this.state(entry).tx;
    if (q === null) throw badHandle('not outbound');
    entry.counters.dummies++;
    const buf = q.dummy(length);
    const res = q.flush();
    if (res[0]! < 0) throw statusError(res[0]!, entry.spi);
    return buf;
  }

  stats(handle: SaHandle): SaStats {
    const q = this.state(this.entry(handle)).tx;
    return { ...this.base.stats(handle), ...(q ? { nextSeq: q.nextSeq } : {}) };
  }

  setSeq(handle: SaHandle, nextSeq: number): void {
    const q = this.state(this.entry(handle)).tx;
    if (q === null) throw badHandle('not outbound');
    q.setNextSeq(nextSeq);
  }

  syncReplay(handle: SaHandle, top: number): void {
    this.base.syncReplay(handle, top); // the native receiver shares these windows
  }

  offloadOk(): boolean {
    return true;
  }

  close(): void {
    for (const e of [...this.base.sad.entries()]) this.deleteSA(e.id);
  }

  private entry(handle: SaHandle): Entry {
    const e = this.base.sad.get(handle);
    if (e === undefined) throw noSa(`handle ${handle}`);
    return e;
  }

  private state(entry: Entry): NativeSa {
    const n = this.native.get(entry.sa);
    if (n === undefined) throw noSa(`SPI ${entry.spi} has no native state`);
    return n;
  }
}

/** The suites the addon handles: AES-GCM, ChaCha20-Poly1305 and AES-GMAC. */
export function isNativeSuite(a: EspAlgorithms): boolean {
  try {
    return espSuite(a).counterIv;
  } catch {
    return false;
  }
}
