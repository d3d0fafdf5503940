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
