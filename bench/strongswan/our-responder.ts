/**
 * Our responder for the load-tester (./load-tester.ts): the member daemon in a process of
 * its own inside the benchmark's network namespace, on UDP 500/4500, configured like the
 * strongSwan responder (PSK, LOAD_PROPOSAL, one Child SA per IKE SA: the load-tester's
 * fake kernel negotiates one, and ours are negotiated but not installed either).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { launcherNodeFlags } from '../../bin/node-flags.js';
import { swanctlConf } from '../../test/support/strongswan-conf.ts';
import { LOAD_ESP, LOAD_PROPOSAL, LOAD_PSK, RESPONDER_ID, type ResponderEndpoint } from './load-tester.ts';

const MAIN = fileURLToPath(new URL('./our-responder-main.ts', import.meta.url));
/**
 * The Node flags `gkm-member` starts with (its `#!` line), so the figures are what users get;
 * GKM_LOAD_NODE_FLAGS (space-separated, may be empty) replaces them for an A/B.
 */
const nodeFlags = (): string[] => {
  const env = process.env['GKM_LOAD_NODE_FLAGS'];
  return env === undefined ? launcherNodeFlags(new URL('../../bin/gkm-member.js', import.meta.url)) : env.split(/\s+/).filter(Boolean);
};

export interface OurStats {
  readonly sas: number;
  readonly rssKiB: number;
  readonly heapUsedKiB: number;
  /** V8 heap committed (used + free + the young generation's semi-spaces). */
  readonly heapTotalKiB: number;
  /** Committed KiB per V8 space (new_space, old_space, ...). */
  readonly spaces: Readonly<Record<string, number>>;
  readonly externalKiB: number;
  readonly arrayBuffersKiB: number;
}

export interface OurResponder {
  readonly endpoint: ResponderEndpoint;
  /** Memory after a full GC, and the established IKE SA count. */
  stats(): Promise<OurStats>;
  heapSnapshot(path: string): Promise<void>;
  stop(): Promise<void>;
}

function responderConf(): string {
  return swanctlConf({
    connections: [
      {
        name: 'load',
        localAddrs: ['127.0.0.1'],
        remoteAddrs: ['%any'],
        localPort: 500,
        proposals: [LOAD_PROPOSAL],
        localId: RESPONDER_ID,
        remoteId: '%any',
        children: [{ name: 'load', espProposals: [LOAD_ESP] }],
      },
    ],
    secrets: [{ name: 'load', ids: [], secret: LOAD_PSK }],
  });
}

/** `cpuProfDir`: run with --cpu-prof (the profile is written there on stop()). */
export async function startOurResponder(netns: string, dir: string, cpuProfDir?: string): Promise<OurResponder> {
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'responder.conf');
  writeFileSync(conf, responderConf(), { mode: 0o600 });
  const prof = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [];
  // `ip netns exec` execs node: the pid is the responder's own.
  const proc: ChildProcess = spawn('ip', ['netns', 'exec', netns, process.execPath, ...nodeFlags(), '--expose-gc', ...prof, '--import', 'tsx', MAIN, conf], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: proc.stdout! });
  const pending: ((o: Record<string, unknown>) => void)[] = [];
  lines.on('line', (l) => pending.shift()?.(JSON.parse(l) as Record<string, unknown>));
  const next = (cmd?: string, timeoutMs = 60_000): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`our responder: no answer to ${cmd ?? 'start'}`)), timeoutMs);
      pending.push((o) => {
        clearTimeout(timer);
        resolve(o);
      });
      if (cmd) proc.stdin!.write(cmd + '\n');
    });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.stdin!.write('exit\n');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (proc.exitCode === null) proc.kill('SIGKILL');
  };
  try {
    const ready = await next(undefined, 30_000);
    if (!ready.ready) throw new Error(`our responder did not start: ${JSON.stringify(ready)}`);
  } catch (e) {
    await stop();
    throw e;
  }
  const stats = async (): Promise<OurStats> => (await next('stats')) as unknown as OurStats;
  return {
    endpoint: {
      label: 'gkm-ikev2 member daemon (Child SAs not installed)',
      netns,
      address: '127.0.0.1',
      pid: proc.pid ?? -1,
      countSas: async () => (await stats()).sas,
    },
    stats,
    async heapSnapshot(path) {
      await next(`snapshot ${path}`, 300_000);
    },
    stop,
  };
}
