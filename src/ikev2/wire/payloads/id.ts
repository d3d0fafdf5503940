/**
 * Identification payloads (RFC 7296 §3.5): ID Type(1) | RESERVED(3) | data.
 * The same layout serves IDi (35), IDr (36) and G-IKEv2's IDg (50, RFC 9838 §4.2).
 */
import { IdType } from '../../registry/misc.ts';
import { PayloadType } from '../../registry/payload.ts';
import type { PayloadCodec } from '../payload.ts';

type IdPayloadType = typeof PayloadType.IDi | typeof PayloadType.IDr | typeof PayloadType.IDg;

export interface IdPayload<T extends IdPayloadType = IdPayloadType> {
  readonly type: T;
  readonly critical?: boolean;
  readonly idType: number;
  readonly data: Buffer;
}

/** Fixed data sizes for address identities. */
const FIXED_SIZE: Record<number, number> = { [IdType.ID_IPV4_ADDR]: 4, [IdType.ID_IPV6_ADDR]: 16 };

function idCodec<T extends IdPayloadType>(type: T, name: string): PayloadCodec<IdPayload<T>> {
  return {
    type,
    name,
    decode(r) {
      const idType = r.u8('idType');
      r.skip(3, 'reserved');
      const data = r.rest();
      const fixed = FIXED_SIZE[idType];
      if (fixed !== undefined && data.length !== fixed) r.fail('GKM_WIRE_BAD_LENGTH', 'data', `${data.length} != ${fixed}`);
      if (idType !== IdType.ID_NULL && data.length === 0) r.fail('GKM_WIRE_BAD_LENGTH', 'data', 'empty identity');
      return { type, idType, data };
    },
    encode(w, p) {
      w.u8(p.idType, `${name}.idType`).zeros(3).bytes(p.data);
    },
  };
}

export type IdiPayload = IdPayload<typeof PayloadType.IDi>;
export type IdrPayload = IdPayload<typeof PayloadType.IDr>;
export type IdgPayload = IdPayload<typeof PayloadType.IDg>;

export const idiCodec = idCodec(PayloadType.IDi, 'IDi');
export const idrCodec = idCodec(PayloadType.IDr, 'IDr');
export const idgCodec = idCodec(PayloadType.IDg, 'IDg');
