/**
 * The `native` provider: the userspace provider's SAD, lifetimes and validation, with the
 * per-packet work in the addon. Tunnel, tunnel-preserve and transport SAs go through the
 * fast path (engine.ts: headers, SA lookup, anti-replay and AEAD in C, one call per burst);
 * BEET SAs through the slow path (slow-path.ts: modes in TypeScript, ESP in one call per SA).
 * Packets, verdicts and counters are the userspace provider's, byte for byte
 * (test/datapath/providers/native-provider.test.ts).
 */
import { GkmError } from '../../../ikev2/errors.ts';
import { SnId } from '../../../ikev2/registry/transform.ts';
import { MAX_SEQ64 } from '../../esp/esn.ts';
import { espSuite, type EspAlgorithms } from '../../esp/suite.ts';
import { NH_DUMMY } from '../../esp/trailer.ts';
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
import type { Sad } from '../../sad.ts';
import { UserspaceProvider, type UserspaceOptions, type UserspaceSa } from '../../userspace.ts';
import { loadNativeAddon } from './addon.ts';
import { SlabPool } from './burst-sender.ts';
import { fastEligible, FastPath } from './engine.ts';
import { noSa, SlowPath, type Entry } from './slow-path.ts';
import { statusError } from './status.ts';

const badHandle = (detail: string): GkmError => new GkmError('GKM_ESP_BAD_CONFIG', { field: 'handle', detail });
const ZEROS = Buffer.alloc(65536);

export class NativeProvider implements OffloadProvider {
  readonly name = 'native';
  private readonly base: UserspaceProvider;
  private readonly slow: SlowPath;
  private readonly fast: FastPath;

  /** Throws ProviderUnavailableError (with the build command) when the addon is not built. */
  constructor(opts: UserspaceOptions = {}) {
    const addon = loadNativeAddon();
    const pool = new SlabPool(1024 * 1024);
    this.base = new UserspaceProvider(opts);
    this.slow = new SlowPath(this.base, addon, pool);
    this.fast = new FastPath(addon, this.base, this.slow, pool);
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
      const slow = !fastEligible(c, entry.selectors);
      if (slow) this.slow.add(entry, c);
      this.fast.add(entry, c, slow);
    } catch (e) {
      this.fast.remove(entry);
      this.base.deleteSA(handle);
      throw e;
    }
    return handle;
  }

  updateSA(handle: SaHandle, update: SaUpdate): void {
    this.base.updateSA(handle, update);
    this.fast.refresh(this.entry(handle));
  }

  deleteSA(handle: SaHandle): void {
    const entry = this.entry(handle);
    this.base.deleteSA(handle);
    this.fast.remove(entry);
  }

  encryptBurst(packets: readonly Buffer[]): Array<EspFrame | GkmError> {
    return this.fast.encrypt(packets);
  }

  decryptBurst(frames: readonly InboundFrame[]): Array<Buffer | GkmError | null> {
    return this.fast.decrypt(frames);
  }

  /** A dummy packet (RFC 4303 §2.6) on an outbound SA, as traffic-flow cover. */
  dummy(handle: SaHandle, length: number): Buffer {
    const entry = this.entry(handle);
    if (entry.direction !== 'out') throw badHandle('not outbound');
    entry.counters.dummies++;
    const q = this.slow.has(entry) ? this.slow.sender(entry) : null;
    if (q !== null) {
      const buf = q.dummy(length);
      const res = q.flush();
      if (res[0]! < 0) throw statusError(res[0]!, entry.spi);
      return buf;
    }
    if (!Number.isInteger(length) || length < 0 || length > ZEROS.length) {
      throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'dummy.length', detail: String(length) });
    }
    const out = Buffer.allocUnsafe(entry.sa.sender!.packetLength(length)); // the same suite and TFC padding
    const r = this.fast.encapRaw(entry, ZEROS.subarray(0, length), NH_DUMMY, out);
    if (r < 0) throw statusError(r, entry.spi);
    return out;
  }

  stats(handle: SaHandle): SaStats {
    const entry = this.entry(handle);
    const s = this.base.stats(handle);
    if (!this.fast.isFast(entry)) return entry.direction === 'out' ? { ...s, nextSeq: this.slow.sender(entry)!.nextSeq } : s;
    if (entry.direction === 'out') return { ...s, nextSeq: this.fast.nextSeq(entry) };
    const w = this.fast.replay(entry);
    return w === null ? s : { ...s, replayTop: w.top, replayWindow: w.size };
  }

  setSeq(handle: SaHandle, nextSeq: number): void {
    const entry = this.entry(handle);
    if (entry.direction !== 'out') throw badHandle('not outbound');
    if (!this.fast.isFast(entry)) return this.slow.sender(entry)!.setNextSeq(nextSeq);
    const max = (entry.sa.sender?.sn ?? SnId.SEQ32) === SnId.ESN64 ? MAX_SEQ64 : 0xffff_ffff;
    if (!Number.isInteger(nextSeq) || nextSeq < 1 || nextSeq > max) {
      throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'seqStart', detail: String(nextSeq) });
    }
    this.fast.setNextSeq(entry, nextSeq);
  }

  syncReplay(handle: SaHandle, top: number): void {
    const entry = this.entry(handle);
    if (!this.fast.isFast(entry) || entry.direction !== 'in') return this.base.syncReplay(handle, top); // the slow receiver shares these windows
    if (!Number.isInteger(top) || top < 0 || top > MAX_SEQ64) throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'replay.top', detail: String(top) });
    if (this.fast.replay(entry, top) === null) {
      throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'handle', detail: 'no inbound replay window' });
    }
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
}

/** The suites the addon handles: AES-GCM, ChaCha20-Poly1305 and AES-GMAC. */
export function isNativeSuite(a: EspAlgorithms): boolean {
  try {
    return espSuite(a).counterIv;
  } catch {
    return false;
  }
}
