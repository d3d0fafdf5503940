/**
 * The TUN plaintext side, for real: two gateways in network namespaces this test creates,
 * each started under TUN_LAUNCHER (Python attaches the TUN interface, Node reads and writes
 * the inherited descriptor), protect site-to-site traffic with unicast tunnel-mode SAs over
 * ESP in UDP (RFC 3948). A datagram from site 1 reaches site 2's echo and comes back.
 * Needs root and python3; skipped elsewhere (reason printed).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tunLauncherCommand } from '../../../src/datapath/io/index.ts';
import { canRunNetns, ip, NetnsLab, nodeArgv, NsChild, removeStale } from './netns.ts';

const can = canRunNetns();
const python = spawnSync('python3', ['-c', 'import fcntl'], { timeout: 10_000 }).status === 0;
const skip = !python ? 'python3 (the TUN launcher) is not installed' : can.ok || process.env.CI ? false : can.reason;
if (skip) console.log(`skipping the TUN gateway test: ${skip}`);

const script = fileURLToPath(new URL('./fixtures/tun-gateway.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const lab = new NetnsLab();
const children: NsChild[] = [];
const COUNT = 50;
const TIMEOUT_MS = 30_000;
const gw = [
  { name: 'g1', addr: '10.77.1.1', site: '10.99.1.1', sitePrefix: '10.99.1.0/24' },
  { name: 'g2', addr: '10.77.1.2', site: '10.99.2.1', sitePrefix: '10.99.2.0/24' },
] as const;

before(() => {
  if (skip) return;
  removeStale();
  lab.create(gw);
  for (const [i, g] of gw.entries()) {
    const ns = lab.ns(g.name);
    const peer = gw[1 - i]!;
    // A persistent TUN made by iproute2 (the operator's part); the launcher attaches to it.
    ip(['-n', ns, 'tuntap', 'add', 'dev', 'gkm0', 'mode', 'tun']);
    ip(['-n', ns, 'addr', 'add', `${g.site}/24`, 'dev', 'gkm0']);
    ip(['-n', ns, 'link', 'set', 'gkm0', 'up']);
    ip(['-n', ns, 'route', 'add', peer.sitePrefix, 'dev', 'gkm0']);
  }
});

after(() => {
  for (const c of children) c.kill();
  lab.destroy();
});

function start(i: 0 | 1, role: 'ping' | 'echo'): NsChild {
  const g = gw[i];
  const p = gw[1 - i]!;
  const config = { role, link: g.addr, peerLink: p.addr, site: g.site, sitePrefix: g.sitePrefix, peerSite: p.site, peerSitePrefix: p.sitePrefix, count: COUNT, timeoutMs: TIMEOUT_MS };
  const launch = tunLauncherCommand('gkm0', nodeArgv(script, config));
  const c = new NsChild(lab.ns(g.name), [launch.file, ...launch.args], repoRoot);
  children.push(c);
  return c;
}

test('TUN gateways: site-to-site datagrams through TUN, unicast tunnel SAs and ESP in UDP, and back', { skip, timeout: 90_000 }, async () => {
  const echo = start(1, 'echo');
  await echo.waitFor('ready', TIMEOUT_MS);
  const ping = start(0, 'ping');
  const r = await ping.waitFor('result', TIMEOUT_MS);
  echo.command('report');
  const e = await echo.waitFor('result', TIMEOUT_MS);
  assert.equal(r.unique, COUNT, `every echo came back: ${JSON.stringify(r)}`);
  assert.equal(e.unique, COUNT, `the echo site saw every datagram: ${JSON.stringify(e)}`);
  for (const side of [r, e]) {
    const tun = side.tun as { read: number; written: number };
    const node = side.node as { espOut: number; plaintextOut: number };
    assert.ok(tun.read >= COUNT && tun.written >= COUNT, JSON.stringify(tun));
    assert.ok(node.espOut >= COUNT && node.plaintextOut >= COUNT, JSON.stringify(node));
  }
  assert.equal(await ping.exited, 0);
  assert.equal(await echo.exited, 0);
});
