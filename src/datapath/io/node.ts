/**
 * DatapathNode: one member's datapath. It wires a provider (SAD + ESP + modes), the
 * plaintext side (UDP tap or TUN), the ESP-in-UDP sockets and counters, and takes SAs
 * through one interface, `install()`, each with its I/O binding:
 *
 * - group SAs (RFC 9838 §2.3.4, RFC 5374): ESP in UDP to the group address and a configured
 *   port. Inbound SAs join the group on an interface; outbound SAs send from a socket whose
 *   multicast interface is pinned. With address preservation the outer destination is the
 *   group taken from the inner header.
 * - unicast SAs (RFC 3948): ESP in UDP through a sink (the IKE transport's NAT-T socket, or
 *   an `EspUdpSocket`); inbound ESP arrives through `espHandler`, which the IKE transport
 *   calls with (packet, remote, local).
 *
 * Outbound frames are routed by their outer destination address (the group, the tunnel
 * peer, the transport-mode peer), which keeps the provider seam untouched: any provider's
 * `EspFrame` can be sent. Packets move through the provider in bursts gathered per event
 * loop turn (up to `burst`).
 */
import { GkmError, isGkmError, type ErrorCode } from '../../ikev2/errors.ts';
import { isMulticast, parseAddress, sameAddress, type Address } from '../address.ts';
import { outerOfAddresses } from '../modes/outer.ts';
import type { InboundFrame, OffloadProvider, ProviderLifetimeEvent, SaConfig, SaHandle, SaStats, SaUpdate } from '../provider.ts';
import { UserspaceProvider } from '../userspace.ts';
import { EspUdpSocket, type EspInUdpHandler, type EspSocketCounters, type EspUdpSink } from './esp-socket.ts';
import type { PlaintextPort } from './plaintext.ts';
import { Shared } from './shared.ts';
import { AddressCache, checkPort, familyOf, isWildcard, type UdpEndpoint } from './udp.ts';

/** A group SA's I/O: the group, the UDP port its ESP travels on, the local interface. */
export interface GroupIo {
  readonly kind: 'group';
  readonly group: string;
  readonly port: number;
  /** Local interface address: where receivers join, where senders' multicast leaves. */
  readonly interface: string;
  /** Outbound: multicast TTL (default 1: link scope). */
  readonly ttl?: number;
  /** Outbound: whether members on this host hear our own traffic (default false). */
  readonly loopback?: boolean;
}

/** A unicast SA's I/O (RFC 3948): the peer's UDP endpoint (after NAT) and our socket. */
export interface UnicastIo {
  readonly kind: 'unicast';
  readonly remote: UdpEndpoint;
  readonly via: UdpEndpoint;
  /**
   * Outer destination the SA's packets carry when it is not `remote.address` (transport
   * mode towards a peer whose address we know by another name). Tunnel and BEET use theirs.
   */
  readonly peer?: string;
}

export type SaIo = GroupIo | UnicastIo;

export interface NodeSaConfig extends SaConfig {
  readonly io: SaIo;
}

export interface DatapathNodeOptions {
  /** Default: a UserspaceProvider owned by the node (its lifetime events reach `onLifetime`). */
  readonly provider?: OffloadProvider;
  readonly plaintext?: PlaintextPort;
  /** Where unicast ESP leaves (the IKE transport, or an EspUdpSocket). */
  readonly unicast?: EspUdpSink;
  /**
   * Our address per family for ESP received on wildcard-bound sockets: Node does not report
   * a datagram's destination, and transport mode and SPI+destination lookups need it.
   */
  readonly localAddresses?: readonly string[];
  /** Most packets per provider call (default 32). */
  readonly burst?: number;
  readonly recvBufferSize?: number;
  readonly sendBufferSize?: number;
  readonly onLifetime?: (event: ProviderLifetimeEvent) => void;
  readonly clock?: () => number;
  /** Housekeeping (DTD removals, time lifetimes) period in ms; 0 turns it off. Default 1000. */
  readonly sweepMs?: number;
}

export interface DatapathNodeCounters {
  /** Inner packets taken from the plaintext side or `send()`. */
  plaintextIn: number;
  /** ESP packets handed to a socket or sink. */
  espOut: number;
  /** Encrypted, but no I/O binding for the frame's outer destination. */
  noRoute: number;
  /** ESP packets received (group sockets and `espHandler`). */
  espIn: number;
  /** Decrypted packets written to the plaintext side. */
  plaintextOut: number;
  /** Dummy packets (NH 59) received and discarded. */
  dummies: number;
  /** Decrypted, but there is no plaintext side. */
  noPlaintext: number;
  /** Packets the provider refused, by error code (no SA, replay, ICV, policy...). */
  drops: Partial<Record<ErrorCode, number>>;
}

