/**
 * The key-pair pool (keypair-pool.ts, keypair-worker.mjs): pairs made by the worker are valid,
 * handed out once, bounded and wiped when they expire or the pool closes; take() never waits;
 * a failing worker or recipe falls back to synchronous generation with one warning; the
 * process-wide pool neither keeps a process alive nor runs with GKM_KEYGEN_POOL=0; known
 * answers (a fixed private input) never come from it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { KeyPairPool, keyPairPool, type KeyPairKind, type KeyPairSource } from '../../../src/ikev2/crypto/keypair-pool.ts';
import { ikeNativeCrypto, nativeAddonPath } from '../../../src/ikev2/crypto/native.ts';
import { dhGroups, nativeXdhGroup } from '../../../src/ikev2/crypto/ke-dh.ts';
import { fastMlKem, pqcleanMlKem, type PqcleanKemClass } from '../../../src/ikev2/crypto/ml-kem-pqclean.ts';
import { createInitiatorKeForTest } from '../../../src/ikev2/crypto/ke.ts';
import { runKeRoundsLocally } from '../../../src/ikev2/crypto/ke-multi.ts';
import { KeId } from '../../../src/ikev2/registry/transform.ts';

const native = ikeNativeCrypto();
const requirePqclean = createRequire(import.meta.url);
const pqcleanPath = (() => {
  try {
    return requirePqclean.resolve('pqclean');
  } catch {
    return undefined;
  }
})();

const X25519: KeyPairKind = { name: 'x25519', publicLength: 32, privateLength: 32, recipe: { type: 'xdh', addon: nativeAddonPath(), curve: 25519 } };
const MLKEM768: KeyPairKind = { name: 'ml-kem-768', publicLength: 1184, privateLength: 2400, recipe: { type: 'pqclean', module: pqcleanPath ?? '', algorithm: 'ml-kem-768' } };

/** Polls `cond` every 5 ms, at most `ms`. */
async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const ready = (pool: KeyPairPool, name: string): number => pool.stats().kinds.find((k) => k.name === name)?.ready ?? 0;

/** Takes until the first pooled pair arrives (the first take starts the worker). */
async function firstPooled(pool: KeyPairPool, source: KeyPairSource, name: string) {
  assert.equal(source.take(), undefined, 'an empty pool answers at once, without waiting');
  await until(() => ready(pool, name) > 0);
  const pair = source.take();
  assert.ok(pair);
  return pair;
}

test('X25519 pairs from the worker are valid, distinct and handed out once', { skip: !native && 'addon not loaded' }, async () => {
  const pool = new KeyPairPool({ capacity: 8, batch: 4 });
  try {
    const source = pool.source(X25519);
    assert.equal(pool.source(X25519), source, 'one source per kind');
    const first = await firstPooled(pool, source, 'x25519');
    await until(() => ready(pool, 'x25519') >= 4);
    const seen = new Set<string>([first.privateKey.toString('hex')]);
    for (const pair of [first, ...Array.from({ length: 4 }, () => source.take()!)]) {
      assert.equal(pair.publicData.length, 32);
      assert.equal(pair.privateKey.length, 32);
      assert.equal(pair.privateKey.byteLength, pair.privateKey.buffer.byteLength, 'the private key has an allocation of its own');
      const expected = Buffer.alloc(32);
      native!.xdhPublic(25519, pair.privateKey, expected);
      assert.deepEqual(pair.publicData, expected, 'public value of the private key');
      assert.equal(pair.privateKey[0]! & 7, 0, 'clamped (RFC 7748 §5)');
      seen.add(pair.privateKey.toString('hex'));
    }
    assert.equal(seen.size, 5, 'never the same private key twice');
    const s = pool.stats().kinds[0]!;
    assert.ok(s.ready + s.requested <= 8, `bounded: ${JSON.stringify(s)}`);
    assert.equal(s.taken, 5);
  } finally {
    await pool.close();
  }
});

test('ML-KEM-768 pairs from the worker decapsulate what PQClean encapsulates', { skip: (!pqclean() || !pqcleanPath) && 'pqclean not loaded' }, async () => {
  const pool = new KeyPairPool({ capacity: 4, batch: 2 });
  try {
    const source = pool.source(MLKEM768);
    let takes = 0;
    const spy: KeyPairSource = { take: () => (takes++, source.take()) };
    const KEM = (requirePqclean(pqcleanPath!) as { KEM: PqcleanKemClass }).KEM;
    const kem = fastMlKem(KEM, 'ml-kem-768', spy);
    kem.keygen().dispose(); // starts the worker; made here
    await until(() => ready(pool, 'ml-kem-768') > 0);
    const pair = kem.keygen();
    assert.equal(pool.stats().kinds[0]!.taken, 1, 'the second key pair came from the pool');
    assert.equal(takes, 2);
    const { ciphertext, sharedKey } = kem.encapsulate(pair.encapsulationKey);
    assert.deepEqual(pair.decapsulate(ciphertext), sharedKey);
    pair.dispose();
  } finally {
    await pool.close();
  }
});

test('expired pairs are wiped unused; close() wipes the rest and stops serving', { skip: !native && 'addon not loaded' }, async () => {
  const pool = new KeyPairPool({ capacity: 4, batch: 4, maxAgeMs: 50 });
  const source = pool.source(X25519);
  source.take();
  await until(() => ready(pool, 'x25519') === 4);
  await until(() => ready(pool, 'x25519') === 0, 5_000); // the idle sweep
  assert.equal(pool.stats().kinds[0]!.expired, 4);
  assert.equal(pool.stats().kinds[0]!.requested, 0, 'no refill without a take()');
  source.take(); // asks again
  await until(() => ready(pool, 'x25519') === 4);
  await pool.close();
  assert.equal(ready(pool, 'x25519'), 0);
  assert.equal(source.take(), undefined);
  assert.equal(pool.stats().worker, 'closed');
});

