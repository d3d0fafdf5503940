/**
 * The UDP transport for IKE (RFC 7296 §2, §2.23; RFC 3948; RFC 9838 §2.1.1): binds the
 * configured sockets, removes or adds the non-ESP marker, routes ESP-in-UDP to the
 * datapath, counts and drops everything else, and sends NAT keepalives. It decides
 * nothing about IKE SAs: the engine picks the socket (`via`) and the peer for each send.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { GkmError } from '../errors.ts';
import { type AdmissionHook, DEFAULT_SOCKET_BUFFER_BYTES, type ResolvedOptions, type SocketConfig, type TransportOptions, validateOptions } from './config.ts';
import { endpointKey, familyOf, type AddressFamily, type AddressPort, type Endpoint } from './endpoint.ts';
import { defaultMarkerMode, frameIke, ikeMessageOf, inboundKind, NAT_KEEPALIVE, usesMarker, type SocketKind } from './framing.ts';
import { DEFAULT_KEEPALIVE_SECONDS, NatKeepalives } from './keepalive.ts';
import { copyCounters, newCounters, sumCounters, type SocketCounters } from './stats.ts';
import type { BoundSocket, EspHandler, IkeDatagram, IkeHandler, TransportErrorEvent } from './types.ts';

interface Bound extends BoundSocket {
  readonly socket: Socket;
  readonly counters: SocketCounters;
  readonly admit: AdmissionHook | undefined;
}

export interface TransportStats {
  readonly total: SocketCounters;
  readonly sockets: readonly (BoundSocket & { readonly counters: SocketCounters })[];
  /** Paths with NAT keepalives running. */
  readonly keepalives: number;
}

type Events = { error: [TransportErrorEvent] };

/** Up to this many sockets `#socketAt` only scans them (the map is for larger transports). */
const SCAN_LIMIT = 8;

/**
 * Resolve literal addresses only: a host name never reaches DNS from here (a send to one
 * fails like any other send). dgram passes the wanted family as a number.
 *
 * A literal answers at once rather than on the next tick: dgram does nothing after calling
 * lookup (send, bind, connect), so the datagram goes to the kernel inside `socket.send`
 * without a tick queue entry per send. Failures keep dns.lookup's asynchronous callback.
 */
function literalLookup(
  hostname: string,
  options: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const family = isIP(hostname);
  const wanted = typeof options === 'number' ? options : (options as { family?: unknown } | undefined)?.family;
  if (family === 0 || (typeof wanted === 'number' && wanted !== 0 && wanted !== family)) {
    const err: NodeJS.ErrnoException = new Error(`not a literal IPv${String(wanted)} address: ${JSON.stringify(hostname)}`);
    err.code = 'EINVAL';
    process.nextTick(callback, err, '', 0);
    return;
  }
  callback(null, hostname, family);
}

export class IkeTransport extends EventEmitter<Events> {
  readonly #options: ResolvedOptions;
  readonly #bound: Bound[] = [];
  readonly #byLocal = new Map<string, Bound>();
  readonly #keepalives = new NatKeepalives((remote, via) => this.#sendKeepalive(remote, via));
  #admit: AdmissionHook | undefined;
  #ikeHandler: IkeHandler | undefined;
  #espHandler: EspHandler | undefined;
  #closing: Promise<void> | undefined;

  private constructor(options: ResolvedOptions, admit: AdmissionHook | undefined) {
    super();
    this.#options = options;
    this.#admit = admit;
  }