export interface DatapathNodeStats {
  readonly node: DatapathNodeCounters;
  readonly sockets: ReadonlyArray<{ readonly role: EspUdpSocket['role']; readonly local: UdpEndpoint; readonly counters: EspSocketCounters }>;
}

interface Route {
  /** What the route sends to, for conflict checks. */
  readonly target: string;
  readonly send: (esp: Buffer) => void;
  readonly handles: Set<SaHandle>;
}

/** The I/O an SA holds: a shared socket and/or a route for its outer destination. */
interface IoBinding {
  readonly socketKey: string | null;
  readonly routeKey: string | null;
  readonly route: Omit<Route, 'handles'> | null;
}

type Binding = Omit<IoBinding, 'route'>;

const bad = (field: string, detail: string): GkmError => new GkmError('GKM_ESP_BAD_CONFIG', { field, detail });
const routeKeyOf = (a: Address): string => a.toString('latin1');

export class DatapathNode {
  readonly provider: OffloadProvider;
  readonly counters: DatapathNodeCounters = { plaintextIn: 0, espOut: 0, noRoute: 0, espIn: 0, plaintextOut: 0, dummies: 0, noPlaintext: 0, drops: {} };
  private readonly plaintext: PlaintextPort | undefined;
  private readonly unicast: EspUdpSink | undefined;
  private readonly locals = new Map<4 | 6, Address>();
  private readonly burst: number;
  private readonly openSockets = new Set<EspUdpSocket>();
  private readonly sockets = new Shared<EspUdpSocket>((s) => {
    this.openSockets.delete(s);
    return s.close();
  });
  private readonly routes = new Map<string, Route>();
  private readonly bindings = new Map<SaHandle, Binding>();
  private readonly addrs = new AddressCache();
  private outQ: Buffer[] = [];
  private inQ: InboundFrame[] = [];
  private flushScheduled = false;
  private readonly sweepTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: DatapathNodeOptions = {}) {
    this.provider =
      opts.provider ??
      new UserspaceProvider({
        ...(opts.clock ? { clock: opts.clock } : {}),
        onLifetime: (e) => {
          if (e.kind === 'hard') void this.release(e.handle);
          opts.onLifetime?.(e);
        },
      });
    this.plaintext = opts.plaintext;
    this.unicast = opts.unicast;
    for (const a of opts.localAddresses ?? []) this.locals.set(familyOf(a), parseAddress(a));
    this.burst = opts.burst ?? 32;
    if (!Number.isInteger(this.burst) || this.burst < 1 || this.burst > 1024) throw bad('burst', String(opts.burst));
    this.plaintext?.start((p) => this.send(p));
    const sweepMs = opts.sweepMs ?? 1000;
    if (sweepMs > 0) {
      this.sweepTimer = setInterval(() => this.housekeep(), sweepMs);
      this.sweepTimer.unref();
    }
  }

  /**
   * The RFC 3948 entry point for unicast ESP in UDP: give it to the IKE transport
   * (`transport.setEspHandler(node.espHandler)`). `packet` starts with the SPI; the
   * transport has already told ESP from IKE and keepalives.
   */
  readonly espHandler: EspInUdpHandler = (packet, remote, local) => {
    const dst = isWildcard(local.address) ? (this.locals.get(familyOf(local.address)) ?? this.addrs.get(local.address)) : this.addrs.get(local.address);
    this.receive(packet, remote.address, dst);
  };

  /** Queues one received ESP packet; `dst` is the outer destination (RFC 5374 lookup key). */
  private receive(esp: Buffer, src: string, dst: Address): void {
    this.counters.espIn++;
    this.inQ.push({ esp, outer: outerOfAddresses(this.addrs.get(src), dst) });
    this.kick(this.inQ.length);
  }

  /** Installs one direction of an SA with its I/O; resolves with the provider's handle. */
  async install(c: NodeSaConfig): Promise<SaHandle> {
    if (this.closed) throw bad('node', 'closed');
    const { io, ...sa } = c;
    const config: SaConfig = io.kind === 'group' && sa.direction === 'in' && sa.dst === undefined ? { ...sa, dst: parseAddress(io.group) } : sa;
    const { socketKey, routeKey, route } = io.kind === 'group' ? await this.bindGroup(io, config) : this.bindUnicast(io, config);
    let handle: SaHandle;
    try {
      const existing = routeKey === null ? undefined : this.routes.get(routeKey);
      if (existing !== undefined && existing.target !== route?.target) {
        throw bad('io', `outer destination already bound to ${existing.target}`);
      }
      handle = this.provider.addSA(config);
    } catch (e) {
      if (socketKey !== null) await this.sockets.release(socketKey);
      throw e;
    }
    if (route !== null && routeKey !== null) {
      const r = this.routes.get(routeKey) ?? { ...route, handles: new Set<SaHandle>() };
      r.handles.add(handle);
      this.routes.set(routeKey, r);
    }
    this.bindings.set(handle, { socketKey, routeKey });
    return handle;
  }

  /** Group SA: the shared receiving socket, or the sending socket and a route to the group. */
  private async bindGroup(io: GroupIo, config: SaConfig): Promise<IoBinding> {
    checkGroupIo(io);
    const group = parseAddress(io.group);
    if (config.direction === 'in') {
      const socketKey = `in|${io.group}|${io.port}|${io.interface}`;
      await this.sockets.acquire(socketKey, () => this.openGroupReceiver(io));
      return { socketKey, routeKey: null, route: null };
    }
    if (!sameAddress(outerDestination(config, group), group)) throw bad('io.group', 'the SA does not send to its group');
    const socketKey = `out|${io.interface}|${io.ttl ?? 1}|${io.loopback ?? false}`;
    const s = await this.sockets.acquire(socketKey, () => this.openGroupSender(io));
    const to = { address: io.group, port: io.port };
    return { socketKey, routeKey: routeKeyOf(group), route: { target: `group ${io.group}:${io.port} via ${socketKey}`, send: (esp) => s.send(esp, to) } };
  }

  /** Unicast SA (RFC 3948): outbound, a route to the peer through the sink; inbound arrives via espHandler. */
  private bindUnicast(io: UnicastIo, config: SaConfig): IoBinding {
    checkPort(io.remote.port, 'io.remote.port');
    familyOf(io.remote.address);
    if (config.mode.mode === 'tunnel-preserve') throw bad('mode', 'address preservation is for group SAs (RFC 5374)');
    if (config.direction === 'in') return { socketKey: null, routeKey: null, route: null };
    const sink = this.unicast;
    if (sink === undefined) throw bad('io', 'unicast SA without a unicast sink (DatapathNodeOptions.unicast)');
    const { remote, via } = io;
    return {
      socketKey: null,
      routeKey: routeKeyOf(outerDestination(config, parseAddress(io.peer ?? remote.address))),
      route: { target: `unicast ${remote.address}:${remote.port} via ${via.address}:${via.port}`, send: (esp) => sink.sendEsp(esp, remote, via) },
    };
  }

  update(handle: SaHandle, u: SaUpdate): void {
    this.provider.updateSA(handle, u);
  }

  /** Removes the SA and releases its sockets and route (idempotent for SAs already expired). */
  async remove(handle: SaHandle): Promise<void> {
    try {
      this.provider.deleteSA(handle);
    } catch (e) {
      if (!isGkmError(e) || e.code !== 'GKM_ESP_NO_SA') throw e;
    }
    await this.release(handle);
  }

  private async release(handle: SaHandle): Promise<void> {
    const b = this.bindings.get(handle);
    if (b === undefined) return;
    this.bindings.delete(handle);
    if (b.routeKey !== null) {
      const r = this.routes.get(b.routeKey);
      r?.handles.delete(handle);
      if (r && r.handles.size === 0) this.routes.delete(b.routeKey);
    }
    if (b.socketKey !== null) await this.sockets.release(b.socketKey);
  }

  /** Protects inner IP packets (what the plaintext side feeds in) and sends them. */
  send(packet: Buffer): void {
    if (this.closed) return;
    this.counters.plaintextIn++;
    this.outQ.push(packet);
    this.kick(this.outQ.length);
  }

  saStats(handle: SaHandle): SaStats {
    return this.provider.stats(handle);
  }

  get handles(): SaHandle[] {
    return [...this.bindings.keys()];
  }

  stats(): DatapathNodeStats {
    return {
      node: { ...this.counters, drops: { ...this.counters.drops } },
      sockets: [...this.openSockets].map((s) => ({ role: s.role, local: s.local, counters: { ...s.counters } })),
    };
  }

  /** Flushes queued packets now (the node otherwise flushes once per event-loop turn). */
  flush(): void {
    this.flushScheduled = false;
    // Bounded: each pass takes at most `burst` packets per direction; new arrivals wait
    // for the next turn of the event loop.
    const passes = Math.ceil(Math.max(this.outQ.length, this.inQ.length) / this.burst);
    for (let i = 0; i < passes; i++) {
      if (this.outQ.length > 0) this.flushOut();
      if (this.inQ.length > 0) this.flushIn();
    }
  }

  /** Drops SAs past their DTD and fires time lifetimes (userspace provider), then forgets their I/O. */
  housekeep(): void {
    if (this.provider instanceof UserspaceProvider) this.provider.sad.sweep();
    for (const h of [...this.bindings.keys()]) {
      try {
        this.provider.stats(h);
      } catch (e) {
        if (isGkmError(e) && e.code === 'GKM_ESP_NO_SA') void this.release(h);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.plaintext?.close();
    await this.sockets.closeAll();
    this.openSockets.clear();
    if (this.opts.provider === undefined) this.provider.close();
    this.bindings.clear();
    this.routes.clear();
  }

  private kick(queued: number): void {
    if (queued >= this.burst) return this.flush();
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        if (this.flushScheduled) this.flush();
      });
    }
  }

  private drop(code: ErrorCode): void {
    const d = this.counters.drops;
    d[code] = (d[code] ?? 0) + 1;
  }

  private flushOut(): void {
    const batch = this.outQ.length > this.burst ? this.outQ.splice(0, this.burst) : this.outQ;
    if (batch === this.outQ) this.outQ = [];
    const out = this.provider.encryptBurst(batch);
    for (const r of out) {
      if (isGkmError(r)) {
        this.drop(r.code);
        continue;
      }
      const route = this.routes.get(routeKeyOf(r.dst));
      if (route === undefined) {
        this.counters.noRoute++;
        continue;
      }
      route.send(r.packet.subarray(r.espOffset));
      this.counters.espOut++;
    }
  }

  private flushIn(): void {
    const batch = this.inQ.length > this.burst ? this.inQ.splice(0, this.burst) : this.inQ;
    if (batch === this.inQ) this.inQ = [];
    const out = this.provider.decryptBurst(batch);
    for (const r of out) {
      if (r === null) this.counters.dummies++;
      else if (isGkmError(r)) this.drop(r.code);
      else if (this.plaintext === undefined) this.counters.noPlaintext++;
      else {
        this.plaintext.write(r);
        this.counters.plaintextOut++;
      }
    }
  }

  private async openGroupReceiver(io: GroupIo): Promise<EspUdpSocket> {
    const s = await EspUdpSocket.groupReceiver({ group: io.group, port: io.port, interface: io.interface, ...(this.opts.recvBufferSize ? { recvBufferSize: this.opts.recvBufferSize } : {}) });
    const group = parseAddress(io.group);
    s.onEsp = (packet, remote) => this.receive(packet, remote.address, group);
    this.openSockets.add(s);
    return s;
  }

  private async openGroupSender(io: GroupIo): Promise<EspUdpSocket> {
    const s = await EspUdpSocket.groupSender({
      interface: io.interface,
      ...(io.ttl !== undefined ? { ttl: io.ttl } : {}),
      ...(io.loopback !== undefined ? { loopback: io.loopback } : {}),
      ...(this.opts.sendBufferSize ? { sendBufferSize: this.opts.sendBufferSize } : {}),
    });
    this.openSockets.add(s);
    return s;
  }
}

function checkGroupIo(io: GroupIo): void {
  checkPort(io.port, 'io.port');
  familyOf(io.group);
  if (!isMulticast(parseAddress(io.group))) throw bad('io.group', `${io.group} is not a multicast address`);
}

/** The outer destination address an outbound SA's frames carry. */
function outerDestination(c: SaConfig, fallback: Address): Address {
  switch (c.mode.mode) {
    case 'tunnel':
      return c.mode.dst;
    case 'beet':
      return c.mode.outer.dst;
    case 'transport':
    case 'tunnel-preserve':
      // Both keep the inner destination: the group for group SAs, the peer for unicast.
      return fallback;
  }
}
