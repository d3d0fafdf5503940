import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  classifyInbound,
  defaultMarkerMode,
  frameIke,
  ikeMessageBudget,
  isIkeSaInitRequest,
  usesMarker,
  type InboundRules,
} from '../../../src/ikev2/transport/index.ts';
import { NON_ESP_MARKER } from '../../../src/ikev2/wire/message.ts';
import { ikeMessage } from './helpers.ts';

const natT: InboundRules = { marked: true, acceptEsp: true, maxIkeLength: 65535 };
const plain: InboundRules = { marked: false, acceptEsp: false, maxIkeLength: 65535 };
const esp = (n: number): Buffer => Buffer.concat([Buffer.from('c0ffee01', 'hex'), Buffer.alloc(n - 4, 1)]);
const marked = (m: Buffer): Buffer => Buffer.concat([NON_ESP_MARKER, m]);

test('marker defaults: 500 and 848 never, 4500 always, custom ports by kind', () => {
  assert.equal(defaultMarkerMode('ike', 500), 'never');
  assert.equal(defaultMarkerMode('ike', 848), 'never');
  assert.equal(defaultMarkerMode('natt', 4500), 'always');
  assert.equal(defaultMarkerMode('ike', 4500), 'always', 'IKE on 4500 is always marked (RFC 7296 §2.23)');
  assert.equal(defaultMarkerMode('natt', 14500), 'always');
  assert.equal(defaultMarkerMode('ike', 10500), 'auto');
});

test("usesMarker 'auto': marked unless either port is plain (strongSwan receiver.c, 848 added)", () => {
  const table: [number, number, boolean][] = [
    [500, 4500, false],
    [4500, 500, false],
    [848, 40000, false],
    [40000, 848, false],
    [40000, 41000, true],
    [4500, 4500, true],
  ];
  for (const [local, remote, want] of table) assert.equal(usesMarker('auto', local, remote), want, `${local} <-> ${remote}`);
  assert.equal(usesMarker('auto', 20500, 41000, [20500]), false, 'configurable plain ports');
  assert.equal(usesMarker('always', 500, 500), true);
  assert.equal(usesMarker('never', 4500, 4500), false);
});

test('NAT-T path: marker stripped, keepalive recognised, ESP routed, junk counted by reason', () => {
  const m = ikeMessage();
  const ike = classifyInbound(marked(m), natT);
  assert.equal(ike.type, 'ike');
  assert.ok(ike.type === 'ike' && ike.message.equals(m));
  assert.deepEqual(classifyInbound(Buffer.from([0xff]), natT), { type: 'keepalive' });
  const e = esp(40);
  const routed = classifyInbound(e, natT);
  assert.ok(routed.type === 'esp' && routed.packet === e, 'the ESP packet is handed over as received');
  assert.deepEqual(classifyInbound(e, { ...natT, acceptEsp: false }), { type: 'drop', reason: 'espNotAccepted' });
  for (const junk of [Buffer.alloc(0), Buffer.from([0]), Buffer.from([0xfe]), Buffer.from([0xff, 0xff]), Buffer.alloc(3, 9), esp(7), marked(Buffer.alloc(27, 1)), Buffer.alloc(4)]) {
    assert.deepEqual(classifyInbound(junk, natT), { type: 'drop', reason: 'tooShort' }, junk.toString('hex'));
  }
  assert.equal(classifyInbound(marked(Buffer.alloc(28, 1)), natT).type, 'ike', 'exactly a header after the marker');
  assert.equal(classifyInbound(esp(8), natT).type, 'esp', 'SPI + sequence number is the shortest ESP');
});

test('plain path: delivered as is (a keepalive or a marker is just a short or odd IKE message)', () => {
  const m = ikeMessage();
  const d = classifyInbound(m, plain);
  assert.ok(d.type === 'ike' && d.message === m);
  assert.deepEqual(classifyInbound(Buffer.from([0xff]), plain), { type: 'drop', reason: 'tooShort' });
  assert.deepEqual(classifyInbound(Buffer.alloc(27, 1), plain), { type: 'drop', reason: 'tooShort' });
  const z = marked(m); // on a plain port the first 8 octets are SPIi, even when they start with zeros
  assert.ok(classifyInbound(z, plain).type === 'ike');
});

test('size bounds: > 65535 and > the configured maximum are dropped as tooLong, marker excluded', () => {
  assert.deepEqual(classifyInbound(Buffer.alloc(65536, 1), plain), { type: 'drop', reason: 'tooLong' });
  assert.deepEqual(classifyInbound(Buffer.alloc(65536, 1), natT), { type: 'drop', reason: 'tooLong' });
  const limit: InboundRules = { ...natT, maxIkeLength: 100 };
  assert.equal(classifyInbound(marked(Buffer.alloc(100, 1)), limit).type, 'ike', '100 + 4 marker octets is fine');
  assert.deepEqual(classifyInbound(marked(Buffer.alloc(101, 1)), limit), { type: 'drop', reason: 'tooLong' });
  assert.deepEqual(classifyInbound(Buffer.alloc(101, 1), { ...plain, maxIkeLength: 100 }), { type: 'drop', reason: 'tooLong' });
});

test('frameIke prepends the marker only when the path is marked', () => {
  const m = ikeMessage();
  const framed = frameIke(m, true);
  assert.ok(Array.isArray(framed), 'a scatter list: no copy of the message');
  assert.deepEqual(Buffer.concat(framed), marked(m));
  assert.equal(frameIke(m, false), m, 'unmarked: the message itself');
});

test('isIkeSaInitRequest: IKE_SA_INIT, R clear, SPIr zero', () => {
  assert.equal(isIkeSaInitRequest(ikeMessage()), true);
  assert.equal(isIkeSaInitRequest(ikeMessage({ response: true })), false);
  assert.equal(isIkeSaInitRequest(ikeMessage({ spiR: Buffer.alloc(8, 1) })), false);
  const auth = Buffer.from(ikeMessage());
  auth[18] = 35;
  assert.equal(isIkeSaInitRequest(auth), false);
  assert.equal(isIkeSaInitRequest(Buffer.alloc(27)), false);
});

test('ikeMessageBudget: IP packet minus IP, UDP and marker (spec digest §A.11: 1280 by default)', () => {
  assert.equal(ikeMessageBudget('IPv4', false), 1280 - 20 - 8);
  assert.equal(ikeMessageBudget('IPv6', true), 1280 - 40 - 8 - 4);
  assert.equal(ikeMessageBudget('IPv4', true, 576), 576 - 20 - 8 - 4);
});
