import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pino } from 'pino';
import { nativeAddonPath } from '../../src/ikev2/crypto/native.ts';
import { MemoryReclaimer, thisProcess, type MemoryReclaimProcess } from '../../src/gcks/memory-reclaim.ts';

const MiB = 1024 * 1024;
const log = pino({ level: 'silent' });

/** A process whose CPU clock and RSS the test moves; counts the reclaim calls. */
function fakeProcess(rss: number) {
  const p = { cpu: 0, rss, gcs: 0, trims: 0 };
  const proc: MemoryReclaimProcess = {
    cpuMicros: () => p.cpu,
    rss: () => p.rss,
    compactingGc: () => {
      p.gcs++;
      p.rss -= 40 * MiB;
    },
    mallocTrim: () => {
      p.trims++;
      p.rss -= 20 * MiB;
    },
  };
  return { p, proc };
}

const options = { checkMs: 1000, idleCpuFraction: 0.05, minGrowthBytes: 32 * MiB };

test('memory is reclaimed once when a busy period that grew RSS turns idle', () => {
  const { p, proc } = fakeProcess(100 * MiB);
  const r = new MemoryReclaimer(log, options, proc);
  p.cpu += 900_000; // 90% of a core over the interval
  p.rss += 100 * MiB;
  assert.equal(r.check(), false, 'busy: nothing is done');
  p.cpu += 10_000; // 1%: idle
  assert.equal(r.check(), true);
  assert.deepEqual([p.gcs, p.trims, p.rss, r.reclaims], [1, 1, 140 * MiB, 1]);
  p.cpu += 10_000;
  assert.equal(r.check(), false, 'no growth since the last reclaim');
  assert.deepEqual([p.gcs, p.trims], [1, 1]);
});

test('an idle process whose RSS grew less than the threshold is left alone', () => {
  const { p, proc } = fakeProcess(100 * MiB);
  const r = new MemoryReclaimer(log, options, proc);
  p.rss += 31 * MiB;
  assert.equal(r.check(), false);
  assert.equal(p.gcs + p.trims, 0);
});

test('without a GC or malloc_trim the reclaimer does not start', () => {
  const { proc } = fakeProcess(100 * MiB);
  const r = new MemoryReclaimer(log, options, { ...proc, compactingGc: undefined, mallocTrim: undefined });
  assert.equal(r.available, false);
  r.start(); // no timer: returns at once
  r.stop();
});

test('this process: malloc_trim through the native addon when it is built (glibc)', () => {
  const proc = thisProcess();
  assert.ok(proc.rss() > 0);
  if (existsSync(nativeAddonPath()) && process.platform === 'linux') assert.ok(proc.mallocTrim, 'the built addon exports mallocTrim');
  proc.mallocTrim?.(); // must not throw
  const r = new MemoryReclaimer(log, { checkMs: 60_000 }, proc);
  r.start(); // an unref'd timer: the test process still exits
  r.stop();
});

test("this process's GC after a burst shrinks a 2 x 32 MiB young generation back and compacts (memory-pressure GC)", { skip: existsSync(nativeAddonPath()) ? false : 'native addon not built: gc() alone, whose shrinking depends on V8\'s allocation-rate estimate' }, () => {
  // In a child with bin/gcks.js's young generation; the burst ends just before the GC, the
  // case where gc() keeps the young generation at its peak (V8 still estimates a high rate).
  const script = `
    import v8 from 'node:v8';
    import { thisProcess } from ${JSON.stringify(new URL('../../src/gcks/memory-reclaim.ts', import.meta.url).href)};
    const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    let keep = [];
    const t0 = Date.now();
    while (Date.now() - t0 < 600) { const a = []; for (let i = 0; i < 1000; i++) a.push({ i, s: 'x' + i }); keep.push(a); if (keep.length > 200) keep = []; }
    keep = [];
    const before = { young: young(), heap: v8.getHeapStatistics().total_heap_size };
    thisProcess().compactingGc();
    process.stdout.write(JSON.stringify({ before, after: { young: young(), heap: v8.getHeapStatistics().total_heap_size } }));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--max-semi-space-size=32', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  const { before, after } = JSON.parse(out) as { before: { young: number; heap: number }; after: { young: number; heap: number } };
  assert.ok(before.young >= 32 * 2 ** 20, `the burst grew the young generation (${before.young} B)`);
  assert.ok(after.young <= 4 * 2 ** 20, `shrunk to ${after.young} B`);
  assert.ok(after.heap < before.heap / 2, `heap ${before.heap} -> ${after.heap} B`);
});
