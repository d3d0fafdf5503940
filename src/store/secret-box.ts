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
 * Nonces come from the CSPRNG read 4 KiB at a time (a registration seals ~2 key rows, and
 * one randomBytes() call costs ~3-6 µs whatever its length): each nonce is copied into the
 * sealed value and its pool octets zeroed at once. Uniqueness is that of 96 random bits
 * per value, as before (NIST SP 800-38D §8.2.2).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
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

  constructor(masterKey: Buffer) {
    if (masterKey.length !== MASTER_KEY_LENGTH) {
      throw new GkmError('GKM_STORE_MASTER_KEY_INVALID', { detail: `${masterKey.length} bytes, need ${MASTER_KEY_LENGTH}` });
    }
    this.#key = derive(masterKey, ENCRYPTION_LABEL);
    this.#check = derive(masterKey, CHECK_LABEL);
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
    const d = createDecipheriv('aes-256-gcm', this.#key, buf.subarray(1, 1 + NONCE), { authTagLength: TAG });
    d.setAAD(aad(place));
    d.setAuthTag(buf.subarray(buf.length - TAG));
    try {
      return Buffer.concat([d.update(buf.subarray(1 + NONCE, buf.length - TAG)), d.final()]);
    } catch (e) {
      throw corrupt('tampered, moved from another row, or sealed under another master key', e);
    }
  }
}
