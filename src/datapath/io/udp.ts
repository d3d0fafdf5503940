/**
 * UDP plumbing shared by the ESP sockets and the plaintext tap: endpoints as text (what
 * node:dgram speaks), a bounded cache of parsed addresses for the per-packet path, and
 * socket open/close that never hang and never throw on a closed socket.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { GkmError } from '../../ikev2/errors.ts';
import { parseAddress, type Address } from '../address.ts';

/** A literal IP address (never a host name) and a port. Structurally the IKE transport's `AddressPort`. */
export interface UdpEndpoint {
  readonly address: string;
  readonly port: number;
}

export interface UdpSocketOptions {
  /** Literal address to bind (a multicast group for group receivers, on Linux). */
  readonly address: string;
  /** 0: ephemeral. */
  readonly port: number;
  readonly reuseAddr?: boolean;
  readonly recvBufferSize?: number;
  readonly sendBufferSize?: number;
}

export const BIND_TIMEOUT_MS = 5000;

const config = (field: string, detail: string): GkmError => new GkmError('GKM_TRANSPORT_CONFIG', { field, detail });

export function familyOf(address: string): 4 | 6 {
  const f = isIP(address);
  if (f !== 4 && f !== 6) throw config('address', `not a literal IP address: ${JSON.stringify(address)}`);
  return f;
}

export function checkPort(port: number, field: string, allowZero = false): void {
  if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 0xffff) throw config(field, String(port));
}

export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/**
 * Literal-only resolution (as the IKE transport): a host name passed by mistake fails the
 * send instead of reaching DNS on the packet path.
 */
function literalLookup(
  hostname: string,
  _options: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const family = isIP(hostname);
  if (family === 0) {
    const err: NodeJS.ErrnoException = new Error(`not a literal IP address: ${JSON.stringify(hostname)}`);
    err.code = 'EINVAL';
    process.nextTick(callback, err, '', 0);
  } else {
    process.nextTick(callback, null, hostname, family);
  }
}

/** Binds a UDP socket; rejects with GKM_TRANSPORT_BIND (socket closed) on failure or after the timeout. */
export function bindUdp(o: UdpSocketOptions): Promise<Socket> {
  const family = familyOf(o.address);
  checkPort(o.port, 'port', true);
  const socket = createSocket({
    type: family === 6 ? 'udp6' : 'udp4',
    ipv6Only: family === 6,
    reuseAddr: o.reuseAddr ?? false,
    lookup: literalLookup,
    ...(o.recvBufferSize ? { recvBufferSize: o.recvBufferSize } : {}),
    ...(o.sendBufferSize ? { sendBufferSize: o.sendBufferSize } : {}),
  });
  return new Promise((resolve, reject) => {
    const fail = (error: Error): void => {
      clearTimeout(timer);
      void closeUdp(socket);
      reject(new GkmError('GKM_TRANSPORT_BIND', { field: `${o.address}:${o.port}`, detail: error.message, cause: error }));
    };
    const timer = setTimeout(() => fail(new Error(`bind did not complete in ${BIND_TIMEOUT_MS} ms`)), BIND_TIMEOUT_MS);
    socket.once('error', fail);
    socket.bind({ address: o.address, port: o.port }, () => {
      clearTimeout(timer);
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

export function closeUdp(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

/**
 * Text → raw address for the receive path (`rinfo.address` is a string). Bounded: the
 * cache is cleared when full, so a flood of spoofed sources costs parsing, not memory.
 */
export class AddressCache {
  private readonly map = new Map<string, Address>();
  constructor(private readonly limit = 1024) {}

  get(text: string): Address {
    let a = this.map.get(text);
    if (a === undefined) {
      // Link-local sources come with a zone ("fe80::1%eth0"): the address is what we key on.
      const zone = text.indexOf('%');
      a = parseAddress(zone < 0 ? text : text.slice(0, zone));
      if (this.map.size >= this.limit) this.map.clear();
      this.map.set(text, a);
    }
    return a;
  }
}
