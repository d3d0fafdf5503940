/** Key Exchange payload (RFC 7296 §3.4): KE Method(2) | RESERVED(2) | data. */
import { PayloadType } from '../../registry/payload.ts';
import type { PayloadCodec } from '../payload.ts';

export interface KePayload {
  readonly type: typeof PayloadType.KE;
  readonly critical?: boolean;
  /** Key Exchange Method (transform type 4 ID space). */
  readonly method: number;
  readonly data: Buffer;
}

export const keCodec: PayloadCodec<KePayload> = {
  type: PayloadType.KE,
  name: 'KE',
  decode(r) {
    const method = r.u16('method');
    r.skip(2, 'reserved');
    if (r.remaining === 0) r.fail('GKM_WIRE_BAD_LENGTH', 'data', 'empty key exchange data');
    return { type: PayloadType.KE, method, data: r.rest() };
  },
  encode(w, p) {
    w.u16(p.method, 'KE.method').u16(0).bytes(p.data);
  },
};
