/** Key IDs, SPIs and Sender-IDs of a group (RFC 9838 §2.5.1, §3.3, §4.4.2). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KEY_ID_MAX, KeyIdAllocator } from '../../../src/gcks/keys/key-ids.ts';
import type { RandomSource } from '../../../src/gcks/keys/random.ts';
import { MemorySenderIdCounter, needsSenderIds, SenderIdAllocator } from '../../../src/gcks/keys/sender-ids.ts';
import { MIN_DATA_SECURITY_SPI, SpiAllocator, spiProblem } from '../../../src/gcks/keys/spi-allocator.ts';
import { isGkmError, type ErrorCode } from '../../../src/ikev2/errors.ts';
import { NotifyType } from '../../../src/ikev2/registry/notify.ts';
import { ProtocolId } from '../../../src/ikev2/registry/misc.ts';
import type { GsaPolicy } from '../../../src/ikev2/wire/payloads/gsa.ts';
import { cbcTemplate, gcmTemplate, seededRandom } from './support.ts';

const code = (c: ErrorCode) => (e: unknown) => isGkmError(e, c);
/** A RandomSource replaying fixed hex values (then failing). */
const scripted = (...values: string[]): RandomSource => (n) => {
  const v = values.shift();
  assert.ok(v !== undefined, 'script exhausted');
  const b = Buffer.from(v, 'hex');
  assert.equal(b.length, n);
  return b;
};

test('Key IDs: 1, 2, 3 … never 0, never reused; exhaustion at 2^32 - 1', () => {
  const ids = new KeyIdAllocator();
  assert.deepEqual([ids.allocate(), ids.allocate(), ids.allocate()], [1, 2, 3]);
  assert.deepEqual(ids.snapshot(), { next: 4 });
  const end = new KeyIdAllocator({ next: KEY_ID_MAX });
  assert.equal(end.remaining, 1);
  assert.equal(end.allocate(), 0xffffffff);
  assert.throws(() => end.allocate(), code('GKM_KEYS_KEY_ID_EXHAUSTED'));
  assert.throws(() => new KeyIdAllocator({ next: 0 }), code('GKM_KEYS_BAD_INPUT'));
});

test('ESP/AH SPIs: 4 octets, ≥ 256, never colliding within the group (ESP and AH share the space)', () => {
  const spis = new SpiAllocator({ random: scripted('00000000', '000000ff', '00000100', '00000100', '0000ffff') });
  assert.equal(spis.allocate(ProtocolId.ESP).toString('hex'), '00000100', '0 and 255 skipped');
  assert.equal(spis.allocate(ProtocolId.AH).toString('hex'), '0000ffff', 'the ESP SPI is not handed out again, even for AH');
  assert.equal(spiProblem(ProtocolId.ESP, Buffer.from('000000ff', 'hex')), 'SPI below 256');
  assert.equal(MIN_DATA_SECURITY_SPI, 256);
  const stuck = new SpiAllocator({ random: () => Buffer.from('00000001', 'hex') });
  assert.throws(() => stuck.allocate(ProtocolId.ESP), (e) => isGkmError(e, 'GKM_KEYS_SPI_EXHAUSTED') && e.notify === NotifyType.REGISTRATION_FAILED);
});

test('Rekey SA SPIs: 16 octets, both halves non-zero, the Initiator half unique', () => {
  const a = '0102030405060708' + 'a1a2a3a4a5a6a7a8';
  const sameHead = '0102030405060708' + 'b1b2b3b4b5b6b7b8';
  const zeroTail = '1112131415161718' + '0000000000000000';
  const ok = '2122232425262728' + 'c1c2c3c4c5c6c7c8';
  const spis = new SpiAllocator({ random: scripted(a, sameHead, zeroTail, ok) });
  assert.equal(spis.allocate(ProtocolId.GIKE_UPDATE).toString('hex'), a);
  assert.equal(spis.allocate(ProtocolId.GIKE_UPDATE).toString('hex'), ok);
});

