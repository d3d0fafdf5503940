/**
 * Runs the CLI launchers (bin/*.js) as child processes, as an operator would: output
 * captured, JSON event lines parsed, bounded waits, and termination by the child's PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = {
  member: fileURLToPath(new URL('../../bin/gkm-member.js', import.meta.url)),
  ctl: fileURLToPath(new URL('../../bin/gkmctl.js', import.meta.url)),
} as const;

export class CliProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  readonly #waiters = new Set<() => void>();

  constructor(bin: string, args: readonly string[], cwd: string) {
    this.child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => this.#add('stdout', d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => this.#add('stderr', d));
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  #add(stream: 'stdout' | 'stderr', d: string): void {
    this[stream] += d;
    for (const w of this.#waiters) w();
  }

  /** stdout as JSON lines (complete lines only). */
  get events(): Record<string, unknown>[] {
    return this.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** The first JSON event on stdout that matches, within `ms`. */
  waitForEvent(match: (e: Record<string, unknown>) => boolean, ms = 15_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const complete = this.stdout.slice(0, this.stdout.lastIndexOf('\n') + 1);
        const e = complete.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find(match);
        if (!e) return;
        done();
        resolve(e);
      };
      const done = (): void => {
        this.#waiters.delete(check);
        clearTimeout(timer);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching event within ${ms} ms\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`));
      }, ms);
      this.#waiters.add(check);
      check();
    });
  }

  /** SIGTERM to this child (by its PID), then its exit code, within `ms`. */
  async stop(ms = 10_000): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no exit after SIGTERM')), ms)));
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
      if (this.child.exitCode === null) this.child.kill('SIGKILL');
    }
  }
}

/** Runs a command to completion: exit code and output. */
export async function run(bin: string, args: readonly string[], cwd: string, ms = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = new CliProcess(bin, args, cwd);
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([p.exited, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${bin} ${args.join(' ')} did not finish`)), ms)))]).finally(() => {
    clearTimeout(timer);
    if (p.child.exitCode === null) p.child.kill('SIGKILL');
  });
  return { code, stdout: p.stdout, stderr: p.stderr };
}
