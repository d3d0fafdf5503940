import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isGkmError } from '../../../src/ikev2/errors.ts';
import {
  floatPath,
  followPeer,
  IkeTransport,
  initialSocketKind,
  isIkeSaInitRequest,
  standardSockets,
  type Endpoint,
  type IkeDatagram,
  type TransportErrorEvent,
} from '../../../src/ikev2/transport/index.ts';
import { decodeMessage, NON_ESP_MARKER } from '../../../src/ikev2/wire/message.ts';
import { collecting, ikeMessage, RawPeer, v4, v6, waitUntil, withTimeout } from './helpers.ts';

const marked = (m: Buffer): Buffer => Buffer.concat([NON_ESP_MARKER, m]);
const espPacket = (spi = 0xc0ffee01, len = 64): Buffer => {
  const b = Buffer.alloc(len, 0x5a);
  b.writeUInt32BE(spi, 0);
  if (len >= 8) b.writeUInt32BE(1, 4);
  return b;
};
const local = (t: IkeTransport, kind: 'ike' | 'natt', family: 'IPv4' | 'IPv6' = 'IPv4'): Endpoint => {
  const e = t.localEndpoint(kind, family);
  assert.ok(e, `a bound ${kind} socket for ${family}`);
  return e;
};

test('standardSockets: 500, 4500 and 848 on every address; ports overridable or left out', () => {
  assert.deepEqual(standardSockets(), [
    { address: '0.0.0.0', port: 500, kind: 'ike' },
    { address: '0.0.0.0', port: 4500, kind: 'natt' },
    { address: '0.0.0.0', port: 848, kind: 'ike' },
    { address: '::', port: 500, kind: 'ike' },
    { address: '::', port: 4500, kind: 'natt' },
    { address: '::', port: 848, kind: 'ike' },
  ]);
  assert.deepEqual(standardSockets({ addresses: ['127.0.0.1'], ikePort: 20500, nattPort: 24500, gdoiPort: null }), [
    { address: '127.0.0.1', port: 20500, kind: 'ike' },
    { address: '127.0.0.1', port: 24500, kind: 'natt' },
  ]);
});

test('configuration errors are refused before anything is bound', async () => {
  const bad = [
    { sockets: [] },
    { sockets: [{ address: 'localhost', port: 0, kind: 'ike' as const }] },
    { sockets: [v4('ike', { port: 70000 })] },
    { sockets: [v4('ike', { port: 1.5 })] },
    { sockets: [v4('ike', { port: 20000 }), v4('natt', { port: 20000 })] },
    { sockets: [v4('ike', { marker: 'sometimes' as never })] },
    { sockets: [v4('esp' as never)] },
    { sockets: [v4('ike')], maxIkeLength: 27 },
    { sockets: [v4('ike')], maxIkeLength: 65536 },
    { sockets: [v4('ike')], plainPorts: [0] },
    { sockets: [v4('ike')], receiveBufferSize: -1 },
  ];
  for (const opts of bad) {
    await assert.rejects(IkeTransport.open(opts), (e) => isGkmError(e, 'GKM_TRANSPORT_CONFIG'), JSON.stringify(opts));
  }
});

test('a port in use fails with GKM_TRANSPORT_BIND and releases the sockets bound before it', async () => {
  const squatter = await RawPeer.open();
  const first = await RawPeer.open();
  const firstPort = first.port;
  await first.close(); // free again: the transport takes it, then fails on the squatted port
  await assert.rejects(
    IkeTransport.open({ sockets: [v4('ike', { port: firstPort }), v4('natt', { port: squatter.port })] }),
    (e) => isGkmError(e, 'GKM_TRANSPORT_BIND') && e.field === `127.0.0.1:${squatter.port}`,
  );
  await squatter.close();
  const again = await IkeTransport.open({ sockets: [v4('ike', { port: firstPort })] });
  await again.close();
});

