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
import { saCodec, type SaPayload } from './sa.ts';
import { tsiCodec, tsrCodec, type TsiPayload, type TsrPayload } from './ts.ts';
import { certCodec, certReqCodec, type CertPayload, type CertReqPayload } from './cert.ts';
import { cpCodec, type CpPayload } from './cp.ts';
import { gsaCodec, type GsaPayload } from './gsa.ts';
import { kdCodec, type KdPayload } from './kd.ts';

export type KnownPayload =
  | SaPayload
  | TsiPayload
  | TsrPayload
  | CertPayload
  | CertReqPayload
  | CpPayload
  | KePayload
  | IdiPayload
  | IdrPayload
  | IdgPayload
  | GsaPayload
  | KdPayload
  | AuthPayload
  | NoncePayload
  | NotifyPayload
  | DeletePayload
  | VendorIdPayload
  | EapPayload
  | SkPayload
  | SkfPayload;

const codecs: PayloadCodec<KnownPayload>[] = [
  saCodec,
  tsiCodec,
  tsrCodec,
  certCodec,
  certReqCodec,
  cpCodec,
  keCodec,
  idiCodec,
  idrCodec,
  idgCodec,
  gsaCodec,
  kdCodec,
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
export type { CertPayload, CertReqPayload, CpPayload, SaPayload, TsiPayload, TsrPayload };
export type { Proposal } from './sa.ts';
export type { TsPayload } from './ts.ts';
export type { CpAttribute } from './cp.ts';
export { CpAttrType } from './cp.ts';
export { CA_HASH_SIZE, caHashesOf, certReqPayload } from './cert.ts';
export { buildProposal, chosenTransform, keyLengthAttr, keyLengthOf, transformsOfType, type EncrChoice, type ProposalSpec } from './proposal.ts';
export { checkNotifyData, natDetectionHash, notifyDataCodec, NotifyData, optimizedRekeyCodecs, COOKIE_MAX, NAT_DETECTION_HASH_SIZE, type ChildSaRef, type IpcompSupported, type NotifyDataCodec, type OptimizedRekeyTypes } from './notify-data.ts';
export type { GsaPayload, KdPayload };
export type { GroupPolicy, GroupWidePolicy, GsaPolicy } from './gsa.ts';
export type { GroupKeyBag, KeyBag, MemberKeyBag } from './kd.ts';
export { isGroupWidePolicy, isGsaPolicy } from './gsa.ts';
export { isGroupKeyBag, isMemberKeyBag } from './kd.ts';
