/**
 * The control socket: a unix socket (mode 0600, in a 0700 directory we create if missing)
 * answering line-delimited JSON requests (protocol.ts) through a handler. Requests of one
 * connection are answered in order. A stale socket file is replaced; one a live daemon
 * listens on is an error.
 */
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { ControlError, MAX_LINE, parseRequest, requestId, type ControlCommand, type ControlResponse } from './protocol.ts';

export type ControlHandler = (command: ControlCommand) => unknown;

/** The error a handler throws, as the protocol reports it. */
function errorOf(e: unknown): { code: string; message: string } {
  if (e instanceof ControlError) return { code: e.code, message: e.message };
  const code = (e as { code?: unknown })?.code;
  return { code: typeof code === 'string' ? code : 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

function probe(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function clearStale(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new ControlError('FAILED', `${path} exists and is not a socket`);
  if (await probe(path)) throw new ControlError('FAILED', `another daemon listens on ${path}`);
  unlinkSync(path);
}

export class ControlServer {
  readonly #server: Server;
  readonly #clients = new Set<Socket>();

  private constructor(
    readonly path: string,
    server: Server,
  ) {
    this.#server = server;
  }

  static async listen(path: string, handler: ControlHandler): Promise<ControlServer> {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    await clearStale(path);
    const server = createServer();
    const cs = new ControlServer(path, server);
    server.on('connection', (socket) => cs.#serve(socket, handler));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(path, 0o600);
    return cs;
  }

  #serve(socket: Socket, handler: ControlHandler): void {
    this.#clients.add(socket);
    socket.on('close', () => this.#clients.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setEncoding('utf8');
    let buffer = '';
    let queue = Promise.resolve();
    const reply = (r: ControlResponse): void => {
      if (!socket.destroyed) socket.write(JSON.stringify(r) + '\n');
    };
    const tooLong = (): void => {
      socket.removeAllListeners('data');
      queue = queue.then(() => {
        reply({ ok: false, error: { code: 'BAD_REQUEST', message: `request line longer than ${MAX_LINE} octets` } });
        socket.end();
      });
    };
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line.length > MAX_LINE) return tooLong();
        if (line !== '') queue = queue.then(() => this.#answer(line, handler, reply));
      }
      if (buffer.length > MAX_LINE) tooLong();
    });
  }

  async #answer(line: string, handler: ControlHandler, reply: (r: ControlResponse) => void): Promise<void> {
    let id: string | number | undefined;
    try {
      id = requestId(JSON.parse(line));
    } catch {
      // parseRequest reports it
    }
    const withId = id === undefined ? {} : { id };
    try {
      const { id: _id, ...command } = parseRequest(line);
      reply({ ...withId, ok: true, result: (await handler(command as ControlCommand)) ?? null });
    } catch (e) {
      reply({ ...withId, ok: false, error: errorOf(e) });
    }
  }

  async close(): Promise<void> {
    for (const c of this.#clients) c.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}
