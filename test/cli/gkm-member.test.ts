/**
 * End to end through the command line: two `gkm-member ike` processes (started from another
 * directory than the repository), `gkmctl` against one of them, SIGTERM, and the rule that
 * no key ever reaches any output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freeUdpPorts, pairConf, tempDir, writePsk } from '../member/support.ts';
import { BIN, CliProcess, run } from './support.ts';

/** Every key in a keys.json, as the hex string it is stored as. */
function keysIn(dir: string): string[] {
  const j = JSON.parse(readFileSync(join(dir, 'keys.json'), 'utf8')) as { ikeSas: Record<string, string>[]; espSas: Record<string, string>[] };
  const ike = j.ikeSas.flatMap((r) => ['skD', 'skAi', 'skAr', 'skEi', 'skEr', 'skPi', 'skPr'].map((k) => r[k]!));
  const esp = j.espSas.flatMap((r) => [r['encKey']!, r['integKey']!]);
  return [...ike, ...esp].filter((k) => k.length > 0);
}

/** A key's forms that could leak: hex either case, base64, and an 8-octet hex window (a truncated print). */
function forms(hex: string): string[] {
  const b = Buffer.from(hex, 'hex');
  return [hex, hex.toUpperCase(), b.toString('base64'), hex.slice(0, 16)];
}

test('gkm-member ike as two processes: JSON events, key log, gkmctl, SIGTERM; no key in any output', { timeout: 90_000 }, async () => {
  const dir = tempDir('gkm-cli-');
  const psk = writePsk(dir);
  const [pi, pr] = (await freeUdpPorts(2)) as [number, number];
  const a = { id: 'a@gkm.test', ts: '10.1.0.0/16' };
  const b = { id: 'b@gkm.test', ts: '10.2.0.0/16' };
  writeFileSync(join(dir, 'r.conf'), pairConf({ me: { ...b, port: pr }, peer: { ...a, port: pi }, start: false, pskFile: 'psk.txt' }));
  writeFileSync(join(dir, 'i.conf'), pairConf({ me: { ...a, port: pi }, peer: { ...b, port: pr }, start: true, pskFile: psk }));
  const ctl = { i: join(dir, 'i.sock'), r: join(dir, 'r.sock') };
  const common = ['--json', '--log-level', 'trace'];
  // Relative paths resolve against the working directory (the temporary directory, not the repository).
  const r = new CliProcess(BIN.member, ['ike', '--config', 'r.conf', '--keylog', 'keys-r', '--control', ctl.r, ...common], dir);
  let i: CliProcess | undefined;
  const outputs: string[] = [];
  try {
    await r.waitForEvent((e) => e['event'] === 'ready');
    i = new CliProcess(BIN.member, ['ike', '-c', join(dir, 'i.conf'), '--keylog', join(dir, 'keys-i'), '--control', ctl.i, '--log-format', 'json', ...common], dir);
    const ready = await i.waitForEvent((e) => e['event'] === 'ready');
    assert.deepEqual([ready['sockets'], ready['control'], ready['connections']], [[`natt@127.0.0.1:${pi}`], ctl.i, ['gw']]);
    const up = await i.waitForEvent((e) => e['event'] === 'ike_up');
    const child = (await i.waitForEvent((e) => e['event'] === 'child_up'))['child'] as Record<string, unknown>;
    await r.waitForEvent((e) => e['event'] === 'child_up');
    assert.match(child['inboundSpi'] as string, /^[0-9a-f]{8}$/);
    assert.deepEqual([child['localTs'], child['remoteTs']], [['10.1.0.0/16'], ['10.2.0.0/16']]);

    // gkmctl: human listing, JSON listing, terminate.
    const list = await run(BIN.ctl, ['--socket', ctl.i, 'list'], dir);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`gw\\[${(up['ike'] as { id: string }).id}\\]: established`));
    assert.match(list.stdout, new RegExp(`net: installed .* SPIs ${child['inboundSpi']}_i ${child['outboundSpi']}_o`));
    assert.match(list.stdout, /10\.1\.0\.0\/16 === 10\.2\.0\.0\/16/);
    const json = await run(BIN.ctl, ['-s', ctl.r, '--json', 'list'], dir);
    assert.equal(json.code, 0, json.stderr);
    assert.equal((JSON.parse(json.stdout) as { ikeSas: unknown[] }).ikeSas.length, 1);
    const bad = await run(BIN.ctl, ['-s', ctl.i, 'terminate', 'child', 'nosuch'], dir);
    assert.deepEqual([bad.code, bad.stderr], [1, 'gkmctl: NOT_FOUND: no Child SA nosuch\n']);
    const term = await run(BIN.ctl, ['-s', ctl.i, 'terminate', 'ike', 'gw'], dir);
    assert.equal(term.code, 0, term.stderr);
    await r.waitForEvent((e) => e['event'] === 'deleted' && e['what'] === 'ike' && e['reason'] === 'peer');
    const again = await run(BIN.ctl, ['-s', ctl.i, 'initiate', 'gw', '--timeout', '10'], dir);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^initiated gw: IKE SA [0-9a-f]{16}\n  IKE SA established\n  Child SA net installed: SPIs [0-9a-f]{8}_i [0-9a-f]{8}_o\n$/);
    outputs.push(list.stdout, list.stderr, json.stdout, json.stderr, term.stdout, term.stderr, again.stdout, again.stderr);

    // SIGTERM: the initiator deletes its IKE SA, says stopped and exits 0.
    assert.equal(await i.stop(), 0);
    assert.deepEqual(i.events.at(-1)?.['event'], 'stopped');
    await r.waitForEvent((e) => e['event'] === 'deleted' && e['what'] === 'ike' && (r.events.filter((x) => x['event'] === 'deleted' && x['what'] === 'ike').length >= 2));
    assert.equal(await r.stop(), 0);
    assert.equal(existsSync(ctl.i), false, 'control socket removed');
  } finally {
    await i?.stop();
    await r.stop();
  }

  // Every JSON line is an event with a time; the logs were written (stderr) in both formats.
  for (const p of [i!, r]) for (const e of p.events) assert.ok(typeof e['event'] === 'string' && typeof e['time'] === 'string');
  assert.match(r.stderr, / INFO  IKE SA gw\[[0-9a-f]{16}\] up as responder/);
  assert.match(i!.stderr, /^\{"level":30,/m);

  // The key logs exist, and none of their keys appears in any output of the session.
  const keys = [...keysIn(join(dir, 'keys-i')), ...keysIn(join(dir, 'keys-r'))];
  assert.ok(keys.length >= 2 * 7 + 2 * 4, `${keys.length} keys`);
  for (const k of ['ikev2_decryption_table', 'esp_sa']) assert.ok(readFileSync(join(dir, 'keys-r', k), 'utf8').length > 0, k);
  const everything = [i!.stdout, i!.stderr, r.stdout, r.stderr, ...outputs].join('\n');
  assert.ok(everything.length > 2000);
  for (const key of keys) for (const f of forms(key)) assert.ok(!everything.includes(f), `key material in the output: ${f.slice(0, 8)}...`);
  assert.ok(!everything.includes(readFileSync(psk, 'utf8').trim()), 'the PSK in the output');
});

