/**
 * The fast path of the native provider: the addon's engine (native/esp-burst/src/datapath.h)
 * does the per-packet work of a burst in C — IP parsing, outbound SA selection by traffic
 * selector, tunnel / tunnel-preserve / transport headers, ESP + AEAD into one output slab;
 * inbound, SPI demux (RFC 5374 §3.3 longest match), ESN, anti-replay (RFC 4303 §3.4.3 /
 * RFC 6479 windows kept in C: check before the ICV, update after), decryption, trailer, the
 * inner packet (tunnel header checked, transport packet rebuilt) and selector checks. This file registers SAs (the SAD stays the
 * userspace provider's), turns per-packet status codes into frames or typed errors and
 * keeps counters and lifetimes exact: each SA has a budget of packets/bytes until its next
 * lifetime event and a burst stops right after the packet that uses it up, so the SAD
 * accounts (and fires the event) at the same packet as the userspace provider. Time is read
 * once per run of the engine, not per packet.
 */
import type { GkmError } from '../../../ikev2/errors.ts';
import { SnId } from '../../../ikev2/registry/transform.ts';
import type { Address } from '../../address.ts';
import { espSuite } from '../../esp/suite.ts';
import type { EspFrame, OuterView } from '../../modes/types.ts';
import type { InboundFrame, SaConfig } from '../../provider.ts';
import { createReplayWindow, ShiftWindow } from '../../replay.ts';
import type { TrafficSelector } from '../../selector.ts';
import type { UserspaceProvider } from '../../userspace.ts';
import type { NativeAddon, NativeEngineHandle } from './addon.ts';
import type { SlabPool } from './burst-sender.ts';
import { countedError, finishInput, type Entry, type SlowPath } from './slow-path.ts';
import { NativeStatus as S, statusError } from './status.ts';

const MODES = { transport: 0, tunnel: 1, 'tunnel-preserve': 2 } as const;
const MODE_SLOW = 3;
const SCOPES = { spi: 0, 'spi-dst': 1, 'spi-dst-src': 2 } as const;
const REPLAY_NONE = 2;
const OUT_STRIDE = 5;
const IN_STRIDE = 6;
const ADDR_STRIDE = 48; // datapath.h kAddrStride: the outer view of a frame
const SELECTOR_RECORD = 76;
const BLOB_HEADER = 72;
const MAX_SENDERS = 4096; // PerSenderReplay's default

const isPort = (p: number): boolean => Number.isInteger(p) && p >= 0 && p <= 0xffff;
const anyPorts = (r: readonly [number, number] | undefined): boolean => r === undefined || (r[0] === 0 && r[1] === 0xffff);
const fam = (a: Address): boolean => a.length === 4 || a.length === 16;

/** Whether the engine can carry the SA: modes other than BEET, selectors it can encode. */
export function fastEligible(c: SaConfig, selectors: readonly TrafficSelector[] | undefined): boolean {
  if (c.mode.mode === 'beet') return false;
  for (const ts of selectors ?? []) {
    const ranges = [ts.src, ts.dst];
    if (!ranges.every((r) => fam(r.start) && r.end.length === r.start.length)) return false;
    const proto = ts.protocol ?? 0;
    if (!Number.isInteger(proto) || proto < 0 || proto > 255) return false;
    for (const r of [ts.srcPorts, ts.dstPorts]) if (r !== undefined && !(isPort(r[0]) && isPort(r[1]))) return false;
  }
  return true;
}

/** An ESP frame in the output slab; src/dst are views made when read (tunnel and transport put them at the same place). */
class SlabFrame implements EspFrame {
  constructor(
    readonly packet: Buffer,
    readonly espOffset: number,
  ) {}

  get src(): Address {
    return addressAt(this.packet, 0);
  }

  get dst(): Address {
    return addressAt(this.packet, 1);
  }
}

