/**
 * A bounded pool of fresh ephemeral key pairs (X25519/X448 on the native addon, ML-KEM through
 * PQClean), generated ahead of use by ONE worker thread so that the event-loop thread does not
 * pay key generation during an exchange (docs/decisions.md, "Ephemeral key pairs generated
 * ahead on a worker thread").
 *
 * - Each pair is handed out once, copied out of its batch into allocations of its own (the
 *   private key never in Node's shared Buffer pool), and its bytes in the batch are wiped at
 *   once; the caller wipes its private key when the exchange completes, as before.
 * - Bounded: at most `capacity` pairs per kind, ready or requested; a take() below that asks the
 *   worker for another batch (an ArrayBuffer transferred, not copied). Pairs older than
 *   `maxAgeMs` are wiped unused, so an idle process holds no pre-generated keys for long.
 * - take() never waits: an empty pool returns undefined and the caller generates synchronously,
 *   as it did before the pool existed.
 * - The worker starts at the first take() and is unref'd: it neither delays a short process's
 *   start nor keeps one alive. If it fails to start, dies or cannot generate a kind, the pool
 *   warns once and the callers generate synchronously from then on; nothing throws.
 * - GKM_KEYGEN_POOL=0 turns it off (A/B measurements). Known-answer paths (a fixed private
 *   input) never consult it: only the fresh-key branches of ke-dh.ts and ml-kem-pqclean.ts do.
 *
 * Derive ahead (docs/decisions.md, "X25519 shared secret derived ahead on the worker"): an
 * IKE_SA_INIT responder needs g^ir only when the peer's next message arrives, a round trip
 * later. deriveAhead() queues (private key, peer value[, KDF inputs]) for the same worker;
 * the jobs of a 2 ms window (at most 32) travel as one transferred buffer, which the worker
 * wipes once computed, and come back as one buffer of secrets (or of IKE SA keys, with
 * DeriveRecipe.kdf). take() hands a secret over once it has arrived; until
 * then (or if the worker failed) it returns undefined and the caller derives synchronously
 * with the private key it kept, so nothing ever waits. cancel() wipes a secret nobody will
 * take. It costs more CPU in all (a thread wake-up per batch; a secret taken before its batch
 * came back is computed twice), so it is off unless a process asks for it (useDeriveAhead: the
 * GCKS, whose event-loop thread bounds its registration rate). GKM_DERIVE_AHEAD=1 / 0
 * forces it on / off in any process.
 */
import { Worker } from 'node:worker_threads';

/** How the worker makes one pair of a kind (keypair-worker.mjs runs it). */
export type KeyPairRecipe =
  | { readonly type: 'xdh'; readonly addon: string; readonly curve: 25519 | 448 }
  | { readonly type: 'pqclean'; readonly module: string; readonly algorithm: string };

export interface KeyPairKind {
  /** Unique per pool, e.g. 'x25519', 'ml-kem-768'. */
  readonly name: string;
  readonly publicLength: number;
  readonly privateLength: number;
  readonly recipe: KeyPairRecipe;
}

export interface PooledKeyPair {
  readonly publicData: Buffer;
  /** An allocation of its own; the caller wipes it when done. */
  readonly privateKey: Buffer;
}

export interface KeyPairSource {
  /** A fresh pair never handed out before, or undefined (then generate synchronously). Never waits. */
  take(): PooledKeyPair | undefined;
}

/** A shared secret the worker computes ahead (deriveAhead). */
export interface AheadSecret {
  /** The secret (ownership passes: the caller wipes it) once computed, else undefined. Once. */
  take(): Buffer | undefined;
  /** Not needed any more: wiped when it arrives (or now). */
  cancel(): void;
}

/** How the worker computes a shared secret: X25519/X448 on the native addon. */
export interface DeriveRecipe {
  readonly addon: string;
  readonly curve: 25519 | 448;
  /** Private key, peer value and secret length (octets). */
  readonly size: number;
  /**
   * Then, on the addon, keys from the secret: prf+(prf(kdfKey, secret), kdfSeed) of `length`
   * octets with HMAC `hash` (the addon's hmac/prfPlus index; `digestSize` its output), i.e.
   * RFC 7296 §2.14 SKEYSEED and SK_* for kdfKey = Ni | Nr, kdfSeed = Ni | Nr | SPIi | SPIr.
   * take() then returns these keys, and the shared secret never comes back.
   */
  readonly kdf?: { readonly hash: number; readonly digestSize: number; readonly length: number };
}

