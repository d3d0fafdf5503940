/**
 * The crypto of one IKE SA, native addon (src/ikev2/crypto/native.ts) against node:crypto, in
 * CPU microseconds per operation (process.cpuUsage, so other jobs on the machine colour the
 * figures less than wall-clock time would): X25519 key generation + shared secret, then the
 * key schedule and AUTH of one side (HMAC-SHA2-256 PRF, AES-GCM-256 keys, PSK) for an
 * X25519-only SA and for the hybrid one's extra IKE_INTERMEDIATE work (IntAuth, RFC 9370
 * §2.2.2 key update). The two paths alternate in rounds; the median round is reported.
 * Then the in-memory X25519 run of ike-hybrid.bench.ts (both engines in one process) with
 * GKM_NATIVE_CRYPTO=1 and =0 alternately: CPU per established SA, responder and total.
 *
 *   npm run bench -- ike-crypto
 *   IKE_CRYPTO_BENCH_SAS=3000 IKE_CRYPTO_BENCH_RUNS=2 npm run bench -- ike-crypto   # SAS=0: no SA runs
 *
 * The X25519 rows also run, in a child, with GKM_NATIVE_NO_FAST_XDH=1 (the addon's EVP_PKEY path).
 *
 *   node --import tsx bench/ike-crypto.bench.ts --pool   # the key-pair pool alone, below (IKE_CRYPTO_BENCH_POOL_BATCH=16: pairs per batch, 4 batches per kind)
 *
 * --pool: the key exchanges of one hybrid SA, both sides (X25519 key pair + shared secret twice,
 * ML-KEM-768 keygen + encaps + decaps), with fresh key pairs from a key-pair pool's worker
 * (keypair-pool.ts) or made on the calling thread, alternating rounds, yielding to the event
 * loop every 8 SAs as an engine does between datagrams: CPU of the calling thread
 * (/proc/thread-self/stat, 10 ms ticks) and of the whole process (the worker included).
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { KeyPairPool } from '../src/ikev2/crypto/keypair-pool.ts';
import { fastMlKem, type FastMlKem, type PqcleanKemClass } from '../src/ikev2/crypto/ml-kem-pqclean.ts';
import { nativeAddonPath } from '../src/ikev2/crypto/native.ts';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { nativeXdhGroup, nodeXdhGroup, type DhGroup } from '../src/ikev2/crypto/ke-dh.ts';
import { deriveIkeKeysAfterAdditionalKe, deriveInitialIkeKeys, intAuthStep, intAuthValue, pskAuth, signedOctets } from '../src/ikev2/crypto/keys.ts';
import { ikeNativeCrypto } from '../src/ikev2/crypto/native.ts';
import { createHmacPrf, type Prf } from '../src/ikev2/crypto/prf.ts';
import { fmt, table } from './lib/table.ts';

const env = (name: string, fallback: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v >= 0 && process.env[name] !== '' && process.env[name] !== undefined ? v : fallback;
};
const SAS = Math.min(env('IKE_CRYPTO_BENCH_SAS', 2000), 3000);
const RUNS = Math.min(env('IKE_CRYPTO_BENCH_RUNS', 2), 5);
const ROUNDS = 7;
/** Every loop stops after this much CPU time per round, whatever its count. */
const ROUND_LIMIT_US = 400_000;

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** CPU µs per call of each function: ROUNDS alternating rounds of `count` calls, median per function. */
function compare(count: number, fns: readonly (() => void)[]): number[] {
  const samples: number[][] = fns.map(() => []);
  for (const f of fns) for (let i = 0; i < Math.min(count, 200); i++) f(); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    fns.forEach((f, k) => {
      const t0 = cpuNow();
      let n = 0;
      // The clock is read every 16 calls: process.cpuUsage() itself costs about a microsecond.
      while (n < count) {
        for (let j = 0; j < 16 && n < count; j++, n++) f();
        if (cpuNow() - t0 > ROUND_LIMIT_US) break;
      }
      samples[k]!.push((cpuNow() - t0) / n);
    });
  }
  return samples.map((s) => s.sort((a, b) => a - b)[Math.floor(s.length / 2)]!);
}

