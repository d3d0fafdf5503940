/**
 * RFC 9838 Appendix A (digest §7) end to end, with real KW_5649_256 wrapping: the GCKS side
 * (GroupKeys + KeyTree) builds the KDs, eight simulated GMs run the generic key-path
 * algorithm on them after a trip through the wire codec.
 *
 * Tree (degree 2): root = Rekey SA; level 1: 1, 2; level 2: 3, 4 (under 1), 5, 6 (under 2);
 * leaves A=7 … H=14.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupKeys } from '../../../src/gcks/keys/group-keys.ts';
import { ProtocolId } from '../../../src/ikev2/registry/misc.ts';
import { parseGroupKeyBag, parseMemberKeyBag, type WrappedKey } from '../../../src/ikev2/wire/group-attributes.ts';
import { isGroupKeyBag, isMemberKeyBag, type KdPayload } from '../../../src/ikev2/wire/payloads/kd.ts';
import { gcmTemplate, ikeSa, kekTemplate, seededRandom, SimulatedGm, SPKI } from './support.ts';

const MEMBERS = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'];
const ids = (keys: readonly WrappedKey[]) => keys.map((k) => [k.keyId, k.kwkId]);
const sorted = (pairs: number[][]) => [...pairs].sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);

function records(kd: KdPayload, context: 'registration' | 'rekey') {
  const rekeyBag = kd.bags.filter(isGroupKeyBag).find((b) => b.protocolId === ProtocolId.GIKE_UPDATE)!;
  const member = kd.bags.find(isMemberKeyBag);
  return { saKeys: ids(parseGroupKeyBag(rekeyBag, context).saKeys), wrapKeys: member ? ids(parseMemberKeyBag(member, context).wrapKeys) : [] };
}

function setUp() {
  const random = seededRandom('appendix-a');
  const group = new GroupKeys({ rekeySa: kekTemplate(), dataSecurity: [gcmTemplate()], treeDegree: 2, initialMembers: MEMBERS, random });
  const gms = new Map(MEMBERS.map((m) => [m, new SimulatedGm(m, ikeSa(random))]));
  const regs = new Map(MEMBERS.map((m) => [m, group.register({ member: m, ikeSa: gms.get(m)!.ike, authKey: SPKI })]));
  for (const [m, gm] of gms) {
    const out = gm.register(regs.get(m)!);
    assert.equal(out.excluded, false, m);
    assert.deepEqual(out.rekeySa?.keymat, group.rekeySa!.keymat, m);
    assert.deepEqual(out.dataSecurity[0]?.keymat, group.dataSecurity[0]!.keymat, m);
  }
  return { group, gms, regs };
}

const wkpOf = (gms: Map<string, SimulatedGm>) => Object.fromEntries([...gms].map(([m, gm]) => [m, gm.keys.workingKeyPath.keyIds]));

test('A joins: KD(GP(SA1)(1{K_sa1}), MP(3{1}, 7{3}, GSK_w{7})), WKP 1→3→7, no rekey', () => {
  const { group, gms, regs } = setUp();
  const a = regs.get('A')!;
  assert.deepEqual(records(a.kd, 'registration'), { saKeys: [[0, 1]], wrapKeys: [[1, 3], [3, 7], [7, 0]] });
  assert.equal(a.wraps, 1 + 3 + 1, 'SA key, three path keys, one TEK');
  assert.equal(a.precedingRekey, undefined);
  assert.equal(group.tree!.hasPendingChanges, false, 'the example tree already held A: nothing to rekey');
  assert.deepEqual(wkpOf(gms), { A: [1, 3, 7], B: [1, 3, 8], C: [1, 4, 9], D: [1, 4, 10], E: [2, 5, 11], F: [2, 5, 12], G: [2, 6, 13], H: [2, 6, 14] });
});

test('simple rekey: KD(GP(SA2)(GSK_w{K_sa2})), every WKP unchanged', () => {
  const { group, gms } = setUp();
  const before = wkpOf(gms);
  const { message, retired } = group.simpleRekey({ rekeySa: true, dataSecurity: false });
  assert.deepEqual(records(message.kd, 'rekey'), { saKeys: [[0, 0]], wrapKeys: [] });
  assert.equal(message.wraps, 1);
  assert.equal(message.channel.gskW, retired.rekeySa!.gskW, 'sent under the current Rekey SA');
  for (const gm of gms.values()) {
    const out = gm.rekey(message);
    assert.equal(out.wkpChanged, false);
    assert.deepEqual(out.rekeySa?.keymat, group.rekeySa!.keymat);
  }
  assert.deepEqual(wkpOf(gms), before);
});

test('removing F: KD(GP(SA3)(1{K_sa3}, 15{K_sa3}), MP(6{15}, 16{15}, 11{16})), then new TEKs under the new KEK', () => {
  const { group, gms } = setUp();
  const sa2 = group.simpleRekey({ rekeySa: true, dataSecurity: false }).message; // SA2, as in the example
  for (const gm of gms.values()) gm.rekey(sa2);
  const oldTek = group.dataSecurity[0]!;

  assert.equal(group.evict('F'), null);
  const rekey = group.commit()!;
  const first = rekey.membership!;
  assert.deepEqual(records(first.kd, 'rekey').saKeys, [[0, 1], [0, 15]]);
  assert.deepEqual(sorted(records(first.kd, 'rekey').wrapKeys), sorted([[15, 6], [15, 16], [16, 11]]));
  assert.equal(first.wraps, 5, '(d-1) + d·(depth-1) = 1 + 2·2');
  assert.ok(first.wraps <= 2 * Math.log2(8), 'at most d·log_d n');
  assert.deepEqual(first.dataSecurity, [], 'the membership rekey carries no TEK policy (§3.2.1)');
  assert.equal(first.channel.gskW, rekey.retired.rekeySa!.gskW, 'sent under the old KEK');

  const outcomes = new Map([...gms].map(([m, gm]) => [m, gm.rekey(first)]));
  for (const [m, out] of outcomes) {
    if (m === 'F') continue;
    assert.equal(out.excluded, false, m);
    assert.deepEqual(out.rekeySa?.keymat, group.rekeySa!.keymat, m);
  }
  assert.equal(outcomes.get('F')!.excluded, true, 'F cannot resolve any path');
  assert.equal(outcomes.get('F')!.rekeySa, undefined);
  const wkp = wkpOf(gms);
  assert.deepEqual([wkp.A, wkp.B, wkp.C, wkp.D], [[1, 3, 7], [1, 3, 8], [1, 4, 9], [1, 4, 10]], 'A–D unwrap via key 1: no change');
  assert.deepEqual(wkp.E, [15, 16, 11], 'E: 15→16→11 (the draft prose says 16->15->11, a typo)');
  assert.deepEqual(wkp.G, [15, 6, 13]);
  assert.deepEqual(wkp.H, [15, 6, 14]);
  assert.equal(outcomes.get('E')!.wkpChanged, true);
  assert.equal(outcomes.get('A')!.wkpChanged, false);

  // Second GSA_REKEY: the new TEKs, under the new Rekey SA's GSK_w only.
  const second = rekey.dataSecurity!;
  assert.equal(second.channel.gskW, group.rekeySa!.gskW);
  assert.notDeepEqual(second.dataSecurity[0]!.spi, oldTek.policy.spi);
  for (const [m, gm] of gms) {
    const out = gm.rekey(second);
    if (m === 'F') {
      assert.deepEqual(out.dataSecurity, [], 'F only has the old KEK');
      assert.equal(out.failures[0]?.reason, 'unwrap-failed');
    } else {
      assert.deepEqual(out.dataSecurity[0]?.keymat, group.dataSecurity[0]!.keymat, m);
      assert.deepEqual(out.dataSecurity[0]?.fingerprint.label, `ESP SA 0x${group.dataSecurity[0]!.policy.spi.toString('hex')}`);
    }
  }
  assert.deepEqual(rekey.retired.dataSecurity, [oldTek]);
});

test('a new member after removing F: joins the vacancy under 16, gets fresh keys only, and the others follow', () => {
  const { group, gms } = setUp();
  group.evict('F');
  const firstRekey = group.commit()!;
  for (const gm of gms.values()) gm.rekey(firstRekey.membership!);
  for (const gm of gms.values()) gm.rekey(firstRekey.dataSecurity!);
  gms.delete('F');

  const random = seededRandom('joiner');
  const i = new SimulatedGm('I', ikeSa(random));
  const reg = group.register({ member: 'I', ikeSa: i.ike, authKey: SPKI });
  const out = i.register(reg);
  assert.equal(out.excluded, false);
  // I takes F's old slot under node 5 (now key 16), whose path is refreshed: 15 → 18, 16 → 19; I's leaf is 17.
  assert.deepEqual(i.keys.workingKeyPath.keyIds, [18, 19, 17]);
  assert.notDeepEqual(reg.rekeySa!.spi, group.rekeySa!.policy.spi, 'the joiner gets the batch’s new Rekey SA');
  // Backward access control: I cannot read the rekey that removed F.
  const replay = i.rekey(firstRekey.membership!);
  assert.equal(replay.excluded, true);
  assert.equal(replay.rekeySa, undefined);

  const join = group.commit()!;
  assert.equal(join.dataSecurity, null, 'a join alone keeps the TEKs');
  assert.deepEqual(records(join.membership!.kd, 'rekey').saKeys, [[0, 1], [0, 18]]);
  assert.deepEqual(sorted(records(join.membership!.kd, 'rekey').wrapKeys), sorted([[18, 6], [18, 19], [19, 11]]), 'nothing wrapped under I’s leaf');
  for (const [m, gm] of gms) {
    const r = gm.rekey(join.membership!);
    assert.equal(r.excluded, false, m);
    assert.deepEqual(r.rekeySa?.keymat, group.rekeySa!.keymat, m);
  }
  assert.deepEqual(i.keys.rekeySa?.keymat, group.rekeySa!.keymat, 'I already holds the new Rekey SA');
  assert.deepEqual(wkpOf(gms).E, [18, 19, 11]);
  assert.deepEqual(wkpOf(gms).G, [18, 6, 13]);
});
