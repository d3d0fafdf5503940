/**
 * ML-KEM-512/768/1024 (FIPS 203) as IKEv2 key exchange methods 35/36/37
 * (draft-ietf-ipsecme-ikev2-mlkem): the initiator sends the encapsulation key ek, the
 * responder answers with the ciphertext c, both end with the 32-byte shared key K.
 *
 * The arithmetic is @noble/post-quantum; this module adds the responder's FIPS 203 §7.2
 * modulus check with an IKE error (noble checks too, but only throws a generic Error),
 * copies results into Buffers we own, and wipes the library's secret arrays.
 */
import { ml_kem512, ml_kem768, ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import { GkmError } from '../errors.ts';
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

type NobleKem = typeof ml_kem768;

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** Copies a library-owned secret into a Buffer and wipes the original. */
function takeSecret(u: Uint8Array): Buffer {
  const out = Buffer.from(u);
  wipe(u);
  return out;
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
  readonly #kem: NobleKem;

  constructor(kem: NobleKem, k: number) {
    this.#kem = kem;
    this.params = {
      k,
      encapsulationKeyLength: kem.lengths.publicKey!,
      ciphertextLength: kem.lengths.cipherText!,
      sharedKeyLength: 32,
    };
  }

  /** Fresh key pair, or (known-answer tests only) the one from the 64-byte seed d || z. */
  keygen(seed?: Buffer): MlKemDecapsulator {
    const kem = this.#kem;
    const { publicKey, secretKey } = kem.keygen(seed);
    let dk: Uint8Array | undefined = secretKey;
    return {
      encapsulationKey: asBuffer(publicKey),
      decapsulate(ciphertext) {
        if (!dk) throw new GkmError('GKM_CRYPTO_INTERNAL', { detail: 'ML-KEM key already used' });
        return takeSecret(kem.decapsulate(ciphertext, dk));
      },
      dispose() {
        wipe(dk);
        dk = undefined;
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
    const { cipherText, sharedSecret } = this.#kem.encapsulate(ek, message);
    return { ciphertext: asBuffer(cipherText), sharedKey: takeSecret(sharedSecret) };
  }
}

export const mlKem = {
  512: new MlKem(ml_kem512, 2),
  768: new MlKem(ml_kem768, 3),
  1024: new MlKem(ml_kem1024, 4),
} as const;
