/** Shared by the load-tester benchmarks: environment knobs and the result table. */
import type { LoadResult, ProcDetail } from './load-tester.ts';

export function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  const n = v === undefined || v === '' ? fallback : Number(v.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${v}`);
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
  ];
  return rows.map(([k, v]) => row(k, v)).join('\n');
}

export const row = (k: string, v: string): string => `${k.padEnd(32)} ${v}`;

const detail = (d: ProcDetail): string =>
  `${d.userSeconds.toFixed(2)} / ${d.systemSeconds.toFixed(2)} s; ${d.voluntarySwitches} voluntary, ${d.involuntarySwitches} involuntary context switches`;