function addressAt(p: Buffer, which: 0 | 1): Address {
  const n = p[0]! >>> 4 === 4 ? 4 : 16;
  const at = (n === 4 ? 12 : 8) + which * n;
  return p.subarray(at, at + n);
}

function putAddress(out: Uint8Array, at: number, a: Address | undefined): void {
  if (a === undefined || !fam(a)) return;
  out[at] = a.length;
  out.set(a, at + 1);
}

/** Copies an address of up to 16 bytes; records its length (0 when not an IP address). */
function copyAddress(out: Uint8Array, lenAt: number, at: number, a: Address): void {
  const n = a.length;
  if (n !== 4 && n !== 16) {
    out[lenAt] = 0;
    return;
  }
  out[lenAt] = n;
  for (let k = 0; k < n; k++) out[at + k] = a[k]!;
}

/** The outer view of frame i into its 48-byte record (datapath.h kAddrStride). */
function putOuter(out: Uint8Array, i: number, o: OuterView): void {
  const at = ADDR_STRIDE * i;
  copyAddress(out, at, at + 4, o.dst);
  copyAddress(out, at + 1, at + 20, o.src);
  const field = o.protocolField;
  out[at + 2] = field >>> 8;
  out[at + 3] = field;
  out[at + 36] = o.version;
  out[at + 37] = o.tos;
  out[at + 38] = o.ttl;
  out[at + 40] = o.id >>> 8;
  out[at + 41] = o.id;
  const fl = o.flowLabel;
  out[at + 45] = fl >>> 16;
  out[at + 46] = fl >>> 8;
  out[at + 47] = fl;
}

export class FastPath {
  private readonly engine: NativeEngineHandle;
  /** SAD entry per slot, and whether the engine does its packets (else the slow path). */
  private readonly entries: Array<Entry | undefined> = [];
  private readonly slotOf = new Map<Entry, number>();
  private known = 0;
  private acc = new Float64Array(64);
  private readonly io = new Float64Array(4);
  private readonly times = new Float64Array(5);
  private readonly sender = new BigUint64Array(3);
  private readonly replayIo = new Float64Array(2);
  private outRes = new Int32Array(OUT_STRIDE * 64);
  private inRes = new Int32Array(IN_STRIDE * 64);
  private seqs = new Float64Array(64);
  private addrs = new Uint8Array(ADDR_STRIDE * 64);
  private esps: Buffer[] = [];
  /** Outer headers per frame, passed only while a transport inbound SA exists (its packets are rebuilt in C). */
  private headers: Array<Buffer | null> = [];
  private transportIn = 0;
  private readonly slowIdx: number[] = [];

  constructor(
    private readonly addon: NativeAddon,
    private readonly base: UserspaceProvider,
    private readonly slow: SlowPath,
    private readonly pool: SlabPool,
  ) {
    this.engine = addon.dpCreate();
  }

