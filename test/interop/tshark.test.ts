/**
 * A real analyser agrees with us (foundation issue, deliverable 5): our IKE_SA_INIT,
 * IKE_AUTH and GSA_AUTH (IDg/GSA/KD inside SK) go into a pcap; tshark must report no
 * Error-level expert info, and, given our key-log export, decrypt every SK payload and
 * walk the inner payloads. tshark is installed by .ci/run; without it this test fails
 * (in CI) rather than skipping silently.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyLogWriter, KEYLOG_FILES } from '../../src/ikev2/keylog/index.ts';
import { NON_ESP_MARKER } from '../../src/ikev2/wire/index.ts';
import { PayloadType } from '../../src/ikev2/registry/index.ts';
import { writePcap, type UdpDatagram } from '../support/pcap.ts';
import { tshark, tsharkAvailable, tsharkErrors } from '../support/tshark.ts';
import { scriptedGsaAuth, scriptedIkeAuth, type Datagram } from '../support/session.ts';

const available = tsharkAvailable();
const skipReason = process.env.CI ? false : available ? false : 'tshark not installed (apt-get install tshark; .ci/run installs it)';

/** Port 4500 messages carry the non-ESP marker (RFC 3948 §2.2). */
const toUdp = (d: Datagram): UdpDatagram => ({
  src: d.src.ip,
  dst: d.dst.ip,
  sport: d.src.port,
  dport: d.dst.port,
  payload: d.dst.port === 4500 || d.src.port === 4500 ? Buffer.concat([NON_ESP_MARKER, d.message]) : d.message,
});

function sessions() {
  const ikeAuth = scriptedIkeAuth({ initiator: { ip: '127.0.0.2', port: 500 }, responder: { ip: '127.0.0.1', port: 500 } });
  // The registration floats to 4500 after IKE_SA_INIT, as after NAT detection (RFC 7296 §2.23).
  const gsaAuth = scriptedGsaAuth({ initiator: { ip: '127.0.0.3', port: 500 }, responder: { ip: '127.0.0.1', port: 500 } });
  const floated = gsaAuth.datagrams.map((d, i) =>
    i < 2 ? d : { ...d, src: { ...d.src, port: 4500 }, dst: { ...d.dst, port: 4500 } },
  );
  return { ikeAuth, gsaAuth, datagrams: [...ikeAuth.datagrams, ...floated] };
}

test('tshark dissects our IKE_SA_INIT, IKE_AUTH and GSA_AUTH without errors and decrypts them with our key log', { skip: skipReason }, () => {
  assert.ok(available, 'tshark must be installed (CI installs it in .ci/run)');
  const dir = mkdtempSync(join(tmpdir(), 'gkm-tshark-'));
  try {
    const { ikeAuth, gsaAuth, datagrams } = sessions();
    const pcap = join(dir, 'session.pcap');
    writePcap(pcap, datagrams.map(toUdp));
    const decodeAs = ['udp.port==4500,udpencap'];

    // 1. No Error-level expert info, without keys...
    assert.deepEqual(tsharkErrors(pcap, decodeAs), []);

    // 2. ...and with our key log, which tshark reads from its configuration folder.
    const keylogDir = join(dir, 'keylog');
    const warnings: string[] = [];
    const keylog = new KeyLogWriter(keylogDir, (m) => warnings.push(m));
    assert.equal(warnings.length, 1, 'turning the key log on warns');
    keylog.recordIkeSa(ikeAuth.keyRecord);
    keylog.recordIkeSa(gsaAuth.keyRecord);
    const table = readFileSync(join(keylogDir, KEYLOG_FILES.ikev2), 'utf8');
    assert.equal(table.trim().split('\n').length, 2);
    const json = JSON.parse(readFileSync(join(keylogDir, KEYLOG_FILES.json), 'utf8'));
    assert.equal(json.ikeSas[1].skD, gsaAuth.keys.skD.toString('hex'));
    assert.equal(json.ikeSas[1].kwaId, 3);
    assert.deepEqual(tsharkErrors(pcap, decodeAs, keylogDir), []);

    // 3. Every SK payload decrypts, and the inner chain is walked: the payload types tshark
    //    lists per frame include the inner payloads we put there.
    const fields = ['-r', pcap, '-d', decodeAs[0]!, '-T', 'fields', '-E', 'separator=;', '-e', 'frame.number', '-e', 'isakmp.enc.decrypted', '-e', 'isakmp.typepayload'];
    // Negative control: without our keys nothing decrypts.
    const blind = tshark(fields, join(dir, 'empty-profile'));
    assert.ok(blind.stdout.trim().split('\n').every((l) => l.split(';')[1] === ''));
    const r = tshark(fields, keylogDir);
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => l.split(';'));
    assert.equal(rows.length, datagrams.length);
    const innerTypes = (frame: number) => rows[frame - 1]![2]!.split(',').map(Number);
    const encryptedFrames = [3, 4, 7, 8];
    for (const f of encryptedFrames) assert.equal(rows[f - 1]![1], '1', `frame ${f} decrypted`);
    const sessionsInner = [...ikeAuth.innerPayloads, ...gsaAuth.innerPayloads];
    encryptedFrames.forEach((f, k) => {
      const expected = sessionsInner[k]!.map((p) => (p.type === 'unknown' ? p.wireType : p.type));
      for (const t of expected) assert.ok(innerTypes(f).includes(t), `frame ${f} shows inner payload ${t}: ${innerTypes(f)}`);
    });
    // GSA_AUTH response: IDr, AUTH, GSA (51), KD (52) after decryption.
    assert.ok(innerTypes(8).includes(PayloadType.GSA) && innerTypes(8).includes(PayloadType.KD));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
