/** ESP trailer: Padding | Pad Length | Next Header (RFC 4303 §2.4-§2.6). */
import { GkmError } from '../../ikev2/errors.ts';

/** Next Header 59: no next header, a dummy packet to be discarded (RFC 4303 §2.6). */
export const NH_DUMMY = 59;

/** The default padding bytes 1, 2, 3, ... (RFC 4303 §2.4). */
const PAD = Buffer.from(Array.from({ length: 255 }, (_, i) => i + 1));

/** Pad length so that `bodyLength` (payload + TFC + 2) fills the alignment. */
export function padLength(bodyLength: number, align: number): number {
  const r = bodyLength % align;
  return r === 0 ? 0 : align - r;
}

/** Writes padding, pad length and next header at `offset`; returns the end offset. */
export function writeTrailer(pkt: Buffer, offset: number, pad: number, nextHeader: number): number {
  PAD.copy(pkt, offset, 0, pad);
  pkt[offset + pad] = pad;
  pkt[offset + pad + 1] = nextHeader;
  return offset + pad + 2;
}

/**
 * Checks the trailer of a decrypted `Payload | Padding | PadLength | NH` and returns the
 * payload length. The padding must be 1, 2, 3, ... (RFC 4303 §2.4: the receiver SHOULD check).
 */
export function checkTrailer(pt: Buffer): number {
  const n = pt.length;
  if (n < 2) throw new GkmError('GKM_ESP_BAD_PADDING', { field: 'esp.trailer', detail: 'no trailer' });
  const pad = pt[n - 2]!;
  const payloadLength = n - 2 - pad;
  if (payloadLength < 0) {
    throw new GkmError('GKM_ESP_BAD_PADDING', { field: 'esp.padLength', detail: `${pad} exceeds the plaintext` });
  }
  for (let i = 0; i < pad; i++) {
    if (pt[payloadLength + i] !== i + 1) {
      throw new GkmError('GKM_ESP_BAD_PADDING', { field: 'esp.padding', detail: `byte ${i + 1}` });
    }
  }
  return payloadLength;
}
