/**
 * ESP traffic with strongSwan (issue 5, deliverable 6): our member daemon (in-process, the
 * userspace datapath, a UDP tap as its plaintext side) and charon 5.9.8 with kernel-libipsec
 * (userspace ESP over its TUN device) on 127.0.0.1 with private ports. libipsec only speaks
 * ESP in UDP and fakes NAT detection, so both ends float to the NAT-T ports and the Child SA
 * is UDP-encapsulated (RFC 3948): our ESP leaves from our IKE socket with no marker.
 *
 * The tunnel-mode Child SA protects 10.213.0.2 (ours: the tap writes and reads these inner
 * packets, no kernel address) <-> 10.213.0.1 (charon's: added to `lo`, so libipsec accepts
 * the local selector). charon's routes live in its own table behind a rule after `main`
 * (docs/interop.md); one more rule, `to 10.213.0.2 lookup <that table>`, sends the host's
 * packets for our inner address into charon's TUN. Datagrams travel both ways:
 *
 *   tap -> our ESP -> libipsec -> ipsecN -> UDP socket on 10.213.0.1
 *   UDP socket on 10.213.0.1 -> ipsecN -> libipsec -> ESP in UDP -> our datapath -> tap
 *
 * Counters agree on both ends; Child SA rekeys started by either end move the traffic to the
 * new SAs (install before remove); tshark decrypts the captured ESP with our esp_sa export.
 * Needs root (addresses, rules, TUN); skipped with a reason when strongSwan is missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connectionBetween, freeUdpPorts, startCharon, strongswanMissing, strongswanSkip, swanctlConf, waitUntil,
  type Charon, type Endpoint, type LinkSpec,
} from '../../support/strongswan.ts';
import { run } from '../../support/strongswan-process.ts';
import { startCapture, udpencapDecodeAs, type Capture } from '../../support/strongswan-capture.ts';
import { tshark, tsharkAvailable } from '../../support/tshark.ts';
import { startDaemon } from '../../member/support.ts';
import { UdpTap } from '../../../src/datapath/io/tap.ts';
import { UserspaceProvider } from '../../../src/datapath/userspace.ts';
import type { IkeDaemon } from '../../../src/member/ike-daemon.ts';
import { establishedSa, idOf, installedChild, PSK } from './pair.ts';

const skip = strongswanSkip();
const LOOPBACK = '127.0.0.1';
/** Inner addresses and ports: ours (the tap's) and charon's (on lo). */
const OURS = { address: '10.213.0.2', port: 20990 };
const THEIRS = { address: '10.213.0.1', port: 20991 };
const LINK: LinkSpec = {
  name: 'esp',
  proposals: ['aes128gcm16-prfsha256-x25519'],
  espProposals: ['aes128gcm16'],
  localTs: [`${OURS.address}/32[udp/${OURS.port}]`],
  remoteTs: [`${THEIRS.address}/32[udp/${THEIRS.port}]`],
};
const COUNT = 20;
/** IPv4 + UDP headers around each payload (the inner packet's size). */
const INNER_OVERHEAD = 28;

const bind = (address: string, port: number): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(port, address, () => resolve(s));
  });
const closeSocket = (s: Socket | undefined): Promise<void> => new Promise((r) => (s ? s.close(() => r()) : r()));

/** Collects datagrams on a socket; `until(n)` waits (bounded) for n of them. */
function collector(s: Socket): { readonly got: { data: Buffer; from: string }[]; until(n: number, what: string): Promise<void> } {
  const got: { data: Buffer; from: string }[] = [];
  s.on('message', (data, r) => got.push({ data, from: `${r.address}:${r.port}` }));
  return { got, until: (n, what) => waitUntil(what, 10_000, async () => (got.length >= n ? true : undefined), 50).then(() => undefined) };
}