test('ours to ours on IPv4: plain on the IKE socket, marker added and stripped on NAT-T', async (t) => {
  const a = await collecting({ sockets: [v4('ike', { marker: 'never' }), v4('natt')] });
  const b = await collecting({ sockets: [v4('ike', { marker: 'never' }), v4('natt')] });
  t.after(() => Promise.all([a.transport.close(), b.transport.close()]));
  const m = ikeMessage({ size: 300 });

  assert.equal(await a.transport.send(m, local(b.transport, 'ike'), local(a.transport, 'ike')), true);
  assert.equal(await a.transport.send(m, local(b.transport, 'natt'), local(a.transport, 'natt')), true);
  await waitUntil(() => b.ike.length === 2, 'two IKE datagrams');
  const [plain, natT] = b.ike as [IkeDatagram, IkeDatagram];
  assert.deepEqual(
    { data: plain.data, remote: plain.remote, local: plain.local, kind: plain.socketKind, marked: plain.marked },
    { data: m, remote: local(a.transport, 'ike'), local: local(b.transport, 'ike'), kind: 'ike', marked: false },
  );
  assert.deepEqual(
    { data: natT.data, remote: natT.remote, local: natT.local, kind: natT.socketKind, marked: natT.marked },
    { data: m, remote: local(a.transport, 'natt'), local: local(b.transport, 'natt'), kind: 'natt', marked: true },
  );
  assert.equal(decodeMessage(natT.data).header.length, 300, 'the marker is gone: the message decodes');
  const s = b.transport.stats();
  assert.equal(s.total.received, 2);
  assert.equal(s.total.ikeDelivered, 2);
  assert.equal(a.transport.stats().total.sent, 2);
});

test('the marker on the wire: raw peer sees it from NAT-T, not from a plain socket', async (t) => {
  const { transport } = await collecting({ sockets: [v4('ike', { marker: 'never' }), v4('natt')] });
  const raw = await RawPeer.open();
  t.after(() => Promise.all([transport.close(), raw.close()]));
  const m = ikeMessage();
  await transport.send(m, raw.endpoint, local(transport, 'ike'));
  await transport.send(m, raw.endpoint, local(transport, 'natt'));
  await waitUntil(() => raw.received.length === 2, 'two datagrams at the raw peer');
  assert.deepEqual(raw.received[0]?.data, m);
  assert.deepEqual(raw.received[1]?.data, marked(m));
  assert.equal(transport.marksPath(local(transport, 'natt'), raw.port), true);
  assert.equal(transport.marksPath(local(transport, 'ike'), raw.port), false);
});

test('NAT-T receive path: IKE, keepalive, ESP to its handler, and every drop counted by reason', async (t) => {
  const { transport, ike } = await collecting({ sockets: [v4('natt')], maxIkeLength: 200 });
  const raw = await RawPeer.open();
  t.after(() => Promise.all([transport.close(), raw.close()]));
  const natt = local(transport, 'natt');
  const m = ikeMessage();

  await raw.send(espPacket(), natt); // no ESP handler yet
  await waitUntil(() => transport.stats().total.dropped.noEspHandler === 1, 'ESP without a handler dropped');

  const esp: { packet: Buffer; remote: Endpoint; local: Endpoint }[] = [];
  transport.setEspHandler((packet, remote, loc) => void esp.push({ packet, remote, local: loc }));
  await raw.send(marked(m), natt);
  await raw.send(Buffer.from([0xff]), natt);
  await raw.send(espPacket(0x01020304, 100), natt);
  await raw.send(Buffer.from([0xff, 0xff]), natt); // stray octets
  await raw.send(marked(Buffer.alloc(27, 1)), natt); // shorter than an IKE header
  await raw.send(espPacket(0x01020304, 7), natt); // shorter than SPI + sequence number
  await raw.send(marked(ikeMessage({ size: 201 })), natt); // over maxIkeLength
  await waitUntil(() => transport.stats().total.received === 8, 'eight datagrams');

  assert.equal(ike.length, 1);
  assert.deepEqual(ike[0]?.data, m);
  assert.equal(esp.length, 1);
  assert.deepEqual(esp[0], { packet: espPacket(0x01020304, 100), remote: { ...raw.endpoint, family: 'IPv4' }, local: natt });
  const s = transport.stats().total;
  assert.equal(s.keepalivesReceived, 1);
  assert.equal(s.espDelivered, 1);
  assert.deepEqual(s.dropped, { tooShort: 3, tooLong: 1, espNotAccepted: 0, noEspHandler: 1, noIkeHandler: 0, rateLimited: 0 });
});

test("a marked IKE socket ('always', e.g. a custom port facing strongSwan) refuses ESP; no handler means noIkeHandler", async (t) => {
  const transport = await IkeTransport.open({ sockets: [v4('ike', { marker: 'always' })] });
  const raw = await RawPeer.open();
  t.after(() => Promise.all([transport.close(), raw.close()]));
  transport.setEspHandler(() => assert.fail('ESP must not reach the datapath from an IKE socket'));
  const ikeSocket = local(transport, 'ike');
  await raw.send(espPacket(), ikeSocket);
  await raw.send(marked(ikeMessage()), ikeSocket);
  await waitUntil(() => transport.stats().total.received === 2, 'two datagrams');
  assert.equal(transport.stats().total.dropped.espNotAccepted, 1);
  assert.equal(transport.stats().total.dropped.noIkeHandler, 1);
});

