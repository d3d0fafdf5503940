/**
 * ESP in UDP sockets (RFC 3948 §2.1 framing) for unicast NAT-T paths and for group SAs.
 *
 * Every datagram is classified with RFC 3948 §2.2/§2.3's rule (`classifyNatTDatagram`):
 * a single 0xFF is a NAT keepalive, a zero first word is the non-ESP marker in front of an
 * IKE message, anything else of 8+ octets is ESP (SPI 0 is reserved, RFC 4303 §2.1, so
 * the three never overlap). The same rule runs on group sockets, where only ESP is
 * expected: the rest is counted and dropped. Sends carry no marker; the UDP checksum is
 * the kernel's business (RFC 3948 §2.1 lets a receiver accept zero, and Linux does).
 *
 * Group SAs (docs/decisions.md, "Datapath packet I/O"): RFC 9838 §2.3.4 says RFC 3948
 * encapsulation cannot be expressed for group SAs; Node has no raw IP protocol 50 socket,
 * so our userspace datapath carries group ESP in UDP to the group address and a UDP port
 * from configuration. It is a deployment choice all members of a group must share.
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import { GkmError } from '../../ikev2/errors.ts';
import { classifyNatTDatagram, NON_ESP_MARKER } from '../../ikev2/wire/message.ts';
import { isMulticast, parseAddress } from '../address.ts';
import { bindUdp, checkPort, closeUdp, familyOf, type UdpEndpoint, type UdpSocketOptions } from './udp.ts';

/** The datapath's ESP-in-UDP entry point: the shape of the IKE transport's `EspHandler`. */
export type EspInUdpHandler = (packet: Buffer, remote: UdpEndpoint, local: UdpEndpoint) => void;

/** Where unicast ESP leaves: the IKE transport (`IkeTransport.sendEsp`) or an `EspUdpSocket`. */
export interface EspUdpSink {
  sendEsp(packet: Buffer, remote: UdpEndpoint, via: UdpEndpoint): void;
}

export interface EspSocketCounters {
  received: number;
  esp: number;
  /** Marked IKE messages (handed to `onIke`, or dropped when there is none). */
  ike: number;
  keepalives: number;
  /** 1-3 stray octets, a marker without an IKE header, ESP shorter than SPI + sequence. */
  invalid: number;
  sent: number;
  sendErrors: number;
}

export interface GroupReceiverOptions {
  readonly group: string;
  readonly port: number;
  /** Local interface address to join on (IPv4), or an IPv6 interface as node:dgram takes it. */
  readonly interface: string;
  readonly recvBufferSize?: number;
}

export interface GroupSenderOptions {
  /** Local interface address that multicast leaves from (IP_MULTICAST_IF), pinned. */
  readonly interface: string;
  /** IP_MULTICAST_TTL / hops: 1 (default) keeps group traffic on the link. */
  readonly ttl?: number;
  /** IP_MULTICAST_LOOP: whether this host's own members hear it (default false). */
  readonly loopback?: boolean;
  readonly sendBufferSize?: number;
}

const badConfig = (field: string, detail: string): GkmError => new GkmError('GKM_TRANSPORT_CONFIG', { field, detail });

export class EspUdpSocket implements EspUdpSink {
  readonly counters: EspSocketCounters = { received: 0, esp: 0, ike: 0, keepalives: 0, invalid: 0, sent: 0, sendErrors: 0 };
  /** Where ESP goes; set by the owner (the DatapathNode). */
  onEsp: EspInUdpHandler | undefined;
  /** Marked IKE arriving on a unicast socket the datapath owns (no IKE transport in front). */
  onIke: ((message: Buffer, remote: UdpEndpoint) => void) | undefined;
  /** Asynchronous socket errors (send failures), after counting. */
  onError: ((error: Error) => void) | undefined;
  #closing: Promise<void> | undefined;