// --- X25519 ----------------------------------------------------------------------------------------

function keygenDerive(group: DhGroup, peer: Buffer): () => void {
  return () => {
    const pair = group.generate();
    pair.derive(peer);
    pair.dispose();
  };
}

function xdhRows(native: NonNullable<ReturnType<typeof ikeNativeCrypto>>): { label: string; us: number }[] {
  const nat = nativeXdhGroup('x25519', native);
  const node = nodeXdhGroup('x25519');
  const peer = node.generate().publicData;
  const path = native.ikeCryptoInfo().x25519Direct ? 'ossl_x25519 direct' : 'EVP_PKEY';
  const [a, b, c, d] = compare(1000, [
    () => nat.generate().dispose(),
    keygenDerive(nat, peer),
    () => node.generate().dispose(),
    keygenDerive(node, peer),
  ]);
  return [
    { label: `native (${path}): key generation`, us: a! },
    { label: `native (${path}): key generation + shared secret`, us: b! },
    { label: 'node:crypto: key generation', us: c! },
    { label: 'node:crypto: key generation + shared secret', us: d! },
  ];
}

// --- key schedule and AUTH of one side --------------------------------------------------------------

const SIZES = { prf: 32, integ: 0, encr: 36 }; // HMAC-SHA2-256, AES-GCM-256 (+ 4-octet salt)
const ni = randomBytes(32);
const nr = randomBytes(32);
const gir = randomBytes(32);
const spiI = randomBytes(8);
const spiR = randomBytes(8);
const psk = Buffer.from('benchmark pre-shared key, 32 oct');
const message1 = randomBytes(300);
const message2 = randomBytes(300);
const idBody = Buffer.from('\x02\x00\x00\x00member.bench', 'latin1');
const aAndP = [randomBytes(1300), randomBytes(100)];

/**
 * One side of an X25519-only PSK SA: SKEYSEED + prf+ (7 keys), then the peer's AUTH checked
 * and ours computed (prf(SK_p, ID) and the two-step PSK AUTH each) — 14 HMACs.
 */
function x25519Schedule(prf: Prf): void {
  const k = deriveInitialIkeKeys(prf, ni, nr, gir, spiI, spiR, SIZES);
  pskAuth(prf, psk, signedOctets(message1, nr, prf, k.skPi, idBody));
  pskAuth(prf, psk, signedOctets(message2, ni, prf, k.skPr, idBody));
}

/**
 * One side of a hybrid SA: the above, plus the IKE_INTERMEDIATE work: IntAuth of the request
 * and of the response (RFC 9242 §3.3.2), the key update after ML-KEM (RFC 9370 §2.2.2: SKEYSEED
 * + prf+ again), and IntAuth in both signed octets — 23 HMACs.
 */
function hybridSchedule(prf: Prf): void {
  const k0 = deriveInitialIkeKeys(prf, ni, nr, gir, spiI, spiR, SIZES);
  const ia = intAuthStep(prf, k0.skPi, undefined, Buffer.concat(aAndP));
  const ir = intAuthStep(prf, k0.skPr, undefined, aAndP[0]!);
  const k = deriveIkeKeysAfterAdditionalKe(prf, k0.skD, gir, ni, nr, spiI, spiR, SIZES);
  const intAuth = intAuthValue(ia, ir, 2);
  pskAuth(prf, psk, signedOctets(message1, nr, prf, k.skPi, idBody, intAuth));
  pskAuth(prf, psk, signedOctets(message2, ni, prf, k.skPr, idBody, intAuth));
}

