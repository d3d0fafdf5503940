/**
 * Issue 5, deliverable 6: one sender and three receivers in network namespaces on a bridge
 * exchange multicast traffic through a group SA (AES-GCM-16, Sender-ID IVs, SN value 2,
 * per-sender replay windows); an attacker on the same bridge replays and forges group ESP,
 * and every receiver drops and counts exactly those packets. Each node is its own process
 * (`ip netns exec NS node --import tsx fixtures/group-member.ts`), bounded in time, and
 * reports JSON on stdout. Addresses 10.77.0.0/24 and group 239.77.0.1 exist only inside
 * the namespaces this test creates. Needs root (CI runs as root); elsewhere it is skipped
 * with the reason printed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { canRunNetns, NetnsLab, nodeArgv, NsChild, removeStale } from './netns.ts';

const can = canRunNetns();
const skip = can.ok || process.env.CI ? false : can.reason;
if (skip) console.log(`skipping the namespace multicast test: ${skip}`);

const script = fileURLToPath(new URL('./fixtures/group-member.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const lab = new NetnsLab();
const children: NsChild[] = [];

const GROUP = '239.77.0.1';
const COUNT = 300;
const SIZE = 1000;
const REPLAYS = 5;
const FORGERIES = 4;
const TIMEOUT_MS = 30_000;
const nodes = [
  { name: 's', addr: '10.77.0.1' },
  { name: 'r1', addr: '10.77.0.11' },
  { name: 'r2', addr: '10.77.0.12' },
  { name: 'r3', addr: '10.77.0.13' },
  { name: 'a', addr: '10.77.0.66' },
];

before(() => {
  if (skip) return;
  assert.ok(can.ok, can.ok ? '' : can.reason);
  const stale = removeStale();
  if (stale.length) console.log(`removed stale namespaces: ${stale.join(' ')}`);
  lab.create(nodes);
});

after(() => {
  for (const c of children) c.kill();
  lab.destroy();
});

function start(name: string, role: string, extra: object = {}): NsChild {
  const node = nodes.find((n) => n.name === name)!;
  const config = { role, addr: node.addr, group: GROUP, port: 4700, count: COUNT, size: SIZE, senderId: 5, replays: REPLAYS, forgeries: FORGERIES, timeoutMs: TIMEOUT_MS, ...extra };
  const c = new NsChild(lab.ns(name), nodeArgv(script, config), repoRoot);
  children.push(c);
  return c;
}

test('namespaces: 1 sender, 3 receivers on a bridge through a multi-sender group SA; replays and forgeries dropped and counted', { skip, timeout: 90_000 }, async () => {
  const t0 = Date.now();
  const receivers = ['r1', 'r2', 'r3'].map((n) => start(n, 'receiver'));
  const attacker = start('a', 'attacker');
  await Promise.all([...receivers, attacker].map((c) => c.waitFor('ready', TIMEOUT_MS)));

  const sender = start('s', 'sender');
  const sent = await sender.waitFor('result', TIMEOUT_MS);
  assert.equal((sent.node as { espOut: number }).espOut, COUNT);
  assert.equal((sent.sa as { packets: number }).packets, COUNT);
  assert.equal(await sender.exited, 0);

  attacker.command('go');
  const attack = await attacker.waitFor('result', TIMEOUT_MS);
  assert.ok((attack.captured as number) >= REPLAYS);
  assert.equal(await attacker.exited, 0);

  // Give the last datagrams a moment on the bridge, then collect every receiver's report.
  await new Promise((r) => setTimeout(r, 300));
  for (const r of receivers) r.command('report');
  const reports = await Promise.all(receivers.map((r) => r.waitFor('result', TIMEOUT_MS)));
  for (const [i, rep] of reports.entries()) {
    const who = `receiver r${i + 1}`;
    const where = JSON.stringify({ missing: rep.missing, node: rep.node, sockets: rep.sockets, tap: rep.tap });
    assert.equal(rep.received, COUNT, `${who}: every packet once; ${where}`);
    assert.equal(rep.unique, COUNT, who);
    assert.equal(rep.wellFormed, true, who);
    const node = rep.node as { espIn: number; plaintextOut: number; drops: Record<string, number> };
    assert.equal(node.espIn, COUNT + REPLAYS + FORGERIES, `${who}: ESP received`);
    assert.equal(node.plaintextOut, COUNT, who);
    assert.deepEqual(node.drops, { GKM_ESP_REPLAY: REPLAYS, GKM_ESP_AUTH_FAILED: FORGERIES }, `${who}: drops by reason`);
    const sa = rep.sa as { packets: number; replayDrops: number; authFailures: number };
    assert.deepEqual([sa.packets, sa.replayDrops, sa.authFailures], [COUNT, REPLAYS, FORGERIES], `${who}: SA counters`);
  }
  for (const r of receivers) assert.equal(await r.exited, 0);
  console.log(`namespace multicast test: ${Date.now() - t0} ms for ${COUNT} packets to 3 receivers`);
});
