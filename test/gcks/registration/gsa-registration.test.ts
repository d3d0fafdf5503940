/**
 * GSA_REGISTRATION (RFC 9838 §2.3.2): more groups over one IKE SA, errors as SK{N(error)},
 * leaving with {IDg, N(NO_PROPOSAL_CHOSEN | REGISTRATION_FAILED)} answered SK{}; and a GCKS
 * restart that keeps groups, members, registrations and keys (same TEKs, same Rekey SA).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotifyType, PayloadType } from '../../../src/ikev2/registry/index.ts';
import { openStore } from '../../../src/store/index.ts';
import type { Outcome } from './support/gm.ts';
import { GcksWorld, gcmPolicy, cbcTransportPolicy } from './support/world.ts';

const registered = (o: Outcome) => {
  assert.equal(o.kind, 'registered', JSON.stringify(o.kind === 'refused' ? o.notify : o.kind));
  return o as Extract<Outcome, { kind: 'registered' }>;
};

test('GSA_REGISTRATION joins a second and third group over the same IKE SA; errors come as SK{N(error)}', async () => {
  const w = new GcksWorld();
  const g1 = w.group('g1', gcmPolicy(1));
  const g2 = w.group('g2', gcmPolicy(2));
  const g3 = w.group('g3', cbcTransportPolicy());
  const g4 = w.group('g4', gcmPolicy(4));
  const m = w.pskMember('gm', [g1, g2, g3]);
  const gm = w.gm(m);
  const first = registered(await gm.register({ group: 'g1' }));
  const second = registered(await gm.registration({ group: 'g2', groupSender: 1 }));
  const third = registered(await gm.registration({ group: 'g3' }));
  assert.equal(third.transportMode, true);
  assert.deepEqual(second.keys.senderIds, [0]);
  assert.notDeepEqual(first.result.dataSecurity[0]!.keymat, second.result.dataSecurity[0]!.keymat);
  assert.equal(second.payloads[0]!.type, PayloadType.GSA, 'SK{GSA, KD}: no IDr/AUTH in GSA_REGISTRATION');
  assert.equal(w.gcks.engine.list().length, 1, 'one IKE SA for all three');
  const spis = [g1, g2, g3].map((g) => w.store.registrations.get(g, m.memberId)!.ikeSpi.toString('hex'));
  assert.equal(new Set(spis).size, 1);
  const unknown = await gm.registration({ group: 'nope' });
  assert.equal(unknown.kind === 'refused' && unknown.notify, NotifyType.INVALID_GROUP_ID);
  assert.deepEqual(unknown.payloads.map((p) => p.type), [PayloadType.NOTIFY]);
  const notMine = await gm.registration({ group: 'g4' });
  assert.equal(notMine.kind === 'refused' && notMine.notify, NotifyType.AUTHORIZATION_FAILED);
  assert.equal(gm.sa?.phase, 'established');
  void g4;
});

test('leaving: {IDg, N(REGISTRATION_FAILED)} or N(NO_PROPOSAL_CHOSEN) removes the member, answered SK{}', async () => {
  const w = new GcksWorld();
  const g1 = w.group('g1', gcmPolicy(1));
  const g2 = w.group('g2', gcmPolicy(2));
  const m = w.pskMember('gm', [g1, g2]);
  const stay = w.pskMember('stay', [g1]);
  registered(await w.gm(stay).register({ group: 'g1' }));
  const gm = w.gm(m);
  registered(await gm.register({ group: 'g1' }));
  registered(await gm.registration({ group: 'g2' }));
  const tree = w.registrar.groupKeys(g1)!.keys.tree!;
  assert.equal(tree.has(m.memberId), true);
  const left = await gm.registration({ group: 'g1', leave: NotifyType.REGISTRATION_FAILED });
  assert.equal(left.kind, 'left');
  assert.deepEqual(left.payloads, [], 'SK{}');
  assert.equal(w.store.registrations.get(g1, m.memberId), undefined);
  assert.equal(tree.has(m.memberId), false, 'evicted from the key tree');
  assert.equal(tree.has(stay.memberId), true);
  assert.ok(w.store.registrations.get(g2, m.memberId), 'other groups are kept');
  const rejected = await gm.registration({ group: 'g2', leave: NotifyType.NO_PROPOSAL_CHOSEN });
  assert.deepEqual(rejected.payloads, []);
  assert.equal(w.store.registrations.get(g2, m.memberId), undefined);
  assert.deepEqual(w.store.audit.list({}).filter((a) => a.action === 'member.leave').map((a) => a.groupId), [g1, g2]);
  // Leaving a group never joined, or an unknown one, is still SK{}.
  assert.deepEqual((await gm.registration({ group: 'nope', leave: NotifyType.REGISTRATION_FAILED })).payloads, []);
  // And the member can join again.
  registered(await gm.registration({ group: 'g1' }));
  assert.equal(tree.has(m.memberId), true);
});

test('restart keeps groups, members, registrations and keys: a member registering after it gets the same TEK and Rekey SA', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gcks-restart-'));
  try {
    const path = join(dir, 'gcks.db');
    const masterKey = randomBytes(32);
    const before = new GcksWorld({ store: openStore({ path, masterKey }) });
    const g = before.group('g1', gcmPolicy(1));
    const a = before.pskMember('a', [g]);
    const b = before.pskMember('b', [g]);
    const c = before.pskMember('c', [g]);
    const ra = registered(await before.gm(a).register({ group: 'g1', groupSender: 1 }));
    const rb = registered(await before.gm(b).register({ group: 'g1', groupSender: 1 }));
    const treeBefore = before.registrar.groupKeys(g)!.keys.tree!;
    const pathOfA = treeBefore.pathKeyIds(a.memberId);
    before.store.close();

    const after = new GcksWorld({ store: openStore({ path, masterKey }) });
    const rc = registered(await after.gm(c).register({ group: 'g1', groupSender: 1 }));
    assert.deepEqual(rc.result.dataSecurity[0]!.keymat, ra.result.dataSecurity[0]!.keymat, 'same TEK');
    assert.deepEqual(rc.result.dataSecurity[0]!.policy.spi, ra.result.dataSecurity[0]!.policy.spi, 'same ESP SPI');
    assert.deepEqual(rc.result.rekeySa!.keymat, rb.result.rekeySa!.keymat, 'same (batch) Rekey SA');
    assert.deepEqual(rc.keys.senderIds, [2], 'the Sender-ID counter survived');
    const treeAfter = after.registrar.groupKeys(g)!.keys.tree!;
    assert.deepEqual(treeAfter.pathKeyIds(a.memberId), pathOfA, "a's path is unchanged");
    assert.equal(treeAfter.size, 3);
    // a registers again after the restart: its path keys are the ones it was given before.
    const again = registered(await after.gm(a).register({ group: 'g1' }));
    assert.deepEqual(again.keys.workingKeyPath.keyIds, ra.keys.workingKeyPath.keyIds);
    assert.deepEqual(again.result.dataSecurity[0]!.keymat, ra.result.dataSecurity[0]!.keymat);
    assert.equal(after.store.registrations.countForGroup(g), 3);
    // The batch survived: committing it now gives the existing members the new path keys.
    const commit = after.registrar.groupKeys(g)!.keys.commit();
    assert.ok(commit, 'the open batch was restored');
    after.store.close();
    // A third start after the commit has nothing pending.
    const third = new GcksWorld({ store: openStore({ path, masterKey }) });
    registered(await third.gm(b).register({ group: 'g1' }));
    third.store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('restart after a committed batch and an eviction: the GCKS reloads the current Rekey SA and path keys', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gcks-restart-'));
  try {
    const path = join(dir, 'gcks.db');
    const masterKey = randomBytes(32);
    const w1 = new GcksWorld({ store: openStore({ path, masterKey }) });
    const g = w1.group('g1', gcmPolicy(1));
    const ms = ['a', 'b', 'c', 'd', 'e'].map((n) => w1.pskMember(n, [g]));
    for (const m of ms) registered(await w1.gm(m).register({ group: 'g1' }));
    const ks = w1.registrar.groupKeys(g)!;
    w1.store.transaction(() => {
      ks.keys.commit();
      ks.record();
    });
    const gmE = w1.gm(ms[4]!);
    registered(await gmE.register({ group: 'g1' }));
    await gmE.registration({ group: 'g1', leave: NotifyType.REGISTRATION_FAILED });
    const kek = ks.keys.rekeySa!.keymat;
    const snapshot = ks.keys.tree!.snapshot();
    w1.store.close();
    const w2 = new GcksWorld({ store: openStore({ path, masterKey }) });
    const re = registered(await w2.gm(ms[0]!).register({ group: 'g1' }));
    const ks2 = w2.registrar.groupKeys(g)!;
    assert.deepEqual(ks2.keys.rekeySa!.keymat, kek);
    assert.deepEqual(ks2.keys.tree!.snapshot().nodes.map((n) => [n.position, n.keyId]), snapshot.nodes.map((n) => [n.position, n.keyId]));
    assert.equal(ks2.keys.tree!.has(ms[4]!.memberId), false);
    assert.equal(re.result.excluded, false);
    w2.store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('after an IKE SA rekey, GSA_REGISTRATION runs on the new SA with a new GSK_w (RFC 9838 §3.1.1)', async () => {
  const w = new GcksWorld();
  const g1 = w.group('g1', gcmPolicy(1));
  const g2 = w.group('g2', gcmPolicy(2));
  const m = w.pskMember('gm', [g1, g2]);
  const gm = w.gm(m);
  registered(await gm.register({ group: 'g1' }));
  const oldSpi = w.store.registrations.get(g1, m.memberId)!.ikeSpi;
  const rekeyed = new Promise<string>((resolve) => gm.peer.engine.events.on('rekeyed', (e) => e.what === 'ike' && resolve(e.new)));
  gm.peer.engine.rekeyIkeSa(gm.saId!);
  await w.world.advance();
  gm.saId = await rekeyed;
  const r = registered(await gm.registration({ group: 'g2' }));
  assert.equal(r.result.excluded, false);
  assert.deepEqual(r.result.failures, []);
  const newSpi = w.store.registrations.get(g2, m.memberId)!.ikeSpi;
  assert.notDeepEqual(newSpi, oldSpi, 'registered over the new IKE SA');
  assert.deepEqual(newSpi, Buffer.concat([gm.sa!.spiI, gm.sa!.spiR]));
});
