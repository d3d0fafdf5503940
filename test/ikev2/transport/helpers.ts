/** Loopback helpers for transport tests: every wait is bounded. */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { ExchangeType, HeaderFlag } from '../../../src/ikev2/registry/exchange.ts';
import { notify } from '../../../src/ikev2/wire/payloads/index.ts';
import { encodeMessage } from '../../../src/ikev2/wire/message.ts';
import { IkeTransport, type IkeDatagram, type SocketConfig, type TransportOptions } from '../../../src/ikev2/transport/index.ts';

export const WAIT_MS = 2000;
/** A status notify from the private-use range (RFC 7296 §3.10.1: 40960-65535) as filler. */
const PRIVATE_STATUS_NOTIFY = 40960;

/** Resolves when `check` holds, polling; rejects after `ms`. */
export async function waitUntil(check: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Resolves with the value, or rejects after `ms`. */
export function withTimeout<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** A real IKE_SA_INIT-shaped message (header + one notify), `size` bytes or more. */
export function ikeMessage(opts: { size?: number; spiI?: Buffer; response?: boolean; spiR?: Buffer } = {}): Buffer {
  const base = 28 + 8;
  const pad = Math.max(0, (opts.size ?? base) - base);
  return encodeMessage({
    header: {
      spiI: opts.spiI ?? Buffer.from('0102030405060708', 'hex'),
      spiR: opts.spiR ?? Buffer.alloc(8),
      exchangeType: ExchangeType.IKE_SA_INIT,
      flags: opts.response ? HeaderFlag.RESPONSE : HeaderFlag.INITIATOR,
      messageId: 0,
    },
    payloads: [notify(PRIVATE_STATUS_NOTIFY, Buffer.alloc(pad, 0xab))],
  });
}

/** A raw UDP socket standing in for a peer that frames by hand. */
export class RawPeer {
  readonly received: { data: Buffer; port: number; address: string }[] = [];
  private constructor(readonly socket: Socket, readonly address: string) {
    socket.on('message', (data, rinfo) => this.received.push({ data, port: rinfo.port, address: rinfo.address }));
  }

  static async open(address = '127.0.0.1'): Promise<RawPeer> {
    const socket = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4', ipv6Only: address.includes(':') });
    socket.bind(0, address);
    await withTimeout(once(socket, 'listening'), 'raw peer bind');
    return new RawPeer(socket, address);
  }

  get port(): number {
    return this.socket.address().port;
  }

  get endpoint(): { address: string; port: number } {
    return { address: this.address, port: this.port };
  }

  send(data: Buffer, to: { address: string; port: number }): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(data, to.port, to.address, (e) => (e ? reject(e) : resolve())));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** An open transport whose IKE datagrams are collected. */
export async function collecting(opts: TransportOptions): Promise<{ transport: IkeTransport; ike: IkeDatagram[] }> {
  const transport = await IkeTransport.open(opts);
  const ike: IkeDatagram[] = [];
  transport.setIkeHandler((d) => void ike.push(d));
  return { transport, ike };
}

export const v4 = (kind: SocketConfig['kind'], extra: Partial<SocketConfig> = {}): SocketConfig => ({ address: '127.0.0.1', port: 0, kind, ...extra });
export const v6 = (kind: SocketConfig['kind'], extra: Partial<SocketConfig> = {}): SocketConfig => ({ address: '::1', port: 0, kind, ...extra });
