/**
 * Two member daemons on loopback high ports, through real UDP sockets and the transport:
 * initiator and responder, PSK, events, key log, control socket, datapath, failures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserspaceProvider } from '../../src/datapath/userspace.ts';
import { ControlClient } from '../../src/member/control/client.ts';
import { ControlError } from '../../src/member/control/protocol.ts';
import type { IkeDaemon, SaListing } from '../../src/member/ike-daemon.ts';
import { udp4 } from '../datapath/helpers.ts';
import { freeUdpPorts, pairConf, startDaemon, tempDir, writePsk, type PairConf, type Started } from './support.ts';

const A = { id: 'member-a@gkm.test', ts: '10.1.0.0/16' };
const B = { id: 'member-b@gkm.test', ts: '10.2.0.0/16' };

interface Pair {
  readonly i: Started;
  readonly r: Started;
  readonly ports: { readonly i: number; readonly r: number };
  stop(): Promise<void>;
}

/** Responder first, then the initiator (start_action = start unless `start: false`). */
async function pair(o: { start?: boolean; i?: Partial<PairConf>; r?: Partial<PairConf>; iOpts?: Parameters<typeof startDaemon>[2]; rOpts?: Parameters<typeof startDaemon>[2] } = {}): Promise<Pair> {
  const [pi, pr] = (await freeUdpPorts(2)) as [number, number];
  const r = await startDaemon(pairConf({ me: { ...B, port: pr }, peer: { ...A, port: pi }, start: false, ...o.r }), 'r.conf', o.rOpts);
  let i: Started;
  try {
    i = await startDaemon(pairConf({ me: { ...A, port: pi }, peer: { ...B, port: pr }, start: o.start ?? true, ...o.i }), 'i.conf', o.iOpts);
  } catch (e) {
    await r.daemon.stop();
    throw e;
  }
  return { i, r, ports: { i: pi, r: pr }, stop: async () => void (await Promise.all([i.daemon.stop(), r.daemon.stop()])) };
}

const childSas = (d: IkeDaemon): Record<string, unknown>[] => d.list().ikeSas.flatMap((sa) => sa['children'] as Record<string, unknown>[]);