function scheduleRows(native: NonNullable<ReturnType<typeof ikeNativeCrypto>>): { label: string; us: number }[] {
  const nat = createHmacPrf(5, 'sha256', 32, 32, native);
  const node = createHmacPrf(5, 'sha256', 32, 32, null);
  const data = randomBytes(64);
  const [h1, h2, s1, s2, y1, y2] = compare(3000, [
    () => nat.compute(psk, data),
    () => node.compute(psk, data),
    () => x25519Schedule(nat),
    () => x25519Schedule(node),
    () => hybridSchedule(nat),
    () => hybridSchedule(node),
  ]);
  return [
    { label: 'native: one HMAC-SHA-256 (64 octets)', us: h1! },
    { label: 'node:crypto: one HMAC-SHA-256 (64 octets)', us: h2! },
    { label: 'native: key schedule + AUTH, X25519 SA, one side (14 HMACs)', us: s1! },
    { label: 'node:crypto: key schedule + AUTH, X25519 SA, one side (14 HMACs)', us: s2! },
    { label: 'native: same, hybrid SA incl. IKE_INTERMEDIATE (23 HMACs)', us: y1! },
    { label: 'node:crypto: same, hybrid SA incl. IKE_INTERMEDIATE (23 HMACs)', us: y2! },
  ];
}

// --- the ike-hybrid in-memory run ------------------------------------------------------------------

interface SaRun {
  readonly cpu: number;
  readonly responderCpu: number;
  readonly ms: number;
}

