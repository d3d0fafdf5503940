/**
 * Group commit of registrations (src/gcks/registration/group-commit.ts): nothing resolves
 * before its batch is committed (a GM gets its reply only after its registration is on
 * disk), a batch stays open for its window and closes early at maxBatch, a failing
 * registration rolls back alone, and a failed commit rejects every registration of it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCommit } from '../../../src/gcks/registration/group-commit.ts';
import type { Store, StoreBatch } from '../../../src/store/index.ts';
import { memoryStore } from '../../store/helpers.ts';

/** A store whose batches are counted and whose commits can be made to fail. */
function countingStore(): { store: Store; commits: () => number; failNext: () => void } {
  const real = memoryStore();
  let commits = 0;
  let fail = false;
  const store: Store = {
    ...real,
    beginBatch(): StoreBatch {
      const b = real.beginBatch();
      return {
        commit: () => {
          if (fail) {
            fail = false;
            throw new Error('disk full');
          }
          b.commit();
          commits++;
        },
        rollback: () => b.rollback(),
      };
    },
  };
  return { store, commits: () => commits, failNext: () => (fail = true) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('registrations within the window share one commit; none resolves before it', async () => {
  const { store, commits } = countingStore();
  const g = store.groups.create({ name: 'g', identity: { idType: 11, data: Buffer.from('g') } });
  const gc = new GroupCommit(store, () => assert.fail('nothing lost'), { windowMs: 1_000 });
  let resolved = 0;
  const write = (name: string) => gc.run(() => store.transaction(() => store.audit.append({ actor: 't', action: name, groupId: g.id }))).then((e) => (resolved++, e));
  const first = write('a');
  await sleep(5); // later turns, same window
  const second = write('b');
  await sleep(5);
  assert.equal(resolved, 0, 'no reply before the commit');
  assert.equal(commits(), 0);
  const [a, b] = await Promise.all([first, second]);
  assert.equal(commits(), 1, 'one commit for both');
  assert.deepEqual([a.action, b.action], ['a', 'b']);
});

test('a full batch commits at the end of the turn; window 0 commits every turn', async () => {
  const { store, commits } = countingStore();
  const gc = new GroupCommit(store, () => undefined, { windowMs: 10_000, maxBatch: 3 });
  const t = performance.now();
  await Promise.all([1, 2, 3].map((i) => gc.run(() => i)));
  assert.ok(performance.now() - t < 5_000, 'did not wait for the window');
  assert.equal(commits(), 1);
  const turn = new GroupCommit(store, () => undefined, { windowMs: 0 });
  await turn.run(() => 1);
  await turn.run(() => 2);
  assert.equal(commits(), 3);
});

test('a failing registration rolls back alone; a failed commit rejects the whole batch and reports the loss', async () => {
  const { store, failNext } = countingStore();
  const g = store.groups.create({ name: 'g', identity: { idType: 11, data: Buffer.from('g') } });
  const lost: unknown[] = [];
  const gc = new GroupCommit(store, (e) => lost.push(e), { windowMs: 1 });
  const add = (name: string, fail = false) =>
    gc.run(() =>
      store.transaction(() => {
        store.audit.append({ actor: 't', action: name, groupId: g.id });
        if (fail) throw new Error('refused');
      }),
    );
  const results = await Promise.allSettled([add('kept'), add('refused', true), add('kept-too')]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.deepEqual(store.audit.list({ groupId: g.id }).map((e) => e.action), ['kept', 'kept-too']);
  failNext();
  const failed = await Promise.allSettled([add('x'), add('y')]);
  assert.deepEqual(failed.map((r) => r.status), ['rejected', 'rejected']);
  assert.equal(lost.length, 1);
  assert.deepEqual(store.audit.list({ groupId: g.id }).map((e) => e.action), ['kept', 'kept-too'], 'the failed batch left nothing');
});
