/**
 * The engine's ChildSaSink on top of a DatapathNode: each installed Child SA becomes an
 * inbound and an outbound SA in the node's SA database (keys, selectors, mode), and goes
 * away with the Child SA. A rekey installs the new Child SA before the engine removes the
 * old one, and outbound selection prefers the newest SA (RFC 7296 §2.8).
 *
 * I/O (RFC 3948): a UDP-encapsulated Child SA sends its ESP from our NAT-T socket to the
 * peer's NAT-T endpoint through the IKE transport, with no marker; inbound ESP arrives
 * through the transport's ESP handler (see `IkeDaemon`). Node has no raw IP sockets, so a
 * Child SA without UDP encapsulation is installed for accounting only: its outbound
 * packets count as `noRoute`.
 */
import type { UdpEndpoint } from '../datapath/io/udp.ts';
import type { DatapathNode, SaIo } from '../datapath/io/node.ts';
import { parseAddress } from '../datapath/address.ts';
import type { ModeConfig } from '../datapath/modes/index.ts';
import type { SaConfig, SaHandle, SaStats } from '../datapath/provider.ts';
import type { TrafficSelector } from '../datapath/selector.ts';
import type { SnValue } from '../datapath/esp/params.ts';
import { SnId } from '../ikev2/registry/transform.ts';
import type { ChildSaSink, DirectionKeys, InstalledChildSa } from '../ikev2/sa/child-sa.ts';
import type { Endpoint } from '../ikev2/sa/types.ts';
import type { AddressRangeSelector } from '../ikev2/wire/sub/traffic-selector.ts';


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

/** Our bound socket for the engine's local endpoint (`SocketPaths.via`). */
export type SocketOf = (local: Endpoint) => UdpEndpoint | undefined;

interface Handles {
  readonly inbound: SaHandle;
  readonly outbound: SaHandle;
}

export class DatapathSink implements ChildSaSink {
  readonly #node: DatapathNode;
  readonly #socketOf: SocketOf;
  readonly #onError: (e: unknown) => void;
  /**
   * By inbound SPI: the engine allocates those uniquely, and an IKE SA rekey moves Child
   * SAs to the new IKE SA without telling the sink (so the IKE SA id is no key).
   */
  readonly #handles = new Map<number, Promise<Handles>>();
  /** The same, once both directions are installed (for synchronous counter reads). */
  readonly #installed = new Map<number, Handles>();

  constructor(node: DatapathNode, socketOf: SocketOf, onError: (e: unknown) => void = () => undefined) {
    this.#node = node;
    this.#socketOf = socketOf;
    this.#onError = onError;
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
    const inbound: SaConfig = {
      ...common,
      direction: 'in',
      spi: sa.inbound.spi,
      keys: keys(sa.inbound),
      mode: mode(remote, local),
      dst: local,
      selectors: selectors(sa.remoteTs, sa.localTs),
      ...encap(sa.remote.port, sa.local.port),
    };
    const outbound: SaConfig = {
      ...common,
      direction: 'out',
      spi: sa.outbound.spi,
      keys: keys(sa.outbound),
      mode: mode(local, remote),
      dst: remote,
      selectors: selectors(sa.localTs, sa.remoteTs),
      ...encap(sa.local.port, sa.remote.port),
    };
    const io = this.#io(sa);
    // DatapathNode.install adds a unicast SA to the provider synchronously (the promise only
    // carries the outcome), so a rekey's new SA is in place before the old one is removed.
    const both = Promise.allSettled([this.#add(inbound, io), this.#add(outbound, io)]).then(async ([i, o]) => {
      if (i.status === 'fulfilled' && o.status === 'fulfilled') return { inbound: i.value, outbound: o.value };
      // One direction failed: take the other one out again.
      for (const r of [i, o]) if (r.status === 'fulfilled') await this.#node.remove(r.value);
      throw i.status === 'rejected' ? i.reason : (o as PromiseRejectedResult).reason;
    });
    const spi = sa.inbound.spi;
    this.#handles.set(spi, both);
    both.then(
      (h) => {
        if (this.#handles.get(spi) === both) this.#installed.set(spi, h);
      },
      (e: unknown) => {
        if (this.#handles.get(spi) === both) this.#handles.delete(spi);
        this.#onError(e);
      },
    );
  }

  remove(ref: { readonly inboundSpi: number }): void {
    const h = this.#handles.get(ref.inboundSpi);
    if (!h) return;
    this.#handles.delete(ref.inboundSpi);
    this.#installed.delete(ref.inboundSpi);
    h.then(
      (x) => Promise.all([this.#node.remove(x.inbound), this.#node.remove(x.outbound)]).then(() => undefined, this.#onError),
      () => undefined, // the failed install was reported already
    );
  }

  /** Packet counters of a Child SA (by its inbound SPI), when installed here. */
  counters(inboundSpi: number): DatapathCounters | undefined {
    const h = this.#installed.get(inboundSpi);
    return h && { inbound: this.#node.saStats(h.inbound), outbound: this.#node.saStats(h.outbound) };
  }

  /** RFC 3948 §2.1: ESP in UDP from our NAT-T socket to the peer's (floated) endpoint. */
  #io(sa: InstalledChildSa): SaIo | undefined {
    if (!sa.encapsulated) return undefined;
    const via = this.#socketOf(sa.local);
    if (via === undefined) throw new Error(`no socket bound at ${sa.local.ip}:${sa.local.port} for the Child SA's ESP`);
    return { kind: 'unicast', remote: { address: sa.remote.ip, port: sa.remote.port }, via };
  }

  #add(c: SaConfig, io: SaIo | undefined): Promise<SaHandle> {
    if (io) return this.#node.install({ ...c, io });
    try {
      return Promise.resolve(this.#node.provider.addSA(c));
    } catch (e) {
      return Promise.reject(e);
    }
  }
}
