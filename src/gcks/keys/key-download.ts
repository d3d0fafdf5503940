/**
 * Building KD payloads (RFC 9838 §4.5) on the GCKS: every key is wrapped (§4.5.4) with the
 * KWA of the SA the KD travels over, and the bags go through the group-attributes builders,
 * so the RFC 9838 §5 presence rules of the exchange are enforced on the way out.
 *
 *   channel                        KWA                        KWK ID 0 (GSK_w)
 *   GSA_AUTH / GSA_REGISTRATION    negotiated in IKE_SA_INIT  prf+(SK_d, "Key Wrap for G-IKEv2")
 *   GSA_INBAND_REKEY               (same IKE SA)              (same; new after an IKE SA rekey)
 *   GSA_REKEY                      KWA of the Rekey SA policy GSK_w of the current Rekey SA
 *
 * Group Key Bags: a Data-Security SA's SA_KEY is always Key ID = KWK ID = 0 (§4.5.2.1); the
 * Rekey SA's SA_KEY is wrapped under one or more KWKs (one per root child of a key tree, or
 * GSK_w). The Member Key Bag carries WRAP_KEYs, AUTH_KEY and GM_SENDER_IDs.
 */
import { getKeyWrap } from '../../ikev2/crypto/keywrap.ts';
import { GkmError } from '../../ikev2/errors.ts';
import { ProtocolId } from '../../ikev2/registry/misc.ts';
import { PayloadType } from '../../ikev2/registry/payload.ts';
import { buildGroupKeyBag, buildMemberKeyBag, type GroupExchangeContext, type WrappedKey } from '../../ikev2/wire/group-attributes.ts';
import type { GsaPolicy } from '../../ikev2/wire/payloads/gsa.ts';
import type { KdPayload, KeyBag } from '../../ikev2/wire/payloads/kd.ts';
import type { WrapCache } from './wrap-cache.ts';

/** The SA a KD travels over (RFC 9838 §3.1). */
export interface KeyChannel {
  /** Column of the RFC §5 presence table. */
  readonly context: GroupExchangeContext;
  readonly kwaId: number;
  /** Default KWK of that SA. */
  readonly gskW: Buffer;
}

/** A key-wrap key the receivers hold. Key ID 0 is GSK_w of the channel (no `key` needed). */
export interface Kwk {
  readonly keyId: number;
  readonly key?: Buffer;
}

export const GSK_W: Kwk = { keyId: 0 };

/** One WRAP_KEY to send: `key`, named `keyId`, wrapped under `under`. */
export interface WrapInstruction {
  readonly keyId: number;
  readonly key: Buffer;
  readonly under: Kwk;
  /** `under` is the receiving member's own leaf key: no other KD has this wrap (not cached). */
  readonly personal?: boolean;
}

/** A key-tree path from the key just under the root down to the member's leaf (RFC 9838 App. A). */
export type KeyPath = readonly { readonly keyId: number; readonly key: Buffer }[];

/** SA keys travel with their SA's protocol and SPI (the GM matches bags to policies by SPI). */
export interface SaKeysToSend {
  readonly policy: Pick<GsaPolicy, 'protocolId' | 'spi'>;
  readonly keymat: Buffer;
}

export interface KeyDownloadContent {
  /** The Rekey SA's keys, under each of `under` (default: GSK_w of the channel). */
  readonly rekeySa?: SaKeysToSend & { readonly under?: readonly Kwk[] };
  /** Data-Security SAs, each wrapped (0, 0). */
  readonly dataSecurity?: readonly SaKeysToSend[];
  readonly member?: {
    readonly wrapKeys?: readonly WrapInstruction[];
    /** DER SubjectPublicKeyInfo of the GCKS's rekey signing key. */
    readonly authKey?: Buffer;
    readonly senderIds?: readonly number[];
  };
}

export interface BuiltKeyDownload {
  readonly kd: KdPayload;
  /** Key wrap operations performed (the cost figure of RFC 9838 App. A). */
  readonly wraps: number;
}

