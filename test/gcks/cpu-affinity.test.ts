/**
 * CPU affinity of the GCKS's threads (src/gcks/cpu-affinity.ts): CPU lists, the plan, and on
 * Linux with two or more allowed CPUs and util-linux `taskset`, a child process that pins its
 * event loop, starts a worker thread afterwards (which inherits the event loop's CPU) and
 * reports where every thread may run once the sweep has moved it. The child, not the test
 * runner, is pinned.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { allowedCpus, formatCpuList, parseCpuList, planAffinity } from '../../src/gcks/cpu-affinity.ts';
import { gkmError } from '../store/helpers.ts';

test('CPU lists as /proc and taskset write them; malformed ones are GKM_CONFIG_INVALID', () => {
  assert.deepEqual(parseCpuList('0'), [0]);
  assert.deepEqual(parseCpuList('0-3,5'), [0, 1, 2, 3, 5]);
  assert.deepEqual(parseCpuList('5,0-1,1'), [0, 1, 5]);
  assert.equal(formatCpuList([0, 2, 3]), '0,2,3');
  for (const bad of ['', 'a', '1-', '3-1', '0,,1', '-1', '99999']) assert.throws(() => parseCpuList(bad), gkmError('GKM_CONFIG_INVALID'), bad);
});

test('plan: the event loop on its CPU, every other thread on the other allowed CPUs', () => {
  assert.deepEqual(planAffinity([0, 1], 0), { eventLoop: 0, helpers: [1] });
  assert.deepEqual(planAffinity([0, 1, 2, 3], 2), { eventLoop: 2, helpers: [0, 1, 3] });
  assert.throws(() => planAffinity([0, 1], 4), gkmError('GKM_CONFIG_INVALID', /CPU 4 is not among the CPUs this process may use \(0,1\)/));
  assert.throws(() => planAffinity([3], 3), gkmError('GKM_CONFIG_INVALID', /nothing left for the other threads/));
});

const CHILD = `
import { Worker } from 'node:worker_threads';
import { readdirSync, readFileSync } from 'node:fs';
import { EventLoopAffinity } from ${JSON.stringify(fileURLToPath(new URL('../../src/gcks/cpu-affinity.ts', import.meta.url)))};
const cpu = Number(process.argv[1]);
const a = EventLoopAffinity.apply(cpu, { sweepMs: 50 });
const w = new Worker('setInterval(() => {}, 1000)', { eval: true }); // started after the pin: inherits the event loop's CPU
await new Promise((r) => w.once('online', r));
await new Promise((r) => setTimeout(r, 300)); // a few sweeps
const threads = readdirSync('/proc/self/task').map((tid) => ({ tid: Number(tid), cpus: /^Cpus_allowed_list:\\s*(\\S+)$/m.exec(readFileSync('/proc/self/task/' + tid + '/status', 'latin1'))[1] }));
console.log(JSON.stringify({ main: process.pid, plan: a.plan, threads }));
a.stop();
await w.terminate();
`;

test('a pinned process: the event loop alone on its CPU; threads started before and after the pin on the others', (t) => {
  if (process.platform !== 'linux') return t.skip('CPU affinity is Linux only');
  const allowed = allowedCpus();
  if (allowed.length < 2) return t.skip(`this machine lets the test use one CPU (${formatCpuList(allowed)}): nothing to pin apart`);
  if (spawnSync('taskset', ['--version']).error) return t.skip('util-linux taskset is not installed');
  const cpu = allowed[allowed.length - 1]!;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD, String(cpu)], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { main: number; plan: { eventLoop: number; helpers: number[] }; threads: { tid: number; cpus: string }[] };
  assert.deepEqual(out.plan, { eventLoop: cpu, helpers: allowed.filter((c) => c !== cpu) });
  const others = formatCpuList(out.plan.helpers);
  assert.ok(out.threads.length >= 3, 'the main thread, V8 helpers and the worker');
  for (const th of out.threads) {
    const cpus = formatCpuList(parseCpuList(th.cpus));
    assert.equal(cpus, th.tid === out.main ? String(cpu) : others, `thread ${th.tid}`);
  }
});