test('initiator and responder daemons set up an IKE SA and a Child SA with PSK over loopback UDP', async () => {
  const keylog = tempDir();
  const p = await pair({ iOpts: { keyLogDir: keylog } });
  try {
    const [iChild, rChild] = await Promise.all([p.i.log.waitFor('child_up'), p.r.log.waitFor('child_up')]);
    const [iUp, rUp] = [p.i.log.of('ike_up')[0]!, p.r.log.of('ike_up')[0]!];
    // Both ends agree on the IKE SA and cross the Child SA's SPIs.
    assert.deepEqual([iUp.ike.role, rUp.ike.role], ['initiator', 'responder']);
    assert.deepEqual([iUp.ike.spiI, iUp.ike.spiR], [rUp.ike.spiI, rUp.ike.spiR]);
    assert.deepEqual([iUp.ike.localId, iUp.ike.remoteId], [A.id, B.id]);
    assert.deepEqual(iUp.ike.local, { ip: '127.0.0.1', port: p.ports.i });
    assert.deepEqual(iUp.ike.remote, { ip: '127.0.0.1', port: p.ports.r });
    assert.deepEqual([iUp.ike.natLocal, iUp.ike.natRemote, rUp.ike.natLocal, rUp.ike.natRemote], [false, false, false, false]);
    assert.deepEqual(iUp.ike.suite, { encr: 'AES_GCM_16/256', prf: 'HMAC_SHA2_256', ke: 'CURVE25519' });
    assert.equal(iChild.child.inboundSpi, rChild.child.outboundSpi);
    assert.equal(iChild.child.outboundSpi, rChild.child.inboundSpi);
    assert.deepEqual([iChild.conn, iChild.child.name, iChild.child.mode, iChild.child.localTs, iChild.child.remoteTs], ['gw', 'net', 'tunnel', ['10.1.0.0/16'], ['10.2.0.0/16']]);
    assert.deepEqual([rChild.child.localTs, rChild.child.remoteTs], [['10.2.0.0/16'], ['10.1.0.0/16']]);
    assert.deepEqual(iChild.child.suite, { encr: 'AES_GCM_16/128', sn: 'SEQ32' });

    // The event stream: ready first, every event plain JSON with a timestamp.
    assert.deepEqual(p.i.log.events.map((e) => e.event), ['ready', 'ike_up', 'child_up']);
    const ready = p.i.log.events[0]!;
    assert.ok(ready.event === 'ready');
    assert.deepEqual([ready.sockets, ready.connections], [[`natt@127.0.0.1:${p.ports.i}`], ['gw']]);
    for (const e of p.i.log.events) {
      assert.deepEqual(JSON.parse(JSON.stringify(e)), e);
      assert.ok(!Number.isNaN(Date.parse(e.time)));
    }

    // The key log: Wireshark's two files and keys.json, 0600, with this IKE SA and both ESP SAs.
    for (const f of ['ikev2_decryption_table', 'esp_sa', 'keys.json']) assert.equal(statSync(join(keylog, f)).mode & 0o777, 0o600, f);
    assert.match(readFileSync(join(keylog, 'ikev2_decryption_table'), 'utf8'), new RegExp(`^${iUp.ike.spiI},${iUp.ike.spiR},[0-9a-f]+,[0-9a-f]+,"AES-GCM-256 with 16 octet ICV \\[RFC5282\\]"`));
    const esp = readFileSync(join(keylog, 'esp_sa'), 'utf8');
    assert.ok(esp.includes(`"0x${iChild.child.inboundSpi}"`) && esp.includes(`"0x${iChild.child.outboundSpi}"`));
    const keys = JSON.parse(readFileSync(join(keylog, 'keys.json'), 'utf8')) as { ikeSas: { spiI: string; skD: string }[]; espSas: unknown[] };
    assert.equal(keys.ikeSas[0]?.spiI, iUp.ike.spiI);
    assert.match(keys.ikeSas[0]!.skD, /^[0-9a-f]{64}$/);
    assert.equal(keys.espSas.length, 2);
    assert.equal(existsSync(join(tempDir(), 'keys.json')), false);

    // The listing of both ends.
    const list: SaListing = p.i.daemon.list();
    assert.deepEqual(list.connections.map((c) => c.name), ['gw']);
    assert.equal(list.ikeSas.length, 1);
    assert.deepEqual([list.ikeSas[0]!['state'], list.ikeSas[0]!['conn'], list.ikeSas[0]!['id']], ['established', 'gw', iUp.ike.id]);
    assert.deepEqual(childSas(p.i.daemon).map((c) => [c['inboundSpi'], c['state'], c['localTs']]), [[iChild.child.inboundSpi, 'installed', ['10.1.0.0/16']]]);
    assert.deepEqual(childSas(p.r.daemon).map((c) => c['inboundSpi']), [rChild.child.inboundSpi]);
  } finally {
    await p.stop();
  }
  // stop() deleted the SAs (the peer saw the Delete) and said so.
  assert.equal(p.i.log.events.at(-1)?.event, 'stopped');
  assert.ok(p.r.log.of('deleted').some((e) => e.what === 'ike' && e.reason === 'peer') || p.i.log.of('deleted').some((e) => e.what === 'ike' && e.reason === 'peer'));
});

