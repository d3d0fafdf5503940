/**
 * SA lifetimes (RFC 7296 §2.8; exchanges/create-child-sa.ts): one timer per IKE SA for its
 * own deadlines and those of its Child SAs, each deadline kept as numbers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { child, eventsOf, mirror } from './support/harness.ts';
import { assertChildrenAgree, establishedPair, liveSa } from './support/rekey.ts';

test('lifetimes: one timer per IKE SA for the IKE SA and its Child SAs, each rekeyed at its soft deadline', async () => {
  const c = child({ lifetime: { lifetimeMs: 60_000, rekeyMarginMs: 10_000, jitterMs: 0 } });
  const ike = { lifetimeMs: 100_000, rekeyMarginMs: 20_000, jitterMs: 0 };
  const { world, i, r, isa, rsa } = await establishedPair({ initiator: { children: [c], ikeLifetime: ike }, responder: { children: [mirror(c)], ikeLifetime: ike } });
  assert.equal(isa.armedTimers, 1, 'one lifetime timer, no more per Child SA');
  assert.equal(rsa().armedTimers, 1, 'the responder: armed once the IKE_AUTH Child SA is in (no cancelled entry left)');
  assert.deepEqual([isa.ikeRekeyAt >= 0, isa.ikeExpireAt > isa.ikeRekeyAt, isa.lifetimeDue < isa.ikeRekeyAt], [true, true, true], 'armed for the Child SA first');
  await world.advance(51_000); // the Child SA's soft deadline (50 s)
  assert.ok(eventsOf(i, 'rekeyed').some((e) => e.what === 'child'));
  assert.equal(isa.phase, 'established');
  assertChildrenAgree(i, r);
  await world.advance(30_000); // the IKE SA's soft deadline (80 s)
  assert.equal(isa.phase, 'closed');
  const inew = liveSa(i);
  assert.equal(inew.children.size, 1, 'the Child SA moved to the new IKE SA');
  assertChildrenAgree(i, r);
  assert.equal(eventsOf(i, 'deleted').filter((e) => e.reason === 'expired').length, 0, 'nothing reached a hard deadline');
});
