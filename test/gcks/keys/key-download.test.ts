/**
 * SA keys and KD building on the GCKS for each exchange (RFC 9838 §3.4, §3.5, §4.5, §5):
 * the KDs pass the group-attributes parsers of their context, and a GM recovers the keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDataSecuritySa, createRekeySa, keyWrapStrengthProblem } from '../../../src/gcks/keys/group-sa-keys.ts';
import { GroupKeys } from '../../../src/gcks/keys/group-keys.ts';
import { buildKeyDownload, GSK_W, pathWraps } from '../../../src/gcks/keys/key-download.ts';
import { SenderIdAllocator } from '../../../src/gcks/keys/sender-ids.ts';
import { SpiAllocator } from '../../../src/gcks/keys/spi-allocator.ts';
import { isGkmError, type ErrorCode } from '../../../src/ikev2/errors.ts';
import { ProtocolId } from '../../../src/ikev2/registry/misc.ts';
import { NotifyType } from '../../../src/ikev2/registry/notify.ts';
import { GcauthId, KwaId } from '../../../src/ikev2/registry/transform.ts';
import { parseGroupKeyBag, parseGroupWidePolicy, parseGsaPolicyAttributes, parseMemberKeyBag, type GroupExchangeContext } from '../../../src/ikev2/wire/group-attributes.ts';
import { checkAuthKeyPresence, checkSenderIdGrant } from '../../../src/ikev2/wire/group-policy.ts';
import { isGroupWidePolicy, type GsaPolicy } from '../../../src/ikev2/wire/payloads/gsa.ts';
import { isGroupKeyBag, isMemberKeyBag, type KdPayload } from '../../../src/ikev2/wire/payloads/kd.ts';
import { cbcTemplate, gcmTemplate, gsaFor, ikeSa, kekTemplate, overTheWire, seededRandom, SimulatedGm, SPKI } from './support.ts';

const code = (c: ErrorCode) => (e: unknown) => isGkmError(e, c);

/** Parse every bag of a KD in `context`, as a receiver does. */
function parseKd(kd: KdPayload, context: GroupExchangeContext) {
  const back = overTheWire(kd);
  return {
    groups: back.bags.filter(isGroupKeyBag).map((b) => ({ protocolId: b.protocolId, ...parseGroupKeyBag(b, context) })),
    member: back.bags.filter(isMemberKeyBag).map((b) => parseMemberKeyBag(b, context))[0],
  };
}

test('TEK keying material: exact length per transform, a distinct key per SA, SPIs attached', () => {
  const random = seededRandom('teks');
  const spis = new SpiAllocator({ random });
  const [a, b, c] = [createDataSecuritySa(gcmTemplate(1), spis, { random: random }), createDataSecuritySa(gcmTemplate(2), spis, { random: random }), createDataSecuritySa(cbcTemplate(), spis, { random: random })];
  assert.deepEqual([a.keymat.length, b.keymat.length, c.keymat.length], [36, 36, 16 + 32]);
  assert.notDeepEqual(a.keymat, b.keymat, 'counter modes need a key per SA');
  assert.notDeepEqual(a.policy.spi, b.policy.spi);
  assert.ok(a.policy.spi.readUInt32BE(0) >= 256);
  assert.throws(() => createDataSecuritySa(kekTemplate(), spis, { random: random }), code('GKM_KEYS_BAD_INPUT'));
});

test('Rekey SA keying material: GSK_e | GSK_a | GSK_w sized by ENCR, INTEG and KWA', () => {
  const random = seededRandom('kek');
  const spis = new SpiAllocator({ random });
  const gcm = createRekeySa(kekTemplate(), spis, { random: random });
  assert.deepEqual([gcm.gskE.length, gcm.gskA.length, gcm.gskW.length, gcm.keymat.length], [36, 0, 32, 68]);
  assert.equal(gcm.policy.spi.length, 16);
  const arx = createRekeySa(kekTemplate(KwaId.KW_ARX), spis, { random: random });
  assert.equal(arx.kwaId, KwaId.KW_ARX);
  assert.equal(arx.gskW.length, 32);
  const k128 = createRekeySa(kekTemplate(KwaId.KW_5649_128), spis, { random: random });
  assert.equal(k128.gskW.length, 16);
  assert.match(keyWrapStrengthProblem(KwaId.KW_5649_128, [k128.policy]) ?? '', /256-bit ENCR key/, 'KWK weaker than the ENCR key (SHOULD not)');
  assert.equal(keyWrapStrengthProblem(KwaId.KW_5649_256, [gcm.policy]), null);
});