test('control socket: initiate and wait, list, rekey, terminate a Child SA, then the IKE SA by connection name', async () => {
  const control = join(tempDir(), 'control.sock');
  const p = await pair({ start: false, iOpts: { controlPath: control } });
  const client = await ControlClient.connect(control);
  try {
    const none = (await client.request({ cmd: 'list' })) as SaListing;
    assert.deepEqual(none.ikeSas, []);
    const up = (await client.request({ cmd: 'initiate', conn: 'gw', wait: true, timeoutMs: 10_000 })) as { ikeSaId: string; events: { event: string }[] };
    assert.deepEqual(up.events.map((e) => e.event), ['ike_up', 'child_up']);
    const listed = (await client.request({ cmd: 'list' })) as SaListing;
    assert.equal(listed.ikeSas[0]?.['id'], up.ikeSaId);
    const child = (listed.ikeSas[0]!['children'] as Record<string, string>[])[0]!;

    // Rekey the Child SA, then the IKE SA (CREATE_CHILD_SA); the connection name follows.
    assert.deepEqual(await client.request({ cmd: 'rekey', what: 'child', sa: child['inboundSpi']! }), { rekeying: [child['inboundSpi']] });
    const rekeyed = await p.i.log.waitFor('rekeyed', (e) => e.what === 'child' && e.old === child['inboundSpi']);
    await p.i.log.waitFor('deleted', (e) => e.what === 'child' && e.child?.inboundSpi === rekeyed.old && e.reason === 'rekeyed');
    assert.deepEqual(childSas(p.i.daemon).map((c) => c['inboundSpi']), [rekeyed.new]);
    assert.deepEqual(await client.request({ cmd: 'rekey', what: 'ike', sa: 'gw' }), { rekeying: [up.ikeSaId] });
    const newIke = await p.i.log.waitFor('rekeyed', (e) => e.what === 'ike' && e.old === up.ikeSaId);
    assert.equal(newIke.conn, 'gw');
    const oldIke = await p.i.log.waitFor('deleted', (e) => e.what === 'ike' && e.ikeSaId === up.ikeSaId && e.reason === 'rekeyed');
    assert.equal(oldIke.conn, 'gw', 'the deleted IKE SA, gone from the engine, still names its connection');
    const afterRekey = (await client.request({ cmd: 'list' })) as SaListing;
    assert.deepEqual(afterRekey.ikeSas.map((sa) => [sa['id'], sa['conn']]), [[newIke.new, 'gw']]);
    assert.deepEqual(childSas(p.i.daemon).map((c) => c['inboundSpi']), [rekeyed.new], 'the Child SA moved to the new IKE SA');
    await assert.rejects(client.request({ cmd: 'rekey', what: 'ike', sa: up.ikeSaId }), (e: unknown) => e instanceof ControlError && e.code === 'NOT_FOUND');
    await assert.rejects(client.request({ cmd: 'terminate', what: 'child', sa: 'ffffffff' }), (e: unknown) => e instanceof ControlError && e.code === 'NOT_FOUND');
    await assert.rejects(client.request({ cmd: 'initiate', conn: 'nope' }), (e: unknown) => e instanceof ControlError && e.code === 'NOT_FOUND');

    // Terminate the Child SA by name: both ends delete it, the IKE SA stays.
    const current = childSas(p.i.daemon)[0]!['inboundSpi'] as string;
    assert.deepEqual(await client.request({ cmd: 'terminate', what: 'child', sa: 'net' }), { terminating: [current] });
    await p.i.log.waitFor('deleted', (e) => e.what === 'child' && e.child?.inboundSpi === current && e.reason === 'local');
    await p.r.log.waitFor('deleted', (e) => e.what === 'child' && e.child?.outboundSpi === current && e.reason === 'peer');
    assert.equal(p.i.daemon.list().ikeSas.length, 1);

    // Terminate the IKE SA by its connection's name.
    assert.deepEqual(await client.request({ cmd: 'terminate', what: 'ike', sa: 'gw' }), { terminating: [newIke.new] });
    await p.i.log.waitFor('deleted', (e) => e.what === 'ike' && e.ikeSaId === newIke.new && e.reason === 'local' && e.conn === 'gw');
    await p.r.log.waitFor('deleted', (e) => e.what === 'ike' && e.reason === 'peer' && e.conn !== undefined);
    assert.deepEqual(((await client.request({ cmd: 'list' })) as SaListing).ikeSas, []);
  } finally {
    client.close();
    await p.stop();
  }
  assert.equal(existsSync(control), false);
});

test('wildcard sockets (%any): the real local address goes into NAT detection, so no NAT is seen', async () => {
  const [pi, pr] = (await freeUdpPorts(2)) as [number, number];
  const r = await startDaemon(pairConf({ me: { ...B, port: pr, addr: '%any' }, peer: { ...A, port: pi }, start: false }), 'r.conf');
  const i = await startDaemon(pairConf({ me: { ...A, port: pi, addr: '%any' }, peer: { ...B, port: pr }, start: true }), 'i.conf');
  try {
    assert.deepEqual(r.daemon.sockets, [`natt@0.0.0.0:${pr}`]);
    const [iUp, rUp] = await Promise.all([i.log.waitFor('ike_up'), r.log.waitFor('ike_up')]);
    assert.deepEqual([iUp.ike.natLocal, iUp.ike.natRemote, rUp.ike.natLocal, rUp.ike.natRemote], [false, false, false, false]);
    assert.deepEqual(rUp.ike.local, { ip: '127.0.0.1', port: pr });
    await i.log.waitFor('child_up');
  } finally {
    await Promise.all([i.daemon.stop(), r.daemon.stop()]);
  }
});

