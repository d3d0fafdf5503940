import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createReplayWindow,
  PerSenderReplay,
  RingWindow,
  ShiftWindow,
  type ReplayWindow,
} from '../../src/datapath/replay.ts';
import { inferSeqHi } from '../../src/datapath/esp/index.ts';
import { rng, throwsCode } from './helpers.ts';

/** check-then-update, as the receiver does after a good ICV. */
const accept = (w: ReplayWindow, seq: number): boolean => {
  if (!w.check(seq)) return false;
  w.update(seq);
  return true;
};

const windows = (): Array<[string, ReplayWindow]> => [
  ['rfc4303 W=64', new ShiftWindow(64)],
  ['rfc4303 W=100', new ShiftWindow(100)],
  ['rfc6479 N=4 (W=96)', new RingWindow(4)],
  ['rfc6479 N=32 (W=992)', new RingWindow(32)],
];

for (const [name, w] of windows()) {
  test(`${name}: basics, exact window edge, far-ahead jump`, () => {
    const W = w.size;
    assert.equal(w.check(0), false, 'sequence number 0 is never valid');
    assert.ok(accept(w, 1));
    assert.equal(accept(w, 1), false);
    assert.ok(accept(w, 3));
    assert.ok(accept(w, 2));
    assert.ok(accept(w, 1000));
    assert.equal(w.top, 1000);
    // Exactly W behind the top is outside; W-1 behind is the oldest accepted.
    assert.equal(w.check(1000 - W), false);
    assert.ok(accept(w, 1000 - W + 1));
    assert.equal(accept(w, 1000 - W + 1), false);
    // A jump far ahead clears everything: old numbers inside the new window are fresh.
    const far = 1000 + 10 * W + 17;
    assert.ok(accept(w, far));
    assert.ok(accept(w, far - 1));
    assert.equal(w.check(1000), false);
    assert.equal(accept(w, far), false);
    // Check alone never changes state.
    assert.ok(w.check(far + 5));
    assert.ok(w.check(far + 5));
    assert.equal(w.top, far);
  });

  test(`${name}: agrees with a reference model on random traffic`, () => {
    const rand = rng(name.length * 7919);
    const seen = new Set<number>();
    let top = 0;
    const W = w.size;
    w.reset(0);
    for (let i = 0; i < 4000; i++) {
      const r = rand();
      const seq = Math.max(0, r < 0.6 ? top + 1 + Math.floor(rand() * 4) : r < 0.95 ? top - Math.floor(rand() * (W + 20)) : top + Math.floor(rand() * 3 * W));
      const expected = seq !== 0 && !seen.has(seq) && seq > top - W;
      assert.equal(w.check(seq), expected, `seq ${seq} top ${top}`);
      if (expected) {
        w.update(seq);
        seen.add(seq);
        top = Math.max(top, seq);
      }
    }
  });
}

test('RFC 6479 ring: wrap of the word index and 53-bit numbers', () => {
  const w = new RingWindow(4); // 4 words of 32 bits, usable 96
  const base = 2 ** 40 + 5;
  assert.ok(accept(w, base));
  for (let s = base + 1; s < base + 200; s += 3) assert.ok(accept(w, s));
  const top = w.top;
  // Words have been reused several times around the ring; old bits must not leak.
  assert.ok(accept(w, top - 95));
  assert.equal(w.check(top - 96), false);
  assert.equal(accept(w, top - 3), false); // sent above
  assert.ok(accept(w, top - 1));
  const big = Number.MAX_SAFE_INTEGER - 1;
  assert.ok(accept(w, big));
  assert.equal(accept(w, big), false);
  assert.ok(accept(w, big - 50));
});

test('window construction: sizes and typed errors', () => {
  assert.equal(createReplayWindow({ size: 64 }).size, 96);
  assert.equal(createReplayWindow({ size: 96 }).size, 96);
  assert.equal(createReplayWindow({ size: 1024 }).size, 2016);
  assert.equal(createReplayWindow({ size: 64, kind: 'rfc4303' }).size, 64);
  throwsCode(() => createReplayWindow({ size: 0 }), 'GKM_ESP_BAD_CONFIG');
  throwsCode(() => new RingWindow(3), 'GKM_ESP_BAD_CONFIG');
  throwsCode(() => new RingWindow(1), 'GKM_ESP_BAD_CONFIG');
});

test('per-sender replay state is independent per Sender-ID and bounded', () => {
  const p = new PerSenderReplay({ size: 64 }, 2);
  assert.ok(p.check(1, 5));
  p.update(1, 5);
  assert.ok(p.check(2, 5));
  p.update(2, 5);
  assert.equal(p.check(1, 5), false);
  assert.equal(p.check(2, 5), false);
  assert.equal(p.check(3, 1), false, 'a third sender exceeds maxSenders');
  assert.equal(p.senders, 2);
});

test('ESN SeqHi inference, RFC 4303 Appendix A.2.1 cases', () => {
  const T = (hi: number, lo: number): number => hi * 2 ** 32 + lo;
  const W = 64;
  // Case A (Tl >= W-1): inside the window or ahead -> Th; below the window bottom -> Th+1 (wrapped).
  assert.equal(inferSeqHi(1000, T(3, 1000), W), 3);
  assert.equal(inferSeqHi(1000 - 63, T(3, 1000), W), 3); // bottom of window
  assert.equal(inferSeqHi(1000 - 64, T(3, 1000), W), 4); // below bottom: next subspace
  assert.equal(inferSeqHi(5, T(3, 1000), W), 4);
  assert.equal(inferSeqHi(0xffff_ffff, T(3, 1000), W), 3); // ahead in the same subspace
  assert.equal(inferSeqHi(63, T(3, 63), W), 3); // Tl = W-1 is case A
  assert.equal(inferSeqHi(0, T(3, 63), W), 3);
  // Case B (Tl < W-1): window spans the previous subspace.
  assert.equal(inferSeqHi(10, T(3, 10), W), 3);
  assert.equal(inferSeqHi(20, T(3, 10), W), 3); // ahead
  assert.equal(inferSeqHi(0xffff_ffff, T(3, 10), W), 2); // in window, previous subspace
  assert.equal(inferSeqHi(2 ** 32 - 53, T(3, 10), W), 2); // bottom = Tl - W + 1 mod 2^32
  assert.equal(inferSeqHi(2 ** 32 - 54, T(3, 10), W), 3); // below bottom -> treated as ahead
  // Th = 0: the previous subspace does not exist.
  assert.equal(inferSeqHi(0xffff_fff0, T(0, 3), W), -1);
  assert.equal(inferSeqHi(1, 0, W), 0);
});