test("'auto' marker on a custom port: marked unless the peer's port is plain (strongSwan's rule, 848 added)", async (t) => {
  const raw = await RawPeer.open();
  const plainPeer = await RawPeer.open();
  const { transport, ike } = await collecting({ sockets: [v4('ike')], plainPorts: [500, 848, plainPeer.port] });
  t.after(() => Promise.all([transport.close(), raw.close(), plainPeer.close()]));
  assert.equal(transport.sockets()[0]?.marker, 'auto', 'an ephemeral IKE port counts as custom');
  const ikeSocket = local(transport, 'ike');
  const m = ikeMessage();

  await raw.send(marked(m), ikeSocket);
  await plainPeer.send(m, ikeSocket);
  await waitUntil(() => ike.length === 2, 'both delivered');
  assert.deepEqual([ike[0]?.data, ike[0]?.marked], [m, true]);
  assert.deepEqual([ike[1]?.data, ike[1]?.marked], [m, false]);

  await transport.send(m, raw.endpoint, ikeSocket);
  await transport.send(m, plainPeer.endpoint, ikeSocket);
  await waitUntil(() => raw.received.length === 1 && plainPeer.received.length === 1, 'both answered');
  assert.deepEqual(raw.received[0]?.data, marked(m));
  assert.deepEqual(plainPeer.received[0]?.data, m);
});

test('sendEsp: no marker, NAT-T sockets only, never a zero SPI', async (t) => {
  const transport = await IkeTransport.open({ sockets: [v4('ike', { marker: 'never' }), v4('natt')] });
  const raw = await RawPeer.open();
  t.after(() => Promise.all([transport.close(), raw.close()]));
  const p = espPacket();
  transport.sendEsp(p, raw.endpoint, local(transport, 'natt'));
  await waitUntil(() => raw.received.length === 1, 'ESP at the raw peer');
  assert.deepEqual(raw.received[0]?.data, p);
  assert.equal(transport.stats().total.espSent, 1);
  assert.throws(() => transport.sendEsp(p, raw.endpoint, local(transport, 'ike')), (e) => isGkmError(e, 'GKM_TRANSPORT_NO_SOCKET'));
  assert.throws(() => transport.sendEsp(espPacket(0), raw.endpoint, local(transport, 'natt')), (e) => isGkmError(e, 'GKM_ESP_MALFORMED'));
  assert.throws(() => transport.sendEsp(Buffer.from('01020304', 'hex'), raw.endpoint, local(transport, 'natt')), (e) => isGkmError(e, 'GKM_ESP_MALFORMED'));
});

test('NAT keepalives on the wire: 0xFF without marker, only from NAT-T sockets, stopped on request', async (t) => {
  const transport = await IkeTransport.open({ sockets: [v4('ike', { marker: 'never' }), v4('natt')] });
  const raw = await RawPeer.open();
  t.after(() => Promise.all([transport.close(), raw.close()]));
  assert.throws(() => transport.startKeepalive(raw.endpoint, local(transport, 'ike')), (e) => isGkmError(e, 'GKM_TRANSPORT_NO_SOCKET'));
  transport.startKeepalive(raw.endpoint, local(transport, 'natt'), 0.02);
  assert.equal(transport.stats().keepalives, 1);
  await waitUntil(() => raw.received.length >= 2, 'two keepalives');
  assert.ok(raw.received.every((r) => r.data.equals(Buffer.from([0xff]))));
  assert.equal(transport.stopKeepalive(raw.endpoint, local(transport, 'natt')), true);
  assert.equal(transport.stats().keepalives, 0);
  assert.ok(transport.stats().total.keepalivesSent >= 2);
});

test('admission hook: per socket or transport-wide; a throwing hook fails closed and is reported', async (t) => {
  const errors: TransportErrorEvent[] = [];
  const { transport, ike } = await collecting({
    sockets: [v4('ike', { marker: 'never', admit: (d) => !isIkeSaInitRequest(d.data) }), v4('natt')],
  });
  transport.on('error', (e) => errors.push(e));
  const raw = await RawPeer.open();
  t.after(() => Promise.all([transport.close(), raw.close()]));
  const init = ikeMessage();
  const reply = ikeMessage({ response: true });

  await raw.send(init, local(transport, 'ike'));
  await raw.send(reply, local(transport, 'ike'));
  await waitUntil(() => transport.stats().total.received === 2, 'two datagrams');
  assert.equal(ike.length, 1);
  assert.equal(transport.stats().total.dropped.rateLimited, 1);

  transport.setAdmissionHook(() => {
    throw new Error('hook bug');
  });
  await raw.send(marked(reply), local(transport, 'natt'));
  await waitUntil(() => transport.stats().total.received === 3, 'third datagram');
  assert.equal(ike.length, 1, 'not delivered');
  assert.equal(transport.stats().total.dropped.rateLimited, 2);
  assert.equal(transport.stats().total.handlerErrors, 1);
  assert.equal(errors[0]?.operation, 'admission');
});

