/**
 * Payload chains (RFC 7296 §3.2): each payload starts with the generic header
 * `Next Payload(1) | C(1 bit) + RESERVED(7) | Payload Length(2)`.
 *
 * Decoding is strict: the length must cover at least the header and fit the input,
 * each known payload's codec must consume its body exactly, an unknown payload with
 * the critical bit set raises UNSUPPORTED_CRITICAL_PAYLOAD (data: its type, §2.5),
 * and an unknown non-critical one is kept as opaque bytes. SK and SKF end the chain:
 * their Next Payload names the first *inner* payload (§3.14, RFC 7383 §2.5).
 */
import { GkmError } from '../errors.ts';
import { CRITICAL_FLAG, GENERIC_HEADER_LENGTH, PayloadType } from '../registry/payload.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';
import { payloadCodecs, type KnownPayload } from './payloads/index.ts';

/** A payload type this implementation does not know; kept verbatim. */
export interface UnknownPayload {
  readonly type: 'unknown';
  /** The payload type code as received. */
  readonly wireType: number;
  readonly critical?: boolean;
  readonly body: Buffer;
}

export type Payload = KnownPayload | UnknownPayload;

/** Per-payload codec: decode/encode the body after the generic header. */
export interface PayloadCodec<P extends { readonly type: number }> {
  readonly type: P['type'];
  readonly name: string;
  /** `r` is bounded to the body; the framework refuses bytes left unread. */
  decode(r: Reader): P;
  encode(w: Writer, p: P): void;
}

/**
 * Raw body bytes of the identification payloads decoded from the wire: AUTH signs the ID
 * payload's body exactly as sent, reserved octets included (RFC 7296 §2.15). Only those
 * are kept: a WeakMap entry per payload of every message cost time and GC work (ephemerons)
 * for bytes nobody reads.
 */
const rawBodies = new WeakMap<object, Buffer>();

/** Payload types whose received body `payloadBody` returns verbatim. */
const keepsRawBody = (type: number): boolean => type === PayloadType.IDi || type === PayloadType.IDr || type === PayloadType.IDg;

/**
 * The body bytes of a payload: for an ID payload decoded from the wire exactly as received;
 * otherwise as we encode it (for a decoded payload that is the received body up to reserved
 * octets, which we write as zero; an unknown payload's body is always verbatim).
 */
export function payloadBody(p: Payload): Buffer {
  const raw = rawBodies.get(p);
  if (raw) return raw;
  const w = new Writer(64);
  encodePayloadBody(w, p);
  return w.finish();
}

export function wireTypeOf(p: Payload): number {
  return p.type === 'unknown' ? p.wireType : p.type;
}

/** The "next payload" value a payload's own generic header carries for inner chains. */
function chainEnds(p: Payload): p is Extract<KnownPayload, { innerFirstPayload: number }> {
  return p.type === PayloadType.SK || p.type === PayloadType.SKF;
}

export interface DecodedChain {
  readonly payloads: Payload[];
  /** Offset (within the decoded buffer) of the SK/SKF generic header, or -1. */
  readonly encryptedOffset: number;
}

/** Throws GKM_WIRE_TRUNCATED naming the first generic header field that does not fit. */
function genericHeaderTruncated(r: Reader, field: string): never {
  r.u8(`${field}.nextPayload`);
  r.u8(`${field}.flags`);
  r.u16(`${field}.length`);
  throw new GkmError('GKM_WIRE_TRUNCATED', { field: `${r.path}.${field}`, detail: 'generic payload header' });
}

/** Decode a payload chain that starts with payload type `first` and fills `buf` exactly. */
export function decodePayloadChain(first: number, buf: Buffer, path = 'payloads'): DecodedChain {
  return decodeChain(first, new Reader(buf, path));
}

