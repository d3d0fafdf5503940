/**
 * A small, fast run of the mutation fuzzer (bench/fuzz.bench.ts runs it at 1,000,000 inputs):
 * mutated valid messages and payload chains must only ever be rejected with a GkmError, and
 * every accepted one must survive re-encoding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCorpus } from '../../../bench/lib/fuzz-corpus.ts';
import { runFuzz } from '../../../bench/lib/fuzz.ts';
import { adjustLengths } from '../../../bench/lib/mutate.ts';
import { PayloadType } from '../../../src/ikev2/registry/payload.ts';
import { decodePayloadChain } from '../../../src/ikev2/wire/payload.ts';
import type { KdPayload } from '../../../src/ikev2/wire/payloads/index.ts';

const SEED = 20261122;
const corpus = buildCorpus({ seed: SEED, samples: 60 });

test('20,000 mutated inputs: only GkmError is thrown, accepted inputs round-trip', () => {
  const stats = runFuzz({ corpus, inputs: 20_000, seed: SEED });
  const report = stats.failures.map((f) => `#${f.index} ${f.kind} in ${f.stage} (${f.origin}, ${f.ops.join('+')}): ${f.error}\n${f.hex}\n${f.stack}`);
  assert.deepEqual(report, []);
  assert.equal(stats.uncaught, 0);
  assert.equal(stats.roundTripFailures, 0);
  assert.equal(stats.inputs, 20_000);
  // The mutations must both reach accepted inputs and be rejected, through both decoders.
  for (const target of [stats.byTarget.message, stats.byTarget.chain]) {
    assert.ok(target.accepted > target.inputs * 0.05 && target.accepted < target.inputs * 0.95, JSON.stringify(target));
  }
  assert.ok(stats.parserRuns > 0);
});

test('the fuzzer is deterministic for a seed and leaves the corpus untouched', () => {
  const before = corpus.map((e) => Buffer.from(e.bytes));
  const a = runFuzz({ corpus, inputs: 2_000, seed: 1 });
  const b = runFuzz({ corpus, inputs: 2_000, seed: 1 });
  assert.equal(a.accepted, b.accepted);
  assert.deepEqual([...a.rejected], [...b.rejected]);
  assert.deepEqual(corpus.map((e) => e.bytes), before);
});

test('the corpus holds the typical messages with their length fields located', () => {
  const saInit = corpus.find((e) => e.origin === 'typical:IKE_SA_INIT/X25519');
  assert.ok(saInit);
  const lengthAt = new Set(saInit.layout.fields.filter((f) => f.kind === 'length').map((f) => f.offset));
  assert.ok(lengthAt.has(24), 'IKE header Length');
  assert.deepEqual(
    saInit.layout.payloads.map((p) => p.type),
    [PayloadType.SA, PayloadType.KE, PayloadType.NONCE, PayloadType.NOTIFY, PayloadType.NOTIFY, PayloadType.NOTIFY],
  );
  for (const p of saInit.layout.payloads) assert.ok(lengthAt.has(p.start + 2), `payload length at ${p.start + 2}`);
  // SA: proposal length (payload + 6) and the first transform's length (payload + 14).
  const sa = saInit.layout.payloads[0]!;
  assert.ok(lengthAt.has(sa.start + 6) && lengthAt.has(sa.start + 14));
  assert.ok(corpus.some((e) => e.kind === 'chain' && e.first === PayloadType.GSA));
});

test('a consistent resize adjusts every enclosing length field', () => {
  const kd = corpus.find((e) => e.origin === 'typical:KD');
  assert.ok(kd);
  // Append 5 octets to the value of the last attribute (the Member Key Bag's AUTH_KEY).
  const last = kd.layout.fields.filter((f) => f.span).at(-1)!;
  const at = last.span!.end;
  const grown = Buffer.concat([kd.bytes.subarray(0, at), Buffer.alloc(5, 0xab), kd.bytes.subarray(at)]);
  adjustLengths(grown, kd.layout.fields, at, 0, 5);
  const before = decodePayloadChain(kd.first, kd.bytes).payloads[0];
  const after = decodePayloadChain(kd.first, grown).payloads[0];
  assert.ok(before?.type === PayloadType.KD && after?.type === PayloadType.KD);
  const lastAttr = (p: KdPayload) => p.bags.at(-1)!.attributes.at(-1)!;
  const a = lastAttr(before);
  const b = lastAttr(after);
  assert.ok(!a.tv && !b.tv);
  assert.deepEqual(b.data, Buffer.concat([a.data, Buffer.alloc(5, 0xab)]));
});
