/** MemberGroupKeys: what a GM does with each KD (RFC 9838 §2.3, §2.4, §3.3, §4.5; digest §8, §11, §12). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDataSecuritySa, createRekeySa } from '../../../src/gcks/keys/group-sa-keys.ts';
import { GroupKeys } from '../../../src/gcks/keys/group-keys.ts';
import { buildKeyDownload } from '../../../src/gcks/keys/key-download.ts';
import { isGkmError, type ErrorCode } from '../../../src/ikev2/errors.ts';
import { GcauthId, TransformType } from '../../../src/ikev2/registry/transform.ts';
import type { GsaPolicy } from '../../../src/ikev2/wire/payloads/gsa.ts';
import { MemberGroupKeys } from '../../../src/member/keys/member-group-keys.ts';
import { transform } from '../../ikev2/wire/group-fixtures.ts';
import { cbcTemplate, gcmTemplate, gsaFor, ikeSa, kekTemplate, overTheWire, seededRandom, SimulatedGm, SPKI } from '../../gcks/keys/support.ts';

const code = (c: ErrorCode) => (e: unknown) => isGkmError(e, c);

function registered(seed: string, opts: { groupSender?: number; dataSecurity?: 'gcm' | 'cbc' } = {}) {
  const random = seededRandom(seed);
  const group = new GroupKeys({ rekeySa: kekTemplate(), dataSecurity: [opts.dataSecurity === 'cbc' ? cbcTemplate() : gcmTemplate()], initialMembers: ['a', 'b', 'c'], random });
  const gm = new SimulatedGm('a', ikeSa(random), opts.groupSender);
  gm.register(group.register({ member: 'a', ikeSa: gm.ike, authKey: SPKI }));
  return { random, group, gm };
}

test('key-length mismatch: a TEK of the wrong length is not installed, a Rekey SA key of the wrong length excludes', () => {
  const random = seededRandom('length');
  const group = new GroupKeys({ rekeySa: kekTemplate(), dataSecurity: [gcmTemplate()], treeDegree: false, random });
  const ike = ikeSa(random);
  const tek = group.dataSecurity[0]!;
  const kek = group.rekeySa!;
  const kd = buildKeyDownload({ context: 'registration', ...ike }, {
    rekeySa: { policy: kek.policy, keymat: kek.keymat.subarray(0, 64) },
    dataSecurity: [{ policy: tek.policy, keymat: Buffer.concat([tek.keymat, Buffer.alloc(8)]) }],
    member: { authKey: SPKI },
  }).kd;
  const gm = new MemberGroupKeys();
  const out = gm.processRegistration(gsaFor('registration', kek.policy, [tek.policy]), overTheWire(kd), ike);
  assert.deepEqual(out.dataSecurity, []);
  assert.equal(out.excluded, true);
  assert.deepEqual(out.failures.map((f) => f.reason), ['bad-length', 'bad-length']);
  assert.equal(gm.excluded, true);
});

test('a key bag must match a GSA policy by SPI, and every policy needs its key bag', () => {
  const random = seededRandom('match');
  const group = new GroupKeys({ rekeySa: kekTemplate(), dataSecurity: [gcmTemplate()], initialMembers: ['a'], random });
  const ike = ikeSa(random);
  const reg = group.register({ member: 'a', ikeSa: ike, authKey: SPKI });
  const stranger: GsaPolicy = { ...reg.dataSecurity[0]!, spi: Buffer.from('0badc0de', 'hex') };
  assert.throws(() => new MemberGroupKeys().processRegistration(gsaFor('registration', reg.rekeySa, [stranger]), reg.kd, ike), code('GKM_WIRE_BAD_VALUE'));
  const extra: GsaPolicy = { ...reg.dataSecurity[0]!, spi: Buffer.from('0badc0de', 'hex') };
  assert.throws(() => new MemberGroupKeys().processRegistration(gsaFor('registration', reg.rekeySa, [...reg.dataSecurity, extra]), reg.kd, ike), code('GKM_WIRE_BAD_COUNT'));
  assert.throws(() => new MemberGroupKeys().processRekey(undefined, reg.kd), code('GKM_KEYS_BAD_INPUT'), 'no Rekey SA yet');
});

test('a sender that gets a counter-mode SA in a rekey without holding a Sender-ID must re-register', () => {
  const { random, group, gm } = registered('counter', { groupSender: 1, dataSecurity: 'cbc' });
  assert.deepEqual(gm.keys.senderIds, [], 'no counter mode at registration: no Sender-ID');
  const spis = group.spis;
  const gcm = createDataSecuritySa(gcmTemplate(9), spis, { random: random });
  const kek = group.rekeySa!;
  const kd = buildKeyDownload({ context: 'rekey', kwaId: kek.kwaId, gskW: kek.gskW }, { dataSecurity: [gcm] }).kd;
  const out = gm.keys.processRekey(gsaFor('rekey', undefined, [gcm.policy]), overTheWire(kd));
  assert.match(out.reRegister ?? '', /counter-mode SA ESP SA 0x[0-9a-f]{8} without a Sender-ID/);
  const receiver = registered('counter-rx', { dataSecurity: 'cbc' });
  const kek2 = receiver.group.rekeySa!;
  const gcm2 = createDataSecuritySa(gcmTemplate(9), receiver.group.spis, { random: receiver.random });
  const kd2 = buildKeyDownload({ context: 'rekey', kwaId: kek2.kwaId, gskW: kek2.gskW }, { dataSecurity: [gcm2] }).kd;
  assert.equal(receiver.gm.keys.processRekey(gsaFor('rekey', undefined, [gcm2.policy]), kd2).reRegister, undefined, 'receivers need none');
});

test('AUTH_KEY can be replaced by a GSA_REKEY; with Implicit authentication it is refused', () => {
  const { random, group, gm } = registered('auth-key');
  const next = createRekeySa(kekTemplate(), group.spis, { random: random });
  const newSpki = Buffer.from(SPKI).fill(0x77, 12);
  const kek = group.rekeySa!;
  const kd = buildKeyDownload({ context: 'rekey', kwaId: kek.kwaId, gskW: kek.gskW }, { rekeySa: next, member: { authKey: newSpki } }).kd;
  const out = gm.keys.processRekey(gsaFor('rekey', next.policy, []), overTheWire(kd));
  assert.deepEqual(gm.keys.authKey, newSpki);
  assert.deepEqual(out.retiredRekeySa?.keymat, kek.keymat, 'the old Rekey SA is handed back for its DTD');

  const random2 = seededRandom('implicit');
  const implicit = { ...kekTemplate(), transforms: [...kekTemplate().transforms.filter((t) => t.transformType !== TransformType.GCAUTH), transform(TransformType.GCAUTH, GcauthId.IMPLICIT)] };
  const g2 = new GroupKeys({ rekeySa: implicit, dataSecurity: [gcmTemplate()], initialMembers: ['a'], random: random2 });
  const gm2 = new SimulatedGm('a', ikeSa(random2));
  gm2.register(g2.register({ member: 'a', ikeSa: gm2.ike }));
  const kek2 = g2.rekeySa!;
  const withKey = buildKeyDownload({ context: 'rekey', kwaId: kek2.kwaId, gskW: kek2.gskW }, { rekeySa: createRekeySa(implicit, g2.spis, { random: random2 }), member: { authKey: SPKI } });
  const policy = (withKey.kd.bags[0] as { spi: Buffer }).spi;
  assert.throws(() => gm2.keys.processRekey(gsaFor('rekey', { ...implicit, spi: policy }, []), withKey.kd), code('GKM_WIRE_BAD_VALUE'));
});

test('registration replaces earlier state; fingerprints name keys without revealing them', () => {
  const { random, group, gm } = registered('again');
  const before = gm.keys.fingerprints();
  assert.deepEqual(before.map((f) => f.label), [`Rekey SA 0x${group.rekeySa!.policy.spi.toString('hex')}`, ...group.tree!.pathKeyIds('a').map((id) => `WRAP_KEY ${id}`)]);
  const json = JSON.stringify(before);
  for (const k of [group.rekeySa!.keymat, ...group.tree!.path('a').map((p) => p.key)]) assert.ok(!json.includes(k.toString('hex').slice(0, 12)));
  // A second registration over a new IKE SA, after the group was rekeyed: fresh state.
  group.simpleRekey({ rekeySa: true, dataSecurity: false });
  const ike2 = ikeSa(random);
  const reg = group.register({ member: 'a', ikeSa: ike2, authKey: SPKI });
  const out = gm.keys.processRegistration(gsaFor('registration', reg.rekeySa, reg.dataSecurity), overTheWire(reg.kd), ike2);
  assert.equal(out.retiredRekeySa, undefined, 'nothing carried over from the old registration');
  assert.deepEqual(gm.keys.rekeySa?.keymat, group.rekeySa!.keymat);
  assert.deepEqual(gm.keys.workingKeyPath.keyIds, group.tree!.pathKeyIds('a'));
  assert.notEqual(gm.keys.fingerprints()[0]!.sha256, before[0]!.sha256);
});
