/**
 * The Message ID windows (src/ikev2/sa/windows.ts, RFC 7296 §2.3) and what an IKE SA keeps as
 * latin1 strings (retained.ts): the cached responses, the SPIs and the peer's identity.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { datagramDigest, MessageWindows } from '../../../src/ikev2/sa/windows.ts';
import { latin1Bytes, latin1Equals, latin1Of } from '../../../src/ikev2/sa/retained.ts';

const bytes = (...o: number[]): Buffer => Buffer.from(o);

test('latin1Of / latin1Bytes / latin1Equals keep every octet value', () => {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const s = latin1Of(all.subarray(0, 100), all.subarray(100));
  assert.equal(s.length, 256);
  assert.deepEqual(latin1Bytes(s), all);
  assert.deepEqual(latin1Bytes(s, 250, 256), all.subarray(250));
  assert.equal(latin1Equals(s, 200, all.subarray(200, 210)), true);
  assert.equal(latin1Equals(s, 200, all.subarray(201, 211)), false);
  assert.equal(latin1Equals(s, 250, all.subarray(0, 10)), false, 'past the end');
  assert.equal(latin1Of(all.subarray(3, 7)), latin1Of(bytes(3, 4, 5, 6)), 'a view: its own octets only');
});

test('the responder window answers a retransmission with the same datagrams, only for the same request', () => {
  const w = new MessageWindows(0, 1);
  const request = Buffer.from('IKE_SA_INIT request');
  assert.equal(w.classify(0), 'new');
  w.begin(0);
  assert.equal(w.classify(0), 'in-progress');
  const response = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff));
  w.answered(0, [response], [datagramDigest(request)]);
  assert.equal(w.lowest, 1);
  assert.equal(w.classify(0), 'retransmit');
  assert.deepEqual(w.cachedFor(0, datagramDigest(request)), [response]);
  assert.equal(w.cachedFor(0, datagramDigest(Buffer.from('another request'))), undefined);
  assert.equal(w.cachedFor(1, datagramDigest(request)), undefined);
  response.fill(0);
  assert.notDeepEqual(w.cachedFor(0, datagramDigest(request)), [response], 'a copy, not the sent Buffer');

  // The next request slides the window: the response to MID 0 is forgotten (window size 1).
  w.answered(1, [bytes(1)], [5]);
  assert.equal(w.classify(0), 'outside');
  assert.equal(w.classify(1), 'retransmit');
  assert.equal(w.classify(2), 'new');
  assert.equal(w.classify(3), 'outside');
});

test('fragments, several request digests, digests up to 2^53 and larger windows', () => {
  const w = new MessageWindows(0, 2);
  const big = 2 ** 53 - 1;
  const fragments = [bytes(1, 2, 3), Buffer.alloc(0), Buffer.alloc(70_000, 9)];
  w.answered(1, fragments, [big, 0, big]);
  assert.equal(w.lowest, 0, 'MID 0 not answered yet');
  assert.deepEqual(w.cachedFor(1, big), fragments);
  assert.deepEqual(w.cachedFor(1, 0), fragments);
  assert.equal(w.cachedFor(1, big - 1), undefined);
  w.answered(0, [bytes(0)], [0x1fffff * 2 ** 32 + 0xffffffff]);
  assert.equal(w.lowest, 2);
  assert.deepEqual(w.cachedFor(0, 0x1fffff * 2 ** 32 + 0xffffffff), [bytes(0)]);
  assert.deepEqual(w.cachedFor(1, big), fragments);
  w.answered(3, [bytes(3)], [3]);
  assert.equal(w.classify(0), 'retransmit', 'kept: 2 x window size responses');
  w.answered(2, [bytes(2)], [2]);
  assert.equal(w.lowest, 4);
  assert.equal(w.classify(0), 'outside');
  assert.equal(w.classify(1), 'outside');
  assert.deepEqual([2, 3].map((mid) => w.cachedFor(mid, mid)), [[bytes(2)], [bytes(3)]]);
  // A Message ID at the top of the range (RFC 7296 §2.3: no wrap).
  const top = new MessageWindows(0xfffffffe, 1);
  top.answered(0xfffffffe, [bytes(7)], [7]);
  assert.deepEqual(top.cachedFor(0xfffffffe, 7), [bytes(7)]);
});

test('one object, two windows: our requests and the peer\'s are counted apart', () => {
  const w = new MessageWindows(0, 1);
  assert.equal(w.allocate(), 0);
  assert.equal(w.canSend(), false, 'the peer\'s window (1) is full');
  assert.equal(w.classify(0), 'new', 'the peer\'s MID 0 is still new');
  w.answered(0, [bytes(1)], [1]);
  assert.deepEqual([w.nextMessageId, w.isInFlight(0), w.lowest], [1, true, 1]);
  w.complete(0);
  assert.deepEqual([w.canSend(), w.inFlightCount, w.classify(0)], [true, 0, 'retransmit']);
});
