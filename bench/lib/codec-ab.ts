/**
 * In-process A/B of the wire codec: another revision's src/ikev2/wire against this tree's,
 * interleaved in one process (CPU time per operation, median of rounds). On a machine
 * shared with other jobs this is steadier than comparing two runs of the codec bench.
 *
 *   OLD=/tmp/codec-old; mkdir -p $OLD && git archive REV src bench/lib | tar -x -C $OLD \
 *     && cp package.json $OLD/ && ln -s "$PWD/node_modules" $OLD/node_modules
 *   CODEC_AB_OLD=$OLD node --import tsx bench/lib/codec-ab.ts
 *   CODEC_AB_MS=300 CODEC_AB_ROUNDS=7 ...   # per measurement, rounds per side
 *
 * The messages are built once, by this tree, and fed to both sides (plain data objects).
 */
import { fileURLToPath } from 'node:url';
import type { Payload } from '../../src/ikev2/wire/payload.ts';
import { Prng } from './prng.ts';
import { gsaAuthResponse, ikeAuthRequestInner, saInitX25519 } from './typical-messages.ts';

interface Codec {
  decodeMessage(raw: Buffer): unknown;
  encodeMessage(m: unknown): Buffer;
  decodePayloadChain(first: number, buf: Buffer): unknown;
  encodeChain(payloads: readonly Payload[]): { first: number; bytes: Buffer };
}

async function load(root: string): Promise<Codec> {
  const m = await import(`${root}/src/ikev2/wire/message.ts`);
  const p = await import(`${root}/src/ikev2/wire/payload.ts`);
  return { decodeMessage: m.decodeMessage, encodeMessage: m.encodeMessage, decodePayloadChain: p.decodePayloadChain, encodeChain: p.encodeChain };
}

const oldRoot = process.env.CODEC_AB_OLD;
if (!oldRoot) throw new Error('set CODEC_AB_OLD to a directory holding the other revision (see the header)');
const ms = Number(process.env.CODEC_AB_MS ?? 300);
const rounds = Number(process.env.CODEC_AB_ROUNDS ?? 5);
const sides = { old: await load(oldRoot), new: await load(fileURLToPath(new URL('../..', import.meta.url))) };

const rng = new Prng(9838);
const init = saInitX25519(rng);
const initRaw = sides.new.encodeMessage(init);
const authInner = ikeAuthRequestInner(rng);
const authChain = sides.new.encodeChain(authInner);
const gsa = gsaAuthResponse(rng);
const cases: readonly [string, (c: Codec) => unknown][] = [
  ['IKE_SA_INIT req X25519: decode', (c) => c.decodeMessage(initRaw)],
  ['IKE_SA_INIT req X25519: encode', (c) => c.encodeMessage(init)],
  ['IKE_AUTH req inner chain: decode', (c) => c.decodePayloadChain(authChain.first, authChain.bytes)],
  ['IKE_AUTH req inner chain: encode', (c) => c.encodeChain(authInner)],
  ['GSA_AUTH resp outer: decode', (c) => c.decodeMessage(gsa.raw)],
  ['GSA_AUTH resp inner chain: decode', (c) => c.decodePayloadChain(gsa.innerFirst, gsa.innerBytes)],
  ['GSA_AUTH resp inner chain: encode', (c) => c.encodeChain(gsa.inner)],
];

/** CPU µs per call over one time-bounded run (bounded by `ms` of wall time). */
function run(c: Codec, fn: (c: Codec) => unknown): number {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 200; i++) fn(c);
    n += 200;
  }
  const used = process.cpuUsage(c0);
  return (used.user + used.system) / n;
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
console.log(`CPU µs per call, median of ${rounds} interleaved runs of ${ms} ms; old = ${oldRoot}`);
for (const [name, fn] of cases) {
  const r = { old: [] as number[], new: [] as number[] };
  run(sides.old, fn);
  run(sides.new, fn);
  for (let i = 0; i < rounds; i++) {
    r.old.push(run(sides.old, fn));
    r.new.push(run(sides.new, fn));
  }
  const o = median(r.old);
  const n = median(r.new);
  console.log(`${name.padEnd(36)} old ${o.toFixed(2).padStart(6)}  new ${n.toFixed(2).padStart(6)}  (${(o / n).toFixed(2)}x)`);
}
