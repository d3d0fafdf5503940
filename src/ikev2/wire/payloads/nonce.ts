/** Nonce payload (RFC 7296 §3.9): 16..256 octets of nonce data. */
import { PayloadType } from '../../registry/payload.ts';
import type { PayloadCodec } from '../payload.ts';

export const NONCE_MIN = 16;
export const NONCE_MAX = 256;

export interface NoncePayload {
  readonly type: typeof PayloadType.NONCE;
  readonly critical?: boolean;
  readonly nonce: Buffer;
}

export const nonceCodec: PayloadCodec<NoncePayload> = {
  type: PayloadType.NONCE,
  name: 'Nonce',
  decode(r) {
    if (r.remaining < NONCE_MIN || r.remaining > NONCE_MAX) {
      r.fail('GKM_WIRE_BAD_LENGTH', 'nonce', `${r.remaining} not in ${NONCE_MIN}..${NONCE_MAX}`);
    }
    return { type: PayloadType.NONCE, nonce: r.rest() };
  },
  encode(w, p) {
    w.bytes(p.nonce);
  },
};
