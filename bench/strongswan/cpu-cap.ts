/**
 * A CPU budget and a CPU weight for one process (all its threads) during a load run: a
 * cgroup of our own under the cpu controller (v1 `cpu.cfs_quota_us` / `cpu.shares`, or v2
 * `cpu.max` / `cpu.weight`). The budget (quota `cores` x period) makes the responder, not
 * the load-tester or the two shared cores, what bounds the rate; the weight (`priority`
 * times the default) lets the benchmark's processes get their CPU on a machine shared with
 * other jobs (docs/decisions.md, "A responder-bound load benchmark"). The throttling
 * counters tell whether the budget was the bound: throttled in most periods.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CpuCapStats {
  /** Enforcement periods that elapsed, and those in which the process ran out of budget. */
  readonly periods: number;
  readonly throttled: number;
  readonly throttledSeconds: number;
}

export interface CpuCap {
  /** The budget in cores; undefined: weight only. */
  readonly cores: number | undefined;
  readonly periodUs: number;
  stats(): CpuCapStats;
  /** Moves the process back to the cgroup it came from and deletes ours. */
  remove(): void;
}

const V1 = '/sys/fs/cgroup/cpu';
const V2 = '/sys/fs/cgroup';

function statFields(file: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [k, v] = line.split(' ');
    if (k && v !== undefined) out[k] = Number(v);
  }
  return out;
}

/** The process's current cgroup folder for the cpu controller (to move it back). */
function currentGroup(pid: number, root: string, v2: boolean): string {
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const [, controllers, path] = line.split(':');
    if (path === undefined) continue;
    if (v2 ? controllers === '' : controllers!.split(',').includes('cpu')) return join(root, path);
  }
  return root;
}

export interface CpuGroupOptions {
  /** Budget in CPUs (e.g. 0.5), enforced every `periodUs` (default 100 ms); none when absent. */
  readonly cores?: number;
  readonly periodUs?: number;
  /** CPU weight as a multiple of the default (1: as any other process); 1 when absent. */
  readonly priority?: number;
}

/** Moves `pid` (all its threads) into cgroup `name` with `o`'s budget and weight. */
export function capCpu(pid: number, name: string, o: CpuGroupOptions): CpuCap {
  // 100 ms: the quota is handed to each CPU's run queue in slices (kernel.sched_cfs_bandwidth_slice_us,
  // 5 ms); with 10 ms and half a core the whole quota is one slice, taken by one CPU at a time.
  const { cores, periodUs = 100_000, priority = 1 } = o;
  if (cores !== undefined && !(cores > 0 && cores <= 64)) throw new Error(`CPU cap must be in (0, 64] cores, got ${cores}`);
  if (!(priority >= 1 && priority <= 100)) throw new Error(`CPU priority must be in [1, 100], got ${priority}`);
  const v2 = !existsSync(join(V1, 'cpu.cfs_quota_us'));
  const root = v2 ? V2 : V1;
  if (v2 && !readFileSync(join(V2, 'cgroup.subtree_control'), 'utf8').includes('cpu')) {
    throw new Error('cgroup v2 without the cpu controller enabled at the root: GKM_LOAD_RESPONDER_CPU=0 GKM_LOAD_CPU_PRIORITY=1 run without a budget or weight');
  }
  const from = currentGroup(pid, root, v2);
  const dir = join(root, name);
  try {
    mkdirSync(dir);
  } catch (e) {
    throw new Error(`cannot create cgroup ${dir} (root needed): ${(e as Error).message}; GKM_LOAD_RESPONDER_CPU=0 GKM_LOAD_CPU_PRIORITY=1 run without a budget or weight`);
  }
  try {
    if (cores !== undefined) {
      const quota = Math.round(cores * periodUs);
      if (v2) writeFileSync(join(dir, 'cpu.max'), `${quota} ${periodUs}`);
      else {
        writeFileSync(join(dir, 'cpu.cfs_period_us'), String(periodUs));
        writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota));
      }
    }
    if (priority !== 1) {
      if (v2) writeFileSync(join(dir, 'cpu.weight'), String(Math.round(100 * priority)));
      else writeFileSync(join(dir, 'cpu.shares'), String(Math.round(1024 * priority)));
    }
    writeFileSync(join(dir, 'cgroup.procs'), String(pid)); // all its threads, and those it starts later
  } catch (e) {
    rmdirSync(dir);
    throw e;
  }
  const base = statFields(join(dir, 'cpu.stat'));
  let removed = false;
  return {
    cores,
    periodUs,
    stats() {
      const s = statFields(join(dir, 'cpu.stat'));
      const throttledNs = v2 ? (s['throttled_usec'] ?? 0) * 1000 : (s['throttled_time'] ?? 0);
      const baseNs = v2 ? (base['throttled_usec'] ?? 0) * 1000 : (base['throttled_time'] ?? 0);
      return {
        periods: (s['nr_periods'] ?? 0) - (base['nr_periods'] ?? 0),
        throttled: (s['nr_throttled'] ?? 0) - (base['nr_throttled'] ?? 0),
        throttledSeconds: (throttledNs - baseNs) / 1e9,
      };
    },
    remove() {
      if (removed) return;
      removed = true;
      try {
        writeFileSync(join(from, 'cgroup.procs'), String(pid));
      } catch {
        // the process has exited
      }
      try {
        rmdirSync(dir);
      } catch {
        // still busy (a thread mid-exit): the kernel frees it once empty; retried on exit
        process.once('exit', () => {
          try {
            rmdirSync(dir);
          } catch {
            // nothing more to do
          }
        });
      }
    },
  };
}
