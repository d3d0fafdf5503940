import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotifyType } from '../../../src/ikev2/registry/index.ts';
import { cbcTemplate, gcmTemplate, keyIdGroup, rekeySaTemplate } from './support/scripted-gcks.ts';
import { groupWorld } from './support/world.ts';

const G1 = keyIdGroup('group-1');
const G2 = keyIdGroup('group-2');

test('a second group joins over the same IKE SA with GSA_REGISTRATION', async () => {
  const w = groupWorld();
  w.gcks.groups.set('group-1', { rekeySa: rekeySaTemplate(), dataSecurity: [gcmTemplate(1)] });
  w.gcks.groups.set('group-2', { rekeySa: rekeySaTemplate(), dataSecurity: [cbcTemplate(2)] });
  w.member.join(G1);
  w.member.join(G2); // queued behind GSA_AUTH, sent once the IKE SA is established
  await w.world.advance();
  assert.deepEqual(w.gcks.sent.map((s) => [s.group, s.exchange]), [['group-1', 'GSA_AUTH'], ['group-2', 'GSA_REGISTRATION']]);
  assert.deepEqual(w.of('registered').map((e) => e.group), ['group-1', 'group-2']);
  assert.equal(new Set(w.of('registered').map((e) => e.ikeSaId)).size, 1);
  assert.equal(w.gmPeer.engine.list().length, 1);
  assert.equal(w.db.live, 2);
});

test('leave: GSA_REGISTRATION {IDg, N(REGISTRATION_FAILED)} answered with {}, then SAs removed and keys wiped', async () => {
  const w = groupWorld();
  w.gcks.groups.set('group-1', { rekeySa: rekeySaTemplate(), dataSecurity: [gcmTemplate(1)] });
  w.member.join(G1);
  await w.world.advance();
  const state = w.member.group(G1)!;
  const keymat = state.dataSecuritySas[0]!.keymat;
  const kek = state.registration!.keys.rekeySa!.keymat;
  const left = w.member.leave(G1);
  await w.world.advance();
  await left;
  assert.deepEqual(w.gcks.leaves, [{ group: 'group-1', notify: NotifyType.REGISTRATION_FAILED }]);
  assert.deepEqual(w.of('left').map((e) => [e.group, e.told]), [['group-1', true]]);
  assert.equal(w.db.live, 0);
  assert.ok(keymat.every((b) => b === 0) && kek.every((b) => b === 0), 'keys wiped');
  assert.equal(state.registration, undefined);
  assert.equal(w.gmPeer.engine.list()[0]?.phase, 'established', 'leaving one group keeps the IKE SA');
});

test('stop(): leaves every group, then deletes the IKE SA', async () => {
  const w = groupWorld();
  w.gcks.groups.set('group-1', { rekeySa: rekeySaTemplate(), dataSecurity: [gcmTemplate(1)] });
  w.gcks.groups.set('group-2', { dataSecurity: [cbcTemplate(2)] });
  w.member.join(G1);
  w.member.join(G2);
  await w.world.advance();
  const stopped = w.member.stop();
  await w.world.advance();
  await stopped;
  assert.deepEqual(w.gcks.leaves.map((l) => l.group).sort(), ['group-1', 'group-2']);
  assert.equal(w.gmPeer.engine.list().length, 0);
  assert.equal(w.gcksPeer.engine.list().length, 0, 'the GCKS saw the Delete');
  assert.equal(w.of('excluded').length, 0, 'no re-registration while stopping');
});

test('stop() without an IKE SA (the GCKS closed it): state wiped locally, left {told: false}', async () => {
  const w = groupWorld();
  w.gcks.groups.set('group-1', { rekeySa: rekeySaTemplate(), dataSecurity: [gcmTemplate(1)] });
  w.member.join(G1);
  await w.world.advance();
  w.gcksPeer.engine.deleteIkeSa(w.gcksPeer.engine.list()[0]!.id);
  await w.world.advance();
  const stopped = w.member.stop();
  await w.world.advance();
  await stopped;
  assert.deepEqual(w.of('left').map((e) => e.told), [false]);
  assert.equal(w.db.live, 0);
});

