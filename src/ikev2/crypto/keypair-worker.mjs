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
import { parentPort } from 'node:worker_threads';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

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

parentPort.on('message', ({ kind, recipe, count, publicLength, privateLength }) => {
  try {
    let generate = generators.get(kind);
    if (!generate) {
      generate = generatorFor(recipe, publicLength, privateLength);
      generators.set(kind, generate);
    }
    const size = publicLength + privateLength;
    const bytes = new Uint8Array(count * size);
    for (let i = 0; i < count; i++) generate(bytes, i * size);
    parentPort.postMessage({ kind, count, buffer: bytes.buffer }, [bytes.buffer]);
  } catch (e) {
    parentPort.postMessage({ kind, error: e instanceof Error ? e.message : String(e) });
  }
});