test('GSA_NEXT_SPI reservations: reserved SPIs are claimed first, can be forgotten, and survive a snapshot', () => {
  const random = seededRandom('spis');
  const spis = new SpiAllocator({ random });
  const next = spis.reserveNext(ProtocolId.ESP);
  const nextKek = spis.reserveNext(ProtocolId.GIKE_UPDATE);
  assert.deepEqual(spis.reservations(ProtocolId.ESP), [next]);
  const copy = new SpiAllocator({ random, state: spis.snapshot() });
  assert.deepEqual(copy.claim(ProtocolId.ESP), next);
  assert.deepEqual(copy.claim(ProtocolId.GIKE_UPDATE), nextKek);
  assert.ok(copy.isTaken(ProtocolId.ESP, next), 'a claimed SPI is in use');
  assert.notDeepEqual(copy.claim(ProtocolId.ESP), next, 'no reservation left: a fresh SPI');
  spis.forgetReservations();
  assert.deepEqual(spis.reservations(ProtocolId.ESP), []);
  assert.equal(spis.isTaken(ProtocolId.ESP, next), false);
  const live = spis.allocate(ProtocolId.ESP);
  spis.release(ProtocolId.ESP, live);
  assert.equal(spis.isTaken(ProtocolId.ESP, live), false);
  const shared = new SpiAllocator({ random: scripted('00001000', '00002000'), alsoTaken: (_p, spi) => spi.readUInt32BE(0) === 0x1000 });
  assert.equal(shared.allocate(ProtocolId.ESP).toString('hex'), '00002000', 'taken elsewhere (another group)');
});

test('Sender-IDs: counter from 0, fresh per registration, 0 counts as 1, never above the request or the cap', () => {
  const ids = new SenderIdAllocator({ bits: 16, cap: 4 });
  assert.deepEqual(ids.grant(0), { kind: 'granted', ids: [0], exhausted: false });
  assert.deepEqual(ids.grant(1), { kind: 'granted', ids: [1], exhausted: false });
  assert.deepEqual(ids.grant(3), { kind: 'granted', ids: [2, 3, 4], exhausted: false });
  assert.deepEqual(ids.grant(100), { kind: 'granted', ids: [5, 6, 7, 8], exhausted: false }, 'capped');
  assert.equal(ids.remaining, 2 ** 16 - 9);
  assert.throws(() => ids.grant(-1), code('GKM_KEYS_BAD_INPUT'));
  assert.throws(() => new SenderIdAllocator({ bits: 0 }), code('GKM_KEYS_BAD_INPUT'));
  assert.throws(() => new SenderIdAllocator({ bits: 8, cap: 0 }), code('GKM_KEYS_BAD_INPUT'));
});

test('Sender-IDs: exhaustion of GWP_SENDER_ID_BITS says "exclude all and rekey"; restart() counts from 0 again', () => {
  const counter = new MemorySenderIdCounter();
  const ids = new SenderIdAllocator({ bits: 2, cap: 8, counter });
  assert.deepEqual(ids.grant(1), { kind: 'granted', ids: [0], exhausted: false });
  assert.deepEqual(ids.grant(2), { kind: 'granted', ids: [1, 2], exhausted: false });
  assert.deepEqual(ids.grant(5), { kind: 'granted', ids: [3], exhausted: true }, 'fewer than asked; space now used up');
  assert.deepEqual(ids.grant(1), { kind: 'exhausted' });
  assert.equal(counter.next(), 4);
  ids.restart();
  assert.deepEqual(ids.grant(1), { kind: 'granted', ids: [0], exhausted: false });
  // Wide fields are limited by the 4-octet GM_SENDER_ID encoding.
  assert.equal(new SenderIdAllocator({ bits: 40 }).space, 2 ** 32);
});

test('Sender-IDs are needed for GROUP_SENDER + a counter-mode SA only', () => {
  const spi = Buffer.from('00001234', 'hex');
  const gcm: GsaPolicy = { ...gcmTemplate(), spi };
  const cbc: GsaPolicy = { ...cbcTemplate(), spi };
  assert.equal(needsSenderIds(true, [gcm]), true);
  assert.equal(needsSenderIds(false, [gcm]), false);
  assert.equal(needsSenderIds(true, [cbc]), false);
});
