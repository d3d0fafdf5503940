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
 *
 * Both run in one network namespace of their own (the load-tester targets UDP 500), one
 * after the other. Needs root and strongSwan; builds the load-tester plugin on first use.
 * Heavy: run it alone, and read the load average it prints.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { strongswanMissing } from '../test/support/strongswan.ts';
import { createNetns } from './strongswan/netns.ts';
import { ensureLoadTester, runLoadAgainst, startStrongswanResponder, type LoadOptions, type LoadResult } from './strongswan/load-tester.ts';
import { startOurResponder, type OurStats } from './strongswan/our-responder.ts';
import { envInt, report, row } from './strongswan/report.ts';

const count = envInt('GKM_LOAD_SAS', 10_000);
const initiators = envInt('GKM_LOAD_INITIATORS', 4);
const initLimit = envInt('GKM_LOAD_INIT_LIMIT', 256);
const only = process.env.GKM_LOAD_ONLY;
const keep = Boolean(process.env.GKM_KEEP_STRONGSWAN);

const load = (root: string, name: string): LoadOptions => ({
  count,
  initiators,
  initLimit,
  dir: join(root, `initiator-${name}`),
  timeoutMs: Math.max(120_000, count * 20),
  progress: (line) => console.log(`  ${line}`),
});

const loadAverage = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

async function strongswan(netns: string, root: string, plugin: string): Promise<LoadResult> {
  const { endpoint, charon } = await startStrongswanResponder(netns, join(root, 'strongswan'), 'fake', plugin);
  try {
    return await runLoadAgainst(endpoint, plugin, load(root, 'strongswan'));
  } finally {
    await charon.stop();
  }
}

async function ours(netns: string, root: string, plugin: string): Promise<{ result: LoadResult; base: OurStats; held: OurStats }> {
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
    const result = await runLoadAgainst(endpoint, plugin, load(root, 'ours'));
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

async function main(): Promise<void> {
  const missing = strongswanMissing();
  if (missing) throw new Error(`strongSwan is needed: ${missing}`);
  const plugin = await ensureLoadTester();
  const root = mkdtempSync(join(tmpdir(), 'gkm-load-'));
  const netns = createNetns(`gkm-load-${process.pid}`);
  try {
    console.log(`load: ${count} IKE SAs per responder, ${initiators} initiator threads, ${initLimit} half-open at most; load average ${loadAverage()}`);
    let theirs: LoadResult | undefined;
    if (only !== 'ours') {
      theirs = await strongswan(netns.name, root, plugin);
      console.log(report(theirs));
      console.log(`load average ${loadAverage()}`);
    }
    if (only !== 'strongswan') {
      const { result, base, held } = await ours(netns.name, root, plugin);
      console.log(report(result));
      console.log(memoryReport(base, held));
      console.log(`load average ${loadAverage()}`);
      if (theirs) {
        console.log(row('ours / strongSwan, SAs/s', `${(result.ratePerSecond / theirs.ratePerSecond).toFixed(2)}x (goal >= 1.0x)`));
        console.log(row('ours / strongSwan, CPU per SA', `${(result.responderCpuSecondsPer1000 / theirs.responderCpuSecondsPer1000).toFixed(2)}x`));
      }
      if (result.established < result.requested) process.exitCode = 1;
    }
  } finally {
    netns.remove();
    if (keep) console.log(`kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
}

await main();
