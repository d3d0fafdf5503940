/**
 * Whole IKE messages (RFC 7296 §3.1): header + payload chain. The decoded message
 * keeps its raw bytes (AUTH signs RealMessage1/2; SK's AAD and IntAuth's A|P are
 * slices of it) and the offset of the SK/SKF payload if present.
 */
import { GkmError } from '../errors.ts';
import { IKE_HEADER_LENGTH } from '../registry/exchange.ts';
import { decodeHeader, encodeHeader, type DecodedHeader, type IkeHeader } from './header.ts';
import { decodeChain, encodePayloadChain, type Payload } from './payload.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

/** RFC 7296 §2: 64 KiB is the most a UDP datagram can hold; refuse anything larger. */
export const MAX_MESSAGE_LENGTH = 65535;

export interface IkeMessage {
  readonly header: IkeHeader;
  readonly payloads: readonly Payload[];
}

export interface DecodedMessage extends IkeMessage {
  readonly header: DecodedHeader;
  readonly payloads: Payload[];
  /** The message exactly as received (without any non-ESP marker). */
  readonly raw: Buffer;
  /** Offset of the SK/SKF generic header in `raw`, or -1 when unprotected. */
  readonly encryptedOffset: number;
}

/** Decode one IKE message; `datagram` must be exactly the message (strip the non-ESP marker first). */
export function decodeMessage(datagram: Buffer): DecodedMessage {
  if (datagram.length > MAX_MESSAGE_LENGTH) {
    throw new GkmError('GKM_WIRE_TOO_LARGE', { field: 'message', detail: `${datagram.length} bytes` });
  }
  const r = new Reader(datagram, 'message');
  const header = decodeHeader(r.sub(IKE_HEADER_LENGTH, 'header', 'header'));
  if (header.length > datagram.length) {
    throw new GkmError('GKM_WIRE_TRUNCATED', {
      field: 'header.length',
      detail: `says ${header.length}, datagram has ${datagram.length}`,
    });
  }
  if (header.length < datagram.length) {
    throw new GkmError('GKM_WIRE_TRAILING_BYTES', {
      field: 'header.length',
      detail: `says ${header.length}, datagram has ${datagram.length}`,
    });
  }
  const chain = decodeChain(header.nextPayload, r.sub(r.remaining, 'payloads', 'payloads'));
  return {
    header,
    payloads: chain.payloads,
    raw: datagram,
    encryptedOffset: chain.encryptedOffset < 0 ? -1 : IKE_HEADER_LENGTH + chain.encryptedOffset,
  };
}

export interface EncodedMessage {
  readonly raw: Buffer;
  /** Offset of the SK/SKF generic header in `raw`, or -1. */
  readonly encryptedOffset: number;
}

/** Encode a message whose payloads are final (an SK/SKF payload carries its finished body). */
export function encodeMessageParts(msg: IkeMessage): EncodedMessage {
  const w = new Writer(512);
  const nextAt = 16; // Next Payload octet of the header
  const lenAt = encodeHeader(w, msg.header, 0);
  const chain = encodePayloadChain(w, msg.payloads);
  w.patchU8(nextAt, chain.first, 'header.nextPayload');
  w.patchU32(lenAt, w.length, 'header.length');
  if (w.length > MAX_MESSAGE_LENGTH) {
    throw new GkmError('GKM_WIRE_ENCODE', { field: 'message', detail: `${w.length} bytes exceeds ${MAX_MESSAGE_LENGTH}` });
  }
  const raw = w.finish();
  return { raw, encryptedOffset: chain.encryptedOffset < 0 ? -1 : IKE_HEADER_LENGTH + chain.encryptedOffset };
}

export function encodeMessage(msg: IkeMessage): Buffer {
  return encodeMessageParts(msg).raw;
}

/** Non-ESP marker (RFC 3948 §2.2): 4 zero octets before IKE messages on port 4500. */
export const NON_ESP_MARKER = Buffer.alloc(4);

/**
 * Classify a datagram received on a NAT-T port: an IKE message after the marker,
 * a NAT keepalive (single 0xFF), or ESP (non-zero SPI).
 */
export function classifyNatTDatagram(d: Buffer): 'ike' | 'keepalive' | 'esp' | 'invalid' {
  if (d.length === 1 && d[0] === 0xff) return 'keepalive';
  if (d.length < 4) return 'invalid';
  if (d.readUInt32BE(0) === 0) return d.length >= 4 + IKE_HEADER_LENGTH ? 'ike' : 'invalid';
  return d.length >= 8 ? 'esp' : 'invalid';
}
