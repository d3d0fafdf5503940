/**
 * Helpers for the IKE_INTERMEDIATE / RFC 9370 tests: proposals, a view of the exchanges on
 * the wire, and an independent AES-GCM opener and A|P builder (node:crypto only, not the
 * engine's code) for byte-level checks.
 */
import { createDecipheriv, createHmac } from 'node:crypto';
import { EncrId, KeId, PayloadType, PrfId } from '../../../../src/ikev2/registry/index.ts';
import { decodeMessage, decodePayloadChain, type Payload } from '../../../../src/ikev2/wire/index.ts';
import type { IkeSaKeys } from '../../../../src/ikev2/crypto/keys.ts';
import { ike, type InMemoryNet, type Packet } from './harness.ts';

export const GCM128 = { id: EncrId.AES_GCM_16, keyLength: 128 } as const;

/** `aes128gcm16-prfsha256-<ke>-ke1_…-ke2_…`; an inner array lists alternatives (KeId.NONE: optional). */
export const hybrid = (addke: (number | number[])[], ke: number = KeId.CURVE25519) => ike(GCM128, ke, PrfId.HMAC_SHA2_256, { addke });

/** `type/MID/direction` of every datagram sent (fragments each count). */
export function exchanges(net: InMemoryNet): string[] {
  return net.sent.map((p) => {
    const h = decodeMessage(p.datagram).header;
    return `${h.exchangeType}/${h.messageId}/${h.flags & 0x20 ? 'r' : 'q'}`;
  });
}

export const isExchange = (p: Packet, type: number, response: boolean): boolean => {
  const h = decodeMessage(p.datagram).header;
  return h.exchangeType === type && Boolean(h.flags & 0x20) === response;
};

export const copyKeys = (k: IkeSaKeys): IkeSaKeys =>
  Object.fromEntries(Object.entries(k).map(([n, v]) => [n, Buffer.from(v as Buffer)])) as unknown as IkeSaKeys;

// --- independent primitives (HMAC-SHA-256 PRF, AES-128-GCM SK payloads) ---------------------

export const hmac = (key: Buffer, ...data: Buffer[]): Buffer => createHmac('sha256', key).update(Buffer.concat(data)).digest();

/** prf+ (RFC 7296 §2.13) with HMAC-SHA-256. */
export function prfPlus(key: Buffer, seed: Buffer, length: number): Buffer {
  const out: Buffer[] = [];
  let t: Buffer = Buffer.alloc(0);
  for (let n = 1; out.length * 32 < length; n++) {
    t = hmac(key, t, seed, Buffer.of(n));
    out.push(t);
  }
  return Buffer.concat(out).subarray(0, length);
}

/** keys(n) of an AES-128-GCM / HMAC-SHA-256 IKE SA from SKEYSEED (RFC 7296 §2.14; SK_e with 4-octet salt). */
export function keysFrom(seed: Buffer, ni: Buffer, nr: Buffer, spiI: Buffer, spiR: Buffer): IkeSaKeys {
  const km = prfPlus(seed, Buffer.concat([ni, nr, spiI, spiR]), 32 + 0 + 0 + 20 + 20 + 32 + 32);
  const at = (o: number, l: number) => Buffer.from(km.subarray(o, o + l));
  return { skD: at(0, 32), skAi: Buffer.alloc(0), skAr: Buffer.alloc(0), skEi: at(32, 20), skEr: at(52, 20), skPi: at(72, 32), skPr: at(104, 32) };
}

export interface Opened {
  /** Type of the first inner payload. */
  readonly first: number;
  readonly inner: Buffer;
  readonly payloads: Payload[];
  /** The 28-octet IKE header of the (first) datagram. */
  readonly header: Buffer;
  /** Flags octet of the SK / SKF generic header. */
  readonly skFlags: number;
}

/** Opens an SK message, or the SKF fragments of one (in order), with an AES-128-GCM SK_e (key | salt). */
export function openGcm(datagrams: readonly Buffer[], skE: Buffer): Opened {
  const parts: Buffer[] = [];
  const first = datagrams[0]!;
  for (const d of datagrams) {
    const skf = d[16] === PayloadType.SKF;
    const aadEnd = 28 + (skf ? 8 : 4);
    const body = d.subarray(aadEnd);
    const iv = body.subarray(0, 8);
    const decipher = createDecipheriv('aes-128-gcm', skE.subarray(0, 16), Buffer.concat([skE.subarray(16, 20), iv]));
    decipher.setAAD(d.subarray(0, aadEnd));
    decipher.setAuthTag(body.subarray(body.length - 16));
    const plain = Buffer.concat([decipher.update(body.subarray(8, body.length - 16)), decipher.final()]);
    parts.push(plain.subarray(0, plain.length - 1 - plain[plain.length - 1]!)); // strip Padding | Pad Length
  }
  const inner = Buffer.concat(parts);
  return { first: first[28]!, inner, payloads: decodePayloadChain(first[28]!, inner).payloads, header: Buffer.from(first.subarray(0, 28)), skFlags: first[29]! };
}

/**
 * A|P by the letter of RFC 9242 §3.1 (digest §B.1): IKE header with Next Payload SK and Length
 * recomputed, SK generic header with the SK Payload Length recomputed, then the inner payloads.
 */
export function aAndP(o: Opened): Buffer {
  const header = Buffer.from(o.header);
  header[16] = PayloadType.SK;
  header.writeUInt32BE(28 + 4 + o.inner.length, 24);
  const sk = Buffer.alloc(4);
  sk[0] = o.first;
  sk[1] = o.skFlags;
  sk.writeUInt16BE(4 + o.inner.length, 2);
  return Buffer.concat([header, sk, o.inner]);
}
