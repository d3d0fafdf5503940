/**
 * UDP tap: the plaintext side as UDP datagrams on a local port, for tests and tools.
 *
 * - 'udp' format: every datagram sent to the tap becomes the UDP payload of an inner IP
 *   packet with the configured addresses and ports (source port: the sender's, unless
 *   fixed); decrypted UDP packets are unwrapped and their payload sent to `deliver`.
 * - 'raw' format: datagrams are whole inner IP packets, both ways.
 */
import type { Socket } from 'node:dgram';
import { GkmError, isGkmError } from '../../ikev2/errors.ts';
import { parseAddress } from '../address.ts';
import { Ipv4Ids } from '../modes/outer.ts';
import { unwrapUdp, wrapUdp, type InnerUdpFlow, type PlaintextPort } from './plaintext.ts';
import { bindUdp, checkPort, closeUdp, type UdpEndpoint } from './udp.ts';

export interface UdpTapInner {
  readonly src: string;
  readonly dst: string;
  /** Default: the source port of the datagram sent to the tap. */
  readonly srcPort?: number;
  readonly dstPort: number;
  /** Default 64 (unicast); use the group's scope, e.g. 1, for multicast. */
  readonly ttl?: number;
  readonly tos?: number;
}

export interface UdpTapOptions {
  /** Where applications send plaintext; default 127.0.0.1, ephemeral port. */
  readonly listen?: UdpEndpoint;
  readonly format: 'udp' | 'raw';
  /** 'udp': the inner header datagrams are wrapped in; without it the tap only delivers. */
  readonly inner?: UdpTapInner;
  /** Where decrypted traffic goes (unset: counted as undeliverable). */
  readonly deliver?: UdpEndpoint;
  readonly recvBufferSize?: number;
}

export interface UdpTapCounters {
  received: number;
  delivered: number;
  /** Datagrams too large to wrap, decrypted packets that are not well-formed UDP ('udp'). */
  malformed: number;
  undeliverable: number;
  /** Datagrams sent to a deliver-only tap ('udp' without `inner`) or before start(). */
  dropped: number;
}

export class UdpTap implements PlaintextPort {
  readonly counters: UdpTapCounters = { received: 0, delivered: 0, malformed: 0, undeliverable: 0, dropped: 0 };
  private readonly ids = new Ipv4Ids();
  private onPacket: ((packet: Buffer) => void) | undefined;

  private constructor(
    private readonly socket: Socket,
    /** The bound tap endpoint (send plaintext here). */
    readonly local: UdpEndpoint,
    private readonly opts: UdpTapOptions,
    private readonly inner: (Omit<InnerUdpFlow, 'srcPort'> & { readonly srcPort: number | undefined }) | null,
  ) {
    socket.on('message', (d, r) => this.receive(d, r.port));
    socket.on('error', () => this.counters.undeliverable++);
  }

  static async open(opts: UdpTapOptions): Promise<UdpTap> {
    const i = opts.inner;
    if (opts.format === 'raw' && i !== undefined) {
      throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'tap.inner', detail: "not used with format 'raw'" });
    }
    if (i) {
      checkPort(i.dstPort, 'tap.inner.dstPort');
      if (i.srcPort !== undefined) checkPort(i.srcPort, 'tap.inner.srcPort');
    }
    if (opts.deliver) checkPort(opts.deliver.port, 'tap.deliver.port');
    const inner = i ? { src: parseAddress(i.src), dst: parseAddress(i.dst), srcPort: i.srcPort, dstPort: i.dstPort, ttl: i.ttl ?? 64, tos: i.tos ?? 0 } : null;
    const listen = opts.listen ?? { address: '127.0.0.1', port: 0 };
    const socket = await bindUdp({ ...listen, ...(opts.recvBufferSize ? { recvBufferSize: opts.recvBufferSize } : {}) });
    return new UdpTap(socket, { address: listen.address, port: socket.address().port }, opts, inner);
  }

  start(onPacket: (packet: Buffer) => void): void {
    this.onPacket = onPacket;
  }

  private receive(d: Buffer, srcPort: number): void {
    this.counters.received++;
    const inner = this.inner;
    if (this.onPacket === undefined || (this.opts.format === 'udp' && inner === null)) {
      this.counters.dropped++;
      return;
    }
    if (inner === null) return this.onPacket(d);
    let pkt: Buffer;
    try {
      const flow = inner.srcPort === undefined ? { ...inner, srcPort } : (inner as InnerUdpFlow);
      pkt = wrapUdp(d, flow, this.ids.take());
    } catch (e) {
      if (!isGkmError(e)) throw e;
      this.counters.malformed++;
      return;
    }
    this.onPacket(pkt);
  }

  write(packet: Buffer): void {
    const to = this.opts.deliver;
    if (to === undefined) {
      this.counters.undeliverable++;
      return;
    }
    let out = packet;
    if (this.opts.format === 'udp') {
      try {
        out = unwrapUdp(packet).payload;
      } catch (e) {
        if (!isGkmError(e)) throw e;
        this.counters.malformed++;
        return;
      }
    }
    try {
      this.socket.send(out, to.port, to.address);
      this.counters.delivered++;
    } catch {
      this.counters.undeliverable++;
    }
  }

  close(): Promise<void> {
    this.onPacket = undefined;
    return closeUdp(this.socket);
  }
}