  /** Registers an SAD entry; `slow`: its packets go through the slow path. Throws TypeError. */
  add(entry: Entry, c: SaConfig, slow: boolean): void {
    this.reconcile();
    const suite = espSuite(c.algorithms);
    const sn = c.sn ?? SnId.SEQ32;
    const bits = c.senderIdBits ?? 0;
    const replay = c.replay ?? { size: 64 };
    const spec = replay.size > 0 ? replay : { size: 64 };
    const w = c.direction === 'in' && !slow ? createReplayWindow(spec) : null;
    const perSender = c.perSenderReplay === true;
    // As EspReceiver: ESN keeps a window for SeqHi inference even when the check is off.
    const wanted = replay.size > 0 && sn !== SnId.UNSPECIFIED32;
    const hasWindow = w !== null && (perSender || wanted || sn === SnId.ESN64);
    const m = c.mode;
    const params = Uint32Array.of(
      c.direction === 'out' ? 1 : 0,
      slow ? MODE_SLOW : MODES[m.mode as keyof typeof MODES],
      c.spi,
      sn,
      bits !== 0 || sn === SnId.UNSPECIFIED32 ? 1 : 0, // RFC 6054 counter IVs, as EspSender
      bits,
      bits === 0 ? 0 : (c.senderId ?? 0),
      c.tfcPadTo ?? 0,
      suite.icvLength,
      suite.kind === 'gmac' ? 1 : 0,
      m.mode === 'tunnel' ? (m.ttl ?? 64) : 64,
      SCOPES[entry.scope],
      hasWindow ? (w instanceof ShiftWindow ? 0 : 1) : REPLAY_NONE,
      hasWindow ? w.size : 0,
      !perSender && wanted ? 1 : 0,
      perSender ? 1 : 0,
      c.maxSenders ?? MAX_SENDERS,
      entry.selectors === undefined ? 1 : 0,
      0,
      0,
    );
    const selectors = entry.selectors ?? [];
    const blob = new Uint8Array(BLOB_HEADER + SELECTOR_RECORD * selectors.length);
    if (m.mode === 'tunnel') {
      putAddress(blob, 0, m.src);
      putAddress(blob, 17, m.dst);
    }
    putAddress(blob, 34, entry.dst);
    putAddress(blob, 51, entry.src);
    selectors.forEach((ts, k) => writeSelector(blob, BLOB_HEADER + SELECTOR_RECORD * k, ts));
    const slot = this.addon.dpAdd(this.engine, suite.cipher, c.keys.encr, params, blob);
    if (isTransportIn(c, slow)) this.transportIn++;
    this.entries[slot] = entry;
    this.slotOf.set(entry, slot);
    this.known = this.base.sad.size;
    if (this.acc.length < 4 * this.entries.length) this.acc = new Float64Array(8 * this.entries.length);
    if (!slow && c.direction === 'out') {
      this.sender.set([BigInt((c.seqStart ?? 1) - 1), 1n, 0n]);
      this.addon.dpSender(this.engine, slot, this.sender, true);
    }
    this.refresh(entry);
  }

  remove(entry: Entry): void {
    const slot = this.slotOf.get(entry);
    if (slot === undefined) return;
    this.addon.dpRemove(this.engine, slot);
    if (entry.direction === 'in' && entry.sa.mode.mode === 'transport' && !this.slow.has(entry)) this.transportIn--;
    this.entries[slot] = undefined;
    this.slotOf.delete(entry);
    if (this.slow.has(entry)) this.slow.close(entry);
  }

  /** Drops the slots of entries the SAD removed by itself (hard lifetimes, sweep). */
  reconcile(): void {
    const sad = this.base.sad;
    if (sad.size === this.known) return;
    for (const entry of [...this.slotOf.keys()]) if (sad.get(entry.id) !== entry) this.remove(entry);
    this.known = sad.size;
  }

  /** Sends activation, removal and the lifetime budget of an entry to its slot. */
  refresh(entry: Entry): void {
    const slot = this.slotOf.get(entry);
    if (slot === undefined) return;
    const l = entry.lifetime;
    const c = entry.counters;
    let packets = Infinity;
    let bytes = Infinity;
    for (const lim of entry.softFired ? [l.hard] : [l.soft, l.hard]) {
      if (lim?.packets !== undefined) packets = Math.min(packets, lim.packets - c.packets);
      if (lim?.bytes !== undefined) bytes = Math.min(bytes, lim.bytes - c.bytes);
    }
    const t = this.times;
    t[0] = entry.activateAt;
    t[1] = entry.removeAt;
    t[2] = entry.nextTimeEvent;
    t[3] = packets;
    t[4] = bytes;
    this.addon.dpSet(this.engine, slot, t);
  }

  /** Whether the engine (not the slow path) carries this entry's packets. */
  isFast(entry: Entry): boolean {
    return this.slotOf.has(entry) && !this.slow.has(entry);
  }

  nextSeq(entry: Entry): number {
    this.addon.dpSender(this.engine, this.slotOf.get(entry)!, this.sender, false);
    return Number(this.sender[0]!) + 1;
  }

