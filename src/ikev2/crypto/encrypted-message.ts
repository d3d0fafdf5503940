/**
 * Whole-message protection: the Encrypted payload (SK, RFC 7296 §3.14), IKE fragmentation
 * (SKF, RFC 7383) and the "as if unencrypted" form A|P that IntAuth (RFC 9242 §3.1) and
 * G-IKEv2 GSA_REKEY signatures (RFC 9838 §6) are computed over.
 *
 * The AAD of every SK/SKF is the message from its first octet through the SK generic header
 * (4 octets) or SKF header (8 octets), with final lengths (RFC 5282 §5.1, RFC 7383 §2.5).
 */
import { GkmError } from '../errors.ts';
import { IKE_HEADER_LENGTH } from '../registry/exchange.ts';
import { GENERIC_HEADER_LENGTH, PayloadType } from '../registry/payload.ts';
import type { IkeHeader } from '../wire/header.ts';
import { decodePayloadChain, encodeChain, type Payload } from '../wire/payload.ts';
import { encodeMessageParts, type DecodedMessage } from '../wire/message.ts';
import type { SkfPayload, SkPayload } from '../wire/payloads/index.ts';
import { MAX_FRAGMENTS } from '../wire/payloads/index.ts';
import { openSkBody, sealSkBodyInto, skBodyLength, skPadLength, type IvSource, type SkCipher } from './cipher.ts';

const SKF_HEADER_LENGTH = 8;

/** Shared, never written: the encoder only copies a placeholder body (its octets are overwritten). */
const PLACEHOLDER = Buffer.alloc(8192);

/** `length` octets standing for an SK/SKF body until sealInPlace writes the real one. */
function placeholderBody(length: number): Buffer {
  return length <= PLACEHOLDER.length ? PLACEHOLDER.subarray(0, length) : Buffer.allocUnsafe(length);
}

/** Seals `innerBytes` into the SK/SKF payload of an encoded message whose body is a placeholder. */
function sealInPlace(raw: Buffer, encryptedOffset: number, headerLength: number, cipher: SkCipher, iv: Buffer, innerBytes: Buffer): Buffer {
  const aadEnd = encryptedOffset + headerLength;
  sealSkBodyInto(cipher, iv, raw.subarray(0, aadEnd), innerBytes, raw.subarray(aadEnd));
  return raw;
}

/**
 * HDR, [unprotected payloads,] SK{inner}: encodes the inner chain, reserves the SK body at its
 * final length, then encrypts with the AAD of the final message.
 */
export function protectMessage(
  header: IkeHeader,
  inner: readonly Payload[],
  cipher: SkCipher,
  ivs: IvSource,
  unprotected: readonly Payload[] = [],
): Buffer {
  const { first, bytes } = encodeChain(inner);
  const sk: SkPayload = { type: PayloadType.SK, innerFirstPayload: first, body: placeholderBody(skBodyLength(cipher, bytes.length)) };
  const { raw, encryptedOffset } = encodeMessageParts({ header, payloads: [...unprotected, sk] });
  return sealInPlace(raw, encryptedOffset, GENERIC_HEADER_LENGTH, cipher, ivs.next(), bytes);
}

export interface OpenedMessage {
  /** Type of the first inner payload (SK's Next Payload). */
  readonly innerFirstPayload: number;
  /** The decrypted inner payload chain, as bytes. */
  readonly innerBytes: Buffer;
  readonly inner: Payload[];
}

function findEncrypted(msg: DecodedMessage): SkPayload | SkfPayload {
  const last = msg.payloads.at(-1);
  if (msg.encryptedOffset < 0 || !last || (last.type !== PayloadType.SK && last.type !== PayloadType.SKF)) {
    throw new GkmError('GKM_WIRE_BAD_VALUE', { field: 'message', detail: 'no Encrypted payload' });
  }
  return last;
}

