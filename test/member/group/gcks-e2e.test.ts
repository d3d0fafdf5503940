/**
 * End to end with the real GCKS: `gcks start` (bin/gcks.js) on a high port with a temporary
 * database creates the sample group and prints the join command; `gkm-member join` run with
 * exactly that command (plus --json) registers, and leaves on SIGTERM.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, CliProcess } from '../../cli/support.ts';

test('gcks start + gkm-member join with the sample member PSK file: registered, then a polite leave', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gcks-join-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const gcks = spawn(process.execPath, [join(import.meta.dirname, '../../../bin/gcks.js'), 'start', '--log-format', 'json'], {
    cwd: dir,
    env: { ...process.env, GCKS_LISTEN: '127.0.0.1', GCKS_PORTS: String(port), GCKS_DB: join(dir, 'gcks.db'), GCKS_MASTER_KEY_FILE: '', GCKS_MASTER_KEY: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  gcks.stdout.on('data', (d: Buffer) => (stdout += d));
  gcks.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((r) => gcks.on('exit', (code) => r(code)));
  let member: CliProcess | undefined;
  try {
    for (let i = 0; i < 300 && !/gkm-member join .*\n/.test(stdout); i++) await new Promise((r) => setTimeout(r, 100));
    const hint = /gkm-member (join .*)\n/.exec(stdout);
    assert.ok(hint, `join hint on stdout; got ${stdout}\n${stderr}`);
    const args = hint[1]!.trim().split(/\s+/);
    assert.deepEqual(args.slice(0, 3), ['join', '--gcks', `127.0.0.1:${port}`]);
    member = new CliProcess(BIN.member, [...args, '--json'], dir);
    const reg = await member.waitForEvent((e) => e['event'] === 'registered', 30_000);
    assert.equal(reg['group'], 'sample-group');
    const policy = reg['policy'] as { rekeySa: { destination: string }; dataSecuritySas: { destination: string; algorithms: { encr: string } }[]; senderIds: number[]; senderIdBits: number; activationDelaySeconds: number; deactivationDelaySeconds: number };
    assert.equal(policy.rekeySa.destination, '239.192.0.100/32[udp/848]');
    assert.equal(policy.dataSecuritySas[0]?.algorithms.encr, 'AES_GCM_16/256');
    assert.equal(policy.senderIds.length, 1);
    assert.equal(policy.senderIdBits, 8);
    assert.deepEqual([policy.activationDelaySeconds, policy.deactivationDelaySeconds], [5, 10]);
    assert.ok((reg['fingerprints'] as { label: string }[]).some((f) => f.label.startsWith('Rekey SA')));
    assert.equal(await member.stop(), 0);
    assert.ok(member.events.some((e) => e['event'] === 'left' && e['told'] === true), member.stdout);
    for (let i = 0; i < 50 && !stderr.includes('member left the group'); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(stderr, /member left the group/);
    gcks.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    await member?.stop();
    gcks.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
