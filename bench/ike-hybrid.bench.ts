/**
 * IKE SA establishment with our initiator against our responder: hybrid X25519 + ML-KEM-768
 * (IKE_SA_INIT + IKE_INTERMEDIATE + IKE_AUTH, RFC 9242 / RFC 9370) and, for comparison,
 * X25519 alone (IKE_SA_INIT + IKE_AUTH); PSK, AES-GCM-16-256, PRF HMAC-SHA2-256, childless
 * (RFC 6023), no INITIAL_CONTACT. Two set-ups:
 *
 *   udp       two processes on loopback over the real transport (src/ikev2/transport/):
 *             this process initiates, a forked child responds; each runs one IkeEngine.
 *   in-memory one process, both engines, datagrams handed over in memory (no sockets).
 *
 * Reported: SAs/s (wall clock, `concurrency` exchanges in flight), responder CPU seconds per
 * 1,000 SAs (udp: the responder process's user+system time; in-memory: time inside the
 * responder's receive()), and, over udp, memory per established IKE SA while HOLD SAs are
 * held (RSS, V8 heap and ArrayBuffer growth after a full GC, per process), once with Node's
 * default Buffer pool and once with `Buffer.poolSize = 0` (small Buffers kept by an SA then
 * no longer pin 8 KiB pool slabs). Every phase runs in fresh processes.
 *
 *   npm run bench -- ike-hybrid
 *   IKE_BENCH_N=3000 IKE_BENCH_HOLD=10000 IKE_BENCH_CONCURRENCY=64 IKE_BENCH_MODES=udp,in-memory npm run bench -- ike-hybrid
 *   IKE_BENCH_SUITES=x25519 ...   # one key exchange only (hybrid,x25519 by default)
 *   IKE_BENCH_CPU_PROF=/tmp/prof IKE_BENCH_CPU_PROF_ROLE=initiator ...   # --cpu-prof of that udp child (initiator|responder)
 *   GKM_KEYGEN_POOL=0 ...         # key pairs generated on the event-loop thread (no key-pair pool worker)
 *
 * Over udp the CPU columns are whole processes (every thread: the key-pair pool's worker
 * included); the "main thread" columns are the event-loop thread alone (Linux
 * /proc/thread-self/stat, 10 ms ticks), and the pool's hit rate says how many fresh key pairs
 * came from the pool rather than being generated on the event-loop thread.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg } from 'node:os';
import { IkeEngine } from '../src/ikev2/sa/engine.ts';
import { Id } from '../src/ikev2/sa/identity.ts';
import type { PeerConfig, ResponderPolicy } from '../src/ikev2/sa/config.ts';
import type { DatagramSender, Endpoint } from '../src/ikev2/sa/types.ts';
import { IkeTransport } from '../src/ikev2/transport/index.ts';
import { EncrId, KeId, PrfId, ProtocolId } from '../src/ikev2/registry/index.ts';
import type { ProposalSpec } from '../src/ikev2/wire/payloads/index.ts';
import { fmt, table } from './lib/table.ts';
import { launcherNodeFlags } from '../bin/node-flags.js';
import { readFileSync } from 'node:fs';
import { keyPairPool } from '../src/ikev2/crypto/keypair-pool.ts';

const env = (name: string, fallback: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const N = env('IKE_BENCH_N', 3000);
const HOLD = env('IKE_BENCH_HOLD', 10_000);
const CONCURRENCY = env('IKE_BENCH_CONCURRENCY', 64);
/** Bound on every phase: a stuck run fails instead of hanging. */
const PHASE_LIMIT_MS = env('IKE_BENCH_PHASE_LIMIT_MS', 180_000);
/** gkm-member's #! flags (what users get); IKE_BENCH_NODE_FLAGS (space-separated, may be empty) replaces them for an A/B. */
const memberNodeFlags = (): string[] => {
  const flags = process.env['IKE_BENCH_NODE_FLAGS'];
  return flags === undefined ? launcherNodeFlags(new URL('../bin/gkm-member.js', import.meta.url)) : flags.split(/\s+/).filter(Boolean);
};
const MODES = (process.env['IKE_BENCH_MODES'] ?? 'udp,in-memory').split(',');

type Suite = 'hybrid' | 'x25519';
const SUITES = (process.env['IKE_BENCH_SUITES'] ?? 'hybrid,x25519').split(',').filter((s): s is Suite => s === 'hybrid' || s === 'x25519');

