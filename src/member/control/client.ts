/** Client side of the control socket (gkmctl, tests): one request at a time or several in flight. */
import { connect, type Socket } from 'node:net';
import { ControlError, type ControlCommand, type ControlResponse } from './protocol.ts';

export class ControlClient {
  readonly #socket: Socket;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  #buffer = '';

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#onData(chunk));
    socket.on('close', () => this.#failAll(new ControlError('FAILED', 'control connection closed')));
    socket.on('error', (e) => this.#failAll(e));
  }

  static connect(path: string): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new ControlClient(socket));
      });
      socket.once('error', (e: NodeJS.ErrnoException) => reject(new ControlError('FAILED', `cannot connect to ${path}: ${e.code ?? e.message}`)));
    });
  }

  /** Sends a command; resolves with its result or rejects with its ControlError. */
  request(command: ControlCommand): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#socket.write(JSON.stringify({ id, ...command }) + '\n');
    });
  }

  close(): void {
    this.#socket.end();
  }

  #onData(chunk: string): void {
    this.#buffer += chunk;
    let nl: number;
    while ((nl = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, nl);
      this.#buffer = this.#buffer.slice(nl + 1);
      const r = JSON.parse(line) as ControlResponse;
      const p = typeof r.id === 'number' ? this.#pending.get(r.id) : undefined;
      if (!p || typeof r.id !== 'number') continue;
      this.#pending.delete(r.id);
      if (r.ok) p.resolve(r.result);
      else p.reject(new ControlError(r.error.code, r.error.message));
    }
  }

  #failAll(e: Error): void {
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
  }
}
