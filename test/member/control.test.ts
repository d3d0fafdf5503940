import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { GkmError } from '../../src/ikev2/errors.ts';
import { ControlClient } from '../../src/member/control/client.ts';
import { ControlError, defaultControlPath, MAX_LINE, parseRequest } from '../../src/member/control/protocol.ts';
import { ControlServer } from '../../src/member/control/server.ts';
import { tempDir } from './support.ts';

test('requests: the four commands, with ids; everything else is BAD_REQUEST', () => {
  assert.deepEqual(parseRequest('{"id":1,"cmd":"list"}'), { id: 1, cmd: 'list' });
  assert.deepEqual(parseRequest('{"cmd":"initiate","conn":"gw","child":"net","wait":true,"timeoutMs":500}'), { cmd: 'initiate', conn: 'gw', child: 'net', wait: true, timeoutMs: 500 });
  assert.deepEqual(parseRequest('{"id":"x","cmd":"rekey","what":"child","sa":"c0ffee01"}'), { id: 'x', cmd: 'rekey', what: 'child', sa: 'c0ffee01' });
  assert.deepEqual(parseRequest('{"cmd":"terminate","what":"ike","sa":"gw"}'), { cmd: 'terminate', what: 'ike', sa: 'gw' });
  const bad: [string, RegExp][] = [
    ['not json', /not a JSON object/],
    ['[1]', /not a JSON object/],
    ['{"cmd":"reboot"}', /unknown cmd "reboot"/],
    ['{"cmd":"initiate"}', /conn must be a non-empty string/],
    ['{"cmd":"initiate","conn":""}', /conn must be a non-empty string/],
    ['{"cmd":"initiate","conn":"gw","wait":"yes"}', /wait must be a boolean/],
    ['{"cmd":"initiate","conn":"gw","timeoutMs":0}', /timeoutMs must be positive/],
    ['{"cmd":"rekey","what":"both","sa":"x"}', /what must be "ike" or "child"/],
    ['{"cmd":"terminate","what":"ike"}', /sa must be a non-empty string/],
  ];
  for (const [line, message] of bad) {
    assert.throws(() => parseRequest(line), (e: unknown) => e instanceof ControlError && e.code === 'BAD_REQUEST' && message.test(e.message), line);
  }
});

test('default socket path: $XDG_RUNTIME_DIR, else a per-user directory in /tmp', () => {
  assert.equal(defaultControlPath({ XDG_RUNTIME_DIR: '/run/user/7' }), '/run/user/7/gkm-member/control.sock');
  assert.match(defaultControlPath({}), /^\/tmp\/gkm-member-\d+\/control\.sock$/);
});

/** Raw request lines in, response lines out. */
function exchange(path: string, lines: string[]): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let data = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      data += d;
      const out = data.split('\n').filter(Boolean);
      if (out.length >= lines.length) {
        s.end();
        resolve(out.map((l) => JSON.parse(l)));
      }
    });
    s.on('error', reject);
    s.write(lines.map((l) => l + '\n').join(''));
  });
}

test('server: mode 0600 in a 0700 directory; answers in order; errors carry their code and the id', async () => {
  const dir = join(tempDir(), 'sub');
  const path = join(dir, 'control.sock');
  const server = await ControlServer.listen(path, (c) => {
    if (c.cmd === 'list') return { sas: [] };
    if (c.cmd === 'rekey') throw new ControlError('NOT_SUPPORTED', 'no rekey');
    if (c.cmd === 'terminate') throw new GkmError('GKM_IKE_SA_CLOSED', { detail: 'gone' });
    return new Promise((resolve) => setTimeout(() => resolve({ slow: true }), 20));
  });
  try {
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const answers = await exchange(path, [
      '{"id":1,"cmd":"initiate","conn":"gw"}',
      '{"id":2,"cmd":"list"}',
      '{"id":3,"cmd":"rekey","what":"ike","sa":"x"}',
      '{"id":4,"cmd":"terminate","what":"ike","sa":"x"}',
      '{"id":5,"cmd":"nope"}',
      'garbage',
    ]);
    assert.deepEqual(answers, [
      { id: 1, ok: true, result: { slow: true } },
      { id: 2, ok: true, result: { sas: [] } },
      { id: 3, ok: false, error: { code: 'NOT_SUPPORTED', message: 'no rekey' } },
      { id: 4, ok: false, error: { code: 'GKM_IKE_SA_CLOSED', message: 'IKE SA is closed : gone' } },
      { id: 5, ok: false, error: { code: 'BAD_REQUEST', message: 'unknown cmd "nope": list, initiate, rekey or terminate' } },
      { ok: false, error: { code: 'BAD_REQUEST', message: 'not a JSON object' } },
    ]);
    const [tooLong] = await exchange(path, ['x'.repeat(MAX_LINE + 10)]);
    assert.deepEqual(tooLong, { ok: false, error: { code: 'BAD_REQUEST', message: `request line longer than ${MAX_LINE} octets` } });

    const client = await ControlClient.connect(path);
    const [a, b] = await Promise.all([client.request({ cmd: 'list' }), client.request({ cmd: 'rekey', what: 'child', sa: 'x' }).catch((e: unknown) => e)]);
    assert.deepEqual(a, { sas: [] });
    assert.ok(b instanceof ControlError && b.code === 'NOT_SUPPORTED');
    client.close();
  } finally {
    await server.close();
  }
  assert.throws(() => statSync(path), /ENOENT/, 'the socket file is removed on close');
});

test('server: a stale socket file is replaced; a live one or a regular file is refused', async () => {
  const dir = tempDir();
  const path = join(dir, 'c.sock');
  // Stale: a socket nobody listens on any more.
  const old = createServer();
  await new Promise<void>((r) => old.listen(path, r));
  (old as unknown as { _handle: { close(): void } })._handle.close(); // leave the file behind, as a crash would
  const first = await ControlServer.listen(path, () => 'ok');
  await assert.rejects(ControlServer.listen(path, () => 'second'), /another daemon listens on/);
  await first.close();
  const file = join(dir, 'plain');
  writeFileSync(file, '');
  await assert.rejects(ControlServer.listen(file, () => 'x'), /exists and is not a socket/);
  await assert.rejects(ControlClient.connect(join(dir, 'none.sock')), /cannot connect to .*none\.sock: ENOENT/);
});