test('datapath: Child SAs go into the userspace SA database on both ends; ESP-in-UDP is decrypted', async () => {
  const [dpI, dpR] = [new UserspaceProvider(), new UserspaceProvider()];
  const inner: Buffer[] = [];
  const p = await pair({ iOpts: { datapath: dpI }, rOpts: { datapath: dpR, onInnerPacket: (pkt) => inner.push(pkt) } });
  try {
    const iChild = await p.i.log.waitFor('child_up');
    await p.r.log.waitFor('child_up');
    assert.equal(dpI.sad.size, 2);
    assert.equal(dpR.sad.size, 2);
    // A packet from the initiator's protected network, as its datapath encrypts it, sent in UDP to the responder.
    const packet = udp4('10.1.0.5', '10.2.0.7', 64);
    const [frame] = dpI.encryptBurst([packet]);
    assert.ok(frame && !(frame instanceof Error));
    const esp = frame.packet.subarray(frame.espOffset);
    assert.equal(esp.readUInt32BE(0).toString(16).padStart(8, '0'), iChild.child.outboundSpi);
    const sock = createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
    sock.send(esp, p.ports.r, '127.0.0.1');
    const deadline = Date.now() + 5000;
    while (inner.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    sock.close();
    assert.equal(inner.length, 1);
    assert.ok(inner[0]!.equals(packet));
    const counters = childSas(p.r.daemon)[0]!['counters'] as { inbound: { packets: number } };
    assert.equal(counters.inbound.packets, 1);
  } finally {
    await p.stop();
  }
  assert.equal(dpI.sad.size, 0, 'Child SAs leave the datapath with their IKE SA');
});

test('a wrong PSK is an error event with AUTHENTICATION_FAILED; no retry after an authentication failure', async () => {
  const dir = tempDir();
  const psk = writePsk(dir);
  // The responder reads the right PSK from a file; the initiator has another one inline.
  const [pi, pr] = (await freeUdpPorts(2)) as [number, number];
  const r = await startDaemon(pairConf({ me: { ...B, port: pr }, peer: { ...A, port: pi }, start: false, pskFile: psk }), join(dir, 'r.conf'));
  const text = pairConf({ me: { ...A, port: pi }, peer: { ...B, port: pr }, start: true }).replace('a shared secret of decent length', 'another secret');
  const i = await startDaemon(text, join(dir, 'i.conf'));
  try {
    const err = await r.log.waitFor('error', (e) => e.notifyName === 'AUTHENTICATION_FAILED');
    assert.equal(err.notify, 24);
    await i.log.waitFor('deleted', (e) => e.what === 'ike');
    await new Promise((res) => setTimeout(res, 1500));
    assert.equal(i.log.of('deleted').length, 1, 'not retried');
    assert.equal(i.log.of('ike_up').length, 0);
  } finally {
    await Promise.all([i.daemon.stop(), r.daemon.stop()]);
  }
});

test('keyingtries: an initiation that times out is retried, then given up', async () => {
  const [pi, silent] = (await freeUdpPorts(2)) as [number, number];
  const text = pairConf({ me: { ...A, port: pi }, peer: { ...B, port: silent }, start: true, connExtra: '    keyingtries = 2' });
  const i = await startDaemon(text, 'i.conf', { engineOptions: { retransmit: { baseMs: 50, factor: 1, tries: 1 } } });
  try {
    await i.log.waitFor('deleted', (e) => e.what === 'ike', 5000);
    const second = await i.log.waitFor('deleted', (e) => e.what === 'ike' && e.ikeSaId !== i.log.of('deleted')[0]!.ikeSaId, 5000);
    assert.equal(second.reason, 'timeout');
    await new Promise((res) => setTimeout(res, 1500));
    assert.equal(i.log.of('deleted').length, 2, 'two attempts in all');
    assert.ok(i.log.of('error').every((e) => e.code === 'GKM_IKE_TIMEOUT'));
  } finally {
    await i.daemon.stop();
  }
});

test('per_resource = 3 (RFC 9611): a fallback Child SA in IKE_AUTH, then three per-resource SAs with the same selectors', async () => {
  const extra = '        per_resource = 3';
  const p = await pair({ i: { childExtra: extra }, r: { childExtra: extra } });
  try {
    await p.i.log.waitFor('child_up', () => p.i.log.of('child_up').length >= 4);
    await p.r.log.waitFor('child_up', () => p.r.log.of('child_up').length >= 4);
    const ups = p.i.log.of('child_up');
    assert.deepEqual(ups.map((e) => e.child.resourceId), ['', '00000000', '00000001', '00000002']);
    assert.equal(new Set(ups.map((e) => e.child.inboundSpi)).size, 4);
    assert.ok(ups.every((e) => e.child.name === 'net' && e.child.localTs[0] === '10.1.0.0/16' && e.child.remoteTs[0] === '10.2.0.0/16'));
    assert.equal(childSas(p.r.daemon).length, 4);
  } finally {
    await p.stop();
  }
});
