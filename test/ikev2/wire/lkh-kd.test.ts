/**
 * RFC 9838 Appendix A (digest §7) LKH examples expressed as KD payloads: the key trees'
 * wrapped keys round-trip through the codec and the typed views, and members resolve
 * (or, once removed, fail to resolve) the Rekey SA keys with real KW_5649_256 wrapping.
 *
 * Tree: root SA; level 1: 1, 2; level 2: 3, 4 (under 1), 5, 6 (under 2); leaves A=7 … H=14.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { getKeyWrap } from '../../../src/ikev2/crypto/keywrap.ts';
import { ProtocolId } from '../../../src/ikev2/registry/misc.ts';
import { PayloadType } from '../../../src/ikev2/registry/payload.ts';
import { KwaId } from '../../../src/ikev2/registry/transform.ts';
import {
  buildGroupKeyBag,
  buildMemberKeyBag,
  parseGroupKeyBag,
  parseMemberKeyBag,
  type GroupExchangeContext,
  type WrappedKey,
} from '../../../src/ikev2/wire/group-attributes.ts';
import { groupSaKeyMaterialLength } from '../../../src/ikev2/wire/group-policy.ts';
import { decodePayloadChain, encodeChain } from '../../../src/ikev2/wire/payload.ts';
import { isGroupKeyBag, isMemberKeyBag, type KdPayload } from '../../../src/ikev2/wire/payloads/kd.ts';
import { KEK_POLICY } from './group-fixtures.ts';

const kw = getKeyWrap(KwaId.KW_5649_256);
/** Deterministic test keys: node keys (32 octets) and Rekey SA keying material (GCM-256 + KW_5649_256). */
const key = (label: string | number, length = 32): Buffer => createHash('shake256', { outputLength: length }).update(`lkh-${label}`).digest();
const SA_KEYMAT_LENGTH = groupSaKeyMaterialLength(KEK_POLICY); // 36 + 32
const kSa = (n: number) => key(`sa${n}`, SA_KEYMAT_LENGTH);
/** GSK_w of the channel the KD arrives on (the GM's IKE SA at registration, the current Rekey SA in GSA_REKEY). */
const GSK_W = key('gsk_w');

/** `kwk{Y}`: Y wrapped under node key `kwkId` (0 = GSK_w), recorded as (keyId, kwkId). */
const wrap = (keyId: number, kwkId: number, plaintext: Buffer): WrappedKey => ({
  keyId,
  kwkId,
  encryptedKey: kw.wrap(kwkId === 0 ? GSK_W : key(kwkId), plaintext),
});

/** KD(GP(SA)(saKeys…), MP(wrapKeys…)) through the wire and back, parsed for `context`. */
function sendKd(context: GroupExchangeContext, saKeys: WrappedKey[], wrapKeys: WrappedKey[]) {
  const kd: KdPayload = {
    type: PayloadType.KD,
    bags: [buildGroupKeyBag(ProtocolId.GIKE_UPDATE, KEK_POLICY.spi, { saKeys }, context), ...(wrapKeys.length ? [buildMemberKeyBag({ wrapKeys, senderIds: [] }, context)] : [])],
  };
  const { first, bytes } = encodeChain([kd]);
  const back = decodePayloadChain(first, bytes).payloads[0] as KdPayload;
  assert.deepEqual(back, kd);
  const group = back.bags.find(isGroupKeyBag)!;
  const member = back.bags.find(isMemberKeyBag);
  return {
    saKeys: parseGroupKeyBag(group, context).saKeys,
    wrapKeys: member ? parseMemberKeyBag(member, context).wrapKeys : [],
  };
}

/**
 * A member holding node keys `held` (its Working Key Path, keyed by ID) tries every SA_KEY:
 * resolve its KWK from `held` or recursively from the received WRAP_KEYs (RFC 9838 §3.3).
 */
function resolveSaKey(held: ReadonlyMap<number, Buffer>, saKeys: readonly WrappedKey[], wrapKeys: readonly WrappedKey[]): Buffer | null {
  const resolveKwk = (kwkId: number, depth: number): Buffer | null => {
    const known = held.get(kwkId);
    if (known) return known;
    if (depth > wrapKeys.length) return null;
    for (const w of wrapKeys.filter((w) => w.keyId === kwkId)) {
      const under = resolveKwk(w.kwkId, depth + 1);
      if (under) return kw.unwrap(under, w.encryptedKey);
    }
    return null;
  };
  for (const s of saKeys) {
    const k = resolveKwk(s.kwkId, 0);
    if (k) return kw.unwrap(k, s.encryptedKey);
  }
  return null;
}

const holding = (...ids: number[]) => new Map<number, Buffer>([[0, GSK_W], ...ids.map((id): [number, Buffer] => [id, key(id)])]);

test('A joins: KD(GP(SA1)(1{K_sa1}), MP(3{1}, 7{3}, GSK_w{7})) at registration', () => {
  const { saKeys, wrapKeys } = sendKd('registration', [wrap(0, 1, kSa(1))], [wrap(1, 3, key(1)), wrap(3, 7, key(3)), wrap(7, 0, key(7))]);
  assert.deepEqual(
    saKeys.map((k) => [k.keyId, k.kwkId]),
    [[0, 1]],
  );
  assert.deepEqual(
    wrapKeys.map((k) => [k.keyId, k.kwkId]),
    [[1, 3], [3, 7], [7, 0]],
  );
  // A knows only GSK_w of its IKE SA and recovers its path keys and the Rekey SA keys.
  const sa = resolveSaKey(holding(), saKeys, wrapKeys);
  assert.deepEqual(sa, kSa(1));
  assert.equal(sa?.length, 68);
});

test('simple rekey: KD(GP(SA2)(GSK_w{K_sa2})) in GSA_REKEY', () => {
  const { saKeys, wrapKeys } = sendKd('rekey', [wrap(0, 0, kSa(2))], []);
  assert.deepEqual(resolveSaKey(holding(3, 7), saKeys, wrapKeys), kSa(2));
});

test('removing F (12): KD(GP(SA3)(1{K_sa3}, 15{K_sa3}), MP(6{15}, 16{15}, 11{16})) in GSA_REKEY', () => {
  const { saKeys, wrapKeys } = sendKd('rekey', [wrap(0, 1, kSa(3)), wrap(0, 15, kSa(3))], [wrap(15, 6, key(15)), wrap(15, 16, key(15)), wrap(16, 11, key(16))]);
  assert.deepEqual(
    wrapKeys.map((k) => [k.keyId, k.kwkId]),
    [[15, 6], [15, 16], [16, 11]],
  );
  // Working Key Paths before the removal (without GSK_w of the old Rekey SA, which F also holds).
  const members: Record<string, number[]> = { A: [1, 3, 7], D: [1, 4, 10], E: [2, 5, 11], G: [2, 6, 13], H: [2, 6, 14] };
  for (const [gm, wkp] of Object.entries(members)) {
    assert.deepEqual(resolveSaKey(new Map(wkp.map((id) => [id, key(id)])), saKeys, wrapKeys), kSa(3), gm);
  }
  assert.equal(resolveSaKey(new Map([2, 5, 12].map((id) => [id, key(id)])), saKeys, wrapKeys), null, 'F is excluded');
});

test('several SA_KEYs are refused outside GSA_REKEY', () => {
  assert.throws(() => sendKd('registration', [wrap(0, 1, kSa(3)), wrap(0, 15, kSa(3))], []), (e) => (e as { code?: string }).code === 'GKM_WIRE_ENCODE');
});