/** `decodePayloadChain` over a reader's window (offsets are relative to the window). */
export function decodeChain(first: number, r: Reader): DecodedChain {
  const payloads: Payload[] = [];
  let next = first;
  let encryptedOffset = -1;
  while (next !== PayloadType.NONE) {
    const idx = payloads.length;
    const at = r.offset;
    const type = next;
    const codec = payloadCodecs.get(type);
    const name = codec ? codec.name : `type${type}`;
    if (r.remaining < GENERIC_HEADER_LENGTH) genericHeaderTruncated(r, `[${idx}]${name}`);
    next = r.u8('nextPayload');
    const critical = (r.u8('flags') & CRITICAL_FLAG) !== 0;
    const length = r.u16('length');
    if (length < GENERIC_HEADER_LENGTH) r.fail('GKM_WIRE_BAD_LENGTH', `[${idx}]${name}.length`, `${length} < 4`);
    const body = r.chainItem(length - GENERIC_HEADER_LENGTH, name, idx);
    let p: Payload;
    if (codec) {
      p = codec.decode(body);
      body.end();
      if (critical) (p as { critical?: boolean }).critical = true;
    } else if (critical) {
      throw new GkmError('GKM_WIRE_UNSUPPORTED_CRITICAL_PAYLOAD', {
        field: `${r.path}[${idx}]${name}`,
        notifyData: Buffer.from([type]),
      });
    } else {
      p = { type: 'unknown', wireType: type, body: body.rest() };
    }
    if (keepsRawBody(type)) rawBodies.set(p, body.bytesAll);
    payloads.push(p);
    if (chainEnds(p)) {
      // RFC 7296 §3.14: the SK payload is the last one; its Next Payload names the inner chain.
      (p as { innerFirstPayload: number }).innerFirstPayload = next;
      encryptedOffset = at;
      next = PayloadType.NONE;
    }
  }
  r.end('afterLastPayload');
  return { payloads, encryptedOffset };
}

function encodePayloadBody(w: Writer, p: Payload): void {
  if (p.type === 'unknown') {
    w.bytes(p.body);
    return;
  }
  const codec = payloadCodecs.get(p.type) as PayloadCodec<KnownPayload> | undefined;
  if (!codec) throw new GkmError('GKM_WIRE_ENCODE', { field: `payload type ${p.type}`, detail: 'no codec' });
  codec.encode(w, p);
}

export interface EncodedChain {
  /** Type of the first payload (0 when empty): goes into the preceding Next Payload field. */
  readonly first: number;
  /** Offset of the SK/SKF generic header within the written chain, or -1. */
  readonly encryptedOffset: number;
}

/** Write a chain of payloads; an SK/SKF payload must be last. */
export function encodePayloadChain(w: Writer, payloads: readonly Payload[]): EncodedChain {
  const start = w.length;
  let encryptedOffset = -1;
  for (let i = 0; i < payloads.length; i++) {
    const p = payloads[i]!;
    const last = i === payloads.length - 1;
    const ends = chainEnds(p);
    if (ends && !last) {
      throw new GkmError('GKM_WIRE_ENCODE', { field: `payloads[${i}]`, detail: 'SK/SKF must be the last payload' });
    }
    const hdrAt = w.length;
    if (ends) encryptedOffset = hdrAt - start;
    const next = ends ? p.innerFirstPayload : last ? PayloadType.NONE : wireTypeOf(payloads[i + 1]!);
    w.u8(next, 'nextPayload').u8(p.critical ? CRITICAL_FLAG : 0);
    const lenAt = w.reserveU16();
    encodePayloadBody(w, p);
    const length = w.length - hdrAt;
    w.patchU16(lenAt, length, length > 0xffff ? `payloads[${i}].length` : 'length');
  }
  return { first: payloads.length ? wireTypeOf(payloads[0]!) : PayloadType.NONE, encryptedOffset };
}

/** Encode a chain on its own (e.g. the inner payloads of SK). */
export function encodeChain(payloads: readonly Payload[]): { first: number; bytes: Buffer } {
  const w = new Writer(256);
  const { first } = encodePayloadChain(w, payloads);
  return { first, bytes: w.finish() };
}
