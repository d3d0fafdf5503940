/**
 * Time-bounded throughput measurement: warm up, calibrate a batch size so the clock is read
 * rarely, then count calls for a fixed time, several times. Results are kept in a sink so
 * the JIT cannot drop the work.
 */

export interface MeasureOptions {
  readonly warmupMs: number;
  readonly runMs: number;
  readonly runs: number;
}

export interface Throughput {
  /** Calls per second of each run. */
  readonly perRun: readonly number[];
  readonly median: number;
}

let sink: unknown;
/** Keeps the last result reachable (read it once at the end so it is not dead code). */
export const lastResult = (): unknown => sink;

function timeBatch(fn: () => unknown, n: number): number {
  const t = performance.now();
  for (let i = 0; i < n; i++) sink = fn();
  return performance.now() - t;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export function measure(fn: () => unknown, opts: MeasureOptions): Throughput {
  // Warm-up doubles as calibration: grow the batch until one takes about 5 ms.
  let batch = 1;
  const warmEnd = performance.now() + opts.warmupMs;
  while (performance.now() < warmEnd) {
    if (timeBatch(fn, batch) < 5) batch *= 2;
  }
  const perRun: number[] = [];
  for (let r = 0; r < opts.runs; r++) {
    let calls = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < opts.runMs) {
      timeBatch(fn, batch);
      calls += batch;
      elapsed = performance.now() - start;
    }
    perRun.push((calls * 1000) / elapsed);
  }
  return { perRun, median: median(perRun) };
}

// --- process memory, by where it lives (Linux) ----------------------------------------------

/**
 * A process's resident memory split by kind of mapping (/proc/self/smaps), beside V8's own
 * figures: what RSS holds beyond the JS heap (malloc arenas, V8 pages, mapped files).
 */
export interface MemoryBreakdown {
  /** process.memoryUsage().rss */
  readonly rss: number;
  /** V8 heap: used after GC, committed (total_heap_size) and resident (total_physical_size). */
  readonly heapUsed: number;
  readonly heapCommitted: number;
  readonly heapPhysical: number;
  /** Node's external memory (Buffers and other ArrayBuffers' backing stores, malloc'd). */
  readonly external: number;
  readonly arrayBuffers: number;
  /** glibc's main arena (the [heap] mapping, brk). */
  readonly brkHeap: number;
  /** Anonymous mappings of glibc's thread arenas (64 MiB-aligned reservations). */
  readonly threadArenas: number;
  /** Every other anonymous private mapping: V8's pages, large mallocs (mmap), thread stacks. */
  readonly otherAnon: number;
  /** File-backed and shared mappings (code, libraries, SQLite's -shm). */
  readonly fileAndShared: number;
  /** smaps_rollup's Anonymous: every anonymous page (the sum of the three above, roughly). */
  readonly anonymous: number;
  /** V8's young generation (committed) and old generation (committed, used). */
  readonly newSpaceCommitted: number;
  readonly oldSpaceCommitted: number;
  readonly oldSpaceUsed: number;
}

const ARENA_ALIGN = 64n << 20n;

function heapSpaces(spaces: readonly { space_name: string; space_size: number; space_used_size: number }[]): Pick<MemoryBreakdown, 'newSpaceCommitted' | 'oldSpaceCommitted' | 'oldSpaceUsed'> {
  let newSpaceCommitted = 0;
  let oldSpaceCommitted = 0;
  let oldSpaceUsed = 0;
  for (const s of spaces) {
    if (s.space_name.startsWith('new_')) newSpaceCommitted += s.space_size;
    else if (s.space_name === 'old_space') {
      oldSpaceCommitted += s.space_size;
      oldSpaceUsed += s.space_used_size;
    }
  }
  return { newSpaceCommitted, oldSpaceCommitted, oldSpaceUsed };
}

/** Parse /proc/self/smaps into the breakdown (zeros where the file is missing). */
export async function memoryBreakdown(): Promise<MemoryBreakdown> {
  const { readFileSync } = await import('node:fs');
  const v8 = await import('node:v8');
  const h = v8.getHeapStatistics();
  const m = process.memoryUsage();
  let brkHeap = 0;
  let threadArenas = 0;
  let otherAnon = 0;
  let fileAndShared = 0;
  let anonymous = 0;
  let text = '';
  try {
    text = readFileSync('/proc/self/smaps', 'utf8');
  } catch {
    // not Linux
  }
  let kind: 'brk' | 'arena' | 'anon' | 'file' = 'anon';
  for (const line of text.split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (header) {
      const start = BigInt(`0x${header[1]}`);
      const path = header[5]!.trim();
      const shared = header[3]![3] === 's';
      if (path === '[heap]') kind = 'brk';
      else if (path === '' && !shared) kind = start % ARENA_ALIGN === 0n ? 'arena' : 'anon';
      else kind = path === '' || path.startsWith('[') ? 'anon' : 'file';
      if (shared) kind = 'file';
      continue;
    }
    const field = /^(Rss|Anonymous):\s+(\d+) kB/.exec(line);
    if (!field) continue;
    const bytes = Number(field[2]) * 1024;
    if (field[1] === 'Anonymous') {
      anonymous += bytes;
      continue;
    }
    if (kind === 'brk') brkHeap += bytes;
    else if (kind === 'arena') threadArenas += bytes;
    else if (kind === 'anon') otherAnon += bytes;
    else fileAndShared += bytes;
  }
  return {
    rss: m.rss,
    heapUsed: h.used_heap_size,
    heapCommitted: h.total_heap_size,
    heapPhysical: h.total_physical_size,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    brkHeap,
    threadArenas,
    otherAnon,
    fileAndShared,
    anonymous,
    ...heapSpaces(v8.getHeapSpaceStatistics()),
  };
}