test('a worker that fails to load, or dies, means synchronous generation and one warning', async () => {
  for (const script of ["throw new Error('boom')", 'process.exit(3)']) {
    const warnings: string[] = [];
    const pool = new KeyPairPool({ workerUrl: new URL(`data:text/javascript,${encodeURIComponent(script)}`), warn: (m) => warnings.push(m) });
    const source = pool.source(X25519);
    assert.equal(source.take(), undefined);
    await until(() => pool.stats().worker === 'failed');
    assert.equal(source.take(), undefined);
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, /generated synchronously/);
    await pool.close();
  }
});

test('a kind the worker cannot make falls back alone; the other kinds go on', { skip: !native && 'addon not loaded' }, async () => {
  const warnings: string[] = [];
  const pool = new KeyPairPool({ capacity: 4, batch: 4, warn: (m) => warnings.push(m) });
  try {
    const broken = pool.source({ ...X25519, name: 'broken', recipe: { type: 'xdh', addon: '/nonexistent/addon.node', curve: 25519 } });
    const good = pool.source(X25519);
    broken.take();
    good.take();
    await until(() => warnings.length === 1 && ready(pool, 'x25519') > 0);
    assert.match(warnings[0]!, /broken key pairs are generated synchronously/);
    assert.equal(broken.take(), undefined);
    assert.ok(good.take());
    assert.equal(pool.stats().worker, 'running');
  } finally {
    await pool.close();
  }
});

test('known answers bypass the pool: a fixed private key gives its own public value', { skip: !native && 'addon not loaded' }, async () => {
  const pool = keyPairPool();
  if (pool) {
    runKeRoundsLocally([KeId.CURVE25519]); // starts the worker
    await until(() => ready(pool, 'x25519') > 0);
  }
  const priv = Buffer.alloc(32, 0x11);
  priv[0]! &= 248;
  const expected = Buffer.alloc(32);
  native!.xdhPublic(25519, priv, expected);
  assert.deepEqual(createInitiatorKeForTest(KeId.CURVE25519, priv).publicData(), expected);
  assert.deepEqual(dhGroups.x25519.generate(priv).publicData, expected);
  // A group on an explicit addon object (tests' spies) never draws from the pool.
  let calls = 0;
  const group = nativeXdhGroup('x25519', { ...native!, xdhGenerate: (...a) => (calls++, native!.xdhGenerate(...a)) });
  group.generate().dispose();
  assert.equal(calls, 1);
  // Fresh pairs still agree, whether pooled or not.
  for (let i = 0; i < 20; i++) assert.equal(runKeRoundsLocally([KeId.CURVE25519, KeId.ML_KEM_768]).length, 2);
});

function runChild(script: string, env: NodeJS.ProcessEnv) {
  const root = new URL('../../../', import.meta.url).pathname;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
}

test('the process-wide pool does not keep a process alive; GKM_KEYGEN_POOL=0 turns it off', () => {
  const script = [
    "const { runKeRoundsLocally } = await import('./src/ikev2/crypto/ke-multi.ts');",
    "const { keyPairPool } = await import('./src/ikev2/crypto/keypair-pool.ts');",
    'for (let i = 0; i < 3; i++) runKeRoundsLocally([31, 36]);',
    'await new Promise((r) => setTimeout(r, 200));', // the worker has started and replied
    'for (let i = 0; i < 3; i++) runKeRoundsLocally([31, 36]);',
    'console.log(JSON.stringify({ worker: keyPairPool()?.stats().worker ?? "off" }));',
  ].join('\n');
  for (const [value, worker] of [['1', native ? 'running' : undefined], ['0', 'off']] as const) {
    const t0 = Date.now();
    const out = runChild(script, { GKM_KEYGEN_POOL: value });
    assert.equal(out.status, 0, `GKM_KEYGEN_POOL=${value}: ${out.stderr} ${out.error ?? ''}`);
    assert.ok(Date.now() - t0 < 30_000, 'exited on its own');
    const reported = JSON.parse(out.stdout.trim().split('\n').at(-1)!).worker;
    if (worker) assert.equal(reported, worker);
    assert.doesNotMatch(out.stderr, /KeyPairPoolWarning/);
  }
});

test('exiting while the worker is inside key generation is clean (no abort from pqclean)', { skip: !pqclean() && 'pqclean not loaded' }, () => {
  // The worker is told to stop and waited for on 'exit': terminating it inside pqclean's
  // keypair() would abort the process (node-addon-api's fatal error on a failed throw).
  const script = [
    "const { mlKem } = await import('./src/ikev2/crypto/ke-mlkem.ts');",
    "const { keyPairPool } = await import('./src/ikev2/crypto/keypair-pool.ts');",
    'mlKem[1024].keygen().dispose();',
    "while (keyPairPool().stats().kinds.find((k) => k.name === 'ml-kem-1024').ready === 0) await new Promise((r) => setTimeout(r, 2));",
    'for (let i = 0; i < 40; i++) mlKem[1024].keygen().dispose();', // refills requested: the worker is busy
    'const spin = performance.now() + Math.random() * 3; while (performance.now() < spin);',
    'process.exit(0);',
  ].join('\n');
  for (let i = 0; i < 6; i++) {
    const out = runChild(script, {});
    assert.equal(out.status, 0, `run ${i}: ${out.stderr}`);
    assert.doesNotMatch(out.stderr, /FATAL/);
  }
});

function pqclean(): boolean {
  return pqcleanMlKem !== undefined;
}
