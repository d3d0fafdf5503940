/**
 * Network namespace lab for multicast tests: namespaces this process creates, joined by a
 * bridge that lives in a namespace of its own, so no traffic touches the host's interfaces.
 * Names carry our pid (`gkmdp<pid>-…`); namespaces left by a killed run (pid gone) are
 * removed at start, and ours in `destroy()`. Every command and wait is bounded.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

const PREFIX = 'gkmdp';
const CMD_TIMEOUT_MS = 10_000;

export function canRunNetns(): { ok: true } | { ok: false; reason: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'network namespaces need root (CI runs as root)' };
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: CMD_TIMEOUT_MS });
  if (r.status !== 0) return { ok: false, reason: `iproute2 'ip netns' unavailable: ${r.stderr || r.error}` };
  return { ok: true };
}

export function ip(args: readonly string[]): string {
  const r = spawnSync('ip', [...args], { encoding: 'utf8', timeout: CMD_TIMEOUT_MS });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr || r.error || `status ${r.status}`}`);
  return r.stdout;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function listNetns(): string[] {
  return ip(['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

/** Removes namespaces of earlier runs whose process is gone; returns their names. */
export function removeStale(): string[] {
  const stale = listNetns().filter((n) => {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(n);
    return m !== null && Number(m[1]) !== process.pid && !alive(Number(m[1]));
  });
  for (const n of stale) ip(['netns', 'del', n]);
  return stale;
}

export interface LabNode {
  readonly name: string;
  /** Address on the lab's /24, e.g. 10.77.0.2. */
  readonly addr: string;
}

export class NetnsLab {
  readonly prefix = `${PREFIX}${process.pid}`;
  readonly bridgeNs = `${this.prefix}-br`;
  private readonly created: string[] = [];

  ns(name: string): string {
    return `${this.prefix}-${name}`;
  }

  /** Bridge namespace + one namespace per node with `eth0` (veth to the bridge) and lo up. */
  create(nodes: readonly LabNode[], prefixLength = 24): void {
    this.add(this.bridgeNs);
    ip(['-n', this.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0']);
    ip(['-n', this.bridgeNs, 'link', 'set', 'br0', 'up']);
    for (const [i, n] of nodes.entries()) {
      const ns = this.ns(n.name);
      this.add(ns);
      const port = `p${i}`;
      ip(['-n', this.bridgeNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      ip(['-n', this.bridgeNs, 'link', 'set', port, 'master', 'br0', 'up']);
      ip(['-n', ns, 'addr', 'add', `${n.addr}/${prefixLength}`, 'dev', 'eth0']);
      ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
  }

  private add(ns: string): void {
    ip(['netns', 'add', ns]);
    this.created.push(ns);
  }

  destroy(): void {
    for (const ns of this.created.splice(0).reverse()) {
      try {
        ip(['netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
  }
}

/** argv running a TypeScript fixture with this Node, its JSON configuration as the argument. */
export function nodeArgv(script: string, config: object): string[] {
  return [process.execPath, '--import', 'tsx', script, JSON.stringify(config)];
}

/** A node process in a namespace, speaking JSON lines on stdout and reading commands on stdin. */
export class NsChild {
  readonly messages: Array<Record<string, unknown>> = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly proc: ChildProcessWithoutNullStreams;
  private waiters: Array<() => void> = [];

  /** Runs `argv` in namespace `ns` (see `nodeArgv`). */
  constructor(ns: string, argv: readonly string[], cwd: string) {
    this.proc = spawn('ip', ['netns', 'exec', ns, ...argv], { cwd, stdio: 'pipe' });
    createInterface({ input: this.proc.stdout }).on('line', (l) => {
      try {
        this.messages.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        this.stderr.push(`stdout: ${l}`);
      }
      this.wake();
    });
    createInterface({ input: this.proc.stderr }).on('line', (l) => this.stderr.push(l));
    this.exited = new Promise((resolve) =>
      this.proc.on('exit', (code) => {
        resolve(code);
        this.wake();
      }),
    );
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The first message with this `event`; rejects on timeout or if the child exits first. */
  async waitFor(event: string, ms: number): Promise<Record<string, unknown>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = this.messages.find((x) => x.event === event);
      if (m) return m;
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
        throw new Error(`child exited (${this.proc.exitCode ?? this.proc.signalCode}) before '${event}': ${this.stderr.slice(-20).join('\n')}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for '${event}': ${this.stderr.slice(-20).join('\n')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  command(line: string): void {
    this.proc.stdin.write(`${line}\n`);
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}
