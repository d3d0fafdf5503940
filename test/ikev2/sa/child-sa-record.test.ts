/** ChildSaRecord (src/ikev2/sa/child-sa.ts): what the engine keeps of a Child SA, packed small values included. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GkmError } from '../../../src/ikev2/errors.ts';
import { ChildSaRecord, ChildSaTable, spiBytes, type ChildSaFields } from '../../../src/ikev2/sa/child-sa.ts';

const fields = (over: Partial<ChildSaFields> = {}): ChildSaFields => ({
  name: 'net',
  protocolId: 3,
  mode: 'tunnel',
  inboundSpi: spiBytes(0xc0ffee01),
  outboundSpi: spiBytes(0x00000102),
  localTs: [],
  remoteTs: [],
  suite: { encrId: 20, keyLengthBits: 256, integId: undefined, esn: false },
  encapsulated: false,
  keMethods: [],
  state: 'installed',
  installedAt: 5,
  ...over,
});

test('ChildSaRecord reads back every value it packs, and its state and lifetime stage change alone', () => {
  const a = new ChildSaRecord(fields());
  assert.deepEqual([a.protocolId, a.mode, a.encapsulated, a.initial, a.state, a.lifetimeStage, a.installedAt], [3, 'tunnel', false, undefined, 'installed', 'soft', 5]);
  assert.deepEqual([a.inboundSpiValue, a.outboundSpiValue, a.inboundSpi.toString('hex')], [0xc0ffee01, 0x102, 'c0ffee01']);
  const b = new ChildSaRecord(fields({ protocolId: 2, mode: 'transport', encapsulated: true, initial: true, state: 'rekeyed' }));
  assert.deepEqual([b.protocolId, b.mode, b.encapsulated, b.initial, b.state], [2, 'transport', true, true, 'rekeyed']);
  assert.equal(new ChildSaRecord(fields({ initial: false })).initial, false);
  for (const state of ['rekeying', 'deleting', 'installed'] as const) {
    b.state = state;
    b.lifetimeStage = 'hard';
    assert.deepEqual([b.protocolId, b.mode, b.encapsulated, b.initial, b.state, b.lifetimeStage], [2, 'transport', true, true, state, 'hard']);
  }
  b.lifetimeStage = 'done';
  assert.deepEqual([b.state, b.lifetimeStage], ['installed', 'done']);
  assert.equal(b.lifetime, undefined);
  b.lifetime = { rekeyAt: 10, expireAt: 20 };
  assert.deepEqual(b.lifetime, { rekeyAt: 10, expireAt: 20 });
  const bad = (e: unknown): boolean => e instanceof GkmError && e.code === 'GKM_IKE_INVALID_STATE';
  assert.throws(() => new ChildSaRecord(fields({ protocolId: 256 })), bad);
  assert.throws(() => new ChildSaRecord(fields({ mode: 'beet' as 'tunnel' })), bad);
  assert.throws(() => (b.state = 'gone' as 'installed'), bad);
  assert.equal(b.state, 'installed');
});

test('ChildSaTable: Child SAs by inbound SPI (hex), the key read from the record', () => {
  const t = new ChildSaTable();
  const a = new ChildSaRecord(fields());
  const b = new ChildSaRecord(fields({ inboundSpi: spiBytes(0x100) }));
  t.set('c0ffee01', a).set('00000100', b);
  assert.equal(t.get('c0ffee01'), a);
  assert.deepEqual([...t.keys()], ['c0ffee01', '00000100']);
  assert.throws(() => t.set('c0ffee02', a), (e: unknown) => e instanceof GkmError && e.code === 'GKM_IKE_INVALID_STATE');
});