test('soft lifetime (fake clock): re-registers before the shortest lifetime runs out, with jitter; the new registration replaces (and wipes) the old state', async () => {
  const w = groupWorld();
  w.gcks.groups.set('group-1', { rekeySa: rekeySaTemplate({ lifetime: 1000 }), dataSecurity: [gcmTemplate(1, { lifetime: 100 })] });
  w.member.join(G1);
  await w.world.advance();
  const first = w.of('registered')[0]!;
  assert.ok(first.reregisterInSeconds! >= 85 && first.reregisterInSeconds! <= 90, `soft at ${first.reregisterInSeconds}s`);
  const oldKeymat = w.member.group(G1)!.dataSecuritySas[0]!.keymat;
  await w.world.advance(84_000);
  assert.equal(w.of('registered').length, 1, 'not before the soft lifetime');
  await w.world.advance(7_000);
  assert.deepEqual(w.of('registering').map((e) => [e.reason, e.exchange]), [['join', 'GSA_AUTH'], ['soft-lifetime', 'GSA_REGISTRATION']]);
  assert.equal(w.of('registered').length, 2);
  assert.ok(oldKeymat.every((b) => b === 0), 'replaced keys wiped');
  assert.equal(w.db.removed.length, 1);
  assert.equal(w.db.live, 1);
  assert.notEqual(w.of('registered')[1]!.policy.dataSecuritySas[0]!.spi, first.policy.dataSecuritySas[0]!.spi);
  assert.equal(w.of('expired').length, 0, 'replaced before the hard lifetime');
});

test('soft lifetime after the GCKS closed the IKE SA: re-registers with a new GSA_AUTH', async () => {
  const w = groupWorld();
  w.gcks.groups.set('group-1', { rekeySa: rekeySaTemplate({ lifetime: 100 }), dataSecurity: [gcmTemplate(1, { lifetime: 100 })] });
  w.member.join(G1);
  await w.world.advance();
  w.gcksPeer.engine.deleteIkeSa(w.gcksPeer.engine.list()[0]!.id);
  await w.world.advance(95_000);
  assert.deepEqual(w.gcks.sent.map((s) => s.exchange), ['GSA_AUTH', 'GSA_AUTH']);
  assert.equal(w.of('registered').length, 2);
});

test('hard lifetime without replacement: the SA is removed and wiped; an expired Rekey SA excludes the GM, which re-registers', async () => {
  const w = groupWorld({ member: { timing: { softFraction: 5 } } }); // soft long after hard: no early re-registration
  w.gcks.groups.set('group-1', { rekeySa: rekeySaTemplate({ lifetime: 200 }), dataSecurity: [gcmTemplate(1, { lifetime: 100 })] });
  w.member.join(G1);
  await w.world.advance();
  const keymat = w.member.group(G1)!.dataSecuritySas[0]!.keymat;
  await w.world.advance(100_000);
  assert.deepEqual(w.of('expired').map((e) => e.what), ['data-security-sa']);
  assert.ok(keymat.every((b) => b === 0));
  assert.equal(w.db.live, 0);
  await w.world.advance(100_000);
  assert.deepEqual(w.of('expired').map((e) => e.what), ['data-security-sa', 'rekey-sa']);
  const [ex] = w.of('excluded');
  assert.ok(ex && ex.reregisterInSeconds >= 1 && ex.reregisterInSeconds <= 10);
  await w.world.advance(11_000);
  assert.equal(w.of('registered').length, 2);
});

test('GSA_INITIAL_MESSAGE_ID at re-registration: stale values for the same Rekey SA are ignored', async () => {
  const { RekeyMessageIds } = await import('../../../src/member/group/rekey-message-ids.ts');
  const ids = new RekeyMessageIds(3);
  assert.equal(ids.accept(2), false);
  assert.equal(ids.accept(3), true);
  assert.equal(ids.accept(5), true);
  assert.equal(ids.applyInitial(4), false, 'stale: below what was seen');
  assert.equal(ids.accept(5), false);
  assert.equal(ids.applyInitial(10), true);
  assert.equal(ids.accept(9), false);
  assert.equal(ids.accept(10), true);
});
