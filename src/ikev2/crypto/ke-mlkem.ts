/**
 * ML-KEM-512/768/1024 (FIPS 203) as IKEv2 key exchange methods 35/36/37
 * (draft-ietf-ipsecme-ikev2-mlkem): the initiator sends the encapsulation key ek, the
 * responder answers with the ciphertext c, both end with the 32-byte shared key K.
 *
 * Fresh operations run in PQClean's C implementation when its addon is installed
 * (ml-kem-pqclean.ts, ~3-4x faster); known-answer inputs (a seed, a given m) and the fallback
 * run ml-kem-native.ts (FIPS 203 on OpenSSL's SHA3/SHAKE, checked against @noble/post-quantum
 * and the ACVP/Wycheproof vectors). This module draws the randomness for the latter and adds
 * the responder's FIPS 203 §7.2 modulus check with an IKE error.
 */
import { randomBytes } from 'node:crypto';
import { GkmError } from '../errors.ts';
import { nativeMlKem, type NativeMlKem } from './ml-kem-native.ts';
import { pqcleanMlKem, type FastMlKem } from './ml-kem-pqclean.ts';
import { wipe } from './zeroize.ts';

const Q = 3329;

export interface MlKemParameterSet {
  /** Module rank k (FIPS 203 Table 2). */
  readonly k: number;
  readonly encapsulationKeyLength: number;
  readonly ciphertextLength: number;
  readonly sharedKeyLength: 32;
}

export interface MlKemDecapsulator {
  readonly encapsulationKey: Buffer;
  /** K from the responder's ciphertext. Implicit rejection (FIPS 203 Alg. 18) never throws. */
  decapsulate(ciphertext: Buffer): Buffer;
  dispose(): void;
}

/**
 * FIPS 203 §7.2 modulus check: ek[0 : 384k] must equal ByteEncode12(ByteDecode12(...)),
 * i.e. no 12-bit coefficient of the vector t may be >= q. Two coefficients per 3 bytes.
 */
export function encapsulationKeyModulusOk(ek: Buffer, k: number): boolean {
  const end = 384 * k;
  for (let i = 0; i < end; i += 3) {
    const b0 = ek[i]!;
    const b1 = ek[i + 1]!;
    const b2 = ek[i + 2]!;
    if ((b0 | ((b1 & 0x0f) << 8)) >= Q || ((b1 >> 4) | (b2 << 4)) >= Q) return false;
  }
  return true;
}

export class MlKem {
  readonly params: MlKemParameterSet;
  readonly #kem: NativeMlKem;
  readonly #fast: FastMlKem | undefined;

  constructor(kem: NativeMlKem, fast?: FastMlKem) {
    this.#kem = kem;
    this.#fast = fast;
    this.params = {
      k: kem.params.k,
      encapsulationKeyLength: kem.encapsulationKeyLength,
      ciphertextLength: kem.ciphertextLength,
      sharedKeyLength: 32,
    };
  }

  /** Fresh key pair, or (known-answer tests only) the one from the 64-byte seed d || z. */
  keygen(seed?: Buffer): MlKemDecapsulator {
    if (!seed && this.#fast) return this.#fast.keygen();
    const fresh = seed ?? randomBytes(64);
    let pair: ReturnType<NativeMlKem['keygen']> | undefined = this.#kem.keygen(fresh);
    if (!seed) wipe(fresh);
    return {
      encapsulationKey: pair.encapsulationKey,
      decapsulate(ciphertext) {
        if (!pair) throw new GkmError('GKM_CRYPTO_INTERNAL', { detail: 'ML-KEM key already used' });
        return pair.decapsulate(ciphertext);
      },
      dispose() {
        pair?.dispose();
        pair = undefined;
      },
    };
  }

  /**
   * Encapsulates to the initiator's ek. `message` (the 32-byte randomness m of FIPS 203
   * Alg. 17) is for known-answer tests only; omitted, fresh randomness is drawn.
   */
  encapsulate(ek: Buffer, message?: Buffer): { ciphertext: Buffer; sharedKey: Buffer } {
    if (!encapsulationKeyModulusOk(ek, this.params.k)) {
      // draft-ietf-ipsecme-ikev2-mlkem: a failed check is a syntax error (INVALID_SYNTAX).
      throw new GkmError('GKM_CRYPTO_INVALID_KE', {
        field: 'KE.data',
        detail: 'ML-KEM encapsulation key fails the FIPS 203 modulus check',
      });
    }
    if (!message && this.#fast) return this.#fast.encapsulate(ek);
    const m = message ?? randomBytes(32);
    try {
      return this.#kem.encapsulate(ek, m);
    } finally {
      if (!message) wipe(m);
    }
  }
}

export const mlKem = {
  512: new MlKem(nativeMlKem[512], pqcleanMlKem?.[512]),
  768: new MlKem(nativeMlKem[768], pqcleanMlKem?.[768]),
  1024: new MlKem(nativeMlKem[1024], pqcleanMlKem?.[1024]),
} as const;
