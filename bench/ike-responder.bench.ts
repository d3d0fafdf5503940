/**
 * Issue 3's Performance section: our responder's IKE SA establishment rate (IKE_SA_INIT +
 * IKE_AUTH, PSK, aes128gcm16-prfsha256-x25519, one Child SA each, not installed) under
 * strongSwan's load-tester, printed beside a strongSwan 5.9.8 responder (fake kernel)
 * under the same load in the same run; then, with all SAs held, our memory per IKE SA:
 * RSS growth, and JS heap + external (Buffer) growth after a full GC.
 *
 *   npm run bench -- ike-responder
 *   GKM_LOAD_SAS=10000 GKM_LOAD_INITIATORS=4 GKM_LOAD_INIT_LIMIT=256 npm run bench -- ike-responder
 *   GKM_LOAD_CPU_PROF=DIR ...        # our responder runs with node --cpu-prof (profile in DIR)
 *   GKM_LOAD_HEAP_SNAPSHOT=FILE ...  # a heap snapshot of our responder with all SAs held
 *   GKM_LOAD_ONLY=ours|strongswan    # one responder only
 *   GKM_LOAD_COALESCE=0              # our daemon sends each answer at once (coalesceSends off, as before)
 *   GKM_LOAD_ROUNDS=3                # 3 rounds, alternating which responder goes first; medians at the end
 *
 * Responder-bound by default (docs/decisions.md, "A responder-bound load benchmark"):
 *   GKM_LOAD_RESPONDER_CPU=0.5       # either responder gets at most this many cores (cgroup quota); 0: no budget
 *   GKM_LOAD_RESPONDER_CPU_PERIOD_MS=100  # the budget's enforcement period (10: 5 ms quota = one 5 ms bandwidth slice)
 *   GKM_LOAD_CPU_PRIORITY=8          # CPU weight of both ends vs the machine's other processes; 1: none
 *   GKM_LOAD_SOCKET_BUFFERS=1        # both charons get our sockets' buffers (LD_PRELOAD shim); 0: kernel defaults
 *   GKM_LOAD_LEGACY=1                # the configuration before (no budget, no weight, kernel buffers)
 * Each result says what bounded it ("bound by"): drops at either socket, the responder's
 * budget (throttled in most periods), the machine's CPUs, or else the load-tester. Keep
 * GKM_LOAD_SAS at 10,000 or more when comparing: the first few thousand SAs of ours run
 * before V8 has optimized the hot paths (2,000 SAs gave 0.60x where 10,000 give ~1.0x).
 *
 * Both run in one network namespace of their own (the load-tester targets UDP 500), one
 * after the other. Needs root and strongSwan (and gcc for the shim); builds the load-tester
 * plugin on first use. Heavy: run it under the bench lock, and read the load average it prints.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { strongswanMissing } from '../test/support/strongswan.ts';
import { createNetns } from './strongswan/netns.ts';
import { ensureLoadTester, runLoadAgainst, startStrongswanResponder, type LoadOptions, type LoadResult } from './strongswan/load-tester.ts';
import { startOurResponder, type OurStats } from './strongswan/our-responder.ts';
import { envInt, envNumber, report, row } from './strongswan/report.ts';
import { buildSocketBufferShim, type SocketBuffers } from './strongswan/socket-buffers.ts';
import { DEFAULT_SOCKET_BUFFER_BYTES } from '../src/ikev2/transport/config.ts';

/** GKM_LOAD_LEGACY=1: the configuration before 2026-11-22 16:00 UTC (bound by the two shared CPUs, see decisions.md). */
const legacy = process.env.GKM_LOAD_LEGACY === '1';
const count = envInt('GKM_LOAD_SAS', 10_000);
const initiators = envInt('GKM_LOAD_INITIATORS', 4);
const initLimit = envInt('GKM_LOAD_INIT_LIMIT', 256);
/** CPU budget of either responder in cores; 0 = none. */
const responderCpu = envNumber('GKM_LOAD_RESPONDER_CPU', legacy ? 0 : 0.5);
/** The budget's enforcement period (cgroup cfs period), milliseconds. */
const budgetPeriodMs = envNumber('GKM_LOAD_RESPONDER_CPU_PERIOD_MS', 100);
/** CPU weight of the responder and the initiator, a multiple of other processes' (1 = none): the machine is shared. */
const cpuPriority = envNumber('GKM_LOAD_CPU_PRIORITY', legacy ? 1 : 8);
/** 1: both charons get our transport's socket buffers (DEFAULT_SOCKET_BUFFER_BYTES); 0: kernel defaults. */
const equalBuffers = (process.env.GKM_LOAD_SOCKET_BUFFERS ?? (legacy ? '0' : '1')) !== '0';
const rounds = envInt('GKM_LOAD_ROUNDS', 1);
const only = process.env.GKM_LOAD_ONLY;
const keep = Boolean(process.env.GKM_KEEP_STRONGSWAN);

