/**
 * Ciphers of the Encrypted payload, used by IKE SK/SKF (RFC 7296 §3.14, RFC 7383) and by the
 * G-IKEv2 Rekey SA (RFC 9838 §3.4): AES-GCM (RFC 5282), ChaCha20-Poly1305 (RFC 7634) and
 * AES-CBC (RFC 3602) with HMAC-SHA2 (RFC 4868) or HMAC-SHA1-96.
 *
 * ## What `aad` is, for every cipher
 *
 * `aad` is every octet of the message that precedes the IV: the IKE header, any unencrypted
 * payloads, and the generic header of the SK payload (4 octets) or of the SKF payload
 * (8 octets: generic header, Fragment Number, Total Fragments), with the IKE header Length and
 * the payload Length already set to their final values (see `skBodyLength`).
 *
 * - AEAD (RFC 5282 §5.1, RFC 7634 §3): `aad` is the associated data; the IV is not part of it.
 *   The nonce is salt(4, the last octets of SK_e) | IV(8).
 * - AES-CBC + HMAC (RFC 7296 §3.14): ICV = HMAC(SK_a, aad | IV | ciphertext) truncated to the
 *   ICV length, i.e. exactly "the IKE header through the encrypted content, IV included".
 *
 * `seal` returns ciphertext | ICV; the caller writes IV | ciphertext | ICV after `aad`.
 * `sealBody` / `openBody` do the same on the whole SK body (IV | data | ICV), in place for
 * sealing: the AEADs run on the native addon when it loads (one call per message, see
 * native.ts), else on node:crypto (a cipher object per message).
 * `open` verifies before it decrypts and throws GKM_CRYPTO_AUTH_FAILED on any mismatch. HMAC ICVs
 * are compared with timingSafeEqual; AEAD tags are verified by OpenSSL (constant time).
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { GkmError } from '../errors.ts';
import { encrInfo, encrKeyBits, integInfo, suiteKeySizes, type EncrInfo, type ProtectionSuite } from './algorithms.ts';
import { octetParts, type Octets } from './prf.ts';
import { ikeNativeAead, NATIVE_AEAD, type IkeNativeAead } from './native.ts';
import { wipe } from './zeroize.ts';

export interface SkCipher {
  readonly encrId: number;
  /** Explicit IV length on the wire: 8 for the AEADs, 16 for AES-CBC. */
  readonly ivLength: number;
  readonly icvLength: number;
  /** Padding block size of the SK plaintext: 16 for CBC, 1 for the AEADs. */
  readonly blockSize: number;
  readonly aead: boolean;
  /** Returns ciphertext | ICV. The plaintext must already be padded (padSkPlaintext). */
  seal(iv: Buffer, aad: Buffer, plaintext: Buffer): Buffer;
  /** Returns the (still padded) plaintext; throws GKM_CRYPTO_AUTH_FAILED. */
  open(iv: Buffer, aad: Buffer, ctAndIcv: Buffer): Buffer;
  /**
   * In place: `body` is IV | padded plaintext | room for the ICV, the IV already written;
   * encrypts the plaintext where it is and writes the ICV after it.
   */
  sealBody(aad: Buffer, body: Buffer): void;
  /** `body` is IV | ciphertext | ICV: the (still padded) plaintext; throws GKM_CRYPTO_AUTH_FAILED. */
  openBody(aad: Buffer, body: Buffer): Buffer;
  /** Wipes the key copies held by this object; it must not be used afterwards. */
  dispose(): void;
}

const authFailed = (detail?: string): GkmError =>
  new GkmError('GKM_CRYPTO_AUTH_FAILED', detail === undefined ? {} : { detail });

function checkIv(iv: Buffer, length: number): void {
  if (iv.length !== length) {
    throw new GkmError('GKM_CRYPTO_INTERNAL', { field: 'IV', detail: `${iv.length} octets, expected ${length}` });
  }
}

abstract class BaseSkCipher {
  readonly encrId: number;
  readonly ivLength: number;
  readonly blockSize: number;
  abstract readonly icvLength: number;
  constructor(info: EncrInfo) {
    this.encrId = info.id;
    this.ivLength = info.ivLength;
    this.blockSize = info.blockSize;
  }

