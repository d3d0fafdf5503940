/**
 * Per-SA ESP protection: one object per SA direction holding the key objects, salt and
 * scratch buffers, so the per-packet path is one createCipheriv/createDecipheriv (plus one
 * createHmac for CBC) and a few copies.
 *
 * Packet layout handed in (RFC 4303 §2): `SPI(4) | Seq(4) | IV | plaintext | [ICV]`, where
 * plaintext = Payload | Padding | PadLength | NextHeader. `seqHi` is the ESN high half
 * (RFC 4303 §2.2.1), or -1 when ESN is off.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  randomFillSync,
  timingSafeEqual,
  type CipherGCMTypes,
  type KeyObject,
} from 'node:crypto';
import { GkmError } from '../../ikev2/errors.ts';
import type { EspKeys, EspSuite } from './suite.ts';

export const ESP_HEADER_LENGTH = 8;

export interface EspCipher {
  readonly suite: EspSuite;
  /**
   * Protects `pkt` (SPI at 0) whose plaintext ends at `ptEnd`; writes the ciphertext in
   * place and the ICV at `ptEnd`. Counter-IV suites expect the IV already written at 8;
   * CBC writes its own random IV.
   */
  seal(pkt: Buffer, ptEnd: number, seqHi: number): void;
  /** Verifies and decrypts; returns Payload | Padding | PadLength | NH. Throws GKM_ESP_AUTH_FAILED. */
  open(pkt: Buffer, seqHi: number): Buffer;
}

const authFailed = (): GkmError => new GkmError('GKM_ESP_AUTH_FAILED', { field: 'esp.icv' });

function checkKeys(suite: EspSuite, keys: EspKeys): void {
  const encLen = suite.keyLength + suite.saltLength;
  if (keys.encr.length !== encLen) {
    throw new GkmError('GKM_CRYPTO_BAD_KEY_LENGTH', {
      field: 'esp.keys.encr',
      detail: `${keys.encr.length} byte(s), expected ${encLen}`,
    });
  }
  const integLen = keys.integ?.length ?? 0;
  if (integLen !== suite.integKeyLength) {
    throw new GkmError('GKM_CRYPTO_BAD_KEY_LENGTH', {
      field: 'esp.keys.integ',
      detail: `${integLen} byte(s), expected ${suite.integKeyLength}`,
    });
  }
}

/** Shared parts of the GCM/ChaCha family: nonce = salt(4) || IV(8) (RFC 4106 §4, RFC 7634 §2). */
abstract class SaltedNonceCipher implements EspCipher {
  protected readonly key: KeyObject;
  protected readonly nonce = Buffer.alloc(12);
  /** ESN AAD start: SPI | SeqHi (RFC 4106 §5, RFC 4543 §3.3.2); SeqLo follows from the packet. */
  protected readonly esnHead = Buffer.alloc(8);
  /** SPI | SeqLo: the AAD without ESN. */
  protected readonly header = Buffer.alloc(8);
  protected readonly tag: Buffer;
  protected readonly cipherName: CipherGCMTypes;
  protected readonly tagOpts: { authTagLength: number };

  constructor(readonly suite: EspSuite, keys: EspKeys) {
    checkKeys(suite, keys);
    this.key = createSecretKey(keys.encr.subarray(0, suite.keyLength));
    keys.encr.copy(this.nonce, 0, suite.keyLength);
    this.cipherName = suite.cipher as CipherGCMTypes;
    this.tagOpts = { authTagLength: suite.icvLength };
    this.tag = Buffer.alloc(suite.icvLength);
  }

  /** Byte loops: cheaper than Buffer#copy / subarray for 8-16 bytes on the per-packet path. */
  protected loadNonce(pkt: Buffer): void {
    const n = this.nonce;
    for (let i = 0; i < 8; i++) n[4 + i] = pkt[8 + i]!;
  }

  /** Feeds `SPI | [SeqHi] | pkt[4, end)` as AAD. */
  protected aad(c: { setAAD(b: Buffer): unknown }, pkt: Buffer, end: number, seqHi: number): void {
    if (seqHi < 0 && end === ESP_HEADER_LENGTH) {
      const h = this.header;
      for (let i = 0; i < 8; i++) h[i] = pkt[i]!;
      c.setAAD(h);
      return;
    }
    if (seqHi < 0) {
      c.setAAD(pkt.subarray(0, end));
      return;
    }
    const h = this.esnHead;
    for (let i = 0; i < 4; i++) h[i] = pkt[i]!;
    h.writeUInt32BE(seqHi, 4);
    c.setAAD(h);
    c.setAAD(pkt.subarray(4, end));
  }

  /** The ICV at the end of `pkt`, in a reused buffer (setAuthTag copies it). */
  protected icvOf(pkt: Buffer): Buffer {
    const t = this.tag;
    const off = pkt.length - t.length;
    for (let i = 0; i < t.length; i++) t[i] = pkt[off + i]!;
    return t;
  }

  protected static putTag(tag: Buffer, pkt: Buffer, off: number): void {
    for (let i = 0; i < tag.length; i++) pkt[off + i] = tag[i]!;
  }

  abstract seal(pkt: Buffer, ptEnd: number, seqHi: number): void;
  abstract open(pkt: Buffer, seqHi: number): Buffer;
}

