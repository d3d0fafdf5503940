/**
 * Decode and encode throughput of typical messages, and SK protection with AES-GCM-16-256.
 *
 *   npm run bench -- codec
 *   CODEC_RUN_MS=2000 CODEC_WARMUP_MS=500 npm run bench -- codec
 *
 * Each case: a warm-up, then 3 time-bounded runs; the table shows the median run, and the
 * slowest and fastest runs as the spread. MB/s counts the bytes of the encoded form.
 */
import { cpus } from 'node:os';
import { protectMessage, unprotectMessage } from '../src/ikev2/crypto/encrypted-message.ts';
import { decodeMessage, encodeMessage } from '../src/ikev2/wire/message.ts';
import { decodePayloadChain, encodeChain } from '../src/ikev2/wire/payload.ts';
import { lastResult, measure } from './lib/measure.ts';
import { Prng } from './lib/prng.ts';
import { fmt, table } from './lib/table.ts';
import { counterIvs, gsaAuthResponse, ikeAuthRequestInner, saInitMlKem768, saInitX25519 } from './lib/typical-messages.ts';

const env = (name: string, fallback: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const opts = { warmupMs: env('CODEC_WARMUP_MS', 300), runMs: env('CODEC_RUN_MS', 1000), runs: 3 };

interface Case {
  readonly message: string;
  readonly op: string;
  /** Size of the encoded form the operation reads or writes. */
  readonly bytes: number;
  readonly fn: () => unknown;
}

const rng = new Prng(9838);
const cases: Case[] = [];

for (const [label, msg] of [
  ['IKE_SA_INIT req, KE X25519', saInitX25519(rng)],
  ['IKE_SA_INIT req, KE ML-KEM-768', saInitMlKem768(rng)],
] as const) {
  const raw = encodeMessage(msg);
  cases.push({ message: label, op: 'decode', bytes: raw.length, fn: () => decodeMessage(raw) });
  cases.push({ message: label, op: 'encode', bytes: raw.length, fn: () => encodeMessage(msg) });
}

// What a responder under strongSwan's load-tester decodes after SK (issue 3).
const authInner = ikeAuthRequestInner(rng);
const authInnerChain = encodeChain(authInner);
const authLabel = 'IKE_AUTH req: inner chain {IDi AUTH N SA TSi TSr}';
cases.push(
  { message: authLabel, op: 'decode', bytes: authInnerChain.bytes.length, fn: () => decodePayloadChain(authInnerChain.first, authInnerChain.bytes) },
  { message: authLabel, op: 'encode', bytes: authInnerChain.bytes.length, fn: () => encodeChain(authInner) },
);

const gsaAuth = gsaAuthResponse(rng);
const label = 'GSA_AUTH resp, SK{IDr AUTH GSA KD}';
const ivs = counterIvs();
cases.push(
  { message: label, op: 'decode outer (SK opaque)', bytes: gsaAuth.raw.length, fn: () => decodeMessage(gsaAuth.raw) },
  { message: `${label}: inner chain`, op: 'decode', bytes: gsaAuth.innerBytes.length, fn: () => decodePayloadChain(gsaAuth.innerFirst, gsaAuth.innerBytes) },
  { message: `${label}: inner chain`, op: 'encode', bytes: gsaAuth.innerBytes.length, fn: () => encodeChain(gsaAuth.inner) },
  {
    message: `${label}, AES-GCM-16-256`,
    op: 'protect (encode + seal)',
    bytes: gsaAuth.raw.length,
    fn: () => protectMessage(gsaAuth.header, gsaAuth.inner, gsaAuth.cipher, ivs),
  },
  {
    message: `${label}, AES-GCM-16-256`,
    op: 'unprotect (decode + open + decode)',
    bytes: gsaAuth.raw.length,
    fn: () => unprotectMessage(decodeMessage(gsaAuth.raw), gsaAuth.cipher),
  },
  {
    message: `${label}, AES-GCM-16-256`,
    op: 'protect + unprotect',
    bytes: gsaAuth.raw.length,
    fn: () => unprotectMessage(decodeMessage(protectMessage(gsaAuth.header, gsaAuth.inner, gsaAuth.cipher, ivs)), gsaAuth.cipher),
  },
);

console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} ×${cpus().length}`);
console.log(`warm-up ${opts.warmupMs} ms, ${opts.runs} runs of ${opts.runMs} ms per case; median run shown\n`);
const rows = cases.map((c) => {
  const t = measure(c.fn, opts);
  const row = [c.message, c.op, c.bytes, Math.round(t.median), fmt((t.median * c.bytes) / 1e6, 1), fmt(1e6 / t.median, 2), `${fmt(Math.min(...t.perRun))}–${fmt(Math.max(...t.perRun))}`];
  console.error(`  ${c.message} / ${c.op}: ${fmt(t.median)} msg/s`);
  return row;
});
console.log(table(['message', 'operation', 'bytes', 'msg/s', 'MB/s', 'µs/msg', 'runs (msg/s)'], rows));
if (lastResult() === undefined) process.exit(1);
