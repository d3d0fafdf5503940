/**
 * tshark decrypts our ESP (issue 5, deliverable 6): ESP in UDP as our sockets sent it —
 * group SAs to a multicast group's port (AES-GCM-16 128/256, Sender-ID IVs, SN value 2,
 * tunnel mode with address preservation) and a unicast SA on port 4500 (RFC 3948; tunnel
 * mode, AES-GCM and AES-CBC + HMAC-SHA-256) — goes into a pcap; our key log's `esp_sa` is
 * tshark's UAT. tshark must flag nothing at Error level, and must dissect the inner IPv4/UDP
 * packet: destination port and payload bytes. tshark decodes the group port as `udpencap`
 * (its ESP-in-UDP dissector; ESP itself cannot be bound to a UDP port in tshark 4.0).
 * .ci/run installs tshark; in CI a missing tshark fails this test instead of skipping it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EncrId, IntegId } from '../../../src/ikev2/registry/transform.ts';
import { KeyLogWriter, KEYLOG_FILES } from '../../../src/ikev2/keylog/index.ts';
import { parseAddress } from '../../../src/datapath/address.ts';
import type { EspAlgorithms } from '../../../src/datapath/esp/index.ts';
import { DatapathNode, EspUdpSocket, wrapUdp, type GroupIo, type NodeSaConfig } from '../../../src/datapath/io/index.ts';
import { writePcap, type UdpDatagram } from '../../support/pcap.ts';
import { tshark, tsharkAvailable } from '../../support/tshark.ts';
import { keysFor } from '../helpers.ts';
import { groupPort, groupSa, waitUntil } from './helpers.ts';

const available = tsharkAvailable();
const skip = process.env.CI ? false : available ? false : 'tshark not installed (apt-get install tshark; .ci/run installs it)';

const INNER_PORT = 5001;
const payloadOf = (label: string, n: number): Buffer => Buffer.from(`gkm ${label} payload #${n}`.padEnd(48, '.'));

interface Capture {
  readonly label: string;
  readonly datagrams: UdpDatagram[];
  readonly payloads: Buffer[];
  /** The SA as the key log records it: outer source ('*' for a group) and destination. */
  readonly sa: NodeSaConfig;
  readonly src: string;
  readonly dst: string;
}

/** Sends `n` inner packets through a node and captures the ESP datagrams as they arrive. */
async function capture(node: DatapathNode, listen: { address: string; port: number; group?: string }, inner: (i: number) => Buffer, n: number): Promise<Buffer[]> {
  const spy = createSocket({ type: 'udp4', reuseAddr: true });
  const got: Buffer[] = [];
  spy.on('message', (m) => got.push(Buffer.from(m)));
  spy.bind(listen.port, listen.group ?? listen.address);
  await once(spy, 'listening');
  if (listen.group) spy.addMembership(listen.group, listen.address);
  try {
    for (let i = 0; i < n; i++) node.send(inner(i));
    await waitUntil(() => got.length === n, `${n} ESP datagrams`);
    return got;
  } finally {
    spy.close();
  }
}

async function groupTraffic(label: string, sa: NodeSaConfig, io: GroupIo, n: number): Promise<Capture> {
  const node = new DatapathNode({ sweepMs: 0 });
  try {
    await node.install(sa);
    const src = parseAddress(io.interface);
    const dst = parseAddress(io.group);
    const payloads = Array.from({ length: n }, (_, i) => payloadOf(label, i));
    const esp = await capture(node, { address: io.interface, port: io.port, group: io.group }, (i) => wrapUdp(payloads[i]!, { src, dst, srcPort: 40000, dstPort: INNER_PORT, ttl: 1, tos: 0 }), n);
    return { label, payloads, sa, src: '*', dst: io.group, datagrams: esp.map((payload) => ({ src: io.interface, dst: io.group, sport: 40000, dport: io.port, payload })) };
  } finally {
    await node.close();
  }
}

async function unicastTraffic(label: string, algorithms: EspAlgorithms, spi: number, n: number): Promise<Capture> {
  const sock = await EspUdpSocket.unicast({ address: '127.0.0.1', port: 0 });
  const node = new DatapathNode({ unicast: sock, sweepMs: 0 });
  const peerPort = groupPort();
  const sa: NodeSaConfig = {
    direction: 'out',
    spi,
    algorithms,
    keys: keysFor(algorithms, spi & 0xff),
    mode: { mode: 'tunnel', src: parseAddress('127.0.0.1'), dst: parseAddress('127.0.0.2') },
    io: { kind: 'unicast', remote: { address: '127.0.0.1', port: peerPort }, via: sock.local, peer: '127.0.0.2' },
  };
  try {
    await node.install(sa);
    const src = parseAddress('10.1.0.1');
    const dst = parseAddress('10.2.0.1');
    const payloads = Array.from({ length: n }, (_, i) => payloadOf(label, i));
    const esp = await capture(node, { address: '127.0.0.1', port: peerPort }, (i) => wrapUdp(payloads[i]!, { src, dst, srcPort: 40000, dstPort: INNER_PORT, ttl: 64, tos: 0 }), n);
    // Written as the NAT-T port pair (RFC 3948): tshark's udpencap default port.
    return { label, payloads, sa, src: '127.0.0.1', dst: '127.0.0.2', datagrams: esp.map((payload) => ({ src: '127.0.0.1', dst: '127.0.0.2', sport: 4500, dport: 4500, payload })) };
  } finally {
    await node.close();
    await sock.close();
  }
}

