/**
 * tshark checks a real registration (issue 4, deliverable 5): a GM registers with the GCKS
 * service over UDP on loopback (IKE_SA_INIT, GSA_AUTH, GSA_REGISTRATION, a leave); the IKE
 * messages exactly as the GM sent and received them go into a pcap (UDP 500 both ways, so
 * no non-ESP marker: the bytes are the real ones, the ports canonical). tshark must report
 * no Error-level expert info, and with the GCKS's own key log (`--keylog`) decrypt every SK
 * payload down to IDg, GSA and KD.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addMember, authorizeMember, createGroup } from '../../src/gcks/groups/index.ts';
import { KEYLOG_FILES } from '../../src/ikev2/keylog/index.ts';
import { IdType, NotifyType, PayloadType } from '../../src/ikev2/registry/index.ts';
import { Id } from '../../src/ikev2/sa/identity.ts';
import type { Endpoint } from '../../src/ikev2/sa/types.ts';
import { writePcap, type UdpDatagram } from '../support/pcap.ts';
import { tshark, tsharkAvailable, tsharkErrors } from '../support/tshark.ts';
import { gcmPolicy } from '../gcks/registration/support/world.ts';
import { startGcks, UdpGm } from './support/gcks-udp.ts';

const available = tsharkAvailable();
const skip = process.env.CI ? false : available ? false : 'tshark not installed (.ci/run installs it)';

test('tshark dissects GSA_AUTH and GSA_REGISTRATION of a real run without errors and decrypts them with the GCKS key log', { skip, timeout: 120_000 }, async () => {
  assert.ok(available, 'tshark must be installed');
  const dir = mkdtempSync(join(tmpdir(), 'gcks-tshark-'));
  const keylog = join(dir, 'keylog');
  const { service, endpoint } = await startGcks(dir, { keylogDir: keylog });
  const gm = await UdpGm.open();
  try {
    for (const name of ['g1', 'g2']) createGroup(service.store, { name, identity: { idType: IdType.ID_KEY_ID, data: Buffer.from(name) }, memberCap: null, policy: gcmPolicy(name === 'g1' ? 1 : 2) }, 'test');
    const psk = randomBytes(32);
    const m = addMember(service.store, { identity: { idType: IdType.ID_KEY_ID, data: Buffer.from('gm') }, credential: { kind: 'psk', psk } }, 'test');
    for (const g of ['g1', 'g2']) authorizeMember(service.store, service.store.groups.getByName(g)!.id, m.id, { role: 'both', maxSenderIds: 2 }, 'test');

    // Record the GM's IKE messages both ways (the transport adds/strips the marker itself).
    const seen: { from: Endpoint; to: Endpoint; message: Buffer }[] = [];
    const transport = gm.node.transport;
    const send = transport.send.bind(transport);
    transport.send = (message, remote, via) => {
      seen.push({ from: { ip: via.address, port: via.port }, to: { ip: remote.address, port: remote.port }, message: Buffer.from(message) });
      return send(message, remote, via);
    };
    const engine = gm.node.engine;
    const receive = engine.receive.bind(engine);
    engine.receive = (datagram, remote, local) => {
      seen.push({ from: remote, to: local, message: Buffer.from(datagram) });
      return receive(datagram, remote, local);
    };

    const who = { id: Id.keyId('gm'), localAuth: { method: 'psk' as const, psk }, remoteAuth: { method: 'psk' as const, psk } };
    const { outcome, saId } = await gm.register(endpoint, who, { group: 'g1', groupSender: 1 });
    assert.equal(outcome.kind, 'registered');
    assert.equal((await gm.registration(saId, { group: 'g2' })).kind, 'registered');
    assert.equal((await gm.registration(saId, { group: 'g2', leave: NotifyType.REGISTRATION_FAILED })).kind, 'left');
    assert.equal(seen.length, 8, 'IKE_SA_INIT, GSA_AUTH, GSA_REGISTRATION, leave: requests and responses');

    const pcap = join(dir, 'registration.pcap');
    writePcap(pcap, seen.map((d): UdpDatagram => ({ src: d.from.ip, dst: d.to.ip, sport: 500, dport: 500, payload: d.message })));
    assert.deepEqual(tsharkErrors(pcap), [], 'no Error-level expert info without keys');
    assert.ok(existsSync(join(keylog, KEYLOG_FILES.ikev2)), '--keylog wrote the Wireshark table');
    const json = JSON.parse(readFileSync(join(keylog, KEYLOG_FILES.json), 'utf8')) as { ikeSas: { kwaId?: number }[] };
    assert.equal(json.ikeSas.length, 1);
    assert.equal(json.ikeSas[0]!.kwaId, 3);
    assert.deepEqual(tsharkErrors(pcap, [], keylog), [], 'no Error-level expert info with keys');

    const r = tshark(['-r', pcap, '-T', 'fields', '-E', 'separator=;', '-e', 'frame.number', '-e', 'isakmp.exchangetype', '-e', 'isakmp.enc.decrypted', '-e', 'isakmp.typepayload'], keylog);
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => l.split(';'));
    assert.deepEqual(rows.map((x) => Number(x[1])), [34, 34, 39, 39, 40, 40, 40, 40]);
    const inner = (f: number) => rows[f - 1]![3]!.split(',').map(Number);
    for (const f of [3, 4, 5, 6, 7, 8]) assert.equal(rows[f - 1]![2], '1', `frame ${f} decrypted`);
    for (const t of [PayloadType.IDi, PayloadType.AUTH, PayloadType.IDg]) assert.ok(inner(3).includes(t), `GSA_AUTH request carries ${t}`);
    for (const t of [PayloadType.IDr, PayloadType.AUTH, PayloadType.GSA, PayloadType.KD]) assert.ok(inner(4).includes(t), `GSA_AUTH response carries ${t}`);
    assert.ok(inner(5).includes(PayloadType.IDg));
    for (const t of [PayloadType.GSA, PayloadType.KD]) assert.ok(inner(6).includes(t), `GSA_REGISTRATION response carries ${t}`);
  } finally {
    await gm.close();
    await service.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
