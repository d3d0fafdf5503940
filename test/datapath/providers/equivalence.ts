/**
 * Shared harness for comparing the native provider with the userspace provider (the
 * reference): identical SAs on provider pairs, comparable views of results, and hostile
 * extras (replays, forgeries, truncations, unknown SPIs) around real frames.
 */
import assert from 'node:assert/strict';
import { isGkmError, type GkmError } from '../../../src/ikev2/errors.ts';
import { SnId } from '../../../src/ikev2/registry/transform.ts';
import type { EspAlgorithms } from '../../../src/datapath/esp/index.ts';
import type { EspFrame, ModeConfig } from '../../../src/datapath/modes/index.ts';
import type { InboundFrame, OffloadProvider, ProviderLifetimeEvent, SaConfig } from '../../../src/datapath/provider.ts';
import { frameFromIp, frameFromUdp, UserspaceProvider } from '../../../src/datapath/userspace.ts';
import { NativeProvider } from '../../../src/datapath/providers/native/provider.ts';
import { keysFor, rng } from '../helpers.ts';

export type Sa = Omit<SaConfig, 'direction'>;

export const sa = (spi: number, algorithms: EspAlgorithms, mode: ModeConfig, extra: Partial<Sa> = {}): Sa => ({
  spi,
  algorithms,
  keys: keysFor(algorithms, spi & 0xff),
  mode,
  ...extra,
});

export interface ProviderOpts {
  readonly clock?: () => number;
  readonly onLifetime?: (e: ProviderLifetimeEvent) => void;
}

export const userspace = (o: ProviderOpts = {}): OffloadProvider => new UserspaceProvider({ clock: () => 1000, ...o });
export const native = (o: ProviderOpts = {}): OffloadProvider => new NativeProvider({ clock: () => 1000, ...o });

/** The same SAs, both directions, on a provider pair. */
export function install(make: () => OffloadProvider, sas: readonly Sa[], extra: Partial<SaConfig> = {}) {
  const tx = make();
  const rx = make();
  const out = sas.map((s) => tx.addSA({ ...s, ...extra, direction: 'out' }));
  const inn = sas.map((s) => rx.addSA({ ...s, ...extra, direction: 'in' }));
  // A receiver joining a sender that starts high (ESN) syncs its window (RFC 6311 style).
  sas.forEach((s, i) => (s.seqStart ?? 1) > 1 && s.sn !== SnId.UNSPECIFIED32 && rx.syncReplay(inn[i]!, s.seqStart! - 1));
  return { tx, rx, out, inn };
}

/** Comparable form of an encrypt result. */
export const frameView = (f: EspFrame | GkmError): string =>
  isGkmError(f) ? f.code : `${f.espOffset}|${f.src.toString('hex')}|${f.dst.toString('hex')}|${f.packet.toString('hex')}`;
export const plainView = (r: Buffer | GkmError | null): string => (r === null ? 'dummy' : isGkmError(r) ? r.code : r.toString('hex'));

export function inbound(frames: ReadonlyArray<EspFrame | GkmError>, udp: boolean): InboundFrame[] {
  return frames
    .filter((f): f is EspFrame => !isGkmError(f))
    .map((f) => (udp ? frameFromUdp(f.packet.subarray(f.espOffset), f.src, f.dst) : frameFromIp(f.packet)));
}

/** Replays, forgeries and junk around the real frames. */
export function hostile(frames: InboundFrame[], seed: number): InboundFrame[] {
  const next = rng(seed);
  const out: InboundFrame[] = [];
  for (const f of frames) {
    out.push(f);
    if (next() < 0.3) out.push(f);
    if (next() < 0.2) {
      const esp = Buffer.from(f.esp);
      esp[esp.length - 3]! ^= 0x40;
      out.push({ ...f, esp });
    }
    if (next() < 0.1) out.push({ ...f, esp: f.esp.subarray(0, Math.floor(next() * 30)) });
  }
  const first = frames[0];
  if (first) {
    const other = Buffer.from(first.esp);
    other.writeUInt32BE(0xdead, 0);
    out.push({ ...first, esp: other });
  }
  return out;
}

type Pair = ReturnType<typeof install>;

/**
 * Encrypts each burst on both pairs (frames must be byte-identical), lets each receiver open
 * the other's frames with the same hostile extras, then compares every SA's counters.
 */
export function compareBursts(u: Pair, n: Pair, bursts: readonly Buffer[][], udp = false): void {
  for (const [k, burst] of bursts.entries()) {
    const uf = u.tx.encryptBurst(burst);
    const nf = n.tx.encryptBurst(burst);
    assert.deepEqual(nf.map(frameView), uf.map(frameView), `burst ${k}: frames`);
    const want = u.rx.decryptBurst(hostile(inbound(nf, udp), k + burst.length)).map(plainView);
    const got = n.rx.decryptBurst(hostile(inbound(uf, udp), k + burst.length)).map(plainView);
    assert.deepEqual(got, want, `burst ${k}: decrypt verdicts`);
  }
  compareStats(u, n);
}

export function compareStats(u: Pair, n: Pair): void {
  u.out.forEach((h, i) => assert.deepEqual(n.tx.stats(n.out[i]!), u.tx.stats(h), `outbound counters of SA ${i}`));
  u.inn.forEach((h, i) => assert.deepEqual(n.rx.stats(n.inn[i]!), u.rx.stats(h), `inbound counters of SA ${i}`));
}