test('registration KD (multicast-rekey group): parses in "registration"; TEKs (0,0), Rekey SA under the path, AUTH_KEY, GM_SENDER_IDs', () => {
  const random = seededRandom('reg');
  const group = new GroupKeys({ rekeySa: kekTemplate(), dataSecurity: [gcmTemplate(1), cbcTemplate()], treeDegree: 4, initialMembers: ['a', 'b', 'c', 'd', 'e'], random });
  const senderIds = new SenderIdAllocator({ bits: 8, cap: 4 });
  const grant = senderIds.grant(2);
  assert.equal(grant.kind, 'granted');
  const gm = new SimulatedGm('a', ikeSa(random), 2);
  const reg = group.register({ member: 'a', ikeSa: gm.ike, authKey: SPKI, senderIds: grant.kind === 'granted' ? grant.ids : [] });
  const { groups, member } = parseKd(reg.kd, 'registration');
  assert.deepEqual(groups.map((g) => [g.protocolId, g.saKeys.map((k) => [k.keyId, k.kwkId])]), [
    [ProtocolId.GIKE_UPDATE, [[0, group.tree!.pathKeyIds('a')[0]]]],
    [ProtocolId.ESP, [[0, 0]]],
    [ProtocolId.ESP, [[0, 0]]],
  ]);
  const path = group.tree!.pathKeyIds('a');
  assert.equal(path.length, 2);
  assert.deepEqual(member!.wrapKeys.map((k) => [k.keyId, k.kwkId]), [[path[0], path[1]], [path[1], 0]]);
  assert.deepEqual(member!.authKey, SPKI);
  assert.deepEqual(member!.senderIds, [0, 1]);
  // The conditional rules of the §5 table hold for this reply.
  const gsa = gsaFor('registration', reg.rekeySa, reg.dataSecurity, 8);
  checkAuthKeyPresence(GcauthId.DIGITAL_SIGNATURE, member!.authKey, 'registration');
  checkSenderIdGrant({ policies: gsa.policies, groupWide: parseGroupWidePolicy(gsa.policies.find(isGroupWidePolicy)!, 'registration'), member, requested: 2 });
  const out = gm.register(reg, 'registration', 8);
  assert.deepEqual(gm.keys.senderIds, [0, 1]);
  assert.equal(gm.keys.senderIdBits, 8);
  assert.deepEqual(gm.keys.authKey, SPKI);
  assert.deepEqual(out.dataSecurity.map((s) => s.keymat), group.dataSecurity.map((s) => s.keymat));
  assert.deepEqual(gm.keys.workingKeyPath.keyIds, path);
});

test('GM_SENDER_ID that does not fit GWP_SENDER_ID_BITS is refused by the GM', () => {
  const random = seededRandom('misfit');
  const group = new GroupKeys({ rekeySa: kekTemplate(), dataSecurity: [gcmTemplate()], initialMembers: ['a'], random });
  const gm = new SimulatedGm('a', ikeSa(random), 1);
  const reg = group.register({ member: 'a', ikeSa: gm.ike, authKey: SPKI, senderIds: [300] });
  assert.throws(() => gm.register(reg, 'registration', 8), code('GKM_WIRE_BAD_VALUE'));
});

test('GSA_REKEY KD parses in "rekey"; GSA_INBAND_REKEY KD in "inband"; in-band groups register in "registration-inband"', () => {
  const random = seededRandom('contexts');
  const multicast = new GroupKeys({ rekeySa: kekTemplate(), dataSecurity: [gcmTemplate()], initialMembers: ['a'], random });
  const both = multicast.simpleRekey({ rekeySa: true, dataSecurity: true });
  const parsed = parseKd(both.message.kd, 'rekey');
  assert.deepEqual(parsed.groups.map((g) => [g.protocolId, g.saKeys.map((k) => [k.keyId, k.kwkId])]), [[ProtocolId.GIKE_UPDATE, [[0, 0]]], [ProtocolId.ESP, [[0, 0]]]]);
  assert.equal(parsed.member, undefined);
  assert.equal(both.message.channel.kwaId, KwaId.KW_5649_256);

  const inband = new GroupKeys({ dataSecurity: [gcmTemplate()], random });
  assert.equal(inband.registrationContext, 'registration-inband');
  assert.equal(inband.tree, undefined);
  const gm = new SimulatedGm('x', ikeSa(random, KwaId.KW_ARX), 1);
  const reg = inband.register({ member: 'x', ikeSa: gm.ike, senderIds: [0] });
  const regParsed = parseKd(reg.kd, 'registration-inband');
  assert.deepEqual(regParsed.member?.wrapKeys, []);
  assert.equal(gm.register(reg, 'registration-inband', 4).dataSecurity.length, 1);
  assert.equal(inband.evict('x'), null);
  const commit = inband.commit()!;
  assert.equal(commit.retired.dataSecurity.length, 1, 'new TEKs after an in-band eviction');
  const msg = inband.inbandRekey(gm.ike);
  assert.deepEqual(parseKd(msg.kd, 'inband').groups.map((g) => g.saKeys.map((k) => [k.keyId, k.kwkId])), [[[0, 0]]]);
  const out = gm.keys.processInbandRekey(gsaFor('inband', undefined, msg.dataSecurity), overTheWire(msg.kd), gm.ike);
  assert.deepEqual(out.dataSecurity[0]?.keymat, inband.dataSecurity[0]!.keymat);
});