const proposal = (suite: Suite): ProposalSpec => ({
  protocolId: ProtocolId.IKE,
  encr: { id: EncrId.AES_GCM_16, keyLength: 256 },
  prf: PrfId.HMAC_SHA2_256,
  ke: KeId.CURVE25519,
  ...(suite === 'hybrid' ? { addke: [KeId.ML_KEM_768] } : {}),
});

const PSK = Buffer.from('benchmark pre-shared key, 32 oct');
const MEMBER = Id.fqdn('member.bench');
const GATEWAY = Id.fqdn('gw.bench');
const OPTIONS = { livenessIntervalMs: 0, halfOpenThreshold: 1_000_000 };

function initiatorConfig(suite: Suite): PeerConfig {
  return {
    name: 'bench',
    proposals: [proposal(suite)],
    localId: MEMBER,
    remoteId: GATEWAY,
    localAuth: { method: 'psk', psk: PSK },
    remoteAuth: { method: 'psk', psk: PSK },
    children: [],
    initialContact: false, // it would close every earlier SA of the same identity
  };
}

function responderPolicy(suite: Suite): ResponderPolicy {
  const peer: PeerConfig = { ...initiatorConfig(suite), name: 'bench-peer', localId: GATEWAY, remoteId: MEMBER };
  return { init: { proposals: peer.proposals }, resolvePeer: () => peer };
}

const cpuSeconds = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1e6;

/** CPU seconds of the calling thread (utime + stime of /proc/thread-self/stat), NaN off Linux. */
function threadCpuSeconds(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // fields 14 and 15, in USER_HZ (100/s)
  } catch {
    return NaN;
  }
}

/** Fresh key pairs taken from the key-pair pool / all fresh key pairs asked for (- without a pool). */
function poolHits(): string {
  const kinds = keyPairPool()?.stats().kinds;
  if (!kinds) return '-';
  const taken = kinds.reduce((n, k) => n + k.taken, 0);
  const all = taken + kinds.reduce((n, k) => n + k.missed, 0);
  return all ? `${((100 * taken) / all).toFixed(1)}%` : '-';
}

interface MemoryFigures {
  readonly rss: number;
  readonly heap: number;
  readonly arrayBuffers: number;
}

function settledMemory(): MemoryFigures {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, arrayBuffers: m.arrayBuffers };
}

/**
 * Starts `count` IKE SAs with at most CONCURRENCY in flight; resolves with the wall time
 * once all are up. Any failure rejects: the benchmark measures successes only.
 */
function establish(engine: IkeEngine, suite: Suite, count: number, remote: Endpoint, local: Endpoint): Promise<number> {
  const config = initiatorConfig(suite);
  return new Promise((resolve, reject) => {
    let started = 0;
    let up = 0;
    const t0 = performance.now();
    const limit = setTimeout(() => reject(new Error(`${suite}: only ${up}/${count} SAs after ${PHASE_LIMIT_MS} ms`)), PHASE_LIMIT_MS);
    const next = (): void => {
      if (started < count) {
        started++;
        engine.initiate(config, remote, local);
      }
    };
    const off = engine.events.on('*', (e) => {
      if (e.type === 'error' || (e.type === 'deleted' && e.what === 'ike')) {
        clearTimeout(limit);
        off();
        reject(new Error(`${suite}: ${JSON.stringify(e)}`));
      } else if (e.type === 'ike_up') {
        if (++up === count) {
          clearTimeout(limit);
          off();
          resolve(performance.now() - t0);
        } else next();
      }
    });
    for (let i = 0; i < Math.min(CONCURRENCY, count); i++) next();
  });
}

interface Row {
  readonly mode: string;
  readonly suite: Suite;
  readonly sas: number;
  readonly seconds: number;
  readonly responderCpuPer1000: number;
  readonly initiatorCpuPer1000: number;
  /** udp: the event-loop threads alone, and the key-pair pool's hit rate per side. */
  readonly responderThreadPer1000?: number;
  readonly initiatorThreadPer1000?: number;
  readonly pool?: string;
}

interface MemoryRow {
  readonly pool: string;
  readonly suite: Suite;
  readonly side: string;
  readonly held: number;
  readonly rssPerSa: number;
  readonly heapPerSa: number;
  readonly buffersPerSa: number;
}

