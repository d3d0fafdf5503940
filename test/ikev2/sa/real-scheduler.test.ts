import { test } from 'node:test';
import assert from 'node:assert/strict';
import { realScheduler, MAX_TIMER_STEP_MS } from '../../../src/ikev2/sa/types.ts';

test('realScheduler: a lifetime beyond 2^31 ms does not fire at once (Node timer overflow)', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let fired = false;
  realScheduler.setTimer(30 * 24 * 3600 * 1000, () => (fired = true)); // 30 days
  t.mock.timers.tick(1);
  assert.equal(fired, false);
  t.mock.timers.tick(MAX_TIMER_STEP_MS);
  assert.equal(fired, false, 'still waiting after the first step');
});

test('realScheduler: short timers fire and can be cancelled', async () => {
  let fired = 0;
  realScheduler.setTimer(5, () => fired++);
  const c = realScheduler.setTimer(5, () => fired++);
  c.cancel();
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(fired, 1);
});