  abstract seal(iv: Buffer, aad: Buffer, plaintext: Buffer): Buffer;
  abstract open(iv: Buffer, aad: Buffer, ctAndIcv: Buffer): Buffer;

  /** Through seal(): node:crypto returns new Buffers, copied back into `body`. */
  sealBody(aad: Buffer, body: Buffer): void {
    const iv = body.subarray(0, this.ivLength);
    const sealed = this.seal(iv, aad, body.subarray(this.ivLength, body.length - this.icvLength));
    sealed.copy(body, this.ivLength);
  }

  openBody(aad: Buffer, body: Buffer): Buffer {
    checkBody(body, this.ivLength, this.icvLength);
    return this.open(body.subarray(0, this.ivLength), aad, body.subarray(this.ivLength));
  }
}

function checkBody(body: Buffer, ivLength: number, icvLength: number): void {
  if (body.length < ivLength + icvLength) throw authFailed('SK body shorter than IV and ICV');
}

/** Cipher names shared by every SA (not a string per cipher object). */
const GCM_ALGORITHMS: Readonly<Record<number, string>> = { 128: 'aes-128-gcm', 192: 'aes-192-gcm', 256: 'aes-256-gcm' };

/** AES-GCM-8/12/16 and ChaCha20-Poly1305: key | salt(4), nonce = salt | IV(8). */
class AeadSkCipher extends BaseSkCipher implements SkCipher {
  readonly aead = true;
  readonly icvLength: number;
  readonly #algorithm: string; // aes-{128,192,256}-gcm or chacha20-poly1305
  /** key | salt in one allocation of its own: key and salt are read from it per message. */
  readonly #material: Buffer;
  readonly #keyLength: number;

  constructor(info: EncrInfo, keyBits: number, keyMaterial: Buffer, adopt: boolean) {
    super(info);
    this.icvLength = info.icvLength;
    this.#algorithm = info.mode === 'gcm' ? (GCM_ALGORITHMS[keyBits] ?? `aes-${keyBits}-gcm`) : 'chacha20-poly1305';
    this.#material = adopt ? keyMaterial : ownCopy(keyMaterial);
    this.#keyLength = keyBits / 8;
  }

  get #key(): Buffer {
    return this.#material.subarray(0, this.#keyLength);
  }

  #nonce(iv: Buffer): Buffer {
    checkIv(iv, this.ivLength);
    const keyLength = this.#keyLength;
    const saltLength = this.#material.length - keyLength;
    const nonce = Buffer.allocUnsafe(saltLength + iv.length);
    this.#material.copy(nonce, 0, keyLength);
    iv.copy(nonce, saltLength);
    return nonce;
  }

  seal(iv: Buffer, aad: Buffer, plaintext: Buffer): Buffer {
    // One overload covers both: GCM and ChaCha20-Poly1305 take the same options here.
    const c = createCipheriv(this.#algorithm as 'aes-128-gcm', this.#key, this.#nonce(iv), {
      authTagLength: this.icvLength,
    });
    c.setAAD(aad);
    return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
  }

  open(iv: Buffer, aad: Buffer, ctAndIcv: Buffer): Buffer {
    if (ctAndIcv.length < this.icvLength) throw authFailed('shorter than the ICV');
    const ctLength = ctAndIcv.length - this.icvLength;
    const d = createDecipheriv(this.#algorithm as 'aes-128-gcm', this.#key, this.#nonce(iv), {
      authTagLength: this.icvLength,
    });
    d.setAuthTag(ctAndIcv.subarray(ctLength));
    d.setAAD(aad);
    const head = d.update(ctAndIcv.subarray(0, ctLength));
    try {
      return Buffer.concat([head, d.final()]);
    } catch (cause) {
      wipe(head);
      throw new GkmError('GKM_CRYPTO_AUTH_FAILED', { cause });
    }
  }

  dispose(): void {
    new Uint8Array(this.#material).fill(0);
  }
}

