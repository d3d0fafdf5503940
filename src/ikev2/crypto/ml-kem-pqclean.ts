/**
 * Fresh ML-KEM operations (FIPS 203) through PQClean's C implementation (the `pqclean` npm
 * package, a native addon built at install time): key generation, encapsulation and
 * decapsulation take ~70-100 µs here against ~200-390 µs for ml-kem-native.ts, which stays
 * the implementation for known-answer inputs (seeded key generation, a given message m) and
 * the fallback when the addon is missing.
 *
 * PQClean draws its randomness from getrandom(2). Its results are checked against the ACVP /
 * Wycheproof vectors (decapsulation) and against ml-kem-native.ts both ways
 * (test/ikev2/crypto/ml-kem-pqclean.test.ts). GKM_PQCLEAN=0 turns it off (A/B measurements).
 */
import { createRequire } from 'node:module';
import { GkmError } from '../errors.ts';
import { keyPairPool, type KeyPairSource } from './keypair-pool.ts';

/** The slice of pqclean's `KEM` class this module uses (pqclean ships no types). */
interface PqcleanKem {
  readonly publicKeySize: number;
  readonly privateKeySize: number;
  keypair(): { publicKey: ArrayBuffer; privateKey: ArrayBuffer };
  generateKey(publicKey: Uint8Array): { key: ArrayBuffer; encryptedKey: ArrayBuffer };
  decryptKey(privateKey: Uint8Array, encryptedKey: Uint8Array): ArrayBuffer;
}
export type PqcleanKemClass = new (name: string) => PqcleanKem;

export interface FastMlKemKeyPair {
  readonly encapsulationKey: Buffer;
  /** K from a ciphertext of the right length (the caller checks it); implicit rejection never throws. */
  decapsulate(ciphertext: Uint8Array): Buffer;
  /** Wipes the decapsulation key. */
  dispose(): void;
}

export interface FastMlKem {
  keygen(): FastMlKemKeyPair;
  /** The caller has checked ek's length and the FIPS 203 §7.2 modulus rule. */
  encapsulate(ek: Uint8Array): { ciphertext: Buffer; sharedKey: Buffer };
  /** Decapsulation with a raw decapsulation key dk (FIPS 203 §7.3); for known-answer tests. */
  decapsulateWith(dk: Uint8Array, ciphertext: Uint8Array): Buffer;
}

interface LoadedPqclean {
  readonly KEM: PqcleanKemClass;
  /** The entry file, for the key-pair pool's worker to load the same module. */
  readonly path: string;
}

function loadPqclean(): LoadedPqclean | undefined {
  if (process.env.GKM_PQCLEAN === '0') return undefined;
  try {
    const require = createRequire(import.meta.url);
    const path = require.resolve('pqclean');
    const mod = require(path) as { KEM?: PqcleanKemClass };
    return typeof mod.KEM === 'function' ? { KEM: mod.KEM, path } : undefined;
  } catch {
    return undefined; // not installed or not built: ml-kem-native.ts does the work
  }
}

/**
 * One parameter set; fresh key pairs come from `pairs` (the key-pair pool's worker,
 * keypair-pool.ts) when it has one ready, else from PQClean here.
 */
export function fastMlKem(Kem: PqcleanKemClass, name: string, pairs?: KeyPairSource): FastMlKem {
  const kem = new Kem(name);
  const fresh = (): { ek: Buffer; dk: Buffer } => {
    const pooled = pairs?.take();
    if (pooled) return { ek: pooled.publicData, dk: pooled.privateKey };
    const pair = kem.keypair();
    return { ek: Buffer.from(pair.publicKey), dk: Buffer.from(pair.privateKey) };
  };
  return {
    keygen() {
      const pair = fresh();
      let dk: Buffer | undefined = pair.dk;
      return {
        encapsulationKey: pair.ek,
        decapsulate(ciphertext) {
          if (!dk) throw new GkmError('GKM_CRYPTO_INTERNAL', { detail: 'ML-KEM key already used' });
          return Buffer.from(kem.decryptKey(dk, ciphertext));
        },
        dispose() {
          dk?.fill(0);
          dk = undefined;
        },
      };
    },
    encapsulate(ek) {
      const r = kem.generateKey(ek);
      return { ciphertext: Buffer.from(r.encryptedKey), sharedKey: Buffer.from(r.key) };
    },
    decapsulateWith(dk, ciphertext) {
      return Buffer.from(kem.decryptKey(dk, ciphertext));
    },
  };
}

const pqclean = loadPqclean();

/** The process's PQClean ML-KEM `name` with fresh key pairs made ahead by the key-pair pool (GKM_KEYGEN_POOL=0: not). */
function pooledFastMlKem({ KEM, path }: LoadedPqclean, name: string): FastMlKem {
  const sizes = new KEM(name);
  const pairs = keyPairPool()?.source({
    name,
    publicLength: sizes.publicKeySize,
    privateLength: sizes.privateKeySize,
    recipe: { type: 'pqclean', module: path, algorithm: name },
  });
  return fastMlKem(KEM, name, pairs);
}

/** PQClean's ML-KEM per parameter set, or undefined when the addon is unavailable or turned off. */
export const pqcleanMlKem: Readonly<Record<512 | 768 | 1024, FastMlKem>> | undefined = pqclean
  ? { 512: pooledFastMlKem(pqclean, 'ml-kem-512'), 768: pooledFastMlKem(pqclean, 'ml-kem-768'), 1024: pooledFastMlKem(pqclean, 'ml-kem-1024') }
  : undefined;
