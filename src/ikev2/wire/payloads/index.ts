/**
 * The table of payload codecs and the union of known payloads.
 * Add a payload: one file in this folder, one line in each list below.
 */
import type { PayloadCodec } from '../payload.ts';
import { authCodec, type AuthPayload } from './auth.ts';
import { deleteCodec, type DeletePayload } from './delete.ts';
import { skCodec, skfCodec, type SkfPayload, type SkPayload } from './encrypted.ts';
import { idgCodec, idiCodec, idrCodec, type IdgPayload, type IdiPayload, type IdrPayload } from './id.ts';
import { keCodec, type KePayload } from './ke.ts';
import { nonceCodec, type NoncePayload } from './nonce.ts';
import { notifyCodec, type NotifyPayload } from './notify.ts';
import { eapCodec, vendorIdCodec, type EapPayload, type VendorIdPayload } from './opaque.ts';

export type KnownPayload =
  | KePayload
  | IdiPayload
  | IdrPayload
  | IdgPayload
  | AuthPayload
  | NoncePayload
  | NotifyPayload
  | DeletePayload
  | VendorIdPayload
  | EapPayload
  | SkPayload
  | SkfPayload;

const codecs: PayloadCodec<KnownPayload>[] = [
  keCodec,
  idiCodec,
  idrCodec,
  idgCodec,
  authCodec,
  nonceCodec,
  notifyCodec,
  deleteCodec,
  vendorIdCodec,
  eapCodec,
  skCodec,
  skfCodec,
] as PayloadCodec<KnownPayload>[];

export const payloadCodecs: ReadonlyMap<number, PayloadCodec<KnownPayload>> = new Map(codecs.map((c) => [c.type, c]));

export type { AuthPayload, DeletePayload, EapPayload, IdgPayload, IdiPayload, IdrPayload, KePayload, NoncePayload, NotifyPayload, SkfPayload, SkPayload, VendorIdPayload };
export type { IdPayload } from './id.ts';
export { notify } from './notify.ts';
export { MAX_FRAGMENTS } from './encrypted.ts';
export { NONCE_MAX, NONCE_MIN } from './nonce.ts';