/** Verifies and decrypts the SK payload of a decoded message, then decodes the inner chain. */
export function unprotectMessage(msg: DecodedMessage, cipher: SkCipher): OpenedMessage {
  const sk = findEncrypted(msg);
  if (sk.type !== PayloadType.SK) throw new GkmError('GKM_WIRE_BAD_VALUE', { field: 'message', detail: 'fragment: use FragmentReassembler' });
  const aad = msg.raw.subarray(0, msg.encryptedOffset + GENERIC_HEADER_LENGTH);
  const innerBytes = openSkBody(cipher, aad, sk.body);
  return { innerFirstPayload: sk.innerFirstPayload, innerBytes, inner: decodePayloadChain(sk.innerFirstPayload, innerBytes, 'SK').payloads };
}

// --- RFC 7383 fragmentation ----------------------------------------------------------------

/**
 * Splits HDR, SK{inner} into SKF messages of at most `maxMessageLength` octets each (the
 * IKE message, without IP/UDP headers or the non-ESP marker). Each fragment is encrypted on
 * its own with the same header (and Message ID); fragment 1's Next Payload names the first
 * inner payload, the others carry 0 (RFC 7383 §2.5). Unprotected payloads are not allowed:
 * no IKE exchange that may be fragmented carries them.
 */
export function fragmentMessage(
  header: IkeHeader,
  inner: readonly Payload[],
  cipher: SkCipher,
  ivs: IvSource,
  maxMessageLength: number,
): Buffer[] {
  const { first, bytes } = encodeChain(inner);
  const overhead = IKE_HEADER_LENGTH + SKF_HEADER_LENGTH + cipher.ivLength + cipher.icvLength + 1;
  // Largest chunk whose padded length still fits (padding up to blockSize - 1 octets).
  let chunk = maxMessageLength - overhead;
  while (chunk > 0 && overhead + chunk + skPadLength(chunk, cipher.blockSize) > maxMessageLength) chunk--;
  if (chunk <= 0) throw new GkmError('GKM_WIRE_ENCODE', { field: 'fragment size', detail: `${maxMessageLength} leaves no room for data` });
  const total = Math.max(1, Math.ceil(bytes.length / chunk));
  if (total > MAX_FRAGMENTS) throw new GkmError('GKM_WIRE_ENCODE', { field: 'fragments', detail: `${total} > ${MAX_FRAGMENTS}` });
  const out: Buffer[] = [];
  for (let n = 1; n <= total; n++) {
    const part = bytes.subarray((n - 1) * chunk, n * chunk);
    const skf: SkfPayload = {
      type: PayloadType.SKF,
      innerFirstPayload: n === 1 ? first : PayloadType.NONE,
      fragmentNumber: n,
      totalFragments: total,
      body: placeholderBody(skBodyLength(cipher, part.length)),
    };
    const { raw, encryptedOffset } = encodeMessageParts({ header, payloads: [skf] });
    out.push(sealInPlace(raw, encryptedOffset, SKF_HEADER_LENGTH, cipher, ivs.next(), part));
  }
  return out;
}

export type ReassemblyResult =
  | { readonly complete: false }
  | (OpenedMessage & { readonly complete: true; /** Fragment 1 as received (its header and unprotected part). */ readonly first: DecodedMessage });

/** Upper bound on a reassembled message: bounded memory whatever fragments claim. */
export const MAX_REASSEMBLED_LENGTH = 256 * 1024;

/**
 * Reassembles the fragments of one message (one Message ID of one IKE SA). Each fragment is
 * authenticated before it is kept; RFC 7383 §2.6: a fragment announcing more fragments than
 * the set so far restarts reassembly, one announcing fewer is dropped, duplicates are
 * ignored. Fragments that fail authentication throw GKM_CRYPTO_AUTH_FAILED and change nothing.
 */
export class FragmentReassembler {
  private total = 0;
  private readonly parts = new Map<number, Buffer>();
  private firstFragment: DecodedMessage | undefined;
  private innerFirst = PayloadType.NONE as number;
  private size = 0;

  constructor(readonly messageId: number) {}