/** AES-GCM (RFC 4106) and ChaCha20-Poly1305 (RFC 7634): AAD = SPI | [SeqHi] | SeqLo. */
export class AeadCipher extends SaltedNonceCipher {
  seal(pkt: Buffer, ptEnd: number, seqHi: number): void {
    this.loadNonce(pkt);
    const c = createCipheriv(this.cipherName, this.key, this.nonce, this.tagOpts);
    this.aad(c, pkt, ESP_HEADER_LENGTH, seqHi);
    c.update(pkt.subarray(16, ptEnd)).copy(pkt, 16);
    c.final();
    SaltedNonceCipher.putTag(c.getAuthTag(), pkt, ptEnd);
  }

  open(pkt: Buffer, seqHi: number): Buffer {
    const ctEnd = pkt.length - this.suite.icvLength;
    this.loadNonce(pkt);
    const d = createDecipheriv(this.cipherName, this.key, this.nonce, this.tagOpts);
    d.setAuthTag(this.icvOf(pkt));
    this.aad(d, pkt, ESP_HEADER_LENGTH, seqHi);
    const pt = d.update(pkt.subarray(16, ctEnd));
    try {
      d.final();
    } catch {
      throw authFailed();
    }
    return pt;
  }
}

/** AES-GMAC (RFC 4543, ENCR 21): AAD = SPI | [SeqHi] | SeqLo | IV | payload..NH; no encryption. */
export class GmacCipher extends SaltedNonceCipher {
  seal(pkt: Buffer, ptEnd: number, seqHi: number): void {
    this.loadNonce(pkt);
    const c = createCipheriv(this.cipherName, this.key, this.nonce, this.tagOpts);
    this.aad(c, pkt, ptEnd, seqHi);
    c.final();
    SaltedNonceCipher.putTag(c.getAuthTag(), pkt, ptEnd);
  }

  open(pkt: Buffer, seqHi: number): Buffer {
    const ctEnd = pkt.length - this.suite.icvLength;
    this.loadNonce(pkt);
    const d = createDecipheriv(this.cipherName, this.key, this.nonce, this.tagOpts);
    d.setAuthTag(this.icvOf(pkt));
    this.aad(d, pkt, ctEnd, seqHi);
    try {
      d.final();
    } catch {
      throw authFailed();
    }
    return pkt.subarray(16, ctEnd);
  }
}

/** Random IVs for CBC (RFC 3602 §3: unpredictable), drawn from a refilled pool. */
class RandomPool {
  private readonly pool = Buffer.alloc(4096);
  private pos = this.pool.length;

  take(dst: Buffer, offset: number, n: number): void {
    if (this.pos + n > this.pool.length) {
      randomFillSync(this.pool);
      this.pos = 0;
    }
    this.pool.copy(dst, offset, this.pos, this.pos + n);
    this.pos += n;
  }
}
const ivPool = new RandomPool();

/**
 * AES-CBC (RFC 3602) + HMAC-SHA2 (RFC 4868): encrypt-then-MAC over SPI..NH; with ESN,
 * SeqHi is appended for the ICV computation only (RFC 4303 §2.2.1, §3.3.2.1).
 */
export class CbcHmacCipher implements EspCipher {
  private readonly key: KeyObject;
  private readonly integKey: KeyObject;
  private readonly hash: string;
  private readonly seqHiBuf = Buffer.alloc(4);

  constructor(readonly suite: EspSuite, keys: EspKeys) {
    checkKeys(suite, keys);
    this.key = createSecretKey(keys.encr);
    this.integKey = createSecretKey(keys.integ ?? Buffer.alloc(0));
    this.hash = suite.hmac ?? 'sha256';
  }

  private mac(pkt: Buffer, end: number, seqHi: number): Buffer {
    const h = createHmac(this.hash, this.integKey).update(pkt.subarray(0, end));
    if (seqHi >= 0) {
      this.seqHiBuf.writeUInt32BE(seqHi, 0);
      h.update(this.seqHiBuf);
    }
    return h.digest();
  }

  seal(pkt: Buffer, ptEnd: number, seqHi: number): void {
    ivPool.take(pkt, 8, 16);
    const c = createCipheriv(this.suite.cipher, this.key, pkt.subarray(8, 24)).setAutoPadding(false);
    c.update(pkt.subarray(24, ptEnd)).copy(pkt, 24);
    c.final();
    this.mac(pkt, ptEnd, seqHi).copy(pkt, ptEnd, 0, this.suite.icvLength);
  }

  open(pkt: Buffer, seqHi: number): Buffer {
    const icv = this.suite.icvLength;
    const ctEnd = pkt.length - icv;
    const expected = this.mac(pkt, ctEnd, seqHi).subarray(0, icv);
    if (!timingSafeEqual(expected, pkt.subarray(ctEnd))) throw authFailed();
    const d = createDecipheriv(this.suite.cipher, this.key, pkt.subarray(8, 24)).setAutoPadding(false);
    const pt = d.update(pkt.subarray(24, ctEnd));
    d.final();
    return pt;
  }
}

/** Builds the per-SA cipher object for a suite. */
export function createEspCipher(suite: EspSuite, keys: EspKeys): EspCipher {
  switch (suite.kind) {
    case 'aead':
      return new AeadCipher(suite, keys);
    case 'gmac':
      return new GmacCipher(suite, keys);
    case 'cbc-hmac':
      return new CbcHmacCipher(suite, keys);
  }
}
