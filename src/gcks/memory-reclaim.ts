/**
 * Memory given back after a registration burst. Enrolling many GMs at once leaves the
 * process holding memory it no longer uses: V8 old-space pages that only a compacting GC
 * empties, and free malloc pages glibc keeps resident (docs/performance.md, "where the
 * GCKS's RSS goes"). Once the process is idle again and its RSS has grown since the last
 * reclaim, one compacting full GC that also shrinks the young generation (V8's memory-pressure
 * GC through the native addon; without it gc(), when Node runs with --expose-gc as bin/gcks.js
 * does) and malloc_trim(0) (native addon, glibc) return that memory to the kernel. Nothing is done
 * while registrations run: the check costs one cpuUsage() and one rss() per interval.
 */
import { setFlagsFromString } from 'node:v8';
import { nativeAddonPath, requireNativeAddon } from '../ikev2/crypto/native.ts';
import type { Logger } from './config/logger.ts';

export interface MemoryReclaimOptions {
  /** How often the process's CPU use is sampled (ms). */
  readonly checkMs?: number;
  /** Idle: CPU time over the last interval below this fraction of one core. */
  readonly idleCpuFraction?: number;
  /** Reclaim only when RSS grew this much since the last reclaim (bytes). */
  readonly minGrowthBytes?: number;
}

/** What the reclaimer reads and calls; injectable for tests. */
export interface MemoryReclaimProcess {
  cpuMicros(): number;
  rss(): number;
  /** A full GC that compacts the old generation, or undefined when gc is not exposed. */
  readonly compactingGc: (() => void) | undefined;
  /** malloc_trim(0), or undefined without the addon / glibc. */
  readonly mallocTrim: (() => void) | undefined;
}

/** RSS is logged this long after a reclaim, once V8 has unmapped the pages the GC freed. */
const RSS_SETTLE_MS = 3_000;

export const DEFAULT_MEMORY_RECLAIM: Required<MemoryReclaimOptions> = { checkMs: 5_000, idleCpuFraction: 0.05, minGrowthBytes: 32 * 1024 * 1024 };

interface MemoryAddon {
  mallocTrim?(): boolean;
  mallocTrimSupported?(): boolean;
  memoryPressureGc?(): boolean;
}

function memoryAddon(): MemoryAddon | undefined {
  try {
    return requireNativeAddon(nativeAddonPath()) as MemoryAddon;
  } catch {
    return undefined; // addon not built: gc() alone
  }
}

function nativeMallocTrim(addon: MemoryAddon | undefined): (() => void) | undefined {
  return addon?.mallocTrimSupported?.() && addon.mallocTrim ? () => void addon.mallocTrim!() : undefined;
}

/**
 * V8's critical memory-pressure GC (native addon): compacts the old generation and always
 * shrinks the young generation back to its minimum. gc() shrinks it only when V8's estimate
 * of the allocation rate, sampled at each GC, has fallen, so after a burst whose last GCs
 * are recent it left bin/gcks.js's 2 × 32 MiB young generation resident (docs/performance.md).
 */
function nativePressureGc(addon: MemoryAddon | undefined): (() => void) | undefined {
  return addon?.memoryPressureGc ? () => void addon.memoryPressureGc!() : undefined;
}

function compactingGc(): (() => void) | undefined {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return undefined;
  return () => {
    setFlagsFromString('--compact-on-every-full-gc');
    try {
      gc();
    } finally {
      setFlagsFromString('--no-compact-on-every-full-gc');
    }
  };
}

/** This process, as the reclaimer sees it. */
export function thisProcess(): MemoryReclaimProcess {
  const addon = memoryAddon();
  return {
    cpuMicros: () => {
      const u = process.cpuUsage();
      return u.user + u.system;
    },
    rss: () => process.memoryUsage.rss(),
    compactingGc: nativePressureGc(addon) ?? compactingGc(),
    mallocTrim: nativeMallocTrim(addon),
  };
}

export class MemoryReclaimer {
  readonly #o: Required<MemoryReclaimOptions>;
  readonly #proc: MemoryReclaimProcess;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #lastCpu: number;
  #baseline: number;
  #reclaims = 0;

  constructor(log: Logger, options: MemoryReclaimOptions = {}, proc: MemoryReclaimProcess = thisProcess()) {
    this.#o = { ...DEFAULT_MEMORY_RECLAIM, ...options };
    this.#proc = proc;
    this.#log = log;
    this.#lastCpu = proc.cpuMicros();
    this.#baseline = proc.rss();
  }

  /** How many times memory was reclaimed. */
  get reclaims(): number {
    return this.#reclaims;
  }

  /** Whether there is anything to call (a GC or malloc_trim). */
  get available(): boolean {
    return this.#proc.compactingGc !== undefined || this.#proc.mallocTrim !== undefined;
  }

  start(): void {
    if (this.#timer || !this.available) return;
    this.#timer = setInterval(() => this.check(), this.#o.checkMs).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One interval's check (the timer calls it); returns whether memory was reclaimed. */
  check(): boolean {
    const cpu = this.#proc.cpuMicros();
    const busy = (cpu - this.#lastCpu) / 1000 / this.#o.checkMs;
    this.#lastCpu = cpu;
    if (busy >= this.#o.idleCpuFraction) return false;
    const before = this.#proc.rss();
    if (before - this.#baseline < this.#o.minGrowthBytes) {
      this.#baseline = Math.min(this.#baseline, before);
      return false;
    }
    this.#proc.compactingGc?.();
    this.#proc.mallocTrim?.();
    this.#baseline = this.#proc.rss(); // an upper bound: V8 unmaps freed pages on a background task (check() lowers it)
    this.#reclaims++;
    this.#lastCpu = this.#proc.cpuMicros(); // the reclaim's own CPU does not count as load
    const compacted = this.#proc.compactingGc !== undefined;
    const trimmed = this.#proc.mallocTrim !== undefined;
    setTimeout(() => this.#log.info({ rssBefore: before, rssAfter: this.#proc.rss(), compacted, trimmed }, 'idle: memory returned to the system'), RSS_SETTLE_MS).unref();
    return true;
  }
}