test('presence rules are enforced on the way out: no WRAP_KEY in-band, one Rekey SA_KEY at registration', () => {
  const random = seededRandom('presence');
  const ike = ikeSa(random);
  const k = random(32);
  assert.throws(() => buildKeyDownload({ context: 'inband', ...ike }, { member: { wrapKeys: [{ keyId: 5, key: k, under: GSK_W }] } }), code('GKM_WIRE_ENCODE'));
  const rekeySa = { policy: { protocolId: ProtocolId.GIKE_UPDATE, spi: random(16) }, keymat: random(68) } as const;
  assert.throws(
    () => buildKeyDownload({ context: 'registration', ...ike }, { rekeySa: { ...rekeySa, under: [GSK_W, { keyId: 4, key: k }] } }),
    code('GKM_WIRE_ENCODE'),
  );
  assert.equal(buildKeyDownload({ context: 'rekey', ...ike }, { rekeySa: { ...rekeySa, under: [GSK_W, { keyId: 4, key: k }] } }).wraps, 2);
  assert.throws(() => buildKeyDownload({ context: 'rekey', ...ike }, { rekeySa: { ...rekeySa, under: [{ keyId: 4, key: random(16) }] } }), code('GKM_KEYS_KWA_MISMATCH'));
  assert.throws(() => buildKeyDownload({ context: 'rekey', ...ike }, {}), code('GKM_KEYS_BAD_INPUT'));
  assert.deepEqual(pathWraps([]), { rekeySaUnder: [GSK_W], wrapKeys: [] });
});

test('the IKE SA must use the key tree’s KWA (NO_PROPOSAL_CHOSEN otherwise); without a tree any KWA works', () => {
  const random = seededRandom('kwa');
  const group = new GroupKeys({ rekeySa: kekTemplate(), dataSecurity: [gcmTemplate()], initialMembers: ['a'], random });
  assert.throws(
    () => group.register({ member: 'a', ikeSa: ikeSa(random, KwaId.KW_5649_128), authKey: SPKI }),
    (e) => isGkmError(e, 'GKM_KEYS_KWA_MISMATCH') && e.notify === NotifyType.NO_PROPOSAL_CHOSEN,
  );
  const flat = new GroupKeys({ rekeySa: kekTemplate(), dataSecurity: [gcmTemplate()], treeDegree: false, random });
  const gm = new SimulatedGm('a', ikeSa(random, KwaId.KW_5649_128));
  const reg = flat.register({ member: 'a', ikeSa: gm.ike, authKey: SPKI });
  assert.deepEqual(parseKd(reg.kd, 'registration').groups[0]!.saKeys.map((k) => [k.keyId, k.kwkId]), [[0, 0]]);
  assert.deepEqual(gm.register(reg).rekeySa?.keymat, flat.rekeySa!.keymat);
  assert.deepEqual(gm.keys.workingKeyPath.keyIds, []);
  assert.throws(() => flat.evict('a'), code('GKM_KEYS_TREE_STATE'), 'no forward access control without a tree');
});

test('GSA_NEXT_SPI: each SA announces the SPI its replacement will have', () => {
  const random = seededRandom('next-spi');
  const group = new GroupKeys({ rekeySa: kekTemplate(), dataSecurity: [gcmTemplate()], random });
  const [kek, tek] = [group.rekeySa!, group.dataSecurity[0]!];
  const nextSpis = (p: GsaPolicy, context: GroupExchangeContext) => parseGsaPolicyAttributes(p, context).nextSpis;
  assert.deepEqual(nextSpis(kek.policy, 'registration'), [kek.nextSpi]);
  assert.deepEqual(nextSpis(tek.policy, 'registration'), [tek.nextSpi]);
  const { message } = group.simpleRekey({ rekeySa: true, dataSecurity: true });
  assert.deepEqual(message.rekeySa!.spi, kek.nextSpi);
  assert.deepEqual(message.dataSecurity.map((p) => p.spi), [tek.nextSpi]);
  assert.deepEqual(nextSpis(message.rekeySa!, 'rekey'), [group.rekeySa!.nextSpi], 'the new SA announces its own successor');
  assert.throws(() => group.simpleRekey({ rekeySa: false, dataSecurity: false }), code('GKM_KEYS_BAD_INPUT'));
  const inband = new GroupKeys({ dataSecurity: [gcmTemplate()], random });
  assert.equal(inband.dataSecurity[0]!.nextSpi, undefined, 'not used with in-band rekey');
});