  setNextSeq(entry: Entry, next: number): void {
    const slot = this.slotOf.get(entry)!;
    this.addon.dpSender(this.engine, slot, this.sender, false);
    this.sender[0] = BigInt(next - 1);
    this.addon.dpSender(this.engine, slot, this.sender, true);
  }

  /** [top, size] of the SA's window (resetTop >= 0 restarts it there), or null without one. */
  replay(entry: Entry, resetTop = -1): { top: number; size: number } | null {
    if (!this.addon.dpReplay(this.engine, this.slotOf.get(entry)!, this.replayIo, resetTop)) return null;
    return { top: this.replayIo[0]!, size: this.replayIo[1]! };
  }

  /** One ESP packet with Next Header `nh` and no outer header (dummies, RFC 4303 §2.6). */
  encapRaw(entry: Entry, payload: Buffer, nh: number, out: Buffer): number {
    return this.addon.dpEncapRaw(this.engine, this.slotOf.get(entry)!, payload, nh, out);
  }

  encrypt(packets: readonly Buffer[]): Array<EspFrame | GkmError> {
    const n = packets.length;
    const out: Array<EspFrame | GkmError> = new Array(n);
    if (this.outRes.length < OUT_STRIDE * n) this.outRes = new Int32Array(OUT_STRIDE * n);
    const res = this.outRes;
    const pool = this.pool;
    this.reconcile();
    for (let i = 0; i < n; ) {
      const slab = pool.slab;
      this.io[0] = Math.min(pool.used, slab.length);
      const done = this.addon.dpEncrypt(this.engine, packets, i, n - i, this.base.sad.clock(), slab, this.io, res, this.acc);
      pool.used = this.io[0]!;
      const slow = this.slowIdx;
      for (let j = i; j < i + done; j++) {
        const st = res[OUT_STRIDE * j]!;
        if (st === S.OK) {
          const off = res[OUT_STRIDE * j + 2]!;
          out[j] = new SlabFrame(slab.subarray(off, off + res[OUT_STRIDE * j + 3]!), res[OUT_STRIDE * j + 4]!);
        } else if (st === S.SLOW) {
          slow.push(j);
        } else {
          out[j] = this.error(st, res[OUT_STRIDE * j + 1]!);
        }
      }
      if (slow.length > 0) {
        this.slow.encrypt(packets, slow, out);
        slow.length = 0;
      }
      this.sync();
      i += done;
      if (this.io[1]! > 0) pool.renew(2 * this.io[1]!);
      this.reconcile();
    }
    return out;
  }

  decrypt(frames: readonly InboundFrame[]): Array<Buffer | GkmError | null> {
    const n = frames.length;
    const out: Array<Buffer | GkmError | null> = new Array(n);
    this.reserveIn(n);
    const { inRes: res, addrs, esps, seqs, pool } = this;
    const headers = this.transportIn > 0 ? this.headers : null;
    esps.length = n;
    if (headers !== null) headers.length = n;
    for (let i = 0; i < n; i++) {
      const f = frames[i]!;
      esps[i] = f.esp;
      putOuter(addrs, i, f.outer);
      if (headers !== null) headers[i] = f.outer.header;
    }
    this.reconcile();
    for (let i = 0; i < n; ) {
      const slab = pool.slab;
      this.io[0] = Math.min(pool.used, slab.length);
      const done = this.addon.dpDecrypt(this.engine, esps, i, n - i, this.base.sad.clock(), slab, this.io, res, this.acc, addrs, seqs, headers);
      pool.used = this.io[0]!;
      const slow = this.slowIdx;
      for (let j = i; j < i + done; j++) {
        const r = IN_STRIDE * j;
        const st = res[r]!;
        if (st === S.OK) out[j] = slab.subarray(res[r + 2]!, res[r + 2]! + res[r + 3]!);
        else if (st === S.DUMMY) out[j] = null;
        else if (st === S.SLOW) slow.push(j);
        else if (st !== S.PAYLOAD) out[j] = this.error(st, res[r + 1]!, seqs[j]);
      }
      // Packets accounted one by one first; a run's lifetime event can only be at its last packet.
      for (let j = i; j < i + done; j++) {
        const r = IN_STRIDE * j;
        if (res[r] !== S.PAYLOAD) continue;
        const payload = slab.subarray(res[r + 2]!, res[r + 2]! + res[r + 3]!);
        out[j] = finishInput(this.base, this.entries[res[r + 1]!]!, res[r + 4]!, payload, seqs[j]!, res[r + 5]!, frames[j]!);
      }
      if (slow.length > 0) {
        const got = this.slow.decrypt(slow.map((j) => frames[j]!));
        slow.forEach((j, k) => (out[j] = got[k]!));
        slow.length = 0;
      }
      this.sync();
      i += done;
      if (this.io[1]! > 0) pool.renew(2 * this.io[1]!);
      this.reconcile();
    }
    esps.length = 0; // keep no packet alive past the burst
    this.headers.length = 0;
    return out;
  }

