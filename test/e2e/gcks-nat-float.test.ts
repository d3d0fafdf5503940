/**
 * Registration that starts on UDP 848 and floats to 4500 after IKE_SA_INIT (RFC 9838
 * §2.1.1, RFC 7296 §2.23): GSA_AUTH and GSA_REGISTRATION run on 4500 with the non-ESP
 * marker, and the GCKS follows the GM there. The real ports are needed, so the GCKS and GM
 * run in a network namespace of their own (fixtures/gcks-nat-float.ts under `unshare -n`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '../..');
const canUnshare = spawnSync('unshare', ['-n', 'true']).status === 0;

test('GSA_AUTH floats from 848 to 4500; GSA_REGISTRATION follows; the GCKS answers on 4500', { skip: canUnshare ? false : 'needs unshare -n (root)', timeout: 60_000 }, () => {
  const r = spawnSync('unshare', ['-n', process.execPath, '--import', 'tsx', join(root, 'test/e2e/fixtures/gcks-nat-float.ts')], { cwd: root, encoding: 'utf8', timeout: 50_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
    outcome: string;
    second: string;
    gm: { local: { port: number }; remote: { port: number } };
    gcks: { local: { port: number }; remote: { port: number } };
    peer: string;
    stats: { port: number; received: number }[];
  };
  assert.equal(out.outcome, 'registered');
  assert.equal(out.second, 'registered');
  assert.equal(out.gm.remote.port, 4500);
  assert.equal(out.gm.local.port, 4500);
  assert.equal(out.gcks.local.port, 4500);
  assert.equal(out.gcks.remote.port, 4500);
  assert.equal(out.peer, '127.0.0.2:4500', 'the registration records the floated path');
  assert.deepEqual(out.stats, [{ port: 848, received: 1 }, { port: 4500, received: 2 }], 'IKE_SA_INIT on 848, GSA_AUTH and GSA_REGISTRATION on 4500');
});
