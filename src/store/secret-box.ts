/**
 * Encryption of secrets at rest (PSKs, key material, private keys) under the master key:
 * AES-256-GCM with a fresh random 96-bit nonce per value, and the value's place (table,
 * column, row uid) as additional authenticated data, so a ciphertext copied to another row
 * or column fails to open.
 *
 *   sealed = version(1) = 1 | nonce(12) | ciphertext | tag(16)
 *
 * The AES key and the key check value are derived from the master key with HKDF-SHA-256
 * under distinct labels; the check value is stored in the database at creation, so a wrong
 * master key is detected at start-up rather than at the first decryption.
 *
 * AES-256-GCM runs on the native addon when it is there (src/ikev2/crypto/native.ts aeadSeal /
 * aeadOpen: one call, no cipher object per value, ~1 µs instead of ~10): its RFC 5282 nonce
 * salt(4) | IV(8) is our 12-octet nonce cut in two, its material our key | the nonce's first
 * four octets, its body IV | data | tag our sealed value from octet 5 on, so both paths make
 * and open the same bytes; node:crypto otherwise (GKM_NATIVE_CRYPTO=0, no addon).
 *
 * Nonces come from the CSPRNG read 4 KiB at a time (a registration seals ~2 key rows, and
 * one randomBytes() call costs ~3-6 µs whatever its length): each nonce is copied into the
 * sealed value and its pool octets zeroed at once. Uniqueness is that of 96 random bits
 * per value, as before (NIST SP 800-38D §8.2.2).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { ikeNativeAead, NATIVE_AEAD, type IkeNativeAead } from '../ikev2/crypto/native.ts';
import { GkmError } from '../ikev2/errors.ts';
import { MASTER_KEY_LENGTH } from './master-key.ts';

const VERSION = 1;
const NONCE = 12;
const TAG = 16;
const ENCRYPTION_LABEL = 'gkm-ikev2 store: secret encryption v1';
const CHECK_LABEL = 'gkm-ikev2 store: master key check v1';

/** Where a sealed value lives; it becomes the AAD. */
export interface SecretPlace {
  readonly table: string;
  readonly column: string;
  /** The row's uid (stable, unique). */
  readonly uid: string;
}

const aad = (p: SecretPlace): Buffer => Buffer.from(`gkm-store/v1/${p.table}.${p.column}/${p.uid}`, 'utf8');

const NONCE_POOL_OCTETS = 4096;
/** The native AEAD's salt: the first octets of our nonce (the rest is its explicit IV). */
const SALT = 4;
const KEY = 32;

/** 96-bit random nonces written straight into the sealed value, from a pooled CSPRNG read. */
class NoncePool {
  #pool = randomBytes(NONCE_POOL_OCTETS);
  #at = 0;

  /** Fill out[offset, offset + NONCE) with fresh random octets. */
  writeInto(out: Buffer, offset: number): void {
    if (this.#at + NONCE > NONCE_POOL_OCTETS) {
      this.#pool = randomBytes(NONCE_POOL_OCTETS);
      this.#at = 0;
    }
    this.#pool.copy(out, offset, this.#at, this.#at + NONCE);
    this.#pool.fill(0, this.#at, this.#at + NONCE);
    this.#at += NONCE;
  }
}

function derive(masterKey: Buffer, label: string): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), label, 32));
}

export class SecretBox {
  readonly #key: Buffer;
  readonly #check: Buffer;
  readonly #nonces = new NoncePool();
  readonly #native: IkeNativeAead | undefined;
  /** key | salt for the native AEAD; the salt part is rewritten per call. */
  readonly #material: Buffer | undefined;

  /** `aead: 'node'` keeps node:crypto even when the addon is there (tests compare the two). */
  constructor(masterKey: Buffer, opts: { readonly aead?: 'native' | 'node' } = {}) {
    if (masterKey.length !== MASTER_KEY_LENGTH) {
      throw new GkmError('GKM_STORE_MASTER_KEY_INVALID', { detail: `${masterKey.length} bytes, need ${MASTER_KEY_LENGTH}` });
    }
    this.#key = derive(masterKey, ENCRYPTION_LABEL);
    this.#check = derive(masterKey, CHECK_LABEL);
    this.#native = opts.aead === 'node' ? undefined : ikeNativeAead();
    this.#material = this.#native ? Buffer.concat([this.#key, Buffer.alloc(SALT)]) : undefined;
  }

  /** Key check value (hex) stored in the database; reveals nothing about the encryption key. */
  get keyCheckValue(): string {
    return this.#check.toString('hex');
  }

  matches(storedCheckValue: string): boolean {
    const stored = Buffer.from(storedCheckValue, 'hex');
    return stored.length === this.#check.length && timingSafeEqual(stored, this.#check);
  }

  seal(plaintext: Uint8Array, place: SecretPlace): Buffer {
    // Sealed values go to SQLite and are dropped: a view into Node's Buffer pool is fine here.
    const out = Buffer.allocUnsafe(1 + NONCE + plaintext.length + TAG);
    out[0] = VERSION;
    this.#nonces.writeInto(out, 1);
    if (this.#native && plaintext.length > 0) {
      out.set(plaintext, 1 + NONCE);
      this.#native.aeadSeal(NATIVE_AEAD.aesGcm, this.#materialFor(out), TAG, aad(place), out.subarray(1 + SALT));
      return out;
    }
    const c = createCipheriv('aes-256-gcm', this.#key, out.subarray(1, 1 + NONCE), { authTagLength: TAG });
    c.setAAD(aad(place));
    const written = c.update(plaintext).copy(out, 1 + NONCE);
    c.final().copy(out, 1 + NONCE + written); // GCM is a stream mode: final() adds no octets
    c.getAuthTag().copy(out, 1 + NONCE + plaintext.length);
    return out;
  }

  /** Throws GKM_STORE_SECRET_CORRUPT when the value does not authenticate for `place`. */
  open(sealed: Uint8Array, place: SecretPlace): Buffer {
    const corrupt = (detail: string, cause?: unknown): GkmError =>
      new GkmError('GKM_STORE_SECRET_CORRUPT', { field: `${place.table}.${place.column}[${place.uid}]`, detail, cause });
    if (sealed.length < 1 + NONCE + TAG || sealed[0] !== VERSION) throw corrupt('unknown format');
    const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    if (this.#native && buf.length > 1 + NONCE + TAG) {
      const out = Buffer.alloc(buf.length - 1 - NONCE - TAG);
      if (!this.#native.aeadOpen(NATIVE_AEAD.aesGcm, this.#materialFor(buf), TAG, aad(place), buf.subarray(1 + SALT), out)) {
        throw corrupt('tampered, moved from another row, or sealed under another master key');
      }
      return out;
    }
    const d = createDecipheriv('aes-256-gcm', this.#key, buf.subarray(1, 1 + NONCE), { authTagLength: TAG });
    d.setAAD(aad(place));
    d.setAuthTag(buf.subarray(buf.length - TAG));
    try {
      return Buffer.concat([d.update(buf.subarray(1 + NONCE, buf.length - TAG)), d.final()]);
    } catch (e) {
      throw corrupt('tampered, moved from another row, or sealed under another master key', e);
    }
  }

  /** key | the nonce's first four octets of a sealed value (version | nonce | …). */
  #materialFor(sealed: Buffer): Buffer {
    const m = this.#material!;
    sealed.copy(m, KEY, 1, 1 + SALT);
    return m;
  }
}