const perSa = (a: MemoryFigures, b: MemoryFigures, n: number) => ({ rssPerSa: (b.rss - a.rss) / n, heapPerSa: (b.heap - a.heap) / n, buffersPerSa: (b.arrayBuffers - a.arrayBuffers) / n });

// --- processes: every phase runs in fresh processes, so garbage and timers of one phase
// (a responder SA keeps its 30 s half-open timer) never colour the next -----------------------------

type Msg =
  | { readonly op: 'ready'; readonly port?: number }
  | { readonly op: 'go' }
  | { readonly op: 'measure' }
  | { readonly op: 'measured'; readonly cpu: number; readonly thread: number; readonly pool: string; readonly memory: MemoryFigures; readonly sas: number; readonly datagrams: number }
  | { readonly op: 'done'; readonly ms: number; readonly cpu: number; readonly thread?: number; readonly pool?: string; readonly responderCpu?: number; readonly memory: readonly [MemoryFigures, MemoryFigures]; readonly sas: number; readonly datagrams?: number }
  | { readonly op: 'exit' };

/** A forked copy of this file in one role, with gkm-member's Node flags; replies arrive in request order. */
class Child {
  readonly #proc: ChildProcess;
  readonly #waiting: ((m: Msg) => void)[] = [];
  constructor(args: readonly string[], extraFlags: readonly string[] = []) {
    const flags = [...memberNodeFlags(), '--import', 'tsx', '--expose-gc', ...extraFlags];
    this.#proc = fork(fileURLToPath(import.meta.url), [...args], { execArgv: flags, stdio: 'inherit' });
    this.#proc.on('message', (m: Msg) => this.#waiting.shift()?.(m));
  }
  next<T extends Msg['op']>(send?: Msg): Promise<Extract<Msg, { op: T }>> {
    return new Promise((resolve) => {
      this.#waiting.push((r) => resolve(r as Extract<Msg, { op: T }>));
      if (send) this.#proc.send(send);
    });
  }
  exit(): void {
    this.#proc.send({ op: 'exit' } satisfies Msg);
  }
}

/** To the orchestrator; run alone (e.g. `--role=in-memory` under --cpu-prof), printed instead. */
const reply = (m: Msg): void => void (process.send ? process.send(m) : console.log(JSON.stringify(m)));
const onMessage = (fn: (m: Msg) => void): void => void process.on('message', fn);

function udpEngine(transport: IkeTransport, policy: ResponderPolicy | undefined): IkeEngine {
  const sender: DatagramSender = {
    send: (d, remote, local) => void transport.send(d, { address: remote.ip, port: remote.port }, { address: local.ip, port: local.port }),
  };
  // Over UDP the engines send as the member daemon does (coalesceSends).
  const engine = new IkeEngine({ sender, ...(policy ? { responder: policy } : {}), options: { ...OPTIONS, coalesceSends: true } });
  transport.setIkeHandler((dg) => engine.receive(dg.data, { ip: dg.remote.address, port: dg.remote.port }, { ip: dg.local.address, port: dg.local.port }));
  return engine;
}

async function openLoopback(): Promise<IkeTransport> {
  const size = 8 * 1024 * 1024;
  return IkeTransport.open({ sockets: [{ address: '127.0.0.1', port: 0, kind: 'ike' }], receiveBufferSize: size, sendBufferSize: size });
}

