/**
 * strongSwan 5.9.8 harness: runs charon daemons side by side on this machine, each with
 * its own strongswan.conf, ports, vici socket and log, in a private mount namespace with
 * its own /run (charon's pid file path is fixed), optionally inside a network namespace.
 * Driven through swanctl. See ../shared/INTEROP.md for the facts this relies on.
 *
 *   const c = await startCharon({ name: 'a', dir, ports: { ike: 15000, natt: 15001 }, conf });
 *   await c.initiate({ child: 'net' });
 *   const sas = await c.listSas();
 *   await c.stop();
 *
 * Child SAs are installed in kernel-libipsec (userspace ESP over a TUN device, which works
 * here as root). Its routes go to a per-daemon routing table whose rule sits after `main`,
 * so nothing on the host is routed through them; `stop()` removes the rule.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  charonLogPath, strongswanConf, swanctlConf, viciUri,
  type CharonPorts, type LogLevels, type Retransmit, type SettingsTree, type SwanctlConf,
} from './strongswan-conf.ts';
import { parseListSas, parsePrettyVici, type IkeSa } from './strongswan-sas.ts';
import { killOnExit, run, terminate, waitUntil, type RunResult } from './strongswan-process.ts';

export * from './strongswan-conf.ts';
export * from './strongswan-sas.ts';
export { freeUdpPorts, waitUntil } from './strongswan-process.ts';

export const CHARON_BIN = '/usr/lib/ipsec/charon';
export const SYSTEM_PLUGIN_DIR = '/usr/lib/ipsec/plugins';

const onPath = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Why strongSwan cannot run here, or undefined when it can. */
export function strongswanMissing(): string | undefined {
  if (!existsSync(CHARON_BIN)) return `${CHARON_BIN} not found (apt-get install strongswan-charon)`;
  if (!onPath('swanctl')) return 'swanctl not found (apt-get install strongswan-swanctl)';
  if (!onPath('unshare')) return 'unshare not found (util-linux)';
  if (process.getuid?.() !== 0) return 'not root (charon needs private mount namespaces)';
  return undefined;
}

/**
 * `skip` option for interop tests: a printed reason outside CI when strongSwan is
 * missing; in CI never (the tests then fail, since .ci/run installs strongSwan).
 */
export function strongswanSkip(): string | false {
  const missing = strongswanMissing();
  if (!missing || process.env.CI) return false;
  const reason = `strongSwan interop skipped: ${missing}; .ci/run installs it`;
  console.log(`# ${reason}`);
  return reason;
}

export type SaRef = { readonly ike: string } | { readonly ikeId: number } | { readonly child: string } | { readonly childId: number };

function refArgs(ref: SaRef): string[] {
  if ('ike' in ref) return ['--ike', ref.ike];
  if ('ikeId' in ref) return ['--ike-id', String(ref.ikeId)];
  if ('child' in ref) return ['--child', ref.child];
  return ['--child-id', String(ref.childId)];
}

export interface StartCharonOptions {
  readonly name: string;
  /** Working directory (created): config, run/, vici socket, charon.log. */
  readonly dir: string;
  readonly ports: CharonPorts;
  readonly conf?: SwanctlConf;
  readonly logLevels?: LogLevels;
  /** Network namespace to run in (created by the caller); default: the host's. */
  readonly netns?: string;
  /** Plugin list for `charon.load` (default DEFAULT_PLUGINS). */
  readonly plugins?: readonly string[];
  /** Extra plugin .so files made visible to this daemon only (e.g. the load-tester). */
  readonly extraPluginFiles?: readonly string[];
  readonly retransmit?: Retransmit;
  readonly ikesaTableSize?: number;
  /** Extra settings merged into `charon { }`. */
  readonly settings?: SettingsTree;
  /** Keep `dir` after stop() (also with GKM_KEEP_STRONGSWAN=1). */
  readonly keepDir?: boolean;
  readonly startTimeoutMs?: number;
  /** Called right after the daemon process is spawned (benchmarks start their clock here). */
  readonly onSpawn?: (pid: number) => void;
}