  /** Bind every configured socket; on any failure the ones already bound are closed (GKM_TRANSPORT_BIND). */
  static async open(options: TransportOptions): Promise<IkeTransport> {
    const t = new IkeTransport(validateOptions(options), options.admit);
    try {
      for (const cfg of options.sockets) t.#add(await bindSocket(cfg, options));
    } catch (e) {
      await t.close();
      throw e;
    }
    return t;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** The IKE engine's entry point (one handler; a new one replaces the old). */
  setIkeHandler(handler: IkeHandler | undefined): void {
    this.#ikeHandler = handler;
  }

  /** The datapath's entry point for ESP-in-UDP on 'natt' sockets. */
  setEspHandler(handler: EspHandler | undefined): void {
    this.#espHandler = handler;
  }

  /** Transport-wide admission hook (a socket's own hook wins). */
  setAdmissionHook(hook: AdmissionHook | undefined): void {
    this.#admit = hook;
  }

  sockets(): BoundSocket[] {
    return this.#bound.map(({ local, kind, marker }) => ({ local, kind, marker }));
  }

  /** The first bound socket of this kind and family, e.g. where to start or float a path. */
  localEndpoint(kind: SocketKind, family: AddressFamily): Endpoint | undefined {
    return this.#bound.find((b) => b.kind === kind && b.local.family === family)?.local;
  }

  /** Whether IKE from `via` to a peer on `remotePort` carries the marker (e.g. for the fragment budget). */
  marksPath(via: AddressPort, remotePort: number): boolean {
    const b = this.#socketAt(via);
    return usesMarker(b.marker, b.local.port, remotePort, this.#options.plainPorts);
  }

  /**
   * Send one IKE message from the socket bound at `via`, with the marker when the path
   * needs it. Resolves true once handed to the kernel, false on failure or after close
   * (never rejects: failures are counted and reported as 'error' events). Throws
   * GKM_TRANSPORT_NO_SOCKET when nothing is bound at `via`.
   */
  send(message: Buffer, remote: AddressPort, via: AddressPort): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    const b = this.#socketAt(via);
    const data = frameIke(message, usesMarker(b.marker, b.local.port, remote.port, this.#options.plainPorts));
    return new Promise((resolve) => {
      try {
        b.socket.send(data, remote.port, remote.address, (err: Error | null) => {
          if (err) this.#sendFailed(b, remote, err);
          else b.counters.sent++;
          resolve(!err);
        });
        this.#keepalives.noteSent(b.local, remote);
      } catch (e) {
        this.#sendFailed(b, remote, e);
        resolve(false);
      }
    });
  }

  /**
   * Send one ESP packet (RFC 3948 §2.1: no marker) from a 'natt' socket. The hot path: no
   * promise; asynchronous failures arrive as 'error' events (operation 'socket').
   */
  sendEsp(packet: Buffer, remote: AddressPort, via: AddressPort): void {
    if (this.closed) return;
    const b = this.#natTSocketAt(via);
    // A zero first word would read as an IKE message (SPI 0 is reserved, RFC 4303 §2.1).
    if (packet.length < 8 || packet.readUInt32BE(0) === 0) {
      throw new GkmError('GKM_ESP_MALFORMED', { field: 'spi', detail: 'ESP-in-UDP needs a non-zero SPI and a sequence number' });
    }
    this.#sendRaw(b, packet, remote, 'espSent');
  }

  /**
   * Send NAT keepalives from the 'natt' socket at `via` to `remote` every `intervalSeconds`
   * (default 20) while nothing else is sent there. Call while NAT is detected on our side
   * (`keepaliveNeeded`); restarting replaces the interval.
   */
  startKeepalive(remote: AddressPort, via: AddressPort, intervalSeconds = DEFAULT_KEEPALIVE_SECONDS): void {
    if (this.closed) return;
    this.#natTSocketAt(via);
    this.#keepalives.start(remote, via, intervalSeconds);
  }

  stopKeepalive(remote: AddressPort, via: AddressPort): boolean {
    return this.#keepalives.stop(remote, via);
  }

  stats(): TransportStats {
    return {
      total: sumCounters(this.#bound.map((b) => b.counters)),
      sockets: this.#bound.map(({ local, kind, marker, counters }) => ({ local, kind, marker, counters: copyCounters(counters) })),
      keepalives: this.#keepalives.active,
    };
  }

  /** Stop keepalives and close every socket; idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#keepalives.stopAll();
      await Promise.all(this.#bound.map((b) => closeSocket(b.socket)));
    })();
    return this.#closing;
  }

  #add(b: Bound): void {
    this.#bound.push(b);
    this.#byLocal.set(endpointKey(b.local), b);
    b.socket.on('message', (datagram, rinfo) => this.#receive(b, datagram, rinfo));
    b.socket.on('error', (error) => {
      b.counters.socketErrors++;
      this.#report({ operation: 'socket', local: b.local, error });
    });
  }

  /** Per datagram: one kind test, then only the objects the handler receives (endpoint, IkeDatagram). */
  #receive(b: Bound, datagram: Buffer, rinfo: RemoteInfo): void {
    if (this.closed) return;
    b.counters.received++;
    const marked = usesMarker(b.marker, b.local.port, rinfo.port, this.#options.plainPorts);
    const kind = inboundKind(datagram, { marked, acceptEsp: b.kind === 'natt', maxIkeLength: this.#options.maxIkeLength });
    switch (kind) {
      case 'ike':
        return this.#deliverIke(b, {
          data: ikeMessageOf(datagram, marked),
          remote: { address: rinfo.address, port: rinfo.port, family: b.local.family },
          local: b.local,
          socketKind: b.kind,
          marked,
        });
      case 'esp':
        return this.#deliverEsp(b, datagram, { address: rinfo.address, port: rinfo.port, family: b.local.family });
      case 'keepalive':
        b.counters.keepalivesReceived++;
        return;
      default:
        b.counters.dropped[kind]++;
    }
  }

  #deliverEsp(b: Bound, packet: Buffer, remote: Endpoint): void {
    const handler = this.#espHandler;
    if (handler === undefined) {
      b.counters.dropped.noEspHandler++;
      return;
    }
    b.counters.espDelivered++;
    try {
      handler(packet, remote, b.local);
    } catch (error) {
      this.#handlerFailed(b, 'esp-handler', remote, error);
    }
  }

  #deliverIke(b: Bound, d: IkeDatagram): void {
    const handler = this.#ikeHandler;
    if (handler === undefined) {
      b.counters.dropped.noIkeHandler++;
      return;
    }
    const admit = b.admit ?? this.#admit;
    if (admit !== undefined) {
      let admitted: boolean;
      try {
        admitted = admit(d);
      } catch (error) {
        admitted = false; // fail closed
        this.#handlerFailed(b, 'admission', d.remote, error);
      }
      if (!admitted) {
        b.counters.dropped.rateLimited++;
        return;
      }
    }
    b.counters.ikeDelivered++;
    try {
      const pending = handler(d);
      if (pending) pending.catch((error: unknown) => this.#handlerFailed(b, 'ike-handler', d.remote, error));
    } catch (error) {
      this.#handlerFailed(b, 'ike-handler', d.remote, error);
    }
  }

  #sendKeepalive(remote: AddressPort, via: AddressPort): void {
    const b = this.#byLocal.get(endpointKey(via));
    if (b !== undefined && !this.closed) this.#sendRaw(b, NAT_KEEPALIVE, remote, 'keepalivesSent');
  }

  /** Fire-and-forget send (ESP, keepalives): asynchronous errors come as socket 'error' events. */
  #sendRaw(b: Bound, data: Buffer, remote: AddressPort, counter: 'espSent' | 'keepalivesSent'): void {
    try {
      b.socket.send(data, remote.port, remote.address);
      b.counters[counter]++;
      this.#keepalives.noteSent(b.local, remote);
    } catch (e) {
      this.#sendFailed(b, remote, e);
    }
  }

  #socketAt(via: AddressPort): Bound {
    const b = this.#bound.length > SCAN_LIMIT ? this.#byLocal.get(endpointKey(via)) : this.#scan(via);
    if (b === undefined) throw new GkmError('GKM_TRANSPORT_NO_SOCKET', { field: 'via', detail: endpointKey(via) });
    return b;
  }