  add(msg: DecodedMessage, cipher: SkCipher): ReassemblyResult {
    const skf = findEncrypted(msg);
    if (skf.type !== PayloadType.SKF) throw new GkmError('GKM_WIRE_BAD_VALUE', { field: 'message', detail: 'not a fragment' });
    if (msg.header.messageId !== this.messageId) throw new GkmError('GKM_WIRE_BAD_VALUE', { field: 'header.messageId', detail: 'another message' });
    const aad = msg.raw.subarray(0, msg.encryptedOffset + SKF_HEADER_LENGTH);
    const part = openSkBody(cipher, aad, skf.body); // authenticate before changing state
    if (skf.totalFragments < this.total) return { complete: false };
    if (skf.totalFragments > this.total) {
      this.parts.clear();
      this.size = 0;
      this.firstFragment = undefined;
      this.total = skf.totalFragments;
    }
    if (this.parts.has(skf.fragmentNumber)) return { complete: false };
    if (this.size + part.length > MAX_REASSEMBLED_LENGTH) {
      throw new GkmError('GKM_WIRE_TOO_LARGE', { field: 'reassembly', detail: `over ${MAX_REASSEMBLED_LENGTH} octets` });
    }
    this.parts.set(skf.fragmentNumber, part);
    this.size += part.length;
    if (skf.fragmentNumber === 1) {
      this.firstFragment = msg;
      this.innerFirst = skf.innerFirstPayload;
    }
    if (this.parts.size < this.total || !this.firstFragment) return { complete: false };
    const innerBytes = Buffer.concat([...Array(this.total).keys()].map((i) => this.parts.get(i + 1)!));
    return {
      complete: true,
      first: this.firstFragment,
      innerFirstPayload: this.innerFirst,
      innerBytes,
      inner: decodePayloadChain(this.innerFirst, innerBytes, 'SKF').payloads,
    };
  }
}

// --- A|P, the message "as if unencrypted" ---------------------------------------------------

/**
 * RFC 9242 §3.1 / RFC 9838 §6: the IKE header, the unprotected payloads, the SK generic
 * header and the inner payloads, with no IV, padding, Pad Length or ICV; the header Length
 * and SK Payload Length recomputed over this form. For a fragmented message the form is that
 * of the reassembled message with SK (not SKF) and fragment 1's header and unprotected part.
 * `prefix` is the received (or sent) message up to its SK/SKF payload; `skFlags` the octet
 * after SK's Next Payload (critical bit / reserved, normally 0).
 */
export function plainForm(prefix: Buffer, innerFirstPayload: number, innerBytes: Buffer, skFlags = 0): Buffer {
  if (prefix.length < IKE_HEADER_LENGTH) throw new GkmError('GKM_WIRE_TRUNCATED', { field: 'A|P prefix' });
  const skLength = GENERIC_HEADER_LENGTH + innerBytes.length;
  const out = Buffer.alloc(prefix.length + skLength);
  prefix.copy(out);
  if (prefix.length === IKE_HEADER_LENGTH) out[16] = PayloadType.SK; // SKF first -> SK
  out.writeUInt32BE(out.length, 24);
  let at = prefix.length;
  out[at] = innerFirstPayload;
  out[at + 1] = skFlags;
  out.writeUInt16BE(skLength, at + 2);
  at += GENERIC_HEADER_LENGTH;
  innerBytes.copy(out, at);
  return out;
}

/** A|P of a received message (fragment 1's prefix for a reassembled one). */
export function plainFormOfReceived(msg: DecodedMessage, opened: Pick<OpenedMessage, 'innerFirstPayload' | 'innerBytes'>): Buffer {
  const prefix = msg.raw.subarray(0, msg.encryptedOffset);
  const skFlags = msg.raw[msg.encryptedOffset + 1] ?? 0;
  return plainForm(prefix, opened.innerFirstPayload, opened.innerBytes, skFlags);
}

/** A|P of a message we send: HDR, [unprotected,] SK{inner}. */
export function plainFormOfOutgoing(header: IkeHeader, inner: readonly Payload[], unprotected: readonly Payload[] = []): Buffer {
  const { first, bytes } = encodeChain(inner);
  const sk: SkPayload = { type: PayloadType.SK, innerFirstPayload: first, body: bytes };
  return encodeMessageParts({ header, payloads: [...unprotected, sk] }).raw;
}
