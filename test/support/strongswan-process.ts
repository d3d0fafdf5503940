/**
 * Process helpers for the strongSwan harness: bounded command runs, bounded waits, free
 * UDP ports, and a last-chance kill of every daemon still running when the test process
 * exits (a failed `before` hook must not leave a charon holding ports).
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command with a hard time limit; rejects with its output when it fails. */
export function run(cmd: string, args: readonly string[], timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, [...args], { timeout: timeoutMs, killSignal: 'SIGKILL', env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const why = err.killed ? `timed out after ${timeoutMs} ms` : `exit ${String(err.code)}`;
        reject(new Error(`${cmd} ${args.join(' ')}: ${why}\n${stdout}${stderr}`.trimEnd()));
      } else resolve({ stdout, stderr });
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 150): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(everyMs);
  }
}

/** Resolves when the process exits, or with false after `timeoutMs`. */
export function waitExit(proc: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    proc.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** SIGTERM (or `signal`), then SIGKILL if the process is still there after `graceMs`. */
export async function terminate(proc: ChildProcess, graceMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGCONT'); // a paused daemon cannot act on SIGTERM
  proc.kill(signal);
  if (await waitExit(proc, graceMs)) return;
  proc.kill('SIGKILL');
  await waitExit(proc, 5_000);
}

/** `n` distinct UDP ports that were free a moment ago (bound together, then released). */
export async function freeUdpPorts(n: number): Promise<number[]> {
  const sockets = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createSocket>>((resolve, reject) => {
      const s = createSocket('udp4');
      s.once('error', reject);
      s.bind(0, '0.0.0.0', () => resolve(s));
    })),
  );
  const ports = sockets.map((s) => s.address().port);
  await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

const live = new Set<ChildProcess>();
let hooked = false;

/** Kills `proc` with SIGKILL if it is still running when this process exits. */
export function killOnExit(proc: ChildProcess): void {
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const p of live) p.kill('SIGKILL');
  });
}
