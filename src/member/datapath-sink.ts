/**
 * The engine's ChildSaSink on top of a datapath provider: each installed Child SA becomes
 * an inbound and an outbound SA in the provider's SA database (keys, selectors, mode, UDP
 * encapsulation), and goes away with the Child SA. Optional: without it the member only
 * negotiates (and reports) SAs.
 */
import { parseAddress } from '../datapath/address.ts';
import type { ModeConfig } from '../datapath/modes/index.ts';
import type { OffloadProvider, SaConfig, SaHandle, SaStats } from '../datapath/provider.ts';
import type { TrafficSelector } from '../datapath/selector.ts';
import type { SnValue } from '../datapath/esp/params.ts';
import { SnId } from '../ikev2/registry/transform.ts';
import type { ChildSaSink, DirectionKeys, InstalledChildSa } from '../ikev2/sa/child-sa.ts';
import type { AddressRangeSelector } from '../ikev2/wire/sub/traffic-selector.ts';

const key = (ikeSaId: string, inboundSpi: number): string => `${ikeSaId}:${inboundSpi}`;

/** Every (source, destination) pair of the negotiated selectors (RFC 4301 §4.4.1). */
function selectors(src: readonly AddressRangeSelector[], dst: readonly AddressRangeSelector[]): TrafficSelector[] {
  const ports = (s: AddressRangeSelector): readonly [number, number] | undefined => (s.startPort === 0 && s.endPort === 0xffff ? undefined : [s.startPort, s.endPort]);
  return src.flatMap((s) =>
    dst
      .filter((d) => d.tsType === s.tsType)
      .map((d): TrafficSelector => {
        const sp = ports(s);
        const dp = ports(d);
        return {
          src: { start: s.startAddress, end: s.endAddress },
          dst: { start: d.startAddress, end: d.endAddress },
          protocol: s.ipProtocol || d.ipProtocol,
          ...(sp ? { srcPorts: sp } : {}),
          ...(dp ? { dstPorts: dp } : {}),
        };
      }),
  );
}

export interface DatapathCounters {
  readonly inbound: SaStats;
  readonly outbound: SaStats;
}

export class DatapathSink implements ChildSaSink {
  readonly #provider: OffloadProvider;
  readonly #handles = new Map<string, { readonly inbound: SaHandle; readonly outbound: SaHandle }>();

  constructor(provider: OffloadProvider) {
    this.#provider = provider;
  }

  install(sa: InstalledChildSa): void {
    const local = parseAddress(sa.local.ip);
    const remote = parseAddress(sa.remote.ip);
    const common = {
      algorithms: { encr: sa.suite.encrId, ...(sa.suite.keyLengthBits ? { keyBits: sa.suite.keyLengthBits } : {}), ...(sa.suite.integId !== undefined ? { integ: sa.suite.integId } : {}) },
      sn: (sa.suite.esn ? SnId.ESN64 : SnId.SEQ32) as SnValue,
    };
    const mode = (src: Buffer, dst: Buffer): ModeConfig => (sa.mode === 'transport' ? { mode: 'transport' } : { mode: 'tunnel', src, dst });
    const keys = (d: DirectionKeys): SaConfig['keys'] => (d.integKey.length > 0 ? { encr: d.encKey, integ: d.integKey } : { encr: d.encKey });
    const encap = (sport: number, dport: number): Pick<SaConfig, 'encap'> => (sa.encapsulated ? { encap: { sport, dport } } : {});
    const inbound = this.#provider.addSA({
      ...common,
      direction: 'in',
      spi: sa.inbound.spi,
      keys: keys(sa.inbound),
      mode: mode(remote, local),
      dst: local,
      selectors: selectors(sa.remoteTs, sa.localTs),
      ...encap(sa.remote.port, sa.local.port),
    });
    let outbound: SaHandle;
    try {
      outbound = this.#provider.addSA({
        ...common,
        direction: 'out',
        spi: sa.outbound.spi,
        keys: keys(sa.outbound),
        mode: mode(local, remote),
        dst: remote,
        selectors: selectors(sa.localTs, sa.remoteTs),
        ...encap(sa.local.port, sa.remote.port),
      });
    } catch (e) {
      this.#provider.deleteSA(inbound);
      throw e;
    }
    this.#handles.set(key(sa.ikeSaId, sa.inbound.spi), { inbound, outbound });
  }

  remove(ref: { readonly ikeSaId: string; readonly inboundSpi: number; readonly outboundSpi: number }): void {
    const k = key(ref.ikeSaId, ref.inboundSpi);
    const h = this.#handles.get(k);
    if (!h) return;
    this.#handles.delete(k);
    this.#provider.deleteSA(h.inbound);
    this.#provider.deleteSA(h.outbound);
  }

  /** Packet counters of a Child SA (by its inbound SPI), when installed here. */
  counters(ikeSaId: string, inboundSpi: number): DatapathCounters | undefined {
    const h = this.#handles.get(key(ikeSaId, inboundSpi));
    return h && { inbound: this.#provider.stats(h.inbound), outbound: this.#provider.stats(h.outbound) };
  }
}
