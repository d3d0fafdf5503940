/** Payloads whose whole body is opaque bytes: Vendor ID (RFC 7296 §3.12), EAP (§3.16). */
import { PayloadType } from '../../registry/payload.ts';
import type { PayloadCodec } from '../payload.ts';

type OpaqueType = typeof PayloadType.VENDOR_ID | typeof PayloadType.EAP;

export interface OpaquePayload<T extends OpaqueType> {
  readonly type: T;
  readonly critical?: boolean;
  readonly data: Buffer;
}
export type VendorIdPayload = OpaquePayload<typeof PayloadType.VENDOR_ID>;
export type EapPayload = OpaquePayload<typeof PayloadType.EAP>;

function opaqueCodec<T extends OpaqueType>(type: T, name: string, minLength: number): PayloadCodec<OpaquePayload<T>> {
  return {
    type,
    name,
    decode(r) {
      if (r.remaining < minLength) r.fail('GKM_WIRE_BAD_LENGTH', 'data', `${r.remaining} < ${minLength}`);
      return { type, data: r.rest() };
    },
    encode(w, p) {
      w.bytes(p.data);
    },
  };
}

export const vendorIdCodec = opaqueCodec(PayloadType.VENDOR_ID, 'V', 1);
/** EAP message header is Code(1) Identifier(1) Length(2) (RFC 3748); EAP itself is out of scope. */
export const eapCodec = opaqueCodec(PayloadType.EAP, 'EAP', 4);
