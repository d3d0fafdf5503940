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

/** The slice of pqclean's `KEM` class this module uses (pqclean ships no types). */
interface PqcleanKem {
  keypair(): { publicKey: ArrayBuffer; privateKey: ArrayBuffer };
  generateKey(publicKey: Uint8Array): { key: ArrayBuffer; encryptedKey: ArrayBuffer };
  decryptKey(privateKey: Uint8Array, encryptedKey: Uint8Array): ArrayBuffer;
}
type PqcleanKemClass = new (name: string) => PqcleanKem;

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

function loadKemClass(): PqcleanKemClass | undefined {
  if (process.env.GKM_PQCLEAN === '0') return undefined;
  try {
    const mod = createRequire(import.meta.url)('pqclean') as { KEM?: PqcleanKemClass };
    return typeof mod.KEM === 'function' ? mod.KEM : undefined;
  } catch {
    return undefined; // not installed or not built: ml-kem-native.ts does the work
  }
}

function fastMlKem(Kem: PqcleanKemClass, name: string): FastMlKem {
  const kem = new Kem(name);
  return {
    keygen() {
      const pair = kem.keypair();
      let dk: Buffer | undefined = Buffer.from(pair.privateKey);
      return {
        encapsulationKey: Buffer.from(pair.publicKey),
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

const KemClass = loadKemClass();

/** PQClean's ML-KEM per parameter set, or undefined when the addon is unavailable or turned off. */
export const pqcleanMlKem: Readonly<Record<512 | 768 | 1024, FastMlKem>> | undefined = KemClass
  ? { 512: fastMlKem(KemClass, 'ml-kem-512'), 768: fastMlKem(KemClass, 'ml-kem-768'), 1024: fastMlKem(KemClass, 'ml-kem-1024') }
  : undefined;