test('gkm-member: usage and configuration errors exit 2 with a message; --check validates', async () => {
  const dir = tempDir('gkm-cli-');
  const noCmd = await run(BIN.member, [], dir);
  assert.equal(noCmd.code, 2);
  assert.match(noCmd.stderr, /usage: gkm-member <command>/);
  const unknown = await run(BIN.member, ['frobnicate'], dir);
  assert.deepEqual([unknown.code, unknown.stderr.split('\n')[0]], [2, 'gkm-member: unknown command "frobnicate"']);
  const noConfig = await run(BIN.member, ['ike'], dir);
  assert.deepEqual([noConfig.code, noConfig.stderr.split('\n')[0]], [2, 'gkm-member ike: --config FILE is required']);
  const badLevel = await run(BIN.member, ['ike', '-c', 'x', '--log-level', 'loud'], dir);
  assert.deepEqual([badLevel.code, badLevel.stderr.split('\n')[0]], [2, 'gkm-member ike: --log-level must be one of trace, debug, info, warn, error, fatal, silent']);
  const help = await run(BIN.member, ['ike', '--help'], dir);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--keylog DIR/);

  writeFileSync(join(dir, 'bad.conf'), 'connections {\n  gw {\n    remote_addrs = 192.0.2.1\n    local { auth = psk }\n    remote { auth = psk }\n    proposals = aes256gcm16-prfsha256-x25519-ke1_mlkem767\n  }\n}\n');
  const bad = await run(BIN.member, ['ike', '--config', 'bad.conf'], dir);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, 'gkm-member ike: configuration error\nbad.conf:6:46: connections.gw.proposals: ke1_mlkem767: unknown key exchange method "mlkem767"\n');

  writeFileSync(join(dir, 'ok.conf'), pairConf({ me: { id: 'a@x', port: 15000, ts: '10.1.0.0/16' }, peer: { id: 'b@x', port: 15001, ts: '10.2.0.0/16' }, start: true }));
  const check = await run(BIN.member, ['ike', '--config', 'ok.conf', '--check'], dir);
  assert.equal(check.code, 0, check.stderr);
  assert.equal(check.stdout, 'ok.conf: 1 connection(s) OK\n');
  assert.match(check.stderr, /^warning: ok\.conf:\d+:\d+: secrets\.ike-gw\.secret: secret written inline/);
});

test('gkmctl: usage errors exit 2; an absent daemon exits 1 with the reason', async () => {
  const dir = tempDir('gkm-cli-');
  const none = await run(BIN.ctl, [], dir);
  assert.deepEqual([none.code, none.stderr.split('\n')[0]], [2, 'gkmctl: a command is required']);
  const bad = await run(BIN.ctl, ['rekey', 'both', 'x'], dir);
  assert.deepEqual([bad.code, bad.stderr.split('\n')[0]], [2, 'gkmctl: rekey needs ike or child, then an id']);
  const extra = await run(BIN.ctl, ['list', 'more'], dir);
  assert.deepEqual([extra.code, extra.stderr.split('\n')[0]], [2, 'gkmctl: too many arguments for list']);
  const absent = await run(BIN.ctl, ['--socket', join(dir, 'none.sock'), 'list'], dir);
  assert.equal(absent.code, 1);
  assert.match(absent.stderr, /^gkmctl: FAILED: cannot connect to .*none\.sock: ENOENT\n$/);
});
