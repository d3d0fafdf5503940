/**
 * Packet I/O on loopback: the inner UDP codec, RFC 3948 discrimination on ESP-in-UDP
 * sockets (IKE behind the non-ESP marker, 0xFF keepalives, ESP), the UDP tap, and the TUN
 * capability check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { openSync, closeSync } from 'node:fs';
import { isGkmError } from '../../../src/ikev2/errors.ts';
import { NON_ESP_MARKER } from '../../../src/ikev2/wire/message.ts';
import { parseAddress } from '../../../src/datapath/address.ts';
import { ipChecksum, parseIp } from '../../../src/datapath/modes/ip.ts';
import { EspUdpSocket, TunDevice, tunCapability, tunLauncherCommand, UdpTap, udpChecksum, unwrapUdp, wrapUdp, TUN_FD_ENV } from '../../../src/datapath/io/index.ts';
import { bytes, rng, throwsCode } from '../helpers.ts';
import { App, waitUntil } from './helpers.ts';

const A = parseAddress;
const flow4 = { src: A('10.0.0.1'), dst: A('239.1.2.3'), srcPort: 4000, dstPort: 5000, ttl: 1, tos: 0x10 };
const flow6 = { src: A('2001:db8::1'), dst: A('ff3e::8000:1'), srcPort: 4000, dstPort: 5000, ttl: 4, tos: 0 };

test('wrapUdp/unwrapUdp: IPv4 (checksum 0) and IPv6 (checksum computed) round trip', () => {
  const payload = bytes(333);
  const p4 = wrapUdp(payload, flow4, 7);
  const i4 = parseIp(p4, true);
  assert.deepEqual([i4.version, i4.protocol, i4.ttl, i4.tos, i4.id, i4.length], [4, 17, 1, 0x10, 7, 20 + 8 + 333]);
  assert.equal(p4.readUInt16BE(26), 0, 'IPv4 UDP checksum 0 = none (RFC 768)');
  const u4 = unwrapUdp(p4);
  assert.deepEqual([u4.srcPort, u4.dstPort], [4000, 5000]);
  assert.ok(u4.payload.equals(payload));

  const p6 = wrapUdp(payload, flow6);
  const u6 = unwrapUdp(p6);
  assert.ok(u6.payload.equals(payload));
  const sum = p6.readUInt16BE(46);
  assert.notEqual(sum, 0, 'IPv6 UDP must carry a checksum (RFC 8200 §8.1)');
  const zeroed = Buffer.from(p6);
  zeroed.writeUInt16BE(0, 46);
  assert.equal(udpChecksum(zeroed, 40, flow6.src, flow6.dst), sum);
  // Odd length is padded with a zero octet for the sum.
  const odd = wrapUdp(Buffer.from([1, 2, 3]), flow6);
  odd.writeUInt16BE(0, 46);
  assert.equal(udpChecksum(odd, 40, flow6.src, flow6.dst), wrapUdp(Buffer.from([1, 2, 3]), flow6).readUInt16BE(46));
});

test('wrapUdp refuses oversize payloads and mixed families; unwrapUdp is strict', () => {
  throwsCode(() => wrapUdp(Buffer.alloc(65508), flow4), 'GKM_IP_MALFORMED');
  assert.equal(wrapUdp(Buffer.alloc(65507), flow4).length, 65535);
  throwsCode(() => wrapUdp(Buffer.alloc(1), { ...flow4, dst: A('::1') }), 'GKM_ESP_BAD_CONFIG');
  const p = wrapUdp(bytes(20), flow4);
  const tcp = Buffer.from(p);
  tcp[9] = 6;
  tcp.writeUInt16BE(0, 10);
  tcp.writeUInt16BE(ipChecksum(tcp, 0, 20), 10);
  throwsCode(() => unwrapUdp(tcp), 'GKM_IP_MALFORMED'); // well-formed IPv4, but not UDP
  const frag = Buffer.from(p);
  frag.writeUInt16BE(0x2000, 6); // MF
  frag.writeUInt16BE(0, 10);
  frag.writeUInt16BE(ipChecksum(frag, 0, 20), 10);
  throwsCode(() => unwrapUdp(frag), 'GKM_IP_MALFORMED');
  const badLen = Buffer.from(p);
  badLen.writeUInt16BE(9, 24);
  throwsCode(() => unwrapUdp(badLen), 'GKM_IP_MALFORMED');
  throwsCode(() => unwrapUdp(p.subarray(0, 27)), 'GKM_IP_MALFORMED');
  throwsCode(() => unwrapUdp(Buffer.alloc(0)), 'GKM_IP_MALFORMED');
  // Bounded fuzz: byte flips and truncations yield a view or GKM_IP_MALFORMED, nothing else.
  const r = rng(42);
  for (let i = 0; i < 2000; i++) {
    const m = Buffer.from(i % 2 ? p : wrapUdp(bytes(20), flow6));
    const n = 1 + Math.floor(r() * 3);
    for (let k = 0; k < n; k++) m[Math.floor(r() * m.length)] = Math.floor(r() * 256);
    const cut = r() < 0.3 ? m.subarray(0, Math.floor(r() * m.length)) : m;
    try {
      const v = unwrapUdp(cut);
      assert.ok(v.payload.length <= cut.length);
    } catch (e) {
      assert.ok(isGkmError(e) && e.code === 'GKM_IP_MALFORMED', String(e));
    }
  }
});

test('ESP-in-UDP socket: RFC 3948 discrimination of IKE (marker), keepalives, ESP and junk', async () => {
  const s = await EspUdpSocket.unicast({ address: '127.0.0.1', port: 0 });
  const peer = createSocket('udp4');
  peer.bind(0, '127.0.0.1');
  await once(peer, 'listening');
  const esp: Buffer[] = [];
  const ike: Buffer[] = [];
  s.onEsp = (p, remote, local) => {
    assert.equal(remote.port, peer.address().port);
    assert.deepEqual(local, s.local);
    esp.push(Buffer.from(p));
  };
  s.onIke = (m) => ike.push(Buffer.from(m));
  try {
    const ikeMsg = Buffer.alloc(36, 0x21);
    const espPkt = Buffer.concat([Buffer.from('c0ffee0100000001', 'hex'), bytes(40)]);
    const send = (b: Buffer): void => void peer.send(b, s.local.port, '127.0.0.1');
    send(Buffer.concat([NON_ESP_MARKER, ikeMsg])); // IKE
    send(Buffer.from([0xff])); // keepalive
    send(espPkt); // ESP
    send(Buffer.from([1, 2, 3])); // stray octets
    send(Buffer.concat([NON_ESP_MARKER, Buffer.alloc(10)])); // marker, no IKE header
    send(Buffer.from('c0ffee0100', 'hex')); // ESP shorter than SPI + sequence number
    await waitUntil(() => s.counters.received === 6, 'six datagrams');
    assert.deepEqual({ ...s.counters }, { received: 6, esp: 1, ike: 1, keepalives: 1, invalid: 3, sent: 0, sendErrors: 0 });
    assert.ok(esp[0]!.equals(espPkt), 'ESP is handed over whole, SPI first');
    assert.ok(ike[0]!.equals(ikeMsg), 'IKE is handed over without the marker');
    // Sending: no marker in front of ESP (RFC 3948 §2.1).
    const got = once(peer, 'message');
    s.sendEsp(espPkt, { address: '127.0.0.1', port: peer.address().port });
    const [m] = (await got) as [Buffer];
    assert.ok(m.equals(espPkt));
    assert.equal(s.counters.sent, 1);
  } finally {
    await s.close();
    peer.close();
  }
});

test('group sockets: a non-multicast group, a bad TTL and a bad interface are refused', async () => {
  await assert.rejects(EspUdpSocket.groupReceiver({ group: '10.0.0.1', port: 4700, interface: '127.0.0.1' }), (e: unknown) => isGkmError(e) && e.code === 'GKM_TRANSPORT_CONFIG');
  await assert.rejects(EspUdpSocket.groupSender({ interface: '127.0.0.1', ttl: 256 }), (e: unknown) => isGkmError(e) && e.code === 'GKM_TRANSPORT_CONFIG');
  await assert.rejects(EspUdpSocket.groupSender({ interface: 'eth0' }), (e: unknown) => isGkmError(e) && e.code === 'GKM_TRANSPORT_CONFIG');
  await assert.rejects(EspUdpSocket.groupReceiver({ group: '239.255.7.7', port: 4700, interface: '192.0.2.123' }), (e: unknown) => isGkmError(e) && e.code === 'GKM_TRANSPORT_BIND');
});

test("UDP tap 'udp': datagrams become inner IP/UDP packets; decrypted UDP goes to the app", async () => {
  const app = await App.open();
  const tap = await UdpTap.open({ format: 'udp', inner: { src: '10.0.0.1', dst: '239.1.2.3', dstPort: 5000, ttl: 1 }, deliver: { address: '127.0.0.1', port: app.port } });
  const inner: Buffer[] = [];
  tap.start((p) => inner.push(p));
  try {
    app.send(Buffer.from('hello'), tap.local.port);
    await waitUntil(() => inner.length === 1, 'a wrapped packet');
    const v = unwrapUdp(inner[0]!);
    assert.deepEqual([v.src, v.dst, v.srcPort, v.dstPort, v.payload.toString()], [A('10.0.0.1'), A('239.1.2.3'), app.port, 5000, 'hello']);
    assert.equal(parseIp(inner[0]!, true).ttl, 1);
    // The other way: the UDP payload of a decrypted packet reaches the app.
    tap.write(wrapUdp(Buffer.from('back'), flow4));
    tap.write(Buffer.from('not an IP packet'));
    await waitUntil(() => app.received.length === 1, 'delivery');
    assert.equal(app.received[0]!.toString(), 'back');
    assert.deepEqual({ ...tap.counters }, { received: 1, delivered: 1, malformed: 1, undeliverable: 0, dropped: 0 });
  } finally {
    await tap.close();
    await app.close();
  }
});

test("UDP tap 'raw': datagrams are whole IP packets both ways; without 'deliver' they are counted", async () => {
  const app = await App.open();
  const raw = await UdpTap.open({ format: 'raw', deliver: { address: '127.0.0.1', port: app.port } });
  const sink = await UdpTap.open({ format: 'raw' });
  const inner: Buffer[] = [];
  raw.start((p) => inner.push(p));
  try {
    const pkt = wrapUdp(bytes(50), flow4);
    app.send(pkt, raw.local.port);
    await waitUntil(() => inner.length === 1, 'a raw packet');
    assert.ok(inner[0]!.equals(pkt));
    raw.write(pkt);
    await waitUntil(() => app.received.length === 1, 'raw delivery');
    assert.ok(app.received[0]!.equals(pkt));
    sink.write(pkt);
    assert.equal(sink.counters.undeliverable, 1);
    await assert.rejects(UdpTap.open({ format: 'raw', inner: { src: '10.0.0.1', dst: '10.0.0.2', dstPort: 1 } }), (e: unknown) => isGkmError(e) && e.code === 'GKM_ESP_BAD_CONFIG');
    // A deliver-only 'udp' tap drops what is sent to it.
    const deliverOnly = await UdpTap.open({ format: 'udp', deliver: { address: '127.0.0.1', port: app.port } });
    deliverOnly.start(() => assert.fail('nothing to wrap with'));
    app.send(Buffer.from('x'), deliverOnly.local.port);
    await waitUntil(() => deliverOnly.counters.dropped === 1, 'dropped');
    await deliverOnly.close();
  } finally {
    await Promise.all([raw.close(), sink.close(), app.close()]);
  }
});

test('TUN: opening by name needs the native addon (said so); an attached descriptor is the way in', () => {
  const cap = tunCapability();
  assert.equal(cap.open, false);
  assert.equal(cap.fd, true);
  assert.match(cap.reason, /TUN requires the native addon/);
  throwsCode(() => TunDevice.open('gkm0'), 'GKM_ESP_BAD_CONFIG');
  throwsCode(() => TunDevice.fromEnv({}, {}), 'GKM_ESP_BAD_CONFIG');
  throwsCode(() => TunDevice.fromEnv({}, { [TUN_FD_ENV]: '3; rm' }), 'GKM_ESP_BAD_CONFIG');
  const fd = openSync(process.execPath, 'r');
  try {
    throwsCode(() => TunDevice.fromFd(fd), 'GKM_ESP_BAD_CONFIG'); // a regular file, not a TUN
  } finally {
    closeSync(fd);
  }
  const cmd = tunLauncherCommand('gkm0', ['node', 'member.js']);
  assert.equal(cmd.file, 'python3');
  assert.deepEqual(cmd.args.slice(2), ['gkm0', '3', 'node', 'member.js']);
  throwsCode(() => tunLauncherCommand('a-very-long-ifname0', ['x']), 'GKM_ESP_BAD_CONFIG');
  throwsCode(() => tunLauncherCommand('gkm0', []), 'GKM_ESP_BAD_CONFIG');
});
