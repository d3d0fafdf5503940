// The key-pair pool's worker thread (keypair-pool.ts): generates batches of fresh ephemeral
// key pairs off the event-loop thread. Plain JavaScript, started without the parent's
// execArgv (no tsx loader, no --cpu-prof), so it loads in a few tens of milliseconds.
//
// Request  (parent -> worker): { kind, recipe, count }
//   recipe: { type: 'xdh', addon: <absolute path of gkm_native.node>, curve: 25519 | 448 }
//         | { type: 'pqclean', module: <absolute path of pqclean's entry>, algorithm: 'ml-kem-768' }
// Reply    (worker -> parent): { kind, count, buffer } with buffer transferred, laid out as
//   count x (public value | private key), or { kind, error } when the recipe cannot run.
// Every private key exists once, in the transferred buffer: the worker keeps no copy (the
// pqclean output is copied into the batch and wiped).
//
// Derive ahead (parent -> worker): { op: 'derive', addon, curve, size, kdf?, count, buffer }
//   with buffer transferred, count x (private key | peer value [| u16 key length | kdf key |
//   u16 seed length | kdf seed]), wiped here once computed.
// Reply: { op: 'derived', count, buffer, refused } transferred, count x output: the shared
//   secret, or with kdf = { hash, digestSize, length } prf+(prf(kdf key, secret), kdf seed) of
//   `length` octets on the addon's HMAC (RFC 7296 §2.14 SKEYSEED and SK_*), the secret and
//   SKEYSEED wiped here. `refused`: indexes whose secret was all zero (output left zero).
//   { op: 'derived', error } when the batch cannot be computed.
//   Replies come in request order.
//
// workerData.control (Int32Array over a SharedArrayBuffer): [STOP] set by the parent before it
// terminates this thread or its process exits, [BUSY] set here while inside native key
// generation. Terminating a thread inside pqclean's keypair() aborts the whole process
// (node-addon-api turns the failed throw into a fatal error), so the parent waits for BUSY to
// clear, and this thread checks STOP before every pair.
import { parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

const require = createRequire(import.meta.url);
const STOP = 0;
const BUSY = 1;
const control = workerData?.control ?? new Int32Array(2);

// workerData.nice > 0: this thread alone runs at a lower priority (Linux: setpriority on the
// thread id), so that it fills the pool from spare CPU rather than preempting event loops.
if (workerData?.nice > 0) {
  try {
    setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), workerData.nice);
  } catch {
    // not Linux, or not allowed: the default priority
  }
}

/** kind -> (batch bytes, offset) => void, writing one pair at `offset`. */
const generators = new Map();

function generatorFor(recipe, publicLength, privateLength) {
  if (recipe.type === 'xdh') {
    const addon = require(recipe.addon);
    if (typeof addon.xdhGenerate !== 'function') throw new Error('the native addon has no xdhGenerate');
    return (bytes, at) => addon.xdhGenerate(recipe.curve, bytes.subarray(at + publicLength, at + publicLength + privateLength), bytes.subarray(at, at + publicLength));
  }
  if (recipe.type === 'pqclean') {
    const kem = new (require(recipe.module).KEM)(recipe.algorithm);
    return (bytes, at) => {
      const pair = kem.keypair();
      const pub = new Uint8Array(pair.publicKey);
      const priv = new Uint8Array(pair.privateKey);
      if (pub.length !== publicLength || priv.length !== privateLength) throw new Error(`${recipe.algorithm}: unexpected key sizes`);
      bytes.set(pub, at);
      bytes.set(priv, at + publicLength);
      priv.fill(0);
    };
  }
  throw new Error(`unknown recipe ${String(recipe.type)}`);
}

const addons = new Map();

function derive({ addon, curve, size, kdf, count, buffer }) {
  const input = new Uint8Array(buffer);
  const view = new DataView(buffer);
  const secret = new Uint8Array(size);
  const seed = kdf ? new Uint8Array(kdf.digestSize) : undefined;
  try {
    let native = addons.get(addon);
    if (!native) {
      native = require(addon);
      if (typeof native.xdhDerive !== 'function' || typeof native.prfPlus !== 'function') throw new Error('the native addon has no xdhDerive/prfPlus');
      addons.set(addon, native);
    }
    const outSize = kdf ? kdf.length : size;
    const out = new Uint8Array(count * outSize);
    const refused = [];
    let at = 0;
    const take = (n) => {
      if (at + n > input.length) throw new Error('derive batch truncated');
      const part = input.subarray(at, at + n);
      at += n;
      return part;
    };
    const takeSized = () => {
      if (at + 2 > input.length) throw new Error('derive batch truncated');
      const n = view.getUint16(at);
      at += 2;
      return take(n);
    };
    for (let i = 0; i < count; i++) {
      const privateKey = take(size);
      const peer = take(size);
      const target = out.subarray(i * outSize, (i + 1) * outSize);
      const ok = native.xdhDerive(curve, privateKey, peer, kdf ? secret : target);
      if (kdf) {
        const key = takeSized();
        const prfSeed = takeSized();
        if (ok) {
          native.hmac(kdf.hash, key, secret, seed);
          native.prfPlus(kdf.hash, seed, prfSeed, target);
        }
      }
      if (!ok) refused.push(i);
    }
    if (at !== input.length) throw new Error('derive batch has trailing bytes');
    parentPort.postMessage({ op: 'derived', count, buffer: out.buffer, refused }, [out.buffer]);
  } catch (e) {
    parentPort.postMessage({ op: 'derived', error: e instanceof Error ? e.message : String(e) });
  } finally {
    input.fill(0);
    secret.fill(0);
    seed?.fill(0);
  }
}

parentPort.on('message', (message) => {
  if (message.op === 'derive') return derive(message);
  const { kind, recipe, count, publicLength, privateLength } = message;
  Atomics.store(control, BUSY, 1);
  try {
    if (Atomics.load(control, STOP)) return;
    let generate = generators.get(kind);
    if (!generate) {
      generate = generatorFor(recipe, publicLength, privateLength);
      generators.set(kind, generate);
    }
    const size = publicLength + privateLength;
    const bytes = new Uint8Array(count * size);
    for (let i = 0; i < count; i++) {
      if (Atomics.load(control, STOP)) return bytes.fill(0), undefined;
      generate(bytes, i * size);
    }
    parentPort.postMessage({ kind, count, buffer: bytes.buffer }, [bytes.buffer]);
  } catch (e) {
    parentPort.postMessage({ kind, error: e instanceof Error ? e.message : String(e) });
  } finally {
    Atomics.store(control, BUSY, 0);
    Atomics.notify(control, BUSY);
  }
});