const load = (root: string, name: string, socketBuffers: SocketBuffers | undefined): LoadOptions => ({
  count,
  initiators,
  initLimit,
  dir: join(root, `initiator-${name}`),
  timeoutMs: Math.max(120_000, count * 20),
  progress: (line) => console.log(`  ${line}`),
  ...(responderCpu > 0 && { responderCpu, responderCpuPeriodUs: Math.max(1_000, Math.round(budgetPeriodMs * 1000)) }),
  cpuPriority: Math.max(1, cpuPriority),
  ...(socketBuffers && { socketBuffers }),
});

const loadAverage = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

async function strongswan(netns: string, root: string, plugin: string, buffers: SocketBuffers | undefined): Promise<LoadResult> {
  const { endpoint, charon } = await startStrongswanResponder(netns, join(root, 'strongswan'), 'fake', plugin, buffers);
  try {
    return await runLoadAgainst(endpoint, plugin, load(root, 'strongswan', buffers));
  } finally {
    await charon.stop();
  }
}

async function ours(netns: string, root: string, plugin: string, buffers: SocketBuffers | undefined): Promise<{ result: LoadResult; base: OurStats; held: OurStats }> {
  const cpuProf = process.env.GKM_LOAD_CPU_PROF;
  const r = await startOurResponder(netns, join(root, 'ours'), cpuProf);
  try {
    const base = await r.stats();
    let held: OurStats | undefined;
    const snapshot = process.env.GKM_LOAD_HEAP_SNAPSHOT;
    // Called by runLoadAgainst with every SA still held (before the initiator stops).
    const endpoint = {
      ...r.endpoint,
      countSas: async () => {
        held = await r.stats();
        if (snapshot) {
          console.log(`  heap snapshot -> ${snapshot} (${held.sas} SAs held)`);
          await r.heapSnapshot(snapshot);
        }
        return held.sas;
      },
    };
    const result = await runLoadAgainst(endpoint, plugin, load(root, 'ours', buffers));
    if (!held) throw new Error('no stats with the SAs held');
    return { result, base, held };
  } finally {
    await r.stop();
    if (cpuProf) console.log(`  CPU profile of our responder in ${cpuProf}`);
  }
}

/** The engine's counters (our-responder-main.ts adds them to its stats). */
function retransmissions(s: OurStats): string {
  const c = s as OurStats & { retransmittedRequests?: number; retransmissionsAnswered?: number };
  return `${c.retransmittedRequests ?? '?'} (${c.retransmissionsAnswered ?? '?'} answered from the response cache)`;
}

function memoryReport(base: OurStats, held: OurStats): string {
  const per = (a: number, b: number): string => `${(((b - a) * 1024) / held.sas).toFixed(0)} B`;
  return [
    row('held IKE SAs (ours)', String(held.sas)),
    row('RSS after GC per SA', `${per(base.rssKiB, held.rssKiB)} (${base.rssKiB} -> ${held.rssKiB} KiB)`),
    row('JS heap per SA', `${per(base.heapUsedKiB, held.heapUsedKiB)} (${base.heapUsedKiB} -> ${held.heapUsedKiB} KiB)`),
    row('V8 heap committed per SA', `${per(base.heapTotalKiB, held.heapTotalKiB)} (${base.heapTotalKiB} -> ${held.heapTotalKiB} KiB; new space ${base.spaces['new_space']} -> ${held.spaces['new_space']} KiB)`),
    row('external (Buffers) per SA', `${per(base.externalKiB, held.externalKiB)} (${base.externalKiB} -> ${held.externalKiB} KiB)`),
    row('heap + external per SA', per(base.heapUsedKiB + base.externalKiB, held.heapUsedKiB + held.externalKiB)),
    row('retransmitted requests seen', retransmissions(held)),
  ].join('\n');
}

