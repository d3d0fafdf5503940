/** EngineOptions.coalesceSends: datagrams built during one turn leave together, in order, at its end. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { IkeEngine } from '../../../src/ikev2/sa/engine.ts';
import { ExchangeType } from '../../../src/ikev2/registry/index.ts';
import { FakeClock, ep } from './support/harness.ts';

/** An IKE_SA_INIT request header with major version 3: answered with INVALID_MAJOR_VERSION (RFC 7296 §2.5). */
function futureVersionRequest(spiByte: number): Buffer {
  const d = Buffer.alloc(28);
  d.fill(spiByte, 0, 8);
  d[17] = 0x30;
  d[18] = ExchangeType.IKE_SA_INIT;
  d[19] = 0x08; // Initiator
  d.writeUInt32BE(28, 24);
  return d;
}

function engineWith(coalesceSends: boolean): { engine: IkeEngine; sent: Buffer[] } {
  const sent: Buffer[] = [];
  const engine = new IkeEngine({
    sender: { send: (d) => void sent.push(Buffer.from(d)) },
    scheduler: new FakeClock(),
    options: { coalesceSends, invalidSpiPerSecond: 100, livenessIntervalMs: 0 },
  });
  return { engine, sent };
}

test('coalesceSends: answers wait for the end of the turn, then leave in order', async () => {
  const { engine, sent } = engineWith(true);
  await engine.receive(futureVersionRequest(1), ep('10.0.0.2'), ep('10.0.0.1'));
  await engine.receive(futureVersionRequest(2), ep('10.0.0.3'), ep('10.0.0.1'));
  assert.equal(sent.length, 0);
  await nextTurn();
  assert.deepEqual(sent.map((d) => d[0]), [1, 2]);
  await engine.receive(futureVersionRequest(3), ep('10.0.0.2'), ep('10.0.0.1'));
  await nextTurn();
  assert.deepEqual(sent.map((d) => d[0]), [1, 2, 3]);
});

test('by default every answer is sent at once', async () => {
  const { engine, sent } = engineWith(false);
  await engine.receive(futureVersionRequest(1), ep('10.0.0.2'), ep('10.0.0.1'));
  assert.equal(sent.length, 1);
});
