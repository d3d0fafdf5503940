/** IKE header (RFC 7296 §3.1): 28 octets. */
import { GkmError } from '../errors.ts';
import { HeaderFlag, IKE_HEADER_LENGTH, IKE_MAJOR_VERSION } from '../registry/exchange.ts';
import type { Reader } from './reader.ts';
import type { Writer } from './writer.ts';

export interface IkeHeader {
  /** 8 bytes, non-zero. */
  readonly spiI: Buffer;
  /** 8 bytes; zero in the first IKE_SA_INIT request. */
  readonly spiR: Buffer;
  readonly exchangeType: number;
  /** Raw flags octet: I (0x08), V (0x10), R (0x20); reserved bits kept as received. */
  readonly flags: number;
  readonly messageId: number;
  /** Minor version as received (RFC 7296 §3.1: sent as 0, ignored on receipt). */
  readonly minorVersion?: number;
}

export interface DecodedHeader extends IkeHeader {
  readonly nextPayload: number;
  readonly minorVersion: number;
  readonly length: number;
}

export function decodeHeader(r: Reader): DecodedHeader {
  const spiI = r.bytes(8, 'spiI');
  const spiR = r.bytes(8, 'spiR');
  const nextPayload = r.u8('nextPayload');
  const version = r.u8('version');
  const major = version >> 4;
  if (major !== IKE_MAJOR_VERSION) {
    // RFC 7296 §2.5: a higher major version is answered with INVALID_MAJOR_VERSION.
    throw new GkmError('GKM_WIRE_INVALID_MAJOR_VERSION', {
      field: `${r.path}.version`,
      detail: `major version ${major}`,
      notifyData: Buffer.from([IKE_MAJOR_VERSION << 4]),
    });
  }
  const exchangeType = r.u8('exchangeType');
  const flags = r.u8('flags');
  const messageId = r.u32('messageId');
  const length = r.u32('length');
  if (length < IKE_HEADER_LENGTH) r.fail('GKM_WIRE_BAD_LENGTH', 'length', `${length} < header size`);
  return { spiI, spiR, nextPayload, minorVersion: version & 0x0f, exchangeType, flags, messageId, length };
}

/** Writes the header; the length is a placeholder the caller patches (returns its offset). */
export function encodeHeader(w: Writer, h: IkeHeader, nextPayload: number): number {
  if (h.spiI.length !== 8) throw new GkmError('GKM_WIRE_ENCODE', { field: 'header.spiI', detail: 'must be 8 bytes' });
  if (h.spiR.length !== 8) throw new GkmError('GKM_WIRE_ENCODE', { field: 'header.spiR', detail: 'must be 8 bytes' });
  w.bytes(h.spiI).bytes(h.spiR).u8(nextPayload, 'header.nextPayload');
  w.u8((IKE_MAJOR_VERSION << 4) | ((h.minorVersion ?? 0) & 0x0f));
  w.u8(h.exchangeType, 'header.exchangeType').u8(h.flags, 'header.flags').u32(h.messageId, 'header.messageId');
  return w.reserveU32();
}

export const isResponse = (h: Pick<IkeHeader, 'flags'>): boolean => (h.flags & HeaderFlag.RESPONSE) !== 0;
export const isFromOriginalInitiator = (h: Pick<IkeHeader, 'flags'>): boolean => (h.flags & HeaderFlag.INITIATOR) !== 0;
