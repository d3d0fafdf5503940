/** Authentication payload (RFC 7296 §3.8): Auth Method(1) | RESERVED(3) | data. */
import { PayloadType } from '../../registry/payload.ts';
import type { PayloadCodec } from '../payload.ts';

export interface AuthPayload {
  readonly type: typeof PayloadType.AUTH;
  readonly critical?: boolean;
  readonly method: number;
  readonly data: Buffer;
}

export const authCodec: PayloadCodec<AuthPayload> = {
  type: PayloadType.AUTH,
  name: 'AUTH',
  decode(r) {
    const method = r.u8('method');
    r.skip(3, 'reserved');
    if (r.remaining === 0) r.fail('GKM_WIRE_BAD_LENGTH', 'data', 'empty authentication data');
    return { type: PayloadType.AUTH, method, data: r.rest() };
  },
  encode(w, p) {
    w.u8(p.method, 'AUTH.method').zeros(3).bytes(p.data);
  },
};