const arg = (name: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? '';

/** --role=responder: answers until told to exit; reports its CPU time and memory on request. */
async function responderRole(suite: Suite): Promise<void> {
  const transport = await openLoopback();
  const engine = udpEngine(transport, responderPolicy(suite));
  if (!process.send) process.on('SIGINT', () => process.exit(0)); // standalone (--cpu-prof): flush on ^C
  onMessage((m) => {
    if (m.op === 'measure') {
      const cpu = cpuSeconds(process.cpuUsage());
      reply({ op: 'measured', cpu, thread: threadCpuSeconds(), pool: poolHits(), memory: settledMemory(), sas: engine.list().length, datagrams: transport.stats().total.received });
    }
    if (m.op === 'exit') void transport.close().then(() => process.exit(0));
  });
  reply({ op: 'ready', port: transport.sockets()[0]!.local.port });
}

/** --role=initiator: establishes --count SAs with the responder at --port when told to go. */
async function initiatorRole(suite: Suite, count: number, port: number): Promise<void> {
  const transport = await openLoopback();
  const engine = udpEngine(transport, undefined);
  const local: Endpoint = { ip: '127.0.0.1', port: transport.sockets()[0]!.local.port };
  const m0 = settledMemory();
  const go = (): void => {
    const c0 = process.cpuUsage();
    const t0 = threadCpuSeconds();
    void establish(engine, suite, count, { ip: '127.0.0.1', port }, local).then((ms) => {
      const cpu = cpuSeconds(process.cpuUsage(c0));
      const thread = threadCpuSeconds() - t0;
      reply({ op: 'done', ms, cpu, thread, pool: poolHits(), memory: [m0, settledMemory()], sas: engine.list().length, datagrams: transport.stats().total.sent });
      if (!process.send) void transport.close().then(() => process.exit(0));
    });
  };
  onMessage((m) => {
    if (m.op === 'exit') void transport.close().then(() => process.exit(0));
    if (m.op === 'go') go();
  });
  reply({ op: 'ready' });
  if (!process.send) go(); // standalone: start at once
}

/** --role=in-memory: both engines in this process, datagrams handed over through a queue. */
async function inMemoryRole(suite: Suite, count: number): Promise<void> {
  const queue: { to: 'i' | 'r'; d: Buffer; from: Endpoint; at: Endpoint }[] = [];
  let draining = false;
  let responderCpu = 0;
  const drain = async (): Promise<void> => {
    if (draining) return;
    draining = true;
    for (let p = queue.shift(); p; p = queue.shift()) {
      if (p.to === 'r') {
        const c = process.cpuUsage();
        await responder.receive(p.d, p.from, p.at);
        responderCpu += cpuSeconds(process.cpuUsage(c));
      } else await initiator.receive(p.d, p.from, p.at);
    }
    draining = false;
  };
  const sender = (to: 'i' | 'r'): DatagramSender => ({
    send: (d, remote, local) => {
      queue.push({ to, d: Buffer.from(d), from: local, at: remote });
      queueMicrotask(() => void drain());
    },
  });
  const responder = new IkeEngine({ sender: sender('i'), responder: responderPolicy(suite), options: OPTIONS });
  const initiator = new IkeEngine({ sender: sender('r'), options: OPTIONS });
  const m0 = settledMemory();
  const c0 = process.cpuUsage();
  const ms = await establish(initiator, suite, count, { ip: '10.0.0.2', port: 500 }, { ip: '10.0.0.1', port: 500 });
  const cpu = cpuSeconds(process.cpuUsage(c0));
  reply({ op: 'done', ms, cpu, responderCpu, memory: [m0, settledMemory()], sas: initiator.list().length + responder.list().length });
  if (!process.send) process.exit(0);
  onMessage((m) => m.op === 'exit' && process.exit(0));
}

// --- orchestration --------------------------------------------------------------------------------

const UDP = 'udp (2 processes)';
const MEM = 'in-memory (1 process)';

/** --cpu-prof flags for the udp child in `role` when IKE_BENCH_CPU_PROF names a directory. */
function profFlags(role: 'initiator' | 'responder'): string[] {
  const dir = process.env['IKE_BENCH_CPU_PROF'];
  return dir && (process.env['IKE_BENCH_CPU_PROF_ROLE'] ?? 'initiator') === role ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

async function udpPhase(suite: Suite, count: number, hold: boolean, pool: boolean, rows: Row[], memory: MemoryRow[]): Promise<void> {
  const poolArg = pool ? [] : ['--no-buffer-pool'];
  const responder = new Child(['--role=responder', `--suite=${suite}`, ...poolArg], hold ? [] : profFlags('responder'));
  const { port } = await responder.next<'ready'>();
  const initiator = new Child(['--role=initiator', `--suite=${suite}`, `--count=${count}`, `--port=${port}`, ...poolArg], hold ? [] : profFlags('initiator'));
  try {
    await initiator.next<'ready'>();
    const r0 = await responder.next<'measured'>({ op: 'measure' });
    const done = await initiator.next<'done'>({ op: 'go' });
    const r1 = await responder.next<'measured'>({ op: 'measure' });
    if (hold) {
      const [m0, m1] = done.memory;
      const poolName = pool ? 'default (8 KiB slabs)' : 'Buffer.poolSize = 0';
      memory.push(
        { pool: poolName, suite, side: 'responder', held: r1.sas, ...perSa(r0.memory, r1.memory, r1.sas) },
        { pool: poolName, suite, side: 'initiator', held: done.sas, ...perSa(m0, m1, done.sas) },
      );
    } else {
      rows.push({
        mode: UDP,
        suite,
        sas: count,
        seconds: done.ms / 1000,
        responderCpuPer1000: ((r1.cpu - r0.cpu) / count) * 1000,
        initiatorCpuPer1000: (done.cpu / count) * 1000,
        responderThreadPer1000: ((r1.thread - r0.thread) / count) * 1000,
        initiatorThreadPer1000: ((done.thread ?? NaN) / count) * 1000,
        pool: `${r1.pool} / ${done.pool ?? '-'}`,
      });
      // Retransmissions (a lost datagram costs a 4 s timeout) show as more than 4 or 7 per SA.
      console.log(`  udp ${suite}: initiator sent ${fmt((done.datagrams ?? 0) / count, 2)} datagrams per SA, responder received ${fmt((r1.datagrams - r0.datagrams) / count, 2)}`);
    }
  } finally {
    initiator.exit();
    responder.exit();
  }
}

async function inMemoryPhase(suite: Suite, count: number, rows: Row[]): Promise<void> {
  const child = new Child(['--role=in-memory', `--suite=${suite}`, `--count=${count}`]);
  try {
    const done = await child.next<'done'>();
    const r = done.responderCpu ?? 0;
    rows.push({ mode: MEM, suite, sas: count, seconds: done.ms / 1000, responderCpuPer1000: (r / count) * 1000, initiatorCpuPer1000: ((done.cpu - r) / count) * 1000 });
  } finally {
    child.exit();
  }
}

async function main(): Promise<void> {
  console.log(`IKE SA establishment, ours to ours: ${fmt(N)} SAs per rate run, ${fmt(HOLD)} held for memory, ${CONCURRENCY} in flight; ${cpus().length} x ${cpus()[0]?.model ?? '?'}, Node ${process.version}`);
  const rows: Row[] = [];
  const memory: MemoryRow[] = [];
  for (const suite of SUITES) {
    if (MODES.includes('udp')) await udpPhase(suite, N, false, true, rows, memory);
    if (MODES.includes('in-memory')) await inMemoryPhase(suite, N, rows);
  }
  if (MODES.includes('udp')) {
    for (const suite of SUITES) for (const pool of [true, false]) await udpPhase(suite, HOLD, true, pool, rows, memory);
  }
  const name = (s: Suite): string => (s === 'hybrid' ? 'X25519 + ML-KEM-768 (3 exchanges)' : 'X25519 only (2 exchanges)');
  console.log('\nEstablishment rate (PSK, AES-GCM-16-256, childless)\n');
  console.log(
    table(
      ['set-up', 'key exchange', 'SAs', 'seconds', 'SAs/s', 'responder CPU-s / 1,000 SAs', 'initiator CPU-s / 1,000 SAs', 'main thread: responder / initiator', 'key-pair pool hits: responder / initiator'],
      rows.map((r) => [
        r.mode,
        name(r.suite),
        r.sas,
        fmt(r.seconds, 2),
        fmt(r.sas / r.seconds),
        fmt(r.responderCpuPer1000, 3),
        fmt(r.initiatorCpuPer1000, 3),
        r.responderThreadPer1000 === undefined ? '-' : `${fmt(r.responderThreadPer1000, 3)} / ${fmt(r.initiatorThreadPer1000 ?? NaN, 3)}`,
        r.pool ?? '-',
      ]),
    ),
  );
  console.log(`\nMemory per established IKE SA, ${UDP}, after GC\n`);
  console.log(
    table(
      ['Buffer pool', 'key exchange', 'process', 'SAs held', 'RSS B / SA', 'V8 heap B / SA', 'ArrayBuffers B / SA'],
      memory.map((m) => [m.pool, name(m.suite), m.side, m.held, fmt(m.rssPerSa), fmt(m.heapPerSa), fmt(m.buffersPerSa)]),
    ),
  );
  console.log(`\nload average while running: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}

if (process.argv.includes('--no-buffer-pool')) Buffer.poolSize = 0;
const role = arg('role');
const suiteArg = arg('suite') as Suite;
if (role === 'responder') await responderRole(suiteArg);
else if (role === 'initiator') await initiatorRole(suiteArg, Number(arg('count')), Number(arg('port')));
else if (role === 'in-memory') await inMemoryRole(suiteArg, Number(arg('count')));
else await main();
