import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sad, type LifetimeEvent } from '../../src/datapath/sad.ts';
import { formatAddress, parseAddress } from '../../src/datapath/address.ts';
import { matchesSelector, prefix, type Flow } from '../../src/datapath/selector.ts';
import { throwsCode } from './helpers.ts';

const A = parseAddress;
const flow = (src: string, dst: string, protocol = 17, srcPort = 1000, dstPort = 2000): Flow => ({
  src: A(src),
  dst: A(dst),
  protocol,
  srcPort,
  dstPort,
});

test('addresses: parse and format IPv4/IPv6', () => {
  assert.equal(formatAddress(A('192.0.2.1')), '192.0.2.1');
  assert.equal(formatAddress(A('2001:db8::1')), '2001:db8:0:0:0:0:0:1');
  assert.equal(formatAddress(A('::ffff:10.1.2.3')), '0:0:0:0:0:ffff:a01:203');
  assert.equal(formatAddress(A('ff02::')), 'ff02:0:0:0:0:0:0:0');
  throwsCode(() => A('1.2.3'), 'GKM_ESP_BAD_CONFIG');
  throwsCode(() => A('fe80::1%eth0'), 'GKM_ESP_BAD_CONFIG');
});

test('selectors: prefixes, protocol and ports', () => {
  const ts = { src: prefix('10.0.0.0/8'), dst: prefix('239.1.1.0/24'), protocol: 17, dstPorts: [5000, 5001] as const };
  assert.ok(matchesSelector(ts, flow('10.9.9.9', '239.1.1.7', 17, 1, 5000)));
  assert.ok(!matchesSelector(ts, flow('10.9.9.9', '239.1.1.7', 17, 1, 5002)));
  assert.ok(!matchesSelector(ts, flow('10.9.9.9', '239.1.1.7', 6, 1, 5000)));
  assert.ok(!matchesSelector(ts, flow('11.0.0.1', '239.1.1.7', 17, 1, 5000)));
  assert.ok(!matchesSelector(ts, flow('::1', '239.1.1.7', 17, 1, 5000)));
  assert.ok(matchesSelector({ src: prefix('::/0'), dst: prefix('ff00::/8') }, flow('2001:db8::1', 'ff3e::8000:1', 58, -1, -1)));
});

test('inbound lookup order (RFC 5374): SPI+dst+src, then SPI+dst, then SPI', () => {
  const sad = new Sad<string>();
  const g = A('239.1.1.1');
  sad.add({ direction: 'in', spi: 0x1234, sa: 'unicast' });
  sad.add({ direction: 'in', spi: 0x1234, dst: g, sa: 'group' });
  sad.add({ direction: 'in', spi: 0x1234, dst: g, src: A('10.0.0.5'), sa: 'group-sender-5' });
  assert.equal(sad.lookupInbound(0x1234, g, A('10.0.0.5'))?.sa, 'group-sender-5');
  assert.equal(sad.lookupInbound(0x1234, g, A('10.0.0.6'))?.sa, 'group');
  assert.equal(sad.lookupInbound(0x1234, A('192.0.2.1'), A('10.0.0.5'))?.sa, 'unicast');
  assert.equal(sad.lookupInbound(0x9999, g, A('10.0.0.5')), undefined);
  // Same key twice is refused; without the SPI-only entry a non-group dst finds nothing.
  throwsCode(() => sad.add({ direction: 'in', spi: 0x1234, dst: g, sa: 'dup' }), 'GKM_ESP_BAD_CONFIG');
  const unicast = [...sad.entries()].find((e) => e.sa === 'unicast')!;
  assert.ok(sad.remove(unicast));
  assert.equal(sad.lookupInbound(0x1234, A('192.0.2.1'), A('10.0.0.5')), undefined);
  assert.equal(sad.lookupInbound(0x1234, g, A('10.0.0.7'))?.sa, 'group');
});