/** The per-exchange inputs of DeriveRecipe.kdf. */
export interface KdfInput {
  readonly key: Buffer;
  readonly seed: Buffer;
}

/** Longest kdfKey / kdfSeed accepted (two 256-octet nonces and two SPIs). */
const MAX_KDF_INPUT = 0xffff;

export interface KeyPairPoolOptions {
  /** Pairs per kind, ready or requested (default 128). */
  readonly capacity?: number;
  /** Pairs per worker reply (default 32: each request wakes the worker, which costs the event loop more than the pairs). */
  readonly batch?: number;
  /** Ready pairs older than this are wiped unused (default 30 s). */
  readonly maxAgeMs?: number;
  /** Where the one warning about falling back goes (default process.emitWarning). */
  readonly warn?: (message: string) => void;
  /** The worker script (tests point it at a failing one). */
  readonly workerUrl?: URL;
  /** Niceness of the worker thread, 0-19 (default GKM_KEYGEN_POOL_NICE, else 0). */
  readonly nice?: number;
  /** deriveAhead() on the worker (default: off; GKM_DERIVE_AHEAD=1 / 0 overrides this and useDeriveAhead()). */
  readonly deriveAhead?: boolean;
}

export interface KeyPairPoolStats {
  readonly worker: 'not started' | 'running' | 'failed' | 'closed';
  /** Derive ahead: secrets taken from the worker, and takes that found none (derived synchronously). */
  readonly derive: { readonly ahead: number; readonly fallback: number };
  readonly kinds: readonly { readonly name: string; readonly ready: number; readonly requested: number; readonly taken: number; readonly missed: number; readonly expired: number }[];
}

interface Batch {
  readonly bytes: Uint8Array;
  readonly count: number;
  readonly at: number;
  next: number;
}

interface WorkerReply {
  /** 'derived': the reply to the oldest derive batch in flight. */
  readonly op?: 'derived';
  /** Derive jobs whose secret was all zero (their output is zero; derived again synchronously, which refuses them). */
  readonly refused?: readonly number[];
  readonly kind: number;
  readonly count?: number;
  readonly buffer?: ArrayBuffer;
  readonly error?: string;
}

const WORKER_URL = new URL('./keypair-worker.mjs', import.meta.url);

/**
 * Derive jobs wait this long for company before they are posted: each message wakes the
 * worker, which costs the event loop far more than the copy (a message per job took 3% of a
 * GCKS's profile). The secret is due a round trip later; a take() before it has arrived
 * derives synchronously, as without the worker.
 */
const DERIVE_WINDOW_MS = 2;
const DERIVE_BATCH = 32;

const DERIVE_QUEUED = 0;
const DERIVE_DONE = 1;
const DERIVE_CANCELLED = 2;
const DERIVE_FAILED = 3;

class DeriveJob implements AheadSecret {
  state = DERIVE_QUEUED;
  secret: Buffer | undefined;
  constructor(
    readonly pool: KeyPairPool,
    readonly recipe: DeriveRecipe,
    /** The caller's (it wipes it); copied into the batch buffer, which the worker wipes. */
    readonly privateKey: Buffer,
    readonly peer: Buffer,
    readonly kdfInput: KdfInput | undefined,
  ) {}
  take(): Buffer | undefined {
    const secret = this.secret;
    this.secret = undefined;
    if (this.state === DERIVE_QUEUED || this.state === DERIVE_DONE) this.pool.counted(secret !== undefined);
    this.state = DERIVE_CANCELLED;
    return secret;
  }
  cancel(): void {
    this.secret?.fill(0);
    this.secret = undefined;
    this.state = DERIVE_CANCELLED;
  }
}

class KindQueue implements KeyPairSource {
  readonly batches: Batch[] = [];
  ready = 0;
  requested = 0;
  failed = false;
  taken = 0;
  missed = 0;
  expired = 0;
  constructor(
    readonly pool: KeyPairPool,
    readonly index: number,
    readonly kind: KeyPairKind,
  ) {}
  take(): PooledKeyPair | undefined {
    return this.pool.take(this);
  }
}