/**
 * How a member reaches the Rekey SA keys through its key-tree path, as registration sends
 * it (App. A "A joins": KD(GP(SA)(1{K_sa}), MP(3{1}, 7{3}, GSK_w{7}))): the SA key under the
 * top key, each path key under the next one down, the leaf under GSK_w. An empty path means
 * "directly under GSK_w".
 */
export function pathWraps(path: KeyPath): { readonly rekeySaUnder: readonly Kwk[]; readonly wrapKeys: readonly WrapInstruction[] } {
  const top = path[0];
  if (!top) return { rekeySaUnder: [GSK_W], wrapKeys: [] };
  const leaf = path.length - 1;
  const wrapKeys = path.map((k, i): WrapInstruction => (i === leaf ? { keyId: k.keyId, key: k.key, under: GSK_W } : { keyId: k.keyId, key: k.key, under: path[i + 1]!, personal: i + 1 === leaf }));
  return { rekeySaUnder: [top], wrapKeys };
}

/**
 * `cache` (optional) serves wraps under tree KWKs (KWK ID > 0, not `personal`) that other
 * members' KDs had already (src/gcks/keys/wrap-cache.ts); `wraps` still counts them (App. A's
 * figure).
 */
export function buildKeyDownload(channel: KeyChannel, content: KeyDownloadContent, cache?: WrapCache): BuiltKeyDownload {
  const kw = getKeyWrap(channel.kwaId);
  let wraps = 0;
  const wrap = (keyId: number, plaintext: Buffer, under: Kwk, personal = false): WrappedKey => {
    const kek = under.keyId === 0 ? channel.gskW : under.key;
    if (!kek) throw new GkmError('GKM_KEYS_BAD_INPUT', { field: `KWK ${under.keyId}`, detail: 'no key' });
    if (kek.length !== kw.keyLength) {
      throw new GkmError('GKM_KEYS_KWA_MISMATCH', { field: `KWK ${under.keyId}`, detail: `${kek.length}-octet KWK, ${kw.name} needs ${kw.keyLength}` });
    }
    wraps++;
    const encryptedKey = cache && under.keyId !== 0 && !personal ? cache.wrap(keyId, plaintext, under.keyId, kek, () => kw.wrap(kek, plaintext)) : kw.wrap(kek, plaintext);
    return { keyId, kwkId: under.keyId, encryptedKey };
  };

  const bags: KeyBag[] = [];
  const { rekeySa, dataSecurity = [], member } = content;
  if (rekeySa) {
    const saKeys = (rekeySa.under ?? [GSK_W]).map((u) => wrap(0, rekeySa.keymat, u));
    bags.push(buildGroupKeyBag(ProtocolId.GIKE_UPDATE, rekeySa.policy.spi, { saKeys }, channel.context));
  }
  for (const sa of dataSecurity) {
    if (sa.policy.protocolId === ProtocolId.GIKE_UPDATE) throw new GkmError('GKM_KEYS_BAD_INPUT', { field: 'dataSecurity', detail: 'Rekey SA' });
    bags.push(buildGroupKeyBag(sa.policy.protocolId, sa.policy.spi, { saKeys: [wrap(0, sa.keymat, GSK_W)] }, channel.context));
  }
  const wrapKeys = (member?.wrapKeys ?? []).map((w) => wrap(w.keyId, w.key, w.under, w.personal));
  const senderIds = member?.senderIds ?? [];
  if (wrapKeys.length > 0 || member?.authKey || senderIds.length > 0) {
    bags.push(buildMemberKeyBag({ wrapKeys, senderIds, ...(member?.authKey ? { authKey: member.authKey } : {}) }, channel.context));
  }
  if (bags.length === 0) throw new GkmError('GKM_KEYS_BAD_INPUT', { field: 'KD', detail: 'nothing to send' });
  return { kd: { type: PayloadType.KD, bags }, wraps };
}
