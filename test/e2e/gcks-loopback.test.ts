/**
 * The GCKS service over real UDP on 127.0.0.1: 50 GMs registering to three groups, most of
 * them to two or three (GSA_AUTH, then GSA_REGISTRATION over the same IKE SA); each GM
 * unwraps every key; all members of a group hold the same TEK and the same Rekey SA; and
 * `gcks start` as a process (bin/gcks.js) starts, answers, and stops cleanly on SIGTERM.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addMember, authorizeMember, createGroup } from '../../src/gcks/groups/index.ts';
import { IdType } from '../../src/ikev2/registry/index.ts';
import { Id } from '../../src/ikev2/sa/identity.ts';
import type { Store } from '../../src/store/index.ts';
import { cbcTransportPolicy, gcmPolicy } from '../gcks/registration/support/world.ts';
import type { GmIdentity, Outcome } from '../gcks/registration/support/gm.ts';
import { startGcks, UdpGm } from './support/gcks-udp.ts';

const GROUPS = ['alpha', 'beta', 'gamma'] as const;

function setUp(store: Store, n: number): GmIdentity[] {
  const ids = [
    createGroup(store, { name: 'alpha', identity: { idType: IdType.ID_KEY_ID, data: Buffer.from('alpha') }, memberCap: null, policy: gcmPolicy(1) }, 'test').group.id,
    createGroup(store, { name: 'beta', identity: { idType: IdType.ID_KEY_ID, data: Buffer.from('beta') }, memberCap: null, policy: gcmPolicy(2) }, 'test').group.id,
    createGroup(store, { name: 'gamma', identity: { idType: IdType.ID_KEY_ID, data: Buffer.from('gamma') }, memberCap: null, policy: cbcTransportPolicy() }, 'test').group.id,
  ];
  return Array.from({ length: n }, (_, i) => {
    const psk = randomBytes(32);
    const id = Id.keyId(`gm-${i}`);
    const m = addMember(store, { identity: { idType: id.type, data: id.data }, credential: { kind: 'psk', psk } }, 'test');
    for (const g of ids) authorizeMember(store, g, m.id, { role: 'both', maxSenderIds: 2 }, 'test');
    return { id, localAuth: { method: 'psk', psk }, remoteAuth: { method: 'psk', psk } };
  });
}

const ok = (o: Outcome) => {
  assert.equal(o.kind, 'registered', o.kind === 'refused' ? `notify ${o.notify}` : o.kind);
  const r = o as Extract<Outcome, { kind: 'registered' }>;
  assert.equal(r.result.excluded, false);
  assert.deepEqual(r.result.failures, []);
  return r;
};

test('50 GMs register to three groups over UDP, several groups each, within a bounded time', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gcks-e2e-'));
  const { service, endpoint } = await startGcks(dir);
  const gms: UdpGm[] = [];
  try {
    const who = setUp(service.store, 50);
    const started = performance.now();
    const tek = new Map<string, Set<string>>(GROUPS.map((g) => [g, new Set()]));
    const kek = new Map<string, Set<string>>(GROUPS.map((g) => [g, new Set()]));
    const note = (o: Extract<Outcome, { kind: 'registered' }>) => {
      tek.get(o.group)!.add(o.result.dataSecurity[0]!.keymat.toString('hex'));
      kek.get(o.group)!.add(o.result.rekeySa!.keymat.toString('hex'));
    };
    let registrations = 0;
    await Promise.all(
      who.map(async (w, i) => {
        const gm = await UdpGm.open();
        gms.push(gm);
        const first = GROUPS[i % 3]!;
        const { outcome, saId } = await gm.register(endpoint, w, { group: first, ...(i % 2 ? { groupSender: 1 } : {}) });
        note(ok(outcome));
        registrations++;
        // Two thirds of the GMs join more groups over the same IKE SA (GSA_REGISTRATION).
        for (const extra of GROUPS.filter((g) => g !== first).slice(0, i % 3)) {
          note(ok(await gm.registration(saId, { group: extra })));
          registrations++;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    assert.equal(registrations, who.reduce((n, _, i) => n + 1 + (i % 3), 0), 'GSA_AUTH for each GM plus its GSA_REGISTRATIONs');
    assert.ok(seconds < 60, `took ${seconds.toFixed(1)} s`);
    // One TEK per group; joiners of one batch share the batch's Rekey SA.
    for (const g of GROUPS) {
      assert.equal(tek.get(g)!.size, 1, `${g}: one TEK`);
      assert.ok(kek.get(g)!.size >= 1);
    }
    const counts = GROUPS.map((g) => service.store.registrations.countForGroup(service.store.groups.getByName(g)!.id));
    assert.equal(counts.reduce((a, b) => a + b, 0), registrations);
    assert.ok(counts.every((c) => c >= 16), `every group has members: ${counts}`);
  } finally {
    await Promise.all(gms.map((g) => g.close()));
    await service.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('gcks start (bin/gcks.js): first start creates the sample group and its PSK file, registration works, SIGTERM stops it', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gcks-bin-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(process.execPath, [join(import.meta.dirname, '../../bin/gcks.js'), 'start', '--log-format', 'json'], {
    cwd: dir,
    env: { ...process.env, GCKS_LISTEN: '127.0.0.1', GCKS_PORTS: String(port), GCKS_MASTER_KEY_FILE: '', GCKS_MASTER_KEY: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const gm = await UdpGm.open();
  try {
    for (let i = 0; i < 200 && !stdout.includes('gkm-member join'); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(stdout, /gkm-member join --gcks 127\.0\.0\.1:\d+ --group sample-group --id sample-member --psk-file \S+sample-member\.psk/);
    assert.match(stderr, /FIRST START: generated a new master key/);
    const psk = Buffer.from(readFileSync(join(dir, 'data', 'sample-member.psk'), 'utf8').replace(/\n$/, ''), 'utf8');
    const who: GmIdentity = { id: Id.keyId('sample-member'), localAuth: { method: 'psk', psk }, remoteAuth: { method: 'psk', psk } };
    const { outcome } = await gm.register({ ip: '127.0.0.1', port }, who, { group: 'sample-group', groupSender: 1 });
    const r = ok(outcome);
    assert.deepEqual(r.keys.senderIds, [0]);
    assert.ok(!stderr.includes(r.result.dataSecurity[0]!.keymat.toString('hex')), 'keys never reach the log');
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.match(stderr, /GCKS stopped/);
  } finally {
    child.kill('SIGKILL');
    await gm.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the member agent (gkm-member join) registers with gcks start: hybrid ML-KEM IKE SA, sample group, Sender-ID', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gcks-join-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const bin = (name: string) => join(import.meta.dirname, '../../bin', name);
  const gcks = spawn(process.execPath, [bin('gcks.js'), 'start'], {
    cwd: dir,
    env: { ...process.env, GCKS_LISTEN: '127.0.0.1', GCKS_PORTS: String(port), GCKS_MASTER_KEY_FILE: '', GCKS_MASTER_KEY: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let gcksOut = '';
  gcks.stdout.on('data', (d: Buffer) => (gcksOut += d));
  let member: ReturnType<typeof spawn> | undefined;
  try {
    for (let i = 0; i < 200 && !gcksOut.includes('gkm-member join'); i++) await new Promise((r) => setTimeout(r, 100));
    member = spawn(process.execPath, [bin('gkm-member.js'), 'join', '--gcks', `127.0.0.1:${port}`, '--group', 'sample-group', '--id', 'sample-member', '--psk-file', join(dir, 'data', 'sample-member.psk'), '--sender', '--json', '--ike', 'aes256gcm16-prfsha256-x25519-ke1_mlkem768'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let events = '';
    member.stdout!.on('data', (d: Buffer) => (events += d));
    for (let i = 0; i < 300 && !/"event":"(registered|error)"/.test(events); i++) await new Promise((r) => setTimeout(r, 100));
    const registered = events.split('\n').filter((l) => l.includes('"event":"registered"')).map((l) => JSON.parse(l) as { group: string; senderIds?: number[] });
    assert.equal(registered.length, 1, events);
    assert.equal(registered[0]!.group, 'sample-group');
    assert.match(events, /"kwa":"KW_5649_256"/);
    assert.match(events, /CURVE25519\+ML_KEM_768/);
  } finally {
    member?.kill('SIGTERM');
    gcks.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    member?.kill('SIGKILL');
    gcks.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