  /** A transport binds a handful of sockets: comparing them beats building a key per send. */
  #scan(via: AddressPort): Bound | undefined {
    for (const b of this.#bound) if (b.local.port === via.port && b.local.address === via.address) return b;
    return undefined;
  }

  #natTSocketAt(via: AddressPort): Bound {
    const b = this.#socketAt(via);
    if (b.kind !== 'natt') throw new GkmError('GKM_TRANSPORT_NO_SOCKET', { field: 'via', detail: `${endpointKey(via)} is not a NAT-T socket` });
    return b;
  }

  #sendFailed(b: Bound, remote: AddressPort, error: unknown): void {
    if (this.closed) return; // sends racing close() are not errors
    b.counters.sendErrors++;
    this.#report({ operation: 'send', local: b.local, remote: endpointOf(remote), error });
  }

  #handlerFailed(b: Bound, operation: 'ike-handler' | 'esp-handler' | 'admission', remote: Endpoint, error: unknown): void {
    b.counters.handlerErrors++;
    this.#report({ operation, local: b.local, remote, error });
  }

  /** Emit only when someone listens (an unheard 'error' event would throw); a throwing listener is contained. */
  #report(event: TransportErrorEvent): void {
    if (this.listenerCount('error') === 0) return;
    try {
      this.emit('error', event);
    } catch {
      // the listener's own failure must not take the sockets down
    }
  }
}

/** An Endpoint for reporting; a malformed address gets the family 'IPv4' rather than a throw. */
function endpointOf(e: AddressPort): Endpoint {
  return { address: e.address, port: e.port, family: isIP(e.address) === 6 ? 'IPv6' : 'IPv4' };
}

function bindSocket(cfg: SocketConfig, opts: TransportOptions): Promise<Bound> {
  const family = familyOf(cfg.address);
  const socket = createSocket({
    type: family === 'IPv6' ? 'udp6' : 'udp4',
    ipv6Only: family === 'IPv6', // the IPv4 sockets are separate; no IPv4-mapped peers
    reuseAddr: cfg.reuseAddr ?? false,
    recvBufferSize: opts.receiveBufferSize ?? DEFAULT_SOCKET_BUFFER_BYTES,
    sendBufferSize: opts.sendBufferSize ?? DEFAULT_SOCKET_BUFFER_BYTES,
    lookup: literalLookup,
  });
  return new Promise((resolve, reject) => {
    const failed = (error: Error): void => {
      void closeSocket(socket);
      reject(new GkmError('GKM_TRANSPORT_BIND', { field: endpointKey(cfg), detail: error.message, cause: error }));
    };
    socket.once('error', failed);
    socket.bind({ address: cfg.address, port: cfg.port }, () => {
      socket.off('error', failed);
      const port = socket.address().port;
      resolve({
        socket,
        local: { address: cfg.address, port, family },
        kind: cfg.kind,
        marker: cfg.marker ?? defaultMarkerMode(cfg.kind, port), // an ephemeral port counts as custom
        counters: newCounters(),
        admit: cfg.admit,
      });
    });
  });
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}
