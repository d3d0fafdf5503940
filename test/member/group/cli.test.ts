/**
 * `gkm-member join` as a child process (bin/gkm-member.js) against the scripted GCKS on
 * loopback: registration events on stdout, the leave and the Delete on SIGTERM, no key in
 * any output, the key log, usage errors, and exit 1 when every group is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotifyType } from '../../../src/ikev2/registry/index.ts';
import { BIN, CliProcess, run } from '../../cli/support.ts';
import { cbcTemplate, GCKS_PSK, gcmTemplate, rekeySaTemplate } from './support/scripted-gcks.ts';
import { startUdpGcks } from './support/udp-gcks.ts';

function pskFile(dir: string, psk = GCKS_PSK): string {
  const path = join(dir, 'member.psk');
  writeFileSync(path, `${psk.toString('utf8')}\n`, { mode: 0o600 });
  return path;
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'gkm-join-'));

test('join: registers, prints the registered event with the policy and fingerprints, leaves and deletes the IKE SA on SIGTERM; no key in any output', { timeout: 60_000 }, async () => {
  const dir = tmp();
  const udp = await startUdpGcks();
  udp.gcks.groups.set('group-1', { rekeySa: rekeySaTemplate(), dataSecurity: [gcmTemplate(1), cbcTemplate(2)], activationDelay: 2, deactivationDelay: 4, senderIdBits: 10 });
  udp.gcks.groups.set('group-2', { dataSecurity: [gcmTemplate(3)], transportMode: true });
  const keylog = join(dir, 'keylog');
  const p = new CliProcess(
    BIN.member,
    ['join', '--gcks', `127.0.0.1:${udp.port}`, '--group', 'group-1', '--group', 'group-2', '--id', 'member-1', '--psk-file', pskFile(dir), '--sender', '2', '--json', '--keylog', keylog, '--log-level', 'debug'],
    dir,
  );
  try {
    const r1 = await p.waitForEvent((e) => e['event'] === 'registered' && e['group'] === 'group-1');
    const r2 = await p.waitForEvent((e) => e['event'] === 'registered' && e['group'] === 'group-2');
    const policy = r1['policy'] as { dataSecuritySas: { spi: string; mode: string }[]; rekeySa: { spi: string; destination: string }; senderIds: number[]; senderIdBits: number; activationDelaySeconds: number };
    assert.deepEqual(policy.dataSecuritySas.map((s) => s.spi).sort(), udp.gcks.sent[0]!.policies.filter((x) => x.spi.length === 4).map((x) => x.spi.toString('hex')).sort());
    assert.equal(policy.rekeySa.destination, '239.192.0.100/32[udp/848]');
    assert.equal(policy.senderIds.length, 2);
    assert.equal(policy.senderIdBits, 10);
    assert.equal(policy.activationDelaySeconds, 2);
    assert.deepEqual((r2['policy'] as { dataSecuritySas: { mode: string }[] }).dataSecuritySas.map((s) => s.mode), ['transport']);
    assert.deepEqual(udp.gcks.sent.map((s) => s.exchange), ['GSA_AUTH', 'GSA_REGISTRATION']);
    assert.equal(udp.gcks.sent[0]!.requestedSenders, 2);
    assert.ok((r1['fingerprints'] as unknown[]).length >= 3);

    // --keylog: the IKE SA and the group SAs (any source) with their keys.
    const keys = JSON.parse(readFileSync(join(keylog, 'keys.json'), 'utf8')) as { ikeSas: unknown[]; espSas: { src: string; dst: string; spi: number; encKey: string }[] };
    assert.equal(keys.ikeSas.length, 1);
    const tek = udp.gcks.sent[0]!.policies.find((x) => x.spi.length === 4)!;
    const logged = keys.espSas.find((e) => e.spi === tek.spi.readUInt32BE());
    assert.equal(logged?.src, '*');
    assert.equal(logged?.dst, '239.192.0.1');
    assert.equal(logged?.encKey, udp.gcks.sent[0]!.keymats.get(tek.spi.toString('hex'))!.toString('hex'));
    assert.match(readFileSync(join(keylog, 'esp_sa'), 'utf8'), /"\*"/);

    assert.equal(await p.stop(), 0);
    assert.deepEqual(udp.gcks.leaves.map((l) => [l.group, l.notify]).sort(), [['group-1', NotifyType.REGISTRATION_FAILED], ['group-2', NotifyType.REGISTRATION_FAILED]]);
    const left = p.events.filter((e) => e['event'] === 'left').map((e) => [e['group'], e['told']]);
    assert.deepEqual(left.sort(), [['group-1', true], ['group-2', true]]);
    assert.ok(p.events.some((e) => e['event'] === 'deleted' && e['what'] === 'ike'), 'IKE SA deleted');
    assert.equal(p.events.at(-1)?.['event'], 'stopped');
    assert.equal(udp.node.engine.list().length, 0, 'the GCKS saw the Delete');

    // Keys never in the output (the key log excepted): every keymat and GSK_w the GCKS sent, and the PSK.
    const output = p.stdout + p.stderr;
    for (const secret of [...udp.gcks.secrets, GCKS_PSK]) {
      assert.ok(!output.includes(secret.toString('hex')), 'a key in the output');
      assert.ok(!output.includes(secret.toString('base64')), 'a key in the output (base64)');
    }
    assert.ok(!output.includes(GCKS_PSK.toString('utf8')));
  } finally {
    await p.stop();
    await udp.close();
  }
});

test('join: every group refused for good (INVALID_GROUP_ID) → error event with the notify, exit 1', { timeout: 30_000 }, async () => {
  const dir = tmp();
  const udp = await startUdpGcks();
  try {
    const r = await run(BIN.member, ['join', '--gcks', `127.0.0.1:${udp.port}`, '--group', 'nope', '--id', 'member-1', '--psk-file', pskFile(dir), '--json'], dir, 20_000);
    assert.equal(r.code, 1, r.stderr);
    const err = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e['event'] === 'error' && e['group'] === 'nope');
    assert.equal(err?.['notifyName'], 'INVALID_GROUP_ID');
    assert.equal(err?.['notify'], 45);
    assert.equal(err?.['fatal'], true);
  } finally {
    await udp.close();
  }
});

test('join: usage errors exit 2', async () => {
  const dir = tmp();
  for (const args of [
    ['join', '--group', 'g', '--id', 'm', '--psk-file', 'x'],
    ['join', '--gcks', '127.0.0.1', '--group', 'g', '--id', 'm', '--psk-file', pskFile(dir)],
    ['join', '--gcks', '127.0.0.1:848', '--id', 'm', '--psk-file', pskFile(dir)],
    ['join', '--gcks', '127.0.0.1:848', '--group', 'g', '--id', 'm', '--psk-file', join(dir, 'missing')],
    ['join', '--gcks', '127.0.0.1:848', '--group', 'g', '--id', 'm', '--psk-file', pskFile(dir), '--send-only'],
  ]) {
    const r = await run(BIN.member, args, dir);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /usage: gkm-member join/);
  }
});