export class KeyPairPool {
  readonly #capacity: number;
  readonly #batch: number;
  readonly #maxAgeMs: number;
  readonly #warn: (message: string) => void;
  readonly #workerUrl: URL;
  readonly #nice: number;
  readonly #kinds: KindQueue[] = [];
  #worker: Worker | undefined;
  /** Shared with the worker: [0] stop, [1] busy in native code (keypair-worker.mjs). */
  #control: Int32Array | undefined;
  readonly #quiesce = (): void => this.#stopWorker();
  #state: KeyPairPoolStats['worker'] = 'not started';
  #sweep: NodeJS.Timeout | undefined;
  #deriveAheadOn: boolean;
  readonly #deriveAheadForced: boolean;
  /** Jobs posted together, DERIVE_WINDOW_MS after the first or at DERIVE_BATCH. */
  #deriveQueue: DeriveJob[] = [];
  #deriveTimer: NodeJS.Timeout | undefined;
  /** Posted batches, oldest first (the worker answers in order). */
  readonly #deriveInFlight: DeriveJob[][] = [];
  #derivedAhead = 0;
  #derivedFallback = 0;

  constructor(options: KeyPairPoolOptions = {}) {
    this.#batch = Math.max(1, options.batch ?? 32);
    this.#capacity = Math.max(this.#batch, options.capacity ?? 128);
    this.#maxAgeMs = options.maxAgeMs ?? 30_000;
    this.#warn = options.warn ?? ((m) => process.emitWarning(m, 'GkmKeyPairPoolWarning'));
    this.#workerUrl = options.workerUrl ?? WORKER_URL;
    this.#nice = Math.min(19, Math.max(0, options.nice ?? (Number(process.env['GKM_KEYGEN_POOL_NICE']) || 0)));
    const forced = process.env['GKM_DERIVE_AHEAD'];
    this.#deriveAheadForced = forced === '0' || forced === '1';
    this.#deriveAheadOn = this.#deriveAheadForced ? forced === '1' : options.deriveAhead ?? false;
  }

