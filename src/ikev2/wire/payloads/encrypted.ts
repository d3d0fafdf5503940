/**
 * Encrypted payloads, kept opaque at the wire layer (decryption is crypto/sk.ts):
 * SK (RFC 7296 §3.14): IV | ciphertext | ICV;
 * SKF (RFC 7383 §2.5): Fragment Number(2) | Total Fragments(2) | IV | ciphertext | ICV.
 * Their generic header's Next Payload is the first inner payload's type (0 on SKF 2..n).
 */
import { PayloadType } from '../../registry/payload.ts';
import type { PayloadCodec } from '../payload.ts';

export interface SkPayload {
  readonly type: typeof PayloadType.SK;
  readonly critical?: boolean;
  readonly innerFirstPayload: number;
  /** IV | ciphertext | ICV. */
  readonly body: Buffer;
}

export interface SkfPayload {
  readonly type: typeof PayloadType.SKF;
  readonly critical?: boolean;
  readonly innerFirstPayload: number;
  readonly fragmentNumber: number;
  readonly totalFragments: number;
  readonly body: Buffer;
}

/** RFC 7383 §2.5: fragment numbers start at 1 and never exceed the total. */
export const MAX_FRAGMENTS = 255;

export const skCodec: PayloadCodec<SkPayload> = {
  type: PayloadType.SK,
  name: 'SK',
  decode(r) {
    if (r.remaining === 0) r.fail('GKM_WIRE_BAD_LENGTH', 'body', 'empty encrypted payload');
    // innerFirstPayload is filled in by the chain decoder from the generic header.
    return { type: PayloadType.SK, innerFirstPayload: 0, body: r.rest() };
  },
  encode(w, p) {
    w.bytes(p.body);
  },
};

export const skfCodec: PayloadCodec<SkfPayload> = {
  type: PayloadType.SKF,
  name: 'SKF',
  decode(r) {
    const fragmentNumber = r.u16('fragmentNumber');
    const totalFragments = r.u16('totalFragments');
    if (totalFragments === 0 || totalFragments > MAX_FRAGMENTS) {
      r.fail('GKM_WIRE_BAD_VALUE', 'totalFragments', `${totalFragments}`);
    }
    if (fragmentNumber === 0 || fragmentNumber > totalFragments) {
      r.fail('GKM_WIRE_BAD_VALUE', 'fragmentNumber', `${fragmentNumber} of ${totalFragments}`);
    }
    if (r.remaining === 0) r.fail('GKM_WIRE_BAD_LENGTH', 'body', 'empty encrypted fragment');
    return { type: PayloadType.SKF, innerFirstPayload: 0, fragmentNumber, totalFragments, body: r.rest() };
  },
  encode(w, p) {
    w.u16(p.fragmentNumber, 'SKF.fragmentNumber').u16(p.totalFragments, 'SKF.totalFragments').bytes(p.body);
  },
};
