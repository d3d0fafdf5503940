/**
 * The engine's TimerQueue (src/ikev2/sa/timer-queue.ts): many per-SA timers on one
 * scheduler timer, fired in (due, arming) order, never for a closed owner, cancellable, and
 * compacted when dead entries dominate.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimerQueue } from '../../../src/ikev2/sa/timer-queue.ts';
import { FakeClock } from './support/harness.ts';

class Owner {
  isOpen = true;
  armedTimers = 0;
}

/** Runs the fake clock's timers up to `until`, in order. */
function runUntil(clock: FakeClock, until: number): void {
  for (let t = clock.takeDue(until); t; t = clock.takeDue(until)) {
    clock.set(Math.max(clock.now(), t.at));
    t.fn();
  }
  clock.set(until);
}

test('fires in due order, ties in arming order, with the owner and both arguments', () => {
  const clock = new FakeClock();
  const q = new TimerQueue<Owner>(clock);
  const o = new Owner();
  const fired: string[] = [];
  const h = (owner: Owner, a: unknown, b: unknown): void => void fired.push(`${String(a)}${String(b)}@${clock.now()}${owner === o ? '' : '?'}`);
  q.add(o, 30, h, 'c', 1);
  q.add(o, 10, h, 'a', 1);
  q.add(o, 10, h, 'b', 2);
  q.add(o, 20, h, 'x', 3).cancel();
  assert.equal(o.armedTimers, 3);
  assert.equal(clock.pendingTimers, 1, 'one scheduler timer for all');
  runUntil(clock, 25);
  assert.deepEqual(fired, ['a1@10', 'b2@10']);
  runUntil(clock, 100);
  assert.deepEqual(fired, ['a1@10', 'b2@10', 'c1@30']);
  assert.equal(o.armedTimers, 0);
  assert.equal(clock.pendingTimers, 0);
});

test('an earlier timer re-arms the scheduler; a timer armed while firing waits for the next turn', () => {
  const clock = new FakeClock();
  const q = new TimerQueue<Owner>(clock);
  const o = new Owner();
  const fired: number[] = [];
  q.add(o, 1000, () => fired.push(clock.now()));
  q.add(o, 5, () => {
    fired.push(clock.now());
    q.add(o, 0, () => fired.push(-clock.now()));
  });
  runUntil(clock, 2000);
  assert.deepEqual(fired, [5, -5, 1000]);
});

test('closed owners: their timers never fire and are compacted away', () => {
  const clock = new FakeClock();
  const q = new TimerQueue<Owner>(clock);
  const owners = Array.from({ length: 200 }, () => new Owner());
  let fired = 0;
  for (const o of owners) for (let i = 0; i < 3; i++) q.add(o, 1000 + i, () => fired++);
  assert.equal(q.size, 600);
  for (const o of owners.slice(0, 150)) {
    o.isOpen = false;
    q.noteDead(o.armedTimers);
  }
  assert.ok(q.size <= 150 * 3, `compacted to the live entries (${q.size})`);
  runUntil(clock, 5000);
  assert.equal(fired, 50 * 3);
  assert.equal(q.size, 0);
});

test('a throwing handler does not stop later timers', () => {
  const clock = new FakeClock();
  const q = new TimerQueue<Owner>(clock);
  const o = new Owner();
  let later = false;
  q.add(o, 1, () => {
    throw new Error('boom');
  });
  q.add(o, 2, () => (later = true));
  assert.throws(() => runUntil(clock, 1), /boom/);
  runUntil(clock, 10);
  assert.ok(later);
});