test('a throwing or rejecting IKE handler is counted and reported; the transport keeps delivering', async (t) => {
  const transport = await IkeTransport.open({ sockets: [v4('ike', { marker: 'never' })] });
  const raw = await RawPeer.open();
  t.after(() => Promise.all([transport.close(), raw.close()]));
  const errors: TransportErrorEvent[] = [];
  transport.on('error', (e) => errors.push(e));
  let n = 0;
  transport.setIkeHandler(async () => {
    n++;
    if (n === 1) throw new Error('async failure');
  });
  await raw.send(ikeMessage(), local(transport, 'ike'));
  await waitUntil(() => errors.length === 1, 'rejected handler reported');
  transport.setIkeHandler(() => {
    n++;
    throw new Error('sync failure');
  });
  await raw.send(ikeMessage(), local(transport, 'ike'));
  await waitUntil(() => errors.length === 2, 'throwing handler reported');
  transport.setIkeHandler(() => void n++);
  await raw.send(ikeMessage(), local(transport, 'ike'));
  await waitUntil(() => n === 3, 'third delivered');
  assert.deepEqual(errors.map((e) => e.operation), ['ike-handler', 'ike-handler']);
  assert.equal(transport.stats().total.handlerErrors, 2);
  assert.equal(transport.stats().total.ikeDelivered, 3);
});

test('send failures resolve false, are counted and reported, and never reach DNS', async (t) => {
  const transport = await IkeTransport.open({ sockets: [v4('ike', { marker: 'never' }), v4('natt')] });
  t.after(() => transport.close());
  const events: TransportErrorEvent[] = [];
  transport.on('error', (e) => events.push(e));
  const via = local(transport, 'ike');
  const m = ikeMessage();
  assert.equal(await withTimeout(transport.send(m, { address: '127.0.0.1', port: 0 }, via), 'bad port'), false);
  assert.equal(await withTimeout(transport.send(m, { address: 'gcks.example', port: 500 }, via), 'host name'), false);
  assert.equal(await withTimeout(transport.send(m, { address: '::1', port: 500 }, via), 'wrong family'), false);
  assert.equal(transport.stats().total.sendErrors, 3);
  assert.deepEqual(events.map((e) => e.operation), ['send', 'send', 'send']);
  // ESP is fire-and-forget: its asynchronous failure arrives as a socket error.
  transport.sendEsp(espPacket(), { address: 'gcks.example', port: 4500 }, local(transport, 'natt'));
  await waitUntil(() => transport.stats().total.socketErrors === 1, 'socket error counted');
  assert.equal(events.at(-1)?.operation, 'socket');
  assert.throws(() => transport.send(m, { address: '127.0.0.1', port: 500 }, { address: '127.0.0.1', port: 1 }), (e) => isGkmError(e, 'GKM_TRANSPORT_NO_SOCKET'));
});

test('without an error listener failures are only counted (no crash); a throwing listener is contained', async (t) => {
  const transport = await IkeTransport.open({ sockets: [v4('ike', { marker: 'never' })] });
  t.after(() => transport.close());
  const via = local(transport, 'ike');
  assert.equal(await transport.send(ikeMessage(), { address: '127.0.0.1', port: 0 }, via), false);
  transport.on('error', () => {
    throw new Error('listener bug');
  });
  assert.equal(await transport.send(ikeMessage(), { address: '127.0.0.1', port: 0 }, via), false);
  assert.equal(transport.stats().total.sendErrors, 2);
});

test('close: idempotent, stops keepalives, later sends resolve false, stats stay readable', async () => {
  const raw = await RawPeer.open();
  const { transport, ike } = await collecting({ sockets: [v4('ike', { marker: 'never' }), v4('natt')] });
  const ikeSocket = local(transport, 'ike');
  transport.startKeepalive(raw.endpoint, local(transport, 'natt'));
  await Promise.all([transport.close(), transport.close()]);
  assert.equal(transport.closed, true);
  assert.equal(transport.stats().keepalives, 0);
  assert.equal(await transport.send(ikeMessage(), raw.endpoint, ikeSocket), false);
  transport.sendEsp(espPacket(), raw.endpoint, local(transport, 'natt')); // silently nothing
  await raw.send(ikeMessage(), ikeSocket).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(ike.length, 0);
  assert.equal(transport.stats().total.sendErrors, 0);
  await raw.close();
});

