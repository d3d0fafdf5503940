/**
 * CPU affinity of the GCKS's threads (config `eventLoopCpu`, GCKS_EVENT_LOOP_CPU; off by
 * default). Registration is bound by the event-loop thread (docs/performance.md, issue 4):
 * on a small machine the key-pair worker, V8's GC helpers and whatever else runs there take
 * turns on its core and it gets ~81-88% of one. Pinned to a CPU of its own, with every other
 * thread of the process kept on the remaining allowed CPUs, it got 88-94%, though no rate gain
 * beyond the machine's noise was measured yet (docs/performance.md), hence off by default.
 *
 * Linux only, through util-linux `taskset -p` (sched_setaffinity of one thread id), which
 * Debian installs everywhere. Threads started later inherit the affinity of the thread that
 * starts them (the event loop's single CPU), so a sweep of /proc/self/task moves every thread
 * it has not seen yet to the helper CPUs: at once, then every `sweepMs` (unref'd).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { GkmError } from '../ikev2/errors.ts';

export interface AffinityPlan {
  /** The CPU the event-loop thread runs on. */
  readonly eventLoop: number;
  /** Every other thread of the process: the allowed CPUs but that one. */
  readonly helpers: readonly number[];
}

/** A Linux CPU list ("0-3,5"), as in /proc/<pid>/status Cpus_allowed_list and taskset -c. */
export function parseCpuList(text: string): number[] {
  const cpus = new Set<number>();
  for (const part of text.trim().split(',')) {
    const m = /^(\d{1,4})(?:-(\d{1,4}))?$/.exec(part.trim());
    if (!m) throw new GkmError('GKM_CONFIG_INVALID', { field: 'CPU list', detail: `${JSON.stringify(text)} is not a CPU list` });
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new GkmError('GKM_CONFIG_INVALID', { field: 'CPU list', detail: `${JSON.stringify(part)} is a descending range` });
    for (let c = from; c <= to; c++) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}

export const formatCpuList = (cpus: readonly number[]): string => cpus.join(',');

/** The event loop on `cpu`, the rest on the other allowed CPUs; refused unless `cpu` is allowed and another one is. */
export function planAffinity(allowed: readonly number[], cpu: number): AffinityPlan {
  if (!allowed.includes(cpu)) throw new GkmError('GKM_CONFIG_INVALID', { field: 'eventLoopCpu', detail: `CPU ${cpu} is not among the CPUs this process may use (${formatCpuList(allowed)})` });
  const helpers = allowed.filter((c) => c !== cpu);
  if (helpers.length === 0) throw new GkmError('GKM_CONFIG_INVALID', { field: 'eventLoopCpu', detail: `only CPU ${cpu} is allowed: nothing left for the other threads` });
  return { eventLoop: cpu, helpers };
}

/** CPUs a thread (default: this process's main thread) may run on, from /proc. */
export function allowedCpus(tid: number = process.pid): number[] {
  const status = readFileSync(`/proc/self/task/${tid}/status`, 'latin1');
  const line = /^Cpus_allowed_list:\s*(\S+)$/m.exec(status);
  if (!line) throw new GkmError('GKM_CONFIG_INVALID', { field: 'eventLoopCpu', detail: 'no Cpus_allowed_list in /proc' });
  return parseCpuList(line[1]!);
}

/** Pin one thread of this process; the error text of taskset when it fails. */
function pinThread(tid: number, cpus: readonly number[]): string | undefined {
  const r = spawnSync('taskset', ['-p', '-c', formatCpuList(cpus), String(tid)], { encoding: 'utf8' });
  if (r.error) return r.error.message;
  if (r.status !== 0) return (r.stderr || `taskset exited with ${r.status}`).trim();
  return undefined;
}

const threadIds = (): number[] => readdirSync('/proc/self/task').map(Number).filter((t) => Number.isInteger(t));

export interface AffinityOptions {
  /** Sweep for new threads this often (default 1,000 ms); 0: only at start. */
  readonly sweepMs?: number;
  /** Told once per thread that could not be pinned (the GCKS logs it and runs on). */
  readonly onError?: (tid: number, detail: string) => void;
}

/** The event-loop thread pinned to `plan.eventLoop`, every other thread to `plan.helpers`. */
export class EventLoopAffinity {
  readonly plan: AffinityPlan;
  readonly #seen = new Set<number>();
  readonly #onError: (tid: number, detail: string) => void;
  #timer: NodeJS.Timeout | undefined;

  private constructor(plan: AffinityPlan, opts: AffinityOptions) {
    this.plan = plan;
    this.#onError = opts.onError ?? (() => undefined);
  }

  /** Apply `cpu` for this process's event loop (GKM_CONFIG_INVALID if it cannot be; Linux only). */
  static apply(cpu: number, opts: AffinityOptions = {}): EventLoopAffinity {
    if (process.platform !== 'linux') throw new GkmError('GKM_CONFIG_INVALID', { field: 'eventLoopCpu', detail: 'CPU affinity is supported on Linux only' });
    const a = new EventLoopAffinity(planAffinity(allowedCpus(), cpu), opts);
    const failed = pinThread(process.pid, [cpu]);
    if (failed) throw new GkmError('GKM_CONFIG_INVALID', { field: 'eventLoopCpu', detail: `cannot pin the event-loop thread: ${failed}` });
    a.#seen.add(process.pid);
    a.sweep();
    const every = opts.sweepMs ?? 1_000;
    if (every > 0) a.#timer = setInterval(() => a.sweep(), every).unref();
    return a;
  }

  /** Move threads started since the last sweep to the helper CPUs; how many were moved. */
  sweep(): number {
    let moved = 0;
    const live = new Set(threadIds());
    for (const tid of this.#seen) if (!live.has(tid)) this.#seen.delete(tid); // ids are reused
    for (const tid of live) {
      if (this.#seen.has(tid)) continue;
      this.#seen.add(tid);
      const failed = pinThread(tid, this.plan.helpers);
      if (failed === undefined) moved++;
      else if (existsThread(tid)) this.#onError(tid, failed); // a thread that ended meanwhile is no error
    }
    return moved;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

function existsThread(tid: number): boolean {
  try {
    readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
    return true;
  } catch {
    return false;
  }
}

/** Every thread of this process (and, by inheritance, those it starts) on `cpus`: a load generator beside a pinned GCKS. */
export function pinWholeProcess(cpus: readonly number[]): void {
  for (const tid of threadIds()) {
    const failed = pinThread(tid, cpus);
    if (failed && existsThread(tid)) throw new GkmError('GKM_CONFIG_INVALID', { field: 'CPU affinity', detail: `thread ${tid}: ${failed}` });
  }
}