  /**
   * Turns deriveAhead() on or off for this pool (unless GKM_DERIVE_AHEAD forces it). For a
   * process whose event-loop thread is the bottleneck and that has another core: the event
   * loop then does less, the process as a whole a little more (docs/decisions.md).
   */
  useDeriveAhead(on: boolean): void {
    if (!this.#deriveAheadForced) this.#deriveAheadOn = on;
  }

  /**
   * Starts computing a shared secret on the worker (copies of both inputs travel at the end of
   * this turn; the caller keeps its private key to derive synchronously if take() finds
   * nothing, and must not wipe it before cancel() or take()). undefined: derive ahead is off
   * or the worker is not usable.
   */
  deriveAhead(recipe: DeriveRecipe, privateKey: Buffer, peer: Buffer, kdfInput?: KdfInput): AheadSecret | undefined {
    if (!this.#deriveAheadOn || this.#state === 'failed' || this.#state === 'closed') return undefined;
    if (privateKey.length !== recipe.size || peer.length !== recipe.size) return undefined;
    if ((recipe.kdf !== undefined) !== (kdfInput !== undefined)) return undefined;
    if (kdfInput && (kdfInput.key.length > MAX_KDF_INPUT || kdfInput.seed.length > MAX_KDF_INPUT)) return undefined;
    if (!(this.#worker ?? this.#start())) return undefined;
    const job = new DeriveJob(this, recipe, privateKey, peer, kdfInput);
    const queued = this.#deriveQueue.push(job);
    if (queued === 1) this.#deriveTimer = setTimeout(this.#postDerives, DERIVE_WINDOW_MS).unref();
    else if (queued >= DERIVE_BATCH) this.#postDerives();
    return job;
  }

  /** @internal DeriveJob.take(): whether the worker's secret was there. */
  counted(ahead: boolean): void {
    if (ahead) this.#derivedAhead++;
    else this.#derivedFallback++;
  }

  /**
   * One message per recipe for the queued jobs, transferred: count x (private key | peer value
   * [| u16 key length | kdf key | u16 seed length | kdf seed]).
   */
  readonly #postDerives = (): void => {
    clearTimeout(this.#deriveTimer);
    this.#deriveTimer = undefined;
    const queued = this.#deriveQueue.filter((j) => j.state === DERIVE_QUEUED);
    this.#deriveQueue = [];
    const worker = this.#worker;
    if (!worker || queued.length === 0) {
      for (const j of queued) j.state = DERIVE_FAILED;
      return;
    }
    const byRecipe = new Map<string, DeriveJob[]>();
    for (const j of queued) {
      const kdf = j.recipe.kdf;
      const key = `${j.recipe.addon}\0${j.recipe.curve}${kdf ? `\0${kdf.hash}\0${kdf.digestSize}\0${kdf.length}` : ''}`;
      const list = byRecipe.get(key);
      if (list) list.push(j);
      else byRecipe.set(key, [j]);
    }
    for (const jobs of byRecipe.values()) {
      const { addon, curve, size, kdf } = jobs[0]!.recipe;
      const bytes = new Uint8Array(jobs.reduce((n, j) => n + 2 * size + (j.kdfInput ? 4 + j.kdfInput.key.length + j.kdfInput.seed.length : 0), 0));
      const view = new DataView(bytes.buffer);
      let at = 0;
      const put = (b: Buffer, withLength: boolean): void => {
        if (withLength) {
          view.setUint16(at, b.length);
          at += 2;
        }
        bytes.set(b, at);
        at += b.length;
      };
      for (const j of jobs) {
        put(j.privateKey, false);
        put(j.peer, false);
        if (j.kdfInput) {
          put(j.kdfInput.key, true);
          put(j.kdfInput.seed, true);
        }
      }
      try {
        worker.postMessage({ op: 'derive', addon, curve, size, kdf, count: jobs.length, buffer: bytes.buffer }, [bytes.buffer]);
      } catch {
        bytes.fill(0);
        for (const j of jobs) j.state = DERIVE_FAILED;
        continue;
      }
      this.#deriveInFlight.push(jobs);
    }
  };

  #derived(m: WorkerReply): void {
    const jobs = this.#deriveInFlight.shift();
    const bytes = m.buffer ? new Uint8Array(m.buffer) : undefined;
    if (!jobs) {
      bytes?.fill(0);
      return;
    }
    const { size: secretSize, kdf } = jobs[0]!.recipe;
    const size = kdf ? kdf.length : secretSize;
    const usable = bytes !== undefined && m.error === undefined && m.count === jobs.length && bytes.length === jobs.length * size;
    jobs.forEach((j, i) => {
      if (j.state !== DERIVE_QUEUED) return;
      if (!usable || m.refused?.includes(i)) {
        j.state = DERIVE_FAILED;
        return;
      }
      const secret = Buffer.allocUnsafeSlow(size);
      secret.set(bytes.subarray(i * size, (i + 1) * size));
      j.secret = secret;
      j.state = DERIVE_DONE;
    });
    bytes?.fill(0);
  }

  #failDerives(): void {
    for (const jobs of this.#deriveInFlight) for (const j of jobs) if (j.state === DERIVE_QUEUED) j.state = DERIVE_FAILED;
    this.#deriveInFlight.length = 0;
  }

  /** The source for one kind (registered once per name; starts nothing). */
  source(kind: KeyPairKind): KeyPairSource {
    const known = this.#kinds.find((q) => q.kind.name === kind.name);
    if (known) return known;
    const q = new KindQueue(this, this.#kinds.length, kind);
    this.#kinds.push(q);
    return q;
  }

  /** @internal KindQueue.take(). */
  take(q: KindQueue): PooledKeyPair | undefined {
    this.#dropExpired(q, performance.now());
    const batch = q.batches[0];
    if (!batch) {
      q.missed++;
      this.#refill(q);
      return undefined;
    }
    const { publicLength, privateLength } = q.kind;
    const start = batch.next * (publicLength + privateLength);
    const end = start + publicLength + privateLength;
    const publicData = Buffer.allocUnsafeSlow(publicLength);
    publicData.set(batch.bytes.subarray(start, start + publicLength));
    const privateKey = Buffer.allocUnsafeSlow(privateLength);
    privateKey.set(batch.bytes.subarray(start + publicLength, end));
    batch.bytes.fill(0, start, end);
    if (++batch.next === batch.count) q.batches.shift();
    q.ready--;
    q.taken++;
    this.#refill(q);
    return { publicData, privateKey };
  }

  stats(): KeyPairPoolStats {
    return {
      worker: this.#state,
      derive: { ahead: this.#derivedAhead, fallback: this.#derivedFallback },
      kinds: this.#kinds.map((q) => ({ name: q.kind.name, ready: q.ready, requested: q.requested, taken: q.taken, missed: q.missed, expired: q.expired })),
    };
  }

  /** Stops the worker and wipes every pair not handed out; take() returns undefined afterwards. */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#stopWorker();
    this.#state = 'closed';
    this.#worker = undefined;
    clearTimeout(this.#sweep);
    process.off('exit', this.#quiesce);
    for (const q of this.#kinds) this.#discard(q);
    clearTimeout(this.#deriveTimer);
    this.#deriveQueue = [];
    this.#failDerives();
    await worker?.terminate();
  }

  /**
   * Asks the worker to stop and waits (at most 1 s) until it is out of native key
   * generation: terminating it inside pqclean's keypair() would abort the process. Runs
   * before close() terminates the worker and on process 'exit' (Node then stops workers).
   */
  #stopWorker(): void {
    const control = this.#control;
    if (!control) return;
    Atomics.store(control, 0, 1);
    const end = performance.now() + 1000;
    while (Atomics.load(control, 1) === 1 && performance.now() < end) Atomics.wait(control, 1, 1, 10);
  }

  #refill(q: KindQueue): void {
    if (q.failed || this.#state === 'failed' || this.#state === 'closed') return;
    const worker = this.#worker ?? this.#start();
    if (!worker) return;
    const { recipe, publicLength, privateLength } = q.kind;
    while (q.ready + q.requested + this.#batch <= this.#capacity) {
      worker.postMessage({ kind: q.index, recipe, count: this.#batch, publicLength, privateLength });
      q.requested += this.#batch;
    }
  }

  #start(): Worker | undefined {
    let worker: Worker;
    try {
      // No execArgv of ours (tsx, --cpu-prof, heap flags): the worker is plain JavaScript.
      this.#control = new Int32Array(new SharedArrayBuffer(8));
      worker = new Worker(this.#workerUrl, { execArgv: [], workerData: { nice: this.#nice, control: this.#control } });
    } catch (e) {
      this.#fail(`could not start: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
    worker.on('message', (m: WorkerReply) => this.#received(m));
    worker.on('error', (e) => this.#fail(`worker error: ${e.message}`));
    worker.on('exit', (code) => this.#fail(`worker exited (code ${code})`));
    worker.unref(); // after the listeners: adding a 'message' listener refs the port again
    process.once('exit', this.#quiesce);
    this.#worker = worker;
    this.#state = 'running';
    return worker;
  }

  #received(m: WorkerReply): void {
    if (m.op === 'derived') return this.#derived(m);
    const q = this.#kinds[m.kind];
    if (!q) return;
    if (m.error !== undefined || !m.buffer || !m.count) {
      q.requested = 0;
      if (!q.failed) {
        q.failed = true;
        this.#warn(`key pair pool: ${q.kind.name} key pairs are generated synchronously from now on (${m.error ?? 'empty reply'})`);
      }
      return;
    }
    const bytes = new Uint8Array(m.buffer);
    q.requested = Math.max(0, q.requested - m.count);
    if (this.#state === 'closed' || bytes.length !== m.count * (q.kind.publicLength + q.kind.privateLength)) {
      bytes.fill(0);
      return;
    }
    q.batches.push({ bytes, count: m.count, at: performance.now(), next: 0 });
    q.ready += m.count;
    this.#sweep ??= setTimeout(() => this.#sweepAll(), this.#maxAgeMs).unref();
  }

  #fail(reason: string): void {
    if (this.#state === 'failed' || this.#state === 'closed') return;
    this.#state = 'failed';
    this.#worker = undefined;
    for (const q of this.#kinds) q.requested = 0;
    this.#failDerives();
    this.#warn(`key pair pool: key pairs are generated synchronously from now on (${reason})`);
  }

  #dropExpired(q: KindQueue, now: number): void {
    for (let b = q.batches[0]; b && now - b.at >= this.#maxAgeMs; b = q.batches[0]) {
      b.bytes.fill(0);
      q.batches.shift();
      q.ready -= b.count - b.next;
      q.expired += b.count - b.next;
    }
  }

  #discard(q: KindQueue): void {
    for (const b of q.batches) b.bytes.fill(0);
    q.batches.length = 0;
    q.ready = 0;
  }

  /** Wipes expired batches while idle; re-arms itself while pairs remain. */
  #sweepAll(): void {
    this.#sweep = undefined;
    const now = performance.now();
    let oldest = Infinity;
    for (const q of this.#kinds) {
      this.#dropExpired(q, now);
      if (q.batches[0]) oldest = Math.min(oldest, q.batches[0].at);
    }
    if (oldest !== Infinity) this.#sweep = setTimeout(() => this.#sweepAll(), Math.max(1, oldest + this.#maxAgeMs - now)).unref();
  }
}

let shared: KeyPairPool | null | undefined;

/** The process-wide pool, or undefined when GKM_KEYGEN_POOL=0 (read at the first call). */
export function keyPairPool(): KeyPairPool | undefined {
  shared ??= process.env['GKM_KEYGEN_POOL'] === '0' ? null : new KeyPairPool();
  return shared ?? undefined;
}