/**
 * The same AEADs on the native addon (ike_aead.cc): one call per message, sealing in place in
 * the message being built and opening into one allocation, no cipher object per message.
 * Same key material ownership as AeadSkCipher (key | salt, adopted or copied).
 */
class NativeAeadSkCipher extends BaseSkCipher implements SkCipher {
  readonly aead = true;
  readonly icvLength: number;
  readonly #alg: number;
  readonly #material: Buffer;
  readonly #native: IkeNativeAead;

  constructor(info: EncrInfo, keyMaterial: Buffer, adopt: boolean, native: IkeNativeAead) {
    super(info);
    this.icvLength = info.icvLength;
    this.#alg = info.mode === 'gcm' ? NATIVE_AEAD.aesGcm : NATIVE_AEAD.chacha20Poly1305;
    this.#material = adopt ? keyMaterial : ownCopy(keyMaterial);
    this.#native = native;
  }

  override sealBody(aad: Buffer, body: Buffer): void {
    if (body.length < this.ivLength + this.icvLength) {
      throw new GkmError('GKM_CRYPTO_INTERNAL', { detail: `SK body of ${body.length} octets` });
    }
    this.#native.aeadSeal(this.#alg, this.#material, this.icvLength, aad, body);
  }

  override openBody(aad: Buffer, body: Buffer): Buffer {
    checkBody(body, this.ivLength, this.icvLength);
    const out = Buffer.allocUnsafe(body.length - this.ivLength - this.icvLength);
    if (!this.#native.aeadOpen(this.#alg, this.#material, this.icvLength, aad, body, out)) throw authFailed();
    return out;
  }

  seal(iv: Buffer, aad: Buffer, plaintext: Buffer): Buffer {
    checkIv(iv, this.ivLength);
    const body = Buffer.allocUnsafe(iv.length + plaintext.length + this.icvLength);
    iv.copy(body);
    plaintext.copy(body, iv.length);
    this.sealBody(aad, body);
    return body.subarray(iv.length);
  }

  open(iv: Buffer, aad: Buffer, ctAndIcv: Buffer): Buffer {
    checkIv(iv, this.ivLength);
    if (ctAndIcv.length < this.icvLength) throw authFailed('shorter than the ICV');
    return this.openBody(aad, Buffer.concat([iv, ctAndIcv]));
  }

  dispose(): void {
    new Uint8Array(this.#material).fill(0);
  }
}

/** A copy in an allocation of its own (not pooled: see keys.ts split()). */
function ownCopy(b: Buffer): Buffer {
  const own = Buffer.allocUnsafeSlow(b.length);
  b.copy(own);
  return own;
}

// --- Integrity (INTEG transforms with an HMAC) ---------------------------------------------

export interface Integrity {
  readonly integId: number;
  readonly icvLength: number;
  /** Truncated HMAC over the concatenation of `data` (RFC 2404, RFC 4868 §2.1.1). */
  compute(data: Octets): Buffer;
  /** Constant-time comparison of `icv` with compute(data). */
  verify(data: Octets, icv: Buffer): boolean;
  dispose(): void;
}

/** HMAC-SHA1-96 and HMAC-SHA2-256-128/384-192/512-256; GKM_CRYPTO_UNSUPPORTED otherwise. */
export function createIntegrity(integId: number, key: Buffer): Integrity {
  return integrityOver(integId, key, false);
}

/** createIntegrity over `key` itself when `adopt` (see SkCipherOptions.adoptKey), else a copy. */
function integrityOver(integId: number, key: Buffer, adopt: boolean): Integrity {
  const info = integInfo(integId);
  const hash = info.hash;
  if (hash === undefined || info.icvLength === 0) {
    throw new GkmError('GKM_CRYPTO_UNSUPPORTED', { field: `INTEG(${integId})`, detail: 'no implementation' });
  }
  checkKeyLength(key, info.keyLength, 'SK_a');
  const ownKey = adopt ? key : Buffer.from(key);
  const compute = (data: Octets): Buffer => {
    const h = createHmac(hash, ownKey);
    for (const part of octetParts(data)) h.update(part);
    return h.digest().subarray(0, info.icvLength);
  };
  return {
    integId,
    icvLength: info.icvLength,
    compute,
    verify: (data, icv) => icv.length === info.icvLength && timingSafeEqual(compute(data), icv),
    dispose: () => wipe(ownKey),
  };
}

/** AES-CBC with a truncated HMAC over aad | IV | ciphertext (encrypt-then-MAC). */
class CbcHmacSkCipher extends BaseSkCipher implements SkCipher {
  readonly aead = false;
  readonly icvLength: number;
  readonly #algorithm: string;
  readonly #encKey: Buffer;
  readonly #integrity: Integrity;

  constructor(info: EncrInfo, keyBits: number, encKey: Buffer, integrity: Integrity, adopt: boolean) {
    super(info);
    this.icvLength = integrity.icvLength;
    this.#algorithm = `aes-${keyBits}-cbc`;
    this.#encKey = adopt ? encKey : Buffer.from(encKey);
    this.#integrity = integrity;
  }

  seal(iv: Buffer, aad: Buffer, plaintext: Buffer): Buffer {
    checkIv(iv, this.ivLength);
    if (plaintext.length === 0 || plaintext.length % this.blockSize !== 0) {
      throw new GkmError('GKM_CRYPTO_INTERNAL', { detail: `CBC plaintext of ${plaintext.length} octets is not padded` });
    }
    const c = createCipheriv(this.#algorithm, this.#encKey, iv).setAutoPadding(false);
    const ciphertext = Buffer.concat([c.update(plaintext), c.final()]);
    return Buffer.concat([ciphertext, this.#integrity.compute([aad, iv, ciphertext])]);
  }

  open(iv: Buffer, aad: Buffer, ctAndIcv: Buffer): Buffer {
    checkIv(iv, this.ivLength);
    if (ctAndIcv.length < this.icvLength) throw authFailed('shorter than the ICV');
    const ciphertext = ctAndIcv.subarray(0, ctAndIcv.length - this.icvLength);
    if (!this.#integrity.verify([aad, iv, ciphertext], ctAndIcv.subarray(ciphertext.length))) throw authFailed();
    if (ciphertext.length === 0 || ciphertext.length % this.blockSize !== 0) {
      throw new GkmError('GKM_CRYPTO_BAD_PADDING', { detail: 'ciphertext is not a whole number of blocks' });
    }
    const d = createDecipheriv(this.#algorithm, this.#encKey, iv).setAutoPadding(false);
    return Buffer.concat([d.update(ciphertext), d.final()]);
  }

  dispose(): void {
    wipe(this.#encKey);
    this.#integrity.dispose();
  }
}

function checkKeyLength(key: Buffer | undefined, expected: number, field: string): void {
  const got = key?.length ?? 0;
  if (got !== expected) {
    throw new GkmError('GKM_CRYPTO_BAD_KEY_LENGTH', { field, detail: `${got} octets, expected ${expected}` });
  }
}

/**
 * `adoptKey`: the cipher uses `encKey` (and `integKey`) itself instead of a copy: the caller
 * gives it views of an allocation of its own that nothing else writes; dispose() wipes them.
 */
export interface SkCipherOptions {
  readonly adoptKey?: boolean;
  /**
   * The AEAD implementation: `native` (the addon, when it loads: see native.ts) or `node`
   * (node:crypto). Default: native when available (GKM_NATIVE_CRYPTO=0 turns it off).
   */
  readonly aeadProvider?: 'native' | 'node';
}

/**
 * The SK cipher of a negotiated suite. `encKey` is SK_e (salt included for the AEADs);
 * `integKey` is SK_a (absent or empty with AEAD). Throws GKM_CRYPTO_UNSUPPORTED for suites
 * without an implementation here (CTR, CCM, XCBC, ...) and GKM_CRYPTO_BAD_KEY_LENGTH.
 */
export function createSkCipher(suite: ProtectionSuite, encKey: Buffer, integKey?: Buffer, opts: SkCipherOptions = {}): SkCipher {
  const info = encrInfo(suite.encrId);
  const sizes = suiteKeySizes(suite);
  checkKeyLength(encKey, sizes.encr, 'SK_e');
  checkKeyLength(integKey, sizes.integ, 'SK_a');
  return skCipherOver(info, encrKeyBits(info, suite.keyLengthBits), suite.integId, encKey, integKey, opts.adoptKey === true, opts.aeadProvider === 'node');
}

/** createSkCipher once the key sizes are checked (SkCipherPair: per message, so no more work than this). */
function skCipherOver(info: EncrInfo, keyBits: number, integId: number | undefined, encKey: Buffer, integKey: Buffer | undefined, adopt: boolean, nodeAead: boolean): SkCipher {
  if (info.mode === 'gcm' || info.mode === 'chacha20-poly1305') {
    const native = nodeAead ? undefined : ikeNativeAead();
    if (native !== undefined) return new NativeAeadSkCipher(info, encKey, adopt, native);
    return new AeadSkCipher(info, keyBits, encKey, adopt);
  }
  if (info.mode === 'cbc' && integId !== undefined && integKey !== undefined) {
    return new CbcHmacSkCipher(info, keyBits, encKey, integrityOver(integId, integKey, adopt), adopt);
  }
  throw new GkmError('GKM_CRYPTO_UNSUPPORTED', { field: `ENCR(${info.id})`, detail: 'no SK implementation' });
}

// --- IVs --------------------------------------------------------------------------------------

export interface IvSource {
  /** A fresh IV of the cipher's IV length, never returned before by this source. */
  next(): Buffer;
}

/**
 * IVs for one key: AEADs need uniqueness per key (RFC 5282 §3.1, RFC 7634 §2), so a 64-bit
 * counter from a random start below 2^63 (at least 2^63 IVs before it refuses); CBC needs
 * unpredictability (RFC 7296 §3.14), so fresh random octets each time. Use one source per key.
 */
export function createIvSource(cipher: Pick<SkCipher, 'ivLength' | 'aead'>): IvSource {
  const { ivLength } = cipher;
  if (!cipher.aead) return new RandomIvSource(ivLength);
  if (ivLength !== 8) throw new GkmError('GKM_CRYPTO_INTERNAL', { detail: `counter IV of ${ivLength} octets` });
  return new CounterIvSource();
}

/** Objects, not closures: one per SA direction, so they stay small (no per-SA function). */
class RandomIvSource implements IvSource {
  constructor(readonly ivLength: number) {}
  next(): Buffer {
    return randomBytes(this.ivLength);
  }
}

/** 2^22: the counter's middle and low parts. */
const PART = 0x400000;

/**
 * The 64-bit counter as 20 + 22 + 22 bits (no BigInt per message): each part stays a small
 * integer in V8, where 32-bit halves at or above 2^30 were a heap number each (16 B per SA
 * direction for most SAs).
 */
class CounterIvSource implements IvSource {
  /**
   * A random start (19 + 22 + 22 bits) from randomInt, which draws on node:crypto's cached
   * CSPRNG output: ~0.5 µs against ~3 µs for randomBytes(8), four times per hybrid SA and side.
   */
  constructor(
    private hi = randomInt(0x80000),
    private mid = randomInt(PART),
    private lo = randomInt(PART),
  ) {}
  next(): Buffer {
    if (this.hi > 0xfffff) throw new GkmError('GKM_CRYPTO_INTERNAL', { detail: 'IV space exhausted' });
    const iv = Buffer.allocUnsafe(8);
    iv.writeUInt32BE(this.hi * 0x1000 + (this.mid >>> 10), 0);
    iv.writeUInt32BE((this.mid & 0x3ff) * PART + this.lo, 4);
    if (++this.lo === PART) {
      this.lo = 0;
      if (++this.mid === PART) {
        this.mid = 0;
        this.hi++;
      }
    }
    return iv;
  }
}

// --- Both directions of an IKE SA over one key allocation ---------------------------------------

/** SkCipherPair's layout bits (below them: the prefix length). */
const OUT_IS_SECOND = 1;
const NODE_AEAD = 2;
const LAYOUT_SHIFT = 2;

/**
 * Both SK ciphers of one IKE SA (RFC 7296 §2.14) and the IV source of the outbound one, over
 * ONE key allocation: `material` = prefix | SK_e(i) | SK_e(r) | SK_a(i) | SK_a(r), where the
 * prefix is whatever else the SA keeps in that allocation (SK_d), SK_a empty with an AEAD.
 * A long-lived IKE SA so keeps one object and one ArrayBuffer for its keys (not even a
 * Buffer view of it: 96 B), instead of a cipher object per direction, an IV source and a
 * Buffer view per key (~490 B of heap per SA). `material` must be the whole of its ArrayBuffer
 * (an allocation of its own: Buffer.allocUnsafeSlow, never a pooled slice).
 *
 * `outbound` / `inbound` build a short-lived SkCipher over views of `material` on each read
 * (no key copy): read one per message, never keep it. It seals and opens like the cipher
 * createSkCipher makes from the same keys (same bytes); disposing it wipes its direction's
 * keys in `material`. dispose() wipes all of `material`, prefix included.
 *
 * The IV source (`next()`) is that of createIvSource for the outbound cipher: a counter for
 * the AEADs, random IVs for AES-CBC. The pair adopts `material` (wiped if construction fails).
 */
export class SkCipherPair<S extends ProtectionSuite = ProtectionSuite> extends CounterIvSource {
  readonly #material: ArrayBuffer;
  /** prefix length << LAYOUT_SHIFT | OUT_IS_SECOND (we are the responder) | NODE_AEAD. */
  readonly #layout: number;

  /**
   * `outboundIsSecond`: we send with SK_e(r)/SK_a(r), i.e. we are the IKE SA's original
   * responder. Throws as createSkCipher does (unsupported suite, wrong key sizes).
   */
  constructor(
    readonly suite: S,
    material: Buffer,
    prefixLength: number,
    outboundIsSecond: boolean,
    opts: Pick<SkCipherOptions, 'aeadProvider'> = {},
  ) {
    super();
    this.#material = material.buffer as ArrayBuffer;
    this.#layout = (prefixLength << LAYOUT_SHIFT) | (outboundIsSecond ? OUT_IS_SECOND : 0) | (opts.aeadProvider === 'node' ? NODE_AEAD : 0);
    try {
      if (material.byteOffset !== 0 || material.length !== material.buffer.byteLength) {
        throw new GkmError('GKM_CRYPTO_INTERNAL', { field: 'SK_e/SK_a', detail: 'key material is not an allocation of its own' });
      }
      const sizes = suiteKeySizes(suite);
      if (material.length !== prefixLength + 2 * (sizes.encr + sizes.integ)) {
        throw new GkmError('GKM_CRYPTO_BAD_KEY_LENGTH', { field: 'SK_e/SK_a', detail: `${material.length - prefixLength} octets for both directions` });
      }
      this.cipher(false); // GKM_CRYPTO_UNSUPPORTED now rather than at the first message
    } catch (e) {
      wipe(material); // adopted: nobody else will
      throw e;
    }
  }

  /** Octets [0, prefix length) of the allocation (SK_d): a new view on each read. */
  get prefix(): Buffer {
    return Buffer.from(this.#material, 0, this.#layout >>> LAYOUT_SHIFT);
  }

  get outbound(): SkCipher {
    return this.cipher((this.#layout & OUT_IS_SECOND) !== 0);
  }

  get inbound(): SkCipher {
    return this.cipher((this.#layout & OUT_IS_SECOND) === 0);
  }

  override next(): Buffer {
    const info = encrInfo(this.suite.encrId);
    return info.aead ? super.next() : randomBytes(info.ivLength);
  }

  /** Wipes the whole allocation (prefix and both directions' keys); the pair must not be used afterwards. */
  dispose(): void {
    new Uint8Array(this.#material).fill(0);
  }

  /** The cipher of the first (SK_e(i), SK_a(i)) or second direction. `private`: a `#method` costs a brand slot per instance. */
  private cipher(second: boolean): SkCipher {
    const suite = this.suite;
    const info = encrInfo(suite.encrId);
    const keyBits = encrKeyBits(info, suite.keyLengthBits);
    const encr = keyBits / 8 + info.saltLength;
    const integ = info.aead ? 0 : integInfo(suite.integId ?? 0).keyLength;
    const m = this.#material;
    const e = (this.#layout >>> LAYOUT_SHIFT) + (second ? encr : 0);
    const a = (this.#layout >>> LAYOUT_SHIFT) + 2 * encr + (second ? integ : 0);
    const integKey = integ === 0 ? undefined : Buffer.from(m, a, integ);
    return skCipherOver(info, keyBits, suite.integId, Buffer.from(m, e, encr), integKey, true, (this.#layout & NODE_AEAD) !== 0);
  }
}

// --- SK plaintext and body ----------------------------------------------------------------

/** Octets of Padding for `innerLength` octets of inner payloads (Pad Length octet excluded). */
export function skPadLength(innerLength: number, blockSize: number): number {
  return (blockSize - ((innerLength + 1) % blockSize)) % blockSize;
}

/**
 * inner | Padding | Pad Length (RFC 7296 §3.14): the shortest zero padding that makes the
 * whole a multiple of `blockSize`. The Pad Length octet is always present (also for AEADs).
 */
export function padSkPlaintext(inner: Buffer, blockSize: number): Buffer {
  const padLength = skPadLength(inner.length, blockSize);
  const out = Buffer.alloc(inner.length + padLength + 1);
  inner.copy(out);
  out[out.length - 1] = padLength;
  return out;
}

/** Strips Padding and Pad Length; GKM_CRYPTO_BAD_PADDING when they do not fit. */
export function unpadSkPlaintext(plaintext: Buffer): Buffer {
  const padLength = plaintext.at(-1);
  if (padLength === undefined || padLength + 1 > plaintext.length) {
    throw new GkmError('GKM_CRYPTO_BAD_PADDING', { detail: `Pad Length ${padLength ?? '-'} in ${plaintext.length} octets` });
  }
  return plaintext.subarray(0, plaintext.length - 1 - padLength);
}

/** Length of IV | Encrypted content | ICV for `innerLength` octets of inner payloads. */
export function skBodyLength(cipher: SkCipher, innerLength: number): number {
  return cipher.ivLength + innerLength + skPadLength(innerLength, cipher.blockSize) + 1 + cipher.icvLength;
}

/**
 * Writes IV | seal(pad(inner)) into `body`, exactly skBodyLength(cipher, inner.length) octets
 * (the SK/SKF payload body after its header, normally a view of the message being built):
 * IV, inner payloads, zero Padding and Pad Length (RFC 7296 §3.14), then encrypts in place.
 */
export function sealSkBodyInto(cipher: SkCipher, iv: Buffer, aad: Buffer, inner: Buffer, body: Buffer): void {
  checkIv(iv, cipher.ivLength);
  if (body.length !== skBodyLength(cipher, inner.length)) {
    throw new GkmError('GKM_CRYPTO_INTERNAL', { detail: `SK body of ${body.length} octets for ${inner.length} inner octets` });
  }
  iv.copy(body);
  inner.copy(body, iv.length);
  const padEnd = body.length - cipher.icvLength - 1;
  body.fill(0, iv.length + inner.length, padEnd);
  body[padEnd] = padEnd - iv.length - inner.length;
  cipher.sealBody(aad, body);
}

/** IV | seal(pad(inner)): the SK/SKF payload body after its header, in a new Buffer. */
export function sealSkBody(cipher: SkCipher, iv: Buffer, aad: Buffer, inner: Buffer): Buffer {
  const body = Buffer.allocUnsafe(skBodyLength(cipher, inner.length));
  sealSkBodyInto(cipher, iv, aad, inner, body);
  return body;
}

/** Inverse of sealSkBody: verifies, decrypts and unpads; returns the inner payloads. */
export function openSkBody(cipher: SkCipher, aad: Buffer, body: Buffer): Buffer {
  return unpadSkPlaintext(cipher.openBody(aad, body));
}