function saRun(nativeCrypto: boolean): SaRun {
  const script = fileURLToPath(new URL('./ike-hybrid.bench.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, '--role=in-memory', '--suite=x25519', `--count=${SAS}`], {
    env: { ...process.env, GKM_NATIVE_CRYPTO: nativeCrypto ? '1' : '0' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  const line = r.stdout.split('\n').find((l) => l.includes('"op":"done"'));
  if (!line) throw new Error(`ike-hybrid in-memory run failed (status ${r.status}): ${r.stderr.slice(-500)}`);
  const done = JSON.parse(line) as { cpu: number; responderCpu: number; ms: number };
  return { cpu: done.cpu, responderCpu: done.responderCpu, ms: done.ms };
}

function saRows(): (string | number)[][] {
  const runs: Record<'native' | 'node', SaRun[]> = { native: [], node: [] };
  for (let i = 0; i < RUNS; i++) {
    runs.native.push(saRun(true));
    runs.node.push(saRun(false));
  }
  const us = (s: number): string => fmt((s / SAS) * 1e6, 0);
  return (['native', 'node'] as const).flatMap((k) =>
    runs[k].map((r, i) => [
      k === 'native' ? 'native addon' : 'node:crypto (GKM_NATIVE_CRYPTO=0)',
      i + 1,
      SAS,
      fmt(SAS / (r.ms / 1000), 0),
      us(r.responderCpu),
      us(r.cpu - r.responderCpu),
      us(r.cpu),
    ]),
  );
}

// --- key-pair pool ---------------------------------------------------------------------------------

/** CPU seconds of the calling thread, NaN off Linux. */
function threadCpu(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

async function poolRows(native: NonNullable<ReturnType<typeof ikeNativeCrypto>>): Promise<(string | number)[][]> {
  const require = createRequire(import.meta.url);
  const module = require.resolve('pqclean');
  const KEM = (require(module) as { KEM: PqcleanKemClass }).KEM;
  const batch = env('IKE_CRYPTO_BENCH_POOL_BATCH', 16);
  const pool = new KeyPairPool({ batch, capacity: 4 * batch });
  const x25519 = pool.source({ name: 'x25519', publicLength: 32, privateLength: 32, recipe: { type: 'xdh', addon: nativeAddonPath(), curve: 25519 } });
  const mlkem = pool.source({ name: 'ml-kem-768', publicLength: 1184, privateLength: 2400, recipe: { type: 'pqclean', module, algorithm: 'ml-kem-768' } });
  const paths: { label: string; xdh: DhGroup; kem: FastMlKem }[] = [
    { label: 'generated on the calling thread', xdh: nativeXdhGroup('x25519', native), kem: fastMlKem(KEM, 'ml-kem-768') },
    { label: 'from the key-pair pool', xdh: nativeXdhGroup('x25519', native, x25519), kem: fastMlKem(KEM, 'ml-kem-768', mlkem) },
  ];
  const oneSa = (xdh: DhGroup, kem: FastMlKem): void => {
    const i = xdh.generate();
    const r = xdh.generate();
    i.derive(r.publicData);
    r.derive(i.publicData);
    i.dispose();
    r.dispose();
    const d = kem.keygen();
    d.decapsulate(kem.encapsulate(d.encapsulationKey).ciphertext);
    d.dispose();
  };
  const count = SAS || 2000;
  const samples = paths.map(() => ({ thread: [] as number[], process: [] as number[], wall: [] as number[] }));
  for (let round = 0; round < 6; round++) {
    for (const [k, path] of paths.entries()) {
      const t0 = threadCpu();
      const c0 = cpuNow();
      const w0 = performance.now();
      for (let n = 0; n < count; n++) {
        oneSa(path.xdh, path.kem);
        if (n % 8 === 7) await new Promise((r) => setImmediate(r));
      }
      if (round === 0) continue; // warm-up
      samples[k]!.thread.push(((threadCpu() - t0) * 1e6) / count);
      samples[k]!.process.push((cpuNow() - c0) / count);
      samples[k]!.wall.push(((performance.now() - w0) * 1000) / count);
    }
  }
  const hits = pool.stats().kinds.map((q) => `${q.name} ${((100 * q.taken) / Math.max(1, q.taken + q.missed)).toFixed(1)}%`).join(', ');
  await pool.close();
  const median = (v: number[]): number => v.sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  return paths.map((p, k) => [p.label, fmt(median(samples[k]!.thread)), fmt(median(samples[k]!.process)), fmt(median(samples[k]!.wall)), k === 1 ? hits : '-']);
}

// --- main ------------------------------------------------------------------------------------------

const native = ikeNativeCrypto();
if (process.argv.includes('--xdh-only')) {
  // Child run (GKM_NATIVE_NO_FAST_XDH=1): the EVP_PKEY rows only.
  if (native) for (const r of xdhRows(native).slice(0, 2)) console.log(JSON.stringify(r));
  process.exit(0);
}
if (!native) {
  console.log('ike-crypto: the native addon is not loaded (build it: node scripts/build-native.mjs; GKM_NATIVE_CRYPTO unset)');
  process.exit(1);
}
if (process.argv.includes('--pool')) {
  console.log(`Key exchanges of one hybrid SA, both sides, ${SAS || 2000} SAs per round, median of 5 alternating rounds; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  console.log(table(['fresh key pairs', 'calling thread CPU µs / SA', 'process CPU µs / SA', 'wall µs / SA', 'pool hits'], await poolRows(native)));
  console.log(`\nload average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  process.exit(0);
}
console.log(`IKE SA crypto, native addon vs node:crypto; ${process.version}, OpenSSL ${process.versions.openssl}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const evp = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--xdh-only'], {
  env: { ...process.env, GKM_NATIVE_NO_FAST_XDH: '1' },
  encoding: 'utf8',
  timeout: 60_000,
});
const evpRows = evp.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { label: string; us: number });
const micro = [...xdhRows(native), ...evpRows, ...scheduleRows(native)];
console.log(`\nCPU µs per operation (median of ${ROUNDS} alternating rounds)\n`);
console.log(table(['operation', 'CPU µs'], micro.map((r) => [r.label, fmt(r.us, 1)])));
if (SAS > 0) {
  console.log(`\nin-memory X25519 SAs (ike-hybrid.bench.ts --role=in-memory), ${RUNS} run(s) per path, alternating\n`);
  console.log(table(['crypto', 'run', 'SAs', 'SAs/s', 'responder CPU µs / SA', 'initiator CPU µs / SA', 'total CPU µs / SA'], saRows()));
}
console.log(`\nload average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