test('rollover: new SA ahead after ATD, old removed after DTD', () => {
  let now = 1_000_000;
  const sad = new Sad<string>({ clock: () => now });
  const sel = [{ src: prefix('10.0.0.0/8'), dst: prefix('239.1.1.0/24') }];
  const f = flow('10.0.0.1', '239.1.1.1');
  const oldOut = sad.add({ direction: 'out', spi: 0x100, selectors: sel, sa: 'old' });
  const oldIn = sad.add({ direction: 'in', spi: 0x100, dst: A('239.1.1.1'), sa: 'old-in' });
  assert.equal(sad.selectOutbound(f)?.sa, 'old');
  sad.rollover(oldOut, { direction: 'out', spi: 0x200, selectors: sel, sa: 'new' }, { atdMs: 5_000, dtdMs: 30_000 });
  sad.rollover(oldIn, { direction: 'in', spi: 0x200, dst: A('239.1.1.1'), sa: 'new-in' }, { dtdMs: 30_000 });
  // Receivers install at once; senders keep the old SA until ATD.
  assert.equal(sad.lookupInbound(0x200, A('239.1.1.1'), A('10.0.0.1'))?.sa, 'new-in');
  assert.equal(sad.selectOutbound(f)?.sa, 'old');
  now += 5_000;
  assert.equal(sad.selectOutbound(f)?.sa, 'new');
  assert.equal(sad.lookupInbound(0x100, A('239.1.1.1'), A('10.0.0.1'))?.sa, 'old-in');
  now += 25_000;
  assert.equal(sad.lookupInbound(0x100, A('239.1.1.1'), A('10.0.0.1')), undefined, 'past DTD');
  assert.equal(sad.size, 4);
  sad.sweep();
  assert.equal(sad.size, 2);
  assert.equal(sad.selectOutbound(flow('10.0.0.1', '224.0.0.1')), undefined);
});

test('counters and soft/hard lifetimes by packets, bytes and time', () => {
  let now = 0;
  const events: Array<LifetimeEvent<string>> = [];
  const sad = new Sad<string>({ clock: () => now, onLifetime: (e) => events.push(e) });
  const byPackets = sad.add({ direction: 'in', spi: 0x300, sa: 'p', lifetime: { soft: { packets: 3 }, hard: { packets: 5 } } });
  for (let i = 0; i < 4; i++) assert.ok(sad.account(byPackets, 100));
  assert.deepEqual(events.map((e) => [e.entry.sa, e.kind, e.reason]), [['p', 'soft', 'packets']]);
  assert.equal(sad.account(byPackets, 100), false);
  assert.deepEqual(events.at(-1) && [events.at(-1)!.kind, events.at(-1)!.reason], ['hard', 'packets']);
  assert.equal(byPackets.counters.packets, 5);
  assert.equal(byPackets.counters.bytes, 500);
  assert.equal(sad.lookupInbound(0x300, A('1.1.1.1'), A('2.2.2.2')), undefined);

  const byBytes = sad.add({ direction: 'out', spi: 0x301, sa: 'b', lifetime: { hard: { bytes: 1000 } } });
  assert.ok(sad.account(byBytes, 999));
  assert.equal(sad.account(byBytes, 1), false);

  const byTime = sad.add({ direction: 'out', spi: 0x302, sa: 't', lifetime: { soft: { seconds: 10 }, hard: { seconds: 20 } } });
  now += 9_999;
  sad.sweep();
  assert.equal(events.filter((e) => e.entry.sa === 't').length, 0);
  now += 1;
  assert.ok(sad.account(byTime, 1)); // lazily noticed on the packet path
  assert.deepEqual(events.filter((e) => e.entry.sa === 't').map((e) => e.kind), ['soft']);
  now += 10_000;
  sad.sweep();
  assert.deepEqual(events.filter((e) => e.entry.sa === 't').map((e) => `${e.kind}:${e.reason}`), ['soft:seconds', 'hard:seconds']);
  assert.equal(sad.size, 0);

  const e = sad.add({ direction: 'in', spi: 0x303, sa: 'c' });
  e.countError('GKM_ESP_REPLAY');
  e.countError('GKM_ESP_AUTH_FAILED');
  e.countError('GKM_ESP_AUTH_FAILED');
  e.countError('GKM_ESP_BAD_PADDING');
  assert.deepEqual([e.counters.replayDrops, e.counters.authFailures, e.counters.malformed], [1, 2, 1]);
  throwsCode(() => sad.add({ direction: 'in', spi: 0x304, sa: 'x', lifetime: { hard: { bytes: 0 } } }), 'GKM_ESP_BAD_CONFIG');
  throwsCode(() => sad.add({ direction: 'in', spi: 0x304, src: A('1.1.1.1'), sa: 'x' }), 'GKM_ESP_BAD_CONFIG');
});
