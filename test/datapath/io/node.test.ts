/**
 * DatapathNode on loopback: a group SA over multicast on lo (one sender, two receivers,
 * replays and forgeries dropped and counted), unicast ESP in UDP through the IKE transport's
 * NAT-T socket (RFC 3948) in both directions, and the install/remove bookkeeping.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { isGkmError } from '../../../src/ikev2/errors.ts';
import { IkeTransport } from '../../../src/ikev2/transport/index.ts';
import { NON_ESP_MARKER } from '../../../src/ikev2/wire/message.ts';
import { parseAddress } from '../../../src/datapath/address.ts';
import { DatapathNode, UdpTap, wrapUdp, type GroupIo } from '../../../src/datapath/io/index.ts';
import { UserspaceProvider } from '../../../src/datapath/userspace.ts';
import { App, groupPort, groupSa, MemoryPort, numbered, numberOf, sleep, unicastSa, waitUntil } from './helpers.ts';

const rejectsCode = (p: Promise<unknown>, code: string): Promise<void> => assert.rejects(p, (e: unknown) => isGkmError(e) && e.code === code);

test('group SA on lo: one sender, two receivers; replayed and forged packets dropped and counted', async () => {
  const group = '239.255.77.1';
  const io: GroupIo = { kind: 'group', group, port: groupPort(), interface: '127.0.0.1', ttl: 1, loopback: true };
  const N = 60;
  const apps = await Promise.all([App.open(), App.open(), App.open()]);
  const [sendApp, app1, app2] = apps as [App, App, App];
  const sTap = await UdpTap.open({ format: 'udp', inner: { src: '127.0.0.1', dst: group, dstPort: 5001, ttl: 1 } });
  const sender = new DatapathNode({ plaintext: sTap });
  const receivers = await Promise.all(
    [app1, app2].map(async (app) => new DatapathNode({ plaintext: await UdpTap.open({ format: 'udp', deliver: { address: '127.0.0.1', port: app.port } }) })),
  );
  // An on-path observer that keeps copies of the group's ESP.
  const spy = createSocket({ type: 'udp4', reuseAddr: true });
  const captured: Buffer[] = [];
  spy.on('message', (m) => captured.push(Buffer.from(m)));
  spy.bind(io.port, group);
  await once(spy, 'listening');
  spy.addMembership(group, '127.0.0.1');
  try {
    const rIn = await Promise.all(receivers.map((r) => r.install(groupSa('in', io))));
    const sOut = await sender.install(groupSa('out', io, { senderId: 3 }));
    for (let i = 0; i < N; i++) {
      sendApp.send(numbered(i, 200), sTap.local.port);
      if (i % 16 === 15) await sleep(2);
    }
    await waitUntil(() => app1.received.length === N && app2.received.length === N, 'every packet at both receivers');
    for (const app of [app1, app2]) {
      assert.deepEqual(app.received.map(numberOf).sort((a, b) => a - b), [...Array(N).keys()]);
      assert.ok(app.received.every((p) => p.length === 200));
    }
    assert.equal(sender.stats().node.espOut, N);
    assert.equal(sender.saStats(sOut).packets, N);
    await waitUntil(() => captured.length === N, 'the observer saw the group traffic');
    // The IV carries Sender-ID 3 in its top 8 bits (RFC 6054, RFC 9838 §2.5).
    assert.ok(captured.every((p) => p[8] === 3));

    // Replays (same bytes again) and forgeries (fresh sequence number, ciphertext bit flipped).
    const attacker = createSocket('udp4');
    attacker.bind(0, '127.0.0.1');
    await once(attacker, 'listening');
    attacker.setMulticastInterface('127.0.0.1');
    for (const p of captured.slice(0, 4)) attacker.send(p, io.port, group);
    for (let i = 0; i < 3; i++) {
      const f = Buffer.from(captured[i]!);
      f.writeUInt32BE(100_000 + i, 4);
      f[30]! ^= 0x01;
      attacker.send(f, io.port, group);
    }
    await waitUntil(() => receivers.every((r) => r.stats().node.espIn === N + 7), 'replays and forgeries at the receivers');
    attacker.close();
    for (const [i, r] of receivers.entries()) {
      const s = r.stats().node;
      assert.equal(s.drops.GKM_ESP_REPLAY, 4);
      assert.equal(s.drops.GKM_ESP_AUTH_FAILED, 3);
      assert.equal(s.plaintextOut, N);
      const sa = r.saStats(rIn[i]!);
      assert.deepEqual([sa.packets, sa.replayDrops, sa.authFailures], [N, 4, 3]);
      const sock = r.stats().sockets;
      assert.equal(sock.length, 1);
      assert.equal(sock[0]!.role, 'group-receiver');
      assert.equal(sock[0]!.counters.esp, N + 7);
    }
    await sleep(20);
    assert.equal(app1.received.length, N, 'nothing more was delivered');
  } finally {
    spy.close();
    await Promise.all([sender.close(), ...receivers.map((r) => r.close()), ...apps.map((a) => a.close())]);
  }
});

test('unicast ESP in UDP through the IKE transport (RFC 3948): both directions; IKE and keepalives still reach IKE', async () => {
  const ta = await IkeTransport.open({ sockets: [{ address: '127.0.0.1', port: 0, kind: 'natt' }] });
  // B listens on the wildcard: Node cannot tell the destination, so B names its address.
  const tb = await IkeTransport.open({ sockets: [{ address: '0.0.0.0', port: 0, kind: 'natt' }] });
  const ea = ta.localEndpoint('natt', 'IPv4')!;
  const eb = tb.localEndpoint('natt', 'IPv4')!;
  const appA = await App.open();
  const appB = await App.open();
  const tapA = await UdpTap.open({ format: 'udp', inner: { src: '10.1.0.1', dst: '10.2.0.1', dstPort: 5000 }, deliver: { address: '127.0.0.1', port: appA.port } });
  const tapB = await UdpTap.open({ format: 'udp', inner: { src: '10.2.0.1', dst: '10.1.0.1', dstPort: 5000 }, deliver: { address: '127.0.0.1', port: appB.port } });
  const a = new DatapathNode({ plaintext: tapA, unicast: ta });
  const b = new DatapathNode({ plaintext: tapB, unicast: tb, localAddresses: ['127.0.0.1'] });
  ta.setEspHandler(a.espHandler);
  tb.setEspHandler(b.espHandler);
  const ikeAtB: Buffer[] = [];
  tb.setIkeHandler((d) => void ikeAtB.push(Buffer.from(d.data)));
  const toB = { address: '127.0.0.1', port: eb.port };
  const toA = { address: '127.0.0.1', port: ea.port };
  const viaB = { address: '0.0.0.0', port: eb.port };
  try {
    await a.install(unicastSa('out', 0x1001, { src: '127.0.0.1', dst: '127.0.0.2' }, { kind: 'unicast', remote: toB, via: ea }));
    // SPI + destination lookup (RFC 5374 §3.3) with the destination named by localAddresses.
    const bIn = await b.install({ ...unicastSa('in', 0x1001, { src: '127.0.0.1', dst: '127.0.0.2' }, { kind: 'unicast', remote: toA, via: viaB }), dst: parseAddress('127.0.0.1') });
    await b.install(unicastSa('out', 0x2002, { src: '127.0.0.2', dst: '127.0.0.1' }, { kind: 'unicast', remote: toA, via: viaB }, 6));
    await a.install(unicastSa('in', 0x2002, { src: '127.0.0.2', dst: '127.0.0.1' }, { kind: 'unicast', remote: toB, via: ea }, 6));
    const N = 40;
    for (let i = 0; i < N; i++) {
      appA.send(numbered(i, 300), tapA.local.port);
      appB.send(numbered(1000 + i, 100), tapB.local.port);
    }
    await waitUntil(() => appA.received.length === N && appB.received.length === N, 'both directions');
    assert.deepEqual(appB.received.map(numberOf).sort((x, y) => x - y), [...Array(N).keys()]);
    assert.deepEqual(appA.received.map(numberOf).sort((x, y) => x - y), [...Array(N).keys()].map((i) => 1000 + i));
    assert.equal(b.saStats(bIn).packets, N);

    // The same NAT-T socket still carries IKE (marked) and keepalives, which never reach ESP.
    const raw = createSocket('udp4');
    raw.bind(0, '127.0.0.1');
    await once(raw, 'listening');
    raw.send(Buffer.concat([NON_ESP_MARKER, Buffer.alloc(28, 0x11)]), eb.port, '127.0.0.1');
    raw.send(Buffer.from([0xff]), eb.port, '127.0.0.1');
    await waitUntil(() => ikeAtB.length === 1 && tb.stats().total.keepalivesReceived === 1, 'IKE and a keepalive at B');
    raw.close();
    assert.equal(tb.stats().total.espDelivered, N);
    assert.equal(b.stats().node.espIn, N);
    assert.deepEqual(b.stats().node.drops, {});
  } finally {
    await Promise.all([a.close(), b.close(), ta.close(), tb.close(), appA.close(), appB.close()]);
  }
});

test('install/remove: validation, shared sockets across a rollover, routes, counted drops', async () => {
  const port = groupPort();
  const io: GroupIo = { kind: 'group', group: '239.255.77.2', port, interface: '127.0.0.1' };
  const mem = new MemoryPort();
  const node = new DatapathNode({ plaintext: mem, sweepMs: 0 });
  try {
    await rejectsCode(node.install(groupSa('in', { ...io, group: '10.0.0.1' })), 'GKM_ESP_BAD_CONFIG');
    await rejectsCode(node.install(groupSa('in', { ...io, port: 0 })), 'GKM_TRANSPORT_CONFIG');
    await rejectsCode(node.install(unicastSa('out', 0x3003, { src: '127.0.0.1', dst: '127.0.0.2' }, { kind: 'unicast', remote: { address: '127.0.0.2', port: 4500 }, via: { address: '127.0.0.1', port: 4500 } })), 'GKM_ESP_BAD_CONFIG');
    await rejectsCode(node.install({ ...groupSa('out', io), mode: { mode: 'tunnel', src: parseAddress('127.0.0.1'), dst: parseAddress('239.255.9.9') } }), 'GKM_ESP_BAD_CONFIG');
    // Rollover (RFC 5374 §4.2.1): a second inbound and outbound SA share the sockets and the route.
    const in1 = await node.install(groupSa('in', io, { spi: 0x5001 }));
    const in2 = await node.install(groupSa('in', io, { spi: 0x5002 }));
    const out1 = await node.install(groupSa('out', io, { spi: 0x6001 }));
    const out2 = await node.install(groupSa('out', io, { spi: 0x6002 }));
    assert.deepEqual(node.stats().sockets.map((s) => s.role).sort(), ['group-receiver', 'group-sender']);
    // The same group bound to another port is a conflict; so is a failed provider install.
    await rejectsCode(node.install(groupSa('out', { ...io, port: port + 1 }, { spi: 0x6003 })), 'GKM_ESP_BAD_CONFIG');
    await rejectsCode(node.install(groupSa('in', io, { spi: 0x5001 })), 'GKM_ESP_BAD_CONFIG');
    await node.remove(out1);
    await node.remove(in1);
    assert.equal(node.stats().sockets.length, 2);
    // Outbound traffic for the group uses out2; something for nobody is dropped as GKM_ESP_NO_SA.
    const inner = { src: parseAddress('127.0.0.1'), dst: parseAddress(io.group), srcPort: 1, dstPort: 2, ttl: 1, tos: 0 };
    node.send(wrapUdp(Buffer.from('x'), inner));
    node.send(wrapUdp(Buffer.from('y'), { ...inner, dst: parseAddress('10.9.9.9') }));
    node.flush();
    assert.equal(node.saStats(out2).packets, 2, 'an SA without selectors takes every flow');
    assert.equal(node.stats().node.espOut, 1);
    assert.equal(node.stats().node.noRoute, 1, 'the frame for 10.9.9.9 has no I/O binding');
    mem.onPacket!(Buffer.from('junk'));
    node.flush();
    assert.equal(node.stats().node.drops.GKM_IP_MALFORMED, 1);
    await node.remove(out2);
    await node.remove(in2);
    await node.remove(in2); // idempotent
    assert.equal(node.stats().sockets.length, 0, 'the last SA closes the sockets');
    node.send(wrapUdp(Buffer.from('z'), inner));
    node.flush();
    assert.equal(node.stats().node.drops.GKM_ESP_NO_SA, 1);
  } finally {
    await node.close();
  }
  await rejectsCode(node.install(groupSa('in', io)), 'GKM_ESP_BAD_CONFIG');
});

test('a caller-owned provider is shared, not closed; DTD-retired SAs release their I/O on housekeeping', async () => {
  let now = 1_000_000;
  const provider = new UserspaceProvider({ clock: () => now });
  const node = new DatapathNode({ provider, sweepMs: 0 });
  const io: GroupIo = { kind: 'group', group: '239.255.77.3', port: groupPort(), interface: '127.0.0.1' };
  const h = await node.install(groupSa('in', io));
  node.update(h, { retireAfterMs: 500 });
  now += 501;
  node.housekeep();
  await waitUntil(() => node.stats().sockets.length === 0, 'socket released');
  assert.deepEqual(node.handles, []);
  await node.close();
  assert.doesNotThrow(() => provider.addSA({ ...groupSa('in', io), dst: parseAddress(io.group) }));
  provider.close();
});