export interface SwanctlStats {
  readonly ikeSas: number;
  readonly halfOpen: number;
}

export interface Charon {
  readonly name: string;
  readonly dir: string;
  readonly ports: CharonPorts;
  readonly pid: number;
  /** vici URI for swanctl's `--uri`. */
  readonly uri: string;
  /** Raw swanctl call against this daemon (bounded). */
  swanctl(args: readonly string[], timeoutMs?: number): Promise<RunResult>;
  /** Writes swanctl.conf and loads everything in it (connections, secrets). */
  load(conf: SwanctlConf): Promise<void>;
  /** Initiates a Child SA (with its IKE SA) or an IKE SA alone; resolves when established. */
  initiate(ref: { readonly child: string } | { readonly ike: string }, timeoutS?: number): Promise<string>;
  listSas(filter?: { readonly ike?: string }): Promise<IkeSa[]>;
  /** Polls listSas() until `pick` returns a value (bounded). */
  waitForSas<T>(what: string, pick: (sas: IkeSa[]) => T | undefined, timeoutMs?: number): Promise<T>;
  /** Queues a rekey (vici returns at once; wait for the new SPIs with waitForSas). */
  rekeyChild(ref: string | { readonly childId: number }): Promise<void>;
  rekeyIke(ref: string | { readonly ikeId: number }): Promise<void>;
  /** Deletes an IKE SA (with its Child SAs) or a Child SA; resolves when done. */
  terminate(ref: SaRef, timeoutS?: number): Promise<void>;
  stats(): Promise<SwanctlStats>;
  /** charon.log so far. */
  logs(): string;
  /** SIGSTOP/SIGCONT: a peer that stops answering (liveness tests). */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Copies the system plugins and the extra ones into `dir`, to bind over the plugin folder. */
function pluginFolder(dir: string, extra: readonly string[]): string {
  const folder = join(dir, 'plugins');
  mkdirSync(folder, { recursive: true });
  for (const f of readdirSync(SYSTEM_PLUGIN_DIR)) copyFileSync(join(SYSTEM_PLUGIN_DIR, f), join(folder, f));
  for (const f of extra) copyFileSync(f, join(folder, basename(f)));
  return folder;
}

function charonCommand(o: StartCharonOptions): string[] {
  const mounts = [`mount --make-rprivate /`, `mount --bind ${q(join(o.dir, 'run'))} /run`];
  if (o.extraPluginFiles?.length) {
    mounts.push(`mount --bind ${q(pluginFolder(o.dir, o.extraPluginFiles))} ${SYSTEM_PLUGIN_DIR}`);
  }
  const script = `${mounts.join(' && ')} && exec ${CHARON_BIN}`;
  const inNs = o.netns ? ['ip', 'netns', 'exec', o.netns] : [];
  return [...inNs, 'unshare', '-m', 'sh', '-c', script];
}

/** `ip ARGS`, inside `netns` when given. */
function ip(netns: string | undefined, args: readonly string[]): Promise<RunResult> {
  return netns ? run('ip', ['netns', 'exec', netns, 'ip', ...args], 5_000) : run('ip', args, 5_000);
}

/** charon deletes its rule on a clean exit; after a SIGKILL it is left behind. */
async function removeRoutingRule(netns: string | undefined, table: number): Promise<void> {
  for (let i = 0; i < 4; i++) {
    try {
      await ip(netns, ['rule', 'del', 'table', String(table)]);
    } catch {
      return; // no (more) rule for that table
    }
  }
}

export async function startCharon(o: StartCharonOptions): Promise<Charon> {
  mkdirSync(join(o.dir, 'run'), { recursive: true });
  mkdirSync(join(o.dir, 'conf'), { recursive: true });
  const confPath = join(o.dir, 'strongswan.conf');
  const routingTable = o.ports.ike; // unique per daemon, like its port
  writeFileSync(
    confPath,
    strongswanConf({
      dir: o.dir,
      ports: o.ports,
      plugins: o.plugins,
      logLevels: o.logLevels,
      ikesaTableSize: o.ikesaTableSize,
      retransmit: o.retransmit,
      routingTable,
      extra: o.settings,
    }),
  );
  const uri = viciUri(o.dir);
  const out = openSync(join(o.dir, 'charon.out'), 'w');
  const [cmd, ...args] = charonCommand(o);
  const proc: ChildProcess = spawn(cmd!, args, {
    env: { ...process.env, STRONGSWAN_CONF: confPath },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  killOnExit(proc);
  o.onSpawn?.(proc.pid ?? -1);

  const logs = (): string => {
    const p = charonLogPath(o.dir);
    return existsSync(p) ? readFileSync(p, 'utf8') : '';
  };
  const swanctl = (a: readonly string[], timeoutMs = 20_000): Promise<RunResult> =>
    run('swanctl', [...a, '--uri', uri], timeoutMs);
  const listSas = async (filter?: { ike?: string }): Promise<IkeSa[]> =>
    parseListSas((await swanctl(['--list-sas', '--pretty', ...(filter?.ike ? ['--ike', filter.ike] : [])])).stdout);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await terminate(proc, 5_000);
    await removeRoutingRule(o.netns, routingTable);
    if (!o.keepDir && !process.env.GKM_KEEP_STRONGSWAN) rmSync(o.dir, { recursive: true, force: true });
  };

  const handle: Charon = {
    name: o.name,
    dir: o.dir,
    ports: o.ports,
    pid: proc.pid ?? -1,
    uri,
    swanctl,
    async load(conf) {
      const file = join(o.dir, 'conf', 'swanctl.conf');
      writeFileSync(file, swanctlConf(conf), { mode: 0o600 });
      await swanctl(['--load-all', '--noprompt', '--file', file]);
    },
    async initiate(ref, timeoutS = 15) {
      const what = 'child' in ref ? ['--child', ref.child] : ['--ike', ref.ike];
      return (await swanctl(['--initiate', ...what, '--timeout', String(timeoutS)], (timeoutS + 5) * 1000)).stdout;
    },
    listSas,
    waitForSas(what, pick, timeoutMs = 15_000) {
      return waitUntil(`${o.name}: ${what}`, timeoutMs, async () => pick(await listSas()), 200);
    },
    async rekeyChild(ref) {
      await swanctl(['--rekey', ...refArgs(typeof ref === 'string' ? { child: ref } : ref)]);
    },
    async rekeyIke(ref) {
      await swanctl(['--rekey', ...refArgs(typeof ref === 'string' ? { ike: ref } : ref)]);
    },
    async terminate(ref, timeoutS = 10) {
      await swanctl(['--terminate', ...refArgs(ref), '--timeout', String(timeoutS)], (timeoutS + 5) * 1000);
    },
    async stats() {
      const body = parsePrettyVici((await swanctl(['--stats', '--pretty'])).stdout).find((m) => m.name === 'stats reply')?.body;
      const ikesas = body?.ikesas;
      if (!ikesas || typeof ikesas !== 'object' || Array.isArray(ikesas)) throw new Error('no ikesas in swanctl --stats');
      const s = ikesas as Record<string, string>;
      return { ikeSas: Number(s.total), halfOpen: Number(s['half-open']) };
    },
    logs,
    pause: () => void proc.kill('SIGSTOP'),
    resume: () => void proc.kill('SIGCONT'),
    stop,
  };

  try {
    const timeoutMs = o.startTimeoutMs ?? 10_000;
    const state = await waitUntil(`${o.name}: vici at ${uri}`, timeoutMs, async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return 'exited';
      await swanctl(['--stats'], 3_000);
      return 'ready';
    });
    if (state === 'exited') {
      throw new Error(`charon ${o.name} exited at start: ${readFileSync(join(o.dir, 'charon.out'), 'utf8')}${logs().slice(-2000)}`);
    }
    if (o.conf) await handle.load(o.conf);
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
  return handle;
}