test('tshark decrypts our ESP in UDP (group port and 4500) from our esp_sa export and dissects the inner packets', { skip, timeout: 60_000 }, async () => {
  assert.ok(available, 'tshark must be installed (CI installs it in .ci/run)');
  const dir = mkdtempSync(join(tmpdir(), 'gkm-tshark-esp-'));
  try {
    const port = groupPort();
    const N = 4;
    const gcm256 = { encr: EncrId.AES_GCM_16, keyBits: 256 };
    const cbc = { encr: EncrId.AES_CBC, keyBits: 128, integ: IntegId.HMAC_SHA2_256_128 };
    const g1: GroupIo = { kind: 'group', group: '239.255.78.1', port, interface: '127.0.0.1', loopback: true };
    const g2: GroupIo = { ...g1, group: '239.255.78.2' };
    const sa128 = groupSa('out', g1, { spi: 0x11110001, senderId: 9 });
    const sa256 = { ...groupSa('out', g2, { spi: 0x22220002, senderId: 200 }), algorithms: gcm256, keys: keysFor(gcm256, 3) };
    const runs = [
      await groupTraffic('group-gcm128', sa128, g1, N),
      await groupTraffic('group-gcm256', sa256, g2, N),
      await unicastTraffic('unicast-gcm', sa128.algorithms, 0x33330003, N),
      await unicastTraffic('unicast-cbc', cbc, 0x44440004, N),
    ];
    const pcap = join(dir, 'esp.pcap');
    writePcap(pcap, runs.flatMap((r) => r.datagrams));

    // Group SAs are recorded with any source (several senders) and the group as destination.
    const keylog = new KeyLogWriter(join(dir, 'keylog'), () => {});
    for (const { sa, src, dst } of runs) {
      const a = sa.algorithms;
      keylog.recordEspSa({ family: 'IPv4', src, dst, spi: sa.spi, encrId: a.encr, ...(a.keyBits ? { encrKeyBits: a.keyBits } : {}), integId: a.integ ?? IntegId.NONE, encKey: sa.keys.encr, integKey: sa.keys.integ ?? Buffer.alloc(0) });
    }
    assert.equal(readFileSync(join(dir, 'keylog', KEYLOG_FILES.esp), 'utf8').trim().split('\n').length, 4);

    const base = ['-r', pcap, '-d', `udp.port==${port},udpencap`, '-o', 'esp.enable_encryption_decode:TRUE'];
    const errors = tshark([...base, '-Y', '_ws.expert.severity >= 0x00800000', '-T', 'fields', '-e', 'frame.number', '-e', '_ws.expert.message'], join(dir, 'keylog'));
    assert.equal(errors.status, 0, errors.stderr);
    assert.equal(errors.stdout.trim(), '', 'no Error-level expert info');

    const fields = [...base, '-T', 'fields', '-E', 'separator=;', '-e', 'esp.spi', '-e', 'esp.sequence', '-e', 'ip.dst', '-e', 'udp.dstport', '-e', 'data.data'];
    const blind = tshark(fields, join(dir, 'empty-profile'));
    assert.equal(blind.status, 0, blind.stderr);
    assert.ok(blind.stdout.trim().split('\n').every((l) => l.split(';')[4] === ''), 'without keys nothing is decrypted');

    const r = tshark(fields, join(dir, 'keylog'));
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => l.split(';'));
    const expected = runs.flatMap((run) => run.payloads.map((p) => ({ run, p })));
    assert.equal(rows.length, expected.length);
    for (const [i, row] of rows.entries()) {
      const { run, p } = expected[i]!;
      const [spi, seq, ipDst, udpDst, data] = row as [string, string, string, string, string];
      const what = `${run.label} frame ${i + 1}: ${row.join(';')}`;
      assert.ok(/^0x[0-9a-f]{8}$/.test(spi), what);
      assert.equal(Number(seq), (i % N) + 1, what);
      // Outer and inner IPv4 destinations; the outer and inner UDP ports.
      const dsts = ipDst.split(',');
      assert.equal(dsts.length, 2, what);
      if (run.label.startsWith('group')) assert.equal(dsts[0], dsts[1], `${what}: address preservation (RFC 5374)`);
      else assert.equal(dsts[1], '10.2.0.1', what);
      assert.equal(udpDst.split(',').at(-1), String(INNER_PORT), what);
      assert.equal(data, p.toString('hex'), `${what}: the inner payload`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