  /** The typed error for a status, counted on the SA when there is one. */
  private error(status: number, slot: number, seq?: number): GkmError {
    const entry = slot >= 0 ? this.entries[slot] : undefined;
    const e = statusError(status, entry?.spi ?? 0, seq);
    return entry === undefined ? e : countedError(entry, e);
  }

  /**
   * Adds the engine's counters to the SAD entries (firing lifetime events), then renews the
   * budgets of every slot the run touched (the slow path and transport packets left to TypeScript account theirs).
   */
  private sync(): void {
    const acc = this.acc;
    const sad = this.base.sad;
    const touched = this.io[2]!;
    for (let k = 0; k < touched; k++) {
      const entry = this.entries[acc[4 * k]!];
      if (entry === undefined) continue;
      const c = entry.counters;
      const packets = acc[4 * k + 1]!;
      c.dummies += acc[4 * k + 3]!;
      if (packets > 0) {
        // Budgets make only the last of these packets reach a limit: one check suffices.
        c.packets += packets - 1;
        c.bytes += acc[4 * k + 2]!;
        sad.account(entry, 0);
      }
    }
    for (let k = 0; k < touched; k++) {
      const entry = this.entries[acc[4 * k]!];
      if (entry !== undefined && sad.get(entry.id) === entry) this.refresh(entry);
    }
  }

  private reserveIn(n: number): void {
    if (this.seqs.length >= n) return;
    this.inRes = new Int32Array(IN_STRIDE * n);
    this.seqs = new Float64Array(n);
    this.addrs = new Uint8Array(ADDR_STRIDE * n);
  }
}

const isTransportIn = (c: SaConfig, slow: boolean): boolean => c.direction === 'in' && c.mode.mode === 'transport' && !slow;

/** One 76-byte selector record (native/esp-burst/src/selector.h). */
function writeSelector(blob: Uint8Array, at: number, ts: TrafficSelector): void {
  const v = new DataView(blob.buffer, blob.byteOffset + at, SELECTOR_RECORD);
  v.setUint8(0, ts.src.start.length);
  v.setUint8(1, ts.dst.start.length);
  v.setUint8(2, ts.protocol ?? 0);
  v.setUint8(3, (anyPorts(ts.srcPorts) ? 1 : 0) | (anyPorts(ts.dstPorts) ? 2 : 0));
  v.setUint16(4, ts.srcPorts?.[0] ?? 0);
  v.setUint16(6, ts.srcPorts?.[1] ?? 0);
  v.setUint16(8, ts.dstPorts?.[0] ?? 0);
  v.setUint16(10, ts.dstPorts?.[1] ?? 0);
  blob.set(ts.src.start, at + 12);
  blob.set(ts.src.end, at + 28);
  blob.set(ts.dst.start, at + 44);
  blob.set(ts.dst.end, at + 60);
}
