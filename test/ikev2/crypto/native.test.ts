import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_NATIVE_ADDON_PATH,
  ikeNativeCrypto,
  loadIkeNativeCrypto,
  nativeAddonPath,
} from '../../../src/ikev2/crypto/native.ts';
import { ADDON_PATH } from '../../../src/datapath/providers/native/addon.ts';

const native = ikeNativeCrypto();
const required = process.env['GKM_REQUIRE_NATIVE'] === '1' || process.env['CI'] !== undefined;
const skip = !native && !required && 'native addon not built (node scripts/build-native.mjs)';

test('one addon path for ikev2 and the datapath; GKM_NATIVE_ADDON overrides it', () => {
  assert.equal(ADDON_PATH, DEFAULT_NATIVE_ADDON_PATH);
  assert.match(DEFAULT_NATIVE_ADDON_PATH, /native\/esp-burst\/build\/Release\/gkm_native\.node$/);
  assert.equal(nativeAddonPath({}), DEFAULT_NATIVE_ADDON_PATH);
  assert.equal(nativeAddonPath({ GKM_NATIVE_ADDON: '/x/y.node' }), '/x/y.node');
});

test('the loader returns undefined, never throws, without the addon or with GKM_NATIVE_CRYPTO=0', () => {
  assert.equal(loadIkeNativeCrypto({ ...process.env, GKM_NATIVE_ADDON: '/nonexistent/gkm_native.node' }), undefined);
  assert.equal(loadIkeNativeCrypto({ ...process.env, GKM_NATIVE_CRYPTO: '0' }), undefined);
  // A file that loads but is not the addon.
  const notAnAddon = fileURLToPath(new URL('../../../package.json', import.meta.url));
  assert.equal(loadIkeNativeCrypto({ ...process.env, GKM_NATIVE_ADDON: notAnAddon }), undefined);
});

test('the addon loads with its IKE functions where CI requires it', { skip }, () => {
  assert.ok(native, 'GKM_REQUIRE_NATIVE=1 but the addon (with its IKE functions) did not load');
  const info = native.ikeCryptoInfo();
  assert.equal(info.hmac, true);
  assert.equal(typeof info.x25519Direct, 'boolean');
});

test('hostile addon arguments throw ERR_GKM_NATIVE_ARGS', { skip }, () => {
  const n = native!;
  const code = (e: unknown): boolean => (e as { code?: string }).code === 'ERR_GKM_NATIVE_ARGS';
  const b = (len: number): Buffer => Buffer.alloc(len, 1);
  assert.throws(() => n.xdhGenerate(25519, b(31), b(32)), code);
  assert.throws(() => n.xdhGenerate(448, b(32), b(32)), code);
  assert.throws(() => n.xdhGenerate(1 as 25519, b(32), b(32)), code);
  assert.throws(() => n.xdhDerive(25519, b(32), b(33), b(32)), code);
  assert.throws(() => n.xdhDerive(25519, b(32), 'x' as unknown as Uint8Array, b(32)), code);
  assert.throws(() => n.xdhPublic(25519, b(32), new Uint16Array(16) as unknown as Uint8Array), code);
  assert.throws(() => n.hmac(1, b(32), b(10), b(31)), code);
  assert.throws(() => n.hmac(4, b(32), b(10), b(32)), code);
  assert.throws(() => n.hmac(1, b(32), Array.from({ length: 17 }, () => b(1)), b(32)), code);
  assert.throws(() => n.hmac(1, b(32), [b(1), 'x' as unknown as Uint8Array], b(32)), code);
  assert.throws(() => n.prfPlus(1, b(32), b(10), b(255 * 32 + 1)), code);
  assert.throws(() => (n.hmac as (...a: unknown[]) => void)(1, b(32), b(10)), code);
  // An output that aliases the private key still gets the right secret.
  const priv = Buffer.alloc(32);
  const pub = Buffer.alloc(32);
  n.xdhGenerate(25519, priv, pub);
  const peerPriv = Buffer.alloc(32);
  const peerPub = Buffer.alloc(32);
  n.xdhGenerate(25519, peerPriv, peerPub);
  const expected = Buffer.alloc(32);
  assert.equal(n.xdhDerive(25519, peerPriv, pub, expected), true);
  assert.equal(n.xdhDerive(25519, priv, peerPub, priv), true);
  assert.deepEqual(priv, expected);
  // All-zero result: false, output zeroed.
  const out = Buffer.alloc(32, 7);
  assert.equal(n.xdhDerive(25519, peerPriv, Buffer.alloc(32), out), false);
  assert.ok(out.every((x) => x === 0));
});

/** The child's environment: ours with `changes` (undefined deletes), outside our test run. */
function childEnv(changes: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['NODE_TEST_CONTEXT']; // a test run of its own, reporting on stdout
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** What dhGroups runs on and whether X25519 is direct, as a child with `env` sees it. */
function probe(env: NodeJS.ProcessEnv): string {
  const keDh = fileURLToPath(new URL('../../../src/ikev2/crypto/ke-dh.ts', import.meta.url));
  const nat = fileURLToPath(new URL('../../../src/ikev2/crypto/native.ts', import.meta.url));
  const code = `import { xdhPath } from ${JSON.stringify(keDh)}; import { ikeNativeCrypto } from ${JSON.stringify(nat)};
    console.log(xdhPath, ikeNativeCrypto()?.ikeCryptoInfo().x25519Direct);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { env, encoding: 'utf8' });
  return r.stdout.trim() || r.stderr;
}

/** Runs test files (paths relative to this one) in a child; its status and output. */
function runTests(env: NodeJS.ProcessEnv, files: readonly string[]): { status: number | null; out: string } {
  const paths = files.map((f) => fileURLToPath(new URL(f, import.meta.url)));
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...paths], { env, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

const KE_AND_KEY_SCHEDULE = ['./ke-dh.test.ts', './prf.test.ts', './keys.test.ts'];

test('fallback: the KE, PRF and key schedule tests pass on node:crypto alone (GKM_NATIVE_CRYPTO=0)', () => {
  // GKM_REQUIRE_NATIVE and CI dropped: those files would otherwise insist on the addon.
  const env = childEnv({ GKM_NATIVE_CRYPTO: '0', GKM_REQUIRE_NATIVE: undefined, CI: undefined });
  assert.equal(probe(env), 'node:crypto undefined');
  const r = runTests(env, KE_AND_KEY_SCHEDULE);
  assert.equal(r.status, 0, r.out.slice(-3000));
  assert.match(r.out, /# fail 0/);
  assert.match(r.out, /# pass [1-9]/);
});

test('the addon without ossl_x25519 (GKM_NATIVE_NO_FAST_XDH=1: its EVP_PKEY path) passes the KE tests', { skip }, () => {
  const env = childEnv({ GKM_NATIVE_NO_FAST_XDH: '1' });
  assert.equal(probe(env), 'native addon false');
  const r = runTests(env, ['./ke-dh.test.ts']);
  assert.equal(r.status, 0, r.out.slice(-3000));
  assert.match(r.out, /# fail 0/);
  assert.match(r.out, /# pass [1-9]/);
});
