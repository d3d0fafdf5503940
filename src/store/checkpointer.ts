/**
 * WAL checkpoints off the writing thread (docs/decisions.md, "WAL checkpoints on a thread of
 * their own"). By default SQLite checkpoints in the connection that commits, once the WAL
 * holds `wal_autocheckpoint` pages (1,000): the commit that crosses it copies those pages into
 * the database file and fsyncs it, on the GCKS's event loop, several milliseconds at a time
 * during a registration burst.
 *
 * With the checkpointer, a thread of its own (checkpoint-worker.mjs) runs a PASSIVE
 * checkpoint every `intervalMs` on its own connection: it copies the frames committed so far
 * and fsyncs, without waiting for the writer or blocking it. A WAL that is written
 * continuously is never entirely checkpointed when the next write begins, so it would not
 * restart from its beginning; the writer's own autocheckpoint is therefore kept, at
 * `writerCheckpointPages` (2,000 pages, 8 MiB at 4 KiB): when the WAL reaches it, the writer
 * checkpoints what the thread has not copied yet (little) and the WAL starts over. A larger
 * WAL costs the writer more on reads (SQLite searches one more wal-index hash table per 4,096
 * frames): at 16,384 pages the event loop's CPU per registration rose instead of falling.
 *
 * Failure: if the thread cannot open the database, or a checkpoint fails, the writer's
 * autocheckpoint goes back to SQLite's default and a warning is logged; nothing is lost (the
 * WAL holds every commit until some checkpoint copies it). close() stops the thread
 * synchronously, so that the writer's connection is the last one and its close checkpoints
 * and removes the WAL as without the thread.
 */
import { Worker } from 'node:worker_threads';
import type { SqliteDatabase } from './database.ts';

export interface WalCheckpointerOptions {
  /** The database file (not ":memory:"), already in WAL mode. */
  readonly path: string;
  readonly busyTimeoutMs: number;
  /** How often the thread checkpoints (ms). */
  readonly intervalMs?: number;
  /** The writer's own autocheckpoint while the thread runs (pages). */
  readonly writerCheckpointPages?: number;
  /** Where problems are reported (the store has no logger). */
  readonly warn?: (message: string) => void;
}

/** SQLite's default wal_autocheckpoint. */
export const SQLITE_AUTOCHECKPOINT_PAGES = 1000;
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 100;
export const DEFAULT_WRITER_CHECKPOINT_PAGES = 2_000;
/** close() waits at most this long for the thread's connection to close. */
const STOP_TIMEOUT_MS = 5_000;

const WORKER_URL = new URL('./checkpoint-worker.mjs', import.meta.url);

type WorkerMessage = { readonly t: 'ready' } | { readonly t: 'failed' | 'error'; readonly error: string };

export class WalCheckpointer {
  readonly #db: SqliteDatabase;
  readonly #worker: Worker;
  readonly #control = new Int32Array(new SharedArrayBuffer(4));
  readonly #writerPages: number;
  readonly #warn: (message: string) => void;
  #state: 'starting' | 'running' | 'stopped' = 'starting';

  /** Start the thread; the writer's autocheckpoint changes once it runs. */
  constructor(db: SqliteDatabase, o: WalCheckpointerOptions) {
    this.#db = db;
    this.#writerPages = o.writerCheckpointPages ?? DEFAULT_WRITER_CHECKPOINT_PAGES;
    this.#warn = o.warn ?? (() => undefined);
    this.#worker = new Worker(WORKER_URL, {
      execArgv: [],
      workerData: { path: o.path, intervalMs: o.intervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS, busyTimeoutMs: o.busyTimeoutMs, control: this.#control },
    });
    this.#worker.on('message', (m: WorkerMessage) => this.#received(m));
    this.#worker.on('error', (e) => this.#fallBack(`checkpoint thread error: ${e.message}`));
    this.#worker.on('exit', () => this.#fallBack('checkpoint thread exited'));
    this.#worker.unref(); // it never keeps the process alive
  }

  /** Whether the thread is checkpointing now (the writer's autocheckpoint is raised). */
  get running(): boolean {
    return this.#state === 'running';
  }

  /** Stop the thread and wait (synchronously, bounded) until its connection is closed. */
  stop(): void {
    if (this.#state === 'stopped') return;
    this.#worker.postMessage('stop');
    Atomics.wait(this.#control, 0, 0, STOP_TIMEOUT_MS); // no event runs meanwhile: the state is still ours
    this.#end();
  }

  #received(m: WorkerMessage): void {
    if (m.t === 'ready') {
      if (this.#state !== 'starting' || !this.#db.open) return;
      this.#db.pragma(`wal_autocheckpoint = ${this.#writerPages}`);
      this.#state = 'running';
      return;
    }
    this.#fallBack(m.t === 'failed' ? `checkpoint thread cannot run: ${m.error}` : `background checkpoint failed: ${m.error}`);
  }

  /** The writer checkpoints as SQLite does by default again. */
  #fallBack(reason: string): void {
    if (this.#state === 'stopped') return;
    this.#end();
    this.#warn(`${reason}; the store checkpoints on its own connection again`);
  }

  /** Stopped: the writer's autocheckpoint back to SQLite's default (if it was raised), the thread ended. */
  #end(): void {
    if (this.#state === 'running' && this.#db.open) this.#db.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`);
    this.#state = 'stopped';
    void this.#worker.terminate();
  }
}
