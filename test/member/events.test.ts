import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildSaSummary, IkeEvent, IkeSaSummary } from '../../src/ikev2/sa/events.ts';
import { TsType } from '../../src/ikev2/registry/index.ts';
import type { AddressRangeSelector } from '../../src/ikev2/wire/sub/traffic-selector.ts';
import { describeEvent } from '../../src/member/describe.ts';
import { memberEvent, selectorText, type EventContext } from '../../src/member/events.ts';

const v4 = (s: string): Buffer => Buffer.from(s.split('.').map(Number));
const v6 = (hex: string): Buffer => Buffer.from(hex, 'hex');
const sel = (start: Buffer, end: Buffer, ipProtocol = 0, startPort = 0, endPort = 0xffff): AddressRangeSelector => ({
  tsType: start.length === 4 ? TsType.TS_IPV4_ADDR_RANGE : TsType.TS_IPV6_ADDR_RANGE,
  ipProtocol,
  startPort,
  endPort,
  startAddress: start,
  endAddress: end,
});

test('selector text: CIDR blocks, ranges, single hosts, IPv6 compression, protocol and ports', () => {
  assert.equal(selectorText(sel(v4('10.1.0.0'), v4('10.1.255.255'))), '10.1.0.0/16');
  assert.equal(selectorText(sel(v4('0.0.0.0'), v4('255.255.255.255'))), '0.0.0.0/0');
  assert.equal(selectorText(sel(v4('10.1.0.5'), v4('10.1.0.5'))), '10.1.0.5/32');
  assert.equal(selectorText(sel(v4('10.1.0.5'), v4('10.1.0.9'))), '10.1.0.5-10.1.0.9');
  assert.equal(selectorText(sel(v4('10.1.0.0'), v4('10.1.1.254'))), '10.1.0.0-10.1.1.254');
  assert.equal(selectorText(sel(v6('20010db8000000000000000000000000'), v6('20010db8ffffffffffffffffffffffff'))), '2001:db8::/32');
  assert.equal(selectorText(sel(v6('00000000000000000000000000000001'), v6('00000000000000000000000000000001'))), '::1/128');
  assert.equal(selectorText(sel(v6('20010db8000000000001000000000001'), v6('20010db8000000000001000000000001'))), '2001:db8::1:0:0:1/128');
  assert.equal(selectorText(sel(v4('10.0.0.1'), v4('10.0.0.1'), 6, 443, 443)), '10.0.0.1/32[tcp/443]');
  assert.equal(selectorText(sel(v4('10.0.0.1'), v4('10.0.0.1'), 17, 1000, 2000)), '10.0.0.1/32[udp/1000-2000]');
  assert.equal(selectorText(sel(v4('10.0.0.1'), v4('10.0.0.1'), 47)), '10.0.0.1/32[gre]');
  assert.equal(selectorText(sel(v4('10.0.0.1'), v4('10.0.0.1'), 200)), '10.0.0.1/32[200]');
});

const ike: IkeSaSummary = {
  id: '0102030405060708',
  name: 'gw',
  role: 'initiator',
  spiI: '0102030405060708',
  spiR: '1112131415161718',
  local: { ip: '127.0.0.1', port: 500 },
  remote: { ip: '127.0.0.2', port: 500 },
  localId: 'a@x',
  remoteId: 'b@x',
  suite: { encr: 'AES_GCM_16/256', prf: 'HMAC_SHA2_256', ke: 'CURVE25519' },
  natLocal: false,
  natRemote: true,
};
const child: ChildSaSummary = { name: 'net', protocol: 'esp', mode: 'tunnel', inboundSpi: 'c0ffee01', outboundSpi: 'c0ffee02', encapsulated: true, suite: { encr: 'AES_GCM_16/128', sn: 'SEQ32' } };
const ctx: EventContext = {
  conn: (id) => (id === ike.id ? 'gw' : undefined),
  selectors: () => ({ localTs: [sel(v4('10.1.0.0'), v4('10.1.255.255'))], remoteTs: [sel(v4('10.2.0.0'), v4('10.2.255.255'))] }),
};

test('engine events become JSON lines with time, connection and selectors; descriptions for the log', () => {
  const cases: [IkeEvent, Record<string, unknown>, RegExp][] = [
    [{ type: 'ike_up', ike }, { event: 'ike_up', ike }, /^IKE SA gw\[0102030405060708\] up as initiator: 127\.0\.0\.1:500 <-> 127\.0\.0\.2:500, a@x <-> b@x, AES_GCM_16\/256 HMAC_SHA2_256 CURVE25519 NAT\(remote\)$/],
    [
      { type: 'child_up', ikeSaId: ike.id, child },
      { event: 'child_up', ikeSaId: ike.id, conn: 'gw', child: { ...child, localTs: ['10.1.0.0/16'], remoteTs: ['10.2.0.0/16'] } },
      /^Child SA gw\/net up on 0102030405060708: SPIs c0ffee01_i c0ffee02_o, tunnel UDP-encapsulated, AES_GCM_16\/128 SEQ32, 10\.1\.0\.0\/16 === 10\.2\.0\.0\/16$/,
    ],
    [
      { type: 'child_up', ikeSaId: ike.id, child: { ...child, resourceId: '' } },
      { event: 'child_up', ikeSaId: ike.id, conn: 'gw', child: { ...child, resourceId: '', localTs: ['10.1.0.0/16'], remoteTs: ['10.2.0.0/16'] } },
      /, resource fallback$/,
    ],
    [{ type: 'rekeyed', ikeSaId: ike.id, what: 'child', old: 'c0ffee01', new: 'c0ffee03' }, { event: 'rekeyed', ikeSaId: ike.id, conn: 'gw', what: 'child', old: 'c0ffee01', new: 'c0ffee03' }, /^Child SA c0ffee01 rekeyed to c0ffee03 \(gw\)$/],
    [{ type: 'deleted', ikeSaId: ike.id, what: 'child', reason: 'peer', child }, { event: 'deleted', ikeSaId: ike.id, conn: 'gw', what: 'child', reason: 'peer', child }, /^Child SA net c0ffee01_i of 0102030405060708 deleted \(peer\)$/],
    [{ type: 'deleted', ikeSaId: ike.id, what: 'ike', reason: 'timeout' }, { event: 'deleted', ikeSaId: ike.id, conn: 'gw', what: 'ike', reason: 'timeout' }, /^IKE SA gw\[0102030405060708\] deleted \(timeout\)$/],
    [
      { type: 'error', ikeSaId: ike.id, code: 'GKM_IKE_PEER_ERROR', notify: 14, notifyName: 'NO_PROPOSAL_CHOSEN', message: 'Child SA net not created' },
      { event: 'error', ikeSaId: ike.id, conn: 'gw', code: 'GKM_IKE_PEER_ERROR', notify: 14, notifyName: 'NO_PROPOSAL_CHOSEN', message: 'Child SA net not created' },
      /^error GKM_IKE_PEER_ERROR \(NO_PROPOSAL_CHOSEN 14\) on gw\[0102030405060708\]: Child SA net not created$/,
    ],
  ];
  for (const [input, expected, description] of cases) {
    const e = memberEvent(input, ctx);
    const { time, ...rest } = e;
    assert.match(time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(rest, expected);
    assert.deepEqual(JSON.parse(JSON.stringify(e)), e, 'plain JSON');
    assert.match(describeEvent(e), description);
  }
});