const median = (xs: readonly number[]): number => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
};

/** One line per round and the medians, when more than one round ran. */
function summary(theirs: readonly LoadResult[], oursAll: readonly LoadResult[]): string {
  const fmt = (r: LoadResult | undefined): string =>
    r ? `${r.ratePerSecond.toFixed(0)} SAs/s, ${r.responderCpuSecondsPer1000.toFixed(3)} CPU-s/1,000, drops ${r.udp.initiatorDrops}/${r.udp.responderDrops}` : '-';
  const lines = ['rounds (strongSwan | ours; drops at the initiator/responder):'];
  for (let i = 0; i < Math.max(theirs.length, oursAll.length); i++) lines.push(`  ${i + 1}: ${fmt(theirs[i])} | ${fmt(oursAll[i])}`);
  const rate = (rs: readonly LoadResult[]): number => median(rs.map((r) => r.ratePerSecond));
  const cpu = (rs: readonly LoadResult[]): number => median(rs.map((r) => r.responderCpuSecondsPer1000));
  if (theirs.length && oursAll.length) {
    lines.push(row('median ours / strongSwan, SAs/s', `${(rate(oursAll) / rate(theirs)).toFixed(2)}x (${rate(oursAll).toFixed(0)} / ${rate(theirs).toFixed(0)})`));
    lines.push(row('median ours / strongSwan, CPU/SA', `${(cpu(oursAll) / cpu(theirs)).toFixed(2)}x (${cpu(oursAll).toFixed(3)} / ${cpu(theirs).toFixed(3)})`));
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const missing = strongswanMissing();
  if (missing) throw new Error(`strongSwan is needed: ${missing}`);
  const plugin = await ensureLoadTester();
  const root = mkdtempSync(join(tmpdir(), 'gkm-load-'));
  const netns = createNetns(`gkm-load-${process.pid}`);
  const buffers = equalBuffers ? { shim: buildSocketBufferShim(root), bytes: DEFAULT_SOCKET_BUFFER_BYTES } : undefined;
  const theirsAll: LoadResult[] = [];
  const oursAll: LoadResult[] = [];
  try {
    console.log(
      `load: ${count} IKE SAs per responder, ${initiators} initiator threads, ${initLimit} half-open at most; ` +
        `responder CPU budget ${responderCpu > 0 ? `${responderCpu} core(s)` : 'none'}; CPU weight of both ends ${Math.max(1, cpuPriority)}x; ` +
        `charon socket buffers ${buffers ? `${buffers.bytes} octets (as ours)` : 'kernel defaults'}; ${rounds} round(s); load average ${loadAverage()}`,
    );
    for (let round = 0; round < rounds; round++) {
      let theirs: LoadResult | undefined;
      let result: LoadResult | undefined;
      const runTheirs = async (): Promise<void> => {
        if (only === 'ours') return;
        theirs = await strongswan(netns.name, root, plugin, buffers);
        theirsAll.push(theirs);
        console.log(report(theirs));
        console.log(`load average ${loadAverage()}`);
      };
      const runOurs = async (): Promise<void> => {
        if (only === 'strongswan') return;
        const r = await ours(netns.name, root, plugin, buffers);
        result = r.result;
        oursAll.push(r.result);
        console.log(report(r.result));
        console.log(memoryReport(r.base, r.held));
        console.log(`load average ${loadAverage()}`);
        if (r.result.established < r.result.requested) process.exitCode = 1;
      };
      // Odd rounds run ours first, so neither responder always follows the other.
      if (round % 2 === 0) {
        await runTheirs();
        await runOurs();
      } else {
        await runOurs();
        await runTheirs();
      }
      if (theirs && result) {
        console.log(row('ours / strongSwan, SAs/s', `${(result.ratePerSecond / theirs.ratePerSecond).toFixed(2)}x (goal >= 1.0x)`));
        console.log(row('ours / strongSwan, CPU per SA', `${(result.responderCpuSecondsPer1000 / theirs.responderCpuSecondsPer1000).toFixed(2)}x`));
      }
    }
    if (rounds > 1) console.log(summary(theirsAll, oursAll));
  } finally {
    netns.remove();
    if (keep) console.log(`kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
}

await main();