interface ChildListing {
  readonly name: string;
  readonly inboundSpi: string;
  readonly outboundSpi: string;
  readonly encapsulated: boolean;
  readonly counters?: { readonly inbound: { packets: number; bytes: number }; readonly outbound: { packets: number; bytes: number } };
}
const ourChild = (d: IkeDaemon): ChildListing | undefined =>
  (d.list().ikeSas.flatMap((s) => s['children'] as ChildListing[]) ?? []).find((c) => c.name === LINK.name);

describe('ESP traffic between our datapath and strongSwan 5.9.8 (kernel-libipsec)', { skip }, () => {
  let root: string;
  const undo: (() => Promise<unknown>)[] = [];
  let charon: Charon;
  let daemon: IkeDaemon;
  let tap: UdpTap;
  const provider = new UserspaceProvider();
  let capture: Capture | undefined;
  let ports: number[] = [];
  let keylogDir: string;
  /** On charon's side: bound to its inner address and port. */
  let theirSocket: Socket;
  /** Where our tap delivers decrypted datagrams. */
  let ourSink: Socket;

  before(async () => {
    assert.equal(strongswanMissing(), undefined, 'strongSwan must be installed (CI installs it in .ci/run)');
    root = mkdtempSync(join(tmpdir(), 'gkm-esp-swan-'));
    keylogDir = join(root, 'keylog');
    const [ourPort, ike, natt] = (await freeUdpPorts(3)) as [number, number, number];
    ports = [ourPort, ike, natt];

    await run('ip', ['addr', 'add', `${THEIRS.address}/32`, 'dev', 'lo'], 5_000);
    undo.push(() => run('ip', ['addr', 'del', `${THEIRS.address}/32`, 'dev', 'lo'], 5_000));
    if (tsharkAvailable()) {
      const c = await startCapture({ file: join(root, 'esp.pcap'), udpPorts: ports });
      capture = c;
      undo.push(() => c.stop());
    }

    const end = (side: 'ours' | 'charon', port: number): Endpoint => ({ address: LOOPBACK, port, id: idOf(side, LINK.name) });
    const secrets = [{ name: LINK.name, ids: [idOf('ours', LINK.name), idOf('charon', LINK.name)], secret: PSK }];
    const c = await startCharon({
      name: 'charon', dir: join(root, 'charon'), ports: { ike, natt }, logLevels: { esp: 2, knl: 2 },
      conf: { connections: [connectionBetween(LINK, end('charon', ike), end('ours', ourPort), true)], secrets },
    });
    charon = c;
    undo.push(() => c.stop());
    // charon's routing table is numbered after its IKE port (test/support/strongswan.ts).
    await run('ip', ['rule', 'add', 'to', `${OURS.address}/32`, 'lookup', String(ike), 'priority', '100'], 5_000);
    undo.push(() => run('ip', ['rule', 'del', 'to', `${OURS.address}/32`, 'lookup', String(ike), 'priority', '100'], 5_000));

    theirSocket = await bind(THEIRS.address, THEIRS.port);
    undo.push(() => closeSocket(theirSocket));
    undo.push(async () => provider.close());
    ourSink = await bind(LOOPBACK, 0);
    undo.push(() => closeSocket(ourSink));
    tap = await UdpTap.open({
      format: 'udp',
      inner: { src: OURS.address, dst: THEIRS.address, srcPort: OURS.port, dstPort: THEIRS.port },
      deliver: { address: LOOPBACK, port: ourSink.address().port },
    });
    const started = await startDaemon(swanctlConf({ connections: [connectionBetween(LINK, end('ours', ourPort), end('charon', ike))], secrets }), join(root, 'ours.conf'), {
      keyLogDir: keylogDir,
      datapath: provider,
      plaintext: tap,
    });
    daemon = started.daemon;
    undo.push(() => started.daemon.stop(1000));

    await daemon.initiateAndWait(LINK.name);
    await waitUntil('Child SA installed on both ends', 15_000, async () => {
      const mine = ourChild(daemon);
      const theirs = establishedSa(await charon.listSas(), LINK.name);
      const child = theirs && installedChild(theirs);
      return mine?.counters && child && mine.inboundSpi === child.spiOut ? true : undefined;
    }, 100);
  });

  after(async () => {
    // Reverse order: daemon (and its tap), sockets, rule, charon, capture, address.
    for (const f of undo.reverse()) await f().catch(() => undefined);
    if (root && !process.env.GKM_KEEP_STRONGSWAN) rmSync(root, { recursive: true, force: true });
  });

  test('the Child SA is UDP-encapsulated on both ends (libipsec fakes NAT detection)', async () => {
    const child = installedChild(establishedSa(await charon.listSas(), LINK.name)!)!;
    assert.equal(child.encap, true);
    assert.equal(child.mode, 'TUNNEL');
    assert.equal(ourChild(daemon)?.encapsulated, true);
  });

  /** Sends `n` datagrams into our tap; resolves with them once charon's side has them all. */
  async function oursToCharon(tag: string, n = COUNT): Promise<Buffer[]> {
    const received = collector(theirSocket);
    const payloads = Array.from({ length: n }, (_, i) => Buffer.from(`${tag} to charon #${i} ${'x'.repeat(i * 7)}`));
    const sender = await bind(LOOPBACK, 0);
    try {
      for (const p of payloads) sender.send(p, tap.local.port, tap.local.address);
      await received.until(n, `${tag}: ${n} datagrams at ${THEIRS.address}:${THEIRS.port}`);
    } finally {
      theirSocket.removeAllListeners('message');
      await closeSocket(sender);
    }
    assert.deepEqual(received.got.map((g) => g.data.toString()), payloads.map((p) => p.toString()), tag);
    assert.ok(received.got.every((g) => g.from === `${OURS.address}:${OURS.port}`), `${tag}: inner source is our tap address`);
    return payloads;
  }

  /** Sends `n` datagrams from charon's side to our inner address; resolves once our tap delivered them all. */
  async function charonToOurs(tag: string, n = COUNT): Promise<Buffer[]> {
    const received = collector(ourSink);
    const payloads = Array.from({ length: n }, (_, i) => Buffer.from(`${tag} to ours #${i} ${'y'.repeat(i * 5)}`));
    try {
      for (const p of payloads) theirSocket.send(p, OURS.port, OURS.address);
      await received.until(n, `${tag}: ${n} datagrams delivered by our tap`);
    } finally {
      ourSink.removeAllListeners('message');
    }
    assert.deepEqual(received.got.map((g) => g.data.toString()), payloads.map((p) => p.toString()), tag);
    return payloads;
  }

  const innerBytes = (payloads: readonly Buffer[]): number => payloads.reduce((n, p) => n + p.length + INNER_OVERHEAD, 0);
  /** The first Child SA's SPIs, for the capture check. */
  let first: ChildListing;

  test('ours -> charon: datagrams through our tap arrive on charon side, from our inner address', async () => {
    first = ourChild(daemon)!;
    const bytes = innerBytes(await oursToCharon('first'));
    const mine = ourChild(daemon)!.counters!;
    assert.equal(mine.outbound.packets, COUNT);
    assert.equal(mine.outbound.bytes, bytes);
    const theirs = await charon.waitForSas('charon counted our packets', (sas) => {
      const c = installedChild(establishedSa(sas, LINK.name)!);
      return c && c.bytesIn >= bytes ? c : undefined;
    }, 5_000);
    assert.equal(theirs.bytesIn, bytes, "charon's inbound bytes: the inner packets we sent");
  });

  test('charon -> ours: datagrams to our inner address travel through libipsec to our tap', async () => {
    const bytes = innerBytes(await charonToOurs('first'));
    const mine = ourChild(daemon)!.counters!;
    assert.equal(mine.inbound.packets, COUNT);
    assert.equal(mine.inbound.bytes, bytes);
    const theirs = installedChild(establishedSa(await charon.listSas(), LINK.name)!)!;
    assert.equal(theirs.bytesOut, bytes, "charon's outbound bytes: the inner packets we received");
    const dp = daemon.list().datapath;
    assert.ok(dp, 'datapath counters in the listing');
    assert.equal(dp.plaintextIn, COUNT);
    assert.equal(dp.espOut, COUNT);
    assert.equal(dp.espIn, COUNT);
    assert.equal(dp.plaintextOut, COUNT);
    assert.deepEqual(dp.drops, {});
  });

  test('Child SA rekeys started by each end: traffic both ways moves to the new SAs', async () => {
    for (const starter of ['ours', 'charon'] as const) {
      const old = ourChild(daemon)!;
      if (starter === 'ours') daemon.rekey('child', LINK.name);
      else await charon.rekeyChild(LINK.name);
      const next = await waitUntil(`${starter}: rekeyed Child SA on both ends`, 15_000, async () => {
        const mine = ourChild(daemon);
        const sa = establishedSa(await charon.listSas(), LINK.name);
        const child = sa && installedChild(sa);
        const fresh = mine && mine.inboundSpi !== old.inboundSpi && mine.outboundSpi !== old.outboundSpi && mine.counters;
        return fresh && child?.spiOut === mine.inboundSpi && daemon.list().ikeSas.every((s) => (s['children'] as unknown[]).length === 1) ? mine : undefined;
      }, 100);
      await oursToCharon(`after ${starter}'s rekey`, 5);
      await charonToOurs(`after ${starter}'s rekey`, 5);
      const c = ourChild(daemon)!.counters!;
      assert.equal(c.outbound.packets, 5, `${starter}: the new outbound SA carries the traffic`);
      assert.equal(c.inbound.packets, 5, `${starter}: the new inbound SA carries the traffic`);
      assert.notEqual(next.outboundSpi, old.outboundSpi);
    }
    assert.deepEqual(daemon.list().datapath?.drops, {});
  });

  test('capture: tshark decrypts the ESP both ways with our esp_sa export', { skip: tsharkAvailable() ? false : 'tshark not installed' }, async (t) => {
    assert.ok(capture);
    await capture.stop();
    const fields = ['esp.spi', 'ip.src', 'ip.dst', 'udp.srcport', 'udp.dstport'];
    const r = tshark(['-r', capture.file, ...udpencapDecodeAs(ports).flatMap((d) => ['-d', d]), '-o', 'esp.enable_encryption_decode:TRUE', '-Y', 'esp', '-T', 'fields', '-E', 'separator=;', ...fields.flatMap((f) => ['-e', f])], keylogDir);
    assert.equal(r.status, 0, r.stderr);
    const child = first;
    const rows = r.stdout.trim().split('\n').map((l) => l.split(';'));
    const decrypted = (spi: string, src: string, dst: string): number =>
      rows.filter(([s, ipSrc, ipDst]) => s === `0x${spi}` && ipSrc?.split(',')[1] === src && ipDst?.split(',')[1] === dst).length;
    // The outer header is 127.0.0.1 both ways; the decrypted inner one carries the selectors.
    assert.equal(decrypted(child.outboundSpi, OURS.address, THEIRS.address), COUNT, 'our ESP decrypted');
    assert.equal(decrypted(child.inboundSpi, THEIRS.address, OURS.address), COUNT, "charon's ESP decrypted");
    t.diagnostic(`${rows.length} ESP packets in the capture, ${2 * COUNT} of the first Child SA decrypted to the inner addresses`);
  });

  test('delete: the Child SA leaves our datapath with its IKE SA', async () => {
    daemon.terminate('ike', LINK.name);
    await waitUntil('IKE SA gone on our end', 10_000, async () => (daemon.engine.list().length === 0 ? true : undefined), 100);
    await charon.waitForSas('IKE SA gone at charon', (sas) => (sas.some((x) => x.name === LINK.name) ? undefined : true));
    assert.equal(provider.sad.size, 0);
  });
});
