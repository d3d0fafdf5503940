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
// Derive ahead (parent -> worker): { op: 'derive', addon, curve, size, count, buffer } with
//   buffer transferred, count x (private key | peer value), wiped here once computed.
// Reply: { op: 'derived', count, buffer } transferred, count x shared secret (all zero where
//   the peer value was of small order: the parent rejects that), or { op: 'derived', error }.
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

function derive({ addon, curve, size, count, buffer }) {
  const input = new Uint8Array(buffer);
  try {
    let native = addons.get(addon);
    if (!native) {
      native = require(addon);
      if (typeof native.xdhDerive !== 'function') throw new Error('the native addon has no xdhDerive');
      addons.set(addon, native);
    }
    if (input.length !== count * 2 * size) throw new Error('derive batch of the wrong size');
    const out = new Uint8Array(count * size);
    for (let i = 0; i < count; i++) {
      const at = i * 2 * size;
      native.xdhDerive(curve, input.subarray(at, at + size), input.subarray(at + size, at + 2 * size), out.subarray(i * size, (i + 1) * size));
    }
    parentPort.postMessage({ op: 'derived', count, buffer: out.buffer }, [out.buffer]);
  } catch (e) {
    parentPort.postMessage({ op: 'derived', error: e instanceof Error ? e.message : String(e) });
  } finally {
    input.fill(0);
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
