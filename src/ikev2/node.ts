/**
 * An IKE node: one UDP transport (src/ikev2/transport) feeding one IKE engine
 * (src/ikev2/sa), as both the GCKS and the member run it.
 *
 *   transport ──datagram──▶ SocketPaths (real local address) ──▶ engine.receive
 *   engine.sender ──(local endpoint → bound socket)──▶ transport.send
 *
 * NAT detection hashes our address, so a datagram's local address must be the one the peer
 * sent to: on a wildcard socket it is the kernel's source address towards the sender (a
 * connected UDP socket tells it; dgram cannot read a datagram's destination).
 */
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { IkeEngine, type EngineDeps } from './sa/engine.ts';
import { endpointText, type Endpoint } from './sa/types.ts';
import { IkeTransport, type AddressPort, type BoundSocket, type TransportErrorEvent, type TransportOptions } from './transport/index.ts';

const WILDCARD = { 4: '0.0.0.0', 6: '::' } as const;
const isWildcard = (address: string): boolean => address === WILDCARD[4] || address === WILDCARD[6];
const familyOf = (ip: string): 4 | 6 => (isIP(ip) === 6 ? 6 : 4);

/** The kernel's source address towards `remote` (no packet is sent). */
export function routeSource(remote: string): Promise<string> {
  const socket = createSocket(familyOf(remote) === 6 ? 'udp6' : 'udp4');
  return new Promise<string>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(9, remote, () => resolve(socket.address().address));
  }).finally(() => socket.close());
}

/** Engine endpoints ⇄ transport sockets. */
export class SocketPaths {
  readonly #sockets: readonly BoundSocket[];
  readonly #sources = new Map<string, Promise<string>>();

  constructor(sockets: readonly BoundSocket[]) {
    this.#sockets = sockets;
  }

  /** The socket to send from for the engine's local endpoint: exact, else the wildcard on that port. */
  via(local: Endpoint): AddressPort | undefined {
    const exact = this.#sockets.find((s) => s.local.address === local.ip && s.local.port === local.port);
    const b = exact ?? this.#sockets.find((s) => isWildcard(s.local.address) && s.local.port === local.port && familyOf(s.local.address) === familyOf(local.ip));
    return b && { address: b.local.address, port: b.local.port };
  }

  /** The engine's view of a received datagram's ends: the real local address, even on a wildcard socket. */
  async endpoints(remote: AddressPort, local: AddressPort): Promise<{ remote: Endpoint; local: Endpoint }> {
    const ip = isWildcard(local.address) ? await this.sourceFor(remote.address) : local.address;
    return { remote: { ip: remote.address, port: remote.port }, local: { ip, port: local.port } };
  }

  /** endpoints() without waiting, when the socket is bound to a literal address; else undefined. */
  endpointsNow(remote: AddressPort, local: AddressPort): { remote: Endpoint; local: Endpoint } | undefined {
    if (isWildcard(local.address)) return undefined;
    return { remote: { ip: remote.address, port: remote.port }, local: { ip: local.address, port: local.port } };
  }

  /** Our address for talking to `remote` (cached per peer address). */
  sourceFor(remote: string): Promise<string> {
    let p = this.#sources.get(remote);
    if (!p) {
      p = routeSource(remote);
      this.#sources.set(remote, p);
      p.catch(() => this.#sources.delete(remote));
    }
    return p;
  }

  /** Our address for an initiation to `remote` from a connection's `local_addrs`. */
  async localFor(localAddrs: readonly string[], remote: string): Promise<string> {
    return localAddrs.find((a) => familyOf(a) === familyOf(remote)) ?? (await this.sourceFor(remote));
  }
}

export interface IkeNodeOptions {
  readonly transport: TransportOptions;
  readonly engine: Omit<EngineDeps, 'sender'>;
  /** A datagram the engine wanted to send from an endpoint no socket is bound to. */
  readonly onUnroutable?: (remote: Endpoint, local: Endpoint) => void;
  readonly onTransportError?: (e: TransportErrorEvent) => void;
}

/** Transport + engine, wired. Close with `close()`. */
export class IkeNode {
  readonly engine: IkeEngine;
  readonly transport: IkeTransport;
  readonly paths: SocketPaths;

  private constructor(transport: IkeTransport, o: IkeNodeOptions) {
    this.transport = transport;
    this.paths = new SocketPaths(transport.sockets());
    this.engine = new IkeEngine({
      ...o.engine,
      sender: {
        send: (datagram, remote, local) => {
          const via = this.paths.via(local);
          if (!via) return o.onUnroutable?.(remote, local);
          void transport.send(datagram, { address: remote.ip, port: remote.port }, via);
        },
      },
    });
    transport.setIkeHandler((d) => {
      // A socket on a literal address needs no route lookup: no extra tick per datagram.
      const now = this.paths.endpointsNow(d.remote, d.local);
      if (now) return this.engine.receive(d.data, now.remote, now.local);
      return this.paths.endpoints(d.remote, d.local).then(({ remote, local }) => this.engine.receive(d.data, remote, local));
    });
    if (o.onTransportError) transport.on('error', o.onTransportError);
  }

  static async open(o: IkeNodeOptions): Promise<IkeNode> {
    return new IkeNode(await IkeTransport.open(o.transport), o);
  }

  /** Bound sockets as `kind@address:port`. */
  get sockets(): string[] {
    return this.transport.sockets().map((s) => `${s.kind}@${endpointText({ ip: s.local.address, port: s.local.port })}`);
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
