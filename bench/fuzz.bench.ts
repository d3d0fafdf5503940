/**
 * Mutation fuzzer over the wire decoders (see bench/lib/fuzz.ts for what is checked).
 *
 *   npm run bench -- fuzz
 *   FUZZ_INPUTS=1000000 FUZZ_SEED=38968 FUZZ_TIME_LIMIT_S=600 FUZZ_SAMPLES=300 npm run bench -- fuzz
 *
 * Exits 1 on any uncaught (non-GkmError) exception or round-trip failure; the first few are
 * printed and all recorded ones (up to 20) are written to bench/out/fuzz-failures-seed<seed>.json
 * with the input hex, stack and input index (same seed and FUZZ_SAMPLES replay the run).
 * A summary of every run goes to bench/out/fuzz-summary-seed<seed>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nameOf } from '../src/ikev2/registry/names.ts';
import { PayloadType } from '../src/ikev2/registry/payload.ts';
import { buildCorpus } from './lib/fuzz-corpus.ts';
import { runFuzz, type FuzzStats } from './lib/fuzz.ts';
import { MUTATORS } from './lib/mutate.ts';
import { fmt, table } from './lib/table.ts';

function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
}

const inputs = envInt('FUZZ_INPUTS', 1_000_000);
const seed = envInt('FUZZ_SEED', 38968);
const timeLimitS = envInt('FUZZ_TIME_LIMIT_S', 600);
const samples = envInt('FUZZ_SAMPLES', 300);
const outDir = join(dirname(fileURLToPath(import.meta.url)), 'out');

const pct = (part: number, whole: number): string => (whole === 0 ? '-' : `${((100 * part) / whole).toFixed(1)}%`);
const sorted = (m: ReadonlyMap<string, number>): [string, number][] => [...m].sort((a, b) => b[1] - a[1]);

const t0 = performance.now();
const corpus = buildCorpus({ seed, samples });
const corpusMs = performance.now() - t0;
const groups = new Map<string, { entries: number; weight: number }>();
for (const e of corpus) {
  const g = groups.get(e.origin.split('#')[0]!) ?? { entries: 0, weight: 0 };
  g.entries++;
  g.weight += e.weight;
  groups.set(e.origin.split('#')[0]!, g);
}
const totalWeight = corpus.reduce((s, e) => s + e.weight, 0);
console.log(`seed ${seed}, ${fmt(inputs)} inputs, time limit ${timeLimitS} s, node ${process.version}`);
console.log(`corpus: ${corpus.length} valid entries (${fmt(corpus.reduce((s, e) => s + e.bytes.length, 0))} bytes) built in ${fmt(corpusMs)} ms`);
console.log(`  ${fmt(corpus.reduce((s, e) => s + e.layout.fields.length, 0))} length/count/type fields located for targeted mutations\n`);
console.log(table(['corpus group', 'entries', 'share of inputs'], [...groups].map(([k, g]) => [k, g.entries, pct(g.weight, totalWeight)])));
console.log();

const stats: FuzzStats = runFuzz({
  corpus,
  inputs,
  seed,
  timeLimitMs: timeLimitS * 1000,
  onProgress: (s) => console.log(`  ${fmt(s.inputs).padStart(11)} inputs  ${fmt(s.inputs / (s.elapsedMs / 1000)).padStart(8)}/s  uncaught ${s.uncaught}`),
});

const seconds = stats.elapsedMs / 1000;
const rejected = [...stats.rejected.values()].reduce((a, b) => a + b, 0);
console.log(`\n## Outcome (${fmt(seconds, 1)} s${stats.timedOut ? ', STOPPED AT THE TIME LIMIT' : ''})\n`);
console.log(
  table(
    ['inputs', 'accepted', 'rejected (GkmError)', 'uncaught (not GkmError)', 'round-trip failures', 'total time', 'inputs/s (all checks)', 'inputs/s (decoder alone)'],
    [[stats.inputs, stats.accepted, rejected, stats.uncaught, stats.roundTripFailures, `${fmt(seconds, 1)} s`, Math.round(stats.inputs / seconds), Math.round(stats.inputs / (stats.decodeMs / 1000))]],
  ),
);

console.log('\n## Per decoder\n');
console.log(
  table(
    ['target', 'inputs', 'accepted', 'accept rate'],
    (['message', 'chain'] as const).map((k) => [k === 'message' ? 'decodeMessage' : 'decodePayloadChain', stats.byTarget[k].inputs, stats.byTarget[k].accepted, pct(stats.byTarget[k].accepted, stats.byTarget[k].inputs)]),
  ),
);

console.log('\n## Decoder rejections by code\n');
console.log(table(['code', 'count', 'share'], sorted(stats.rejected).map(([code, n]) => [code, n, pct(n, stats.inputs)])));

console.log(`\n## Second-level parsers on accepted payloads (${fmt(stats.parserRuns)} runs)\n`);
console.log(table(['rejected with', 'count'], sorted(stats.parserRejected)));

console.log('\n## Per mutation operator (an input may combine several)\n');
console.log(table(['operator', 'inputs', 'accepted', 'accept rate'], MUTATORS.map((m) => [m, stats.byMutator[m].inputs, stats.byMutator[m].accepted, pct(stats.byMutator[m].accepted, stats.byMutator[m].inputs)])));

const failed = stats.uncaught + stats.roundTripFailures;
mkdirSync(outDir, { recursive: true });
const summary = { seed, requestedInputs: inputs, samples, ...stats, rejected: Object.fromEntries(stats.rejected), parserRejected: Object.fromEntries(stats.parserRejected) };
writeFileSync(join(outDir, `fuzz-summary-seed${seed}.json`), JSON.stringify(summary, null, 2));
if (failed > 0) {
  const file = join(outDir, `fuzz-failures-seed${seed}.json`);
  writeFileSync(file, JSON.stringify({ seed, inputs, samples, failures: stats.failures }, null, 2));
  console.log(`\n## FAILURES: ${stats.uncaught} uncaught, ${stats.roundTripFailures} round-trip (first ${stats.failures.length} saved to ${file})\n`);
  for (const f of stats.failures.slice(0, 5)) {
    const target = f.stage === 'decodePayloadChain' ? `decodePayloadChain(${nameOf(PayloadType, f.first)}, …)` : f.stage;
    console.log(`- #${f.index} ${f.kind} in ${target}, from ${f.origin} via ${f.ops.join('+')}\n  ${f.error}\n  input ${f.hex}\n  ${f.stack.split('\n').slice(1, 6).join('\n  ')}`);
  }
}
console.log(`\nuncaught exceptions: ${stats.uncaught} over ${fmt(stats.inputs)} inputs`);
process.exit(failed > 0 ? 1 : 0);
