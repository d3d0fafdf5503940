/** Fixtures for the packet I/O tests: group/unicast SA configs, app sockets, bounded waits. */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { parseAddress } from '../../../src/datapath/address.ts';
import type { GroupIo, NodeSaConfig, UnicastIo } from '../../../src/datapath/io/index.ts';
import type { ModeConfig } from '../../../src/datapath/modes/index.ts';
import type { PlaintextPort } from '../../../src/datapath/io/plaintext.ts';
import { SnId } from '../../../src/ikev2/registry/transform.ts';
import { GCM128, keysFor } from '../helpers.ts';

export const WAIT_MS = 3000;

export async function waitUntil(check: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A multi-sender group SA (RFC 9838 §2.5/§2.6): AES-GCM, Sender-ID IVs, SN value 2, per-sender replay. */
export function groupSa(direction: 'in' | 'out', io: GroupIo, o: { spi?: number; senderId?: number; senderIdBits?: number } = {}): NodeSaConfig {
  const common = {
    spi: o.spi ?? 0x4a4b4c4d,
    algorithms: GCM128,
    keys: keysFor(GCM128, 77),
    sn: SnId.UNSPECIFIED32,
    senderIdBits: o.senderIdBits ?? 8,
    mode: { mode: 'tunnel-preserve' } as ModeConfig,
    io,
  };
  return direction === 'out'
    ? { ...common, direction, senderId: o.senderId ?? 1 }
    : { ...common, direction, perSenderReplay: true, replay: { size: 64 } };
}

/** A unicast tunnel-mode SA carried in UDP (RFC 3948). */
export function unicastSa(direction: 'in' | 'out', spi: number, tunnel: { src: string; dst: string }, io: UnicastIo, seed = 5): NodeSaConfig {
  return {
    direction,
    spi,
    algorithms: GCM128,
    keys: keysFor(GCM128, seed),
    mode: { mode: 'tunnel', src: parseAddress(tunnel.src), dst: parseAddress(tunnel.dst) },
    io,
  };
}

/** An application socket: what sends plaintext to a tap and receives what the tap delivers. */
export class App {
  readonly received: Buffer[] = [];
  private constructor(readonly socket: Socket, readonly port: number) {
    socket.on('message', (m) => this.received.push(m));
  }

  static async open(address = '127.0.0.1', recvBufferSize?: number): Promise<App> {
    const socket = createSocket({ type: 'udp4', ...(recvBufferSize ? { recvBufferSize } : {}) });
    socket.bind(0, address);
    await once(socket, 'listening');
    return new App(socket, socket.address().port);
  }

  send(data: Buffer, port: number, address = '127.0.0.1'): void {
    this.socket.send(data, port, address);
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}

/** An in-memory plaintext side. */
export class MemoryPort implements PlaintextPort {
  readonly written: Buffer[] = [];
  onPacket: ((p: Buffer) => void) | undefined;
  start(onPacket: (p: Buffer) => void): void {
    this.onPacket = onPacket;
  }
  write(p: Buffer): void {
    this.written.push(Buffer.from(p));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A payload that says which packet it is: "gkm-<n>" padded to `size` bytes. */
export function numbered(n: number, size = 64): Buffer {
  const b = Buffer.alloc(size, 0x2e);
  b.write(`gkm-${n}-`, 0, 'latin1');
  return b;
}

export function numberOf(payload: Buffer): number {
  const m = /^gkm-(\d+)-/.exec(payload.subarray(0, 24).toString('latin1'));
  return m ? Number(m[1]) : -1;
}

/** A random unprivileged port for a group (receivers must agree on it in advance). */
export function groupPort(): number {
  return 40000 + Math.floor(Math.random() * 20000);
}
