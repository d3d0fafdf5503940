/**
 * The strongSwan harness, proven strongSwan-to-strongSwan (issue 3, deliverable 4): two
 * charons on 127.0.0.1 with private ports establish IKE and Child SAs (PSK) over a matrix
 * of ciphers and key exchanges, initiated from either end; rekey Child and IKE SAs and
 * delete them from each end; check liveness (DPD, and a peer that stops answering). The
 * whole session is captured: tshark must dissect it without Error-level expert info and,
 * given keys recovered from charon's log through our key-log writer, decrypt every
 * AES-GCM-protected message. Our engine's interop tests drive the same harness.
 *
 * Outside CI the suite is skipped, with a printed reason, when strongSwan is missing; in
 * CI it runs and fails (.ci/run installs strongSwan).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strongswanMissing, strongswanSkip, waitUntil, type IkeSa, type LinkSpec } from '../../support/strongswan.ts';
import { ikeKeysFromCharonLog, KEYLOG_LOG_LEVELS } from '../../support/strongswan-keys.ts';
import { udpencapDecodeAs } from '../../support/strongswan-capture.ts';
import { tshark, tsharkAvailable, tsharkErrors } from '../../support/tshark.ts';
import { KeyLogWriter } from '../../../src/ikev2/keylog/index.ts';
import { EncrId } from '../../../src/ikev2/registry/transform.ts';
import { installedChild, paired, startPair, type Pair } from './pair.ts';
import { link, MATRIX, matrixLinks, ts } from './matrix.ts';

const skip = strongswanSkip();

const LINKS: LinkSpec[] = [
  ...matrixLinks(),
  // Child SA rekeys with PFS.
  link(20, { name: 'rekey', proposals: ['aes128gcm16-prfsha256-x25519'], espProposals: ['aes128gcm16-x25519'] }),
  link(21, { name: 'delete', proposals: ['aes256gcm16-prfsha256-ecp256'], espProposals: ['aes256gcm16'] }),
  link(22, { name: 'dpd', proposals: ['aes128gcm16-prfsha256-ecp256'], espProposals: ['aes128gcm16'], dpdDelay: '1s', dpdAction: 'clear' }),
];

const capturing = tsharkAvailable() || Boolean(process.env.CI);

describe('strongSwan harness: two charons on loopback', { skip }, () => {
  let root: string;
  let pair: Pair | undefined;
  const p = (): Pair => {
    assert.ok(pair, 'pair started');
    return pair;
  };

  before(async () => {
    assert.equal(strongswanMissing(), undefined, 'strongSwan must be installed (CI installs it in .ci/run)');
    root = mkdtempSync(join(tmpdir(), 'gkm-strongswan-'));
    pair = await startPair({
      root,
      links: LINKS,
      capture: capturing,
      logLevels: KEYLOG_LOG_LEVELS,
      // A peer that stops answering is given up after about 4.4 s (1 + 1.4 + 1.96).
      retransmit: { timeout: 1, base: 1.4, tries: 2 },
    });
  });

  after(async () => {
    await pair?.stop();
    if (root && !process.env.GKM_KEEP_STRONGSWAN) rmSync(root, { recursive: true, force: true });
  });

  test('IKE and Child SAs for aes128gcm16/aes256gcm16/chacha20poly1305 x x25519/ecp256/ecp384, from either end', async () => {
    const { a, b } = p();
    // Even rows are initiated by a, odd rows by b; all at once.
    await Promise.all(MATRIX.map((m, i) => (i % 2 === 0 ? a : b).initiate({ child: m.name })));
    for (const [i, m] of MATRIX.entries()) {
      const sa = await paired(p(), m.name);
      assert.equal(sa.a.initiator, i % 2 === 0, `${m.name}: initiator`);
      for (const s of [sa.a, sa.b]) {
        assert.equal(s.version, 2);
        assert.equal(s.encrAlg, m.cipher.encr, m.name);
        if (m.cipher.keysize) assert.equal(s.encrKeysize, m.cipher.keysize, m.name);
        assert.equal(s.prfAlg, 'PRF_HMAC_SHA2_256');
        assert.equal(s.dhGroup, m.group.name, m.name);
        const child = installedChild(s)!;
        assert.equal(child.encrAlg, m.cipher.encr);
        assert.equal(child.protocol, 'ESP');
        assert.equal(child.mode, 'TUNNEL');
        assert.equal(child.encap, true, 'kernel-libipsec forces ESP in UDP');
        assert.deepEqual(child.localTs, ts(i));
      }
    }
  });

  test('Child SA rekey started by each end (with PFS)', async () => {
    const { a, b } = p();
    await a.initiate({ child: 'rekey' });
    let before = await paired(p(), 'rekey');
    for (const starter of [a, b]) {
      const old = installedChild(before.a)!;
      const oldSpis = [old.spiIn, old.spiOut];
      await starter.rekeyChild('rekey');
      // Seen from either end, the installed Child SA has none of the old SPIs.
      const after = await paired(p(), 'rekey', (s) => {
        const c = installedChild(s);
        return !!c && !oldSpis.includes(c.spiIn) && !oldSpis.includes(c.spiOut);
      });
      assert.equal(after.a.spiI, before.a.spiI, `${starter.name}: the IKE SA stays`);
      assert.equal(installedChild(after.a)!.dhGroup, 'CURVE_25519', 'the rekey ran a key exchange');
      before = after;
    }
  });

  test('IKE SA rekey started by each end; the Child SA moves over', async () => {
    const { a, b } = p();
    let before = await paired(p(), 'rekey');
    for (const starter of [a, b]) {
      const child = installedChild(before.a)!;
      await starter.rekeyIke('rekey');
      const after = await paired(p(), 'rekey', (s) => s.spiI !== before.a.spiI && s.spiR !== before.a.spiR);
      assert.equal(after.a.initiator, starter === a, `the ${starter.name} end initiated the new IKE SA`);
      const moved = installedChild(after.a)!;
      assert.deepEqual([moved.uniqueId, moved.spiIn, moved.spiOut], [child.uniqueId, child.spiIn, child.spiOut], 'same Child SA');
      before = after;
    }
  });

  test('delete from each end: Child SA, then IKE SA', async () => {
    const { a, b } = p();
    for (const [first, second] of [[a, b], [b, a]] as const) {
      await first.initiate({ child: 'delete' });
      const sa = await paired(p(), 'delete');
      // first deletes the Child SA: the IKE SA stays on both ends, without children.
      await first.terminate({ child: 'delete' });
      for (const end of [a, b]) {
        await end.waitForSas('delete: no Child SA', (sas) => {
          const s = sas.find((x) => x.name === 'delete');
          return s?.state === 'ESTABLISHED' && s.children.length === 0 && s.spiI === sa.a.spiI ? s : undefined;
        });
      }
      // second deletes the IKE SA: gone on both ends.
      await second.terminate({ ike: 'delete' });
      for (const end of [a, b]) await end.waitForSas('delete: IKE SA gone', (sas) => (sas.some((x) => x.name === 'delete') ? undefined : true));
    }
  });

  test('liveness: DPD keeps the IKE SA up; a peer that stops answering is cleared by each end', async () => {
    const { a, b } = p();
    await a.initiate({ child: 'dpd' });
    const up = await paired(p(), 'dpd');
    // An empty INFORMATIONAL response is the answer to a DPD request.
    const dpdAnswers = (log: string) => (log.match(/<dpd\|\d+> parsed INFORMATIONAL response \d+ \[ \]/g) ?? []).length;
    // Either end may be the one probing: a DPD request counts as inbound traffic for the
    // other end, which then has no reason to send its own (RFC 7296 §2.4).
    await waitUntil('a DPD exchange', 30_000, async () => (dpdAnswers(a.logs()) + dpdAnswers(b.logs()) > 0 ? true : undefined), 250);
    const still = await paired(p(), 'dpd');
    assert.equal(still.a.spiI, up.a.spiI, 'DPD answered: same IKE SA');

    const gone = (sas: IkeSa[]) => (sas.some((s) => s.name === 'dpd') ? undefined : true);
    b.pause();
    try {
      await a.waitForSas('a clears dpd after b stopped answering', gone, 30_000);
    } finally {
      b.resume();
    }
    // b's own DPD now goes unanswered (a forgot the SA), so b clears it too.
    await b.waitForSas('b clears dpd', gone, 30_000);
  });

  test('capture: tshark dissects the session without errors and decrypts it with keys from charon\'s log', { skip: capturing ? false : 'tshark not installed' }, async (t) => {
    const { a, b, ports, capture } = p();
    assert.ok(capture);
    const [logA, logB] = [a.logs(), b.logs()];
    await capture.stop();
    const decodeAs = udpencapDecodeAs(ports);
    assert.deepEqual(tsharkErrors(capture.file, decodeAs), []);

    // Keys from both ends agree (a check of the log reader itself).
    const keysA = ikeKeysFromCharonLog(logA);
    const keysB = ikeKeysFromCharonLog(logB);
    const spis = (r: { spiI: Buffer; spiR: Buffer }) => `${r.spiI.toString('hex')}:${r.spiR.toString('hex')}`;
    const fromB = new Map(keysB.map((r) => [spis(r), r]));
    for (const r of keysA) assert.deepEqual(fromB.get(spis(r)), r, `same keys at both ends for ${spis(r)}`);
    // 9 matrix SAs, 2 IKE rekeys, 2 delete rounds, 1 DPD.
    assert.ok(keysA.length >= MATRIX.length + 5, `keys for every IKE SA (${keysA.length})`);

    const keylogDir = join(root, 'keylog');
    const keylog = new KeyLogWriter(keylogDir, () => undefined);
    for (const r of keysA) keylog.recordIkeSa(r);
    assert.deepEqual(tsharkErrors(capture.file, decodeAs, keylogDir), []);

    const fields = ['isakmp.ispi', 'isakmp.rspi', 'isakmp.typepayload', 'isakmp.enc.decrypted'];
    const r = tshark(['-r', capture.file, ...decodeAs.flatMap((d) => ['-d', d]), '-Y', 'isakmp', '-T', 'fields', '-E', 'separator=;', ...fields.flatMap((f) => ['-e', f])], keylogDir);
    assert.equal(r.status, 0, r.stderr);
    const decryptable = new Set(keysA.filter((k) => k.encrId !== EncrId.CHACHA20_POLY1305).map(spis));
    const known = new Set(keysA.map(spis));
    let decrypted = 0;
    for (const line of r.stdout.trim().split('\n')) {
      const [spiI, spiR, types, dec] = line.split(';');
      if (!types?.split(',').includes('46')) continue; // no SK payload
      const key = `${spiI}:${spiR}`;
      assert.ok(known.has(key), `keys recovered for IKE SA ${key}`);
      if (!decryptable.has(key)) continue; // ChaCha20-Poly1305: tshark 4.0 cannot decrypt it
      assert.equal(dec, '1', `tshark decrypted a message of IKE SA ${key}`);
      decrypted++;
    }
    assert.ok(decrypted >= 30, `decrypted ${decrypted} SK messages`);
    t.diagnostic(`${keysA.length} IKE SAs' keys recovered; ${decrypted} SK messages decrypted by tshark`);
  });
});

