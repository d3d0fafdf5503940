/**
 * A network namespace of our own for a benchmark (only loopback inside), deleted on
 * `remove()`, and on exit or Ctrl-C should the benchmark die first.
 */
import { spawnSync } from 'node:child_process';

export interface Netns {
  readonly name: string;
  remove(): void;
}

function ip(args: readonly string[]): void {
  const r = spawnSync('ip', [...args], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr || r.error?.message}`);
}

export function createNetns(name: string): Netns {
  ip(['netns', 'add', name]);
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    removed = true;
    spawnSync('ip', ['netns', 'del', name], { timeout: 10_000 });
  };
  process.once('exit', remove);
  process.once('SIGINT', () => {
    remove();
    process.exit(130);
  });
  try {
    ip(['-n', name, 'link', 'set', 'lo', 'up']);
  } catch (e) {
    remove();
    throw e;
  }
  return { name, remove };
}