test('IPv6 on ::1: marker added and stripped, ESP routed, endpoints carry the family', async (t) => {
  const a = await collecting({ sockets: [v6('ike', { marker: 'never' }), v6('natt')] });
  const b = await collecting({ sockets: [v6('ike', { marker: 'never' }), v6('natt'), v4('natt')] });
  t.after(() => Promise.all([a.transport.close(), b.transport.close()]));
  const esp: Endpoint[] = [];
  b.transport.setEspHandler((_p, remote) => void esp.push(remote));
  const m = ikeMessage();
  await a.transport.send(m, local(b.transport, 'natt', 'IPv6'), local(a.transport, 'natt', 'IPv6'));
  a.transport.sendEsp(espPacket(), local(b.transport, 'natt', 'IPv6'), local(a.transport, 'natt', 'IPv6'));
  await waitUntil(() => b.ike.length === 1 && esp.length === 1, 'IKE and ESP over IPv6');
  assert.deepEqual(b.ike[0]?.data, m);
  assert.equal(b.ike[0]?.marked, true);
  assert.deepEqual(b.ike[0]?.remote, { address: '::1', port: local(a.transport, 'natt', 'IPv6').port, family: 'IPv6' });
  assert.equal(esp[0]?.family, 'IPv6');
  assert.equal(b.transport.localEndpoint('natt', 'IPv4')?.family, 'IPv4', 'IPv4 and IPv6 sockets side by side');
  assert.equal(b.transport.stats().sockets.length, 3);
});

test('float on loopback: a GM starts on the (simulated) 848 port and moves to NAT-T; the GCKS follows', async (t) => {
  // High ports stand in for 848 and 4500: both sides list the GCKS's IKE port as plain.
  const gcks = await collecting({ sockets: [v4('ike', { marker: 'never' }), v4('natt')] });
  const gcks848 = local(gcks.transport, 'ike');
  const gcks4500 = local(gcks.transport, 'natt');
  const plan = { plainPorts: [gcks848.port], peerNattPort: gcks4500.port };
  const gm = await collecting({ sockets: [v4('ike'), v4('natt')], plainPorts: plan.plainPorts });
  t.after(() => Promise.all([gcks.transport.close(), gm.transport.close()]));

  // IKE_SA_INIT: plain, from the GM's IKE socket.
  assert.equal(initialSocketKind(gcks848.port, plan), 'ike');
  const gmIke = local(gm.transport, initialSocketKind(gcks848.port, plan));
  await gm.transport.send(ikeMessage(), gcks848, gmIke);
  await waitUntil(() => gcks.ike.length === 1, 'IKE_SA_INIT at the GCKS');
  const init = gcks.ike[0] as IkeDatagram;
  assert.equal(init.marked, false);
  await gcks.transport.send(ikeMessage({ response: true }), init.remote, init.local);
  await waitUntil(() => gm.ike.length === 1, 'IKE_SA_INIT response at the GM');

  // The GM floats (NAT-D exchanged): 848 -> NAT-T, marker on.
  const next = floatPath({ localKind: 'ike', localPort: gmIke.port, remotePort: gcks848.port }, plan);
  assert.deepEqual(next, { localKind: 'natt', remotePort: gcks4500.port });
  const gmNatT = local(gm.transport, next.localKind);
  await gm.transport.send(ikeMessage({ spiR: Buffer.alloc(8, 1) }), { address: gcks848.address, port: next.remotePort }, gmNatT);
  await waitUntil(() => gcks.ike.length === 2, 'GSA_AUTH on NAT-T at the GCKS');
  const auth = gcks.ike[1] as IkeDatagram;
  assert.deepEqual([auth.socketKind, auth.marked, auth.local], ['natt', true, gcks4500]);

  // The GCKS moves the registration to where the authenticated request came from.
  const path = followPeer({ local: init.local, remote: init.remote }, { local: auth.local, remote: auth.remote, integrityVerified: true, fresh: true, messageId: 1 }, { natLocal: false, natRemote: false });
  assert.deepEqual(path, { local: gcks4500, remote: gmNatT, changed: true });
  await gcks.transport.send(ikeMessage({ response: true, spiR: Buffer.alloc(8, 1) }), path.remote, path.local);
  await waitUntil(() => gm.ike.length === 2, 'GSA_AUTH response on NAT-T at the GM');
  assert.deepEqual([gm.ike[1]?.socketKind, gm.ike[1]?.marked], ['natt', true]);
});