  private constructor(
    private readonly socket: Socket,
    /** Bound address and port; for a group receiver, the group (the ESP destination). */
    readonly local: UdpEndpoint,
    readonly role: 'unicast' | 'group-receiver' | 'group-sender',
  ) {
    socket.on('message', (d, r) => this.receive(d, r));
    socket.on('error', (e) => {
      this.counters.sendErrors++;
      this.onError?.(e);
    });
  }

  /** A unicast ESP-in-UDP socket (RFC 3948), e.g. a NAT-T port the datapath owns. */
  static async unicast(o: UdpSocketOptions): Promise<EspUdpSocket> {
    const socket = await bindUdp(o);
    return new EspUdpSocket(socket, { address: o.address, port: socket.address().port }, 'unicast');
  }

  /**
   * A socket that receives a group's ESP: bound to the group address (Linux then delivers
   * only that group's datagrams to it) and joined on `interface`.
   */
  static async groupReceiver(o: GroupReceiverOptions): Promise<EspUdpSocket> {
    checkGroup(o.group);
    checkPort(o.port, 'port');
    const socket = await bindUdp({ address: o.group, port: o.port, reuseAddr: true, ...(o.recvBufferSize ? { recvBufferSize: o.recvBufferSize } : {}) });
    try {
      socket.addMembership(o.group, o.interface);
    } catch (e) {
      await closeUdp(socket);
      throw new GkmError('GKM_TRANSPORT_BIND', { field: `join ${o.group} on ${o.interface}`, detail: (e as Error).message, cause: e });
    }
    return new EspUdpSocket(socket, { address: o.group, port: o.port }, 'group-receiver');
  }

  /** A socket that sends to groups: the outgoing interface pinned, TTL and loopback set. */
  static async groupSender(o: GroupSenderOptions): Promise<EspUdpSocket> {
    const ttl = o.ttl ?? 1;
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 255) throw badConfig('ttl', String(o.ttl));
    // IPv4: bind the interface address, so it is also the source. IPv6 ("addr%if" or "::%if"): bind "::".
    const v4 = !o.interface.includes(':');
    if (v4) familyOf(o.interface);
    const address = v4 ? o.interface : '::';
    const socket = await bindUdp({ address, port: 0, ...(o.sendBufferSize ? { sendBufferSize: o.sendBufferSize } : {}) });
    try {
      socket.setMulticastInterface(o.interface);
      socket.setMulticastTTL(ttl);
      socket.setMulticastLoopback(o.loopback ?? false);
    } catch (e) {
      await closeUdp(socket);
      throw new GkmError('GKM_TRANSPORT_BIND', { field: `multicast interface ${o.interface}`, detail: (e as Error).message, cause: e });
    }
    return new EspUdpSocket(socket, { address, port: socket.address().port }, 'group-sender');
  }

  private receive(d: Buffer, r: RemoteInfo): void {
    const c = this.counters;
    c.received++;
    switch (classifyNatTDatagram(d)) {
      case 'esp':
        c.esp++;
        this.onEsp?.(d, { address: r.address, port: r.port }, this.local);
        return;
      case 'ike':
        c.ike++;
        if (this.role === 'unicast') this.onIke?.(d.subarray(NON_ESP_MARKER.length), { address: r.address, port: r.port });
        return;
      case 'keepalive':
        c.keepalives++;
        return;
      case 'invalid':
        c.invalid++;
    }
  }

  /** Sends one ESP packet (SPI first), no marker. Asynchronous failures count as sendErrors. */
  send(esp: Buffer, remote: UdpEndpoint): void {
    if (this.#closing) return;
    try {
      this.socket.send(esp, remote.port, remote.address);
      this.counters.sent++;
    } catch (e) {
      this.counters.sendErrors++;
      this.onError?.(e as Error);
    }
  }

  /** `EspUdpSink`: `via` is this socket. */
  sendEsp(packet: Buffer, remote: UdpEndpoint): void {
    this.send(packet, remote);
  }

  close(): Promise<void> {
    this.#closing ??= closeUdp(this.socket);
    return this.#closing;
  }
}

function checkGroup(group: string): void {
  familyOf(group);
  if (!isMulticast(parseAddress(group))) throw badConfig('group', `${group} is not a multicast address`);
}
