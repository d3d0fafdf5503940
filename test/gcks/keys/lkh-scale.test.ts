/**
 * The LKH tree at scale, end to end (GCKS KD building, wire codec, GM key-path algorithm):
 * 1,000 members, 10 random evictions; growth from an empty group through joins and
 * commits; eviction of a member that received pending keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupKeys } from '../../../src/gcks/keys/group-keys.ts';
import { gcmTemplate, kekTemplate, seededRandom, SimulatedGroup } from './support.ts';

const LARGE = 1000;
/** Generous bound for CI machines (measured ≈ 2-4 s on a 2-core box). */
const LARGE_BUDGET_MS = 30_000;

for (const degree of [2, 4]) {
  test(`${LARGE} members, degree ${degree}: evict 10 at random, everyone else recovers, the evicted do not`, (t) => {
    const started = performance.now();
    const random = seededRandom(`large-${degree}`);
    const members = Array.from({ length: LARGE }, (_, i) => `gm${i}`);
    const group = new GroupKeys({ rekeySa: kekTemplate(), dataSecurity: [gcmTemplate()], treeDegree: degree, initialMembers: members, random });
    const sim = new SimulatedGroup(group, random);
    for (const m of members) sim.register(m);
    sim.check();
    const height = group.tree!.height;
    assert.equal(height, Math.ceil(Math.log(LARGE) / Math.log(degree)));

    // Pick 10 distinct victims with the seeded source.
    const victims = new Set<string>();
    while (victims.size < 10) victims.add(members[random(4).readUInt32BE(0) % LARGE]!);
    const [single, batch] = [[...victims].slice(0, 5), [...victims].slice(5)];
    for (const v of single) {
      sim.evict(v);
      const r = sim.commit()!;
      assert.ok(r.membership!.wraps <= degree * height, `${r.membership!.wraps} wraps ≤ d·log_d n`);
      assert.ok(r.dataSecurity, 'new TEKs follow under the new KEK');
      assert.equal(sim.lastOutcome.get(v)?.excluded, true, `${v} is excluded`);
      sim.check();
    }
    for (const v of batch) sim.evict(v);
    const r = sim.commit()!;
    assert.ok(r.membership!.wraps <= batch.length * degree * height, 'a batch costs at most the sum of its paths');
    sim.check();
    for (const v of victims) assert.equal(sim.lastOutcome.get(v)?.excluded, true, v);
    // Every remaining GM installed the final TEK; the evicted never saw it.
    const tek = group.dataSecurity[0]!.keymat;
    for (const [m, gm] of sim.gms) assert.deepEqual(sim.lastOutcome.get(m)?.dataSecurity[0]?.keymat, tek, m);
    for (const [m] of sim.evicted) assert.equal(sim.lastOutcome.get(m)?.dataSecurity.length ?? 0, 0, m);
    const ms = performance.now() - started;
    assert.ok(ms < LARGE_BUDGET_MS, `${ms.toFixed(0)} ms`);
    t.diagnostic(`${LARGE} members, degree ${degree}: ${ms.toFixed(0)} ms (registrations, 6 membership rekeys, all GMs)`);
  });
}

test('growth from an empty group: joins fill slots, split leaves, force a commit when only joiners’ leaves are left', () => {
  const random = seededRandom('growth');
  const degree = 3;
  const group = new GroupKeys({ rekeySa: kekTemplate(), dataSecurity: [gcmTemplate()], treeDegree: degree, random });
  const sim = new SimulatedGroup(group, random);
  let forced = 0;
  for (let i = 0; i < 120; i++) {
    const before = group.tree!.canJoin;
    sim.register(`m${i}`);
    if (!before) forced++;
    if (i % 10 === 9) sim.commit();
    if (i % 10 === 9) sim.check();
  }
  sim.commit();
  sim.check();
  assert.ok(forced > 0, 'a batch filled up at least once');
  assert.ok(group.tree!.height <= Math.ceil(Math.log(120) / Math.log(degree)) + 1, `height ${group.tree!.height}`);
  // Churn: evict and rejoin, all still recover.
  for (let i = 0; i < 40; i += 3) sim.evict(`m${i}`);
  sim.commit();
  sim.check();
  for (let i = 120; i < 140; i++) sim.register(`m${i}`);
  sim.commit();
  sim.check();
});

test('evicting a member that holds keys of the pending batch commits that batch first', () => {
  const random = seededRandom('exposed');
  const group = new GroupKeys({ rekeySa: kekTemplate(), dataSecurity: [gcmTemplate()], treeDegree: 2, initialMembers: ['a', 'b', 'c', 'd'], random });
  const sim = new SimulatedGroup(group, random);
  for (const m of ['a', 'b', 'c', 'd']) sim.register(m);
  sim.register('e'); // pending: e holds the new keys of its path
  sim.evict('e'); // must not leave e holding them: the join is committed, then e is evicted
  assert.equal(group.tree!.hasPendingChanges, true);
  sim.commit();
  sim.check();
  assert.equal(sim.lastOutcome.get('e')?.excluded, true);
});
