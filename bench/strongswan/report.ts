/** Shared by the load-tester benchmarks: environment knobs and the result table. */
import type { LoadResult, ProcDetail } from './load-tester.ts';

export function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  const n = v === undefined || v === '' ? fallback : Number(v.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${v}`);
  return n;
}

/** A non-negative number (e.g. a CPU budget in cores), `fallback` when unset. */
export function envNumber(name: string, fallback: number): number {
  const v = process.env[name];
  const n = v === undefined || v === '' ? fallback : Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${v}`);
  return n;
}

export function report(r: LoadResult): string {
  const rows: [string, string][] = [
    ['responder', r.label],
    ['IKE SAs established', `${r.established} of ${r.requested}${r.responderCount === undefined ? '' : ` (responder counts ${r.responderCount})`}`],
    ['wall time', `${r.seconds.toFixed(2)} s`],
    ['IKE SAs/s', r.ratePerSecond.toFixed(0)],
    ['responder CPU-s per 1,000 SAs', r.responderCpuSecondsPer1000.toFixed(3)],
    ['responder RSS per SA', `${r.responderRssKiBPerSa.toFixed(1)} KiB (${r.responderRssKiB.before} -> ${r.responderRssKiB.after} KiB)`],
    ['initiator CPU-s (load-tester)', r.initiatorCpuSeconds.toFixed(2)],
    ['initiator user/sys, switches', detail(r.initiatorDetail)],
    ['responder user/sys, switches', detail(r.responderDetail)],
    ['UDP in netns', `${r.udp.inDatagrams} datagrams received, ${r.udp.rcvbufErrors} dropped (receive buffer full: ${r.udp.initiatorDrops} at the initiator, ${r.udp.responderDrops} at the responder)`],
    ['socket receive buffers', `initiator ${kib(r.receiveBuffers.initiator)}, responder ${kib(r.receiveBuffers.responder)} (rb as ss -m shows it: twice a SO_RCVBUF value, the default 208 KiB as is)`],
    ['CPU shares (of one core)', `responder ${share(r.responderDetail, r.seconds)}${r.cap ? ` (budget ${pct(r.cap.cores)})` : ''}, initiator ${share(r.initiatorDetail, r.seconds)}${r.cpuPriority !== 1 ? ` (both at ${r.cpuPriority}x the default CPU weight)` : ''}; machine ${pct(r.machine.busy)} of ${r.machine.cpus} CPUs busy`],
    ['half-open at the initiator', `mean ${r.halfOpen.mean.toFixed(0)}, max ${r.halfOpen.max}`],
    ...(r.cap ? [['responder CPU budget', throttling(r.cap)] as [string, string]] : []),
    ['bound by', boundBy(r)],
  ];
  return rows.map(([k, v]) => row(k, v)).join('\n');
}

const kib = (n: number | undefined): string => (n === undefined ? '?' : `${Math.round(n / 1024)} KiB`);
const pct = (f: number): string => `${(f * 100).toFixed(0)}%`;
const cpu = (d: ProcDetail): number => d.userSeconds + d.systemSeconds;
const share = (d: ProcDetail, seconds: number): string => pct(cpu(d) / seconds);

function throttling(c: NonNullable<LoadResult['cap']>): string {
  const s = c.stats;
  return `${c.cores} core(s) per ${c.periodUs / 1000} ms; out of budget in ${s.throttled} of ${s.periods} periods (${pct(s.throttled / Math.max(1, s.periods))}), ${s.throttledSeconds.toFixed(2)} s throttled (summed over CPUs)`;
}

/**
 * A reading of the figures above, for whoever compares two runs: the load-tester's socket
 * when it dropped answers (each one a 4 s retransmission); the responder's CPU budget when
 * it ran out of it in most periods; else the machine when its CPUs were nearly all busy;
 * else the load-tester (compare the half-open mean with its limit).
 */
export function boundBy(r: LoadResult): string {
  const notes: string[] = [];
  if (r.udp.initiatorDrops > 0) notes.push(`initiator's socket (${r.udp.initiatorDrops} answers dropped: retransmissions)`);
  if (r.udp.responderDrops > 0) notes.push(`responder's socket (${r.udp.responderDrops} requests dropped)`);
  if (r.cap && r.cap.stats.throttled >= 0.5 * r.cap.stats.periods) notes.push('the responder (its CPU budget)');
  else if (r.machine.busy >= 0.9) notes.push('the machine (CPUs >= 90% busy)');
  if (notes.length === 0) notes.push(r.cap ? 'the load-tester (responder under its budget)' : 'the load-tester or the pipeline (no budget, CPUs not saturated)');
  return notes.join('; ');
}

export const row = (k: string, v: string): string => `${k.padEnd(32)} ${v}`;

const detail = (d: ProcDetail): string =>
  `${d.userSeconds.toFixed(2)} / ${d.systemSeconds.toFixed(2)} s; ${d.voluntarySwitches} voluntary, ${d.involuntarySwitches} involuntary context switches`;
