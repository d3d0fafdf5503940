/**
 * Key Download payload (KD, 52; RFC 9838 §4.5): a list of key bags. The first octet of each
 * bag tells them apart:
 *
 *   0      Member Key Bag (§4.5.3): `0 | RESERVED(1) | Length(2) | attributes` (per-GM secrets)
 *   other  Group Key Bag (§4.5.2): `Protocol(1) | SPI Size(1) | Length(2) | SPI | attributes`,
 *          keys of the group SA with that protocol and SPI
 *
 * At least one bag; at most one Member Key Bag (its attributes' "at most one" rules, e.g.
 * AUTH_KEY, are per bag, so two bags would make them meaningless). Attribute semantics and
 * the presence rules per exchange: ../group-attributes.ts.
 */
import { GkmError } from '../../errors.ts';
import { ProtocolId } from '../../registry/misc.ts';
import { PayloadType } from '../../registry/payload.ts';
import { decodeAttributes, encodeAttributes, type Attribute } from '../attributes.ts';
import type { PayloadCodec } from '../payload.ts';
import { beginGroupSubstructure, decodeGroupSubstructures, endGroupSubstructure, NO_SPI, type GroupSaProtocol } from '../sub/group-substructure.ts';

/** Keys of one group SA, matched to its GSA policy by protocol and SPI. */
export interface GroupKeyBag {
  readonly protocolId: GroupSaProtocol;
  readonly spi: Buffer;
  /** Group Key Bag attributes (SA_KEY). */
  readonly attributes: readonly Attribute[];
}

/** Keys and parameters for one member, tied to no SA. */
export interface MemberKeyBag {
  readonly protocolId: typeof ProtocolId.NONE;
  /** Member Key Bag attributes (WRAP_KEY, AUTH_KEY, GM_SENDER_ID). */
  readonly attributes: readonly Attribute[];
}

export type KeyBag = GroupKeyBag | MemberKeyBag;

export interface KdPayload {
  readonly type: typeof PayloadType.KD;
  readonly critical?: boolean;
  readonly bags: readonly KeyBag[];
}

export const isMemberKeyBag = (b: KeyBag): b is MemberKeyBag => b.protocolId === ProtocolId.NONE;
export const isGroupKeyBag = (b: KeyBag): b is GroupKeyBag => b.protocolId !== ProtocolId.NONE;

const MEMBER_BAGS_MAX = 1;

export const kdCodec: PayloadCodec<KdPayload> = {
  type: PayloadType.KD,
  name: 'KD',
  decode(r) {
    const bags = decodeGroupSubstructures<KeyBag>(r, 'bag', ({ protocolId, spi, body }) =>
      protocolId === ProtocolId.NONE
        ? { protocolId, attributes: decodeAttributes(body) }
        : { protocolId: protocolId as GroupSaProtocol, spi, attributes: decodeAttributes(body) },
    );
    if (bags.filter(isMemberKeyBag).length > MEMBER_BAGS_MAX) r.fail('GKM_WIRE_BAD_COUNT', 'bags', 'more than one Member Key Bag');
    return { type: PayloadType.KD, bags };
  },
  encode(w, p) {
    if (p.bags.length === 0) throw new GkmError('GKM_WIRE_ENCODE', { field: 'KD.bags', detail: 'at least one key bag' });
    if (p.bags.filter(isMemberKeyBag).length > MEMBER_BAGS_MAX) {
      throw new GkmError('GKM_WIRE_ENCODE', { field: 'KD.bags', detail: 'more than one Member Key Bag' });
    }
    for (let i = 0; i < p.bags.length; i++) {
      const bag = p.bags[i]!;
      const start = beginGroupSubstructure(w, bag.protocolId, isGroupKeyBag(bag) ? bag.spi : NO_SPI, 'KD.bag', i);
      encodeAttributes(w, bag.attributes);
      endGroupSubstructure(w, start, 'KD.bag', i);
    }
  },
};
